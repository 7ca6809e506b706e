"""What the text read on a capture says: the « no slot » message, slots offered, the address, the moment.

Pure functions over the lines Tesseract read (``refere.preuves.lecture`` reads them). Everything
here runs in time linear in the text: lines are capped at ``LINE_MAX`` characters before they get
here, the address is found by splitting on spaces (no backtracking pattern), and the fuzzy
matching works on a text capped at ``TEXT_MAX`` characters.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from refere import dates

LINE_MAX = 400  # characters of one OCR line kept: a browser line is far shorter
TEXT_MAX = 12_000  # characters of a capture's text matched against the catalogue
TOP_BAND = 0.15  # of the capture's height: where the status bar and the address bar are
MATCH = 88  # rapidfuzz partial ratio (0–100) for a catalogue wording to count as shown

# The « no slot » wordings actually shown: the préfectures' booking modules (« prendre un
# rendez-vous » pages of the départements' sites: « plus de plage horaire libre », « aucun
# créneau », « plus de disponibilité », « nombre maximal … atteint »), the ANEF
# (administration-etrangers-en-france.interieur.gouv.fr) and its error pages. Longest first:
# when several match, the most complete wording is the one quoted in the requête.
CATALOGUE: tuple[str, ...] = tuple(sorted((
    "Il n'existe plus de plage horaire libre pour votre demande de rendez-vous. "
    "Veuillez recommencer ultérieurement.",
    "Il n'existe plus de plage horaire libre pour votre demande de rendez-vous",
    "Il n'y a aucun rendez-vous disponible pour le moment",
    "Aucun rendez-vous n'est disponible pour le moment",
    "Il n'y a aucun rendez-vous disponible",
    "Aucun créneau n'est disponible pour le moment",
    "Il n'y a plus de créneau disponible",
    "Aucun créneau disponible",
    "Aucune plage horaire disponible",
    "Nous n'avons plus de disponibilité pour le moment",
    "Il n'y a plus de disponibilité",
    "Aucune disponibilité",
    "Le nombre maximal de rendez-vous est atteint",
    "Le nombre maximum de rendez-vous est atteint",
    "Le quota de rendez-vous est atteint",
    "Veuillez recommencer ultérieurement",
    "Tous les rendez-vous sont réservés",
    "Tous les créneaux sont actuellement réservés",
    "Tous les créneaux sont réservés",
    "Tous les rendez-vous sont actuellement réservés",
    "Il n'y a plus aucun rendez-vous disponible",
    "Plus aucun rendez-vous disponible",
    "Votre demande n'a pas pu aboutir",
    "Une erreur est survenue. Veuillez réessayer ultérieurement.",
    "Une erreur est survenue",
    "Une erreur technique est survenue",
    "Le service est momentanément indisponible",
    "Service indisponible",
    "No appointment available",
    "There are no available appointment slots",
), key=len, reverse=True))

# What a page offering slots says (« créneaux disponibles le lundi… », a grid of times).
SLOTS: tuple[str, ...] = (
    "Créneaux disponibles",
    "Choisissez votre créneau",
    "Choisissez un créneau",
    "Sélectionnez un créneau",
    "Sélectionnez un horaire",
    "Choisissez un horaire",
    "Choisissez votre rendez-vous",
    "Prochain créneau disponible",
    "Réserver ce créneau",
    "Horaires disponibles",
)

_MONTHS = ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre",
           "octobre", "novembre", "decembre")
_CLOCK = re.compile(r"(?<![\d:])([01]?\d|2[0-3])\s?[:h]\s?([0-5]\d)(?![\d:])")
_DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](20\d\d)(?!\d)")
_DATE_TXT = re.compile(r"(?<!\d)(1er|\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(20\d\d)(?!\d)")
_AFTER_DATE = re.compile(r"^\W{0,3}(?:a|à|,)?\s*([01]?\d|2[0-3])\s?[:h]\s?([0-5]\d)")
# Top-level domains an address bar shows for a préfecture, the ANEF, or any other site.
_TLDS = {"fr", "com", "org", "net", "eu", "gouv", "info", "io", "be", "ch", "re", "yt", "pf", "nc"}
_RANGE = re.compile(r"\d[:h]\d\d\s?(?:-|–|à|a)\s?\d")  # « 09:00 - 12:00 »: opening hours, not slots
_JOIN_AFTER = ("-", "/", ".", "#", "?", "=", "&", "_")


def _ascii(text: str) -> str:
    # Decomposed, then everything outside ASCII dropped: « é » becomes « e », « — » goes.
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation, one space: what OCR errors least disturb."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _ascii(text[:TEXT_MAX].replace("’", "'")).lower()).split())


def normalise_keep_digits(text: str) -> str:
    """Accents off and lower case, but « : » and « / » kept: times and dates survive."""
    return _ascii(text[:TEXT_MAX]).lower()


_CATALOGUE_NORM = [(w, normalise(w)) for w in CATALOGUE]
_SLOTS_NORM = [(w, normalise(w)) for w in SLOTS]
_NO_SLOT_WORDS = ("aucun", "aucune", "plus de creneau", "pas de creneau", "plus de disponibilite", "n existe plus")


def _best(flat: str, wordings) -> str | None:
    from rapidfuzz import fuzz

    for wording, norm in wordings:
        # partial_ratio slides the shorter string along the longer: the wording must be the
        # shorter, or « Aucun créneau disponible » would « contain » any longer sentence.
        # A wording longer than the text read must be nearly all of it: « aucun créneau disponible »
        # is not « plus aucun créneau disponible » (the wording quoted is the one shown).
        score = fuzz.partial_ratio(norm, flat) if len(norm) <= len(flat) else fuzz.ratio(norm, flat) - 5
        if score >= MATCH:
            return wording
    return None


def find_message(text: str) -> str | None:
    """The most complete catalogue wording shown in ``text``, or None."""
    flat = normalise(text)
    return _best(flat, _CATALOGUE_NORM) if flat else None


def find_slots(lines: list[dict]) -> str | None:
    """What shows that the page offers slots: a wording (« Créneaux disponibles ») or a grid of
    three times or more under the address bar; None when it offers none."""
    body = [line["texte"] for line in lines if line["haut"] > TOP_BAND]
    flat = f" {normalise(' '.join(body))} "
    if any(f" {no} " in flat for no in _NO_SLOT_WORDS):
        return None  # « aucun créneau disponible » read too poorly to be in the catalogue
    # Word for word (no fuzzy match): « créneaux disponibles » is one letter from « créneau
    # disponible », and saying « slots on offer » wrongly turns a capture against its owner.
    for wording, norm in _SLOTS_NORM:
        if f" {norm} " in flat:
            return wording
    # A grid of times: lines made mostly of times (« 09:00 09:20 10:40 »), not a page dated here
    # and there (« consultée le … à 08:52 », « mis à jour à 14:00 »).
    times = []
    for text in body:
        found = [m[0] for m in _CLOCK.finditer(text)]
        if found and 2 * len(found) >= len(text.split()) and not _RANGE.search(text):
            times += found
    if len(set(times)) >= 3:
        return " ".join(times[:6])
    return None


# --- the address --------------------------------------------------------------------------

def _url_token(token: str) -> str | None:
    """``token`` as an address if it looks like one: a scheme, « www. », or « host.tld/… »."""
    t = token.strip("[]()<>{}|«»\"'`,;").lower()
    if not t or len(t) < 4:
        return None
    if t.startswith(("http:", "https:", "http;", "https;")) or t.startswith("www"):
        return t
    host = t.split("/", 1)[0].split("#", 1)[0]
    labels = [x for x in host.split(".") if x]
    if len(labels) >= 2 or (labels and host.endswith(".")):
        return t
    return None


def _plausible(url: str) -> bool:
    """A whole host: its last label a top-level domain (« www.seine » is a fragment)."""
    bare = re.sub(r"^https?[:;]?/*", "", url)
    host = re.split(r"[/#?]", bare, maxsplit=1)[0].strip(".")
    labels = [x for x in host.split(".") if x]
    if len(labels) < 2:
        return False
    last = labels[-1]
    return last in _TLDS or (len(last) == 2 and last.isalpha()) or last.startswith(("gouv", "fr"))


def find_address(lines: list[dict]) -> tuple[str | None, float]:
    """(the URL in the browser bar, the lowest confidence of the lines it spans), or (None, 0).

    A phone wraps a long address over two or three lines (« www.seine-saint- » /
    « denis.gouv.fr/booking/create/4010/1 »): the lines are joined when one ends with « - »,
    « / », « . » or the next one goes on without a space. A desktop shows the path dimmed,
    a mobile browser the host alone: both are read as they are. The top band is searched first
    (the address bar), then the whole capture for an address with a scheme or « www »
    (the footer of a printed page)."""
    ordered = sorted(lines, key=lambda line: line["haut"])
    for top_only in (True, False):
        for i, line in enumerate(ordered):
            if top_only and line["haut"] > TOP_BAND:
                break
            tokens = line["texte"].split()
            for k, token in enumerate(tokens):
                conf = float(line.get("confiance", 0))
                url = token.strip("[]()<>{}|«»\"'`,;").lower()
                if k == len(tokens) - 1 and top_only and url.endswith(_JOIN_AFTER):
                    # « administration-etrangers-en- » / « france.interieur.gouv.fr »: a wrapped host.
                    url, conf = _join_wrapped(url, conf, ordered[i + 1:i + 3], line)
                    url = _url_token(url)
                else:
                    url = _url_token(url)
                    if url is not None and k == len(tokens) - 1:
                        url, conf = _join_wrapped(url, conf, ordered[i + 1:i + 3], line)
                if url is None or (not top_only and not url.startswith(("http", "www"))):
                    continue
                url = _tidy(url.rstrip(".,;:)"))
                if _plausible(url):
                    return url, conf
    return None, 0.0


def well_formed(url: str) -> bool:
    """A whole address read cleanly: a scheme or « www. », a host of letters, digits and « - »
    ending with a known top-level domain, a path of address characters. Tesseract gives a long
    token like this a low confidence (no dictionary word in it) even on a crisp bar."""
    m = re.fullmatch(r"(?:https?://)?(www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)([/#?][a-z0-9./#?=&_%~:+-]*)?", url)
    if m is None or not (url.startswith(("http://", "https://")) or m[1]):
        return False
    return m[2].rsplit(".", 1)[1] in _TLDS


def _tidy(url: str) -> str:
    """The dots OCR loses where they always are: « wwwseine… », « gouvfr »."""
    url = re.sub(r"^(https?)[:;]/*", r"\1://", url)
    url = re.sub(r"^(https?://)?www(?=[a-z0-9])", r"\1www.", url)
    return re.sub(r"\.gouv[,;]?fr(?=$|[/#?])", ".gouv.fr", url)


def _join_wrapped(url: str, conf: float, following: list[dict], line: dict) -> tuple[str, float]:
    last = line
    for nxt in following:
        words = nxt["texte"].split()
        close = nxt["haut"] - last["haut"] < 0.05
        if not close or not words:
            break
        head = words[0].strip("[]|")
        # A line alone that carries on the address: the host cut (« …interieur.g » / « ouv.fr/… »),
        # or the path cut (« …/bookin » / « g/create/9830/1 »). « https:// » is no path.
        goes_on = url.endswith(_JOIN_AFTER) or head.startswith(_JOIN_AFTER) or (
            len(words) == 1 and ("/" in head or "." in head or not _plausible(url)))
        if not goes_on or not re.fullmatch(r"[a-z0-9./#?=&_%~:+-]+", head.lower()):
            break
        url += head.lower()
        conf = min(conf, float(nxt.get("confiance", 0)))
        last = nxt
        if len(words) > 1:
            break
    return url, conf


_CONFUSIONS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("1", "l"), ("i", "l"), ("|", "l"), ("0", "o"), ("5", "s"))


def _canonical(text: str) -> str:
    text = text.lower()
    for a, b in _CONFUSIONS:
        text = text.replace(a, b)
    return re.sub(r"[^a-z0-9/]", "", text)


def _split(url: str) -> tuple[str, str]:
    """(host, path) of a URL as written or as read: no scheme, no « www », « #… » kept in the path."""
    bare = re.sub(r"^\s*h[tl]{2}ps?[:;]?/*", "", url.strip().lower()).replace("…", "").rstrip(".")
    bare = bare.removesuffix("...")
    cut = re.search(r"[/#?]", bare)
    host, path = (bare[:cut.start()], bare[cut.start():]) if cut else (bare, "")
    host = re.sub(r"^www\.?", "", host)
    return host, path.strip("/")


