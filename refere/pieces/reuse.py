"""A pièce (or the complete dossier) already built from exactly the same inputs is not built again.

Each output refere writes is recorded in the user's cache (never in the case folder, nor in the
output folder, which a hostile case could pre-seed) under a key made of everything it is built
from: the refere code and libraries, the pièce's number, title and options, each source's
SHA-256. The record holds the SHA-256 of the bytes written. When the previous output folder has a
file of that name, it is linked (or copied) into the new output and hashed there: only when its
bytes are exactly the recorded ones is it kept, else the pièce is built as usual. So a second
build of an unchanged case copies instead of converting, stamping and merging again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

from refere import __version__, files, signals

# The modules whose code decides the bytes of a pièce or of the complete dossier.
_CODE = ("assemble.py", "bordereau.py", "pdffont.py", "pdftext.py", "sanitize.py", "pdfnames.py", "pngmeta.py", "reuse.py",
         "images.py", "imagedata.py", "calques.py")
_LIBRARIES = ("pikepdf", "img2pdf", "PIL", "fontTools")
MAX_RECORD = 1 << 20


def _cache() -> Path:
    return files.user_cache() / "sorties"


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    """refere's version, a hash of the code that writes the PDFs, and the libraries' files:
    a record made by other code is never trusted (read without importing those libraries)."""
    import importlib.util

    h = hashlib.sha256(__version__.encode())
    here = Path(__file__).parent
    for name in _CODE:
        h.update((here / name).read_bytes())
    for lib in _LIBRARIES:
        spec = importlib.util.find_spec(lib)
        origin = spec.origin if spec is not None else None
        if origin:
            st = os.stat(origin)
            h.update(f"{lib}:{origin}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def key(*parts: object) -> str:
    """The record's key: the code's version and ``parts`` (JSON-able), hashed."""
    text = json.dumps([_code_version(), *parts], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_fd(fd: int) -> str:
    h = hashlib.sha256()
    while chunk := os.read(fd, 1 << 20):
        h.update(chunk)
    return h.hexdigest()


def recall(key_: str) -> dict | None:
    """The record for ``key_``: at least ``sha256`` and ``size``; None when absent or odd."""
    try:
        data = json.loads(files.recall(_cache() / key_, MAX_RECORD) or b"null")
    except ValueError:
        return None
    if (not isinstance(data, dict) or not isinstance(data.get("sha256"), str)
            or not isinstance(data.get("size"), int) or isinstance(data.get("size"), bool)):
        return None
    return data


def remember(key_: str, record: dict) -> None:
    files.remember(_cache() / key_, json.dumps(record, ensure_ascii=False))


def take(key_: str, previous: Path | None, path: Path) -> dict | None:
    """Put at ``path`` the previous output ``previous`` if it is exactly what ``key_`` recorded;
    its record, or None (and nothing at ``path``) when it must be built."""
    if previous is None:
        return None
    record = recall(key_)
    if record is None:
        return None
    try:
        st = os.stat(previous, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_size != record["size"]:
            return None
        try:
            os.link(previous, path, follow_symlinks=False)
        except OSError:
            shutil.copyfile(previous, path, follow_symlinks=False)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            ok = stat.S_ISREG(st.st_mode) and st.st_size == record["size"] and _hash_fd(fd) == record["sha256"]
        finally:
            os.close(fd)
    except OSError:
        ok = False
    if not ok:
        try:
            os.unlink(path)
        except OSError:
            pass
        return None
    return record


def sha256_of(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return _hash_fd(fd)
    finally:
        os.close(fd)


_HASHER: list = []  # (pid, the thread that hashes written files): a forked child makes its own


def sha256_later(path: Path, key_: str | None = None, record: dict | None = None):
    """The SHA-256 of the file at ``path`` as it is now (opened at once: it may be moved
    meanwhile), as a future, hashed on a thread: hashlib lets go of the GIL, so the caller
    writes the next file meanwhile. With ``key_``, ``record`` and the hash are then recorded."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    submitted = False
    try:
        # A signal waits for the end of this span: raised between the start of the executor's
        # thread and its registration, it left a thread that the interpreter's exit waited for
        # forever (tests/test_interruption.py).
        with signals.held():
            if not _HASHER or _HASHER[0][0] != os.getpid():
                from concurrent.futures import ThreadPoolExecutor

                _HASHER[:] = [(os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="refere-empreinte"))]
            future = _HASHER[0][1].submit(_hash_and_record, fd, key_, record)
            submitted = True  # the thread closes fd
    finally:
        if not submitted:
            os.close(fd)
    return future


def _hash_and_record(fd: int, key_: str | None, record: dict | None) -> str:
    try:
        digest = _hash_fd(fd)
    finally:
        os.close(fd)
    if key_ is not None:
        remember(key_, {**(record or {}), "sha256": digest})
    return digest


def known(value) -> str | None:
    """A SHA-256 given as it is or as ``sha256_later``'s future: the hash, waited for."""
    return value.result() if hasattr(value, "result") else value

