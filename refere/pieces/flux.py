"""Bounded looks at PDF stream data: how far it would inflate, whether it decodes.

A source PDF is hostile until proved otherwise: nothing here inflates more than a caller's limit
or trusts a declared size. Sizes are counted, never held, so that a decompression bomb costs a
few milliseconds and no memory. A stream that cannot be decoded is damage, not a bomb.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `check` of known files must not load the PDF library
    import pikepdf

# Bytes of page content the stamping of one pièce joins and holds until it is saved: over each
# source (pdfcheck) and over every source of the pièce (plan, from what the check measured of
# each: eight sources of 254 MB each took a build to 2.3 GB, attack 18).
MAX_JOINED = 256_000_000

# Canonical names of the standard filters, with their abbreviations (inline images use those).
ALIASES = {
    "/Fl": "/FlateDecode", "/LZW": "/LZWDecode", "/RL": "/RunLengthDecode", "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode", "/DCT": "/DCTDecode", "/CCF": "/CCITTFaxDecode",
}
STANDARD = frozenset({
    "/FlateDecode", "/LZWDecode", "/RunLengthDecode", "/ASCIIHexDecode", "/ASCII85Decode", "/DCTDecode",
    "/CCITTFaxDecode", "/JBIG2Decode", "/JPXDecode", "/Crypt",
})
# Filters qpdf itself decodes (read_bytes with the generalized level).
GENERAL = frozenset({"/FlateDecode", "/LZWDecode", "/RunLengthDecode", "/ASCIIHexDecode", "/ASCII85Decode"})


class Undecodable(ValueError):
    """The data is not what its filter says: damage (never a bomb)."""


class TooCostly(Exception):
    """LZW or RunLength data cut so fine that counting its size in Python would hold a core for
    minutes (not damage: the caller refuses the file as not supported)."""


# LZW codes and RunLength runs are counted one by one in Python (about 0.2 µs a run, 0.4 µs a
# code): what one document may make us count, in runs (a code weighs two). Real streams are far
# below it (a scanned page: a few hundred thousand), a hostile one stops in seconds.
MAX_UNITS = 40_000_000
_units = contextvars.ContextVar("units")


@contextlib.contextmanager
def counting(units: int = MAX_UNITS):
    """Within this span (one document), every LZW and RunLength count draws on ``units``."""
    token = _units.set([units])
    try:
        yield
    finally:
        _units.reset(token)


def _left() -> list[int]:
    # Outside a document's span, each count has the whole allowance to itself.
    return _units.get([MAX_UNITS])


def filter_names(stream: pikepdf.Stream) -> list[str]:
    """The stream's filters, canonical names, in order; a filter that is not a name is kept as text."""
    import pikepdf

    filt = stream.get("/Filter")
    items = list(filt) if isinstance(filt, pikepdf.Array) else [filt] if filt is not None else []
    return [ALIASES.get(str(f), str(f)) if isinstance(f, pikepdf.Name) else repr(type(f).__name__) for f in items]


def unknown_filters(names: list[str]) -> list[str]:
    return [n for n in names if n not in STANDARD]


def inflated_size(data, limit: int) -> int:
    """Inflated size of zlib data: stops at its end, at the end of the input, or just past ``limit``.
    Damaged or encrypted data counts what inflated before the damage."""
    inflater, total, view, pos = zlib.decompressobj(), 0, memoryview(data), 0
    try:
        while not inflater.eof and total <= limit:
            if inflater.unconsumed_tail:
                piece = inflater.unconsumed_tail
            elif pos < len(view):
                piece, pos = view[pos:pos + 65536], pos + 65536
            else:
                break
            total += len(inflater.decompress(piece, 1 << 20))
    except zlib.error:
        pass
    return total


