"""`refere web`: the routes, driven with Flask's test client and real uploaded files."""

from __future__ import annotations

import html as html_lib
import io
import re
import shutil
import zipfile
from pathlib import Path

import pikepdf
import pytest
import yaml

from conftest import copy_example, make_jpeg, make_pdf, make_png
from refere.affaire.loader import load
from refere.errors import CaseInvalid
from refere.web import serve, store
from refere.web.app import create_app


@pytest.fixture
def ws(tmp_path) -> Path:
    w = tmp_path / "espace"
    w.mkdir()
    copy_example(w / "exemple-94")
    # A case still being prepared has no signature date yet: uploads may add later attempts.
    yaml_path = w / "exemple-94" / "dossier.yaml"
    yaml_path.write_text(re.sub(r"(?m)^  date: 2025-09-29\n", "", yaml_path.read_text(encoding="utf-8")),
                         encoding="utf-8")
    return w


@pytest.fixture
def client(ws):
    app = create_app(ws, limits=store.Limits(file_bytes=3 * 1024 * 1024, case_bytes=60 * 1024 * 1024), workers=1)
    app.testing = True
    return app.test_client()


def _token(html: str, name: str = "_csrf") -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    return m[1] if m else ""


def page(client, url):
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    html = r.get_data(as_text=True)
    return html, {"_csrf": _token(html), **({"_version": _token(html, "_version")} if "_version" in html else {})}


def visible_text(html: str) -> str:
    """What a person reads: no tags, no attribute values (ids and links may hold a field's path)."""
    html = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def case_file(ws, cid="exemple-94") -> Path:
    return ws / cid / "dossier.yaml"


def png_bytes(tmp_path, name, **kw) -> bytes:
    return make_png(tmp_path / "src" / name, size=(300, 600), **kw).read_bytes()


# ---------------------------------------------------------------- pages and headers


def test_every_page_is_french_with_strict_csp(client):
    for url in ["/", "/d/exemple-94/", "/d/exemple-94/captures", "/d/exemple-94/pieces",
                "/d/exemple-94/verification", "/d/exemple-94/construction", "/tout-construire"]:
        r = client.get(url)
        assert r.status_code == 200
        assert '<html lang="fr">' in r.get_data(as_text=True)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
        # No external resource: every src/href is on this server.
        assert not re.search(r'(src|href)="(https?:)?//', r.get_data(as_text=True))


def test_workspace_lists_states(client, ws):
    html, _ = page(client, "/")
    assert "exemple-94" in html and "jamais construit" in html
    assert "Karim BENALI" in html


def test_case_id_is_never_a_path(client, ws):
    (ws.parent / "dehors").mkdir()
    (ws.parent / "dehors" / "dossier.yaml").write_text("version: 1\n")
    for url in ["/d/..%2Fdehors/", "/d/../dehors/", "/d/%2e%2e/captures", "/d/exemple-94/fichiers/..%2F..%2Fdossier.yaml",
                "/d/exemple-94/fichiers/dossier.yaml"]:
        assert client.get(url).status_code == 404, url


def test_new_case_makes_a_slug_folder(client, ws):
    _, tok = page(client, "/")
    r = client.post("/nouveau", data={"_csrf": tok["_csrf"], "nom": "../Diallo Aïssatou/"})
    assert r.status_code == 302 and r.location.endswith("/d/diallo-aissatou/")
    assert (ws / "diallo-aissatou" / "dossier.yaml").is_file()
    assert not (ws.parent / "Diallo Aïssatou").exists()
    html, _ = page(client, "/d/diallo-aissatou/")
    # Never saved: a neutral hint on the form; the check page says the same, in the form's words.
    assert re.search(r'id="indice-requerant.nom">à remplir', html)
    html, _ = page(client, "/d/diallo-aissatou/verification")
    assert "nom de famille</strong> : à remplir" in html and "valeur à compléter" not in html


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, ws):
    before = case_file(ws).read_bytes()
    r = client.post("/d/exemple-94/", data={"requerant.nom": "PIRATE"})
    assert r.status_code == 400 and "expiré" in r.get_data(as_text=True)
    r = client.post("/d/exemple-94/", data={"_csrf": "faux", "requerant.nom": "PIRATE"})
    assert r.status_code == 400
    assert case_file(ws).read_bytes() == before
    assert client.post("/nouveau", data={"nom": "x"}).status_code == 400
    assert not (ws / "x").exists()


# ---------------------------------------------------------------- saving the form


def test_unchanged_form_leaves_the_file_byte_identical(client, ws):
    before = case_file(ws).read_bytes()
    html, tok = page(client, "/d/exemple-94/")
    form = dict(re.findall(r'<input type="(?:text|date|tel|email|url)" id="[^"]*" name="([^"]+)" value="([^"]*)"', html))
    form.update(tok)
    r = client.post("/d/exemple-94/", data=form)
    assert r.status_code == 302
    assert case_file(ws).read_bytes() == before


def test_save_keeps_comments_and_order_and_shows_loader_errors(client, ws):
    text = case_file(ws).read_text("utf-8")
    case_file(ws).write_text("# commentaire à garder\n" + text, "utf-8")
    _, tok = page(client, "/d/exemple-94/")
    r = client.post("/d/exemple-94/", data={**tok, "requerant.nom": "BENALI-SAÏD", "requerant.courriel": "pas-un-courriel",
                                            "urgence[nouveau].fait": "son employeur ne pourra plus l'employer",
                                            "urgence[nouveau].motif": "emploi", "urgence[nouveau].echeance": "2025-11-15"})
    assert r.status_code == 302
    new = case_file(ws).read_text("utf-8")
    assert new.startswith("# commentaire à garder\n")
    data = yaml.safe_load(new)
    assert data["requerant"]["nom"] == "BENALI-SAÏD"
    assert list(data["requerant"])[:3] == ["civilite", "nom", "prenoms"]
    assert data["urgence"][-1]["motif"] == "emploi" and data["urgence"][-1]["fait"].startswith("son employeur")
    html, _ = page(client, "/d/exemple-94/")
    assert re.search(r'id="err-requerant.courriel">adresse électronique invalide « pas-un-courriel »', html)


def test_departement_shows_tribunal_and_prefet(client, ws):
    html, _ = page(client, "/d/exemple-94/")
    assert "tribunal administratif de Melun" in html and "le préfet du Val-de-Marne" in html
    r = client.get("/api/departement?code=93")
    assert r.json["prefet"] == "le préfet de la Seine-Saint-Denis"
    assert client.get("/api/departement?code=20").status_code == 404


def test_second_tab_saving_over_a_newer_version_is_refused(client, ws):
    _, tab1 = page(client, "/d/exemple-94/")
    _, tab2 = page(client, "/d/exemple-94/")
    assert client.post("/d/exemple-94/", data={**tab1, "requerant.prenoms": "Karim Ali"}).status_code == 302
    saved = case_file(ws).read_bytes()
    r = client.post("/d/exemple-94/", data={**tab2, "requerant.prenoms": "Autre"}, follow_redirects=True)
    assert "modifié ailleurs" in r.get_data(as_text=True) and "rechargez" in r.get_data(as_text=True)
    assert case_file(ws).read_bytes() == saved


# ---------------------------------------------------------------- captures


def test_captures_upload_dates_flags_duplicates_and_asks_undated(client, ws, tmp_path):
    cid = "exemple-94"
    before = len(load(case_file(ws)).tentatives)
    _, tok = page(client, f"/d/{cid}/captures")
    a = png_bytes(tmp_path, "a.png", text="a")
    files = [
        (io.BytesIO(a), "Screenshot_20250929-085512.png"),
        (io.BytesIO(a), "Screenshot_20250930-090000.png"),  # same content: a duplicate
        (io.BytesIO(make_jpeg(tmp_path / "src" / "j.jpg", taken="2025:09:30 00:04:10").read_bytes()), "IMG_0001.jpg"),
        (io.BytesIO(png_bytes(tmp_path, "b.png", text="b")), "capture.png"),  # no date anywhere
        (io.BytesIO(b"%PDF-1.7\nce n'est pas un pdf"), "faux.pdf"),
        (io.BytesIO(b"GIF89a......"), "anim.gif"),
    ]
    r = client.post(f"/d/{cid}/captures/envoyer", data={**tok, "fichiers": files}, content_type="multipart/form-data")
    assert r.status_code == 302
    html, tok = page(client, f"/d/{cid}/captures")
    assert "2 tentatives ajoutées" in html
    assert "« Screenshot_20250930-090000.png » a le même contenu que « Screenshot_20250929-085512.png »" in html
    assert "Sans date : capture.png" in html
    assert "faux.pdf" in html and "PDF endommagé" in html
    assert "format GIF non accepté" in html
    case = load(case_file(ws))
    assert len(case.tentatives) == before + 2
    stamps = sorted(t.date.strftime("%Y-%m-%d %H:%M") for t in case.tentatives[before:])
    assert stamps == ["2025-09-29 08:55", "2025-09-30 00:04"]
    names = sorted(p.name for p in (ws / cid / "captures").iterdir())
    # Server-made names keep the date; nothing half-written or foreign is left.
    assert "20250929-085512-" + __import__("hashlib").sha256(a).hexdigest()[:8] + ".png" in names
    assert not [n for n in names if n.startswith(".") or n.endswith((".gif",)) or n == "faux.pdf"]
    undated = [n for n in names if n.startswith("sans-date-")]
    assert len(undated) == 1
    # The undated one is given its date.
    r = client.post(f"/d/{cid}/captures/dater", data={**tok, "nom": undated[0], "date": "2025-09-30T21:10"})
    assert r.status_code == 302
    case = load(case_file(ws))
    assert case.tentatives[-1].date.strftime("%Y-%m-%d %H:%M") == "2025-09-30 21:10"
    assert case.tentatives[-1].capture.written == f"captures/{undated[0]}"


