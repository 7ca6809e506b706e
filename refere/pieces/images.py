"""Images as a viewer shows them, on A4 pages: orientation applied, transparency on white.

A capture passes through as it is whenever that is faithful (a JPEG's segments are dropped, not
its image data; a PNG is cut at IEND). It is decoded and re-encoded when it must be: a mirrored
EXIF orientation (2, 4, 5, 7: no page rotation can show it), transparency (flattened on white,
as it prints, a 16-bit grey key colour included), image data running on past the picture's rows
(a PNG whose IDAT inflates far beyond what IHDR declares), or compression asked for.
"""

from __future__ import annotations

import io
import logging

import img2pdf
import pikepdf
from PIL import Image, ImageMath, ImageOps

from refere import files
from refere.errors import FileProblem
from refere.pieces import pngmeta, sanitize
from refere.pieces.probe import MAX_PIXELS, SourceInfo, idat_exact, source_bytes

logging.getLogger("img2pdf").setLevel(logging.ERROR)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
# Left/right margin 12 mm, top/bottom 15 mm: the stamp lives in the top margin.
_A4_LAYOUT = img2pdf.get_layout_fun(A4, None, (15 * MM, 12 * MM), img2pdf.FitMode.shrink, True)


def _square_layout(width: int, height: int, ndpi: tuple) -> tuple:
    """The A4 page of an image whose pixels are square, as every viewer shows them: a density
    that differs across and down (a PNG's pHYs, a JPEG's JFIF header) would squeeze the picture
    (attack 33). The lower of the two is kept for both: the larger picture, shrunk to the page
    if need be (a density of thousands would make a stamp of it)."""
    dpi = min(ndpi)
    return _A4_LAYOUT(width, height, (dpi, dpi))


MIRRORED = (2, 4, 5, 7)
try:  # ISA-L's CRC is several times zlib's (the merged IDAT chunk is a capture's size)
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - optional speed-up
    from zlib import crc32 as _crc32
HEAD = 1 << 18  # a JPEG's EXIF (at most 64 KB) and a PNG's chunks before its image data
_EXIF_ROTATION = {3: img2pdf.Rotation["180"], 6: img2pdf.Rotation["90"], 8: img2pdf.Rotation["270"]}


def needs_reencoding(src: SourceInfo) -> bool:
    """Whether this image is decoded and re-encoded (see the module's docstring), told from its
    headers: this only sizes the work (``image_pages`` decides on the whole file), and reading
    every capture whole here cost a quarter of a second per build."""
    data = files.read_head(src.file, HEAD) if src.file is not None else source_bytes(src)
    if src.kind == "png":
        meta = pngmeta.read(data)
        # Image data running past its rows is rare: a capture whose check is still running
        # counts as fitting here (this only sizes the work), never in ``image_pages``.
        return meta.has_alpha or meta.orientation in MIRRORED or not _idat_fits(src, data, wait=False)
    return jpeg_orientation(data) in MIRRORED


def decoded_bytes(src: SourceInfo) -> int:
    """The bytes of an image's pixels once decoded with an alpha channel, told from its headers
    (as many as the check allows when they do not tell): what re-encoding it holds, twice over."""
    data = files.read_head(src.file, HEAD) if src.file is not None else source_bytes(src)
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except Exception:  # noqa: BLE001 - a header past the head, or odd: the most the check lets through
        width, height = MAX_PIXELS, 1
    return 4 * min(width * height, MAX_PIXELS)


def _idat_fits(src: SourceInfo, data: bytes, wait: bool = True) -> bool:
    """The image data inflates to no more than its rows: from the capture's check, which
    inflated it all already, or (not known) counted here; not ``wait``-ing, unknown fits."""
    exact = src.idat_exact if src.idat_exact is not None else idat_exact(src, wait)
    if exact is None and not wait:
        return True
    return exact if exact is not None else pngmeta.idat_fits(data)


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation of a JPEG (1 to 8), 1 when absent or unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return pngmeta.orientation_of(img.getexif().get(0x0112))
    except Exception:  # noqa: BLE001 - an unreadable EXIF block says nothing: shown as stored
        return 1


