"""When was a screenshot taken? Read from the file itself, most trusted source first.

Order (``../shared/spec/cli.md``): EXIF DateTimeOriginal, PNG text chunks / XMP / eXIf, a PDF's
CreationDate, then the file-name patterns of Android, macOS, Windows and GNOME.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

from refere import files
from refere.pieces import pngmeta, probe
from refere.dates import PARIS, format_date, missing_in_paris, to_paris


@dataclass(frozen=True)
class ShotDate:
    when: dt.datetime  # aware, Europe/Paris
    source: str  # French, e.g. « EXIF DateTimeOriginal »


_EXIF_DT = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?", re.ASCII)
_ISO_DT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)
_TAIL_OFFSET = re.compile(r"(?:[.,]\d+)?\s*(?P<tz>[Zz]|UTC|GMT|[+-]\d{2}:?\d{2})?\s*(?:\(?(?:UTC|GMT)\)?)?\s*", re.ASCII)
_PDF_DT = re.compile(r"D:(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{2}'?\d{2}'?)?", re.ASCII)
_NAME_DT = re.compile(
    r"(?P<y>(?:19|20)\d{2})-?(?P<mo>\d{2})-?(?P<d>\d{2})"
    r"(?:[ _-]|\s+(?:à|at)\s+)"
    r"(?P<h>\d{1,2})[.\-:h]?(?P<mi>\d{2})[.\-:]?(?P<s>\d{2})"
    r"(?:\s*(?P<ampm>[AaPp][Mm])\b)?"
)


def _offset(text: str | None) -> dt.tzinfo | None:
    if not text:
        return None
    text = text.replace("'", "").replace(":", "").strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return dt.timezone.utc
    m = re.fullmatch(r"([+-])(\d{2})(\d{2})", text)
    if not m or int(m[2]) > 14 or int(m[3]) > 59:  # « +25:00 », « +00:60 »: no clock's offset
        return None
    delta = dt.timedelta(hours=int(m[2]), minutes=int(m[3]))
    return dt.timezone(delta if m[1] == "+" else -delta)


def _build(parts: list[str | None], tz: dt.tzinfo | None) -> dt.datetime | None:
    try:
        y, mo, d, h, mi = (int(p) for p in parts[:5])  # type: ignore[arg-type]
        s = int(parts[5] or 0)
        naive = dt.datetime(y, mo, d, h, mi, s)
    except (TypeError, ValueError):
        return None
    if not 2000 <= naive.year <= 2100:
        return None
    if tz is None and missing_in_paris(naive):
        return None  # a clock that showed it was not set to Paris time: its hour says nothing sure
    return naive.replace(tzinfo=tz).astimezone(PARIS) if tz else to_paris(naive)


def parse_exif(value: str, offset: str | None = None) -> dt.datetime | None:
    m = _EXIF_DT.match(value.strip().strip("\x00"))
    return _build(list(m.groups()), _offset(offset)) if m else None


def parse_text_date(value: str) -> dt.datetime | None:
    """PNG « Creation Time »: EXIF style, ISO 8601 or RFC 1123 as tools write it. An offset after
    the time (« Z », « +09:00 », « -0300 ») is the clock's: the time is brought to Paris."""
    value = value.strip().strip("\x00")
    if m := _EXIF_DT.match(value):
        # After the time, only an offset, as written by any tool (« Z », « +0000 (UTC) »…): anything
        # else, or an offset no clock has, gives no date rather than a time read as Paris's.
        tail = _TAIL_OFFSET.fullmatch(value[m.end():])
        if tail is None:
            return None
        tz = _offset(tail["tz"]) if tail["tz"] else None
        return None if tail["tz"] and tz is None else _build(list(m.groups()), tz)
    if m := _ISO_DT.search(value):
        return _build(list(m.groups()[:6]), _offset(m[7]))
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return to_paris(parsed) if 2000 <= parsed.year <= 2100 else None


def parse_pdf_date(value: str) -> dt.datetime | None:
    m = _PDF_DT.search(value)
    return _build(list(m.groups()[:6]), _offset(m[7])) if m else None


