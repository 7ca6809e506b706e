"""Paths the system cannot name, and links a search does not follow, are refused or named in French,
never an « Erreur interne » nor a case left out in silence (attack 25: F4, F6, F10)."""

from __future__ import annotations

import csv
import html
import os

import pytest

from conftest import default_case, write_case
from refere.web import store
from refere.web.app import create_app

LONG = "é" * 200  # 400 bytes: over the 255 a file or folder name may have


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _refusal(path, reason) -> str:
    shown = str(path) if len(str(path)) <= 160 else f"{str(path)[:160]}…"
    return f"impossible d'écrire « {shown} » ({reason}) : rien n'a été écrit\n"


TOO_LONG = ("nom trop long : 233 octets au plus pour ce nom, un « é » en compte 2 ; refere l'écrit d'abord sous un "
            "nom plus long")
FOLDER_TOO_LONG = "nom trop long : 255 octets au plus par nom de dossier, un « é » en compte 2"


@pytest.mark.parametrize("command", [
    ("modele", "exporter", "{out}.docx"),
    ("courrier", "{case}", "-o", "{out}"),
    ("build", "{case}", "-o", "{out}"),
    ("batch", "{case}", "-o", "{out}"),
    ("init", "{out}"),
    ("check", "{case}", "--calendrier", "{out}.png"),
    ("build", "{case}", "-o", "{new}/{out_name}"),  # below a folder that does not exist yet: not made
])
def test_a_name_too_long_is_refused_for_every_command_that_writes(tmp_path, run, command):
    case = write_case(tmp_path / "affaire", default_case())
    out = tmp_path / LONG
    before = _files(tmp_path)
    args = [a.format(case=case, out=out, new=tmp_path / "nouveau", out_name=LONG) for a in command]
    res = run(*args)
    assert res.exit_code == 1, res.output
    assert res.output == _refusal(args[-1], TOO_LONG)
    assert _files(tmp_path) == before


@pytest.mark.parametrize("command, name, reason", [
    # 234 bytes: a legal name, but not the temporary one refere makes beside it first (22 bytes more).
    (("build", "{case}", "-o", "{out}"), "b" * 234, TOO_LONG),
    (("modele", "exporter", "{out}"), "m" * 229 + ".docx", TOO_LONG),
    (("build", "{case}", "-o", "{out}"), "é" * 117, TOO_LONG),
    # Two legal names: the first folder was made, then the build failed on the second (attack 26, F5).
    (("build", "{case}", "-o", "{out}"), "a" * 250 + "/" + "b" * 250, TOO_LONG),
    (("build", "{case}", "-o", "{out}"), "a" * 256 + "/b", FOLDER_TOO_LONG),
])
def test_a_name_refere_cannot_write_beside_is_refused_before_anything_is_made(tmp_path, run, command, name, reason):
    case = write_case(tmp_path / "affaire", default_case())
    before = _files(tmp_path)
    args = [a.format(case=case, out=tmp_path / name) for a in command]
    res = run(*args)
    assert res.exit_code == 1, res.output
    assert res.output == _refusal(args[-1], reason)
    assert _files(tmp_path) == before


def test_the_longest_name_allowed_is_written(tmp_path, run):
    case = write_case(tmp_path / "affaire", default_case())
    out = tmp_path / ("é" * 116 + "b")  # 233 bytes
    assert run("build", case, "-o", out).exit_code == 0
    assert run("build", case, "-o", out, "--force").exit_code == 0
    assert (out / "inventaire.json").is_file()
    docx = tmp_path / ("m" * 228 + ".docx")
    assert run("modele", "exporter", docx).exit_code == 0 and docx.is_file()


