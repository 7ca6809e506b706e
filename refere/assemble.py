"""Pièce PDFs (images on A4, PDFs kept as they are, every page stamped) and the complete dossier."""

from __future__ import annotations

import io
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import img2pdf
import pikepdf
from PIL import Image, ImageOps

from . import __version__, pngmeta
from .errors import FileProblem
from .pdffont import Font
from .pdftext import helvetica, literal, width
from .plan import Inventory, PlannedPiece
from .probe import MAX_PIXELS, SourceInfo, pdf_open, source_bytes

logging.getLogger("img2pdf").setLevel(logging.ERROR)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
# Left/right margin 12 mm, top/bottom 15 mm: the stamp lives in the top margin.
_LAYOUT = img2pdf.get_layout_fun(A4, None, (15 * MM, 12 * MM), img2pdf.FitMode.shrink, True)
STAMP_SIZE = 8.5
PAD = 22.0  # points added above a PDF page to hold the stamp without covering anything
SIZE_LIMIT = 32_000_000  # Télérecours citoyens, per file
PARALLEL_FROM = 4  # images to re-encode before a second process pays for itself
PRODUCER = f"refere {__version__}"


@dataclass(frozen=True)
class Written:
    numero: int
    fichier: str
    pages: int
    size: int
    compressed: bool


# --- images ---------------------------------------------------------------------------------

def needs_reencoding(src: SourceInfo) -> bool:
    """Only a PNG with transparency is decoded and re-encoded; everything else passes through."""
    return src.kind == "png" and pngmeta.read(source_bytes(src)).has_alpha


def _flatten_if_needed(data: bytes, has_alpha_png: bool, dpi_cap: int | None) -> bytes:
    """PNG transparency is flattened on white (as it prints); compression re-encodes as JPEG."""
    if has_alpha_png or dpi_cap:
        with Image.open(io.BytesIO(data)) as img:
            has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
            img.load()
            # Re-encoding drops the EXIF: apply its orientation to the pixels first.
            img = ImageOps.exif_transpose(img)
            if img.mode == "P" or img.mode == "PA":
                img = img.convert("RGBA")
            if img.mode.startswith("I;16") or img.mode == "I":
                img = img.point(lambda v: v / 256).convert("L")
            if has_alpha or img.mode in ("RGBA", "LA"):
                rgba = img.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                img = flat.convert("L") if img.mode in ("LA", "La", "L") else flat
            out = io.BytesIO()
            if dpi_cap:
                img = _downscale(img, dpi_cap)
                if img.mode not in ("RGB", "L"):
                    img = img.convert("RGB")
                img.save(out, "JPEG", quality=85, optimize=True)
            else:
                # Level 3: about the source's size, at a third of level 6's time.
                img.save(out, "PNG", compress_level=3)
            return out.getvalue()
    return data


def _downscale(img: Image.Image, dpi: int) -> Image.Image:
    """At most ``dpi`` across the A4 text block: sharp when printed, far lighter."""
    max_w, max_h = int(186 / 25.4 * dpi), int(267 / 25.4 * dpi)
    if img.width > img.height:
        max_w, max_h = max_h, max_w
    scale = min(1.0, max_w / img.width, max_h / img.height)
    if scale < 1.0:
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))), Image.LANCZOS)
    return img


def image_pages(src: SourceInfo, dpi_cap: int | None = None) -> pikepdf.Pdf:
    data = source_bytes(src)
    meta = pngmeta.read(data) if src.kind == "png" else None
    # img2pdf's EXIF look-up decodes a whole PNG; ask it only when a PNG declares an orientation.
    rotation = img2pdf.Rotation.none if meta and meta.orientation == 1 else img2pdf.Rotation.ifvalid
    try:
        data = _flatten_if_needed(data, bool(meta and meta.has_alpha), dpi_cap)
        # One page per image, as the plan counts it: an MPO or animated PNG keeps its first frame.
        out = img2pdf.convert(data, layout_fun=_LAYOUT, nodate=True, rotation=rotation,
                              first_frame_only=True, engine=img2pdf.Engine.internal)
    except FileProblem:
        raise
    except Exception as exc:
        raise FileProblem(f"« {src.written} » : image impossible à convertir ({type(exc).__name__} : {exc})") from None
    return pikepdf.open(io.BytesIO(out))


# --- stamps ---------------------------------------------------------------------------------

def _box(page: pikepdf.Page) -> list[float]:
    box = page.obj.get("/CropBox") or page.obj.get("/MediaBox")
    x0, y0, x1, y1 = (float(v) for v in box)
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


