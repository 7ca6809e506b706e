"""Benchmark: refere against the strict floor, side by side, in alternating pairs; one table.

    .venv/bin/python bench/run.py                # 5 pairs of each measure (about 3 minutes on 2 cores)
    .venv/bin/python bench/run.py --paires 9     # more pairs: steadier medians on a loaded machine
    .venv/bin/python bench/run.py --quick        # small inputs, 2 pairs: to try the script itself

The strict floor is img2pdf embedding each PNG as it is (no EXIF look-up, nothing decoded), one
single-page PDF per capture, then a qpdf merge. Each measure runs in pairs, refere then the
floor, again and again, so that a load coming and going on the machine hits both alike; the
table gives medians of wall time and of CPU time (user + system, the process and everything it
waited for: qpdf, pool workers), and the peak memory (PSS of the whole process tree, sampled
every 20 ms from /proc; shared pages divided among the processes that share them) of one more
run of each command, apart: sampling costs the command measured a quarter of a core.

Reading of captures (OCR) is off (REFERE_LECTURE=0): the floor reads nothing. The user cache is
a folder of bench/out/ (XDG_CACHE_HOME), emptied before each first build. Generated inputs are
kept in bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PY = sys.executable
REFERE = [PY, "-m", "refere"]
CACHE = OUT / "cache"
# Bytecode written and used, as an installed package has it (pip compiles it): a shell that sets
# PYTHONDONTWRITEBYTECODE would otherwise make every run compile refere's modules again.
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "REFERE_LECTURE": "0", "XDG_CACHE_HOME": str(CACHE)}
W, H = 1080, 2400
ROOT_EXAMPLE = HERE.parent / "cases" / "exemple-94"


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


def heavy_case(n: int) -> Path:
    """``n`` phone screenshots of 1080×2400, half of them photographic (about 1 MB each)."""
    folder = OUT / f"lourd-{n}"
    case = folder / "dossier.yaml"
    if case.exists():
        return case
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "captures").mkdir(parents=True)
    random.seed(1)
    lines = []
    step = 2_400_000 // n  # 20,000 s for 120 captures
    for i in range(n):
        # From 1 September 2025, all before the example's signature (29 September): four weeks
        # whatever ``n`` (--quick's 24 in one week were refused: « semaines-insuffisantes »),
        # all bands of the day (one attempt every ~5.5 hours for 120).
        t = time.gmtime(1756710000 + i * step)
        name = f"Screenshot_{time.strftime('%Y%m%d-%H%M%S', t)}.png"
        screenshot(i, photographic=i % 2 == 0).save(folder / "captures" / name)
        lines.append(f"  - date: {time.strftime('%Y-%m-%d %H:%M', t)}\n    capture: captures/{name}\n")
    shutil.copytree(ROOT_EXAMPLE / "pieces", folder / "pieces")
    text = (ROOT_EXAMPLE / "dossier.yaml").read_text("utf-8")
    head, rest = text.split("tentatives:\n", 1)
    rest = rest[rest.index("\npieces:") + 1:]
    case.write_text(head + "tentatives:\n" + "".join(lines) + "\n" + rest, "utf-8")
    return case


# A desk's cases are different people: each copy of the example gets its own applicant (the
# bordereau's font subset and the « même personne » check then work as they would for real).
PEOPLE = [("DIALLO", "Aminata"), ("NGUYỄN", "Văn Minh"), ("TRAORÉ", "Moussa"), ("KAYA", "Şükrü"),
          ("HADDAD", "Yasmina"), ("OKAFOR", "Chinedu"), ("BENSAÏD", "Leïla"), ("IVANOVA", "Olena"),
          ("MENDES", "João"), ("RAHMAN", "Abdul"), ("CISSÉ", "Fatoumata"), ("ZHANG", "Wei"),
          ("EL AMRANI", "Hicham"), ("POPESCU", "Ioana"), ("KONÉ", "Ibrahim"), ("SAADI", "Nour"),
          ("MBALA", "Grâce"), ("AHMADI", "Farid"), ("DOS SANTOS", "Ana"), ("BELKACEM", "Sofiane"),
          ("OUEDRAOGO", "Awa"), ("GÜNEŞ", "Elif"), ("KHAN", "Imran"), ("TOURÉ", "Mariam")]


def light_cases(n: int) -> Path:
    """``n`` copies of the bundled example, each for another person, as a volunteer's folder of cases."""
    root = OUT / f"legers-{n}"
    if (root / "done-2").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    text = (ROOT_EXAMPLE / "dossier.yaml").read_text("utf-8")
    for i in range(n):
        folder = root / f"affaire-{i:03d}"
        shutil.copytree(ROOT_EXAMPLE, folder, ignore=shutil.ignore_patterns("dossier", ".refere"))
        name, first = PEOPLE[i % len(PEOPLE)]
        born = f"19{70 + i % 25}-0{1 + i % 9}-{10 + i % 18}"
        own = text.replace("BENALI", name).replace("Karim", first).replace("1987-11-03", born)
        (folder / "dossier.yaml").write_text(own, "utf-8")
    (root / "done-2").write_text("")
    return root


