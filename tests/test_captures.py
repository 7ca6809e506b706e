import shutil
import unicodedata

import pytest
import yaml
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from conftest import default_case, make_jpeg, make_pdf, make_png, write_case
from refere.preuves.captures import scan
from refere.affaire.loader import load

NAMES = {
    "Screenshot_20250303-085512.png": "2025-03-03 08:55",
    "Screenshot_2025-03-04-00-05-12-123_com.android.chrome.jpg": "2025-03-04 00:05",
    "Capture d’écran 2025-03-05 à 08.41.02.png": "2025-03-05 08:41",
    "Capture d'écran 2025-03-06 à 23.59.59.png": "2025-03-06 23:59",
    "Screenshot 2025-03-07 at 08.30.00.png": "2025-03-07 08:30",
    "Screenshot 2025-03-08 at 9.15.00 PM.png": "2025-03-08 21:15",
    "Capture d'écran 2025-03-10 085512.png": "2025-03-10 08:55",
    "Capture d’écran 2025-03-11 001500.png": "2025-03-11 00:15",
    "Screenshot 2025-03-12 075959.png": "2025-03-12 07:59",
    "Screenshot from 2025-03-13 08-55-12.png": "2025-03-13 08:55",
    # Summer time: 30 March 2025 and after are UTC+2, the name is local time either way.
    "Screenshot_20250401-083000.png": "2025-04-01 08:30",
}


def _make(folder, name):
    if name.endswith(".jpg"):
        make_jpeg(folder / name, size=(60, 120))
    else:
        make_png(folder / name, size=(60, 120), text=name)


def test_every_name_pattern(tmp_path):
    folder = tmp_path / "captures"
    for name in NAMES:
        _make(folder, name)
    result = scan(folder, tmp_path)
    got = {s.written.removeprefix("captures/"): s.when.strftime("%Y-%m-%d %H:%M") for s in result.dated}
    assert got == {unicodedata.normalize("NFC", k): v for k, v in NAMES.items()}
    assert [s.when for s in result.dated] == sorted(s.when for s in result.dated)
    assert all(s.source == "nom du fichier" for s in result.dated)
    assert result.undated == []


def test_decomposed_unicode_names_as_macos_stores_them(tmp_path):
    folder = tmp_path / "captures"
    name = unicodedata.normalize("NFD", "Capture d’écran 2025-03-05 à 08.41.02.png")
    _make(folder, name)
    (shot,) = scan(folder, tmp_path).dated
    assert shot.when.strftime("%Y-%m-%d %H:%M") == "2025-03-05 08:41"
    assert shot.written == unicodedata.normalize("NFC", "captures/" + name)


def test_metadata_beats_the_name(tmp_path):
    folder = tmp_path / "captures"
    # EXIF with an explicit UTC offset: converted to Paris time.
    jpg = make_jpeg(folder / "Screenshot_20250101-000000.jpg", taken="2025:03:03 07:55:00")
    img = Image.open(jpg)
    exif = img.getexif()
    exif.get_ifd(0x8769)[36881] = "+00:00"
    img.save(jpg, exif=exif.tobytes())
    info = PngInfo()
    info.add_text("Creation Time", "2025:03:04 00:05:30")
    make_png(folder / "texte.png", size=(60, 120), pnginfo=info)
    xmp = PngInfo()
    xmp.add_itxt("XML:com.adobe.xmp", '<x:xmpmeta><rdf:Description photoshop:DateCreated="2025-03-05T08:10:00+01:00"/></x:xmpmeta>')
    make_png(folder / "xmp.png", size=(60, 120), pnginfo=xmp)
    exif_png = Image.Exif()
    exif_png.get_ifd(0x8769)[36867] = "2025:03:06 08:20:00"
    make_png(folder / "exif.png", size=(60, 120), exif=exif_png.tobytes())
    make_pdf(folder / "page.pdf", creation="D:20250307083000+01'00'")
    result = scan(folder, tmp_path)
    got = {s.written: (s.when.strftime("%Y-%m-%d %H:%M"), s.source) for s in result.dated}
    assert got["captures/Screenshot_20250101-000000.jpg"] == ("2025-03-03 08:55", "EXIF DateTimeOriginal")
    assert got["captures/texte.png"] == ("2025-03-04 00:05", "PNG « Creation Time »")
    assert got["captures/xmp.png"] == ("2025-03-05 08:10", "XMP photoshop:DateCreated")
    assert got["captures/exif.png"][0] == "2025-03-06 08:20"
    assert got["captures/page.pdf"] == ("2025-03-07 08:30", "PDF CreationDate")


