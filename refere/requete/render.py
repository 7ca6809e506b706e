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

from refere import dates
from refere.modeles import docxzip, limite
from refere.modeles.document import Picture, render_docx
from refere.modeles.messages import report
from refere.modeles.sandbox import make_env
from refere.affaire import grammaire
from refere.requete import faits, redaction, urgence
from refere.affaire import echeances
from refere.errors import TemplateError, ToolMissing
from refere.preuves.rules import Report
from refere.affaire.model import Case
from refere.pieces.plan import Inventory

TEMPLATE_NAME = "requete-refere-mesures-utiles.docx"


def builtin_template(name: str = TEMPLATE_NAME) -> Path:
    """A template shipped with refere: beside the package in a checkout, inside it in a wheel."""
    here = Path(__file__).resolve().parent.parent  # refere/
    for candidate in (here.parent / "templates" / name, here / "templates" / name):
        if candidate.is_file():
            return candidate
    raise TemplateError(f"modèle intégré introuvable ({name}) : réinstallez refere")


def default_template() -> Path:
    return builtin_template(TEMPLATE_NAME)


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
    """« Le requérant a effectué dix tentatives, entre le 1er et le 25 septembre 2025, réparties sur
    quatre semaines distinctes et dix jours différents, dont … »."""
    f = report.figures
    first, last = inv.attempts[0].date.date(), inv.attempts[-1].date.date()
    noun = ("tentative de dépôt", "tentatives de dépôt") if anef else ("tentative", "tentatives")
    what = grammaire.compte(f.tentatives, *noun, feminin=True)
    spread = (f", réparties sur {grammaire.semaines(f.semaines)} et {grammaire.compte(f.jours, 'jour différent', 'jours différents')}"
              if f.tentatives > 1 else "")
    # The hour matters on a booking page (slots released early or at midnight), not on the ANEF.
    hours = []
    if not anef:
        if f.avant_9h:
            hours.append(f"{grammaire.nombre(f.avant_9h, True)} avant 9\u00a0h")
        if f.autour_minuit:
            hours.append(f"{grammaire.nombre(f.autour_minuit, True)} autour de minuit")
    dont = (", dont " + " et ".join(hours)) if hours and f.tentatives > 1 else ""
    return grammaire.typo(f"{_cap(le_requerant)} a effectué {what}, {grammaire.entre_dates(first, last)}{spread}{dont}.")


_STREET_NUMBER = re.compile(r"^(\d+(?:[ \u00a0]?(?:bis|ter|quater))?),?[ ]+(?=\w)", re.IGNORECASE)


def _lines(text: str | None) -> list[str]:
    """An address's lines; a street number stays with its street (« 12\u00a0rue de Rivoli »)."""
    return [_STREET_NUMBER.sub(lambda m: m[0].rstrip(" ") .replace(" ", "\u00a0") + "\u00a0", x.strip())
            for x in (text or "").strip().splitlines() if x.strip()]


def counsel(case: Case) -> dict[str, Any] | None:
    c = case.conseil
    if c is None:
        return None
    forms = grammaire.conseil(c.qualite, c.civilite, c.nom, c.barreau)
    address = _lines(c.adresse)
    parts = [forms["appellation"]]
    if c.toque:
        parts.append("toque\u00a0" + c.toque.replace(" ", "\u00a0"))
    if address:
        parts.append(", ".join(address))
    if c.telephone:
        parts.append(f"téléphone\u00a0: {grammaire.telephone(c.telephone)}")
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
        "telephone": grammaire.telephone(c.telephone or ""),
        "courriel": c.courriel or "",
        "ville": c.ville or town_of(c.adresse or "") or "",
        "reference": c.reference or "",
        "il": "elle" if c.civilite == "Mme" else "il",
        # An association neither represents nor signs (art. 4 loi n° 71-1130): the applicant only
        # elects domicile there, and only when its address is known.
        "election_domicile": (f"élisant domicile auprès de {forms['appellation']}, "
                              f"{', '.join(address)}." if c.qualite == "association" and address else ""),
        **forms,
    }