# --- measuring ------------------------------------------------------------------------------

def _children_of(pid: int) -> list[int] | None:
    """The children of ``pid`` from /proc/<pid>/task/*/children; None when the kernel lacks it."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out  # gone
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(x) for x in fh.read().split()]
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended meanwhile
            return None  # no CONFIG_PROC_CHILDREN
        except OSError:
            continue
    return out


def _all_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return children


def _tree_pss(pid: int) -> int:
    # Only the measured tree is walked (its children files): reading every process's stat, as
    # this did, cost 3 ms of CPU per sample on a shared machine, a sixth of a core at one sample
    # every 20 ms, taken from the command measured whenever it used both cores (batch -j 2).
    table: dict[int, list[int]] | None = None
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
        kids = _children_of(p) if table is None else None
        if kids is None:
            table = table if table is not None else _all_children()
            kids = table.get(p, [])
        stack += kids
    return total


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(cmd: list[str], env: dict | None = None, memory: bool = False) -> tuple[float, float, int]:
    """Wall time, CPU time (the command and every process it waited for) and, with ``memory``,
    peak PSS (else 0).

    A timed run is not sampled: reading a process's PSS (its smaps_rollup: the kernel walks its
    page tables) cost 2 ms of CPU per sample for one refere process and 5 ms for the three of
    batch -j 2, every 20 ms: a quarter of a core, which a command using both cores (batch -j 2,
    a first build and its checks) lost and one using a single core (batch -j 1, the floor) took
    from the idle one. Peak memory comes from runs of their own (``memory_pass``)."""
    cpu0 = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or ENV)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_pss(proc.pid))
            done.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    if memory:
        thread.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    if memory:
        thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{err.decode()}")
    return wall, _children_cpu() - cpu0, peak


FLOOR = """
import sys, img2pdf
from pathlib import Path
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
a4 = img2pdf.get_layout_fun((img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297)))
for i, src in enumerate(sys.argv[2:]):
    with open(out / f"{i:04d}.pdf", "wb") as fh:
        img2pdf.convert(src, layout_fun=a4, rotation=img2pdf.Rotation.none, outputstream=fh)
"""


def floor(case: Path, memory: bool = False) -> tuple[float, float, int]:
    """The strict floor: img2pdf of every screenshot onto A4 (nothing decoded), then qpdf merge."""
    work = OUT / "plancher"
    shutil.rmtree(work, ignore_errors=True)
    shots = sorted(str(p) for p in (case.parent / "captures").iterdir())
    w1, c1, m1 = measure([PY, "-c", FLOOR, str(work / "pages"), *shots], memory=memory)
    pages = sorted(str(p) for p in (work / "pages").iterdir())
    w2, c2, m2 = measure(["qpdf", "--empty", "--pages", *pages, "--", str(work / "merged.pdf")], memory=memory)
    return w1 + w2, c1 + c2, max(m1, m2)


class Series:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.peak = 0

    def add(self, result: tuple[float, float, int]) -> None:
        self.wall.append(result[0])
        self.cpu.append(result[1])
        self.peak = max(self.peak, result[2])

    def add_peak(self, result: tuple[float, float, int]) -> None:
        self.peak = max(self.peak, result[2])

    @property
    def w(self) -> float:
        return statistics.median(self.wall)

    @property
    def c(self) -> float:
        return statistics.median(self.cpu)


def fr(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} Mio"


def same_tree(a: Path, b: Path) -> bool:
    """Every file of ``a`` and ``b`` byte for byte the same (names and contents)."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.1f}".replace(".", ",") for x in os.getloadavg())
    return f"{os.cpu_count()} cœurs (nproc), {model}, Python {platform.python_version()}, charge moyenne {load}"