def _reencoded(data: bytes, dpi_cap: int | None, photo: bool) -> bytes:
    """Decoded, turned as EXIF says, flattened on white; JPEG when compressing or when the source
    was a JPEG (a photo), PNG otherwise (lossless, as a screenshot should stay)."""
    # Each full-size copy of the pixels is dropped as soon as the next is made: a 59-megapixel
    # transparent PNG of 249 KB held four of them, 1 GB (attack 19).
    with Image.open(io.BytesIO(data)) as img:
        key = img.info.get("transparency")
        has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or key is not None
        img.load()
        # Re-encoding drops the EXIF: apply its orientation (mirrored ones too) to the pixels
        # (in place: else Pillow returns a copy even when there is nothing to turn).
        ImageOps.exif_transpose(img, in_place=True)
        img = _flattened(img, key, has_alpha)
        out = io.BytesIO()
        if dpi_cap:
            img = _downscale(img, dpi_cap)
        if dpi_cap or photo:
            if img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            img.save(out, "JPEG", quality=85 if dpi_cap else 92, optimize=True)
        else:
            # Level 3: about the source's size, at a third of level 6's time.
            img.save(out, "PNG", compress_level=3)
        return out.getvalue()


def _flattened(img: Image.Image, key, has_alpha: bool) -> Image.Image:
    """``img`` in a mode a PDF page shows as a viewer does: 16-bit grey made 8-bit, a palette
    expanded, transparency laid on white. Each image replaced is closed (its pixels freed)."""
    def replaced(old: Image.Image, new: Image.Image) -> Image.Image:
        if new is not old:
            old.close()
        return new

    if img.mode.startswith("I"):
        wide = replaced(img, img.convert("I"))
        mask = None
        if isinstance(key, int):  # 16-bit grey with a transparent key value (tRNS)
            mask = ImageMath.lambda_eval(lambda a: a["a"] != key, a=wide).point(lambda v: v * 255).convert("L")
        img = replaced(wide, wide.point(lambda v: v / 256).convert("L"))
        if mask is not None:
            img.putalpha(mask)
    elif img.mode in ("P", "PA"):
        img = replaced(img, img.convert("RGBA"))
    if has_alpha or img.mode in ("RGBA", "LA"):
        grey = img.mode in ("LA", "La", "L")
        rgba = img if img.mode == "RGBA" else replaced(img, img.convert("RGBA"))
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        alpha = rgba.getchannel("A")
        flat.paste(rgba, mask=alpha)
        alpha.close()
        rgba.close()
        img = replaced(flat, flat.convert("L")) if grey else flat
    return img


def _downscale(img: Image.Image, dpi: int) -> Image.Image:
    """At most ``dpi`` across the A4 text block: sharp when printed, far lighter."""
    max_w, max_h = int(186 / 25.4 * dpi), int(267 / 25.4 * dpi)
    if img.width > img.height:
        max_w, max_h = max_h, max_w
    scale = min(1.0, max_w / img.width, max_h / img.height)
    if scale < 1.0:
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))), Image.LANCZOS)
    return img


def _png_until_iend(data: bytes) -> bytes:
    """A PNG passed through as it is, cut after its IEND chunk: img2pdf refuses trailing bytes
    (« invalid png »), and they are not image data anyway (an appended file, a message…). Its
    image data in one IDAT chunk: img2pdf joins the chunks one by one (each join copies all the
    data so far), which costs the square of their number; same image data, same PDF."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return data
    i, n = 8, len(data)
    idat: list[tuple[int, int]] = []  # (start, end) of each IDAT chunk
    while i + 12 <= n:
        length = int.from_bytes(data[i:i + 4], "big")
        end = i + 12 + length
        kind = data[i + 4:i + 8]
        if kind == b"IDAT":
            if idat and idat[-1][1] != i:  # IDAT chunks apart: not a valid PNG, passed as it is
                idat = []
                break
            idat.append((i, end))
        elif kind == b"IEND":
            if len(idat) > 1:
                view = memoryview(data)
                body = b"".join(view[a + 8:b - 4] for a, b in idat)
                crc = _crc32(body, _crc32(b"IDAT"))
                return b"".join((view[:idat[0][0]], len(body).to_bytes(4, "big"), b"IDAT", body,
                                 crc.to_bytes(4, "big"), view[idat[-1][1]:end]))
            return data[:end] if end < n else data
        i = end
    return data


_EMPTY_IDAT = b"\0\0\0\0IDAT" + _crc32(b"IDAT").to_bytes(4, "big")


def _idat_span(data: bytes) -> tuple[int, int, int, list[tuple[int, int]]] | None:
    """Where a PNG's image data lies: the start of its first IDAT chunk, the end of its last,
    the end of its IEND chunk, and the (start, end) of each IDAT chunk's data; None unless the
    PNG is that plain (IDAT chunks side by side, IEND found)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    i, n = 8, len(data)
    bodies: list[tuple[int, int]] = []
    first = last = 0
    while i + 12 <= n:
        length = int.from_bytes(data[i:i + 4], "big")
        end = i + 12 + length
        kind = data[i + 4:i + 8]
        if kind == b"IDAT":
            if bodies and last != i:
                return None
            if not bodies:
                first = i
            bodies.append((i + 8, end - 4))
            last = end
        elif kind == b"IEND":
            return (first, last, end, bodies) if bodies and end <= n else None
        i = end
    return None