def _aide(case: Case, inv: Inventory, g: dict[str, str]) -> dict[str, str]:
    status = case.aide_juridictionnelle or ""
    if status == "demandee":
        phrase = (f"{g['Le_requerant']} sollicite le bénéfice de l'aide juridictionnelle et, dans l'attente, "
                  "son admission provisoire (article 20 de la loi n° 91-647 du 10 juillet 1991).")
    elif status == "obtenue":
        decision = grammaire.strip_end(case.decision_aj or "")
        m = re.match(r"^(?:BAJ|bureau d['’]aide juridictionnelle)\b\s*", decision, re.IGNORECASE)
        what = decision[m.end():] if m else f"({decision})"
        ref = grammaire.pieces_ref([p.numero for p in inv.pieces if "aide juridictionnelle" in p.titre.lower()])
        phrase = (f"{g['Le_requerant']} est admis{g['accord']} au bénéfice de l'aide juridictionnelle par décision "
                  f"du bureau d'aide juridictionnelle {what}" + (f" {ref}" if ref else "") + ".")
    else:
        phrase = ""
    return {"statut": status, "decision": case.decision_aj or "", "phrase": grammaire.typo(phrase)}


def _signature_place(case: Case, counsel: dict[str, Any] | None) -> str:
    # Unknown town: a visible blank to fill in by hand, never a guessed place.
    if case.signature.lieu:
        return case.signature.lieu
    if counsel and counsel["avocat"] and counsel["ville"]:
        return counsel["ville"]
    return town_of(case.requerant.adresse) or "…………"