def memory_pass(s: dict, case: Path, build: list[str], out: Path, root: Path, outs: dict) -> None:
    """Peak memory: one sampled run of each command, in the state its timed runs had (the timed
    runs are not sampled: see ``measure``)."""
    shutil.rmtree(CACHE, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    s["first"].add_peak(measure(build, memory=True))
    s["floor1"].add_peak(floor(case, memory=True))
    s["second"].add_peak(measure(build, memory=True))
    measure([*REFERE, "check", str(case)])
    s["check"].add_peak(measure([*REFERE, "check", str(case)], memory=True))
    for jobs in (1, 2):
        shutil.rmtree(outs[jobs], ignore_errors=True)
        s[f"j{jobs}"].add_peak(measure([*REFERE, "batch", str(root), "-o", str(outs[jobs]), "-j", str(jobs)],
                                       memory=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paires", type=int, default=5, help="paires refere/plancher par mesure (défaut 5)")
    parser.add_argument("--quick", action="store_true", help="petites entrées, 2 paires")
    args = parser.parse_args()
    pairs = 2 if args.quick else args.paires
    n_shots, n_cases = (24, 6) if args.quick else (120, 24)
    OUT.mkdir(exist_ok=True)
    case = heavy_case(n_shots)
    size = sum(p.stat().st_size for p in (case.parent / "captures").iterdir())
    subprocess.run([PY, "-m", "compileall", "-q", str(HERE.parent / "refere")], check=True, env=ENV)
    load_before = os.getloadavg()
    print(f"Machine : {machine()}")
    print(f"Cas lourd : {n_shots} captures {W}×{H}, {size / 1e6:.0f} Mo ; {pairs} paires par mesure ; lecture coupée")
    out = OUT / "construit"
    build = [*REFERE, "build", str(case), "-o", str(out), "--force"]
    s = {k: Series() for k in ("first", "floor1", "second", "floor2", "check", "help", "j1", "j2")}
    started = time.perf_counter()
    for i in range(pairs):
        shutil.rmtree(CACHE, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        s["first"].add(measure(build))
        s["floor1"].add(floor(case))
        s["second"].add(measure(build))  # into the previous output, caches filled: the usual rebuild
        s["floor2"].add(floor(case))
        measure([*REFERE, "check", str(case)])  # the first check of this case: it fills the cache
        s["check"].add(measure([*REFERE, "check", str(case)]))
        s["help"].add(measure([*REFERE, "--help"]))
        print(f"  paire {i + 1} : 1re {fr(s['first'].wall[-1])} s / plancher {fr(s['floor1'].wall[-1])} s ; "
              f"2e {fr(s['second'].wall[-1])} s / plancher {fr(s['floor2'].wall[-1])} s ; "
              f"check {fr(s['check'].wall[-1])} s", flush=True)
    root = light_cases(n_cases)
    outs = {1: OUT / "lot-j1", 2: OUT / "lot-j2"}
    for i in range(pairs):
        for jobs in (1, 2):
            shutil.rmtree(outs[jobs], ignore_errors=True)
            s[f"j{jobs}"].add(measure([*REFERE, "batch", str(root), "-o", str(outs[jobs]), "-j", str(jobs)]))
        print(f"  lot {i + 1} : -j 1 {fr(s['j1'].wall[-1])} s, -j 2 {fr(s['j2'].wall[-1])} s", flush=True)
    identical = same_tree(outs[1], outs[2])
    memory_pass(s, case, build, out, root, outs)

    f1, f2 = s["floor1"], s["floor2"]
    load = lambda la: ", ".join(fr(x, 1) for x in la)  # noqa: E731
    print(f"\nMesuré le {time.strftime('%Y-%m-%d')} en {fr(time.perf_counter() - started, 0)} s ; "
          f"machine : {machine()} ; charge moyenne (1, 5, 15 min) avant : {load(load_before)}, "
          f"après : {load(os.getloadavg())}\n")
    print("| mesure (médiane de %d) | refere mur | plancher mur | rapport mur | refere CPU | plancher CPU | "
          "rapport CPU | pic mémoire refere | objectif |" % pairs)
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for key, floor_s, label, goal in (
        ("first", f1, f"première construction, {n_shots} captures, rien en cache (chaque capture vérifiée)", "≤ 2,0×"),
        ("second", f2, "seconde construction (même sortie, --force, caches remplis)", "≤ 1,3×"),
    ):
        r = s[key]
        print(f"| {label} | {fr(r.w)} s | {fr(floor_s.w)} s | **{fr(r.w / floor_s.w)}×** | {fr(r.c)} s | "
              f"{fr(floor_s.c)} s | {fr(r.c / floor_s.c)}× | {mib(r.peak)} | {goal} |")
    print(f"| `check` du cas lourd, en cache (le même `check` une seconde fois) | {fr(s['check'].w)} s | | | {fr(s['check'].c)} s | | | "
          f"{mib(s['check'].peak)} | ≤ 0,3 s |")
    print(f"| `refere --help` | {fr(s['help'].w, 3)} s | | | {fr(s['help'].c, 3)} s | | | | ≤ 0,1 s |")
    print(f"| `batch -j 1`, {n_cases} affaires | {fr(s['j1'].w)} s ({fr(n_cases / s['j1'].w, 1)} affaires/s) | | | "
          f"{fr(s['j1'].c)} s | | | {mib(s['j1'].peak)} | |")
    print(f"| `batch -j 2`, {n_cases} affaires | {fr(s['j2'].w)} s ({fr(n_cases / s['j2'].w, 1)} affaires/s) | | | "
          f"{fr(s['j2'].c)} s | | | {mib(s['j2'].peak)} | débit ≥ 1,8× `-j 1` : **{fr(s['j1'].w / s['j2'].w)}×** "
          f"(sur 2 cœurs libres, d'après le CPU : {fr(2 * s['j1'].c / s['j2'].c)}×) |")
    print(f"| plancher (img2pdf + qpdf) | | {fr(f1.w)} s | | | {fr(f1.c)} s | | {mib(max(f1.peak, f2.peak))} | |")
    print(f"\nSorties de `batch -j 1` et `-j 2` identiques octet pour octet : {'oui' if identical else 'NON'}")
    print(f"Valeurs brutes (mur, s) : " + " ; ".join(
        f"{k} " + " ".join(fr(x) for x in v.wall) for k, v in s.items()))


if __name__ == "__main__":
    main()
