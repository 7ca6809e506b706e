"""``refere batch``: many cases, in parallel; one bad case never stops the others."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError, RefereError, os_reason

COLUMNS = ["dossier", "statut", "pieces", "pages", "avertissements", "erreur"]
OK, FAILED = "ok", "echec"
CASES_PER_WORKER = 20


@dataclass(frozen=True)
class Job:
    name: str
    case_file: Path | None
    problem: str = ""  # set when the argument itself is unusable


@dataclass(frozen=True)
class Row:
    dossier: str
    statut: str
    pieces: int = 0
    pages: int = 0
    avertissements: int = 0
    erreur: str = ""


def find_jobs(arguments: Iterable[Path]) -> list[Job]:
    """Case files as given; folders searched for dossier.yaml. Names unique and stable."""
    found: list[tuple[str, Path | None, str]] = []
    for arg in arguments:
        if arg.is_file():
            found.append((arg.parent.resolve().name, arg, ""))
        elif arg.is_dir():
            direct = arg / "dossier.yaml"
            cases = [direct] if direct.is_file() else sorted(
                p for p in arg.rglob("dossier.yaml")
                if not any(part.startswith(".") for part in p.relative_to(arg).parts))
            if not cases:
                found.append((arg.name, None, f"aucun fichier dossier.yaml dans « {arg} »"))
            found += [(c.parent.name, c, "") for c in cases]
        else:
            found.append((arg.name or str(arg), None, f"« {arg} » introuvable"))
    jobs, seen = [], {}
    for name, path, problem in found:
        seen[name] = seen.get(name, 0) + 1
        unique = name if seen[name] == 1 else f"{name}-{seen[name]}"
        jobs.append(Job(unique, path, problem))
    return jobs


def _one_line(message: str) -> str:
    return " | ".join(line.strip() for line in message.strip().splitlines() if line.strip())


def build_one(job: Job, out_dir: Path, force: bool) -> Row:
    """Runs in a worker: every failure becomes a row, never an exception."""
    from .build import Options, build

    if job.case_file is None:
        return Row(job.name, FAILED, erreur=job.problem)
    try:
        res = build(job.case_file, Options(out=out_dir / job.name, force=force, jobs=1))
    except RefereError as exc:
        return Row(job.name, FAILED, erreur=_one_line(exc.message) or type(exc).__name__)
    except MemoryError:
        return Row(job.name, FAILED, erreur="mémoire insuffisante pour ce dossier")
    except Exception as exc:  # an unexpected crash in one case must not stop the batch
        return Row(job.name, FAILED, erreur=f"erreur interne ({type(exc).__name__}) : relancez ce dossier seul avec --debug")
    return Row(job.name, OK, len(res.inventory.pieces), res.pages, len(res.report.warnings))


def run(jobs: list[Job], out_dir: Path, workers: int, force: bool,
        progress: Callable[[Row, int, int], None] = lambda row, done, total: None) -> list[Row]:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"impossible de créer « {out_dir} » ({os_reason(exc)})") from None
    rows: list[Row] = []
    total = len(jobs)
    if workers <= 1:
        for job in jobs:
            rows.append(build_one(job, out_dir, force))
            progress(rows[-1], len(rows), total)
        return rows
    broken: list[Job] = []
    # Fresh workers for every chunk keep memory flat over hundreds of cases. (Not
    # max_tasks_per_child: on Python 3.11, recycling workers that way can deadlock the pool.)
    chunk = workers * CASES_PER_WORKER
    for start in range(0, len(jobs), chunk):
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(build_one, job, out_dir, force): job for job in jobs[start:start + chunk]}
            for fut in as_completed(futures):
                try:
                    rows.append(fut.result())
                except BrokenProcessPool:
                    broken.append(futures[fut])  # the culprit, or a bystander of its crash
                    continue
                progress(rows[-1], len(rows), total)
    for job in broken:
        # Alone in its own process: a case that crashes again is the culprit, the others pass.
        try:
            with ProcessPoolExecutor(max_workers=1) as pool:
                rows.append(pool.submit(build_one, job, out_dir, force).result())
        except BrokenProcessPool:
            rows.append(Row(job.name, FAILED, erreur="le traitement de ce dossier s'est interrompu brutalement"))
        progress(rows[-1], len(rows), total)
    return rows


def write_report(rows: list[Row], path: Path) -> None:
    """rapport.csv, sorted by case name; « ; » and a BOM so that a French spreadsheet opens it."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sorted(rows, key=lambda r: r.dossier):
        writer.writerow([r.dossier, r.statut, r.pieces, r.pages, r.avertissements, r.erreur])
    fd, tmp = tempfile.mkstemp(prefix=".rapport.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write(buf.getvalue())
    os.replace(tmp, path)
