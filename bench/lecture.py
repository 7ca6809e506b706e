"""Benchmark: reading captures (OCR) in `refere check`, first read and cached.

    .venv/bin/python bench/lecture.py            # 120 captures
    .venv/bin/python bench/lecture.py --quick    # 12 captures, to check the script itself
    .venv/bin/python bench/lecture.py --corpus DIR   # the reader on bench/corpus_captures.py's corpus

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
    import tempfile

    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="refere-bench-cache-")  # the first read reads
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


READING = {"capture-floue", "capture-sans-message", "adresse-capture-discordante", "heure-capture-discordante",
           "capture-non-lue", "capture-pas-une-page", "capture-creneaux-offerts"}


def _expected(e: dict) -> set[str]:
    if e["photo"]:
        return {"capture-pas-une-page"}
    if e["floue"]:
        return {"capture-floue"}
    return ({"capture-creneaux-offerts"} if e["message"] == "slots" else set()) | \
        ({"adresse-capture-discordante"} if e["url"] != e["url_declaree"] else set())


def _bare(url: str) -> str:
    return url.strip().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")


def corpus(root: Path, jobs: int) -> None:
    """False warnings per capture, missed messages, URLs read exactly, first reading per capture:
    each case checked (`refere check -j N --json`) with an empty reading cache."""
    import tempfile

    import corpus_captures

    if not (root / "attendu.json").exists():
        corpus_captures.build(root)
    expected = json.loads((root / "attendu.json").read_text("utf-8"))
    os.environ.update({"REFERE_LECTURE": "1", "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="refere-corpus-cache-")})
    from refere.affaire.loader import load
    from refere.preuves import lecture

    false = missed = exact = urls = 0
    wall_all = cpu_all = 0.0
    for case in sorted({e["cas"] for e in expected}):
        shots = [e for e in expected if e["cas"] == case]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        res = subprocess.run([PY, "-m", "refere", "check", "-j", str(jobs), str(root / case / "dossier.yaml"), "--json"],
                             capture_output=True, text=True, env=os.environ)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        wall_all, cpu_all = wall_all + wall, cpu_all + cpu
        found = [c for c in json.loads(res.stdout)["constats"] if c["code"] in READING]
        readings = lecture.read_case(load(root / case / "dossier.yaml"))  # from the cache just filled
        print(f"{case}: {len(shots)} captures, {wall:.1f} s, CPU {cpu:.1f} s")
        for e in shots:
            i = e["tentative"] - 1
            got = {c["code"] for c in found if c["champ"].startswith(f"tentatives[{i}]")
                   or (c["code"] == "adresse-capture-discordante" and f"(tentative {i + 1})" in c["message"]
                       or f"tentative {i + 1} :" in c["message"])}
            wrong, lacking = got - _expected(e), _expected(e) - got
            false += len(wrong)
            r = readings.par_capture.get(e["capture"])
            if e["message"] not in (None, "slots") and not e["floue"] and not (r and r.message):
                missed += 1
                lacking.add("message")
            if not e["photo"] and not e["floue"]:
                urls += 1
                target = _bare(e["url"]).split("/")[0] if "host" in e["style"] else _bare(e["url"])
                exact += _bare(r.adresse or "") == target if r else 0
            mark = "ok" if not wrong and not lacking else f"en trop {sorted(wrong)}, manque {sorted(lacking)}"
            print(f"  {e['style']:32} {mark} ; adresse lue « {r.adresse if r else ''} »")
    n = len(expected)
    cores = os.cpu_count() or 1
    print(f"{n} captures : {false} avertissement(s) à tort ({false / n:.2f} par capture), {missed} message(s) "
          f"manqué(s), adresse lue exactement {exact}/{urls} ; check entier, première lecture : "
          f"{wall_all / n:.2f} s par capture (charge {os.getloadavg()[0]:.1f}), CPU {cpu_all / n:.2f} s par "
          f"capture, soit {cpu_all / n / cores:.2f} s par capture sur {cores} cœurs libres")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--corpus", type=Path, metavar="DOSSIER")
    ap.add_argument("-j", type=int, default=2)
    args = ap.parse_args()
    n = 12 if args.quick else 120
    if shutil.which("tesseract") is None:
        sys.exit("Tesseract absent (Debian : apt install tesseract-ocr tesseract-ocr-fra)")
    if args.corpus:
        corpus(args.corpus, args.j)
        return
    bench("réaliste", realistic_case(n), n)
    bench("lourd", heavy.heavy_case(n), n)


if __name__ == "__main__":
    main()
