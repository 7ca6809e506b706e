"""The one root of every error a user may see: a French message and an exit code.

The CLI turns these into output in a single place (``refere.cli.main``); anything else that
escapes is a bug, shown with its traceback only under ``--debug``.
"""

from __future__ import annotations

import errno
import re
import unicodedata
from dataclasses import dataclass


class RefereError(Exception):
    """Base of every user-facing error."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Problem:
    """One problem found in a case file: where it is and what is wrong (in French)."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class CaseInvalid(RefereError):
    """The case file cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        n = len(problems)
        head = "Le dossier comporte une erreur :" if n == 1 else f"Le dossier comporte {n} erreurs :"
        super().__init__(f"{head}\n{lines}")


class EvidenceInsufficient(RefereError):
    """Blocking evidence problems; ``build --brouillon`` goes past them."""


class FileProblem(RefereError):
    """A source file (capture, pièce, template) cannot be used."""


class OutputError(RefereError):
    """The output folder cannot be written as asked."""


class TemplateError(RefereError):
    """A Word template is unusable or uses unknown variables."""


class ToolMissing(RefereError):
    """An optional external program (LibreOffice) is not installed."""


_ERRNO_FR = {
    errno.ENOENT: "introuvable",
    errno.EEXIST: "un fichier de ce nom existe déjà",
    errno.ENOTDIR: "un élément du chemin est un fichier, pas un dossier",
    errno.EISDIR: "c'est un dossier",
    errno.EACCES: "permission refusée",
    errno.EPERM: "opération non permise",
    errno.ENOSPC: "disque plein",
    errno.EROFS: "support en lecture seule",
    errno.ENAMETOOLONG: "nom trop long",
    errno.ELOOP: "boucle de liens symboliques",
    errno.EDQUOT: "quota disque dépassé",
}


def os_reason(exc: OSError) -> str:
    """An OSError's cause in French (the system's own text is in the machine's language)."""
    return _ERRNO_FR.get(exc.errno, f"erreur système {exc.errno}" if exc.errno else "erreur système")


# Characters a terminal obeys rather than shows: C0 and C1 controls (ANSI colour and cursor
# sequences, OSC titles, the bell), DEL, and the marks that reorder text (bidirectional overrides,
# line and paragraph separators). Tab and newline are ours to print.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


# Unicode categories a reader does not see: control, format (U+200B, U+202E…), surrogate (a byte
# of a name not in UTF-8), private use, unassigned, line and paragraph separators.
_UNSEEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def invisible(c: str) -> bool:
    """Whether a character hides among text: unseen, or a space other than the plain one."""
    cat = unicodedata.category(c)
    return cat in _UNSEEN or (cat == "Zs" and c != " ")


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (« \\x1b »), never obeyed: what a
    file name, a folder name or a case's text may carry reaches a terminal or a spreadsheet inert."""
    return CONTROLS.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)