def compare_address(seen: str, declared: str) -> str:
    """« meme », « autre » or « incertain »: the address read against the declared one.

    Hosts are compared after the usual OCR confusions (« rn » read « m », l/1, O/0, a lost dot);
    « loire » and « loiret » are two préfectures one letter apart, so a host one or two letters
    off is « incertain », never « meme » nor « autre ». A path shown in part (host alone, cut
    with « … », the ANEF's « #/… ») compares on what it shows; booking numbers must agree."""
    from rapidfuzz.distance import Levenshtein

    s_host, s_path = _split(seen)
    d_host, d_path = _split(declared)
    sh, dh = _canonical(s_host), _canonical(d_host)
    if sh != dh and dh.endswith(sh) and not re.match(r"^\s*h[tl]{2}ps?[:;]|^\s*www", seen.lower()):
        return "incertain"  # the end of the declared host (« ouv.fr/… », a wrapped bar's 2nd line): a fragment
    if sh != dh:
        # The top-level domain is where OCR stumbles most (« gouv.fr » read « gouvir »).
        if sh[:-2] == dh[:-2] and dh.endswith("fr") and len(sh) == len(dh):
            pass
        else:
            return "incertain" if Levenshtein.distance(sh, dh) <= 2 else "autre"
    sp, dp = _canonical(s_path), _canonical(d_path)
    if not sp or sp == dp or dp.startswith(sp) or sp.startswith(dp):
        return "meme"
    s_digits, d_digits = re.findall(r"\d+", s_path), re.findall(r"\d+", d_path)
    letters = Levenshtein.normalized_distance(re.sub(r"\d", "", sp), re.sub(r"\d", "", dp))
    if s_digits != d_digits and len(s_digits) == len(d_digits):
        return "autre"  # another booking page: the number is what OCR reads best
    if letters <= 0.15:
        return "meme" if s_digits == d_digits else "incertain"
    return "autre" if letters > 0.4 else "incertain"


