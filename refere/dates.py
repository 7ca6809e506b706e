"""Dates as people write them in a case file, and dates as a French court document prints them."""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_format_date
from babel.numbers import format_decimal

PARIS = ZoneInfo("Europe/Paris")

# re.ASCII: « \d » is 0-9 only, not Arabic-Indic or other digits int() would also accept.
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_DATE_FR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", re.ASCII)
# Years a case can speak of: a birth after 1900, an attempt or a letter before 2100.
MIN_YEAR, MAX_YEAR = 1900, 2100
# What the loader reads, for the JSON schema (``refere schema``) in JSON Schema's (ECMA-262) regular
# expressions: not its « date-time » format (strict RFC 3339), which editors then hold against
# « 2025-09-01 08:52 », the way the documentation writes it (attack 35).
DATE_PATTERN = r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})$"
DATETIME_PATTERN = (r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})([Tt ]+|\s+à\s+)\d{1,2}[:h]\d{2}(:\d{2}(\.\d+)?)?"
                    r"\s*(Z|[+-]\d{2}:?\d{2})?$")
_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})"
    r"(?:[Tt ]+|\s+à\s+)"
    r"(?P<h>\d{1,2})[:h](?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.ASCII,
)


MOIS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
        "novembre", "décembre")
# A day and month written in a sentence, the year optional (« du 31 juin au 20 août 2025 »); read on
# text whose accents are folded (« fevrier ») and whose invisible characters are taken out.
_FOLDED_MOIS = tuple(unicodedata.normalize("NFKD", m).encode("ascii", "ignore").decode() for m in MOIS)
# Months abbreviated as people write them (« févr. », « sept. »): each to its month's number.
_SHORT_MOIS = {"janv": 1, "fevr": 2, "fev": 2, "avr": 4, "juil": 7, "sept": 9, "sep": 9, "oct": 10, "nov": 11,
               "dec": 12}
_WRITTEN = re.compile(r"\b(1er|\d{1,2})\s+(" + "|".join(_FOLDED_MOIS + tuple(_SHORT_MOIS))
                      + r")\b\.?(?:\s+(\d{4}))?\b", re.IGNORECASE)
# 31/06/2025, 31.06.2025, 31-06-2025 (one separator), 31/06/25 (a two-digit year only with « / »: with
# « - » or « . » it is an address range « 13-15-17 », a time « 08.52.27 », a phone number), and
# 2025-06-31: never a piece of a longer run of numbers (« 01.48.00.00.00 »).
_WRITTEN_NUMERIC = re.compile(r"(?<!\d)(?<!\d[./-])(\d{1,2})(?:([./-])(\d{1,2})\2(\d{4})|(/)(\d{1,2})/(\d{2}))"
                              r"(?!\d)(?![./-]\d)")
_WRITTEN_ISO = re.compile(r"(?<!\d)(?<!\d[-/.])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d)(?![-/.]\d)")


class DateFormatError(ValueError):
    """A French message saying why a date could not be read."""


def today() -> dt.date:
    """Today in Paris (pinned by SOURCE_DATE_EPOCH, like ``now``)."""
    return now().date()


