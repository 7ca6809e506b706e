"""Is every pixel of a PNG there, without decoding it? The cheapest exact check.

Decoding a PNG is inflating its image data (IDAT chunks) and undoing each row's filter. Undoing
a filter cannot fail once the row is whole and its filter type is known (0 to 4). So a PNG
decodes exactly when its chunks are whole (CRC), its image data inflates to at least
height × (row bytes + 1) bytes, and every row starts with a filter type from 0 to 4. This checks
just that, inflating chunk by chunk into a small buffer that is thrown away: nothing the size of
the picture is ever held, and a compressed bomb costs no more than a real picture of its size.

Interlaced images and animations (rare in screenshots) are left to a full decode by Pillow.
"""

from __future__ import annotations

import struct
import zlib

try:  # ISA-L inflates three to four times faster than zlib, with the same checks (and its CRC)
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - optional speed-up
    _inflate = zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type → samples per pixel, with the bit depths the format allows (and Pillow reads).
_CHANNELS = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)), 4: (2, (8, 16)), 6: (4, (8, 16))}
_STEP = 1 << 20  # bytes inflated at a time
EXTRA = 16 << 20  # bytes of image data past the last row tolerated (encoders pad; more is a bomb)


class Broken(ValueError):
    """The image data is damaged or cut short."""


def simple(data: bytes) -> bool:
    """Whether ``pixels`` can judge this PNG: not interlaced, not animated, a known layout."""
    if data[:8] != SIGNATURE or len(data) < 33 or data[12:16] != b"IHDR":
        return False
    depth, ctype, _, _, interlace = data[24], data[25], data[26], data[27], data[28]
    if ctype not in _CHANNELS or depth not in _CHANNELS[ctype][1] or interlace != 0:
        return False
    # An animation (acTL before the image data) is left to Pillow, which knows its frames.
    head = data[:data.find(b"IDAT")] if b"IDAT" in data else data
    return b"acTL" not in head


def pixels(data: bytes) -> int:
    """Raise ``Broken`` unless every row of the (``simple``) PNG in ``data`` is there and sound.
    Returns how many bytes the image data inflates to past its last row (0 for almost every PNG;
    more is data a viewer ignores, which must not be copied raw into a PDF)."""
    width, height = struct.unpack(">II", data[16:24])
    depth, ctype = data[24], data[25]
    channels = _CHANNELS[ctype][0]
    stride = (width * channels * depth + 7) // 8 + 1  # the filter byte, then the row
    expected = stride * height
    view = memoryview(data)
    pos, seen_idat, done = 8, False, 0
    inflater = _inflate.decompressobj()
    while pos < len(view) or not inflater.eof:
        if pos + 12 > len(view):
            raise Broken("données d'image coupées avant la fin")
        length, kind = struct.unpack(">I4s", view[pos:pos + 8])
        end = pos + 12 + length
        if kind != b"IDAT" and (seen_idat or kind == b"IEND"):
            break  # the image data ended (Pillow stops reading it here too)
        if length > 0x7FFFFFFF or end > len(view):
            raise Broken("données d'image coupées avant la fin")
        body = view[pos + 8:end - 4]
        if _inflate.crc32(body, _inflate.crc32(kind)) != int.from_bytes(view[end - 4:end], "big"):
            raise Broken(f"bloc {kind.decode('latin-1')} altéré (somme de contrôle fausse)")
        if kind == b"IDAT":
            seen_idat = True
            if not inflater.eof:
                done = _feed(inflater, body, done, stride, expected)
        pos = end
    if done < expected or not inflater.eof:
        raise Broken("données d'image incomplètes")
    return done - expected


def _feed(inflater, chunk, done: int, stride: int, expected: int) -> int:
    """Inflate ``chunk`` a step at a time; check each row's filter type; bytes inflated so far.

    Data past the last row (which Pillow ignores) is inflated to the stream's end, so that its
    checksum is checked too, but never beyond EXTRA bytes: past that it is a bomb."""
    data = chunk
    while True:
        try:
            out = inflater.decompress(data, _STEP)
        except _inflate.error:
            raise Broken("données d'image altérées (décompression impossible)") from None
        if out:
            if done + len(out) > expected + EXTRA:
                raise Broken("données d'image démesurées")
            first = (-done) % stride  # where the next row's filter byte falls in ``out``
            useful = min(len(out), expected - done)
            if first < useful and max(out[first:useful:stride]) > 4:
                raise Broken("données d'image altérées (type de filtre inconnu)")
            done += len(out)
        data = inflater.unconsumed_tail
        if not data or inflater.eof:
            return done


def palette_size(data: bytes) -> int | None:
    """Colours in a palette PNG's PLTE chunk (0 when it has none before its image data, or one no
    decoder accepts); None for a PNG of another colour type."""
    if data[:8] != SIGNATURE or len(data) < 33 or data[25] != 3:
        return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"PLTE":
            return length // 3 if length % 3 == 0 and 0 < length <= 768 else 0
        if kind in (b"IDAT", b"IEND"):
            return 0
        pos += 12 + length
    return 0
