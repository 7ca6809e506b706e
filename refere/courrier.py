"""``refere courrier``: the written request to the préfecture that should precede the référé.

The letter is rendered from templates/courrier-prefecture.docx by the requête's machinery
(docxtpl, ``render.jinja_env``); the e-mail body is read back from the rendered letter, so the
two always say the same thing. The applicant writes in the first person; when a counsel is
named in the case, the counsel writes for the applicant (third person) and signs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import dates, docxzip, render, templating
from .errors import OutputError, os_reason
from .loader import load, resolve_case_path
from .model import Case

TEMPLATE_NAME = "courrier-prefecture.docx"
STEM = "courrier-prefecture"
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DEFAULT_RESULT = "aucun créneau disponible"


@dataclass
class Written:
    docx: Path
    txt: Path
    tentatives: int


def template_path() -> Path:
    return render.builtin_template(TEMPLATE_NAME)


def long_datetime(t: dt.datetime) -> str:
    """« lundi 3 mars 2025 à 8 h 55 »."""
    return f"{WEEKDAYS[t.weekday()]} {dates.format_datetime(t)}"


def _forms(case: Case, designation: str) -> dict[str, str]:
    """First person for the applicant; third person when a counsel writes for them."""
    if case.conseil is None:
        return {"Il": "Je", "il": "je", "se": "me", "est": "suis", "doit": "dois", "peut": "peux",
                "a": "J'ai", "Son": "Mon", "son": "mon", "sa": "ma", "ses": "mes", "lui": "me"}
    il = {"M.": "il", "Mme": "elle"}.get(case.requerant.civilite or "", "elle")
    return {"Il": _cap(il), "il": il, "se": "se", "est": "est", "doit": "doit", "peut": "peut",
            "a": f"{_cap(il)} a", "Son": "Son", "son": "son", "sa": "sa", "ses": "ses", "lui": "lui"}


def context(case: Case, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the letter template uses: sender, recipient, the sentences, the attempts."""
    today = today or dates.today()
    r, proc, dep = case.requerant, case.procedure, case.departement
    designation = " ".join(x for x in (r.civilite, r.prenoms, r.nom.upper()) if x)
    address = [line.strip() for line in r.adresse.strip().splitlines() if line.strip()]
    attempts = sorted(case.tentatives, key=lambda t: t.date)
    libelle = proc.label
    if case.conseil is None:  # the applicant's own words: « le renouvellement de mon titre »
        libelle = re.sub(r"\b(son|sa|ses)\b", lambda m: {"son": "mon", "sa": "ma", "ses": "mes"}[m[1]], libelle)
    expired = bool(proc.expiration_titre and proc.expiration_titre < today)
    expiration = dates.format_date(proc.expiration_titre) if proc.expiration_titre else ""
    c = case.conseil
    if c is not None:
        quality = (f"avocat au barreau de {c.barreau}" if c.qualite == "avocat" and c.barreau
                   else "avocat" if c.qualite == "avocat" else "association")
        sender = [c.nom, quality] + [x.strip() for x in (c.adresse or "").splitlines() if x.strip()]
        sender += [f"Téléphone : {c.telephone}"] if c.telephone else []
        sender += [f"Courriel : {c.courriel}"] if c.courriel else []
        sender += [f"Réf. : {c.reference}"] if c.reference else []
        signataire = {"nom": c.nom, "pour": f"Pour {designation},"}
        intro = (f"J'interviens pour {designation}, née le " if r.civilite == "Mme" else
                 f"J'interviens pour {designation}, né le " if r.civilite == "M." else
                 f"J'interviens pour {designation}, né(e) le ")
        intro += (f"{dates.format_date(r.date_naissance)} à {r.lieu_naissance}, de nationalité {r.nationalite}, "
                  f"demeurant {', '.join(address)}.")
    else:
        sender = [designation] + address
        sender += [f"Téléphone : {r.telephone}"] if r.telephone else []
        sender += [f"Courriel : {r.courriel}"] if r.courriel else []
        signataire = {"nom": designation, "pour": ""}
        intro = ""
    f = _forms(case, designation)
    change = "a expiré" if expired else "expire"
    if proc.titre_actuel:
        titre = f"{f['Il']} {f['est']} titulaire d'un titre de séjour ({proc.titre_actuel})"
        titre += f", qui {change} le {expiration}." if expiration else "."
    else:
        titre = f"{f['Son']} titre de séjour {change} le {expiration}." if expiration else ""
    site = f", à l'adresse {case.prefecture.url_rendez_vous}" if case.prefecture.url_rendez_vous else ""
    n = len(attempts)
    tries = "une fois" if n == 1 else f"à {n} reprises"
    urgence = ""
    if expiration:
        urgence = (f"Sans rendez-vous, {f['il']} ne {f['peut']} pas obtenir le récépissé qui {f['lui']} "
                   f"permettrait de justifier de la régularité de {f['son']} séjour.")
    tribunal = case.tribunal.nom if case.tribunal else dep.tribunal
    situation = (f"Je dois me présenter en préfecture pour {libelle}." if case.conseil is None
                 else f"{designation} doit se présenter en préfecture pour {libelle}.")
    return {
        "expediteur": sender,
        "destinataire": ["Préfecture de police" if dep.code == "75" else f"Préfecture {dep.de_nom}",
                         "Service des étrangers"]
                        + ([case.prefecture.site] if case.prefecture.site else []),
        # « 4 rue X, 93200 Saint-Denis » on one line is as common as two lines.
        "lieu": case.signature.lieu or render.town_of(r.adresse.replace(",", "\n")) or "…………",
        "date": dates.format_date(today),
        "date_iso": today.isoformat(),
        "objet": f"demande de rendez-vous pour {libelle}",
        "numero_etranger": r.numero_etranger or "",
        "designation": designation,
        "phrases": {
            "intro": intro,
            "situation": situation,
            "titre": titre,
            "tentatives": f"Ce rendez-vous ne peut être pris que sur le service de prise de rendez-vous en "
                          f"ligne de la préfecture{site}. {f['a']} essayé {tries}, sans succès : aucun créneau "
                          f"n'était proposé. Voici le détail de {f['ses']} tentatives :",
            "urgence": urgence,
            "demande": f"Je vous demande donc de bien vouloir {f['lui']} fixer un rendez-vous pour {libelle}, "
                       f"ou de m'indiquer une autre manière de déposer {f['sa']} demande.",
            "recours": f"À défaut de réponse, {'je' if case.conseil is None else designation} {f['se']} réserve de saisir le juge "
                       f"des référés du {tribunal} (article L. 521-3 du code de justice administrative).",
        },
        "tentatives": [
            {"numero": k, "date": long_datetime(t.date), "resultat": t.resultat or DEFAULT_RESULT}
            for k, t in enumerate(attempts, start=1)
        ],
        "signataire": signataire,
    }


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def email_text(docx: Path) -> str:
    """The letter's words as an e-mail body: one paragraph a block, the address lines together."""
    from docx import Document

    doc = Document(str(docx))
    blocks: list[list[str]] = [[]]
    for para in doc.paragraphs:
        text = para.text.replace("\u00a0", " ").rstrip()
        if not text:
            if blocks[-1]:
                blocks.append([])
            continue
        blocks[-1].append(text)
        if para.style is None or para.style.name != "Bloc":
            blocks.append([])
    body = "\n\n".join("\n".join(b) for b in blocks if b)
    return body + "\n"


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write(case_file: str | Path, out_dir: Path | None = None, force: bool = False,
          today: dt.date | None = None) -> Written:
    """Render the letter and the e-mail body into ``out_dir`` (default: the case folder)."""
    case_path = resolve_case_path(case_file)
    case = load(case_path)
    if not case.tentatives:
        raise OutputError("aucune tentative dans le dossier : notez d'abord vos tentatives de rendez-vous")
    out_dir = out_dir if out_dir is not None else case_path.parent
    docx_path, txt_path = out_dir / f"{STEM}.docx", out_dir / f"{STEM}.txt"
    for p in (docx_path, txt_path):
        if (p.exists() or p.is_symlink()) and not force:
            raise OutputError(f"« {p} » existe déjà : ajoutez --force pour le remplacer, ou choisissez un "
                              "autre dossier avec -o")
        if p.is_symlink() or (p.exists() and not p.is_file()):
            raise OutputError(f"« {p} » n'est pas un fichier ordinaire : il ne sera pas remplacé")
    ctx = context(case, today)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".courrier-", dir=out_dir) as tmp:
            staged = Path(tmp) / f"{STEM}.docx"
            render_letter(ctx, staged)
            text = email_text(staged)
            _write_atomic(docx_path, staged.read_bytes())
            _write_atomic(txt_path, text.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"écriture impossible dans « {out_dir} » ({os_reason(exc)})") from None
    return Written(docx_path, txt_path, len(case.tentatives))


def render_letter(ctx: dict[str, Any], out: Path) -> None:
    # The built-in letter is ours: rendered in the same sandbox, with the same located errors.
    tpl = templating.render_docx(template_path(), render.jinja_env(), ctx)
    props = tpl.docx.core_properties
    # Reproducible, and nothing about the machine or its user in the document.
    when = dt.datetime.fromisoformat(ctx["date_iso"]).replace(hour=12)
    props.author = props.last_modified_by = "refere"
    props.created = props.modified = props.last_printed = when
    props.revision = 1
    props.title = "Demande de rendez-vous à la préfecture"
    tpl.save(str(out))
    docxzip.normalize(out)
