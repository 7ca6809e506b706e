"""Is a source PDF damaged, and does copying its pages into a new file make it whole?

Only what a page shows counts: the objects reachable from the pages (content, resources, images,
fonts, annotations), never an orphan object elsewhere in the file. Every stream a page uses is
decoded within a budget (Flate, LZW, RunLength and the ASCII filters by qpdf, JPEG and CCITT by
Pillow, JBIG2 walked segment by segment); an unknown filter is damage. Each page's content is
tokenised, since a pièce moves it into a form XObject where ``qpdf --check`` no longer looks.
qpdf speaks English and names absolute paths: its findings become a few French labels here.
"""

from __future__ import annotations

import io
import itertools
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from refere.pieces import flux, jpegcheck

if TYPE_CHECKING:
    import pikepdf

INTACT = "intact"
REPAIRED = "reparee"
DAMAGED = "endommagee"
UNSUPPORTED = "non-pris-en-charge"  # valid, but encrypted in a way qpdf does not know

CONTENT = "contenu de page mal formé"
STREAM = "flux de données compressé illisible"
UNKNOWN_FILTER = "flux compressé par un filtre inconnu"
MISSING = "contenu de page manquant (fichier tronqué ?)"
STRAY = ("page rattachée (/Parent) à un autre nœud de l'arbre des pages que celui qui la liste : "
         "les lecteurs PDF ne la montrent pas tous de la même façon")
# (words in qpdf's message, French label); the first match wins.
_KINDS = (
    # AES-256's /Perms repeats /P under the key: qpdf still opens the file, pdfium refuses its password.
    (("/perms field",), "autorisations du chiffrement (/Perms) contraires au reste du chiffrement"),
    (("(content", "content stream", "while reading token"), CONTENT),
    (("inflate", "decoding stream", "while decoding", "decode", "filter", "lzw", "dct", "output may still be valid",
      "re-processed without filtering", "unable to recover stream data"), STREAM),
    (("stream length", "endstream", "/length", "stream keyword"), "longueur d'un flux (/Length) erronée"),
    (("object stream",), "flux d'objets endommagé"),
    (("kid ", "pages tree", "page tree", "/type /page", "/pages", "should be /page"), "arbre des pages endommagé"),
    (("trailer", "/prev", "/id "), "fin de fichier (trailer) endommagée"),
    (("xref", "cross-ref", "reconstruct", "startxref", "not found in file", "expected n n obj", "offset"),
     "table des objets (xref) endommagée"),
    (("token", "expected dictionary key", "dictionary ended", "unexpected", "parse error", "empty object",
      "invalid character", "null character", "loop detected", "endobj", "expected"), "objet mal formé"),
)
_OTHER = "structure interne endommagée"
# qpdf notes that say nothing a reader would see: a name written the old way, a key given twice,
# an annotation listed twice by its page (kept so in the pièce, drawn as in the source), spaces
# after « stream », a missing /Type or an absent page box or resources that every viewer defaults
# the same way, a compressed stream lacking only its end marker (qpdf and poppler read it whole),
# and the summary line that precedes the real finding.
_BENIGN = ("name with stray #", "duplicated key", "extraneous whitespace", "file is damaged",
           "/type entry", "resources is missing", "mediabox is undefined", "output may still be valid",
           "has duplicate entry for annotation")


@dataclass(frozen=True)
class Diagnosis:
    etat: str = INTACT
    defauts: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()  # the pages (from 1) whose content or images are damaged, or whose /Parent lies


_POSITION = re.compile(r"offset \d+\)?: ")  # « …, object 4 0 at offset 106: », « … (object 4 0, offset 106): »


def _message(problem: str) -> str:
    """qpdf's message without the file path and object position it starts with (the position
    may name an object stream the object sits in: not a finding about that stream)."""
    low = problem.lower()
    if (at := _POSITION.search(low)) is not None:
        return low[at.end():]
    if "): " in low:
        return low.split("): ", 1)[1]
    if ".pdf: " in low:
        return low.split(".pdf: ", 1)[1]
    return low


