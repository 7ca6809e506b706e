"""Atomic output: build in a temporary folder beside the target, move it into place at the end.

Outputs are never lost: a target that exists is replaced only when it is a previous refere output
(it holds refere's ``inventaire.json``) and ``--force`` was given; two builds to one target are
kept apart by a lock; staging folders carry their process id so that one left behind by a killed
process is recognised and removed by the next run.

refere deletes only what it created: a staging folder is named after its target with a random
token and holds a marker file naming it; a folder beside the target that merely looks like one
(« .photos.old-2024-vacances ») is never touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from refere import signals
from refere.errors import OutputError, RefereError, os_reason

# « .dossier.tmp-1234-abcd1234 » / « .dossier.old-1234-… »: pid of the process that made it.
_STAGING = "^\\.{name}\\.(?:tmp|old)-([0-9]{{1,10}})-[0-9a-f]{{8}}$"
MARKER = ".refere-temporaire"  # inside each staging folder: « refere <folder name> »
_PID_MAX = 1 << 22  # Linux's highest possible pid; a larger « pid » was not written by refere


def umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux); elsewhere set and
    put back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def new_file_mode() -> int:
    """The mode a new file gets from the user's umask (0644 under 022, 0664 under 002, 0600 under 077)."""
    return 0o666 & ~umask()


def new_dir_mode() -> int:
    return 0o777 & ~umask()


def _cwd() -> Path | None:
    try:
        return Path(os.path.realpath(os.getcwd()))
    except OSError:
        return None


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def is_refere_output(folder: Path) -> bool:
    """A folder written by refere: it holds an inventaire.json that says so."""
    manifest = folder / "inventaire.json"
    try:
        if manifest.is_symlink() or not manifest.is_file() or manifest.stat().st_size > 64 * 1024 * 1024:
            return False
        data = json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: deeply nested JSON
        return False
    return isinstance(data, dict) and isinstance(data.get("outil"), dict) and data["outil"].get("nom") == "refere"


def case_inside(folder: Path) -> Path | None:
    """A « dossier.yaml » in ``folder`` or below (links not followed)."""
    for here, dirs, files in os.walk(folder):
        if "dossier.yaml" in files + dirs:
            return Path(here) / "dossier.yaml"
    return None


