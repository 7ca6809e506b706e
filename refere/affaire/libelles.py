"""The case file's fields and messages in the words of the form, for a person.

« tentatives[3].capture » → « tentative n° 4, capture » ; « valeur à compléter (« À COMPLÉTER ») » →
« à remplir » ; « catégorie « courrier_prefecture » » → « catégorie « courrier ou courriel à la
préfecture » ». Used by the web pages, the CLI's text and rapport.csv; the technical path stays in
the --json output (and in the Problem itself).
"""

from __future__ import annotations

import datetime as dt
import re

from refere import dates
from refere.affaire.model import PROCEDURES

# The choices of the case format, in words (the web's select boxes and « refere init --interactif »).
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

SECTION_TITLES = {
    "requerant": "la personne qui demande le rendez-vous", "procedure": "la démarche et la voie",
    "prefecture": "la préfecture", "conseil": "avocat ou association", "demandes": "ce qui est demandé au juge",
    "signature": "signature", "options": "présentation",
}
# Each field as the form names it (without « (facultatif) »); a test checks they agree with the form.
FIELD_WORDS = {
    "requerant.civilite": "civilité", "requerant.nom": "nom de famille", "requerant.prenoms": "prénoms",
    "requerant.nom_usage": "nom d'usage", "requerant.date_naissance": "date de naissance",
    "requerant.lieu_naissance": "lieu de naissance", "requerant.nationalite": "nationalité",
    "requerant.adresse": "adresse postale", "requerant.telephone": "téléphone", "requerant.courriel": "courriel",
    "requerant.numero_etranger": "numéro étranger AGDREF",
    "procedure.type": "démarche", "procedure.voie": "ce qui bloque", "procedure.titre_actuel": "titre actuel",
    "procedure.expiration_titre": "date d'expiration du titre", "procedure.precisions": "précisions",
    "procedure.oqtf": "une obligation de quitter le territoire (OQTF) a été notifiée",
    "prefecture.departement": "département", "prefecture.site": "lieu du rendez-vous",
    "prefecture.url_rendez_vous": "adresse de la page de rendez-vous", "prefecture.adresse": "adresse de la préfecture",
    "conseil.qualite": "qualité", "conseil.civilite": "civilité", "conseil.nom": "nom", "conseil.barreau": "barreau",
    "conseil.toque": "toque", "conseil.adresse": "adresse", "conseil.ville": "ville de signature",
    "conseil.courriel": "courriel", "conseil.telephone": "téléphone", "conseil.reference": "référence interne",
    "aide_juridictionnelle": "aide juridictionnelle", "decision_aj": "décision d'aide juridictionnelle",
    "demandes.delai_jours": "délai donné au préfet", "demandes.rdv_au_plus_tard": "rendez-vous au plus tard le",
    "demandes.rdv_sous_jours": "ou : rendez-vous sous", "demandes.astreinte_par_jour": "astreinte par jour de retard, en euros",
    "demandes.frais_l761_1": "frais demandés, en euros",
    "signature.lieu": "lieu", "signature.date": "date",
    "procedure.explication_retard": "explication du retard", "procedure.preuves_retard": "pièces qui prouvent le retard",
    "situation": "situation personnelle", "preuves_situation": "pièces qui prouvent la situation",
    "requerant.heberge_par": "hébergé par",
    "procedure.sans_mesure_eloignement": "aucune mesure d'éloignement n'a été prise",
    "procedure.preuves_dossier": "pièces qui montrent que le dossier est complet",
    "options.captures": "regrouper les captures",
    "urgence.motif": "motif", "urgence.fait": "le fait, à la troisième personne", "urgence.echeance": "échéance",
    "urgence.preuves": "pièces qui le prouvent",
    "diligences.date": "date", "diligences.type": "type", "diligences.description": "ce qui a été fait, et la réponse",
    "diligences.preuves": "pièces qui le prouvent",
    "tentatives.date": "date et heure", "tentatives.resultat": "résultat", "tentatives.note": "note",
    "tentatives.capture": "capture",
    "pieces.titre": "titre", "pieces.categorie": "catégorie", "pieces.id": "identifiant court",
    "pieces.date": "date du document", "pieces.fichier": "fichier", "pieces.fichiers": "fichiers",
}
ITEM_NAMES = {"tentatives": "tentative", "pieces": "pièce", "urgence": "fait d'urgence", "diligences": "démarche"}
LIST_NAMES = {"tentatives": "la liste des tentatives", "pieces": "la liste des pièces",
              "urgence": "les faits d'urgence", "diligences": "les démarches déjà faites"}
_ADD_ONE = {"tentatives": "ajoutez au moins une tentative", "pieces": "ajoutez au moins une pièce",
            "urgence": "ajoutez au moins un fait d'urgence", "diligences": "ajoutez au moins une démarche"}


