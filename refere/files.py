"""Source files: confinement to the case folder, type judged by content, hashing."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import posixpath
import secrets
import stat
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from refere import signals
from refere.errors import os_reason

# Formats people bring from their phones, with how to convert them.
_OTHER_FORMATS = [
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
]
_HINT = "convertissez-le en PNG, JPEG ou PDF (par exemple en l'ouvrant puis en faisant une capture, ou avec « Exporter » / « Enregistrer sous »)"


class FileKindError(ValueError):
    pass


def sniff(head: bytes) -> str | None:
    """'png', 'jpeg', 'pdf' from the first bytes, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    # PDF readers accept a header within the first kilobyte.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return None


def describe_unsupported(head: bytes) -> str:
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim", b"heis"):
            return f"format HEIC (photo d'iPhone) non accepté : {_HINT}"
        if brand == b"avif":
            return f"format AVIF non accepté : {_HINT}"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return f"format WEBP non accepté : {_HINT}"
    for magic, name in _OTHER_FORMATS:
        if head.startswith(magic):
            return f"format {name} non accepté : {_HINT}"
    if head.startswith(b"PK\x03\x04"):
        return "c'est une archive ou un document bureautique (ZIP, DOCX…), pas une image ni un PDF : exportez-le en PDF"
    return "ce n'est ni une image PNG ou JPEG ni un PDF (le contenu du fichier ne correspond à aucun de ces formats)"


def resolve_case_path(path: str | Path) -> Path:
    """The case file named on the command line: a folder stands for its dossier.yaml."""
    p = Path(path)
    try:
        return p / "dossier.yaml" if p.is_dir() else p
    except OSError:
        return p  # too long or unreadable: load() says so in French


