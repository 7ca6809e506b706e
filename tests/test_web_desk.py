"""The volunteer's desk in `refere web`: builds made by `refere batch` or « Tout construire », rapport.csv's age,
the same person in two folders. Flask's test client, real cases, real builds."""

from __future__ import annotations

import io
from html import unescape
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from conftest import copy_example
from refere.cli import cli
from refere.web import store
from refere.web.app import create_app


@pytest.fixture
def ws(tmp_path) -> Path:
    return copy_example(tmp_path / "permanence" / "ahmed-b").parent  # a desk's folder with one case


@pytest.fixture
def client(ws):
    app = create_app(ws, limits=store.Limits(), workers=1)
    app.testing = True
    return app.test_client()


def text_of(client, url) -> str:
    r = client.get(url)
    assert r.status_code == 200
    html = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", r.get_data(as_text=True))
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


def test_case_pages_find_the_build_refere_batch_made_in_construits(client, ws, runner):
    res = runner.invoke(cli, ["batch", str(ws), "-o", str(ws / "construits")])
    assert res.exit_code == 0, res.output
    assert (ws / "construits" / "ahmed-b" / "requete.docx").is_file()
    assert not (ws / "ahmed-b" / "dossier").exists()
    for url in ("/", "/d/ahmed-b/", "/d/ahmed-b/construction"):
        text = text_of(client, url)
        assert "jamais construit" not in text and "(tout construire)" in text, url
    text = text_of(client, "/d/ahmed-b/construction")
    assert "Les fichiers, dans l'ordre du dépôt" in text and "construits/ahmed-b/" in text
    html = client.get("/d/ahmed-b/construction").get_data(as_text=True)
    assert '/d/ahmed-b/fichiers/requete.docx' in html
    r = client.get("/d/ahmed-b/fichiers/requete.docx")
    assert r.status_code == 200 and r.data == (ws / "construits" / "ahmed-b" / "requete.docx").read_bytes()
    z = zipfile.ZipFile(io.BytesIO(client.get("/d/ahmed-b/dossier.zip").data))
    assert "ahmed-b/requete.docx" in z.namelist() and any(n.startswith("ahmed-b/pieces/") for n in z.namelist())
    # Built again from its own page: the newer build (dossier/) is the one shown and handed out.
    page = client.get("/d/ahmed-b/construction").get_data(as_text=True)
    tok = re.search(r'name="_csrf" value="([^"]*)"', page)[1]
    assert client.post("/d/ahmed-b/construction", data={"_csrf": tok}).status_code == 302
    text = text_of(client, "/d/ahmed-b/construction")
    assert "(tout construire)" not in text and "ahmed-b/dossier/" in text


def test_rapport_csv_says_its_time_and_the_cases_changed_since(client, ws, runner):
    shutil.copytree(ws / "ahmed-b", ws / "bamba-c")
    assert runner.invoke(cli, ["batch", str(ws), "-o", str(ws / "construits")]).exit_code == 0
    old = time.time() - 120
    os.utime(ws / "construits" / "rapport.csv", (old, old))
    for case in ("ahmed-b", "bamba-c"):
        inv = ws / "construits" / case / "inventaire.json"
        os.utime(inv, (old - 60, old - 60))
        for p in (ws / case).rglob("*"):
            os.utime(p, (old - 120, old - 120))
        os.utime(ws / case, (old - 120, old - 120))
    text = text_of(client, "/")
    assert re.search(r"Rapport du \d\d/\d\d/\d{4} \d\d:\d\d\.", text) and "changé" not in text
    yaml_path = ws / "bamba-c" / "dossier.yaml"
    yaml_path.write_text(yaml_path.read_text("utf-8") + "\n", "utf-8")
    text = text_of(client, "/")
    assert "1 dossier a changé ou a été reconstruit depuis (bamba-c)" in text


def test_list_names_the_other_folder_of_the_same_person(client, ws):
    shutil.copytree(ws / "ahmed-b", ws / "cherkaoui-y")
    html = client.get("/").get_data(as_text=True)
    row = re.search(r'<tr>\s*<th scope="row"><a href="/d/ahmed-b/">.*?</tr>', html, re.S)[0]
    assert re.search(r'même personne que <a href="/d/cherkaoui-y/">cherkaoui-y</a> : un doublon \?', row)


def test_a_blocked_case_opened_from_the_list_says_why_with_its_link_and_the_persons_name(client, ws):
    yaml_path = ws / "ahmed-b" / "dossier.yaml"
    text = yaml_path.read_text("utf-8")
    first = re.search(r"(?m)^  - date: (\d{4})-", text)
    yaml_path.write_text(text[:first.start(1)] + "2031" + text[first.end(1):], "utf-8")  # a phone clock gone wrong
    html = client.get("/d/ahmed-b/").get_data(as_text=True)
    head = re.search(r'<div class="tete-dossier">.*?</div>', html, re.S)[0]
    assert "<h1>Karim BENALI" in head and "dossier ahmed-b" in head
    why = re.search(r'<p class="avertissement raison-tete" id="pourquoi">(.*?)</p>', head, re.S)[1]
    assert "Ce qui bloque :" in why and "tentative n° 1" in why and "2031" in why and "dans le futur" in why
    link = re.search(r'<a class="corriger" href="([^"]+)"', why)[1]
    assert link.startswith("/d/ahmed-b/captures#")
    # The verification page lists every problem itself: no banner there.
    assert 'id="pourquoi"' not in client.get("/d/ahmed-b/verification").get_data(as_text=True)


def test_no_page_shows_the_servers_path_of_a_missing_capture(client, ws):
    first = sorted((ws / "ahmed-b" / "captures").iterdir())[0]
    first.unlink()
    for url in ("/", "/d/ahmed-b/", "/d/ahmed-b/captures", "/d/ahmed-b/verification"):
        text = text_of(client, url)
        assert str(ws) not in text, url
    assert f"« captures/{first.name} » (dans le dossier de l'affaire)" in text_of(client, "/d/ahmed-b/verification")


def test_a_field_added_from_the_form_goes_in_its_place_not_under_the_next_sections_comment(client, ws):
    path = ws / "ahmed-b" / "dossier.yaml"
    text = path.read_text("utf-8")
    path.write_text(re.sub(r"(?m)^  nom: BENALI\n", "", text).replace(
        '  telephone: "+33 6 98 76 54 32"\n', '  telephone: "+33 6 98 76 54 32"  # portable\n'), "utf-8")
    page = client.get("/d/ahmed-b/").get_data(as_text=True)
    form = {"_csrf": re.search(r'name="_csrf" value="([^"]*)"', page)[1],
            "_version": re.search(r'name="_version" value="([^"]*)"', page)[1],
            "requerant.nom": "BENALI", "requerant.courriel": "karim.benali@example.org"}
    assert client.post("/d/ahmed-b/", data=form).status_code == 302
    new = path.read_text("utf-8")
    # « nom » after « civilite », as the form shows it; the new last field keeps the next section's comment after it.
    assert "  civilite: M.\n  nom: BENALI\n  prenoms: Karim\n" in new
    assert '  telephone: "+33 6 98 76 54 32"  # portable\n  courriel: karim.benali@example.org\n' in new, new[:800]
    # Every section's comment still stands right above its own key.
    assert "# Facultatif : ce que le juge cherche d'abord (entrée, séjour, titres, famille, travail).\nsituation:" in new
    assert re.search(r"(?m)^  # héberge ; la requête écrit alors .*\n  heberge_par: ", new), new[:1200]
