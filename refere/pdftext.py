"""Just enough PDF text for the stamps (Helvetica, WinAnsi: their text is ours, never typed by a
person) and word wrapping for the bordereau (whose text is drawn with pdffont)."""

from __future__ import annotations

import unicodedata

import pikepdf

# Helvetica advance widths (AFM, per 1000 em) for what we draw most; others fall back to 556.
_WIDTHS = {" ": 278, ".": 278, ",": 278, "/": 278, "-": 333, "_": 556, "(": 333, ")": 333,
           "'": 191, "°": 400, "—": 1000, "–": 556, "«": 556, "»": 556, ":": 278, ";": 278,
           "i": 222, "l": 222, "j": 222, "t": 278, "f": 278, "r": 333, "m": 833, "w": 722,
           "I": 278, "M": 833, "W": 944, "P": 667, "è": 556, "é": 556, "c": 500, "s": 500,
           "k": 500, "v": 500, "x": 500, "y": 500, "z": 500, "J": 500}


def winansi(text: str) -> bytes:
    """Encode for WinAnsiEncoding; letters outside it lose their accents rather than vanish."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out += base.encode("cp1252", errors="replace")
    return bytes(out)


def width(text: str, size: float) -> float:
    return sum(_WIDTHS.get(c, 556) for c in text) * size / 1000


def literal(text: str) -> bytes:
    raw = winansi(text)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def helvetica(pdf: pikepdf.Pdf, bold: bool = False) -> pikepdf.Object:
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
        BaseFont=pikepdf.Name("/Helvetica-Bold" if bold else "/Helvetica"),
        Encoding=pikepdf.Name.WinAnsiEncoding,
    ))


def wrap(text: str, size: float, max_width: float, font) -> list[str]:
    """Greedy word wrap, measured with ``font`` (a pdffont.Font)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and font.width(trial, size) > max_width:
            lines.append(current)
            current = word
        else:
            current = trial
    return lines + ([current] if current else [])
