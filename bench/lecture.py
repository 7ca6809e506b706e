"""Benchmark: reading captures (OCR) in `refere check`, first read and cached.

    .venv/bin/python bench/lecture.py            # 120 captures
    .venv/bin/python bench/lecture.py --quick    # 12 captures, to check the script itself

Two 120-capture cases: « réalistes » (phone screenshots 1080×2400 with real DejaVu text: status
bar clock, address bar, a préfecture page, a photo-like block under it) and « lourd » (bench/
run.py's heavy case: tiny text over full-page noise on half the captures, the worst kind for
OCR). For each: `refere check` with an empty cache (first read, every capture OCRed on all
cores), then again with the cache, then with reading off (REFERE_LECTURE=0) as the floor. Best of
three rounds for the cached and floor runs; one round for the first read (it fills the cache).
Needs Tesseract with the French data (Debian: tesseract-ocr tesseract-ocr-fra).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as heavy  # noqa: E402  (bench/run.py: its heavy-case generator)

OUT = HERE / "out"
FONTS = HERE.parent / "refere" / "data" / "fonts"
PY = sys.executable
EXAMPLE = HERE.parent / "cases" / "exemple-94"
URL = "https://www.val-de-marne.gouv.fr/booking/create/1187/1"


def _font(size: int, bold: bool = False):
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def screenshot(when: time.struct_time) -> Image.Image:
    img = Image.new("RGB", (1080, 2400), (246, 246, 246))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 1080, 70], fill=(20, 20, 20))
    d.text((40, 35), time.strftime("%H:%M", when), font=_font(34, True), fill="white", anchor="lm")
    d.rounded_rectangle([24, 90, 1056, 170], radius=36, fill=(225, 225, 230))
    d.text((60, 130), URL.removeprefix("https://"), font=_font(30), fill=(30, 30, 30), anchor="lm")
    d.text((40, 230), "Préfecture du Val-de-Marne", font=_font(46, True), fill=(20, 20, 20))
    d.text((40, 330), "Prendre un rendez-vous", font=_font(52, True), fill=(20, 20, 20))
    for k, line in enumerate(("Il n'existe plus de plage horaire libre pour votre",
                              "demande de rendez-vous.", "Veuillez recommencer ultérieurement.")):
        d.text((80, 460 + 60 * k), line, font=_font(38), fill=(20, 20, 20))
    d.text((40, 720), time.strftime("Page consultée le %d/%m/%Y à %H:%M", when), font=_font(30), fill=(90, 90, 90))
    # A photo-like block (a banner picture) under the text, as préfecture pages have.
    small = Image.merge("RGB", [Image.effect_noise((120, 60), 40 + 10 * c) for c in range(3)])
    img.paste(ImageOps.posterize(small.resize((1000, 500), Image.BICUBIC), 5), (40, 850))
    return img


def realistic_case(n: int) -> Path:
    folder = OUT / f"lecture-{n}"
    case = folder / "dossier.yaml"
    if case.exists():
        return case
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "captures").mkdir(parents=True)
    lines = []
    for i in range(n):
        t = time.gmtime(1756710000 + i * 20_000)  # UTC+2 in September: the clock shows Paris time
        local = time.gmtime(1756710000 + i * 20_000 + (7200 if i * 20_000 < 4_730_400 else 3600))
        name = f"Screenshot_{time.strftime('%Y%m%d-%H%M%S', local)}.png"
        screenshot(local).save(folder / "captures" / name)
        lines.append(f"  - date: {time.strftime('%Y-%m-%dT%H:%MZ', t)}\n    capture: captures/{name}\n")
    shutil.copytree(EXAMPLE / "pieces", folder / "pieces")
    text = (EXAMPLE / "dossier.yaml").read_text("utf-8")
    head, rest = text.split("tentatives:\n", 1)
    rest = rest[rest.index("\npieces:") + 1:]
    case.write_text(head + "tentatives:\n" + "".join(lines) + "\n" + rest, "utf-8")
    return case


def timed(case: Path, lecture: bool) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process tree, stdout). CPU time is what a shared,
    loaded machine does not inflate: CPU / cores is the wall time on idle cores."""
    env = {**os.environ, "REFERE_LECTURE": "1" if lecture else "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    res = subprocess.run([PY, "-m", "refere", "check", str(case), "--json"], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, res.stdout


def bench(name: str, case: Path, n: int) -> None:
    shutil.rmtree(case.parent / ".refere", ignore_errors=True)
    first, first_cpu, out = timed(case, True)
    cached = min(timed(case, True)[:2] for _ in range(3))
    floor = min(timed(case, False)[:2] for _ in range(3))
    found: dict[str, int] = {}
    for c in json.loads(out).get("constats", []):
        found[c["code"]] = found.get(c["code"], 0) + 1
    cores = os.cpu_count() or 1
    print(f"{name:9} {n} captures, {cores} cœurs, charge {os.getloadavg()[0]:.1f}")
    print(f"{'':9} première lecture : {first:6.1f} s ({first / n:.2f} s par capture) ; "
          f"CPU {first_cpu:.1f} s ({first_cpu / n:.2f} s par capture, soit {first_cpu / n / cores:.2f} s "
          f"par capture sur {cores} cœurs libres)")
    print(f"{'':9} en cache : {cached[0]:.2f} s (CPU {cached[1]:.2f} s) ; sans lecture : {floor[0]:.2f} s "
          f"(CPU {floor[1]:.2f} s) ; la lecture en cache coûte {cached[1] - floor[1]:+.2f} s CPU")
    print(f"{'':9} constats : {found}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 12 if args.quick else 120
    if shutil.which("tesseract") is None:
        sys.exit("Tesseract absent (Debian : apt install tesseract-ocr tesseract-ocr-fra)")
    bench("réaliste", realistic_case(n), n)
    bench("lourd", heavy.heavy_case(n), n)


if __name__ == "__main__":
    main()
