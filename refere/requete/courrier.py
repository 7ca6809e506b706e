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

from refere import dates
from refere.modeles import docxzip
from refere.modeles.document import render_docx
from refere.affaire import echeances, grammaire
from refere.requete import faits, render
from refere.requete.urgence import lower_first
from refere.errors import OutputError, TemplateError, os_reason
from refere.affaire.loader import load, resolve_case_path
from refere.affaire.model import Case

TEMPLATE_NAME = "courrier-prefecture.docx"
STEM = "courrier-prefecture"
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DEFAULT_RESULT = "aucun créneau disponible"
DEFAULT_RESULT_ANEF = "dépôt impossible"
# The object line names the procedure shorter than the requête's sentences do.
OBJET = {"changement_de_statut": "demande de titre de séjour (changement de statut)"}
# The démarches where nothing is filed (a card collected, fingerprints taken, a change declared): the
# object names them as the requête does, and the other way to be offered is to do that, not to « déposer
# ma demande ». Each is said after « une autre manière ».
NOT_FILED = {
    "changement_situation": "de faire cette déclaration",
    "remise_titre": "de retirer {son} titre de séjour",
    "recueil_biometrie": "de faire recueillir {ses} données biométriques",
    "autre": "de l'accomplir",  # after « pour cette démarche »
}
OBJET_LONGEST = 100  # longer précisions are left to the letter's body: an object line is read at a glance
ADRESSE_A_COMPLETER = "[adresse postale de la préfecture]"
# What the applicant did, as a noun phrase (the requête words it as a verb).
DILIGENCE_WHAT = {
    "centre_contact_citoyen": "saisine du centre de contact citoyen de l'ANEF",
    "point_accueil_numerique": "passage dans un point d'accueil numérique",
    "courrier": "courrier à la préfecture",
    "courriel": "courriel à la préfecture",
}


@dataclass
class Written:
    docx: Path
    txt: Path
    tentatives: int
    # What the letter still needs before it is sent, in the form's words (shown by the CLI and the web).
    a_completer: tuple[str, ...] = ()


MISSING_ADDRESS = ("l'adresse postale de la préfecture : la lettre porte « " + ADRESSE_A_COMPLETER + " ». "
                   "Remplissez « adresse de la préfecture » (prefecture.adresse dans dossier.yaml) et écrivez "
                   "la lettre de nouveau, ou remplacez cette ligne à la main avant l'envoi")


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
    if case.requerant.civilite is None:
        # No civilité: the person's name, not « elle », which the letter has nothing to agree with
        # (the requête's « la partie requérante » is not in it: attack 23).
        return {"Il": designation, "il": designation, "se": "se", "est": "est", "doit": "doit", "peut": "peut",
                "a": f"{designation} a", "Son": "Son", "son": "son", "sa": "sa", "ses": "ses", "lui": "lui"}
    il = {"M.": "il", "Mme": "elle"}[case.requerant.civilite]
    return {"Il": _cap(il), "il": il, "se": "se", "est": "est", "doit": "doit", "peut": "peut",
            "a": f"{_cap(il)} a", "Son": "Son", "son": "son", "sa": "sa", "ses": "ses", "lui": "lui"}


def _diligence(d: Any) -> str:
    what = DILIGENCE_WHAT.get(d.type, "")
    text = grammaire.strip_end(d.description)
    return f"le {dates.format_date(d.date)} : " + (f"{what} ({text})" if what else text)


def _urgence(u: Any, on: dt.date) -> str:
    fact = grammaire.strip_end(u.fait)
    if u.echeance is None:
        return fact
    passed = " (échéance déjà dépassée)" if u.echeance < on else ""
    day = dates.format_date(u.echeance)
    if day in fact.replace("\u00a0", " "):  # « … au-delà du 15 novembre 2025 »: the date is not said twice
        return fact + passed.replace("échéance", "date")
    return f"{fact} — échéance : le {day}{passed}"


def _sender(case: Case, designation: str, address: list[str]) -> tuple[list[str], dict[str, str]]:
    """The letter's head and signature: the counsel as the requête names them, or the applicant."""
    c, r = case.conseil, case.requerant
    if c is None:
        sender = [designation] + address
        sender += [f"Téléphone : {r.telephone}"] if r.telephone else []
        sender += [f"Courriel : {r.courriel}"] if r.courriel else []
        return sender, {"nom": designation, "pour": ""}
    forms = grammaire.conseil(c.qualite, c.civilite, c.nom, c.barreau)
    if c.qualite == "avocat":
        name = forms["maitre"]
        sender = [name] + ([forms["qualite_ligne"]] if forms["au_barreau"] else [grammaire.cap(forms["avocat_mot"])])
        sender += [f"Toque {c.toque}"] if c.toque else []
    else:
        name = c.nom.strip()
        sender = [name]
    sender += [x.strip() for x in (c.adresse or "").splitlines() if x.strip()]
    sender += [f"Téléphone : {c.telephone}"] if c.telephone else []
    sender += [f"Courriel : {c.courriel}"] if c.courriel else []
    sender += [f"Réf. : {c.reference}"] if c.reference else []
    return sender, {"nom": name, "pour": f"Pour {designation},"}