def _pad_top(page: pikepdf.Page, rotate: int) -> None:
    """Enlarge the page on its visual top edge: the stamp gets room, the content is untouched."""
    box = _box(page)
    index, delta = {0: (3, PAD), 90: (0, -PAD), 180: (1, -PAD), 270: (2, PAD)}[rotate]
    box[index] += delta
    padded = pikepdf.Array([Decimal(f"{v:.4f}") for v in box])
    page.obj.MediaBox = padded
    if "/CropBox" in page.obj:
        page.obj.CropBox = padded
    for key in ("/TrimBox", "/BleedBox", "/ArtBox"):
        if key in page.obj:
            del page.obj[key]


def _visual_matrix(page: pikepdf.Page, rotate: int) -> tuple[list[float], float, float]:
    """Matrix from upright visual coordinates (origin bottom-left as displayed) to user space."""
    x0, y0, x1, y1 = _box(page)
    w, h = x1 - x0, y1 - y0
    if rotate == 0:
        return [1, 0, 0, 1, x0, y0], w, h
    if rotate == 90:
        return [0, 1, -1, 0, x1, y0], h, w
    if rotate == 180:
        return [-1, 0, 0, -1, x1, y1], w, h
    return [0, -1, 1, 0, x0, y1], h, w


def _free_font_name(page: pikepdf.Page) -> pikepdf.Name:
    """An explicit resource name (pikepdf's prefix= is random, which breaks reproducibility)."""
    fonts = page.resources.get("/Font", {}) if "/Resources" in page.obj else {}
    k = 0
    while (name := f"/FRefere{k or ''}") in fonts:
        k += 1
    return pikepdf.Name(name)


def stamp(pdf: pikepdf.Pdf, page: pikepdf.Page, text: str, pad: bool, font: pikepdf.Object) -> None:
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    rotate = rotate if rotate in (0, 90, 180, 270) else 0
    if pad:
        _pad_top(page, rotate)
    m, w, h = _visual_matrix(page, rotate)
    name = page.add_resource(font, pikepdf.Name.Font, name=_free_font_name(page))
    tx = w - 12 * MM - width(text, STAMP_SIZE)
    ty = h - (PAD + STAMP_SIZE) / 2 - 2 if pad else h - 15 * MM + 8
    matrix = " ".join(f"{v:.4f}".rstrip("0").rstrip(".") for v in m)
    ops = (
        f"Q q {matrix} cm BT {name} {STAMP_SIZE} Tf 0 g {tx:.2f} {ty:.2f} Td ".encode()
        + literal(text) + b" Tj ET Q"
    )
    page.contents_add(pdf.make_stream(b"q"), prepend=True)
    page.contents_add(pdf.make_stream(ops))


def stamp_text(numero: int, page: int, total: int) -> str:
    return f"Pièce n° {numero} — p. {page}/{total}"


# --- pièces ---------------------------------------------------------------------------------

def _finish(pdf: pikepdf.Pdf, title: str) -> None:
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:title"] = title
        meta["pdf:Producer"] = PRODUCER
    pdf.docinfo = pdf.make_indirect(pikepdf.Dictionary(Title=title, Producer=PRODUCER))


def save(pdf: pikepdf.Pdf, path: Path) -> None:
    pdf.save(path, deterministic_id=True, compress_streams=True,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)


def build_piece(piece: PlannedPiece, path: Path, dpi_cap: int | None = None) -> Written:
    """One pièce file: every source in order, every page stamped « Pièce n° N — p. K/M »."""
    out = pikepdf.new()
    opened: list[pikepdf.Pdf] = []
    padded: list[bool] = []
    try:
        for src in piece.sources:
            if src.kind == "pdf":
                doc = pdf_open(source_bytes(src), src.written)
                pad = True
            else:
                doc = image_pages(src, dpi_cap)
                pad = False
            opened.append(doc)
            try:
                out.pages.extend(doc.pages)
            except pikepdf.PdfError as exc:
                raise FileProblem(f"« {src.written} » : PDF endommagé ({str(exc)[:120]})") from None
            padded += [pad] * len(doc.pages)
        font = helvetica(out)
        total = len(out.pages)
        for k, (page, pad) in enumerate(zip(out.pages, padded), start=1):
            stamp(out, page, stamp_text(piece.numero, k, total), pad, font)
        _finish(out, f"Pièce n° {piece.numero} — {piece.titre}")
        try:
            save(out, path)
        except pikepdf.PdfError as exc:
            raise FileProblem(f"pièce n° {piece.numero} : PDF source endommagé ({str(exc)[:160]})") from None
    finally:
        for doc in opened:
            doc.close()
        out.close()
    return Written(piece.numero, piece.fichier, total, path.stat().st_size, dpi_cap is not None)


