"""`refere build` begins the check of the case's captures before it reads the case (pieces/avance.py):
the same bytes out, and nothing decided by it — a file changed, refused or named otherwise is
checked again the usual way and said in the case's own words; nothing left running."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import default_case, write_case

from refere.build import Options, build
from refere.cli import cli
from refere.errors import EvidenceInsufficient
from refere.pieces import avance, probe


@pytest.fixture(autouse=True)
def _fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    probe._probe.cache_clear()
    yield
    avance.end()
    probe._pending.clear()


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _no_children(grace: float = 5.0) -> bool:
    """No worker left: those of a pool given back (``shutdown(wait=False)``) leave by themselves
    once idle, within a moment."""
    deadline = time.monotonic() + grace
    while multiprocessing.active_children():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _begun() -> dict:
    """Wait for every check ``begin`` started; what each found."""
    return {key: future.result(timeout=60) for key, future in avance._EARLY.items()}


def test_same_bytes_with_the_check_begun_ahead_or_not(tmp_path, monkeypatch):
    case_file = write_case(tmp_path / "affaire", default_case())
    (case_file.parent / "captures" / "sans-rapport.png").write_bytes(b"\x89PNG\r\n\x1a\n pas une image")
    trees = {}
    for jobs in ("1", "3"):  # one process: nothing begun ahead; three: begun, then taken up
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{jobs}"))
        probe._probe.cache_clear()
        out = tmp_path / f"sortie-{jobs}"
        result = CliRunner().invoke(cli, ["build", str(case_file), "-o", str(out), "-j", jobs])
        assert result.exit_code == 0, result.output
        assert "sans-rapport" not in result.output  # a file the case does not name is none of its business
        trees[jobs] = _tree(out)
    assert trees["1"] == trees["3"]
    assert _no_children()


def test_a_capture_changed_after_its_early_check_is_checked_again(tmp_path):
    case_file = write_case(tmp_path / "affaire", default_case())
    avance.begin(case_file, 2, None)
    found = _begun()
    assert len(found) == 12 and all(r is not None for r in found.values())  # ten captures, two pièces
    capture = case_file.parent / "captures" / sorted(os.listdir(case_file.parent / "captures"))[0]
    raw = capture.read_bytes()
    capture.write_bytes(raw[: len(raw) // 2] + bytes(len(raw) - len(raw) // 2))  # cut, same size
    with pytest.raises(EvidenceInsufficient) as refused:
        build(case_file, Options(out=tmp_path / "sortie", jobs=2))
    assert "capture-illisible" in [f.code for f in refused.value.report.findings]
    assert not (tmp_path / "sortie").exists()


def test_a_file_refused_is_said_as_the_case_names_it(tmp_path):
    """Checked ahead as « captures/x.png », named « ./captures//x.png » by the case: the refusal
    gives the case's spelling (the early check decides nothing, the build checks it again)."""
    data = default_case()
    case_file = write_case(tmp_path / "affaire", data)
    first = data["tentatives"][0]["capture"]
    path = case_file.parent / first
    path.write_bytes(path.read_bytes()[:300])  # truncated
    text = case_file.read_text("utf-8").replace(f"capture: {first}", f"capture: ./{first.replace('/', '//')}", 1)
    case_file.write_text(text, "utf-8")
    result = CliRunner().invoke(cli, ["build", str(case_file), "-j", "2"])
    assert result.exit_code == 1, result.output
    assert f"./{first.replace('/', '//')}" in result.output and "Traceback" not in result.output
    assert _no_children()


def test_a_case_refused_before_its_checks_leaves_no_worker_running(tmp_path):
    case_file = write_case(tmp_path / "affaire", default_case())
    case_file.write_text(case_file.read_text("utf-8").replace("version: 1", "version: 1\ninconnu: oui", 1), "utf-8")
    result = CliRunner().invoke(cli, ["build", str(case_file), "-j", "2"])
    assert result.exit_code == 1 and "inconnu" in result.output, result.output
    assert avance._POOL == [] and avance._EARLY == {}
    assert _no_children()
    assert not (case_file.parent / "dossier").exists()


def test_only_files_the_case_names_are_begun(tmp_path):
    """A file lying in captures/ or pieces/ that the case file does not name (an old scan, a huge
    PDF) is never opened ahead: it could only cost the build time."""
    case_file = write_case(tmp_path / "affaire", default_case())
    (case_file.parent / "pieces" / "vieux-scan.pdf").write_bytes(b"%PDF-1.7\n" + b"0" * 1000)
    (case_file.parent / "captures" / "Screenshot_20990101-000000.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    avance.begin(case_file, 2, None)
    begun = {parts[-1] for _, parts in avance._EARLY}
    assert len(begun) == 12 and "vieux-scan.pdf" not in begun and "Screenshot_20990101-000000.png" not in begun


def test_nothing_begun_for_one_process_a_missing_case_or_too_few_files(tmp_path):
    case_file = write_case(tmp_path / "affaire", default_case())
    avance.begin(case_file, 1, None)
    avance.begin(tmp_path / "absent", 2, None)
    empty = tmp_path / "vide"
    (empty / "captures").mkdir(parents=True)
    (empty / "dossier.yaml").write_text("version: 1\n", "utf-8")
    avance.begin(empty, 2, None)
    assert avance._POOL == [] and avance._EARLY == {}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def test_ctrl_c_while_the_early_check_runs_prints_no_traceback(tmp_path):
    """Ctrl-C to the process group while the workers ``begin`` started are checking: a task the
    build had cancelled by hand made the broken pool print a CPython traceback (attack 36, four
    runs in ten). Several times, at the moment the workers are there."""
    import signal
    import subprocess
    import sys

    from test_interruption import _many_captures

    case = _many_captures(tmp_path / "gros")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    for attempt in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "refere", "build", str(case), "--brouillon", "-j", "2",
                                 "-o", str(tmp_path / f"sortie-{attempt}")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True)
        while proc.poll() is None and len(_children(proc.pid)) < 2:
            time.sleep(0.001)
        time.sleep(0.01 * attempt)  # a little later each time: checks under way, then the loading
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        assert "Traceback" not in out and "Exception in thread" not in out and "Error" not in out, out
        assert proc.returncode in (0, 130), out
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