def inflated(data, limit: int) -> bytes:
    """zlib data inflated, at most ``limit`` + 1 bytes of it, fed in chunks: what follows the end
    of the zlib stream is neither read nor copied. Raises zlib.error on data that is not deflate."""
    inflater, out, size, view = zlib.decompressobj(), [], 0, memoryview(data)
    for k in range(0, len(view), 1 << 16):
        piece = inflater.decompress(view[k:k + (1 << 16)], limit + 1 - size)
        while True:
            out.append(piece)
            size += len(piece)
            if size > limit or inflater.eof or not inflater.unconsumed_tail:
                break
            piece = inflater.decompress(inflater.unconsumed_tail, limit + 1 - size)
        if size > limit or inflater.eof:
            break
    return b"".join(out)


def _reaches_end(inflater, data) -> bool:
    """Feed ``data`` in chunks (output thrown away); whether the stream's end marker is reached.
    Raises zlib.error on data that is not deflate."""
    for k in range(0, len(data), 1 << 16):
        inflater.decompress(data[k:k + (1 << 16)], 1 << 16)
        while inflater.unconsumed_tail and not inflater.eof:
            inflater.decompress(inflater.unconsumed_tail, 1 << 16)
        if inflater.eof:
            return True
    return False


def flate_complete(data: bytes) -> bool:
    """Whether zlib data holds its whole content: it reaches its end marker, or lacks only the
    checksum, or ends on a flush point (producers that never finish the stream). Empty is complete.
    Raises Undecodable when the data is not zlib at all."""
    body = bytes(data)
    if not body.strip():
        return True
    try:
        if _reaches_end(zlib.decompressobj(), body):
            return True
    except zlib.error as exc:
        raise Undecodable(str(exc)) from None
    if body.endswith(b"\x00\x00\xff\xff"):
        return True
    try:  # the deflate data alone (after the 2-byte header): only the checksum missing?
        return _reaches_end(zlib.decompressobj(-15), memoryview(body)[2:])
    except zlib.error:
        return False


def lzw_size(data: bytes, early: int = 1, limit: int = 1 << 62) -> int:
    """Decoded size of PDF LZW data (MSB first, 9 to 12 bits), counted from table entry lengths
    only; stops past ``limit``. Raises Undecodable on a code the table cannot hold."""
    left = _left()
    codes, cap = 0, left[0] // 2
    try:
        lengths = [1] * 256 + [0, 0]
        width, prev, total, acc, nbits, i, n = 9, 0, 0, 0, 0, 0, len(data)
        while True:
            codes += 1
            if codes > cap:
                raise TooCostly("LZW")
            while nbits < width:
                if i >= n:
                    return total  # no end-of-data code: what came is all there is
                acc = ((acc << 8) | data[i]) & 0xFFFFFF
                i += 1
                nbits += 8
            nbits -= width
            code = (acc >> nbits) & ((1 << width) - 1)
            if code == 256:
                del lengths[258:]
                width, prev = 9, 0
                continue
            if code == 257:
                return total
            size = len(lengths)
            if prev == 0:
                if code >= 256:
                    raise Undecodable("code LZW invalide")
                cur = 1
            else:
                if code < size:
                    cur = lengths[code]
                elif code == size:
                    cur = prev + 1
                else:
                    raise Undecodable("code LZW invalide")
                if size < 4096:
                    lengths.append(prev + 1)
                    size += 1
            total += cur
            if total > limit:
                return total
            prev = cur
            if size + early >= (1 << width) and width < 12:
                width += 1
    finally:
        left[0] -= 2 * codes


def runlength_size(data: bytes, limit: int = 1 << 62) -> int:
    """Decoded size of RunLength data; raises Undecodable when a run reaches past the data."""
    left = _left()
    total, i, n, runs, cap = 0, 0, len(data), 0, left[0]
    while i < n and total <= limit and runs < cap:
        length = data[i]
        if length == 128:
            break
        step = length + 2 if length < 128 else 2
        if i + step > n:
            raise Undecodable("RunLength tronqué")
        total += length + 1 if length < 128 else 257 - length
        i += step
        runs += 1
    left[0] -= runs
    if runs >= cap and i < n and data[i] != 128 and total <= limit:
        raise TooCostly("RunLength")
    return total


