"""Département → competent tribunal administratif (R. 221-3 CJA) and the defendant préfet."""

from __future__ import annotations

import csv
import difflib
import functools
import io
from dataclasses import dataclass
from importlib import resources

from refere.errors import RefereError


@dataclass(frozen=True)
class Departement:
    code: str
    nom: str
    de_nom: str  # « de la Seine-Saint-Denis », « du Rhône », « de Vaucluse »
    tribunal: str
    tribunal_siege: str

    @property
    def prefet(self) -> str:
        """The defendant: « le préfet de police » for Paris (arrêté du 1er juillet 1941 / CSI)."""
        if self.code == "75":
            return "le préfet de police"
        return f"le préfet {self.de_nom}"

    @property
    def prefet_titre(self) -> str:
        """Capitalised, for the head of a paragraph (« Le préfet du Rhône »)."""
        p = self.prefet
        return p[0].upper() + p[1:]


@functools.cache
def table() -> dict[str, Departement]:
    text = resources.files("refere").joinpath("data/departements.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return {r["code"]: Departement(**r) for r in rows}


def normalize_code(raw: object) -> str:
    """« 1 », « 01 », « 2a » → « 01 », « 2A »; unknown codes raise with a French hint."""
    code = str(raw).strip().upper()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if code == "20":
        raise RefereError(
            "le département « 20 » n'existe plus : écrivez « 2A » (Corse-du-Sud) "
            "ou « 2B » (Haute-Corse)"
        )
    if code not in table():
        hint = ""
        close = difflib.get_close_matches(code, table().keys(), n=1)
        if code == "975":
            hint = " (Saint-Pierre-et-Miquelon n'a pas de tribunal administratif dans ce tableau)"
        elif close and not code.isdigit():
            hint = f" ; vouliez-vous dire « {close[0]} » ?"
        shown = str(raw) if len(str(raw)) <= 60 else f"{str(raw)[:60]}…"
        raise RefereError(
            f"département inconnu « {shown} » : attendu « 01 » à « 95 », « 2A », « 2B » "
            f"ou « 971 » à « 976 »{hint}"
        )
    return code


def lookup(raw: object) -> Departement:
    return table()[normalize_code(raw)]
