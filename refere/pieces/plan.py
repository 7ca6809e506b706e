"""The inventory: every pièce's number, label, sources, pages and file name, computed once.

The requête's table and bordereau, the file names, the stamps, the bookmarks and the manifest
all read this one structure, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from refere import dates
from refere.affaire.model import Case
from refere.errors import FileProblem
from refere.pieces.flux import MAX_JOINED
from refere.pieces.probe import MAX_HELD, SourceInfo, info

BEFORE_CAPTURES = ("identite", "titre_sejour", "domicile")
AFTER_CAPTURES = ("courrier_prefecture", "urgence", "autre")
MAX_NAME = 80  # characters before « .pdf » (Télérecours)
DEFAULT_RESULT = "aucun créneau disponible"
DEFAULT_RESULT_ANEF = "dépôt en ligne impossible"  # voie anef: the attempts are filing attempts


@dataclass(frozen=True)
class PlannedPiece:
    numero: int
    titre: str
    categorie: str  # a case category, or "captures"
    sources: tuple[SourceInfo, ...]
    fichier: str
    date: dt.date | None = None
    tentatives: tuple[int, ...] = ()  # indices into Inventory.attempts
    index: int | None = None  # position in case.pieces (None for the capture pièces)

    @property
    def pages(self) -> int:
        return sum(s.pages for s in self.sources)


@dataclass(frozen=True)
class PlannedAttempt:
    index: int  # position in the case file
    date: dt.datetime
    resultat: str
    note: str | None
    capture: str | None
    piece: int | None
    page: int | None


@dataclass(frozen=True)
class Inventory:
    pieces: tuple[PlannedPiece, ...]
    attempts: tuple[PlannedAttempt, ...]  # chronological
    courriers: tuple[int, ...] = field(default=())  # numbers of courrier_prefecture pièces

    def piece(self, numero: int) -> PlannedPiece:
        return self.pieces[numero - 1]

    def numero_of(self, index: int) -> int | None:
        """The number of the pièce written at ``index`` in case.pieces."""
        for p in self.pieces:
            if p.index == index:
                return p.numero
        return None

    def numeros_of_ids(self, ids: list[str], by_id: dict[str, int]) -> list[int]:
        """Numbers of the pièces named by their ids (unknown ids are a loader error already)."""
        out = [self.numero_of(by_id[i]) for i in ids if i in by_id]
        return [n for n in out if n is not None]


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o",
                            "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ı": "i"})


def ascii_label(text: str) -> str:
    """Accents removed, then only ASCII letters, digits, « _ » and « - » (Télérecours). Format
    characters (soft hyphen, U+200B…) are unseen in the title: gone, not « _ » (attack 25)."""
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z0-9-]+", "_", text)
    text = re.sub(r"_*-_*", "-", text)
    return re.sub(r"_+", "_", text).strip("_-")


# Words a cut name must not end on: « …_captures_des.pdf » reads as broken.
DANGLING = frozenset({"et", "de", "du", "la", "le", "les", "des", "d", "l", "a", "au", "aux",
                      "en", "par", "pour", "sur", "avec"})


def _drop_dangling(label: str, cut_word: bool = False) -> str:
    """Drop the words a cut name must not end on; a number whose unit was cut off (« …_2026_5 » for
    « 5 tentatives ») means nothing alone either."""
    words = re.split(r"([_-])", label)  # separators kept, so the name is rebuilt as it was
    while len(words) > 2 and (words[-1].lower() in DANGLING or (cut_word and words[-1].isdigit())):
        # A year (« 2026 ») keeps its meaning: only a number shorter than four digits is dropped.
        if words[-1].isdigit() and len(words[-1]) == 4:
            break
        words = words[:-2]
    return "".join(words).rstrip("_-")


def file_name(numero: int, titre: str, width: int = 2) -> str:
    prefix = f"{numero:0{width}d}_"
    label = ascii_label(titre) or "Piece"
    room = MAX_NAME - len(prefix)
    if len(label) > room:
        cut = label[:room]
        # Cut at a word boundary when one is reasonably close.
        at = max(cut.rfind("_"), cut.rfind("-"))
        label = (cut[:at] if at > room // 2 else cut).rstrip("_-")
        if at > room // 2:
            label = _drop_dangling(label, cut_word=True)
    return f"{prefix}{label}.pdf"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def capture_group_label(first: dt.date, last: dt.date, n: int) -> str:
    return f"Captures d'écran des tentatives {dates.format_range(first, last)} ({_plural(n, 'tentative')})"


def _group_attempts(case: Case, mode: str) -> list[tuple[str, list[int]]]:
    """Attempts with a capture, grouped into pièces, each group chronological."""
    with_capture = sorted(
        (i for i, t in enumerate(case.tentatives) if t.capture is not None),
        key=lambda i: (case.tentatives[i].date, i),
    )
    if not with_capture:
        return []
    when = lambda i: case.tentatives[i].date  # noqa: E731
    if mode == "par_tentative":
        return [(f"Capture d'écran de la tentative du {dates.format_datetime(when(i))}", [i]) for i in with_capture]
    if mode == "unique":
        return [(capture_group_label(when(with_capture[0]).date(), when(with_capture[-1]).date(),
                                     len(with_capture)), with_capture)]
    weeks: dict[tuple[int, int], list[int]] = {}
    for i in with_capture:
        weeks.setdefault(when(i).isocalendar()[:2], []).append(i)
    out = []
    # A week's range starts no earlier than the first attempt and ends no later than the requête's date
    # (« du 16 au 22 novembre » when the first attempt was on the 20th misled the reader).
    first = when(with_capture[0]).date()
    signed = case.signature.date or dates.today()
    for (year, week), members in sorted(weeks.items()):
        monday = dt.date.fromisocalendar(year, week, 1)
        sunday = monday + dt.timedelta(days=6)
        last = max(min(sunday, signed), when(members[-1]).date())
        out.append((capture_group_label(max(monday, first), last, len(members)), members))
    return out


def _order(case: Case) -> list[tuple[str, str, list, dt.date | None, list[int], int | None]]:
    """The pièces in filing order, each with its sources as the case gives them (not probed)."""
    drafts: list[tuple[str, str, list, dt.date | None, list[int], int | None]] = []

    def add_pieces(categories: tuple[str, ...]) -> None:
        for k, p in enumerate(case.pieces):
            if p.categorie in categories:
                drafts.append((p.titre, p.categorie, list(p.sources), p.date, [], k))

    add_pieces(BEFORE_CAPTURES)
    for label, members in _group_attempts(case, case.options.captures):
        drafts.append((label, "captures", [case.tentatives[i].capture for i in members], None, members, None))
    add_pieces(AFTER_CAPTURES)
    return drafts


def filing_order(case: Case) -> list:
    """Every source file, in the order the pièces file them (unprobed ``Source``s)."""
    return [s for _, sources in grouped(case) for s in sources]


def grouped(case: Case) -> list[tuple[str, list]]:
    """Each pièce's title and source files (unprobed ``Source``s), pièce n° 1 first."""
    return [(draft[0], draft[2]) for draft in _order(case)]


