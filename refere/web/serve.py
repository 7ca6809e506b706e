"""Start the server: local by default; any other address needs REFERE_MOT_DE_PASSE."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import signal
import threading
import time
import webbrowser
from pathlib import Path

from refere import signals
from refere.errors import RefereError
from refere.web import store, wire

LOCAL = {"127.0.0.1", "localhost", "::1"}
PASSWORD_ENV = "REFERE_MOT_DE_PASSE"


def is_local(host: str) -> bool:
    if host in LOCAL:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def password_from_env() -> str | None:
    """REFERE_MOT_DE_PASSE, or None. Bytes that are not UTF-8 (set from a Latin-1 terminal) are refused
    here: no typed password could match them, and every login would fail."""
    password = os.environ.get(PASSWORD_ENV) or None
    if password is not None:
        try:
            password.encode("utf-8")
        except UnicodeEncodeError:
            raise RefereError(
                f"La variable {PASSWORD_ENV} n'est pas écrite en UTF-8 (terminal réglé en Latin-1 ?) : personne "
                "ne pourrait se connecter avec ce mot de passe. Définissez-la de nouveau depuis un terminal en "
                "UTF-8, ou choisissez un mot de passe sans accents.") from None
    return password


def limits_from_env() -> store.Limits:
    """REFERE_WEB_MAX_FICHIER_MO and REFERE_WEB_MAX_DOSSIER_MO, in megabytes."""
    lim = store.Limits()
    for env, attr in (("REFERE_WEB_MAX_FICHIER_MO", "file_bytes"), ("REFERE_WEB_MAX_DOSSIER_MO", "case_bytes")):
        raw = os.environ.get(env)
        if raw:
            digits = raw.strip()
            if not (digits.isascii() and digits.isdigit()) or int(digits) < 1:  # « ² »: isdigit, not int()
                raise RefereError(f"{env} doit être un nombre entier de mégaoctets, pas « {raw} »")
            setattr(lim, attr, int(digits) * 1024 * 1024)
    return lim


def make_server(workspace: Path, host: str, port: int, behind_proxy: bool = False, public_name: str | None = None,
                templates=None):
    """A waitress server, not yet running (port 0: a free port). It listens on this computer only: the
    network reaches it through an HTTPS reverse proxy (``behind_proxy``), never in plain HTTP, at the
    address ``public_name`` (the only Host answered there)."""
    from waitress import create_server

    from refere.web.app import create_app

    if not workspace.is_dir():
        raise RefereError(f"« {workspace} » n'est pas un dossier : donnez le dossier qui contient les affaires")
    if not is_local(host):
        raise RefereError(
            f"refere n'écoute pas sur « {host} » : le trafic y passerait en clair, mot de passe et dossiers "
            "lisibles par tout le réseau. Pour une permanence, lancez refere derrière un proxy HTTPS sur cet "
            f"ordinateur : {PASSWORD_ENV}='…' refere web --derriere-proxy --nom-public … (voir docs/web.md, « Mode réseau »).")
    password = password_from_env()
    if behind_proxy and not password:
        raise RefereError(
            f"Derrière un proxy, les dossiers sont accessibles depuis le réseau : définissez d'abord un mot de "
            f"passe dans la variable {PASSWORD_ENV} (par exemple : {PASSWORD_ENV}='…' refere web --derriere-proxy --nom-public …).")
    if behind_proxy:
        public_name = check_public_name(public_name)
    # A password set for a local server is asked too: whoever set it wants it. Without a proxy, only local
    # names are answered (a web page cannot reach the server by DNS rebinding); behind it, the public one.
    trusted = [public_name] if behind_proxy else ["localhost", "127.0.0.1", "::1", "[::1]"]
    limits = limits_from_env()
    if templates is not None:
        from refere.web.core import check_templates

        check_templates(templates)  # a template the verifier refuses stops here, with every problem
    app = create_app(workspace, password=password, limits=limits, trusted_hosts=trusted,
                     behind_proxy=behind_proxy, templates=templates)
    stop = threading.Event()
    warm = threading.Thread(target=_warm, args=(workspace, stop), daemon=True)
    warm.start()
    try:
        # Up to 8 requests at once: uploads and a build must not freeze the other pages.
        # Behind the proxy, waitress takes the visitor's address and scheme from the headers the proxy adds;
        # it may trust any peer: only this computer can connect (is_local above).
        proxy = {}
        if behind_proxy:
            # Which headers, and how a value waitress would refuse in English is refused: wire.proxy_refusal.
            proxy = {"trusted_proxy": "*", "trusted_proxy_count": 1, "trusted_proxy_headers": wire.PROXY_HEADERS}
        # A body larger than a case may hold is cut by waitress before it is spooled to disk; a
        # connection idle for 30 s is closed (120 s, the default, let 100 half-sent requests
        # hold every slot), and more slots are open than a permanence needs.
        server = create_server(app, host=host, port=port, threads=8, ident="refere",
                               max_request_body_size=limits.case_bytes + 2 * 1024 * 1024,
                               channel_timeout=30, connection_limit=200, **proxy)
        server.refere_app = app
        server.refere_warm = (warm, stop)
        wire.install(server, app, limits, behind_proxy, gate=bool(password))
        return server
    except OSError as exc:
        raise RefereError(f"impossible d'écouter sur {host}:{port} ({exc.strerror or exc}) : "
                          "choisissez un autre port avec --port") from None


_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\]")


def check_public_name(name: str | None) -> str:
    """The address the phones open (« 192.168.1.20 », « permanence.example.org »): behind the proxy, a
    request naming any other host is refused, whoever sends it from this computer."""
    name = (name or "").strip().lower().rstrip(".")
    if not name:
        raise RefereError("Derrière un proxy, donnez l'adresse que les téléphones ouvrent, celle du proxy : "
                          "--nom-public 192.168.1.20 (ou le nom de domaine ; voir docs/web.md, « Mode réseau »).")
    if not _HOST_NAME.fullmatch(name):
        raise RefereError(f"--nom-public « {name} » : donnez seulement l'adresse ou le nom, sans https:// , "
                          "sans port ni chemin (par exemple 192.168.1.20).")
    return name


def _warm(workspace: Path, stop: threading.Event | None = None) -> None:
    """Read and check every case once in the background, so that the first pages answer fast;
    ``stop``: the server is stopping (see ``_end_warm``)."""
    from refere.web import core

    for cid in store.case_ids(workspace):
        if stop is not None and stop.is_set():
            return
        try:
            store.read_doc_for_display(workspace / cid / store.CASE_FILE)
            core.status(workspace / cid)
        except Exception:  # noqa: BLE001 — a broken case is shown by its page, not here
            continue


def _end_warm(server, wait: float = 30.0) -> None:
    """Stop the background reading and wait for it: a thread still inside a library's C code
    while the interpreter shuts down can crash it (seen: SIGSEGV on Ctrl-C right after start)."""
    warm, stop = getattr(server, "refere_warm", (None, None))
    if warm is not None:
        stop.set()
        warm.join(wait)


def address(server, host: str) -> str:
    shown = "localhost" if host in ("127.0.0.1", "localhost") else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{server.effective_port}/"


def run(workspace: Path, host: str, port: int, open_browser: bool, echo=print, behind_proxy: bool = False,
        public_name: str | None = None, templates=None) -> None:
    server = make_server(workspace, host, port, behind_proxy, public_name, templates)
    url = address(server, host)
    echo(f"refere web : {url}  (espace : {workspace.resolve()})")
    if behind_proxy:
        echo(f"Derrière le proxy HTTPS : le proxy doit renvoyer vers {url} ; les téléphones ouvrent "
             f"https://{public_name}/.")
    for what, path in (("la requête", getattr(templates, "requete", None)), ("la lettre", getattr(templates, "courrier", None))):
        if path is not None:
            echo(f"Modèle du cabinet pour {what} : {path} (vérifié).")
    echo("Arrêt : Ctrl-C.")
    _log_to(echo)
    if open_browser and not behind_proxy:
        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    try:
        server.run()  # waitress ends its loop on KeyboardInterrupt (Ctrl-C, and our Terminated) and returns
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        _end_warm(server)
    echo("Serveur arrêté.")
    if (signum := signals.raised()) not in (None, signal.SIGINT):
        raise signals.Terminated(signum)  # SIGTERM, SIGHUP: the shell's exit code (143, 129), as every command


def _log_to(echo) -> None:
    """The gate's messages (wrong passwords, lockouts) in the terminal that runs the server, dated."""
    log = logging.getLogger("refere.web")
    if not any(isinstance(h, _EchoHandler) for h in log.handlers):
        log.addHandler(_EchoHandler(echo))
        log.setLevel(logging.INFO)


class _EchoHandler(logging.Handler):
    def __init__(self, echo):
        super().__init__()
        self.echo = echo

    def emit(self, record):
        self.echo(f"{time.strftime('%d/%m/%Y %H:%M:%S')} {record.getMessage()}")