def _place(case: Case) -> str:
    # As the requête's « Fait à »: the counsel's town, else the applicant's; a blank when unknown.
    if case.signature.lieu:
        return case.signature.lieu
    c = case.conseil
    if c is not None:
        town = c.ville or render.town_of((c.adresse or "").replace(",", "\n"))
        if town:
            return town
    # « 4 rue X, 93200 Saint-Denis » on one line is as common as two lines.
    return render.town_of(case.requerant.adresse.replace(",", "\n")) or "…………"


def context(case: Case, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the letter template uses: sender, recipient, the sentences, the attempts."""
    today = today or dates.today()
    r, proc, dep = case.requerant, case.procedure, case.departement
    designation = " ".join(x for x in (r.civilite, r.prenoms, r.nom.upper()) if x)
    address = [line.strip() for line in r.adresse.strip().splitlines() if line.strip()]
    attempts = sorted(case.tentatives, key=lambda t: t.date)
    libelle = faits.libelle(case)  # the récépissé's renewal when the document held is one, as in the requête
    pour = faits.with_precisions(case, libelle)  # « sa démarche : le changement d'adresse… », as in the requête
    if case.conseil is None:  # the applicant's own words: « le renouvellement de mon titre »
        libelle, pour = (re.sub(r"\b(son|sa|ses)\b", lambda m: {"son": "mon", "sa": "ma", "ses": "mes"}[m[1]], x)
                         for x in (libelle, pour))
    expired = bool(proc.expiration_titre and proc.expiration_titre < today)
    expiration = dates.format_date(proc.expiration_titre) if proc.expiration_titre else ""
    c = case.conseil
    sender, signataire = _sender(case, designation, address)
    if c is not None:
        intro = (f"J'interviens pour {designation}, née le " if r.civilite == "Mme" else
                 f"J'interviens pour {designation}, né le " if r.civilite == "M." else
                 f"J'interviens pour {designation}, né(e) le ")
        intro += (f"{dates.format_date(r.date_naissance)} à {r.lieu_naissance}, de nationalité {r.nationalite}, "
                  f"demeurant {', '.join(address)}.")
    else:
        intro = ""
    f = _forms(case, designation)
    change = "a expiré" if expired else "expire"
    if proc.titre_actuel:
        titre = f"{f['Il']} {f['est']} titulaire {grammaire.titre_indefini(proc.titre_actuel)}"
        titre += f", qui {change} le {expiration}." if expiration else "."
    else:
        titre = f"{f['Son']} titre de séjour {change} le {expiration}." if expiration else ""
    n = len(attempts)
    tries = "une fois" if n == 1 else f"à {n} reprises"
    demande_nom = grammaire.DEMANDES[proc.type]
    urgence = ""
    if expiration:
        proof = ("l'attestation de prolongation d'instruction" if echeances.prolongation(case)
                 else f"le renouvellement de {f['son']} récépissé" if echeances.recepisse(case) else "le récépissé")
        blocked = "Sans enregistrement de sa demande" if proc.is_anef else "Sans rendez-vous"
        if case.conseil is None:
            blocked = blocked.replace("sa demande", "ma demande")
        urgence = (f"{blocked}, {f['il']} ne {f['peut']} pas obtenir {proof} qui {f['lui']} "
                   f"permettrait de justifier de la régularité de {f['son']} séjour.")
    tribunal = case.tribunal.nom if case.tribunal else dep.tribunal
    if proc.is_anef:
        where = ("sur le téléservice de l'administration numérique pour les étrangers en France (ANEF), par "
                 "lequel elle doit être présentée (article R. 431-2 du code de l'entrée et du séjour des étrangers "
                 "et du droit d'asile).")
        situation = (f"Je dois déposer ma {demande_nom} {where}" if case.conseil is None
                     else f"{designation} doit déposer sa {demande_nom} {where}")
        tentatives = (f"{f['a']} tenté de la déposer {tries}, sans y parvenir. Voici le détail de {f['ses']} "
                      "tentatives :")
        demande = (f"Je vous demande donc de bien vouloir permettre l'enregistrement de {f['sa']} demande, soit en "
                   "rendant possible son dépôt en ligne, soit en la recevant au guichet au titre de la solution de "
                   "substitution prévue par l'article R. 431-2 du même code, et de "
                   f"{f['lui']} délivrer "
                   + ("une attestation de prolongation d'instruction." if echeances.prolongation(case)
                      else "un récépissé de demande de titre de séjour."))
        objet = f"{designation} — enregistrement d'une {demande_nom} (téléservice ANEF bloqué)"
        default_result = DEFAULT_RESULT_ANEF
    else:
        situation = grammaire.end_sentence(f"Je dois me présenter en préfecture pour {pour}" if case.conseil is None
                                           else f"{designation} doit se présenter en préfecture pour {pour}")
        site = f", à l'adresse {case.prefecture.url_rendez_vous}" if case.prefecture.url_rendez_vous else ""
        tentatives = (f"Ce rendez-vous ne peut être pris que sur le service de prise de rendez-vous en "
                      f"ligne de la préfecture{site}. {f['a']} essayé {tries}, sans succès : aucun créneau "
                      f"n'était proposé. Voici le détail de {f['ses']} tentatives :")
        recepisse = echeances.recepisse(case)
        other_way = ("d'obtenir ce renouvellement" if recepisse else
                     NOT_FILED.get(proc.type, "de déposer {sa} demande").format(**f))
        demande = (f"Je vous demande donc de bien vouloir {f['lui']} fixer un rendez-vous pour "
                   f"{'cette démarche' if proc.type == 'autre' else libelle}, ou de m'indiquer une autre manière "
                   f"{other_way}.")
        objet = f"{designation} — demande de rendez-vous " + _objet(case, recepisse, demande_nom)
        default_result = DEFAULT_RESULT
    urgences = [_urgence(u, today) for u in case.urgence if not u.libre]
    diligences = [_diligence(d) for d in sorted(case.diligences, key=lambda d: d.date)]
    reponse = ("Je vous remercie de bien vouloir me répondre dans un délai de huit jours." if c is None else
               "Je vous remercie de bien vouloir m'adresser votre réponse, dans un délai de huit jours, "
               "à l'adresse indiquée en tête de ce courrier.")
    typo = grammaire.typo  # the letter's sentences set as the requête's: no-break spaces
    return {
        "expediteur": sender,
        "destinataire": _heading(dep, _recipient(case))
                        # A visible blank to fill in rather than a letter without an address.
                        + (_recipient(case) or [ADRESSE_A_COMPLETER]),
        "lieu": _place(case),
        "date": dates.format_date(today),
        "date_iso": today.isoformat(),
        "objet": typo(objet),
        "numero_etranger": r.numero_etranger or "",
        "designation": designation,
        "phrases": {k: typo(v) for k, v in {
            "intro": intro,
            "situation": situation,
            "titre": titre,
            "tentatives": tentatives,
            "diligences": (f"{f['a']} également accompli les démarches suivantes :"
                           if diligences else ""),
            # The facts are written in the third person for the requête: introduced as facts, they read
            # right under a first-person letter too (« Ma situation est urgente : – Son titre… » did not).
            # The applicant's own letter: the facts are said as the requête says them (third person), and
            # introduced so (« je … – Son titre … » read as if someone else had written that part).
            "urgences": ("" if not urgences else
                         "Les circonstances suivantes rendent sa demande urgente :" if c is not None else
                         "Ma demande est urgente. Voici les faits, tels qu'ils seront exposés au juge des référés "
                         f"pour {designation} :"),
            "urgence": urgence,
            "demande": demande,
            "reponse": reponse,
            "recours": f"À défaut de réponse, {'je' if case.conseil is None else designation} {f['se']} réserve de saisir le juge "
                       f"des référés du {tribunal} (article L. 521-3 du code de justice administrative).",
        }.items()},
        "tentatives": [
            {"numero": k, "date": long_datetime(t.date), "resultat": t.resultat or default_result}
            for k, t in enumerate(attempts, start=1)
        ],
        "diligences": [typo(x) for x in diligences],
        "urgences": [typo(x) for x in urgences],
        "signataire": signataire,
        # The counsel as the requête's template has it (the same keys), or None: « {% if conseil %} ».
        "conseil": render.counsel(case),
    }


def _objet(case: Case, recepisse: bool, demande_nom: str) -> str:
    """What the object line asks the appointment for: a filing, or the démarche itself as the requête
    names it (« pour la remise de son titre de séjour »); « autre », by its précisions when short."""
    proc = case.procedure
    if proc.type == "autre":
        extra = grammaire.strip_end(proc.precisions or "")
        return f": {lower_first(extra)}" if len(extra) <= OBJET_LONGEST else "pour une démarche précisée ci-dessous"
    if recepisse or proc.type in NOT_FILED:
        return f"pour {faits.libelle(case)}"
    return f"pour le dépôt d'une {OBJET.get(proc.type, demande_nom)}"


def _recipient(case: Case) -> list[str]:
    """The place (« Sous-préfecture du Raincy », often written with its address) and the postal address."""
    site = [case.prefecture.site] if case.prefecture.site else []
    return site + [x.strip() for x in (case.prefecture.adresse or "").splitlines() if x.strip()]


def _heading(dep, typed: list[str]) -> list[str]:
    """« Préfecture de … » and « Service des étrangers » above the address, unless the address typed says them
    already (« Service des étrangers / 1 esplanade Jean Moulin… »): never printed twice."""
    said = [x.casefold() for x in typed]
    out = []
    if not any(x.startswith(("préfecture", "prefecture")) for x in said):
        out.append("Préfecture de police" if dep.code == "75" else f"Préfecture {dep.de_nom}")
    if not any("étrangers" in x or "etrangers" in x for x in said):
        out.append("Service des étrangers")
    return out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def email_text(docx: Path) -> str:
    """The letter's words as an e-mail body: one paragraph a block, the address lines together."""
    from docx import Document

    doc = Document(str(docx))
    blocks: list[list[str]] = [[]]
    for para in doc.paragraphs:
        text = para.text.replace("\u00a0", " ").replace("\u2011", "-").rstrip()
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
          today: dt.date | None = None, modele: Path | None = None) -> Written:
    """Render the letter and the e-mail body into ``out_dir`` (default: the case folder)."""
    case_path = resolve_case_path(case_file)
    case = load(case_path)
    if not case.tentatives:
        raise OutputError("aucune tentative dans le dossier : notez d'abord vos tentatives de rendez-vous")
    out_dir = out_dir if out_dir is not None else case_path.parent
    docx_path, txt_path = out_dir / f"{STEM}.docx", out_dir / f"{STEM}.txt"
    sources = _identities([s.path for p in case.pieces for s in p.sources]
                          + [t.capture.path for t in case.tentatives if t.capture is not None])
    for p in (docx_path, txt_path):
        if _identities([p]) & sources:  # --force, or the web's button, never replaces a pièce (attack 20)
            raise OutputError(f"« {p} » est un fichier que le dossier cite (pièce ou capture) : il ne sera pas "
                              "remplacé ; écrivez la lettre dans un autre dossier avec -o")
        if p.is_symlink() or (p.exists() and not p.is_file()):  # said first: --force would not help
            raise OutputError(f"« {p} » n'est pas un fichier ordinaire : il ne sera pas remplacé")
        if p.exists() and not force:
            raise OutputError(f"« {p} » existe déjà : ajoutez --force pour le remplacer, ou choisissez un "
                              "autre dossier avec -o")
    ctx = context(case, today)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".courrier-", dir=out_dir) as tmp:
            staged = Path(tmp) / f"{STEM}.docx"
            render_letter(ctx, staged, modele)
            text = email_text(staged)
            _write_atomic(docx_path, staged.read_bytes())
            _write_atomic(txt_path, text.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"écriture impossible dans « {out_dir} » ({os_reason(exc)})") from None
    return Written(docx_path, txt_path, len(case.tentatives),
                   () if _recipient(case) else (MISSING_ADDRESS,))