# What writing one pièce holds at once, over its sources: each PDF's and JPEG's bytes (a PNG's image
# data is written from its file), and the page content its stamping joins (``flux.MAX_JOINED``).
# Twelve distinct scans of 96 MB in one pièce took a build, and the web server, to 2.3 GB (attack 19).
MAX_PIECE_HELD = MAX_JOINED
MAX_DOSSIER_HELD = 2 * MAX_JOINED  # over every pièce: several are written at once, one per process
# Pages of one pièce (as of one PDF: pdfcheck.MAX_PDF_PAGES) and of the whole dossier: a 2,000-page
# PDF listed forty times, 80,000 pages, took a build to 833 MB (attack 19).
MAX_PIECE_PAGES = 2_000
MAX_DOSSIER_PAGES = 10_000


def _number(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")  # « 30 000 », as French writes it


def _held(s: SourceInfo) -> int:
    return (s.size if s.kind != "png" else 0) + s.contenu


def _heaviest(sources: list[SourceInfo], measure) -> str:
    """The three files that weigh most, every listing of a file counted, in French."""
    total: dict[str, list[int]] = {}
    for s in sources:
        seen = total.setdefault(s.written, [0, 0])
        seen[0] += measure(s)
        seen[1] += 1
    heavy = sorted(total.items(), key=lambda kv: (-kv[1][0], kv[0]))[:3]
    def mo(b: int) -> str:
        return "moins d'1 Mo" if b < 1_000_000 else f"{round(b / 1_000_000)} Mo"
    def times(n: int) -> str:
        return f", cité {_number(n)} fois" if n > 1 else ""
    return ", ".join(f"« {w} » ({mo(b)}{times(n)})" for w, (b, n) in heavy)


def heavy_problem(pieces: list[tuple[str, list[SourceInfo]]]) -> str | None:
    """What the build would hold of the files, bounded, in French, or None. ``pieces``: each pièce's
    title and sources, pièce n° 1 first, a file listed twice counted twice. Every PDF is held once
    read, then again in the complete dossier (``probe.MAX_HELD`` over them all); writing a pièce
    holds its PDFs' and JPEGs' bytes and its pages' joined content (``MAX_PIECE_HELD``, and
    ``MAX_DOSSIER_HELD`` over the pièces, written several at once). The heaviest files are named:
    they are the ones to redo."""
    every = [s for _, sources in pieces for s in sources]
    redo = "réenregistrez-les (« Imprimer » → « Enregistrer en PDF ») ou ne gardez que les pages utiles"
    if sum(s.poids for s in every) > MAX_HELD:
        return (f"les PDF de ce dossier occupent ensemble plus de {MAX_HELD >> 20} Mo de mémoire une fois lus "
                f"(les plus lourds : {_heaviest(every, lambda s: s.poids)}), refusé pour protéger la mémoire ; {redo}")
    for numero, (titre, sources) in enumerate(pieces, start=1):
        if sum(s.pages for s in sources) > MAX_PIECE_PAGES:
            return (f"pièce n° {numero} « {titre} » : plus de {_number(MAX_PIECE_PAGES)} pages, c'est trop pour une "
                    "pièce ; ne gardez que les pages utiles, ou répartissez-les entre plusieurs pièces")
        if sum(_held(s) for s in sources) > MAX_PIECE_HELD:
            return (f"pièce n° {numero} « {titre} » : ses fichiers demandent plus de {MAX_PIECE_HELD // 1_000_000} Mo "
                    f"de mémoire pour l'écrire, fichiers et contenu des pages (les plus lourds : "
                    f"{_heaviest(sources, _held)}), refusé pour protéger la mémoire ; répartissez-les entre "
                    f"plusieurs pièces, ou {redo}")
    if sum(s.pages for s in every) > MAX_DOSSIER_PAGES:
        return f"plus de {_number(MAX_DOSSIER_PAGES)} pages en tout, c'est trop pour un dossier ; ne gardez que les pages utiles"
    if sum(_held(s) for s in every) > MAX_DOSSIER_HELD:
        return (f"les fichiers de ce dossier demandent ensemble plus de {MAX_DOSSIER_HELD // 1_000_000} Mo de mémoire "
                f"pour écrire ses pièces (les plus lourds : {_heaviest(every, _held)}), refusé pour protéger la mémoire ; "
                f"{redo}")
    return None


def make(case: Case) -> Inventory:
    """Number every pièce; probes each source file (page count, hash) once."""
    drafts = [(t, c, [info(s) for s in sources], d, m, k) for t, c, sources, d, m, k in _order(case)]
    if (problem := heavy_problem([(draft[0], draft[2]) for draft in drafts])) is not None:
        raise FileProblem(problem)  # ``check`` said so first (« pdf-trop-lourds »)

    width = max(2, len(str(len(drafts))))
    pieces = []
    page_of: dict[int, tuple[int, int]] = {}
    for n, (titre, cat, sources, date, members, _) in enumerate(drafts, start=1):
        page = 1
        for i, src in zip(members, sources):
            page_of[i] = (n, page)
            page += src.pages
        pieces.append(PlannedPiece(n, titre, cat, tuple(sources), file_name(n, titre, width), date))

    order = sorted(range(len(case.tentatives)), key=lambda i: (case.tentatives[i].date, i))
    attempts = []
    default = DEFAULT_RESULT_ANEF if case.procedure.is_anef else DEFAULT_RESULT
    for i in order:
        t = case.tentatives[i]
        num, page = page_of.get(i, (None, None))
        attempts.append(PlannedAttempt(i, t.date, t.resultat or default, t.note,
                                       str(t.capture) if t.capture else None, num, page))
    position = {a.index: k for k, a in enumerate(attempts)}
    pieces = [
        PlannedPiece(p.numero, p.titre, p.categorie, p.sources, p.fichier, p.date,
                     tuple(position[i] for i in drafts[p.numero - 1][4]), drafts[p.numero - 1][5])
        for p in pieces
    ]
    courriers = tuple(p.numero for p in pieces if p.categorie == "courrier_prefecture")
    return Inventory(tuple(pieces), tuple(attempts), courriers)

