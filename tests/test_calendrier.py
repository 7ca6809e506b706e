"""The attempts calendar: a PNG read back with Pillow, and its text equivalent."""

from __future__ import annotations

import datetime as dt
import io
import os

from PIL import Image

from refere.preuves import calendrier, rules
from refere import dates
from refere.affaire.loader import load

PARIS = dates.PARIS


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=PARIS)


# Summer time ends on Sunday 26 October 2025 at 03:00 (back to 02:00): that week has 169 hours.
DST = [at("2025-10-20 08:55"), at("2025-10-26 01:30"), at("2025-10-26 02:30"), at("2025-10-27 00:05"),
       at("2025-11-05 23:55"), at("2025-11-06 00:05")]


def test_byte_identical_and_plain_png(tmp_path):
    a = calendrier.png_bytes(DST)
    b = calendrier.png_bytes(list(reversed(DST)))  # order of the case file does not matter
    assert a == b
    img = Image.open(io.BytesIO(a))
    assert img.format == "PNG" and img.mode == "L"  # grey levels only: prints in black and white
    # No date, no text but the mark that lets « check --calendrier » replace it (and nothing else).
    assert set(img.info) <= {"dpi", "Software"} and img.info["Software"] == "refere calendrier"


def test_weeks_and_days_in_paris_time():
    rows = calendrier.weeks(DST)
    mondays = [m for m, _ in rows]
    # Every week from the first attempt's to the last's, the empty one (3 nov.) included.
    assert mondays == [dt.date(2025, 10, 20), dt.date(2025, 10, 27), dt.date(2025, 11, 3)]
    first = dict(rows[0][1])
    # Both attempts of the DST Sunday are on Sunday, in wall-clock time.
    assert [t.strftime("%H:%M") for t in first[6]] == ["01:30", "02:30"]
    # 00:05 is on its own day (Monday 27), not on the Sunday before.
    assert [t.strftime("%d %H:%M") for t in rows[1][1][0]] == ["27 00:05"]
    assert [t.strftime("%d %H:%M") for t in rows[2][1][3]] == ["06 00:05"]
    assert [t.strftime("%d %H:%M") for t in rows[2][1][2]] == ["05 23:55"]


def test_utc_input_shown_in_paris_time():
    # 22:05 UTC on 1 July is 00:05 in Paris (summer time) on the 2nd.
    utc = dt.datetime(2025, 7, 1, 22, 5, tzinfo=dt.timezone.utc)
    lines = calendrier.texte([utc])
    assert lines[0].startswith("Semaine 27 (du 30 juin au 6 juillet 2025) : mercredi 2 à 0\u00a0h\u00a005.")


def test_text_equivalent():
    lines = calendrier.texte(DST)
    assert lines[0] == ("Semaine 43 (du 20 au 26 octobre 2025) : lundi 20 à 8\u00a0h\u00a055 ; "
                        "dimanche 26 à 1\u00a0h\u00a030, 2\u00a0h\u00a030.")
    assert lines[1].startswith("Semaine 44 (du 27 octobre au 2 novembre 2025) : lundi 27 à 0\u00a0h\u00a005.")
    assert lines[2].startswith("Semaine 45") and "mercredi 5 à 23\u00a0h\u00a055 ; jeudi 6 à 0\u00a0h\u00a005" in lines[2]
    assert lines[-1] == ("6 tentatives sur 3 semaines distinctes et 5 jours distincts, "
                         "du 20 octobre au 6 novembre 2025 (heures de Paris).")


def test_counts_agree_with_evidence(example):
    case = load(example)
    fig = rules.figures(case)
    n, weeks, days = calendrier.counts(t.date for t in case.tentatives)
    assert (n, weeks, days) == (fig.tentatives, fig.semaines, fig.jours)


def test_marks_are_drawn_in_the_right_cells():
    """Dark pixels (the bold times and marks) fall in the cells of attempt days only."""
    one = [at("2025-09-03 00:05")]  # a Wednesday
    img = Image.open(io.BytesIO(calendrier.png_bytes(one)))
    x0 = calendrier.MARGIN + calendrier.LABEL_W
    top = calendrier.MARGIN + calendrier.TITLE + 25 + calendrier.HEAD_H
    ink = []
    for k in range(7):
        cx = x0 + k * calendrier.CELL_W
        # The lower part of the cell, where times go (away from the day number and the borders).
        box = img.crop((cx + 12, top + 46, cx + calendrier.CELL_W - 12, top + 46 + calendrier.LINE_H))
        ink.append(sum(1 for v in box.tobytes() if v < 100))
    assert ink[2] > 200 and all(v == 0 for i, v in enumerate(ink) if i != 2), ink


