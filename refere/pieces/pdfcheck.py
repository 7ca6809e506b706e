"""The checks a source PDF passes before it is filed: pages the stamping can handle, streams
that do not inflate beyond reason. (Split from probe so that only what opens a PDF imports
pikepdf.)"""

from __future__ import annotations

import array
import io
import logging
from decimal import Decimal
from pathlib import Path

import pikepdf

from refere.errors import FileProblem
from refere.pieces import calques, flux, objlex, repair, sanitize

# qpdf's repair notes (« Pages tree includes non-dictionary object… ») are English noise to the
# user: what matters is reported in French, or the file is used as qpdf repaired it.
logging.getLogger("pikepdf._core").setLevel(logging.ERROR)
# Every exception the PDF library raises (PdfError, its sibling QpdfRuntimeError, PasswordError,
# DeletedObjectError…), with what Python raises on values qpdf hands back: all mean « this PDF
# cannot be used as it is », never an internal error.
PDF_ERRORS = (pikepdf.PikepdfError, RuntimeError, ValueError, TypeError, KeyError, AttributeError,
              IndexError, OverflowError, UnicodeError, flux.Undecodable)

# A pièce is a letter or a scanned document; a source of thousands of pages is a mistake or an
# attack, and every page is stamped and copied.
MAX_PDF_PAGES = 2_000
# Filters applied one over another: real producers use one (sometimes two); more is a bomb.
MAX_FILTERS = 2

# What an unknown /Filter may be, of the filters qpdf's own limits leave unbounded (LZW).
_GUESSES = (("/FlateDecode",), ("/LZWDecode",), ("/FlateDecode", "/LZWDecode"))
_UNKNOWN = object()
_EARLY_0 = pikepdf.Dictionary(EarlyChange=0)
MAX_OBJECTS = 1_000_000  # « N G obj » headers, or « stream » keywords, in one file (2,000 pages: far fewer)
MAX_DICTIONARY = 4_000_000  # bytes of one stream's dictionary (real ones: a few hundred)


def packed_objects_bomb(data: bytes) -> bool:
    """Whether qpdf, opening this file, would inflate something beyond reason (``packed_problem``)."""
    return packed_problem(data) is not None


def packed_problem(data: bytes) -> str | None:
    """Why qpdf, opening this file, would inflate something beyond reason, in French, or None.

    qpdf inflates object and cross-reference streams whole, in memory, as soon as it resolves an
    object they hold; a few megabytes of zeros would take gigabytes. So they are measured first,
    chunk by chunk. Every stream's dictionary is read as qpdf reads it (``objlex``: padding,
    decoy text in strings, « # » escapes, a /Type or /Filter held by another object hide
    nothing); the data after a « stream » keyword that follows a header but not its value is
    measured under every filter that could hide there. qpdf's own limits (``qpdf_limits``) bound
    Flate and RunLength anyway, and a PDF is read in a child process whose memory is capped
    (``probe``). The reading itself is bounded: objects, keywords, bytes read.
    """
    heads, numbers, keywords = array.array("q"), array.array("q"), array.array("q")
    for m in objlex.HEADER.finditer(data):
        if len(heads) == MAX_OBJECTS:
            return _TOO_MANY
        heads.append(m.end())
        numbers.append(int(m[1]) << 17 | min(int(m[2]), 65535))
    for m in objlex.KEYWORD.finditer(data):
        if len(keywords) == MAX_OBJECTS:
            return _TOO_MANY
        keywords.append(m.start())
    look = _Lookup(data, heads, numbers)
    try:
        k = 0
        for i, end in enumerate(heads):
            following = heads[i + 1] if i + 1 < len(heads) else len(data) + 1
            while k < len(keywords) and keywords[k] < end:
                k += 1
            if k == len(keywords) or keywords[k] >= following:
                continue  # no « stream » before the next object: not a stream
            obj, after = look.value(end)
            at = objlex.stream_start(data, after) if isinstance(obj, dict) else None
            if at is None:
                # A « stream » keyword follows, but not this value: a header written inside
                # another object's string to hide it; what follows that keyword is measured.
                if look.inflates(objlex.data_start(data, keywords[k]), None):
                    return _PACKED_TOO_BIG
                continue
            kind = look.resolved(obj.get("/Type"))
            if (kind in ("/ObjStm", "/XRef") or kind is _UNKNOWN) and look.inflates(at[1], obj):
                return _PACKED_TOO_BIG
    except flux.TooCostly:
        return _PACKED_TOO_BIG
    except _Spent:
        return _TOO_MANY
    return None