def jbig2_complete(data: bytes) -> bool:
    """Whether embedded JBIG2 data (segments, no file header) is whole: every segment header
    readable and every segment's data inside the stream (a cut file fails here)."""
    i, n, seen = 0, len(data), 0
    while i < n:
        if n - i < 11:
            return seen > 0 and not data[i:].strip(b"\x00")
        number = int.from_bytes(data[i:i + 4], "big")
        flags = data[i + 4]
        kind = flags & 0x3F
        j = i + 5
        count = data[j] >> 5
        if count == 7:
            if n - j < 4:
                return False
            count = int.from_bytes(data[j:j + 4], "big") & 0x1FFFFFFF
            j += 4 + (count + 8) // 8
        else:
            j += 1
        ref = 1 if number <= 256 else 2 if number <= 65536 else 4
        j += count * ref + (4 if flags & 0x40 else 1)
        if j + 4 > n:
            return False
        length = int.from_bytes(data[j:j + 4], "big")
        j += 4
        if length == 0xFFFFFFFF:
            return kind == 38 or kind == 39  # unknown-length generic region: cannot be walked further
        if j + length > n:
            return False
        i = j + length
        seen += 1
        if kind == 51:  # end of file
            break
    return seen > 0


def undo_text_filters(data: bytes, names: list[str]) -> bytes:
    """The data after its ASCIIHex and ASCII85 filters (small: text is never a bomb)."""
    import base64
    import binascii
    import re

    for name in names:
        try:
            if name == "/ASCIIHexDecode":
                hexa = re.sub(rb"\s", b"", data.split(b">")[0])
                data = binascii.a2b_hex(hexa + b"0" * (len(hexa) % 2))
            elif name == "/ASCII85Decode":
                body = re.sub(rb"\s", b"", data.split(b"~>")[0])
                data = base64.a85decode(body[2:] if body.startswith(b"<~") else body)
        except (ValueError, binascii.Error) as exc:
            raise Undecodable(str(exc)) from None
    return data


def decoded_size(raw: bytes, names: list[str], parms, limit: int) -> int | None:
    """How large the generalized filters would make ``raw``, never past ``limit`` + 1 bytes held
    or counted; None when it cannot be told. Raises Undecodable on damaged data."""
    import base64
    import binascii
    import re

    import pikepdf

    data = raw
    for k, name in enumerate(names):
        last = k == len(names) - 1
        parm = parms[k] if isinstance(parms, list) and k < len(parms) else parms
        try:
            if name == "/ASCIIHexDecode":
                hexa = re.sub(rb"\s", b"", bytes(data).split(b">")[0])
                data = binascii.a2b_hex(hexa + b"0" * (len(hexa) % 2))
            elif name == "/ASCII85Decode":
                body = bytes(data).split(b"~>")[0]
                if body.count(b"z") * 4 > limit:
                    return None
                body = re.sub(rb"\s", b"", body)
                data = base64.a85decode(body[2:] if body.startswith(b"<~") else body)
            elif name == "/FlateDecode":
                if last:
                    return inflated_size(data, limit)
                data = inflated(data, limit)
            elif name == "/LZWDecode":
                early = 1
                if isinstance(parm, pikepdf.Dictionary) and "/EarlyChange" in parm:
                    early = int(parm.EarlyChange)
                size = lzw_size(data, early, limit)
                if last or size > limit:
                    return size
                return None
            elif name == "/RunLengthDecode":
                size = runlength_size(data, limit)
                if last or size > limit:
                    return size
                return None
            else:
                return None
        except (ValueError, binascii.Error, zlib.error) as exc:
            if isinstance(exc, Undecodable):
                raise
            raise Undecodable(str(exc)) from None
        if len(data) > limit:
            return len(data)
    return len(data)


@contextlib.contextmanager
def c_stderr():
    """What C code (libtiff) writes on file descriptor 2 meanwhile, kept from the terminal: yields a
    function that gives it as text once the span is over."""
    import sys
    import tempfile

    held: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield lambda: ""
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lambda: "".join(held)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            held.append(tmp.read(65536).decode("utf-8", "replace"))