@pytest.mark.parametrize("kind, written, paris", [
    ("xmp", "2025-03-05T07:10:00Z", "2025-03-05 08:10"),          # UTC: Paris is an hour ahead in March
    ("xmp", "2025-09-01T08:52:27+09:00", "2025-09-01 01:52"),     # a phone set to Tokyo time
    ("texte", "2025:09:14 08:52:27-03:00", "2025-09-14 13:52"),   # EXIF style, an offset glued on
    ("texte", "2025:09:14 08:52:27 +0000", "2025-09-14 10:52"),
    ("texte", "2025-09-14T08:52:27.250Z", "2025-09-14 10:52"),
    ("texte", "2025:09:14 08:52:27", "2025-09-14 08:52"),          # no offset: Paris time, as before
    ("texte", "2025-09-01T06:52:27z", "2025-09-01 08:52"),         # lower-case z (RFC 3339 allows it)
    ("texte", "2025-09-01 06:52:27 UTC", "2025-09-01 08:52"),
    ("texte", "2025-09-01 06:52:27 +0000 UTC", "2025-09-01 08:52"),  # Go's default
    ("texte", "2025-09-01 06:52:27 +0000 (UTC)", "2025-09-01 08:52"),
    ("texte", "2025-09-01T06:52:27,5+00:00", "2025-09-01 08:52"),  # decimals after a comma
    ("texte", "2025-09-01T06:52:27+00:60", None),                  # no clock has it: no date, never Paris time
    ("texte", "2025:09:01 06:52:27 heure du téléphone", None),     # unknown words after the time: the same
])
def test_a_date_with_its_clocks_offset_is_brought_to_paris_time(tmp_path, kind, written, paris):
    """An ISO or EXIF-style date followed by its offset, in a PNG's text or XMP: the offset was
    dropped, the clock's hour read as Paris's (attack 35)."""
    folder = tmp_path / "captures"
    info = PngInfo()
    if kind == "xmp":
        info.add_itxt("XML:com.adobe.xmp", f'<x:xmpmeta><rdf:Description xmp:CreateDate="{written}"/></x:xmpmeta>')
    else:
        info.add_text("Creation Time", written)
    make_png(folder / "capture.png", size=(60, 120), pnginfo=info)
    found = scan(folder, tmp_path)
    if paris is None:  # left undated (« sans date », its date asked for)
        assert found.dated == [], [s.when for s in found.dated]
        return
    [shot] = found.dated
    assert shot.when.strftime("%Y-%m-%d %H:%M") == paris


def test_ajouter_with_a_cited_capture_gone_adds_the_new_ones(run, tmp_path):
    """A capture the case cites was deleted or renamed: the new ones are added all the same (the
    missing one is « check »'s to report), never « Erreur interne » (attack 35)."""
    data = default_case(["2025-03-03 08:55", "2025-03-04 08:55"])
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-085512.png"
    data["tentatives"][1]["capture"] = "captures/Screenshot_20250304-085512.png"
    path = write_case(tmp_path / "affaire", data)
    folder = tmp_path / "affaire" / "captures"
    (folder / "Screenshot_20250304-085512.png").unlink()
    make_png(folder / "Screenshot_20250317-000512.png", size=(400, 200), text="nouvelle")
    res = run("captures", folder, "--ajouter", path)
    assert res.exit_code == 0, res.output
    assert "1 tentative ajoutée" in res.output and "Erreur interne" not in res.output
    written = yaml.safe_load(path.read_text("utf-8"))["tentatives"]
    assert [t["capture"] for t in written][-1] == "captures/Screenshot_20250317-000512.png"


def test_undatable_and_unsupported_listed_apart(tmp_path):
    folder = tmp_path / "captures"
    make_png(folder / "IMG_1234.png", size=(60, 120))
    (folder / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64)
    (folder / "notes.txt").write_text("hello")
    result = scan(folder, tmp_path)
    reasons = {s.written: s.source for s in result.undated}
    assert result.dated == []
    assert "aucune date" in reasons["captures/IMG_1234.png"]
    assert "HEIC" in reasons["captures/photo.heic"]
    assert "captures/notes.txt" in reasons


def test_duplicates_reported(tmp_path):
    folder = tmp_path / "captures"
    make_png(folder / "Screenshot_20250303-085512.png", size=(60, 120))
    shutil.copy(folder / "Screenshot_20250303-085512.png", folder / "Screenshot_20250310-085512.png")
    assert scan(folder, tmp_path).duplicates == [["captures/Screenshot_20250303-085512.png",
                                                  "captures/Screenshot_20250310-085512.png"]]


