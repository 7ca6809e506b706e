"""refere — requête en référé mesures utiles (L. 521-3 CJA) pour un rendez-vous en préfecture."""

__version__ = "0.1.0"
