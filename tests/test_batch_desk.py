"""A desk's evening over a whole folder: `refere courrier` for every case, the same person in two folders."""

from __future__ import annotations

import re
import shutil

from docx import Document

from conftest import default_case, write_case


def test_courrier_on_a_folder_writes_one_letter_per_case_and_a_bad_case_stops_none(run, tmp_path):
    root = tmp_path / "permanence"
    write_case(root / "lundi" / "diallo-a", default_case())
    write_case(root / "traore-m", default_case())
    write_case(root / "casse", "version: 1\nrequerant: [\n")
    no_attempt = default_case()
    no_attempt["tentatives"] = []
    write_case(root / "vide", no_attempt)
    res = run("courrier", root)
    assert res.exit_code == 1, res.output
    for case in ("lundi/diallo-a", "traore-m"):
        letter = root / case / "courrier-prefecture.docx"
        assert "Madame, Monsieur," in "\n".join(p.text for p in Document(str(letter)).paragraphs)
        assert (root / case / "courrier-prefecture.txt").is_file()
        assert f"  {case} : {letter}" in res.output
    assert not (root / "casse" / "courrier-prefecture.docx").exists()
    assert "ÉCHEC casse :" in res.output and "ÉCHEC vide : " in res.output and "ajoutez au moins une tentative" in res.output
    assert "2 lettres écrites, 0 déjà écrite, 2 en échec" in res.output
    # Next steps once, in the form's words (no YAML key).
    assert res.output.count("Et maintenant") == 1 and "courrier_prefecture" not in res.output
    assert "catégorie « courrier ou courriel à la préfecture »" in res.output
    # With -o: each letter in SORTIE/<affaire>/; left as it is by a second run, written again only with --force.
    out = tmp_path / "lettres"
    assert run("courrier", root / "lundi", "-o", out).exit_code == 0
    letter = out / "diallo-a" / "courrier-prefecture.docx"
    sent = letter.read_bytes()
    again = run("courrier", root / "lundi", "-o", out)
    assert again.exit_code == 0 and f"diallo-a : déjà écrite, laissée telle quelle ({letter})" in again.output
    assert letter.read_bytes() == sent
    assert run("courrier", root / "lundi", "-o", out, "--force").exit_code == 0


def test_courrier_again_on_a_desk_writes_only_the_new_cases_letters(run, tmp_path, monkeypatch):
    """The next week's desk: the letters already written (perhaps sent) are kept, the new case's is written."""
    root = tmp_path / "permanence"
    write_case(root / "ancien", default_case())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1743501600")  # 2025-04-01
    assert run("courrier", root).exit_code == 0
    sent = (root / "ancien" / "courrier-prefecture.docx").read_bytes()
    write_case(root / "nouveau", default_case())
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1744106400")  # a week later
    res = run("courrier", root)
    assert res.exit_code == 0, res.output
    assert "ÉCHEC" not in res.output and "1 lettre écrite, 1 déjà écrite, 0 en échec" in res.output
    assert "ancien : déjà écrite, laissée telle quelle" in res.output
    assert (root / "ancien" / "courrier-prefecture.docx").read_bytes() == sent
    assert (root / "nouveau" / "courrier-prefecture.docx").is_file()
    assert res.output.count("Et maintenant") == 1
    # Nothing new: nothing to send, no next steps.
    res = run("courrier", root)
    assert res.exit_code == 0 and "0 lettre écrite, 2 déjà écrites, 0 en échec" in res.output
    assert "Et maintenant" not in res.output
    res = run("courrier", root, "--force")
    assert res.exit_code == 0 and "2 lettres écrites, 0 déjà écrite" in res.output
    assert (root / "ancien" / "courrier-prefecture.docx").read_bytes() != sent  # dated today now