def test_a_detour_through_a_missing_folder_leaves_no_folder(tmp_path, run):
    """Attack 26, F12: « -o o/./x/../rel2 » built o/rel2 but left an empty « x » behind."""
    case = write_case(tmp_path / "affaire", default_case())
    (tmp_path / "o").mkdir()
    res = run("build", case, "-o", f"{tmp_path}/o/./x/../rel2")
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"Dossier construit : {tmp_path / 'o' / 'rel2'}\n")
    assert os.listdir(tmp_path / "o") == ["rel2"]
    res = run("modele", "exporter", f"{tmp_path}/o/y/z/../../m.docx")
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(tmp_path / "o")) == ["m.docx", "rel2"]
    # A link on the way is the system's to resolve: « lien/.. » is the link's target's parent.
    (tmp_path / "loin" / "sous").mkdir(parents=True)
    os.symlink(tmp_path / "loin" / "sous", tmp_path / "o" / "lien")
    assert run("modele", "exporter", f"{tmp_path}/o/lien/../n.docx").exit_code == 0
    assert (tmp_path / "loin" / "n.docx").is_file() and not (tmp_path / "o" / "n.docx").exists()


@pytest.mark.parametrize("command", [
    ("check", "{case}", "--calendrier", "{loop}/x.png"),
    ("build", "{case}", "-o", "{loop}/x"),
    ("modele", "exporter", "{loop}/x.docx"),
])
def test_a_link_loop_on_the_way_is_named(tmp_path, run, command):
    case = write_case(tmp_path / "affaire", default_case())
    os.symlink("boucleB", tmp_path / "boucleA")
    os.symlink("boucleA", tmp_path / "boucleB")
    before = _files(tmp_path)
    args = [a.format(case=case, loop=tmp_path / "boucleA") for a in command]
    res = run(*args)
    assert res.exit_code == 1, res.output
    assert res.output == _refusal(args[-1], "boucle de liens symboliques")
    assert _files(tmp_path) == before


def _rows(report):
    with open(report, encoding="utf-8-sig", newline="") as fh:
        return {r["dossier"]: r for r in csv.DictReader(fh, delimiter=";")}


LINKED = ("« {link} » est un lien vers un autre dossier, qui n'est pas suivi : donnez directement le dossier "
          "vers lequel il pointe")


def test_a_link_to_a_folder_of_cases_is_named_by_batch_and_check(tmp_path, run):
    desk = tmp_path / "permanence"
    write_case(tmp_path / "ailleurs" / "mardi" / "groupe" / "b", default_case(), files=False)
    (desk / "lundi").mkdir(parents=True)
    (tmp_path / "photos").mkdir()
    os.symlink("../../ailleurs/mardi", desk / "lundi" / "semaine-derniere")
    os.symlink("../photos", desk / "photos")  # holds no case: not a case left out
    link = desk / "lundi" / "semaine-derniere"
    res = run("batch", desk, "-o", tmp_path / "sortie", "-j", "1")
    assert res.exit_code == 1, res.output
    rows = _rows(tmp_path / "sortie" / "rapport.csv")
    assert list(rows) == ["lundi/semaine-derniere"]
    row = rows["lundi/semaine-derniere"]
    assert row["statut"] == "échec" and row["bloquants"] == "lien-non-suivi"
    assert row["erreur"] == LINKED.format(link=link)
    assert _files(tmp_path / "sortie") == ["rapport.csv"]
    res = run("check", desk)
    assert res.exit_code == 1
    assert f"lundi/semaine-derniere : erreur — {LINKED.format(link=link)}\n" in res.output
    assert "refere batch" not in res.output and "photos" not in res.output


