"""Open each source file once: is it readable, how many pages, its SHA-256."""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image

from . import files, repair
from .errors import FileProblem

# A phone screenshot is ~3 Mpx, a 600 dpi A4 scan ~35 Mpx: beyond this it is an attack or a
# mistake, and decoding it would exhaust memory.
MAX_PIXELS = 60_000_000


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    written: str
    kind: str
    pages: int
    sha256: str
    size: int
    # PDFs only: qpdf's structure check, and whether its recovery makes the file whole.
    etat: repair.Diagnosis = repair.Diagnosis()


def _image_pages(path: Path, written: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise FileProblem(
                        f"« {written} » : image démesurée ({w} × {h} pixels) ; "
                        "réduisez-la (une capture d'écran fait environ 1080 × 2400)"
                    )
                img.verify()
        except FileProblem:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise FileProblem(f"« {written} » : image démesurée, refusée pour protéger la mémoire") from None
        except Exception as exc:
            raise FileProblem(f"« {written} » : image endommagée ou tronquée ({type(exc).__name__})") from None
    return 1


def pdf_open(path: Path, written: str) -> pikepdf.Pdf:
    """Open a PDF, owner-password-only encryption included; French errors otherwise."""
    try:
        return pikepdf.open(path)
    except pikepdf.PasswordError:
        raise FileProblem(
            f"« {written} » : ce PDF est protégé par un mot de passe ; "
            "ouvrez-le et réenregistrez-le sans protection (« Imprimer » → « Enregistrer en PDF »)"
        ) from None
    except pikepdf.PdfError as exc:
        raise FileProblem(f"« {written} » : PDF endommagé ou tronqué ({str(exc).splitlines()[0][:120]})") from None


def _pdf_pages(path: Path, written: str) -> tuple[int, repair.Diagnosis]:
    with pdf_open(path, written) as pdf:
        try:
            n = len(pdf.pages)
        except pikepdf.PdfError:
            n = 0
        if n == 0:
            raise FileProblem(f"« {written} » : PDF sans aucune page lisible")
        return n, repair.diagnose(pdf)


@functools.lru_cache(maxsize=4096)
def _probe(path: Path, written: str, kind: str, mtime_ns: int, size: int) -> SourceInfo:
    # mtime_ns and size are only part of the cache key: a file changed since is probed again.
    if kind == "pdf":
        pages, etat = _pdf_pages(path, written)
        return SourceInfo(path, written, kind, pages, files.sha256(path), size, etat)
    pages = _image_pages(path, written)
    return SourceInfo(path, written, kind, pages, files.sha256(path), size)


def probe(source) -> SourceInfo:
    """``source`` is a model.Source. Cached by path and modification time."""
    st = source.path.stat()
    return _probe(source.path, source.written, source.kind, st.st_mtime_ns, st.st_size)
