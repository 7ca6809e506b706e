"""Benchmark: `refere build` on a heavy case against the bare img2pdf + qpdf floor, in one run;
then `refere batch` on many light cases with -j 1 and -j 2.

    .venv/bin/python bench/run.py            # everything (a few minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # smaller, to check the script itself
    .venv/bin/python bench/run.py --lourd    # the heavy case only

Generated inputs are cached in bench/out/ (git-ignored). Peak memory is the highest total PSS
of the process tree (shared pages divided among the processes that share them, so that forked
workers are not counted twice), sampled every 20 ms from /proc.

Reading of captures (OCR, on by default in check/build) is turned off (REFERE_LECTURE=0) for the
comparison with the floor, which reads nothing; the heavy build is then timed with reading on,
first read (empty cache) and cached. Every line says in which mode it was taken.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import img2pdf
from PIL import Image, ImageDraw, ImageOps

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PY = sys.executable
REFERE = [PY, "-m", "refere"]
# The floor reads nothing: refere is compared with it with reading (OCR) off.
SANS_LECTURE = {**os.environ, "REFERE_LECTURE": "0"}
AVEC_LECTURE = {**os.environ, "REFERE_LECTURE": "1"}
W, H = 1080, 2400


# --- inputs ---------------------------------------------------------------------------------

def screenshot(i: int, photographic: bool) -> Image.Image:
    if photographic:
        # Coarse noise, upscaled and posterised: photo-like, ~2 MB as PNG.
        small = Image.merge("RGB", [Image.effect_noise((W // 8, H // 8), 50 + 10 * c) for c in range(3)])
        img = ImageOps.posterize(small.resize((W, H), Image.BICUBIC), 5)
    else:
        img = Image.new("RGB", (W, H), (245, 245, 245))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, W, 160], fill=(0, 0, 145))
    d.text((40, 60), f"08:{i % 60:02d} https://www.val-de-marne.gouv.fr/booking/create/1187/1", fill="white")
    for k in range(12):
        d.text((60, 300 + k * 60), f"Il n'existe plus de plage horaire libre ({i}.{k})", fill=(20, 20, 20))
    return img


def heavy_case(n: int, alpha: bool = False) -> Path:
    folder = OUT / f"lourd-{n}{'-alpha' if alpha else ''}"
    case = folder / "dossier.yaml"
    if case.exists():
        return case
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "captures").mkdir(parents=True)
    random.seed(1)
    lines = []
    for i in range(n):
        # One attempt every ~5.5 hours from 1 September 2025, all before the example's signature
        # (29 September): four weeks, all bands of the day.
        t = time.gmtime(1756710000 + i * 20_000)
        name = f"Screenshot_{time.strftime('%Y%m%d-%H%M%S', t)}.png"
        img = screenshot(i, photographic=i % 2 == 0)
        # macOS saves screenshots as RGBA: each must be flattened on white, a CPU-bound step.
        (img.convert("RGBA") if alpha else img).save(folder / "captures" / name)
        lines.append(f"  - date: {time.strftime('%Y-%m-%d %H:%M', t)}\n    capture: captures/{name}\n")
    shutil.copytree(ROOT_EXAMPLE / "pieces", folder / "pieces")
    text = (ROOT_EXAMPLE / "dossier.yaml").read_text("utf-8")
    head, rest = text.split("tentatives:\n", 1)
    rest = rest[rest.index("\npieces:") + 1:]
    case.write_text(head + "tentatives:\n" + "".join(lines) + "\n" + rest, "utf-8")
    return case


def light_cases(n: int) -> Path:
    root = OUT / f"legers-{n}"
    if (root / "done").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    for i in range(n):
        shutil.copytree(ROOT_EXAMPLE, root / f"affaire-{i:03d}", ignore=shutil.ignore_patterns("dossier"))
    (root / "done").write_text("")
    return root


ROOT_EXAMPLE = HERE.parent / "cases" / "exemple-94"


# --- measuring ------------------------------------------------------------------------------

def _tree_rss(pid: int) -> int:
    total = 0
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
        stack += children.get(p, [])
    return total


def measure(cmd: list[str], **kw) -> tuple[float, int]:
    """Wall time and peak total RSS of the command's process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{err.decode()}")
    return elapsed, peak


FLOOR = """
import sys, img2pdf
from pathlib import Path
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
a4 = img2pdf.get_layout_fun((img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297)))
rotation = img2pdf.Rotation.none if sys.argv[2] == "sans-exif" else None
for i, src in enumerate(sys.argv[3:]):
    with open(out / f"{i:04d}.pdf", "wb") as fh:
        img2pdf.convert(src, layout_fun=a4, rotation=rotation, outputstream=fh)
"""


def floor(case: Path, work: Path, variant: str = "defaut") -> tuple[float, int]:
    """img2pdf of every screenshot onto A4, then a qpdf merge: nothing else.

    ``defaut`` is img2pdf as shipped, whose EXIF look-up decodes every PNG; ``sans-exif`` skips
    that look-up, as refere does for PNGs without an orientation: the harder floor.
    """
    shutil.rmtree(work, ignore_errors=True)
    shots = sorted(str(p) for p in (case.parent / "captures").iterdir())
    t1, m1 = measure([PY, "-c", FLOOR, str(work / "pages"), variant, *shots])
    pages = sorted(str(p) for p in (work / "pages").iterdir())
    t2, m2 = measure(["qpdf", "--empty", "--pages", *pages, "--", str(work / "merged.pdf")])
    return t1 + t2, max(m1, m2)