def test_check_writes_the_calendar(example, run, tmp_path):
    out = tmp_path / "calendrier.png"
    res = run("check", example, "--calendrier", out)
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == calendrier.png_bytes(t.date for t in load(example).tentatives)
    # Never over one of the case's own files.
    capture = example.parent / "captures" / "Screenshot_20250901-085227.png"
    before = capture.read_bytes()
    res = run("check", example, "--calendrier", capture)
    assert res.exit_code == 1 and "fichier du dossier" in res.output
    assert capture.read_bytes() == before


def test_long_span_keeps_weeks_with_attempts():
    times = [at("2023-01-02 09:00") + dt.timedelta(weeks=10 * k) for k in range(12)]  # 110 weeks
    rows = calendrier.weeks(times)
    assert len(rows) == 12 and all(days for _, days in rows)


def test_a_span_past_sixty_weeks_keeps_the_latest_and_says_so():
    """Seventy weekly attempts: the calendar kept the first sixty weeks, dropping the latest ones
    (the only ones with captures), and said nothing (attack 20). The latest are kept, the cut said."""
    times = [at("2024-06-03 09:00") + dt.timedelta(weeks=k) for k in range(70)]
    rows = calendrier.weeks(times)
    assert len(rows) == 60 and rows[-1][0] == times[-1].date() and rows[0][0] == times[10].date()
    said = calendrier.caption(times)
    assert said.startswith("70 tentatives sur 70 semaines distinctes")
    assert said.endswith(f"Seules les 60 dernières semaines avec tentatives sont représentées, "
                         f"depuis celle du {dates.format_date(times[10].date())}.")
    assert "représentées" not in calendrier.caption(times[:60])


def test_a_tall_calendar_fits_the_page(tmp_path, example):
    """Seventeen weeks of three attempts a day: a picture 371 mm tall at 160 mm wide, cut off by
    the page in Word and LibreOffice (attack 20). Made smaller to fit; a short one keeps 160 mm."""
    import docx

    from refere.requete import render
    from refere.modeles import document

    src = docx.Document()
    src.add_paragraph("{{ calendrier }}")
    src.save(tmp_path / "modele.docx")
    times = [at("2025-06-02 08:00") + dt.timedelta(days=d, hours=h) for d in range(17 * 7) for h in (0, 5, 10)]
    png = calendrier.png_bytes(times, title=False)
    tpl = document.render_docx(tmp_path / "modele.docx", render.jinja_env(),
                               {"calendrier": document.Picture(png, width_mm=160, max_height_mm=215)})
    tpl.save(tmp_path / "out.docx")
    shape = docx.Document(str(tmp_path / "out.docx")).inline_shapes[0]
    assert abs(shape.height.mm - 215) < 0.5 and shape.width.mm < 160
    with Image.open(io.BytesIO(png)) as img:
        assert abs(shape.width.mm / shape.height.mm - img.width / img.height) < 0.01


def test_calendar_image_goes_into_a_word_document(tmp_path, example):
    """document.Picture: the PNG as it will sit in the requête, read back with python-docx."""
    import docx

    from refere.requete import render
    from refere.modeles import document

    src = docx.Document()
    src.add_paragraph("Tableau des tentatives")
    src.add_paragraph("{{ calendrier }}")
    src.save(tmp_path / "modele.docx")
    case = load(example)
    png = calendrier.png_bytes(t.date for t in case.tentatives)
    tpl = document.render_docx(tmp_path / "modele.docx", render.jinja_env(),
                                 {"calendrier": document.Picture(png, width_mm=160)})
    tpl.save(tmp_path / "out.docx")
    out = docx.Document(str(tmp_path / "out.docx"))
    assert len(out.inline_shapes) == 1
    assert abs(out.inline_shapes[0].width.mm - 160) < 0.5
    blobs = [p.blob for p in out.part.package.parts if p.partname.endswith(".png")]
    assert blobs == [png]


def test_requete_calendar_has_one_caption():
    """In the requête the template's caption is the title: the picture does not repeat one."""
    times = [at("2025-09-03 00:05")]
    with_title = Image.open(io.BytesIO(calendrier.png_bytes(times)))
    plain = Image.open(io.BytesIO(calendrier.png_bytes(times, title=False)))
    assert with_title.width == plain.width
    assert with_title.height - plain.height == calendrier.TITLE + 25
    # The title band of the titled picture has ink; the plain one starts with the header band.
    band = with_title.crop((calendrier.MARGIN, calendrier.MARGIN, with_title.width // 2,
                            calendrier.MARGIN + calendrier.TITLE))
    assert any(v < 100 for v in band.tobytes())