def utf8_name(name: str) -> bool:
    """A file name as the disk holds it is UTF-8 (not latin-1 bytes that Python keeps as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def resolve_inside(base: Path, written: str) -> Path:
    """Resolve a path written in the case file; refuse anything that leads out of ``base``."""
    if not written or not written.strip():
        raise FileKindError("chemin vide")
    if "\x00" in written:
        raise FileKindError("chemin invalide (caractère nul)")
    p = Path(written)
    if p.is_absolute() or written.startswith(("/", "\\")) or (len(written) > 1 and written[1] == ":"):
        raise FileKindError(
            f"chemin absolu « {written} » refusé : écrivez un chemin relatif au dossier du fichier "
            "(par exemple captures/capture1.png)"
        )
    if "\\" in written:
        # « captures\shot.png » is a legal file name here and a path on Windows: refused the same
        # way everywhere rather than read one way by the loader and another by the tools.
        raise FileKindError(
            f"chemin « {written} » refusé : séparez les dossiers par « / » ({written.replace(chr(92), '/')}), "
            "pas par « \\ »"
        )
    if ".." in Path(written).parts:
        # Refused even where it comes back inside (« captures/../captures/x.png »): one spelling
        # per file, so that the same capture is always known as itself; said as what it is.
        inside = posixpath.normpath(written)
        advice = (f"écrivez « {inside} »" if not inside.startswith("..") and inside != "." else
                  "copiez le fichier dans le dossier de l'affaire (par exemple dans captures/)")
        raise FileKindError(f"chemin « {written} » refusé : « .. » (remonter d'un dossier) n'est pas accepté dans un "
                            f"chemin ; {advice}")
    base_real = Path(os.path.realpath(base))
    full = base / p
    real = Path(os.path.realpath(full))
    if real != base_real and base_real not in real.parents:
        raise FileKindError(
            f"chemin « {written} » refusé : c'est un lien qui mène hors du dossier de l'affaire"
        )
    return full


# Sources are screenshots, scans and letters: 100 MB is far beyond any of them, and the bound
# keeps every file refere reads (whole, once) well inside its memory budget.
MAX_SOURCE_BYTES = 100_000_000

_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class Checked:
    """A source file as verified when the case was loaded; ``read`` gives back exactly those bytes."""

    path: Path  # as the case names it: base / written
    written: str
    kind: str
    sha256: str
    size: int
    root: str = field(repr=False)  # the case folder, resolved
    parts: tuple[str, ...] = field(repr=False)  # from root to the file, resolved when checked
    # The file's identity when it was hashed (device, inode, size, change times), or None when
    # it changed too recently to tell a later change from it: see ``_identity``.
    stamp: tuple[int, ...] | None = field(default=None, repr=False, compare=False)
    # Its SHA-256 came from the user's cache (``_hash_recalled``): nothing to remember.
    recalled: bool = field(default=False, repr=False, compare=False)


def _kind_refusal(st: os.stat_result, written: str) -> str | None:
    if stat.S_ISDIR(st.st_mode):
        return f"« {written} » est un dossier, pas un fichier"
    if not stat.S_ISREG(st.st_mode):
        what = ("un tube (FIFO)" if stat.S_ISFIFO(st.st_mode) else "une socket" if stat.S_ISSOCK(st.st_mode)
                else "un périphérique" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "un fichier spécial")
        return f"« {written} » est {what}, pas un fichier ordinaire : refusé"
    return None


def _os_refusal(exc: OSError, written: str) -> str:
    if exc.errno == errno.ENOENT:
        return f"fichier introuvable « {written} »"
    if exc.errno == errno.ELOOP:
        return f"« {written} » est un lien symbolique : refusé (donnez le fichier lui-même, pas un lien)"
    if exc.errno == errno.ENAMETOOLONG:
        return f"chemin trop long pour le système « {written[:80]}… »"
    if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP):
        return f"« {written} » n'est pas un fichier ordinaire : refusé"
    return f"fichier illisible « {written} » ({os_reason(exc)})"


def _judged(fd: int, written: str, limit: int) -> os.stat_result:
    """The file's status, once it is known to be a regular file no larger than ``limit``."""
    st = os.fstat(fd)
    if (refusal := _kind_refusal(st, written)) is not None:
        raise FileKindError(refusal)
    if st.st_size > limit:
        raise FileKindError(
            f"« {written} » : fichier trop gros ({st.st_size / 1_000_000:.0f} Mo, {limit // 1_000_000} Mo au plus)")
    return st


