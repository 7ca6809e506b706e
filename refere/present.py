"""Human-readable French output for reports (shared by check, build and batch)."""

from __future__ import annotations

import datetime as dt

from . import dates
from .evidence import BANDS, Report
from .model import Case


def figures_lines(report: Report) -> list[str]:
    f = report.figures
    first = dt.datetime.fromisoformat(f.premiere)
    last = dt.datetime.fromisoformat(f.derniere)
    bands = ", ".join(f"{n} {BANDS[k].split(' (')[0]}" for k, n in f.tranches.items() if n)
    return [
        f"{f.tentatives} tentative(s) du {dates.format_date(first.date())} au {dates.format_date(last.date())} "
        f"({f.duree_jours} jours)",
        f"{f.semaines} semaine(s) distincte(s), {f.jours} jour(s) distinct(s)",
        f"heures : {bands}",
        f"{f.captures} capture(s) pour {f.tentatives} tentative(s) ; "
        f"{f.courriers} courrier(s) à la préfecture",
    ]


def inventory_lines(inv) -> list[str]:
    """The numbering as it will be filed: number, file name, pages."""
    return [f"  {p.fichier}  ({p.pages} p.)" for p in inv.pieces]


def report_text(case: Case, report: Report, name: str, inv=None) -> str:
    d = case.departement
    tribunal = case.tribunal.nom if case.tribunal else d.tribunal
    out = [f"Dossier : {name}", f"Tribunal : {tribunal} — contre {d.prefet}", "", "Chiffres"]
    out += [f"  {line}" for line in figures_lines(report)]
    if inv is not None:
        out += ["", f"Pièces ({len(inv.pieces)}), dans l'ordre du bordereau"] + inventory_lines(inv)
    for title, items in (("Problèmes bloquants", report.blocking), ("Avertissements", report.warnings)):
        out += ["", f"{title} ({len(items)})"]
        if not items:
            out.append("  aucun")
        for it in items:
            out.append(f"  [{it.code}] {it.message}")
            out.append(f"      ({it.source}{' ; champ ' + it.champ if it.champ else ''})")
    out.append("")
    if report.blocking:
        out.append("Résultat : preuves insuffisantes — la requête serait très probablement rejetée.")
    elif report.warnings:
        out.append("Résultat : dossier recevable, mais à renforcer (voir les avertissements).")
    else:
        out.append("Résultat : dossier complet.")
    return "\n".join(out)
