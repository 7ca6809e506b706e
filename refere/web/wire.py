"""The connection layer under Flask: waitress's channel and parser, held to a pace and a share, and its
own refusals answered in French.

Slow senders: waitress keeps at most ``connection_limit`` connections. A visitor who opens them all and
sends one byte now and then blocks everyone, password or not. So a request must arrive at an average
pace: after GRACE seconds, at least MIN_RATE bytes per second since its first byte (a 400 MB upload may
then take up to 5 h 40 min; a phone on a poor Wi-Fi sends 100 KB/s or more). A request that falls behind
gets a 408 and its connection is closed. And one address may have at most PER_ADDRESS requests whose body
is still arriving; more are refused (429) as soon as their headers are read. Behind the proxy, the
address is the visitor's (X-Forwarded-For, as waitress trusts it), not the proxy's.

Kept-alive connections: a complete request now and then keeps a connection open without any pace to
fall behind. So one address keeps at most PER_ADDRESS_CONNECTIONS connections, each counted for the
address of its latest request: past that, its idle ones are closed, oldest first, as waitress closes
any idle connection after a while. A burst (a proxy opens one connection per request in flight) is
served whole; the connections it leaves idle are closed as the next requests come.
"""

from __future__ import annotations

import time

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.proxy_headers import MalformedProxyHeader, parse_proxy_headers
from waitress.task import ErrorTask
from waitress.utilities import Error

from refere.web import auth

GRACE = 10.0               # seconds before the pace is checked (headers, TCP slow start, a phone waking)
MIN_RATE = 20 * 1024       # bytes per second, averaged from the request's first byte
PER_ADDRESS = 10           # requests from one address whose body is still arriving
PER_ADDRESS_CONNECTIONS = 40  # a browser opens 6 per site: a few phones behind one router, of 200 slots

TOO_SLOW = ("Envoi interrompu : la requête arrivait trop lentement (moins de 20 Ko par seconde en moyenne). "
            "Vérifiez la connexion, puis envoyez de nouveau.\n")
TOO_MANY = (f"Envoi refusé : plus de {PER_ADDRESS} envois arrivent déjà de cette adresse. Attendez qu'ils "
            "se terminent, puis recommencez.\n")
BAD_REQUEST = ("Requête refusée : requête mal formée (ligne de requête, adresse, en-tête, longueur ou morceau "
               "invalide). Ouvrez refere à l'adresse affichée par la commande « refere web ».\n")
# waitress's own refusals, by status; any other is a server error.
FRENCH = {
    400: BAD_REQUEST,
    431: ("Requête refusée : adresse ou en-têtes trop longs (trop de cookies ?). Fermez l'onglet, puis rouvrez "
          "refere.\n"),
    501: "Requête refusée : mode d'envoi (Transfer-Encoding) non pris en charge par refere.\n",
    500: "Erreur interne du serveur : la page n'a pas pu être produite. Rechargez la page ; le terminal qui "
         "fait tourner refere en dit plus.\n",
}


def too_large_message(limits) -> str:
    return (f"L'envoi dépasse la taille permise ({limits.case_bytes // 1024 // 1024} Mo pour un dossier) : "
            "envoyez moins de fichiers à la fois.")


def too_large(limits) -> str:
    """Flask's 413 page in plain text, for bodies cut by waitress before Flask sees them."""
    return f"Envoi trop gros. {too_large_message(limits)}\n"


class French(Error):
    """A refusal of refere's own, with its French text."""

    def __init__(self, code: int, reason: str, text: str):
        super().__init__(text)
        self.code, self.reason = code, reason

    def to_response(self, ident=None):
        return (f"{self.code} {self.reason}", [("Content-Type", "text/plain; charset=utf-8")],
                self.body.encode("utf-8"))


def french(error: Error, limits) -> French:
    if isinstance(error, French):
        return error
    text = too_large(limits) if error.code == 413 else FRENCH.get(error.code, FRENCH[500])
    return French(error.code, error.reason, text)


def channel_class(app, limits, behind_proxy: bool, gate: bool):
    """The channel waitress opens for each connection. ``gate``: a body larger than a login form
    (or sent by chunks) is refused before it is read unless the Cookie carries a session."""

    class Parser(HTTPRequestParser):
        def __init__(self, adj, channel):
            super().__init__(adj)
            self.channel = channel
            self.started = time.monotonic()
            self.bytes_in = 0
            self.address = None

        def received(self, data):
            n = super().received(data)
            self.bytes_in += n
            return n

        def parse_header(self, header_plus):
            super().parse_header(header_plus)
            if self.error is not None:
                return
            if behind_proxy and (refused := proxy_refusal(self.headers)) is not None:
                self.error, self.completed = refused, True
                return
            address = self._address()
            close_idle(self.channel, address)
            if (self.chunked or self.content_length) and not self._body_allowed(address):
                pass  # refused: its connection closes after the answer, it counts for no one
            else:
                self.channel.visitor = address

        def _body_allowed(self, address: str) -> bool:
            """A body announced: refused (error set) without a session behind the gate, or beyond the
            share of one address; else counted as arriving from ``address``."""
            if gate and ((self.chunked or self.content_length > ANONYMOUS_BODY)
                         and not auth.signed_in(app, self.headers.get("COOKIE"))):
                self.error, self.completed = French(413, "Request Entity Too Large", BODY_REFUSED), True
                return False
            if receiving_from(self.channel.server, address) >= PER_ADDRESS:
                self.error, self.completed = French(429, "Too Many Requests", TOO_MANY), True
                return False
            self.address = address
            return True

        def _address(self) -> str:
            forwarded = self.headers.get("X_FORWARDED_FOR", "") if behind_proxy else ""
            # waitress trusts one proxy: the last address it adds is the visitor's
            last = forwarded.rsplit(",", 1)[-1].strip()
            return auth.client_key(last or self.channel.addr[0])

    class Errors(ErrorTask):
        def execute(self):
            self.request.error = french(self.request.error, limits)
            super().execute()

    class Channel(HTTPChannel):
        error_task_class = Errors
        visitor = None  # the address of its latest request

        def __init__(self, server, sock, addr, adj, map=None):
            super().__init__(server, sock, addr, adj, map)
            self.parser_class = lambda adj_: Parser(adj_, self)

        def readable(self):
            req = self.request
            if req is not None and not req.completed and not self.will_close and not self.close_when_flushed:
                now = time.monotonic()
                if self.requests:
                    req.started = now  # waiting for an answer on this connection: not the sender's fault
                elif late(req, now):
                    self._refuse_slow()
                    return False
            return super().readable()

        def _refuse_slow(self):
            body = TOO_SLOW.encode("utf-8")
            head = ("HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii")
            with self.outbuf_lock:
                self.outbufs[-1].append(head + body)
                self.total_outbufs_len += len(head) + len(body)
            self.request.close()  # its body spooled so far, if any
            self.request = None
            self.close_when_flushed = True

    return Channel


