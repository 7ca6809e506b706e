"""Readings of untrusted files in a child process, bounded in wall-clock time and in memory.

qpdf (a PDF source opened and checked), PDFium (a PDF capture rendered, a pièce's text layer) and
Pillow run on files someone else made: an LZW object stream makes qpdf allocate gigabytes, a page
of nested forms makes PDFium allocate without end, a PNG of 200,000 text chunks keeps Pillow busy
for minutes. Such work cannot be stopped from inside (a thread cannot be killed, and
one left running keeps its memory and its locks), so each reading runs in a child process whose
address space is capped (RLIMIT_AS) and which is killed when its time is up, or as soon as the
command is stopping (SIGTERM, Ctrl-C). Whatever the file does, it ends with that child: the next
file is read by a fresh one.

The children come from a fork server (started once per process, the readers already imported in
it): a reading costs a fork, not a new interpreter, and the web server's threads are never
forked. ``run_forked`` forks the calling process itself when no other thread runs in it (a
verification worker, the command line): milliseconds, nothing copied. Where ``fork`` does not
exist the work runs in process, unbounded as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any, Callable

# Bytes of address space a reading may use: PDFium renders a page of 12 Mpx, Tesseract (started
# by the child, under the same cap) reads 3000 × 3600 px, each in a few hundred megabytes.
MEMORY = int(os.environ.get("REFERE_LECTURE_MEMOIRE_MO", "1536")) << 20
CPU_MARGIN = 10  # CPU seconds a child may use past its wall-clock time before it stops itself
POLL = 0.1  # seconds between two looks at the child, the clock and a stop request
_PRELOAD = ["refere.preuves.lecture", "refere.preuves.titulaire", "refere.pieces.pngmeta", "PIL.Image",
            "PIL.ImageOps", "PIL.PngImagePlugin", "PIL.JpegImagePlugin", "pypdfium2", "pytesseract"]


class Stopped(Exception):
    """The child was stopped, or died: ``reason`` is « delai » (its time was up), « memoire » (it
    ran out of its memory, or the library crashed on the file), « arret » (the command is
    stopping) or « tue » (killed from outside, SIGKILL): in those two, the file is not to blame."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_context = None
_owner: int | None = None  # the process whose fork server ``_context`` knows


def _server():
    global _context, _owner
    import multiprocessing
    from multiprocessing import forkserver, resource_tracker

    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        server = forkserver._forkserver
        if server._forkserver_pid is None:  # not started yet: our readers imported in it too
            _context.set_forkserver_preload(sorted(set(server._preload_modules) | set(_PRELOAD)))
    if _owner != os.getpid():
        # A batch worker forked from a process that had started the fork server inherits its
        # record of it; that server is not this process's child: start a new one.
        server = forkserver._forkserver
        if _owner is not None or server._forkserver_pid is not None:
            server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None
        _owner = os.getpid()
    if forkserver._forkserver._forkserver_pid is None:
        # Started now, Ctrl-C held: the server imports the readers before it ignores SIGINT, and a
        # Ctrl-C to the terminal's process group then printed an English traceback. Its resource
        # tracker first: starting it lets SIGINT in again in this thread. Once: not at every reading.
        resource_tracker.ensure_running()
        with _sigint_held():
            forkserver.ensure_running()
    return _context


