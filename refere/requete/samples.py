"""Sample cases (every variable filled, and the shapes real cases take) for checking templates.

Each sample is a real ``Case`` turned into a context by ``render.context()``, so every variable
that function adds is checked without touching this file.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pydantic

_BASE: dict[str, Any] = {
    "version": 1,
    "requerant": {"civilite": "Mme", "nom": "Exemple", "prenoms": "Awa", "nom_usage": "Modèle",
                  "date_naissance": "1990-01-01", "lieu_naissance": "Dakar (Sénégal)",
                  "nationalite": "sénégalaise", "adresse": "1 rue de l'Exemple\n93200 Saint-Denis",
                  "telephone": "+33 6 00 00 00 00", "courriel": "awa@example.org",
                  "numero_etranger": "9300000000"},
    "procedure": {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour",
                  "expiration_titre": "2025-05-31", "precisions": "Précisions.", "oqtf": False},
    "prefecture": {"departement": "93", "site": "Bobigny", "url_rendez_vous": "https://example.org"},
    "tribunal": {"nom": "tribunal administratif de Montreuil", "adresse": "7 rue Catherine Puig\n93100 Montreuil"},
    "conseil": {"qualite": "avocat", "civilite": "Mme", "nom": "Maître Exemple", "barreau": "Seine-Saint-Denis",
                "toque": "PB 123", "adresse": "2 place de l'Exemple\n93000 Bobigny", "ville": "Bobigny",
                "courriel": "cabinet@example.org", "telephone": "01 00 00 00 00", "reference": "Dossier 25/001"},
    "aide_juridictionnelle": "obtenue",
    "decision_aj": "décision n° 2025/000123 du 2 février 2025",
    "tentatives": [{"date": "2025-03-03 08:55"}, {"date": "2025-03-11 00:05"}],
    "urgence": [{"motif": "emploi", "fait": "Un fait d'urgence.", "echeance": "2025-04-30"}, "Un fait libre."],
    "diligences": [{"date": "2025-03-12", "type": "courriel", "description": "Courriel à la préfecture."}],
    "demandes": {"delai_jours": 15, "rdv_sous_jours": 30, "astreinte_par_jour": 50, "frais_l761_1": 1500},
    "signature": {"lieu": "Saint-Denis", "date": "2025-04-01"},
}


def _variant(**changes: Any) -> dict[str, Any]:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in _BASE.items()}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            if value is None:
                data[section].pop(field, None)
            else:
                data[section][field] = value
        elif value is None:
            data.pop(section, None)
        else:
            data[section] = value
    return data


# The shapes a template meets in real cases: one entry each, so a template that breaks only
# without counsel, for a man, on the ANEF route… is caught by « modele verifier ».
VARIANTS: dict[str, dict[str, Any]] = {
    "requérante avec avocate et aide juridictionnelle": _variant(),
    "requérant avec avocat, sans aide juridictionnelle": _variant(
        requerant__civilite="M.", requerant__prenoms="Karim", requerant__nom_usage=None,
        conseil__civilite="M.", aide_juridictionnelle=None, decision_aj=None),
    "sans conseil, sans urgence, sans demandes facultatives": _variant(
        conseil=None, aide_juridictionnelle=None, decision_aj=None, urgence=None, diligences=None,
        tribunal=None, demandes={"delai_jours": 8}, signature={"date": "2025-04-01"},
        requerant__telephone=None, requerant__courriel=None, requerant__numero_etranger=None),
    "association, sans civilité, aide demandée": _variant(
        requerant__civilite=None, aide_juridictionnelle="demandee", decision_aj=None,
        conseil={"qualite": "association", "nom": "Association Exemple", "adresse": "3 rue de l'Entraide\n93200 Saint-Denis"}),
    "voie ANEF, première demande, OQTF": _variant(
        procedure={"type": "premiere_demande_titre_sejour", "voie": "anef", "oqtf": True},
        prefecture={"departement": "75"}, tribunal=None, conseil=None, aide_juridictionnelle=None,
        decision_aj=None, urgence=["Mon employeur m'a prévenu par écrit."]),
}


def _case(data: dict[str, Any]):
    from refere.affaire.model import Case

    return Case.model_validate(data)


@functools.cache
def sample_contexts() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(label, context) for each sample case, the fullest first."""
    from refere.preuves import rules
    from refere.requete import render
    from refere.pieces.plan import Inventory, PlannedAttempt, PlannedPiece

    paris = dt.timezone(dt.timedelta(hours=1))
    out = []
    for label, data in VARIANTS.items():
        try:
            case = _case(data)
        except pydantic.ValidationError:  # a procedure type renamed since: fall back to the base one
            data = {**data, "procedure": _BASE["procedure"]}
            case = _case(data)
        attempts = tuple(PlannedAttempt(i, dt.datetime(2025, 3, 3 + 8 * i, 8, 55, tzinfo=paris),
                                        "aucun créneau disponible", None, None, 1, i + 1) for i in range(2))
        inv = Inventory((PlannedPiece(1, "Captures d'écran", "captures", (), "01_Captures.pdf", None, (0, 1)),
                         PlannedPiece(2, "Courriel", "courrier_prefecture", (), "02_Courriel.pdf",
                                      dt.date(2025, 3, 12))),
                        attempts, (2,))
        report = rules.Report(rules.figures(case))
        out.append((label, render.context(case, inv, report, brouillon=False)))
    return tuple(out)


def sample_context() -> dict[str, Any]:
    """The fullest sample: every variable filled."""
    return sample_contexts()[0][1]


@functools.cache
def letter_contexts() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(label, context) of the letter to the préfecture (``refere courrier``) for each sample case."""
    from refere.requete import courrier

    out = []
    for label, data in VARIANTS.items():
        try:
            case = _case(data)
        except pydantic.ValidationError:
            case = _case({**data, "procedure": _BASE["procedure"]})
        out.append((label, courrier.context(case, dt.date(2025, 3, 25))))
    return tuple(out)
