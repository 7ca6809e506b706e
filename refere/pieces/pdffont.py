"""An embedded TrueType font for text that people typed (the bordereau page of the dossier).

The standard PDF fonts only know Western European letters; names such as « Nguyễn » or
« İğdır » need a real font. DejaVu Sans ships with the package (so the output does not depend
on the machine; scripts/make_fonts.py prepared it), and only the glyphs used are embedded, as a CID font with a ToUnicode map so
that the text stays searchable and copyable.
"""

from __future__ import annotations

import functools
import hashlib
import io
import unicodedata
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pikepdf
    from fontTools.ttLib import TTFont

BREAK_AFTER = "/_-.@"  # where a word too long for its line is best cut
# Invisible places to break a word, and what the line then ends with: a soft hyphen shows as « - »
# only where the line breaks at it, as in Word; a zero-width space shows nothing.
BREAKS = {"\u00ad": "-", "\u200b": ""}
# Format characters that are seen all the same (Arabic number signs, end of ayah…): drawn as typed.
SHOWN_FORMAT = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2"
                         "\U000110bd\U000110cd")
FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}


@functools.cache
def _raw(bold: bool) -> bytes:
    return resources.files("refere").joinpath(f"data/fonts/{FILES[bold]}").read_bytes()


@functools.cache
def _load(bold: bool) -> TTFont:
    # recalcTimestamp off: the subset must be byte-identical from one build to the next.
    # Lazy: measuring needs cmap and metrics only, never the 6,000 glyph outlines.
    from fontTools.ttLib import TTFont  # only when a bordereau is drawn (not when it is reused)

    return TTFont(io.BytesIO(_raw(bold)), recalcTimestamp=False, lazy=True)


def missing(text: str) -> list[str]:
    """The letters of ``text`` the bordereau's font cannot draw (each once, in order): they come out
    as « � ». Latin text never loads the font to know it."""
    if all(ord(c) < 0x250 for c in text):  # DejaVu covers Latin, Latin-1 and Latin Extended
        return []
    cmap = _load(False).getBestCmap()
    return list(dict.fromkeys(c for c in text if ord(c) not in cmap and not c.isspace() and not _hidden(c)))


def _hidden(ch: str) -> bool:
    """Whether ``ch`` is a format character nobody sees (soft hyphen, U+200D, U+2060, U+FEFF, bidi
    marks…): never drawn, where DejaVu has a glyph for it or draws « � » (attack 25)."""
    return unicodedata.category(ch) == "Cf" and ch not in SHOWN_FORMAT


def _plain(word: str) -> str:
    return "".join(c for c in word if c not in BREAKS)


def _marks(word: str) -> list[int]:
    """Where ``word`` may break invisibly: a soft hyphen or zero-width space with letters either side."""
    return [i for i, c in enumerate(word) if c in BREAKS and _plain(word[:i]) and _plain(word[i + 1:])]


