"""The last build of a case, as the web pages read and hand it out: found (its own dossier/ or « Tout
construire »'s), opened once by descriptor, never through a link, one build at a time."""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path

from refere.errors import RefereError
from refere.web import store

BATCH_DIR = store.BATCH_OUT  # « Tout construire »'s output, where `refere batch ESPACE -o ESPACE/construits/` writes too


def batch_build(folder: Path) -> Path:
    """Where `refere batch <espace> -o <espace>/construits/` (or « Tout construire ») puts this case's build:
    named, as batch names it, by the case's path from the workspace."""
    return folder.parent / BATCH_DIR / folder.name


def built_dir(folder: Path) -> Path:
    """The case's last build: its own dossier/ (built from its page or `refere build`) or the one « Tout
    construire » / `refere batch` wrote in construits/, whichever is newer. Every page and download uses it."""
    best, best_time = folder / store.OUT_DIR, -1
    for d in (folder / store.OUT_DIR, batch_build(folder)):
        try:
            st = os.lstat(d / "inventaire.json")
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and not os.path.islink(d) and st.st_mtime_ns > best_time:
            best, best_time = d, st.st_mtime_ns
    return best


def manifest(folder: Path) -> dict | None:
    try:
        with _Built(built_dir(folder)) as b:  # a link to /dev/zero is not read
            return b.manifest
    except OSError:
        return None


