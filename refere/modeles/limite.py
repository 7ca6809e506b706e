"""A hard wall-clock limit on work a hostile template drives: it runs in a child process.

The sandbox bounds each Jinja operation (loops, sizes, processor time), but one slow operation
inside a library could still outlast those counters. A custom template is therefore rendered in
a forked child that is killed when the limit passes, whatever it is doing; the parent never waits
longer. The child sends back a small picklable result (a list of French problems, or nothing);
the document it writes goes to a file the parent names. Where ``fork`` does not exist the work
runs in process, bounded by the sandbox alone.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from typing import Any, Callable

# Seconds of wall clock a custom template's render (or the verifier's renders) may take: far
# beyond a real requête (well under a second), short enough that a stuck render ends the command.
WALL_SECONDS = float(os.environ.get("REFERE_MODELE_SECONDES", "60"))


def too_slow() -> str:
    """The French problem a template past the limit is refused with."""
    n = WALL_SECONDS
    return f"le modèle met plus de {n:g} seconde{'s' if n >= 2 else ''} à se remplir (limite stricte) : refusé"


class TooSlow(Exception):
    """The child outlived the limit and was killed."""


def run(func: Callable[..., Any], *args: Any, seconds: float | None = None) -> Any:
    """``func(*args)`` in a forked child, killed past ``seconds``: its return value, or the
    exception it raised (re-raised here), or TooSlow."""
    limit = WALL_SECONDS if seconds is None else seconds
    if not hasattr(os, "fork"):
        return func(*args)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        status = 0
        try:
            os.close(read_fd)
            try:
                payload = pickle.dumps((True, func(*args)))
            except BaseException as exc:  # noqa: BLE001 - carried back to the parent
                try:
                    payload = pickle.dumps((False, exc))
                except Exception:  # noqa: BLE001 - an exception that does not pickle
                    payload = pickle.dumps((False, RuntimeError(type(exc).__name__)))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    deadline = time.monotonic() + limit
    chunks: list[bytes] = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TooSlow()
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            data = os.read(read_fd, 1 << 20)
            if not data:
                break
            chunks.append(data)
    except BaseException:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_fd)
    os.waitpid(pid, 0)
    if not chunks:
        raise RuntimeError("le processus de rendu s'est arrêté sans résultat")
    ok, value = pickle.loads(b"".join(chunks))  # written by our own child, never by the template
    if ok:
        return value
    raise value