def case_around(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` (real path) holding a dossier.yaml: the case's
    folder it is in. The walk up is bounded by the path's own depth."""
    real = Path(os.path.realpath(folder))
    for here in (real, *real.parents):
        if (here / "dossier.yaml").is_file():
            return here
    return None


def previous_owner(folder: Path) -> str | None:
    """The case identity recorded in a previous refere output (None: unknown, older output)."""
    try:
        data = json.loads((folder / "inventaire.json").read_text("utf-8"))
        owner = data.get("construction", {}).get("affaire")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return owner if isinstance(owner, str) else None


def check_target(target: Path, force: bool, protected: Iterable[Path], owner: str | None = None) -> None:
    real = Path(os.path.realpath(target))
    if (here := _cwd()) is not None and _inside(here, real) and os.path.lexists(target):
        # The output is replaced whole (a new folder renamed in): a terminal in it would stay in the old one.
        raise OutputError(f"le dossier de sortie « {real} » est le dossier où la commande est lancée (ou le contient) : "
                          "refere le remplace en entier ; lancez-la depuis un autre dossier, ou choisissez-en un autre "
                          "avec -o")
    for p in protected:
        p = Path(os.path.realpath(p))
        if _inside(p, real):
            raise OutputError(
                f"le dossier de sortie « {target} » contient des fichiers sources ({p.name}) : "
                "choisissez un autre dossier avec -o"
            )
    if target.exists() or target.is_symlink():
        if target.is_symlink():  # never written through: what it leads to is not the output named
            raise OutputError(f"« {target} » est un lien : refere n'écrit pas à travers un lien ; donnez avec -o le "
                              "dossier lui-même, ou un autre nom")
        if not target.is_dir():
            raise OutputError(f"« {target} » existe et n'est pas un dossier : choisissez un autre nom avec -o")
        empty = not any(target.iterdir())
        if not empty and not is_refere_output(target):
            # Whatever the options: only refere's own previous output may be replaced.
            raise OutputError(
                f"le dossier de sortie « {target} » existe et n'a pas été construit par refere "
                "(pas d'inventaire.json) : il ne sera pas remplacé ; choisissez un autre dossier avec -o"
            )
        if not empty and (case := case_inside(target)) is not None:
            # A case made in a previous output (« refere init dossier »): replacing the output would lose it.
            raise OutputError(f"le dossier de sortie « {target} » contient une affaire ({case}) : ce n'est plus "
                              "seulement un dossier construit par refere, il ne sera pas remplacé ; déplacez "
                              "l'affaire, ou choisissez un autre dossier avec -o")
        previous = None if empty else previous_owner(target)
        if owner is not None and previous is not None and previous != owner:
            raise OutputError(f"le dossier de sortie « {target} » contient le dossier construit pour une autre "
                              "personne : il ne sera pas remplacé ; choisissez un autre dossier avec -o (si c'est "
                              "bien la même personne, après correction de son nom ou de sa date de naissance, "
                              "supprimez ce dossier puis relancez)")
        if not force and not empty:  # an empty folder (« -o . » in a new one) is simply filled
            raise OutputError(f"le dossier de sortie « {target} » existe déjà : ajoutez --force pour le remplacer, "
                              "ou choisissez un autre dossier avec -o")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _marker_text(folder_name: str) -> bytes:
    return f"refere {folder_name}\n".encode("utf-8")


def _is_ours(folder: str, name: str) -> bool:
    """The marker refere wrote in its staging folder: a regular file naming that very folder."""
    try:
        fd = os.open(os.path.join(folder, MARKER), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        expected = _marker_text(name)
        return stat.S_ISREG(st.st_mode) and st.st_size == len(expected) and os.read(fd, len(expected) + 1) == expected
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_stale_staging(target: Path) -> list[Path]:
    """Remove the staging folders of ``target`` whose process is gone (SIGKILL, power cut…).

    Only refere's own: named after this target, with a pid and a random token, and holding the
    marker that names them. Anything else beside the target is the user's and stays.
    """
    removed: list[Path] = []
    pattern = re.compile(_STAGING.format(name=re.escape(target.name)))
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if not m or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(m[1])
        if pid == 0 or pid > _PID_MAX or _pid_alive(pid):
            continue
        if _is_ours(entry.path, entry.name):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            # Killed between its creation and its marker: removed only while still empty.
            try:
                os.rmdir(entry.path)
            except OSError:
                continue
        removed.append(Path(entry.path))
    return removed


def _staging_name(kind: str, target: Path) -> Path:
    """Named before it is made, so that a signal between the two never leaves it behind unnamed."""
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _make_staging(path: Path) -> None:
    """Create a staging folder and mark it as refere's (its marker names it)."""
    os.mkdir(path, 0o700)
    fd = os.open(path / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, _marker_text(path.name))
    finally:
        os.close(fd)


def _lock_refusal(path: Path, exc: OSError | None, st: os.stat_result | None) -> str | None:
    """Why « .<name>.verrou » cannot be refere's lock file (None: it can)."""
    if exc is not None and exc.errno == errno.ELOOP:
        what = "un lien symbolique"
    elif exc is not None and exc.errno == errno.EISDIR:
        what = "un dossier"
    elif exc is not None:
        return None
    elif st is not None and not stat.S_ISREG(st.st_mode):
        what = "un fichier spécial"
    elif st is not None and st.st_size:
        what = "un fichier qui n'est pas vide"
    else:
        return None
    return (f"« {path} » est {what}, pas le verrou de refere : il n'a pas été créé par refere ; "
            "déplacez-le ou supprimez-le, ou choisissez un autre dossier avec -o")


@contextlib.contextmanager
def lock(target: Path) -> Iterator[None]:
    """Hold « .<name>.verrou » beside ``target``; a second build to the same target fails at once.

    The lock file is empty and refere's own: a link, a folder, a special or non-empty file of that
    name is the user's, refused by name and left as it is.
    """
    path = target.parent / f".{target.name}.verrou"
    fd = None
    try:
        # A signal while the lock is being taken waits for the end of this span, then unwinds
        # through the ``finally`` below: raised between the file's creation and the ``try``, it
        # left the lock file behind (tests/test_outputs.py, a batch stopped by SIGTERM).
        with signals.held():
            fd = _take_lock(path, target)
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
            os.close(fd)


def _take_lock(path: Path, target: Path) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            if (refusal := _lock_refusal(path, exc, None)) is not None:
                raise OutputError(refusal) from None
            raise OutputError(f"impossible d'écrire dans « {target.parent} » ({os_reason(exc)})") from None
        if (refusal := _lock_refusal(path, None, os.fstat(fd))) is not None:
            os.close(fd)
            raise OutputError(refusal)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(
                f"une autre construction écrit déjà dans « {target} » : attendez qu'elle se termine, "
                "puis relancez (ou choisissez un autre dossier avec -o)"
            ) from None
        # The previous holder may have unlinked the file between our open and our lock.
        try:
            same = os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextlib.contextmanager
def scratch(target: Path) -> Iterator[Path | None]:
    """A private folder beside ``target`` (named like a staging folder, so that one left by a
    killed process is removed by the next run) for work done before the output may be replaced;
    None when it cannot be made there (no such folder yet): do the work in ``staging`` then."""
    path = _staging_name("tmp", target)
    made = False
    try:
        with signals.held():  # a signal just after the folder is made waits for ``made``
            with contextlib.suppress(OSError):
                os.mkdir(path, 0o700)
                made = True
        yield path if made else None
    finally:
        if made:
            with signals.held():  # removed whole, even if a second signal comes
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def staging(target: Path, force: bool, protected: Iterable[Path] = (), owner: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target``, on failure it vanishes.

    ``owner`` identifies the case: a previous output recorded for another case is never replaced.
    """
    protected = list(protected)
    check_target(target, force, protected, owner)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"impossible d'écrire dans « {target.parent} » ({os_reason(exc)})") from None
    with lock(target):
        remove_stale_staging(target)
        check_target(target, force, protected, owner)  # again, under the lock
        tmp = _staging_name("tmp", target)
        old = None
        try:
            try:
                _make_staging(tmp)
            except OSError as exc:
                raise OutputError(f"impossible d'écrire dans « {target.parent} » ({os_reason(exc)})") from None
            yield tmp
            with signals.held():  # the output is replaced whole, or not at all
                os.unlink(tmp / MARKER)  # the output holds what the build wrote, nothing else
                os.chmod(tmp, new_dir_mode())
                if target.exists():
                    old = _staging_name("old", target)
                    _make_staging(old)
                    os.rename(target, old / "d")
                os.rename(tmp, target)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise OutputError(f"disque plein en écrivant « {target} » : rien n'a été écrit") from None
            raise OutputError(f"écriture impossible dans « {target} » ({os_reason(exc)}) : rien n'a été écrit") from None
        finally:
            # Every exit path: success (tmp is the target now), error, Ctrl-C, SIGTERM; a second
            # signal waits for the clean-up's end.
            with signals.held():
                if old is not None and (old / "d").exists() and not target.exists():
                    with contextlib.suppress(OSError):
                        os.rename(old / "d", target)  # interrupted between the two renames: put it back
                shutil.rmtree(tmp, ignore_errors=True)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)


# --- a run's output folder, held from its start: later writes cannot be sent elsewhere -------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


@dataclasses.dataclass(frozen=True)
class Held:
    """An output folder as found at the start of a run (``batch``, « Tout construire »): its path, for
    messages, and its identity. Picklable: each worker process opens it again and checks it is the same."""

    path: Path
    dev: int
    ino: int


def hold(path: Path, link: str = "") -> Held:
    """The folder ``path`` names now (made if missing), to be written in by ``inside`` from now on.
    ``link``: when given, ``path`` itself may not be a symbolic link, and this says why."""
    try:
        if link:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, new_dir_mode())
        else:
            path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, _DIR_FLAGS | (os.O_NOFOLLOW if link else 0))
    except OSError as exc:
        if link and os.path.islink(path):
            raise OutputError(f"« {path} » est un lien symbolique : {link}") from None
        raise OutputError(f"impossible de créer « {path} » ({os_reason(exc)})") from None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return Held(path, st.st_dev, st.st_ino)


def _swapped(path: Path) -> OutputError:
    return OutputError(f"« {path} » a été remplacé pendant la construction (par un lien symbolique ou un autre "
                       "dossier) : rien n'y est écrit, pour ne rien écrire ailleurs que dans le dossier de sortie "
                       "choisi au départ ; remettez le vrai dossier à sa place, puis relancez")


def _fd_path(fd: int) -> Path | None:
    """A path that names the folder open as ``fd`` from any process, whatever is renamed or linked meanwhile
    (Linux's /proc/<pid>/fd/<fd>); None where the system has none."""
    p = Path(f"/proc/{os.getpid()}/fd/{fd}")
    try:
        st, real = os.stat(p), os.fstat(fd)
    except OSError:
        return None
    return p if (st.st_dev, st.st_ino) == (real.st_dev, real.st_ino) else None


def _link_refused(named: Path, exc: OSError) -> OutputError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(named):
        return OutputError(f"« {named} » est un lien symbolique : refere n'écrit pas à travers un lien ; "
                           "remplacez-le par un vrai dossier, puis relancez")
    return OutputError(f"impossible d'écrire dans « {named} » ({os_reason(exc)})")


def _open_below(fds: list[int], base: Path, parts: list[str], make: bool) -> None:
    """Open (and make, if ``make``) each folder of ``parts`` below ``fds[-1]`` without following a link."""
    for k, part in enumerate(parts):
        try:
            if make:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, new_dir_mode(), dir_fd=fds[-1])
            fds.append(os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fds[-1]))
        except OSError as exc:
            raise _link_refused(base.joinpath(*parts[:k + 1]), exc) from None


@contextlib.contextmanager
def _through(fds: list[int], real: Path) -> Iterator[Path]:
    """The folder open as ``fds[-1]`` (known as ``real``) by a path through its descriptor; closes ``fds``."""
    try:
        via = _fd_path(fds[-1]) if fds else None
        path = via if via is not None else real
        try:
            yield path
        except RefereError as exc:
            exc.message = shown(exc.message, path, real)
            exc.args = (exc.message,)
            raise
    finally:
        for fd in fds:
            os.close(fd)


@contextlib.contextmanager
def inside(held: Held, rel: str) -> Iterator[Path]:
    """``held.path / rel`` as a path every write through lands in the folder held, whatever was swapped since.

    The folder is opened again and must be the one held; each folder of ``rel`` on the way is created and
    opened without following a link (a link there is refused by name); the path yielded goes through the
    open folder (/proc/<pid>/fd/<fd>/<last part>), so a folder renamed or replaced by a link afterwards
    changes nothing. A RefereError raised within names the real path, never /proc. Where the system has
    no such path (not Linux), the path itself, after the same checks."""
    parts = [p for p in rel.split("/") if p]
    fds: list[int] = []
    try:
        try:
            fds.append(os.open(held.path, _DIR_FLAGS))
        except OSError:
            raise _swapped(held.path) from None
        st = os.fstat(fds[0])
        if (st.st_dev, st.st_ino) != (held.dev, held.ino):
            raise _swapped(held.path)
        _open_below(fds, held.path, parts[:-1], make=True)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    with _through(fds, held.path.joinpath(*parts[:-1])) as folder:
        yield folder / parts[-1]


@contextlib.contextmanager
def pinned(folder: Path, rel: str = "", make: bool = True) -> Iterator[Path]:
    """``folder / rel`` as a path through an open descriptor (see ``inside``): ``folder`` and each folder of
    ``rel`` opened without following a link (refused by name; those of ``rel`` made first if ``make``), so
    that what is written through it lands there even if a folder is swapped for a link meanwhile."""
    parts = [p for p in rel.split("/") if p]
    fds: list[int] = []
    held = folder.parent == Path(f"/proc/{os.getpid()}/fd")  # already a path through a descriptor: followed
    try:
        try:
            fds.append(os.open(folder, _DIR_FLAGS | (0 if held else os.O_NOFOLLOW)))
        except OSError as exc:
            raise _link_refused(folder, exc) from None
        _open_below(fds, folder, parts, make)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    with _through(fds, folder.joinpath(*parts)) as path:
        yield path


def shown(text: str, path: Path, real: Path) -> str:
    """``text`` (a message) naming the folder ``real`` where it names it as ``path`` (yielded by ``pinned``)."""
    if path == real:
        return text
    return re.sub(re.escape(str(path)) + "(?![0-9])", lambda _: str(real), text)


def replace_file(path: Path, data: bytes) -> None:
    """``path`` replaced whole by ``data`` (a temporary file beside it, then renamed), written in its folder as
    opened now, never through a link put in the folder's place; the file keeps its mode, a new one gets the
    umask's."""
    try:
        with pinned(path.parent, make=False) as folder:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                try:
                    os.chmod(tmp, os.stat(folder / path.name).st_mode & 0o777)
                except FileNotFoundError:
                    os.chmod(tmp, new_file_mode())
                os.replace(tmp, folder / path.name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except OSError as exc:
        raise OutputError(f"impossible d'écrire « {path.name} » ({os_reason(exc)})") from None


_HELD: dict[str, contextlib.ExitStack] = {}  # a temporary file from held_temp → its folder, held open


def held_temp(folder: Path, prefix: str) -> tuple[int, Path]:
    """A new temporary file in ``folder`` (made if missing; its parent and itself opened without following a
    link), open for writing, by a path through the folder held open until ``let_go``: whatever is swapped in
    the folder's place meanwhile, the file stays in, and is renamed within, the folder found now."""
    held = contextlib.ExitStack()
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=held.enter_context(pinned(folder.parent, folder.name)))
    except OSError as exc:
        held.close()
        raise OutputError(f"impossible d'écrire dans « {folder} » ({os_reason(exc)})") from None
    except BaseException:
        held.close()
        raise
    _HELD[tmp] = held
    return fd, Path(tmp)


def let_go(tmp: Path) -> None:
    """A file from ``held_temp`` removed if still there, its folder let go."""
    tmp.unlink(missing_ok=True)
    if (held := _HELD.pop(str(tmp), None)) is not None:
        held.close()


def still_at(tmp: Path, folder: Path) -> bool:
    """Whether the folder ``tmp`` (from ``held_temp``) was made in is still the one named ``folder``."""
    try:
        here, there = os.stat(tmp.parent), os.lstat(folder)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
