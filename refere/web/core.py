"""Adapters from the web pages to the same core functions the CLI calls. No rules here."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from refere import batch, dates, write
from refere.preuves import rules, lecture
from refere.affaire import loader
from refere.pieces import plan
from refere.build import Options, build
from refere.web.form_fields import problem_words, words
from refere.errors import CaseInvalid, OutputError, Problem, RefereError, TemplateError
from refere.web import store
from refere.web.built import (  # noqa: F401  (the routes use them as core.*)
    BATCH_DIR, BuildUnderWay, NotServed, batch_build, built_dir, built_unreadable, make_zip, manifest, open_output,
    open_plain, output_files)

_status_cache: dict[str, tuple[tuple, dict]] = {}
_status_guard = threading.Lock()

PRET, AVERT, BLOQUANT, INVALIDE = "pret", "avertissements", "bloquant", "invalide"
STATE_LABELS = {PRET: "prêt à déposer", AVERT: "constructible avec avertissements", BLOQUANT: "bloquant (preuves)",
                INVALIDE: "bloquant (à corriger)"}
NOT_READ_YET = "captures pas encore lues"  # refere.preuves.lecture's note under cached_only()
A_REMPLIR = "à remplir"  # a new case, never saved: nothing is wrong yet
STATE_FILTER = (("", "tous"), (PRET, STATE_LABELS[PRET]), (AVERT, STATE_LABELS[AVERT]), (BLOQUANT, STATE_LABELS[BLOQUANT]),
                (INVALIDE, STATE_LABELS[INVALIDE]), ("a-remplir", A_REMPLIR), ("a-reconstruire", "à reconstruire"))


plain = batch.plain


@dataclass
class Checked:
    case: object | None
    problems: list[Problem]
    report: rules.Report | None = None
    inventory: plan.Inventory | None = None

    @property
    def state(self) -> str:
        if self.case is None:
            return INVALIDE
        if any(batch.is_file_problem(f.code) for f in self.report.blocking):
            return INVALIDE  # a file to redo, as `check` and `batch` say: not a matter of more attempts
        if self.report.blocking:
            return BLOQUANT
        return AVERT if self.report.warnings else PRET


def _check(folder: Path) -> Checked:
    path = folder / store.CASE_FILE
    try:
        case = loader.load(path)
    except CaseInvalid as exc:
        return Checked(None, exc.problems)
    report = rules.check(case)
    inv = None if report.blocking else plan.make(case)
    return Checked(case, [], report, inv)


def _dir_stamp(folder: Path) -> tuple:
    """Changes whenever the case file, a source file or the last build changes (and each day:
    « in the future » depends on today)."""
    parts: list = [store.version_of(folder / store.CASE_FILE), dates.today().isoformat()]
    for sub in ("captures", "pieces"):
        try:
            with os.scandir(folder / sub) as it:
                parts += sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in it)
        except OSError:
            parts.append(sub)
    try:
        parts.append((folder / store.OUT_DIR / "inventaire.json").stat().st_mtime_ns)
    except OSError:
        parts.append(0)
    return tuple(parts)


_check_cache: dict[str, tuple[tuple, Checked]] = {}
_CACHE_MAX = 64


def check(folder: Path) -> Checked:
    """`refere check`: load (every problem with its field path), then the evidence report.

    Cached until the case file or one of its files changes: every page shows it."""
    stamp = _dir_stamp(folder)
    key = str(folder.resolve())
    with _status_guard:
        hit = _check_cache.get(key)
    if hit and hit[0] == stamp:
        return hit[1]
    out = _check(folder)
    with _status_guard:
        if len(_check_cache) >= _CACHE_MAX:
            _check_cache.pop(next(iter(_check_cache)))
        _check_cache[key] = (stamp, out)
    return out


def status(folder: Path) -> dict:
    """For the list and each case's head; the last build is the case's own or « tout construire »'s.

    « stale »: the case file, a capture or a pièce changed after that build (« à reconstruire »)."""
    out = dict(_status(folder))
    d = built_dir(folder)
    inv = d / "inventaire.json"
    if d != folder / store.OUT_DIR and inv.is_file():
        when = dt.datetime.fromtimestamp(inv.stat().st_mtime, dates.PARIS)
        out["built_at"], out["built"] = when, when.strftime("%d/%m/%Y %H:%M") + " (tout construire)"
        out["batch"] = True
    out["stale"] = out["built_at"] is not None and out["changed_at"] > out["built_at"]
    return out


def same_people(workspace: Path, ids: list[str]) -> dict[str, list[str]]:
    return batch.same_people((i, workspace / i / store.CASE_FILE) for i in ids)


def report_age(out: Path, rows: list[dict]) -> dict | None:
    """rapport.csv's time, and the cases changed or built again since it was written: a report never
    reads as today's when it is not."""
    try:  # a link (to /etc/passwd…) or a special file is neither dated nor offered (attack4 G7)
        st = os.lstat(out / batch.REPORT)
    except OSError:
        return None
    if os.path.islink(out) or not stat.S_ISREG(st.st_mode):
        return None
    when = dt.datetime.fromtimestamp(st.st_mtime, dates.PARIS)
    since = [r["id"] for r in rows if r["changed_at"] > when or (r["built_at"] is not None and r["built_at"] > when)]
    return {"at": when.strftime("%d/%m/%Y %H:%M"), "since": since}


