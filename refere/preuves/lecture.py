"""Reading the captures the way the judge will: what each screenshot shows (OCR with Tesseract).

A stage beside the rules: ``read_case`` OCRs every capture, image or PDF (cached by SHA-256 in
the user's cache, never in the case folder: ``lecture_cache``), and ``ecran`` finds in the text

* the « no slot » message, matched against ``CATALOGUE`` tolerantly, or slots on offer;
* the address in the browser bar, whole (wrapped lines joined), compared with
  ``prefecture.url_rendez_vous``;
* a clock or a date on screen, compared with the declared attempt time.

Each capture is read at its own resolution: its device scale is guessed from its size (a phone
at ×2–×3, a desktop at ×1), and the picture is scaled so that the browser's text is about
``TEXT_SCALE`` × its CSS size, 20–30 px: a desktop's 13 px address bar is enlarged, a phone's
45 px text reduced. Strips are brought to dark-on-light one by one (dark bars, coloured alert
boxes), pictures are blanked, and the sharpness of what remains (the text) tells a blurred
capture from a sharp one of any size.

``findings`` turns that into warnings (never blocking: the human decides), ``summary`` gives the
requête the message every capture shows, ``inventaire`` what ``inventaire.json`` records.

Binding: pytesseract. The whole reading of a capture (Pillow opening it, PDFium drawing a PDF,
``prepare``, Tesseract) runs in a child process (``isolee``), its memory capped, killed past
``TIMEOUT`` or at SIGTERM: a hostile file can only exhaust that process. ``jobs`` readings run at
once (threads waiting on those processes, Tesseract limited to one OpenMP thread). A case has a
reading budget: a capture not read in time is said « non lue », never counted as checked.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from refere import dates, isolee, signals
from refere.preuves import ecran, lecture_cache
from refere.preuves.findings import AVERTISSEMENT, PRACTICE, Finding
from refere.preuves.ecran import CATALOGUE, find_message, normalise, same_address  # noqa: F401  (API)
from refere.preuves.lecture_cache import cut, tesseract_missing

VERSION = 3  # of the cached OCR result: bump when the reading itself changes
LANG = "fra"
TESSERACT_OPTIONS = "--psm 3 -c tessedit_do_invert=0"
TIMEOUT = 20  # seconds for one capture: a normal screenshot takes under one
BUDGET = 180  # seconds of reading for one case: what is left is « non lue »
TEXT_SCALE = 1.5  # OCR pixels per CSS pixel: 14–17 px browser text becomes 21–26 px
MAX_WIDTH = 3000  # pixels after scaling
MAX_HEIGHT = 3600  # pixels after scaling: the rest of a very long (scrolled) capture is not read
PDF_SCALE = 2.5  # PDF points to pixels (180 dpi): a printed page's 9 pt header is 22 px
MAX_PDF_PIXELS = 12_000_000
STRIP = 4  # pixels: strips brought to dark-on-light one by one
WINDOW = 12  # pixels above and below a strip where its background is measured
PICTURE = 0.2  # a strip whose most common grey level (±2) covers less than this is a picture
MIN_WORDS = 6  # fewer words read than this: the capture is illegible
MIN_CONFIDENCE = 55.0  # mean Tesseract word confidence (0–100) below this: illegible
SHARP = 0.4  # share of the text's pixels that are full ink: below, the text is blurred
TEXT_LINE = 120  # pixels (after scaling): a band of ink taller than this is no line of text, even blurred
NOT_A_PAGE = 0.5  # share of the capture that is pictures for an illegible one to be « not a page »
EXCERPT = 300  # characters of text kept in inventaire.json

find_moment = ecran.find_moment


# --- what one capture shows -----------------------------------------------------------------

@dataclass
class Ocr:
    """The raw reading of one capture, as cached: lines with their place and confidence, and
    what the picture looked like (share of pictures, sharpness of the text)."""

    lignes: list[dict]  # {"texte": str, "haut": fraction of the height, "confiance": 0–100}
    mots: int
    confiance: float
    images: float = 0.0  # share of the capture's strips that are pictures
    nettete: float | None = None  # share of the text's pixels that are full ink; None: no text

    @property
    def texte(self) -> str:
        return "\n".join(line["texte"] for line in self.lignes)


@dataclass
class Reading:
    capture: str
    sha256: str
    ocr: Ocr | None  # None: not read (see ``non_lue``)
    message: str | None = None
    adresse: str | None = None
    date: str | None = None  # ISO date seen on screen
    heure: str | None = None  # « HH:MM » seen on screen
    creneaux: str | None = None  # what shows slots on offer
    adresse_confiance: float = 0.0
    non_lue: str | None = None  # why not read: « delai », « illisible », « memoire », « tue », « budget », None

    @property
    def illisible(self) -> bool:
        return self.ocr is not None and (self.ocr.mots < MIN_WORDS or self.ocr.confiance < MIN_CONFIDENCE)

    @property
    def adresse_sure(self) -> bool:
        """The address read can be quoted as another one: Tesseract is confident of it, or it is
        a whole, well-formed address on a sharp capture (a long token gets a low confidence
        from Tesseract however crisp: no dictionary word in it)."""
        o = self.ocr
        return self.adresse is not None and (self.adresse_confiance >= ADDRESS_CONFIDENCE or (
            ecran.well_formed(self.adresse) and o is not None and o.nettete is not None and o.nettete >= SHARP))

    @property
    def floue(self) -> bool:
        """Blurred: its text is soft, and no message could be read through it."""
        o = self.ocr
        return (o is not None and self.message is None and o.nettete is not None and o.nettete < SHARP
                and not self.pas_une_page)

    @property
    def pas_une_page(self) -> bool:
        """Nothing like a page: an illegible picture (a photo), or nothing legible at all."""
        o = self.ocr
        return (o is not None and self.message is None and self.illisible
                and (o.images >= NOT_A_PAGE or o.nettete is None or o.nettete >= SHARP))


@dataclass
class Readings:
    par_capture: dict[str, Reading] = field(default_factory=dict)
    note: str | None = None  # why captures were not read, said once


def interpret(capture: str, sha: str, ocr: Ocr | None, non_lue: str | None = None) -> Reading:
    if ocr is None:
        return Reading(capture, sha, None, non_lue=non_lue)
    day, clock = ecran.find_moment(ocr.lignes)
    message = find_message(ocr.texte)
    address, conf = ecran.find_address(ocr.lignes)
    slots = None if message else ecran.find_slots(ocr.lignes)
    return Reading(capture, sha, ocr, message, address, day, clock, slots, conf)


# --- the picture ----------------------------------------------------------------------------

def scale_for(width: int, height: int) -> float:
    """OCR pixels per capture pixel. A portrait picture is a phone (about 400 CSS px wide, or a
    tablet over 1440 px), a landscape one a desktop (1366–1920 CSS px, ×2 beyond 2600 px)."""
    if height > width:
        dpr = width / 400 if width <= 1440 else width / 800
    else:
        dpr = max(1.0, width / 1700)
    return min(2.0, TEXT_SCALE / max(dpr, 0.5))


class Changed(Exception):
    """The file is no longer the one checked (replaced since): not read, nothing remembered."""


def _bytes(path: Path, sha256: str | None) -> bytes:
    data = path.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise Changed(str(path))
    return data


def load_picture(path: Path, kind: str, sha256: str | None = None):
    """The capture in grey at its own resolution (a PDF's first page rendered), and the scale
    still to apply. Run in a child process (``ocr_image``): PDFium and Pillow are bounded there.
    ``sha256``: the bytes checked; other bytes found at ``path`` now raise Changed."""
    import io

    from PIL import Image, ImageOps

    from refere.pieces import pngmeta

    data = _bytes(path, sha256)
    if kind == "pdf":
        return _render_pdf(data), 1.0
    # Without its text chunks: Pillow copies ``info`` on every crop of ``prepare`` (200,000
    # chunks made a reading last minutes), and refuses a large compressed one as damage.
    with Image.open(io.BytesIO(pngmeta.for_decoding(data) if kind == "png" else data)) as src:
        s = scale_for(*src.size)
        if s < 1:
            src.draft("L", (int(src.width * s) + 1, int(src.height * s) + 1))  # JPEG: decode smaller
        img = ImageOps.exif_transpose(src).convert("L")
    img.info = {}
    return img, scale_for(*img.size) if img.size != (0, 0) else 1.0


def _render_pdf(data: bytes):
    """The first page, rendered by PDFium (in the reading's child process: bounded there)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        w, h = page.get_size()
        scale = min(PDF_SCALE, (MAX_PDF_PIXELS / max(1.0, w * h)) ** 0.5)
        img = page.render(scale=scale, grayscale=True).to_pil().convert("L")
        page.close()
        return img
    finally:
        pdf.close()


def prepare(img, scale: float):
    """Scaled for ~25 px text, every strip dark-on-light around its own background (dark bars,
    coloured boxes, dimmed text), pictures blanked, cut below the last text. Returns the image,
    the capture's height at that scale, the share of pictures and the sharpness of the text."""
    from PIL import Image

    full_height = max(1, round(img.height * scale))
    keep = min(img.height, int(MAX_HEIGHT / scale) + 1)
    if keep < img.height:
        img = img.crop((0, 0, img.width, keep))
    width = min(MAX_WIDTH, max(1, round(img.width * scale)))
    if abs(width - img.width) > 2:
        # Lanczos keeps thin strokes (« / », « w ») that a box filter merges into blots.
        img = img.resize((width, max(1, round(img.height * width / img.width))), Image.Resampling.LANCZOS)
    out = Image.new("L", img.size, 255)
    pictures = strips = 0
    luts: dict[int, list[int]] = {}
    for y in range(0, img.height, STRIP):
        box = (0, y, img.width, min(y + STRIP, img.height))
        band = img.crop(box)
        # The background is the most common level around the strip, not in it: a strip cut
        # through a line of bold text is mostly ink.
        hist = img.crop((0, max(0, y - WINDOW), img.width, min(img.height, y + STRIP + WINDOW))).histogram()
        mode = max(range(256), key=hist.__getitem__)
        strips += 1
        if sum(hist[max(0, mode - 2):mode + 3]) < PICTURE * sum(hist):
            pictures += 1  # a photograph spreads over many levels: Tesseract finds nothing in it
            continue
        lut = luts.get(mode)
        if lut is None:
            lut = luts[mode] = [255 - min(255, abs(v - mode) * 2) for v in range(256)]
        out.paste(band.point(lut), box)
    hist = out.histogram()
    ink, soft = sum(hist[:64]), sum(hist[64:192])
    sharpness = round(ink / (ink + soft), 3) if ink + soft > 0.0005 * out.width * out.height else None
    if sharpness is not None and not _text_like(out):
        sharpness = None  # no text-like structure (a flat picture, shapes): its softness is no blur
    content = out.point(lambda v: 255 if v < 160 else 0).getbbox()
    if content:
        out = out.crop((0, 0, min(out.width, content[2] + 20), min(out.height, content[3] + 20)))
    return out, full_height, round(pictures / max(1, strips), 3), sharpness


def _text_like(img) -> bool:
    """Most of the ink lies in low horizontal bands, lines of text (even blurred), not in tall
    shapes (a drawing, a gradient, a flat-colour picture)."""
    mask = img.point(lambda v: 255 if v < 192 else 0)
    in_lines = in_all = run = 0
    for y in range(mask.height + 1):
        if y < mask.height and mask.crop((0, y, mask.width, y + 1)).getbbox() is not None:
            run += 1
            continue
        in_all += run
        in_lines += run if run <= TEXT_LINE else 0
        run = 0
    return in_all > 0 and 2 * in_lines >= in_all


def ocr_image(path: Path, kind: str = "png", timeout: float | None = None, stop=None,
              sha256: str | None = None) -> Ocr:
    """What Tesseract reads on the capture (or pièce) at ``path``, in a child process killed past
    ``timeout`` or when ``stop()`` turns true, its memory capped: ``isolee.Stopped`` then.
    ``sha256``: the bytes that were checked (Changed when the file holds others now)."""
    limit = timeout or TIMEOUT
    return isolee.run(_ocr_here, path, kind, limit, sha256, seconds=limit, stop=stop)


def _ocr_here(path: Path, kind: str, timeout: float, sha256: str | None = None) -> Ocr:
    import pytesseract

    img, scale = load_picture(path, kind, sha256)
    img, height, pictures, sharpness = prepare(img, scale)
    data = pytesseract.image_to_data(img, lang=LANG, config=TESSERACT_OPTIONS, timeout=timeout,
                                     output_type=pytesseract.Output.DICT)
    lines: dict[tuple, dict] = {}
    confs = []
    for i, word in enumerate(data["text"]):
        word = (word or "").strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        confs.append(conf)
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        line = lines.setdefault(key, {"mots": [], "haut": data["top"][i] / height, "confs": []})
        line["mots"].append(word)
        # A line's confidence is its words', not its specks' (« [ », « « » before an address).
        line["confs"].append(conf if sum(c.isalnum() for c in word) >= 3 else None)
    out = [{"texte": " ".join(v["mots"])[:ecran.LINE_MAX], "haut": round(min(1.0, v["haut"]), 4),
            "confiance": _mean([c for c in v["confs"] if c is not None]) or 0.0}
           for v in sorted(lines.values(), key=lambda v: v["haut"])][:lecture_cache.MAX_LINES]
    return Ocr(out, len(confs), _mean(confs) or 0.0, pictures, sharpness)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


_failed: dict[str, str] = {}  # captures whose reading failed in this process, and why
_said = threading.Lock()
_said_once: set[str] = set()


def enabled() -> bool:
    # REFERE_LECTURE=0 turns reading off (the test suite does, except the OCR tests).
    return os.environ.get("REFERE_LECTURE", "1") != "0"


# --- the cache ------------------------------------------------------------------------------

def cache_folder() -> Path:
    return lecture_cache.folder(VERSION, LANG)


def cache_get(sha: str) -> Ocr | str | None:
    """The cached reading, the reason it failed before (« delai », « illisible »), or None."""
    data = lecture_cache.get(cache_folder(), sha, VERSION, ecran.LINE_MAX)
    if data is None:
        return None
    if "echec" in data:
        return data["echec"]
    return Ocr([{"texte": x["texte"], "haut": float(x["haut"]), "confiance": float(x["confiance"])}
                for x in data["lignes"]], data["mots"], float(data["confiance"]), float(data["images"]),
               None if data.get("nettete") is None else float(data["nettete"]))


def cache_put(sha: str, result: Ocr | str) -> None:
    entry = {"echec": result} if isinstance(result, str) else {
        "lignes": result.lignes, "mots": result.mots, "confiance": result.confiance,
        "images": result.images, "nettete": result.nettete}
    lecture_cache.put(cache_folder(), sha, {"version": VERSION, **entry})


# --- the whole case -------------------------------------------------------------------------

def _say_once(note: str) -> None:
    with _said:
        if note in _said_once:
            return
        _said_once.add(note)
    print(note, file=sys.stderr)


# Set by a caller that must answer at once (the web workspace list): captures not yet read are
# listed as not read rather than read now; the case's own check page reads them.
_ONLY_CACHED: contextvars.ContextVar[bool] = contextvars.ContextVar("refere_lecture_cache_seul", default=False)
# Set by ``check -j`` / ``build -j``: how many captures are read at once.
JOBS: contextvars.ContextVar[int | None] = contextvars.ContextVar("refere_lecture_jobs", default=None)


@contextlib.contextmanager
def cached_only():
    token = _ONLY_CACHED.set(True)
    try:
        yield
    finally:
        _ONLY_CACHED.reset(token)


def read_case(case, jobs: int | None = None, label: str = "") -> Readings:
    """Every capture of ``case`` read (from the user's cache when already read), ``jobs`` at
    once (by default one per core, at most 4). ``label`` names the case in progress lines."""
    from refere.errors import FileProblem
    from refere.pieces.probe import probe

    result = Readings()
    if not enabled():
        result.note = "lecture désactivée (REFERE_LECTURE=0)"
        return result
    todo: list[tuple[str, str, Path, str]] = []
    for t in case.tentatives:
        src = t.capture
        if src is None or src.written in result.par_capture:
            continue
        try:
            sha = probe(src).sha256
        except FileProblem:
            continue  # the rules already say it is unreadable
        cached = _failed.get(sha) or cache_get(sha)
        if isinstance(cached, str):
            result.par_capture[src.written] = Reading(src.written, sha, None, non_lue=cached)
        elif cached is not None:
            result.par_capture[src.written] = interpret(src.written, sha, cached)
        else:
            todo.append((src.written, sha, src.path, src.kind))
            if not label and src.file is not None:
                label = Path(src.file.root).name  # the case folder, as verified when loaded
    if todo and _ONLY_CACHED.get():
        result.note = "captures pas encore lues"
        for written, sha, _, _ in todo:
            result.par_capture[written] = Reading(written, sha, None)
        return result
    if todo:
        result.note = tesseract_missing()
        if result.note:
            _say_once(result.note)
            for written, sha, _, _ in todo:  # listed as not read: no summary claims « each »
                result.par_capture[written] = Reading(written, sha, None)
            return result
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core per tesseract
        n = jobs or JOBS.get() or min(os.cpu_count() or 1, 4)
        for written, sha, ocr, why in _read_all(todo, n, label):
            result.par_capture[written] = interpret(written, sha, ocr, why)
    return result


def _read_one(item, deadline: float) -> tuple[str, str, Ocr | None, str | None]:
    written, sha, path, kind = item
    left = deadline - time.monotonic()
    if left < 1 or signals.stopping():
        return written, sha, None, cut(sha)  # not remembered: the next run reads it
    try:
        ocr = ocr_image(path, kind, timeout=min(TIMEOUT, left), stop=signals.stopping, sha256=sha)
    except Changed:
        return written, sha, None, "budget"  # replaced since its check: read next time, what it is then
    except isolee.Stopped as exc:
        # Its time was up (« delai »), its memory (« memoire »), killed from outside (« tue »), or the command
        # is stopping (« arret »): the last two are not the file's fault.
        why = "budget" if exc.reason == "arret" else exc.reason
    except Exception as exc:  # noqa: BLE001
        # A Tesseract timeout or crash (or killed from outside: « tue »), a picture Pillow or PDFium
        # cannot render: this capture is « not read », never a failure of check.
        why = ("tue" if getattr(exc, "status", None) == -signal.SIGKILL
               else "delai" if isinstance(exc, RuntimeError) and "timeout" in str(exc).lower() else "illisible")
    else:
        cache_put(sha, ocr)
        return written, sha, ocr, None
    if why == "budget" or (why == "delai" and left < TIMEOUT) or signals.stopping() or sys.is_finalizing():
        why = "budget"  # cut by the budget, or the command stopping (its children die with it): never kept
    if why in ("budget", "tue"):  # read again by the next run, whose answer is the one to keep (attacks 30, 31)
        cut(sha)
    else:  # not tried again by this process, nor by the next ones
        _failed[sha] = why
        cache_put(sha, why)
    return written, sha, None, why


def _read_all(todo, jobs: int, label: str):
    start = time.monotonic()
    deadline = start + BUDGET
    bar = None
    if sys.stderr.isatty() and len(todo) > 1:
        import click

        # The terminal itself (beneath the CLI's filter of control characters): the bar's « \r » must act.
        term = getattr(sys.stderr, "raw", sys.stderr)
        bar = click.progressbar(length=len(todo), label="Lecture des captures", file=term, show_pos=True)
    results = []
    # A signal waits for the readings under way (each bounded by TIMEOUT), the others are skipped:
    # raised in the middle of the pool's locks, it would leave the threads waiting on each other.
    with signals.held(), ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        try:
            if bar is not None:
                bar.__enter__()
            for r in pool.map(lambda item: _read_one(item, deadline), todo):
                results.append(r)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    if bar is None:
        # Not a terminal (a log, the batch): a line per case, so that a long run is never silent.
        took = f"{time.monotonic() - start:.1f}".replace(".", ",")
        where = f" ({label})" if label else ""
        unread = sum(1 for r in results if r[2] is None)
        print(f"Lecture des captures{where} : {len(todo) - unread} capture(s) lue(s)"
              + (f", {unread} non lue(s)" if unread else "") + f" en {took} s", file=sys.stderr)
    return results


# --- findings, summary, inventory -----------------------------------------------------------

ADDRESS_CONFIDENCE = 50.0  # mean confidence of the address's lines for « another address » to be said
TOLERANCE = dt.timedelta(hours=1)
_NOT_READ = {"delai": "lecture trop longue", "budget": "lecture trop longue",
             "illisible": "image que Tesseract n'a pas pu lire",
             "memoire": "lecture arrêtée, le fichier demande trop de mémoire",
             "tue": "lecture interrompue de l'extérieur (mémoire de l'ordinateur épuisée ?) ; refaite au prochain contrôle"}


def findings(case, readings: Readings) -> list[Finding]:
    """Warnings about what the captures show: never blocking, the human decides."""
    out: list[Finding] = []
    declared_url = case.prefecture.url_rendez_vous
    elsewhere: list[tuple[int, str, str]] = []  # (attempt, capture, address seen)

    def warn(code: str, message: str, champ: str) -> None:
        out.append(Finding(code, AVERTISSEMENT, message, PRACTICE, champ))

    for i, t in enumerate(case.tentatives):
        if t.capture is None or t.capture.written not in readings.par_capture:
            continue
        r = readings.par_capture[t.capture.written]
        where = f"tentatives[{i}].capture"
        name = f"« {t.capture.written} » (tentative {i + 1})"
        if r.ocr is None:
            if r.non_lue in _NOT_READ:
                warn("capture-non-lue", f"Capture non lue ({_NOT_READ[r.non_lue]}) : {name}. Elle n'est pas "
                     "comptée comme vérifiée : regardez vous-même qu'elle montre bien le message « aucun "
                     "créneau », ou remplacez-la par la capture d'origine.", where)
            continue
        if r.pas_une_page:
            warn("capture-pas-une-page", f"La capture {name} ne ressemble pas à une page de rendez-vous "
                 f"({_read_words(r.ocr.mots)}). Vérifiez que c'est le bon fichier.",
                 where)
            continue
        if r.floue:
            state = ("est floue, une partie du texte est illisible" if r.ocr.mots >= MIN_WORDS
                     else "est floue et illisible")
            warn("capture-floue", f"La capture {name} {state} ({_read_words(r.ocr.mots)}). Le juge pourrait "
                 "ne pas lire le message : produisez la capture d'origine, en pleine résolution.", where)
            continue
        if r.creneaux:
            warn("capture-creneaux-offerts", f"La capture {name} montre des créneaux proposés (« {r.creneaux} ») : "
                 "elle prouve qu'un rendez-vous était disponible ce jour-là, contre le demandeur. Retirez-la, "
                 "ou vérifiez qu'elle est bien celle de cette tentative.", where)
        elif r.message is None:
            warn("capture-sans-message", f"La capture {name} ne montre pas de message « aucun créneau » "
                 "reconnu : vérifiez qu'elle prouve bien l'absence de rendez-vous.", where)
        if r.adresse and declared_url and r.adresse_sure and ecran.compare_address(r.adresse, declared_url) == "autre":
            elsewhere.append((i + 1, t.capture.written, r.adresse))
        seen = None if r.creneaux else ecran.seen_moment(r.date, r.heure, t.date)
        if seen is not None and abs(seen.astimezone(dt.timezone.utc) - t.date.astimezone(dt.timezone.utc)) > TOLERANCE:
            shown = (f"le {dates.format_date(seen.date())} à " if r.date else "") + dates.format_time(seen)
            warn("heure-capture-discordante",
                 f"La tentative n° {i + 1} est déclarée le {dates.format_datetime(t.date)}, mais la capture "
                 f"« {t.capture.written} » affiche {shown}. Corrigez l'heure déclarée, ou vérifiez la capture.",
                 f"tentatives[{i}].date")
    if elsewhere:
        out.append(_address_finding(elsewhere, declared_url))
    return out


def _address_finding(elsewhere: list[tuple[int, str, str]], declared: str) -> Finding:
    # One warning for all the captures: the same mistake ten times is one thing to fix.
    if len(elsewhere) == 1:
        n, name, seen = elsewhere[0]
        what = f"La capture « {name} » (tentative {n}) montre l'adresse « {seen} »"
    else:
        listed = " ; ".join(f"tentative {n} : « {seen} »" for n, _, seen in elsewhere)
        what = f"{len(elsewhere)} captures montrent une autre adresse ({listed})"
    return Finding(
        "adresse-capture-discordante", AVERTISSEMENT,
        f"{what}, différente de l'adresse déclarée (prefecture.url_rendez_vous) « {declared} ». "
        "Le juge et la préfecture le verront : vérifiez que les captures sont bien celles de cette "
        "démarche ; si c'est l'adresse déclarée qui est fausse, recopiez-la depuis la barre d'adresse.",
        PRACTICE, "prefecture.url_rendez_vous")


def _read_words(n: int) -> str:
    return "aucun mot lu" if n == 0 else "1 mot lu" if n == 1 else f"{n} mots lus"


def summary(readings: Readings) -> dict:
    """For the requête: the message every capture shows, or "" unless every capture was read
    and shows the same one; ``phrase`` is the sentence of the facts, or ""."""
    all_ = list(readings.par_capture.values())
    read = [r for r in all_ if r.ocr is not None]
    messages = {r.message for r in all_}
    common = (messages.pop() or "") if all_ and len(read) == len(all_) and len(messages) == 1 else ""
    phrase = (f"Chacune des {len(read)} captures d'écran produites affiche le message « {common.rstrip('.')} »."
              if common and len(read) > 1 else
              f"La capture d'écran produite affiche le message « {common.rstrip('.')} »." if common else "")
    return {"message_commun": common, "captures_lues": len(read), "phrase": phrase}


def inventaire(readings: Readings) -> dict:
    """What inventaire.json records of each capture's reading, so a reviewer can audit it."""
    return {
        "moteur": f"tesseract ({LANG})",
        "note": readings.note or "",
        **summary(readings),
        "captures": [
            {
                "capture": r.capture,
                "sha256": r.sha256,
                "lue": r.ocr is not None,
                "non_lue": _NOT_READ.get(r.non_lue or "", ""),
                "extrait": (" ".join(r.ocr.texte.split())[:EXCERPT] if r.ocr else ""),
                "mots": r.ocr.mots if r.ocr else 0,
                "confiance": r.ocr.confiance if r.ocr else 0.0,
                "floue": r.floue,
                "message": r.message or "",
                "creneaux": r.creneaux or "",
                "adresse": r.adresse or "",
                "date": r.date or "",
                "heure": r.heure or "",
            }
            for r in sorted(readings.par_capture.values(), key=lambda r: r.capture)
        ],
    }