def _read_fd(fd: int, written: str, limit: int) -> bytes:
    """The whole of a regular file, its type and size judged before a byte is read."""
    st = _judged(fd, written, limit)
    # One read of the announced size and a byte more (a file still growing shows it): reading a
    # megabyte at a time, then joining, cost ten times as much (each piece's memory faulted in,
    # then all of it copied once more), a sixth of a build's own work on 120 captures.
    chunks = [os.read(fd, st.st_size + 1)]
    total = len(chunks[0])
    while 0 < total <= st.st_size:  # a short read (a signal, a network file system): read on
        chunk = os.read(fd, st.st_size + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total != st.st_size:
        raise FileKindError(f"« {written} » a changé pendant sa lecture : relancez quand il ne bouge plus")
    return b"".join(chunks)


def read_file(path: Path | str, written: str | None = None, limit: int = MAX_SOURCE_BYTES,
              follow: bool = True) -> bytes:
    """A file named by the user (case file, capture): type checked first, never a FIFO or device."""
    written = str(path) if written is None else written
    try:
        st = os.stat(path, follow_symlinks=follow)
        if (refusal := _kind_refusal(st, written)) is not None:
            raise FileKindError(refusal)
        fd = os.open(path, _READ_FLAGS | (0 if follow else _NOFOLLOW))
    except OSError as exc:
        raise FileKindError(_os_refusal(exc, written)) from None
    try:
        return _read_fd(fd, written, limit)
    except OSError as exc:
        raise FileKindError(_os_refusal(exc, written)) from None
    finally:
        os.close(fd)


def _open_confined(root: str, parts: tuple[str, ...], written: str) -> int:
    """Walk from the case folder one component at a time, never following a link."""
    dfd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            nfd = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=dfd)
            os.close(dfd)
            dfd = nfd
        st = os.stat(parts[-1], dir_fd=dfd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            raise OSError(errno.ELOOP, "symbolic link")
        if (refusal := _kind_refusal(st, written)) is not None:
            raise FileKindError(refusal)  # a FIFO, socket or device is never opened
        return os.open(parts[-1], _READ_FLAGS | _NOFOLLOW, dir_fd=dfd)
    finally:
        os.close(dfd)


# A file whose status changed less than this before it was read may change again within the same
# tick of the file system's clock without its change time moving: it is hashed again when read.
_SETTLED_NS = 2_000_000_000


def _identity(st: os.stat_result, now_ns: int) -> tuple[int, ...] | None:
    """What proves a file unchanged without hashing it again: any write moves its change time
    (st_ctime, which no user can set back), a replacement changes its inode. Only a file that
    had settled before it was read is identified so; a fresh one is hashed again."""
    if now_ns - st.st_ctime_ns < _SETTLED_NS:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read_confined(root: str, parts: tuple[str, ...], written: str, stamp: list | None = None) -> bytes:
    """The file's bytes; with ``stamp``, its identity before reading is appended to it."""
    try:
        fd = _open_confined(root, parts, written)
        try:
            if stamp is not None:
                stamp.append(_identity(os.fstat(fd), time.time_ns()))
            return _read_fd(fd, written, MAX_SOURCE_BYTES)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FileKindError(_os_refusal(exc, written)) from None


def read_confined(root: str, name: str, written: str) -> bytes:
    """A file directly inside the folder ``root``, opened without following a link."""
    return _read_confined(root, (name,), written)


def _digest_fd(fd: int, written: str, limit: int) -> tuple[str, int, bytes]:
    """SHA-256, size and first kilobyte of a regular file, read a megabyte at a time into one
    buffer (nothing the size of the file is held); its type and size judged before reading."""
    st = _judged(fd, written, limit)
    h, total, head = hashlib.sha256(), 0, b""
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    while total <= st.st_size:  # one byte more than announced tells a file still growing
        n = os.readv(fd, [view[:min(len(buf), st.st_size + 1 - total)]])
        if not n:
            break
        if total < 1024:
            head += bytes(view[:min(n, 1024 - total)])
        h.update(view[:n])
        total += n
    if total != st.st_size:
        raise FileKindError(f"« {written} » a changé pendant sa lecture : relancez quand il ne bouge plus")
    return h.hexdigest(), total, head


_MAX_LISTED = 10_000  # entries compared when a name is missing (a case folder holds dozens)


def _unicode_twin(root: str, parts: tuple[str, ...]) -> tuple[int, str] | None:
    """The first missing component of ``parts`` that exists under another Unicode form (a name
    written « é » while a Mac wrote « e » + accent): its index and its name on disk."""
    folder = root
    for i, part in enumerate(parts):
        here = os.path.join(folder, part)
        if os.path.lexists(here):
            if os.path.islink(here) or not os.path.isdir(here):
                return None
            folder = here
            continue
        want = unicodedata.normalize("NFC", part)
        try:
            with os.scandir(folder) as entries:
                for n, entry in enumerate(entries):
                    if n >= _MAX_LISTED:
                        break
                    if unicodedata.normalize("NFC", entry.name) == want:
                        return i, entry.name
        except OSError:
            return None
        return None
    return None


def unicode_twin_note(root: str, parts: tuple[str, ...], copy_to: str = "dans dossier.yaml") -> str | None:
    """« le nom existe avec une autre forme Unicode … » when a missing name has such a twin."""
    twin = _unicode_twin(root, parts)
    if twin is None:
        return None
    i, on_disk = twin
    what = "le fichier" if i == len(parts) - 1 else "le dossier"
    return (f"le nom existe avec une autre forme Unicode ({what} « {on_disk} » : mêmes lettres, accents codés "
            f"autrement, comme le fait un Mac) ; renommez-le en retapant ses accents, ou recopiez son nom tel quel {copy_to}")


def path_twin_note(path: Path) -> str | None:
    """The same note for a path given on the command line."""
    full = Path(os.path.abspath(path))
    return unicode_twin_note(full.anchor, full.parts[1:], "dans la commande")


def _missing(base: Path, root: str, parts: tuple[str, ...], written: str) -> str:
    note = unicode_twin_note(root, parts)
    if note is None:
        return f"fichier introuvable « {written} » (cherché dans {base})"
    return f"« {written} » : {note}"


def check_source(base: Path, written: str) -> Checked:
    """Confine, open once without following links, check type, size and kind; hash the content."""
    full = resolve_inside(base, written)
    root = os.path.realpath(base)
    real = os.path.realpath(full)
    parts = Path(real).relative_to(root).parts if real != root else ()
    if not parts:
        raise FileKindError(f"« {written} » est un dossier, pas un fichier")
    try:
        fd = _open_confined(root, parts, written)
        try:
            stamp = _identity(os.fstat(fd), time.time_ns())
            if recalled := (digest := _hash_recalled(stamp)) is not None:
                size = _judged(fd, written, MAX_SOURCE_BYTES).st_size
                head = os.pread(fd, 1024, 0)
            else:
                digest, size, head = _digest_fd(fd, written, MAX_SOURCE_BYTES)
        finally:
            os.close(fd)
    except OSError as exc:
        refusal = _os_refusal(exc, written)
        if refusal.startswith("fichier introuvable"):
            raise FileKindError(_missing(base, root, parts, written)) from None
        raise FileKindError(refusal) from None
    if not size:
        raise FileKindError(f"fichier vide « {written} » (0 octet)")
    kind = sniff(head)
    if kind is None:
        raise FileKindError(f"« {written} » : {describe_unsupported(head)}")
    return Checked(full, written, kind, digest, size, root, parts, stamp, recalled)


def check_ahead(base: Path, written: list[str]):
    """``check_source`` of each name begun at once on two threads (hashlib and reads let go of the
    GIL: a case of a hundred captures is hashed in half the time); returns the function that
    gives a name's Checked (raising as ``check_source``) and, called with None, drops the rest."""
    from concurrent.futures import ThreadPoolExecutor

    names = list(dict.fromkeys(written))
    if len(names) < AHEAD_FROM:
        return None
    with signals.held():  # see reuse.sha256_later: a thread started must be registered
        pool = ThreadPoolExecutor(2, thread_name_prefix="refere-source")
        futures = {name: pool.submit(check_source, base, name) for name in names}
    pool.shutdown(wait=False)

    def take(name: str | None) -> Checked | None:
        if name is None:
            pool.shutdown(wait=False, cancel_futures=True)
            return None
        future = futures.get(name)
        return future.result() if future is not None else check_source(base, name)
    return take


AHEAD_FROM = 8  # names: fewer are checked one after the other, as the model meets them


# The SHA-256 of source files by identity (device, inode, size, modification and change times),
# in the user's cache: a second build or check of the same captures hashes none of them again.
# A file written to since has another change time (no program can set it back; a write through a
# memory mapping may leave it: erreurs.md, « Les caches »), a replaced one
# another inode; one that changed in the two seconds before it was hashed is never entered
# (``_identity``). Entered by ``remember_hash``, which a build's verification workers call (off
# its critical path), each for the file it verifies.
_HASH_FOLDER = "empreintes-v1"


def _hash_entry(stamp: tuple[int, ...]) -> Path:
    return user_cache() / _HASH_FOLDER / hashlib.sha256(repr(stamp).encode()).hexdigest()


def _hash_recalled(stamp: tuple[int, ...] | None) -> str | None:
    if stamp is None:
        return None
    raw = recall(_hash_entry(stamp), 64)
    text = raw.decode("ascii", "replace") if raw is not None else ""
    return text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else None


def remember_hash(checked: Checked) -> None:
    """Enter a checked source's SHA-256 under its identity (see above), unless it came from there
    or the file had not settled, once the file is seen unchanged since it was hashed."""
    if checked.stamp is None or checked.recalled:
        return
    try:
        fd = _open_confined(checked.root, checked.parts, checked.written)
        try:
            same = _identity(os.fstat(fd), time.time_ns()) == checked.stamp
        finally:
            os.close(fd)
    except (OSError, FileKindError):
        return
    if same:
        remember(_hash_entry(checked.stamp), checked.sha256)


def read_checked(checked: Checked) -> bytes:
    """The bytes of a checked source, read again the same confined way and proved unchanged:
    by its identity when it had settled before it was hashed (so it is hashed once per run),
    else by hashing it again."""
    from refere.errors import FileProblem

    stamp: list = []
    try:
        data = _read_confined(checked.root, checked.parts, checked.written, stamp)
    except FileKindError as exc:
        raise FileProblem(str(exc)) from None
    if checked.stamp is not None and stamp[0] == checked.stamp and len(data) == checked.size:
        return data
    if len(data) != checked.size or hashlib.sha256(data).hexdigest() != checked.sha256:
        raise FileProblem(f"« {checked.written} » a été modifié depuis sa vérification : relancez la commande")
    return data


def read_head(checked: Checked, limit: int) -> bytes:
    """At most the first ``limit`` bytes of a checked source (its headers), read the same
    confined way; not proved unchanged: for decisions that cannot change an output."""
    try:
        fd = _open_confined(checked.root, checked.parts, checked.written)
        try:
            return os.read(fd, limit)
        finally:
            os.close(fd)
    except (OSError, FileKindError):
        return b""


def sha256(path: Path) -> str:
    """Hash of a file refere wrote or was given, read in chunks; never a FIFO or device."""
    st = os.stat(path)
    if (refusal := _kind_refusal(st, str(path))) is not None:
        raise FileKindError(refusal)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Hashes of files already on disk, by (device, inode, size, mtime): each read once while unchanged.
_HASHES: dict[tuple[int, int, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def content_hash(path: Path, limit: int) -> str | None:
    """SHA-256 of a regular file of at most ``limit`` bytes, opened without following a link (never
    a FIFO, a device, nor a 50 GB sparse file); None for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not 0 < st.st_size <= limit:
            return None
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with _HASHES_LOCK:
            if key in _HASHES:
                return _HASHES[key]
        h, total = hashlib.sha256(), 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                return None
            h.update(chunk)
        with _HASHES_LOCK:
            if len(_HASHES) >= 4096:
                _HASHES.clear()
            _HASHES[key] = h.hexdigest()
            return _HASHES[key]
    except OSError:
        return None
    finally:
        os.close(fd)


# --- the user's cache: what refere remembers between runs, never in a case folder -------------

def user_cache() -> Path:
    """refere's folder in the user's cache (XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "refere"


def remember(entry: Path, text: str | bytes) -> None:
    """Write a cache entry whole (a temporary file renamed over it); a cache that cannot be
    written only costs time."""
    # The cache folder is the user's own (0700); the temporary file is created, never opened
    # through a link someone planted under its name (a shared XDG_CACHE_HOME). Plain os calls,
    # the folder made only when missing: a build writes one entry per capture.
    data = text.encode("utf-8") if isinstance(text, str) else text
    tmp = os.path.join(entry.parent, f".{entry.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileNotFoundError:
            entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, flags, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, entry)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except OSError:
        pass


def recall(entry: Path, limit: int) -> bytes | None:
    """A cache entry's bytes: a regular file (never through a link, a FIFO or a device), at most
    ``limit`` bytes — read to its end, so that a file growing meanwhile is refused, not cut."""
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks) if size <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)
