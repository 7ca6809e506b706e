"""Whose name the identity and titre pièces bear, compared with the applicant's.

The text of a PDF pièce is its text layer (PDFium); a scan without one, or an image, is read by
Tesseract like the captures (``lecture.ocr_image``, cached the same way, by SHA-256, in the
user's cache). A warning only when the applicant's name is nowhere and another name is there
(« NOM : NGUYEN », a passport's machine-readable line « P<FRANGUYEN<<… »): a pièce that is
merely hard to read says nothing.
"""

from __future__ import annotations

import re
import sys

from refere import isolee, signals
from refere.preuves import lecture
from refere.preuves.ecran import TEXT_MAX, normalise
from refere.preuves.findings import AVERTISSEMENT, PRACTICE, Finding

CATEGORIES = ("identite", "titre_sejour")
# « NOM : DIALLO », « Nom / Surname DIALLO », « Nom(s) DIALLO »: the label, then an upper-case name.
_LABEL = re.compile(r"(?i:\bnoms?\b|\bnom\(s\)|\bsurname\b)(?:\s*/\s*(?i:surname|name))?\s*[:.]?\s*([A-Z][A-Z'-]{1,30})")
_MRZ = re.compile(r"\b[PIAC][A-Z<][A-Z<]{3}([A-Z]{2,30})<<")
_NOT_NAMES = {"nom", "noms", "prenom", "prenoms", "surname", "name", "given", "usage", "epouse", "ne", "nee",
              "de", "du", "le", "la", "sexe", "sex", "date", "lieu", "nationalite"}
_texts: dict[str, str] = {}  # text layers already extracted in this process, by SHA-256
_KEPT = 256


def _pdf_text(data: bytes) -> str:
    """The text layer of the first two pages (run in a child process: see ``_text``)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        parts = []
        for i in range(min(len(pdf), 2)):
            page = pdf[i]
            parts.append(page.get_textpage().get_text_range()[:TEXT_MAX])
            page.close()
        return "\n".join(parts)
    finally:
        pdf.close()


def _text(src) -> str:
    from refere.pieces.probe import probe, source_bytes

    sha = probe(src).sha256
    cached = lecture.cache_get(sha)
    if isinstance(cached, str):
        return ""  # a reading that failed before (too long, too much memory): not tried again
    if src.kind == "pdf":
        text = _texts.get(sha)
        if text is None:
            # PDFium in a child process, bounded in time and memory: a page of nested forms can
            # make it allocate without end (even under ``cached_only``, for the web list).
            try:
                text = isolee.run(_pdf_text, source_bytes(src), seconds=lecture.TIMEOUT, stop=signals.stopping)
            except isolee.Stopped as exc:
                return _stopped(sha, exc)
            except Exception:  # noqa: BLE001 - the rules already say when a PDF is damaged
                text = ""
            if len(_texts) >= _KEPT:
                _texts.clear()
            _texts[sha] = text
        if len(normalise(text)) >= 20:
            return text
    if isinstance(cached, lecture.Ocr):
        return cached.texte
    if lecture._ONLY_CACHED.get():
        return ""  # a reading that must not be made now (the web list)
    try:
        ocr = lecture.ocr_image(src.path, src.kind, stop=signals.stopping, sha256=sha)
    except isolee.Stopped as exc:
        return _stopped(sha, exc)
    except lecture.Changed:
        return ""  # replaced since its check: nothing said, nothing remembered
    except Exception:  # noqa: BLE001 - not read: nothing to say
        return ""
    lecture.cache_put(sha, ocr)
    return ocr.texte


def _stopped(sha: str, exc: isolee.Stopped) -> str:
    """No text: the reading's child was killed. Too long or too much memory is remembered, under
    the SHA-256 of these bytes only (never said of another file); a stop (SIGTERM) or a kill from
    outside (« tue ») is not."""
    if exc.reason not in ("arret", "tue") and not signals.stopping() and not sys.is_finalizing():
        lecture.cache_put(sha, exc.reason)  # a stopping command's dead child is not the file's fault
    return ""


def other_name(text: str, nom: str) -> str | None:
    """Another person's name on the pièce, when the applicant's is nowhere on it; else None."""
    from rapidfuzz import fuzz

    text = text[:TEXT_MAX]
    flat, target = normalise(text), normalise(nom)
    if not target or not flat or fuzz.partial_ratio(target, flat) >= 90:
        return None
    for rx in (_MRZ, _LABEL):
        for m in rx.finditer(text):
            name = m[1].strip("'-")
            if len(name) >= 2 and normalise(name) not in _NOT_NAMES and fuzz.ratio(normalise(name), target) < 80:
                return name
    return None


def findings(case) -> list[Finding]:
    """A warning for each identity or titre pièce that seems to bear another person's name."""
    # Under cached_only() (the web list), what `refere check` already read is used, nothing is read:
    # the list counts the same warnings as the check once the pièces were read.
    if not lecture.enabled() or (not lecture._ONLY_CACHED.get() and lecture.tesseract_missing()):
        return []
    from refere.errors import FileProblem

    out: list[Finding] = []
    who = " ".join(x for x in (case.requerant.civilite, case.requerant.nom.upper()) if x)
    for i, piece in enumerate(case.pieces):
        if piece.categorie not in CATEGORIES:
            continue
        for src in piece.sources:
            try:
                name = other_name(_text(src), case.requerant.nom)
            except FileProblem:
                continue
            if name:
                out.append(Finding(
                    "piece-autre-nom", AVERTISSEMENT,
                    f"La pièce « {piece.titre} » (« {src.written} ») semble au nom de {name}, pas de {who} : "
                    "vérifiez que c'est bien la pièce du demandeur.", PRACTICE, f"pieces[{i}]"))
                break
    return out