def context(case: Case, inv: Inventory, report: Report, brouillon: bool = False) -> dict[str, Any]:
    r, proc = case.requerant, case.procedure
    g = grammaire.requerant(r.civilite)
    g["accord"] = g["e"]
    dep = case.departement
    dfd = grammaire.defendeur(dep, case.prefecture.prefete)
    designation = " ".join(x for x in (r.civilite, r.prenoms, r.nom.upper()) if x)
    if r.nom_usage:
        designation += f" (nom d'usage : {r.nom_usage})"
    address_lines = _lines(r.adresse)
    sig_date = case.signature.date or dates.today()
    conseil = counsel(case)
    tribunal_nom = case.tribunal.nom if case.tribunal else dep.tribunal
    tribunal_adresse = case.tribunal.adresse if case.tribunal and case.tribunal.adresse else ""
    d = case.demandes
    first_attempt = inv.attempts[0].date.date()
    # A pièce a diligence cites is told there, never again as a letter to the préfecture.
    cited = set(inv.numeros_of_ids([i for x in case.diligences for i in x.preuves], case.pieces_by_id))
    courriers = [_courrier(p) for p in inv.pieces if p.categorie == "courrier_prefecture" and p.numero not in cited]
    return faits.apostrophes({
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
            # The identity pièce (passport) cited where the identity is stated: every pièce is cited.
            "de_nationalite": " ".join(filter(None, (grammaire.nationalite(r.nationalite), grammaire.pieces_ref(
                [p.numero for p in inv.pieces if p.categorie == "identite"])))),
            "adresse": ", ".join(address_lines),
            "adresse_lignes": address_lines,
            "domicile": faits.domicile(case, g, ", ".join(address_lines)),
            "telephone": grammaire.telephone(r.telephone or ""),
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
        "aide_juridictionnelle": _aide(case, inv, g),
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
            "adresse_lignes": faits.defendeur_lignes(case),
        },
        "procedure": {
            "type": proc.type,
            "voie": proc.voie,
            "anef": proc.is_anef,
            "libelle": faits.libelle(case),
            "demande": "sa " + grammaire.DEMANDES[proc.type],
            "renouvellement": proc.is_renewal,
            "titre_actuel": proc.titre_actuel or "",
            "expiration": dates.format_date(proc.expiration_titre) if proc.expiration_titre else "",
            "expiration_passee": bool(proc.expiration_titre and proc.expiration_titre < sig_date),
            # The template ends the sentence itself: « … CESEDA.. » otherwise.
            "precisions": (proc.precisions or "").rstrip(" .") or "",
            # Only « autre » (label « sa démarche ») takes them after a colon; the others, as a sentence.
            "precisions_libelle": (proc.precisions or "").rstrip(" .") if proc.type == "autre" else "",
            "oqtf": proc.oqtf,
            "fenetre": redaction.window_sentence(case, g),
            "titre_phrase": _titre_phrase(case, inv, g, sig_date),
            "precisions_phrase": _precisions_phrase(proc),
        },
        "prefecture": {"site": case.prefecture.site or "", "url": case.prefecture.url_rendez_vous or "",
                       "site_texte": _site(case.prefecture.site)},
        **_pictures(inv, report),
        "chiffres": {
            "phrase": figures_sentence(g["le_requerant"], inv, report, proc.is_anef),
            # « de dix tentatives de dépôt, sur trois semaines distinctes, entre le 3 et le 21 mars 2025 »
            "de_resume": _resume(report, proc.is_anef, first_attempt, inv.attempts[-1].date.date()),
            "nombre": report.figures.tentatives,
            "comme_captures": redaction.comme_captures(sum(1 for a in inv.attempts if a.piece), len(inv.attempts)),
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
        "courriers": courriers,
        "courriers_texte": _courriers_text(courriers, g, proc.is_anef),
        "urgence": [u.fait for u in case.urgence],
        "urgence_intro": urgence.intro(case, g),
        "urgence_paragraphes": urgence.paragraphs(case, inv, g, sig_date),
        "urgence_titre": urgence.titre(case, g, sig_date),
        "urgence_retard": urgence.retard(case, inv, g, brouillon),
        "urgence_manque": urgence.missing(case),
        "urgence_delai_bref": urgence.delai_bref(case, g, sig_date),
        "faits": faits.context(case, inv, g),
        "diligences": redaction.diligences(case, inv, g),
        "conclusions": redaction.conclusions(case, g, dfd, sig_date, conseil),
        "moyen_recepisse": redaction.moyen_recepisse(case, g),
        "demandes": {
            "delai_jours": echeances.delais(case, sig_date).jours,
            "delai_texte": redaction.delai_texte(echeances.delais(case, sig_date).jours),
            "rdv_sous_jours": d.rdv_sous_jours,
            "rdv_limite": redaction.rdv_deadline(case, sig_date),
            "astreinte": dates.format_amount(d.astreinte_par_jour) if d.astreinte_par_jour else "",
            "frais": dates.format_amount(d.frais_l761_1) if d.frais_l761_1 else "",
        },
        "pieces": [
            {"numero": p.numero, "titre": grammaire.nbsp_dates(p.titre), "fichier": p.fichier, "pages": p.pages,
             "categorie": p.categorie}
            for p in inv.pieces
        ],
        "signature": {
            "lieu": _signature_place(case, conseil),
            "date": dates.format_date(sig_date),
            "date_iso": sig_date.isoformat(),
        },
    })


# The kind of writing, read from the pièce's title: (word, gender).
_KINDS = (("courriel", ("courriel", "m")), ("e-mail", ("courriel", "m")), ("mail", ("courriel", "m")),
          ("lettre recommandée", ("lettre recommandée", "f")), ("lettre", ("lettre", "f")),
          ("courrier", ("courrier", "m")), ("télécopie", ("télécopie", "f")), ("fax", ("télécopie", "f")))


def _kind(titre: str) -> tuple[str, str] | None:
    low = titre.lower()
    for needle, kind in _KINDS:
        if low.startswith(needle):
            return kind
    return None