def _build_one(args: tuple[PlannedPiece, Path, bool]) -> Written:
    piece, folder, compress = args
    path = folder / piece.fichier
    written = build_piece(piece, path)
    if compress and written.size > SIZE_LIMIT and any(s.kind != "pdf" for s in piece.sources):
        for dpi in (200, 150, 110):
            written = build_piece(piece, path, dpi_cap=dpi)
            if written.size <= SIZE_LIMIT:
                break
    return written


def build_pieces(inv: Inventory, folder: Path, compress: bool = False, jobs: int = 1) -> list[Written]:
    folder.mkdir(parents=True, exist_ok=True)
    work = [(p, folder, compress) for p in inv.pieces]
    heavy = sum(needs_reencoding(s) for p in inv.pieces for s in p.sources)
    # Measured (bench/): pass-through images are I/O-bound and a second process only adds its
    # start-up and memory; re-encoding (transparency, --compresser) is CPU-bound and pays.
    if jobs > 1 and len(work) > 1 and (heavy >= PARALLEL_FROM or compress):
        # Processes, not threads: Pillow's PNG work and pikepdf's writing both hold the GIL.
        with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
            return list(pool.map(_build_one, work))
    return [_build_one(w) for w in work]


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


# --- the complete dossier -------------------------------------------------------------------

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
    for p in inv.pieces:
        lines = regular.wrap(p.titre, size, label_w)
        if y - lead * len(lines) < bottom:
            pages.append([])
            y = top
        pages[-1].append((False, size, num_x, y, str(p.numero)))
        pages[-1].append((False, size, pages_x, y, f"\x00{p.numero}"))  # page range, filled in later
        for line in lines:
            pages[-1].append((False, size, label_x, y, line))
            y -= lead
        y -= 4
    return pages


def _bordereau(pdf: pikepdf.Pdf, inv: Inventory, header: list[str], first_page: int) -> int:
    """Draw the bordereau (inventory) as A4 pages at the start of ``pdf``; returns its page count."""
    regular, bold = Font(), Font(bold=True)
    layout = _bordereau_layout(inv, header, regular, bold)
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
    fonts = pikepdf.Dictionary(FR=regular.embed(pdf), FB=bold.embed(pdf))
    for ops in streams:
        pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=pikepdf.Array([0, 0, Decimal(f"{A4[0]:.4f}"), Decimal(f"{A4[1]:.4f}")]),
            Resources=pikepdf.Dictionary(Font=fonts),
            Contents=pdf.make_stream(ops),
        )))
    return len(layout)


def build_complete(inv: Inventory, folder: Path, path: Path, header: list[str]) -> int:
    """Bordereau page(s), then every pièce in order; a bookmark and page labels per pièce."""
    out = pikepdf.new()
    n_bord = _bordereau(out, inv, header, 1)
    starts = _starts(inv, n_bord + 1)
    opened = []
    try:
        for p in inv.pieces:
            doc = pikepdf.open(folder / p.fichier)
            opened.append(doc)
            out.pages.extend(doc.pages)
        nums: list = [0, pikepdf.Dictionary(S=pikepdf.Name.r, P=pikepdf.String("Bordereau "))]
        with out.open_outline() as outline:
            outline.root.append(pikepdf.OutlineItem("Bordereau des pièces", 0))
            for p, start in zip(inv.pieces, starts):
                outline.root.append(pikepdf.OutlineItem(f"Pièce n° {p.numero} — {p.titre}", start - 1))
                nums += [start - 1, pikepdf.Dictionary(S=pikepdf.Name.D, P=pikepdf.String(f"P{p.numero}-"))]
        out.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(nums))
        out.Root.PageMode = pikepdf.Name.UseOutlines
        _finish(out, "Dossier complet — " + header[0])
        save(out, path)
    finally:
        for doc in opened:
            doc.close()
        out.close()
    return n_bord + inv_pages(inv)


def _starts(inv: Inventory, first: int) -> list[int]:
    starts, page = [], first
    for p in inv.pieces:
        starts.append(page)
        page += p.pages
    return starts


def inv_pages(inv: Inventory) -> int:
    return sum(p.pages for p in inv.pieces)
