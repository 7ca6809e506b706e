"""Source files: confinement to the case folder, type judged by content, hashing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import os_reason

# Formats people bring from their phones, with how to convert them.
_OTHER_FORMATS = [
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
]
_HINT = "convertissez-le en PNG, JPEG ou PDF (par exemple en l'ouvrant puis en faisant une capture, ou avec « Exporter » / « Enregistrer sous »)"


class FileKindError(ValueError):
    pass


def sniff(head: bytes) -> str | None:
    """'png', 'jpeg', 'pdf' from the first bytes, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    # PDF readers accept a header within the first kilobyte.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return None


def describe_unsupported(head: bytes) -> str:
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim", b"heis"):
            return f"format HEIC (photo d'iPhone) non accepté : {_HINT}"
        if brand == b"avif":
            return f"format AVIF non accepté : {_HINT}"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return f"format WEBP non accepté : {_HINT}"
    for magic, name in _OTHER_FORMATS:
        if head.startswith(magic):
            return f"format {name} non accepté : {_HINT}"
    if head.startswith(b"PK\x03\x04"):
        return "c'est une archive ou un document bureautique (ZIP, DOCX…), pas une image ni un PDF : exportez-le en PDF"
    return "ce n'est ni une image PNG ou JPEG ni un PDF (le contenu du fichier ne correspond à aucun de ces formats)"


def resolve_inside(base: Path, written: str) -> Path:
    """Resolve a path written in the case file; refuse anything that leads out of ``base``."""
    if not written or not written.strip():
        raise FileKindError("chemin vide")
    if "\x00" in written:
        raise FileKindError("chemin invalide (caractère nul)")
    p = Path(written)
    if p.is_absolute() or written.startswith(("/", "\\")) or (len(written) > 1 and written[1] == ":"):
        raise FileKindError(
            f"chemin absolu « {written} » refusé : écrivez un chemin relatif au dossier du fichier "
            "(par exemple captures/capture1.png)"
        )
    if ".." in Path(written.replace("\\", "/")).parts:
        raise FileKindError(f"chemin « {written} » refusé : « .. » sortirait du dossier de l'affaire")
    base_real = Path(os.path.realpath(base))
    full = base / p
    real = Path(os.path.realpath(full))
    if real != base_real and base_real not in real.parents:
        raise FileKindError(
            f"chemin « {written} » refusé : c'est un lien qui mène hors du dossier de l'affaire"
        )
    return full


def check_source(base: Path, written: str) -> tuple[Path, str]:
    """Confine, check existence and kind; return the path and its kind ('png'|'jpeg'|'pdf')."""
    full = resolve_inside(base, written)
    if not full.exists():
        raise FileKindError(f"fichier introuvable « {written} » (cherché dans {base})")
    if full.is_dir():
        raise FileKindError(f"« {written} » est un dossier, pas un fichier")
    try:
        with open(full, "rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise FileKindError(f"fichier illisible « {written} » ({os_reason(exc)})") from None
    if not head:
        raise FileKindError(f"fichier vide « {written} » (0 octet)")
    kind = sniff(head)
    if kind is None:
        raise FileKindError(f"« {written} » : {describe_unsupported(head)}")
    return full, kind


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