def test_the_calendar_never_replaces_the_case_file_nor_a_file_that_is_not_a_png(case_path, run, tmp_path):
    """Attack 26, F9: « --calendrier dossier.yaml » turned the case into a PNG, exit 0; any other file too."""
    from conftest import snapshot

    text = tmp_path / "precieux.txt"
    text.write_bytes(b"notes de l'audience\n")
    (tmp_path / "un-dossier").mkdir()
    unlisted = case_path.parent / "captures" / "pas-encore-citee.png"
    unlisted.write_bytes(next((case_path.parent / "captures").glob("*.png")).read_bytes())
    os.symlink("dossier.yaml", case_path.parent / "lien.png")
    before, names = snapshot(tmp_path), sorted(tmp_path.rglob("*"))
    refusals = {
        case_path: f"« {case_path} » est le fichier de l'affaire : choisissez un autre nom pour le calendrier "
                   "(par exemple calendrier.png) ; rien n'a été écrit",
        case_path.parent / "lien.png": f"« {case_path.parent / 'lien.png'} » est le fichier de l'affaire : choisissez "
                                       "un autre nom pour le calendrier (par exemple calendrier.png) ; rien n'a été écrit",
        unlisted: f"« {unlisted} » est un fichier du dossier : choisissez un autre nom pour le calendrier, hors de "
                  "captures/ et pieces/ ; rien n'a été écrit",
        case_path.parent / "pieces" / "calendrier.png": f"« {case_path.parent / 'pieces' / 'calendrier.png'} » est un "
                  "fichier du dossier : choisissez un autre nom pour le calendrier, hors de captures/ et pieces/ ; rien "
                  "n'a été écrit",
    }
    # Attack 27: another case's capture, or a screenshot beside the case file, is a PNG but no calendar.
    other_case = tmp_path / "autre" / "captures" / "Screenshot_20250901-085227.png"
    other_case.parent.mkdir(parents=True)
    other_case.write_bytes(unlisted.read_bytes())
    loose = case_path.parent / "Screenshot_20250926-090000.png"
    loose.write_bytes(unlisted.read_bytes())
    before, names = snapshot(tmp_path), sorted(tmp_path.rglob("*"))
    # Attack 28: nor a new file in another case's captures/ or pieces/.
    (tmp_path / "autre" / "dossier.yaml").write_text("version: 1\n", "utf-8")
    (tmp_path / "autre" / "pieces").mkdir()
    new_in_other = tmp_path / "autre" / "pieces" / "calendrier.png"
    refusals[new_in_other] = (f"« {new_in_other} » est dans le dossier d'une autre affaire (« {tmp_path / 'autre'} ») : "
                              "choisissez un autre nom pour le calendrier ; rien n'a été écrit")
    before, names = snapshot(tmp_path), sorted(tmp_path.rglob("*"))
    # Attack 29: nor a file another case cites from its own folder (a calendar it produced as a pièce).
    cited = tmp_path / "autre" / "calendrier.png"
    cited.write_bytes(calendrier.png_bytes([at("2025-01-06 09:00")]))
    refusals[cited] = (f"« {cited} » est dans le dossier d'une autre affaire (« {tmp_path / 'autre'} ») : choisissez "
                       "un autre nom pour le calendrier ; rien n'a été écrit")
    before, names = snapshot(tmp_path), sorted(tmp_path.rglob("*"))
    # The other case's capture now lies in a case's captures/ (its dossier.yaml made above): refused as such.
    refusals[other_case] = (f"« {other_case} » est dans le dossier d'une autre affaire (« {tmp_path / 'autre'} ») : "
                            "choisissez un autre nom pour le calendrier ; rien n'a été écrit")
    for shot in (loose,):
        refusals[shot] = (f"« {shot} » existe et n'est pas un calendrier écrit par refere (une capture ?) : il ne "
                          "sera pas remplacé ; choisissez un autre nom (un ancien calendrier : supprimez-le d'abord) ; "
                          "rien n'a été écrit")
    for other in (text, tmp_path / "un-dossier"):
        refusals[other] = (f"« {other} » existe et n'est pas une image PNG : il ne sera pas remplacé ; choisissez un "
                           "autre nom pour le calendrier ; rien n'a été écrit")
    for target, message in refusals.items():
        res = run("check", case_path, "--calendrier", target)
        assert res.exit_code == 1, res.output
        assert res.output.endswith(message + "\n"), res.output
        assert snapshot(tmp_path) == before and sorted(tmp_path.rglob("*")) == names  # nothing left beside
    # A previous calendar (a PNG) is replaced: that is how the command is run again.
    previous = tmp_path / "calendrier.png"
    previous.write_bytes(calendrier.png_bytes([at("2025-01-06 09:00")]))
    res = run("check", case_path, "--calendrier", previous)
    assert res.exit_code == 0, res.output
    assert previous.read_bytes() == calendrier.png_bytes(t.date for t in load(case_path).tentatives)
