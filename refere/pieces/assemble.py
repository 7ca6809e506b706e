"""Pièce PDFs (images on A4, PDFs kept as they are, every page stamped) and the complete dossier."""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pikepdf

from refere import __version__, signals
from refere.pieces import bordereau, calques, pdfnames, repair, reuse, sanitize
from refere.errors import FileProblem
from refere.pieces.bordereau import A4, MM, _bordereau, _starts, inv_pages
from refere.pieces.imagedata import ImageData, open_for_copy
from refere.pieces.pdftext import helvetica, literal, width
from refere.pieces.plan import Inventory, PlannedPiece
from refere.pieces.images import decoded_bytes, image_pages, needs_reencoding  # noqa: F401 - re-exported
from refere.pieces.probe import PDF_ERRORS, SourceInfo, pdf_open, source_bytes

STAMP_SIZE = 8.5
PAD = 22.0  # points added above a PDF page to hold the stamp without covering anything
SIZE_LIMIT = 32_000_000  # Télérecours citoyens, per file
PARALLEL_FROM = 4  # images to re-encode before a second process pays for itself
# Pixels the pièces written at once may re-encode together (each image twice over: decoded, then
# laid on white): two processes each flattening a 59-megapixel transparent PNG took 2.2 GB (attack 19).
REENCODING_MEMORY = 512 << 20
PRODUCER = f"refere {__version__}"


@dataclass(frozen=True)
class Written:
    numero: int
    fichier: str
    pages: int
    size: int
    compressed: bool
    removed: tuple[tuple[str, ...], ...] = ()  # per source, French labels of what sanitize took out
    sha256: str = ""  # of the file written


# --- stamps ---------------------------------------------------------------------------------

FORM = pikepdf.Name("/FRefereP")
FONT = pikepdf.Name("/FRefere")
EDGE = 4.0  # least room left and right of the stamp on a padded narrow page