class _Spent(Exception):
    """The reading of dictionaries went past its bytes."""


class _Lookup:
    """The file's objects by number, read on demand, and what reading them and measuring streams
    has cost (bytes read at most twice the file, streams decoded at most MAX_DOC_DECODED)."""

    def __init__(self, data: bytes, heads, numbers):
        self.data, self.heads, self.numbers = data, heads, numbers
        self.where: dict | None = None
        self.read_left = 2 * len(data) + (1 << 20)
        self.decoded_left = MAX_DOC_DECODED

    def value(self, pos: int) -> tuple[object, int]:
        stop = pos + min(self.read_left, MAX_DICTIONARY)
        try:
            obj, end = objlex.value(self.data, pos, stop)
        except objlex.Unread as exc:
            obj, end = _UNKNOWN, max(exc.reached, pos + 1)
        self.read_left -= end - pos
        if self.read_left < 0:
            raise _Spent
        return obj, end

    def resolved(self, item, depth: int = 0):
        """A value, through an indirect reference to an object written in the file; _UNKNOWN when
        it points nowhere this reader sees (inside an object stream) or cannot be read."""
        if not isinstance(item, objlex.Ref):
            return item
        if self.where is None:  # the last definition of a number wins, as in an updated file
            self.where = dict(zip(self.numbers, self.heads))
        pos = self.where.get(item[0] << 17 | min(item[1], 65535))
        if depth > 2 or pos is None:
            return _UNKNOWN
        return self.resolved(self.value(pos)[0], depth + 1)

    def chains(self, stream: dict | None) -> tuple[tuple[str, ...], ...]:
        """The filters the stream's data would be decoded with, or every guess when they cannot be
        read (``stream`` None: data after a keyword no dictionary explains)."""
        if stream is None:
            return _GUESSES
        filt = self.resolved(stream.get("/Filter"))
        items = filt if isinstance(filt, list) else [filt] if filt is not None else []
        names = [self.resolved(f) for f in items]
        if not all(isinstance(n, str) for n in names):
            return _GUESSES
        return (tuple(flux.ALIASES.get(n, n) for n in names),)

    def inflates(self, start: int, stream: dict | None) -> bool:
        """Whether the data at ``start`` decodes past MAX_PACKED, under its filters or any guess."""
        # Not cut at /Length: qpdf finds the end of a stream whose /Length lies by « endstream »,
        # and Flate and LZW data end by themselves.
        body = memoryview(self.data)[start:start + MAX_PACKED]
        chains = self.chains(stream)
        for chain in chains:
            chain = tuple(n for n in chain if n != "/Crypt")  # qpdf passes over it in a file not encrypted
            if not chain or not set(chain) <= flux.GENERAL or len(chain) > MAX_FILTERS:
                continue  # nothing to inflate, or what qpdf does not inflate when it opens the file
            if chains is _GUESSES and not _plausible(chain[0], body):
                continue  # a guess the data's first bytes rule out
            # LZW read both ways (/EarlyChange 1, the default, or 0): its parameters are not trusted.
            for parms in (None, _EARLY_0) if "/LZWDecode" in chain else (None,):
                limit = min(MAX_PACKED, self.decoded_left)
                try:
                    measured = flux.decoded_size(body, list(chain), parms, limit)
                except flux.Undecodable:
                    continue
                if measured is not None and measured > limit:
                    return True
                self.decoded_left -= measured or 0
        return False


def _plausible(name: str, body: memoryview) -> bool:
    """Whether data may be under this filter, from its first bytes: a zlib header, or LZW's
    opening « clear table » code (text after a stray « stream » word is neither)."""
    head = bytes(body[:2])
    if len(head) < 2:
        return False
    if name == "/FlateDecode":
        return head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    if name == "/LZWDecode":
        return head[0] == 0x80 and head[1] < 0x80
    return True


