"""``refere batch``: many cases, in parallel; one bad case never stops the others.

Each case is named by its folder's path relative to the folder given (« lundi/diallo »), which
is also where its output goes under ``-o``. A case whose sources, case file, options and refere
version match its previous output's ``inventaire.json`` is left as built (« à jour »).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from refere.affaire.personnes import person_entry, person_key, plain, remember_person, same_people  # noqa: F401 - the web's
from refere.errors import EvidenceInsufficient, OutputError, RefereError, os_reason, printable
from refere.jobs import REPORT, Job, check_output, find_jobs, one_line_name  # noqa: F401 - the CLI's, the web's
from refere.write import Held, hold, inside, new_file_mode, shown

# « erreur » before the long warnings; each warning in words, its code in its own column.
COLUMNS = ["dossier", "statut", "pieces", "pages", "bloquants", "erreur", "codes_avertissements", "avertissements"]
OK, UP_TO_DATE, FAILED, INTERRUPTED = "ok", "à jour", "échec", "interrompu"
DRAFT = "projet"  # --brouillon: only a case whose evidence is short is built as a PROJET, and says so
CASES_PER_WORKER = 20


@dataclass(frozen=True)
class Settings:
    """What batch passes on to each build."""

    force: bool = False
    brouillon: bool = False
    pdf: bool = False
    modele: Path | None = None
    compresser: bool = False


@dataclass(frozen=True)
class Row:
    dossier: str
    statut: str
    pieces: int = 0
    pages: int = 0
    bloquants: tuple[str, ...] = field(default=())
    avertissements: tuple[str, ...] = field(default=())
    erreur: str = ""
    textes: tuple[str, ...] = field(default=())  # each warning in words, for a person
    # What the worker read of the case file for ``same_people`` (``personnes.person_entry``): never in the report.
    personne: tuple | None = field(default=None, compare=False, repr=False)


def _texts(findings: Iterable) -> tuple[str, ...]:
    """Each warning as a person reads it (the form's words), in the report's order."""
    from refere.affaire.libelles import words

    def get(f, key):
        return getattr(f, key, None) if not isinstance(f, dict) else f.get(key)
    return tuple(dict.fromkeys(_cell_text(_one_line(words(get(f, "message") or "", get(f, "champ") or "")))
                               for f in findings))


CELL_TEXT_MAX = 300  # one warning in a spreadsheet cell: a sentence, not a list of nine addresses


def _cell_text(text: str) -> str:
    """A long list inside a warning (« (tentative 1 : « https://… » ; tentative 2 : … ; …) ») keeps its first
    two items and says how many more; `refere check` and the case's page give them all."""
    if len(text) <= CELL_TEXT_MAX:
        return text
    import re

    m = re.search(r"\(([^()]*(?: ; [^()]*){2,})\)", text)
    if m:
        items = m[1].split(" ; ")
        text = (text[:m.start()] + "(" + " ; ".join(items[:2]) + f" ; et {len(items) - 2} de plus)" + text[m.end():])
    if len(text) > CELL_TEXT_MAX:
        text = text[:CELL_TEXT_MAX - 1].rsplit(" ", 1)[0] + "…"
    return text + " (le détail : page Vérification du dossier, ou « refere check »)"


def _codes(findings: Iterable) -> tuple[str, ...]:
    """Each finding's code once, in the report's order."""
    return tuple(dict.fromkeys(f.code if hasattr(f, "code") else f["code"] for f in findings))


def _seed_people(rows: list[Row]) -> None:
    # Keyed by the file's size and modification time, as person_key's own cache: a file changed
    # since the worker read it is read again.
    for r in rows:
        if r.personne is not None:
            remember_person(*r.personne)


def _mark_same_people(rows: list[Row], jobs: list[Job]) -> list[Row]:
    from refere.present import SAME_PERSON, same_person_text

    same = same_people((j.name, j.case_file) for j in jobs)
    return [dataclasses.replace(r, avertissements=(*r.avertissements, SAME_PERSON),
                                textes=(*r.textes, same_person_text(same[r.dossier])))
            if r.dossier in same else r for r in rows]


def _one_line(message: str) -> str:
    from refere.present import one_line

    return one_line(message)


def _failure_code(exc: RefereError) -> str:
    """The « bloquants » column of a case that failed before its evidence was weighed: every failed row has one."""
    from refere.errors import CaseInvalid, FileProblem, TemplateError, ToolMissing

    for cls, code in ((CaseInvalid, "dossier-a-corriger"), (FileProblem, "fichier-a-corriger"),
                      (TemplateError, "modele-a-corriger"), (ToolMissing, "outil-manquant"),
                      (OutputError, "sortie-impossible")):
        if isinstance(exc, cls):
            return code
    return "erreur"


def is_file_problem(code: str) -> bool:
    from refere.present import is_file_problem as same

    return same(code)


def _evidence_error(blocking: list) -> str:
    """Short: the codes are in their column. An unreadable file is named, as it must be fixed."""
    files = [f for f in blocking if is_file_problem(f.code)]
    if files:
        return "fichier à corriger : " + " ; ".join(_one_line(f.message) for f in files[:3])
    from refere.preuves.findings import short_words

    reasons = short_words(dict.fromkeys(f.code for f in blocking))
    return (f"preuves insuffisantes ({reasons}) : complétez-les, ou relancez avec --brouillon pour un projet "
            "marqué « PROJET » (seuls les dossiers aux preuves insuffisantes en sont un, les autres restent à déposer)")


def _from_manifest(name: str, data: dict) -> Row:
    preuves = data.get("preuves") or {}
    constats = [c for c in preuves.get("constats", []) if isinstance(c, dict) and "code" in c]
    draft = bool(data.get("construction", {}).get("brouillon"))
    return Row(name, DRAFT if draft else UP_TO_DATE, len(data.get("pieces", [])),
               int(data.get("construction", {}).get("pages_dossier_complet", 0)),
               _codes(c for c in constats if c.get("niveau") == "bloquant"),
               _codes(c for c in constats if c.get("niveau") != "bloquant"),
               textes=_texts(c for c in constats if c.get("niveau") != "bloquant"))


def build_one(job: Job, out: Held, settings: Settings) -> Row:
    """Runs in a worker: every failure becomes a row, never an exception."""
    from refere.signals import busy

    with busy():
        row = _build_one(job, out, settings)
    return dataclasses.replace(row, personne=person_entry(job.case_file))


def _build_one(job: Job, out: Held, settings: Settings) -> Row:
    if job.case_file is None:
        return Row(job.name, FAILED, bloquants=(job.code or "nom-a-changer",), erreur=job.problem)
    try:
        # Written only inside the output folder held at the start of the run, whatever was swapped since.
        with inside(out, job.name) as target:
            row = _build_case(job, target, settings)
        return dataclasses.replace(row, erreur=shown(row.erreur, target.parent, (out.path / job.name).parent))
    except RefereError as exc:  # the output folder was swapped: this case is refused, the others go on
        from refere.present import error_text

        return Row(job.name, FAILED, bloquants=(_failure_code(exc),),
                   erreur=_one_line(error_text(exc)) or type(exc).__name__)


def _build_case(job: Job, target: Path, settings: Settings) -> Row:
    from refere.build import Options, build, up_to_date
    from refere.affaire.loader import load

    # --brouillon never turns a case that can be filed into a PROJET: each case is built final when it
    # can be, and as a PROJET (statut « projet ») only when its evidence is short.
    final = Options(out=target, force=True, brouillon=False, pdf=settings.pdf,
                    modele=settings.modele, compresser=settings.compresser, jobs=1)
    draft = dataclasses.replace(final, brouillon=True)
    try:
        if not settings.force and target.exists():
            # Unchanged since its last build: left as built. Changed: rebuilt in place.
            from refere.affaire.loader import resolve_case_path

            case_path = resolve_case_path(job.case_file)
            case = load(case_path)
            for options in (final, draft) if settings.brouillon else (final,):
                previous = up_to_date(target, case_path, case, options)
                if previous is not None:
                    return _from_manifest(job.name, previous)
        try:
            res = build(job.case_file, final)
        except EvidenceInsufficient as exc:
            report = getattr(exc, "report", None)
            if not settings.brouillon or report is None or any(is_file_problem(f.code) for f in report.blocking):
                raise  # an unreadable file stops a PROJET too: the same « fichier à corriger » row
            res = build(job.case_file, draft)
            return Row(job.name, DRAFT, len(res.inventory.pieces), res.pages, _codes(res.report.blocking),
                       _codes(res.report.warnings), textes=_texts(res.report.warnings))
    except EvidenceInsufficient as exc:
        report = getattr(exc, "report", None)
        if report is None:
            return Row(job.name, FAILED, bloquants=("preuves-insuffisantes",), erreur=_one_line(exc.message))
        return Row(job.name, FAILED, bloquants=_codes(report.blocking), avertissements=_codes(report.warnings),
                   erreur=_evidence_error(report.blocking), textes=_texts(report.warnings))
    except RefereError as exc:
        from refere.present import error_text

        return Row(job.name, FAILED, bloquants=(_failure_code(exc),),
                   erreur=_one_line(error_text(exc)) or type(exc).__name__)
    except MemoryError:
        return Row(job.name, FAILED, bloquants=("erreur-interne",), erreur="mémoire insuffisante pour ce dossier")
    except Exception as exc:  # an unexpected crash in one case must not stop the batch
        return Row(job.name, FAILED, bloquants=("erreur-interne",), erreur=f"erreur interne ({type(exc).__name__}) : construisez ce dossier seul "
                                            "avec « refere --debug build » et transmettez le message")
    return Row(job.name, OK, len(res.inventory.pieces), res.pages,
               _codes(res.report.blocking), _codes(res.report.warnings), textes=_texts(res.report.warnings))


def _worker_init() -> None:
    # A worker stopped by SIGTERM/SIGHUP unwinds like Ctrl-C: its staging folder is removed.
    from refere.signals import install

    install(worker=True)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop every worker (they clean up on SIGTERM) and drop the cases not started."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        try:
            proc.terminate()
        except (OSError, AttributeError):
            pass
    pool.shutdown(wait=True, cancel_futures=True)


# fork: each worker starts with what the parent loaded (``_preload``), in memory shared with it.
_FORK = multiprocessing.get_context("fork")


def _preload() -> None:
    """The build's libraries and template loaded once, before the workers fork: each of them
    paid the imports and the template's compilation (half a second) before its first case."""
    from refere.build import preload

    try:
        preload()
    except Exception:  # noqa: BLE001 - a head start only: each case loads what it lacks, and says what fails
        pass


@contextlib.contextmanager
def _frozen():
    """The parent's objects out of the collector's reach while the workers fork: a collection in
    a worker would otherwise write to every page they share, copying it."""
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()  # the parent (a web server, maybe) collects as before


def no_last_collection() -> None:
    """What is alive at exit is left to the system: the last collection walked every object a batch
    loaded (0.2 s after the report) to free memory given back anyway. Later exit handlers run first."""
    import atexit
    import gc

    atexit.register(gc.freeze)


def heaviest_first(jobs: list[Job]) -> list[Job]:
    """The longest cases first, so that a batch does not end on one of them alone on one core: the
    length guessed from the case file's size (a few lines per attempt, that is per capture); equal
    ones keep their order. Each case's output is the same whatever the order."""
    def size(job: Job) -> int:
        try:
            return os.stat(job.case_file).st_size if job.case_file is not None else 0
        except (OSError, ValueError):
            return 0
    return sorted(jobs, key=size, reverse=True)


def run(jobs: list[Job], out_dir: Path | Held, workers: int, settings: Settings,
        progress: Callable[[Row, int, int], None] = lambda row, done, total: None) -> list[Row]:
    """Every case built under ``out_dir`` (a path, held now, or a folder already held): only there."""
    out_dir = out_dir if isinstance(out_dir, Held) else hold(out_dir)
    rows: list[Row] = []
    total = len(jobs)
    if workers <= 1:
        for job in jobs:
            rows.append(build_one(job, out_dir, settings))
            progress(rows[-1], len(rows), total)
        return _mark_same_people(rows, jobs)
    broken: list[Job] = []
    _preload()
    # Fresh workers for every chunk keep memory flat over hundreds of cases. (Not
    # max_tasks_per_child: on Python 3.11, recycling workers that way can deadlock the pool.)
    chunk = workers * CASES_PER_WORKER
    ordered = heaviest_first(jobs)
    for start in range(0, len(ordered), chunk):
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, mp_context=_FORK)
        try:
            with _frozen():  # the workers fork at the first submit
                futures = {pool.submit(build_one, job, out_dir, settings): job for job in ordered[start:start + chunk]}
            for fut in as_completed(futures):
                try:
                    rows.append(fut.result())
                except BrokenProcessPool:
                    broken.append(futures[fut])  # the culprit, or a bystander of its crash
                    continue
                progress(rows[-1], len(rows), total)
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)
    _seed_people(rows)
    for job in broken:
        # Alone in its own process: a case that crashes again is the culprit, the others pass.
        try:
            with ProcessPoolExecutor(max_workers=1, initializer=_worker_init, mp_context=_FORK) as pool:
                rows.append(pool.submit(build_one, job, out_dir, settings).result())
        except BrokenProcessPool:
            rows.append(Row(job.name, FAILED, erreur="le traitement de ce dossier s'est interrompu brutalement"))
        progress(rows[-1], len(rows), total)
    return _mark_same_people(rows, jobs)


def summary_lines(rows: list[Row], report: Path) -> list[str]:
    """What `refere batch` prints at the end: the counts, the PROJETs, each failure, each same person."""
    from refere.present import SAME_PERSON, plural

    failed = sorted((r for r in rows if r.statut == FAILED), key=lambda r: r.dossier)
    fresh = sum(1 for r in rows if r.statut == UP_TO_DATE)
    drafts = sorted(r.dossier for r in rows if r.statut == DRAFT)
    built = len(rows) - len(failed) - fresh - len(drafts)
    out = [f"{plural(built, 'affaire construite', 'affaires construites')}, {fresh} à jour, "
           + (f"{plural(len(drafts), 'PROJET')} (preuves insuffisantes), " if drafts else "")
           + f"{len(failed)} en échec — rapport : {report}"]
    if drafts:
        out.append(f"  PROJET seulement, à ne pas déposer : {', '.join(drafts)}")
    out += [f"  ÉCHEC {r.dossier} : {r.erreur}" for r in failed]
    out += [f"  ATTENTION {r.dossier} : {r.textes[-1]}" for r in sorted(rows, key=lambda r: r.dossier)
            if SAME_PERSON in r.avertissements]
    return out + [f"  ATTENTION {name} : sortie d'une affaire absente de ce lot (supprimée, renommée ou non "
                  "donnée) : ancienne version, ne la déposez pas ; supprimez-la si l'affaire est close"
                  for name in _outputs_without_case(report.parent, {r.dossier for r in rows})]


def _outputs_without_case(out_dir: Path, names: set[str]) -> list[str]:
    """The folders of ``out_dir`` holding a built case (its inventaire.json) that no case of this
    batch wrote: a case deleted since an earlier run left its filing there (attack 39)."""
    found = []
    try:
        with os.scandir(out_dir) as entries:
            for n, entry in enumerate(entries):
                if n >= 10_000:
                    break
                if (entry.name not in names and entry.is_dir(follow_symlinks=False)
                        and os.path.isfile(os.path.join(entry.path, "inventaire.json"))):
                    found.append(entry.name)
    except OSError:
        return []
    return sorted(found)


@dataclass(frozen=True)
class Letter:
    dossier: str
    written: Path | None  # the letter (.docx), or None when it failed
    erreur: str = ""
    a_completer: tuple[str, ...] = ()
    kept: bool = False  # written by an earlier run, left as it is (perhaps sent already)


def letters(jobs: list[Job], out_dir: Path | None, force: bool, modele: Path | None = None,
            given: Iterable[Path] = ()) -> list[Letter]:
    """`refere courrier` for every case of a folder: one letter each, in the case's folder (or
    ``out_dir/<case>/``); one case that fails never stops the others. ``out_dir`` is refused, as
    `refere batch` refuses it, inside a case or the folder ``given`` (attack4 G4)."""
    from refere.present import error_text
    from refere.requete.courrier import STEM, complete_text, write

    def kept(folder: Path) -> Path | None:
        # A letter an earlier run wrote may have been sent: rewritten only with --force (dated today).
        # Either of its two files tells it was written (the letter alone: a run stopped before the
        # e-mail text, made now from the letter as it is; the text alone: the letter moved away).
        if force:
            return None
        found = [p for p in (folder / f"{STEM}.docx", folder / f"{STEM}.txt") if p.is_file() and not p.is_symlink()]
        if found and found[0].suffix == ".docx":
            complete_text(found[0])
        return found[0] if found else None

    if out_dir is not None:
        check_output(jobs, given, out_dir)
        held = hold(out_dir)
    out: list[Letter] = []
    for job in jobs:
        if job.case_file is None:
            out.append(Letter(job.name, None, job.problem))
            continue
        try:
            if out_dir is None:
                if (letter := kept(job.case_file.parent)) is not None:
                    out.append(Letter(job.name, letter, kept=True))
                    continue
                res = write(job.case_file, None, force, modele=modele)
            else:  # only inside ``out_dir`` as found at the start, whatever is swapped since
                with inside(held, job.name) as target:
                    if (letter := kept(target)) is not None:
                        out.append(Letter(job.name, out_dir / job.name / letter.name, kept=True))
                        continue
                    res = write(job.case_file, target, force, modele=modele)
                res = dataclasses.replace(res, docx=out_dir / job.name / res.docx.name,
                                          txt=out_dir / job.name / res.txt.name)
        except RefereError as exc:
            out.append(Letter(job.name, None, _one_line(error_text(exc)) or type(exc).__name__))
        except Exception as exc:  # noqa: BLE001 — one case's crash must not stop the others
            out.append(Letter(job.name, None, f"erreur interne ({type(exc).__name__}) : écrivez cette lettre seule "
                                              "avec « refere --debug courrier » et transmettez le message"))
        else:
            out.append(Letter(job.name, res.docx, a_completer=tuple(res.a_completer)))
    return out


def letter_lines(rows: list[Letter]) -> list[str]:
    """The summary `refere courrier <dossier>` prints: one line per case, the count, then what to
    do with the letters written now (none: nothing to do)."""
    from refere.present import LETTER_STEPS, plural

    lines = []
    for r in rows:
        if r.written is None:
            lines.append(f"  ÉCHEC {r.dossier} : {r.erreur}")
        elif r.kept:
            lines.append(f"  {r.dossier} : déjà écrite, laissée telle quelle ({one_line_name(str(r.written))})")
        else:
            lines.append(f"  {r.dossier} : {one_line_name(str(r.written))}"
                         + "".join(f" — à compléter : {m}" for m in r.a_completer))
    failed = sum(1 for r in rows if r.written is None)
    old = sum(1 for r in rows if r.kept)
    new = len(rows) - failed - old
    lines.append(f"{plural(new, 'lettre écrite', 'lettres écrites')}, {old} déjà écrite{'s' if old > 1 else ''}, "
                 f"{failed} en échec")
    if old:
        lines.append("Une lettre déjà écrite a peut-être été envoyée : elle n'est pas remplacée ; --force la "
                     "réécrit, datée d'aujourd'hui.")
    return lines + (["", "Et maintenant, pour chaque lettre :", *LETTER_STEPS] if new else [])


# A spreadsheet runs a cell that starts with one of these as a formula (a case folder named
# « =HYPERLINK(…) » would be a link in the report): such a cell is written after a quote, shown as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    if not isinstance(value, str):
        return value
    # A lone CR, unquoted, would end the row; any other control character (an escape sequence in
    # a folder's name) is shown, never passed on to whatever displays the file.
    if value.startswith(FORMULA_START):
        value = "'" + value
    return printable(value.replace("\r\n", "\n").replace("\r", "\n"))


def write_report(rows: list[Row], out: Held) -> None:
    """rapport.csv in the output folder held, sorted by case name; « ; » and a BOM so that a French
    spreadsheet opens it."""
    with inside(out, REPORT) as path:
        _write_report(rows, path)


def _write_report(rows: list[Row], path: Path) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sorted(rows, key=lambda r: r.dossier):
        built = r.statut in (OK, UP_TO_DATE, DRAFT)  # a failed case has no pièces nor pages, not « 0 »
        writer.writerow([csv_cell(c) for c in (r.dossier, r.statut, r.pieces if built else "", r.pages if built else "",
                                               " ".join(r.bloquants), r.erreur,
                                               " ".join(r.avertissements), "\n".join(r.textes))])
    try:
        fd, tmp = tempfile.mkstemp(prefix=".rapport.", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"impossible d'écrire « {path} » ({os_reason(exc)})") from None
    try:
        os.fchmod(fd, new_file_mode())
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"impossible d'écrire « {path} » ({os_reason(exc)})") from None
        raise