def label(problem: str) -> str:
    low = problem.lower()
    if "(content" in low:
        return CONTENT
    msg = _message(problem)
    return next((fr for words, fr in _KINDS if any(w in msg for w in words)), _OTHER)


def labels(problems: list[str]) -> tuple[str, ...]:
    """French labels, each once, in a stable order."""
    return tuple(sorted({label(p) for p in problems}))


def _benign(problem: str) -> bool:
    low = problem.lower()
    return any(b in low for b in _BENIGN)


# Decoding is bounded: a few MB of compressed zeros must not cost minutes. Past the budget a
# stream counts as unverified, not damaged.
BUDGET = 48 * 1024 * 1024
_TEXT = {"/ASCIIHexDecode", "/ASCII85Decode"}
PIXEL_BUDGET = 400_000_000
# A JPEG decoded in full by qpdf holds every pixel at once: a 400 dpi A4 scan at most; a larger
# one is decoded at an eighth of its size by Pillow (a cut sequential scan still fails there).
EXACT_JPEG_PIXELS = 16_000_000
MAX_WALK = 200_000  # objects walked from the pages of one document
MAX_TOKENS = 4_000_000  # content tokens counted over one document (about 2 s; a dense map page: 1 million)


def page_streams(page: pikepdf.Page, seen: set, budget: list[int]) -> list[pikepdf.Stream]:
    """The streams a page uses, each once per document (``seen`` holds object numbers): content,
    resources (fonts, images, forms and theirs), annotations and their appearances."""
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    found = []
    todo = [page.obj]
    while todo and budget[0] > 0:
        obj = todo.pop()
        budget[0] -= 1
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)) and obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Stream):
            found.append(obj)
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            for key in obj.keys():
                if key in ("/Parent", "/P", "/Dest", "/Prev", "/Next", "/First", "/Last"):
                    continue
                todo.append(obj.get(key))
        elif isinstance(obj, pikepdf.Array):
            todo.extend(itertools.islice(obj, budget[0]))  # never more than the walk may visit
    return found


def stream_damage(stream: pikepdf.Stream, budget: list[int]) -> str | None:
    """Why this stream's data cannot be decoded, as a French label, or None (sound, or past the
    budget: unverified). Bounded: nothing inflates past the budget."""
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    names = flux.filter_names(stream)
    if not names:
        return None
    if flux.unknown_filters(names):
        return UNKNOWN_FILTER
    if "/Crypt" in names or "/JPXDecode" in names:
        return None  # decrypted by qpdf / a JPEG 2000 codec is not always there: not judged
    general = [n for n in names if n in flux.GENERAL]
    image = [n for n in names if n not in flux.GENERAL]
    if len(image) > 1 or (image and names[-1] != image[0]):
        return STREAM  # an image codec must come last, alone
    try:
        raw = stream.read_raw_bytes()
        parms = stream.get("/DecodeParms")
        parms = list(parms) if isinstance(parms, pikepdf.Array) else [parms] * len(names)
        data = raw
        if general:
            size = flux.decoded_size(raw, general, parms[:len(general)], budget[0])
            if size is None or size > budget[0]:
                return None
            budget[0] -= size
            if names[-1] == "/FlateDecode" and set(names[:-1]) <= _TEXT:
                return None if flux.flate_complete(flux.undo_text_filters(raw, names[:-1])) else STREAM
            level = pikepdf.StreamDecodeLevel.generalized if image else pikepdf.StreamDecodeLevel.all
            data = stream.read_bytes(decode_level=level)
        if image:
            return _image_damage(stream, image[0], data, budget)
    except flux.Undecodable:
        return STREAM
    except (pikepdf.PikepdfError, ValueError, TypeError, RuntimeError, OverflowError):
        return STREAM
    return None