@contextlib.contextmanager
def _sigint_held():
    """SIGINT blocked in this thread for the span: a process started meanwhile inherits the mask
    (across exec too) and lets SIGINT in once it ignores it; here it arrives at the span's end."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_inside = False  # this process is a child of ``run``: already capped, work here runs as it is


def _child(conn, memory: int, seconds: float, env: dict, func: Callable[..., Any], args: tuple) -> None:
    import resource

    global _inside
    _inside = True

    # The environment of the caller now, not the fork server's at its start (OMP_THREAD_LIMIT,
    # set before reading, keeps Tesseract on one core).
    os.environ.clear()
    os.environ.update(env)
    # A library's English notes (Pillow's « Palette images with Transparency… ») never reach the
    # terminal: the parent silences them (cli), a fork server's child starts with the defaults.
    import warnings

    warnings.simplefilter("ignore")
    # A stop is the parent's to decide: the child only dies by its kill (or its own failure). Its
    # own group, so that the kill reaches Tesseract too, which it may have started.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # started with SIGINT held (``_sigint_held``)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    os.setpgid(0, 0)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    # Its time bounded by the child itself too, not only by the parent's clock: a parent killed
    # (SIGKILL, a crash) cannot kill it any more. CPU seconds (Tesseract, started by it, inherits
    # the limit), and death when the fork server, its parent, goes (it exits with refere).
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu = int(seconds) + CPU_MARGIN
    resource.setrlimit(resource.RLIMIT_CPU, (cpu if hard == resource.RLIM_INFINITY else min(cpu, hard), hard))
    _die_with_parent()
    try:
        payload = (True, func(*args))
    except MemoryError:
        payload = (False, Stopped("memoire"))
    except BaseException as exc:  # noqa: BLE001 - carried back to the parent
        payload = (False, exc)
    try:
        try:
            conn.send(payload)
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception:  # noqa: BLE001 - a result or an exception that does not pickle
            conn.send((False, ValueError(type(payload[1]).__name__)))
        conn.close()
    except OSError:
        pass  # the parent is gone (killed): nobody to answer, nothing to print


def run(func: Callable[..., Any], *args: Any, seconds: float, stop: Callable[[], bool] | None = None) -> Any:
    """``func(*args)`` (a module-level function, picklable arguments and result) in a child
    process capped at ``MEMORY``, killed past ``seconds`` or when ``stop()`` turns true: its
    result, or the exception it raised (raised again here), or ``Stopped``."""
    if not hasattr(os, "fork") or _inside:
        return func(*args)
    return _run(_server(), MEMORY, func, args, seconds, stop)


def run_forked(func: Callable[..., Any], *args: Any, seconds: float, extra: int,
               stop: Callable[[], bool] | None = None) -> Any:
    """As ``run``, in a child forked from this very process when no other thread runs here (a
    fork costs milliseconds and inherits what is already imported and read: ``args`` are not
    copied), allowed ``extra`` bytes of address space beyond this process's own; from the fork
    server otherwise (a thread holding a lock at the fork would leave it held in the child)."""
    if not hasattr(os, "fork") or _inside:
        return func(*args)
    import multiprocessing
    import threading

    if threading.active_count() > 1:
        return run(func, *args, seconds=seconds, stop=stop)
    return _run(multiprocessing.get_context("fork"), address_space() + extra, func, args, seconds, stop)


def address_space(field: bytes = b"VmSize:") -> int:
    """This process's address space now (VmSize), in bytes; 0 when it cannot be told."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) << 10
    except (OSError, ValueError, IndexError):
        pass
    return 0


def held() -> int:
    """The memory this process holds now (its anonymous resident pages), what it freed given back
    to the system first: what a passing computation used and released is not counted; 0 when it
    cannot be told."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)  # glibc: a musl or other libc keeps its free pages
    except (OSError, AttributeError):
        pass
    return address_space(b"RssAnon:")  # not the library code the process happens to page in


def peak() -> int:
    """The most address space this process has held (VmPeak), in bytes; 0 when it cannot be told."""
    return address_space(b"VmPeak:")


def _run(ctx, memory: int, func, args, seconds: float, stop) -> Any:
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, memory, seconds, dict(os.environ), func, args), daemon=True)
    finished = False
    try:
        with _sigint_held():  # a Ctrl-C before the child ignores it would print its traceback
            proc.start()
        send.close()
        deadline = time.monotonic() + seconds
        while not receive.poll(max(0.0, min(POLL, deadline - time.monotonic()))):
            if stop is not None and stop():
                raise Stopped("arret")
            if time.monotonic() >= deadline:
                raise Stopped("delai")
        ok, value = receive.recv()
        finished = True
    except EOFError:
        proc.join()
        raise Stopped(_ended(proc.exitcode)) from None
    finally:
        if proc.pid is not None:  # started (its start may itself have failed)
            if not finished:
                _kill(proc)
            proc.join()
        send.close()
        receive.close()
    if ok:
        return value
    raise value


def _ended(code: int | None) -> str:
    """Why a child ended without an answer: past its CPU time (SIGXCPU) « delai »; killed from
    outside (SIGKILL: the kernel's out-of-memory killer picks the biggest process, or a person) « tue »,
    not the file's fault; anything else (an abort or a crash once its memory cap is hit) « memoire »."""
    if code == -signal.SIGXCPU:
        return "delai"
    # Killed from outside, or ended with no code (this process is exiting): the command was stopped
    # (SIGTERM, SIGHUP…), never the file's fault; remembered as « memoire », it poisoned the cache (attack 30).
    # 255: the fork server is gone and took the child's status with it (attack 31: killed from outside).
    if code is None or code in (-signal.SIGKILL, -signal.SIGTERM, -signal.SIGHUP, -signal.SIGINT, -signal.SIGQUIT, 255):
        return "tue"
    return "memoire"


def _die_with_parent() -> None:
    """SIGKILL to this process when its parent, the fork server, dies (Linux's PR_SET_PDEATHSIG;
    nothing elsewhere). The fork server exits once no process holds its « alive » pipe: refere, and
    each child, which multiprocessing hands a copy; the child lets go of its own, so that the server
    ends with refere, killed or not, and takes the child with it."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if server._forkserver_alive_fd is not None:
        try:
            os.close(server._forkserver_alive_fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _kill(proc) -> None:
    """The child and whatever it started (its process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # not yet its own group, or already gone
        pass
    if proc.is_alive():
        proc.kill()
