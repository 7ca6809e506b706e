"""``refere check`` of a case that has not changed answers what it answered last time.

The answer of a check that passed is kept in the user's cache (never in the case folder, which a
hostile case could pre-seed), under a key made of the case file's exact bytes (SHA-256), the
options, the day (the rules depend on it), the settings that change the answer (REFERE_*,
SOURCE_DATE_EPOCH, Tesseract) and refere's own code. With it, the identity of every source file
as it was hashed: device, inode, size, modification and change times. A source written to since
has another change time (no user can set it back), a replaced one another inode: then, or when
anything else differs, the case is checked in full. A file that changed in the two seconds
before it was hashed is never vouched for this way (see files._identity).

This spares a second check of 120 captures all of its time but Python's start-up: no parsing,
no validation, no hashing of 120 MB.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from refere import __version__, files

MAX_ENTRY = 16 << 20


def _cache() -> Path:
    return files.user_cache() / "verifications"


@functools.lru_cache(maxsize=1)
def _code() -> str:
    """refere's code as installed: every module's name, size and modification time."""
    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).parent.parent  # the refere package
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".yaml", ".json", ".txt") or path.suffix == "":
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def key(case_file: Path, options: list) -> str | None:
    """The key of a check of ``case_file`` with ``options`` today; None when it cannot be told."""
    from zoneinfo import ZoneInfo

    try:
        data = files.read_file(case_file, str(case_file), limit=MAX_ENTRY)
    except files.FileKindError:
        return None
    settings = sorted((k, v) for k, v in os.environ.items()
                      if k.startswith("REFERE_") or k in ("SOURCE_DATE_EPOCH", "TESSDATA_PREFIX"))
    tesseract = shutil.which("tesseract")
    if tesseract:
        try:
            st = os.stat(tesseract)
            tesseract = f"{tesseract}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            pass
    today = dt.datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
    # The path as given too: the answer prints it.
    text = json.dumps([_code(), os.path.abspath(case_file), str(case_file), hashlib.sha256(data).hexdigest(),
                       options, today, settings, tesseract], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _identity(root: str, parts: list[str]) -> list | None:
    """The identity of the source now, opened the confined way; None when it cannot be told."""
    try:
        fd = files._open_confined(root, tuple(parts), parts[-1] if parts else "")
    except (OSError, files.FileKindError):
        return None
    try:
        ident = files._identity(os.fstat(fd), time.time_ns())
    finally:
        os.close(fd)
    return list(ident) if ident is not None else None


def recall(key_: str) -> str | None:
    """What the check printed, when every source is still the one it was; else None."""
    try:
        entry = json.loads(files.recall(_cache() / key_, MAX_ENTRY) or b"null")
        text, sources = entry["sortie"], entry["sources"]
        if not isinstance(text, str) or not isinstance(sources, list):
            return None
        for root, parts, ident in sources:
            if not isinstance(root, str) or not isinstance(parts, list) or _identity(root, parts) != ident:
                return None
    except (ValueError, KeyError, TypeError):
        return None
    return text


def remember(key_: str, case, text: str) -> None:
    """Keep the answer ``text`` of a check that passed, with its sources' identities; never one whose
    reading of captures was cut (« refaite au prochain contrôle »: replayed, it never was)."""
    from refere.preuves import lecture_cache

    shots = [t.capture.file.sha256 for t in case.tentatives if t.capture is not None and t.capture.file is not None]
    if lecture_cache.unfinished(shots):
        return
    sources = []
    for src in [t.capture for t in case.tentatives if t.capture is not None] + [s for p in case.pieces for s in p.sources]:
        checked = src.file
        if checked is None or checked.stamp is None:
            return  # a source not vouched for by its identity: never answered from the cache
        sources.append([checked.root, list(checked.parts), list(checked.stamp)])
    files.remember(_cache() / key_, json.dumps({"sortie": text, "sources": sources}, ensure_ascii=False))
