"""PNG metadata without decoding pixels.

Pillow's ``PngImageFile.getexif()`` decodes the whole image, because an eXIf chunk may follow
the image data; for a 1080×2400 screenshot that is most of a build's time. Here the chunks are
walked and the image data skipped with a seek.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image


@dataclass
class PngMeta:
    text: dict[str, str] = field(default_factory=dict)
    exif: Image.Exif | None = None
    color_type: int = 2
    transparency: bool = False  # a tRNS chunk

    @property
    def has_alpha(self) -> bool:
        """Grey+alpha (4), RGBA (6), or a transparent colour or palette entry."""
        return self.color_type in (4, 6) or self.transparency

    @property
    def orientation(self) -> int:
        return orientation_of(self.exif.get(274)) if self.exif else 1


def orientation_of(value) -> int:
    """An EXIF orientation (1 to 8) from whatever the file holds: text, a tuple, garbage → 1."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int):
        return 1
    return value if 1 <= value <= 8 else 1


_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def idat_fits(data: bytes) -> bool:
    """Whether a non-interlaced PNG's image data inflates to exactly the rows IHDR declares (and
    no more: data running on is never copied raw into a PDF). Counted, never held. True when it
    cannot be told (the decoder has already read the image whole)."""
    view = memoryview(data)
    if bytes(view[:8]) != b"\x89PNG\r\n\x1a\n" or len(view) < 33 or bytes(view[12:16]) != b"IHDR":
        return True
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", view[16:29])
    if interlace or color not in _CHANNELS:
        return True
    expected = height * (1 + (width * _CHANNELS[color] * depth + 7) // 8)
    inflater, total, pos = zlib.decompressobj(), 0, 8
    try:
        while pos + 8 <= len(view) and total <= expected and not inflater.eof:
            length, kind = struct.unpack(">I4s", view[pos:pos + 8])
            if kind == b"IDAT":
                piece = view[pos + 8:pos + 8 + length]
                total += len(inflater.decompress(piece, expected + 1 - total))
                while inflater.unconsumed_tail and total <= expected and not inflater.eof:
                    total += len(inflater.decompress(inflater.unconsumed_tail, expected + 1 - total))
            elif kind == b"IEND":
                break
            pos += 12 + length
    except zlib.error:
        return True
    return total <= expected


# Metadata worth reading is a few kilobytes; a text chunk is inflated at most this far, so a
# compressed "bomb" costs nothing, and at most this many text chunks are kept.
MAX_TEXT = 1 << 20
MAX_CHUNKS = 64


def read(source: bytes | Path) -> PngMeta:
    """The metadata of a PNG given as bytes (or, for tools, a path)."""
    data = source if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
    meta = PngMeta()
    view = memoryview(data)
    if bytes(view[:8]) != b"\x89PNG\r\n\x1a\n":
        return meta
    pos, kept = 8, 0
    while pos + 8 <= len(view):
        length, kind = struct.unpack(">I4s", view[pos:pos + 8])
        body = view[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR" and len(body) == 13:
            meta.color_type = body[9]
        elif kind == b"tRNS":
            meta.transparency = True
        elif kind in (b"tEXt", b"zTXt", b"iTXt", b"eXIf") and kept < MAX_CHUNKS and len(body) == length:
            kept += 1
            _chunk(meta, kind, bytes(body))
        elif kind == b"IEND":
            break
    return meta


def _inflate(data: bytes) -> bytes:
    """zlib data inflated to at most MAX_TEXT bytes: a bomb is cut short, never expanded."""
    return zlib.decompressobj().decompress(data, MAX_TEXT)


def _chunk(meta: PngMeta, kind: bytes, data: bytes) -> None:
    try:
        if kind == b"eXIf":
            if len(data) > MAX_TEXT:
                return
            exif = Image.Exif()
            exif.load(data)
            meta.exif = exif
            return
        key, _, rest = data.partition(b"\x00")
        name = key[:80].decode("latin-1")
        if kind == b"tEXt":
            meta.text[name] = rest[:MAX_TEXT].decode("latin-1")
        elif kind == b"zTXt":
            meta.text[name] = _inflate(rest[1:]).decode("latin-1")
        else:  # iTXt: compression flag, method, language, translated keyword, text
            flag, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\x00")
            _, _, rest = rest.partition(b"\x00")
            meta.text[name] = (_inflate(rest) if flag else rest[:MAX_TEXT]).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a damaged metadata chunk says nothing; the name may still tell
        pass


# Chunks that say nothing of the pixels, which Pillow keeps in ``info`` (copied on every image
# operation: 200,000 of them make each crop slow) or inflates whole before the pixels (refusing,
# past its MAX_TEXT_CHUNK, the whole image as if it were damaged).
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def for_decoding(data: bytes) -> bytes:
    """The PNG as Pillow should decode it: the same pixels without its text chunks, nor an ICC
    profile larger than Pillow accepts (it would be refused, the image with it; an image without
    a profile is shown as sRGB, as most are). ``data`` itself when nothing is dropped."""
    view = memoryview(data)
    if bytes(view[:8]) != b"\x89PNG\r\n\x1a\n":
        return data
    parts, start, pos = [], 0, 8
    while pos + 12 <= len(view):
        length, kind = struct.unpack(">I4s", view[pos:pos + 8])
        end = pos + 12 + length
        if end > len(view) or kind == b"IEND":
            break
        if kind in _TEXT_CHUNKS or (kind == b"iCCP" and _oversized_profile(view[pos + 8:end - 4])):
            parts.append(view[start:pos])
            start = end
        pos = end
    if not parts:
        return data
    parts.append(view[start:])
    return b"".join(parts)


def _oversized_profile(body) -> bool:
    from PIL import PngImagePlugin

    name_end = bytes(body[:80]).find(b"\x00")  # the profile's name, then its method, then zlib data
    if name_end < 0:
        return False
    packed = body[name_end + 2:]
    limit = PngImagePlugin.MAX_TEXT_CHUNK
    try:
        return len(zlib.decompressobj().decompress(packed, limit + 1)) > limit
    except zlib.error:
        return False  # Pillow ignores a profile it cannot inflate
