"""SIGTERM and SIGHUP handled like Ctrl-C: the stack unwinds, staging folders are removed.

Exit codes follow the shell's convention, 128 + the signal's number: 130 after Ctrl-C (SIGINT),
143 after SIGTERM, 129 after SIGHUP.
"""

from __future__ import annotations

import os
import signal


class Terminated(KeyboardInterrupt):
    """Raised by the handler; a KeyboardInterrupt, so every Ctrl-C clean-up path runs too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_worker = False
_busy = False


def _handler(signum, frame):  # noqa: ARG001 - signal handler signature
    if _worker and not _busy:
        # An idle pool worker has nothing to clean up: leave quietly, no traceback.
        os._exit(128 + signum)
    raise Terminated(signum)


def install(worker: bool = False) -> None:
    global _worker
    _worker = worker
    sigs = [signal.SIGTERM, signal.SIGHUP] + ([signal.SIGINT] if worker else [])
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
