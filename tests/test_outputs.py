"""Outputs are never lost: locks, staging folders left by killed processes, signals."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import default_case, make_pdf, make_png, write_case
from refere import write


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _big_case(folder, weeks=2):
    """Many full-size captures (one image copied), so that a build lasts long enough to interrupt."""
    data = default_case([f"2025-03-{d:02d} 08:55" for d in range(3, 31)] * weeks)
    path = write_case(folder, data, files=False)
    one = make_png(folder / "captures" / "c00.png")
    for t in data["tentatives"]:
        if not (folder / t["capture"]).exists():
            (folder / t["capture"]).write_bytes(one.read_bytes())
    make_pdf(folder / "pieces" / "passeport.pdf")
    make_pdf(folder / "pieces" / "courriel.pdf")
    return path


def test_second_build_to_same_output_fails_in_french(run, case_path):
    target = case_path.parent / "dossier"
    with write.lock(target):
        res = run("build", case_path)
    assert res.exit_code == 1 and "une autre construction écrit déjà" in res.output
    assert not target.exists()
    assert run("build", case_path).exit_code == 0  # the lock is released, and its file removed
    assert not (case_path.parent / ".dossier.verrou").exists()


def test_stale_staging_of_a_dead_process_is_removed(run, case_path):
    parent = case_path.parent
    dead = parent / f".dossier.tmp-{_dead_pid()}-abc12345"
    (dead / "pieces").mkdir(parents=True)
    (dead / "pieces" / "01_x.pdf").write_bytes(b"%PDF-")
    (dead / write.MARKER).write_bytes(f"refere {dead.name}\n".encode())  # as refere marks its own
    alive = parent / f".dossier.tmp-{os.getppid()}-def45678"
    alive.mkdir()
    (alive / write.MARKER).write_bytes(f"refere {alive.name}\n".encode())
    unrelated = parent / ".dossier.tmp-pas-un-pid"
    unrelated.mkdir()
    assert run("build", case_path).exit_code == 0
    assert not dead.exists()
    assert alive.exists() and unrelated.exists()  # a live process's, or not ours: left alone


def test_failed_build_leaves_no_staging(run, case_path):
    (case_path.parent / "pieces" / "passeport.pdf").write_bytes(b"%PDF-1.4 garbage")
    res = run("build", case_path, "--brouillon")
    assert res.exit_code == 1
    assert [p.name for p in case_path.parent.iterdir() if p.name.startswith(".")] == []


def test_force_replaces_only_a_previous_refere_output(run, case_path, tmp_path):
    out = tmp_path / "sortie"
    assert run("build", case_path, "-o", out).exit_code == 0
    assert run("build", case_path, "-o", out, "--force").exit_code == 0
    other = tmp_path / "documents"
    other.mkdir()
    (other / "important.odt").write_text("x")
    res = run("build", case_path, "-o", other, "--force")
    assert res.exit_code == 1 and "n'a pas été construit par refere" in res.output
    assert (other / "important.odt").read_text() == "x"


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_signal_mid_build_exits_cleanly_and_removes_staging(tmp_path, sig, code):
    case = _big_case(tmp_path / "gros", 3)
    parent = case.parent
    proc = subprocess.Popen([sys.executable, "-m", "refere", "build", str(case), "-j", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.name.startswith(".dossier.tmp-") for p in parent.iterdir()):
        time.sleep(0.002)
    if proc.poll() is not None:
        pytest.skip("the build ended before the signal could be sent")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Interrompu" in err and "Traceback" not in err
    assert sorted(p.name for p in parent.iterdir()) == ["captures", "dossier.yaml", "pieces"]


def test_sigterm_stops_a_batch_and_its_workers(tmp_path):
    root = tmp_path / "permanence"
    for i in range(4):
        _big_case(root / f"c{i}")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "refere", "batch", str(root), "-o", str(out), "-j", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.is_dir() and any(".tmp-" in p.name for p in out.iterdir())):
        time.sleep(0.002)
    if proc.poll() is not None:
        pytest.skip("the batch ended before the signal could be sent")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    time.sleep(1)  # a worker still running would go on writing
    left = sorted(p.name for p in out.iterdir())
    assert not [n for n in left if n.startswith(".")], left
    time.sleep(1)
    assert sorted(p.name for p in out.iterdir()) == left
    # The report lists every case, the unfinished ones as « interrompu ».
    import csv

    with open(out / "rapport.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert sorted(r["dossier"] for r in rows) == ["c0", "c1", "c2", "c3"]
    assert "interrompu" in {r["statut"] for r in rows}


def _case_made_in(out):
    """A case made inside an output by hand (or by an older refere's init): its file and a capture."""
    (out / "nouvelle" / "captures").mkdir(parents=True)
    (out / "nouvelle" / "dossier.yaml").write_text("version: 1\n# Mme KONATÉ, en cours\n", "utf-8")
    make_png(out / "nouvelle" / "captures" / "Screenshot_20250901-085227.png")
    return out / "nouvelle" / "dossier.yaml"


HOLDS_A_CASE = ("le dossier de sortie « {out} » contient une affaire ({case}) : ce n'est plus seulement un dossier "
                "construit par refere, il ne sera pas remplacé ; déplacez l'affaire, ou choisissez un autre dossier "
                "avec -o")


def test_a_case_made_in_an_output_is_never_replaced(run, case_path):
    """Attack 26, F4: « init » into a build's output, then « build --force », deleted the new case."""
    from conftest import snapshot

    out = case_path.parent / "dossier"
    assert run("build", case_path).exit_code == 0
    for interactive in ((), ("--interactif",)):  # refused before the first question
        res = run("init", out, *interactive)
        assert res.exit_code == 1, res.output
        assert res.output == (f"« {out} » est un dossier construit par refere (il contient inventaire.json), remplacé "
                              "à chaque construction : créez l'affaire ailleurs ; rien n'a été modifié\n")
    res = run("init", out / "pieces" / "nouvelle")
    assert res.exit_code == 1, res.output
    assert res.output == (f"« {out / 'pieces' / 'nouvelle'} » est dans « {out.resolve()} », qui est un dossier construit "
                          "par refere (il contient inventaire.json), remplacé à chaque construction : créez l'affaire "
                          "ailleurs ; rien n'a été modifié\n")
    assert not (out / "pieces" / "nouvelle").exists() and not (out / "dossier.yaml").exists()
    case = _case_made_in(out)
    before = snapshot(out)
    for force in ((), ("--force",)):
        res = run("build", case_path, *force)
        assert res.exit_code == 1, res.output
        assert res.output == HOLDS_A_CASE.format(out=out, case=case) + "\n"
        assert snapshot(out) == before
        assert [p.name for p in case_path.parent.iterdir() if p.name.startswith(".")] == []


def test_batch_never_replaces_an_output_that_holds_a_case(run, tmp_path):
    import csv

    from conftest import snapshot

    desk, sortie = tmp_path / "permanence", tmp_path / "sortie"
    write_case(desk / "diallo", default_case())
    assert run("batch", desk, "-o", sortie, "-j", "1").exit_code == 0
    case = _case_made_in(sortie / "diallo")
    before = snapshot(sortie / "diallo")
    res = run("batch", desk, "-o", sortie, "-j", "1", "--force")
    assert res.exit_code == 1, res.output
    with open(sortie / "rapport.csv", encoding="utf-8-sig", newline="") as fh:
        row = next(csv.DictReader(fh, delimiter=";"))
    assert row["statut"] == "échec"
    assert row["erreur"] == HOLDS_A_CASE.format(out=sortie / "diallo", case=case)
    assert snapshot(sortie / "diallo") == before
