"""A cabinet's own template: checked by filling it with the sample cases (``refere modele
verifier``, and ``build --modele`` before any work), and the built-in one exported to adapt."""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from refere import files
from refere.modeles import docxzip, limite
from refere.modeles.analysis import analyse
from refere.modeles.document import _render_collect, open_docx
from refere.modeles.messages import report
from refere.requete import render
from refere.requete.samples import letter_contexts, sample_contexts
from refere.errors import OutputError, TemplateError, os_reason



_UNKNOWN_FILTER = re.compile(r"filtre inconnu « ([^»]+) »")
_WHERE = re.compile(r"paragraphe (\d+)")


def _cause(problem: str) -> str:
    """Where and what, without the trailing explanation: « …paragraphe 3 « … » : variable inconnue « x » »."""
    m = re.match(r"(.*?« .*? ») : (?:« [^»]* » : )?(.*)", problem, re.S)
    where, what = (m[1], m[2]) if m else ("", problem)
    return where + " : " + re.sub(r" \([^()]*\)$", "", what.split(" ; ")[0]).strip()


def _order(problem: str) -> tuple:
    """By part of the document (body, headers…) then paragraph: a paragraph's problems together."""
    where = problem.split(" : ", 1)[0]
    m = _WHERE.search(where)
    return (where.split(",")[0], int(m[1]) if m else 0)


def _verify_cached(digest: str, path_str: str, letter: bool = False) -> tuple[str, ...]:
    """The verifier's renders run in a child process killed at the wall-clock limit; remembered by
    the template's bytes, wherever they lie (``pinned`` fills a private copy of them, anew for each
    case of a batch, whose parent checked them once)."""
    found = _VERIFIED.get((digest, letter))
    if found is None:
        try:
            found = limite.run(_verify_now, path_str, letter)
        except limite.TooSlow:
            found = (limite.too_slow(),)
        if len(_VERIFIED) >= 32:
            _VERIFIED.pop(next(iter(_VERIFIED), None), None)  # threads (the web) may race here
        _VERIFIED[(digest, letter)] = found
    return found


_VERIFIED: dict[tuple[str, bool], tuple[str, ...]] = {}


def _verify_now(path_str: str, letter: bool = False) -> tuple[str, ...]:
    path = Path(path_str)
    env = render.jinja_env()
    samples = letter_contexts() if letter else sample_contexts()
    problems = analyse(open_docx(path), env, [c for _, c in samples], render.FILTERS)
    # An unknown filter stops a paragraph's render at once: for the renders it lets the value through,
    # so that the paragraph's other problems (« conseil est vide »…) are found in the same run.
    for name in {m[1] for p in problems for m in [_UNKNOWN_FILTER.search(p)] if m}:
        env.filters.setdefault(name, lambda value, *args, **kwargs: value)
    # The same cause said again by a render (worse words) is left out; another cause is kept.
    said = {_cause(p) for p in problems}
    found: dict[str, list[str]] = {}
    for label, ctx in samples:  # each sample case: what breaks only without counsel, for a man…
        for p in _render_collect(path, env, ctx):
            if _cause(p) not in said:
                found.setdefault(p, []).append(label)
    empty = {p.split(" : ", 1)[0] for p in found if "est vide dans ce cas" in p}
    found = {p: v for p, v in found.items()  # « 'None' has no attribute » is « est vide » in Python's words
             if not ("'None' has no attribute" in p and p.split(" : ", 1)[0] in empty)}
    out = list(problems) + [p + (f" (exemple : {labels[0]})" if len(labels) < len(samples) else "")
                            for p, labels in found.items()]
    return tuple(sorted(out, key=_order))


def verify(path: Path, letter: bool = False) -> list[str]:
    """Every problem of a custom template (the requête's, or with ``letter`` the letter's to the
    préfecture), in French; empty when it is usable."""
    open_docx(path)  # missing, unreadable or unsafe: TemplateError at once
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise TemplateError(f"modèle « {path} » illisible : {os_reason(exc)}") from None
    return list(_verify_cached(digest, str(path), letter))


