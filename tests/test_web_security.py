"""`refere web` under attack: only the case's own outputs are served, the password gate (lockout,
logout, expiry, no open redirect), HTTPS only through a proxy, and files written with the user's umask.

Real HTTP requests to the server on 127.0.0.1 (waitress), real files on disk."""

from __future__ import annotations

import hashlib
import html
import http.client
import io
import json
import logging
import os
import re
import stat
import shutil
import tempfile
import threading
import unicodedata
import zipfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from waitress import wasyncore

from conftest import copy_example, make_pdf, make_png
from refere.errors import CaseInvalid, RefereError
from refere.web import auth, serve, store
from refere.web.app import create_app


@pytest.fixture
def ws(tmp_path) -> Path:
    w = tmp_path / "espace"
    w.mkdir()
    copy_example(w / "exemple-94")
    return w


@contextmanager
def running(ws: Path, behind_proxy: bool = False):
    server = serve.make_server(ws, "127.0.0.1", 0, behind_proxy=behind_proxy, public_name=PUBLIC)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        yield server
    finally:
        # Closed from the server's own loop, which then ends: no socket is closed under its feet. A loop
        # that already closed its map (its trigger's descriptor with it) has nothing left to close.
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            wasyncore.close_all(server._map)
        t.join(30)
        server.task_dispatcher.shutdown()