def test_command_prints_valid_yaml(run, tmp_path):
    folder = tmp_path / "captures"
    for name in list(NAMES)[:3]:
        _make(folder, name)
    make_png(folder / "IMG_1.png", size=(60, 120))
    res = run("captures", folder)
    assert res.exit_code == 0
    data = yaml.safe_load(res.output)
    assert [t["capture"] for t in data["tentatives"]] == [
        "captures/Screenshot_20250303-085512.png",
        "captures/Screenshot_2025-03-04-00-05-12-123_com.android.chrome.jpg",
        "captures/Capture d’écran 2025-03-05 à 08.41.02.png"]
    assert "IMG_1.png : aucune date" in res.output


def test_ajouter_merges_keeping_comments_and_no_duplicates(run, tmp_path):
    data = default_case(["2025-03-03 08:55"])
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-085512.png"
    path = write_case(tmp_path / "affaire", data)
    text = "# Dossier de Mme Diallo — ne pas effacer ce commentaire\n" + path.read_text("utf-8")
    text = text.replace("tentatives:", "tentatives:  # la liste des essais")
    path.write_text(text, "utf-8")
    folder = tmp_path / "affaire" / "captures"
    for name in ["Screenshot_20250310-085512.png", "Screenshot_20250317-000512.png"]:
        make_png(folder / name, size=(400, 200), text=name)  # two different screens
    res = run("captures", folder, "--ajouter", path)
    assert res.exit_code == 0, res.output
    assert "2 tentatives ajoutées" in res.output and "1 déjà présente." in res.output
    new = path.read_text("utf-8")
    assert new.startswith("# Dossier de Mme Diallo — ne pas effacer ce commentaire\n")
    assert "# la liste des essais" in new
    case = load(path)
    assert [t.date.strftime("%d %H:%M") for t in case.tentatives] == ["03 08:55", "10 08:55", "17 00:05"]
    # Running again adds nothing.
    res = run("captures", folder, "--ajouter", path)
    assert "0 tentative ajoutée" in res.output
    assert path.read_text("utf-8") == new


def test_ajouter_into_init_template(run, tmp_path):
    assert run("init", tmp_path / "d").exit_code == 0
    make_png(tmp_path / "d" / "captures" / "Screenshot_20250310-085512.png", size=(60, 120))
    res = run("captures", tmp_path / "d" / "captures", "--ajouter", tmp_path / "d" / "dossier.yaml")
    assert res.exit_code == 0
    text = (tmp_path / "d" / "dossier.yaml").read_text("utf-8")
    assert "  - date: 2025-03-10 08:55\n    capture: captures/Screenshot_20250310-085512.png" in text
    assert "# Astuce" in text


def test_missing_folder(run, tmp_path):
    res = run("captures", tmp_path / "nope")
    assert res.exit_code == 1 and "introuvable" in res.output


def test_a_file_name_with_a_new_line_cannot_forge_an_entry(tmp_path):
    """« x\n  - date: … » as a file name: printed quoted in its comment, never as a new entry."""
    from refere.preuves.captures import as_yaml

    folder = tmp_path / "captures"
    make_png(folder / "sans date\n  - date: 2025-01-01 10:00\n    capture: faux.png", size=(200, 400))
    text = as_yaml(scan(folder, tmp_path))
    assert yaml.safe_load(text) == {"tentatives": []}
    assert "\\n  - date: 2025-01-01 10:00" in text


def test_ajouter_refuses_a_future_capture_and_one_already_used_and_says_why(run, tmp_path):
    data = default_case(["2025-03-03 08:55"])
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-085512.png"
    path = write_case(tmp_path / "affaire", data)
    folder = tmp_path / "affaire" / "captures"
    shutil.copy(folder / "Screenshot_20250303-085512.png", folder / "Screenshot_20250310-085512.png")  # sent twice
    make_png(folder / "Screenshot_20991225-101010.png", size=(400, 200), text="horloge")  # a phone's clock gone wrong
    make_png(folder / "Screenshot_20250317-000512.png", size=(400, 200), text="bonne")
    before = path.read_text("utf-8")
    res = run("captures", folder, "--ajouter", path)
    assert res.exit_code == 0, res.output
    assert "1 tentative ajoutée" in res.output
    assert ("ATTENTION « captures/Screenshot_20991225-101010.png » : datée du 25 décembre 2099 à 10 h 10, dans le futur "
            "(horloge du téléphone mal réglée ?)") in res.output.replace("\u00a0", " ")
    assert ("ATTENTION « captures/Screenshot_20250310-085512.png » : même contenu que "
            "« captures/Screenshot_20250303-085512.png », déjà la capture d'une tentative : pas ajoutée") in res.output
    case = load(path)
    assert [t.capture.written for t in case.tentatives] == ["captures/Screenshot_20250303-085512.png",
                                                            "captures/Screenshot_20250317-000512.png"]
    assert path.read_text("utf-8") != before


