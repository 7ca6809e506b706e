"""Network mode: the password gate. Attempts limited per address (a growing wait, then a lockout, each
logged), sessions kept on the server so that they expire and a logout ends them, and the page to go back
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

    def wait(self, addr: str | None) -> tuple[int, bool]:
        """(seconds this address must wait before its next attempt is even checked, locked out or not);
        (0, False): go ahead."""
        now = self.clock()
        with self._lock:
            f = self._failures.get(client_key(addr))
            if f is None:
                return 0, False
            if f.locked_until:
                if now < f.locked_until:
                    return math.ceil(f.locked_until - now), True
                del self._failures[client_key(addr)]
                return 0, False
            if now - f.last > LOCK_SECONDS:  # a typo this morning does not count against this afternoon
                del self._failures[client_key(addr)]
                return 0, False
            left = f.last + _delay(f.count) - now
            return (math.ceil(left), False) if left > 0 else (0, False)

    def failed(self, addr: str | None) -> None:
        key, now = client_key(addr), self.clock()
        with self._lock:
            if len(self._failures) >= _MAX_TRACKED:
                self._forget_old(now)
            f = self._failures.setdefault(key, _Failures())
            if not f.locked_until and now - f.last > LOCK_SECONDS:
                f.count = 0
            f.count += 1
            f.last = now
            if f.count >= LOCK_AFTER:
                f.locked_until = now + LOCK_SECONDS
        if f.locked_until:
            log.warning("connexion : adresse %s bloquée %d minutes après %d mots de passe incorrects",
                        key, LOCK_SECONDS // 60, f.count)
        else:
            log.warning("connexion : mot de passe incorrect depuis %s (%d à la suite)", key, f.count)

    def succeeded(self, addr: str | None) -> None:
        with self._lock:
            self._failures.pop(client_key(addr), None)
        log.info("connexion ouverte depuis %s", client_key(addr))

    def _forget_old(self, now: float) -> None:
        for key in [k for k, f in self._failures.items()
                    if (f.locked_until and f.locked_until <= now) or (not f.locked_until and now - f.last > MAX_WAIT)]:
            del self._failures[key]
        while len(self._failures) >= _MAX_TRACKED:
            self._failures.pop(next(iter(self._failures)))

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


def too_many(wait: int, locked: bool) -> str:
    """What the login page says to an address that must wait ``wait`` seconds."""
    if locked:
        minutes = math.ceil(wait / 60)
        return (f"Trop de mots de passe incorrects depuis cette adresse : réessayez dans {minutes} "
                f"minute{'s' if minutes > 1 else ''}.")
    return f"Trop d'essais à la suite : attendez {wait} seconde{'s' if wait > 1 else ''} avant de réessayer."


def _delay(failures: int) -> float:
    """1, 2, 3 failures: none; then 2, 4, 8… seconds, at most MAX_WAIT."""
    return 0 if failures <= FREE_FAILURES else min(2 ** (failures - FREE_FAILURES), MAX_WAIT)


# A path on this site: one slash, then no slash or backslash, and nothing a browser would drop or turn
# into a slash (tab, newline, backslash, spaces, an escaped one): « /\t/ailleurs.example » stays here.
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@/-]*")


def local_path(suite: str | None) -> str:
    """Where to go after login: the page asked for when it is a path on this site, else the list."""
    return suite if suite and _LOCAL_PATH.fullmatch(suite) and "//" not in suite else "/"