def changed_at(folder: Path) -> dt.datetime:
    """When the case last changed: its file, or a file of captures/ or pieces/ (added, replaced, removed)."""
    newest = 0
    for p in (folder / store.CASE_FILE, folder / "captures", folder / "pieces"):
        try:
            newest = max(newest, p.stat().st_mtime_ns)  # a folder's time changes when a file is added or removed
        except OSError:
            continue
        if p.is_dir():
            with os.scandir(p) as it:
                for e in it:
                    if not e.name.startswith("."):
                        newest = max(newest, e.stat().st_mtime_ns)
    return dt.datetime.fromtimestamp(newest / 1e9, dates.PARIS)


def _raw_name(folder: Path) -> str:
    """« Prénoms NOM » read straight from dossier.yaml when the case does not load (an error elsewhere):
    as the desk's « même personne » reads it (libyaml, whatever the file holds: an impossible date
    made the whole list a 500, a 1 MB file took pure-Python PyYAML 13 s, attack 21)."""
    from refere.affaire.personnes import written_person

    r = written_person(folder / store.CASE_FILE)
    first, last = r.get("prenoms"), r.get("nom")
    ok = [x for x in (first, last) if isinstance(x, str) and x.strip() and "COMPL" not in x.upper()]
    return " ".join(ok[:-1] + [ok[-1].upper()]) if len(ok) == 2 else ""


def _status(folder: Path) -> dict:
    """Cached until the case file or its folders change."""
    stamp = _dir_stamp(folder)
    key = str(folder.resolve())
    with _status_guard:
        hit = _status_cache.get(key)
        full = _check_cache.get(key)
    complete = bool(full and full[0] == stamp)
    readings = _readings_stamp()
    # A status made before the captures were read is made again once the case's check read them, or once
    # `refere check`/`batch` or « Tout construire » put their readings in the user's reading cache.
    if hit and hit[0][:2] == (stamp, complete) and (not hit[1]["unread"] or hit[0][2] == readings):
        return hit[1]
    if complete:
        c = full[1]
    else:
        # The list answers at once: only readings already cached are used, a capture is never read here.
        with lecture.cached_only():
            c = _check(folder)
    unread = bool(c.report and c.report.lecture and c.report.lecture.note == NOT_READ_YET)
    inv = folder / store.OUT_DIR / "inventaire.json"
    built = None
    if inv.is_file():
        built = dt.datetime.fromtimestamp(inv.stat().st_mtime, dates.PARIS)
    name = ""
    if c.case is not None:
        r = c.case.requerant
        name = f"{r.prenoms} {r.nom.upper()}"
    else:
        name = _raw_name(folder)  # a case with an error still shows its person's name when it is readable
    fresh = c.state == INVALIDE and store.is_fresh(folder)
    out = {
        "state": "a-remplir" if fresh else c.state,
        "label": A_REMPLIR if fresh else STATE_LABELS[c.state],
        "changed_at": changed_at(folder),
        "built": built.strftime("%d/%m/%Y %H:%M") if built else None,
        "built_at": built,
        "name": name,
        "attempts": c.report.figures.tentatives if c.report else None,
        "warnings": len(c.report.warnings) if c.report else 0,
        "blocking": len(c.report.blocking) if c.report else len(c.problems),
        "reason": "" if fresh else _reason(c),
        "reason_field": "" if fresh else _reason_field(c),
        "unread": unread,  # the warnings about what the captures show are not counted yet
    }
    with _status_guard:
        _status_cache[key] = ((stamp, complete, readings), out)
    return out