def qpdf_limits() -> None:
    """qpdf's own bounds on what it decodes, whatever a dictionary says: no Flate or RunLength
    stream past what the checks let through, no stream under more filters than they allow.
    Process-wide, the same values every time: set before each source is opened. (A pikepdf
    older than its qpdf limits leaves the capped process that reads the PDF as the bound.)"""
    settings = getattr(pikepdf, "settings", None)
    if hasattr(settings, "set_qpdf_limits"):
        settings.set_qpdf_limits(flate_max_memory=QPDF_DECODE_LIMIT, run_length_max_memory=QPDF_DECODE_LIMIT,
                                 max_stream_filters=MAX_FILTERS)


def pdf_open(source: bytes | Path, written: str) -> pikepdf.Pdf:
    """Open a PDF, owner-password-only encryption included; French errors otherwise."""
    if isinstance(source, bytes) and (problem := packed_problem(source)) is not None:
        raise FileProblem(f"« {written} » : {problem}, refusé pour protéger la mémoire ; "
                          "réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")
    qpdf_limits()

    def opened(inherit: bool) -> pikepdf.Pdf:
        return pikepdf.open(io.BytesIO(source) if isinstance(source, bytes) else source,
                            inherit_page_attributes=inherit)

    try:
        # Counted before qpdf pushes inherited attributes down to each page: that walk copies
        # every page listed twice, a million times over for a few KB of /Kids.
        with opened(False) as bare:
            try:
                problem = _tree_problem(bare)
            except PDF_ERRORS:
                problem = None  # a tree too odd to count here: qpdf's reading says what it is
        if problem is not None:
            raise FileProblem(f"« {written} » : {problem}")
        return opened(True)
    except pikepdf.PasswordError:
        raise FileProblem(
            f"« {written} » : ce PDF est protégé par un mot de passe ; "
            "ouvrez-le et réenregistrez-le sans protection (« Imprimer » → « Enregistrer en PDF »)"
        ) from None
    except PDF_ERRORS as exc:
        if "unsupported" in str(exc).lower() or "does not support" in str(exc).lower():
            raise FileProblem(f"« {written} » : {UNSUPPORTED_CRYPT}") from None
        if "too deeply nested" in str(exc).lower():  # valid, but past what qpdf walks
            raise FileProblem(f"« {written} » : arbre des pages imbriqué sur plus de 100 niveaux, format non "
                              "pris en charge ; réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)") from None
        # qpdf's own words are English and name a temporary object: a French label instead.
        raise FileProblem(f"« {written} » : PDF endommagé ou tronqué, illisible ({repair.labels([str(exc)])[0]}) ; "
                          "réenregistrez-le depuis son logiciel d'origine (« Imprimer » → « Enregistrer en PDF »)") from None


UNSUPPORTED_CRYPT = ("PDF chiffré par une méthode que refere ne sait pas lire, format non pris en charge ; "
                     "ouvrez-le et réenregistrez-le sans protection (« Imprimer » → « Enregistrer en PDF »)")


def _thousands(n: int) -> str:
    from refere.dates import format_number  # Babel: only for the rare refusal that needs it

    return format_number(n)


def _content_size(contents: pikepdf.Array, sizes: dict) -> int:
    """The decoded total of a page's content parts, joined into one form when the page is
    stamped (it must fit in memory), counted up to MAX_CONTENT + 1 at most: a part named many
    times is measured once (``sizes``, by object), and none is inflated past what is left."""
    total = 0
    for part in contents:
        if not isinstance(part, pikepdf.Stream):
            continue
        key = part.objgen if part.is_indirect else None
        size = sizes.get(key) if key is not None else None
        if size is None:
            try:
                size = flux.decoded_size(part.read_raw_bytes(), flux.filter_names(part),
                                         part.get("/DecodeParms"), MAX_CONTENT - total)
            except flux.Undecodable:
                size = 0  # damaged: left out when stamped, named by the diagnosis
            size = MAX_CONTENT + 1 if size is None else size
            if key is not None:
                sizes[key] = size
        total += size
        if total > MAX_CONTENT:
            break
    return total