def _image_damage(stream: pikepdf.Stream, name: str, data: bytes, budget: list[int]) -> str | None:
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    if name == "/JBIG2Decode":
        return None if flux.jbig2_complete(data) else STREAM
    try:
        w, h = int(stream.get("/Width", 0)), int(stream.get("/Height", 0))
    except (TypeError, ValueError):
        return STREAM
    if w <= 0 or h <= 0:
        return STREAM if name == "/CCITTFaxDecode" else None
    if w * h > PIXEL_BUDGET or w * h > budget[1]:
        return None
    budget[1] -= w * h
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if name == "/DCTDecode" and (verdict := jpegcheck.damaged(data, EXACT_JPEG_PIXELS)) is not None:
                return STREAM if verdict else None  # cut, shuffled, corrupt: what libjpeg draws grey
            if name == "/DCTDecode":  # cut short but closed with EOI: refused too (jpegcheck)
                with Image.open(io.BytesIO(jpegcheck.for_decoding(data))) as img:
                    if img.size[0] * img.size[1] > PIXEL_BUDGET:
                        return None
                    img.draft(img.mode, (max(1, img.size[0] // 8), max(1, img.size[1] // 8)))
                    img.load()
            elif stream.get("/Subtype") == pikepdf.Name.Image:  # CCITT: in a TIFF header, libtiff decodes it
                with flux.c_stderr() as said:
                    pikepdf.PdfImage(stream).as_pil_image().load()
                # libtiff draws a bad code word as white and goes on, saying so only on stderr (in
                # English, which must not reach the user either): what poppler shows as a blank.
                if "Decode" in said():
                    return STREAM
        except (Image.DecompressionBombError, MemoryError):
            return None
        except OSError as exc:
            if "not supported" in str(exc).lower() or "unsupported" in str(exc).lower():
                return None  # a codec variant Pillow lacks (12-bit JPEG): not judged
            return STREAM
        except Exception:  # noqa: BLE001 - Pillow and pikepdf signal bad data with many types
            return STREAM
    return None


def _contents_missing(page: pikepdf.Page, rebuilt: bool) -> bool:
    """A /Contents that names objects the file no longer holds: a truncated file « recovered » by
    qpdf into pages with nothing on them (qpdf drops the dangling reference)."""
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    if "/Contents" not in page.obj:
        return rebuilt
    contents = page.obj.get("/Contents")
    if isinstance(contents, pikepdf.Stream):
        return False
    if isinstance(contents, pikepdf.Array):
        parts = list(contents)
        return not parts or all(not isinstance(p, pikepdf.Stream) for p in parts)
    return True


def page_problems(pdf: pikepdf.Pdf, rebuilt: bool = False) -> tuple[list[str], list[int]]:
    """(problems, damaged pages from 1) of every page: streams decoded, content tokenised.
    ``rebuilt``: qpdf had to reconstruct the file, so a page without content is a lost one."""
    problems, pages = [], []
    seen: set = set()
    bad: dict = {}  # damaged stream (object number) -> its label, to name every page citing it
    budget = [BUDGET, PIXEL_BUDGET]
    walk = [MAX_WALK]
    tokens = token_counter(MAX_TOKENS)
    for k, page in enumerate(pdf.pages, start=1):
        found = []
        try:
            if _contents_missing(page, rebuilt):
                found.append(MISSING)
            for stream in page_streams(page, seen, walk):
                if (why := stream_damage(stream, budget)) is not None:
                    found.append(why)
                    bad[stream.objgen] = why
            if not found and budget[0] > 0 and tokens.left > 0:
                size = content_size(page, budget[0])
                if size is not None and size <= budget[0]:
                    budget[0] -= size
                    pdf.get_warnings()  # (it empties qpdf's list) only the tokeniser's own count here
                    try:
                        page.parse_contents(tokens)
                    except TokensSpent:
                        continue  # the rest of the document's content is not tokenised: unverified
                    if any(not _benign(w) for w in pdf.get_warnings()):
                        found.append(CONTENT)
        except walk_errors():
            found.append(CONTENT)
        if found:
            pages.append(k)
            problems.extend(found)
    if bad and len(pages) < len(pdf.pages):
        pages = sorted(pages + _sharing(pdf, set(pages), bad, walk))
    return problems, pages


class TokensSpent(Exception):
    """A token counter reached its limit."""


def token_counter(limit: int):
    """A parser for qpdf's tokeniser (``page.parse_contents``) that counts content tokens and keeps
    none (a list of instructions costs some 300 bytes a token: 24 MB of « q » made 3.7 GB);
    TokensSpent once ``limit`` tokens are counted, over every content it is given."""
    import pikepdf

    class Tokens(pikepdf.StreamParser):
        def __init__(self) -> None:
            super().__init__()
            self.left = limit

        def handle_object(self, obj, offset, length) -> None:
            self.left -= 1
            if self.left <= 0:
                raise TokensSpent

        def handle_eof(self) -> None:
            pass

    return Tokens()


def walk_errors() -> tuple:
    """What walking a page's objects may raise on a damaged or odd file (evaluated only when one
    is raised: `check` of known files never loads pikepdf)."""
    import pikepdf

    return (pikepdf.PikepdfError, RuntimeError, ValueError, TypeError, AttributeError)


def _sharing(pdf: pikepdf.Pdf, known: set[int], bad: dict, walk: list[int]) -> list[int]:
    """The other pages (from 1) that use a damaged stream already met on an earlier page: each
    stream was decoded once, but every page showing it is named. Walked again, in the same
    budget, only when a file has damage."""
    found = []
    for k, page in enumerate(pdf.pages, start=1):
        if k in known or walk[0] <= 0:
            continue
        try:
            if any(s.objgen in bad for s in page_streams(page, set(), walk)):
                found.append(k)
        except walk_errors():
            continue  # the first walk met the same objects: nothing more to learn here
    return found


def content_size(page: pikepdf.Page, limit: int) -> int | None:
    """Decoded size of the page's content (counted, not held); None when it cannot be told."""
    total = 0
    for part in _contents(page):
        size = flux.decoded_size(part.read_raw_bytes(), flux.filter_names(part), part.get("/DecodeParms"), limit)
        if size is None:
            return None
        total += size
    return total


def _contents(page: pikepdf.Page) -> list[pikepdf.Stream]:
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    contents = page.obj.get("/Contents")
    if isinstance(contents, pikepdf.Stream):
        return [contents]
    if isinstance(contents, pikepdf.Array):
        return [c for c in contents if isinstance(c, pikepdf.Stream)]
    return []


def _structure(pdf: pikepdf.Pdf) -> list[str]:
    return [w for w in pdf.get_warnings() if not _benign(w)]


def _french(found: list[str]) -> tuple[str, ...]:
    return tuple(sorted({f if f in (CONTENT, STREAM, UNKNOWN_FILTER, MISSING, STRAY) else label(f) for f in found}))


def stray_pages(pdf: pikepdf.Pdf) -> list[int]:
    """The pages (from 1, in the order qpdf lists them) whose /Parent is not the /Pages node that
    lists them, or is missing. Poppler and qpdf take inherited attributes (box, rotation,
    resources) from the listing node, pdfium from /Parent: one page, two pictures; the pièce, its
    tree written anew, shows what qpdf read. A node met again (a loop) is walked once."""
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    found, k = [], 0
    root = pdf.Root.get("/Pages")
    if not isinstance(root, pikepdf.Dictionary):
        return []
    seen = {root.objgen} if root.is_indirect else set()
    # Depth first, in /Kids order, as qpdf numbers the pages: a subtree's pages come where it is listed.
    stack = [(root, iter(root.get("/Kids") if isinstance(root.get("/Kids"), pikepdf.Array) else ()))]
    while stack:
        node, kids = stack[-1]
        kid = next(kids, stack)  # (the stack itself: no /Kids entry is it)
        if kid is stack:
            stack.pop()
            continue
        if not isinstance(kid, pikepdf.Dictionary):
            continue
        if isinstance(kid.get("/Kids"), pikepdf.Array):
            if not kid.is_indirect or kid.objgen not in seen:
                if kid.is_indirect:
                    seen.add(kid.objgen)
                stack.append((kid, iter(kid.get("/Kids"))))
            continue
        k += 1
        parent = kid.get("/Parent")
        if node.is_indirect and not (isinstance(parent, pikepdf.Dictionary) and parent.is_indirect
                                     and parent.objgen == node.objgen):
            # Said only where the two readings differ: an attribute the page lacks, inherited
            # otherwise through its /Parent than through the node that lists it.
            listing = [n for n, _ in reversed(stack)]
            if any(_inherited(listing, key) != _inherited(_parents(parent), key)
                   for key in _INHERITED if key not in kid):
                found.append(k)
    return found


_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


def _parents(node) -> list:
    """``node`` and the nodes above it by /Parent (at most 64: a loop is cut)."""
    import pikepdf

    chain = []
    while isinstance(node, pikepdf.Dictionary) and len(chain) < 64:
        chain.append(node)
        node = node.get("/Parent")
    return chain


def _inherited(chain: list, key: str) -> str | None:
    """The value of ``key`` the first node of ``chain`` holding it gives, written out (a reference
    as « N G R »), or None."""
    import pikepdf

    for node in chain:
        if key in node:
            value = node[key]
            return value.unparse().decode("latin-1") if isinstance(value, pikepdf.Object) else repr(value)
    return None


def diagnose(pdf: pikepdf.Pdf) -> Diagnosis:
    """Check ``pdf``'s pages; when the file's structure needed repair, copy the pages into a new
    file (as a pièce does) and check that copy: only then is it « reconstruite et saine »."""
    import pikepdf  # only when a PDF is opened: `check` of known files never loads it
    structure = _structure(pdf)
    if pdf.is_encrypted and len(pdf.pages):
        # qpdf learns of an unknown crypt filter only when it decrypts a stream: decrypt one now.
        for stream in _contents(pdf.pages[0])[:1]:
            stream.read_raw_bytes()
        structure += _structure(pdf)
    if any("encryption filter" in w or "does not support" in w for w in structure):
        return Diagnosis(UNSUPPORTED)
    problems, pages = page_problems(pdf, rebuilt=bool(structure))
    stray = stray_pages(pdf)
    structure += [STRAY] if stray else []
    if problems:
        return Diagnosis(DAMAGED, _french(structure + problems), tuple(sorted(set(pages) | set(stray))))
    if not structure:
        return Diagnosis()
    try:
        trial = pikepdf.new()
        kids = trial.Root.Pages.Kids
        for page in pdf.pages:  # linear, as assemble.append_pages
            copy = trial.copy_foreign(page.obj)
            copy.Parent = trial.Root.Pages
            kids.append(copy)
        trial.Root.Pages.Count = len(kids)
        buf = io.BytesIO()
        trial.save(buf)
        with pikepdf.open(buf) as again:
            left = _structure(again)
            more, pages = page_problems(again)
            left += more
    except (pikepdf.PikepdfError, RuntimeError, ValueError, TypeError) as exc:
        left, pages = [str(exc)], []
    if not left:
        return Diagnosis(REPAIRED, _french(structure), tuple(stray))
    return Diagnosis(DAMAGED, _french(structure + left), tuple(sorted(set(pages) | set(stray))))


def _pages_fr(pages: tuple[int, ...]) -> str:
    if not pages:
        return ""
    shown = ", ".join(str(p) for p in pages[:10]) + (" …" if len(pages) > 10 else "")
    return f" ; page{'s' if len(pages) > 1 else ''} touchée{'s' if len(pages) > 1 else ''} : {shown}"


def describe(written: str, diag: Diagnosis) -> str:
    what = " ; ".join(diag.defauts)
    if diag.etat == REPAIRED:
        return (f"pièce réparée : « {written} » ({what}{_pages_fr(diag.pages)}) ; la copie produite est reconstruite et saine, "
                "vérifiez qu'elle montre tout ce que montre l'original.")
    return (f"pièce endommagée : « {written} » ({what}{_pages_fr(diag.pages)}) ; la réparation automatique "
            "n'a pas suffi, un lecteur peut n'en afficher qu'une partie. Réenregistrez-la depuis son logiciel "
            "d'origine (« Imprimer » → « Enregistrer en PDF ») si possible.")