def _reason(c: Checked) -> str:
    """Why a case is blocked, short, in words: its first problem (the case's pages give them all)."""
    if c.case is None:
        return first_sentence(problem_words(c.problems[0]), 120) if c.problems else ""
    if c.report.blocking:
        f = c.report.blocking[0]
        return first_sentence(words(f.message, f.champ), 120)
    return ""


def _reason_field(c: Checked) -> str:
    """The field of that first problem, for its « Corriger » link."""
    if c.case is None:
        return (c.problems[0].field or "") if c.problems else ""
    return (c.report.blocking[0].champ or "") if c.report.blocking else ""


def _readings_stamp() -> int:
    """Changes whenever a capture's reading is added to the user's reading cache (one file each)."""
    try:
        return lecture.cache_folder().stat().st_mtime_ns
    except OSError:
        return 0


class Busy(RefereError):
    pass


@dataclass(frozen=True)
class Templates:
    """The cabinet's Word templates (« refere web --modele », « --modele-courrier »), checked at start."""

    requete: Path | None = None
    courrier: Path | None = None


def check_templates(t: Templates) -> None:
    """The same verifier as « refere modele verifier »: every problem, in French, before the server starts."""
    from refere.modeles.messages import report
    from refere.requete.verifier import verify

    for path, letter in ((t.requete, False), (t.courrier, True)):
        if path is not None and (problems := verify(path, letter=letter)):
            raise TemplateError(report(path, problems))


def run_build(folder: Path, brouillon: bool, pdf: bool = False, modele: Path | None = None):
    """`refere build` into the case's own dossier/ folder, one build at a time per case."""
    lock = store.build_lock(folder)
    if not lock.acquire(blocking=False):
        raise Busy("Une construction de ce dossier est déjà en cours : attendez qu'elle se termine.")
    try:
        with write.pinned(folder) as held:  # written in the case folder as opened now, whatever is swapped in
            res = build(folder / store.CASE_FILE, Options(out=held / store.OUT_DIR, force=True, brouillon=brouillon,
                                                          pdf=pdf, modele=modele, jobs=min(2, os.cpu_count() or 1)))
        return replace(res, out=folder / store.OUT_DIR, notes=[write.shown(n, held, folder) for n in res.notes])
    finally:
        lock.release()


LETTER_DIR = "courrier"  # beside dossier/: a new build replaces dossier/, never the letter
LETTER_FILES = ("courrier-prefecture.docx", "courrier-prefecture.txt")


def write_letter(folder: Path, modele: Path | None = None):
    """`refere courrier` into the case's courrier/ folder (replaced each time); a courrier/ that is a
    link, or not a folder, is refused: nothing is written outside the case."""
    from refere.requete.courrier import write as write_letter_files
    out = folder / LETTER_DIR
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise RefereError(f"« {LETTER_DIR} » dans le dossier de l'affaire est un lien ou un fichier, pas un "
                          "dossier : refere n'y écrit pas. Supprimez-le ou renommez-le, puis recommencez.")
    with write.pinned(folder, LETTER_DIR) as held:  # never through a link swapped in after this check
        res = write_letter_files(folder / store.CASE_FILE, held, force=True, modele=modele)
    return replace(res, docx=out / res.docx.name, txt=out / res.txt.name)


def letter_files(folder: Path) -> list[str]:
    """The letter's files that are plain files inside courrier/ (never through a link)."""
    found = []
    for n in LETTER_FILES:
        fh = open_plain(folder, [LETTER_DIR, n])
        if fh is not None:
            fh.close()
            found.append(n)
    return found


