"""The requête: a docxtpl context from the case and the inventory, rendered into Word."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate

from . import dates, docxzip, grammaire, redaction, templating
from .errors import TemplateError, ToolMissing
from .evidence import Report
from .model import Case
from .plan import Inventory

TEMPLATE_NAME = "requete-refere-mesures-utiles.docx"


def default_template() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates" / TEMPLATE_NAME, here / "templates" / TEMPLATE_NAME):
        if candidate.is_file():
            return candidate
    raise TemplateError(f"modèle intégré introuvable ({TEMPLATE_NAME}) : réinstallez refere")


# --- French wording -------------------------------------------------------------------------

def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _gender(civilite: str | None) -> dict[str, str]:
    """Kept for callers of the first release; every form now comes from grammaire."""
    return grammaire.requerant(civilite)


_cap = grammaire.cap


def town_of(address: str) -> str | None:
    """The town after the postcode, on its own line or after a comma (« 12 rue X, 93200 Saint-Denis »)."""
    parts = [part for line in address.strip().splitlines() for part in line.split(",")]
    for part in reversed(parts):
        if m := re.match(r"^\s*(?:F-)?\d{5}\s+(.+?)\s*(?:cedex.*)?$", part, re.IGNORECASE):
            return m[1].strip()
    return None


def figures_sentence(le_requerant: str, inv: Inventory, report: Report, anef: bool = False) -> str:
    f = report.figures
    first, last = inv.attempts[0].date.date(), inv.attempts[-1].date.date()
    span = f"le {dates.format_date(first)}" if first == last else f"du {dates.format_date(first)} au {dates.format_date(last)}"
    what = _plural(f.tentatives, "tentative de dépôt", "tentatives de dépôt") if anef else _plural(f.tentatives, "tentative")
    return (
        f"{_cap(le_requerant)} a effectué {what} {span}, "
        f"sur {_plural(f.semaines, 'semaine distincte', 'semaines distinctes')} et {_plural(f.jours, 'jour')}, "
        f"dont {f.avant_9h} avant 9 h et {f.autour_minuit} autour de minuit."
    )


def _lines(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").strip().splitlines() if x.strip()]


def _counsel(case: Case) -> dict[str, Any] | None:
    c = case.conseil
    if c is None:
        return None
    forms = grammaire.conseil(c.qualite, c.civilite, c.nom, c.barreau)
    address = _lines(c.adresse)
    parts = [forms["appellation"]]
    if c.toque:
        parts.append(f"toque {c.toque}")
    if address:
        parts.append(", ".join(address))
    if c.telephone:
        parts.append(f"téléphone : {c.telephone}")
    if c.courriel:
        parts.append(f"courriel : {c.courriel}")
    return {
        "qualite": c.qualite,
        "avocat": c.qualite == "avocat",
        "association": c.qualite == "association",
        "nom": c.nom,
        "barreau": c.barreau or "",
        "designation": ", ".join(parts),
        "toque": c.toque or "",
        "adresse": ", ".join(address),
        "adresse_lignes": address,
        "telephone": c.telephone or "",
        "courriel": c.courriel or "",
        "ville": c.ville or town_of(c.adresse or "") or "",
        "reference": c.reference or "",
        "il": "elle" if c.civilite == "Mme" else "il",
        **forms,
    }


def _aide(case: Case, g: dict[str, str]) -> dict[str, str]:
    status = case.aide_juridictionnelle or ""
    if status == "demandee":
        phrase = (f"{g['Le_requerant']} sollicite le bénéfice de l'aide juridictionnelle et, dans l'attente, "
                  "son admission provisoire (article 20 de la loi n° 91-647 du 10 juillet 1991).")
    elif status == "obtenue":
        phrase = (f"{g['Le_requerant']} est admis{g['accord']} au bénéfice de l'aide juridictionnelle "
                  f"({grammaire.strip_end(case.decision_aj or '')}).")
    else:
        phrase = ""
    return {"statut": status, "decision": case.decision_aj or "", "phrase": grammaire.typo(phrase)}


def _signature_place(case: Case, counsel: dict[str, Any] | None) -> str:
    # Unknown town: a visible blank to fill in by hand, never a guessed place.
    if case.signature.lieu:
        return case.signature.lieu
    if counsel and counsel["ville"]:
        return counsel["ville"]
    return town_of(case.requerant.adresse) or "…………"


def context(case: Case, inv: Inventory, report: Report, brouillon: bool = False) -> dict[str, Any]:
    r, proc = case.requerant, case.procedure
    g = grammaire.requerant(r.civilite)
    g["accord"] = g["e"]
    dep = case.departement
    dfd = grammaire.defendeur(dep)
    designation = " ".join(x for x in (r.civilite, r.prenoms, r.nom.upper()) if x)
    if r.nom_usage:
        designation += f" (nom d'usage : {r.nom_usage})"
    address_lines = _lines(r.adresse)
    sig_date = case.signature.date or dates.today()
    conseil = _counsel(case)
    tribunal_nom = case.tribunal.nom if case.tribunal else dep.tribunal
    tribunal_adresse = case.tribunal.adresse if case.tribunal and case.tribunal.adresse else ""
    d = case.demandes
    first_attempt = inv.attempts[0].date.date()
    return {
        "brouillon": brouillon,
        "tribunal": {
            "nom": tribunal_nom,
            "adresse_lignes": _lines(tribunal_adresse),
        },
        "requerant": {
            "civilite": r.civilite or "",
            "nom": r.nom.upper(),
            "prenoms": r.prenoms,
            "nom_usage": r.nom_usage or "",
            "designation": designation,
            "date_naissance": dates.format_date(r.date_naissance),
            "lieu_naissance": r.lieu_naissance,
            "naissance": grammaire.naissance(r.civilite, r.date_naissance, r.lieu_naissance),
            "nationalite": r.nationalite,
            "de_nationalite": grammaire.nationalite(r.nationalite),
            "adresse": ", ".join(address_lines),
            "adresse_lignes": address_lines,
            "telephone": r.telephone or "",
            "courriel": r.courriel or "",
            "numero_etranger": r.numero_etranger or "",
            "le_requerant": g["le_requerant"],
            "Le_requerant": g["Le_requerant"],
            "du_requerant": g["du_requerant"],
            "Du_requerant": g["Du_requerant"],
            "au_requerant": g["au_requerant"],
            "Au_requerant": g["Au_requerant"],
            "pour_requerant": g["pour_requerant"],
            "interesse": g["interesse"],
            "ne": g["ne"],
            "il": g["il"],
            "Il": g["Il"],
            "lui": g["lui"],
            "le_pronom": g["le"],
            "accord": g["accord"],
        },
        "conseil": conseil,
        "aide_juridictionnelle": _aide(case, g),
        "defendeur": {
            "nom": dep.prefet,
            "nom_capitalise": dep.prefet_titre,
            "au_nom": dfd["au_prefet"],
            "le_prefet": dfd["le_prefet"],
            "Le_prefet": dfd["Le_prefet"],
            "du_prefet": dfd["du_prefet"],
            "au_prefet": dfd["au_prefet"],
            "la_prefecture": dfd["la_prefecture"],
            "departement": dep.nom,
            "code": dep.code,
        },
        "procedure": {
            "type": proc.type,
            "voie": proc.voie,
            "anef": proc.is_anef,
            "libelle": proc.label,
            "demande": "sa " + grammaire.DEMANDES[proc.type],
            "renouvellement": proc.is_renewal,
            "titre_actuel": proc.titre_actuel or "",
            "expiration": dates.format_date(proc.expiration_titre) if proc.expiration_titre else "",
            "expiration_passee": bool(proc.expiration_titre and proc.expiration_titre < sig_date),
            # The template ends the sentence itself: « … CESEDA.. » otherwise.
            "precisions": (proc.precisions or "").rstrip(" .") or "",
            "oqtf": proc.oqtf,
            "fenetre": redaction.window_sentence(case, first_attempt, g),
        },
        "prefecture": {"site": case.prefecture.site or "", "url": case.prefecture.url_rendez_vous or ""},
        "chiffres": {
            "phrase": figures_sentence(g["le_requerant"], inv, report, proc.is_anef),
            "nombre": report.figures.tentatives,
            "tentatives_texte": _plural(report.figures.tentatives, "tentative"),
            "semaines_texte": _plural(report.figures.semaines, "semaine distincte", "semaines distinctes"),
            "semaines": report.figures.semaines,
            "jours": report.figures.jours,
            "avant_9h": report.figures.avant_9h,
            "autour_minuit": report.figures.autour_minuit,
            "premiere": dates.format_date(first_attempt),
            "derniere": dates.format_date(inv.attempts[-1].date.date()),
        },
        "tentatives": [
            {
                "numero": k,
                "date": grammaire.date_avec_jour(a.date.date()),
                "date_seule": dates.format_date(a.date.date()),
                "jour_semaine": grammaire.date_avec_jour(a.date.date()).split(" ")[0],
                "heure": dates.format_time(a.date),
                "resultat": a.resultat,
                "note": a.note or "",
                "piece": a.piece,
                "page": a.page,
                "preuve": f"pièce n°\u00a0{a.piece}, p.\u00a0{a.page}" if a.piece else "sans capture",
            }
            for k, a in enumerate(inv.attempts, start=1)
        ],
        "courriers": [_courrier(p) for p in inv.pieces if p.categorie == "courrier_prefecture"],
        "urgence": [u.fait for u in case.urgence],
        "urgence_intro": redaction.urgency_intro(case, g),
        "urgence_paragraphes": redaction.urgency_paragraphs(case, inv, g, sig_date),
        "diligences": redaction.diligences(case, inv),
        "conclusions": redaction.conclusions(case, g, dfd, sig_date, conseil),
        "demandes": {
            "delai_jours": d.delai_jours,
            "rdv_sous_jours": d.rdv_sous_jours,
            "rdv_limite": redaction.rdv_deadline(case, sig_date),
            "astreinte": dates.format_amount(d.astreinte_par_jour) if d.astreinte_par_jour else "",
            "frais": dates.format_amount(d.frais_l761_1) if d.frais_l761_1 else "",
        },
        "pieces": [
            {"numero": p.numero, "titre": p.titre, "fichier": p.fichier, "pages": p.pages,
             "categorie": p.categorie}
            for p in inv.pieces
        ],
        "signature": {
            "lieu": _signature_place(case, conseil),
            "date": dates.format_date(sig_date),
            "date_iso": sig_date.isoformat(),
        },
    }


def _courrier(p) -> dict[str, Any]:
    date = dates.format_date(p.date) if p.date else ""
    # The date is often already in the title (« Courriel du 12 mars 2025 »): never say it twice.
    complement = f", le {date}" if date and date not in p.titre else ""
    return {"numero": p.numero, "titre": p.titre, "date": date, "complement_date": complement}


# --- rendering ------------------------------------------------------------------------------

FILTERS = {
    "date_fr": lambda v: dates.format_date(dates.parse_date(v)) if v else "",
    "montant_fr": lambda v: dates.format_amount(float(v)) if v not in (None, "") else "",
    "majuscules": lambda v: str(v).upper(),
    "nombre_fr": lambda v: dates.format_number(int(v)),
}


def jinja_env() -> jinja2.Environment:
    """The one Jinja environment of refere: sandboxed, strict, bounded (see templating)."""
    return templating.make_env(FILTERS)


def open_template(path: Path) -> DocxTemplate:
    """Open a template; a custom one must also pass every check of « modele verifier »,
    so build fails here, before any work, with the verifier's messages."""
    tpl = templating.open_docx(path)
    if path.resolve() != default_template().resolve():
        templating.check(path)
    return tpl


