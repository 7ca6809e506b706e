"""Attack 32's findings on the web server: a new case named in 4-byte letters, a password variable not in
UTF-8, « ² » where a number is read, and X-Forwarded-Proto as a chain of proxies sends it. Real files on
disk; the proxy headers over real HTTP (waitress on 127.0.0.1), the startup refusals by the real command."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from refere import dates
from refere.affaire import init
from refere.errors import RefereError
from refere.web import casenames, serve, store, wire
from refere.web.app import create_app
from test_web_attack3 import CID, ws  # noqa: F401 - the workspace fixture, one example case in it
from test_web_security import PUBLIC, Browser, running


@pytest.fixture
def client(ws):
    app = create_app(ws, workers=1)
    app.testing = True
    return app.test_client()


def _hidden(client, url: str) -> dict[str, str]:
    """The form's hidden fields: its CSRF token and, on a case's pages, the file's version."""
    html = client.get(url).get_data(as_text=True)
    return dict(re.findall(r'name="(_csrf|_version)" value="([^"]*)"', html))


# ---------------------------------------------------------------- F1: a name of 4-byte letters

ADLAM = "".join(chr(0x1E922 + i % 30) for i in range(55))  # Adlam small letters (Fula): 4 bytes each
CJK_B = "".join(chr(0x20000 + i) for i in range(60))  # CJK Unified Ideographs Extension B: 4 bytes each


@pytest.mark.parametrize("name, folder", [
    (ADLAM, ADLAM[:50]),  # 50 × 4 = 200 bytes, the most a served name may take
    (CJK_B, CJK_B[:50]),
    ("é" + ADLAM, "e" + ADLAM[:49]),  # 1 + 49 × 4 = 197: a 50th letter would pass 200, never half of one
], ids=["adlam", "cjk-ext-b", "mixed"])
def test_a_new_case_named_in_four_byte_letters_is_made_short_enough_to_be_served(client, ws, name, folder):
    """55 Adlam letters made a 220-byte folder: « Dossier créé », then « Page introuvable », and the
    index listed it as « nom trop long »."""
    r = client.post("/nouveau", data={**_hidden(client, "/"), "nom": name})
    assert r.status_code == 302 and sorted(p.name for p in ws.iterdir()) == sorted([CID, folder])
    assert len(folder.encode("utf-8")) <= casenames.NAME_BYTES
    assert client.get(r.headers["Location"]).status_code == 200
    assert "nom trop long" not in client.get("/").get_data(as_text=True)


# ---------------------------------------------------------------- F4, F5: « ² » is a digit to isdigit, not to int()


def test_moving_a_piece_by_a_superscript_number_changes_nothing(client, ws):
    """« deplacer=²:haut » (a crafted POST; the buttons send « 2:haut ») was an internal error."""
    before = (ws / CID / "dossier.yaml").read_bytes()
    url = f"/d/{CID}/pieces"
    r = client.post(url, data={**_hidden(client, url), "deplacer": "²:haut"})
    assert r.status_code == 302 and r.headers["Location"].endswith(url)
    assert (ws / CID / "dossier.yaml").read_bytes() == before


@pytest.mark.parametrize("env", ["REFERE_WEB_MAX_FICHIER_MO", "REFERE_WEB_MAX_DOSSIER_MO"])
def test_a_size_limit_written_as_a_superscript_is_refused_in_french(monkeypatch, env):
    monkeypatch.setenv(env, "²")
    with pytest.raises(RefereError) as err:
        serve.limits_from_env()
    assert err.value.message == f"{env} doit être un nombre entier de mégaoctets, pas « ² »"