def same_address(seen: str, declared: str) -> bool:
    return compare_address(seen, declared) == "meme"


# --- the moment on screen -----------------------------------------------------------------

def find_moment(lines: list[dict]) -> tuple[str | None, str | None]:
    """(ISO date, « HH:MM ») seen on screen: a date followed by a time (« Page consultée le
    01/09/2025 à 08:52 ») wins over the status-bar clock. A date alone counts only in the top
    band (a phone's status bar): elsewhere it is the page's content (« titre expirant le … »)."""
    clock = _status_clock(lines)
    for top_only in (False, True):
        chosen = [line for line in lines if not top_only or line["haut"] <= TOP_BAND]
        flat = " ".join(normalise_keep_digits(line["texte"]) for line in chosen)[:TEXT_MAX]
        for rx, textual in ((_DATE_NUM, False), (_DATE_TXT, True)):
            for m in rx.finditer(flat):
                day = 1 if m[1] == "1er" else int(m[1])
                month = _MONTHS.index(m[2]) + 1 if textual else int(m[2])
                try:
                    day_seen = dt.date(int(m[3]), month, day)
                except ValueError:
                    continue
                after = _AFTER_DATE.match(flat[m.end():m.end() + 20])
                if after:
                    return day_seen.isoformat(), f"{int(after[1]):02d}:{after[2]}"
                if top_only:
                    return day_seen.isoformat(), clock
    return None, clock


def _status_clock(lines: list[dict]) -> str | None:
    for line in lines:
        if line["haut"] <= TOP_BAND:
            # Not inside an address (« …/create/12:30 » is no clock).
            text = " ".join(w for w in line["texte"].split() if _url_token(w) is None)
            if m := _CLOCK.search(text):
                return f"{int(m[1]):02d}:{m[2]}"
    return None


def seen_moment(date: str | None, heure: str | None, declared: dt.datetime) -> dt.datetime | None:
    """The on-screen moment in Paris time; a clock alone takes the declared day, the nearest one."""
    if heure is None and date is None:
        return None
    hh, mm = (int(x) for x in (heure or "").split(":")) if heure else (None, None)
    local = declared.astimezone(dates.PARIS)
    if date:
        day = dt.date.fromisoformat(date)
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
