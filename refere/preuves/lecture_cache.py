"""The reading cache: what Tesseract read on a capture, remembered in the user's own cache.

Never in the case folder: a case folder is prepared by someone else (the applicant, the client)
and a reading found there could tell the court what the captures do not show. Entries live in
``$XDG_CACHE_HOME/refere/`` (by default ``~/.cache/refere/``), beside the decoding cache, in a
folder named after the reader's version, Tesseract's version and the language, one file per
capture named after the SHA-256 of its bytes: an entry is true of exactly those bytes, read by
exactly that reader.

An entry is opened without following links and without blocking (a FIFO never hangs), read only
if it is a regular file under ``MAX_ENTRY`` bytes, and every field is checked for its type and
range; anything odd is ignored and the capture is read again from the image. Whether Tesseract
is there to read at all (``tesseract_missing``) is told here too, beside its version.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

from refere import files

MAX_ENTRY = 512_000  # bytes: a screenshot's reading is a few kilobytes
MAX_LINES = 2_000
MAX_WORDS = 200_000
FAILURES = ("delai", "illisible", "memoire")  # why a capture was not read, remembered



@functools.lru_cache(maxsize=1)
def _tesseract_version() -> str:
    import pytesseract

    try:
        return str(pytesseract.get_tesseract_version())
    except Exception:  # noqa: BLE001 - no Tesseract: nothing can be cached under its name
        return "absent"


def folder(version: int, lang: str) -> Path:
    """Where the readings of this reader and this Tesseract are remembered."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in _tesseract_version())[:40]
    return Path(base) / "refere" / f"lecture-{version}-tesseract-{safe}-{lang}"


def _read_entry(path: Path) -> bytes | None:
    return files.recall(path, MAX_ENTRY)


def _number(value, low: float, high: float) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and low <= value <= high)


def _valid_line(line, line_max: int) -> bool:
    return (isinstance(line, dict) and isinstance(line.get("texte"), str) and len(line["texte"]) <= line_max
            and _number(line.get("haut"), 0, 1) and _number(line.get("confiance"), 0, 100))


def get(where: Path, sha: str, version: int, line_max: int) -> dict | None:
    """The entry for ``sha`` as a checked dict (``{"echec": …}`` for a remembered failure), or None."""
    raw = _read_entry(where / f"{sha}.json")
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("version") != version or data.get("sha256") != sha:
        return None
    if "echec" in data:
        return {"echec": data["echec"]} if data["echec"] in FAILURES else None
    lines = data.get("lignes")
    if not (isinstance(lines, list) and len(lines) <= MAX_LINES and all(_valid_line(x, line_max) for x in lines)):
        return None
    if not (isinstance(data.get("mots"), int) and not isinstance(data["mots"], bool)
            and 0 <= data["mots"] <= MAX_WORDS and _number(data.get("confiance"), 0, 100)
            and _number(data.get("images"), 0, 1)
            and (data.get("nettete") is None or _number(data.get("nettete"), 0, 1))):
        return None
    return data


_unfinished: set[str] = set()  # captures not read this time (a stop, the budget, a kill): said, never kept


def put(where: Path, sha: str, entry: dict) -> None:
    _unfinished.discard(sha)  # read in full now, or failed for good: no longer a cut reading
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({**entry, "sha256": sha}, fh, ensure_ascii=False)
        os.replace(tmp, where / f"{sha}.json")
    except OSError:
        pass  # a cache that cannot be written only costs time


def tesseract_missing() -> str | None:
    """Why captures cannot be read here, in French, or None."""
    exe = shutil.which("tesseract")
    if exe is None:
        return ("Captures non lues : Tesseract n'est pas installé (Debian/Ubuntu : « sudo apt install "
                "tesseract-ocr tesseract-ocr-fra »). Le reste du contrôle est complet.")
    import pytesseract

    try:
        langs = set(pytesseract.get_languages(config=""))
    except Exception:
        return "Captures non lues : Tesseract ne répond pas. Le reste du contrôle est complet."
    if "fra" not in langs:
        return ("Captures non lues : Tesseract n'a pas les données de langue française "
                "(Debian/Ubuntu : « sudo apt install tesseract-ocr-fra »).")
    return None


def cut(sha: str) -> str:
    """A reading cut short (« budget »): the answer of this check is not to be replayed."""
    _unfinished.add(sha)
    return "budget"


def done(sha: str) -> None:
    """Read in full since (or failed for good): no longer cut."""
    _unfinished.discard(sha)


def unfinished(shas) -> bool:
    """Whether the last reading of one of these captures was cut: a check of them says « refaite au
    prochain contrôle », its answer is not to be replayed (attack 31). Per capture: a long-lived
    process (the web server) keeps caching the answers of other cases."""
    return any(sha in _unfinished for sha in shas)