def _numbers(box, default: list[float]) -> list[float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        return default
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


def _box(page: pikepdf.Page) -> list[float]:
    """The visible box: the crop box clipped by the media box (a viewer shows no more)."""
    media = _numbers(page.obj.get("/MediaBox"), [0.0, 0.0, A4[0], A4[1]])
    crop = _numbers(page.obj.get("/CropBox", media), media)
    box = [max(media[0], crop[0]), max(media[1], crop[1]), min(media[2], crop[2]), min(media[3], crop[3])]
    if box[2] < box[0] or box[3] < box[1]:
        box = media
    return box


def _rotation(page: pikepdf.Page) -> int:
    try:
        rotate = int(page.obj.get("/Rotate", 0)) % 360
    except (TypeError, ValueError):
        rotate = 0
    return rotate if rotate in (0, 90, 180, 270) else 0


def _visual_matrix(box: list[float], rotate: int) -> tuple[list[float], float, float]:
    """Matrix from upright visual coordinates (origin bottom-left as displayed) to user space."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if rotate == 0:
        return [1, 0, 0, 1, x0, y0], w, h
    if rotate == 90:
        return [0, 1, -1, 0, x1, y0], h, w
    if rotate == 180:
        return [-1, 0, 0, -1, x1, y1], w, h
    return [0, -1, 1, 0, x0, y1], h, w


def _apply(m: list[float], x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


@dataclass(frozen=True)
class Placement:
    size: float  # font size
    x: float  # baseline start, in visual coordinates of the final page
    y: float
    grow: tuple[float, float, float]  # visual padding added: left, right, top


def place(w: float, h: float, text: str, pad: bool) -> Placement:
    """Where the stamp goes on a visual page of ``w`` × ``h`` points.

    A pièce built from an image has a 15 mm top margin kept free for it. A PDF page is padded
    on top (content untouched); a large page gets a proportionally larger stamp, a page narrower
    than the text is widened on both sides, so that the whole text lies inside the page."""
    if not pad:
        return Placement(STAMP_SIZE, w - 12 * MM - width(text, STAMP_SIZE), h - 15 * MM + 8, (0.0, 0.0, 0.0))
    size = STAMP_SIZE * max(1.0, min(w, h) / 842)
    tw = width(text, size)
    top = PAD * size / STAMP_SIZE
    side = max(0.0, (tw + 2 * EDGE - w) / 2)
    full = w + 2 * side
    margin = 12 * MM if full >= tw + 24 * MM else (full - tw) / 2
    y = h + (top - size) / 2 - 2 * size / STAMP_SIZE
    return Placement(size, full - margin - tw, y, (side, side, top))


def _grow(page: pikepdf.Page, box: list[float], rotate: int, grow: tuple[float, float, float]) -> list[float]:
    """Enlarge the visible box by ``grow`` (visual left, right, top); the content stays where it is."""
    m, w, h = _visual_matrix(box, rotate)
    left, right, top = grow
    corners = [_apply(m, x, y) for x in (-left, w + right) for y in (0.0, h + top)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    new = [min(xs), min(ys), max(xs), max(ys)]
    padded = pikepdf.Array([Decimal(f"{v:.4f}") for v in new])
    page.obj.MediaBox = padded
    if "/CropBox" in page.obj:
        page.obj.CropBox = padded
    for key in ("/TrimBox", "/BleedBox", "/ArtBox"):
        if key in page.obj:
            del page.obj[key]
    return [float(v) for v in padded]


def _isolate(pdf: pikepdf.Pdf, page: pikepdf.Page, box: list[float], forms: dict) -> None:
    """The page's own content becomes a form XObject drawn inside q … Q: a content stream cut
    mid-token, an unclosed string or a stray Q stays inside it, and cannot swallow or displace
    the stamp drawn after it. The form's box is the visible page, so the padding stays blank.
    Pages sharing one content stream, resources and box share one form (no copy per page)."""
    contents = page.obj.get("/Contents")
    resources = page.obj.get("/Resources")
    key = (getattr(contents, "objgen", None), getattr(resources, "objgen", None), tuple(box))
    if key[0] and key[0] != (0, 0) and key[1] and key[1] != (0, 0) and key in forms:
        page.obj.Resources = pikepdf.Dictionary({"/XObject": pikepdf.Dictionary({str(FORM): forms[key]})})
        return
    if isinstance(contents, pikepdf.Stream):
        # One stream: its data is kept as stored (filters included), never decoded here.
        form = pdf.make_stream(contents.read_raw_bytes())
        for name in ("/Filter", "/DecodeParms"):
            if name in contents:
                form[name] = contents[name]
    else:
        parts = []
        for part in contents if isinstance(contents, pikepdf.Array) else []:
            try:
                parts.append(part.read_bytes())
            except PDF_ERRORS:
                pass  # undecodable: nothing a viewer could draw from it either
        form = pdf.make_stream(b"\n".join(parts))
    form.Type = pikepdf.Name.XObject
    form.Subtype = pikepdf.Name.Form
    form.BBox = pikepdf.Array([Decimal(f"{v:.4f}") for v in box])
    form.Resources = resources if isinstance(resources, pikepdf.Dictionary) else pikepdf.Dictionary()
    if "/Group" in page.obj:
        form.Group = page.obj.Group
    form = pdf.make_indirect(form)
    forms[key] = form
    page.obj.Resources = pikepdf.Dictionary({"/XObject": pikepdf.Dictionary({str(FORM): form})})


def _fmt(v: float) -> str:
    return f"{v:.4f}".rstrip("0").rstrip(".")


def stamp(pdf: pikepdf.Pdf, page: pikepdf.Page, text: str, pad: bool, font: pikepdf.Object,
          forms: dict | None = None) -> None:
    """Stamp ``text`` on the visual top of ``page``. A PDF page (``pad``) has its content isolated
    first, then is padded; a page from an image (our own content) is stamped in its margin."""
    rotate = _rotation(page)
    box = _box(page)
    _, w, h = _visual_matrix(box, rotate)
    where = place(w, h, text, pad)
    if pad:
        _isolate(pdf, page, box, {} if forms is None else forms)
        box = _grow(page, box, rotate, where.grow)
    m, _, _ = _visual_matrix(box, rotate)
    resources = page.obj.get("/Resources")
    if not isinstance(resources, pikepdf.Dictionary):
        resources = page.obj.Resources = pikepdf.Dictionary()
    fonts = resources.get("/Font")
    if not isinstance(fonts, pikepdf.Dictionary):
        fonts = resources.Font = pikepdf.Dictionary()
    fonts[str(FONT)] = font
    ops = (
        f"q {' '.join(_fmt(v) for v in m)} cm BT {FONT} {_fmt(where.size)} Tf 0 g "
        f"{where.x:.2f} {where.y:.2f} Td ".encode() + literal(text) + b" Tj ET Q"
    )
    if pad:
        page.obj.Contents = pdf.make_stream(b"q " + str(FORM).encode() + b" Do Q\n" + ops)
    else:
        page.contents_add(pdf.make_stream(b"q"), prepend=True)
        page.contents_add(pdf.make_stream(b"Q " + ops))


def stamp_text(numero: int, page: int, total: int, brouillon: bool = False) -> str:
    text = f"Pièce n° {numero} — p. {page}/{total}"
    return f"PROJET — {text}" if brouillon else text


# --- pièces ---------------------------------------------------------------------------------

def _finish(pdf: pikepdf.Pdf, title: str) -> None:
    """Title and producer, nothing else: no XMP, no author, no dates."""
    if "/Metadata" in pdf.Root:
        del pdf.Root["/Metadata"]
    pdf.docinfo = pdf.make_indirect(pikepdf.Dictionary(Title=title, Producer=PRODUCER))


_STATIC_ID = b"<31415926535897932384626433832795>"  # what qpdf writes with static_id


# A text naming everything the PDF being saved is made from (see ``save``), set around the call.
_INPUTS: contextvars.ContextVar[str | None] = contextvars.ContextVar("refere_pdf_inputs", default=None)


def save(pdf: pikepdf.Pdf, path: Path) -> None:
    """Write ``pdf`` deterministically. Its /ID is the MD5 of the whole file (qpdf's
    deterministic ID, a tenth of a second per 100 MB), or, when the caller set ``_INPUTS`` (a
    text naming everything the file is made from), a hash of that: same inputs, same bytes."""
    inputs = _INPUTS.get()
    if inputs is None:
        pdf.save(path, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return
    pdf.save(path, static_id=True, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    ident = b"<" + hashlib.md5(inputs.encode(), usedforsecurity=False).hexdigest().encode() + b">"
    with open(path, "r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        start = max(0, size - 65536)
        fh.seek(start)
        tail = fh.read()
        at = tail.rfind(b"startxref")
        if at < 0 or tail.count(_STATIC_ID, 0, at) != 2:
            raise RuntimeError(f"{path}: unexpected trailer")  # never with qpdf's writer
        fh.seek(start)
        fh.write(tail[:at].replace(_STATIC_ID, ident) + tail[at:])


def append_pages(out: pikepdf.Pdf, pages) -> int:
    """Copy ``pages`` (from another Pdf) to the end of ``out``'s page tree; returns how many.

    pikepdf's ``pages.extend`` costs time proportional to the pages already there for each page
    added (quadratic: 30 s for 8,000 pages); copying each page object and listing it in /Kids
    is linear. ``out.pages`` must not be read before the last call: qpdf builds its page list
    on first use."""
    root = out.Root.Pages
    kids = root.Kids
    n = 0
    for page in pages:
        copy = out.copy_foreign(page.obj)
        copy.Parent = root
        kids.append(copy)
        n += 1
    root.Count = len(kids)
    return n


def _pdf_source(src: SourceInfo) -> tuple[pikepdf.Pdf, list[str]]:
    """A source PDF opened (qpdf recovers a damaged cross-reference table on the way), its pages
    made self-contained and cleaned of active content; the labels of what was removed."""
    doc = pdf_open(source_bytes(src), src.written)
    try:
        # Each page owns its inherited attributes already: qpdf pushed them down when pdf_open read
        # it, from the nodes that list the page (never from a /Parent that lies, attack 34).
        pdfnames.legalise(doc)  # a PDF 1.0 « /Im#1 » would break the PDF 1.5 the pièce declares
        return doc, sanitize.clean(doc)
    except PDF_ERRORS as exc:
        # A structure too broken to walk (hostile or damaged): refused, naming the file.
        doc.close()
        raise FileProblem(f"« {src.written} » : PDF endommagé ({repair.labels([str(exc)])[0]})") from None


def build_piece(piece: PlannedPiece, path: Path, dpi_cap: int | None = None, brouillon: bool = False) -> Written:
    """One pièce file: every source in order, every page stamped « Pièce n° N — p. K/M »."""
    out = pikepdf.new()
    opened: list[pikepdf.Pdf] = []
    padded: list[bool] = []
    removed: list[tuple[str, ...]] = []
    spill = ImageData(path)
    try:
        for src in piece.sources:
            if src.kind == "pdf":
                doc, labels = _pdf_source(src)
                pad = True
            else:
                doc, labels = image_pages(src, dpi_cap, spill), []
                pad = False
            opened.append(doc)
            removed.append(tuple(labels))
            try:
                n = append_pages(out, doc.pages)
                calques.carry(out, doc)  # hidden layers stay hidden
            except PDF_ERRORS as exc:
                raise FileProblem(f"« {src.written} » : PDF endommagé ({repair.labels([str(exc)])[0]})") from None
            padded += [pad] * n
        if (images := spill.finish(out)) is not None:
            opened.append(images)
        font = helvetica(out)
        total = len(out.pages)
        forms: dict = {}
        try:
            for k, (page, pad) in enumerate(zip(out.pages, padded), start=1):
                stamp(out, page, stamp_text(piece.numero, k, total, brouillon), pad, font, forms)
        except PDF_ERRORS as exc:
            raise FileProblem(f"pièce n° {piece.numero} : PDF source endommagé ({repair.labels([str(exc)])[0]})") from None
        _finish(out, f"Pièce n° {piece.numero} — {piece.titre}")
        try:
            token = _INPUTS.set(repr((PRODUCER, piece.numero, piece.titre, dpi_cap, brouillon,
                                      [(s.kind, s.sha256) for s in piece.sources])))
            try:
                save(out, path)
            finally:
                _INPUTS.reset(token)
        except PDF_ERRORS as exc:
            raise FileProblem(f"pièce n° {piece.numero} : PDF source endommagé ({repair.labels([str(exc)])[0]})") from None
    finally:
        for doc in opened:
            doc.close()
        out.close()
        spill.close()
    return Written(piece.numero, piece.fichier, total, path.stat().st_size, dpi_cap is not None, tuple(removed))


def _writer() -> str:
    """The function that writes the PDFs, as a part of what a kept output was made by."""
    return f"{save.__module__}:{save.__qualname__}"


def _piece_key(piece: PlannedPiece, compress: bool, brouillon: bool) -> str:
    return reuse.key("piece", _writer(), piece.numero, piece.titre, piece.fichier, compress, brouillon,
                     [(s.kind, s.sha256, s.pages) for s in piece.sources])


def _build_one(args: tuple[PlannedPiece, Path, bool, bool, Path | None]) -> Written:
    written, later = _write_one(args, hash_later=False)
    return written


def _write_one(args: tuple[PlannedPiece, Path, bool, bool, Path | None], hash_later: bool):
    """The pièce written (or kept), and, with ``hash_later``, the future of its SHA-256 (None
    when known), its Written's ``sha256`` left empty until then."""
    piece, folder, compress, brouillon, previous = args
    path = folder / piece.fichier
    key = _piece_key(piece, compress, brouillon)
    # The same pièce in the previous output, proved the same bytes: kept, not built again.
    record = reuse.take(key, previous / piece.fichier if previous is not None else None, path)
    if record is not None and record.get("pages") == piece.pages:
        return Written(piece.numero, piece.fichier, piece.pages, record["size"], bool(record.get("compressed")),
                       tuple(tuple(r) for r in record.get("removed", ())), record["sha256"]), None
    written = build_piece(piece, path, brouillon=brouillon)
    if compress and written.size > SIZE_LIMIT and any(s.kind != "pdf" for s in piece.sources):
        for dpi in (200, 150, 110):
            written = build_piece(piece, path, dpi_cap=dpi, brouillon=brouillon)
            if written.size <= SIZE_LIMIT:
                break
    record = {"size": written.size, "pages": written.pages, "compressed": written.compressed,
              "removed": [list(r) for r in written.removed]}
    later = reuse.sha256_later(path, key, record)
    if hash_later:
        return written, later
    return dataclasses.replace(written, sha256=later.result()), None


def build_pieces(inv: Inventory, folder: Path, compress: bool = False, jobs: int = 1,
                 brouillon: bool = False, previous: Path | None = None) -> list[Written]:
    """Every pièce into ``folder``; those unchanged since the output at ``previous`` are taken
    from it (see reuse)."""
    folder.mkdir(parents=True, exist_ok=True)
    work = [(p, folder, compress, brouillon, previous) for p in inv.pieces]
    # Measured (bench/): pass-through images are I/O-bound and a second process only adds its
    # start-up and memory; re-encoding (transparency, --compresser) is CPU-bound and pays.
    jobs = at_once(inv, compress, jobs) if jobs > 1 and len(work) > 1 else 1
    if jobs > 1:
        # Processes, not threads: Pillow's PNG work and pikepdf's writing both hold the GIL.
        # A signal waits for the pièces under way (the others are dropped), then unwinds: raised
        # inside the pool's locks, it would leave the clean-up waiting on them.
        with signals.held(), ProcessPoolExecutor(max_workers=min(jobs, len(work)), initializer=signals.install,
                                                 initargs=(True,)) as pool:
            futures = [pool.submit(_build_one, w) for w in work]
            out = []
            for f in futures:
                if signals.stopping():
                    pool.shutdown(wait=True, cancel_futures=True)
                    break
                out.append(f.result())
            return out
    # Each pièce hashed on a thread while the next one is written.
    done = [_write_one(w, hash_later=True) for w in work]
    return [dataclasses.replace(w, sha256=later.result()) if later is not None else w for w, later in done]


def at_once(inv: Inventory, compress: bool, jobs: int) -> int:
    """How many pièces to write at once, each in its own process: one, unless images are to be
    re-encoded (CPU-bound: a second process pays), and no more than the memory their pixels
    take allows (``REENCODING_MEMORY``)."""
    again = [s for p in inv.pieces for s in p.sources if s.kind != "pdf" and (compress or needs_reencoding(s))]
    if not compress and len(again) < PARALLEL_FROM:
        return 1
    if again:
        jobs = min(jobs, REENCODING_MEMORY // (2 * max(decoded_bytes(s) for s in again)))
    return max(1, jobs)


# --- the complete dossier -------------------------------------------------------------------

def build_complete(inv: Inventory, folder: Path, path: Path, header: list[str], brouillon: bool = False,
                   written: list[Written] | None = None, previous: Path | None = None,
                   hashes: dict | None = None) -> int:
    """Bordereau page(s), then every pièce in order; a bookmark and page labels per pièce.
    The pièces are already stamped and cleaned; a draft's pièces already say « PROJET ».
    Made of the same pièces (``written``, by SHA-256) as the one at ``previous``: kept from it.
    The SHA-256 of the file is put in ``hashes`` under its name, when known."""
    parts = [header, brouillon, [(p.numero, p.titre, p.pages, p.fichier) for p in inv.pieces],
             [w.sha256 for w in written or ()]]
    if not written or not all(w.sha256 for w in written):
        return _build_complete(inv, folder, path, header, brouillon)
    key = reuse.key("complet", _writer(), *parts)
    record = reuse.take(key, previous, path)
    if record is None or not isinstance(record.get("pages"), int):
        pages = _build_complete(inv, folder, path, header, brouillon, repr((PRODUCER, *parts)))
        # Hashed on a thread (``hashes`` gets the future) while the requête is written.
        record = {"size": path.stat().st_size, "pages": pages}
        record["sha256"] = reuse.sha256_later(path, key, dict(record))
    if hashes is not None:
        hashes[path.name] = record["sha256"]
    return record["pages"]


FIRST_PAGE = 1  # the bordereau opens the complete dossier


def prepare_complete(inv: Inventory, header: list[str], brouillon: bool = False) -> None:
    """Make ahead the costly part of ``build_complete``'s bordereau (see ``bordereau.prepare``)."""
    bordereau.prepare(inv, header, FIRST_PAGE, brouillon)


def _build_complete(inv: Inventory, folder: Path, path: Path, header: list[str], brouillon: bool,
                    inputs: str | None = None) -> int:
    out = pikepdf.new()
    n_bord = _bordereau(out, inv, header, FIRST_PAGE, brouillon)
    starts = _starts(inv, n_bord + 1)
    opened = []
    try:
        for p in inv.pieces:
            doc = open_for_copy(folder / p.fichier)
            opened.append(doc)
            append_pages(out, doc.pages)
            calques.carry(out, doc)
        nums: list = [0, pikepdf.Dictionary(S=pikepdf.Name.r, P=pikepdf.String("Bordereau "))]
        with out.open_outline() as outline:
            outline.root.append(pikepdf.OutlineItem("Bordereau des pièces", 0))
            for p, start in zip(inv.pieces, starts):
                outline.root.append(pikepdf.OutlineItem(f"Pièce n° {p.numero} — {p.titre}", start - 1))
                nums += [start - 1, pikepdf.Dictionary(S=pikepdf.Name.D, P=pikepdf.String(f"P{p.numero}-"))]
        out.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(nums))
        out.Root.PageMode = pikepdf.Name.UseOutlines
        _finish(out, "Dossier complet — " + header[0])
        token = _INPUTS.set(inputs)
        try:
            save(out, path)
        finally:
            _INPUTS.reset(token)
    finally:
        for doc in opened:
            doc.close()
        out.close()
    return n_bord + inv_pages(inv)