def test_capture_dated_in_the_future_is_put_aside_asking_its_date_as_the_cli_does(client, ws, tmp_path):
    """A phone whose clock is wrong: the capture is kept, not added as an attempt (the case would be
    blocked), and its real date is asked for, as « refere captures --ajouter » does (attack 32)."""
    cid = "exemple-94"
    before = len(load(case_file(ws)).tentatives)
    _, tok = page(client, f"/d/{cid}/captures")
    files = [(io.BytesIO(png_bytes(tmp_path, "f.png", text="f")), "Screenshot_20381231-235959.png")]
    r = client.post(f"/d/{cid}/captures/envoyer", data={**tok, "fichiers": files}, content_type="multipart/form-data")
    assert r.status_code == 302
    html, tok = page(client, f"/d/{cid}/captures")
    assert "0 tentative ajoutée" in html
    assert ("« Screenshot_20381231-235959.png » est datée du 31 décembre 2038 à 23\xa0h\xa059, dans le futur "
            "(horloge du téléphone mal réglée ?)") in html
    assert "Sans date : Screenshot_20381231-235959.png" in html
    assert len(load(case_file(ws)).tentatives) == before
    kept = [p.name for p in (ws / cid / "captures").iterdir() if p.name.startswith("20381231-235959-")]
    assert len(kept) == 1  # kept, to be dated by hand
    r = client.post(f"/d/{cid}/captures/dater", data={**tok, "nom": kept[0], "date": "2025-09-30T21:10"})
    assert r.status_code == 302
    assert load(case_file(ws)).tentatives[-1].capture.written == f"captures/{kept[0]}"


def test_attempts_list_is_editable(client, ws):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/captures")
    r = client.post(f"/d/{cid}/captures", data={**tok, "tentatives[0].supprimer": "oui", "tentatives[1].note": "page blanche",
                                                 "tentatives[2].date": "2025-09-04T12:41"})
    assert r.status_code == 302
    data = yaml.safe_load(case_file(ws).read_text("utf-8"))
    assert data["tentatives"][0]["note"] == "page blanche"
    assert data["tentatives"][0]["capture"] == "captures/Screenshot_20250902-000327.png"
    assert str(data["tentatives"][1]["date"]) == "2025-09-04 12:41"
    assert len(data["tentatives"]) == 9