# Each kind of template (``letter``): what it is a template of, « vérifié comme … », its command, the
# command that writes one to adapt.
KINDS = {
    False: ("de la requête", "une requête", "refere build --modele", "refere modele exporter"),
    True: ("de la lettre à la préfecture", "une lettre", "refere courrier --modele", "refere modele exporter --courrier"),
}


def swapped(path: Path, letter: bool, problems: list[str]) -> str:
    """Checked as one kind, a template of the other (mostly unknown variables here, none as the other
    kind): the sentence that says so, else ''. Its unknown variables would only mislead."""
    unknown = sum("variable inconnue" in p for p in problems)
    if not problems or unknown * 2 < len(problems) or verify(path, letter=not letter):
        return ""
    return f"« {path} » est un modèle {KINDS[not letter][0]}, pas {KINDS[letter][0]}"


def check(path: Path, letter: bool = False) -> None:
    """Refuse, with every problem, a template the verifier would reject (build, batch, courrier), and one
    of the other kind as such, as « refere modele verifier » says it."""
    problems = verify(path, letter)
    if said := swapped(path, letter, problems):
        raise TemplateError(f"{said} : employez-le avec « {KINDS[not letter][2]} » ; ici, donnez un modèle "
                            f"{KINDS[letter][0]} (« {KINDS[letter][3]} » en écrit un à adapter).")
    if problems:
        text = report(path, problems, build=True)
        raise TemplateError(text.replace("modele verifier ", "modele verifier --courrier ") if letter else text)


@contextlib.contextmanager
def pinned(path: Path, letter: bool = False) -> Iterator[Path]:
    """The template at ``path`` read once into a private copy (same file name), checked, and
    given to fill: a build fills the very bytes it checked, never a file put at ``path`` after the
    check (attack 34). Its refusals name ``path``, never the copy."""
    with tempfile.TemporaryDirectory(prefix="refere-modele-") as folder:
        copy = _checked_copy(path, letter, Path(folder))
        try:
            yield copy
        except TemplateError as exc:
            raise TemplateError(str(exc).replace(str(copy), str(path))) from None


def pin(path: Path, letter: bool = False) -> Path:
    """``pinned`` for a command that fills the template until it exits (``refere courrier`` on a
    desk's folder): the private copy, removed when the process ends."""
    import atexit
    import shutil

    folder = tempfile.mkdtemp(prefix="refere-modele-")
    atexit.register(shutil.rmtree, folder, True)
    return _checked_copy(path, letter, Path(folder))


def _checked_copy(path: Path, letter: bool, folder: Path) -> Path:
    """The template at ``path`` read once into ``folder`` under its own name, and checked there;
    a refusal names ``path``."""
    copy = folder / path.name
    copy.write_bytes(_read_once(path, letter))
    try:
        check(copy, letter)
    except TemplateError as exc:
        raise TemplateError(str(exc).replace(str(copy), str(path))) from None
    return copy


def _read_once(path: Path, letter: bool) -> bytes:
    try:
        return files.read_file(path, str(path), limit=docxzip.MAX_TOTAL)
    except files.FileKindError as exc:
        check(path, letter)  # missing, too big, not a file: refused in the words « modele verifier » uses
        raise TemplateError(f"modèle {exc}") from None  # changed while read, unreadable


def export(dest: Path, force: bool, letter: bool = False) -> None:
    """Write the built-in template (the requête's, or the letter's) to ``dest`` for a firm to adapt;
    never overwrite unless asked."""
    import os

    if dest.suffix.lower() != ".docx":
        raise OutputError(f"« {dest} » : donnez un nom de fichier en .docx")
    if (dest.exists() or dest.is_symlink()) and not force:
        raise OutputError(f"« {dest} » existe déjà : ajoutez --force pour le remplacer, ou choisissez un autre nom")
    if dest.is_dir():
        raise OutputError(f"« {dest} » est un dossier")
    if letter:
        from refere.requete import courrier

        data = courrier.template_path().read_bytes()
    else:
        data = render.default_template().read_bytes()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent if str(dest.parent) else ".")
    except OSError as exc:
        raise OutputError(f"impossible d'écrire dans « {dest.parent} » ({os_reason(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)  # a symlink at dest is replaced, never written through
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"écriture impossible de « {dest} » ({os_reason(exc)})") from None
