"""SIGTERM at any moment of a build with many captures: the process ends (no deadlock between the
signal and the worker pools' locks), with 143, leaving neither staging folder nor half an output."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from PIL import Image

from conftest import default_case, make_pdf, write_case

N = 400  # tiny captures: enough for the check's pool of processes, the lecture's threads, several pièces


def _many_captures(folder):
    start = dt.datetime(2024, 1, 1, 8, 0)
    data = default_case([(start + dt.timedelta(hours=5 * i)).strftime("%Y-%m-%d %H:%M") for i in range(N)])
    data["signature"]["date"] = (start + dt.timedelta(hours=5 * N + 48)).strftime("%Y-%m-%d")
    for i, t in enumerate(data["tentatives"]):
        t["capture"] = f"captures/c{i:04d}.png"
    path = write_case(folder, data, files=False)
    (folder / "captures").mkdir()
    for i in range(N):  # each different: no « capture en double »
        Image.new("RGB", (40, 80), (i % 256, i // 256, 200)).save(folder / "captures" / f"c{i:04d}.png")
    make_pdf(folder / "pieces" / "passeport.pdf")
    make_pdf(folder / "pieces" / "courriel.pdf")
    return path


def _staging(parent):
    return [p for p in parent.iterdir() if p.name.startswith(".")]


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (the kernel's mask of caught signals)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            mask = next(int(line.split()[1], 16) for line in fh if line.startswith("SigCgt:"))
    except (OSError, StopIteration, ValueError):
        return False
    return bool(mask & (1 << (signal.SIGTERM - 1)))


# Moments, each told by what the build has done so far (never by the clock).
MOMENTS = {
    "started": lambda parent, out: True,
    "scratch made": lambda parent, out: bool(_staging(parent)),
    "pièces being written": lambda parent, out: any(
        any(s.rglob("*.pdf")) for s in _staging(parent) if s.is_dir()),
    "output being filed": lambda parent, out: any(
        (s / "dossier-complet.pdf").exists() or ".old-" in s.name for s in _staging(parent)),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigterm_at_any_moment_ends_the_build_cleanly(tmp_path, moment):
    case = _many_captures(tmp_path / "gros")
    parent = case.parent
    out = parent / "dossier"
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    if moment == "output being filed":
        # A previous output to replace: the signal may come between the two renames.
        assert subprocess.run([sys.executable, "-m", "refere", "build", str(case), "--brouillon"],
                              env=env, capture_output=True).returncode == 0
        before = sorted(p.name for p in (out / "pieces").iterdir())
        (case.parent / "pieces" / "courriel.pdf").unlink()
        make_pdf(case.parent / "pieces" / "courriel.pdf", pages=2)
    proc = subprocess.Popen([sys.executable, "-m", "refere", "build", str(case), "--brouillon", "-j", "2", "--force"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = MOMENTS[moment]
    while proc.poll() is None and not seen(parent, out):
        time.sleep(0.001)
    if moment == "started":
        while proc.poll() is None and not _catches_sigterm(proc.pid):
            time.sleep(0.001)  # past the imports: the handler is installed (a loaded machine: seconds)
    if proc.poll() is not None:
        pytest.skip(f"the build ended before « {moment} »")
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=300)  # generous: a deadlock never ends
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"still running 300 s after SIGTERM (« {moment} »)")
    assert "Traceback" not in err and "Erreur interne" not in err
    if proc.returncode == 0:
        # The signal came after the output was filed whole: nothing to undo.
        assert moment == "output being filed"
    else:
        assert proc.returncode == 143, err
        assert "Interrompu" in err
    assert _staging(parent) == []
    names = sorted(p.name for p in parent.iterdir())
    if moment == "output being filed":
        assert names == ["captures", "dossier", "dossier.yaml", "pieces"]
        assert (out / "inventaire.json").is_file()  # the old output, or the new one: whole
        if proc.returncode == 143:
            assert sorted(p.name for p in (out / "pieces").iterdir()) == before
    else:
        assert names == ["captures", "dossier.yaml", "pieces"]
    time.sleep(0.5)  # no worker left writing
    assert _staging(parent) == []


def test_signal_in_a_held_span_is_raised_at_its_end(tmp_path):
    """The handler never raises inside a held span (a pool's lock may be taken): it notes the signal;
    the loop inside sees ``stopping()``, and the span's end raises ``Terminated``."""
    script = textwrap.dedent("""
        import os, signal, sys
        from refere import signals
        signals.install()
        steps = []
        try:
            with signals.held():
                os.kill(os.getpid(), signal.SIGTERM)
                for i in range(5):
                    steps.append(i)
                    if signals.stopping():
                        break
                steps.append("fin du bloc")
        except signals.Terminated as exc:
            print(steps, exc.signum, signals.stopping())
            sys.exit(signals.exit_code(exc))
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert res.returncode == 143, res.stderr
    assert res.stdout.strip() == f"[0, 'fin du bloc'] {int(signal.SIGTERM)} False"


def test_a_signal_while_the_hashing_thread_starts_never_hangs_the_exit(tmp_path):
    """reuse.sha256_later starts its thread inside a held span: a SIGTERM raised between the
    thread's start and its registration by the executor left a thread that the interpreter's exit
    waited for, forever (seen once in test_sigterm_at_any_moment_ends_the_build_cleanly)."""
    script = textwrap.dedent("""
        import os, signal, sys, threading
        from pathlib import Path
        from refere import signals
        from refere.pieces import reuse
        signals.install()
        real = threading.Thread.start
        def start(self):
            real(self)
            os.kill(os.getpid(), signal.SIGTERM)  # the moment the thread runs, not yet registered
        threading.Thread.start = start
        path = Path(sys.argv[1])
        path.write_bytes(b"x" * 100_000)
        try:
            reuse.sha256_later(path)
        except signals.Terminated:
            print("interrompu")
    """)
    res = subprocess.run([sys.executable, "-c", script, str(tmp_path / "f")], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")))
    assert (res.returncode, res.stdout) == (0, "interrompu\n"), res.stderr


def test_a_signal_in_the_main_thread_stops_a_reading_in_another(tmp_path):
    """The web server reads captures in its threads: SIGTERM, raised in the main thread, kills the
    reading's child at once (``stopping()`` turns true for every thread), instead of the exit
    waiting for the reading's own time limit."""
    script = textwrap.dedent("""
        import os, signal, sys, threading, time
        from refere import signals
        from refere import isolee
        signals.install()
        out = []
        def read():
            try:
                isolee.run(time.sleep, 600, seconds=900, stop=signals.stopping)
            except isolee.Stopped as exc:
                out.append(exc.reason)
        worker = threading.Thread(target=read)
        worker.start()
        time.sleep(2)
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(120)
        except signals.Terminated as exc:
            worker.join(60)  # without the stop, the child sleeps on: nothing in ``out``
            print(out)
            sys.exit(signals.exit_code(exc))
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 143, res.stderr
    assert res.stdout.strip() == "['arret']"


def _maps(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/maps", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _forkserver_of(pid: int) -> int | None:
    """The fork server ``pid`` started, once it runs (the child of ``pid`` that says so)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"forkserver" in cmdline:
            return int(entry)
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lit /proc (Linux)")
@pytest.mark.parametrize("moment", ["fork server starting", "readings running"])
def test_ctrl_c_to_the_process_group_prints_no_child_traceback(moment):
    """Ctrl-C reaches the terminal's whole process group: the fork server while it imports the
    readers (before it ignores SIGINT), a reading's child before it does: each printed an English
    ``KeyboardInterrupt`` traceback (seen 4 times in 16 interrupted ``batch`` runs)."""
    script = textwrap.dedent("""
        import os, sys
        from refere import isolee
        try:
            while True:
                isolee.run(os.getpid, seconds=60)
        except KeyboardInterrupt:
            print("interrompu")
            sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while _forkserver_of(proc.pid) is None and time.monotonic() < deadline:
            time.sleep(0.002)
        server = _forkserver_of(proc.pid)
        assert server is not None, "no fork server started"
        # Pillow's library mapped: the server is importing the readers, SIGINT not yet ignored.
        while b"_imaging" not in _maps(server) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert b"_imaging" in _maps(server), "the fork server never imported Pillow"
        if moment == "readings running":
            time.sleep(1.5)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert (proc.returncode, out, err) == (130, "interrompu\n", "")


def _kills_itself(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(30)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_reading_killed_from_outside_is_not_the_files_fault(signum):
    """A child that ended by SIGTERM or SIGHUP was told « memoire », and the readings remembered it as
    the file's failure: after an interrupted `check`, good captures were « non lues » for good (attack 30)."""
    from refere import isolee

    with pytest.raises(isolee.Stopped) as stopped:
        isolee.run(_kills_itself, signum, seconds=30)
    assert stopped.value.reason == "tue"


@pytest.mark.parametrize("moment", [0.6, 1.0, 1.6])
def test_an_interrupted_check_remembers_no_failure(tmp_path, moment):
    """SIGTERM to `refere check` while it reads the captures: nothing it remembers says a capture failed,
    and the next check says what a fresh one says."""
    from conftest import copy_example, require_tool

    require_tool("Tesseract", "tesseract", "REFERE_EXIGER_TESSERACT")
    case = copy_example(tmp_path / "exemple") / "dossier.yaml"
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-m", "refere", "check", str(case)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    time.sleep(moment)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    remembered = [p.read_text("utf-8", "replace") for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert not [t for t in remembered if '"echec"' in t], remembered