def from_content(kind: str, data: bytes | Path) -> ShotDate | None:
    """The date the file itself carries (EXIF, PNG chunks, XMP, a PDF's dates), or None."""
    try:
        if isinstance(data, Path):
            data = files.read_file(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's « Corrupt EXIF data »: the name may still tell
            return _from_pdf(data) if kind == "pdf" else _from_image(data, kind)
    except Exception:  # noqa: BLE001 - an unreadable file still has a name worth reading
        return None


def _name_parts(name: str) -> list[str] | None:
    # macOS stores names decomposed (NFD); curly or straight apostrophes are both common.
    stem = unicodedata.normalize("NFC", Path(name).stem)
    m = _NAME_DT.search(stem)
    if not m:
        return None
    hour = int(m["h"])
    if m["ampm"]:
        pm = m["ampm"].lower() == "pm"
        hour = (hour % 12) + (12 if pm else 0)
    return [m["y"], m["mo"], m["d"], str(hour), m["mi"], m["s"]]


def parse_name(name: str) -> dt.datetime | None:
    parts = _name_parts(name)
    return _build(parts, None) if parts else None


NO_DATE = "aucune date dans le fichier ni dans son nom"


def undated_reason(name: str) -> str:
    """Why a capture got no date: none anywhere, or its name's hour is one Paris skipped."""
    parts = _name_parts(name)
    try:
        naive = dt.datetime(*(int(p or 0) for p in parts)) if parts else None  # type: ignore[misc]
    except ValueError:
        naive = None
    if naive is not None and missing_in_paris(naive):
        return (f"l'heure de son nom ({naive.hour} h {naive.minute:02d} le {format_date(naive.date())}) n'a pas "
                "existé à Paris (passage à l'heure d'été) : le téléphone n'était pas à l'heure de Paris ; notez "
                "la tentative à la main avec son heure réelle")
    return NO_DATE


def _from_text(info: dict, xmp: object) -> ShotDate | None:
    for key in ("Creation Time", "CreationTime", "creation time", "Date"):
        if isinstance(info.get(key), str) and (d := parse_text_date(info[key])):
            return ShotDate(d, f"PNG « {key} »")
    if isinstance(xmp, bytes):
        xmp = xmp.decode("utf-8", "replace")
    if isinstance(xmp, str):
        for tag in ("photoshop:DateCreated", "exif:DateTimeOriginal", "xmp:CreateDate"):
            m = re.search(re.escape(tag) + r"""(?:>|=["'])([^<"']+)""", xmp)
            if m and (d := parse_text_date(m[1])):
                return ShotDate(d, f"XMP {tag}")
    return None


def _from_exif(exif) -> ShotDate | None:
    if not exif:
        return None
    sub = exif.get_ifd(0x8769)
    if sub.get(36867) and (d := parse_exif(str(sub[36867]), sub.get(36881))):
        return ShotDate(d, "EXIF DateTimeOriginal")
    return None


def _fallback_exif(exif) -> ShotDate | None:
    if exif and exif.get(306):
        if d := parse_exif(str(exif[306]), exif.get_ifd(0x8769).get(36880)):
            return ShotDate(d, "EXIF DateTime")
    return None


def _from_image(data: bytes, kind: str) -> ShotDate | None:
    if kind == "png":
        meta = pngmeta.read(data)  # never decodes the pixels
        return (_from_exif(meta.exif)
                or _from_text(meta.text, meta.text.get("XML:com.adobe.xmp"))
                or _fallback_exif(meta.exif))
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()  # cheap for JPEG: the APP1 segment is read with the header
        xmp = img.info.get("xmp")
        if isinstance(xmp, bytes) and len(xmp) > pngmeta.MAX_TEXT:
            xmp = None  # an XMP packet of megabytes is not a screenshot's
        return _from_exif(exif) or _from_text(img.info, xmp) or _fallback_exif(exif)


def _from_pdf(data: bytes) -> ShotDate | None:
    """A PDF's creation date, read by qpdf in a capped child process (``probe._pdf_isolated``:
    what nothing can measure beforehand makes that process die, not the web server)."""
    import hashlib

    from refere import isolee

    # Remembered by SHA-256, as ``content_date`` does: the web dates the loose captures of a case
    # on every view of its page, each PDF a child process otherwise.
    entry = probe.decode_cache() / f"{hashlib.sha256(data).hexdigest()}.date"
    if (known := _remembered(entry)) is not False:
        return known
    try:
        found = isolee.run_forked(_pdf_date, data, seconds=60, extra=probe.PDF_MEMORY)
    except isolee.Stopped:
        found = None
    probe.remember(entry, _entry_text(found))
    return found


def _pdf_date(data: bytes) -> ShotDate | None:
    import pikepdf

    if probe.packed_objects_bomb(data):
        return None
    probe.qpdf_limits()
    with pikepdf.open(io.BytesIO(data), inherit_page_attributes=False) as pdf:  # no walk of the pages
        raw = pdf.docinfo.get("/CreationDate") if pdf.trailer.get("/Info") is not None else None
        if raw is not None and (d := parse_pdf_date(str(raw)[:64])):
            return ShotDate(d, "PDF CreationDate")
    return None


def read(path: Path, kind: str, data: bytes | None = None, *,
         content: ShotDate | None | bool = False) -> ShotDate | None:
    """The screenshot's own date, or None when nothing in the file or its name tells.

    ``data`` is the file's content as already read and verified; without it the file is read
    here (type and size checked first). ``content``, when given (None included), is what
    ``from_content`` already found in those bytes: the file is not read again.
    """
    found = content if content is not False else from_content(kind, data if data is not None else path)
    if found:
        return found
    if d := parse_name(path.name):
        return ShotDate(d, "nom du fichier")
    return None


def content_date(src):
    """What ``from_content`` finds in a checked source, remembered by SHA-256 beside the
    decoded images: a second check neither reads nor hashes the capture again for its date."""
    sha = src.file.sha256 if src.file is not None else probe._checked(src).sha256
    entry = probe.decode_cache() / f"{sha}.date"
    if (known := _remembered(entry)) is not False:
        return known
    found = from_content(src.kind, probe.source_bytes(src))
    probe.remember(entry, _entry_text(found))
    return found


def _remembered(entry: Path) -> ShotDate | None | bool:
    """The date a cache entry holds (None: none found), or False when there is no such entry."""
    raw = files.recall(entry, 4096)  # a regular file only: never a link, a FIFO or /dev/zero
    try:
        if raw is not None:
            when, _, source = raw.decode("utf-8").partition("\n")
            return ShotDate(dt.datetime.fromisoformat(when), source) if when else None
    except ValueError:
        pass
    return False


def entry_text(kind: str, data: bytes) -> str:
    """The cache entry ``content_date`` reads, made from bytes already in hand (a worker
    process checking the capture dates it at the same time: see probe.start)."""
    return _entry_text(from_content(kind, data))


def _entry_text(found: ShotDate | None) -> str:
    return f"{found.when.isoformat()}\n{found.source}" if found else ""