def _resume(report: Report, anef: bool, first: dt.date, last: dt.date) -> str:
    f = report.figures
    noun = ("tentative de dépôt", "tentatives de dépôt") if anef else ("tentative", "tentatives")
    what = grammaire.compte(f.tentatives, *noun, feminin=True)
    return grammaire.typo(grammaire.de_nombre(f"{what}, sur {grammaire.semaines(f.semaines)}, "
                                              f"{grammaire.entre_dates(first, last)}"))


_COMMON = ("préfecture", "sous-préfecture", "site", "guichet", "bureau", "service", "antenne", "accueil")


def _site(site: str | None) -> str:
    """« (site : sous-préfecture du Raincy) »: a common noun loses its capital inside the parenthesis."""
    if not site:
        return ""
    s = site.strip().rstrip(".")
    first = s.split(" ", 1)[0].lower()
    if first in _COMMON:
        s = s[:1].lower() + s[1:]
    return s


def _courrier(p) -> dict[str, Any]:
    date = dates.format_date(p.date) if p.date else ""
    # The date is often already in the title (« Courriel du 12 mars 2025 »): never say it twice.
    complement = f", le {date}" if date and date not in p.titre else ""
    kind = _kind(p.titre)
    # « courriel du 12 septembre 2025 » when the title says what it is; the title is user text otherwise.
    if kind:
        nom = kind[0] + (f" du {date}" if date else "")
    else:
        nom = f"{p.titre}{complement}"
    return {"numero": p.numero, "titre": p.titre, "date": date, "complement_date": complement,
            "nom": nom, "genre": kind[1] if kind else "", "connu": kind is not None}


def _courriers_text(courriers: list[dict[str, Any]], g: dict[str, str], anef: bool) -> dict[str, Any]:
    """The written requests: one sentence for one letter, a list ending « . » for several."""
    what = ("signalé à la préfecture l'impossibilité de déposer sa demande" if anef
            else "sollicité un rendez-vous auprès de la préfecture")
    if not courriers:
        return {"phrase": "", "intro": "", "lignes": [], "conclusion": "", "utilite": ""}
    if len(courriers) == 1:
        c = courriers[0]
        ref = f"(pièce n° {c['numero']})"
        if c["connu"]:
            this = ("cette " if c["genre"] == "f" else "ce ") + c["nom"].split(" du ")[0]
            restee = "restée" if c["genre"] == "f" else "resté"
            phrase = f"Par {c['nom']} {ref}, {g['le_requerant']} a {what} ; {this} est {restee} sans réponse."
        else:
            phrase = (f"{g['Le_requerant']} a {what} par une demande écrite {ref}, restée sans réponse.")
        return {"phrase": grammaire.typo(phrase), "intro": "", "lignes": [], "conclusion": "",
                "utilite": "d'une demande écrite restée sans réponse"}
    lignes = []
    for k, c in enumerate(courriers):
        end = " ;" if k < len(courriers) - 1 else "."
        lignes.append(f"{c['nom']} (pièce n°\u00a0{c['numero']}){grammaire.typo(end)}")
    return {"phrase": "", "intro": grammaire.typo(f"{g['Le_requerant']} a en outre {what} par écrit :"),
            "lignes": lignes, "conclusion": "Ces demandes sont restées sans réponse.",
            "utilite": "de demandes écrites restées sans réponse"}


def _titre_phrase(case: Case, inv: Inventory, g: dict[str, str], on: dt.date) -> str:
    """« Il est titulaire d'un certificat de résidence algérien « salarié », qui expire le … (pièce n° 2). »
    French typography applies to the requête's words only: the titre is printed as written."""
    proc = case.procedure
    exp = proc.expiration_titre
    past = bool(exp and exp < on)
    ref = next((f" (pièce n°\u00a0{p.numero})" for p in inv.pieces if p.categorie == "titre_sejour"), "")
    when = f", qui {'a expiré' if past else 'expire'} le {dates.format_date(exp)}" if exp else ""
    if proc.titre_actuel:
        full = grammaire.titre_indefini(proc.titre_actuel)  # « d'une » + the titre, its capital maybe lowered
        cut = len(full) - len(proc.titre_actuel.strip())
        return (f"{g['Il']} {'était' if past else 'est'} titulaire {full[:cut].replace(chr(39), chr(0x2019))}"
                f"{grammaire.guillemets(full[cut:])}{grammaire.typo(when)}{ref}.")
    if exp:
        return f"Son titre de séjour {'a expiré' if past else 'expire'} le {dates.format_date(exp)}{ref}."
    return ""


