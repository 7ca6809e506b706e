"""Round 3's attack on the web server: links planted in a case folder (courrier/, dossier.yaml),
file names in an old encoding, a folder replaced by a file, reserved names, oversize saves; and the
template archive with a part written twice."""

from __future__ import annotations

import html
import io
import os
import shutil
import zipfile

import pytest

from conftest import copy_example, make_png
from refere.errors import RefereError
from refere.web import store
from test_web import client, page  # noqa: F401 — the Flask test client over the example case

CID = "exemple-94"


@pytest.fixture
def ws(tmp_path):
    w = tmp_path / "espace"
    w.mkdir()
    copy_example(w / CID)
    return w


def _text(r) -> str:
    return html.unescape(r.get_data(as_text=True))


def test_a_linked_letter_is_never_served(client, ws, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-HORS-DOSSIER\n")
    (ws / CID / "courrier").mkdir()
    os.symlink(secret, ws / CID / "courrier" / "courrier-prefecture.txt")
    r = client.get(f"/d/{CID}/courrier/courrier-prefecture.txt")
    assert r.status_code == 404 and b"SECRET" not in r.data
    assert "courrier-prefecture.txt" not in _text(client.get(f"/d/{CID}/construction"))


def test_the_letter_is_never_written_through_a_linked_folder(client, ws, tmp_path):
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    (ws / CID / "courrier").symlink_to(outside)
    _, tok = page(client, f"/d/{CID}/construction")
    r = client.post(f"/d/{CID}/courrier", data=tok, follow_redirects=True)
    assert r.status_code == 200
    assert "« courrier » dans le dossier de l'affaire est un lien ou un fichier" in _text(r)
    assert list(outside.iterdir()) == []


def test_the_letter_is_served_from_its_real_folder(client, ws):
    _, tok = page(client, f"/d/{CID}/construction")
    client.post(f"/d/{CID}/courrier", data=tok)
    r = client.get(f"/d/{CID}/courrier/courrier-prefecture.txt")
    assert r.status_code == 200 and r.data == (ws / CID / "courrier" / "courrier-prefecture.txt").read_bytes()


@pytest.mark.parametrize("what", ["fichier", "lien cassé"])
def test_sending_into_a_captures_folder_that_is_a_file_or_a_dangling_link_is_refused_in_french(client, ws, tmp_path, what):
    cap = ws / CID / "captures"
    shutil.rmtree(cap)
    if what == "fichier":
        cap.write_bytes(b"x")
    else:
        cap.symlink_to(tmp_path / "nulle-part")
    png = make_png(tmp_path / "c.png", size=(90, 200)).read_bytes()
    _, tok = page(client, f"/d/{CID}/captures")
    r = client.post(f"/d/{CID}/captures/envoyer", data={**tok, "fichiers": [(io.BytesIO(png), "c.png")]},
                    content_type="multipart/form-data", follow_redirects=True)
    assert r.status_code == 200
    text = _text(r)
    assert "rien n'y est écrit" in text and "Internal Server Error" not in text
    assert not (tmp_path / "nulle-part").exists()


def test_a_capture_named_in_an_old_encoding_leaves_the_page_usable(client, ws):
    raw = os.fsencode(ws / CID / "captures") + b"/capture-\xe9t\xe9.png"
    with open(raw, "wb") as fh:
        fh.write(make_png(ws / "tmp.png", size=(90, 200)).read_bytes())
    html_, _ = page(client, f"/d/{CID}/captures")  # 200, not a 500 in English
    assert "capture-" not in html_


def test_no_case_is_named_like_the_batch_output(client, ws):
    _, tok = page(client, "/")
    r = client.post("/nouveau", data={**tok, "nom": "Construits"}, follow_redirects=True)
    assert "« construits » est le dossier où « Tout construire » écrit" in _text(r)
    assert not (ws / "construits").exists()


def test_a_linked_case_file_is_not_listed_nor_read(client, ws, tmp_path):
    other = tmp_path / "autre-permanence" / "personne-x"
    other.mkdir(parents=True)
    (other / "dossier.yaml").write_text("requerant:\n  nom: NOM-SECRET\n", "utf-8")
    (ws / "lien").mkdir()
    (ws / "lien" / "dossier.yaml").symlink_to(other / "dossier.yaml")
    assert store.case_ids(ws) == [CID]
    assert client.get("/d/lien/").status_code == 404
    assert "NOM-SECRET" not in _text(client.get("/"))


def test_a_save_refere_could_not_read_back_is_refused_and_the_file_kept(ws):
    path = ws / CID / "dossier.yaml"
    before = path.read_bytes()
    doc = store._yaml().load(before.decode("utf-8"))
    doc["requerant"]["nom"] = "X" * 1_500_000
    with pytest.raises(RefereError, match="Non enregistré"):
        store.write_doc(path, doc, None)
    assert path.read_bytes() == before


def test_a_template_with_a_part_written_twice_is_refused(tmp_path):
    from refere.modeles import docxzip
    from refere.requete import render

    src = render.default_template()
    bad = tmp_path / "double.docx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        with pytest.warns(UserWarning):
            zout.writestr("word/document.xml", b"<w:document xmlns:w='http://schemas.openxmlformats.org/"
                                               b"wordprocessingml/2006/main'><w:body/></w:document>")
    problems = docxzip.safety_problems(bad)
    assert problems == ["archive incohérente : la partie « word/document.xml » y figure deux fois ; "
                        "réenregistrez le modèle dans Word"]


def test_a_forwarded_host_does_not_pass_for_the_public_name(ws, monkeypatch):
    from test_web_security import PROXIED, PUBLIC, Browser, running
    from refere.web import serve

    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        forged = Browser(server, **{**PROXIED, "Host": "rebind.example.com", "X-Forwarded-Host": PUBLIC,
                                    "X-Forwarded-For": "10.0.0.1"})
        assert forged.get("/connexion")[0] == 400
        assert Browser(server, **PROXIED, **{"X-Forwarded-For": "10.0.0.1"}).get("/connexion")[0] == 200
