"""The stamp's font: Helvetica in WinAnsi encoding. Its text is ours (« Pièce n° N — p. K/M »),
never typed by a person; text people type is drawn with pdffont."""

from __future__ import annotations

import pikepdf

# Helvetica advance widths (AFM, per 1000 em) of the stamp's characters; digits are 556.
_WIDTHS = {" ": 278, ".": 278, "/": 278, "°": 400, "—": 1000, "P": 667, "i": 222, "è": 556,
           "c": 500, "e": 556, "n": 556, "p": 556,
           "R": 722, "O": 778, "J": 500, "E": 667, "T": 611}


def width(text: str, size: float) -> float:
    return sum(_WIDTHS.get(c, 556) for c in text) * size / 1000


def literal(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def helvetica(pdf: pikepdf.Pdf) -> pikepdf.Object:
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding,
    ))
