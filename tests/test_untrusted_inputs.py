"""A case folder and the folders around an output are untrusted (issue 26, items 4, 6 and 7):
refere removes only its own staging folders, refuses YAML tags, keeps its batch names, tells a
file filed twice, refuses docxtpl's rich-text tags and explains a Mac (NFD) file name."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import unicodedata

import pytest
from docx import Document

from conftest import default_case, write_case
from refere import write
from refere.affaire.loader import load
from refere.errors import CaseInvalid
from refere.preuves.rules import check


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _tree(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


# --- 26.4: refere deletes only what it created ----------------------------------------------------

def _look_alikes(parent, dead):
    """User folders beside the output whose names look like refere's staging folders."""
    made = []
    for name in (".photos.old-2024-vacances", ".sortie.old-2024-vacances", f".sortie.tmp-{dead}-abcd1234",
                 f".sortie.old-{dead}-0123abcd", f".autre.tmp-{dead}-abcd1234"):
        (parent / name / "sous").mkdir(parents=True)
        (parent / name / "sous" / "souvenir.txt").write_text("à garder", "utf-8")
        made.append(parent / name)
    return made


@pytest.mark.parametrize("force", [False, True])
def test_build_never_removes_user_folders_that_look_like_staging(run, case_path, tmp_path, force):
    parent = tmp_path / "rendu"
    parent.mkdir()
    made = _look_alikes(parent, _dead_pid())
    before = _tree(parent)
    args = ["build", case_path, "-o", parent / "sortie"] + (["--force"] if force else [])
    res = run(*args)
    assert res.exit_code == 0, res.output
    assert all(p.is_dir() for p in made)
    assert {k: v for k, v in _tree(parent).items() if not k.startswith("sortie")} == before


def test_refere_own_stale_staging_is_removed(run, case_path, tmp_path):
    parent = tmp_path / "rendu"
    target = parent / "sortie"
    parent.mkdir()
    dead = _dead_pid()
    # Left by a killed build: named after the target, with its marker.
    ours = parent / f".sortie.tmp-{dead}-abcd1234"
    ours.mkdir()
    (ours / write.MARKER).write_bytes(f"refere {ours.name}\n".encode())
    (ours / "requete.docx").write_bytes(b"x")
    # Killed between its mkdir and its marker: empty, removed too.
    empty = parent / f".sortie.old-{dead}-0000ffff"
    empty.mkdir()
    # A marker copied from another folder does not name this one: left alone.
    copied = parent / f".sortie.tmp-{dead}-ffff0000"
    copied.mkdir()
    (copied / write.MARKER).write_bytes(f"refere {ours.name}\n".encode())
    assert run("build", case_path, "-o", target).exit_code == 0
    assert not ours.exists() and not empty.exists()
    assert copied.is_dir() and (copied / write.MARKER).exists()
    assert not (target / write.MARKER).exists()  # the output holds only what the build wrote


def test_staging_look_alike_with_a_huge_pid_is_left_alone(run, case_path, tmp_path):
    parent = tmp_path / "rendu"
    huge = parent / ".sortie.tmp-99999999999999999999-abcd1234"
    huge.mkdir(parents=True)
    res = run("build", case_path, "-o", parent / "sortie")
    assert res.exit_code == 0, res.output
    assert huge.is_dir()


@pytest.mark.parametrize("kind", ["lien", "lien-casse", "dossier", "fichier-plein"])
def test_planted_lock_is_named_in_french_and_kept(run, case_path, tmp_path, kind):
    parent = tmp_path / "rendu"
    parent.mkdir()
    lock = parent / ".sortie.verrou"
    if kind == "lien":
        (parent / "vrai.txt").write_text("contenu", "utf-8")
        lock.symlink_to(parent / "vrai.txt")
    elif kind == "lien-casse":
        lock.symlink_to(parent / "absent")
    elif kind == "dossier":
        lock.mkdir()
    else:
        lock.write_text("mes notes", "utf-8")
    res = run("build", case_path, "-o", parent / "sortie")
    assert res.exit_code == 1
    assert f"« {lock} »" in res.output and "pas le verrou de refere" in res.output
    assert "erreur système" not in res.output and "Erreur interne" not in res.output
    assert lock.is_symlink() or lock.exists()
    if kind == "fichier-plein":
        assert lock.read_text("utf-8") == "mes notes"
    if kind == "lien":
        assert (parent / "vrai.txt").read_text("utf-8") == "contenu"
    assert not (parent / "sortie").exists()


