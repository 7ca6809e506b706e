"""Reading the captures the way the judge will: what each screenshot shows (OCR with Tesseract).

A stage beside ``evidence``: ``read_case`` OCRs every image capture (cached by SHA-256 in
``<case>/.refere/lecture/``), and from the text finds

* the « no slot » message, matched against ``CATALOGUE`` tolerantly (accents, case, line
  breaks and OCR errors are flattened by ``normalise``, then ``rapidfuzz`` partial ratio);
* the address in the browser bar, compared with ``prefecture.url_rendez_vous`` (host and path);
* a clock or a date on screen (status bar « 08:52 », « Page consultée le … à 08:52 »), compared
  with the declared attempt time;
* whether the capture is too blurred to read (too few words, or a low mean confidence).

``findings`` turns that into warnings (never blocking: the human decides), ``summary`` gives the
requête the message every capture shows, ``inventaire`` what ``inventaire.json`` records.

Binding: pytesseract. It runs the ``tesseract`` program in a child process, so a hostile image
can only exhaust that process, which ``timeout`` kills; it needs no compiler nor the C headers
(tesserocr does), and it is maintained. Two readings run at once (threads waiting on two
tesseract processes, each limited to one OpenMP thread), which keeps both cores busy.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from refere import dates
from refere.preuves.findings import AVERTISSEMENT, PRACTICE, Finding

VERSION = 1  # of the cached OCR result: bump when the reading itself changes
CACHE = Path(".refere") / "lecture"
LANG = "fra+eng"
TESSERACT_OPTIONS = "--psm 3 -c tessedit_do_invert=0"
TIMEOUT = 30  # seconds for one capture: a normal screenshot takes under one
WIDTH = 1000  # pixels: OCR works on captures scaled down to this width (text stays ~25 px high)
MAX_HEIGHT = 3000  # pixels after scaling: the rest of a very long (scrolled) capture is not read
TOP_BAND = 0.12  # of the capture's height: where the status bar and the address bar are
STRIP = 16  # pixels: strips tested for being a picture (photo, banner) rather than text
PICTURE = 0.2  # a strip whose most common grey level (±2) covers less than this is a picture
MIN_WORDS = 6  # fewer words read than this: the capture is illegible
MIN_CONFIDENCE = 55.0  # mean Tesseract word confidence (0–100) below this: illegible
MATCH = 88  # rapidfuzz partial ratio (0–100) for a catalogue wording to count as shown
TOLERANCE = dt.timedelta(hours=1)
EXCERPT = 300  # characters of text kept in inventaire.json

# The « no slot » wordings actually shown. Préfecture booking modules (« prendre un
# rendez-vous » pages of the départements' sites, and the older ezbooking/RDV modules), ANEF
# (administration-etrangers-en-france.interieur.gouv.fr) and its error pages. Longest first:
# when several match, the most complete wording is the one quoted in the requête.
CATALOGUE: tuple[str, ...] = (
    "Il n'existe plus de plage horaire libre pour votre demande de rendez-vous. "
    "Veuillez recommencer ultérieurement.",
    "Il n'existe plus de plage horaire libre pour votre demande de rendez-vous",
    "Il n'y a aucun rendez-vous disponible pour le moment",
    "Aucun rendez-vous n'est disponible pour le moment",
    "Il n'y a aucun rendez-vous disponible",
    "Aucun créneau n'est disponible pour le moment",
    "Il n'y a plus de créneau disponible",
    "Aucun créneau disponible",
    "Aucune disponibilité",
    "Veuillez recommencer ultérieurement",
    "Tous les rendez-vous sont réservés",
    "Votre demande n'a pas pu aboutir",
    "Une erreur technique est survenue",
    "Le service est momentanément indisponible",
    "Service indisponible",
    "No appointment available",
    "There are no available appointment slots",
)

_MONTHS = ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre",
           "octobre", "novembre", "decembre")
_CLOCK = re.compile(r"(?<![\d:])([01]?\d|2[0-3])\s?[:h]\s?([0-5]\d)(?![\d:])")
_DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](20\d\d)(?!\d)")
_DATE_TXT = re.compile(r"(?<!\d)(1er|\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(20\d\d)(?!\d)")
_AFTER_DATE = re.compile(r"^\W{0,3}(?:a|à|,)?\s*([01]?\d|2[0-3])\s?[:h]\s?([0-5]\d)")
_URL = re.compile(r"(?:(https?)\s?:\s?/\s?/\s?)?((?:[a-z0-9-]+\.)+[a-z]{2,})(/[^\s]*)?", re.IGNORECASE)


# --- what one capture shows -----------------------------------------------------------------

@dataclass
class Ocr:
    """The raw reading of one capture, as cached: lines with their place and confidence."""

    lignes: list[dict]  # {"texte": str, "haut": fraction of the height, "confiance": 0–100}
    mots: int
    confiance: float

    @property
    def texte(self) -> str:
        return "\n".join(line["texte"] for line in self.lignes)


@dataclass
class Reading:
    capture: str
    sha256: str
    ocr: Ocr | None  # None: not read (a PDF capture)
    message: str | None = None
    adresse: str | None = None
    date: str | None = None  # ISO date seen on screen
    heure: str | None = None  # « HH:MM » seen on screen

    @property
    def floue(self) -> bool:
        return self.ocr is not None and (self.ocr.mots < MIN_WORDS or self.ocr.confiance < MIN_CONFIDENCE)


@dataclass
class Readings:
    par_capture: dict[str, Reading] = field(default_factory=dict)
    note: str | None = None  # why captures were not read, said once


def _ascii(text: str) -> str:
    # Decomposed, then everything outside ASCII dropped: « é » becomes « e », « — » goes.
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation, one space: what OCR errors least disturb."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _ascii(text.replace("’", "'")).lower()).split())


_CATALOGUE_NORM = [(w, normalise(w)) for w in CATALOGUE]


def find_message(text: str) -> str | None:
    """The most complete catalogue wording shown in ``text``, or None."""
    from rapidfuzz import fuzz

    flat = normalise(text)
    if not flat:
        return None
    for wording, norm in _CATALOGUE_NORM:
        # partial_ratio slides the shorter string along the longer: the wording must be the
        # shorter, or « Aucun créneau disponible » would « contain » any longer sentence.
        score = fuzz.partial_ratio(norm, flat) if len(norm) <= len(flat) else fuzz.ratio(norm, flat)
        if score >= MATCH:
            return wording
    return None


def find_address(ocr: Ocr) -> str | None:
    """The URL in the browser bar: a host-like token at the top, or any token with a scheme."""
    candidates = [(line["haut"] <= TOP_BAND, line["texte"]) for line in ocr.lignes]
    for top_only in (True, False):
        for at_top, text in candidates:
            if top_only and not at_top:
                continue
            for m in _URL.finditer(text):
                if at_top or m[1]:
                    return m[0].rstrip(".,;)")
    return None


def find_moment(ocr: Ocr) -> tuple[str | None, str | None]:
    """(ISO date, « HH:MM ») seen on screen: a date followed by a time (« Page consultée le
    01/09/2025 à 08:52 ») wins over the status-bar clock. A date alone counts only in the top
    band (a phone's status bar): elsewhere it is the page's content (« titre expirant le … »)."""
    clock = _status_clock(ocr)
    for top_only in (False, True):
        lines = [line for line in ocr.lignes if not top_only or line["haut"] <= TOP_BAND]
        flat = " ".join(normalise_keep_digits(line["texte"]) for line in lines)
        for rx, textual in ((_DATE_NUM, False), (_DATE_TXT, True)):
            for m in rx.finditer(flat):
                day = 1 if m[1] == "1er" else int(m[1])
                month = _MONTHS.index(m[2]) + 1 if textual else int(m[2])
                try:
                    day_seen = dt.date(int(m[3]), month, day)
                except ValueError:
                    continue
                after = _AFTER_DATE.match(flat[m.end():])
                if after:
                    return day_seen.isoformat(), f"{int(after[1]):02d}:{after[2]}"
                if top_only:
                    return day_seen.isoformat(), clock
    return None, clock


def normalise_keep_digits(text: str) -> str:
    """Accents off and lower case, but « : » and « / » kept: times and dates survive."""
    return _ascii(text).lower()



def _status_clock(ocr: Ocr) -> str | None:
    for line in ocr.lignes:
        if line["haut"] <= TOP_BAND:
            # Not inside the URL (« …/create/12:30 » is no clock).
            text = _URL.sub(" ", line["texte"])
            if m := _CLOCK.search(text):
                return f"{int(m[1]):02d}:{m[2]}"
    return None


def interpret(capture: str, sha: str, ocr: Ocr | None) -> Reading:
    if ocr is None:
        return Reading(capture, sha, None)
    day, clock = find_moment(ocr)
    return Reading(capture, sha, ocr, find_message(ocr.texte), find_address(ocr), day, clock)


# --- OCR ------------------------------------------------------------------------------------

def prepare(path: Path):
    """Grey, at most WIDTH wide, dark bands (status bar, address bar) turned dark-on-light,
    cut below the last content: Tesseract then needs no inversion pass and reads less.
    Returns the image and the height of the whole capture at that scale."""
    from PIL import Image, ImageOps

    with Image.open(path) as src:
        src.draft("L", (WIDTH, WIDTH * 4))  # JPEG: decode at reduced size directly
        img = ImageOps.exif_transpose(src).convert("L")
    if img.width > WIDTH:
        # Lanczos keeps thin strokes (« / », « w ») that a box filter merges into blots.
        img = img.resize((WIDTH, max(1, round(img.height * WIDTH / img.width))), Image.Resampling.LANCZOS)
    full_height = img.height
    img = img.crop((0, 0, img.width, min(img.height, MAX_HEIGHT)))
    _blank_pictures(img)
    rows = img.resize((1, img.height), Image.Resampling.BOX).tobytes()
    mask = Image.frombytes("L", (1, img.height), bytes(255 if v < 110 else 0 for v in rows))
    img = ImageOps.autocontrast(Image.composite(ImageOps.invert(img), img, mask.resize(img.size)), cutoff=1)
    content = img.point(lambda v: 255 if v < 200 else 0).getbbox()
    if content:
        img = img.crop((0, 0, img.width, min(img.height, content[3] + 20)))
    return img, full_height


def _blank_pictures(img) -> None:
    """Paint white the strips that are pictures, not text: Tesseract spends seconds on a photo
    and finds nothing in it. A strip of text keeps a flat background (one grey level covers a
    good part of it); a photograph spreads over many levels."""
    for y in range(0, img.height, STRIP):
        box = (0, y, img.width, min(y + STRIP, img.height))
        hist = img.crop(box).histogram()
        total = sum(hist)
        window = sum(hist[:5])
        best = window
        for v in range(5, 256):
            window += hist[v] - hist[v - 5]
            best = max(best, window)
        if best < PICTURE * total:
            img.paste(255, box)


def ocr_image(path: Path) -> Ocr:
    import pytesseract

    img, height = prepare(path)
    data = pytesseract.image_to_data(img, lang=LANG, config=TESSERACT_OPTIONS, timeout=TIMEOUT,
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
        line["confs"].append(conf)
    out = [{"texte": " ".join(v["mots"]), "haut": round(v["haut"], 4),
            "confiance": round(sum(v["confs"]) / len(v["confs"]), 1)}
           for v in sorted(lines.values(), key=lambda v: v["haut"])]
    return Ocr(out, len(confs), round(sum(confs) / len(confs), 1) if confs else 0.0)


_failed: set[str] = set()  # captures whose reading failed in this process
_said = threading.Lock()
_said_once: set[str] = set()


def tesseract_missing() -> str | None:
    """Why captures cannot be read here, in French, or None."""
    exe = shutil.which("tesseract")
    if exe is None:
        return ("Captures non lues : Tesseract n'est pas installé (Debian/Ubuntu : « sudo apt install "
                "tesseract-ocr tesseract-ocr-fra »). Le reste du contrôle est complet.")
    import pytesseract

    try:
        langs = set(pytesseract.get_languages(config=""))
    except Exception:
        return "Captures non lues : Tesseract ne répond pas. Le reste du contrôle est complet."
    if "fra" not in langs or "eng" not in langs:
        return ("Captures non lues : Tesseract n'a pas les données de langue française et anglaise "
                "(Debian/Ubuntu : « sudo apt install tesseract-ocr-fra tesseract-ocr-eng »).")
    return None


def enabled() -> bool:
    # REFERE_LECTURE=0 turns reading off (the test suite does, except the OCR tests).
    return os.environ.get("REFERE_LECTURE", "1") != "0"


# --- the cache ------------------------------------------------------------------------------

def _cache_file(folder: Path, sha: str) -> Path:
    return folder / CACHE / f"{sha}.json"


def cache_get(folder: Path, sha: str) -> Ocr | None:
    try:
        data = json.loads(_cache_file(folder, sha).read_text("utf-8"))
        if data.get("version") != VERSION or data.get("langues") != LANG:
            return None
        return Ocr(data["lignes"], int(data["mots"]), float(data["confiance"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def cache_put(folder: Path, sha: str, ocr: Ocr) -> None:
    target = _cache_file(folder, sha)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": VERSION, "langues": LANG, **asdict(ocr)}, fh, ensure_ascii=False)
        os.replace(tmp, target)
    except OSError:
        pass  # a read-only case folder: reading works, only not cached


# --- the whole case -------------------------------------------------------------------------

def case_folder(source) -> Path:
    """The case folder, from a capture's path and its name as written in dossier.yaml."""
    depth = len(PurePosixPath(source.written.replace("\\", "/")).parts)
    return source.path.parents[depth - 1]


def _say_once(note: str) -> None:
    with _said:
        if note in _said_once:
            return
        _said_once.add(note)
    print(note, file=sys.stderr)


# Set by a caller that must answer at once (the web workspace list): captures not yet read are
# listed as not read rather than read now; the case's own check page reads them.
_ONLY_CACHED: contextvars.ContextVar[bool] = contextvars.ContextVar("refere_lecture_cache_seul", default=False)


@contextlib.contextmanager
def cached_only():
    token = _ONLY_CACHED.set(True)
    try:
        yield
    finally:
        _ONLY_CACHED.reset(token)


def read_case(case, jobs: int | None = None) -> Readings:
    """Every image capture of ``case`` read (from the cache when already read), ``jobs`` at
    once (by default one per core, at most 4)."""
    from refere.errors import FileProblem
    from refere.pieces.probe import probe

    result = Readings()
    if not enabled():
        result.note = "lecture désactivée (REFERE_LECTURE=0)"
        return result
    todo: list[tuple[str, str, Path, Path]] = []
    for t in case.tentatives:
        src = t.capture
        if src is None or src.written in result.par_capture:
            continue
        try:
            sha = probe(src).sha256
        except FileProblem:
            continue  # evidence already says it is unreadable
        if src.kind == "pdf":
            result.par_capture[src.written] = Reading(src.written, sha, None)
            continue
        folder = case_folder(src)
        cached = cache_get(folder, sha)
        if sha in _failed:
            result.par_capture[src.written] = Reading(src.written, sha, None)
        elif cached is not None:
            result.par_capture[src.written] = interpret(src.written, sha, cached)
        else:
            todo.append((src.written, sha, src.path, folder))
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
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core per tesseract; two run at once
        for written, sha, ocr in _read_all(todo, jobs or min(os.cpu_count() or 1, 4)):
            result.par_capture[written] = interpret(written, sha, ocr)
    return result


def _read_one(item) -> tuple[str, str, Ocr | None]:
    written, sha, path, folder = item
    try:
        ocr = ocr_image(path)
    except Exception:
        # A timeout, a tesseract crash, an image Pillow cannot decode: this capture is « not
        # read », never a failure of check; and not tried again by this process (build reads
        # the case twice: for check, then for inventaire.json).
        _failed.add(sha)
        return written, sha, None
    cache_put(folder, sha, ocr)
    return written, sha, ocr


def _read_all(todo, jobs: int):
    bar = None
    if sys.stderr.isatty() and len(todo) > 1:
        import click

        bar = click.progressbar(length=len(todo), label="Lecture des captures", file=sys.stderr, show_pos=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = []
        try:
            if bar is not None:
                bar.__enter__()
            for r in pool.map(_read_one, todo):
                results.append(r)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    return results


# --- findings, summary, inventory -----------------------------------------------------------

def _host_path(url: str) -> tuple[str, str]:
    text = url.strip()
    if not re.match(r"^[a-z]+://", text, re.IGNORECASE):
        text = "https://" + text
    parts = urlsplit(text)
    host = (parts.hostname or "").lower().removeprefix("www.")
    return host, parts.path.rstrip("/")


def same_address(seen: str, declared: str) -> bool:
    """Host and path; a browser showing only the host, or a cut path (« … »), compares on what it shows."""
    s_host, s_path = _host_path(seen.replace("…", "").rstrip("."))
    d_host, d_path = _host_path(declared)
    # Only the usual OCR confusions are forgiven (« rn » read « m »): « loire » and « loiret »
    # are two préfectures one letter apart, so no fuzzy ratio here.
    if _ocr_canonical(s_host) != _ocr_canonical(d_host):
        return False
    if not s_path:
        return True
    cut = seen.rstrip().endswith(("…", "..."))
    return d_path.startswith(s_path) if cut else s_path == d_path


def _ocr_canonical(text: str) -> str:
    for a, b in (("rn", "m"), ("vv", "w"), ("cl", "d"), ("1", "l"), ("i", "l"), ("|", "l"), ("0", "o")):
        text = text.replace(a, b)
    return text


def _seen_moment(r: Reading, declared: dt.datetime) -> dt.datetime | None:
    """The on-screen moment in Paris time; a clock alone takes the declared day, the nearest one."""
    if r.heure is None and r.date is None:
        return None
    hh, mm = (int(x) for x in (r.heure or "").split(":")) if r.heure else (None, None)
    local = declared.astimezone(dates.PARIS)
    if r.date:
        day = dt.date.fromisoformat(r.date)
        if hh is None:
            # A date without a time: different only if the whole day is out of tolerance.
            return None if day == local.date() else dt.datetime.combine(day, local.timetz()).replace(tzinfo=dates.PARIS)
        return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dates.PARIS)
    best = None
    for shift in (-1, 0, 1):  # 23:55 on screen for a 00:05 attempt is ten minutes, not a day
        d = local.date() + dt.timedelta(days=shift)
        cand = dt.datetime(d.year, d.month, d.day, hh, mm, tzinfo=dates.PARIS)
        if best is None or abs(_utc(cand) - _utc(declared)) < abs(_utc(best) - _utc(declared)):
            best = cand
    return best


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.timezone.utc)


