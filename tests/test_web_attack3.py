"""Round 3's remaining findings on the web server (issue 22: F16, F17, F18, F9), over real HTTP
(waitress on 127.0.0.1) with real files on disk, except where noted."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

from conftest import copy_example
from test_web_security import Browser, running

CID = "exemple-94"
CITED = "Screenshot_20250901-085227.png"


@pytest.fixture
def ws(tmp_path) -> Path:
    w = tmp_path / "espace"
    w.mkdir()
    copy_example(w / CID)
    return w


# ---------------------------------------------------------------- F17: a name in the other Unicode form

def test_a_capture_cited_in_the_other_unicode_form_is_neither_loose_nor_removed(ws):
    """dossier.yaml cites « captures/été.png » as typed (NFC); the file copied from a Mac is NFD."""
    case = ws / CID / "dossier.yaml"
    case.write_text(case.read_text("utf-8").replace(f"captures/{CITED}", "captures/été.png", 1), "utf-8")
    nfd = unicodedata.normalize("NFD", "été.png")
    os.rename(ws / CID / "captures" / CITED, ws / CID / "captures" / nfd)
    with running(ws) as server:
        b = Browser(server)
        status, _, body = b.get(f"/d/{CID}/captures")
        assert status == 200
        assert "Captures sans tentative" not in body.decode("utf-8")  # no « Retirer » offered for it
        status, _, body = b.post(f"/d/{CID}/captures/retirer", {"nom": nfd}, token_from=f"/d/{CID}/captures")
        assert status == 302
        _, _, body = b.get(f"/d/{CID}/captures")
        assert "Cette capture sert à une tentative : retirez d'abord la tentative." in body.decode("utf-8")
    assert (ws / CID / "captures" / nfd).is_file()


# ---------------------------------------------------------------- F18: files already there, hashed on upload

def _send(b: Browser, path: str, files: list[tuple[str, bytes]], token_from: str) -> str:
    """A multipart form with files, as a browser sends it; the page shown after it."""
    _, _, page_html = b.get(token_from)
    fields = dict(re.findall(rb'name="(_csrf|_version)" value="([^"]*)"', page_html))
    boundary = "----refere-essai"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k.decode()}"\r\n\r\n{v.decode()}\r\n'.encode()
             for k, v in fields.items()]
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="fichiers"; filename="{name}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    status, resp, _ = b.request_raw("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 302, status
    _, _, shown = b.get(resp.getheader("Location").split("#")[0].replace(f"http://127.0.0.1:{b.port}", ""))
    return shown.decode("utf-8")


def _key(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


@pytest.mark.parametrize("size", [100 * 1024 * 1024, 50 * 1024 ** 3])
def test_a_huge_file_in_captures_is_never_read_by_an_upload(ws, tmp_path, size):
    """A sparse file over the per-file limit (100 Mo, or 50 Go, which also puts the case over its
    limit) is never hashed; an upload repeating a capture is still told so."""
    from conftest import make_png
    from refere import files

    cap = ws / CID / "captures"
    with open(cap / "gros.png", "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.truncate(size)
    again = (cap / CITED).read_bytes()
    new = make_png(tmp_path / "Screenshot_20250930-091500.png", text="nouvelle").read_bytes()
    with running(ws) as server:
        b = Browser(server)
        shown = _send(b, f"/d/{CID}/captures/envoyer", [("copie.png", again), ("Screenshot_20250930-091500.png", new)],
                      token_from=f"/d/{CID}/captures")
    if size < 400 * 1024 * 1024:
        assert "« copie.png » a le même contenu que la tentative n° 1" in shown
        assert _key(cap / CITED) in files._HASHES  # the one file of the upload's size, hashed once
    else:
        assert "ferait dépasser la taille permise pour un dossier" in shown
    assert _key(cap / "gros.png") not in files._HASHES


# ---------------------------------------------------------------- F16: refere web --hote ::1

def test_the_ipv6_loopback_is_answered_and_other_hosts_still_refused(ws):
    """In-process (the WSGI app as serve.make_server builds it): no IPv6 loopback on every machine."""
    from refere.web.app import create_app

    c = create_app(ws, trusted_hosts=["localhost", "127.0.0.1", "::1", "[::1]"]).test_client()
    for host in ("[::1]:8765", "[::1]", "localhost:8765", "LOCALHOST:8765", "127.0.0.1:8765"):
        assert c.get("/", headers={"Host": host}).status_code == 200, host
    for host in ("[::2]:8765", "[::1]:99999", "[::1]x", "localhost.:8765", "attaquant.example:8765", "::1:8765",
                 "[::ffff:127.0.0.1]:8765", "127.0.0.1@attaquant.example", "localhost\t", ""):
        r = c.get("/", headers={"Host": host})
        assert r.status_code == 400 and "Requête refusée" in r.get_data(as_text=True), host
    public = create_app(ws, trusted_hosts=["permanence.example.org"]).test_client()
    assert public.get("/", headers={"Host": "permanence.example.org"}).status_code in (200, 302)
    assert public.get("/", headers={"Host": "[::1]:8765"}).status_code == 400


# ---------------------------------------------------------------- F9: a body sent without the password

def test_a_large_body_without_the_password_is_refused_before_it_is_read(ws, tmp_path, monkeypatch):
    """Network mode: the headers of a 200 Mo upload from someone not signed in get a French 413 at
    once (not one byte of the body sent); the same upload once signed in is received."""
    import socket

    from conftest import make_png
    from refere.web import serve, wire
    from test_web_security import PROXIED, PUBLIC, proxied

    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        with socket.create_connection(("127.0.0.1", server.effective_port), timeout=60) as sock:
            sock.sendall(f"POST /d/{CID}/captures/envoyer HTTP/1.1\r\nHost: {PUBLIC}\r\n"
                         f"X-Forwarded-Proto: {PROXIED['X-Forwarded-Proto']}\r\nX-Forwarded-For: 192.168.1.40\r\n"
                         f"Content-Type: application/octet-stream\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(4096):  # the server closes the connection after its answer
                answer += chunk
        head, _, text = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 ")
        assert text.decode("utf-8") == wire.BODY_REFUSED
        # Signed in, an upload is received as before.
        b = proxied(server, "192.168.1.30")
        assert b.post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
        shot = make_png(tmp_path / "Screenshot_20250930-091500.png", text="nouvelle").read_bytes()
        shown = _send(b, f"/d/{CID}/captures/envoyer", [("Screenshot_20250930-091500.png", shot + bytes(100_000))],
                      token_from=f"/d/{CID}/captures")
        assert "Envoi refusé" not in shown and "30/09/2025 09:15" in shown