class _Joined:
    """What the stamping joins, over the whole document: each page's content parts, decoded, held
    until the pièce is saved. An array or a part named by many pages is measured once."""

    def __init__(self) -> None:
        self.parts: dict = {}
        self.arrays: dict = {}
        self.singles: dict = {}
        self.total = 0

    def add(self, contents: pikepdf.Array) -> int:
        key = contents.objgen if contents.is_indirect else None
        size = self.arrays.get(key) if key is not None else None
        if size is None:
            size = _content_size(contents, self.parts)
            if key is not None:
                self.arrays[key] = size
        self.total += size
        return size

    def again(self, stream: pikepdf.Stream) -> bool:
        """A page's one content stream: each page stamped gets its own copy of it, so a stream
        named by many pages counts for each page after the first. Whether it was counted."""
        key = stream.objgen if stream.is_indirect else None
        if key is None or key not in self.singles:
            if key is not None:
                self.singles[key] = len(stream.read_raw_bytes())
            return False
        self.total += self.singles[key]
        return True


def _page_problem(page: pikepdf.Page, joined: _Joined) -> str | None:
    """What the stamping could not handle on this page (``joined``: the pages before it), in
    French, or None."""
    obj = page.obj
    rotate = obj.get("/Rotate", 0)
    if not _is_number(rotate):
        return "rotation (/Rotate) qui n'est pas un nombre"
    shown = f"{Decimal(str(rotate)):f}".replace(".", ",")
    if not abs(rotate) < 1e9:
        # Refused, not brought back to a quarter turn: PDF readers disagree on such a number
        # (PDFium reads it as a 32-bit integer, others modulo 360), the pièce could turn otherwise.
        return f"rotation (/Rotate) de {shown}°, hors limites (les lecteurs PDF ne la lisent pas tous de la même façon)"
    if Decimal(str(rotate)) % 90 != 0:
        return f"rotation (/Rotate) de {shown}°, pas un multiple de 90"
    unit = obj.get("/UserUnit", 1)
    if not _is_number(unit) or not 0 < unit <= 75000:
        # Zero, negative or not a number: readers fall back each their own way (attack 34); a
        # sound one (a large plan drawn at scale) is kept as it is.
        return "unité de mesure de la page (/UserUnit) invalide : les lecteurs PDF ne la lisent pas tous de la même façon"
    box = obj.get("/CropBox") or obj.get("/MediaBox")
    if box is None:
        try:
            box = page.mediabox  # inherited from the page tree
        except Exception:  # noqa: BLE001
            box = None
    if not isinstance(box, pikepdf.Array) or len(box) != 4 or not all(_is_number(v) for v in box):
        return "format de page (/MediaBox) absent ou illisible"
    x0, y0, x1, y1 = (float(v) for v in box)
    if abs(x1 - x0) < 1 or abs(y1 - y0) < 1:
        return "page de taille nulle (/MediaBox)"
    if max(abs(x0), abs(y0), abs(x1), abs(y1)) > 1e6:
        return "format de page (/MediaBox) démesuré"
    contents = obj.get("/Contents")
    if isinstance(contents, pikepdf.Stream) and joined.again(contents) and joined.total > MAX_DOC_CONTENT:
        return _JOINED_TOO_BIG
    if isinstance(contents, pikepdf.Array):
        if len(contents) > MAX_PAGE_PARTS:
            return f"contenu de page découpé en plus de {_thousands(MAX_PAGE_PARTS)} morceaux"
        if joined.add(contents) > MAX_CONTENT:
            return f"contenu de page qui se décompresse en plus de {MAX_CONTENT // 1_000_000} Mo"
        if joined.total > MAX_DOC_CONTENT:
            return _JOINED_TOO_BIG
    annots = obj.get("/Annots")
    if isinstance(annots, pikepdf.Array) and len(annots) > MAX_PAGE_PARTS:
        return f"page qui porte plus de {_thousands(MAX_PAGE_PARTS)} annotations"
    resources = obj.get("/Resources")
    if resources is not None:
        if not isinstance(resources, pikepdf.Dictionary):
            return "ressources de la page (/Resources) qui ne sont pas un dictionnaire"
        fonts = resources.get("/Font")
        if fonts is not None and not isinstance(fonts, pikepdf.Dictionary):
            return "polices de la page (/Font) qui ne sont pas un dictionnaire"
    return None


