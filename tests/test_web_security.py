"""`refere web` under attack: only the case's own outputs are served, the password gate (lockout,
logout, expiry, no open redirect), HTTPS only through a proxy, and files written with the user's umask.

Real HTTP requests to the server on 127.0.0.1 (waitress), real files on disk."""

from __future__ import annotations

import html
import http.client
import io
import json
import logging
import os
import re
import stat
import tempfile
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from waitress import wasyncore

from conftest import copy_example, make_pdf, make_png
from refere.web import auth, serve
from refere.web.app import create_app


@pytest.fixture
def ws(tmp_path) -> Path:
    w = tmp_path / "espace"
    w.mkdir()
    copy_example(w / "exemple-94")
    return w


@contextmanager
def running(ws: Path, behind_proxy: bool = False):
    server = serve.make_server(ws, "127.0.0.1", 0, behind_proxy=behind_proxy)
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        yield server
    finally:
        # Closed from the server's own loop, which then ends: no socket is closed under its feet.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        t.join(30)
        server.task_dispatcher.shutdown()


class Browser:
    """One visitor: its cookie, and the headers its proxy adds (address, scheme)."""

    def __init__(self, server, **headers):
        self.port = server.effective_port
        self.headers = headers
        self.cookie = ""

    def request(self, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = dict(self.headers)
        if self.cookie:
            headers["Cookie"] = self.cookie
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
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


PROXIED = {"X-Forwarded-Proto": "https"}


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


# ---------------------------------------------------------------- network mode: the proxy and the gate


def test_behind_the_proxy_plain_http_is_refused_and_the_cookie_is_secure(ws, monkeypatch):
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        status, resp, body = Browser(server).get("/connexion")
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
