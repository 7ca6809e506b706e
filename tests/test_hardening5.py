"""Attack4 findings G1–G7: the desk and the CLI outputs against hostile folders and files."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from conftest import default_case, write_case


def test_same_person_key_is_parsed_once_per_file_version(tmp_path):
    """G1: the case list asks « même personne » on every view; a case file is parsed again only
    when its size or modification time changes."""
    from refere import batch

    case = default_case()
    case_file = write_case(tmp_path / "a", case, files=False)
    first = batch.person_key(case_file)
    assert first is not None and "diallo" in first[0]
    st = os.stat(case_file)
    text = case_file.read_text(encoding="utf-8")
    same_size = text.replace(case["requerant"]["nom"], "X" * len(case["requerant"]["nom"]), 1)
    assert len(same_size.encode()) == st.st_size
    case_file.write_text(same_size, encoding="utf-8")
    os.utime(case_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert batch.person_key(case_file) == first  # same (path, size, mtime): the earlier parse
    os.utime(case_file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert batch.person_key(case_file)[0] == "x" * len(case["requerant"]["nom"])


# ---------------------------------------------------------------- the desk (Flask's WSGI test client)

def _desk(ws: Path):
    from refere.web import store
    from refere.web.app import create_app

    app = create_app(ws, limits=store.Limits(file_bytes=3 * 1024 * 1024, case_bytes=60 * 1024 * 1024), workers=1)
    app.testing = True
    return app.test_client()


def _get(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def _csrf(html: str) -> dict:
    return {"_csrf": re.search(r'name="_csrf" value="([^"]*)"', html)[1]}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html.replace("&#39;", "'").replace("&amp;", "&"))


def _build_all(client) -> str:
    assert client.post("/tout-construire", data=_csrf(_get(client, "/"))).status_code == 302
    runner = client.application.extensions["refere_batch"]
    while runner.state.running:
        threading.Event().wait(0.1)
    return _text(_get(client, "/tout-construire"))


@pytest.mark.parametrize("kind", ["link", "file"])
def test_tout_construire_refuses_a_linked_or_non_folder_construits(tmp_path, kind):
    """G2: nothing is written through <espace>/construits when it is a link (or not a folder)."""
    ws = tmp_path / "espace"
    write_case(ws / "diallo", default_case())
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    if kind == "link":
        (ws / "construits").symlink_to(outside, target_is_directory=True)
    else:
        (ws / "construits").write_bytes(b"pas un dossier")
    html = _build_all(_desk(ws))
    if kind == "link":
        assert "construits » est un lien symbolique : « Tout construire » n'écrit pas à travers un lien" in html
        assert list(outside.iterdir()) == []
    else:
        assert "construits » n'est pas un dossier" in html
        assert (ws / "construits").read_bytes() == b"pas un dossier"


@pytest.mark.parametrize("where", ["dossier", "construits"])
def test_a_deeply_nested_inventaire_is_an_unreadable_build_not_a_500(tmp_path, where):
    """G5: 100 000 « [ » in inventaire.json: the Construction page says « reconstruisez », downloads are 404."""
    ws = tmp_path / "espace"
    write_case(ws / "diallo", default_case())
    built = ws / "diallo" / "dossier" if where == "dossier" else ws / "construits" / "diallo"
    built.mkdir(parents=True)
    (built / "inventaire.json").write_bytes(b"[" * 100_000)
    client = _desk(ws)
    html = _text(_get(client, "/d/diallo/construction"))
    assert "La dernière construction est illisible (son fichier inventaire.json est abîmé)" in html
    assert "reconstruisez le dossier" in html
    assert client.get("/d/diallo/fichiers/inventaire.json").status_code == 404
    assert client.get("/d/diallo/dossier.zip").status_code == 404


def test_a_line_break_in_a_case_folder_name_never_forges_a_line(run, tmp_path):
    """G3: check, batch and courrier over a folder: a case folder's name is always shown on one line."""
    root = tmp_path / "permanence"
    write_case(root / "a", default_case())
    evil = "evil\nFAUX : tout va bien\r\u2028\u2029\x85x"
    write_case(root / evil, default_case())
    broken = root / "casse\nFAUX : casse"
    broken.mkdir()
    (broken / "dossier.yaml").write_text("version: 1\n", encoding="utf-8")
    outputs = [run("check", root).output, run("batch", root, "-o", tmp_path / "out").output,
               run("courrier", root, "--force").output]
    for out in outputs:
        assert not [ln for ln in out.splitlines() if ln.lstrip().startswith("FAUX")], out
        assert "evil\\x0aFAUX : tout va bien\\x0d\\u2028\\u2029\\x85x" in out, out
        assert "casse\\x0aFAUX : casse" in out, out


def test_captures_ajouter_never_writes_a_name_check_refuses(run, tmp_path):
    """G6: a capture name with a bidi override or a line break is listed apart (« renommez-le »), shown
    escaped on one line, and not written into dossier.yaml: the case still passes `refere check`'s reading."""
    from conftest import make_png

    case = default_case()
    case["signature"]["date"] = "2025-04-20"
    case_file = write_case(tmp_path / "a", case)
    captures = tmp_path / "a" / "captures"
    make_png(captures / "Screenshot_20250403-085500\u202egnp.png", size=(540, 1200))
    (captures / "Screenshot_20250404-085500\nFAUX : 99 tentatives ajoutées.png").write_bytes(
        (captures / "c00.png").read_bytes())
    before = case_file.read_text(encoding="utf-8")
    res = run("captures", captures, "--ajouter", case_file)
    assert res.exit_code == 0, res.output
    assert not [ln for ln in res.output.splitlines() if ln.startswith("FAUX")], res.output
    assert ("non datée : captures/Screenshot_20250403-085500\\u202egnp.png (nom de fichier avec un caractère "
            "de contrôle interdit (code 0x202e) : renommez-le)") in res.output
    assert ("non datée : captures/Screenshot_20250404-085500\\x0aFAUX : 99 tentatives ajoutées.png (nom de fichier "
            "avec un caractère de contrôle interdit (code 0x0a) : renommez-le)") in res.output
    assert "0 tentative ajoutée" in res.output and case_file.read_text(encoding="utf-8") == before
    assert "caractère de contrôle" not in run("check", tmp_path / "a").output


@pytest.mark.parametrize("inside", ["a/captures", "a", "."])
def test_courrier_over_a_folder_refuses_an_output_inside_a_case_or_the_folder(run, tmp_path, inside):
    """G4: `refere courrier DOSSIER/ -o` is refused where `refere batch -o` is; nothing is written."""
    from conftest import snapshot

    root = tmp_path / "permanence"
    write_case(root / "a", default_case())
    write_case(root / "b", default_case())
    before = snapshot(root)
    res = run("courrier", root, "-o", root / inside, "--force")
    assert res.exit_code == 1
    if inside == ".":
        assert "contient le dossier d'une affaire" in res.output
    else:
        assert "est dans le dossier d'une affaire" in res.output and "choisissez un dossier de sortie à part" in res.output
    assert snapshot(root) == before
    assert run("courrier", root, "-o", tmp_path / "envois", "--force").exit_code == 0
    assert (tmp_path / "envois" / "b" / "courrier-prefecture.docx").is_file()


@pytest.mark.parametrize("kind", ["link", "fifo", "linked-folder"])
def test_a_report_that_is_not_a_plain_file_is_neither_offered_nor_dated(tmp_path, kind):
    """G7: construits/rapport.csv as a link (or a FIFO, or construits itself a link): no download button,
    no « Rapport du … », and the download is 404."""
    ws = tmp_path / "espace"
    write_case(ws / "diallo", default_case())
    write_case(ws / "sow", default_case())
    secret = tmp_path / "secret.csv"
    secret.write_text("dossier;statut\nsecret;ok\n", encoding="utf-8")
    if kind == "linked-folder":
        (tmp_path / "ailleurs").mkdir()
        (tmp_path / "ailleurs" / "rapport.csv").write_text("dossier;statut\n", encoding="utf-8")
        (ws / "construits").symlink_to(tmp_path / "ailleurs", target_is_directory=True)
    else:
        (ws / "construits").mkdir()
        if kind == "link":
            (ws / "construits" / "rapport.csv").symlink_to(secret)
        else:
            os.mkfifo(ws / "construits" / "rapport.csv")
    client = _desk(ws)
    for url in ("/", "/tout-construire"):
        html = _get(client, url)
        assert "Télécharger rapport.csv" not in html and "Rapport du" not in html
    assert client.get("/tout-construire/rapport.csv").status_code == 404


def test_a_plain_report_is_offered_and_dated(tmp_path):
    ws = tmp_path / "espace"
    write_case(ws / "diallo", default_case())
    write_case(ws / "sow", default_case())
    (ws / "construits").mkdir()
    (ws / "construits" / "rapport.csv").write_text("dossier;statut\n", encoding="utf-8")
    client = _desk(ws)
    html = _get(client, "/")
    assert "Télécharger rapport.csv" in html and 'id="rapport-date">Rapport du ' in html
    assert "Télécharger rapport.csv" in _get(client, "/tout-construire")
    assert client.get("/tout-construire/rapport.csv").status_code == 200