def test_a_linked_case_file_is_named_by_batch_and_the_web(tmp_path, run):
    desk = tmp_path / "permanence"
    real = write_case(tmp_path / "ailleurs", default_case())
    write_case(desk / "lienyaml", default_case()).unlink()
    os.symlink(real, desk / "lienyaml" / "dossier.yaml")
    res = run("batch", desk, "-o", tmp_path / "sortie", "-j", "1")
    assert res.exit_code == 1, res.output
    row = _rows(tmp_path / "sortie" / "rapport.csv")["lienyaml"]
    assert row["statut"] == "échec" and row["bloquants"] == "lien-non-suivi"
    assert row["erreur"] == (f"« {desk / 'lienyaml' / 'dossier.yaml'} » est un lien vers un autre fichier, qui n'est "
                             "pas suivi : mettez le fichier lui-même à la place du lien")
    assert not (tmp_path / "sortie" / "lienyaml").exists()
    # The web lists every case batch builds: this one is named in the notice, never served.
    client = create_app(desk, limits=store.Limits(), workers=1).test_client()
    page = html.unescape(client.get("/").get_data(as_text=True))
    hint = page.split('id="liens-non-suivis"')[1].split("</div>")[0]
    assert "1 lien vers un autre dossier ou fichier n'est pas suivi" in hint
    assert "<code>lienyaml/dossier.yaml</code>" in hint
    assert client.get("/d/lienyaml/").status_code == 404


def test_the_web_names_a_link_to_a_folder_of_cases(tmp_path):
    desk = tmp_path / "permanence"
    write_case(tmp_path / "ailleurs" / "mardi" / "b", default_case(), files=False)
    desk.mkdir()
    os.symlink(tmp_path / "ailleurs", desk / "semaine-derniere")
    client = create_app(desk, limits=store.Limits(), workers=1).test_client()
    page = html.unescape(client.get("/").get_data(as_text=True))
    hint = page.split('id="liens-non-suivis"')[1].split("</div>")[0]
    assert "<code>semaine-derniere</code>" in hint


def test_build_into_the_current_folder_is_refused_with_its_reason(tmp_path, run, monkeypatch):
    """`build -o .` in an empty folder said « existe déjà : ajoutez --force », then with --force « n'a pas
    été construit par refere »; from inside a previous output, « erreur système 16 » (attack 27). The
    output is replaced whole (a new folder renamed in), leaving a terminal in the old one: refused, said so."""
    from conftest import copy_example, snapshot

    case = copy_example(tmp_path / "exemple") / "dossier.yaml"
    assert run("build", case, "-o", tmp_path / "sortie").exit_code == 0
    for here in (tmp_path / "vide", tmp_path / "sortie"):
        here.mkdir(exist_ok=True)
        monkeypatch.chdir(here)
        before = snapshot(tmp_path)
        for extra in ((), ("--force",)):
            res = run("build", case, "-o", ".", *extra)
            assert res.exit_code == 1
            assert (f"le dossier de sortie « {here} » est le dossier où la commande est lancée (ou le contient) : "
                    "refere le remplace en entier") in res.output, res.output
            assert snapshot(tmp_path) == before
    # From elsewhere, the same folder is built: « -o . » is only the folder named by where one stands.
    monkeypatch.chdir(tmp_path)
    assert run("build", case, "-o", "vide").exit_code == 0 and (tmp_path / "vide" / "requete.docx").is_file()


def test_a_link_as_output_is_said_to_be_one(tmp_path, run):
    from conftest import copy_example

    case = copy_example(tmp_path / "exemple") / "dossier.yaml"
    assert run("build", case, "-o", tmp_path / "sortie").exit_code == 0
    os.symlink(tmp_path / "sortie", tmp_path / "lien")
    res = run("build", case, "-o", tmp_path / "lien", "--force")
    assert res.exit_code == 1
    assert f"« {tmp_path / 'lien'} » est un lien : refere n'écrit pas à travers un lien" in res.output


def test_init_never_makes_a_case_inside_another(tmp_path, run):
    from conftest import copy_example

    case = copy_example(tmp_path / "exemple")
    before = sorted(p for p in case.rglob("*"))
    for inside in (case / "captures" / "sub", case / "sub2"):
        res = run("init", inside)
        assert res.exit_code == 1
        assert f"est dans le dossier d'une autre affaire (« {case} »)" in res.output, res.output
    assert sorted(p for p in case.rglob("*")) == before