def _precisions_phrase(proc) -> str:
    """Kept for custom templates of the first releases; the built-in one joins the précisions into the
    sentence of the object (faits.objet)."""
    text = (proc.precisions or "").strip().rstrip(" .")
    if not text or proc.type == "autre":
        return ""
    return f"Objet précis de la demande\u00a0: {text}."


# --- rendering ------------------------------------------------------------------------------

FILTERS = {
    "date_fr": lambda v: dates.format_date(dates.parse_date(v)) if v else "",
    "montant_fr": lambda v: dates.format_amount(float(v)) if v not in (None, "") else "",
    "majuscules": lambda v: str(v).upper(),
    "nombre_fr": lambda v: dates.format_number(int(v)),
}


def jinja_env() -> jinja2.Environment:
    """The one Jinja environment of refere: sandboxed, strict, bounded (see modeles.sandbox)."""
    return make_env(FILTERS)


_SHARED: list[jinja2.Environment] = []


def shared_env() -> jinja2.Environment:
    """One environment for the renders of this process that set no option of their own: each
    part of a template is compiled once (SandboxEnv caches it by its text), not once per case
    (batch, the web pages); compiling was most of a requête's time."""
    if not _SHARED:
        _SHARED.append(jinja_env())
    return _SHARED[0]


def render(ctx: dict[str, Any], out: Path, template: Path | None = None) -> None:
    """Fill the template (a custom one is checked first by the caller: requete.verifier.check)."""
    path = template or default_template()
    if template is None or path.resolve() == default_template().resolve():
        _render_to(path, ctx, out)  # our own template: no child process, no wait
    else:
        # A custom template is filled in a child process killed at the wall-clock limit, whatever
        # it is doing (the sandbox's counters bound each operation, this bounds the whole).
        try:
            limite.run(_render_to, path, ctx, out)
        except limite.TooSlow:
            out.unlink(missing_ok=True)
            raise TemplateError(report(path, [limite.too_slow()], build=True)) from None
    docxzip.normalize(out)
    # What the template wrote may itself fetch (a field code, an external image): never filed.
    if problems := docxzip.safety_problems(out, sizes=False):
        out.unlink()
        raise TemplateError(report(path, problems, build=True))


