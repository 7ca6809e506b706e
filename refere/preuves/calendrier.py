"""The attempts at a glance: one row per ISO week, one column per day, each attempt's time.

Drawn with Pillow in grey levels only (it must survive a black-and-white printer: a day with
attempts has a thick frame and its times in bold, nothing relies on colour), with the DejaVu
fonts shipped in refere/data/fonts, and saved with a fixed PNG encoding and no metadata, so
two builds give the same bytes. Times are Paris wall-clock times: an attempt at 00:05 sits on
its own day, and the summer-time change moves no attempt to another cell.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from refere import dates

FONTS = Path(__file__).resolve().parent.parent / "data" / "fonts"
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
DAYS_SHORT = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
MONTHS_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                "nov.", "déc.")
MAX_WEEKS = 60  # rows drawn; a longer span keeps only the weeks with attempts, the latest ones
MAX_TIMES = 4  # times written in one cell; more become « +N »

# Geometry in pixels: ~1450 px over 16 cm of printed width (~230 dpi): text is 9 to 10 pt.
LABEL_W, CELL_W, HEAD_H, MARGIN = 240, 165, 60, 24
LINE_H, SMALL, NORMAL, TITLE = 42, 28, 32, 40


def _paris(attempts: Iterable[dt.datetime]) -> list[dt.datetime]:
    out = []
    for t in attempts:
        # A naive time is already Paris wall-clock time (as the case file writes it).
        out.append(t.astimezone(dates.PARIS) if t.tzinfo else t.replace(tzinfo=dates.PARIS))
    return sorted(out)


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def weeks(attempts: Iterable[dt.datetime]) -> list[tuple[dt.date, dict[int, list[dt.datetime]]]]:
    """[(monday, {weekday: [times]})], every week from the first attempt's to the last's (or
    only weeks with attempts when that span exceeds MAX_WEEKS, and of those the latest: the
    judge looks at the most recent attempts; ``caption`` says what is left out)."""
    times = _paris(attempts)
    if not times:
        return []
    by_week: dict[dt.date, dict[int, list[dt.datetime]]] = defaultdict(lambda: defaultdict(list))
    for t in times:
        by_week[_monday(t.date())][t.weekday()].append(t)
    first, last = _monday(times[0].date()), _monday(times[-1].date())
    span = (last - first).days // 7 + 1
    mondays = ([first + dt.timedelta(weeks=k) for k in range(span)] if span <= MAX_WEEKS
               else sorted(by_week)[-MAX_WEEKS:])
    return [(m, dict(by_week.get(m, {}))) for m in mondays]


def counts(attempts: Iterable[dt.datetime]) -> tuple[int, int, int]:
    """(attempts, distinct ISO weeks, distinct days), in Paris time."""
    times = _paris(attempts)
    return len(times), len({t.isocalendar()[:2] for t in times}), len({t.date() for t in times})


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def caption(attempts: Iterable[dt.datetime]) -> str:
    times = _paris(attempts)
    n, w, d = counts(times)
    if not n:
        return "Aucune tentative."
    kept = [monday for monday, days in weeks(times) if days]
    left = (f" Seules les {len(kept)} dernières semaines avec tentatives sont représentées, depuis celle du "
            f"{dates.format_date(kept[0])}." if len(kept) < w else "")
    return (f"{_plural(n, 'tentative', 'tentatives')} sur {_plural(w, 'semaine distincte', 'semaines distinctes')} "
            f"et {_plural(d, 'jour distinct', 'jours distincts')}, "
            f"{dates.format_range(times[0].date(), times[-1].date())} (heures de Paris).{left}")


def _hm(t: dt.datetime) -> str:
    """« 8 h 52 », as the requête's table writes it."""
    return dates.format_time(t)