def complete_text(docx: Path) -> None:
    """The e-mail text beside a letter already written, when a run stopped between the two files:
    made from the letter as it is (never a new letter, which would carry another date)."""
    txt = docx.with_suffix(".txt")
    if docx.is_file() and not docx.is_symlink() and not txt.exists() and not txt.is_symlink():
        try:
            _write_atomic(txt, email_text(docx).encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"écriture impossible de « {txt} » ({os_reason(exc)})") from None


def _identities(paths: list[Path]) -> set[tuple[int, int]]:
    """(device, inode) of each path that exists: the same file under any name or link."""
    out = set()
    for path in paths:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        out.add((st.st_dev, st.st_ino))
    return out


def render_letter(ctx: dict[str, Any], out: Path, modele: Path | None = None) -> None:
    # The built-in letter, or the firm's (« --modele »): rendered in the same sandbox, with the same
    # located errors (an unknown variable names its paragraph instead of leaving a blank).
    if modele is not None and not Path(modele).is_file():
        raise OutputError(f"modèle de lettre introuvable « {modele} »")
    path = Path(modele) if modele is not None else template_path()
    try:
        tpl = render_docx(path, render.shared_env(), ctx)
    except TemplateError as exc:  # a letter template is checked with « --courrier »
        hint = f"« refere modele verifier {path} »"
        raise TemplateError(exc.message.replace(hint, f"« refere modele verifier --courrier {path} »")) from None
    props = tpl.docx.core_properties
    # Reproducible, and nothing about the machine or its user in the document.
    when = dt.datetime.fromisoformat(ctx["date_iso"]).replace(hour=12)
    props.author = props.last_modified_by = "refere"
    props.created = props.modified = props.last_printed = when
    props.revision = 1
    props.title = "Demande de rendez-vous à la préfecture"
    tpl.save(str(out))
    docxzip.normalize(out)