def field_words(dotted: str) -> str:
    """« tentatives[11].capture » → « tentative n° 12, capture »; « requerant.nom » → « la personne qui
    demande le rendez-vous : nom de famille »: counting from 1, the form's words."""
    dotted = original = dotted or ""
    m = re.fullmatch(r"(\w+)\[(\d+)\](?:\.(\w+))?(.*)", dotted)
    if m and m[1] in ITEM_NAMES:
        out = f"{ITEM_NAMES[m[1]]} n° {int(m[2]) + 1}"
        if m[3]:
            out += ", " + FIELD_WORDS.get(f"{m[1]}.{m[3]}", m[3].replace("_", " "))
        rest = re.sub(r"^\[(\d+)\]", lambda k: f" n° {int(k[1]) + 1}", m[4] or "")
        return out + rest
    if dotted in LIST_NAMES:
        return LIST_NAMES[dotted]
    # « preuves_situation[0] », « procedure.preuves_retard[1] »: the list in words, then its entry.
    dotted, n = re.subn(r"\[(\d+)\]$", "", dotted)
    entry = f", n° {int(m[1]) + 1}" if n and (m := re.search(r"\[(\d+)\]$", original)) else ""
    head, _, key = dotted.partition(".")
    if head in SECTION_TITLES and key:
        sub = key.split(".")[0]
        return f"{SECTION_TITLES[head]} : {FIELD_WORDS.get(f'{head}.{sub}', sub.replace('_', ' '))}{entry}"
    if head in SECTION_TITLES:
        return SECTION_TITLES[head] + entry
    return FIELD_WORDS.get(dotted, dotted.replace("_", " ")) + entry


# A key written between « » in a message, in the form's words.
_KEY_WORDS = {
    **CATEGORY_LABELS,
    # « titre_actuel », « rdv_au_plus_tard »…: a field named alone in a message, as the form labels it.
    **{k.rsplit(".", 1)[1]: v for k, v in FIELD_WORDS.items()
       if k.split(".")[0] in ("procedure", "demandes", "prefecture") and not k.endswith(".type")},
    **{k: v for k, v in FIELD_WORDS.items() if "." not in k or k.startswith("prefecture.")},
    "pieces": "Pièces", "id": "identifiant court", "preuves": "pièces qui le prouvent", "urgence": "l'urgence",
    "diligences": "démarches déjà faites", "conseil": "avocat ou association", "rdv_sous_jours": "rendez-vous sous",
    "aide_juridictionnelle: obtenue": "aide juridictionnelle : obtenue", "civilite": "civilité",
}


def _choices_for(field: str) -> dict[str, str]:
    """The words of a choice list, for the field a « valeurs possibles » message is about."""
    path = re.sub(r"\[\d+\]", "", field or "")
    return {"pieces.categorie": CATEGORY_LABELS, "urgence.motif": MOTIF_LABELS, "diligences.type": DILIGENCE_LABELS,
            "procedure.type": {k: v[0].lower() + v[1:] for k, v in PROCEDURE_LABELS.items()}}.get(path, {})


def _french_date(m: re.Match) -> str:
    try:
        day = dt.date.fromisoformat(m[1])
    except ValueError:
        return m[0]
    return dates.format_date(day) + (f" à {m[2]}" if m[2] else "")


def words(message: str, field: str = "") -> str:
    """A loader or evidence message as a person reads it on a page: no YAML key, no ISO date, no line."""
    text = message or ""
    if text.startswith("valeur à compléter"):
        return "à remplir"
    if text.startswith("liste vide"):
        return _ADD_ONE.get(re.sub(r"\[.*", "", field), "ajoutez au moins un élément")
    choices = _choices_for(field)
    if choices:
        text = re.sub(r"valeurs possibles : ([a-z_, ]+?)(?= \(|$)", lambda m: "valeurs possibles : " + ", ".join(
            f"« {choices.get(c.strip(), c.strip())} »" for c in m[1].split(",")), text)
    text = re.sub(r"« ([a-z_.]+(?:: [a-z]+)?) »",
                  lambda m: f"« {_KEY_WORDS.get(m[1]) or (field_words(m[1]) if m[1] in FIELD_WORDS else m[1])} »", text)
    text = re.sub(r"(?<![\w/.-])([a-z_]+\.[a-z_0-9]+)(?![\w/.-])",
                  lambda m: f"« {FIELD_WORDS[m[1]]} »" if m[1] in FIELD_WORDS else m[0], text)
    # A date inside a path or a file name (« permanence-2026-12-05/x », « 2026-11-02.png ») stays as written,
    # and so does the form to write one in (« sous la forme 2025-03-03 »: in words, check refused its own advice).
    # A value quoted as the person typed it (« 2025-09-29 10:00 ») stays too: the message is about it.
    text = re.sub(r"(?<![\w/.\\-])(?<!forme )(?<!« )(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}))?(?::\d{2})?(?![\w/\\-]|\.\w)",
                  _french_date, text)
    text = re.sub(r" \((?:ligne \d+|plus haut)\)", "", text)
    return text


def problem_words(p) -> str:
    """One loader problem, for a person: « tentative n° 15, date et heure : date impossible … »."""
    return f"{field_words(p.field)} : {words(p.message, p.field)}" if p.field else words(p.message, p.field)
