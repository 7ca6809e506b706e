"""`refere web` under the connection layer: slow senders, too many uploads from one address, and every
refusal (waitress's, werkzeug's, Flask's) in French; a dossier.yaml read the same way by the CLI and the web.

Real sockets to a real server on 127.0.0.1 (waitress), real files on disk."""

from __future__ import annotations

import re
import selectors
import socket
import time
import pytest

from conftest import make_png
from refere.web import core, serve, store, wire
from test_web_security import PUBLIC, Browser, proxied, running, ws  # noqa: F401 — ws: the example case

CID = "exemple-94"


def _connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.effective_port), timeout=60)


def _answer(sock: socket.socket) -> tuple[str, str]:
    """The status line and the text of an answer the server ends by closing the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode("latin-1"), body.decode("utf-8")


def _slow_login(port_host: bytes, address: str) -> bytes:
    """A login form announced (60 000 bytes, under the anonymous limit) and barely begun."""
    return (b"POST /connexion HTTP/1.1\r\n" + port_host + b"X-Forwarded-Proto: https\r\nX-Forwarded-For: "
            + address.encode() + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 60000\r\n\r\nmot_de_passe=")


# ---------------------------------------------------------------- slow senders


def test_slow_senders_from_one_address_leave_the_server_to_everyone_else(ws, monkeypatch):
    """210 connections from one visitor, each sending a login form a byte at a time (more than
    waitress's 200 connections): the server still answers another visitor, password set."""
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    monkeypatch.setattr(wire, "GRACE", 600.0)  # the pace is another test's: here, only the share
    with running(ws, behind_proxy=True) as server:
        socks = []
        for _ in range(210):
            s = _connect(server)
            s.sendall(_slow_login(f"Host: {PUBLIC}\r\n".encode(), "192.168.1.66"))
            socks.append(s)
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
        refused, deadline = {}, time.monotonic() + 120
        while len(refused) < 200 and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                chunk = key.fileobj.recv(65536)
                if chunk:
                    key.data.extend(chunk)
                else:  # closed by the server after its answer
                    sel.unregister(key.fileobj)
                    refused[key.fileobj] = bytes(key.data)
        assert len(refused) == 200
        for answer in refused.values():
            head, _, text = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 429 ") and text.decode("utf-8") == wire.TOO_MANY
        held = [s for s in socks if s not in refused]
        assert len(held) == wire.PER_ADDRESS
        # Another visitor signs in; the same visitor may still open a page (no body: not counted).
        assert proxied(server, "192.168.1.30").post("/connexion", {"mot_de_passe": "sésame"})[0] == 302
        assert proxied(server, "192.168.1.66").get("/")[0] == 302
        for s in held:  # all that while, the slow ones were still held, not closed
            with pytest.raises(BlockingIOError):
                s.recv(1)
        sel.close()
        for s in socks:
            s.close()


def _one_answer(sock: socket.socket) -> bytes:
    """One whole answer on a kept-alive connection (its Content-Length read)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head, re.I)[1])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _kept_alive_get(sock: socket.socket, address: str) -> bytes:
    """GET / from ``address`` on a kept-alive connection: its whole answer."""
    sock.sendall(_get(address))
    return _one_answer(sock)


def _get(address: str) -> bytes:
    return (f"GET / HTTP/1.1\r\nHost: {PUBLIC}\r\nX-Forwarded-Proto: https\r\n"
            f"X-Forwarded-For: {address}\r\n\r\n").encode()


def test_kept_alive_connections_from_one_address_are_capped_the_oldest_idle_closed(ws, monkeypatch):
    """One visitor keeps connections open with a complete request now and then (no body, no pace to
    fall behind): past its share, its oldest idle connection is closed and the new request served;
    the others stay open, another visitor is answered (attack 9)."""
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        held = [_connect(server) for _ in range(wire.PER_ADDRESS_CONNECTIONS)]
        for s in held:
            assert _kept_alive_get(s, "192.168.1.66").startswith(b"HTTP/1.1 302 ")
        extra = _connect(server)
        assert _kept_alive_get(extra, "192.168.1.66").startswith(b"HTTP/1.1 302 ")
        held[0].settimeout(10)
        assert held[0].recv(1) == b""  # closed by the server: the oldest idle one
        for s in held[1:]:
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.recv(1)  # still open
        assert proxied(server, "192.168.1.30").get("/")[0] == 302
        for s in [*held, extra]:
            s.close()


def test_a_burst_of_requests_through_the_proxy_is_answered_whole(ws, monkeypatch):
    """A page of 60 thumbnails behind Caddy: one connection to refere per request in flight, more
    than one address's share; every request is answered (attack 10 found 20 refused)."""
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        burst = [_connect(server) for _ in range(60)]
        for s in burst:
            s.sendall(_get("192.168.1.66"))
        answers = [_one_answer(s).split(b"\r\n")[0] for s in burst]
        for s in burst:
            s.close()
        assert answers == [b"HTTP/1.1 302 FOUND"] * 60


def test_a_request_that_falls_behind_gets_a_408_and_its_connection_is_closed(ws, monkeypatch):
    monkeypatch.setattr(wire, "GRACE", 1.0)
    with running(ws) as server:
        host = f"Host: localhost:{server.effective_port}\r\n".encode()
        slow_body, slow_head = _connect(server), _connect(server)
        slow_body.sendall(_slow_login(host, "127.0.0.1"))
        slow_head.sendall(b"GET / HTTP/1.1\r\n" + host + b"Accept: text/ht")
        for s in (slow_body, slow_head):
            assert _answer(s) == ("HTTP/1.1 408 Request Timeout", wire.TOO_SLOW)
            s.close()


def test_an_upload_sent_at_a_modest_pace_is_received(ws, tmp_path, monkeypatch):
    """300 KB sent by pieces, a pause after each: received whole (the pace asked is far lower)."""
    monkeypatch.setattr(wire, "GRACE", 2.0)
    shot = make_png(tmp_path / "Screenshot_20250930-091500.png", text="nouvelle").read_bytes() + bytes(300_000)
    before = set((ws / CID / "captures").iterdir())
    with running(ws) as server:
        b = Browser(server)
        _, _, page = b.get(f"/d/{CID}/captures")
        boundary = b"----refere-essai"
        body = b"".join(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + k + b'"\r\n\r\n' + v + b"\r\n"
                        for k, v in re.findall(rb'name="(_csrf|_version)" value="([^"]*)"', page))
        body += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="fichiers"; '
                b'filename="Screenshot_20250930-091500.png"\r\nContent-Type: image/png\r\n\r\n' + shot
                + b"\r\n--" + boundary + b"--\r\n")
        s = _connect(server)
        s.sendall(f"POST /d/{CID}/captures/envoyer HTTP/1.1\r\nHost: localhost:{server.effective_port}\r\n"
                  f"Cookie: {b.cookie}\r\nContent-Type: multipart/form-data; boundary={boundary.decode()}\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        for i in range(0, len(body), 25_000):
            s.sendall(body[i:i + 25_000])
            time.sleep(0.1)
        s.settimeout(60)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        status = data.split(b"\r\n")[0].decode()
        b.cookie = re.search(rb"Set-Cookie: ([^;]+)", data)[1].decode()
        _, _, shown = b.get(re.search(rb"Location: (?:http://[^/]+)?([^#\r]+)", data)[1].decode())
    assert status.startswith("HTTP/1.1 302 ") and "1 tentative ajoutée." in shown.decode()
    new = set((ws / CID / "captures").iterdir()) - before
    assert [p.read_bytes() == shot for p in new] == [True]


# ---------------------------------------------------------------- every refusal in French


def _raw(server, request: bytes) -> tuple[str, str]:
    with _connect(server) as s:
        s.sendall(request)
        return _answer(s)


@pytest.mark.parametrize("request_, code, text", [
    (b"POST /connexion HTTP/1.1\r\nHOST\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef", 400, wire.BAD_REQUEST),
    (b"POST /connexion HTTP/1.1\r\nHOST\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, wire.BAD_REQUEST),
    (b"GET /d/\xff\xfe/captures HTTP/1.1\r\nHOST\r\n\r\n", 400, wire.BAD_REQUEST),
    (b"GARBAGE\r\n\r\n", 400, wire.BAD_REQUEST),
    (b"POST /connexion HTTP/1.1\r\nHOST\r\nTransfer-Encoding: gzip\r\n\r\n", 501, wire.FRENCH[501]),
], ids=["content-length-twice", "bad-chunk", "path-not-utf8", "bad-request-line", "unknown-encoding"])
def test_waitress_refusals_are_in_french(ws, request_, code, text):
    with running(ws) as server:
        status, shown = _raw(server, request_.replace(b"HOST", f"Host: localhost:{server.effective_port}".encode()))
    assert status.split(" ")[1] == str(code) and shown == text


@pytest.mark.parametrize("size_mb", [2.5, 10, 1000])
def test_a_body_too_large_gets_the_same_french_sentence_at_every_size(ws, monkeypatch, size_mb):
    """Between Flask's limit and waitress's, Flask's page; beyond, waitress's answer: the same sentence."""
    monkeypatch.setenv("REFERE_WEB_MAX_DOSSIER_MO", "1")  # Flask cuts at 2 MB, waitress at 3 MB
    size = int(size_mb * 1024 * 1024)
    with running(ws) as server:
        b = Browser(server)
        head = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(size)}
        body = b"--x\r\n" + bytes(size - 5) if size_mb < 3 else None
        if body is None:
            status, shown = _raw(server, f"POST /d/{CID}/captures/envoyer HTTP/1.1\r\nHost: localhost:"
                                         f"{server.effective_port}\r\nContent-Length: {size}\r\n\r\n".encode())
            assert status == "HTTP/1.1 413 Request Entity Too Large" and shown == wire.too_large(store.Limits(case_bytes=1024 * 1024))
        else:
            status, _, page = b.request_raw("POST", f"/d/{CID}/captures/envoyer", body, head)
            assert status == 413
            assert "L'envoi dépasse la taille permise (1 Mo pour un dossier) : envoyez moins de fichiers à la fois." in page.decode()


def _multipart(parts: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(b'--B\r\nContent-Disposition: form-data; name="' + n + b"\r\n\r\n" + v + b"\r\n"
                    for n, v in parts) + b"--B--\r\n"


@pytest.mark.parametrize("parts, code, title, message", [
    ([(b'_csrf"', b"x"), (b'titre"', b"x" * 3_000_000)], 413, "Envoi trop gros",
     "Un champ de texte du formulaire dépasse 2 Mo : raccourcissez-le."),
    ([(b'f%d"' % i, b"v") for i in range(25_000)], 413, "Envoi trop gros",
     "Le formulaire compte plus de 20 000 champs et fichiers : envoyez-en moins à la fois."),
    ([(b'_csrf"', b"x"), (b'fichiers"; filename="\xff\xfe.png"\r\nContent-Type: image/png', b"\x89PNG")], 400,
     "Formulaire illisible", "Le navigateur a envoyé un formulaire que refere ne sait pas lire"),
], ids=["text-field-3-MB", "25000-parts", "filename-not-utf8"])
def test_a_form_refused_names_the_limit_or_the_fault(ws, parts, code, title, message):
    with running(ws) as server:
        b = Browser(server)
        status, _, page = b.request_raw("POST", f"/d/{CID}/pieces/envoyer", _multipart(parts),
                                        {"Content-Type": "multipart/form-data; boundary=B"})
    page = page.decode()
    assert status == code and f"<h1>{title}</h1>" in page and message in page
    assert "400 Mo" not in page and "Formulaire expiré" not in page


@pytest.mark.parametrize("method, path", [("GET", "/deconnexion"), ("PUT", "/"), ("DELETE", f"/d/{CID}/pieces")])
def test_a_method_not_allowed_gets_a_french_page(ws, method, path):
    with running(ws) as server:
        status, resp, page = Browser(server).request(method, path)
    assert status == 405 and "<h1>Action impossible ici</h1>" in page.decode()
    assert 'lang="fr"' in page.decode() and "Method Not Allowed" not in page.decode()
    assert "GET" in resp.getheader("Allow") or "POST" in resp.getheader("Allow")


def test_an_internal_error_gets_a_french_page(ws, monkeypatch):
    def broken(*_a, **_k):
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(core, "same_people", broken)
    with running(ws) as server:
        status, _, page = Browser(server).get("/")
    assert status == 500 and "<h1>Erreur interne</h1>" in page.decode() and "Internal Server Error" not in page.decode()


# ---------------------------------------------------------------- dossier.yaml read alike


@pytest.mark.parametrize("spoil, message, line", [
    (lambda t: t.replace("\n", "\x85"), "caractère de fin de ligne inhabituel (NEL, U+0085)", 1),
    (lambda t: "\n".join(x + ("\x85" if i == 2 else "") for i, x in enumerate(t.split("\n"))),
     "caractère de fin de ligne inhabituel (NEL, U+0085)", 3),
    (lambda t: "\ufeff\ufeff" + t, "marque d'encodage (BOM) répétée au début du fichier", 1),
    (lambda t: t.replace("\n", "\u2028", 1), "caractère de fin de ligne inhabituel (LS, U+2028)", 1),
    (lambda t: "\n".join(x + ("\u2029" if i == 4 else "") for i, x in enumerate(t.split("\n"))),
     "caractère de fin de ligne inhabituel (PS, U+2029)", 5),
    (lambda t: "\n".join(("\ufeff" if i == 3 else "") + x for i, x in enumerate(t.split("\n"))),
     "caractère invisible (U+FEFF, marque d'encodage) au milieu du fichier", 4),
], ids=["nel-everywhere", "nel-on-line-3", "bom-twice", "ls-as-break", "ps-on-line-5", "bom-before-a-key"])
def test_the_cli_and_the_web_refuse_the_same_case_file_alike(ws, run, spoil, message, line):
    path = ws / CID / "dossier.yaml"
    path.write_text(spoil(path.read_text("utf-8")), "utf-8")
    result = run("check", ws / CID)
    assert result.exit_code == 1 and f"dossier.yaml:{line} — {message}" in result.output
    with running(ws) as server:
        status, _, page = Browser(server).get(f"/d/{CID}/")
    assert status == 200 and "Dossier illisible" in page.decode() and message in page.decode()
    assert "syntaxe YAML incorrecte" not in page.decode()
