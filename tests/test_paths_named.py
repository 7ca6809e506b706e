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


TOO_LONG = "nom trop long : 255 octets au plus par nom de fichier ou de dossier, un « é » en compte 2"


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