def _deferred(data: bytes, rotation, spill) -> pikepdf.Pdf | None:
    """The page of a PNG passed through as it is, its image data left to ``spill`` (written to a
    file, read from there when the pièce is saved) instead of held in memory; None when this
    PNG is not that plain (the caller then converts it whole, as before).

    img2pdf is given the PNG with its image data taken out (an empty IDAT chunk): everything it
    writes but the image data comes from the other chunks, which are all there; the image data
    it would have embedded is the IDAT chunks' data, in order, which ``spill`` writes."""
    span = _idat_span(data) if data[28:29] == b"\0" else None  # interlaced: img2pdf decodes it
    if span is None:
        return None
    first, last, end, bodies = span
    view = memoryview(data)
    try:
        doc = _convert(b"".join((view[:first], _EMPTY_IDAT, view[last:end])), rotation)
    except Exception:  # noqa: BLE001 - the whole PNG is converted instead, as before
        return None
    try:
        pages = doc.pages
        xobjects = pages[0].obj.Resources.XObject if len(pages) == 1 else None
        names = list(xobjects.keys()) if isinstance(xobjects, pikepdf.Dictionary) else []
        image = xobjects[names[0]] if len(names) == 1 else None
        if (not isinstance(image, pikepdf.Stream) or image.get("/Subtype") != pikepdf.Name.Image
                or image.get("/Filter") != pikepdf.Name.FlateDecode or image.read_raw_bytes() != b""):
            doc.close()  # not the passed-through PNG img2pdf makes of a plain one
            return None
    except Exception:  # noqa: BLE001
        doc.close()
        return None
    if not spill.add(pages[0].obj, names[0], [view[a:b] for a, b in bodies]):
        doc.close()
        return None
    return doc


def _convert(data: bytes, rotation) -> pikepdf.Pdf:
    # One page per image, as the plan counts it: an MPO or animated PNG keeps its first frame.
    # Made straight into a pikepdf document (not written out and parsed again): the image data is
    # held once, until the pièce is saved.
    return img2pdf.convert_to_docobject(data, layout_fun=_square_layout, nodate=True, rotation=rotation,
                                        first_frame_only=True, engine=img2pdf.Engine.pikepdf).writer


def image_pages(src: SourceInfo, dpi_cap: int | None = None, spill=None) -> pikepdf.Pdf:
    """The page of an image source. With ``spill`` (``imagedata.ImageData``), a PNG passed
    through as it is leaves its image data there rather than in memory."""
    data = source_bytes(src)
    jpeg = data[:2] == b"\xff\xd8"
    meta = pngmeta.read(data) if src.kind == "png" else None
    if meta is not None:
        # Decoded as check decoded it: without text chunks, nor an ICC profile Pillow refuses.
        data = pngmeta.for_decoding(data)
    orientation = meta.orientation if meta else jpeg_orientation(data) if jpeg else 1
    again = bool(dpi_cap) or orientation in MIRRORED or bool(meta and (meta.has_alpha or not _idat_fits(src, data)))
    # A quarter turn is the page's rotation (the image data is kept as it is); img2pdf is never
    # asked to read the EXIF itself (it decodes a whole PNG for that).
    rotation = img2pdf.Rotation.none if again else _EXIF_ROTATION.get(orientation, img2pdf.Rotation.none)
    # Pillow's and img2pdf's English notes are kept off the screen by the CLI (cli.quiet_loggers).
    try:
        if again:
            flat = _reencoded(data, dpi_cap, photo=jpeg)
        elif jpeg:
            # EXIF, GPS, XMP and comments are dropped (segments only, the image data is not re-encoded).
            flat = sanitize.strip_jpeg(data)
        else:
            deferred = _deferred(data, rotation, spill) if spill is not None else None
            if deferred is not None:
                return deferred
            flat = _png_until_iend(data)
        try:
            out = _convert(flat, rotation)
        except Exception:  # noqa: BLE001 - a structure img2pdf cannot copy (an ICC profile after
            if again:      # the frame header…): the decoded pixels, as check decoded them
                raise
            out = _convert(_reencoded(data, None, photo=jpeg), img2pdf.Rotation.none)
    except FileProblem:
        raise
    except Exception:  # noqa: BLE001 - img2pdf and Pillow signal odd images with many types
        raise FileProblem(f"« {src.written} » : image impossible à mettre en page (structure que refere ne sait "
                          "pas lire, format non pris en charge) ; réenregistrez-la en PNG") from None
    return out