# --- 26.6: explicit YAML tags -----------------------------------------------------------------------

def _case_with(tmp_path, value: str):
    text = write_case(tmp_path / "affaire", default_case()).read_text("utf-8")
    assert "  nom: Diallo\n" in text
    path = tmp_path / "affaire" / "dossier.yaml"
    path.write_text(text.replace("  nom: Diallo\n", f"  nom: {value}\n"), "utf-8")
    return path, text[: text.index("  nom: Diallo\n")].count("\n") + 1


@pytest.mark.parametrize("value, shown", [
    ("!!timestamp 2025-02-30", "!!timestamp"),
    ("!!int " + "7" * 5000, "!!int"),
    ("!!binary aGVsbG8=", "!!binary"),
    ("!!float 1e400", "!!float"),
    ("!!bool yes", "!!bool"),
    ("!!set {a, b}", "!!set"),
    ("!!omap [a: 1]", "!!omap"),
    ("!<tag:yaml.org,2002:int> 12", "!!int"),
    ("!locale bonjour", "!locale"),
    ("!!python/name:os.system x", "!!python/name:os.system"),
    ("!!str {a: 1}", "!!str"),
])
def test_explicit_yaml_tags_refused_in_french_with_line(tmp_path, value, shown):
    path, line = _case_with(tmp_path, value)
    with pytest.raises(CaseInvalid) as err:
        load(path)
    text = str(err.value)
    assert f"dossier.yaml:{line}" in text and f"« {shown} »" in text and "étiquette YAML" in text, text


def test_explicit_tag_on_a_key_refused(tmp_path):
    path, line = _case_with(tmp_path, "Diallo\n  !!binary bm9t: x")
    with pytest.raises(CaseInvalid) as err:
        load(path)
    assert f"dossier.yaml:{line + 1}" in str(err.value) and "« !!binary »" in str(err.value)


@pytest.mark.parametrize("value", ["!!str 0612", "!!null ~", "! Diallo"])
def test_str_and_null_tags_still_accepted(tmp_path, value):
    path, _ = _case_with(tmp_path, value)
    if value.startswith("!!null"):
        with pytest.raises(CaseInvalid) as err:
            load(path)
        assert "étiquette" not in str(err.value)  # refused as a missing name, not for its tag
    else:
        assert load(path).requerant.nom == value.split(" ", 1)[1]


def test_cli_check_on_a_tag_speaks_french(run, tmp_path):
    path, line = _case_with(tmp_path, "!!timestamp 2025-02-30")
    res = run("check", path)
    assert res.exit_code == 1 and f"dossier.yaml:{line}" in res.output and "« !!timestamp »" in res.output
    assert "Erreur interne" not in res.output


# --- 26.7: batch names, pièces filed twice, rich-text tags, Unicode forms ---------------------------