def letter_stale(folder: Path) -> bool:
    """The letter was written before the case last changed (an attempt added…): it says old things."""
    try:
        written = (folder / LETTER_DIR / LETTER_FILES[0]).stat().st_mtime_ns
    except OSError:
        return False
    return dt.datetime.fromtimestamp(written / 1e9, dates.PARIS) < changed_at(folder)


def pdf_possible() -> bool:
    from refere.requete.render import soffice
    return soffice() is not None


# ---------------------------------------------------------------- « tout construire »


@dataclass
class BatchState:
    running: bool = False
    done: int = 0
    total: int = 0
    rows: list = field(default_factory=list)
    started: str = ""
    finished: str = ""
    error: str = ""


LINKED = ("« Tout construire » n'écrit pas à travers un lien ; supprimez ce lien (un dossier « construits » sera créé "
          "à sa place)")


def refuse_linked_output(out: Path) -> None:
    """« Tout construire » writes only in a real folder of the workspace: never through a link (attack4 G2)."""
    if os.path.islink(out):
        raise OutputError(f"« {out} » est un lien symbolique : {LINKED}")
    if os.path.lexists(out) and not os.path.isdir(out):
        raise OutputError(f"« {out} » n'est pas un dossier : « Tout construire » y écrit les dossiers construits ; "
                          "renommez ou déplacez ce fichier")


class BatchRunner:
    """`refere batch` over every case of the workspace, in a background thread, one at a time."""

    def __init__(self, workspace: Path, out: Path, workers: int, modele: Path | None = None):
        self.workspace, self.out, self.workers, self.modele = workspace, out, workers, modele
        self.state = BatchState()
        self._lock = threading.Lock()

    def start(self) -> bool:
        with self._lock:
            if self.state.running:
                return False
            ids = store.case_ids(self.workspace)
            self.state = BatchState(running=True, total=len(ids), started=dt.datetime.now(dates.PARIS).strftime("%H:%M:%S"))
        threading.Thread(target=self._run, args=(ids,), daemon=True).start()
        return True

    def _run(self, ids: list[str]) -> None:
        def progress(row, done, total):
            with self._lock:
                self.state.done = done
                self.state.rows.append(row)

        try:
            refuse_linked_output(self.out)
            # Held from now on: a link or another folder swapped in during the run receives nothing.
            held = write.hold(self.out, link=LINKED)
            jobs = batch.find_jobs([self.workspace / i for i in ids])
            # Incremental, as `refere batch`: a case unchanged since its last build stays « à jour ».
            rows = batch.run(jobs, held, self.workers, batch.Settings(modele=self.modele), progress)
            with self._lock:  # the final rows: with the « même personne » warning, as in rapport.csv
                self.state.rows = list(rows)
            batch.write_report(rows, held)
        except RefereError as exc:
            self.state.error = exc.message
        except Exception as exc:  # the page must say it stopped, not spin forever
            self.state.error = f"erreur interne ({type(exc).__name__})"
        finally:
            with self._lock:
                self.state.running = False
                self.state.finished = dt.datetime.now(dates.PARIS).strftime("%H:%M:%S")


def first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence (or line) of a message, for a table cell; the full text goes in <details>."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    line = line.split(" | ")[0]
    m = re.search(r"[.!?](\s|$)", line)
    short = line[:m.start() + 1] if m and m.start() > 20 else line
    return short if len(short) <= limit else short[:limit - 1].rstrip() + "…"


def failure_summary(folder: Path | None, error: str) -> dict:
    """Why a case failed in « tout construire », short: blocking codes, first sentence, warning count."""
    out = {"codes": [], "short": first_sentence(error), "warnings": None}
    if folder is None or not (folder / store.CASE_FILE).is_file():
        return out
    try:
        c = check(folder)
    except Exception:  # noqa: BLE001 — the batch's own error is shown anyway
        return out
    if c.case is None:
        if c.problems:
            p = c.problems[0]
            out["short"] = first_sentence(problem_words(p))
            out["more"] = len(c.problems) - 1
        return out
    out["warnings"] = len(c.report.warnings)
    if c.report.blocking:
        out["codes"] = [f.code for f in c.report.blocking]
        f = c.report.blocking[0]
        out["short"] = first_sentence(words(f.message, f.champ))
    return out