def _is_number(value) -> bool:
    # pikepdf gives PDF integers as int and reals as Decimal; a bool is not a number here.
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


# Filters that qpdf decodes when it writes the pièce (it recompresses them as Flate); Flate alone
# and image codecs are copied as they are. Each with the most one input byte can inflate to.
_REDECODED = {"/ASCIIHexDecode": 1, "/ASCII85Decode": 4, "/RunLengthDecode": 64, "/LZWDecode": 4096,
              "/FlateDecode": 1032}
_COPIED = {"/FlateDecode", "/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode", "/Crypt"}
MAX_DECODED = 256_000_000  # bytes one stream may inflate to when the pièce is written
MAX_DOC_DECODED = 2_000_000_000  # the same over every stream of the document (the writing decodes them all)
MAX_PACKED = 64_000_000  # bytes of objects packed in one object stream (real ones: a few MB)
_PACKED_TOO_BIG = f"PDF dont les objets compressés se décompressent en plus de {MAX_PACKED // 1_000_000} Mo"
_TOO_MANY = "PDF à la structure démesurée (plus d'un million d'objets, ou des objets écrits les uns dans les autres)"
QPDF_DECODE_LIMIT = 300_000_000  # bytes qpdf may inflate one stream to: past every limit above
MAX_FLATTENED = 5_000  # annotations of one page of a PDF with a form, drawn into the page (10,000: 8 s)
MAX_OBJECTS_MEMORY = 64 << 20  # bytes every object of a source takes once read (60,000 objects: 3 MB)
MAX_CONTENT = 128_000_000  # bytes of one page's content when its parts are joined for the stamp
MAX_PAGE_PARTS = 100_000  # content streams, or annotations, of one page (real pages: a few, a few hundred)
MAX_DOC_PARTS = 200_000  # the same over every page, as listed
MAX_DOC_CONTENT = flux.MAX_JOINED  # bytes of joined content over every page, held until the pièce is saved
MAX_LAYER_ENTRIES = 10_000  # layers, and entries of their default configuration's lists (real ones: dozens)
_JOINED_TOO_BIG = f"avec les pages d'avant, contenu qui se décompresse en plus de {MAX_DOC_CONTENT // 1_000_000} Mo au total"
MAX_TREE_ENTRIES = 10 * MAX_PDF_PAGES  # /Kids entries in the page tree (pages and the nodes above them)


def _stream_problem(stream: pikepdf.Stream, budget: list[int]) -> str | None:
    """Whether writing this stream would inflate it beyond reason, in French, or None. Data that
    does not decode is not a bomb: the diagnosis calls it damage. ``budget``: what the streams
    decoded when written may still add up to, over the whole document (each is charged its bound
    when that fits, else what it measures)."""
    names = flux.filter_names(stream)
    if len(names) > MAX_FILTERS:
        return f"flux compressé {len(names)} fois ({MAX_FILTERS} au plus)"
    if all(n in _COPIED for n in names) or flux.unknown_filters(names):
        return None  # copied as they are (an unknown filter is named by the diagnosis)
    raw = stream.read_raw_bytes()
    bound = len(raw)
    for n in names:
        bound *= _REDECODED.get(n, 1)
    limit = min(MAX_DECODED, budget[0])
    if bound <= limit:
        budget[0] -= bound
        return None
    general = [n for n in names if n in _REDECODED]
    try:
        size = flux.decoded_size(raw, general, stream.get("/DecodeParms"), limit)
    except flux.Undecodable:
        return None
    if size is not None and size <= limit:
        budget[0] -= size
        return None
    if limit == MAX_DECODED:
        return f"flux compressé qui se décompresse en plus de {MAX_DECODED // 1_000_000} Mo"
    return f"flux compressés qui se décompressent en plus de {MAX_DOC_DECODED // 1_000_000_000} Go au total"