def findings(case, readings: Readings) -> list[Finding]:
    """Warnings about what the captures show: never blocking, the human decides."""
    out: list[Finding] = []
    declared_url = case.prefecture.url_rendez_vous
    elsewhere: list[tuple[int, str, str]] = []  # (attempt, capture, address seen)
    for i, t in enumerate(case.tentatives):
        if t.capture is None or t.capture.written not in readings.par_capture:
            continue
        r = readings.par_capture[t.capture.written]
        if r.ocr is None:
            continue
        where = f"tentatives[{i}].capture"
        name = f"« {t.capture.written} »"
        if r.floue:
            out.append(Finding(
                "capture-floue", AVERTISSEMENT,
                f"La capture {name} (tentative {i + 1}) est trop floue ou trop petite pour être lue "
                f"({r.ocr.mots} mot(s) reconnu(s)) : le juge ne pourra pas la lire non plus. "
                "Produisez la capture d'origine, en pleine résolution.", PRACTICE, where))
            continue
        if r.message is None:
            out.append(Finding(
                "capture-sans-message", AVERTISSEMENT,
                f"La capture {name} (tentative {i + 1}) ne montre pas de message « aucun créneau » "
                "reconnu : vérifiez qu'elle prouve bien l'absence de rendez-vous.", PRACTICE, where))
        if r.adresse and declared_url and not same_address(r.adresse, declared_url):
            elsewhere.append((i + 1, t.capture.written, r.adresse))
        seen = _seen_moment(r, t.date)
        if seen is not None and abs(_utc(seen) - _utc(t.date)) > TOLERANCE:
            shown = (f"le {dates.format_date(seen.date())} à " if r.date else "") + dates.format_time(seen)
            out.append(Finding(
                "heure-capture-discordante", AVERTISSEMENT,
                f"La tentative {i + 1} est déclarée le {dates.format_datetime(t.date)}, mais la capture "
                f"{name} affiche {shown}. Corrigez l'heure déclarée, ou vérifiez la capture.",
                PRACTICE, f"tentatives[{i}].date"))
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
        "Le juge et la préfecture le verront : corrigez l'adresse déclarée, ou vérifiez que les "
        "captures sont bien celles de cette démarche.", PRACTICE, "prefecture.url_rendez_vous")


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
                "extrait": (" ".join(r.ocr.texte.split())[:EXCERPT] if r.ocr else ""),
                "mots": r.ocr.mots if r.ocr else 0,
                "confiance": r.ocr.confiance if r.ocr else 0.0,
                "floue": r.floue,
                "message": r.message or "",
                "adresse": r.adresse or "",
                "date": r.date or "",
                "heure": r.heure or "",
            }
            for r in sorted(readings.par_capture.values(), key=lambda r: r.capture)
        ],
    }
