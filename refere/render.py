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

from . import dates, docxzip, templating
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
    if civilite == "M.":
        return {"le_requerant": "le requérant", "ne": "né", "il": "il"}
    if civilite == "Mme":
        return {"le_requerant": "la requérante", "ne": "née", "il": "elle"}
    # Unknown: « la partie requérante » keeps every agreement correct.
    return {"le_requerant": "la partie requérante", "ne": "né(e)", "il": "elle"}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def town_of(address: str) -> str | None:
    for line in reversed(address.strip().splitlines()):
        if m := re.match(r"^\s*(?:F-)?\d{5}\s+(.+?)\s*(?:cedex.*)?$", line, re.IGNORECASE):
            return m[1].strip()
    return None


def figures_sentence(le_requerant: str, inv: Inventory, report: Report) -> str:
    f = report.figures
    first, last = inv.attempts[0].date.date(), inv.attempts[-1].date.date()
    span = f"le {dates.format_date(first)}" if first == last else f"du {dates.format_date(first)} au {dates.format_date(last)}"
    return (
        f"{_cap(le_requerant)} a effectué {_plural(f.tentatives, 'tentative')} {span}, "
        f"sur {_plural(f.semaines, 'semaine distincte', 'semaines distinctes')} et {_plural(f.jours, 'jour')}, "
        f"dont {f.avant_9h} avant 9 h et {f.autour_minuit} autour de minuit."
    )


def context(case: Case, inv: Inventory, report: Report, brouillon: bool = False) -> dict[str, Any]:
    r, proc = case.requerant, case.procedure
    g = _gender(r.civilite)
    dep = case.departement
    designation = " ".join(x for x in (r.civilite, r.prenoms, r.nom.upper()) if x)
    if r.nom_usage:
        designation += f" (nom d'usage : {r.nom_usage})"
    address_lines = [line.strip() for line in r.adresse.strip().splitlines() if line.strip()]
    sig_date = case.signature.date or dates.today()
    conseil = None
    if case.conseil:
        c = case.conseil
        parts = [c.nom]
        parts.append(f"avocat au barreau de {c.barreau}" if c.qualite == "avocat" and c.barreau
                     else "avocat" if c.qualite == "avocat" else "association")
        if c.adresse:
            parts.append(", ".join(line.strip() for line in c.adresse.splitlines() if line.strip()))
        if c.telephone:
            parts.append(f"téléphone : {c.telephone}")
        if c.courriel:
            parts.append(f"courriel : {c.courriel}")
        conseil = {"qualite": c.qualite, "nom": c.nom, "barreau": c.barreau, "designation": ", ".join(parts)}
    tribunal_nom = case.tribunal.nom if case.tribunal else dep.tribunal
    tribunal_adresse = case.tribunal.adresse if case.tribunal and case.tribunal.adresse else ""
    d = case.demandes
    return {
        "brouillon": brouillon,
        "tribunal": {
            "nom": tribunal_nom,
            "adresse_lignes": [x.strip() for x in tribunal_adresse.splitlines() if x.strip()],
        },
        "requerant": {
            "civilite": r.civilite or "",
            "nom": r.nom.upper(),
            "prenoms": r.prenoms,
            "nom_usage": r.nom_usage or "",
            "designation": designation,
            "date_naissance": dates.format_date(r.date_naissance),
            "lieu_naissance": r.lieu_naissance,
            "nationalite": r.nationalite,
            "adresse": ", ".join(address_lines),
            "adresse_lignes": address_lines,
            "telephone": r.telephone or "",
            "courriel": r.courriel or "",
            "numero_etranger": r.numero_etranger or "",
            "le_requerant": g["le_requerant"],
            "Le_requerant": _cap(g["le_requerant"]),
            "ne": g["ne"],
            "il": g["il"],
            "Il": _cap(g["il"]),
        },
        "conseil": conseil,
        "defendeur": {
            "nom": dep.prefet,
            "nom_capitalise": dep.prefet_titre,
            "au_nom": "au " + dep.prefet.removeprefix("le "),
            "departement": dep.nom,
            "code": dep.code,
        },
        "procedure": {
            "type": proc.type,
            "libelle": proc.label,
            "renouvellement": proc.is_renewal,
            "titre_actuel": proc.titre_actuel or "",
            "expiration": dates.format_date(proc.expiration_titre) if proc.expiration_titre else "",
            "expiration_passee": bool(proc.expiration_titre and proc.expiration_titre < sig_date),
            # The template ends the sentence itself: « … CESEDA.. » otherwise.
            "precisions": (proc.precisions or "").rstrip(" .") or "",
            "oqtf": proc.oqtf,
        },
        "prefecture": {"site": case.prefecture.site or "", "url": case.prefecture.url_rendez_vous or ""},
        "chiffres": {
            "phrase": figures_sentence(g["le_requerant"], inv, report),
            "nombre": report.figures.tentatives,
            "tentatives_texte": _plural(report.figures.tentatives, "tentative"),
            "semaines_texte": _plural(report.figures.semaines, "semaine distincte", "semaines distinctes"),
            "semaines": report.figures.semaines,
            "jours": report.figures.jours,
            "avant_9h": report.figures.avant_9h,
            "autour_minuit": report.figures.autour_minuit,
            "premiere": dates.format_date(inv.attempts[0].date.date()),
            "derniere": dates.format_date(inv.attempts[-1].date.date()),
        },
        "tentatives": [
            {
                "numero": k,
                "date": dates.format_date(a.date.date()),
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
        "demandes": {
            "delai_jours": d.delai_jours,
            "rdv_sous_jours": d.rdv_sous_jours,
            "astreinte": dates.format_amount(d.astreinte_par_jour) if d.astreinte_par_jour else "",
            "frais": dates.format_amount(d.frais_l761_1) if d.frais_l761_1 else "",
        },
        "pieces": [
            {"numero": p.numero, "titre": p.titre, "fichier": p.fichier, "pages": p.pages,
             "categorie": p.categorie}
            for p in inv.pieces
        ],
        "signature": {
            # Unknown town: a visible blank to fill in by hand, never a guessed place.
            "lieu": case.signature.lieu or town_of(r.adresse) or "…………",
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
