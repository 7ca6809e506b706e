"""The checks a source PDF passes before it is filed: pages the stamping can handle, streams
that do not inflate beyond reason. (Split from probe so that only what opens a PDF imports
pikepdf.)"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import zlib
from binascii import Error as binascii_error
from decimal import Decimal
from pathlib import Path
from zlib import error as zlib_error

import pikepdf

from refere.errors import FileProblem
from refere.pieces import repair

# qpdf's repair notes (« Pages tree includes non-dictionary object… ») are English noise to the
# user: what matters is reported in French, or the file is used as qpdf repaired it.
logging.getLogger("pikepdf._core").setLevel(logging.ERROR)

# A pièce is a letter or a scanned document; a source of thousands of pages is a mistake or an
# attack, and every page is stamped and copied.
MAX_PDF_PAGES = 2_000
# Filters applied one over another: real producers use one (sometimes two); more is a bomb.
MAX_FILTERS = 2

_STREAM = re.compile(rb"(?<!end)stream\r?\n")


def packed_objects_bomb(data: bytes) -> bool:
    """Whether an object or cross-reference stream inflates beyond reason.

    qpdf inflates those whole, in memory, as soon as it resolves an object they hold; a few
    megabytes of zeros would take gigabytes. So they are measured first, chunk by chunk.
    """
    for m in _STREAM.finditer(data):
        head = data[max(0, m.start() - 1024):m.start()]
        head = head[head.rfind(b"obj") + 1:]
        if (b"/ObjStm" in head or b"/XRef" in head) and (b"/FlateDecode" in head or b"/Fl" in head):
            if _inflated_size(memoryview(data)[m.end():], MAX_PACKED) > MAX_PACKED:
                return True
    return False


def pdf_open(source: bytes | Path, written: str) -> pikepdf.Pdf:
    """Open a PDF, owner-password-only encryption included; French errors otherwise."""
    if isinstance(source, bytes) and packed_objects_bomb(source):
        raise FileProblem(f"« {written} » : PDF dont les objets compressés se décompressent en plus de "
                          f"{MAX_PACKED // 1_000_000} Mo, refusé pour protéger la mémoire ; "
                          "réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")
    try:
        return pikepdf.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except pikepdf.PasswordError:
        raise FileProblem(
            f"« {written} » : ce PDF est protégé par un mot de passe ; "
            "ouvrez-le et réenregistrez-le sans protection (« Imprimer » → « Enregistrer en PDF »)"
        ) from None
    except (pikepdf.PdfError, RuntimeError, ValueError) as exc:
        raise FileProblem(f"« {written} » : PDF endommagé ou tronqué ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})") from None


def _page_problem(page: pikepdf.Page) -> str | None:
    """What the stamping could not handle on this page, in French, or None."""
    obj = page.obj
    rotate = obj.get("/Rotate", 0)
    if not _is_number(rotate) or not abs(rotate) < 1e9:
        return "rotation (/Rotate) qui n'est pas un nombre"
    if int(rotate) % 90 != 0:
        return f"rotation (/Rotate) de {int(rotate)}°, pas un multiple de 90"
    box = obj.get("/CropBox") or obj.get("/MediaBox")
    if box is None:
        try:
            box = page.mediabox  # inherited from the page tree
        except Exception:  # noqa: BLE001
            box = None
    if not isinstance(box, pikepdf.Array) or len(box) != 4 or not all(_is_number(v) for v in box):
        return "format de page (/MediaBox) absent ou illisible"
    x0, y0, x1, y1 = (float(v) for v in box)
    if abs(x1 - x0) < 1 or abs(y1 - y0) < 1:
        return "page de taille nulle (/MediaBox)"
    if max(abs(x0), abs(y0), abs(x1), abs(y1)) > 1e6:
        return "format de page (/MediaBox) démesuré"
    resources = obj.get("/Resources")
    if resources is not None:
        if not isinstance(resources, pikepdf.Dictionary):
            return "ressources de la page (/Resources) qui ne sont pas un dictionnaire"
        fonts = resources.get("/Font")
        if fonts is not None and not isinstance(fonts, pikepdf.Dictionary):
            return "polices de la page (/Font) qui ne sont pas un dictionnaire"
    return None


def _is_number(value) -> bool:
    # pikepdf gives PDF integers as int and reals as Decimal; a bool is not a number here.
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


# Filters that qpdf decodes when it writes the pièce (it recompresses them as Flate); Flate alone
# and image codecs are copied as they are. Each with the most one input byte can inflate to.
_REDECODED = {"/ASCIIHexDecode": 1, "/AHx": 1, "/ASCII85Decode": 4, "/A85": 4, "/RunLengthDecode": 64,
              "/RL": 64, "/LZWDecode": 4096, "/LZW": 4096, "/FlateDecode": 1032, "/Fl": 1032}
_COPIED = {"/FlateDecode", "/Fl", "/DCTDecode", "/DCT", "/JPXDecode", "/CCITTFaxDecode", "/CCF",
           "/JBIG2Decode", "/Crypt"}
MAX_DECODED = 256_000_000  # bytes one stream may inflate to when the pièce is written
MAX_PACKED = 64_000_000  # bytes of objects packed in one object stream (real ones: a few MB)


def _stream_problem(stream: pikepdf.Stream) -> str | None:
    """Whether writing this stream would inflate it beyond reason, in French, or None."""
    filt = stream.get("/Filter")
    names = [str(f) for f in filt] if isinstance(filt, pikepdf.Array) else [str(filt)] if filt is not None else []
    if len(names) > MAX_FILTERS:
        return f"flux compressé {len(names)} fois ({MAX_FILTERS} au plus)"
    if all(n in _COPIED for n in names):
        return None
    if any(n not in _REDECODED and n not in _COPIED for n in names):
        return None  # unknown to qpdf too: copied as it is
    bound = len(stream.read_raw_bytes())
    for n in names:
        bound *= _REDECODED.get(n, 1)
    if bound <= MAX_DECODED:
        return None
    size = _bounded_decode(stream.read_raw_bytes(), names)
    if size is None or size > MAX_DECODED:
        return f"flux compressé qui se décompresse en plus de {MAX_DECODED // 1_000_000} Mo"
    return None


def _bounded_decode(raw: bytes, names: list[str]) -> int | None:
    """Decoded size, never inflating more than MAX_DECODED + 1 bytes; None when it cannot be told."""
    data = raw
    for i, n in enumerate(names):
        if n in ("/ASCIIHexDecode", "/AHx"):
            hexa = re.sub(rb"\s", b"", data.split(b">")[0])
            data = binascii.a2b_hex(hexa + b"0" * (len(hexa) % 2))
        elif n in ("/ASCII85Decode", "/A85"):
            body = data.split(b"~>")[0]
            if body.count(b"z") * 4 > MAX_DECODED:
                return None
            data = base64.a85decode(re.sub(rb"\s", b"", body))
        elif n in ("/FlateDecode", "/Fl") and i == len(names) - 1:
            return _inflated_size(data)  # counted chunk by chunk, never held
        elif n in ("/FlateDecode", "/Fl"):
            data = zlib.decompressobj().decompress(data, MAX_DECODED + 1)
        else:
            return None  # RunLength or LZW over the bound: refused, too rare in real scans to matter
        if len(data) > MAX_DECODED:
            return len(data)
    return len(data)


def _inflated_size(data, limit: int = MAX_DECODED) -> int:
    """Inflated size of zlib data (stops at its end, or just past ``limit``), nothing held."""
    inflater, total, view, pos = zlib.decompressobj(), 0, memoryview(data), 0
    try:
        while pos < len(view) and total <= limit and not inflater.eof:
            total += len(inflater.decompress(view[pos:pos + 65536], 1 << 20))
            pos += 65536
            while inflater.unconsumed_tail and total <= limit:
                total += len(inflater.decompress(inflater.unconsumed_tail, 1 << 20))
    except zlib.error:
        pass  # damaged or encrypted: qpdf will say so, or decrypt a stream we cannot measure
    return total


def _streams_problem(pdf: pikepdf.Pdf) -> str | None:
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and (problem := _stream_problem(obj)) is not None:
            return problem
    return None


def _pdf_pages(data: bytes, written: str) -> tuple[int, repair.Diagnosis]:
    with pdf_open(data, written) as pdf:
        try:
            n = len(pdf.pages)
        except (pikepdf.PdfError, RuntimeError):
            n = 0
        if n == 0:
            raise FileProblem(f"« {written} » : PDF sans aucune page lisible")
        if n > MAX_PDF_PAGES:
            raise FileProblem(f"« {written} » : {n} pages, c'est trop pour une pièce ({MAX_PDF_PAGES} au plus) ; "
                              "ne gardez que les pages utiles")
        try:
            if (problem := _streams_problem(pdf)) is not None:
                raise FileProblem(f"« {written} » : {problem}, refusé pour protéger la mémoire ; "
                                  "réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")
            for k, page in enumerate(pdf.pages, start=1):
                if (problem := _page_problem(page)) is not None:
                    raise FileProblem(f"« {written} », page {k} : {problem} ; "
                                      "réenregistrez le PDF (« Imprimer » → « Enregistrer en PDF »)")
        except (pikepdf.PdfError, RuntimeError, ValueError, TypeError, zlib_error, binascii_error):
            raise FileProblem(f"« {written} » : PDF endommagé (un objet ou un flux illisible)") from None
        return n, repair.diagnose(pdf)