def _report(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {r["dossier"]: r for r in csv.DictReader(fh, delimiter=";")}


@pytest.mark.parametrize("name", ["rapport.csv", "Rapport.CSV"])
def test_case_folder_named_like_the_report_is_a_failed_row(run, tmp_path, name):
    root = tmp_path / "permanence"
    write_case(root / name, default_case())
    write_case(root / "bon", default_case())
    out = tmp_path / "construits"
    res = run("batch", root, "-o", out, "-j", "1")
    assert res.exit_code == 1 and "Erreur interne" not in res.output
    rows = _report(out / "rapport.csv")
    assert rows["bon"]["statut"] == "ok"
    assert rows[name]["statut"] == "échec" and "nom réservé" in rows[name]["erreur"]
    assert (out / "rapport.csv").is_file() and not (out / name.lower()).is_dir()


def test_report_path_taken_by_a_folder_is_refused_before_any_case(run, tmp_path):
    root = tmp_path / "permanence"
    write_case(root / "bon", default_case())
    out = tmp_path / "construits"
    (out / "rapport.csv").mkdir(parents=True)
    res = run("batch", root, "-o", out, "-j", "1")
    assert res.exit_code == 1 and f"« {out / 'rapport.csv'} »" in res.output
    assert "Erreur interne" not in res.output
    assert not (out / "bon").exists()


def test_same_file_filed_as_three_pieces_is_warned(tmp_path):
    data = default_case()
    data["pieces"].append({"titre": "Titre de séjour", "categorie": "titre_sejour", "fichier": "pieces/titre.pdf"})
    folder = tmp_path / "affaire"
    write_case(folder, data)
    shutil.copy(folder / "pieces/passeport.pdf", folder / "pieces/courriel.pdf")
    shutil.copy(folder / "pieces/passeport.pdf", folder / "pieces/titre.pdf")
    found = [f for f in check(load(folder / "dossier.yaml")).findings if f.code == "piece-en-double"]
    assert len(found) == 2
    assert "« Passeport »" in found[0].message and "« Courriel à la préfecture du 12 mars 2025 »" in found[0].message
    assert "« Passeport »" in found[1].message and "« Titre de séjour »" in found[1].message


def test_distinct_pieces_give_no_double_warning(tmp_path):
    folder = tmp_path / "affaire"
    write_case(folder, default_case())
    assert "piece-en-double" not in {f.code for f in check(load(folder / "dossier.yaml")).findings}


@pytest.mark.parametrize("copy", [False, True])
def test_a_capture_filed_again_as_a_piece_is_warned(tmp_path, copy):
    """Attack 34: a screenshot named as the « attestation d'hébergement » (the capture itself, or an
    identical copy in pieces/) was filed twice, inside the captures' pièce and as that pièce, unsaid."""
    data = default_case()
    written = "pieces/hebergement.png" if copy else "captures/c03.png"
    data["pieces"].append({"titre": "Attestation d'hébergement", "categorie": "domicile", "fichier": written})
    folder = tmp_path / "affaire"
    write_case(folder, data)
    if copy:
        shutil.copy(folder / "captures/c03.png", folder / written)
    found = [f for f in check(load(folder / "dossier.yaml")).findings
             if f.code in ("capture-produite-en-piece", "piece-en-double", "capture-en-double")]
    assert [f.code for f in found] == ["capture-produite-en-piece"] and found[0].champ == "pieces[2]"
    assert (f"La pièce « Attestation d'hébergement » (« {written} ») est la capture de la tentative n° 4 "
            "du 10 mars 2025 à 8\u00a0h\u00a050") in found[0].message
    assert ("« captures/c03.png », contenu identique" in found[0].message) == copy


def test_an_image_piece_unlike_every_capture_is_not_warned(tmp_path):
    data = default_case()
    data["pieces"].append({"titre": "Attestation d'hébergement", "categorie": "domicile",
                           "fichier": "pieces/hebergement.png"})
    write_case(tmp_path / "affaire", data)
    codes = {f.code for f in check(load(tmp_path / "affaire/dossier.yaml")).findings}
    assert "capture-produite-en-piece" not in codes


def _template(path, *paragraphs):
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(str(path))
    return path


@pytest.mark.parametrize("tag", ["{{r requerant.nom }}", "{{p requerant.nom }}", "{{r 'texte' }}"])
def test_rich_text_tags_on_plain_values_refused(run, tmp_path, example, tag):
    tpl = _template(tmp_path / "cabinet.docx", "Requête", f"Nom : {tag}", "Fin")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1, res.output
    assert "paragraphe 2" in res.output and "disparaîtrait" in res.output
    res = run("build", example, "--modele", tpl, "-o", tmp_path / "sortie")
    assert res.exit_code == 1 and "disparaîtrait" in res.output
    assert not (tmp_path / "sortie").exists()


def test_plain_tags_and_paragraph_statements_still_accepted(run, tmp_path):
    tpl = _template(tmp_path / "cabinet.docx", "{%p if conseil %}", "Avec conseil", "{%p endif %}",
                    "Nom : {{ requerant.nom }}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("component", ["fichier", "dossier"])
def test_nfc_path_to_an_nfd_file_says_what_is_wrong(run, tmp_path, component):
    data = default_case()
    nfc = unicodedata.normalize("NFC", "pièces-été" if component == "dossier" else "pieces")
    written = f"{nfc}/passeport-é.pdf"
    data["pieces"][0]["fichier"] = written
    folder = tmp_path / "affaire"
    write_case(folder, data)
    # As a Mac writes it: the same name, accents decomposed.
    on_disk = unicodedata.normalize("NFD", written)
    (folder / on_disk).parent.mkdir(parents=True, exist_ok=True)
    os.rename(folder / written, folder / on_disk)
    if component == "dossier":
        shutil.rmtree(folder / nfc)
    else:
        (folder / nfc / "passeport-é.pdf").unlink(missing_ok=True)
    assert (folder / on_disk).is_file() and not (folder / written).exists()
    res = run("check", folder / "dossier.yaml")
    assert res.exit_code == 1
    assert "autre forme Unicode" in res.output and written in res.output
    assert "introuvable" not in res.output or "autre forme Unicode" in res.output


def test_tag_inside_a_complex_key_refused(tmp_path):
    path, line = _case_with(tmp_path, "Diallo\n  ? {!!timestamp 2025-02-30: 1}\n  : x")
    with pytest.raises(CaseInvalid) as err:
        load(path)
    assert "« !!timestamp »" in str(err.value) and "Erreur interne" not in str(err.value)


def test_hidden_case_folder_given_directly_is_a_failed_row(run, tmp_path):
    write_case(tmp_path / ".sortie.verrou", default_case())
    write_case(tmp_path / "bon", default_case())
    out = tmp_path / "construits"
    res = run("batch", tmp_path / ".sortie.verrou", tmp_path / "bon", "-o", out, "-j", "1")
    assert res.exit_code == 1 and "Erreur interne" not in res.output
    rows = _report(out / "rapport.csv")
    assert rows["bon"]["statut"] == "ok"
    assert rows[".sortie.verrou"]["statut"] == "échec" and "nom réservé" in rows[".sortie.verrou"]["erreur"]
    assert sorted(p.name for p in out.iterdir()) == ["bon", "rapport.csv"]


def test_case_path_given_in_the_other_unicode_form_is_explained(run, tmp_path):
    nfd = unicodedata.normalize("NFD", "affaire-été")
    write_case(tmp_path / nfd, default_case())
    written = tmp_path / unicodedata.normalize("NFC", "affaire-été") / "dossier.yaml"
    res = run("check", written)
    assert res.exit_code == 1
    assert "autre forme Unicode" in res.output and f"le dossier « {nfd} »" in res.output, res.output


def test_same_file_twice_in_one_piece_is_warned(tmp_path):
    data = default_case()
    data["pieces"][0] = {"titre": "Passeport", "categorie": "identite",
                         "fichiers": ["pieces/passeport.pdf", "pieces/passeport-copie.pdf"]}
    folder = tmp_path / "affaire"
    write_case(folder, data)
    shutil.copy(folder / "pieces/passeport.pdf", folder / "pieces/passeport-copie.pdf")
    found = [f for f in check(load(folder / "dossier.yaml")).findings if f.code == "piece-en-double"]
    assert len(found) == 1 and "joint deux fois à la pièce « Passeport »" in found[0].message
    assert "« pieces/passeport.pdf », « pieces/passeport-copie.pdf »" in found[0].message


def test_a_file_listed_four_times_in_one_piece_is_warned_once(tmp_path):
    """Attack 18: three identical warnings for one file listed four times; one is enough, and a
    damaged file's damage is said once for the pièce too."""
    import hostile

    data = default_case()
    data["pieces"][0] = {"titre": "Passeport", "categorie": "identite", "fichiers": ["pieces/passeport.pdf"] * 4}
    write_case(tmp_path / "affaire", data)
    hostile.pdf_array_bad_lzw(tmp_path / "affaire/pieces/passeport.pdf")
    codes = [f.code for f in check(load(tmp_path / "affaire/dossier.yaml")).findings]
    assert codes.count("piece-en-double") == 1 and codes.count("piece-endommagee") == 1, codes
    found = [f for f in check(load(tmp_path / "affaire/dossier.yaml")).findings if f.code == "piece-en-double"]
    assert "joint deux fois à la pièce « Passeport »" in found[0].message


def test_a_captures_folder_linked_outside_the_case_is_refused_by_check_build_and_batch(run, tmp_path):
    """The CLI refuses what the web refuses: no capture is read through a captures/ link leading out."""
    case = write_case(tmp_path / "permanence" / "affaire", default_case())
    outside = tmp_path / "ailleurs"
    (case.parent / "captures").rename(outside)
    (case.parent / "captures").symlink_to(outside)
    said = "tentative n° 1, capture : chemin « captures/c00.png » refusé : c'est un lien qui mène hors du dossier de l'affaire"
    for args in (("check", case), ("build", case), ("batch", tmp_path / "permanence", "-o", tmp_path / "sortie")):
        res = run(*args)
        assert res.exit_code == 1, args
        assert said in res.output, (args, res.output)
    assert not (case.parent / "dossier").exists()
    assert sorted(p.name for p in outside.iterdir())[0] == "c00.png"
