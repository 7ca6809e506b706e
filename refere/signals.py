"""SIGTERM and SIGHUP handled like Ctrl-C: the stack unwinds, staging folders are removed.

Exit codes follow the shell's convention, 128 + the signal's number: 130 after Ctrl-C (SIGINT),
143 after SIGTERM, 129 after SIGHUP.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading


class Terminated(KeyboardInterrupt):
    """Raised by the handler; a KeyboardInterrupt, so every Ctrl-C clean-up path runs too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_worker = False
_busy = False
_held = 0  # depth of ``held`` spans: a signal arriving then is kept for their end
_pending: int | None = None
_raised: int | None = None  # a signal raised as Terminated: other threads (the web's) wind down too


def _handler(signum, frame):  # noqa: ARG001 - signal handler signature
    global _pending, _raised
    if _worker and not _busy:
        # An idle pool worker has nothing to clean up: leave quietly, no traceback.
        os._exit(128 + signum)
    if _held:
        # Inside a span that must not be cut (a pool taking or giving back work, a staging
        # folder being made or removed): the exception would leave a lock taken or a folder
        # behind. Note it; the span raises it when it ends, and loops ask ``stopping``.
        _pending = _pending or signum
        return
    _raised = signum
    raise Terminated(signum)


@contextlib.contextmanager
def held():
    """A span that a SIGTERM, SIGHUP (or Ctrl-C in a worker) must not cut in the middle: the signal
    is raised as ``Terminated`` when the span ends. Loops inside ask ``stopping()`` to end early."""
    global _held, _pending
    if threading.current_thread() is not threading.main_thread():
        yield  # signals interrupt only the main thread: another one has nothing to hold off
        return
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending is not None:
            signum, _pending = _pending, None
            raise Terminated(signum)


def stopping() -> bool:
    """A signal came during a ``held`` span, or was raised in the main thread while others work (the
    web server's readings): the work left is to be skipped."""
    return _pending is not None or _raised is not None


def raised() -> int | None:
    """The signal raised as ``Terminated`` since ``install``, if any (a server loop that swallows
    KeyboardInterrupt, as waitress's does, still learns the exit code due)."""
    return _raised


def install(worker: bool = False) -> None:
    """In the main process: SIGTERM, SIGHUP and Ctrl-C raise ``Terminated`` (or wait for the end
    of a ``held`` span). In a pool's worker: the same, but an idle worker just leaves."""
    global _worker, _held, _pending, _raised
    _worker = worker
    _held, _pending, _raised = 0, None, None  # a worker forked inside a held span starts free of it
    sigs = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]
    for sig in sigs:
        # A signal the parent was told to ignore (« nohup », « cmd & ») stays ignored.
        try:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, _handler)
        except ValueError:  # not the main thread (refere called from a server): the host decides
            return


class busy:
    """Inside a worker, the span in which a signal must unwind (to clean up) rather than exit."""

    def __enter__(self):
        global _busy
        _busy = True

    def __exit__(self, *exc):
        global _busy
        _busy = False
        if _worker and exc[0] is not None and issubclass(exc[0], KeyboardInterrupt):
            # Cleaned up by now; a stopped worker takes no further case.
            os._exit(128 + getattr(exc[1], "signum", signal.SIGINT))
        return False


def exit_code(exc: BaseException) -> int:
    return 128 + getattr(exc, "signum", signal.SIGINT)