def _streams_problem(pdf: pikepdf.Pdf) -> str | None:
    """Only what the pages use is written into the pièce: an orphan object does not count."""
    seen: set = set()
    walk, budget = [repair.MAX_WALK], [MAX_DOC_DECODED]
    for page in pdf.pages:
        for stream in repair.page_streams(page, seen, walk):
            if (problem := _stream_problem(stream, budget)) is not None:
                return problem
    return None


def _flattened_problem(page: pikepdf.Page) -> str | None:
    """A form's annotations are drawn into the page (``sanitize``), in a time that grows with the
    square of their number on it: 40,000 took 200 s (attack 16); a real form page has a few dozen."""
    annots = page.obj.get("/Annots")
    if isinstance(annots, pikepdf.Array) and len(annots) > MAX_FLATTENED:
        return f"formulaire de plus de {_thousands(MAX_FLATTENED)} annotations sur la page"
    return None


_OBJECTS_TOO_BIG = f"PDF dont les objets occupent plus de {MAX_OBJECTS_MEMORY >> 20} Mo une fois lus"


def _objects_problem(pdf: pikepdf.Pdf, before: int) -> str | None:
    """Every object of the file read, as the pièce's writing may (its clean-up walks them all, a
    copied page follows links the checks do not): a few KB of object stream can hold an array of
    31 million numbers, 4 GB once qpdf has read it. Done here, in the capped child process; what
    the process held ``before`` the file was opened is the base (qpdf reads an object stream that
    holds the catalogue while it opens the file: attack 18)."""
    from refere import isolee

    len(pdf.objects)  # qpdf reads every object
    return _OBJECTS_TOO_BIG if isolee.held() - before > MAX_OBJECTS_MEMORY else None


def _layers_problem(pdf: pikepdf.Pdf) -> str | None:
    """The layer configuration the pièce carries over (``calques.carry``) once per listing of the
    file, list by list: 300,000 entries took a build to 2 GB (attack 18)."""
    props = pdf.Root.get("/OCProperties")
    if not isinstance(props, pikepdf.Dictionary):
        return None
    default = props.get("/D")
    lists = [props.get("/OCGs")] + ([default.get(k) for k in calques.LISTS] if isinstance(default, pikepdf.Dictionary) else [])
    if sum(len(v) for v in lists if isinstance(v, pikepdf.Array)) > MAX_LAYER_ENTRIES:
        return f"PDF aux calques démesurés (plus de {_thousands(MAX_LAYER_ENTRIES)} entrées dans leur configuration)"
    return None


def _carried_weight(pdf: pikepdf.Pdf, before: int) -> int:
    """What the file holds once read and cleaned, with the layer configuration a pièce carries over
    from it (``calques.carry``, into a scratch document kept open for the count)."""
    from refere import isolee

    with pikepdf.new() as scratch:
        calques.carry(scratch, pdf)
        return max(0, isolee.held() - before)


def _tree_problem(pdf: pikepdf.Pdf) -> str | None:
    """What makes the page tree too big to hand to qpdf, counted without qpdf's list of pages
    (that list copies each page listed twice, a million times over for a few KB of /Kids, and
    notes each repeated annotation): pages as listed, every /Kids entry, and the content parts
    and annotations each listing brings. A /Pages node met again (a loop) is walked once."""
    pages = entries = parts = 0
    seen, todo = set(), [pdf.Root.get("/Pages")]
    while todo:
        node = todo.pop()
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        kids = node.get("/Kids")
        for kid in kids if isinstance(kids, pikepdf.Array) else ():
            entries += 1
            if entries > MAX_TREE_ENTRIES:
                return (f"arbre des pages démesuré (plus de {_thousands(MAX_TREE_ENTRIES)} entrées), refusé "
                        "pour protéger la mémoire ; réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")
            if not isinstance(kid, pikepdf.Dictionary):
                continue
            if isinstance(kid.get("/Kids"), pikepdf.Array):
                todo.append(kid)
                continue
            pages += 1  # a page, counted each time it is listed, as qpdf lists it
            if pages > MAX_PDF_PAGES:
                return (f"plus de {MAX_PDF_PAGES} pages, c'est trop pour une pièce ; "
                        "ne gardez que les pages utiles")
            parts += sum(len(v) for v in (kid.get("/Contents"), kid.get("/Annots")) if isinstance(v, pikepdf.Array))
            if parts > MAX_DOC_PARTS:
                return (f"plus de {_thousands(MAX_DOC_PARTS)} morceaux de contenu et annotations sur ses pages, "
                        "refusé pour protéger la mémoire ; réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")
    return None


