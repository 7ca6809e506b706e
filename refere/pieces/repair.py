"""Is a source PDF damaged, and does qpdf's own recovery make it whole?

qpdf reports what it had to recover while reading (a broken cross-reference table is rebuilt);
stream data is checked here with a bounded decoder. qpdf speaks English and names absolute
paths: its findings are turned into a few French labels here.
"""

from __future__ import annotations

import base64
import binascii
import io
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pikepdf

INTACT = "intact"
REPAIRED = "reparee"
DAMAGED = "endommagee"

# (words in qpdf's message, French label); the first match wins.
_KINDS = (
    (("inflate", "decoding stream", "while decoding", "decode", "filter", "lzw", "dct", "output may still be valid",
      "re-processed without filtering"), "flux de données compressé illisible"),
    (("content stream", "(content", "while reading token", "while reading object", "unexpected"),
     "contenu de page mal formé"),
    (("xref", "cross-reference", "reconstruct", "startxref", "trailer", "damaged", "offset"),
     "table des objets (xref) endommagée"),
)
_OTHER = "structure interne endommagée"


@dataclass(frozen=True)
class Diagnosis:
    etat: str = INTACT
    defauts: tuple[str, ...] = ()


def labels(problems: list[str]) -> tuple[str, ...]:
    """French labels, each once, in a stable order."""
    found = []
    for p in problems:
        low = p.lower()
        label = next((fr for words, fr in _KINDS if any(w in low for w in words)), _OTHER)
        if label not in found:
            found.append(label)
    return tuple(sorted(found))


# Decoding is bounded: a few MB of compressed zeros must not cost minutes (qpdf's own check
# decodes every stream in full, unbounded). Past the budget a stream counts as unverified, not damaged.
BUDGET = 32 * 1024 * 1024
_CHUNK = 1 << 20
_TEXT_FILTERS = {"/ASCIIHexDecode", "/AHx", "/ASCII85Decode", "/A85"}


def _inflate(data: bytes, budget: list[int], keep: bool) -> bytes | None:
    """Decode Flate data within ``budget``; None when the budget runs out. Raises zlib.error.
    The output is kept only when another filter needs it."""
    d = zlib.decompressobj()
    out = []
    while data:
        chunk = d.decompress(data, _CHUNK)
        budget[0] -= len(chunk)
        if budget[0] < 0:
            return None
        if keep:
            out.append(chunk)
        data = d.unconsumed_tail
        if d.eof:
            break
    if not d.eof:
        raise zlib.error("truncated")
    return b"".join(out)


def _text_decode(kind: str, data: bytes) -> bytes:
    if kind in ("/ASCIIHexDecode", "/AHx"):
        data = bytes(c for c in data if c not in b" \t\r\n\f\0").split(b">")[0]
        return binascii.unhexlify(data + b"0" * (len(data) % 2))
    data = bytes(c for c in data if c not in b" \t\r\n\f\0")
    data = data[2:] if data.startswith(b"<~") else data
    return base64.a85decode(data.split(b"~>")[0], adobe=False)


def _stream_ok(stream: pikepdf.Stream, budget: list[int]) -> bool:
    """Can this stream's Flate/ASCII filters be undone? Other filters (images, LZW) are not checked."""
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)] if filters else []
    if not names or any(n not in _TEXT_FILTERS | {"/FlateDecode", "/Fl"} for n in names):
        return True
    try:
        data = stream.read_raw_bytes()
        for k, name in enumerate(names):
            if name in _TEXT_FILTERS:
                data = _text_decode(name, data)
            else:
                data = _inflate(data, budget, keep=k < len(names) - 1)
                if data is None:
                    return True
    except (ValueError, zlib.error, binascii.Error):
        return False
    return True


def _problems(pdf: pikepdf.Pdf) -> list[str]:
    """qpdf's warnings while reading every object, and our own bounded check of every stream."""
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    problems = []
    budget = [BUDGET]
    try:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and not _stream_ok(obj, budget):
                problems.append("inflate: stream data")
    except pikepdf.PdfError as exc:
        problems.append(str(exc))
    return pdf.get_warnings() + problems


def diagnose(pdf: pikepdf.Pdf) -> Diagnosis:
    """Check ``pdf``; when damaged, try a rewrite through qpdf and check that rewrite."""
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    problems = _problems(pdf)
    if not problems:
        return Diagnosis()
    found = labels(problems)
    if any("inflate" in p for p in problems):
        # Data that cannot be decoded stays so whatever rewrites it.
        return Diagnosis(DAMAGED, found)
    try:
        buf = io.BytesIO()
        pdf.save(buf)
        with pikepdf.open(buf) as again:
            left = _problems(again)
    except pikepdf.PdfError as exc:
        left = [str(exc)]
    if not left:
        return Diagnosis(REPAIRED, found)
    return Diagnosis(DAMAGED, labels(left))


def describe(written: str, diag: Diagnosis) -> str:
    what = " ; ".join(diag.defauts)
    if diag.etat == REPAIRED:
        return (f"pièce réparée : « {written} » ({what}) ; la copie produite est reconstruite et saine, "
                "vérifiez qu'elle montre tout ce que montre l'original.")
    return (f"pièce endommagée : « {written} » ({what}) ; la réparation automatique n'a pas suffi, "
            "un lecteur peut n'en afficher qu'une partie. Réenregistrez-la depuis son logiciel d'origine "
            "(« Imprimer » → « Enregistrer en PDF ») si possible.")
