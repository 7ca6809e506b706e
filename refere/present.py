"""Human-readable French output for reports (shared by check, build and batch)."""

from __future__ import annotations

import datetime as dt

from refere import dates
from refere.affaire.libelles import field_words, problem_words, words
from refere.preuves.findings import short_words
from refere.preuves.rules import BANDS, Report
from refere.affaire.model import Case


def plural(n: int, one: str, many: str | None = None) -> str:
    """« 1 pièce », « 2 pièces », « 0 pièce » (French: the singular below 2)."""
    return f"{n} {one if abs(n) < 2 else (many or one + 's')}"


def figures_lines(report: Report) -> list[str]:
    f = report.figures
    first = dt.datetime.fromisoformat(f.premiere)
    last = dt.datetime.fromisoformat(f.derniere)
    bands = ", ".join(f"{n} {BANDS[k].split(' (')[0]}" for k, n in f.tranches.items() if n)
    return [
        f"{plural(f.tentatives, 'tentative')} du {dates.format_date(first.date())} au {dates.format_date(last.date())} "
        f"({plural(f.duree_jours, 'jour')})",
        f"{plural(f.semaines, 'semaine distincte', 'semaines distinctes')}, "
        f"{plural(f.jours, 'jour distinct', 'jours distincts')}",
        f"heures : {bands}",
        f"{plural(f.captures, 'capture')} pour {plural(f.tentatives, 'tentative')} ; "
        f"{plural(f.courriers, 'courrier')} à la préfecture",
    ]


def inventory_lines(inv) -> list[str]:
    """The numbering as it will be filed: number, file name, pages."""
    return [f"  {p.fichier}  ({p.pages} p.)" for p in inv.pieces]


def field_fr(champ: str) -> str:
    """« tentatives[3].capture » → « tentative n° 4, capture »: counted from 1, in the web form's words.

    The technical path stays in the --json output; the text names the line of dossier.yaml."""
    return field_words(champ)


def one_line(message: str) -> str:
    """A message of several lines on one line (a CSV cell, a summary line): « Le dossier comporte une
    erreur : dossier.yaml:27 — … ; dossier.yaml:30 — … » (no « | », a heading runs on after its colon)."""
    out = ""
    for line in (x.strip() for x in (message or "").strip().splitlines()):
        if line:
            out += line if not out else (" " if out.endswith(":") else " ; ") + line
    return out


def error_text(exc) -> str:
    """A RefereError's message; a case file's problems with their fields counted from 1."""
    from refere.errors import CaseInvalid

    if not isinstance(exc, CaseInvalid):
        return exc.message
    lines = []
    for p in exc.problems:
        where = f"{p.file}:{p.line}" if p.line else p.file
        lines.append(f"  {where} — {problem_words(p)}")
    n = len(exc.problems)
    head = "Le dossier comporte une erreur :" if n == 1 else f"Le dossier comporte {n} erreurs :"
    return "\n".join([head] + lines)


def is_file_problem(code: str) -> bool:
    """A blocking finding that is a file to redo (a truncated capture, an unreadable pièce), not evidence
    short of attempts: `check`, `batch` and the web's list all call it « fichier à corriger »."""
    return code.endswith("-illisible") or code == "pdf-trop-lourds"


SAME_PERSON = "meme-personne"  # the same person's case in two folders (refere.batch.same_people)


def same_person_text(others: list[str]) -> str:
    folders = ", ".join(f"« {o} »" for o in others)
    return (f"Même personne (nom, prénoms et date de naissance) que le dossier {folders} : vérifiez qu'il ne s'agit "
            "pas d'un doublon avant de déposer deux requêtes.")