class Font:
    """Measures and encodes text; ``embed`` writes the subset actually used."""

    def __init__(self, bold: bool = False):
        self.bold = bold
        self.tt = _load(bold)
        self.cmap = self.tt.getBestCmap()
        self.advance = self.tt["hmtx"].metrics
        self.scale = 1000 / self.tt["head"].unitsPerEm
        self.used: dict[int, str] = {}

    def _gid(self, ch: str) -> int:
        name = self.cmap.get(ord(ch))
        if name is None:  # outside the font: the replacement character, never a silent drop
            name = self.cmap.get(0xFFFD, ".notdef")
        return self.tt.getGlyphID(name)

    def _units(self, ch: str) -> int:
        return self.advance[self.tt.getGlyphName(self._gid(ch))][0]

    def width(self, text: str, size: float) -> float:
        return sum(self._units(c) for c in text) * self.scale * size / 1000

    def wrap(self, text: str, size: float, max_width: float) -> list[str]:
        """Greedy word wrap; a word wider than the line is cut, never drawn past it (attack 24:
        an address or a file name ran over the pages column and off the page). A word breaks at a
        soft hyphen or zero-width space before it goes whole to the next line, as in Word; format
        characters are not drawn (attack 25: « Attes-ta-tion », « Certificatd / erésidence »)."""
        text = "".join(c for c in text if c in BREAKS or not _hidden(c))
        lines: list[str] = []
        current = ""
        for word in text.split():
            while True:
                trial = f"{current} {_plain(word)}".strip()
                if self.width(trial, size) <= max_width:
                    current = trial
                    break
                if split := self._soft(current, word, size, max_width):
                    lines.append(split[0])
                    current, word = "", split[1]
                elif current:  # the word starts the next line
                    lines.append(current)
                    current = ""
                elif marks := _marks(word):  # alone, and its first stretch too wide: cut, then on
                    at = marks[0]
                    lines += self._cut(_plain(word[:at]) + BREAKS[word[at]], size, max_width)
                    word = word[at + 1:]
                else:  # one word, alone on its line, and too wide
                    *full, current = self._cut(_plain(word), size, max_width)
                    lines += full
                    break
        return lines + ([current] if current else [])

    def _soft(self, current: str, word: str, size: float, max_width: float) -> tuple[str, str] | None:
        """The line ``current`` ends with, broken at the last invisible break of ``word`` that
        fits, and what is left of the word; None when none fits."""
        for at in reversed(_marks(word)):
            line = f"{current} {_plain(word[:at])}{BREAKS[word[at]]}".strip()
            if self.width(line, size) <= max_width:
                return line, word[at + 1:]
        return None

    def _cut(self, word: str, size: float, max_width: float) -> list[str]:
        """``word`` in pieces that each fit: cut after the last « / _ - . @ » that fits, so that an
        address or a file name reads as it is built, else after the last letter that fits."""
        pieces: list[str] = []
        while self.width(word, size) > max_width:
            units, fit = 0, 1  # at least one letter a piece, so that this ends
            for i, ch in enumerate(word):
                units += self._units(ch)
                if units * self.scale * size / 1000 > max_width:
                    break
                fit = i + 1
            # Not before an accent: it would be torn from its letter (« e » then « ́ »).
            ends = [i for i in range(1, fit + 1)
                    if i == len(word) or not unicodedata.category(word[i]).startswith("M")] or [fit]
            cut = next((i for i in reversed(ends) if word[i - 1] in BREAK_AFTER), ends[-1])
            pieces.append(word[:cut])
            word = word[cut:]
        return pieces + [word]

    def encode(self, text: str) -> bytes:
        """A PDF hex string of glyph ids (Identity-H)."""
        out = []
        for ch in text:
            gid = self._gid(ch)
            # A character outside the font is drawn as « � », and copied as « � » too: naming it
            # by the first such character made every other one copy as that one (attack 19).
            self.used.setdefault(gid, ch if ord(ch) in self.cmap else "\ufffd")
            out.append(f"{gid:04X}")
        return b"<" + "".join(out).encode() + b">"

    def subset(self) -> tuple[bytes, bytes]:
        """The font file with the glyphs used so far, and its CIDToGIDMap (remembered: asking
        again costs nothing)."""
        return _subset(self.bold, tuple(sorted(self.used)))

    def embed(self, pdf: pikepdf.Pdf) -> pikepdf.Object:
        import pikepdf  # not at import: `check` measures no text with it (``missing``)

        gids = sorted(self.used)
        data, cid_to_gid = self.subset()
        base = ("DejaVuSans-Bold" if self.bold else "DejaVuSans")
        # Subset tag from the glyphs used: stable, and different subsets get different names.
        digest = hashlib.sha256(",".join(map(str, gids)).encode()).digest()
        tag = "".join(chr(65 + b % 26) for b in digest[:6])
        name = pikepdf.Name(f"/{tag}+{base}")
        head, hhea = self.tt["head"], self.tt["hhea"]
        descriptor = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=name, Flags=32,
            FontBBox=[round(v * self.scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)],
            ItalicAngle=0, Ascent=round(hhea.ascent * self.scale), Descent=round(hhea.descent * self.scale),
            CapHeight=round(hhea.ascent * self.scale), StemV=80,
            FontFile2=pdf.make_stream(data),
        ))
        widths = pikepdf.Array()
        for gid in gids:
            widths.append(gid)
            widths.append(pikepdf.Array([round(self.advance[self.tt.getGlyphName(gid)][0] * self.scale)]))
        cid = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=name,
            CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0),
            FontDescriptor=descriptor, W=widths, CIDToGIDMap=pdf.make_stream(cid_to_gid),
        ))
        return pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=name,
            Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[cid],
            ToUnicode=pdf.make_stream(_to_unicode(self.used)),
        ))


@functools.lru_cache(maxsize=64)
def _subset(bold: bool, gids: tuple[int, ...]) -> tuple[bytes, bytes]:
    """``_make_subset``, remembered in the user's cache by the glyphs it holds (and the code and
    fontTools that made it): a desk's weekly batch draws the same letters again and again, and
    loading the subsetter alone takes a tenth of a second before any case is built."""
    from refere import files
    from refere.pieces import reuse

    entry = files.user_cache() / _SUBSETS / reuse.key("sous-ensemble", FILES[bold], list(gids))
    blob = files.recall(entry, MAX_SUBSET)
    size = 2 * (max(gids, default=0) + 1)
    # The entry's own SHA-256 first: a byte changed on disk (or an entry cut short) is made again,
    # never embedded. (Whoever can write the user's cache can write their captures too.)
    if blob is not None and len(blob) > 36 + size and hashlib.sha256(blob[32:]).digest() == blob[:32]:
        n = int.from_bytes(blob[32:36], "big")
        data, cid_to_gid = blob[36:36 + n], blob[36 + n:]
        if len(cid_to_gid) == size and data[:4] == b"\x00\x01\x00\x00":  # a TrueType file
            return data, cid_to_gid
    data, cid_to_gid = _make_subset(bold, gids)
    payload = len(data).to_bytes(4, "big") + data + cid_to_gid
    files.remember(entry, hashlib.sha256(payload).digest() + payload)
    return data, cid_to_gid


_SUBSETS = "polices-v2"
MAX_SUBSET = 4 << 20


def _make_subset(bold: bool, gids: tuple[int, ...]) -> tuple[bytes, bytes]:
    """The font file with only ``gids``, renumbered, and the CIDToGIDMap that leads each CID (the
    glyph's number in the whole font, as the text is encoded) to its new number. Renumbered, the
    subset holds a few dozen glyphs instead of 6,000 empty ones: made in half the time."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.notdef_outline = True
    options.layout_features = []
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    font = TTFont(io.BytesIO(_raw(bold)), recalcTimestamp=False, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=[0, *gids])
    subsetter.subset(font)
    new = {name: i for i, name in enumerate(font.getGlyphOrder())}
    whole = _load(bold)
    cid_to_gid = bytearray(2 * (max(gids, default=0) + 1))
    for gid in gids:
        cid_to_gid[2 * gid:2 * gid + 2] = new[whole.getGlyphName(gid)].to_bytes(2, "big")
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue(), bytes(cid_to_gid)


def _to_unicode(used: dict[int, str]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
        "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange",
    ]
    items = sorted(used.items())
    for start in range(0, len(items), 100):
        chunk = items[start:start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        for gid, ch in chunk:
            utf16 = ch.encode("utf-16-be").hex().upper()
            lines.append(f"<{gid:04X}> <{utf16}>")
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")