def test_path_traversal_file_name_stays_in_the_case_folder(client, ws, tmp_path):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/captures")
    evil = "../../../Screenshot_20250929-101010.png"
    r = client.post(f"/d/{cid}/captures/envoyer",
                    data={**tok, "fichiers": [(io.BytesIO(png_bytes(tmp_path, "e.png", text="e")), evil)]},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    assert not list(ws.parent.glob("Screenshot*")) and not list(ws.glob("Screenshot*"))
    stored = [p for p in (ws / cid / "captures").iterdir() if p.name.startswith("20250929-101010-")]
    assert len(stored) == 1
    assert load(case_file(ws)).tentatives[-1].capture.written == f"captures/{stored[0].name}"
    # Dating a « capture » named with a path is refused.
    _, tok = page(client, f"/d/{cid}/captures")
    assert client.post(f"/d/{cid}/captures/dater", data={**tok, "nom": "../dossier.yaml", "date": "2025-09-30T21:10"}).status_code == 404


def test_oversized_file_is_refused_in_french(client, ws, tmp_path):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/pieces")
    big = make_pdf(tmp_path / "big.pdf").read_bytes() + b"\n%" + b"x" * (3 * 1024 * 1024)
    before = sorted(p.name for p in (ws / cid / "pieces").iterdir())
    r = client.post(f"/d/{cid}/pieces/envoyer", data={**tok, "titre": "Gros", "categorie": "autre",
                                                       "fichiers": [(io.BytesIO(big), "gros.pdf")]},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "dépasse la taille permise par fichier (3 Mo)" in r.get_data(as_text=True)
    assert sorted(p.name for p in (ws / cid / "pieces").iterdir()) == before
    # Over the whole request limit: a French page, status 413.
    app = create_app(ws, limits=store.Limits(file_bytes=1024, case_bytes=1024))
    c2 = app.test_client()
    _, tok2 = page(c2, f"/d/{cid}/pieces")
    r = c2.post(f"/d/{cid}/pieces/envoyer", data={**tok2, "titre": "x", "fichiers": [(io.BytesIO(big), "gros.pdf")]},
                content_type="multipart/form-data")
    assert r.status_code == 413 and "trop gros" in r.get_data(as_text=True)


# ---------------------------------------------------------------- pièces


def test_pieces_upload_reorder_remove(client, ws, tmp_path):
    cid = "exemple-94"
    n0 = len(load(case_file(ws)).pieces)
    _, tok = page(client, f"/d/{cid}/pieces")
    recto = make_jpeg(tmp_path / "r.jpg").read_bytes()
    verso = make_jpeg(tmp_path / "v.jpg", size=(700, 400)).read_bytes()
    r = client.post(f"/d/{cid}/pieces/envoyer", data={**tok, "titre": "Passeport", "categorie": "identite", "id": "passeport",
                                                       "fichiers": [(io.BytesIO(recto), "recto.jpg"), (io.BytesIO(verso), "verso.jpg")]},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    _, tok = page(client, f"/d/{cid}/pieces")
    courriel = make_pdf(tmp_path / "c.pdf", pages=2).read_bytes()
    client.post(f"/d/{cid}/pieces/envoyer", data={**tok, "titre": "Courriel du 2 octobre", "categorie": "courrier_prefecture",
                                                   "date": "2025-10-02", "fichiers": [(io.BytesIO(courriel), "mail.pdf")]},
                content_type="multipart/form-data")
    case = load(case_file(ws))
    assert [p.titre for p in case.pieces][-2:] == ["Passeport", "Courriel du 2 octobre"]
    passport = case.pieces[-2]
    assert passport.id == "passeport" and len(passport.sources) == 2
    assert all(s.path.parent == ws / cid / "pieces" for s in passport.sources)
    assert (ws / cid / "pieces" / Path(case.pieces[-1].fichier.written).name).read_bytes() == courriel
    # Move the last one up, then remove the passport: its files go too.
    _, tok = page(client, f"/d/{cid}/pieces")
    client.post(f"/d/{cid}/pieces", data={**tok, "deplacer": f"{n0 + 1}:haut"})
    assert [p.titre for p in load(case_file(ws)).pieces][-2:] == ["Courriel du 2 octobre", "Passeport"]
    _, tok = page(client, f"/d/{cid}/pieces")
    client.post(f"/d/{cid}/pieces", data={**tok, f"pieces[{n0 + 1}].supprimer": "oui"})
    case = load(case_file(ws))
    assert [p.titre for p in case.pieces][-1] == "Courriel du 2 octobre"
    assert not any(s.path.exists() for s in passport.sources)


def test_fake_pdf_piece_is_refused(client, ws):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/pieces")
    before = case_file(ws).read_bytes()
    r = client.post(f"/d/{cid}/pieces/envoyer", data={**tok, "titre": "Faux", "fichiers": [(io.BytesIO(b"<html>pas un pdf"), "x.pdf")]},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "ni une image PNG ou JPEG ni un PDF" in r.get_data(as_text=True)
    assert case_file(ws).read_bytes() == before
    assert not [p for p in (ws / cid / "pieces").iterdir() if p.name.startswith((".", "faux"))]


def _with_attempts(ws, n: int) -> bytes:
    """The example case grown to ``n`` attempts (no capture: what the count does is the point)."""
    data = yaml.safe_load(case_file(ws).read_text("utf-8"))
    start = len(data["tentatives"])
    data["tentatives"] += [{"date": f"2025-0{1 + i // 40000}-{1 + i // 1440 % 28:02d} {i // 60 % 24:02d}:{i % 60:02d}"}
                           for i in range(n - start)]
    case_file(ws).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return case_file(ws).read_bytes()


def test_an_upload_that_would_pass_the_attempt_limit_is_refused_before_anything_is_written(client, ws, tmp_path):
    from refere.affaire.model import MAX_TENTATIVES
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/")
    before = _with_attempts(ws, MAX_TENTATIVES - 2)
    caps_before = sorted(p.name for p in (ws / cid / "captures").iterdir())
    pngs = [png_bytes(tmp_path, f"{i}.png", text=str(i)) for i in range(3)]

    def files(n):
        return [(io.BytesIO(pngs[i]), f"Screenshot_20250929-08551{i}.png") for i in range(n)]

    r = client.post(f"/d/{cid}/captures/envoyer", data={**tok, "_version": store.version_of(case_file(ws)), "fichiers": files(3)},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    with client.session_transaction() as sess:
        flashed = [m for _, m in sess.get("_flashes", [])]
    assert flashed == [f"Envoi refusé : ce dossier a {MAX_TENTATIVES - 2} tentatives et cet envoi apporte 3 captures ; "
                       f"un dossier en compte au plus {MAX_TENTATIVES}. Rien n'a été enregistré : envoyez seulement "
                       "les captures les plus parlantes."]
    assert case_file(ws).read_bytes() == before
    assert sorted(p.name for p in (ws / cid / "captures").iterdir()) == caps_before
    # Two fit: added, and the case still reads.
    r = client.post(f"/d/{cid}/captures/envoyer", data={**tok, "_version": store.version_of(case_file(ws)),
                                                        "fichiers": files(2)}, content_type="multipart/form-data")
    assert r.status_code == 302 and len(load(case_file(ws)).tentatives) == MAX_TENTATIVES


def test_refere_captures_never_writes_more_attempts_than_a_case_may_have(ws, tmp_path):
    from refere.affaire.model import MAX_TENTATIVES
    from refere.preuves import captures
    import datetime as dt
    before = _with_attempts(ws, MAX_TENTATIVES)
    make_png(ws / "exemple-94" / "captures" / "nouvelle.png", size=(300, 600))
    shot = captures.Shot("captures/nouvelle.png", dt.datetime(2025, 9, 30, 9, 0), "nom du fichier", "0" * 64)
    with pytest.raises(CaseInvalid) as exc:
        captures.merge(case_file(ws), captures.Scan([shot], [], []))
    assert exc.value.problems[0].message.startswith(f"{MAX_TENTATIVES + 1} tentatives avec ces captures, au plus "
                                                    f"{MAX_TENTATIVES} dans un dossier : rien n'a été ajouté")
    assert case_file(ws).read_bytes() == before


def test_a_case_too_big_without_alias_says_how_big_not_alias(tmp_path):
    text = "tentatives:\n" + "".join(f"  - date: 2025-09-01 08:{i % 60:02d}\n    capture: captures/c{i}.png\n"
                                      for i in range(10_000))
    (tmp_path / "dossier.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CaseInvalid) as exc:
        load(tmp_path / "dossier.yaml")
    msg = exc.value.problems[0].message
    assert msg.startswith("fichier trop gros : 50\u202f003 éléments (champs, valeurs, tentatives…), au plus 40\u202f000")
    assert "alias" not in msg


# ---------------------------------------------------------------- check, build, download


def test_check_page_shows_report_and_figures(client):
    html, _ = page(client, "/d/exemple-94/verification")
    assert "10 tentatives" in html and "4 semaines distinctes" in html
    assert "Avertissements" in html and "Problèmes bloquants (0)" in html


def test_build_then_download_files_and_zip(client, ws):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/construction")
    r = client.post(f"/d/{cid}/construction", data={**tok, "confirmer": "oui"})
    assert r.status_code == 302
    html, _ = page(client, f"/d/{cid}/construction")
    assert "Dossier construit" in html and "Télérecours citoyens" in html and "tribunal administratif de Melun" in html
    # Not everyone has a printer and a scanner: the other ways to sign and file are said.
    assert "Sans imprimante" in html and "R. 414-6" in html and "Sur papier" in html and "renseignez-vous auprès du greffe" in html
    manifest = yaml.safe_load((ws / cid / "dossier" / "inventaire.json").read_text("utf-8"))
    first = manifest["pieces"][0]["fichier"]
    r = client.get(f"/d/{cid}/fichiers/{first}")
    assert r.status_code == 200 and r.data == (ws / cid / "dossier" / first).read_bytes()
    r = client.get(f"/d/{cid}/dossier.zip")
    z = zipfile.ZipFile(io.BytesIO(r.data))
    names = z.namelist()
    assert names[0] == f"{cid}/requete.docx" and f"{cid}/dossier-complet.pdf" in names
    assert [n for n in names if "/pieces/" in n] == [f"{cid}/{p['fichier']}" for p in manifest["pieces"]]
    with pikepdf.open(io.BytesIO(z.read(f"{cid}/{first}"))) as pdf:
        assert len(pdf.pages) == manifest["pieces"][0]["pages"]
    # The same build zips to the same bytes.
    assert client.get(f"/d/{cid}/dossier.zip").data == r.data
    html, _ = page(client, "/")
    assert "jamais construit" not in html


def test_blocking_case_builds_only_as_projet(client, ws):
    cid = "exemple-94"
    data = yaml.safe_load(case_file(ws).read_text("utf-8"))
    data["tentatives"] = data["tentatives"][:2]
    case_file(ws).write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    _, tok = page(client, f"/d/{cid}/construction")
    client.post(f"/d/{cid}/construction", data=tok)
    html, _ = page(client, f"/d/{cid}/construction")
    assert "Rien n'a été construit" in html and not (ws / cid / "dossier").exists()
    client.post(f"/d/{cid}/construction", data={**tok, "brouillon": "oui"})
    html, _ = page(client, f"/d/{cid}/construction")
    assert "PROJET seulement" in html
    assert yaml.safe_load((ws / cid / "dossier" / "inventaire.json").read_text("utf-8"))["brouillon"] is True


def test_one_build_at_a_time_per_case(client, ws):
    lock = store.build_lock(ws / "exemple-94")
    lock.acquire()
    try:
        _, tok = page(client, "/d/exemple-94/construction")
        client.post("/d/exemple-94/construction", data={**tok, "confirmer": "oui"})
        html, _ = page(client, "/d/exemple-94/construction")
        assert "déjà en cours" in html
    finally:
        lock.release()


def test_tout_construire_writes_rapport_csv(client, ws):
    shutil.copytree(ws / "exemple-94", ws / "autre")
    (ws / "casse").mkdir()
    (ws / "casse" / "dossier.yaml").write_text("version: 1\n", "utf-8")
    shutil.copytree(ws / "exemple-94", ws / "court")
    data = yaml.safe_load(case_file(ws, "court").read_text("utf-8"))
    data["tentatives"] = data["tentatives"][:2]
    case_file(ws, "court").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    _, tok = page(client, "/")
    assert client.post("/tout-construire", data=tok).status_code == 302
    import time
    runner = client.application.extensions["refere_batch"]
    for _ in range(1200):
        if not runner.state.running:
            break
        time.sleep(0.1)
    html, _ = page(client, "/tout-construire")
    assert "Terminé" in html and "2 construit(s) ou à jour, 2 en échec" in html
    # Per failed case: one short sentence in words first (no code chip), the whole error folded away.
    row = re.search(r'<tr><th scope="row"><a href="/d/court/">.*?</tr>', html, re.S)[0]
    cells = re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S)
    reason = dict(cells)["Ce qui bloque"]
    assert not re.search(r"<code>[a-z0-9-]+</code>", reason)  # words, not the codes (rapport.csv has them)
    short = re.search(r'<span class="court">([^<]*)</span>', reason)[1]
    assert 0 < len(short) <= 160 and "<details>" in reason
    assert dict(cells)["Avertissements"].strip().isdigit()  # the warnings count, though it failed
    broken = re.search(r'<tr><th scope="row"><a href="/d/casse/">.*?</tr>', html, re.S)[0]
    assert "Ce qui bloque" in broken and "la liste des tentatives" in broken
    assert "requerant" not in broken and "dossier.yaml:" not in broken
    r = client.get("/tout-construire/rapport.csv")
    import csv

    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["dossier", "statut"] and len(rows) == 5
    # The example's warning, in words, one per line inside its cell (never joined by « | »).
    texts = {row[0]: row[-1] for row in rows[1:]}
    assert texts["autre"] and " | " not in texts["autre"] and not texts["autre"].startswith(("'", "-"))


# ---------------------------------------------------------------- password and server


def test_password_required_off_localhost(ws, monkeypatch):
    from refere.errors import RefereError
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with pytest.raises(RefereError, match="en clair.*--derriere-proxy"):
        serve.make_server(ws, "0.0.0.0", 0)  # never plain HTTP on the network, even with a password
    monkeypatch.delenv(serve.PASSWORD_ENV)
    with pytest.raises(RefereError, match="REFERE_MOT_DE_PASSE"):
        serve.make_server(ws, "127.0.0.1", 0, behind_proxy=True)
    app = create_app(ws, password="sésame")
    c = app.test_client()
    r = c.get("/d/exemple-94/")
    assert r.status_code == 302 and "/connexion" in r.location
    html, tok = page(c, "/connexion")
    assert c.post("/connexion", data={**tok, "mot_de_passe": "non"}).status_code == 200
    r = c.post("/connexion?suite=/d/exemple-94/", data={**tok, "mot_de_passe": "sésame"})
    assert r.status_code == 302 and r.location.endswith("/d/exemple-94/")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert c.get("/d/exemple-94/").status_code == 200


def test_server_serves_on_a_free_local_port(ws):
    import threading
    import urllib.request

    server = serve.make_server(ws, "127.0.0.1", 0)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        url = serve.address(server, "127.0.0.1")
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200 and "exemple-94" in resp.read().decode()
    finally:
        server.close()


def test_case_size_limit_is_refused_in_french(ws, tmp_path):
    app = create_app(ws, limits=store.Limits(file_bytes=3 * 1024 * 1024, case_bytes=store.folder_size(ws / "exemple-94") + 1000))
    c = app.test_client()
    _, tok = page(c, "/d/exemple-94/captures")
    r = c.post("/d/exemple-94/captures/envoyer",
               data={**tok, "fichiers": [(io.BytesIO(png_bytes(tmp_path, "z.png", text="z")), "Screenshot_20250929-101010.png")]},
               content_type="multipart/form-data", follow_redirects=True)
    assert "ferait dépasser la taille permise pour un dossier" in r.get_data(as_text=True)
    assert not [p for p in (ws / "exemple-94" / "captures").iterdir() if p.name.startswith(("2025", "."))]


@pytest.mark.parametrize("signame, code", [("SIGINT", 0), ("SIGTERM", 143)])
def test_command_prints_its_address_and_stops_cleanly_on_ctrl_c(ws, signame, code):
    """Ctrl-C ends the server normally; SIGTERM with the shell's code, as every other command."""
    import os
    import queue
    import signal
    import subprocess
    import sys
    import threading
    import urllib.request

    # Generous bounds, waited on as conditions: CI runs this on 2 cores with a load of ~10.
    limit = 120
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(serve.PASSWORD_ENV, None)
    proc = subprocess.Popen([sys.executable, "-m", "refere", "web", str(ws), "--port", "0", "--sans-navigateur"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(ln) for ln in iter(proc.stdout.readline, "")], daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=limit)  # raises queue.Empty if the server never says where it listens
        url = re.search(r"http://localhost:\d+/", first)[0]
        with urllib.request.urlopen(url, timeout=limit) as resp:
            assert "exemple-94" in resp.read().decode()
        proc.send_signal(getattr(signal, signame))
        proc.wait(timeout=limit)
        reader.join(timeout=limit)
        err = proc.stderr.read()
    finally:
        proc.kill()
    out = first + "".join(lines.queue)
    assert proc.returncode == code, err
    assert "Serveur arrêté." in out and "Traceback" not in err


def test_command_refuses_a_network_address_and_a_proxy_without_password(ws):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != serve.PASSWORD_ENV}
    r = subprocess.run([sys.executable, "-m", "refere", "web", str(ws), "--hote", "0.0.0.0", "--port", "0",
                        "--sans-navigateur"], capture_output=True, text=True, env={**env, serve.PASSWORD_ENV: "x"},
                       timeout=60)
    assert r.returncode == 1 and "--derriere-proxy" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "refere", "web", str(ws), "--derriere-proxy", "--port", "0",
                        "--sans-navigateur"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1 and "REFERE_MOT_DE_PASSE" in r.stderr and "Traceback" not in r.stderr


def test_upload_never_follows_a_symlinked_folder_out_of_the_case(client, ws, tmp_path):
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    pieces = ws / "exemple-94" / "pieces"
    shutil.rmtree(pieces)
    pieces.symlink_to(outside, target_is_directory=True)
    _, tok = page(client, "/d/exemple-94/pieces")
    r = client.post("/d/exemple-94/pieces/envoyer", data={**tok, "titre": "X", "fichiers": [(io.BytesIO(make_pdf(tmp_path / "x.pdf").read_bytes()), "x.pdf")]},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "est un lien" in r.get_data(as_text=True)
    assert list(outside.iterdir()) == []


def test_urgency_fact_with_its_proof_upload(client, ws, tmp_path):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/")
    contrat = make_pdf(tmp_path / "contrat.pdf", pages=3, text="Contrat").read_bytes()
    r = client.post(f"/d/{cid}/", data={**tok, "urgence[nouveau].motif": "emploi",
                                        "urgence[nouveau].fait": "son employeur ne pourra plus l'employer après le 15 novembre 2025",
                                        "urgence[nouveau].preuve": [(io.BytesIO(contrat), "contrat de travail.pdf")]},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    case = load(case_file(ws))
    fact = case.urgence[-1]
    assert fact.motif == "emploi" and fact.preuves == ["urgence-emploi-1"]
    piece = case.pieces[case.pieces_by_id["urgence-emploi-1"]]
    assert piece.categorie == "urgence" and piece.fichier.path.read_bytes() == contrat
    assert piece.fichier.path.parent == ws / cid / "pieces"
    # A second proof for the same fact gets its own id.
    _, tok = page(client, f"/d/{cid}/")
    i = len(case.urgence) - 1
    client.post(f"/d/{cid}/", data={**tok, f"urgence[{i}].preuve": [(io.BytesIO(make_jpeg(tmp_path / "b.jpg").read_bytes()), "bulletin.jpg")]},
                content_type="multipart/form-data")
    assert load(case_file(ws)).urgence[-1].preuves == ["urgence-emploi-1", "urgence-emploi-2"]


def test_many_captures_at_once_keep_the_session_small(client, ws, tmp_path):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/captures")
    files = []
    for k in range(60):
        when = f"202510{1 + k // 4:02d}-{8 + k % 4:02d}1500"
        files.append((io.BytesIO(png_bytes(tmp_path, f"s{k}.png", text=f"capture {k}")),
                      f"Screenshot_{when}_com.android.chrome_une_application_au_nom_long.png"))
    r = client.post(f"/d/{cid}/captures/envoyer", data={**tok, "fichiers": files}, content_type="multipart/form-data")
    assert len(r.headers.get("Set-Cookie", "")) < 1000
    html, tok = page(client, f"/d/{cid}/captures")
    assert "60 tentatives ajoutées" in html
    # The session (and its CSRF token) survived: the next save works.
    assert client.post(f"/d/{cid}/captures", data={**tok, "tentatives[0].note": "ok"}).status_code == 302
    assert yaml.safe_load(case_file(ws).read_text("utf-8"))["tentatives"][0]["note"] == "ok"


def test_unreadable_yaml_is_shown_never_overwritten(client, ws):
    broken = "version: 1\nrequerant:\n  nom: \"DIALLO\n"
    case_file(ws).write_text(broken, "utf-8")
    html, tok = page(client, "/d/exemple-94/")
    assert "illisible" in html and "guillemet ouvert ligne 3 et jamais fermé" in html
    _, tok = page(client, "/")
    r = client.post("/d/exemple-94/", data={**tok, "_version": store.version_of(case_file(ws)), "requerant.nom": "X"},
                    follow_redirects=True)
    assert "illisible" in r.get_data(as_text=True)
    assert case_file(ws).read_text("utf-8") == broken
    html, _ = page(client, "/")
    assert "bloquant (à corriger)" in html


def test_local_server_answers_only_to_local_host_names(ws):
    app = create_app(ws, trusted_hosts=["localhost", "127.0.0.1", "::1", "[::1]"])
    c = app.test_client()
    assert c.get("/", headers={"Host": "localhost:8765"}).status_code == 200
    assert c.get("/", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    r = c.get("/", headers={"Host": "attaquant.example:8765"})
    assert r.status_code == 400 and "Requête refusée" in r.get_data(as_text=True)


def test_started_on_a_case_folder_says_so(ws):
    c = create_app(ws / "exemple-94").test_client()
    html, _ = page(c, "/")
    assert "c'est une affaire, pas un espace" in html


def test_captures_are_viewable_to_read_their_date_and_nothing_else(client, ws, tmp_path):
    cid = "exemple-94"
    r = client.get(f"/d/{cid}/captures/voir/Screenshot_20250901-085227.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data == (ws / cid / "captures" / "Screenshot_20250901-085227.png").read_bytes()
    for bad in ["..%2Fdossier.yaml", "%2E%2E", ".cache", "absent.png"]:
        assert client.get(f"/d/{cid}/captures/voir/{bad}").status_code == 404, bad
    make_pdf(ws / cid / "captures" / "scan.pdf")
    r = client.get(f"/d/{cid}/captures/voir/scan.pdf")
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("attachment")
    html, _ = page(client, f"/d/{cid}/captures")
    assert 'href="/d/exemple-94/captures/voir/scan.pdf"' in html  # the unused one is offered for dating


def test_next_step_buttons_save_what_was_typed_before_leaving(client, ws):
    """« Enregistrer et passer à … » saves, then goes to the next page: typing is never lost."""
    cid = "exemple-94"
    html, tok = page(client, f"/d/{cid}/")
    assert 'name="_suite" value="captures"' in html and "Étape suivante" not in html
    r = client.post(f"/d/{cid}/", data={**tok, "requerant.nom": "BENALI-SAÏD", "_suite": "captures"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/d/{cid}/captures")
    assert yaml.safe_load(case_file(ws).read_text("utf-8"))["requerant"]["nom"] == "BENALI-SAÏD"
    html, tok = page(client, f"/d/{cid}/captures")
    r = client.post(f"/d/{cid}/captures", data={**tok, "tentatives[1].note": "page blanche", "_suite": "pieces"})
    assert r.headers["Location"].endswith(f"/d/{cid}/pieces")
    assert yaml.safe_load(case_file(ws).read_text("utf-8"))["tentatives"][1]["note"] == "page blanche"
    html, tok = page(client, f"/d/{cid}/pieces")
    r = client.post(f"/d/{cid}/pieces", data={**tok, "pieces[0].titre": "Passeport (copie)", "_suite": "verification"})
    assert r.headers["Location"].endswith(f"/d/{cid}/verification")
    assert yaml.safe_load(case_file(ws).read_text("utf-8"))["pieces"][0]["titre"] == "Passeport (copie)"
    # An unknown step is never a redirect target: the page stays.
    html, tok = page(client, f"/d/{cid}/")
    r = client.post(f"/d/{cid}/", data={**tok, "_suite": "//ailleurs.example"})
    assert r.headers["Location"].endswith(f"/d/{cid}/#haut")


def test_mistyped_key_is_shown_with_a_button_that_removes_it(client, ws):
    """`prenom:` for `prenoms:`: the form cannot show it; one POST removes it, comments kept."""
    cid = "exemple-94"
    text = case_file(ws).read_text("utf-8")
    text = text.replace("  prenoms:", "  prenom: \"Karim\"  # faute de frappe\n  prenoms:", 1)
    case_file(ws).write_text("# commentaire à garder\n" + text, "utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 2) if ln.startswith("  prenom:"))
    html, tok = page(client, f"/d/{cid}/")
    assert "Supprimer la clé « prenom »" in html and f"ligne {line}" not in html
    assert "la personne qui demande le rendez-vous : prenom : champ inconnu" in html
    assert 'name="champ" value="requerant.prenom"' in html
    # Without the CSRF token: refused, nothing changes.
    before = case_file(ws).read_bytes()
    assert client.post(f"/d/{cid}/supprimer-cle", data={"champ": "requerant.prenom", "_version": tok["_version"]}).status_code in (400, 403)
    # A key the loader does not name as unknown is never removed.
    r = client.post(f"/d/{cid}/supprimer-cle", data={**tok, "champ": "requerant.nom"}, follow_redirects=True)
    assert "rien n&#39;a été supprimé" in r.get_data(as_text=True) and case_file(ws).read_bytes() == before
    r = client.post(f"/d/{cid}/supprimer-cle", data={**tok, "champ": "requerant.prenom"}, follow_redirects=True)
    assert "Clé « prenom » supprimée." in r.get_data(as_text=True)
    new = case_file(ws).read_text("utf-8")
    assert new.startswith("# commentaire à garder\n") and "prenom:" not in new.replace("prenoms:", "")
    data = yaml.safe_load(new)
    assert data["requerant"]["prenoms"] and "prenom" not in data["requerant"]
    load(case_file(ws))  # the case loads again


def test_jargon_has_plain_help_tied_to_its_input(client, ws):
    html, _ = page(client, "/d/exemple-94/")
    for name, words in [("demandes.astreinte_par_jour", "chaque jour de retard"), ("demandes.frais_l761_1", "remboursement"),
                        ("requerant.numero_etranger", "10 chiffres"), ("procedure.oqtf", "quitter la France"),
                        ("demandes.delai_jours", "jours que le juge laisse"), ("aide_juridictionnelle", "prend en charge"),
                        ("options.captures", "rangées en pièces")]:
        hint = re.search(rf'<small id="aide-{re.escape(name)}">([^<]*)</small>', html)
        assert hint and words in hint[1], name
        tag = re.search(rf'<(?:input|select|textarea)[^>]*id="{re.escape(name)}"[^>]*>', html)[0]
        assert re.search(rf'aria-describedby="[^"]*aide-{re.escape(name)}', tag), name
    # The applicant's words, not the court's; one « par semaine » only.
    assert ">Renouvellement de mon titre de séjour</option>" in html and "Le renouvellement de son" not in html
    assert ">Sa démarche<" not in html
    assert html.count("par semaine (conseillé)") == 1
    assert "pas « je »" in html and "son contrat de travail prend fin le 31 mai 2025" in html


def test_new_case_shows_neutral_hints_until_first_save(client, ws):
    _, tok = page(client, "/")
    r = client.post("/nouveau", data={**tok, "nom": "Nouvelle Personne"})
    assert r.status_code == 302
    html, tok = page(client, "/d/nouvelle-personne/")
    assert "valeur à compléter" not in html and "en-erreur" not in html
    assert re.search(r'<small class="a-remplir" id="indice-requerant.nom">à remplir</small>', html)
    tag = re.search(r'<input[^>]*id="requerant.nom"[^>]*>', html)[0]
    assert "indice-requerant.nom" in tag and "aria-invalid" not in tag
    # After the first save, what is still missing is an error next to its field, in the loader's words.
    client.post("/d/nouvelle-personne/", data={**tok, "requerant.nom": "PERSONNE"})
    assert yaml.safe_load(case_file(ws, "nouvelle-personne").read_text("utf-8"))["requerant"]["nom"] == "PERSONNE"
    html, _ = page(client, "/d/nouvelle-personne/")
    assert re.search(r'id="err-requerant.prenoms">à remplir', html) and "a-remplir" not in html


def test_check_page_names_fields_in_plain_words_counting_from_one(client, ws):
    from refere.web.forms import field_label

    assert field_label("tentatives[11].capture") == "tentative n° 12, capture"
    assert field_label("pieces[0].titre") == "pièce n° 1, titre"
    # A capture that disappeared: the loader's words, and where in plain words.
    text = case_file(ws).read_text("utf-8")
    m = re.search(r"captures/Screenshot_[0-9-]+\.png", text)
    (ws / "exemple-94" / m[0]).unlink()
    index = [t.get("capture") for t in yaml.safe_load(text)["tentatives"]].index(m[0])
    html, _ = page(client, "/d/exemple-94/verification")
    assert f"tentative n° {index + 1}, capture" in html and f"tentatives[{index}]" not in visible_text(html)
    # « Corriger » opens the captures page at that attempt's row.
    assert f'href="/d/exemple-94/captures#tentatives[{index}]"' in html


def test_urgency_proofs_are_ticked_among_existing_pieces(client, ws):
    """No id to type: the pièces that have one are listed; an unknown id shows the loader's error."""
    cid = "exemple-94"
    before = case_file(ws).read_bytes()
    html, tok = page(client, f"/d/{cid}/")
    boxes = re.findall(r'<input type="checkbox" id="urgence\[0\]\.preuves-\d+" name="urgence\[0\]\.preuves_choix" value="([^"]+)" (checked)?', html)
    assert boxes == [("employeur", "checked"), ("titre", "checked"), ("identite", "")]
    assert "ajoutez d'abord la pièce à l'étape Pièces" in html.replace("&#39;", "'")
    # Saving what is shown changes nothing; ticking a box adds that id, in the YAML's flow style.
    form = {**tok, "urgence[0].preuves_cases": "oui", "urgence[0].preuves_choix": ["employeur", "titre"]}
    client.post(f"/d/{cid}/", data=form)
    assert case_file(ws).read_bytes() == before
    _, tok = page(client, f"/d/{cid}/")
    client.post(f"/d/{cid}/", data={**tok, "urgence[0].preuves_cases": "oui",
                                    "urgence[0].preuves_choix": ["employeur", "titre", "identite"]})
    assert "preuves: [employeur, titre, identite]" in case_file(ws).read_text("utf-8")
    # An id typed by hand that no pièce has: kept, ticked, and the loader's error is next to it.
    case_file(ws).write_text(case_file(ws).read_text("utf-8").replace("[employeur, titre, identite]", "[employeur, contrat]"), "utf-8")
    html, _ = page(client, f"/d/{cid}/")
    assert re.search(r'value="contrat" checked>\s*<label[^>]*>« contrat » \(aucune pièce', html.replace("&#39;", "'"))
    err = re.search(r'<p class="erreur-champ" id="err-urgence\[0\]\.preuves">([^<]*)</p>', html)
    assert err and "contrat" in err[1]


def test_uploaded_files_show_the_name_they_had_on_the_phone(client, ws, tmp_path):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/captures")
    files = [(io.BytesIO(make_jpeg(tmp_path / "src" / "j.jpg", taken="2025:09:30 00:04:10").read_bytes()), "IMG_0042.JPG"),
             (io.BytesIO(png_bytes(tmp_path, "u.png", text="u")), "photo sans date.png")]
    client.post(f"/d/{cid}/captures/envoyer", data={**tok, "fichiers": files}, content_type="multipart/form-data")
    data = yaml.safe_load(case_file(ws).read_text("utf-8"))
    stored = next(t["capture"] for t in data["tentatives"] if str(t["date"]).startswith("2025-09-30 00:04"))
    assert stored != "captures/IMG_0042.JPG"  # the server names the file…
    names = store.original_names(ws / cid)
    assert names[stored] == "IMG_0042.JPG"  # …and remembers what it was called
    html, _ = page(client, f"/d/{cid}/captures")
    assert ">IMG_0042.JPG</small></a>" in html
    assert "Envoyée sous le nom « photo sans date.png »" in html
    # A pièce too, and a path in the sent name is reduced to its last part.
    _, tok = page(client, f"/d/{cid}/pieces")
    client.post(f"/d/{cid}/pieces/envoyer", data={**tok, "titre": "Bail", "categorie": "domicile",
                                                  "fichiers": [(io.BytesIO(make_pdf(tmp_path / "b.pdf").read_bytes()), "../Mes documents/bail 2024.pdf")]},
                content_type="multipart/form-data")
    fichier = yaml.safe_load(case_file(ws).read_text("utf-8"))["pieces"][-1]["fichier"]
    assert store.original_names(ws / cid)[fichier] == "bail 2024.pdf"
    html, _ = page(client, f"/d/{cid}/pieces")
    assert "« bail 2024.pdf »" in html


def test_workspace_list_answers_without_reading_captures(ws, monkeypatch):
    """The list shows every case at once; captures not yet read are read by the case's pages."""
    from refere.preuves import lecture
    from refere.web import core

    monkeypatch.setenv("REFERE_LECTURE", "1")
    read = []
    monkeypatch.setattr(lecture, "ocr_image", lambda path, *a, **k: read.append(path))
    monkeypatch.setattr(lecture, "cache_get", lambda sha: None)
    status = core.status(ws / "exemple-94")
    assert status["state"] in (core.PRET, core.AVERT) and read == []


def test_desk_searches_and_filters_the_list(client, ws):
    copy_example(ws / "autre-personne")
    y = case_file(ws, "autre-personne")
    y.write_text(y.read_text("utf-8").replace("BENALI", "DIALLO"), "utf-8")
    _, tok = page(client, "/")
    client.post("/nouveau", data={**tok, "nom": "Nouvelle"})
    html, _ = page(client, "/?q=diallo")
    assert "/d/autre-personne/" in html and "/d/exemple-94/" not in html and "1 dossier sur 3" in html
    html, _ = page(client, "/?q=exemple")
    assert "/d/exemple-94/" in html and "/d/autre-personne/" not in html
    # A new case reads « à remplir », not « bloquant »; the filter finds it by that state.
    html, _ = page(client, "/?etat=a-remplir")
    assert "/d/nouvelle/" in html and "/d/exemple-94/" not in html
    assert re.search(r'<span class="etat etat-a-remplir">à remplir</span>', html)
    html, _ = page(client, "/?etat=avertissements")
    assert "/d/exemple-94/" in html and "constructible avec avertissements" in html and "/d/nouvelle/" not in html
    # « Tout construire » comes before the list.
    html, _ = page(client, "/")
    assert html.index("Tout construire") < html.index('<table class="liste')


def test_build_page_marks_old_builds_and_offers_no_dead_end(client, ws):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/construction")
    assert client.post(f"/d/{cid}/construction", data={**tok, "confirmer": "oui"}).status_code == 302
    html, _ = page(client, f"/d/{cid}/construction")
    assert "Ancienne version" not in html and "à reconstruire" not in html
    # Changed after its build: « à reconstruire » on the build page and in the list.
    import os
    import time
    later = time.time() + 5
    os.utime(case_file(ws), (later, later))
    html, _ = page(client, f"/d/{cid}/construction")
    assert "à reconstruire" in html and "Ancienne version, construite le" in html
    assert "à reconstruire" in page(client, "/")[0]
    # A case file error blocks a projet too: the page says so and offers no « Projet seulement ».
    case_file(ws).write_text(case_file(ws).read_text("utf-8").replace("nom: BENALI", "nom: À COMPLÉTER"), "utf-8")
    html, tok = page(client, f"/d/{cid}/construction")
    assert 'id="brouillon"' not in html and "pas même un projet" in html
    client.post(f"/d/{cid}/construction", data={**tok, "confirmer": "oui"})
    html, _ = page(client, f"/d/{cid}/construction")
    text = visible_text(html)
    assert "Rien n'a été construit" in text and "nom de famille : à remplir" in text and "Ancienne version" in text
    assert "dossier.yaml:" not in text and "requerant" not in text
    assert f'href="/d/{cid}/#requerant.nom"' in html


def test_letter_to_the_prefecture_from_the_build_page(client, ws):
    import docx

    cid = "exemple-94"
    html, tok = page(client, f"/d/{cid}/construction")
    assert "Écrire la lettre" in html and "<title>Karim BENALI — construction — refere</title>" in html
    r = client.post(f"/d/{cid}/courrier", data=tok)
    assert r.status_code == 302 and r.location.endswith("#courrier")
    html, _ = page(client, f"/d/{cid}/construction")
    assert "Lettre écrite, avec 10 tentatives" in html
    r = client.get(f"/d/{cid}/courrier/courrier-prefecture.docx")
    assert r.status_code == 200
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(r.data)).paragraphs)
    assert "BENALI" in text
    assert client.get(f"/d/{cid}/courrier/dossier.yaml").status_code == 404
    assert client.get(f"/d/{cid}/courrier/..%2Fdossier.yaml").status_code == 404


def test_plain_words_are_the_forms_labels():
    """refere.affaire.libelles (used by the CLI and rapport.csv too) names each field as the form labels it."""
    from refere.affaire.libelles import field_words
    from refere.web import forms

    def short(label):
        label = re.sub(r"\s*\([^)]*\)$", "", label)
        return label[0].lower() + label[1:]

    for sec in forms.SECTIONS:
        for f in sec.fields:
            assert field_words(forms.path(sec.key, f.key)).split(" : ", 1)[-1] == short(f.label), f.key
    for name, fields in forms.LISTS.items():
        for f in fields:
            assert field_words(f"{name}[0].{f.key}").split(", ", 1)[1] == short(f.label), (name, f.key)


def test_duplicate_capture_is_named_by_its_attempt(client, ws):
    """Sent again, a capture already proving an attempt: « la tentative n° 1 (…) », never the stored name."""
    cid = "exemple-94"
    first = load(case_file(ws)).tentatives[0].capture.written
    _, tok = page(client, f"/d/{cid}/captures")
    data = (ws / cid / first).read_bytes()
    client.post(f"/d/{cid}/captures/envoyer", data={**tok, "fichiers": [(io.BytesIO(data), "IMG_7777.png")]},
                content_type="multipart/form-data")
    html, _ = page(client, f"/d/{cid}/captures")
    assert f"« IMG_7777.png » a le même contenu que la tentative n° 1 (« {first.split('/')[-1]} »)" in html


def test_piece_form_keeps_what_was_typed_and_refuses_a_piece_sent_twice(client, ws, tmp_path):
    cid = "exemple-94"
    _, tok = page(client, f"/d/{cid}/pieces")
    # No file chosen: refused, and what was typed is still there.
    client.post(f"/d/{cid}/pieces/envoyer", data={**tok, "titre": "Bulletin de salaire", "categorie": "urgence",
                                                    "id": "salaire", "date": "2025-09-01"},
                content_type="multipart/form-data")
    html, tok = page(client, f"/d/{cid}/pieces")
    assert "Choisissez le fichier" in html and 'value="Bulletin de salaire"' in html and 'value="salaire"' in html
    assert re.search(r'<option value="urgence" selected>', html)
    # The same content as a pièce already listed: refused, naming that pièce.
    before = case_file(ws).read_bytes()
    again = (ws / cid / "pieces" / "domicile.pdf").read_bytes()
    client.post(f"/d/{cid}/pieces/envoyer", data={**tok, "titre": "Hébergement", "fichiers": [(io.BytesIO(again), "scan.pdf")]},
                content_type="multipart/form-data")
    html, _ = page(client, f"/d/{cid}/pieces")
    assert "« scan.pdf » a le même contenu que la pièce n° 3 de la liste (« Attestation d&#39;hébergement de M. Rachid Benali »)" in html
    assert case_file(ws).read_bytes() == before
    assert sorted(p.name for p in (ws / cid / "pieces").iterdir() if p.name.startswith("hebergement")) == []


# ---------------------------------------------------------------- persona findings (issue 24, second round)


def test_new_case_form_is_to_fill_not_wrong_and_counts_only_its_own_fields(client, ws):
    _, tok = page(client, "/")
    client.post("/nouveau", data={**tok, "nom": "Aminata Ndiaye"})
    html, tok = page(client, "/d/aminata-ndiaye/")
    # The attempts are on « Captures »: never counted on the form, and a new case has no mistake yet.
    assert "à corriger sur cette page" not in html and "ajoutez au moins une tentative" not in html
    html, _ = page(client, "/d/aminata-ndiaye/captures")
    assert '<p class="a-remplir" id="indice-tentatives">ajoutez au moins une tentative</p>' in html
    assert "erreur-champ" not in html and "à corriger sur cette page" not in html
    # Saved with a wrong e-mail: the message says plainly that it was saved and what is still wrong.
    r = client.post("/d/aminata-ndiaye/", data={**tok, "requerant.nom": "NDIAYE", "requerant.courriel": "pas-un-courriel"},
                    follow_redirects=True)
    text = visible_text(r.get_data(as_text=True))
    assert "Enregistré." not in text
    m = re.search(r"Enregistré, mais (\d+) champs sont à corriger : prénoms, date de naissance, lieu de naissance, "
                  r"nationalité et (\d+) autres\.", text)
    assert m and int(m[2]) == int(m[1]) - 4
    assert f"{m[1]} champs à corriger sur cette page" in text and "courriel" in text
    assert "tentative" not in text.split("sur cette page")[1].split("La personne qui demande")[0]
    # The captures page still counts the missing attempt, now as a mistake.
    html, _ = page(client, "/d/aminata-ndiaye/captures")
    assert '<p class="erreur-champ" id="err-tentatives">ajoutez au moins une tentative</p>' in html
    assert "1 champ à corriger sur cette page" in visible_text(html)


def test_saving_a_page_with_nothing_wrong_just_says_saved(client, ws):
    html, tok = page(client, "/d/exemple-94/")
    r = client.post("/d/exemple-94/", data={**tok, "requerant.telephone": "06 12 34 56 78"}, follow_redirects=True)
    assert '<p class="message ok" role="status">Enregistré.</p>' in r.get_data(as_text=True)
    # Moving on to the next step names the page still to correct.
    html, tok = page(client, "/d/exemple-94/")
    r = client.post("/d/exemple-94/", data={**tok, "requerant.courriel": "faux", "_suite": "captures"},
                    follow_redirects=True)
    assert ("Enregistré, mais 1 champ est à corriger (page « Formulaire ») : courriel."
            in visible_text(r.get_data(as_text=True)))


def test_corriger_opens_a_field_that_says_why(client, ws):
    y = case_file(ws)
    # Signed on the example's date, with a deadline after the permit's expiry: a warning on that field.
    y.write_text(y.read_text("utf-8").replace("demandes:\n", "demandes:\n  rdv_au_plus_tard: 2030-01-01\n")
                 .replace("signature:\n", "signature:\n  date: 2025-09-29\n"), "utf-8")
    html, _ = page(client, "/d/exemple-94/verification")
    assert 'href="/d/exemple-94/#demandes.rdv_au_plus_tard"' in html
    html, _ = page(client, "/d/exemple-94/")
    tag = re.search(r'<input[^>]*id="demandes.rdv_au_plus_tard"[^>]*>', html)[0]
    assert re.search(r'aria-describedby="[^"]*note-demandes.rdv_au_plus_tard"', tag) and "aria-invalid" not in tag
    note = re.search(r'<p class="note-champ" id="note-demandes.rdv_au_plus_tard">([^<]*)</p>', html)
    assert note and note[1].startswith("« rendez-vous au plus tard le » (1er janvier 2030) n&#39;est pas antérieur")
    # Right under its input, inside the same field box.
    box = html[html.rfind('<div class="champ', 0, html.index(tag)):]
    assert box.index(tag) < box.index("note-champ") < box.index("</div>")

    # A warning about the list of attempts is shown under that list, on « Captures ».
    y.write_text(y.read_text("utf-8").replace("  date: 2025-09-29\n", ""), "utf-8")
    html, _ = page(client, "/d/exemple-94/captures")
    assert re.search(r'<p class="note-champ" id="note-tentatives">La dernière tentative date du 25 septembre 2025, '
                     r'\d+ jours avant la requête', html)
    assert "note-champ" not in page(client, "/d/exemple-94/")[0]


def test_a_case_that_cannot_be_built_offers_no_build_step(client, ws):
    y = case_file(ws)
    original = y.read_text("utf-8")
    y.write_text(original.replace("requerant:\n", "requerant:\n  courriel: pas-un-courriel\n", 1), "utf-8")
    text = visible_text(page(client, "/d/exemple-94/verification")[0])
    assert "Le dossier comporte 1 erreur à corriger" in text and "erreur(s)" not in text and "Étape suivante" not in text
    assert "Corrigez d'abord" in text and "la construction sera possible ensuite" in text
    html, _ = page(client, "/d/exemple-94/construction")
    assert "rien ne peut être construit" in html
    assert not re.search(r'<form[^>]*class="construire".*?<button type="submit">Construire</button>', html, re.S)
    assert 'id="pdf"' not in html
    # A case that can be built keeps its step and its button.
    y.write_text(original, "utf-8")
    assert "Étape suivante : construire" in page(client, "/d/exemple-94/verification")[0]
    assert re.search(r'<button type="submit">Construire( quand même)?</button>', page(client, "/d/exemple-94/construction")[0])


def test_list_counts_the_capture_readings_the_cli_cached(client, ws, monkeypatch, tmp_path):
    import os
    import shutil as _shutil
    if _shutil.which("tesseract") is None:
        if os.environ.get("REFERE_EXIGER_TESSERACT") == "1":
            pytest.fail("REFERE_EXIGER_TESSERACT=1 mais Tesseract est absent", pytrace=False)
        pytest.skip("Tesseract (tesseract-ocr, tesseract-ocr-fra) absent : captures non lues")
    """The list's warning count is the check's, using readings already in the user's cache; never a new reading."""
    from refere.pieces.probe import probe
    from refere.preuves import lecture
    from refere.web import core

    monkeypatch.setenv("REFERE_LECTURE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-liste"))
    monkeypatch.setattr(lecture, "ocr_image", lambda *a, **k: pytest.fail("the list read a capture"))
    html, _ = page(client, "/")
    assert '<small class="non-lues">captures pas encore lues</small>' in html and 'id="non-lues"' in html
    # `refere check` (here: its cache, filled directly) read every capture: none could be read.
    # The passport it read bears another name.
    case = load(case_file(ws))
    for t in case.tentatives:
        if t.capture is not None:
            lecture.cache_put(probe(t.capture).sha256, "illisible")
    other = lecture.Ocr([{"texte": "Nom / Surname : MARTIN", "haut": 0.2, "confiance": 90.0}], 4, 90.0)
    for p in case.pieces:
        for src in p.sources:
            if src.kind != "pdf":
                lecture.cache_put(probe(src).sha256, other if p.categorie == "identite" else "illisible")
    html, _ = page(client, "/")
    assert "captures pas encore lues" not in html
    report = core.check(ws / "exemple-94").report
    codes = [f.code for f in report.warnings]
    assert "piece-autre-nom" in codes and codes.count("capture-non-lue") == len(
        [t for t in case.tentatives if t.capture is not None]) > 0
    assert f"<small>({len(codes)} avertissements)</small>" in html


def test_list_says_why_a_case_is_blocked_and_what_to_do_when_nothing_matches(client, ws):
    copy_example(ws / "cisse-o")
    y = case_file(ws, "cisse-o")
    y.write_text(re.sub(r"(?m)^  departement: .*$", '  departement: "20"', y.read_text("utf-8"), count=1), "utf-8")
    html, _ = page(client, "/")
    row = re.search(r'<a href="/d/cisse-o/">.*?</tr>', html, re.S)[0]
    assert "bloquant (à corriger)" in row
    reason = re.search(r'<small class="raison">([^<]*)</small>', row)[1]
    assert reason.startswith("la préfecture : département : ") and "2A" in reason
    # The badge and the filter say the same words.
    copy_example(ws / "sow-m")
    y = case_file(ws, "sow-m")
    data = yaml.safe_load(y.read_text("utf-8"))
    data["tentatives"] = data["tentatives"][:2]
    y.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    html, _ = page(client, "/?etat=bloquant")
    assert '<option value="bloquant" selected>bloquant (preuves)</option>' in html
    row = re.search(r'<a href="/d/sow-m/">.*?</tr>', html, re.S)[0]
    assert '<span class="etat etat-bloquant">bloquant (preuves)</span>' in row and '<small class="raison">' in row
    # A filter that finds nothing says what to do.
    text = visible_text(page(client, "/?etat=pret&q=personne")[0])
    assert ("Aucun dossier dans l'état « prêt à déposer » pour « personne » : choisissez un autre état, "
            "vérifiez l'orthographe du nom, ou affichez tous les dossiers.") in text


def test_one_applicant_sees_no_desk_jargon_and_her_own_name(client, ws):
    html, _ = page(client, "/")
    text = visible_text(html)
    # One case: no folder path, no « Permanence : tout construire » (an association's tools).
    assert "Espace des dossiers" not in text and str(ws) not in text and "Permanence" not in text
    assert "Tout construire" not in text
    html, _ = page(client, "/d/exemple-94/captures")
    name = re.search(r"<h1>([^<]*)<small", html)[1].strip()
    assert name and name != "exemple-94" and name.split()[-1].isupper()
    assert f"<title>{name} — captures — refere</title>" in html
    _, tok = page(client, "/d/exemple-94/construction")
    client.post("/d/exemple-94/construction", data={**tok, "confirmer": "oui"})
    html, _ = page(client, "/d/exemple-94/construction")
    assert '<details class="pour-avocat"><summary>Pour l\'avocat ou l\'association</summary>' in html
    before = visible_text(html.split('<details class="pour-avocat">')[0])
    assert "inventaire.json" not in before and "empreintes" not in visible_text(html)
    # Two cases: the desk's tools are back.
    copy_example(ws / "autre")
    text = visible_text(page(client, "/")[0])
    # The workspace by its name, never its path on the server.
    assert "Permanence : tout construire" in text and "espace des dossiers (pour l'association) : « espace »" in text
    assert str(ws) not in text


def test_prefecture_postal_address_is_a_form_field_used_by_the_letter(client, ws):
    """« Adresse de la préfecture » in the préfecture step: saved as prefecture.adresse, on the letter."""
    import docx

    html, tok = page(client, "/d/exemple-94/")
    assert re.search(r'<label for="prefecture\.adresse">Adresse de la préfecture \(facultatif\)</label>', html)
    assert "sous « CONTRE »" in visible_text(html)
    r = client.post("/d/exemple-94/", data={**tok, "prefecture.adresse": "7 avenue du Général de Gaulle\r\n94000 Créteil"})
    assert r.status_code == 302
    assert yaml.safe_load(case_file(ws).read_text("utf-8"))["prefecture"]["adresse"].strip() == \
        "7 avenue du Général de Gaulle\n94000 Créteil"
    html, tok = page(client, "/d/exemple-94/construction")
    client.post("/d/exemple-94/courrier", data=tok)
    html, _ = page(client, "/d/exemple-94/construction")
    assert "Lettre écrite" in html and "adresse postale de la préfecture" not in visible_text(html)
    r = client.get("/d/exemple-94/courrier/courrier-prefecture.docx")
    lines = [p.text for p in docx.Document(io.BytesIO(r.data)).paragraphs]
    assert "94000 Créteil" in lines and not any("[adresse postale" in t for t in lines)


def test_attempt_notes_are_said_to_go_into_the_requete(client, ws, run):
    """A free note is printed in the requête's table of attempts: the form says so, and so do the
    verification page and `refere check` (for information, not as a warning)."""
    data = yaml.safe_load(case_file(ws).read_text("utf-8"))
    data["tentatives"][1]["note"] = "page bloquée après l'étape 2"
    data["tentatives"][4]["note"] = "message d'erreur"
    case_file(ws).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    html, _ = page(client, "/d/exemple-94/captures")
    assert "Une note est imprimée dans la requête" in visible_text(html)
    html, _ = page(client, "/d/exemple-94/verification")
    said = ("Les notes des tentatives n° 2 et 5 sont imprimées dans la requête, entre parenthèses après le "
            "résultat, dans le tableau des tentatives")
    assert said in visible_text(html)
    res = run("check", case_file(ws))
    assert said in " ".join(res.output.split()) and "À relire (pour information)" in res.output
    warnings_before = yaml.safe_load(run("check", case_file(ws), "--json").output)["avertissements"]
    data["tentatives"][1]["note"] = data["tentatives"][4]["note"] = None
    case_file(ws).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    assert "À relire" not in run("check", case_file(ws)).output
    assert yaml.safe_load(run("check", case_file(ws), "--json").output)["avertissements"] == warnings_before


def test_a_final_build_with_warnings_asks_to_confirm_them_first(client, ws):
    """Before a final (non-projet) build with warnings: the warnings in words, a box « construire quand
    même »; without it nothing is built; a projet needs no confirmation."""
    cid = "exemple-94"
    data = yaml.safe_load(case_file(ws).read_text("utf-8"))
    data["pieces"] = [p for p in data["pieces"] if p.get("categorie") != "courrier_prefecture"]  # « pas-de-courrier »
    case_file(ws).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    html, tok = page(client, f"/d/{cid}/construction")
    box = re.search(r'<fieldset class="boite avertissement" id="confirmer-avertissements">(.*?)</fieldset>', html, re.S)[1]
    assert "courrier" in visible_text(box) and "pas-de-courrier" not in visible_text(box)
    assert "Construire quand même</button>" in html
    r = client.post(f"/d/{cid}/construction", data=tok)
    assert r.status_code == 302 and r.location.endswith("#confirmer-avertissements")
    assert not (ws / cid / "dossier").exists()
    html, tok = page(client, f"/d/{cid}/construction")
    assert 'id="confirmer-manque" role="alert"' in html and "Dossier construit" not in html
    client.post(f"/d/{cid}/construction", data={**tok, "confirmer": "oui"})
    assert (ws / cid / "dossier" / "requete.docx").is_file()
    html, tok = page(client, f"/d/{cid}/construction")
    assert "Dossier construit" in html
    client.post(f"/d/{cid}/construction", data={**tok, "brouillon": "oui"})
    html, _ = page(client, f"/d/{cid}/construction")
    assert "PROJET seulement" in html


def test_letter_comes_first_says_what_it_lacks_and_when_it_is_old(client, ws):
    """No letter sent yet: the letter comes before the build, the verification page links to it; a letter
    without the préfecture's address says so with a link to the field; a change after it marks it old."""
    cid = "exemple-94"
    data = yaml.safe_load(case_file(ws).read_text("utf-8"))
    data["pieces"] = [p for p in data["pieces"] if p.get("categorie") != "courrier_prefecture"]
    data["prefecture"].pop("adresse", None)
    data["prefecture"].pop("site", None)
    case_file(ws).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    html, _ = page(client, f"/d/{cid}/verification")
    assert f'href="/d/{cid}/construction#courrier">Écrire la lettre à la préfecture</a>' in html
    html, tok = page(client, f"/d/{cid}/construction")
    assert html.index('id="courrier"') < html.index('id="build-titre"')
    assert "La lettre à la préfecture, d'abord" in html
    client.post(f"/d/{cid}/courrier", data=tok)
    html, _ = page(client, f"/d/{cid}/construction")
    said = visible_text(re.search(r'<p class="avertissement" id="courrier-adresse">.*?</p>', html, re.S)[0])
    assert "À compléter avant l'envoi : l'adresse postale de la préfecture" in said
    assert f'href="/d/{cid}/#prefecture.adresse"' in html and 'id="courrier-ancien"' not in html
    assert "adresse de contact du service des étrangers" in visible_text(html)
    import os
    import time

    later = time.time() + 5
    os.utime(case_file(ws), (later, later))  # an attempt added after the letter was written
    html, _ = page(client, f"/d/{cid}/construction")
    assert "Ancienne version : le dossier a changé depuis que la lettre a été écrite" in visible_text(html)


def test_cabinet_templates_are_checked_at_start_and_used_for_the_requete_and_the_letter(ws, tmp_path, run):
    """« refere web --modele … --modele-courrier … »: the verifier's words before the server starts; then the
    build page writes the requête and the letter with the cabinet's templates, and says so."""
    import docx

    from refere.errors import TemplateError
    from refere.requete import courrier
    from refere.requete.render import default_template
    from refere.web import core

    tpl = docx.Document(str(default_template()))
    tpl.add_paragraph("CABINET LEROUX — dossier de {{ requerant.designation }}")
    cabinet = tmp_path / "cabinet.docx"
    tpl.save(str(cabinet))
    tpl = docx.Document(str(courrier.template_path()))
    tpl.add_paragraph("Lettre du cabinet LEROUX")
    lettre = tmp_path / "lettre-cabinet.docx"
    tpl.save(str(lettre))
    bad = tmp_path / "faute.docx"
    tpl = docx.Document()
    tpl.add_paragraph("{{ requerant.nmo }}")
    tpl.save(str(bad))
    with pytest.raises(TemplateError) as err:
        serve.make_server(ws, "127.0.0.1", 0, templates=core.Templates(bad, None))
    assert "variable inconnue « requerant.nmo » ; vouliez-vous dire « requerant.nom » ?" in err.value.message
    res = run("web", ws, "--port", "0", "--sans-navigateur", "--modele-courrier", bad)
    assert res.exit_code == 1 and "paragraphe 1" in res.output and "Traceback" not in res.output

    app = create_app(ws, workers=1, templates=core.Templates(cabinet, lettre))
    app.testing = True
    client = app.test_client()
    html, tok = page(client, "/d/exemple-94/construction")
    assert "modèle du cabinet « cabinet.docx »" in html and "modèle du cabinet « lettre-cabinet.docx »" in html
    client.post("/d/exemple-94/construction", data={**tok, "confirmer": "oui"})
    body = [p.text for p in docx.Document(str(ws / "exemple-94" / "dossier" / "requete.docx")).paragraphs]
    assert "CABINET LEROUX — dossier de M. Karim BENALI" in body
    client.post("/d/exemple-94/courrier", data=tok)
    r = client.get("/d/exemple-94/courrier/courrier-prefecture.docx")
    assert "Lettre du cabinet LEROUX" in [p.text for p in docx.Document(io.BytesIO(r.data)).paragraphs]


def test_a_case_with_an_error_still_shows_its_persons_name(client, ws):
    y = case_file(ws)
    y.write_text(y.read_text("utf-8").replace("date_naissance: 1987-11-03", "date_naissance: 1987-02-31"), "utf-8")
    # Written by hand, unquoted: a date that does not exist is said, never a server error.
    for url in ("/d/exemple-94/", "/d/exemple-94/captures", "/d/exemple-94/pieces"):
        r = client.get(url)
        assert r.status_code == 200 and "date de naissance : date impossible" in visible_text(r.get_data(as_text=True))
    y.write_text(y.read_text("utf-8").replace("date_naissance: 1987-02-31", 'date_naissance: "31/02/1987"'), "utf-8")
    html, _ = page(client, "/d/exemple-94/captures")
    assert "bloquant (à corriger)" in html and "<h1>Karim BENALI" in html


def test_a_new_attempt_dated_in_the_future_is_not_added(client, ws):
    """Enter in « Ajouter une tentative sans capture » saves at once: a mistyped year is said, not written."""
    before = yaml.safe_load(case_file(ws).read_text("utf-8"))["tentatives"]
    html, tok = page(client, "/d/exemple-94/captures")
    client.post("/d/exemple-94/captures", data={**tok, "tentatives[nouveau].date": "2099-12-04T09:05"})
    assert yaml.safe_load(case_file(ws).read_text("utf-8"))["tentatives"] == before
    html, _ = page(client, "/d/exemple-94/captures")
    import html as markup

    assert "La nouvelle tentative est datée du 4 décembre 2099 à 9 h 05, dans le futur : vérifiez l'année" in \
        markup.unescape(visible_text(html)).replace("\u00a0", " ")


def test_a_phones_copy_is_the_one_left_out_never_the_original(client, ws, tmp_path):
    """« Screenshot_… (1).png » sent with « Screenshot_….png », same content: the original is kept, and the
    message names the copy as the one not added."""
    cid = "exemple-94"
    data = png_bytes(tmp_path, "x.png", text="aucun creneau double")
    _, tok = page(client, f"/d/{cid}/captures")
    client.post(f"/d/{cid}/captures/envoyer", data={**tok, "_version": tok.get("_version", ""), "fichiers": [
        (io.BytesIO(data), "Screenshot_20250920-085902 (1).png"), (io.BytesIO(data), "Screenshot_20250920-085902.png")]},
        content_type="multipart/form-data")
    import html as markup

    html, _ = page(client, f"/d/{cid}/captures")
    text = markup.unescape(visible_text(html))
    assert ("« Screenshot_20250920-085902 (1).png » a le même contenu que « Screenshot_20250920-085902.png » : une "
            "capture ne prouve qu'une tentative, « Screenshot_20250920-085902 (1).png » n'est pas ajoutée.") in text


def test_the_case_list_shows_a_case_with_an_impossible_date(client, ws):
    """One case's « date_naissance: 1987-02-29 » made the whole list a 500 (attack 21): it is listed
    as a case to correct, the date named."""
    path = ws / "exemple-94" / "dossier.yaml"
    path.write_text(re.sub(r"date_naissance: \S+", "date_naissance: 1987-02-29", path.read_text("utf-8")), "utf-8")
    html, _ = page(client, "/")
    text = re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", html))
    # The name still shows: the list reads it as text, whatever the date (« No » stays a name too).
    assert "exemple-94 Karim BENALI bloquant (à corriger)" in text and "date impossible « 1987-02-29 »" in text, text


def test_the_same_file_twice_in_one_upload_adds_nothing(client, ws, tmp_path):
    """Two identical files sent together made a pièce listing the same file twice (attack 22): refused,
    as a file identical to another pièce already is, and nothing is added."""
    cid = "exemple-94"
    before = case_file(ws).read_bytes()
    listed = sorted(p.name for p in (ws / cid / "pieces").iterdir())
    _, tok = page(client, f"/d/{cid}/pieces")
    scan = make_pdf(tmp_path / "s.pdf", pages=1).read_bytes()
    r = client.post(f"/d/{cid}/pieces/envoyer", data={**tok, "titre": "Bail", "categorie": "domicile",
                                                       "fichiers": [(io.BytesIO(scan), "bail.pdf"), (io.BytesIO(scan), "bail (1).pdf")]},
                    content_type="multipart/form-data", follow_redirects=True)
    html = r.get_data(as_text=True).replace("&#39;", "'")
    assert "« bail (1).pdf » a le même contenu que « bail.pdf », envoyé avec lui : une pièce n'est produite qu'une fois" \
        in html, html[:3000]
    assert case_file(ws).read_bytes() == before
    assert sorted(p.name for p in (ws / cid / "pieces").iterdir()) == listed


@pytest.mark.parametrize("field, value", [("situation", "arrivé en 2019\x00 marié"), ("situation", "ligne\u2028suite"),
                                          ("requerant.nom", "BEN\x85ALI"), ("requerant.nom", "BEN\r\nALI")])
def test_a_pasted_separator_or_control_never_locks_the_case(client, ws, field, value):
    """A NUL or U+2028 in a text box, a NEL in the name, were written raw: « Enregistré », then a file
    neither check nor the form could read, every later save refused (attack 23). The file stays
    readable; a control character is named on its field and can be removed from the form. A line
    break in a one-line field (a crafted form: attack 32) is a space, never a name split in two."""
    _, tok = page(client, "/d/exemple-94/")
    r = client.post("/d/exemple-94/", data={**tok, field: value})
    assert r.status_code == 302
    data = yaml.safe_load(case_file(ws).read_text("utf-8"))  # still a YAML file
    html, tok = page(client, "/d/exemple-94/")
    if "\x00" in value:
        assert re.search(rf'id="err-{re.escape(field)}">caractère de contrôle interdit \(code 0x00\)', html), html[:3000]
    else:
        written = data["situation"] if field == "situation" else data["requerant"]["nom"]
        assert written.strip() in ("ligne\nsuite", "BEN ALI")
    r = client.post("/d/exemple-94/", data={**tok, field: "BENALI" if field == "requerant.nom" else "arrivé en 2019"},
                    follow_redirects=True)
    assert "Enregistré" in r.get_data(as_text=True)
    assert load(case_file(ws)).requerant.nom == "BENALI"


def test_a_half_filled_new_row_is_said_not_dropped(client, ws):
    """A date typed for a new démarche, its description left empty: nothing added, and the page says
    so rather than the date vanishing (attack 23)."""
    before = (ws / "exemple-94" / "dossier.yaml").read_bytes()
    html, tok = page(client, "/d/exemple-94/")
    r = client.post("/d/exemple-94/", data={**tok, "diligences[nouveau].date": "2025-06-02",
                                            "diligences[nouveau].description": " ",
                                            "urgence[nouveau].echeance": "2025-06-30"}, follow_redirects=True)
    text = html_lib.unescape(visible_text(r.get_data(as_text=True)))
    assert ("La nouvelle démarche n'a pas été ajoutée : « ce qui a été fait » est vide (la date : à saisir de "
            "nouveau). Écrivez-le, puis enregistrez de nouveau.") in text
    assert ("Le nouveau fait d'urgence n'a pas été ajouté : le fait lui-même est vide (l'échéance : à saisir de "
            "nouveau).") in text
    assert (ws / "exemple-94" / "dossier.yaml").read_bytes() == before


@pytest.mark.parametrize("name, folder", [("김민준", "김민준"), ("محمد علي", "محمد-علي"), ("NGUYỄN Thị", "nguyen-thi"),
                                          ("प्रिया शर्मा", "प्रिया-शर्मा"), ("Łukasz Żółć", "lukasz-zolc")])
def test_a_new_case_named_in_any_script(client, ws, name, folder):
    """« 김민준 » was refused as « lettres ou chiffres » while `refere init 김민준` worked (attack 26)."""
    _, tok = page(client, "/")
    r = client.post("/nouveau", data={"_csrf": tok["_csrf"], "nom": name})
    assert r.status_code == 302 and (ws / folder / "dossier.yaml").is_file()
    assert client.get(r.headers["Location"]).status_code == 200


def test_a_pasted_zero_width_no_break_space_never_makes_the_file_unreadable(client, ws):
    """U+FEFF pasted into « Situation personnelle » was written raw in a block: check refused the whole
    file and every later save said it could not be read (attack 27). Dropped: it shows nothing."""
    html, tok = page(client, "/d/exemple-94/")
    r = client.post("/d/exemple-94/", data={**tok, "situation": "Il vit en France\ufeff depuis 2016.\nIl travaille."},
                    follow_redirects=True)
    assert r.status_code == 200
    case = load(ws / "exemple-94" / "dossier.yaml")
    assert case.situation == "Il vit en France depuis 2016.\nIl travaille."


@pytest.mark.parametrize("char", ["\uffff", "\ufffe"])
def test_a_non_character_in_a_text_box_is_escaped_and_named(client, ws, char):
    """U+FFFF pasted in « Situation personnelle » was written raw: the file no longer read (attack 28)."""
    html, tok = page(client, "/d/exemple-94/")
    client.post("/d/exemple-94/", data={**tok, "situation": f"Il vit en France{char} depuis 2016.\nIl travaille."})
    text = (ws / "exemple-94" / "dossier.yaml").read_text("utf-8")
    assert char not in text  # escaped in a quoted scalar
    html, tok = page(client, "/d/exemple-94/")
    assert "illisible" not in html