def test_courrier_on_a_desk_with_half_written_or_odd_letters(run, tmp_path, monkeypatch):
    """A run stopped between the letter and its e-mail text: the text is made from the letter as it
    is (the letter is not written again). The e-mail text alone (the letter moved away): already
    written. A letter that is a link: said as such, never « ajoutez --force » (attack 37)."""
    from refere.requete.courrier import email_text

    root = tmp_path / "permanence"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1743501600")
    for name in ("coupee", "deplacee", "lien"):
        write_case(root / name, default_case())
    assert run("courrier", root).exit_code == 0
    letter = root / "coupee" / "courrier-prefecture.docx"
    written = letter.read_bytes()
    (root / "coupee" / "courrier-prefecture.txt").unlink()
    (root / "deplacee" / "courrier-prefecture.docx").unlink()
    link = root / "lien" / "courrier-prefecture.docx"
    link.unlink()
    (root / "lien" / "courrier-prefecture.txt").unlink()
    link.symlink_to(tmp_path / "ailleurs.docx")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1744106400")  # a week later
    res = run("courrier", root)
    assert "coupee : déjà écrite" in res.output and "deplacee : déjà écrite" in res.output, res.output
    assert letter.read_bytes() == written
    assert (root / "coupee" / "courrier-prefecture.txt").read_text("utf-8") == email_text(letter)
    assert not (root / "deplacee" / "courrier-prefecture.docx").exists()
    assert "n'est pas un fichier ordinaire" in res.output and "--force" not in res.output.split("ÉCHEC lien")[1].split("\n")[0]
    assert res.exit_code == 1 and "0 lettre écrite, 2 déjà écrites, 1 en échec" in res.output


def test_same_person_in_two_folders_is_named_by_check_and_batch(run, tmp_path):
    import csv

    root = tmp_path / "permanence"
    write_case(root / "diallo-a", default_case())
    twin = default_case()
    twin["requerant"]["nom"] = twin["requerant"]["nom"].lower()  # typed again by another volunteer
    write_case(root / "mardi" / "cherkaoui-y", twin)
    other = default_case()
    other["requerant"]["date_naissance"] = "1990-01-02"  # same name, another person
    write_case(root / "homonyme", other)
    res = run("check", root)
    line = next(ln for ln in res.output.splitlines() if ln.startswith("diallo-a :"))
    assert "ATTENTION : Même personne (nom, prénoms et date de naissance) que le dossier « mardi/cherkaoui-y »" in line
    assert "ATTENTION" not in next(ln for ln in res.output.splitlines() if ln.startswith("homonyme :"))
    out = tmp_path / "out"
    res = run("batch", root, "-o", out)
    assert res.exit_code == 0, res.output
    assert "ATTENTION mardi/cherkaoui-y : Même personne" in res.output and "« diallo-a »" in res.output
    with open(out / "rapport.csv", encoding="utf-8-sig", newline="") as fh:
        rows = {r["dossier"]: r for r in csv.DictReader(fh, delimiter=";")}
    assert "meme-personne" in rows["diallo-a"]["codes_avertissements"].split()
    assert "« mardi/cherkaoui-y »" in rows["diallo-a"]["avertissements"]
    assert "meme-personne" not in rows["homonyme"]["codes_avertissements"]


def test_rapport_warning_cells_stay_readable(tmp_path):
    import csv

    from refere import batch, write

    urls = " ; ".join(f"tentative {k} : « https://www.val-de-marne.gouv.fr/booking/create/40{k:02d}/1 »" for k in range(1, 10))
    long = f"9 captures montrent une autre adresse ({urls}) que celle du dossier : vérifiez."
    row = batch.Row("diallo-a", batch.OK, 9, 18, (), ("adresse-capture-discordante",), textes=(batch._cell_text(long),))
    batch.write_report([row], write.hold(tmp_path))
    with open(tmp_path / "rapport.csv", encoding="utf-8-sig", newline="") as fh:
        cell = next(csv.DictReader(fh, delimiter=";"))["avertissements"]
    assert cell == ("9 captures montrent une autre adresse (tentative 1 : « https://www.val-de-marne.gouv.fr/booking/"
                    "create/4001/1 » ; tentative 2 : « https://www.val-de-marne.gouv.fr/booking/create/4002/1 » ; "
                    "et 7 de plus) que celle du dossier : vérifiez. (le détail : page Vérification du dossier, "
                    "ou « refere check »)")
    assert batch._cell_text("Moins de 10 tentatives.") == "Moins de 10 tentatives."


