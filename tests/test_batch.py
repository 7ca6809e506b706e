import csv
import shutil

import pytest

from conftest import default_case, make_pdf, make_png, snapshot, write_case
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
    assert "un crochet « [ », une accolade « { » ou un guillemet ouvert plus haut n'a pas été fermé" in rows["yaml-casse"]["erreur"]
    # « erreur » before the long warnings; each warning in words, its code in its own column.
    header = (out / "rapport.csv").read_text("utf-8-sig").splitlines()[0].split(";")
    assert header == ["dossier", "statut", "pieces", "pages", "bloquants", "erreur", "codes_avertissements",
                      "avertissements"]
    warned = [r for r in rows.values() if r["codes_avertissements"]]
    assert warned
    for r in warned:
        texts = r["avertissements"].split("\n")  # one warning per line inside the cell
        assert " | " not in r["avertissements"]
        assert len(texts) >= len(r["codes_avertissements"].split()) and all(len(t) > 30 for t in texts)
        assert not any(code in r["avertissements"] for code in r["codes_avertissements"].split())
    assert "absente.png" in rows["fichier-manquant"]["erreur"]
    assert "mot de passe" in rows["pdf-protege"]["erreur"]
    # Codes in their columns, not the whole text; the suggestion names a batch option.
    assert "semaines-insuffisantes" in rows["une-semaine"]["bloquants"].split()
    assert "--brouillon" in rows["une-semaine"]["erreur"] and "Conseil d'État" not in rows["une-semaine"]["erreur"]
    assert rows["bon-3"]["bloquants"] == ""
    for bad in ("yaml-casse", "fichier-manquant", "pdf-protege", "une-semaine"):
        assert rows[bad]["statut"] == "échec"
        # No pièce, no page: blank, never « 0 »; every failure has its code to filter the sheet by.
        assert rows[bad]["pieces"] == rows[bad]["pages"] == "" and rows[bad]["bloquants"]
        assert not (out / bad).exists()
        assert f"ÉCHEC {bad} :" in res.output
    assert "3 affaires construites, 0 à jour, 4 en échec" in res.output
    # Every option a failure suggests is one batch has (or the root's --debug).
    import re

    from refere.cli import cli

    options = {o for p in cli.commands["batch"].params for o in getattr(p, "opts", [])} | {"--debug"}
    for r in rows.values():
        assert set(re.findall(r"--[a-z]+", r["erreur"])) <= options, r["erreur"]
    assert "Traceback" not in res.output


def test_outputs_identical_with_one_or_two_workers(run, desk, tmp_path):
    run("batch", desk, "-o", tmp_path / "a", "-j", "2")
    run("batch", desk, "-o", tmp_path / "b", "-j", "1")
    assert (tmp_path / "a" / "rapport.csv").read_bytes() == (tmp_path / "b" / "rapport.csv").read_bytes()
    # Every file of every case, byte for byte.
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert len(a) > 3 and sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []


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
    assert rows["bon-2"]["statut"] == "échec" and "erreur interne" in rows["bon-2"]["erreur"]
    assert rows["bon-1"]["statut"] == rows["bon-3"]["statut"] == "ok"
    assert res.exit_code == 1


