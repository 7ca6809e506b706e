"""Network mode: the password gate. Attempts limited per address (a growing wait, then a lockout, each
logged) and across all addresses, sessions kept on the server so that they expire and a logout ends them, and the page to go back
to after login checked to stay on this site."""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("refere.web")

FREE_FAILURES = 3          # typing mistakes: no wait
MAX_WAIT = 60              # seconds, the longest wait between two attempts before the lockout
LOCK_AFTER = 10            # failures in a row from one address → locked out
LOCK_SECONDS = 15 * 60
# Across all addresses (forwarded addresses can be made up): past ALL_FREE failures every attempt waits,
# past ALL_LOCK_AFTER the login is closed to everyone for LOCK_SECONDS. Guessing stays at a few tries an hour.
ALL_FREE = 30
ALL_LOCK_AFTER = 100
IDLE_SECONDS = 2 * 3600    # a session unused this long ends
MAX_SECONDS = 12 * 3600    # and any session ends after this long
_MAX_TRACKED = 10_000


def client_key(addr: str | None) -> str:
    """Who is limited: the address, or its /64 network for IPv6 (one device holds a whole /64)."""
    try:
        ip = ipaddress.ip_address((addr or "").split("%")[0])
    except ValueError:
        return addr or "?"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


@dataclass
class _Session:
    opened: float
    seen: float


class Gate:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._failures: dict[str, _Failures] = {}
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ attempts

    def wait(self, addr: str | None) -> tuple[int, bool | str]:
        """(seconds to wait before the next attempt from this address is even checked, why): why is True
        when this address is locked out, "tous" when every address is, else False; (0, False): go ahead."""
        now = self.clock()
        with self._lock:
            mine = self._wait_of(self._failures, client_key(addr), now, FREE_FAILURES)
            everyone = self._wait_of(self._failures, "", now, ALL_FREE)
        if everyone[1] and not mine[1]:
            return everyone[0], "tous"
        return max(mine, everyone)

    @staticmethod
    def _wait_of(table: dict[str, _Failures], key: str, now: float, free: int) -> tuple[int, bool]:
        f = table.get(key)
        if f is None:
            return 0, False
        if f.locked_until:
            if now < f.locked_until:
                return math.ceil(f.locked_until - now), True
            del table[key]
            return 0, False
        if now - f.last > LOCK_SECONDS:  # a typo this morning does not count against this afternoon
            del table[key]
            return 0, False
        left = f.last + _delay(f.count, free) - now
        return (math.ceil(left), False) if left > 0 else (0, False)

    def failed(self, addr: str | None) -> None:
        key, now = client_key(addr), self.clock()
        with self._lock:
            if len(self._failures) >= _MAX_TRACKED:
                self._forget_old(now)
            f = self._count(key, now, LOCK_AFTER)
            everyone = self._count("", now, ALL_LOCK_AFTER)  # "" is no address: the total of all of them
        if everyone.locked_until and everyone.count == ALL_LOCK_AFTER:
            log.warning("connexion : fermée à toutes les adresses %d minutes après %d mots de passe incorrects",
                        LOCK_SECONDS // 60, everyone.count)
        if f.locked_until:
            log.warning("connexion : adresse %s bloquée %d minutes après %d mots de passe incorrects",
                        key, LOCK_SECONDS // 60, f.count)
        else:
            log.warning("connexion : mot de passe incorrect depuis %s (%d à la suite)", key, f.count)

    def _count(self, key: str, now: float, lock_after: int) -> _Failures:
        f = self._failures.setdefault(key, _Failures())
        if not f.locked_until and now - f.last > LOCK_SECONDS:
            f.count = 0
        f.count += 1
        f.last = now
        if f.count >= lock_after and not f.locked_until:
            f.locked_until = now + LOCK_SECONDS
        return f

    def succeeded(self, addr: str | None) -> None:
        with self._lock:
            self._failures.pop(client_key(addr), None)
        log.info("connexion ouverte depuis %s", client_key(addr))

    def _forget_old(self, now: float) -> None:
        for key in [k for k, f in self._failures.items()
                    if k and (f.locked_until and f.locked_until <= now) or (not f.locked_until and now - f.last > MAX_WAIT)]:
            del self._failures[key]
        while len(self._failures) >= _MAX_TRACKED:
            self._failures.pop(next(k for k in self._failures if k))

    # ------------------------------------------------------------ sessions

    def open_session(self) -> str:
        token, now = secrets.token_urlsafe(32), self.clock()
        with self._lock:
            self._sessions = {t: s for t, s in self._sessions.items() if self._alive(s, now)}
            self._sessions[token] = _Session(now, now)
        return token

    def session_alive(self, token: str | None) -> bool:
        """True for an open session (and it counts as used now); an expired one is forgotten."""
        if not token:
            return False
        now = self.clock()
        with self._lock:
            s = self._sessions.get(token)
            if s is None:
                return False
            if not self._alive(s, now):
                del self._sessions[token]
                return False
            s.seen = now
            return True

    def close_session(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    @staticmethod
    def _alive(s: _Session, now: float) -> bool:
        return now - s.seen < IDLE_SECONDS and now - s.opened < MAX_SECONDS


def too_many(wait: int, locked: bool | str) -> str:
    """What the login page says to an address that must wait ``wait`` seconds."""
    if locked == "tous":
        minutes = math.ceil(wait / 60)
        return (f"Trop de mots de passe incorrects sur ce serveur : la connexion est fermée à tous pendant "
                f"{minutes} minute{'s' if minutes > 1 else ''}.")
    if locked:
        minutes = math.ceil(wait / 60)
        return (f"Trop de mots de passe incorrects depuis cette adresse : réessayez dans {minutes} "
                f"minute{'s' if minutes > 1 else ''}.")
    return f"Trop d'essais à la suite : attendez {wait} seconde{'s' if wait > 1 else ''} avant de réessayer."


def _delay(failures: int, free: int = FREE_FAILURES) -> float:
    """1, 2, 3 failures: none; then 2, 4, 8… seconds, at most MAX_WAIT."""
    return 0 if failures <= free else min(2 ** min(failures - free, 16), MAX_WAIT)


# A path on this site: one slash, then no slash or backslash, and nothing a browser would drop or turn
# into a slash (tab, newline, backslash, spaces, an escaped one): « /\t/ailleurs.example » stays here.
# A case named with accents or spaces: « %C3%AF », « %20 » (never « %09 », « %2F »…: a browser may read them
# as a tab, a slash, and leave the site).
_LOCAL_PATH = re.compile(r"/(?![/\\])(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[89A-Fa-f][0-9A-Fa-f]|%20)*")


def local_path(suite: str | None) -> str:
    """Where to go after login: the page asked for when it is a path on this site, else the list."""
    return suite if suite and _LOCAL_PATH.fullmatch(suite) and "//" not in suite else "/"


def signed_in(app, cookie_header: str | None) -> bool:
    """Whether a Cookie header carries the session of someone who gave the password: read the way
    Flask reads it (signed cookie, same lifetime), before the request reaches Flask (serve)."""
    from werkzeug.http import parse_cookie

    value = parse_cookie(cookie_header or "").get(app.config["SESSION_COOKIE_NAME"])
    serializer = app.session_interface.get_signing_serializer(app)
    if not value or serializer is None:
        return False
    try:
        data = serializer.loads(value, max_age=int(app.permanent_session_lifetime.total_seconds()))
    except Exception:  # noqa: BLE001 - a forged, expired or garbled cookie: not signed in
        return False
    return isinstance(data, dict) and app.extensions["refere_gate"].session_alive(data.get("auth"))
