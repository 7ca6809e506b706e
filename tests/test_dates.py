import datetime as dt

import pytest

from refere import dates
from refere.dates import PARIS, DateFormatError, parse_date, parse_datetime


@pytest.mark.parametrize("raw", ["2025-03-03", "03/03/2025", "3/3/2025", dt.date(2025, 3, 3)])
def test_date_formats(raw):
    assert parse_date(raw) == dt.date(2025, 3, 3)


@pytest.mark.parametrize("raw", ["2025-02-30", "30/02/2025", "2025-13-01", "00/01/2025"])
def test_impossible_dates_are_named(raw):
    with pytest.raises(DateFormatError, match="impossible"):
        parse_date(raw)


@pytest.mark.parametrize("raw", ["hier", "2025/03/03", "3 mars 2025", ""])
def test_unreadable_dates(raw):
    with pytest.raises(DateFormatError, match="illisible"):
        parse_date(raw)


@pytest.mark.parametrize("raw, expected", [
    ("2025-03-03 08:55", (2025, 3, 3, 8, 55, 0)),
    ("2025-03-03T08:55:00", (2025, 3, 3, 8, 55, 0)),
    ("2025-03-03 08:55:12", (2025, 3, 3, 8, 55, 12)),
    ("03/03/2025 08:55", (2025, 3, 3, 8, 55, 0)),
    ("03/03/2025 à 08h55", (2025, 3, 3, 8, 55, 0)),
    # An explicit offset is converted to Paris time (UTC+1 in winter).
    ("2025-03-03T08:55:00+00:00", (2025, 3, 3, 9, 55, 0)),
    ("2025-03-03T08:55:00Z", (2025, 3, 3, 9, 55, 0)),
    ("2025-07-03T08:55:00+01:00", (2025, 7, 3, 9, 55, 0)),
    # Just after midnight stays on the day written.
    ("2025-03-04 00:05", (2025, 3, 4, 0, 5, 0)),
])
def test_datetime_formats(raw, expected):
    d = parse_datetime(raw)
    assert d.tzinfo is not None
    assert (d.year, d.month, d.day, d.hour, d.minute, d.second) == expected
    assert d.utcoffset() == d.astimezone(PARIS).utcoffset()


def test_paris_offset_across_summer_time_change():
    # Last Sunday of March 2025: 02:00 → 03:00.
    before = parse_datetime("2025-03-30 01:30")
    after = parse_datetime("2025-03-30 03:30")
    assert before.utcoffset() == dt.timedelta(hours=1)
    assert after.utcoffset() == dt.timedelta(hours=2)
    assert after.astimezone(dt.timezone.utc) - before.astimezone(dt.timezone.utc) == dt.timedelta(hours=1)
    # A time that does not exist (the skipped hour) is refused: moved to 3:30, the requête would print
    # an hour no screenshot showed.
    with pytest.raises(DateFormatError, match="heure inexistante « 2025-03-30 02:30 »"):
        parse_datetime("2025-03-30 02:30")
    assert parse_datetime("2025-03-30 02:30+01:00").hour == 3
    # Back to winter time on 26 October 2025.
    assert parse_datetime("2025-10-26 04:00").utcoffset() == dt.timedelta(hours=1)
    assert parse_datetime("2025-10-25 12:00").utcoffset() == dt.timedelta(hours=2)
    # A UTC time given in summer is shown as Paris summer time.
    assert parse_datetime("2025-07-01T06:00:00Z").hour == 8


@pytest.mark.parametrize("raw", ["2025-03-03", "2025-03-03 25:00", "2025-03-03 08:61", "2025-03-03T08:55+15:00"])
def test_datetime_errors(raw):
    with pytest.raises(DateFormatError):
        parse_datetime(raw)


def test_french_writing():
    assert dates.format_date(dt.date(2025, 3, 3)) == "3 mars 2025"
    assert dates.format_date(dt.date(2025, 6, 1)) == "1er juin 2025"
    assert dates.format_time(dt.datetime(2025, 1, 1, 8, 55)) == "8\u00a0h\u00a055"
    assert dates.format_time(dt.datetime(2025, 1, 1, 0, 3)) == "0\u00a0h\u00a003"
    assert dates.format_amount(1500).replace("\u202f", " ").replace("\u00a0", " ") == "1 500 €"
    assert dates.format_amount(12.5).replace("\u00a0", " ") == "12,50 €"
    assert dates.format_range(dt.date(2025, 3, 3), dt.date(2025, 3, 9)) == "du 3 au 9 mars 2025"
    assert dates.format_range(dt.date(2025, 9, 29), dt.date(2025, 10, 5)) == "du 29 septembre au 5 octobre 2025"
    assert dates.format_range(dt.date(2025, 12, 29), dt.date(2026, 1, 4)) == "du 29 décembre 2025 au 4 janvier 2026"
    assert dates.format_range(dt.date(2025, 9, 1), dt.date(2025, 9, 7)) == "du 1er au 7 septembre 2025"


def test_source_date_epoch_pins_today(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")  # 2025-01-01T00:00Z
    assert dates.today() == dt.date(2025, 1, 1)
