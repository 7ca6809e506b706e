"""French for Click's own words (usage, errors), so that an applicant never meets English.

Click looks its messages up through ``gettext``; we give its modules a lookup of our own rather
than shipping a compiled catalogue for a few dozen strings.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

from refere.errors import OutputError, os_reason

FR = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "%(prog)s, version %(version)s": "%(prog)s, version %(version)s",
    "Aborted!": "Interrompu.",
    "Error: {message}": "Erreur : {message}",
    "Missing argument": "Argument manquant",
    "Missing option": "Option manquante",
    "Missing parameter": "Paramètre manquant",
    "Missing command.": "Commande manquante.",
    "Missing {param_type}": "{param_type} manquant",
    "Missing parameter: {param_name}": "Paramètre manquant : {param_name}",
    "No such command {name!r}.": "Commande inconnue {name!r}.",
    "No such option {name!r}.": "Option inconnue {name!r}.",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Try '{command} {option}' for help.": "Essayez « {command} {option} » pour l'aide.",
    "Invalid value for {param_hint}: {message}": "Valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur invalide : {message}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} introuvable.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} est un dossier.",
    "{name} {filename!r} is a file.": "{name} {filename!r} est un fichier.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} n'est pas lisible.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} n'est pas modifiable.",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide.",
    "{value} is not in the range {range}.": "{value} est hors des limites ({range}).",
    "file": "Fichier",
    "directory": "Dossier",
    "path": "Chemin",
    "default: {default}": "par défaut : {default}",
    "Error: invalid input": "Erreur : saisie invalide",
    "Repeat for confirmation": "Répétez pour confirmer",
    "Error: The two entered values do not match.": "Erreur : les deux saisies diffèrent.",
    "Do you want to continue?": "Voulez-vous continuer ?",
    "Choose from:\n\t{choices}": "Choisissez parmi :\n\t{choices}",
    "Argument {name!r} takes {nargs} values.": "L'argument {name!r} prend {nargs} valeurs.",
    "Option {name!r} requires an argument.": "L'option {name!r} demande une valeur.",
    "Did you mean {possibility}?": "Vouliez-vous dire {possibility} ?",
    "Usage": "Utilisation :",
    "required": "obligatoire",
    "env var: {var}": "variable d'environnement : {var}",
    "(dynamic)": "(dynamique)",
    "deprecated": "obsolète",
    "(Deprecated)": "(obsolète)",
    "Choose from\n\t{choices}": "Choisissez parmi :\n\t{choices}",
    "{value!r} is not a valid UUID.": "{value!r} n'est pas un UUID valide.",
    "Value must be an iterable.": "La valeur doit être une liste.",
    "Name '{name}' defined twice": "Nom « {name} » défini deux fois",
    "Shell completion is not supported for Bash versions older than 4.4.":
        "L'autocomplétion demande Bash 4.4 ou plus récent.",
}
# Click names its parameter types in English; the help shows them as metavars (« INTEGER »).
_TYPE_NAMES = {
    click.types.IntParamType: "entier",
    click.types.FloatParamType: "nombre",
    click.types.StringParamType: "texte",
    click.types.BoolParamType: "oui/non",
    click.types.UUIDParameterType: "uuid",
    click.types.IntRange: "entier",
    click.types.FloatRange: "nombre",
    click.types.Choice: "choix",
    click.types.DateTime: "date",
    click.types.File: "fichier",
    click.types.Tuple: "liste",
}
_PLURAL = {
    "Got unexpected extra argument ({args})": "Argument en trop ({args})",
    "Got unexpected extra arguments ({args})": "Arguments en trop ({args})",
    "Option {name!r} requires an argument.": "L'option {name!r} demande une valeur.",
    "Option {name!r} requires {nargs} arguments.": "L'option {name!r} demande {nargs} valeurs.",
    "Did you mean {possibility}?": "Vouliez-vous dire {possibility} ?",
    "(Possible options: {possibilities})": "(options possibles : {possibilities})",
    "{value!r} is not {choice}.": "{value!r} n'est pas {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} ne fait pas partie de {choices}.",
}


def _gettext(message: str) -> str:
    return FR.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    chosen = singular if n == 1 else plural
    return _PLURAL.get(chosen, chosen)


def _describe_range(self) -> str:
    """« de 1 à 64 », « 1 au moins »: the range of a number, as the help shows it."""
    lo = None if self.min is None else f"{self.min}{' exclu' if self.min_open else ''}"
    hi = None if self.max is None else f"{self.max}{' exclu' if self.max_open else ''}"
    if lo is not None and hi is not None:
        return f"de {lo} à {hi}"
    return f"{lo} au moins" if lo is not None else f"{hi} au plus"


class FrenchFormatter(click.formatting.HelpFormatter):
    """« Options : », « Commandes : »: French puts a space before the colon."""

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading} :\n")


def install() -> None:
    click.Context.formatter_class = FrenchFormatter
    click.types._NumberRangeBase._describe_range = _describe_range  # type: ignore[method-assign]
    for cls, name in _TYPE_NAMES.items():
        cls.name = name
    for mod in (click.core, click.decorators, click.exceptions, click.formatting,
                click.parser, click.termui, click.types):
        if hasattr(mod, "_"):
            mod._ = _gettext  # type: ignore[attr-defined]
        if hasattr(mod, "ngettext"):
            mod.ngettext = _ngettext  # type: ignore[attr-defined]


class Inert:
    """A text stream that shows control characters instead of passing them to the terminal
    (``errors.printable``): every message refere prints goes through one of these, whatever
    file name, folder name or case text it quotes. ``raw`` is the stream beneath, for the
    progress bars, whose own « \\r » must reach the terminal."""

    def __init__(self, raw):
        self.raw = raw

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("texte attendu")  # Click probes with bytes: this is a text stream
        from refere.errors import printable

        return self.raw.write(printable(text))

    @property
    def buffer(self):  # no way around the filter through the bytes beneath
        raise AttributeError("buffer")

    def __getattr__(self, name):
        return getattr(self.raw, name)


def inert_streams() -> None:
    """Put sys.stdout and sys.stderr behind ``Inert`` (once)."""
    import sys

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, Inert):
            setattr(sys, name, Inert(stream))


def raw(stream):
    """The terminal beneath an ``Inert`` stream (for a progress bar)."""
    return stream.raw if isinstance(stream, Inert) else stream


NAME_MAX = 255  # bytes in one file or folder name, on every file system refere meets


def _final_max() -> int:
    """What refere writes is first made beside it under a longer name: « .<name>.tmp-<pid>-<8 hex> » (a
    staging folder, the longest; a pid has 7 digits at most), « .<name>.<8>.part », « .<name>.verrou »."""
    from refere.write import _PID_MAX  # not at import: « --help » never loads the writer

    return NAME_MAX - (len(".") + len(".tmp-") + len(str(_PID_MAX)) + len("-") + 8)


def _without_detours(path: Path) -> Path:
    """``path`` with « x/.. » taken out below the first folder that does not exist yet: the system
    resolves what exists (a link included), but making the rest would create « x » for nothing."""
    head = Path(path.anchor) if path.anchor else Path()
    parts = path.parts[1:] if path.anchor else path.parts
    for i, part in enumerate(parts):
        if not os.path.lexists(head / part):
            rest = parts[i:]
            return head / os.path.normpath(os.path.join(*rest)) if ".." in rest else path
        head = head / part
    return path


def nameable(path: Path) -> Path:
    """``path`` where a command is to write, refused in French when the system cannot name it or the
    temporary name beside it (over _final_max() bytes; a folder's over 255), a loop of links on the way, a file
    where a folder should be. Checked for every command (``clifr.OUTPUT``) before anything is made: pathlib's
    exists() and is_dir() raise on these, resolve() RuntimeError on a loop, an « Erreur interne » otherwise."""
    path = _without_detours(path)
    if path.name in ("", ".", ".."):  # « -o . »: the folder by its name (its lock and staging go beside it)
        path = Path(os.path.abspath(path))
    if len(os.fsencode(path.name)) > (final_max := _final_max()):
        error = OSError(errno.ENAMETOOLONG, "")
        limit = f"{final_max} octets au plus pour ce nom, un « é » en compte 2 ; refere l'écrit d'abord sous un nom plus long"
    elif any(len(os.fsencode(part)) > NAME_MAX for part in path.parts):
        error = OSError(errno.ENAMETOOLONG, "")
        limit = f"{NAME_MAX} octets au plus par nom de dossier, un « é » en compte 2"
    else:
        try:
            os.lstat(path)
            return path
        except FileNotFoundError:
            return path  # nothing is looked up below a missing folder; its names are measured above
        except OSError as exc:
            error, limit = exc, "4096 octets au plus pour le chemin entier, un « é » en compte 2"
    reason = os_reason(error)
    if error.errno == errno.ENAMETOOLONG:
        reason += f" : {limit}"
    shown = str(path) if len(str(path)) <= 160 else f"{str(path)[:160]}…"
    raise OutputError(f"impossible d'écrire « {shown} » ({reason}) : rien n'a été écrit")


class OutputPath(click.Path):
    """A path a command writes to (``-o``, ``--calendrier``, ``init``, ``modele exporter``): one
    the system cannot name is refused in French, exit 1, before the command starts (nameable)."""

    def __init__(self):
        super().__init__(path_type=Path)
        self.name = _gettext("path")  # made at import, before install() gives click our words

    def convert(self, value, param, ctx):
        return nameable(super().convert(value, param, ctx))


OUTPUT = OutputPath()
