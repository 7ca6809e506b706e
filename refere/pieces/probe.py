"""Open each source file once: is it readable, how many pages, its SHA-256.

Images are fully decoded here (once per build, cached), so that a truncated or garbage image is
refused before it is filed; the PDF pages are checked for values the stamping relies on.
"""

from __future__ import annotations

import base64
import dataclasses
import binascii
import functools
import io
import logging
import os
from concurrent.futures import ThreadPoolExecutor
import re
import zlib
import warnings
from binascii import Error as binascii_error
from decimal import Decimal
from zlib import error as zlib_error
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from PIL import Image, ImageFile

from refere import files
from refere.pieces import repair
from refere.errors import FileProblem

# A phone screenshot is ~3 Mpx, a 600 dpi A4 scan ~35 Mpx: beyond this it is an attack or a
# mistake, and decoding it would exhaust memory.
MAX_PIXELS = 60_000_000
# A pièce is a letter or a scanned document; a source of thousands of pages is a mistake or an
# attack, and every page is stamped and copied.
MAX_PDF_PAGES = 2_000
# Filters applied one over another: real producers use one (sometimes two); more is a bomb.
MAX_FILTERS = 2
# Scans of one JPEG: a progressive photo has about ten; each scan makes Pillow re-walk the whole
# image, so thousands of tiny scans take minutes to decode.
MAX_JPEG_SCANS = 100

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False
# qpdf's repair notes (« Pages tree includes non-dictionary object… ») are English noise to the
# user: what matters is reported in French, or the file is used as qpdf repaired it.
logging.getLogger("pikepdf._core").setLevel(logging.ERROR)


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    written: str
    kind: str
    pages: int
    sha256: str
    size: int
    file: files.Checked | None = field(default=None, compare=False, repr=False)
    # PDFs only: qpdf's structure check, and whether its recovery makes the file whole.
    etat: repair.Diagnosis = repair.Diagnosis()


def source_bytes(src) -> bytes:
    """The verified bytes of a Source or SourceInfo: read confined, proved unchanged since checked."""
    if src.file is None:  # a Source made by hand (tools, tests): check it now
        return files.read_checked(_checked(src))
    return files.read_checked(src.file)


def _checked(source) -> files.Checked:
    """A source that was not checked with its case (an upload being received): checked now, and
    named in messages as the person knows it."""
    try:
        checked = files.check_source(source.path.parent, source.path.name)
    except files.FileKindError as exc:
        raise FileProblem(str(exc).replace(source.path.name, source.written)) from None
    return dataclasses.replace(checked, written=source.written)


def _image_pages(data: bytes, written: str) -> int:
    # In entropy-coded data 0xFF is always followed by 0x00 or RSTn: 0xFF 0xDA only starts a scan
    # (or sits in metadata, which can only overcount).
    if data[:2] == b"\xff\xd8" and (scans := data.count(b"\xff\xda")) > MAX_JPEG_SCANS:
        raise FileProblem(f"« {written} » : image JPEG en {scans} passes (au plus {MAX_JPEG_SCANS}) ; "
                          "refusée, son décodage serait démesuré ; réenregistrez-la en JPEG ordinaire ou en PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                w, h = img.size
                if w * h > MAX_PIXELS or w <= 0 or h <= 0:
                    raise FileProblem(
                        f"« {written} » : image démesurée ({w} × {h} pixels) ; "
                        "réduisez-la (une capture d'écran fait environ 1080 × 2400)"
                    )
                # Decode every pixel of the first frame (the one filed): a truncated or garbage
                # image fails here, not as a half-blank page in the court's copy.
                img.load()
        except FileProblem:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise FileProblem(f"« {written} » : image démesurée, refusée pour protéger la mémoire") from None
        except Exception:  # noqa: BLE001 - Pillow signals bad data with many types
            raise FileProblem(
                f"« {written} » : image endommagée ou tronquée, ses pixels ne se lisent pas en entier ; "
                "refaites la capture ou réenregistrez-la") from None
    return 1


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


@functools.lru_cache(maxsize=4096)
def _probe(checked: files.Checked) -> SourceInfo:
    # Keyed by the checked file, its SHA-256 included: a file changed since is probed again.
    if checked.kind != "pdf" and (pages := _decoded_before(checked.sha256)) is not None:
        return SourceInfo(checked.path, checked.written, checked.kind, pages, checked.sha256, checked.size, checked)
    data = files.read_checked(checked)
    if checked.kind == "pdf":
        pages, etat = _pdf_pages(data, checked.written)
        return SourceInfo(checked.path, checked.written, checked.kind, pages, checked.sha256, checked.size, checked, etat)
    pages = _image_pages(data, checked.written)
    _remember_decoded(checked.sha256, pages)
    return SourceInfo(checked.path, checked.written, checked.kind, pages, checked.sha256, checked.size, checked)


# Images whose every pixel decoded, by SHA-256, in the user's own cache: a second check of the
# same captures decodes nothing. Never in the case folder, which a hostile case could pre-seed;
# the content hash makes an entry true of exactly those bytes.
def decode_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    from PIL import __version__ as pillow
    return Path(base) / "refere" / f"images-decodees-{pillow}-{MAX_PIXELS}"


def _decoded_before(sha256: str) -> int | None:
    try:
        text = (decode_cache() / sha256).read_text("ascii")
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() and 0 < int(text) < 10_000 else None


def _remember_decoded(sha256: str, pages: int) -> None:
    remember(decode_cache() / sha256, str(pages))


def remember(entry: Path, text: str) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.parent / f".{entry.name}.{os.getpid()}.part"
        tmp.write_text(text, "utf-8")
        os.replace(tmp, entry)
    except OSError:
        pass  # a cache that cannot be written only costs time


def probe(source) -> SourceInfo:
    """``source`` is a model.Source, checked when the case was loaded."""
    return _probe(source.file if source.file is not None else _checked(source))


def prefetch(sources) -> None:
    """Probe many sources at once on every core, filling the cache ``probe`` then reads.

    Decoding every pixel of 120 screenshots is most of ``check``: Pillow's decoders and hashlib
    release the GIL, so threads use both cores without copying images between processes. A
    refused file is left for ``probe`` to report, in the order the case lists it.
    """
    todo = list(dict.fromkeys(s.file for s in sources if s is not None and s.file is not None))
    if len(todo) < 2:
        return

    def one(checked: files.Checked) -> None:
        try:
            _probe(checked)
        except FileProblem:
            pass

    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, len(todo), 4)) as pool:
        list(pool.map(one, todo))