def _render_to(path: Path, ctx: dict[str, Any], out: Path) -> None:
    tpl = render_docx(path, shared_env(), ctx)
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
    # LibreOffice reads « ; », « # », « %20 » in a path as parts of a URL (attack 30: « cas;1 » refused):
    # it works in a folder of its own on plain relative names, its profile given as a proper file URL.
    with tempfile.TemporaryDirectory(prefix="refere-lo-") as profile, tempfile.TemporaryDirectory() as work:
        shutil.copyfile(docx, Path(work) / "requete.docx")
        cmd = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", ".", "requete.docx"]
        try:
            res = subprocess.run(cmd, capture_output=True, timeout=300, cwd=work, env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired:
            raise ToolMissing("LibreOffice n'a pas converti la requête en PDF en 5 minutes") from None
        produced = Path(work) / "requete.pdf"
        if res.returncode != 0 or not produced.exists():
            raise ToolMissing(f"LibreOffice n'a pas pu convertir la requête en PDF (code de sortie {res.returncode}) : "
                              "ouvrez requete.docx et exportez-le en PDF")  # its own words are English
        shutil.move(produced, out)
    _strip_pdf_dates(out)


_FONT_ATTR = re.compile(rb'w:ascii="([^"]+)"')


def _asked_fonts(docx: Path) -> list[str]:
    """The fonts the document's own text asks for: the default and « Normal » styles, the body, headers
    and footers (not every style a template carries and never uses)."""
    import zipfile

    asked: dict[str, None] = {}
    with zipfile.ZipFile(docx) as z:
        for name in z.namelist():
            data = z.read(name) if re.fullmatch(r"word/(document|header\d*|footer\d*|styles)\.xml", name) else b""
            if name == "word/styles.xml":  # the defaults and « Normal » only
                data = b"".join(re.findall(rb"<w:docDefaults>.*?</w:docDefaults>", data, re.S)
                                + re.findall(rb'<w:style [^>]*w:styleId="Normal".*?</w:style>', data, re.S))
            for m in _FONT_ATTR.finditer(data):
                asked.setdefault(m[1].decode("utf-8", "replace"), None)
    return [f for f in asked if f.lower() not in ("symbol", "wingdings")]


def missing_fonts(docx: Path, pdf: Path) -> list[str]:
    """« la police « Garamond » … » for each font the document asks for that LibreOffice replaced in the
    PDF (not installed on this computer): the PDF's layout differs from Word's."""
    import pikepdf

    def key(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", name.lower())

    used: set[str] = set()
    with pikepdf.open(pdf) as doc:
        for page in doc.pages:
            for font in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
                base = str(font.get("/BaseFont", "")).lstrip("/")
                used.add(key(base.split("+", 1)[-1].split("-", 1)[0].split(",", 1)[0]))
    shown = ", ".join(sorted(used)) or "une autre police"
    out = []
    for f in _asked_fonts(docx):
        if key(f) not in used and not any(u.startswith(key(f)) for u in used):
            out.append(f"la police « {f} » du modèle n'est pas installée sur cet ordinateur : requete.pdf est "
                       f"écrit avec une autre police ({shown}), sa mise en page diffère de celle de Word. Installez "
                       "la police puis reconstruisez, ou enregistrez le PDF depuis Word")
    return out


def _strip_pdf_dates(path: Path) -> None:
    import pikepdf

    # LibreOffice's checksum and /ID differ per run (attack 20): removed, qpdf's /ID made from the content.
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for holder, key in [(pdf.docinfo, k) for k in ("/CreationDate", "/ModDate", "/Author", "/Creator")] + [
                (pdf.Root, "/Metadata"), (pdf.trailer, "/DocChecksum"), (pdf.trailer, "/ID")]:
            if key in holder:
                del holder[key]
        pdf.save(path, deterministic_id=True)


# --- the attempts calendar (refere/calendrier.py) -------------------------------------------

def _citation(message: str) -> str:
    """« « Il n'existe plus de plage horaire libre … ultérieurement. » », the sentence ended once."""
    body = " ".join(message.split())
    if not body:
        return ""
    return grammaire.typo(f"« {body} »" + ("" if body[-1] in ".!?" else "."))


def _pictures(inv: Inventory, report: Report) -> dict[str, Any]:
    """The attempts calendar (a picture and its text equivalent) and what the captures show."""
    from refere.preuves import calendrier, lecture

    times = [a.date for a in inv.attempts]
    summary = lecture.summary(report.lecture) if report.lecture is not None else {}
    return {
        # The template's caption is the only title; at most the A4 text block's height, caption beside.
        "calendrier": Picture(calendrier.png_bytes(times, title=False), width_mm=160, max_height_mm=215),
        "calendrier_texte": calendrier.texte(times),
        # « Chacune des 10 captures » beside « dix tentatives »: the same number, written the same way.
        "lecture": {"phrase": grammaire.typo(re.sub(r"^Chacune des (\d+) ",
                                                    lambda m: f"Chacune des {grammaire.nombre(int(m[1]))} ",
                                                    summary.get("phrase", ""))),
                    "message": summary.get("message_commun", ""),
                    "citation": _citation(summary.get("message_commun", ""))},
    }
