"""A PDF file's objects read from its raw bytes, as far as telling which streams qpdf would inflate
on opening it: each « N G obj » header's value, a dictionary's keys and values, where a stream's
data starts. Nothing is decoded and no cross-reference table trusted: text inside a string stays
a string, a name is read with its « # » escapes undone, so that nothing a file writes hides what
it says. Bounded: a value of more than MAX_TOKENS tokens or MAX_DEPTH levels is not read.
"""

from __future__ import annotations

import re

HEADER = re.compile(rb"(\d{1,10})[\x00\t\n\x0c\r ]+(\d{1,5})[\x00\t\n\x0c\r ]+obj(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])")
KEYWORD = re.compile(rb"(?<!end)stream")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
_SPACE = re.compile(rb"(?:[\x00\t\n\x0c\r ]|%[^\r\n]*)*")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")
_REF_TAIL = re.compile(rb"(\d{1,5})[\x00\t\n\x0c\r ]+R(?![^\x00\t\n\x0c\r ()<>\[\]{}/%])")
_PLAIN = re.compile(rb"[^()\\]*")  # the run of a string up to its next parenthesis or backslash
MAX_TOKENS = 4_000  # tokens of one value (a stream's dictionary: a few dozen)
MAX_DEPTH = 32
MAX_STRING = 1 << 20  # bytes of one string


class Ref(tuple):
    """An indirect reference « N G R »: (number, generation)."""


class Unread(Exception):
    """A value this reader does not follow (too long, too deep, not PDF)."""


def value(data: bytes, pos: int) -> tuple[object, int]:
    """The value written at ``pos`` and where it ends: dict (str keys), list, str for a name
    (« /ObjStm »), int or float, Ref, bytes for a string, None for null, a boolean or a keyword."""
    return _value(data, pos, [MAX_TOKENS], 0)


def skip(data: bytes, pos: int) -> int:
    """Past white space and comments."""
    return _SPACE.match(data, pos).end()


def _value(data: bytes, pos: int, budget: list[int], depth: int) -> tuple[object, int]:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise Unread
    pos = skip(data, pos)
    if pos >= len(data):
        raise Unread
    c = data[pos]
    if c == 0x2F:  # /name
        end = _REGULAR.match(data, pos + 1).end()
        raw = data[pos + 1:end]
        if b"#" in raw:
            raw = _ESCAPE.sub(lambda e: bytes([int(e[1], 16)]), raw)
        return "/" + raw.decode("latin-1"), end
    if data.startswith(b"<<", pos):
        out: dict = {}
        pos += 2
        while True:
            pos = skip(data, pos)
            if data.startswith(b">>", pos):
                return out, pos + 2
            key, pos = _value(data, pos, budget, depth + 1)
            if not isinstance(key, str):
                raise Unread
            out[key], pos = _value(data, pos, budget, depth + 1)
    if c == 0x5B:  # [
        items: list = []
        pos += 1
        while True:
            pos = skip(data, pos)
            if data.startswith(b"]", pos):
                return items, pos + 1
            item, pos = _value(data, pos, budget, depth + 1)
            items.append(item)
    if c == 0x28:  # (
        return _string(data, pos)
    if c == 0x3C:  # <hex>
        end = data.find(b">", pos, pos + 2 * MAX_STRING)
        if end < 0:
            raise Unread
        return data[pos + 1:end], end + 1
    m = _NUMBER.match(data, pos)
    if m and _REGULAR.match(data, m.end()).end() == m.end():
        if b"." not in m[0]:
            tail = _REF_TAIL.match(data, skip(data, m.end()))
            if tail is not None:
                return Ref((int(m[0]), int(tail[1]))), tail.end()
            return int(m[0]), m.end()
        return float(m[0]), m.end()
    end = _REGULAR.match(data, pos).end()
    if end == pos:
        raise Unread
    return None, end  # true, false, null, or a keyword


def _string(data: bytes, pos: int) -> tuple[bytes, int]:
    depth, i, stop = 0, pos, min(len(data), pos + MAX_STRING)
    while i < stop:
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
        i = _PLAIN.match(data, i).end() if i < stop else i
    raise Unread


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
