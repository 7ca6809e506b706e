"""A PDF file's objects read from its raw bytes, as far as telling which streams qpdf would inflate
on opening it: each « N G obj » header's value, a dictionary's keys and values, where a stream's
data starts. Nothing is decoded and no cross-reference table trusted: text inside a string stays
a string, a name is read with its « # » escapes undone, so that nothing a file writes hides what
it says. Bounded: a value of more than MAX_TOKENS tokens or MAX_DEPTH levels, or reaching past
the caller's ``stop``, is not read.
"""

from __future__ import annotations

import re

_SEP = rb"[\x00\t\n\x0c\r ]+"
_END = rb"(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])"  # the token ends here
HEADER = re.compile(rb"(\d{1,10})" + _SEP + rb"(\d{1,5})" + _SEP + rb"obj" + _END)
KEYWORD = re.compile(rb"(?<=[\x00\t\n\x0c\r >])stream" + _END)  # a token of its own, after a dictionary
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
_SPACE = re.compile(rb"(?:[\x00\t\n\x0c\r ]|%[^\r\n]*)*")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")
_REF_TAIL = re.compile(rb"(\d{1,5})" + _SEP + rb"R" + _END)
_PLAIN = re.compile(rb"[^()\\]*")  # a string's run up to its next parenthesis or backslash
MAX_TOKENS = 4_000  # tokens of one value (a stream's dictionary: a few dozen)
MAX_DEPTH = 32


class Ref(tuple):
    """An indirect reference « N G R »: (number, generation)."""


class Unread(Exception):
    """A value this reader does not follow (too long, too deep, not PDF, or past ``stop``);
    ``reached``: how far the reading went."""

    def __init__(self, reached: int):
        super().__init__(reached)
        self.reached = reached


def value(data: bytes, pos: int, stop: int) -> tuple[object, int]:
    """The value written at ``pos`` and where it ends: dict (str keys), list, str for a name
    (« /ObjStm »), int or float, Ref, bytes for a string, None for null, a boolean or a keyword.
    Nothing at or past ``stop`` is read."""
    return _Reader(data, min(stop, len(data))).value(pos, 0)


def skip(data: bytes, pos: int) -> int:
    """Past white space and comments."""
    return _SPACE.match(data, pos).end()


class _Reader:
    def __init__(self, data: bytes, stop: int):
        self.data, self.stop, self.tokens = data, stop, MAX_TOKENS

    def _skip(self, pos: int) -> int:
        return _SPACE.match(self.data, pos, self.stop).end()

    def _past(self, pos: int) -> int:
        if pos >= self.stop:
            raise Unread(self.stop)
        return pos

    def value(self, pos: int, depth: int) -> tuple[object, int]:
        data = self.data
        self.tokens -= 1
        if self.tokens < 0 or depth > MAX_DEPTH:
            raise Unread(pos)
        pos = self._past(self._skip(pos))
        c = data[pos]
        if c == 0x2F:  # /name
            end = self._past(_REGULAR.match(data, pos + 1, self.stop).end())
            raw = data[pos + 1:end]
            if b"#" in raw:
                raw = _ESCAPE.sub(lambda e: bytes([int(e[1], 16)]), raw)
            return "/" + raw.decode("latin-1"), end
        if data.startswith(b"<<", pos):
            out: dict = {}
            pos += 2
            while True:
                pos = self._past(self._skip(pos))
                if data.startswith(b">>", pos):
                    return out, pos + 2
                key, pos = self.value(pos, depth + 1)
                if not isinstance(key, str):
                    raise Unread(pos)
                out[key], pos = self.value(pos, depth + 1)
        if c == 0x5B:  # [
            items: list = []
            pos += 1
            while True:
                pos = self._past(self._skip(pos))
                if data[pos] == 0x5D:
                    return items, pos + 1
                item, pos = self.value(pos, depth + 1)
                items.append(item)
        if c == 0x28:  # (
            return self._string(pos)
        if c == 0x3C:  # <hex>
            end = data.find(b">", pos, self.stop)
            if end < 0:
                raise Unread(self.stop)
            return data[pos + 1:end], end + 1
        m = _NUMBER.match(data, pos, self.stop)
        if m and _REGULAR.match(data, m.end(), self.stop).end() == m.end():
            self._past(m.end())
            if b"." not in m[0]:
                tail = _REF_TAIL.match(data, self._skip(m.end()), self.stop)
                if tail is not None and tail.end() <= self.stop:
                    return Ref((int(m[0]), int(tail[1]))), tail.end()
                return int(m[0]), m.end()
            return float(m[0]), m.end()
        end = self._past(_REGULAR.match(data, pos, self.stop).end())
        if end == pos:
            raise Unread(pos)
        return None, end  # true, false, null, or a keyword

    def _string(self, pos: int) -> tuple[bytes, int]:
        data, depth, i = self.data, 0, pos
        while i < self.stop:
            c = data[i]
            if c == 0x5C:  # a backslash: the next byte is taken as it is
                i += 2
            elif c == 0x28:
                depth += 1
                i += 1
            elif c == 0x29:
                depth -= 1
                i += 1
                if depth == 0:
                    return data[pos + 1:i - 1], i
            if i < self.stop:
                i = _PLAIN.match(data, i, self.stop).end()
        raise Unread(self.stop)


def stream_start(data: bytes, pos: int) -> tuple[int, int] | None:
    """When the « stream » keyword follows a dictionary that ends at ``pos``: (where the keyword
    is, where the data starts; qpdf takes spaces before the end of line, and a lone CR); else None."""
    at = skip(data, pos)
    if not data.startswith(b"stream", at):
        return None
    return at, data_start(data, at)


def data_start(data: bytes, keyword: int) -> int:
    pos = keyword + 6
    while pos < len(data) and data[pos] in b" \t\x0c\x00":
        pos += 1
    if data.startswith(b"\r\n", pos):
        return pos + 2
    if data[pos:pos + 1] in (b"\r", b"\n"):
        return pos + 1
    return pos