def render(ctx: dict[str, Any], out: Path, template: Path | None = None) -> None:
    path = template or default_template()
    if template is not None:
        open_template(path)
    tpl = templating.render_docx(path, jinja_env(), ctx)
    props = tpl.docx.core_properties
    # Reproducible, and nothing about the machine or its user leaks into the document.
    when = dt.datetime.fromisoformat(ctx["signature"]["date_iso"]).replace(hour=12)
    props.author = "refere"
    props.last_modified_by = "refere"
    props.created = props.modified = when
    props.last_printed = when
    props.revision = 1
    props.title = "Requête en référé mesures utiles"
    tpl.save(str(out))
    docxzip.normalize(out)
    # What the template wrote may itself fetch (a field code, an external image): never filed.
    if problems := docxzip.safety_problems(out, sizes=False):
        out.unlink()
        raise TemplateError(templating.report(path, problems, build=True))


def verify_template(path: Path, sample: dict[str, Any] | None = None) -> list[str]:
    """Every problem of a custom template, in French; an empty list means it is usable.
    ``sample`` is kept for callers of the old signature: the sample cases are refere.sample's."""
    return templating.verify(path)


# --- PDF through LibreOffice ----------------------------------------------------------------

def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx: Path, out: Path) -> None:
    exe = soffice()
    if exe is None:
        raise ToolMissing(
            "--pdf demande LibreOffice, qui n'est pas installé. Installez-le (Debian/Ubuntu : "
            "« sudo apt install libreoffice-writer-nogui ») ou ouvrez requete.docx et exportez-le en PDF."
        )
    with tempfile.TemporaryDirectory(prefix="refere-lo-") as profile:
        cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(out.parent), str(docx)]
        try:
            res = subprocess.run(cmd, capture_output=True, timeout=300, env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired:
            raise ToolMissing("LibreOffice n'a pas converti la requête en PDF en 5 minutes") from None
    produced = out.parent / (docx.stem + ".pdf")
    if res.returncode != 0 or not produced.exists():
        raise ToolMissing(f"LibreOffice n'a pas pu convertir la requête en PDF ({res.stderr.decode(errors='replace')[:200]})")
    if produced != out:
        produced.replace(out)
    _strip_pdf_dates(out)


def _strip_pdf_dates(path: Path) -> None:
    import pikepdf

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for key in ("/CreationDate", "/ModDate", "/Author", "/Creator"):
            if key in pdf.docinfo:
                del pdf.docinfo[key]
        if "/Metadata" in pdf.Root:
            del pdf.Root.Metadata
        pdf.save(path, deterministic_id=True)


# --- the attempts calendar (refere/calendrier.py) -------------------------------------------

def calendar_image(tpl: DocxTemplate, png: bytes, width_mm: float = 160):
    """The calendar PNG as a docxtpl InlineImage, for the context of ``tpl``."""
    import io

    from docx.shared import Mm
    from docxtpl import InlineImage

    return InlineImage(tpl, io.BytesIO(png), width=Mm(width_mm))