def _pdf_pages(data: bytes, written: str) -> tuple[int, repair.Diagnosis, int, int]:
    """Pages, diagnosis, the bytes of memory the file took once read and cleaned (its weight:
    what a build holding it would hold; see ``probe.MAX_HELD``), and the bytes of page content the
    stamping joins and holds until the pièce is saved (``flux.MAX_JOINED``)."""
    try:
        with flux.counting():
            return _checked_pages(data, written)
    except flux.TooCostly as exc:
        raise FileProblem(f"« {written} » : format non pris en charge (flux {exc} découpés en trop de "
                          "morceaux pour être vérifiés en un temps raisonnable) ; réenregistrez le PDF "
                          "(« Imprimer » → « Enregistrer en PDF »)") from None


def _checked_pages(data: bytes, written: str) -> tuple[int, repair.Diagnosis, int, int]:
    from refere import isolee

    before = isolee.held()
    with pdf_open(data, written) as pdf:
        try:
            n = len(pdf.pages)
        except PDF_ERRORS:
            n = 0
        if n == 0:
            raise FileProblem(f"« {written} » : PDF sans aucune page lisible")
        if n > MAX_PDF_PAGES:
            raise FileProblem(f"« {written} » : {n} pages, c'est trop pour une pièce ({MAX_PDF_PAGES} au plus) ; "
                              "ne gardez que les pages utiles")
        try:
            # The pages first: each is looked at in bounded time, the walk of their streams is not.
            joined = _Joined()
            form = isinstance(pdf.Root.get("/AcroForm"), pikepdf.Dictionary)
            for k, page in enumerate(pdf.pages, start=1):
                if (problem := _page_problem(page, joined) or (_flattened_problem(page) if form else None)) is not None:
                    raise FileProblem(f"« {written} », page {k} : {problem} ; "
                                      "réenregistrez le PDF (« Imprimer » → « Enregistrer en PDF »)")
            if (problem := _streams_problem(pdf)) is not None:
                raise FileProblem(f"« {written} » : {problem}, refusé pour protéger la mémoire ; "
                                  "réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")
            etat = repair.diagnose(pdf)
            # After the diagnosis: what qpdf notes while reading objects no page uses is no damage.
            if (problem := _objects_problem(pdf, before) or _layers_problem(pdf)) is not None:
                raise FileProblem(f"« {written} » : {problem}, refusé pour protéger la mémoire ; "
                                  "réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")
            # What the pièce's writing does to the file (form fields drawn and flattened, every
            # object walked, the layers carried over), done first here, in the capped child
            # process: qpdf's drawing of a list box citing one 2 MB string 2,000 times took a
            # build to 8 GB (attack 16).
            sanitize.clean(pdf)
            weight = _carried_weight(pdf, before)
            if weight > MAX_OBJECTS_MEMORY:
                raise FileProblem(f"« {written} » : {_OBJECTS_TOO_BIG}, refusé pour protéger la mémoire ; "
                                  "réenregistrez-le (« Imprimer » → « Enregistrer en PDF »)")
        except PDF_ERRORS:
            raise FileProblem(f"« {written} » : PDF endommagé (un objet ou un flux illisible)") from None
        if etat.etat == repair.UNSUPPORTED:
            raise FileProblem(f"« {written} » : {UNSUPPORTED_CRYPT}")
        return n, etat, weight, joined.total