def texte(attempts: Iterable[dt.datetime]) -> list[str]:
    """The calendar in French sentences, one per week, then the counts: the text equivalent."""
    times = _paris(attempts)
    out = []
    for monday, days in weeks(times):
        sunday = monday + dt.timedelta(days=6)
        head = f"Semaine {monday.isocalendar()[1]} ({dates.format_range(monday, sunday)})"
        if not days:
            out.append(f"{head} : aucune tentative.")
            continue
        parts = []
        for wd in sorted(days):
            day = monday + dt.timedelta(days=wd)
            num = "1er" if day.day == 1 else str(day.day)
            hours = ", ".join(dates.format_time(t) for t in days[wd])
            parts.append(f"{DAYS[wd]} {num} à {hours}")
        out.append(f"{head} : {' ; '.join(parts)}.")
    out.append(_cap(caption(times)))
    return out


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _font(size: int, bold: bool = False):
    from PIL import ImageFont

    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def _wrap(draw, text: str, font, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        cand = f"{cur} {word}".strip()
        if cur and draw.textlength(cand, font=font) > width:
            lines.append(cur)
            cur = word
        else:
            cur = cand
    return lines + ([cur] if cur else [])


def image(attempts: Iterable[dt.datetime], title: bool = True):
    """The calendar as a Pillow greyscale image; without its title where the document captions it."""
    from PIL import Image, ImageDraw

    times = _paris(attempts)
    rows = weeks(times)
    f_small, f_norm, f_bold, f_title = _font(SMALL), _font(NORMAL), _font(NORMAL, True), _font(TITLE, True)
    f_time = _font(SMALL, True)  # « 23 h 58 » fits its cell
    per_row = max([min(len(v), MAX_TIMES) for _, days in rows for v in days.values()] + [1])
    row_h = 46 + per_row * LINE_H + 12
    width = 2 * MARGIN + LABEL_W + 7 * CELL_W
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    cap_lines = _wrap(probe, caption(times), f_norm, width - 2 * MARGIN)
    top = MARGIN + TITLE + 25 if title else MARGIN
    height = top + HEAD_H + len(rows) * row_h + 25 + len(cap_lines) * LINE_H + MARGIN
    img = Image.new("L", (width, height), 255)
    d = ImageDraw.Draw(img)
    if title:
        d.text((MARGIN, MARGIN), "Calendrier des tentatives", font=f_title, fill=0)
    x0 = MARGIN + LABEL_W
    # Header: day names, on a light grey band (grey is decoration; the words carry the meaning).
    d.rectangle([MARGIN, top, width - MARGIN, top + HEAD_H], fill=225, outline=0, width=2)
    d.text((MARGIN + 12, top + HEAD_H // 2), "Semaine", font=f_bold, fill=0, anchor="lm")
    for k, name in enumerate(DAYS_SHORT):
        d.text((x0 + k * CELL_W + CELL_W // 2, top + HEAD_H // 2), name, font=f_bold, fill=0, anchor="mm")
    y = top + HEAD_H
    for monday, days in rows:
        sunday = monday + dt.timedelta(days=6)
        d.rectangle([MARGIN, y, x0, y + row_h], outline=0, width=2)
        # The week by its dates (« 16–22 nov. », then the year), never by an ISO number to decode.
        span = (f"{monday.day}–{sunday.day} {MONTHS_SHORT[sunday.month - 1]}" if monday.month == sunday.month
                else f"{monday.day} {MONTHS_SHORT[monday.month - 1]} – {sunday.day} {MONTHS_SHORT[sunday.month - 1]}")
        d.text((MARGIN + 12, y + 10), span, font=f_small, fill=0)
        d.text((MARGIN + 12, y + 10 + LINE_H), str(sunday.year), font=f_small, fill=0)
        for k in range(7):
            day = monday + dt.timedelta(days=k)
            cx = x0 + k * CELL_W
            hits = days.get(k, [])
            d.rectangle([cx, y, cx + CELL_W, y + row_h], outline=0, width=2)
            label = f"{day.day} {MONTHS_SHORT[day.month - 1]}" if day.day == 1 or k == 0 else str(day.day)
            d.text((cx + 14, y + 10), label, font=f_small, fill=90 if not hits else 0)
            if not hits:
                continue
            # A day with attempts: thick inner frame and bold times, legible without colour.
            d.rectangle([cx + 4, y + 4, cx + CELL_W - 4, y + row_h - 4], outline=0, width=4)
            shown = hits if len(hits) <= MAX_TIMES else hits[:MAX_TIMES - 1]
            for j, t in enumerate(shown):
                ty = y + 46 + j * LINE_H
                d.rectangle([cx + 16, ty + 12, cx + 28, ty + 24], fill=0)  # the attempt's mark
                d.text((cx + 36, ty + 4), _hm(t), font=f_time, fill=0)
            if len(hits) > MAX_TIMES:
                d.text((cx + 38, y + 46 + (MAX_TIMES - 1) * LINE_H + 2), f"+{len(hits) - len(shown)}",
                       font=f_bold, fill=0)
        y += row_h
    y += 25
    for line in cap_lines:
        d.text((MARGIN, y), line, font=f_norm, fill=0)
        y += LINE_H
    return img


# Written into every calendar, always the same: « check --calendrier » replaces a file only if it bears it.
MARK = ("Software", "refere calendrier")


def png_bytes(attempts: Iterable[dt.datetime], title: bool = True) -> bytes:
    """The calendar as PNG bytes: fixed encoder settings and one fixed text (MARK), so byte-identical."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(*MARK)
    buf = io.BytesIO()
    # Level 6: a tenth of level 9's time (0.2 s for a month of attempts) for 8 % more bytes.
    image(attempts, title).save(buf, "PNG", optimize=False, compress_level=6, dpi=(240, 240), pnginfo=info)
    return buf.getvalue()


PNG = b"\x89PNG\r\n\x1a\n"
_MARKED = b"tEXt" + MARK[0].encode() + b"\x00" + MARK[1].encode()


def _replaceable(case, case_file: Path, path: Path) -> None:
    """Refuse a calendar over the case's own files, or over a file that is not an image PNG (a previous
    calendar is replaced: that is how « check --calendrier » is run again)."""
    import os
    import stat

    from refere.errors import OutputError

    real, home = Path(path).resolve(), case_file.resolve().parent
    if real == case_file.resolve():
        raise OutputError(f"« {path} » est le fichier de l'affaire : choisissez un autre nom pour le calendrier "
                          "(par exemple calendrier.png) ; rien n'a été écrit")
    sources = {t.capture.path.resolve() for t in case.tentatives if t.capture is not None}
    sources |= {s.path.resolve() for p in case.pieces for s in p.sources}
    # An existing file of captures/ or pieces/ is evidence too, even one dossier.yaml does not list yet.
    # Any case's evidence folders, not only this one's (attack 28: another case's pièce was replaced).
    evidence = any(p.name in ("captures", "pieces") and (p.parent / "dossier.yaml").exists() for p in real.parents)
    other = next((p for p in real.parents if p != home and (p / "dossier.yaml").exists()), None)
    if other is not None:  # another case's folder: what it cites there (a calendar as a pièce) is its own (attack 29)
        raise OutputError(f"« {path} » est dans le dossier d'une autre affaire (« {other} ») : choisissez un autre "
                          "nom pour le calendrier ; rien n'a été écrit")
    if real in sources or evidence or any(home / sub in real.parents for sub in ("captures", "pieces")):
        # Where evidence lives, even a new file: a calendar there would be taken for one (and the next
        # run refused it as a file of the dossier).
        raise OutputError(f"« {path} » est un fichier du dossier : choisissez un autre nom pour le calendrier, hors "
                          "de captures/ et pieces/ ; rien n'a été écrit")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    except OSError:
        png = False  # a link, a folder, a file that cannot be read: not replaced
    else:
        try:
            head = os.read(fd, 4096) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        finally:
            os.close(fd)
        png = head.startswith(PNG)
        if png and _MARKED in head:
            return  # a calendar refere wrote: run again, it is brought up to date
    if not png:
        raise OutputError(f"« {path} » existe et n'est pas une image PNG : il ne sera pas remplacé ; choisissez "
                          "un autre nom pour le calendrier ; rien n'a été écrit")
    # A capture (of this case or another), a picture: only a calendar refere wrote is replaced.
    raise OutputError(f"« {path} » existe et n'est pas un calendrier écrit par refere (une capture ?) : il ne sera "
                      "pas remplacé ; choisissez un autre nom (un ancien calendrier : supprimez-le d'abord) ; rien "
                      "n'a été écrit")


def save(case, path: Path, case_file: Path) -> None:
    """``check --calendrier``: the case's calendar written atomically (a temporary file beside
    it, then renamed); never over one of the case's own files, nor over a file that is not a PNG."""
    import os
    import tempfile

    from refere.errors import OutputError, os_reason

    target = Path(path)
    _replaceable(case, case_file, target)
    data = png_bytes(t.date for t in case.tentatives)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.resolve().parent, prefix=".tmp-", suffix=".png")
    except OSError as exc:
        raise OutputError(f"calendrier « {path} » : écriture impossible ({os_reason(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the picture from other users
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"calendrier « {path} » : écriture impossible ({os_reason(exc)})") from None
