"""The bordereau: the first page(s) of the complete dossier, listing every pièce with its pages."""

from __future__ import annotations

from decimal import Decimal

import pikepdf

from refere.pieces.pdffont import Font
from refere.pieces.plan import Inventory

MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
DRAFT = "PROJET"


# One line of the bordereau: (bold?, size, x, y, text); a page is a list of lines.
Line = tuple[bool, float, float, float, str]


def _bordereau_layout(inv: Inventory, header: list[str], regular: Font, bold: Font) -> list[list[Line]]:
    """Where each piece of text goes, page by page; page ranges are added later (own column)."""
    size, lead = 10.0, 14.0
    left, top, bottom = 20 * MM, A4[1] - 22 * MM, 20 * MM
    num_x, label_x, pages_x = left, left + 34, A4[0] - 20 * MM - 60
    label_w = pages_x - label_x - 10
    pages: list[list[Line]] = [[]]
    y = top
    for i, text in enumerate(header):
        first = i == 0
        for line in (bold if first else regular).wrap(text, 14.0 if first else size, A4[0] - 2 * left):
            pages[-1].append((first, 14.0 if first else size, left, y, line))
            y -= lead * (1.6 if first else 1.0)
    y -= lead
    for x, title in ((num_x, "N°"), (label_x, "Pièce"), (pages_x, "Pages")):
        pages[-1].append((True, size, x, y, title))
    y -= lead * 1.3
    rows = 0  # begun on this page: a page never holds the headings alone
    for p in inv.pieces:
        lines = regular.wrap(p.titre, size, label_w)
        if y - lead * len(lines) < bottom and rows:
            pages.append([])
            y, rows = top, 0
        pages[-1].append((False, size, num_x, y, str(p.numero)))
        pages[-1].append((False, size, pages_x, y, f"\x00{p.numero}"))  # page range, filled in later
        rows += 1
        for line in lines:
            if y < bottom:  # a title taller than what the headings leave of the first page goes on
                pages.append([])
                y = top
            pages[-1].append((False, size, label_x, y, line))
            y -= lead
        y -= 4
    return pages


def prepare(inv: Inventory, header: list[str], first_page: int, brouillon: bool = False) -> None:
    """Make ahead what drawing this bordereau costs most (its fonts' subsets, kept by
    ``pdffont``): done while the build waits for the captures' check, not after it."""
    regular, bold = Font(), Font(bold=True)
    _contents(inv, header, first_page, brouillon, regular, bold)
    for font in (regular, bold):
        font.subset()


def _contents(inv: Inventory, header: list[str], first_page: int, brouillon: bool, regular: Font,
              bold: Font) -> list[bytes]:
    """The content stream of each bordereau page, text encoded with ``regular`` and ``bold``."""
    layout = _bordereau_layout(inv, header, regular, bold)
    if brouillon:
        # A draft says so on every page, in the top margin, as text (searchable, copied with it).
        for lines in layout:
            lines.append((True, 12.0, A4[0] - 20 * MM - bold.width(DRAFT, 12.0), A4[1] - 12 * MM, DRAFT))
    spans = {}
    for p, start in zip(inv.pieces, _starts(inv, first_page + len(layout))):
        end = start + p.pages - 1
        spans[f"\x00{p.numero}"] = f"p. {start}" if start == end else f"p. {start}-{end}"
    streams = []
    for lines in layout:
        ops = []
        for is_bold, size, x, y, text in lines:
            font = bold if is_bold else regular
            ops.append(f"BT /F{'B' if is_bold else 'R'} {size} Tf {x:.2f} {y:.2f} Td ".encode()
                       + font.encode(spans.get(text, text)) + b" Tj ET")
        streams.append(b"\n".join(ops))
    return streams


def _bordereau(pdf: pikepdf.Pdf, inv: Inventory, header: list[str], first_page: int,
               brouillon: bool = False) -> int:
    """Draw the bordereau (inventory) as A4 pages at the start of ``pdf``; returns its page count."""
    regular, bold = Font(), Font(bold=True)
    streams = _contents(inv, header, first_page, brouillon, regular, bold)
    fonts = pikepdf.Dictionary(FR=regular.embed(pdf), FB=bold.embed(pdf))
    for ops in streams:
        page = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Page, Parent=pdf.Root.Pages,
            MediaBox=pikepdf.Array([0, 0, Decimal(f"{A4[0]:.4f}"), Decimal(f"{A4[1]:.4f}")]),
            Resources=pikepdf.Dictionary(Font=fonts),
            Contents=pdf.make_stream(ops),
        ))
        pdf.Root.Pages.Kids.append(page)  # not pdf.pages: see append_pages
    pdf.Root.Pages.Count = len(pdf.Root.Pages.Kids)
    return len(streams)


def _starts(inv: Inventory, first: int) -> list[int]:
    starts, page = [], first
    for p in inv.pieces:
        starts.append(page)
        page += p.pages
    return starts


def inv_pages(inv: Inventory) -> int:
    return sum(p.pages for p in inv.pieces)
