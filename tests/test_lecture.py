"""Reading captures: real screenshots rendered with DejaVu text, read by the real Tesseract."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from refere.preuves import rules, lecture
from refere.affaire.loader import load

from refere.errors import RefereError

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
def reading_on(monkeypatch, tmp_path):
    monkeypatch.setenv("REFERE_LECTURE", "1")
    # Each test its own user cache: a capture read by another test is not read from there.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-utilisateur"))


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def screenshot(path: Path, clock: str = "08:55", url: str = URL, lines=NO_SLOT, blur: float = 0,
               consulted: str | None = None, wrap: int = 1, pdf: bool = False,
               bar: list[str] | None = None) -> Path:
    """A phone screenshot, 1080×2400: status bar with a clock, address bar, a préfecture page.
    ``wrap``: the address over that many lines, cut after « - », « / » or « . » as phones do;
    0: the host alone. ``pdf``: saved as a one-page PDF (a capture « imprimée en PDF »).
    ``bar``: the address bar's lines exactly, after a padlock icon (a phone cutting anywhere)."""
    img = Image.new("RGB", (1080, 2400), (246, 246, 246))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 1080, 70], fill=(20, 20, 20))
    d.text((40, 35), clock, font=font(34, True), fill="white", anchor="lm")
    d.text((880, 35), "4G  87 %", font=font(30), fill="white", anchor="lm")
    shown = bar or _wrapped(url, wrap)
    d.rounded_rectangle([24, 90, 1056, 110 + 50 * len(shown)], radius=36, fill=(225, 225, 230))
    if bar:
        d.rectangle([50, 112, 74, 138], outline=(30, 30, 30), width=3)  # the padlock, read « 0 » or « [ »
    for k, part in enumerate(shown):
        d.text((95 if bar else 60, 125 + 50 * k), part, font=font(32), fill=(30, 30, 30), anchor="lm")
    top = 150 + 50 * len(shown)
    d.text((40, top), "Préfecture de la Seine-Saint-Denis", font=font(46, True), fill=(20, 20, 20))
    d.text((40, top + 100), "Prendre un rendez-vous", font=font(52, True), fill=(20, 20, 20))
    y = top + 230
    d.rectangle([40, y - 20, 50, y + 60 * len(lines)], fill=(200, 0, 0))
    for line in lines:
        d.text((80, y), line, font=font(38), fill=(20, 20, 20))
        y += 60
    if consulted:
        d.text((40, y + 80), consulted, font=font(30), fill=(90, 90, 90))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    path.parent.mkdir(parents=True, exist_ok=True)
    if pdf:
        img.save(path, "PDF", resolution=300)
    else:
        img.save(path)
    return path


def _wrapped(url: str, lines: int) -> list[str]:
    bare = url.removeprefix("https://")
    if lines == 0:
        return [bare.split("/")[0].removeprefix("www.")]
    if lines == 1:
        return [bare[:52]]
    out, cur = [], ""
    for ch in bare:
        cur += ch
        if ch in "-/." and len(cur) >= len(bare) / lines * 0.8 and len(out) < lines - 1:
            out.append(cur)
            cur = ""
    return out + [cur]


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


SLOTS = ("Créneaux disponibles le lundi 17 mars :", "09:00    09:20    10:40    14:00",
         "Sélectionnez un horaire puis « Étape suivante ».")


