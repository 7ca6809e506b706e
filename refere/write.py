"""Atomic output: build in a temporary folder beside the target, move it into place at the end.

Outputs are never lost: a target that exists is replaced only when it is a previous refere output
(it holds refere's ``inventaire.json``) and ``--force`` was given; two builds to one target are
kept apart by a lock; staging folders carry their process id so that one left behind by a killed
process is recognised and removed by the next run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from refere.errors import OutputError, os_reason

# « .dossier.tmp-1234-abcd1234 » / « .dossier.old-1234-… »: pid of the process that made it.
_STAGING = re.compile(r"^\..+\.(?:tmp|old)-(\d+)-[A-Za-z0-9_]+$")


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


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def is_refere_output(folder: Path) -> bool:
    """A folder written by refere: it holds an inventaire.json that says so."""
    manifest = folder / "inventaire.json"
    try:
        if manifest.is_symlink() or not manifest.is_file() or manifest.stat().st_size > 64 * 1024 * 1024:
            return False
        data = json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("outil"), dict) and data["outil"].get("nom") == "refere"


def previous_owner(folder: Path) -> str | None:
    """The case identity recorded in a previous refere output (None: unknown, older output)."""
    try:
        data = json.loads((folder / "inventaire.json").read_text("utf-8"))
        owner = data.get("construction", {}).get("affaire")
    except (OSError, ValueError, AttributeError):
        return None
    return owner if isinstance(owner, str) else None


def check_target(target: Path, force: bool, protected: Iterable[Path], owner: str | None = None) -> None:
    real = Path(os.path.realpath(target))
    for p in protected:
        p = Path(os.path.realpath(p))
        if _inside(p, real):
            raise OutputError(
                f"le dossier de sortie « {target} » contient des fichiers sources ({p.name}) : "
                "choisissez un autre dossier avec -o"
            )
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise OutputError(f"« {target} » existe et n'est pas un dossier : choisissez un autre nom avec -o")
        empty = not any(target.iterdir())
        if not empty and not is_refere_output(target):
            # Whatever the options: only refere's own previous output may be replaced.
            raise OutputError(
                f"le dossier de sortie « {target} » existe et n'a pas été construit par refere "
                "(pas d'inventaire.json) : il ne sera pas remplacé ; choisissez un autre dossier avec -o"
            )
        previous = None if empty else previous_owner(target)
        if owner is not None and previous is not None and previous != owner:
            raise OutputError(
                f"le dossier de sortie « {target} » contient le dossier construit pour une autre personne : "
                "il ne sera pas remplacé ; choisissez un autre dossier avec -o (si c'est bien la même "
                "personne, après correction de son nom ou de sa date de naissance, supprimez ce dossier "
                "puis relancez)"
            )
        if not force:
            raise OutputError(
                f"le dossier de sortie « {target} » existe déjà : ajoutez --force pour le remplacer, "
                "ou choisissez un autre dossier avec -o"
            )


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


def remove_stale_staging(parent: Path) -> list[Path]:
    """Remove staging folders whose process is gone (killed with SIGKILL, power cut…)."""
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        m = _STAGING.match(entry.name)
        if not m or not entry.is_dir(follow_symlinks=False) or _pid_alive(int(m[1])):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def _staging_name(kind: str, target: Path) -> Path:
    """Named before it is made, so that a signal between the two never leaves it behind unnamed."""
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


@contextlib.contextmanager
def lock(target: Path) -> Iterator[None]:
    """Hold « .<name>.verrou » beside ``target``; a second build to the same target fails at once."""
    path = target.parent / f".{target.name}.verrou"
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise OutputError(f"impossible d'écrire dans « {target.parent} » ({os_reason(exc)})") from None
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
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


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
        remove_stale_staging(target.parent)
        check_target(target, force, protected, owner)  # again, under the lock
        tmp = _staging_name("tmp", target)
        old = None
        try:
            try:
                os.mkdir(tmp, 0o700)
            except OSError as exc:
                raise OutputError(f"impossible d'écrire dans « {target.parent} » ({os_reason(exc)})") from None
            yield tmp
            os.chmod(tmp, new_dir_mode())
            if target.exists():
                old = _staging_name("old", target)
                os.mkdir(old, 0o700)
                os.rename(target, old / "d")
            os.rename(tmp, target)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise OutputError(f"disque plein en écrivant « {target} » : rien n'a été écrit") from None
            raise OutputError(f"écriture impossible dans « {target} » ({os_reason(exc)}) : rien n'a été écrit") from None
        finally:
            # Every exit path: success (tmp is the target now), error, Ctrl-C, SIGTERM.
            if old is not None and (old / "d").exists() and not target.exists():
                with contextlib.suppress(OSError):
                    os.rename(old / "d", target)  # interrupted between the two renames: put it back
            shutil.rmtree(tmp, ignore_errors=True)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
