"""Is a source PDF damaged, and does qpdf's own recovery make it whole?

qpdf's structure check (``Pdf.check_pdf_syntax``, the equivalent of ``qpdf --check``) speaks
English and names absolute paths: its findings are turned into a few French labels here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

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


def _problems(pdf: pikepdf.Pdf) -> list[str]:
    try:
        return pdf.check_pdf_syntax()
    except pikepdf.PdfError as exc:
        return [str(exc)]


def diagnose(pdf: pikepdf.Pdf) -> Diagnosis:
    """Check ``pdf``; when damaged, try a rewrite through qpdf and check that rewrite."""
    problems = _problems(pdf)
    if not problems:
        return Diagnosis()
    found = labels(problems)
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
