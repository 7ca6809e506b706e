import csv
import shutil

import pytest

from conftest import default_case, make_pdf, write_case
from refere import batch as batch_mod


def read_report(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


@pytest.fixture
def desk(tmp_path, example):
    """A weekly desk: good cases and every kind of broken one."""
    root = tmp_path / "permanence"
    for name in ("bon-1", "bon-2"):
        shutil.copytree(example.parent, root / name, ignore=shutil.ignore_patterns("dossier"))
    write_case(root / "bon-3", default_case())
    write_case(root / "yaml-casse", "version: 1\nrequerant: [\n")
    data = default_case()
    data["tentatives"][0]["capture"] = "captures/absente.png"
    write_case(root / "fichier-manquant", data, files=False)
    write_case(root / "pdf-protege", default_case())
    make_pdf(root / "pdf-protege" / "pieces" / "passeport.pdf", encrypt=("a", "secret"))
    write_case(root / "une-semaine", default_case(["2025-03-03 08:55", "2025-03-04 00:05"]))
    return root


def test_batch_builds_good_cases_reports_broken_ones(run, desk, tmp_path):
    out = tmp_path / "sortie"
    res = run("batch", desk, "-o", out, "-j", "2")
    assert res.exit_code == 1
    rows = {r["dossier"]: r for r in read_report(out / "rapport.csv")}
    assert set(rows) == {"bon-1", "bon-2", "bon-3", "yaml-casse", "fichier-manquant", "pdf-protege", "une-semaine"}
    for good in ("bon-1", "bon-2", "bon-3"):
        assert rows[good]["statut"] == "ok" and int(rows[good]["pieces"]) > 0 and int(rows[good]["pages"]) > 0
        assert (out / good / "requete.docx").exists()
    assert "syntaxe YAML" in rows["yaml-casse"]["erreur"]
    assert "absente.png" in rows["fichier-manquant"]["erreur"]
    assert "mot de passe" in rows["pdf-protege"]["erreur"]
    assert "semaines-insuffisantes" in rows["une-semaine"]["erreur"]
    for bad in ("yaml-casse", "fichier-manquant", "pdf-protege", "une-semaine"):
        assert rows[bad]["statut"] == "echec"
        assert not (out / bad).exists()
        assert f"ÉCHEC {bad} :" in res.output
    assert "3 affaire(s) construite(s), 4 en échec" in res.output
    assert "Traceback" not in res.output


def test_report_identical_from_run_to_run(run, desk, tmp_path):
    run("batch", desk, "-o", tmp_path / "a", "-j", "2")
    run("batch", desk, "-o", tmp_path / "b", "-j", "1")
    assert (tmp_path / "a" / "rapport.csv").read_bytes() == (tmp_path / "b" / "rapport.csv").read_bytes()


def test_unexpected_crash_in_one_case_does_not_stop_the_others(run, desk, tmp_path, monkeypatch):
    import refere.build

    real = refere.build.build

    def flaky(case_file, options):
        if "bon-2" in str(case_file):
            raise ZeroDivisionError("boom")
        return real(case_file, options)

    monkeypatch.setattr(refere.build, "build", flaky)
    res = run("batch", desk, "-o", tmp_path / "out", "-j", "1")
    rows = {r["dossier"]: r for r in read_report(tmp_path / "out" / "rapport.csv")}
    assert rows["bon-2"]["statut"] == "echec" and "erreur interne" in rows["bon-2"]["erreur"]
    assert rows["bon-1"]["statut"] == rows["bon-3"]["statut"] == "ok"
    assert res.exit_code == 1


def test_all_good_exits_0_and_names_are_unique(run, tmp_path, example):
    a = write_case(tmp_path / "x" / "affaire", default_case())
    b = write_case(tmp_path / "y" / "affaire", default_case())
    res = run("batch", a, b, example, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert sorted(r["dossier"] for r in read_report(tmp_path / "out" / "rapport.csv")) == ["affaire", "affaire-2", "exemple-94"]


def test_missing_argument_path_is_a_failed_case(run, tmp_path, example):
    res = run("batch", example, tmp_path / "nulle-part", "-o", tmp_path / "out")
    assert res.exit_code == 1
    rows = {r["dossier"]: r for r in read_report(tmp_path / "out" / "rapport.csv")}
    assert rows["nulle-part"]["statut"] == "echec" and "introuvable" in rows["nulle-part"]["erreur"]
    assert rows["exemple-94"]["statut"] == "ok"


def test_progress_shows_only_case_names(run, desk, tmp_path):
    res = run("batch", desk, "-o", tmp_path / "out", "-j", "1")
    progress = [line for line in res.output.splitlines() if line.startswith("[")]
    assert len(progress) == 7
    for line in progress:
        assert "Diallo" not in line and "BENALI" not in line


def test_find_jobs_skips_hidden_and_output_free(tmp_path):
    write_case(tmp_path / "a", default_case())
    write_case(tmp_path / ".cache" / "b", default_case())
    jobs = batch_mod.find_jobs([tmp_path])
    assert [j.name for j in jobs] == ["a"]
