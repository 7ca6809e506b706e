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
