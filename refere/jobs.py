"""Which cases a ``refere batch`` builds, and under which names: case files given, folders searched,
names unique and safe as output folders, the output folder apart from every input."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from refere.errors import OutputError
from refere.write import case_around

REPORT = "rapport.csv"
# Names refere writes in the output folder itself: no case may take them (compared as a Mac or
# Windows disk would, without case).
RESERVED = (REPORT,)


@dataclass(frozen=True)
class Job:
    name: str
    case_file: Path | None
    problem: str = ""  # set when the argument itself is unusable
    code: str = ""  # the failed row's family (rapport.csv « bloquants »); the problem text quotes paths


def one_line_name(text: str) -> str:
    """A name or path shown on one line: its line breaks as « \\x0a », as errors.printable shows the rest."""
    return text.replace("\n", "\\x0a")


def _common_parent(paths: list[Path]) -> Path:
    return Path(os.path.commonpath([str(p) for p in paths])) if len(paths) > 1 else paths[0].parent


# Said by batch, check and courrier alike: the way out is named, not a command.
LINKED = ("« {link} » est un lien vers un autre dossier, qui n'est pas suivi : donnez directement le dossier vers "
          "lequel il pointe")
LINKED_FILE = ("« {link} » est un lien vers un autre fichier, qui n'est pas suivi : mettez le fichier lui-même à "
               "la place du lien")
_LINK_SEARCH = 10_000  # folders looked at below a link; past this, it is named without knowing


def holds_case(folder: Path) -> bool:
    """Whether a dossier.yaml lies in ``folder`` or anywhere below it: ``folder`` itself is looked
    into (a link is followed here, once), the links below it are not (no loop), and the search is
    bounded (a link to a whole disk answers yes rather than take minutes)."""
    for n, (_, dirs, files) in enumerate(os.walk(folder)):
        if "dossier.yaml" in files or n >= _LINK_SEARCH:
            return True
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    return False


def _linked_cases(folder: Path) -> list[tuple[Path, str]]:
    """Links inside a searched folder to a folder holding a case anywhere below it, or a case file
    that is itself a link, each with its message: the search does not follow links (a loop, a case
    outside the desk's folder, sources opened without following links), so each is named rather
    than left out in silence."""
    out = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(top)
        out += [(here / d, LINKED) for d in dirs if (here / d).is_symlink() and holds_case(here / d)]
        if "dossier.yaml" in files and (here / "dossier.yaml").is_symlink():
            out.append((here / "dossier.yaml", LINKED_FILE))
    return out


def find_jobs(arguments: Iterable[Path]) -> list[Job]:
    """Case files as given; folders searched for dossier.yaml. Names unique, stable, never empty.

    A case found in a folder is named by its path relative to that folder; a case file given
    directly (or a folder that is itself a case) by its folder's name. When two names still
    clash, both are named by their path from their common parent folder: never « -2 ».
    """
    found: list[tuple[str, Path | None, str, str]] = []  # name, case file, problem, code
    for arg in arguments:
        if arg.is_file():
            found.append((Path(os.path.abspath(arg)).parent.name, arg, "", ""))
        elif arg.is_dir():
            direct = arg / "dossier.yaml"
            if direct.is_file():
                found.append((Path(os.path.abspath(arg)).name or "racine", direct, "", ""))
                continue
            cases = sorted(
                p for p in arg.rglob("dossier.yaml")
                if p.is_file() and not p.is_symlink() and not any(part.startswith(".") for part in p.relative_to(arg).parts))
            linked = _linked_cases(arg)
            if not cases and not linked:
                found.append((Path(os.path.abspath(arg)).name or str(arg), None,
                              f"aucun fichier dossier.yaml dans « {arg} »", "dossier-introuvable"))
            found += [(c.parent.relative_to(arg).as_posix(), c, "", "") for c in cases]
            found += [((link.parent if why is LINKED_FILE else link).relative_to(arg).as_posix(), None,
                       why.format(link=link), "lien-non-suivi") for link, why in linked]
        else:
            found.append((arg.name or str(arg), None, f"« {arg} » introuvable", "dossier-introuvable"))
    # The same case file given twice is one case.
    seen_files: set[str] = set()
    unique: list[tuple[str, Path | None, str, str]] = []
    for name, path, problem, code in found:
        if path is not None:
            key = os.path.realpath(path)
            if key in seen_files:
                continue
            seen_files.add(key)
        unique.append((name, path, problem, code))
    by_name: dict[str, list[int]] = {}
    for i, (name, *_) in enumerate(unique):
        by_name.setdefault(name, []).append(i)
    names = [name for name, *_ in unique]
    for name, idx in by_name.items():
        with_files = [i for i in idx if unique[i][1] is not None]
        if len(idx) > 1 and len(with_files) == len(idx):
            folders = [Path(os.path.abspath(unique[i][1])).parent for i in idx]
            top = _common_parent(folders)
            if top in folders:  # one case folder inside the other: never a name « . »
                top = top.parent
            for i, folder in zip(idx, folders):
                names[i] = folder.relative_to(top).as_posix()
    # Never an empty name, nor one that would put a case's output at -o itself.
    names = [n if n not in ("", ".", "..") else "racine" for n in names]
    # A name is one line wherever it is printed (the output filter, errors.printable, escapes every other
    # separator but must pass the messages' own newlines): a folder « a\nFAUX : … » is named « a\x0aFAUX : … »,
    # its output folder under -o too (attack4 G3).
    names = [one_line_name(n) for n in names]
    jobs = [Job(n, p, problem, code) for n, (_, p, problem, code) in zip(names, unique)]
    return _refuse_clashes(jobs)


def _refuse_clashes(jobs: list[Job]) -> list[Job]:
    """A name still shared, or one case's output inside another's: a failed row, never a rename."""
    out: list[Job] = []
    taken: set[str] = set()
    for job in jobs:
        if job.name in taken:
            out.append(Job(job.name + " (doublon)", None, f"deux affaires portent le nom « {job.name} » : "
                           "renommez l'un des dossiers ou construisez-les séparément"))
            continue
        taken.add(job.name)
        out.append(job)
    out = [Job(j.name, None, _reserved(j.name)) if j.case_file is not None and _reserved(j.name) else j for j in out]
    names = {j.name for j in out if j.case_file is not None}
    result = []
    for job in out:
        parents = [n for n in names if n != job.name and job.name.startswith(n + "/")]
        if job.case_file is not None and parents:
            result.append(Job(job.name, None, f"affaire rangée dans le dossier d'une autre affaire (« {parents[0]} ») : "
                              "déplacez-la à côté, pas dedans"))
        else:
            result.append(job)
    return result


def _reserved(name: str) -> str:
    """Why a case may not have this name (empty: it may)."""
    parts = name.split("/")
    if parts[0].casefold() in RESERVED:
        return (f"nom réservé : « {parts[0]} » est le nom du rapport que refere écrit dans le dossier de sortie ; "
                "renommez le dossier de cette affaire")
    hidden = next((p for p in parts if p.startswith(".")), None)
    if hidden is not None:
        return (f"nom réservé : « {hidden} » commence par « . », comme les fichiers temporaires et les verrous "
                "que refere écrit dans le dossier de sortie ; renommez le dossier de cette affaire")
    return ""


def check_output(jobs: list[Job], arguments: Iterable[Path], out_dir: Path) -> None:
    """Refuse an output folder that is, contains or sits inside an input (case or folder given)."""
    out = Path(os.path.realpath(out_dir))
    case_dirs = [Path(os.path.realpath(j.case_file)).parent for j in jobs if j.case_file is not None]
    given = [Path(os.path.realpath(a)) for a in arguments if a.is_dir()]
    for folder in case_dirs:
        if out == folder or folder in out.parents:
            raise OutputError(f"le dossier de sortie « {out_dir} » est dans le dossier d'une affaire (« {folder} ») : "
                              "choisissez un dossier de sortie à part, par exemple -o construits/")
        if out in folder.parents:
            raise OutputError(f"le dossier de sortie « {out_dir} » contient le dossier d'une affaire (« {folder} ») : "
                              "choisissez un dossier de sortie à part, par exemple -o construits/")
    if (other := case_around(out)) is not None:
        # Not among the inputs: another person's case folder would receive these filings and the rapport.
        raise OutputError(f"le dossier de sortie « {out_dir} » est dans le dossier d'une autre affaire (« {other} »), "
                          "qui n'est pas parmi celles construites : choisissez un dossier de sortie à part, par "
                          "exemple -o construits/")
    for folder in given:
        if out == folder or out in folder.parents:
            raise OutputError(f"le dossier de sortie « {out_dir} » est le dossier d'entrée ou le contient : "
                              "choisissez un dossier de sortie à part, par exemple -o construits/")
    report = out_dir / REPORT
    if report.is_dir() and not report.is_symlink():
        raise OutputError(f"« {report} » est un dossier : refere y écrit son rapport ; renommez ce dossier "
                          "ou choisissez un autre dossier de sortie avec -o")