def test_ajouter_refuses_a_deep_nesting_in_french(run, tmp_path):
    """A deep nesting made « captures --ajouter » say « Erreur interne » (ruamel's RecursionError,
    attack 21): refused in French, the file untouched."""
    data = default_case(["2025-03-03 08:55"])
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-085512.png"
    path = write_case(tmp_path / "affaire", data)
    text = path.read_text("utf-8") + "x: " + "[" * 20_000 + "]" * 20_000 + "\n"
    path.write_text(text, "utf-8")
    make_png(tmp_path / "affaire" / "captures" / "Screenshot_20250310-085512.png", size=(400, 200))
    res = run("captures", tmp_path / "affaire" / "captures", "--ajouter", path)
    assert res.exit_code == 1 and "fichier trop imbriqué" in res.output, res.output
    assert path.read_text("utf-8") == text


def test_ajouter_keeps_every_date_as_written(run, tmp_path):
    """ruamel read dates and times as its own objects and wrote them back its way: « 08:52:00 Z »
    became « 08:52:00+00:00 », « 2025-9-1 » « 2025-09-01 », « 00.999999999 » the next second (a
    form the check refuses, turned into one it accepts), « 1991-02-29 » an « Erreur interne »
    (attack 21). Every date stays the text written; the check still names the impossible one."""
    data = default_case(["2025-03-03 08:55"])
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-085512.png"
    path = write_case(tmp_path / "affaire", data)
    written = {"2025-03-03 08:55": "2025-03-03 08:52:00 Z", "'1991-04-12'": "1991-02-29",
               "date: '2025-04-01'": "date: 2025-4-1", "expiration_titre: '2025-05-31'":
               "expiration_titre: 2025-05-31t00:00:00.999999999"}
    text = path.read_text("utf-8")
    for old, new in written.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, "utf-8")
    make_png(tmp_path / "affaire" / "captures" / "Screenshot_20250310-085512.png", size=(400, 200))
    res = run("captures", tmp_path / "affaire" / "captures", "--ajouter", path)
    assert res.exit_code == 0 and "1 tentative ajoutée" in res.output, res.output
    after = path.read_text("utf-8")
    for new in written.values():
        assert new in after
    assert "date: 2025-03-10 08:55" in after and "+00:00" not in after and "2025-04-01" not in after
    res = run("check", path)
    line = text.splitlines().index("  date_naissance: 1991-02-29") + 1
    assert f"dossier.yaml:{line} — " in res.output and "date impossible « 1991-02-29 »" in res.output, res.output


@pytest.mark.parametrize("written", ["10/03/2025 08:55", "2025-03-10T08:55:00+01:00", "2025-03-10 08h55",
                                     "2025-03-10 07:55Z"])
def test_ajouter_knows_an_attempt_however_its_date_is_written(run, tmp_path, written):
    """An attempt typed without its capture as « 10/03/2025 08:55 » got a second entry for that
    capture (only the ISO spelling was recognised): the requête counted it twice (attack 26)."""
    data = default_case(["2025-03-03 08:55", written])
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-085512.png"
    path = write_case(tmp_path / "affaire", data)
    make_png(tmp_path / "affaire" / "captures" / "Screenshot_20250310-085512.png", size=(400, 200), text="b")
    before = path.read_bytes()
    res = run("captures", tmp_path / "affaire" / "captures", "--ajouter", path)
    assert res.exit_code == 0 and "0 tentative ajoutée" in res.output, res.output
    assert path.read_bytes() == before


def test_the_list_to_paste_never_offers_a_capture_dated_in_the_future(run, tmp_path):
    """`refere captures` listed a capture named 2099 as an attempt to paste, which --ajouter refuses."""
    folder = tmp_path / "captures"
    make_png(folder / "Screenshot_20250310-085512.png", size=(400, 200), text="a")
    make_png(folder / "Screenshot_20990310-085512.png", size=(400, 200), text="b")
    res = run("captures", folder)
    assert res.exit_code == 0, res.output
    listed, _, comments = res.output.partition("# Datées dans le futur")
    assert "Screenshot_20250310-085512.png" in listed and "2099" not in listed
    assert "Screenshot_20990310-085512.png : 2099-03-10 08:55 d'après nom du fichier" in comments