def _read_manifest(fh) -> dict | None:
    if fh is None:
        return None
    try:
        with fh:
            data = json.loads(fh.read(MANIFEST_MAX).decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # 100 000 « [ »: unreadable, « reconstruisez »
        return None
    return data if isinstance(data, dict) else None


MANIFEST_MAX = 64 * 1024 * 1024


def built_unreadable(folder: Path) -> bool:
    """A last build is there but its inventaire.json does not read (manifest() is None): « reconstruisez »."""
    return os.path.lexists(built_dir(folder) / "inventaire.json")


# What a build writes into dossier/ and lists in inventaire.json: pieces/<one name>, nothing deeper.
_PIECE_NAME = re.compile(r"pieces/[^/\\\x00-\x1f.][^/\\\x00-\x1f]{0,254}")


class _Built:
    """One build folder, opened once (no link followed): its inventaire.json, its listing and its files are
    all read through that one descriptor, so they belong to the same build even if a new build replaces
    the folder meanwhile (write.staging renames it away, then removes it: OSError, never a mix)."""

    def __init__(self, d: Path):
        self.path, self.fd = d, _open_dir(d.parent, [d.name])
        try:
            self.manifest = _read_manifest(_open_in(self.fd, ["inventaire.json"]))
        except BaseException:
            os.close(self.fd)
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def _is_file(self, name: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode)
        except OSError:
            return False

    def files(self) -> list[str]:
        """Every file of this build, relative to it, in filing order. A listed name that could lead
        anywhere else (« ../ », an absolute path, a deeper folder) is left out: it is not refere's."""
        m = self.manifest
        if m is None:
            return []
        out = [n for n in ("requete.docx", "requete.pdf") if self._is_file(n)]
        pieces = m.get("pieces") if isinstance(m.get("pieces"), list) else []
        out += [p["fichier"] for p in pieces
                if isinstance(p, dict) and isinstance(p.get("fichier"), str) and _PIECE_NAME.fullmatch(p["fichier"])]
        out += [n for n in ("dossier-complet.pdf", "inventaire.json") if self._is_file(n)]
        return out

    def open(self, rel: str):
        """``rel`` of this build, opened for reading when it is a plain file (no link followed), else None."""
        return _open_in(self.fd, rel.split("/"))

    def still_current(self, folder: Path) -> bool:
        """Still the case's last build: nothing replaced it while it was being read."""
        try:
            now, held = os.lstat(built_dir(folder)), os.fstat(self.fd)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def output_files(folder: Path) -> list[str]:
    """Every file of the last build, relative to dossier/, in filing order (see _Built.files)."""
    try:
        with _Built(built_dir(folder)) as b:
            return b.files()
    except OSError:
        return []


class NotServed(RefereError):
    """A file of the last build that is not handed out: missing, or not a plain file inside dossier/."""

    def __init__(self, rel: str):
        super().__init__(f"« {rel} » manque dans le dossier construit ou n'y est pas un simple fichier : "
                         "construisez de nouveau le dossier.")


class BuildUnderWay(RefereError):
    """The last build kept being replaced while its files were being opened."""

    def __init__(self):
        super().__init__("Construction en cours : le dossier construit est en train d'être remplacé ; "
                         "réessayez dans un instant.")


def open_output(folder: Path, rel: str):
    """``<last build>/<rel>`` opened for reading, only when the last build lists it, inside it, no link."""
    try:
        with _Built(built_dir(folder)) as b:
            fh = b.open(rel) if rel in b.files() else None
    except OSError:
        fh = None
    if fh is None:
        raise NotServed(rel)
    return fh


SNAPSHOT_TRIES = 5


def open_build(folder: Path) -> list[tuple[str, object]]:
    """Every file of the last build, each already opened, all from one build: a folder replaced meanwhile
    (a build finishing) is read again from the new one, a few times, then BuildUnderWay. NotServed when
    a listed file is missing or not a plain file in a build that is still the current one."""
    for _ in range(SNAPSHOT_TRIES):
        opened: list[tuple[str, object]] = []
        try:
            with _Built(built_dir(folder)) as b:
                missing = None
                for rel in b.files():
                    fh = b.open(rel)
                    if fh is None:
                        missing = missing or rel
                    else:
                        opened.append((rel, fh))
                if b.still_current(folder):  # current at the end too: what is open is all of one build
                    if missing is None and opened:
                        return opened
                    raise NotServed(missing or "inventaire.json")  # nothing listed: an unreadable inventaire.json
        except OSError:
            pass  # the folder went away between finding and opening it: a new one replaced it
        except BaseException:
            _close_all(opened)
            raise
        _close_all(opened)
    if not os.path.lexists(built_dir(folder)):  # no build at all (never made, or removed): not « en cours »
        raise NotServed("inventaire.json")
    raise BuildUnderWay()


def _close_all(opened) -> None:
    for _, fh in opened:
        fh.close()


def open_plain(base: Path, parts: list[str]):
    """``base/part/…/part`` opened for reading when it is a plain file, else None. Each folder on the way
    and the file itself are opened without following a symbolic link: what is read is below ``base``."""
    try:
        fd = _open_dir(base, [])
    except OSError:
        return None
    try:
        return _open_in(fd, parts)
    finally:
        os.close(fd)


_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = _NOFOLLOW | getattr(os, "O_DIRECTORY", 0)


def _open_dir(base: Path, parts: list[str]) -> int:
    """The folder ``base/part/…`` opened, no link followed on the way below ``base``; OSError if not there."""
    fd = os.open(base, _DIR_FLAGS)
    try:
        for part in parts:
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_in(dir_fd: int, parts: list[str]):
    """``part/…/part`` below the open folder ``dir_fd``, opened when it is a plain file, else None."""
    dirs: list[int] = []
    try:
        for part in parts[:-1]:
            dirs.append(os.open(part, _DIR_FLAGS, dir_fd=dirs[-1] if dirs else dir_fd))
        fd = os.open(parts[-1], _NOFOLLOW | getattr(os, "O_NONBLOCK", 0), dir_fd=dirs[-1] if dirs else dir_fd)
    except OSError:
        return None
    finally:
        for d in dirs:
            os.close(d)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: same build, same zip


def make_zip(folder: Path, name: str):
    """A zip of the last build, in an anonymous temporary file opened for reading (nothing is left on disk
    once it is closed). Entries are « <case>/<name> » or « <case>/pieces/<name> », from checked names only;
    every file is opened before the zip is written, all from one build (open_build): a build finishing
    meanwhile never mixes two builds in one zip. NotServed, BuildUnderWay as open_build."""
    opened = open_build(folder)
    tmp = tempfile.TemporaryFile(prefix=".zip-", suffix=".zip")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for rel, src in opened:
                info = zipfile.ZipInfo(f"{name}/{rel}", ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with src, z.open(info, "w") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
        tmp.seek(0)
    except BaseException:
        tmp.close()
        raise
    finally:
        _close_all(opened)
    return tmp