@pytest.mark.parametrize("epoch", ["²", "99999999999999", "9" * 40])
def test_a_superscript_or_out_of_range_source_date_epoch_is_ignored_like_any_other_non_number(monkeypatch, epoch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    assert abs(dates.now() - dt.datetime.now(dates.PARIS)) < dt.timedelta(minutes=1)


def test_a_demarche_answered_with_an_ethiopic_digit_gets_the_french_hint():
    """« ፩ » (Ethiopic one) is a digit to isdigit, stays so after NFKD, and int() refuses it: `refere init`
    showed « invalid literal for int() with base 10 »."""
    with pytest.raises(ValueError) as err:
        init.choose("፩", {"renouvellement": "Renouvellement", "changement_de_statut": "Changement de statut"})
    assert str(err.value).startswith("démarche non reconnue « ፩ » : tapez son numéro")


# ---------------------------------------------------------------- F3, F5: refused at startup, by the command


@pytest.mark.parametrize("env, value, message", [
    (serve.PASSWORD_ENV, os.fsdecode(b"\xe9t\xe9-secret"),  # typed in a Latin-1 terminal
     f"La variable {serve.PASSWORD_ENV} n'est pas écrite en UTF-8 (terminal réglé en Latin-1 ?)"),
    ("REFERE_WEB_MAX_FICHIER_MO", "²", "REFERE_WEB_MAX_FICHIER_MO doit être un nombre entier de mégaoctets, pas « ² »"),
], ids=["password-latin-1", "limit-superscript"])
def test_the_command_refuses_a_variable_it_cannot_use_before_it_starts(ws, env, value, message):
    """A Latin-1 password started the server, then every login was « Erreur interne »; « ² » as a limit
    was « Erreur interne inattendue »."""
    base = {k: v for k, v in os.environ.items() if k != serve.PASSWORD_ENV}
    r = subprocess.run([sys.executable, "-m", "refere", "web", str(ws), "--port", "0", "--sans-navigateur",
                        "--derriere-proxy", "--nom-public", PUBLIC], capture_output=True, text=True, timeout=60,
                       env={**base, serve.PASSWORD_ENV: "sésame", env: value})
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


# ---------------------------------------------------------------- F6: X-Forwarded-Proto from a chain of proxies


def _raw(server, headers: str) -> tuple[str, str]:
    with socket.create_connection(("127.0.0.1", server.effective_port), timeout=60) as s:
        s.sendall(f"GET /connexion HTTP/1.1\r\nHost: {PUBLIC}\r\n{headers}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):  # closed after the answer
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body.decode("utf-8")


@pytest.mark.parametrize("headers", [
    "X-Forwarded-Proto: https, https\r\n",  # two proxies that both add it
    "X-Forwarded-Proto: https\r\nX-Forwarded-Proto: https\r\n",  # the header twice
    "X-Forwarded-Proto: http, https\r\n",  # the proxy on this computer received HTTPS: its value counts
], ids=["list", "twice", "nearest-https"])
def test_the_scheme_the_nearest_proxy_set_is_the_one_read(ws, monkeypatch, headers):
    """waitress answered its English « Bad Request … (generated by server) »."""
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        status, page = _raw(server, f"X-Forwarded-For: 192.168.1.30\r\n{headers}")
        assert status == "HTTP/1.1 200 OK" and "<title>Connexion — refere</title>" in page
        b = Browser(server, Host=PUBLIC, **{"X-Forwarded-For": "192.168.1.30", "X-Forwarded-Proto": "https, https"})
        status, resp, _ = b.post("/connexion", {"mot_de_passe": "sésame"}, token_from="/connexion")
        assert status == 302 and "Secure" in resp.getheader("Set-Cookie")


@pytest.mark.parametrize("headers, header, expected", [
    ("X-Forwarded-Proto: ftp\r\nX-Forwarded-For: 192.168.1.30\r\n", "X-Forwarded-Proto", "https"),
    ('X-Forwarded-Proto: https\r\nX-Forwarded-For: "192.168.1.30\r\n', "X-Forwarded-For", "l'adresse du visiteur"),
    ('X-Forwarded-Proto: https\r\nX-Forwarded-For: " "\r\n', "X-Forwarded-For", "l'adresse du visiteur"),
], ids=["proto-ftp", "for-bad-quote", "for-empty"])
def test_a_proxy_header_waitress_cannot_read_is_refused_in_french(ws, monkeypatch, headers, header, expected):
    """English « Bad Request » pages from waitress; an empty quoted address was an internal error."""
    monkeypatch.setenv(serve.PASSWORD_ENV, "sésame")
    with running(ws, behind_proxy=True) as server:
        status, text = _raw(server, headers)
    assert status == "HTTP/1.1 400 Bad Request"
    assert text == wire.PROXY_REFUSED.format(header=header, expected=expected)


@pytest.mark.parametrize("typed, folder", [
    ("Marie ❤️ Dupont", "marie-dupont"),     # the heart's variation selector once the heart is a dash
    ("Ana\u034fïs Diallo", "anais-diallo"),   # the invisible grapheme joiner
    ("नमस्ते राम", "नमस्ते-राम"),               # vowel signs stay with their letters
])
def test_a_new_cases_folder_keeps_no_invisible_mark_alone(typed, folder):
    """« marie-\ufe0f-dupont »: a lone variation selector made a folder name nobody can type (attack 37)."""
    assert store.slugify(typed) == folder