def check_summary(name: str, case_file, problem: str = "", same: list[str] | None = None) -> dict:
    """One case of ``check`` on many: its codes and a one-line verdict, never an exception. ``same``: the
    other folders of the same person."""
    from refere.errors import RefereError
    from refere.preuves.rules import check
    from refere.affaire.loader import load, resolve_case_path

    row = {"dossier": name, "erreur": problem, "bloquants": [], "avertissements": []}
    if not problem:
        try:
            report = check(load(resolve_case_path(case_file)))
            row["bloquants"] = list(dict.fromkeys(f.code for f in report.blocking))
            row["avertissements"] = list(dict.fromkeys(f.code for f in report.warnings))
        except RefereError as exc:
            row["erreur"] = one_line(error_text(exc))
    files = [c for c in row["bloquants"] if is_file_problem(c)]
    if row["erreur"]:
        verdict = f"erreur — {row['erreur']}"
    elif files:
        verdict = f"fichier à corriger — {short_words(files)}"
    elif row["bloquants"]:
        verdict = f"preuves insuffisantes — bloquant : {short_words(row['bloquants'])}"
    else:
        verdict = "recevable"
    if row["avertissements"] and not row["erreur"]:
        verdict += f" ; à renforcer : {short_words(row['avertissements'])}"
    if same:
        row["avertissements"].append(SAME_PERSON)
        verdict += f" ; ATTENTION : {same_person_text(same)}"
    row["ligne"] = f"{name} : {verdict}"
    return row


def notes_sentence(case: Case) -> str:
    """The attempts' free notes go into the requête's table of attempts: said, so that they are read again."""
    nums = [str(k) for k, t in enumerate(case.tentatives, start=1) if (t.note or "").strip()]
    if not nums:
        return ""
    which = (f"La note de la tentative n° {nums[0]} est imprimée" if len(nums) == 1 else
             f"Les notes des tentatives n° {', '.join(nums[:-1])} et {nums[-1]} sont imprimées")
    return (f"{which} dans la requête, entre parenthèses après le résultat, dans le tableau des tentatives : "
            "relisez-les comme le juge les lira (à la troisième personne, rien de privé).")


def report_text(case: Case, report: Report, name: str, inv=None) -> str:
    d = case.departement
    tribunal = case.tribunal.nom if case.tribunal else d.tribunal
    out = [f"Dossier : {name}", f"Tribunal : {tribunal} — contre {case.defendeur}", "", "Chiffres"]
    out += [f"  {line}" for line in figures_lines(report)]
    if inv is not None:
        out += ["", f"Pièces ({len(inv.pieces)}), dans l'ordre du bordereau"] + inventory_lines(inv)
    for title, items in (("Problèmes bloquants", report.blocking), ("Avertissements", report.warnings)):
        out += ["", f"{title} ({len(items)})"]
        if not items:
            out.append("  aucun")
        for it in items:
            out.append(f"  [{it.code}] {words(it.message, it.champ)}")
            out.append(f"      ({it.source}{' ; ' + field_fr(it.champ) if it.champ else ''})")
    if (notes := notes_sentence(case)):
        out += ["", "À relire (pour information)", f"  {notes}"]
    out.append("")
    if report.blocking:
        out.append("Résultat : preuves insuffisantes — la requête serait très probablement rejetée.")
    elif report.warnings:
        out.append("Résultat : dossier recevable, mais à renforcer (voir les avertissements).")
    else:
        out.append("Résultat : dossier complet.")
    return "\n".join(out)


LETTER_STEPS = (
    "1. Relisez-la. Envoyez-la par courriel à l'adresse de contact de la préfecture (copiez le texte "
    "du .txt), ou imprimez, signez et envoyez la lettre en recommandé avec accusé de réception.",
    "2. Gardez la preuve de l'envoi (le courriel envoyé en PDF, ou la preuve de dépôt et l'accusé "
    "de réception) et ajoutez-la aux pièces du dossier, catégorie « courrier ou courriel à la préfecture », "
    "avec sa date (dans le formulaire web : page Pièces).",
    "3. Continuez vos tentatives de rendez-vous pendant ce temps, avec une capture d'écran à chaque fois.")


def letter_done(res) -> list[str]:
    """What `refere courrier` prints after one letter (refere.requete.courrier.Written)."""
    out = [f"Lettre écrite : {res.docx}",
           f"Texte du courriel : {res.txt}  ({plural(res.tentatives, 'tentative')} listée{'s' if res.tentatives > 1 else ''})"]
    out += [f"À compléter : {missing}." for missing in res.a_completer]
    return out + ["", "Et maintenant :", *LETTER_STEPS]