# The headers waitress takes from the proxy (serve.make_server). Not X-Forwarded-Host: the proxy keeps the
# visitor's Host, which alone is checked against --nom-public (a page that adds the header must not pass
# for the public name).
PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto"})
PROXY_REFUSED = ("Requête refusée : l'en-tête {header} ajouté par le proxy est invalide (attendu : {expected}). "
                 "Vérifiez la configuration du proxy HTTPS (voir docs/web.md, « Mode réseau »).\n")
_EXPECTED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "l'adresse du visiteur"}


def proxy_refusal(headers: dict) -> French | None:
    """Behind the proxy, before waitress reads them: X-Forwarded-Proto cut to the value the nearest proxy
    set; any header waitress would refuse with its English page refused here, in French."""
    proto = headers.get("X_FORWARDED_PROTO")
    if proto is not None:
        # « https, https » (two proxies that both add it) or the header twice (joined by the parser): the
        # last value is the proxy on this computer's, the only one trusted, as for X-Forwarded-For (and
        # as werkzeug's ProxyFix reads it). waitress would refuse the list.
        headers["X_FORWARDED_PROTO"] = proto.rsplit(",", 1)[-1].strip()
    environ = {f"HTTP_{k}": v for k, v in headers.items() if k.startswith("X_FORWARDED_") or k == "FORWARDED"}
    environ.update({"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http"})
    try:  # waitress's own reading, on a copy: what it would refuse, or fail on, when the request runs
        parse_proxy_headers(environ, trusted_proxy_count=1, trusted_proxy_headers=PROXY_HEADERS)
    except MalformedProxyHeader as exc:
        header = exc.header
    except IndexError:  # « X-Forwarded-For: " " »: an empty address, which waitress fails on (a 500)
        header = "X-Forwarded-For"
    else:
        return None
    # The terminal that runs refere is told: the proxy's configuration is to mend, not the visitor's.
    auth.log.warning("proxy : en-tête %s invalide (%r), requête refusée", header,
                     headers.get(header.upper().replace("-", "_"), "")[:80])
    return French(400, "Bad Request", PROXY_REFUSED.format(header=header, expected=_EXPECTED.get(header, "https")))


def late(req, now: float) -> bool:
    elapsed = now - req.started
    return elapsed > GRACE and req.bytes_in < MIN_RATE * (elapsed - GRACE)


def receiving_from(server, address: str) -> int:
    """Requests from ``address`` whose headers are read and whose body is still arriving."""
    count = 0
    for ch in list(getattr(server, "active_channels", {}).values()):
        req = ch.request
        if req is not None and getattr(req, "address", None) == address and not req.completed:
            count += 1
    return count


def close_idle(channel, address: str) -> None:
    """Past PER_ADDRESS_CONNECTIONS open connections of ``address`` (``channel``, asking now,
    included), its idle ones are closed, oldest first: waitress's own way (``will_close``)."""
    mine = [ch for ch in list(getattr(channel.server, "active_channels", {}).values())
            if ch is not channel and getattr(ch, "visitor", None) == address and not ch.will_close]
    excess = len(mine) + 1 - PER_ADDRESS_CONNECTIONS
    if excess <= 0:
        return
    idle = [ch for ch in mine if not ch.requests and ch.request is None and not ch.total_outbufs_len]
    for ch in sorted(idle, key=lambda ch: ch.last_activity)[:excess]:
        ch.will_close = True


# Without a session, a request carries the login form and little else: a larger body is refused as
# soon as its headers are read, before waitress reads (and spools to disk) a byte of it.
ANONYMOUS_BODY = 64 * 1024
BODY_REFUSED = ("Envoi refusé : connectez-vous d'abord avec le mot de passe de la permanence (page "
                "« Connexion »), puis envoyez de nouveau vos fichiers.\n")


def install(server, app, limits, behind_proxy: bool, gate: bool) -> None:
    """One server, or one per address (MultiSocketServer): each accepts with its channel_class."""
    cls = channel_class(app, limits, behind_proxy, gate)
    for s in [server, *list(getattr(server, "map", {}).values())]:
        if hasattr(s, "channel_class"):
            s.channel_class = cls
