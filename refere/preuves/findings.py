"""What a rule or the reader of captures finds: its code, level, French message, and the source
it rests on. Below both, so that the rules and the reader share it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

BLOQUANT = "bloquant"
AVERTISSEMENT = "avertissement"

CE_435594 = "CE, 10 juin 2020, n° 435594"
CE_453391 = "CE, 9 juin 2022, n° 453391"
PRACTICE = "pratique constatée des tribunaux administratifs"
TELERECOURS = "Télérecours citoyens : 32 Mo au plus par fichier"
L521_3 = "L. 521-3 CJA (utilité appréciée au jour de l'ordonnance)"
R431_5 = "R. 431-5 CESEDA"
R431_2 = "R. 431-2 CESEDA ; CE, Section, 3 juin 2022, n° 452798"
R411_1 = "R. 411-1 CJA (identité des parties)"
R412_2 = "R. 412-2 CJA (pièces produites)"
ANEF_HOST = "administration-etrangers-en-france.interieur.gouv.fr"
LOI_91_647 = "loi n° 91-647 du 10 juillet 1991, articles 20 et 37"
FRESH_DAYS = 10  # days between the last attempt and the requête before it looks stale


@dataclass
class Finding:
    code: str
    niveau: str
    message: str
    source: str
    champ: str = ""


# Each code in a few words, for a one-line overview (« refere check DOSSIERS/ », the batch line); the code
# itself stays in --json and in rapport.csv's code columns. A test checks that every documented code has one.
SHORT_WORDS = {
    "meme-personne": "même personne qu'un autre dossier",  # refere.batch.same_people, over a desk's folder
    "semaines-insuffisantes": "tentatives toutes dans la même semaine",
    "piece-illisible": "pièce illisible",
    "capture-illisible": "capture illisible",
    "pdf-trop-lourds": "PDF trop lourds ensemble",
    "urgence-absente": "urgence non décrite",
    "urgence-sans-piece": "urgence sans pièce qui la prouve",
    "urgence-non-argumentee": "urgence écrite seulement à la première personne",
    "moins-de-3-semaines": "moins de 3 semaines de tentatives",
    "moins-de-10-tentatives": "moins de 10 tentatives",
    "moins-de-6-jours": "moins de 6 jours différents",
    "pas-de-courrier": "aucun courrier à la préfecture",
    "tentative-sans-capture": "tentative sans capture",
    "une-seule-tranche-horaire": "tentatives toutes à la même heure de la journée",
    "date-capture-discordante": "date d'une capture différente de la tentative",
    "capture-en-double": "même capture pour deux tentatives",
    "piece-en-double": "même document produit deux fois",
    "capture-produite-en-piece": "capture produite aussi comme pièce",
    "urgence-non-justifiee": "urgence non justifiée",
    "urgence-premiere-personne": "fait d'urgence écrit à la première personne",
    "derniere-tentative-ancienne": "dernière tentative trop ancienne",
    "premiere-tentative-apres-expiration": "tentatives commencées après l'expiration du titre",
    "tentatives-avant-delai": "tentatives trop tôt avant l'expiration du titre",
    "rdv-apres-echeance": "rendez-vous demandé après l'échéance",
    "situation-absente": "situation personnelle non décrite",
    "fait-contredit-titre": "fait d'urgence contredit par le titre encore valable",
    "residu-de-modele": "reste de modèle dans un texte",
    "titre-piece-incoherente": "intitulé de la pièce du titre incohérent",
    "titre-piece-sans-date": "pièce du titre sans date dans son intitulé",
    "piece-sans-date": "pièce de domicile sans date",
    "conseil-sans-civilite": "avocat sans civilité",
    "depot-anef-tardif": "dépôt ANEF tardif",
    "depot-anef-premature": "dépôt ANEF trop tôt",
    "aj-sans-avocat": "aide juridictionnelle demandée sans avocat",
    "aj-sans-piece": "décision d'aide juridictionnelle non jointe",
    "aj-sans-frais": "aide juridictionnelle avec avocat, sans frais demandés",
    "pas-de-piece-identite": "aucune pièce d'identité",
    "pas-de-piece-titre": "titre de séjour non joint",
    "anef-sans-diligence": "démarches auprès de l'ANEF non décrites",
    "anef-sans-courrier": "pas de lettre au préfet demandant la solution de substitution",
    "voie-a-verifier": "voie (rendez-vous ou ANEF) à vérifier",
    "oqtf": "obligation de quitter le territoire notifiée",
    "piece-trop-lourde": "pièce trop lourde pour Télérecours",
    "piece-reparee": "pièce PDF réparée",
    "piece-endommagee": "pièce PDF en partie illisible",
    "capture-sans-message": "capture sans message de refus lu",
    "capture-creneaux-offerts": "capture montrant des créneaux libres",
    "adresse-capture-discordante": "adresse de la page différente de celle déclarée",
    "heure-capture-discordante": "heure d'une capture différente de la tentative",
    "capture-floue": "capture floue",
    "capture-pas-une-page": "capture qui ne ressemble pas à une page de rendez-vous",
    "piece-autre-nom": "pièce au nom d'une autre personne",
    "capture-non-lue": "capture non lue",
    "texte-sans-sujet": "texte qui ne nomme pas la personne",
    "travail-non-autorise": "texte qui avoue un travail sans autorisation",
    "urgence-fond": "vie familiale donnée comme urgence (c'est le fond)",
    "urgence-sans-lien": "fait d'urgence sans lien avec le rendez-vous",
    "requerant-sans-civilite": "personne sans civilité",
    "telephone-incomplet": "numéro de téléphone incomplet",
    "hebergement-sans-hebergeant": "hébergement sans le nom de l'hébergeant",
    "eloignement-non-precise": "absence de mesure d'éloignement non précisée",
    "recepisse-intitule": "intitulé du récépissé sans « renouvellement »",
    "bordereau-lettres-absentes": "lettres que le bordereau ne peut pas dessiner",
    "tentative-en-double": "deux tentatives à la même minute",
    "tribunal-different": "tribunal indiqué différent de celui du département",
}


def short_words(codes) -> str:
    """« adresse-capture-discordante, piece-autre-nom » → their reasons in words."""
    return ", ".join(SHORT_WORDS.get(c, c) for c in codes)