def test_a_truncated_capture_is_one_file_to_redo_in_check_batch_brouillon_and_the_web(run, tmp_path):
    from conftest import copy_example
    from refere.web import core

    root = tmp_path / "permanence"
    copy_example(root / "kouassi-y")
    shot = sorted((root / "kouassi-y" / "captures").glob("*.png"))[3]
    shot.write_bytes(shot.read_bytes()[: shot.stat().st_size // 2])
    line = next(ln for ln in run("check", root).output.splitlines() if ln.startswith("kouassi-y :"))
    assert line.startswith("kouassi-y : fichier à corriger — capture illisible"), line
    for extra in ([], ["--brouillon"]):
        res = run("batch", root, "-o", tmp_path / "out", *extra)
        assert res.exit_code == 1
        assert "ÉCHEC kouassi-y : fichier à corriger : " in res.output, (extra, res.output)
    assert core.status(root / "kouassi-y")["label"] == "bloquant (à corriger)"


def test_one_reused_capture_is_one_warning(tmp_path):
    from refere.affaire.loader import load
    from refere.preuves.rules import check

    data = default_case()
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-085512.png"
    data["tentatives"][1]["capture"] = "captures/Screenshot_20250303-085512.png"  # attempt 2 (4 March) reuses it
    case = write_case(tmp_path / "cisse-i", data)
    found = [f for f in check(load(case)).findings if f.champ.startswith("tentatives[1]")]
    assert [f.code for f in found] == ["capture-en-double"], [(f.code, f.message) for f in found]
    assert "tentatives n° 1 et n° 2" in found[0].message


def test_two_workers_read_each_person_the_parent_reads_no_case_file_again(tmp_path, monkeypatch):
    """With -j 2 each worker reads its case's person as it builds it (the parent forks them with the
    build stack loaded, see batch._preload): the parent parses no case file after the cases."""
    import os

    from refere import batch
    from refere.affaire import personnes

    root = tmp_path / "permanence"
    write_case(root / "diallo-a", default_case())
    twin = default_case()
    twin["requerant"]["nom"] = twin["requerant"]["nom"].upper()
    write_case(root / "diallo-b", twin)
    parent, read_here = os.getpid(), []
    real = personnes.written_person

    def spy(case_file):
        if os.getpid() == parent:
            read_here.append(case_file)
        return real(case_file)

    monkeypatch.setattr(personnes, "written_person", spy)
    personnes._PERSON_CACHE.clear()
    rows = {r.dossier: r for r in batch.run(batch.find_jobs([root]), tmp_path / "out", 2, batch.Settings())}
    assert read_here == []
    assert {r.statut for r in rows.values()} == {batch.OK}
    assert "meme-personne" in rows["diallo-a"].avertissements and "meme-personne" in rows["diallo-b"].avertissements


def test_the_output_of_a_case_deleted_since_an_earlier_batch_is_pointed_out(run, tmp_path):
    """A case removed from the desk's folder left its complete filing in the output, unmentioned: a
    volunteer could file that old version (attack 39)."""
    import csv

    root = tmp_path / "permanence"
    for name in ("garde", "supprimee"):
        write_case(root / name, default_case())
    out = tmp_path / "construits"
    assert run("batch", root, "-o", out).exit_code == 0
    shutil.rmtree(root / "supprimee")
    res = run("batch", root, "-o", out)
    assert res.exit_code == 0, res.output
    assert ("ATTENTION supprimee : sortie d'une affaire absente de ce lot (supprimée, renommée ou non donnée) : "
            "ancienne version, ne la déposez pas") in res.output
    assert "ATTENTION garde" not in res.output
    with open(out / "rapport.csv", encoding="utf-8-sig") as fh:
        assert [row["dossier"] for row in csv.DictReader(fh, delimiter=";")] == ["garde"]