@pytest.fixture(scope="module")
def read_case_once(tmp_path_factory):
    """One case with one capture of each kind, read once for all the assertions below."""
    os.environ["REFERE_LECTURE"] = "1"
    try:
        path = make_case(tmp_path_factory.mktemp("lecture"), {
            1: {"lines": ("Votre rendez-vous est confirmé.", "Merci de vous présenter à l'accueil.",
                          "Munissez-vous de votre convocation.")},
            2: {"url": "https://www.val-de-marne.gouv.fr/booking/create/4001/1", "wrap": 2},
            3: {"clock": "14:37"},
            4: {"blur": 9},
            5: {"consulted": "Page consultée le 14/03/2025 à 08:40"},
            6: {"wrap": 2},
            7: {"wrap": 3},
            8: {"wrap": 0},
            9: {"lines": SLOTS},
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
    assert r.adresse == URL.removeprefix("https://")
    assert not r.floue and not r.pas_une_page


def test_wrapped_and_host_only_addresses_are_read_whole(read_case_once):
    _, case, readings = read_case_once
    for name in ("captures/c06.png", "captures/c07.png"):
        assert readings.par_capture[name].adresse == URL.removeprefix("https://"), name
    assert readings.par_capture["captures/c08.png"].adresse == "seine-saint-denis.gouv.fr"


def test_each_finding(read_case_once):
    _, case, readings = read_case_once
    found = lecture.findings(case, readings)
    missing = codes(found, "capture-sans-message")
    assert [f.champ for f in missing] == ["tentatives[1].capture"]
    address = codes(found, "adresse-capture-discordante")
    assert len(address) == 1
    # The address read is quoted whole, though the phone wrapped it over two lines.
    assert "« www.val-de-marne.gouv.fr/booking/create/4001/1 »" in address[0].message
    assert URL in address[0].message  # declared, quoted
    assert "(tentative 3)" in address[0].message
    clock = codes(found, "heure-capture-discordante")
    assert [f.champ for f in clock] == ["tentatives[3].date"]
    assert "14\u00a0h\u00a037" in clock[0].message
    blurred = codes(found, "capture-floue")
    assert [f.champ for f in blurred] == ["tentatives[4].capture"]
    assert "est floue et illisible (aucun mot lu)" in blurred[0].message or \
        "est floue, une partie du texte est illisible (" in blurred[0].message
    assert "mot(s)" not in blurred[0].message
    slots = codes(found, "capture-creneaux-offerts")
    assert [f.champ for f in slots] == ["tentatives[9].capture"]
    assert "contre le demandeur" in slots[0].message
    assert all(f.niveau == rules.AVERTISSEMENT for f in found)
    assert len(found) == 5


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


def test_cache_lives_in_the_users_cache_and_reads_nothing_again(tmp_path, monkeypatch, capsys):
    path = make_case(tmp_path, {i: {"consulted": f"Référence du dossier : CACHE-{i}"} for i in range(10)})
    case = load(path)
    first = lecture.read_case(case, label="affaire")
    # Not a terminal: one line for the case, never silence.
    assert "Lecture des captures (affaire) : 10 capture(s) lue(s) en " in capsys.readouterr().err
    cached = sorted(lecture.cache_folder().glob("*.json"))
    assert {p.stem for p in cached} >= {r.sha256 for r in first.par_capture.values()}
    assert str(lecture.cache_folder()).startswith(os.environ["XDG_CACHE_HOME"])
    assert not (path.parent / ".refere").exists()  # nothing written in the case folder
    data = json.loads((lecture.cache_folder() / f"{first.par_capture['captures/c00.png'].sha256}.json").read_text())
    assert data["version"] == lecture.VERSION

    def no_ocr(*_a, **_k):
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


def test_a_poisoned_cache_in_the_case_folder_is_never_believed(tmp_path, run):
    """Captures that offer slots, shipped with readings that say « no slot »: the court is told
    what the captures show, not what the folder says they show."""
    path = make_case(tmp_path, {i: {"lines": SLOTS} for i in range(10)})
    case = load(path)
    from refere.pieces.probe import probe

    for old in (path.parent / ".refere" / "lecture", path.parent / ".refere" / "lecture" / "v2"):
        old.mkdir(parents=True, exist_ok=True)
    for t in case.tentatives:
        sha = probe(t.capture).sha256
        fake = {"langues": "fra+eng", "sha256": sha, "mots": 40, "confiance": 95.0, "images": 0.0,
                "nettete": 0.9, "lignes": [{"texte": lecture.CATALOGUE[0], "haut": 0.3, "confiance": 95.0}]}
        for v in (1, 2):
            (path.parent / ".refere" / "lecture" / f"{sha}.json").write_text(json.dumps({**fake, "version": v}))
    res = run("check", path, "--json")
    doc = json.loads(res.stdout)
    assert [c["champ"] for c in doc["constats"] if c["code"] == "capture-creneaux-offerts"] == \
        [f"tentatives[{i}].capture" for i in range(10)]
    s = lecture.summary(lecture.read_case(load(path)))
    assert (s["message_commun"], s["phrase"]) == ("", "")


def test_cache_entries_are_read_as_plain_files_only(tmp_path):
    """A FIFO never hangs, a link is not followed, an oversized or mistyped entry is read again."""
    where = lecture.cache_folder()
    where.mkdir(parents=True, exist_ok=True)
    good = {"version": lecture.VERSION, "mots": 40, "confiance": 95.0, "images": 0.0, "nettete": 0.9,
            "lignes": [{"texte": lecture.CATALOGUE[0], "haut": 0.3, "confiance": 95.0}]}

    def entry(sha: str, data=None, raw: bytes | None = None) -> Path:
        p = where / f"{sha}.json"
        p.write_bytes(raw if raw is not None else json.dumps({**good, "sha256": sha, **(data or {})}).encode())
        return p

    entry("a" * 64)
    assert lecture.cache_get("a" * 64).lignes[0]["texte"] == lecture.CATALOGUE[0]  # the sound one
    os.mkfifo(where / f"{'b' * 64}.json")
    assert lecture.cache_get("b" * 64) is None
    target = entry("c" * 64)
    (where / f"{'d' * 64}.json").symlink_to(target)
    assert lecture.cache_get("d" * 64) is None
    (where / f"{'e' * 64}.json").symlink_to("/dev/zero")
    assert lecture.cache_get("e" * 64) is None
    entry("f" * 64, {"pad": "x" * 600_000})
    assert lecture.cache_get("f" * 64) is None
    for k, bad in enumerate(({"mots": "40"}, {"mots": True}, {"confiance": float("nan")}, {"lignes": {"a": 1}},
                             {"lignes": [{"texte": 3, "haut": 0.3, "confiance": 95}]},
                             {"lignes": [{"texte": "x", "haut": 7, "confiance": 95}]},
                             {"lignes": [{"texte": "x" * 100_000, "haut": 0.3, "confiance": 95}]},
                             {"echec": "peut-etre"}, {"version": 1})):
        sha = f"{k:064d}"
        entry(sha, bad)
        assert lecture.cache_get(sha) is None, bad
    entry("9" * 64, raw=b"[" * 100_000)  # deeply nested JSON
    assert lecture.cache_get("9" * 64) is None
    entry("8" * 64, {"sha256": "7" * 64})  # an entry copied under another capture's name
    assert lecture.cache_get("8" * 64) is None


def test_a_fifo_in_the_cache_reads_the_capture_again(tmp_path):
    path = make_case(tmp_path, {})
    case = load(path)
    from refere.pieces.probe import probe

    shas = {probe(t.capture).sha256 for t in case.tentatives}
    lecture.cache_folder().mkdir(parents=True, exist_ok=True)
    for sha in shas:
        p = lecture.cache_folder() / f"{sha}.json"
        p.unlink(missing_ok=True)
        os.mkfifo(p)
    readings = lecture.read_case(case)
    assert all(r.message == lecture.CATALOGUE[0] for r in readings.par_capture.values())


def test_symlinked_case_cache_folder_is_not_written(tmp_path):
    path = make_case(tmp_path, {})
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    (path.parent / ".refere").symlink_to(outside, target_is_directory=True)
    lecture.read_case(load(path))
    assert list(outside.rglob("*")) == []


def test_backslash_in_a_capture_path_is_refused(tmp_path):
    data = default_case()
    data["tentatives"][0]["capture"] = "captures\\c00.png"
    path = write_case(tmp_path / "affaire", data)
    (path.parent / "captures\\c00.png").write_bytes((path.parent / "captures" / "c01.png").read_bytes())
    with pytest.raises(RefereError) as err:
        load(path)
    assert "« \\ »" in str(err.value) and "captures/c00.png" in str(err.value)


def test_check_and_build_record_the_reading(tmp_path, run):
    path = make_case(tmp_path, {2: {"clock": "17:02"}})
    res = run("check", path, "--json", "-j", "2")
    doc = json.loads(res.stdout)
    assert [c["code"] for c in doc["constats"] if c["code"] == "heure-capture-discordante"]
    res = run("build", path, "--force")
    assert res.exit_code == 0, res.output
    inv = json.loads((path.parent / "dossier" / "inventaire.json").read_text("utf-8"))
    shots = inv["lecture"]["captures"]
    assert len(shots) == 10
    third = next(s for s in shots if s["capture"] == "captures/c02.png")
    assert third["heure"] == "17:02" and third["message"] == lecture.CATALOGUE[0]
    assert "plage horaire libre" in third["extrait"]


def test_pdf_capture_is_read(tmp_path):
    data = default_case()
    data["tentatives"][0]["capture"] = "captures/c00.pdf"
    folder = tmp_path / "affaire"
    screenshot(folder / "captures" / "c00.pdf", clock="08:55", pdf=True)
    for i, t in enumerate(data["tentatives"][1:], 1):
        screenshot(folder / t["capture"], clock=t["date"][-5:])
    case = load(write_case(folder, data))
    readings = lecture.read_case(case)
    r = readings.par_capture["captures/c00.pdf"]
    assert r.ocr is not None and r.message == lecture.CATALOGUE[0]
    assert r.adresse == URL.removeprefix("https://")
    assert lecture.summary(readings)["captures_lues"] == 10


def _findings_of_one_capture(tmp_path, img):
    """What reading says of a case whose first capture is ``img``."""
    path = make_case(tmp_path, {})
    img.save(path.parent / "captures" / "c00.png")
    case = load(path)
    return lecture.findings(case, lecture.read_case(case))


def test_sharp_photo_is_not_a_page_nor_blurred(tmp_path):
    photo = Image.merge("RGB", [Image.effect_noise((400, 300), 60 + 10 * c).resize((4000, 3000)) for c in range(3)])
    found = _findings_of_one_capture(tmp_path, photo)
    assert [(f.code, f.champ) for f in found] == [("capture-pas-une-page", "tentatives[0].capture")]
    assert "ne ressemble pas à une page de rendez-vous" in found[0].message


def test_tolerant_matching():
    # OCR errors, lost accents and a line break inside the message still match.
    seen = "Il n'exlste plus de plage horaire libre pour votre\ndemande de rendez-vous. Veuillez recommencer ulterieurement."
    assert lecture.find_message(seen) == lecture.CATALOGUE[0]
    assert lecture.find_message("AUCUN CRENEAU DISPONIBLE") == "Aucun créneau disponible"
    assert lecture.find_message("Une erreur est survenue. Veuillez reessayer ulterieurement.") == \
        "Une erreur est survenue. Veuillez réessayer ultérieurement."
    assert lecture.find_message("Nous n'avons plus de disponibilite pour le moment.") == \
        "Nous n'avons plus de disponibilité pour le moment"
    assert lecture.find_message("Le nombre maximal de rendez-vous est atteint pour cette demarche") == \
        "Le nombre maximal de rendez-vous est atteint"
    assert lecture.find_message("Votre rendez-vous est confirmé") is None
    # The wordings of « everything is booked », read with OCR noise.
    assert lecture.find_message("Tous Ies créneaux sont actuel1ement reserves. De nouvelles disponibilites "
                                "seront ouvertes prochainement.") == "Tous les créneaux sont actuellement réservés"
    assert lecture.find_message("tous les rendez-vous sont réservés") == "Tous les rendez-vous sont réservés"
    assert lecture.find_message("Plus aucun rendez vous disponib1e.") == "Plus aucun rendez-vous disponible"


def test_address_comparison():
    declared = "https://www.val-de-marne.gouv.fr/booking/create/1187/1"
    assert lecture.ecran.compare_address("val-de-marne.gouv.fr", declared) == "meme"
    assert lecture.ecran.compare_address("https://www.val-de-mame.gouv.fr/booking/create/1187/1", declared) == "meme"
    assert lecture.ecran.compare_address("wwwval-de-marne.gouvir/booking/create/1187/1", declared) == "meme"
    assert lecture.ecran.compare_address("val-de-marne.gouv.fr/booking/cre…", declared) == "meme"
    assert lecture.ecran.compare_address("val-d-oise.gouv.fr/booking/create/1187/1", declared) == "autre"
    assert lecture.ecran.compare_address("www.val-de-marne.gouv.fr/booking/create/4001/1", declared) == "autre"
    # « loire » and « loiret »: one letter apart, OCR could make either: never « the same ».
    assert lecture.ecran.compare_address("www.loiret.gouv.fr/booking/create/1/1",
                                         "https://www.loire.gouv.fr/booking/create/1/1") == "incertain"


def test_wrapped_address_lines_are_joined():
    def lines(*texts):
        return [{"texte": t, "haut": 0.01 + 0.02 * k, "confiance": 90.0} for k, t in enumerate(texts)]

    find = lecture.ecran.find_address
    assert find(lines("08:50 4G", "[ www.seine-saint-", "denis.gouv.fr/", "booking/create/4010/1", "RÉPUBLIQUE"))[0] \
        == "www.seine-saint-denis.gouv.fr/booking/create/4010/1"
    assert find(lines("0 administration-etrangers-en-", "france.interieur.gouv.fr", "REPUBLIQUE"))[0] \
        == "administration-etrangers-en-france.interieur.gouv.fr"
    assert find(lines("[ www.seine", "Préfecture"))[0] is None  # a fragment is no address


def test_a_100_kb_ocr_line_is_bounded():
    line = "a-" * 50_000 + ".gouv.fr " + "www." * 10_000
    ocr = lecture.Ocr([{"texte": line[:lecture.ecran.LINE_MAX], "haut": 0.01, "confiance": 90.0},
                       {"texte": "a." * 50_000, "haut": 0.5, "confiance": 90.0}], 20, 90.0, 0.0, 0.8)
    r = lecture.interpret("captures/c00.png", "0" * 64, ocr)
    assert r.message is None and r.adresse is None
    assert lecture.ecran.find_address([{"texte": "a-" * 50_000, "haut": 0.01, "confiance": 90.0}]) == (None, 0.0)


def test_bundled_example_is_read(example):
    """The example's captures: message, clock, date and address, all ten; their address
    (…/create/40DD/1) is not the declared one (…/create/4025/1) but for the last, which check reports."""
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
    assert "9 captures montrent une autre adresse" in found[0].message
    assert lecture.summary(readings)["message_commun"].startswith("Il n'existe plus de plage horaire libre")


def test_a_reading_that_times_out_is_said_and_remembered(tmp_path, monkeypatch):
    path = make_case(tmp_path, {})
    monkeypatch.setattr(lecture, "TIMEOUT", 0.001)  # tesseract is killed at once
    monkeypatch.setattr(lecture, "_failed", {})
    case = load(path)
    readings = lecture.read_case(case)
    assert {r.non_lue for r in readings.par_capture.values()} == {"delai"}
    found = lecture.findings(case, readings)
    assert [f.code for f in found] == ["capture-non-lue"] * 10
    assert "Capture non lue (lecture trop longue)" in found[0].message
    assert lecture.summary(readings) == {"message_commun": "", "captures_lues": 0, "phrase": ""}
    assert lecture.inventaire(readings)["captures"][0]["lue"] is False
    # Remembered: the next run does not wait for Tesseract again.
    monkeypatch.setattr(lecture, "_failed", {})
    monkeypatch.setattr(lecture, "ocr_image", lambda *a, **k: pytest.fail("capture read again"))
    again = lecture.read_case(case)
    assert {r.non_lue for r in again.par_capture.values()} == {"delai"}


def test_a_case_out_of_reading_budget_is_said_and_read_next_time(tmp_path, monkeypatch):
    path = make_case(tmp_path, {})
    monkeypatch.setattr(lecture, "BUDGET", 0)
    case = load(path)
    readings = lecture.read_case(case)
    assert {r.non_lue for r in readings.par_capture.values()} == {"budget"}
    assert [f.code for f in lecture.findings(case, readings)] == ["capture-non-lue"] * 10
    monkeypatch.setattr(lecture, "BUDGET", 600)
    assert all(r.message for r in lecture.read_case(case).par_capture.values())


def test_moment_on_screen():
    def ocr(*lines):
        return [{"texte": t, "haut": h, "confiance": 90.0} for t, h in lines]

    # A date and time in the page win over the status-bar clock.
    assert lecture.find_moment(ocr(("09:10 4G", 0.01), ("Page consultée le lundi 1er septembre 2025 à 08:52", 0.3))) \
        == ("2025-09-01", "08:52")
    # A date in the page's content is not the moment of the capture.
    assert lecture.find_moment(ocr(("09:10", 0.01), ("Titre valable jusqu'au 15/11/2025", 0.3))) == (None, "09:10")
    # A number in the address is no clock.
    assert lecture.find_moment(ocr(("val-de-marne.gouv.fr/rdv/12:30", 0.05),)) == (None, None)


def test_slots_on_offer_are_told_from_opening_hours():
    def lines(*texts):
        return [{"texte": t, "haut": 0.5, "confiance": 90.0} for t in texts]

    assert lecture.ecran.find_slots(lines("09:00    09:20    10:40    14:00")) == "09:00 09:20 10:40 14:00"
    assert lecture.ecran.find_slots(lines("Sélectionnez un horaire puis « Étape suivante »")) == "Sélectionnez un horaire"
    assert lecture.ecran.find_slots(lines("Accueil : 09:00 - 12:00 / 13:30 - 16:00",
                                          "Page consultée le 3 mars 2025 à 08:52", "Mise à jour à 14:00")) is None
    assert lecture.ecran.find_slots(lines("Étape 2 sur 5 : choix du créneau", "Aucun créneau disponible")) is None


def _identity_card(path: Path, name: str) -> Path:
    img = Image.new("RGB", (1000, 630), (235, 240, 250))
    d = ImageDraw.Draw(img)
    d.text((40, 30), "RÉPUBLIQUE FRANÇAISE", font=font(36, True), fill=(20, 20, 60))
    d.text((40, 110), "CARTE NATIONALE D'IDENTITÉ", font=font(30), fill=(20, 20, 60))
    d.text((40, 220), f"Nom : {name}", font=font(40, True), fill=(10, 10, 10))
    d.text((40, 300), "Prénom(s) : Aïssatou", font=font(36), fill=(10, 10, 10))
    d.text((40, 380), "Né(e) le : 12.04.1991 à Conakry", font=font(32), fill=(10, 10, 10))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


@pytest.mark.parametrize("name, warned", [("NGUYEN", True), ("DIALLO", False)])
def test_identity_piece_in_another_persons_name(tmp_path, name, warned):
    from refere.preuves import titulaire

    data = default_case()
    data["pieces"][0]["fichier"] = "pieces/identite.png"
    folder = tmp_path / "affaire"
    _identity_card(folder / "pieces" / "identite.png", name)
    case = load(write_case(folder, data))
    found = titulaire.findings(case)
    if warned:
        assert [(f.code, f.champ) for f in found] == [("piece-autre-nom", "pieces[0]")]
        assert "semble au nom de NGUYEN, pas de Mme DIALLO" in found[0].message
    else:
        assert found == []


def test_other_name_in_a_pieces_text():
    other = lecture_titulaire().other_name
    assert other("P<GINNGUYEN<<THI<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "Diallo") == "NGUYEN"
    assert other("Nom / Surname\nNGUYEN\nPrénoms : Thi", "Diallo") == "NGUYEN"
    assert other("NOM DE NAISSANCE : DlALLO\nPrénom : Aïssatou", "Diallo") is None  # OCR's l for I
    assert other("Attestation d'hébergement de Mme Diallo", "Diallo") is None
    assert other("Document page 1", "Diallo") is None  # nothing said: nothing warned


def lecture_titulaire():
    from refere.preuves import titulaire

    return titulaire


DECLARED_93 = "https://www.seine-saint-denis.gouv.fr/booking/create/9829/1"


def test_phone_bars_wrapped_anywhere_are_read_whole(tmp_path):
    # A phone cuts the address wherever the line is full: inside the path, inside the host.
    shots = {i: {"url": DECLARED_93} for i in range(10)}  # the others show the declared address
    shots.update({
        0: {"bar": ["https://www.seine-saint-denis.gouv.fr/bookin", "g/create/9829/1"]},
        1: {"bar": ["https://www.seine-saint-denis.go", "uv.fr/booking/create/9829/1"]},
        2: {"bar": ["https://www.seine-saint-denis.gouv.fr/bookin", "g/create/9830/1"]},
        3: {"bar": ["https://www.val-doise.gouv.fr/booking/create/", "11343/1"]},
    })
    path = make_case(tmp_path, shots, url=DECLARED_93)
    case = load(path)
    readings = lecture.read_case(case)
    seen = [readings.par_capture[f"captures/c0{i}.png"].adresse for i in range(4)]
    assert seen == ["https://www.seine-saint-denis.gouv.fr/booking/create/9829/1",
                    "https://www.seine-saint-denis.gouv.fr/booking/create/9829/1",
                    "https://www.seine-saint-denis.gouv.fr/booking/create/9830/1",
                    "https://www.val-doise.gouv.fr/booking/create/11343/1"]
    address = codes(lecture.findings(case, readings), "adresse-capture-discordante")
    assert len(address) == 1
    assert ("(tentative 3 : « https://www.seine-saint-denis.gouv.fr/booking/create/9830/1 » ; tentative 4 : "
            "« https://www.val-doise.gouv.fr/booking/create/11343/1 »)") in address[0].message


def _ocr(*texts, conf: float = 90.0, nettete: float | None = 0.78) -> lecture.Ocr:
    lines = [{"texte": t, "haut": 0.01 + 0.026 * k, "confiance": conf} for k, t in enumerate(texts)]
    lines += [{"texte": x, "haut": 0.3 + 0.03 * k, "confiance": 95.0} for k, x in enumerate(NO_SLOT)]
    return lecture.Ocr(lines, 40, 88.0, 0.0, nettete)


def _address_warnings(tmp_path, url: str, ocr: lecture.Ocr) -> list:
    case = load(make_case(tmp_path, {}, url=url))
    name = case.tentatives[0].capture.written
    readings = lecture.Readings({name: lecture.interpret(name, "0" * 64, ocr)})
    return codes(lecture.findings(case, readings), "adresse-capture-discordante")


def test_a_wrapped_bars_second_line_is_never_another_address(tmp_path):
    police = "https://www.prefecturedepolice.interieur.gouv.fr/demarches/rendez-vous/titres-sejour"
    anef = "https://administration-etrangers-en-france.interieur.gouv.fr/particuliers/#/"
    compare = lecture.ecran.compare_address
    # A fragment, the end of the declared host, confidently read: « incertain », no warning.
    assert compare("ouv.fr/demarches/rendez-vous/titres-sejour", police) == "incertain"
    assert compare("v.fr/demarches/rendez-vous/titres-sejour", police) == "incertain"
    assert compare("erieur.gouv.fr/particuliers/#/", anef) == "incertain"
    assert lecture.ecran.find_address(_ocr("09:00 4G", "0 https://www.prefecturedepolice.interieur.g",
                                           "ouv.fr/demarches/rendez-vous/titres-sejour").lignes)[0] == police
    assert lecture.ecran.find_address(_ocr("0 https://administration-etrangers-en-france.int",
                                           "erieur.gouv.fr/particuliers/#/").lignes)[0] == anef
    assert _address_warnings(tmp_path / "a", police, _ocr("ouv.fr/demarches/rendez-vous/titres-sejour")) == []


def test_a_crisp_other_address_warns_though_tesseract_doubts_the_token(tmp_path):
    # Tesseract gives a long address token a low confidence (6 on a crisp bar): a whole,
    # well-formed address on a sharp capture is trusted; on a blurred one it is not.
    bar = ("0 https://www.val-doise.gouv.fr/booking/create/", "11343/1")
    found = _address_warnings(tmp_path / "a", DECLARED_93, _ocr(*bar, conf=6.0))
    assert len(found) == 1
    assert "« https://www.val-doise.gouv.fr/booking/create/11343/1 »" in found[0].message
    assert "corrigez l'adresse déclarée" not in found[0].message
    assert _address_warnings(tmp_path / "b", DECLARED_93, _ocr(*bar, conf=6.0, nettete=0.3)) == []
    assert _address_warnings(tmp_path / "c", DECLARED_93, _ocr("val-do1se.gouv.fr/booking/cr", conf=6.0)) == []


def test_a_sharp_picture_without_text_is_not_a_page_not_blurred(tmp_path):
    # Flat colours, a gradient and shapes: soft edges, but no line of text to be blurred.
    img = Image.linear_gradient("L").resize((1080, 2400)).convert("RGB")
    d = ImageDraw.Draw(img)
    d.ellipse([100, 300, 900, 1100], fill=(200, 60, 60))
    d.ellipse([300, 1400, 1000, 2100], fill=(40, 120, 200))
    found = _findings_of_one_capture(tmp_path, img)
    assert [(f.code, f.champ) for f in found] == [("capture-pas-une-page", "tentatives[0].capture")]
    assert "(aucun mot lu)" in found[0].message


# --- the fourth attack (December): PDFium and Pillow bounded in a child process ----------------

def _with_fanout_capture(tmp_path: Path, sound_pdf: bool = True) -> Path:
    """Capture n° 1 is a PDF whose page PDFium cannot draw without exhausting memory; n° 2 a
    sound PDF capture, read after it."""
    import hostile

    data = default_case()
    data["tentatives"][0]["capture"] = "captures/c00.pdf"
    folder = tmp_path / "affaire"
    hostile.pdf_form_fanout(folder / "captures" / "c00.pdf")
    if sound_pdf:
        data["tentatives"][1]["capture"] = "captures/c01.pdf"
        screenshot(folder / "captures" / "c01.pdf", clock=data["tentatives"][1]["date"][-5:], pdf=True)
    for t in data["tentatives"][1 + sound_pdf:]:
        screenshot(folder / t["capture"], clock=t["date"][-5:])
    return write_case(folder, data)


def test_a_pdf_capture_exhausting_memory_is_not_read_and_the_next_one_is(tmp_path, monkeypatch):
    from refere import isolee

    # The cap reached within seconds (the time limit far away): the one right outcome is « memoire ».
    monkeypatch.setattr(isolee, "MEMORY", 512 << 20)
    monkeypatch.setattr(lecture, "TIMEOUT", 300)
    monkeypatch.setattr(lecture, "_failed", {})
    case = load(_with_fanout_capture(tmp_path))
    readings = lecture.read_case(case, jobs=1)
    hostile_one, sound = readings.par_capture["captures/c00.pdf"], readings.par_capture["captures/c01.pdf"]
    assert hostile_one.ocr is None and hostile_one.non_lue == "memoire"
    assert sound.ocr is not None and sound.message == lecture.CATALOGUE[0]
    found = [f for f in lecture.findings(case, readings) if f.code == "capture-non-lue"]
    assert [f.message.split(" : ")[0] for f in found] == [
        "Capture non lue (lecture arrêtée, le fichier demande trop de mémoire)"]
    assert "« captures/c00.pdf » (tentative 1)" in found[0].message
    # Remembered for those bytes only: the sound capture's entry is its reading.
    assert lecture.cache_get(hostile_one.sha256) == "memoire"
    assert isinstance(lecture.cache_get(sound.sha256), lecture.Ocr)


def test_a_titre_whose_text_layer_exhausts_memory_is_not_read_and_check_ends(tmp_path, monkeypatch, run):
    import hostile
    from refere.pieces.probe import probe
    from refere import isolee
    from refere.preuves import titulaire

    monkeypatch.setattr(isolee, "MEMORY", 512 << 20)
    monkeypatch.setattr(lecture, "TIMEOUT", 300)
    data = default_case()
    data["pieces"][0]["fichier"] = "pieces/titre.pdf"
    folder = tmp_path / "affaire"
    hostile.pdf_form_fanout(folder / "pieces" / "titre.pdf")
    case = load(make_case_with(folder, data))
    assert titulaire.findings(case) == []
    sha = probe(case.pieces[0].sources[0]).sha256
    assert lecture.cache_get(sha) == "memoire"


def make_case_with(folder: Path, data: dict) -> Path:
    for t in data["tentatives"]:
        screenshot(folder / t["capture"], clock=t["date"][-5:])
    return write_case(folder, data)


def test_a_capture_with_200000_text_chunks_is_read_like_the_same_pixels(tmp_path):
    import hostile

    path = make_case(tmp_path, {})
    capture = path.parent / "captures" / "c00.png"
    hostile.png_with_chunks(capture, capture, hostile.many_text_chunks())
    readings = lecture.read_case(load(path), jobs=1)
    r = readings.par_capture["captures/c00.png"]
    assert r.ocr is not None and r.message == lecture.CATALOGUE[0]


def test_sigterm_during_a_hostile_reading_stops_check_at_once(tmp_path):
    """The reading runs in a child: the signal kills it, check ends with 143 (the harness's
    timeout only keeps a regression from hanging the suite)."""
    import signal
    import subprocess
    import sys
    import time

    path = _with_fanout_capture(tmp_path, sound_pdf=False)
    env = {**os.environ, "REFERE_LECTURE_MEMOIRE_MO": "100000"}  # only the signal can end it
    proc = subprocess.Popen([sys.executable, "-m", "refere", "check", str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((tmp_path / "cache-utilisateur").rglob("lecture-*")):
            time.sleep(0.2)  # the sound captures are read (and cached) while the PDF is drawn
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, out
    entry = next((tmp_path / "cache-utilisateur").rglob("lecture-*"))
    shas = {p.stem for p in entry.glob("*.json")}
    from refere.pieces.probe import probe

    hostile_sha = probe(load(path).tentatives[0].capture).sha256
    assert hostile_sha not in shas  # a stop is no verdict on the file


def test_the_web_warm_up_survives_a_titre_exhausting_memory(tmp_path, monkeypatch):
    """`refere web` checks every case at start-up (the list, from the cache only): the hostile
    titre's text layer is extracted there too, in its bounded child; the other case is checked."""
    import hostile
    from conftest import copy_example
    from refere import isolee
    from refere.web import core, serve

    monkeypatch.setattr(isolee, "MEMORY", 512 << 20)
    monkeypatch.setattr(lecture, "TIMEOUT", 300)
    ws = tmp_path / "espace"
    copy_example(ws / "sain")
    hostile_case = copy_example(ws / "titre")
    hostile.pdf_form_fanout(hostile_case / "pieces" / "titre.pdf")  # the titre de séjour
    serve._warm(ws)
    hostile_sha = hashlib.sha256((hostile_case / "pieces" / "titre.pdf").read_bytes()).hexdigest()
    assert lecture.cache_get(hostile_sha) == "memoire"  # its text layer was tried, in its child
    assert core.status(ws / "sain")["state"] in (core.PRET, core.AVERT)
    assert core.status(ws / "titre")["state"] in (core.PRET, core.AVERT)


def test_a_reading_child_killed_from_outside_is_no_verdict_on_the_file(tmp_path, monkeypatch):
    """SIGKILL (the out-of-memory killer picks the biggest process, or a person) is not the file's
    doing: « tue », not remembered, and the next check reads the capture."""
    import signal

    import pytesseract
    from refere import isolee

    with pytest.raises(isolee.Stopped) as stopped:
        isolee.run(signal.raise_signal, signal.SIGKILL, seconds=30)  # a real child, really killed
    assert stopped.value.reason == "tue"
    with pytest.raises(isolee.Stopped) as stopped:
        isolee.run(signal.raise_signal, signal.SIGSEGV, seconds=30)  # a crash on the file
    assert stopped.value.reason == "memoire"

    monkeypatch.setattr(lecture, "_failed", {})
    case = load(make_case(tmp_path, {}))
    real = lecture.ocr_image
    outcomes = iter([isolee.Stopped("tue"), pytesseract.TesseractError(-signal.SIGKILL, "")])

    def killed_once(path, kind, **kw):
        if path.name in ("c00.png", "c01.png"):
            raise next(outcomes)
        return real(path, kind, **kw)

    monkeypatch.setattr(lecture, "ocr_image", killed_once)
    readings = lecture.read_case(case, jobs=1)
    for name in ("captures/c00.png", "captures/c01.png"):
        r = readings.par_capture[name]
        assert r.ocr is None and r.non_lue == "tue" and lecture.cache_get(r.sha256) is None
    found = [f.message for f in lecture.findings(case, readings) if f.code == "capture-non-lue"]
    assert len(found) == 2 and all("lecture interrompue de l'extérieur" in m for m in found)
    monkeypatch.setattr(lecture, "ocr_image", real)
    again = lecture.read_case(case, jobs=1)
    assert all(again.par_capture[n].ocr is not None for n in ("captures/c00.png", "captures/c01.png"))


def test_a_reading_child_does_not_outlive_its_command(tmp_path):
    """The command killed outright (SIGKILL: no chance to kill its children): the reading child goes
    with it, instead of running on unbounded (it dies with the fork server, which exits with it)."""
    import signal
    import subprocess
    import sys
    import time

    script = ("import time; from refere import isolee; print('go', flush=True); "
              "isolee.run(time.sleep, 600, seconds=900)")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)

    def family(root: int) -> set[int]:
        parents = {}
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    parents[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        found, todo = set(), [root]
        while todo:
            parent = todo.pop()
            kids = [pid for pid, ppid in parents.items() if ppid == parent]
            found.update(kids)
            todo.extend(kids)
        return found

    children: set[int] = set()
    try:
        assert proc.stdout.readline().strip() == "go"
        deadline = time.monotonic() + 60
        while len(family(proc.pid)) < 2 and time.monotonic() < deadline:  # fork server + reading child
            time.sleep(0.1)
        children = family(proc.pid)
        assert len(children) >= 2
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in children if Path(f"/proc/{pid}").exists()
                and (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")]
        assert left == []
    finally:
        for pid in children | family(proc.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.kill()


def test_a_capture_replaced_after_its_check_is_not_read_nor_remembered(tmp_path):
    """The reading runs after the check, by the file's path: a capture replaced meanwhile (or a
    link turned to /dev/zero) was read and its reading remembered under the checked bytes' hash,
    false warnings kept by the cache (attack 14). Its bytes are now compared with the hash first."""
    import time

    shot = screenshot(tmp_path / "capture.png")
    checked = hashlib.sha256(shot.read_bytes()).hexdigest()
    Image.new("RGB", (1080, 2400), "white").save(shot)  # replaced after the check
    written, sha, ocr, why = lecture._read_one(("captures/capture.png", checked, shot, "png"), time.monotonic() + 60)
    assert (sha, ocr, why) == (checked, None, "budget")
    assert lecture.cache_get(checked) is None
    with pytest.raises(lecture.Changed):
        lecture.load_picture(shot, "png", checked)
    assert lecture.load_picture(shot, "png", hashlib.sha256(shot.read_bytes()).hexdigest())[0].size == (1080, 2400)


def test_a_sound_palette_png_with_transparency_says_nothing_in_english(tmp_path):
    """pngquant's output (a palette with transparency in bytes): read in a child process, Pillow's
    « Palette images with Transparency expressed in bytes… » reached the terminal (attack 38)."""
    import subprocess
    import sys

    from PIL import Image

    data = default_case(["2025-03-03 08:55", "2025-03-10 08:55", "2025-03-17 08:55"])
    case = write_case(tmp_path / "affaire", data)
    shot = case.parent / data["tentatives"][0]["capture"]
    screenshot(shot)
    Image.open(shot).convert("RGBA").quantize(colors=200).save(shot, transparency=bytes([255] * 197 + [128, 64, 0]))
    done = subprocess.run([sys.executable, "-m", "refere", "check", str(case)], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))
    assert "Warning" not in done.stdout + done.stderr and "Palette images" not in done.stdout + done.stderr, done.stderr
    assert "[capture-illisible]" not in done.stdout
