"""Atomic output: build in a temporary folder beside the target, move it into place at the end."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import OutputError, os_reason


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_target(target: Path, force: bool, protected: Iterable[Path]) -> None:
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
        if not force:
            raise OutputError(
                f"le dossier de sortie « {target} » existe déjà : ajoutez --force pour le remplacer, "
                "ou choisissez un autre dossier avec -o"
            )


@contextlib.contextmanager
def staging(target: Path, force: bool, protected: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target``, on failure it vanishes."""
    check_target(target, force, list(protected))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as exc:
        raise OutputError(f"impossible d'écrire dans « {target.parent} » ({os_reason(exc)})") from None
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.rename(target, old / "d")
        os.rename(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno == errno.ENOSPC:
            raise OutputError(f"disque plein en écrivant « {target} » : rien n'a été écrit") from None
        raise OutputError(f"écriture impossible dans « {target} » ({os_reason(exc)}) : rien n'a été écrit") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
