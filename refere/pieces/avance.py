"""A build's captures checked before its case file is even read.

`refere build` spends its first third of a second loading its libraries and reading the case
file, on one core; the check of every capture (``probe.start``), the longest part of a first
build, waited for it. ``begin`` starts that check at once, on the other cores, for the images
and PDFs in the case's ``captures/`` and ``pieces/`` folders whose names its file's text holds
(a file lying there that the case does not name is never opened). Once the case is read, ``start`` takes up each result whose file is one the case names
with the same bytes (SHA-256), gives the same workers the files left, and drops the rest.

Nothing here decides anything: a file refused, changed meanwhile, or named otherwise by the case
is checked again the usual way, and said as usual, in the case's own words.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import unicodedata
from concurrent.futures import Future
from pathlib import Path

from refere import files, signals
from refere.pieces import probe

FOLDERS = ("pieces", "captures")  # the pièces first: the plan waits for their pages
KINDS = (".png", ".jpg", ".jpeg", ".pdf")
MAX_FILES = 400  # begun ahead at most; a case naming more has the rest checked as usual
MAX_LISTED = 5000  # entries looked at in each folder
MAX_CASE_BYTES = 1 << 20  # the loader's own bound (loader.MAX_BYTES): a larger file is refused anyway

_EARLY: dict[tuple[str, tuple[str, ...]], Future] = {}  # (case folder's real path, parts) → result
_POOL: list = []


def begin(case: str | Path, jobs: int, dated=None) -> None:
    """Check ahead the images and PDFs of the case at ``case`` (a folder or its dossier.yaml) on
    ``jobs`` worker processes; nothing when the case or its folders cannot be read (the build
    will say why) or when there is too little to check."""
    if jobs < 2 or _POOL:
        return
    try:
        case_file = files.resolve_case_path(case)
        root = os.path.realpath(case_file.parent)
        text = unicodedata.normalize("NFC", files.read_file(case_file, str(case_file), MAX_CASE_BYTES).decode("utf-8"))
        names = [parts for parts in _listed(root) if unicodedata.normalize("NFC", parts[-1]) in text]
    except (OSError, ValueError, files.FileKindError):  # UnicodeDecodeError too: the build will say it
        return
    if len(names) < probe.POOL_FROM:
        return
    probe.WORKERS = jobs
    with signals.held():  # see probe.start: a signal waits for the end of the submissions
        pool = probe.new_pool(min(jobs, len(names)), behind=True)
        _POOL.append(pool)
        for parts in names:
            _EARLY[(root, parts)] = pool.submit(_verify_early, root, parts, dated)
            if signals.stopping():
                break


def _listed(root: str) -> list[tuple[str, ...]]:
    """The images and PDFs directly in the case's folders, the PDFs first (as ``probe.start``
    orders them), then by name (a phone names its screenshots by date: the filing order)."""
    found = []
    for folder in FOLDERS:
        try:
            with os.scandir(os.path.join(root, folder)) as entries:
                for n, entry in enumerate(entries):
                    if n >= MAX_LISTED:
                        break
                    if entry.name.lower().endswith(KINDS) and entry.is_file(follow_symlinks=False):
                        found.append((folder, entry.name))
        except OSError:
            continue
    found.sort(key=lambda parts: (not parts[1].lower().endswith(".pdf"), FOLDERS.index(parts[0]), parts[1]))
    return found[:MAX_FILES]


def _verify_early(root: str, parts: tuple[str, ...], dated=None):
    """In a worker: the file's SHA-256 and what its check found, or None when it could not be
    checked here (refused, unreadable…): the build then checks it again, and says why."""
    try:
        checked = files.check_source(Path(root), "/".join(parts))
        files.remember_hash(checked)  # the build's own reading of the case then hashes it no more
        return checked.sha256, probe._known(checked) or probe._verify(checked, dated)
    except Exception:  # noqa: BLE001 - never decided here: see the module's docstring
        return None


def start(sources, dated=None, behind: bool = False):
    """``probe.start``, taking up what ``begin`` found for the same files with the same bytes;
    the files left are given to its workers. Returns the pool to shut down, or None."""
    pool = _POOL.pop() if _POOL else None
    if pool is None:
        return probe.start(sources, dated, behind)
    for checked in dict.fromkeys(s.file for s in sources if s is not None and s.file is not None):
        future = _EARLY.pop((checked.root, tuple(checked.parts)), None)
        if future is not None and checked not in probe._pending:
            probe._pending[checked] = _chained(future, checked)
    # Those not taken (a name the text holds in a comment) run to their end: cancelled by hand, a
    # future the pool still lists makes it fail when a worker dies (Ctrl-C), with a traceback.
    _EARLY.clear()
    return probe.start(sources, dated, behind, pool=pool)


def _chained(future: Future, checked: files.Checked) -> Future:
    """What ``future`` found, as the case names the file, when its bytes are the ones the case
    read; else None, which has ``probe`` check the file itself."""
    out: Future = Future()

    def done(f: Future) -> None:
        try:
            found = None if f.cancelled() else f.result()
        except BaseException:  # noqa: BLE001 - a worker lost: checked again
            found = None
        if found is not None and found[0] == checked.sha256 and isinstance(found[1], probe.SourceInfo):
            out.set_result(dataclasses.replace(found[1], path=checked.path, written=checked.written, file=checked))
        else:
            out.set_result(None)

    future.add_done_callback(done)
    return out


def end() -> None:
    """The workers of a ``begin`` whose build never reached ``start`` (a case refused) stopped:
    the pool cancels what it has not begun (see ``start``)."""
    _EARLY.clear()
    if _POOL:
        pool = _POOL.pop()
        with signals.held():
            pool.shutdown(wait=True, cancel_futures=True)
        probe.thaw()


@contextlib.contextmanager
def ahead(case: str | Path, jobs: int, dated=None):
    """``begin``, and ``end`` whatever happens in the span."""
    begin(case, jobs, dated)
    try:
        yield
    finally:
        end()