class Browser:
    """One visitor: its cookie, and the headers its proxy adds (address, scheme)."""

    def __init__(self, server, **headers):
        self.port = server.effective_port
        self.headers = headers
        self.cookie = ""

    def request(self, method: str, path: str, form: dict | None = None):
        if form is None:
            return self.request_raw(method, path)
        return self.request_raw(method, path, urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"})

    def request_raw(self, method: str, path: str, body: bytes | None = None, extra: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {**self.headers, **(extra or {})}
        if self.cookie:
            headers["Cookie"] = self.cookie
        conn.request(method, path, body, headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if (resp.getheader("Content-Type") or "").startswith("text/html"):
            data = html.unescape(data.decode("utf-8")).encode("utf-8")  # « d'essais », not « d&#39;essais »
        if (set_cookie := resp.getheader("Set-Cookie")):
            self.cookie = set_cookie.split(";")[0]
        return resp.status, resp, data

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: dict, token_from: str | None = None):
        _, _, html = self.get(token_from or path)
        m = re.search(rb'name="_csrf" value="([^"]+)"', html)
        return self.request("POST", path, {"_csrf": m[1].decode() if m else "", **form})


PUBLIC = "permanence.example.org"  # the name the phones open, given with --nom-public
PROXIED = {"X-Forwarded-Proto": "https", "Host": PUBLIC}


def proxied(server, address: str) -> Browser:
    return Browser(server, **PROXIED, **{"X-Forwarded-For": address})


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- only the case's own outputs


def _planted_build(ws: Path, tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A case whose last « build » lists paths outside it, links out of it and a missing file."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"SECRET-DATA")
    out = ws / "exemple-94" / "dossier"
    (out / "pieces").mkdir(parents=True)
    good = make_pdf(out / "pieces" / "01_Passeport.pdf", text="Passeport").read_bytes()
    (out / "requete.docx").symlink_to(secret)
    (out / "pieces" / "02_Lien.pdf").symlink_to(secret)
    manifest = {"outil": {"nom": "refere"}, "pieces": [
        {"fichier": "pieces/01_Passeport.pdf"},
        {"fichier": "../../secret.txt"},
        {"fichier": str(secret)},
        {"fichier": "pieces/../../../secret.txt"},
        {"fichier": "pieces/02_Lien.pdf"},
        {"fichier": "pieces/03_Absent.pdf"},
    ]}
    (out / "inventaire.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out, good, secret.read_bytes()


def test_only_the_case_outputs_are_served_never_a_link_or_a_path_outside(ws, tmp_path, monkeypatch):
    out, good, secret = _planted_build(ws, tmp_path)
    zips = tmp_path / "tmp"
    zips.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(zips))  # where the server makes its zip
    with running(ws) as server:
        b = Browser(server)
        status, _, body = b.get("/d/exemple-94/fichiers/pieces/01_Passeport.pdf")
        assert status == 200 and body == good
        for path in ("requete.docx", "pieces/02_Lien.pdf", "..%2F..%2Fsecret.txt", quote(str(tmp_path / "secret.txt"), safe=""),
                     "pieces/..%2F..%2F..%2Fsecret.txt", "pieces/03_Absent.pdf"):
            status, resp, body = b.get(f"/d/exemple-94/fichiers/{path}")
            if status == 308:  # « //tmp/… »: the slashes merged, then the same answer
                status, _, body = b.get(resp.getheader("Location"))
            assert status == 404 and b"SECRET" not in body, path
        status, _, body = b.get("/d/exemple-94/fichiers/pieces/03_Absent.pdf")
        assert "« pieces/03_Absent.pdf » manque dans le dossier construit" in body.decode()

        # The build page lists no path that leads out of the case.
        _, _, html = b.get("/d/exemple-94/construction")
        assert b"secret.txt" not in html and b"/fichiers/pieces/01_Passeport.pdf" in html

        # A listed file missing or a link: no zip, a 404 page, no temporary zip left behind.
        status, _, body = b.get("/d/exemple-94/dossier.zip")
        assert status == 404 and "manque dans le dossier construit" in body.decode()
        assert list(zips.iterdir()) == []

        (out / "requete.docx").unlink()
        (out / "pieces" / "02_Lien.pdf").unlink()
        make_pdf(out / "pieces" / "03_Absent.pdf", text="Contrat")
        manifest = json.loads((out / "inventaire.json").read_text("utf-8"))
        manifest["pieces"] = [p for p in manifest["pieces"] if p["fichier"] != "pieces/02_Lien.pdf"]
        (out / "inventaire.json").write_text(json.dumps(manifest), encoding="utf-8")
        status, _, body = b.get("/d/exemple-94/dossier.zip")
        assert status == 200
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            names = z.namelist()
            assert names == ["exemple-94/pieces/01_Passeport.pdf", "exemple-94/pieces/03_Absent.pdf",
                             "exemple-94/inventaire.json"]
            assert all(secret not in z.read(n) for n in names)
    assert list(zips.iterdir()) == []  # the zip was an anonymous temporary file


def test_a_linked_output_folder_or_report_is_not_followed(ws, tmp_path):
    elsewhere = tmp_path / "ailleurs"
    (elsewhere / "pieces").mkdir(parents=True)
    make_pdf(elsewhere / "pieces" / "01_Autre.pdf")
    (elsewhere / "inventaire.json").write_text(json.dumps({"pieces": [{"fichier": "pieces/01_Autre.pdf"}]}))
    (ws / "exemple-94" / "dossier").symlink_to(elsewhere, target_is_directory=True)
    (ws / "construits").mkdir()
    (ws / "construits" / "rapport.csv").symlink_to(tmp_path / "ailleurs" / "inventaire.json")
    with running(ws) as server:
        b = Browser(server)
        assert b.get("/d/exemple-94/fichiers/pieces/01_Autre.pdf")[0] == 404
        assert b.get("/d/exemple-94/fichiers/inventaire.json")[0] == 404
        assert b.get("/d/exemple-94/dossier.zip")[0] == 404
        assert b.get("/tout-construire/rapport.csv")[0] == 404


def _zip_matches_its_inventory(body: bytes, cid: str) -> dict:
    """Every file of the zip is the one its own inventaire.json names (sha256): one build, not two."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        inv = json.loads(z.read(f"{cid}/inventaire.json"))
        sums = {**{p["fichier"]: p["sha256"] for p in inv["pieces"]}, **inv["fichiers"]}
        names = [n.removeprefix(f"{cid}/") for n in z.namelist()]
        assert names[0] == "requete.docx" and [n for n in names if n.startswith("pieces/")] == [p["fichier"] for p in inv["pieces"]]
        for n in names[:-1]:
            assert hashlib.sha256(z.read(f"{cid}/{n}")).hexdigest() == sums[n], n
    return inv


def _after_each_open(monkeypatch, hook: list) -> None:
    """Runs ``hook[0](rel)`` right after the web opens each file of a build (a build finishing then)."""
    from refere.web import built
    original = built._Built.open

    def opened(self, rel):
        fh = original(self, rel)
        hook[0](rel)
        return fh

    monkeypatch.setattr(built._Built, "open", opened)


def test_a_zip_asked_while_a_build_replaces_the_folder_is_all_of_the_new_build(ws, monkeypatch):
    from refere.web import core
    folder = ws / "exemple-94"
    core.run_build(folder, brouillon=True)
    first = json.loads((folder / "dossier" / "inventaire.json").read_text("utf-8"))
    make_pdf(folder / "pieces" / "domicile.pdf", text="Attestation d'hébergement, nouvelle version")
    rebuilt = []

    def build_now(rel):  # a real build finishes right after the zip opened its first two files
        if rel.startswith("pieces/") and not rebuilt:
            rebuilt.append(core.run_build(folder, brouillon=True))

    _after_each_open(monkeypatch, [build_now])
    with running(ws) as server:
        status, _, body = Browser(server).get("/d/exemple-94/dossier.zip")
    assert status == 200 and rebuilt
    inv = _zip_matches_its_inventory(body, "exemple-94")
    assert inv != first and inv == json.loads((folder / "dossier" / "inventaire.json").read_text("utf-8"))
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert z.read("exemple-94/requete.docx") == (folder / "dossier" / "requete.docx").read_bytes()


def test_a_zip_of_a_folder_replaced_again_and_again_is_refused_in_french(ws, monkeypatch):
    from refere.web import core
    folder = ws / "exemple-94"
    core.run_build(folder, brouillon=True)
    out = folder / "dossier"

    def replace_folder(rel):  # as write.staging: the new folder renamed in, the old one removed
        shutil.copytree(out, folder / ".neuf")
        os.rename(out, folder / ".ancien")
        os.rename(folder / ".neuf", out)
        shutil.rmtree(folder / ".ancien")

    hook = [replace_folder]
    _after_each_open(monkeypatch, hook)
    with running(ws) as server:
        b = Browser(server)
        status, _, body = b.get("/d/exemple-94/dossier.zip")
        assert status == 503 and "Construction en cours" in body.decode() and "réessayez dans un instant" in body.decode()
        hook[0] = lambda rel: None
        status, _, body = b.get("/d/exemple-94/dossier.zip")
    assert status == 200
    _zip_matches_its_inventory(body, "exemple-94")


def test_a_case_named_with_accents_and_spaces_is_served_and_odd_names_are_named_with_what_to_do(ws, monkeypatch):
    from click.testing import CliRunner
    from refere.cli import cli
    accented = "Aïssatou Diallo"
    assert CliRunner().invoke(cli, ["init", str(ws / accented)]).exit_code == 0  # the CLI's own command
    shutil.rmtree(ws / accented)
    copy_example(ws / accented)  # then filled in: the example case
    for odd in ("fac\u202etcod.exe", "a" * 130, "lien\x07sonore"):
        copy_example(ws / odd)
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws) as server:
        b = Browser(server)
        enc = quote(accented)
        # Logged out, the page asked for (accents percent-encoded) is reached after the password.
        status, resp, _ = b.get(f"/d/{enc}/construction")
        login = urlsplit(resp.getheader("Location"))
        assert status == 302 and login.path == "/connexion"
        status, resp, _ = b.post(f"{login.path}?{login.query}", {"mot_de_passe": "sésame"})
        assert status == 302 and resp.getheader("Location").endswith(f"/d/{enc}/construction")
        status, _, html = b.get("/")
        page = html.decode()
        assert status == 200 and f'href="/d/{enc}/"' in page and ">Aïssatou Diallo</a>" in page
        assert "exemple-94</a>" in page and "2 dossiers sur 2" in page
        # The others: named, visibly, with why and what to do; never the raw U+202E on the page.
        hint = page.split('id="noms-non-pris"')[1].split("</div>")[0]
        assert "3 dossiers de cet espace ne sont ni affichés ici ni construits par « Tout construire »" in hint
        assert "fac<U+202E>tcod.exe" in hint and "lien<U+0007>sonore" in hint and "\u202e" not in page
        assert "nom trop long (130 caractères ; au plus 128" in hint and "Renommez ce dossier" in hint
        assert b.get(f"/d/{quote('fac' + chr(0x202E) + 'tcod.exe')}/")[0] == 404
        assert b.get(f"/d/{'a' * 130}/")[0] == 404
        # Every page of the accented case, also asked with the accent typed apart (NFD); built and zipped.
        status, _, html = b.get(f"/d/{enc}/")
        assert status == 200 and "Aïssatou Diallo" in html.decode()
        assert b.get(f"/d/{quote(unicodedata.normalize('NFD', accented))}/verification")[0] == 200
        status, resp, _ = b.post(f"/d/{enc}/construction", {"confirmer": "oui", "brouillon": "oui"})
        assert status == 302 and resp.getheader("Location").startswith(f"/d/{enc}/construction")
        status, resp, body = b.get(f"/d/{enc}/dossier.zip")
        assert status == 200 and "filename*=UTF-8''A%C3%AFssatou%20Diallo.zip" in resp.getheader("Content-Disposition")
    _zip_matches_its_inventory(body, accented)
    assert (ws / accented / "dossier" / "requete.docx").is_file()


# ---------------------------------------------------------------- network mode: the proxy and the gate


def test_behind_the_proxy_plain_http_is_refused_and_the_cookie_is_secure(ws, monkeypatch):
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        status, resp, body = Browser(server, Host=PUBLIC).get("/connexion")
        assert status == 400 and "attend ses visiteurs en HTTPS" in body.decode()
        b = proxied(server, "192.168.1.30")
        status, resp, _ = b.get("/d/exemple-94/")
        assert status == 302 and resp.getheader("Location") == "/connexion?suite=/d/exemple-94/"
        status, resp, _ = b.post("/connexion?suite=/d/exemple-94/", {"mot_de_passe": "sésame"})
        cookie = resp.getheader("Set-Cookie")
        assert status == 302 and "Secure" in cookie and "HttpOnly" in cookie
        assert b.get("/d/exemple-94/")[0] == 200


def test_password_attempts_wait_then_lock_out_per_address_and_are_logged(ws, monkeypatch, caplog):
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    caplog.set_level(logging.INFO, logger="refere.web")
    with running(ws, behind_proxy=True) as server:
        clock = server.refere_app.extensions["refere_gate"].clock = Clock()
        b = proxied(server, "192.168.1.31")
        for _ in range(auth.FREE_FAILURES):
            status, _, body = b.post("/connexion", {"mot_de_passe": "non"})
            assert status == 200 and "Mot de passe incorrect." in body.decode() and "attendez" not in body.decode()
        status, _, body = b.post("/connexion", {"mot_de_passe": "non"})
        assert "Mot de passe incorrect. Trop d'essais à la suite : attendez 2 secondes" in body.decode()
        # While it waits, even the right password is not compared.
        status, _, body = b.post("/connexion", {"mot_de_passe": "sésame"})
        assert status == 429 and "attendez 2 secondes" in body.decode()
        assert b.get("/d/exemple-94/")[0] == 302
        # Another address is not held back.
        other = proxied(server, "192.168.1.32")
        assert other.post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
        clock.now += 2
        assert b.post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
        assert b.get("/d/exemple-94/")[0] == 200

        # Ten wrong passwords in a row: locked out for 15 minutes, whatever is typed.
        c = proxied(server, "192.168.1.33")
        for n in range(1, auth.LOCK_AFTER + 1):
            clock.now += auth.MAX_WAIT
            status, _, body = c.post("/connexion", {"mot_de_passe": f"essai {n}"})
        assert "réessayez dans 15 minutes" in body.decode()
        clock.now += 14 * 60
        status, _, body = c.post("/connexion", {"mot_de_passe": "sésame"})
        assert status == 429 and "réessayez dans 1 minute." in body.decode()
        clock.now += 61
        assert c.post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
    logged = [r.getMessage() for r in caplog.records if r.name == "refere.web"]
    assert "connexion : mot de passe incorrect depuis 192.168.1.31 (4 à la suite)" in logged
    assert "connexion : adresse 192.168.1.33 bloquée 15 minutes après 10 mots de passe incorrects" in logged
    assert "connexion ouverte depuis 192.168.1.31" in logged


def test_old_mistakes_are_forgotten():
    gate = auth.Gate(clock := Clock())
    for _ in range(auth.LOCK_AFTER - 1):
        gate.failed("192.168.1.35")
        clock.now += auth.MAX_WAIT
    clock.now += auth.LOCK_SECONDS
    assert gate.wait("192.168.1.35") == (0, False)
    gate.failed("192.168.1.35")  # one more, much later: the first of a new series, not a lockout
    assert gate.wait("192.168.1.35") == (0, False)


def test_ipv6_neighbours_share_one_limit():
    assert auth.client_key("2001:db8:1:2::5") == auth.client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert auth.client_key("::ffff:192.168.1.40") == "192.168.1.40"


def test_logout_ends_the_session_on_the_server_and_sessions_expire(ws, monkeypatch):
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        clock = server.refere_app.extensions["refere_gate"].clock = Clock()
        b = proxied(server, "192.168.1.34")
        assert b.post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
        _, _, html = b.get("/")
        assert b"Se d\xc3\xa9connecter" in html
        kept = b.cookie
        status, resp, _ = b.post("/deconnexion", {}, token_from="/")
        assert status == 302 and resp.getheader("Location") == "/connexion"
        assert "Vous êtes déconnecté." in b.get("/connexion")[2].decode()
        b.cookie = kept  # the cookie from before the logout no longer opens anything
        assert b.get("/")[0] == 302

        # Unused for two hours: the session ends, and the login page says why.
        assert b.post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
        clock.now += auth.IDLE_SECONDS - 1
        assert b.get("/")[0] == 200
        clock.now += auth.IDLE_SECONDS - 1
        assert b.get("/")[0] == 200
        clock.now += auth.IDLE_SECONDS
        status, resp, _ = b.get("/d/exemple-94/pieces")
        assert status == 302 and resp.getheader("Location") == "/connexion?suite=/d/exemple-94/pieces"
        assert "Votre connexion a expiré" in b.get("/connexion?suite=/d/exemple-94/pieces")[2].decode()

        # Used all day long: it still ends after twelve hours.
        assert b.post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
        for _ in range(auth.MAX_SECONDS // 3600 - 1):
            clock.now += 3600
            assert b.get("/")[0] == 200
        clock.now += 3600
        assert b.get("/")[0] == 302


@pytest.mark.parametrize("suite", ["//ailleurs.example/", "/\t/ailleurs.example/", "/\\ailleurs.example/",
                                   "/\\/ailleurs.example", "https://ailleurs.example/", "/%09/ailleurs.example",
                                   " /ailleurs.example", "/\n/ailleurs.example", "\\\\ailleurs.example",
                                   "/d/exemple-94//ailleurs.example"])
def test_no_redirect_to_another_site_after_login(ws, suite):
    app = create_app(ws, password="sésame")
    c = app.test_client()
    html = c.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="_csrf" value="([^"]+)"', html)[1]
    r = c.post("/connexion?" + urlencode({"suite": suite}), data={"_csrf": token, "mot_de_passe": "sésame"})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_the_page_asked_for_is_reached_after_login(ws):
    app = create_app(ws, password="sésame")
    c = app.test_client()
    r = c.get("/d/exemple-94/captures")
    html = c.get(r.headers["Location"]).get_data(as_text=True)
    token = re.search(r'name="_csrf" value="([^"]+)"', html)[1]
    r = c.post(r.headers["Location"], data={"_csrf": token, "mot_de_passe": "sésame"})
    assert r.headers["Location"] == "/d/exemple-94/captures"


# ---------------------------------------------------------------- files written with the user's umask


@pytest.mark.parametrize("umask", [0o027, 0o002])
def test_files_the_server_writes_follow_the_umask(ws, tmp_path, umask):
    old = os.umask(umask)
    try:
        before = set(ws.rglob("*"))
        app = create_app(ws, workers=1)
        c = app.test_client()

        def token(url):
            return re.search(r'name="_csrf" value="([^"]+)"', c.get(url).get_data(as_text=True))[1]

        def version(url):
            return re.search(r'name="_version" value="([^"]+)"', c.get(url).get_data(as_text=True))[1]

        assert c.post("/nouveau", data={"_csrf": token("/"), "nom": "Diallo Aissatou"}).status_code == 302
        pdf = make_pdf(tmp_path / "src" / "contrat.pdf", text="Contrat").read_bytes()
        png = make_png(tmp_path / "src" / "c.png", size=(300, 600), text="sans date").read_bytes()
        url = "/d/exemple-94/pieces"
        r = c.post(url + "/envoyer", data={"_csrf": token(url), "_version": version(url), "titre": "Contrat",
                                           "fichiers": [(io.BytesIO(pdf), "contrat.pdf")]},
                   content_type="multipart/form-data")
        assert r.status_code == 302
        url = "/d/exemple-94/captures"
        r = c.post(url + "/envoyer", data={"_csrf": token(url), "_version": version(url),
                                           "fichiers": [(io.BytesIO(png), "IMG_0042.PNG")]},
                   content_type="multipart/form-data")
        assert r.status_code == 302
        url = "/d/exemple-94/"
        assert c.post(url, data={"_csrf": token(url), "_version": version(url),
                                 "requerant.telephone": "06 12 34 56 78"}).status_code == 302
        url = "/d/exemple-94/construction"
        assert c.post(url, data={"_csrf": token(url), "brouillon": "oui"}).status_code == 302
        assert c.post("/tout-construire", data={"_csrf": token("/")}).status_code == 302
        runner = app.extensions["refere_batch"]
        while runner.state.running:
            threading.Event().wait(0.2)
        assert (ws / "construits" / "rapport.csv").is_file()
    finally:
        os.umask(old)
    written = sorted(set(ws.rglob("*")) - before)
    assert any(p.name == "rapport.csv" for p in written) and any(p.name == "requete.docx" for p in written)
    assert any(p.parent.name == "pieces" and p.name.startswith("contrat-") for p in written)
    wrong = [(str(p.relative_to(ws)), oct(stat.S_IMODE(p.stat().st_mode))) for p in written
             if stat.S_IMODE(p.stat().st_mode) != (0o777 if p.is_dir() else 0o666) & ~umask]
    assert wrong == []


# ---------------------------------------------------------------- files: nothing saved is lost, nothing outside is read

from test_web import client, page  # noqa: E402,F401 — the Flask test client of test_web, same example case

CID = "exemple-94"


def _multipart(client, url, data) -> str:
    """The page shown after a form with files is sent (unescaped, as read on screen)."""
    r = client.post(url, data=data, content_type="multipart/form-data", follow_redirects=True)
    return html.unescape(r.get_data(as_text=True))


def _pieces(ws: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((ws / CID / "pieces").iterdir())}


def test_a_refused_resend_never_removes_a_saved_piece_or_proof(client, ws, tmp_path):
    pdf = make_pdf(tmp_path / "p.pdf").read_bytes()
    _, tok = page(client, f"/d/{CID}/pieces")
    r = _multipart(client, f"/d/{CID}/pieces/envoyer", {**tok, "titre": "Passeport", "fichiers": [(io.BytesIO(pdf), "p.pdf")]})
    assert "Pièce « Passeport » ajoutée." in r
    _, tok2 = page(client, f"/d/{CID}/")
    r = _multipart(client, f"/d/{CID}/", {**tok2, "urgence[nouveau].fait": "Fait prouvé",
                                          "urgence[nouveau].preuve": [(io.BytesIO(pdf), "preuve.pdf")]})
    assert "Enregistré." in r
    saved, yaml_text = _pieces(ws), (ws / CID / "dossier.yaml").read_bytes()
    # The same file again from stale pages (a double click, a second tab): refused, and what was saved stays.
    r = _multipart(client, f"/d/{CID}/pieces/envoyer", {**tok, "titre": "Passeport", "fichiers": [(io.BytesIO(pdf), "p.pdf")]})
    assert "rien n'a été ajouté" in r  # the same content as a saved pièce: refused before the stale check
    r = _multipart(client, f"/d/{CID}/", {**tok2, "urgence[nouveau].fait": "Autre",
                                          "urgence[nouveau].preuve": [(io.BytesIO(pdf), "preuve.pdf")]})
    assert "modifié ailleurs" in r
    # The same file with a refused one, from a fresh page.
    _, tok = page(client, f"/d/{CID}/pieces")
    r = _multipart(client, f"/d/{CID}/pieces/envoyer", {**tok, "titre": "Passeport", "fichiers": [
        (io.BytesIO(pdf), "p.pdf"), (io.BytesIO(b"pas une image"), "x.png")]})
    assert "Rien n'a été ajouté." in r
    assert _pieces(ws) == saved and (ws / CID / "dossier.yaml").read_bytes() == yaml_text
    # A new file of a refused upload is still taken back: nothing is left behind.
    other = make_pdf(tmp_path / "autre.pdf", text="Autre").read_bytes()
    r = _multipart(client, f"/d/{CID}/pieces/envoyer", {**tok2, "titre": "Titre", "fichiers": [(io.BytesIO(other), "a.pdf")]})
    assert "modifié ailleurs" in r
    assert _pieces(ws) == saved


@pytest.mark.parametrize("alias", ["./{}", "{}/", "../captures/{}", "captures/../{}", ".\\{}", "{}\x00"])
def test_a_capture_in_use_is_never_removed_through_another_spelling(client, ws, alias):
    used = "Screenshot_20250901-085227.png"
    _, tok = page(client, f"/d/{CID}/captures")
    r = client.post(f"/d/{CID}/captures/retirer", data={**tok, "nom": alias.format(used)})
    assert r.status_code == 404 and (ws / CID / "captures" / used).is_file()
    r = client.post(f"/d/{CID}/captures/retirer", data={**tok, "nom": used}, follow_redirects=True)
    assert "Cette capture sert à une tentative" in r.get_data(as_text=True)
    assert (ws / CID / "captures" / used).is_file()


def test_a_capture_named_anywhere_in_the_case_file_is_kept_and_a_loose_one_is_removed(client, ws, tmp_path):
    make_png(ws / CID / "captures" / "libre.png")
    make_png(ws / CID / "captures" / "en-piece.png")
    text = (ws / CID / "dossier.yaml").read_text("utf-8")
    (ws / CID / "dossier.yaml").write_text(text.replace("pieces:\n", "pieces:\n  - id: capture\n    titre: Capture\n"
                                                        "    fichier: ./captures/en-piece.png\n", 1), "utf-8")
    _, tok = page(client, f"/d/{CID}/captures")
    client.post(f"/d/{CID}/captures/retirer", data={**tok, "nom": "en-piece.png"})
    assert (ws / CID / "captures" / "en-piece.png").is_file()
    client.post(f"/d/{CID}/captures/retirer", data={**tok, "nom": "libre.png"})
    assert not (ws / CID / "captures" / "libre.png").exists()


def test_a_linked_captures_folder_is_neither_listed_served_dated_nor_emptied(client, ws, tmp_path):
    outside = tmp_path / "ailleurs"
    secret = make_png(outside / "secret.png").read_bytes()
    shutil.rmtree(ws / CID / "captures")
    (ws / CID / "captures").symlink_to(outside)
    assert client.get(f"/d/{CID}/captures/voir/secret.png").status_code == 404
    html, tok = page(client, f"/d/{CID}/captures")
    assert "secret.png" not in html
    assert client.post(f"/d/{CID}/captures/dater", data={**tok, "nom": "secret.png", "date": "2025-09-01T10:00"}).status_code == 404
    client.post(f"/d/{CID}/captures/retirer", data={**tok, "nom": "secret.png"})
    assert (outside / "secret.png").read_bytes() == secret


def test_a_capture_is_served_from_a_real_folder_only_never_through_a_link(client, ws, tmp_path):
    outside = make_png(tmp_path / "ailleurs" / "secret.png")
    (ws / CID / "captures" / "lien.png").symlink_to(outside)
    assert client.get(f"/d/{CID}/captures/voir/lien.png").status_code == 404
    r = client.get(f"/d/{CID}/captures/voir/Screenshot_20250901-085227.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data == (ws / CID / "captures" / "Screenshot_20250901-085227.png").read_bytes()


@pytest.mark.parametrize("depth", [400, 5000])
def test_a_deeply_nested_case_file_shows_the_unreadable_page(client, ws, depth):
    (ws / CID / "dossier.yaml").write_text("a: " + "[" * depth + "]" * depth + "\n", "utf-8")
    for url in (f"/d/{CID}/", f"/d/{CID}/captures", f"/d/{CID}/pieces"):
        r = client.get(url)
        assert r.status_code == 200 and "Dossier illisible" in r.get_data(as_text=True), url
    r = client.get(f"/d/{CID}/verification")
    assert r.status_code == 200 and "trop imbriqué" in r.get_data(as_text=True)
    with pytest.raises(CaseInvalid, match="trop imbriqué"):
        store.read_doc(ws / CID / "dossier.yaml")


def test_nothing_is_kept_in_the_browser_cache_and_logout_clears_it(ws):
    app = create_app(ws, password="sésame")
    c = app.test_client()
    _, tok = page(c, "/connexion")
    assert c.post("/connexion", data={**tok, "mot_de_passe": "sésame"}).status_code == 302
    for url in (f"/d/{CID}/", f"/d/{CID}/captures/voir/Screenshot_20250901-085227.png", "/static/style.css"):
        r = c.get(url)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", url
    _, tok = page(c, f"/d/{CID}/")
    r = c.post("/deconnexion", data=tok)
    assert r.status_code == 302 and r.headers["Clear-Site-Data"] == '"cache"'
    assert r.headers["Cache-Control"] == "no-store"


def test_names_sent_by_the_browser_lose_control_and_format_characters_and_are_capped(client, ws, tmp_path):
    png = make_png(tmp_path / "a.png", size=(300, 600)).read_bytes()
    _, tok = page(client, f"/d/{CID}/captures")
    r = _multipart(client, f"/d/{CID}/captures/envoyer", {**tok, "fichiers": [
        (io.BytesIO(png), "Screenshot_20250910-101500\u202egnp\x00.png"),
        (io.BytesIO(b"x" * 10), "A" * 20000 + ".png")]})
    assert "\u202e" not in r and "A" * 121 not in r and "A" * 119 + "…" in r
    names = json.loads((ws / CID / store.NAMES_FILE).read_text("utf-8"))
    assert list(names.values()) == ["Screenshot_20250910-101500gnp.png"]
    assert store.shown_name("C:\\Users\\x\\IMG_\u200b0042.PNG\r") == "IMG_0042.PNG"


# ---------------------------------------------------------------- the proxy: one public name, one budget for all


def test_behind_the_proxy_only_the_public_name_is_answered(ws, monkeypatch):
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with pytest.raises(RefereError, match="--nom-public"):
        serve.make_server(ws, "127.0.0.1", 0, behind_proxy=True)
    with pytest.raises(RefereError, match="sans https://"):
        serve.make_server(ws, "127.0.0.1", 0, behind_proxy=True, public_name="https://permanence.example.org/")
    with running(ws, behind_proxy=True) as server:
        for host in ("127.0.0.1", "localhost", "rebind.example.com", f"127.0.0.1:{server.effective_port}"):
            status, _, body = Browser(server, **{**PROXIED, "Host": host, "X-Forwarded-For": "10.0.0.1"}).get("/connexion")
            assert status == 400 and "adresse ou formulaire invalide" in body.decode(), host
        assert proxied(server, "10.0.0.1").get("/connexion")[0] == 200


def test_made_up_addresses_share_one_budget_of_failures(ws, monkeypatch, caplog):
    """A local process can put any X-Forwarded-For: past 30 failures in all, everyone waits; past 100,
    the login is closed to all for 15 minutes."""
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    caplog.set_level(logging.INFO, logger="refere.web")
    with running(ws, behind_proxy=True) as server:
        clock = server.refere_app.extensions["refere_gate"].clock = Clock()
        for n in range(auth.ALL_FREE):
            assert proxied(server, f"10.1.0.{n}").post("/connexion", {"mot_de_passe": "non"})[0] == 200
        assert proxied(server, "10.2.0.1").post("/connexion", {"mot_de_passe": "non"})[0] == 200
        status, _, body = proxied(server, "10.2.0.2").post("/connexion", {"mot_de_passe": "sésame"})
        assert status == 429 and "attendez 2 secondes" in body.decode()
        clock.now += 2
        assert proxied(server, "10.2.0.2").post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
        for n in range(auth.ALL_FREE + 1, auth.ALL_LOCK_AFTER):
            clock.now += auth.MAX_WAIT
            assert proxied(server, f"10.3.{n}.1").post("/connexion", {"mot_de_passe": "non"})[0] == 200
        clock.now += 14 * 60
        status, _, body = proxied(server, "10.4.0.1").post("/connexion", {"mot_de_passe": "sésame"})
        assert status == 429 and "fermée à tous pendant 1 minute." in body.decode()
        clock.now += 61
        assert proxied(server, "10.4.0.1").post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
    logged = [r.getMessage() for r in caplog.records if r.name == "refere.web"]
    assert "connexion : fermée à toutes les adresses 15 minutes après 100 mots de passe incorrects" in logged
