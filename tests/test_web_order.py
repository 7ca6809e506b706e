"""Attempts are kept in date order from the web, as the requête numbers them."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from conftest import copy_example, make_png
from refere.affaire.loader import load
from refere.web import store
from refere.web.app import create_app


@pytest.fixture
def ws(tmp_path):
    w = tmp_path / "espace"
    w.mkdir()
    case = copy_example(w / "exemple-94") / "dossier.yaml"
    case.write_text(re.sub(r"(?m)^  date: 2025-09-29\n", "", case.read_text(encoding="utf-8")), encoding="utf-8")
    return w


def _client(workspace):
    app = create_app(workspace, limits=store.Limits(), workers=1)
    app.testing = True
    return app.test_client()


@pytest.fixture
def client(ws):
    return _client(ws)


def _tok(client, url):
    html = client.get(url).get_data(as_text=True)
    return {n: re.search(rf'name="{n}" value="([^"]*)"', html)[1] for n in ("_csrf", "_version")}


def _dates(ws):
    return [t.date.strftime("%Y-%m-%d %H:%M") for t in load(ws / "exemple-94" / "dossier.yaml").tentatives]


def test_a_capture_dated_late_takes_its_place_by_date(client, ws):
    make_png(ws / "exemple-94" / "captures" / "sans-date-0001.png")
    r = client.post("/d/exemple-94/captures/dater",
                    data={**_tok(client, "/d/exemple-94/captures"), "nom": "sans-date-0001.png", "date": "2025-09-01T07:00"})
    assert r.status_code == 302
    got = _dates(ws)
    assert got == sorted(got)
    assert got[0] == "2025-09-01 07:00"
    case = load(ws / "exemple-94" / "dossier.yaml")
    assert case.tentatives[0].capture.written == "captures/sans-date-0001.png"
    # The page numbers it n° 1, as the requête does.
    html = client.get("/d/exemple-94/captures").get_data(as_text=True)
    assert html.index("2025-09-01T07:00") < html.index("2025-09-01T08:52")


def test_an_attempt_added_without_capture_is_sorted(client, ws):
    path = ws / "exemple-94" / "dossier.yaml"
    r = client.post("/d/exemple-94/captures", data={**_tok(client, "/d/exemple-94/captures"),
                                                      "tentatives[nouveau].date": "2025-09-01T20:15"})
    assert r.status_code == 302
    got = _dates(ws)
    assert got == sorted(got)
    assert got[1] == "2025-09-01 20:15"
    written = path.read_text(encoding="utf-8")
    assert "# Exemple de dossier" in written
    assert len(YAML().load(written)["tentatives"]) == len(got)


def test_messages_name_a_capture_as_the_person_sent_it(client, ws):
    """« captures/sans-date-cd30….jpg » is a name the web gave: pages say « IMG-WA0017.jpg », as « Captures » does."""
    from refere.web import forms

    msg = ("La tentative n° 3 est déclarée le 2 décembre 2026 à 9 h 10, mais la capture "
           "« captures/sans-date-cd305096.jpg » affiche 10 h 40. Corrigez l'heure déclarée, ou vérifiez la capture.")
    said = forms.words(msg, "tentatives[2].date", {"captures/sans-date-cd305096.jpg": "IMG-WA0017.jpg"})
    assert "« IMG-WA0017.jpg » affiche 10 h 40" in said and "sans-date" not in said
    # On « Vérification »: a capture gone missing is named as sent.
    path = ws / "exemple-94" / "dossier.yaml"
    first = load(path).tentatives[0].capture.written
    (ws / "exemple-94" / first).unlink()
    (ws / "exemple-94" / store.NAMES_FILE).write_text('{"%s": "IMG-WA0017.jpg"}' % first, encoding="utf-8")
    html = client.get("/d/exemple-94/verification").get_data(as_text=True)
    assert "« IMG-WA0017.jpg »" in html and f"« {first} »" not in html


def test_names_file_nested_too_deep_is_unreadable_like_any_malformed_one(client, ws):
    """A names file nested 100 000 deep (json recurses): ignored, the page shows the stored name."""
    path = ws / "exemple-94" / "dossier.yaml"
    first = load(path).tentatives[0].capture.written
    (ws / "exemple-94" / first).unlink()
    (ws / "exemple-94" / store.NAMES_FILE).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert store.original_names(ws / "exemple-94") == {}
    response = client.get("/d/exemple-94/verification")
    assert response.status_code == 200
    assert f"« {first} »" in response.get_data(as_text=True)


def test_cases_in_sub_folders_are_pointed_to(tmp_path):
    """A batch workspace (« lundi/diallo-a ») opened with « refere web »: not a bare « Aucun dossier »."""
    w = tmp_path / "permanence"
    copy_example(w / "lundi" / "exemple-94")
    copy_example(w / "mardi" / "a")
    copy_example(w / "mardi" / "b")
    app = create_app(w, workers=1)
    app.testing = True
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Aucun dossier pour l&#39;instant" not in html
    assert "<code>refere web lundi/</code> (1 dossier)" in html
    assert "<code>refere web mardi/</code> (2 dossiers)" in html


def test_same_person_counts_as_a_warning_in_the_list_and_after_tout_construire(tmp_path):
    import shutil
    import time

    w = copy_example(tmp_path / "permanence" / "ahmed-b").parent
    shutil.copytree(w / "ahmed-b", w / "cherkaoui-y")
    app = create_app(w, limits=store.Limits(), workers=1)
    app.testing = True
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    row = re.search(r'<tr>\s*<th scope="row"><a href="/d/ahmed-b/">.*?</tr>', html, re.S)[0]
    shown = int(re.search(r"\((\d+) avertissements?\)", row)[1])
    from refere.web import core
    assert shown == core.status(w / "ahmed-b")["warnings"] + 1
    tok = {"_csrf": re.search(r'name="_csrf" value="([^"]*)"', html)[1]}
    assert client.post("/tout-construire", data=tok).status_code == 302
    runner = app.extensions["refere_batch"]
    for _ in range(3000):
        if not runner.state.running:
            break
        time.sleep(0.1)
    html = client.get("/tout-construire").get_data(as_text=True)
    row = re.search(r'<tr><th scope="row"><a href="/d/ahmed-b/">.*?</tr>', html, re.S)[0]
    assert "Même personne (nom, prénoms et date de naissance) que le dossier « cherkaoui-y »" in row
    cells = dict(re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S))
    assert int(cells["Avertissements"]) == shown