def now() -> dt.datetime:
    """Now in Paris; SOURCE_DATE_EPOCH pins it so that rebuilds are reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isascii() and epoch.strip().isdigit():  # « ² »: isdigit, not int()
        try:
            return dt.datetime.fromtimestamp(int(epoch), PARIS)
        except (OverflowError, ValueError, OSError):
            pass  # past the year 9999: ignored like any other non-date (every attempt was « invalide »)
    return dt.datetime.now(PARIS)


def _make_date(y: int, m: int, d: int, raw: str) -> dt.date:
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise DateFormatError(f"année invraisemblable dans « {raw} » (entre {MIN_YEAR} et {MAX_YEAR})")
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise DateFormatError(f"date impossible « {raw} »") from None


def parse_date(value: object) -> dt.date:
    """``2025-03-03`` or ``03/03/2025`` (day first)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = str(value).strip()
    if m := _DATE_ISO.match(raw):
        return _make_date(int(m[1]), int(m[2]), int(m[3]), raw)
    if m := _DATE_FR.match(raw):
        return _make_date(int(m[3]), int(m[2]), int(m[1]), raw)
    long_year = (re.fullmatch(r"(\d{5,})-(\d{1,2})-(\d{1,2})", raw, re.ASCII)
                 or re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{5,})", raw, re.ASCII))
    if long_year:
        # A date picker that let a fifth digit in (« 92026-03-01 »): said day first, as the person typed it.
        y, mo, d = ((long_year[1], long_year[2], long_year[3]) if "-" in raw
                    else (long_year[3], long_year[2], long_year[1]))
        raise DateFormatError(f"année à {len(y)} chiffres dans la date {d.zfill(2)}/{mo.zfill(2)}/{y} : "
                              f"vérifiez l'année (par exemple {d.zfill(2)}/{mo.zfill(2)}/{y[-4:]})")
    if m := _DATETIME.match(raw):
        raise DateFormatError(f"une date sans heure est attendue, pas « {raw} » : écrivez « {m['date']} »")
    raise DateFormatError(
        f"date illisible « {raw} » : écrivez-la sous la forme 2025-03-03 ou 03/03/2025"
    )


def missing_in_paris(naive: dt.datetime) -> bool:
    """A local time the clocks skipped in Paris (2 h to 3 h on the last Sunday of March)."""
    local = naive.replace(tzinfo=PARIS)
    return local.astimezone(dt.timezone.utc).astimezone(PARIS).replace(tzinfo=None) != naive


def _skipped(naive: dt.datetime, raw: str) -> DateFormatError:
    return DateFormatError(
        f"heure inexistante « {raw} » : ce jour-là à Paris, les horloges sont passées de 2 h à 3 h "
        "(heure d'été) ; vérifiez l'heure, ou écrivez le décalage horaire (par exemple +01:00)")


def impossible_dates(text: str) -> list[str]:
    """The dates a sentence gives that no calendar has (« 31 juin », « 30/02/2025 », « 2025-06-31 »),
    as written (invisible characters taken out): the requête would state them as facts."""
    plain, where = [], []  # the folded text, and the index in ``text`` of each of its characters
    for i, c in enumerate(text):
        if unicodedata.category(c) != "Cf":
            for f in unicodedata.normalize("NFKD", c):
                if not unicodedata.combining(f):
                    plain.append(f)
                    where.append(i)
    folded = "".join(plain)

    def written(m: re.Match) -> str:  # as the person wrote it, its invisible characters out
        return "".join(c for c in text[where[m.start()]:where[m.end() - 1] + 1] if unicodedata.category(c) != "Cf")

    out = []
    for m in _WRITTEN.finditer(folded):
        key = m[2].lower()
        if key == "sept" and not m[3] and "." not in (m[0][-1:] + folded[m.end():m.end() + 1]):
            continue  # « le 31 sept tentatives »: « sept » is seven unless a dot or a year makes it September
        month = _SHORT_MOIS.get(key) or (_FOLDED_MOIS.index(key) + 1 if key in _FOLDED_MOIS else 0)
        if not month:
            continue  # a letter the case-blind match took for another (« ı » for « i »): no month read
        day = 1 if m[1].lower() == "1er" else int(m[1])
        year = int(m[3]) if m[3] else 2024  # without its year, a 29 février may be right
        out += [] if _exists(year, month, day) else [written(m)]
    for m in _WRITTEN_NUMERIC.finditer(folded):
        month, year = (m[3], int(m[4])) if m[3] else (m[6], 2000 + int(m[7]))
        out += [] if _exists(year, int(month), int(m[1]), loose=True) else [written(m)]
    out += [written(m) for m in _WRITTEN_ISO.finditer(folded)
            if not _exists(int(m[1]), int(m[3]), int(m[4]), loose=True)]
    return out


