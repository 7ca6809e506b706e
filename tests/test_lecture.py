"""Reading captures: real screenshots rendered with DejaVu text, read by the real Tesseract."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from refere.preuves import rules, lecture
from refere.affaire.loader import load

from conftest import default_case, write_case

FONTS = Path(lecture.__file__).resolve().parent.parent / "data" / "fonts"
URL = "https://www.seine-saint-denis.gouv.fr/booking/create/9845/0"
NO_SLOT = ("Il n'existe plus de plage horaire libre pour votre", "demande de rendez-vous.",
           "Veuillez recommencer ultérieurement.")

if shutil.which("tesseract") is None or lecture.tesseract_missing():
    if os.environ.get("REFERE_EXIGER_TESSERACT") == "1":
        pytest.fail("REFERE_EXIGER_TESSERACT=1 mais Tesseract (avec fra et eng) est absent", pytrace=False)
    pytest.skip("Tesseract (tesseract-ocr, tesseract-ocr-fra) absent : captures non lues",
                allow_module_level=True)


@pytest.fixture(autouse=True)
def reading_on(monkeypatch):
    monkeypatch.setenv("REFERE_LECTURE", "1")


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def screenshot(path: Path, clock: str = "08:55", url: str = URL, lines=NO_SLOT, blur: float = 0,
               consulted: str | None = None) -> Path:
    """A phone screenshot, 1080×2400: status bar with a clock, address bar, a préfecture page."""
    img = Image.new("RGB", (1080, 2400), (246, 246, 246))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 1080, 70], fill=(20, 20, 20))
    d.text((40, 35), clock, font=font(34, True), fill="white", anchor="lm")
    d.text((880, 35), "4G  87 %", font=font(30), fill="white", anchor="lm")
    d.rounded_rectangle([24, 90, 1056, 170], radius=36, fill=(225, 225, 230))
    d.text((60, 130), url.removeprefix("https://")[:52], font=font(32), fill=(30, 30, 30), anchor="lm")
    d.text((40, 230), "Préfecture de la Seine-Saint-Denis", font=font(46, True), fill=(20, 20, 20))
    d.text((40, 330), "Prendre un rendez-vous", font=font(52, True), fill=(20, 20, 20))
    y = 460
    d.rectangle([40, y - 20, 50, y + 60 * len(lines)], fill=(200, 0, 0))
    for line in lines:
        d.text((80, y), line, font=font(38), fill=(20, 20, 20))
        y += 60
    if consulted:
        d.text((40, y + 80), consulted, font=font(30), fill=(90, 90, 90))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def make_case(tmp_path: Path, shots: dict[int, dict], url: str = URL) -> Path:
    """The default case, its captures rendered by ``screenshot`` (overrides per attempt index)."""
    data = default_case()
    data["prefecture"]["url_rendez_vous"] = url
    folder = tmp_path / "affaire"
    for i, t in enumerate(data["tentatives"]):
        clock = t["date"][-5:]
        screenshot(folder / t["capture"], **{"clock": clock, **shots.get(i, {})})
    return write_case(folder, data)


def codes(report_findings, code: str) -> list:
    return [f for f in report_findings if f.code == code]


@pytest.fixture(scope="module")
def read_case_once(tmp_path_factory):
    """One case with one capture of each kind, read once for all the assertions below."""
    os.environ["REFERE_LECTURE"] = "1"
    try:
        path = make_case(tmp_path_factory.mktemp("lecture"), {
            1: {"lines": ("Votre rendez-vous est confirmé.", "Merci de vous présenter à l'accueil.",
                          "Munissez-vous de votre convocation.")},
            2: {"url": "https://www.val-de-marne.gouv.fr/booking/create/4001/1"},
            3: {"clock": "14:37"},
            4: {"blur": 9},
            5: {"consulted": "Page consultée le 14/03/2025 à 08:40"},
        })
        case = load(path)
        return path, case, lecture.read_case(case)
    finally:
        os.environ["REFERE_LECTURE"] = "0"


def test_no_slot_page_is_read(read_case_once):
    _, case, readings = read_case_once
    r = readings.par_capture["captures/c00.png"]
    assert r.message == lecture.CATALOGUE[0]
    assert r.heure == "08:55"
    assert r.adresse and lecture.same_address(r.adresse, URL)
    assert not r.floue


def test_each_finding(read_case_once):
    _, case, readings = read_case_once
    found = lecture.findings(case, readings)
    missing = codes(found, "capture-sans-message")
    assert [f.champ for f in missing] == ["tentatives[1].capture"]
    address = codes(found, "adresse-capture-discordante")
    assert len(address) == 1
    assert "val-de-marne.gouv.fr/booking/create/4001/1" in address[0].message  # seen, quoted
    assert URL in address[0].message  # declared, quoted
    assert "tentative 3" in address[0].message
    clock = codes(found, "heure-capture-discordante")
    assert [f.champ for f in clock] == ["tentatives[3].date"]
    assert "14\u00a0h\u00a037" in clock[0].message
    blurred = codes(found, "capture-floue")
    assert [f.champ for f in blurred] == ["tentatives[4].capture"]
    assert all(f.niveau == rules.AVERTISSEMENT for f in found)
    assert len(found) == 4


def test_dated_page_is_compared_on_date_and_time(read_case_once):
    _, case, readings = read_case_once
    r = readings.par_capture["captures/c05.png"]
    assert (r.date, r.heure) == ("2025-03-14", "08:40")  # matches the declared 2025-03-14 08:40


def test_summary_needs_every_capture(read_case_once, tmp_path):
    _, _, readings = read_case_once
    assert lecture.summary(readings)["message_commun"] == ""  # one capture shows a confirmation
    path = make_case(tmp_path, {})
    case = load(path)
    all_ok = lecture.read_case(case)
    s = lecture.summary(all_ok)
    assert (s["message_commun"], s["captures_lues"]) == (lecture.CATALOGUE[0], 10)
    assert s["phrase"] == ("Chacune des 10 captures d'écran produites affiche le message « Il n'existe plus de "
                           "plage horaire libre pour votre demande de rendez-vous. Veuillez recommencer "
                           "ultérieurement ».")
    assert lecture.findings(case, all_ok) == []


def test_cache_reads_nothing_again(tmp_path, monkeypatch):
    path = make_case(tmp_path, {})
    case = load(path)
    first = lecture.read_case(case)
    cached = sorted((path.parent / ".refere" / "lecture").glob("*.json"))
    assert len(cached) == 10
    assert not list((path.parent / "captures").glob("*.json"))  # never inside captures/
    data = json.loads(cached[0].read_text("utf-8"))
    assert data["version"] == lecture.VERSION

    def no_ocr(_):
        raise AssertionError("capture read again")

    monkeypatch.setattr(lecture, "ocr_image", no_ocr)
    again = lecture.read_case(case)
    assert {k: (r.message, r.adresse, r.heure) for k, r in again.par_capture.items()} == \
           {k: (r.message, r.adresse, r.heure) for k, r in first.par_capture.items()}


def test_without_tesseract_check_says_so_once(tmp_path, monkeypatch, capsys):
    path = make_case(tmp_path, {})
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setattr(lecture, "_said_once", set())
    case = load(path)
    report = rules.check(case)
    rules.check(case)
    err = capsys.readouterr().err
    assert err.count("Captures non lues") == 1
    assert not [f for f in report.findings if f.code.startswith(("capture-", "adresse-", "heure-"))]
    assert report.figures.tentatives == 10  # everything else works


def test_check_and_build_record_the_reading(tmp_path, run):
    path = make_case(tmp_path, {2: {"clock": "17:02"}})
    res = run("check", path, "--json")
    doc = json.loads(res.output)
    assert [c["code"] for c in doc["constats"] if c["code"] == "heure-capture-discordante"]
    res = run("build", path, "--force")
    assert res.exit_code == 0, res.output
    inv = json.loads((path.parent / "dossier" / "inventaire.json").read_text("utf-8"))
    shots = inv["lecture"]["captures"]
    assert len(shots) == 10
    third = next(s for s in shots if s["capture"] == "captures/c02.png")
    assert third["heure"] == "17:02" and third["message"] == lecture.CATALOGUE[0]
    assert "plage horaire libre" in third["extrait"]


def test_tolerant_matching():
    # OCR errors, lost accents and a line break inside the message still match.
    seen = "Il n'exlste plus de plage horaire libre pour votre\ndemande de rendez-vous. Veuillez recommencer ulterieurement."
    assert lecture.find_message(seen) == lecture.CATALOGUE[0]
    assert lecture.find_message("AUCUN CRENEAU DISPONIBLE") == "Aucun créneau disponible"
    assert lecture.find_message("Une erreur technique est survenue.") == "Une erreur technique est survenue"
    assert lecture.find_message("Votre rendez-vous est confirmé") is None


def test_address_comparison():
    assert lecture.same_address("val-de-marne.gouv.fr", "https://www.val-de-marne.gouv.fr/booking/create/1187/1")
    assert lecture.same_address("https://www.val-de-mame.gouv.fr/booking/create/1187/1",
                                "https://www.val-de-marne.gouv.fr/booking/create/1187/1")
    assert lecture.same_address("val-de-marne.gouv.fr/booking/cre…", "https://www.val-de-marne.gouv.fr/booking/create/1187/1")
    assert not lecture.same_address("val-d-oise.gouv.fr/booking/create/1187/1",
                                    "https://www.val-de-marne.gouv.fr/booking/create/1187/1")
    assert not lecture.same_address("www.val-de-marne.gouv.fr/booking/create/4001/1",
                                    "https://www.val-de-marne.gouv.fr/booking/create/1187/1")


def test_bundled_example_is_read(example):
    """The example's captures: message, clock, date and address, all ten; their address
    (…/create/40DD/1) is not the declared one (…/create/1187/1), which check reports."""
    case = load(example)
    readings = lecture.read_case(case)
    assert len(readings.par_capture) == 10
    for t in case.tentatives:
        r = readings.par_capture[t.capture.written]
        assert r.message == lecture.CATALOGUE[0], r.ocr.texte
        assert r.heure == f"{t.date:%H:%M}"
        assert r.date == t.date.date().isoformat()
        assert r.adresse == f"https://www.val-de-marne.gouv.fr/booking/create/40{t.date.day:02d}/1"
    found = lecture.findings(case, readings)
    assert [f.code for f in found] == ["adresse-capture-discordante"]
    assert lecture.summary(readings)["message_commun"].startswith("Il n'existe plus de plage horaire libre")


def test_a_reading_that_times_out_is_not_a_failure(tmp_path, monkeypatch):
    path = make_case(tmp_path, {})
    monkeypatch.setattr(lecture, "TIMEOUT", 0.001)  # tesseract is killed at once
    monkeypatch.setattr(lecture, "_failed", set())
    case = load(path)
    readings = lecture.read_case(case)
    assert all(r.ocr is None for r in readings.par_capture.values())
    assert lecture.findings(case, readings) == []
    assert not (path.parent / ".refere" / "lecture").exists() or \
        not list((path.parent / ".refere" / "lecture").glob("*.json"))  # a failure is not cached
    assert lecture.inventaire(readings)["captures"][0]["lue"] is False


def test_moment_on_screen():
    def ocr(*lines):
        return lecture.Ocr([{"texte": t, "haut": h, "confiance": 90.0} for t, h in lines], 20, 90.0)

    # A date and time in the page win over the status-bar clock.
    assert lecture.find_moment(ocr(("09:10 4G", 0.01), ("Page consultée le lundi 1er septembre 2025 à 08:52", 0.3))) \
        == ("2025-09-01", "08:52")
    # A date in the page's content is not the moment of the capture.
    assert lecture.find_moment(ocr(("09:10", 0.01), ("Titre valable jusqu'au 15/11/2025", 0.3))) == (None, "09:10")
    # A number in the address is no clock.
    assert lecture.find_moment(ocr(("val-de-marne.gouv.fr/rdv/12:30", 0.05),)) == (None, None)
