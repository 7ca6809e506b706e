"""Run the fuzz targets long: ``python tests/fuzz/run.py --minutes 10 [loader pngmeta pdf image]``.

Each target runs in rounds of Hypothesis examples until its share of the time is spent; a
failure is printed (with Hypothesis's shrunk example) and counted, and the run goes on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402

import fuzz_targets as ft  # noqa: E402

BASE = Path(tempfile.mkdtemp(prefix="refere-fuzz-"))
TARGETS = {
    "loader": (ft.yaml_texts(), lambda x: ft.target_loader(x, BASE)),
    "pngmeta": (ft.png_like(), ft.target_pngmeta),
    "pdf": (ft.pdf_like(), ft.target_pdf),
    "image": (ft.image_like(), ft.target_image),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("targets", nargs="*", default=list(TARGETS))
    args = ap.parse_args()
    share = args.minutes * 60 / len(args.targets)
    failures = 0
    for name in args.targets:
        strategy, fn = TARGETS[name]
        run = settings(max_examples=2000, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck))(given(strategy)(fn))
        end = time.monotonic() + share
        rounds = 0
        while time.monotonic() < end:
            rounds += 1
            try:
                run()
            except Exception:  # noqa: BLE001 - report and go on
                failures += 1
                traceback.print_exc()
        print(f"{name}: {ft.COUNTS[name]} examples in {share:.0f} s ({rounds} rounds)", flush=True)
    print(f"failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