def mb(n: int) -> str:
    return f"{n / 1e6:.0f} Mo"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lourd", action="store_true", help="the heavy case only (no RGBA case, no batch)")
    args = parser.parse_args()
    n_shots, n_cases = (24, 20) if args.quick else (120, 200)
    OUT.mkdir(exist_ok=True)
    case = heavy_case(n_shots)
    size = sum(p.stat().st_size for p in (case.parent / "captures").iterdir())
    print(f"Cas lourd : {n_shots} captures {W}×{H}, {size / n_shots / 1e6:.2f} Mo en moyenne ({size / 1e6:.0f} Mo)")
    print(f"Machine : {os.cpu_count()} cœurs")
    best: dict[str, float] = {}
    mem: dict[str, int] = {}
    for r in range(args.rounds):
        times = {}
        for variant in ("defaut", "sans-exif"):
            times[variant], m = floor(case, OUT / "plancher", variant)
            mem[variant] = max(mem.get(variant, 0), m)
        for jobs in (1, 2):
            out = OUT / "construit"
            shutil.rmtree(out, ignore_errors=True)
            key = f"build-j{jobs}"
            times[key], m = measure([*REFERE, "build", str(case), "-o", str(out), "--force", "-j", str(jobs)],
                                    env=SANS_LECTURE)
            mem[key] = max(mem.get(key, 0), m)
        for k, t in times.items():
            best[k] = min(best.get(k, t), t)
        print("  tour %d : %s" % (r + 1, ", ".join(f"{k} {t:.2f} s" for k, t in times.items())))
    print(f"plancher img2pdf+qpdf : {best['defaut']:.2f} s (img2pdf par défaut), "
          f"{best['sans-exif']:.2f} s (sans lecture EXIF des PNG) ; mémoire {mb(max(mem['defaut'], mem['sans-exif']))}")
    for jobs in (1, 2):
        key = f"build-j{jobs}"
        print(f"refere build -j {jobs} (sans lecture) : {best[key]:.2f} s ; rapport {best[key] / best['defaut']:.2f} "
              f"(plancher par défaut), {best[key] / best['sans-exif']:.2f} (plancher sans EXIF) ; "
              f"mémoire {mb(mem[key])}")
    print("objectifs : rapport ≤ 1,3 ; mémoire ≤ 300 Mo")

    # The same build with reading on: first read (cache emptied), then cached (best of rounds).
    out = OUT / "construit"
    shutil.rmtree(case.parent / ".refere", ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    t, m = measure([*REFERE, "build", str(case), "-o", str(out), "--force", "-j", "2"], env=AVEC_LECTURE)
    print(f"refere build -j 2 avec lecture, première lecture : {t:.2f} s ; mémoire {mb(m)}")
    cached = []
    for _ in range(args.rounds):
        shutil.rmtree(out, ignore_errors=True)
        cached.append(measure([*REFERE, "build", str(case), "-o", str(out), "--force", "-j", "2"], env=AVEC_LECTURE))
    t, m = min(cached)
    print(f"refere build -j 2 avec lecture, en cache : {t:.2f} s ; rapport {t / best['defaut']:.2f} "
          f"(plancher par défaut) ; mémoire {mb(max(x[1] for x in cached))}")

    if args.lourd:
        return
    alpha_case = heavy_case(n_shots // 3, alpha=True)
    for jobs in (1, 2):
        out = OUT / "construit-alpha"
        shutil.rmtree(out, ignore_errors=True)
        t, m = measure([*REFERE, "build", str(alpha_case), "-o", str(out), "--force", "-j", str(jobs)],
                       env=SANS_LECTURE)
        print(f"refere build -j {jobs} (sans lecture), {n_shots // 3} captures RGBA (aplaties sur blanc) : "
              f"{t:.2f} s ; mémoire {mb(m)}")

    # The same -j 2 run on a quarter of the cases shows whether memory grows with their number.
    for jobs, n in ((1, n_cases), (2, n_cases), (2, n_cases // 4)):
        root = light_cases(n)
        out = OUT / f"lot-j{jobs}-{n}"
        shutil.rmtree(out, ignore_errors=True)
        t, m = measure([*REFERE, "batch", str(root), "-o", str(out), "-j", str(jobs)], env=SANS_LECTURE)
        print(f"batch -j {jobs} (sans lecture) : {n} affaires en {t:.1f} s, {n / t:.1f} affaires/s, mémoire {mb(m)}")
    # With reading on: first read (every case's cache emptied), then cached.
    root = light_cases(n_cases)
    for c in root.iterdir():
        shutil.rmtree(c / ".refere", ignore_errors=True)
    for label in ("première lecture", "en cache"):
        out = OUT / f"lot-lecture-{n_cases}"
        shutil.rmtree(out, ignore_errors=True)
        t, m = measure([*REFERE, "batch", str(root), "-o", str(out), "-j", "2"], env=AVEC_LECTURE)
        print(f"batch -j 2 avec lecture, {label} : {n_cases} affaires en {t:.1f} s, {n_cases / t:.1f} affaires/s, "
              f"mémoire {mb(m)}")


if __name__ == "__main__":
    main()
