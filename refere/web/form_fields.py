"""The case form's inputs: which fields, under which case-format paths, with which labels and choices;
where each loader problem is shown, and a field path said in the form's own words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from refere.affaire import departements
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


CATEGORY_LABELS = {
    "identite": "identité (passeport, carte d'identité)",
    "titre_sejour": "titre de séjour, récépissé",
    "domicile": "justificatif de domicile",
    "courrier_prefecture": "courrier ou courriel à la préfecture",
    "urgence": "preuve de l'urgence (contrat, lettre…)",
    "autre": "autre",
}
MOTIF_LABELS = {
    "emploi": "emploi menacé", "promesse_embauche": "promesse d'embauche", "droits_sociaux": "droits sociaux",
    "etudes": "études", "famille": "famille", "sante": "santé", "logement": "logement", "autre": "autre",
}
DILIGENCE_LABELS = {
    "centre_contact_citoyen": "centre de contact citoyen (ANEF)", "point_accueil_numerique": "point d'accueil numérique",
    "courrier": "courrier", "courriel": "courriel", "autre": "autre",
}
# What the applicant would say (the court's wording, « le renouvellement de son titre… », is for the requête).
PROCEDURE_LABELS = {
    "premiere_demande_titre_sejour": "Première demande de titre de séjour",
    "renouvellement_titre_sejour": "Renouvellement de mon titre de séjour",
    "changement_de_statut": "Changement de statut (par exemple étudiant → salarié)",
    "admission_exceptionnelle_sejour": "Admission exceptionnelle au séjour (régularisation)",
    "duplicata_titre": "Duplicata de mon titre de séjour (perdu, volé, abîmé)",
    "changement_situation": "Déclaration d'un changement de situation (adresse, état civil…)",
    "remise_titre": "Retrait de mon titre de séjour (il est prêt)",
    "recueil_biometrie": "Prise d'empreintes et de photo (biométrie)",
    "delivrance_recepisse": "Obtenir un récépissé",
    "document_circulation_mineur": "Document de circulation pour un enfant mineur",
    "naturalisation": "Dépôt d'une demande de naturalisation",
    "autre": "Autre démarche (précisez ci-dessous)",
}
PROCEDURE_LABELS.update({k: v[0].upper() + v[1:] for k, v in PROCEDURES.items() if k not in PROCEDURE_LABELS})
CIVILITES = (("", "—"), ("M.", "M."), ("Mme", "Mme"))


def departement_choices() -> tuple[tuple[str, str], ...]:
    return (("", "— choisir —"),) + tuple((d.code, f"{d.code} — {d.nom}") for d in departements.table().values())


SECTIONS: tuple[Section, ...] = (
    Section("requerant", "La personne qui demande le rendez-vous", (
        Field("civilite", "Civilité", "select", CIVILITES),
        Field("nom", "Nom de famille", required=True),
        Field("prenoms", "Prénoms", required=True),
        Field("nom_usage", "Nom d'usage (facultatif)"),
        Field("date_naissance", "Date de naissance", "date", required=True),
        Field("lieu_naissance", "Lieu de naissance", help="Ville (pays), par exemple : Conakry (Guinée)", required=True),
        Field("nationalite", "Nationalité", help="Par exemple : guinéenne", required=True),
        Field("adresse", "Adresse postale", "textarea", help="Sur plusieurs lignes, comme sur une enveloppe", required=True),
        Field("telephone", "Téléphone (facultatif)", "tel"),
        Field("courriel", "Courriel (facultatif)", "email"),
        Field("numero_etranger", "Numéro étranger AGDREF (facultatif)",
              help="Le numéro à 10 chiffres imprimé sur le titre de séjour ou le récépissé (« N° étranger »)."),
    )),
    Section("procedure", "La démarche et la voie", (
        Field("type", "Démarche", "select", _opts(PROCEDURES, PROCEDURE_LABELS, "— choisir —"), required=True),
        Field("voie", "Ce qui bloque", "select", _opts(("anef",), {"anef": "le téléservice ANEF"},
                                                        "la page de rendez-vous de la préfecture")),
        Field("titre_actuel", "Titre actuel (facultatif)", help="Par exemple : carte de séjour temporaire « salarié »"),
        Field("expiration_titre", "Date d'expiration du titre (facultatif)", "date"),
        Field("precisions", "Précisions (obligatoire si « autre »)", "textarea"),
        Field("oqtf", "Une obligation de quitter le territoire (OQTF) a été notifiée", "check",
              help="Une OQTF est une décision écrite du préfet qui demande de quitter la France. Cochez seulement si vous en avez reçu une."),
    )),
    Section("prefecture", "La préfecture", (
        Field("departement", "Département", "select", (), required=True),
        Field("site", "Lieu du rendez-vous (facultatif)", help="Par exemple : Sous-préfecture du Raincy"),
        Field("url_rendez_vous", "Adresse de la page de rendez-vous (facultatif)", "url"),
    )),
    Section("conseil", "Avocat ou association (facultatif)", (
        Field("qualite", "Qualité", "select", (("", "— personne —"), ("avocat", "avocat"), ("association", "association"))),
        Field("civilite", "Civilité", "select", CIVILITES),
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
        Field("rdv_au_plus_tard", "Rendez-vous au plus tard le (facultatif)", "date"),
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
    Field("note", "Note"),
)
PIECE_FIELDS = (
    Field("titre", "Titre"),
    Field("categorie", "Catégorie", "select", _opts(CATEGORIES, CATEGORY_LABELS, "— (autre) —")),
    Field("id", "Identifiant court (facultatif)", help="Pour le citer dans l'urgence : contrat, employeur…"),
    Field("date", "Date du document (facultatif)", "date"),
)
# Same meaning, two spellings: only one is offered (the one the file has, else the blank default).
SAME_AS_BLANK = {"captures": "par_semaine"}


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


def place(problems, paths: list[str]) -> tuple[dict[str, list[str]], list]:
    """Loader problems by input path (the longest input path that the problem's field starts with)."""
    known = set(paths)
    by_path: dict[str, list[str]] = {}
    general = []
    for p in problems:
        if unknown_key(p):  # shown on top, with the button that removes it
            general.append(p)
            continue
        f = p.field
        target = None
        while f:
            if f in known:
                target = f
                break
            f = re.sub(r"(\[\d+\]|\.[^.\[\]]+)$", "", f) if re.search(r"(\[\d+\]|\.[^.\[\]]+)$", f) else ""
        if target is None and p.field in ("tribunal",):
            target = None
        if target is None:
            general.append(p)
        else:
            by_path.setdefault(target, []).append(p.message)
    return by_path, general


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

_ITEM_NAMES = {"tentatives": "tentative", "pieces": "pièce", "urgence": "fait d'urgence", "diligences": "démarche"}
_LIST_NAMES = {"tentatives": "la liste des tentatives", "pieces": "la liste des pièces",
               "urgence": "les faits d'urgence", "diligences": "les démarches déjà faites"}
_EXTRA_LABELS = {"capture": "capture", "fichier": "fichier", "fichiers": "fichiers", "preuves": "preuves",
                 "heure": "heure"}


def _label_of(fields, key: str) -> str:
    for f in fields:
        if f.key == key:
            label = re.sub(r"\s*\([^)]*\)$", "", f.label)
            return label[0].lower() + label[1:]
    return _EXTRA_LABELS.get(key, key.replace("_", " "))


def field_label(dotted: str) -> str:
    """« tentatives[11].capture » → « tentative n° 12, capture »: counting from 1, the form's words."""
    m = re.fullmatch(r"(\w+)\[(\d+)\](?:\.(\w+))?(.*)", dotted or "")
    if m and m[1] in _ITEM_NAMES:
        out = f"{_ITEM_NAMES[m[1]]} n° {int(m[2]) + 1}"
        if m[3]:
            out += ", " + _label_of(LISTS[m[1]], m[3])
        return out + (m[4] or "")
    if dotted in _LIST_NAMES:
        return _LIST_NAMES[dotted]
    head, _, key = (dotted or "").partition(".")
    for sec in SECTIONS:
        if sec.key == head and key:
            return f"{sec.title[0].lower() + sec.title[1:]} : {_label_of(sec.fields, key.split('.')[0])}"
        if not sec.key and not key and any(f.key == head for f in sec.fields):
            return _label_of(sec.fields, head)
    return dotted