def _exists(year: int, month: int, day: int, loose: bool = False) -> bool:
    """Whether the date exists; ``loose`` (numbers alone): a month past 12 or a day past 31 is no
    date at all (a reference « 2025-13-05 », « RG 23/15/45 »), only a day its month lacks is wrong."""
    if loose and not (1 <= month <= 12 and day <= 31):
        return True
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def to_paris(naive_or_aware: dt.datetime) -> dt.datetime:
    """Attach Paris time to a naive local time, or convert an aware one to Paris time."""
    if naive_or_aware.tzinfo is None:
        # Going through UTC normalises a time that does not exist (the spring-forward hour).
        local = naive_or_aware.replace(tzinfo=PARIS)
        return local.astimezone(dt.timezone.utc).astimezone(PARIS)
    return naive_or_aware.astimezone(PARIS)


def parse_datetime(value: object) -> dt.datetime:
    """A date and time, local to Europe/Paris unless an offset is written."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and missing_in_paris(value):
            raise _skipped(value, value.isoformat(" "))
        return to_paris(value)
    raw = str(value).strip()
    m = _DATETIME.match(raw)
    if not m:
        if _DATE_ISO.match(raw) or _DATE_FR.match(raw):
            raise DateFormatError(
                f"heure manquante dans « {raw} » : écrivez par exemple « {raw} 08:55 »"
            )
        raise DateFormatError(
            f"date et heure illisibles « {raw} » : écrivez-les sous la forme 2025-03-03 08:55 ou 03/03/2025 08:55"
        )
    day = parse_date(m["date"])
    hour, minute, second = int(m["h"]), int(m["m"]), int(m["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise DateFormatError(f"heure impossible « {raw} »")
    naive = dt.datetime(day.year, day.month, day.day, hour, minute, second)
    tz = m["tz"]
    if tz:
        if tz == "Z":
            offset = dt.timezone.utc
        else:
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            hh, mm = int(digits[:2]), int(digits[2:])
            if hh > 14 or mm > 59:
                raise DateFormatError(f"décalage horaire impossible « {tz} »")
            offset = dt.timezone(sign * dt.timedelta(hours=hh, minutes=mm))
        return naive.replace(tzinfo=offset).astimezone(PARIS)
    if missing_in_paris(naive):
        raise _skipped(naive, raw)
    return to_paris(naive)


# --- French writing -------------------------------------------------------------------------

def format_date(d: dt.date) -> str:
    """« 3 mars 2025 », « 1er juin 2025 »."""
    month_year = _babel_format_date(d, "MMMM y", locale="fr_FR")
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {month_year}"


def format_day_month(d: dt.date) -> str:
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {_babel_format_date(d, 'MMMM', locale='fr_FR')}"


def format_time(t: dt.datetime | dt.time) -> str:
    """« 8 h 55 », « 0 h 03 » (no-break spaces: never split across lines)."""
    return f"{t.hour}\u00a0h\u00a0{t.minute:02d}"


def format_datetime(t: dt.datetime) -> str:
    return f"{format_date(t.date())} à {format_time(t)}"


def format_range(first: dt.date, last: dt.date) -> str:
    """« du 3 au 9 mars 2025 », « du 29 septembre au 5 octobre 2025 », across years in full."""
    if first == last:
        return f"du {format_date(first)}"
    if first.year != last.year:
        return f"du {format_date(first)} au {format_date(last)}"
    if first.month != last.month:
        return f"du {format_day_month(first)} au {format_date(last)}"
    day = "1er" if first.day == 1 else str(first.day)
    return f"du {day} au {format_date(last)}"


def format_amount(value: float | int) -> str:
    """« 1 500 € », « 12,50 € » (narrow no-break space between thousands, as French typography)."""
    if float(value).is_integer():
        text = format_decimal(int(value), format="#,##0", locale="fr_FR")
    else:
        text = format_decimal(value, format="#,##0.00", locale="fr_FR")
    return f"{text}\u00a0€"


def format_number(value: int) -> str:
    return format_decimal(value, format="#,##0", locale="fr_FR")
