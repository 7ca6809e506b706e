"""The case form's inputs: which fields, under which case-format paths, with which labels and choices;
where each loader problem is shown, and a field path said in the form's own words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from refere.affaire import departements
from refere.affaire.libelles import (CATEGORY_LABELS, DILIGENCE_LABELS, MOTIF_LABELS,  # noqa: F401
                                     PROCEDURE_LABELS, field_words)
from refere.affaire import libelles


def hide_server_path(text: str) -> str:
    """« (cherché dans /home/…/diallo-a) »: a folder on the server, not the person's; the file's own name says
    which (the command line keeps the path, typed by its user)."""
    return re.sub(r" \(cherché dans [^()]*\)", " (dans le dossier de l'affaire)", text)


def words(message: str, field: str = "", originals: dict[str, str] | None = None) -> str:
    """refere.affaire.libelles.words, for a page; a file the web stored (« captures/sans-date-cd30….jpg ») is
    named as the person sent it (« IMG-WA0017.jpg »), as on « Captures »."""
    text = hide_server_path(libelles.words(message, field))
    for stored in sorted(originals or {}, key=len, reverse=True):
        text = text.replace(f"« {stored} »", f"« {originals[stored]} »")
    return text


def problem_words(p) -> str:
    return hide_server_path(libelles.problem_words(p))
from refere.affaire.model import AIDE_JURIDICTIONNELLE, CATEGORIES, DILIGENCES, MOTIFS, PROCEDURES


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str = "text"  # text | textarea | date | select | check | number | email | tel | url
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    required: bool = False


@dataclass(frozen=True)
class Section:
    key: str  # "" for top-level fields
    title: str
    fields: tuple[Field, ...]
    help: str = ""
    nullable: bool = False  # the whole mapping may be null (conseil)


def _opts(values, labels: dict[str, str] | None = None, blank: str | None = None) -> tuple[tuple[str, str], ...]:
    out = [("", blank)] if blank is not None else []
    out += [(v, (labels or {}).get(v, v.replace("_", " "))) for v in values]
    return tuple(out)


CIVILITES = (("", "—"), ("M.", "M."), ("Mme", "Mme"))


def departement_choices() -> tuple[tuple[str, str], ...]:
    return (("", "— choisir —"),) + tuple((d.code, f"{d.code} — {d.nom}") for d in departements.table().values())


SECTIONS: tuple[Section, ...] = (
    Section("requerant", "La personne qui demande le rendez-vous", (
        Field("civilite", "Civilité", "select", CIVILITES,
              help="La requête écrit « il » ou « elle », « né » ou « née », selon la civilité."),
        Field("nom", "Nom de famille", required=True),
        Field("prenoms", "Prénoms", required=True),
        Field("nom_usage", "Nom d'usage (facultatif)"),
        Field("date_naissance", "Date de naissance", "date", required=True),
        Field("lieu_naissance", "Lieu de naissance", help="Ville (pays), par exemple : Conakry (Guinée)", required=True),
        Field("nationalite", "Nationalité", help="Par exemple : guinéenne", required=True),
        Field("adresse", "Adresse postale", "textarea", help="Sur plusieurs lignes, comme sur une enveloppe", required=True),
        Field("telephone", "Téléphone (facultatif)", "tel",
              help="Imprimé dans la requête et la lettre : 10 chiffres pour un numéro français (06 12 34 56 78)."),
        Field("courriel", "Courriel (facultatif)", "email"),
        Field("numero_etranger", "Numéro étranger AGDREF (facultatif)",
              help="Le numéro à 10 chiffres imprimé sur le titre de séjour ou le récépissé (« N° étranger »)."),
        Field("heberge_par", "Hébergé par (facultatif)",
              help="Si l'adresse est celle d'une personne qui vous héberge (attestation d'hébergement) : son nom, "
                   "par exemple « M. Sékou Diallo ». La requête écrira « hébergé chez … »."),
    )),
    Section("", "La situation personnelle (facultatif)", (
        Field("situation", "Situation personnelle", "textarea",
              help="Quelques phrases à la troisième personne : entrée en France, durée de résidence, famille, "
                   "travail (« Mme HADDAD est entrée en France en 2016 ; elle… »). Imprimée telle quelle dans la requête."),
        Field("preuves_situation", "Pièces qui prouvent la situation", "preuves",
              help="Les identifiants des pièces (voir « Pièces »), séparés par des virgules : livret-famille, bail…"),
    )),
    Section("procedure", "La démarche et la voie", (
        Field("type", "Démarche", "select", _opts(PROCEDURES, PROCEDURE_LABELS, "— choisir —"), required=True),
        # Short choices: a phone's select shows one line, cut at about 30 characters.
        Field("voie", "Ce qui bloque", "select", _opts(("anef",), {"anef": "le téléservice ANEF"},
                                                        "le site de rendez-vous"),
              help="Le site de prise de rendez-vous de la préfecture, ou le téléservice ANEF (la demande de titre en ligne)."),
        Field("titre_actuel", "Titre actuel (facultatif)", help="Par exemple : carte de séjour temporaire « salarié »"),
        Field("expiration_titre", "Date d'expiration du titre (facultatif)", "date"),
        Field("precisions", "Précisions (obligatoire si « autre »)", "textarea"),
        Field("oqtf", "Une obligation de quitter le territoire (OQTF) a été notifiée", "check",
              help="Une OQTF est une décision écrite du préfet qui demande de quitter la France. Cochez seulement si vous en avez reçu une."),
        Field("sans_mesure_eloignement", "Aucune mesure d'éloignement n'a été prise", "check",
              help="Cochez si vous n'avez reçu ni OQTF ni autre décision vous demandant de quitter la France : la "
                   "requête le dira (le juge le vérifie, surtout pour une admission exceptionnelle)."),
        Field("explication_retard", "Explication du retard (facultatif)", "textarea",
              help="Si le titre a expiré avant la première tentative : pourquoi les démarches ont commencé après, "
                   "à la troisième personne (« elle était hospitalisée du 2 au 20 septembre »)."),
        Field("preuves_retard", "Pièces qui prouvent le retard (facultatif)", "preuves",
              help="Les identifiants des pièces (voir « Pièces »), séparés par des virgules : bulletin-hospitalisation…"),
        Field("preuves_dossier", "Pièces qui montrent que le dossier est complet (facultatif)", "preuves",
              help="Les identifiants des pièces (voir « Pièces »), séparés par des virgules : la liste des "
                   "documents demandés, cochée, par exemple."),
    )),
    Section("prefecture", "La préfecture", (
        Field("departement", "Département", "select", (), required=True),
        Field("site", "Lieu du rendez-vous (facultatif)", help="Par exemple : Sous-préfecture du Raincy"),
        Field("url_rendez_vous", "Adresse de la page de rendez-vous (facultatif)", "url"),
        Field("adresse", "Adresse de la préfecture (facultatif)", "textarea",
              help="L'adresse postale du service des étrangers (rue, code postal, ville), sur plusieurs lignes : "
                   "elle est imprimée sur la lettre à la préfecture, sous « Préfecture … » et « Service des "
                   "étrangers » (déjà écrits : inutile de les taper), et, dans la requête, sous « CONTRE »."),
    )),
    Section("conseil", "Avocat ou association (facultatif)", (
        Field("qualite", "Qualité", "select", (("", "— personne —"), ("avocat", "avocat"), ("association", "association"))),
        Field("civilite", "Civilité", "select", CIVILITES, help="Celle de l'avocat ou du représentant de l'association."),
        Field("nom", "Nom", help="Sans « Maître »"),
        Field("barreau", "Barreau (avocat)"),
        Field("toque", "Toque (facultatif)"),
        Field("adresse", "Adresse", "textarea"),
        Field("ville", "Ville de signature (facultatif)"),
        Field("courriel", "Courriel", "email"),
        Field("telephone", "Téléphone", "tel"),
        Field("reference", "Référence interne (facultatif)"),
    ), help="Laissez « Qualité » vide si la personne dépose seule.", nullable=True),
    Section("", "Aide juridictionnelle (facultatif)", (
        Field("aide_juridictionnelle", "Aide juridictionnelle", "select", help=(
              "L'État prend en charge l'avocat et les frais si vos ressources sont faibles. Vous pouvez la demander "
              "« à titre provisoire » dans la requête, puis remplir le formulaire de demande (sur service-public.fr)."), choices=
              _opts(AIDE_JURIDICTIONNELLE, {"demandee": "demandée (à titre provisoire)", "obtenue": "obtenue"}, "— non —")),
        Field("decision_aj", "Décision d'aide juridictionnelle (si obtenue)", help="Bureau, numéro et date"),
    )),
    Section("demandes", "Ce qui est demandé au juge", (
        Field("delai_jours", "Délai donné au préfet (jours)", "number",
              help="Le nombre de jours que le juge laisse au préfet pour vous donner le rendez-vous, une fois sa décision connue. Vide : 15 jours."),
        Field("rdv_au_plus_tard", "Rendez-vous au plus tard le (facultatif)", "date",
              help="Une date avant l'échéance (fin du titre, du contrat…) : demander plus tard dit au juge qu'il n'y a pas d'urgence."),
        Field("rdv_sous_jours", "Ou : rendez-vous sous (jours, facultatif)", "number"),
        Field("astreinte_par_jour", "Astreinte par jour de retard, en euros (facultatif)", "number",
              help="Une somme que le préfet devrait payer pour chaque jour de retard après le délai. Le juge décide ; vide : rien n'est demandé."),
        Field("frais_l761_1", "Frais demandés, en euros (facultatif)", "number",
              help="Le remboursement de vos frais de procédure (article L. 761-1 du code de justice administrative), souvent demandé par un avocat. Vide : rien n'est demandé."),
    )),
    Section("signature", "Signature", (
        Field("lieu", "Lieu (facultatif)", help="Par défaut : la ville de l'adresse"),
        Field("date", "Date (facultatif)", "date", help="Par défaut : le jour de la construction"),
    )),
    Section("options", "Présentation", (
        Field("captures", "Regrouper les captures", "select", (
            ("", "par semaine (conseillé)"), ("par_semaine", "par semaine (conseillé)"),
            ("par_tentative", "une pièce par tentative"), ("unique", "une seule pièce")),
              help="Comment les captures d'écran sont rangées en pièces : une pièce par semaine de tentatives suffit au juge."),
    )),
)

URGENCE_FIELDS = (
    Field("motif", "Motif", "select", _opts(MOTIFS, MOTIF_LABELS, "— (autre) —")),
    Field("fait", "Le fait, à la troisième personne", "textarea",
          help="Écrivez « il » ou « elle », pas « je » : « son contrat de travail prend fin le 31 mai 2025 »."),
    Field("echeance", "Échéance (facultatif)", "date"),
    Field("preuves", "Pièces qui le prouvent (identifiants, séparés par des virgules)"),
)
DILIGENCE_FIELDS = (
    Field("date", "Date", "date"),
    Field("type", "Type", "select", _opts(DILIGENCES, DILIGENCE_LABELS, "— (autre) —")),
    Field("description", "Ce qui a été fait, et la réponse", "textarea"),
    Field("preuves", "Pièces qui le prouvent (identifiants, séparés par des virgules)"),
)
TENTATIVE_FIELDS = (
    Field("date", "Date et heure", "datetime"),
    Field("resultat", "Résultat", help="Par défaut : aucun créneau disponible"),
    Field("note", "Note", help="Imprimée dans la requête, entre parenthèses après le résultat, dans le tableau des "
                               "tentatives : écrivez-la pour le juge (« page bloquée après l'étape 2 »)."),
)
PIECE_FIELDS = (
    Field("titre", "Titre"),
    Field("categorie", "Catégorie", "select", _opts(CATEGORIES, CATEGORY_LABELS, "— (autre) —")),
    Field("id", "Identifiant court (facultatif)", help="Pour le citer dans l'urgence : contrat, employeur…"),
    Field("date", "Date du document (facultatif)", "date"),
)
# Same meaning, two spellings: only one is offered (the one the file has, else the blank default).
SAME_AS_BLANK = {"captures": "par_semaine", "categorie": "autre", "motif": "autre"}


def choices_for(f: Field, shown: str) -> tuple[tuple[str, str], ...]:
    twin = SAME_AS_BLANK.get(f.key)
    if twin is None:
        return f.choices
    drop = "" if shown == twin else twin
    return tuple(c for c in f.choices if c[0] != drop)


LISTS = {"urgence": URGENCE_FIELDS, "diligences": DILIGENCE_FIELDS, "tentatives": TENTATIVE_FIELDS,
         "pieces": PIECE_FIELDS}


def path(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key


# ---------------------------------------------------------------- where problems are shown


def all_paths(doc: Any) -> list[str]:
    """Every input path the case form shows, to place each loader problem next to its input."""
    out = [path(s.key, f.key) for s in SECTIONS for f in s.fields]
    for name, fields in LISTS.items():
        seq = doc.get(name)
        n = len(seq) if isinstance(seq, list) else 0
        out += [f"{name}[{i}].{f.key}" for i in range(n) for f in fields]
        out += [f"{name}[{i}]" for i in range(n)]
        out.append(name)
    out += [f"tentatives[{i}].capture" for i in range(len(doc.get("tentatives") or []))]
    out += [f"pieces[{i}].fichier" for i in range(len(doc.get("pieces") or []))]
    return out


UNKNOWN_KEY = re.compile(r"^champ inconnu « ([^»]+) »")


def unknown_key(problem) -> str | None:
    """The key a « champ inconnu » loader problem names (its field path ends with it), else None."""
    m = UNKNOWN_KEY.match(problem.message or "")
    if not m or not problem.field or not re.search(rf"(^|\.){re.escape(m[1])}$", problem.field):
        return None
    return m[1]


def parent_path(dotted: str) -> str:
    """« tentatives[3].date » → « tentatives[3] » → « tentatives » → « »."""
    return re.sub(r"(\[\d+\]|\.[^.\[\]]+)$", "", dotted) if re.search(r"(\[\d+\]|\.[^.\[\]]+)$", dotted) else ""


def _nearest(dotted: str, known: set[str]) -> str:
    f = dotted or ""
    while f and f not in known:
        f = parent_path(f)
    return f


def place(problems, paths: list[str]) -> tuple[dict[str, list[str]], list]:
    """Loader problems by input path (the longest input path that the problem's field starts with),
    in the form's words."""
    known = set(paths)
    by_path: dict[str, list[str]] = {}
    general = []
    for p in problems:
        if unknown_key(p):  # shown on top, with the button that removes it
            general.append(p)
            continue
        target = _nearest(p.field, known)
        if not target:
            general.append(p)
        else:
            by_path.setdefault(target, []).append(words(p.message, p.field))
    return by_path, general


# Paths with no input of their own on their page: the link opens the row that shows them.
_NO_INPUT = re.compile(r"(tentatives\[\d+\])\.(capture|resultat)|(pieces\[\d+\])\.fichiers?")
PAGES = {"tentatives": "captures_page", "pieces": "pieces_page"}


def page_of(dotted: str) -> str:
    """The page where a field is corrected: captures, pièces, or the form."""
    return PAGES.get(re.split(r"[.\[]", dotted or "")[0], "case_form")


def anchor(dotted: str, doc: Any) -> str:
    """The id a « Corriger » link opens the page at: the field's own input, else its row, else its list."""
    if not dotted or not isinstance(doc, dict):
        return ""
    found = _nearest(dotted, set(all_paths(doc)))
    m = _NO_INPUT.fullmatch(found)
    return (m[1] or m[3]) if m else found


FOLDED = ("conseil", "", "options")  # rarely needed: folded on a phone unless filled or wrong


def section_open(doc: Any, sec: Section, errors: dict) -> bool:
    if sec.key not in FOLDED:
        return True
    target = doc.get(sec.key) if sec.key else doc
    names = [path(sec.key, f.key) for f in sec.fields]
    if any(n in errors for n in names):
        return True
    if not isinstance(target, dict):
        return False
    return any(target.get(f.key) not in (None, "", False) for f in sec.fields)


# ---------------------------------------------------------------- field paths in plain words


def field_label(dotted: str) -> str:
    """« tentatives[11].capture » → « tentative n° 12, capture »: the form's words (refere.affaire.libelles)."""
    return field_words(dotted)


def without_line(text: str) -> str:
    """« dossier.yaml:12 — tentative n° 3, … » (the CLI's line, for an editor) → « tentative n° 3, … » on a page."""
    # Anywhere in the text: a batch error joins several such lines on one (present.one_line).
    return re.sub(r"(^|(?<=: )|(?<=; ))\S*dossier\.yaml:\d+ — ", "", text or "")