def test_all_good_exits_0_and_names_are_unique(run, tmp_path, example):
    a = write_case(tmp_path / "x" / "affaire", default_case())
    b = write_case(tmp_path / "y" / "affaire", default_case())
    res = run("batch", a, b, example, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    # Same folder name in two places: named by their paths, never « affaire-2 ».
    assert sorted(r["dossier"] for r in read_report(tmp_path / "out" / "rapport.csv")) == ["exemple-94", "x/affaire", "y/affaire"]
    assert (tmp_path / "out" / "x" / "affaire" / "requete.docx").is_file()
    assert (tmp_path / "out" / "y" / "affaire" / "requete.docx").is_file()


def test_missing_argument_path_is_a_failed_case(run, tmp_path, example):
    res = run("batch", example, tmp_path / "nulle-part", "-o", tmp_path / "out")
    assert res.exit_code == 1
    rows = {r["dossier"]: r for r in read_report(tmp_path / "out" / "rapport.csv")}
    assert rows["nulle-part"]["statut"] == "échec" and "introuvable" in rows["nulle-part"]["erreur"]
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


# --- a real evening at the desk -------------------------------------------------------------

def _mtimes(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_rerun_rebuilds_only_the_fixed_case(run, tmp_path):
    """15 cases; one is fixed; the re-run rebuilds that one, leaves 14 « à jour », lists all 15."""
    root = tmp_path / "permanence"
    for i in range(14):
        write_case(root / f"affaire-{i:02d}", default_case())
    write_case(root / "a-corriger", default_case(["2025-03-03 08:55", "2025-03-04 00:05"]))
    out = tmp_path / "construits"
    first = run("batch", root, "-o", out, "-j", "2")
    assert first.exit_code == 1
    rows = {r["dossier"]: r for r in read_report(out / "rapport.csv")}
    assert len(rows) == 15 and rows["a-corriger"]["statut"] == "échec"
    before = _mtimes(out / "affaire-00")
    # The volunteer adds the missing attempts and runs the same command again.
    write_case(root / "a-corriger", default_case())
    second = run("batch", root, "-o", out, "-j", "2")
    assert second.exit_code == 0, second.output
    rows = {r["dossier"]: r for r in read_report(out / "rapport.csv")}
    assert len(rows) == 15
    assert rows["a-corriger"]["statut"] == "ok"
    assert [n for n, r in rows.items() if r["statut"] == "à jour"] == sorted(f"affaire-{i:02d}" for i in range(14))
    assert all(int(r["pieces"]) > 0 and int(r["pages"]) > 0 for r in rows.values())
    assert rows["affaire-00"]["pages"] == rows["a-corriger"]["pages"]
    assert "1 affaire construite, 14 à jour, 0 en échec" in second.output
    assert _mtimes(out / "affaire-00") == before  # left as built
    # A changed capture is a changed case; --force rebuilds everything.
    make_png(root / "affaire-03" / "captures" / "c00.png", size=(270, 600), text="autre")
    third = run("batch", root, "-o", out, "-j", "1")
    rows = {r["dossier"]: r for r in read_report(out / "rapport.csv")}
    assert rows["affaire-03"]["statut"] == "ok" and rows["affaire-04"]["statut"] == "à jour"
    assert "[4/15]" in third.output or "[15/15]" in third.output
    fourth = run("batch", root, "-o", out, "-j", "2", "--force")
    assert fourth.exit_code == 0
    assert {r["statut"] for r in read_report(out / "rapport.csv")} == {"ok"}


def test_options_change_makes_a_case_stale(run, tmp_path):
    case = write_case(tmp_path / "p" / "a", default_case())
    out = tmp_path / "out"
    assert run("batch", case.parent.parent, "-o", out).exit_code == 0
    run("batch", case.parent.parent, "-o", out)
    assert read_report(out / "rapport.csv")[0]["statut"] == "à jour"
    # --brouillon leaves a case that can be filed as it is: final, « à jour ».
    res = run("batch", case.parent.parent, "-o", out, "--brouillon")
    assert read_report(out / "rapport.csv")[0]["statut"] == "à jour", res.output
    res = run("batch", case.parent.parent, "-o", out, "--compresser")
    assert read_report(out / "rapport.csv")[0]["statut"] == "ok", res.output


def test_batch_with_custom_template_and_draft(run, tmp_path):
    from docx import Document

    from conftest import ROOT

    tpl = tmp_path / "cabinet.docx"
    doc = Document(str(ROOT / "templates" / "requete-refere-mesures-utiles.docx"))
    doc.paragraphs[0].insert_paragraph_before("CABINET MARTIN — AVOCATS")
    doc.save(str(tpl))
    root = tmp_path / "permanence"
    write_case(root / "complet", default_case())
    write_case(root / "une-semaine", default_case(["2025-03-03 08:55", "2025-03-04 00:05"]))
    out = tmp_path / "out"
    res = run("batch", root, "-o", out, "--modele", tpl, "--brouillon")
    assert res.exit_code == 0, res.output
    texts = {}
    for name in ("complet", "une-semaine"):
        texts[name] = "\n".join(p.text for p in Document(str(out / name / "requete.docx")).paragraphs)
        assert "CABINET MARTIN" in texts[name]
    # Only the case short of evidence is a PROJET; the complete one stays a requête to file.
    import json
    drafts = {n: json.loads((out / n / "inventaire.json").read_text("utf-8"))["brouillon"] for n in texts}
    assert drafts == {"complet": False, "une-semaine": True}
    rows = {r["dossier"]: r for r in read_report(out / "rapport.csv")}
    assert rows["une-semaine"]["statut"] == "projet" and "semaines-insuffisantes" in rows["une-semaine"]["bloquants"]
    assert rows["complet"]["statut"] == "ok"
    assert "1 PROJET (preuves insuffisantes)" in res.output and "PROJET seulement, à ne pas déposer : une-semaine" in res.output
    # A changed template is a changed build.
    doc.paragraphs[0].insert_paragraph_before("Toque P 123")
    doc.save(str(tpl))
    run("batch", root, "-o", out, "--modele", tpl, "--brouillon")
    assert {r["dossier"]: r["statut"] for r in read_report(out / "rapport.csv")} == {"complet": "ok", "une-semaine": "projet"}


def test_missing_template_fails_once_before_any_case(run, tmp_path):
    root = tmp_path / "permanence"
    write_case(root / "a", default_case())
    res = run("batch", root, "-o", tmp_path / "out", "--modele", tmp_path / "absent.docx")
    assert res.exit_code == 1 and "introuvable" in res.output and not (tmp_path / "out").exists()


# --- outputs are never lost ----------------------------------------------------------------

def test_batch_dot_inside_a_case_folder_names_it_and_refuses_to_write_inside(run, tmp_path, monkeypatch):
    case = write_case(tmp_path / "diallo", default_case())
    monkeypatch.chdir(case.parent)
    res = run("batch", ".", "-o", "construits")
    assert res.exit_code == 1 and "dans le dossier d'une affaire" in res.output
    assert not (case.parent / "construits").exists()
    res = run("batch", ".", "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert [r["dossier"] for r in read_report(tmp_path / "out" / "rapport.csv")] == ["diallo"]
    assert (tmp_path / "out" / "diallo" / "requete.docx").is_file()


@pytest.mark.parametrize("where", ["same", "inside-case", "contains-input"])
def test_output_overlapping_inputs_is_refused(run, tmp_path, where):
    root = tmp_path / "permanence"
    case = write_case(root / "a", default_case())
    out = {"same": root, "inside-case": case.parent / "sortie", "contains-input": tmp_path}[where]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    res = run("batch", root, "-o", out)
    assert res.exit_code == 1 and "choisissez un dossier de sortie à part" in res.output, res.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("inside", ["", "sortie-a"])
def test_output_in_another_persons_case_folder_is_refused(run, tmp_path, inside):
    """-o in the folder of a case that is not built: A's filings and rapport would land in B's case."""
    a = write_case(tmp_path / "q" / "a", default_case())
    b = write_case(tmp_path / "q" / "b", default_case())
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    res = run("batch", a.parent, "-o", b.parent / inside)
    assert res.exit_code == 1, res.output
    assert f"est dans le dossier d'une autre affaire (« {b.parent} »)" in res.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_batch_never_replaces_a_folder_refere_did_not_build(run, tmp_path):
    root = tmp_path / "permanence"
    write_case(root / "a", default_case())
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / "notes.txt").write_text("à garder")
    for extra in ((), ("--force",)):
        res = run("batch", root, "-o", out, *extra)
        assert res.exit_code == 1
        assert (out / "a" / "notes.txt").read_text() == "à garder"
        assert "n'a pas été construit par refere" in read_report(out / "rapport.csv")[0]["erreur"]


def test_case_inside_another_case_is_reported_not_renamed(tmp_path):
    write_case(tmp_path / "a", default_case())
    write_case(tmp_path / "a" / "b", default_case())
    jobs = {j.name: j for j in batch_mod.find_jobs([tmp_path])}
    assert jobs["a"].case_file is not None
    assert jobs["a/b"].case_file is None and "autre affaire" in jobs["a/b"].problem


def test_names_are_relative_paths(tmp_path):
    write_case(tmp_path / "lundi" / "diallo", default_case())
    write_case(tmp_path / "mardi" / "diallo", default_case())
    assert [j.name for j in batch_mod.find_jobs([tmp_path])] == ["lundi/diallo", "mardi/diallo"]
    assert [j.name for j in batch_mod.find_jobs([tmp_path / "lundi"])] == ["diallo"]


def test_workers_take_the_longest_cases_first(tmp_path):
    """With -j N the case with the most attempts goes first (a batch must not end on it alone);
    cases of the same length, and a case without a file, keep their order."""
    many = [f"2025-03-{d:02d} 0{h}:00" for d in range(3, 28) for h in (8, 9)]
    write_case(tmp_path / "a-court", default_case())
    write_case(tmp_path / "b-long", default_case(many), files=False)
    write_case(tmp_path / "c-court", default_case())
    jobs = batch_mod.find_jobs([tmp_path, tmp_path / "absent"])
    assert [j.name for j in batch_mod.heaviest_first(jobs)] == ["b-long", "a-court", "c-court", "absent"]


def test_another_persons_output_is_never_replaced(run, tmp_path):
    """Two evenings' folders with the same case name, built into one output: refused, not replaced."""
    write_case(tmp_path / "lundi" / "diallo", default_case())
    other = default_case()
    other["requerant"]["nom"] = "Diallo-Barry"
    write_case(tmp_path / "mardi" / "diallo", other)
    out = tmp_path / "construits"
    assert run("batch", tmp_path / "lundi", "-o", out).exit_code == 0
    before = (out / "diallo" / "requete.docx").read_bytes()
    for extra in ((), ("--force",)):
        res = run("batch", tmp_path / "mardi", "-o", out, *extra)
        assert res.exit_code == 1
        assert "une autre personne" in read_report(out / "rapport.csv")[0]["erreur"]
        assert (out / "diallo" / "requete.docx").read_bytes() == before
    # The same person, case edited: rebuilt in place.
    fixed = default_case()
    fixed["urgence"] = ["Mon employeur attend le récépissé."]
    write_case(tmp_path / "lundi" / "diallo", fixed)
    assert run("batch", tmp_path / "lundi", "-o", out).exit_code == 0
    assert read_report(out / "rapport.csv")[0]["statut"] == "ok"


def test_nested_same_name_never_named_dot(tmp_path):
    outer = write_case(tmp_path / "diallo", default_case())
    inner = write_case(tmp_path / "diallo" / "copie" / "diallo", default_case())
    names = [j.name for j in batch_mod.find_jobs([outer, inner])]
    assert names == ["diallo", "diallo/copie/diallo"]
    assert all(n and n not in (".", "..") for n in names)


def test_failures_read_in_words_with_paths_untouched(run, tmp_path):
    """A dated desk folder keeps its name in messages; no « | » joins an error; blocking codes in words."""
    root = tmp_path / "permanence-2026-12-05"
    data = default_case()
    data["tentatives"][2]["capture"] = "captures/absente.png"
    write_case(root / "traore-m", data, files=False)
    for i in (0, 1, 3, 4, 5, 6, 7, 8, 9):
        make_png(root / "traore-m" / "captures" / f"c{i:02d}.png", size=(270, 600))
    make_pdf(root / "traore-m" / "pieces" / "passeport.pdf")
    make_pdf(root / "traore-m" / "pieces" / "courriel.pdf")
    write_case(root / "une-semaine", default_case(["2025-03-03 08:55", "2025-03-04 00:05"]))
    res = run("batch", root, "-o", tmp_path / "construits")
    assert res.exit_code == 1
    assert "permanence-2026-12-05/traore-m)" in res.output and "5 décembre" not in res.output
    assert "Le dossier comporte une erreur : dossier.yaml:" in res.output
    assert "|" not in res.output
    assert "ÉCHEC une-semaine : preuves insuffisantes (tentatives toutes dans la même semaine)" in res.output
    rows = {r["dossier"]: r for r in read_report(tmp_path / "construits" / "rapport.csv")}
    assert "|" not in rows["traore-m"]["erreur"] and "permanence-2026-12-05/traore-m" in rows["traore-m"]["erreur"]
    assert rows["une-semaine"]["bloquants"] == "semaines-insuffisantes"
    overview = run("check", root)
    assert "permanence-2026-12-05/traore-m)" in overview.output and "|" not in overview.output
    line = next(x for x in overview.output.splitlines() if x.startswith("une-semaine :"))
    assert "bloquant : tentatives toutes dans la même semaine ; à renforcer : moins de 10 tentatives," in line
    assert "semaines-insuffisantes" not in line and "moins-de-10" not in line


def test_every_documented_code_has_short_words():
    import re
    from pathlib import Path

    from refere.preuves.findings import SHORT_WORDS

    doc = (Path(__file__).parent.parent / "docs" / "erreurs.md").read_text("utf-8")
    codes = set(re.findall(r"^\| `([a-z0-9-]+)`", doc, re.M))
    assert {"semaines-insuffisantes", "piece-autre-nom", "adresse-capture-discordante"} <= codes
    assert codes <= set(SHORT_WORDS)


def test_case_dated_today_is_rebuilt_on_a_later_day(run, tmp_path, monkeypatch):
    """Without signature.date the requête is dated and reasoned on the day it is built: a later
    run builds it again (« expire » becomes « a expiré »); the same day it stays « à jour »."""
    from docx import Document

    data = default_case()
    del data["signature"]["date"]
    write_case(tmp_path / "p" / "a", data)
    out = tmp_path / "out"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1743501600")  # 2025-04-01 12:00 Paris
    assert "1 affaire construite, 0 à jour" in run("batch", tmp_path / "p", "-o", out).output
    assert "1 affaire construite" not in run("batch", tmp_path / "p", "-o", out).output
    assert read_report(out / "rapport.csv")[0]["statut"] == "à jour"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1749988800")  # 2025-06-15 14:00 Paris
    res = run("batch", tmp_path / "p", "-o", out)
    assert "1 affaire construite, 0 à jour" in res.output, res.output
    assert read_report(out / "rapport.csv")[0]["statut"] == "ok"
    text = "\n".join(p.text for p in Document(str(out / "a" / "requete.docx")).paragraphs)
    assert "le 15 juin 2025." in text and "1er avril 2025" not in text
