"""A hard wall-clock limit on work a hostile template drives: it runs in a child process.

The sandbox bounds each Jinja operation (loops, sizes, processor time), but one slow operation
inside a library could still outlast those counters. A custom template is therefore rendered in
a child process that is killed when the limit passes, whatever it is doing; the parent never
waits longer. The child comes from a fork server (started once, refere imported in it), so a
render costs a fork, not a new interpreter. It sends back a small picklable result (a list of
French problems, or nothing); the document it writes goes to a file the parent names. Where
``fork`` does not exist the work runs in process, bounded by the sandbox alone.
"""

from __future__ import annotations

import os
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


_CONTEXT = None
_OWNER: int | None = None  # the process whose fork server _CONTEXT knows


def _context():
    """A fork server: children are forked from a process with a single thread (the web server has
    many; forking one of them could copy a lock held by another), refere already imported in it."""
    global _CONTEXT, _OWNER
    if _CONTEXT is None:
        import multiprocessing

        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["refere.requete.render", "refere.requete.verifier"])
    if _OWNER != os.getpid():
        # A batch worker forked from a process that had started the fork server inherits its
        # record of it; that server is not this process's child (waitpid would fail): start anew.
        from multiprocessing import forkserver

        server = forkserver._forkserver
        server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None
        _OWNER = os.getpid()
    return _CONTEXT


def _child(conn, func: Callable[..., Any], args: tuple) -> None:
    try:
        payload = (True, func(*args))
    except BaseException as exc:  # noqa: BLE001 - carried back to the parent
        payload = (False, exc)
    try:
        conn.send(payload)
    except Exception:  # noqa: BLE001 - a result or exception that does not pickle
        conn.send((False, RuntimeError(type(payload[1]).__name__)))
    conn.close()


def run(func: Callable[..., Any], *args: Any, seconds: float | None = None) -> Any:
    """``func(*args)`` (a module-level function, its arguments picklable) in a child process,
    killed past ``seconds``: its return value, or the exception it raised (re-raised here), or
    TooSlow."""
    limit = WALL_SECONDS if seconds is None else seconds
    if not hasattr(os, "fork"):
        return func(*args)
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, func, args), daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(limit):
            raise TooSlow()
        ok, value = receive.recv()
    except EOFError:
        raise RuntimeError("le processus de rendu s'est arrêté sans résultat") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receive.close()
    if ok:
        return value
    raise value
