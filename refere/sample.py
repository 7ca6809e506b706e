"""A complete sample context (every variable filled) for checking custom templates."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any


@functools.cache
def sample_context() -> dict[str, Any]:
    from . import evidence, render
    from .model import Case
    from .plan import Inventory, PlannedAttempt, PlannedPiece

    paris = dt.timezone(dt.timedelta(hours=1))
    case = Case.model_validate({
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
        "conseil": {"qualite": "avocat", "nom": "Maître Exemple", "barreau": "Seine-Saint-Denis"},
        "tentatives": [{"date": "2025-03-03 08:55"}, {"date": "2025-03-11 00:05"}],
        "urgence": ["Un fait d'urgence."],
        "demandes": {"delai_jours": 15, "rdv_sous_jours": 30, "astreinte_par_jour": 50, "frais_l761_1": 1500},
        "signature": {"lieu": "Saint-Denis", "date": "2025-04-01"},
    })
    attempts = tuple(PlannedAttempt(i, dt.datetime(2025, 3, 3 + 8 * i, 8, 55, tzinfo=paris), "aucun créneau disponible",
                                    None, None, 1, i + 1) for i in range(2))
    inv = Inventory((PlannedPiece(1, "Captures d'écran", "captures", (), "01_Captures.pdf", None, (0, 1)),
                     PlannedPiece(2, "Courriel", "courrier_prefecture", (), "02_Courriel.pdf", dt.date(2025, 3, 12))),
                    attempts, (2,))
    report = evidence.Report(evidence.figures(case))
    return render.context(case, inv, report, brouillon=False)
