"""Building pièces and the complete dossier from real images and PDFs."""

import json
import os
import re

import pikepdf
import pytest
from PIL import Image

from conftest import (check_pdf, default_case, make_jpeg, make_pdf, make_png, pdf_fonts, pdf_text, snapshot, top_line,
                      write_case)
from refere.pieces import assemble
from refere.build import Options, build
from refere.errors import EvidenceInsufficient, OutputError
from refere.files import sha256


def built(case_path, **kw):
    kw.setdefault("jobs", 1)
    return build(case_path, Options(**kw))


def test_example_builds_completely(example):
    res = built(example, jobs=2)
    out = res.out
    assert out == example.parent / "dossier"
    names = sorted(p.name for p in (out / "pieces").iterdir())
    assert len(names) == 9  # the example has 9 pièces (employer letter added for its urgency)
    for i, name in enumerate(names, start=1):
        assert re.fullmatch(rf"{i:02d}_[A-Za-z0-9_-]+\.pdf", name) and len(name) - 4 <= 80
    for pdf in [*(out / "pieces").iterdir(), out / "dossier-complet.pdf"]:
        check_pdf(pdf)
    # Every page of every pièce carries its stamp, readable as text.
    for p in res.inventory.pieces:
        path = out / "pieces" / p.fichier
        with pikepdf.open(path) as pdf:
            total = len(pdf.pages)
        assert total == p.pages
        for k in range(1, total + 1):
            text = pdf_text(path, k, k)
            assert f"Pièce n° {p.numero} — p. {k}/{total}" in text
    # PDF pièces keep their text (vector, not rasterised).
    assert "TITRE DE SÉJOUR" in pdf_text(out / "pieces" / res.inventory.pieces[1].fichier)


def test_complete_dossier_bookmarks_labels_bordereau(example):
    res = built(example)
    path = res.out / "dossier-complet.pdf"
    with pikepdf.open(path) as pdf:
        with pdf.open_outline() as outline:
            titles = [item.title for item in outline.root]
        assert titles[0] == "Bordereau des pièces"
        assert titles[1:] == [f"Pièce n° {p.numero} — {p.titre}" for p in res.inventory.pieces]
        assert len(pdf.pages) == 1 + sum(p.pages for p in res.inventory.pieces) == res.pages
        labels = [pikepdf.Page(pg).label for pg in pdf.pages]
        assert labels[0] == "Bordereau i" and labels[1] == "P1-1" and labels[3] == "P2-1"
    first = pdf_text(path, 1, 1)
    assert "Bordereau des pièces" in first and "p. 2-3" in first and "Courriel à la préfecture" in first


def test_manifest_hashes(example):
    res = built(example)
    doc = json.loads((res.out / "inventaire.json").read_text("utf-8"))
    assert doc["outil"]["nom"] == "refere"
    assert doc["defendeur"] == "le préfet du Val-de-Marne"
    assert [p["numero"] for p in doc["pieces"]] == list(range(1, 10))
    for p in doc["pieces"]:
        assert sha256(res.out / p["fichier"]) == p["sha256"]
        for s in p["sources"]:
            assert sha256(example.parent / s["fichier"]) == s["sha256"]
    assert doc["fichiers"]["requete.docx"] == sha256(res.out / "requete.docx")
    assert doc["preuves"]["chiffres"]["semaines"] == 4
    assert len(doc["tentatives"]) == 10


def test_two_builds_are_byte_identical(example, tmp_path):
    a = built(example, out=tmp_path / "a").out
    b = built(example, out=tmp_path / "b", jobs=2).out
    assert snapshot(a) == snapshot(b)


@pytest.mark.parametrize("mode, save", [
    ("RGB", {}), ("RGBA", {}), ("LA", {}), ("P", {}), ("L", {}), ("I;16", {}), ("RGB", {"interlace": 1}),
])
def test_png_kinds(tmp_path, mode, save):
    data = default_case()
    make_png(tmp_path / "affaire" / "captures" / "c00.png", size=(300, 660), mode=mode, **save)
    res = built(write_case(tmp_path / "affaire", data))
    with pikepdf.open(res.out / "pieces" / res.inventory.pieces[1].fichier) as pdf:
        page = pdf.pages[0]
        (name, raw), = page.get_images().items()
        assert "/SMask" not in raw, "transparency must be flattened on white"
        w, h = float(page.mediabox[2]), float(page.mediabox[3])
        assert (round(w), round(h)) == (595, 842)
        assert raw.Width == 300 and raw.Height == 660  # never resampled


def test_rgb_png_embedded_without_loss(tmp_path):
    data = default_case()
    src = make_png(tmp_path / "affaire" / "captures" / "c00.png", size=(300, 660))
    res = built(write_case(tmp_path / "affaire", data))
    with pikepdf.open(res.out / "pieces" / res.inventory.pieces[1].fichier) as pdf:
        raw = list(pdf.pages[0].get_images().values())[0]
        got = pikepdf.PdfImage(raw).as_pil_image().convert("RGB")
    assert got.tobytes() == Image.open(src).convert("RGB").tobytes()


def test_transparent_pixels_become_white(tmp_path):
    data = default_case()
    path = tmp_path / "affaire" / "captures" / "c00.png"
    path.parent.mkdir(parents=True)
    Image.new("RGBA", (100, 100), (255, 0, 0, 0)).save(path)
    res = built(write_case(tmp_path / "affaire", data))
    with pikepdf.open(res.out / "pieces" / res.inventory.pieces[1].fichier) as pdf:
        img = pikepdf.PdfImage(list(pdf.pages[0].get_images().values())[0]).as_pil_image().convert("RGB")
    assert img.getpixel((50, 50)) == (255, 255, 255)


def _image_matrix(page) -> tuple[float, ...]:
    """The ``cm`` that scales the image (a, b, c, d, e, f)."""
    cms = [tuple(float(x) for x in op.operands) for op in pikepdf.parse_content_stream(page)
           if str(op.operator) == "cm"]
    return next(c for c in cms if c[0] > 1 or c[3] > 1)


def test_small_image_not_upscaled_large_image_fits(tmp_path):
    data = default_case()
    make_png(tmp_path / "affaire" / "captures" / "c00.png", size=(96, 96))
    make_png(tmp_path / "affaire" / "captures" / "c01.png", size=(3000, 9000))
    res = built(write_case(tmp_path / "affaire", data))
    margin = 15 * 72 / 25.4
    with pikepdf.open(res.out / "pieces" / res.inventory.pieces[1].fichier) as pdf:
        small = _image_matrix(pdf.pages[0])
        assert small[0] <= 72.5  # 96 px at 96 dpi: one inch, not enlarged
        large = _image_matrix(pdf.pages[1])
        assert large[5] >= margin - 0.5  # bottom margin kept
        assert large[5] + large[3] <= 842 - margin + 0.5  # top margin free for the stamp


@pytest.mark.parametrize("orientation, rotate", [(1, 0), (3, 180), (6, 90), (8, 270)])
def test_jpeg_exif_orientation_applied(tmp_path, orientation, rotate):
    data = default_case()
    data["pieces"][0] = {"titre": "Carte", "categorie": "identite", "fichier": "pieces/carte.jpg"}
    make_jpeg(tmp_path / "affaire" / "pieces" / "carte.jpg", size=(800, 500), orientation=orientation)
    res = built(write_case(tmp_path / "affaire", data))
    path = res.out / "pieces" / res.inventory.pieces[0].fichier
    with pikepdf.open(path) as pdf:
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) == rotate
    assert "Pièce n° 1 — p. 1/1" in pdf_text(path)


def test_cmyk_jpeg(tmp_path):
    data = default_case()
    data["pieces"][0] = {"titre": "Carte", "categorie": "identite", "fichier": "pieces/carte.jpg"}
    make_jpeg(tmp_path / "affaire" / "pieces" / "carte.jpg", mode="CMYK")
    res = built(write_case(tmp_path / "affaire", data))
    with pikepdf.open(res.out / "pieces" / res.inventory.pieces[0].fichier) as pdf:
        raw = list(pdf.pages[0].get_images().values())[0]
        assert raw.ColorSpace == "/DeviceCMYK" and raw.Filter == "/DCTDecode"  # passed through, not re-encoded


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
@pytest.mark.parametrize("size", [(612, 792), (300, 900), (1190, 842)])
def test_pdf_pages_any_rotation_and_size(tmp_path, rotate, size):
    data = default_case()
    make_pdf(tmp_path / "affaire" / "pieces" / "passeport.pdf", pages=2, size=size, rotate=rotate, text="ORIGINAL")
    res = built(write_case(tmp_path / "affaire", data))
    path = res.out / "pieces" / res.inventory.pieces[0].fichier
    text = pdf_text(path)
    assert "Pièce n° 1 — p. 1/2" in text and "Pièce n° 1 — p. 2/2" in text
    assert "ORIGINAL page 1" in text
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        box = [float(v) for v in page.mediabox]
        # Padded on the visual top by PAD points, content untouched.
        assert (box[2] - box[0]) * (box[3] - box[1]) > size[0] * size[1]
    # The stamp reads upright at the visual top of the page, above the content.
    assert "Piècen°1—p.1/2" in top_line(path).replace(" ", "")


def test_owner_only_encrypted_pdf_opens(tmp_path):
    data = default_case()
    make_pdf(tmp_path / "affaire" / "pieces" / "passeport.pdf", encrypt=("proprietaire", ""), text="PROTEGE")
    res = built(write_case(tmp_path / "affaire", data))
    assert "PROTEGE" in pdf_text(res.out / "pieces" / res.inventory.pieces[0].fichier)


def test_password_pdf_is_a_clear_error_and_nothing_is_left(tmp_path, run):
    data = default_case()
    make_pdf(tmp_path / "affaire" / "pieces" / "passeport.pdf", encrypt=("proprietaire", "secret"))
    path = write_case(tmp_path / "affaire", data)
    res = run("build", path)
    assert res.exit_code == 1
    assert "passeport.pdf" in res.output and "mot de passe" in res.output
    assert sorted(p.name for p in path.parent.iterdir()) == ["captures", "dossier.yaml", "pieces"]


def test_damaged_pdf_fails_cleanly(tmp_path, run):
    data = default_case()
    pdf = make_pdf(tmp_path / "affaire" / "pieces" / "courriel.pdf", pages=3)
    raw = pdf.read_bytes()
    pdf.write_bytes(raw[: len(raw) // 3])
    path = write_case(tmp_path / "affaire", data)
    before = snapshot(path.parent)
    res = run("build", path)
    assert res.exit_code in (0, 1)  # qpdf may recover a truncated file; either way, never a traceback
    assert "Traceback" not in res.output
    if res.exit_code == 1:
        assert "courriel.pdf" in res.output
        assert not (path.parent / "dossier").exists()
    assert {k: v for k, v in snapshot(path.parent).items() if not k.startswith("dossier/")} == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".dossier")]


def test_garbage_pdf_fails_cleanly(tmp_path, run):
    data = default_case()
    (tmp_path / "affaire" / "pieces").mkdir(parents=True)
    (tmp_path / "affaire" / "pieces" / "courriel.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    path = write_case(tmp_path / "affaire", data)
    res = run("build", path)
    assert res.exit_code == 1 and "courriel.pdf" in res.output and "Traceback" not in res.output
    assert sorted(p.name for p in path.parent.iterdir()) == ["captures", "dossier.yaml", "pieces"]


def test_existing_output_needs_force(case_path, run):
    assert run("build", case_path).exit_code == 0
    out = case_path.parent / "dossier"
    marker = out / "note.txt"
    marker.write_text("à moi")
    res = run("build", case_path)
    assert res.exit_code == 1 and "--force" in res.output
    assert marker.exists()
    assert run("build", case_path, "--force").exit_code == 0
    assert not marker.exists() and (out / "requete.docx").exists()


def test_output_that_would_swallow_sources_refused(case_path):
    with pytest.raises(OutputError, match="sources"):
        built(case_path, out=case_path.parent, force=True)
    assert case_path.exists()


def test_output_in_another_case_folder_refused_own_folder_allowed(tmp_path, run):
    a = write_case(tmp_path / "q" / "a", default_case())
    b = write_case(tmp_path / "q" / "b", default_case())
    res = run("build", a, "-o", b.parent / "sortie-a")
    assert res.exit_code == 1 and f"dans le dossier d'une autre affaire (« {b.parent} »)" in res.output, res.output
    assert sorted(p.name for p in b.parent.iterdir()) == ["captures", "dossier.yaml", "pieces"]
    # Its own folder is where the default output goes: still allowed, there or under another name.
    assert run("build", a, "-o", a.parent / "sortie").exit_code == 0
    assert run("build", a).exit_code == 0 and (a.parent / "dossier" / "requete.docx").is_file()


def test_blocking_evidence_stops_build_unless_brouillon(tmp_path, run):
    path = write_case(tmp_path / "a", default_case(["2025-03-03 08:55", "2025-03-04 00:05"]))
    with pytest.raises(EvidenceInsufficient):
        built(path)
    assert not (path.parent / "dossier").exists()
    res = run("build", path, "--brouillon")
    assert res.exit_code == 0 and "PROJET" in res.output
    assert json.loads((path.parent / "dossier" / "inventaire.json").read_text())["brouillon"] is True


def test_size_warning_and_compression(tmp_path, monkeypatch, run):
    import random

    monkeypatch.setattr(assemble, "SIZE_LIMIT", 400_000)
    data = default_case()
    rnd = random.Random(1)
    noisy = Image.frombytes("RGB", (700, 700), bytes(rnd.getrandbits(8) for _ in range(700 * 700 * 3)))
    (tmp_path / "affaire" / "captures").mkdir(parents=True)
    noisy.save(tmp_path / "affaire" / "captures" / "c00.png")
    path = write_case(tmp_path / "affaire", data)
    res = run("build", path, "-j", "1")
    assert res.exit_code == 0
    assert "piece-trop-lourde" in res.output and "--compresser" in res.output
    res = run("build", path, "-j", "1", "--force", "--compresser")
    assert res.exit_code == 0 and "piece-trop-lourde" not in res.output
    doc = json.loads((path.parent / "dossier" / "inventaire.json").read_text())
    piece = doc["pieces"][1]
    assert piece["recompresse"] is True and piece["octets"] <= 400_000


def test_huge_pixel_count_refused(tmp_path, run):
    data = default_case()
    path = tmp_path / "affaire" / "captures" / "c00.png"
    path.parent.mkdir(parents=True)
    # A tiny file that claims 20000 × 20000 pixels: decoding it would take 1.2 GB.
    Image.new("1", (20000, 20000)).save(path, optimize=True)
    res = run("build", write_case(tmp_path / "affaire", data))
    assert res.exit_code == 1
    assert "c00.png" in res.output and "démesurée" in res.output


def test_sources_untouched_by_build(example):
    before = snapshot(example.parent)
    built(example)
    after = {k: v for k, v in snapshot(example.parent).items() if not k.startswith("dossier/")}
    assert after == before


def test_multi_frame_image_is_one_page(tmp_path):
    data = default_case()
    frames = [Image.new("RGB", (200, 400), c) for c in ("red", "green", "blue")]
    path = tmp_path / "affaire" / "captures" / "c00.png"
    path.parent.mkdir(parents=True)
    frames[0].save(path, save_all=True, append_images=frames[1:])  # an animated PNG
    res = built(write_case(tmp_path / "affaire", data))
    with pikepdf.open(res.out / "pieces" / res.inventory.pieces[1].fichier) as pdf:
        assert len(pdf.pages) == res.inventory.pieces[1].pages == 3


def test_bordereau_keeps_every_letter_as_typed(tmp_path):
    data = default_case()
    data["requerant"]["prenoms"] = "Văn Minh"
    data["requerant"]["nom"] = "Nguyễn"
    data["pieces"][0]["titre"] = "Kimlik kartı — Şükrü Gökçe, İğdır (ƒ ☃)"
    res = built(write_case(tmp_path / "affaire", data))
    first = pdf_text(res.out / "dossier-complet.pdf", 1, 1)
    assert "Văn Minh NGUYỄN" in first
    assert "Kimlik kartı — Şükrü Gökçe, İğdır (ƒ ☃)" in first
    fonts = pdf_fonts(res.out / "dossier-complet.pdf")
    assert any("DejaVuSans" in f for f in fonts) and "/Identity-H" in fonts


def test_bordereau_letters_outside_its_font_are_drawn_and_copied_as_replacement(tmp_path):
    """Letters DejaVu lacks are drawn « � »; the text layer said the first such letter for every
    one of them (« 住住住住 » for « 住所証明 », attack 19). Each is now copied as « � », and the
    letters the font has stay as typed."""
    data = default_case()
    data["pieces"][0]["titre"] = "Attestation 住所証明 — 🏠 ok"
    res = built(write_case(tmp_path / "affaire", data))
    first = pdf_text(res.out / "dossier-complet.pdf", 1, 1)
    assert "Attestation \ufffd\ufffd\ufffd\ufffd — \ufffd ok" in first, first
    assert "住" not in first


def test_bordereau_glyphs_drawn_as_with_the_whole_font(tmp_path):
    """The embedded fonts hold only the glyphs used, renumbered, reached through a CIDToGIDMap:
    the bordereau draws exactly what the whole DejaVu font, numbered as it is, draws."""
    import pypdfium2 as pdfium

    from refere.pieces import pdffont

    data = default_case()
    data["requerant"]["prenoms"] = "Văn Minh"
    data["requerant"]["nom"] = "Nguyễn"
    data["pieces"][0]["titre"] = "Kimlik kartı — Şükrü Gökçe, İğdır (ƒ ☃ « é »)"
    res = built(write_case(tmp_path / "affaire", data))
    whole = tmp_path / "police-entiere.pdf"
    with pikepdf.open(res.out / "dossier-complet.pdf") as pdf:
        for font in pdf.pages[0].Resources.Font.values():
            cid = font.DescendantFonts[0]
            bold = "Bold" in str(font.BaseFont)
            assert len(cid.FontDescriptor.FontFile2.read_bytes()) < len(pdffont._raw(bold)) / 10
            cid.FontDescriptor.FontFile2 = pdf.make_stream(pdffont._raw(bold))
            cid.CIDToGIDMap = pikepdf.Name.Identity
        pdf.save(whole)

    def drawn(path):
        doc = pdfium.PdfDocument(str(path))
        try:
            return doc[0].render(scale=2).to_pil().convert("L")
        finally:
            doc.close()

    ours, reference = drawn(res.out / "dossier-complet.pdf"), drawn(whole)
    assert ours.tobytes() == reference.tobytes()
    assert ours.getextrema()[0] < 50  # text was drawn


def test_long_bordereau_spans_pages_with_right_ranges(tmp_path):
    days = [f"2025-03-{d:02d} 08:{m:02d}" for d in range(1, 29) for m in (5, 35)]
    data = default_case(days)
    data["options"] = {"captures": "par_tentative"}
    data["signature"]["date"] = "2025-04-01"
    res = built(write_case(tmp_path / "affaire", data))
    path = res.out / "dossier-complet.pdf"
    with pikepdf.open(path) as pdf:
        labels = [pikepdf.Page(pg).label for pg in pdf.pages]
        with pdf.open_outline() as outline:
            targets = [item.destination for item in outline.root]
    n_bord = sum(1 for label in labels if label.startswith("Bordereau"))
    assert n_bord >= 2
    text = pdf_text(path, 1, n_bord)
    last = res.inventory.pieces[-1]
    total = n_bord + sum(p.pages for p in res.inventory.pieces)
    assert f"p. {total}" in text and labels[-1] == f"P{last.numero}-1"
    assert len(targets) == len(res.inventory.pieces) + 1


def test_build_lists_the_files_to_file(run, example):
    res = run("build", example)
    assert res.exit_code == 0
    names = sorted(p.name for p in (example.parent / "dossier" / "pieces").iterdir())
    listed = [line.strip().rsplit("/", 1)[-1] for line in res.output.splitlines() if "/pieces/" in line]
    assert listed == names


def _raw_pdf_with_inherited_attributes(path):
    """A PDF whose page takes MediaBox, Rotate and Resources from its parent, as the spec allows."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 500 800] /Rotate 90 "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>", None,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    content = b"BT /F1 14 Tf 72 700 Td (HERITE) Tj ET"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        body = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content) if obj is None else obj
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))


def test_pdf_with_inherited_page_attributes(tmp_path):
    data = default_case()
    _raw_pdf_with_inherited_attributes(tmp_path / "affaire" / "pieces" / "passeport.pdf")
    res = built(write_case(tmp_path / "affaire", data))
    path = res.out / "pieces" / res.inventory.pieces[0].fichier
    text = pdf_text(path)
    assert "HERITE" in text and "Pièce n° 1 — p. 1/1" in text
    with pikepdf.open(path) as pdf:
        assert int(pdf.pages[0].obj.Rotate) == 90
        assert [float(v) for v in pdf.pages[0].mediabox] == [-assemble.PAD, 0, 500, 800]


def test_transparent_png_with_exif_orientation(tmp_path):
    data = default_case()
    path = tmp_path / "affaire" / "captures" / "c00.png"
    path.parent.mkdir(parents=True)
    exif = Image.Exif()
    exif[274] = 6  # to be turned 90° clockwise for display
    Image.new("RGBA", (400, 200), (0, 0, 255, 128)).save(path, exif=exif.tobytes())
    res = built(write_case(tmp_path / "affaire", data))
    with pikepdf.open(res.out / "pieces" / res.inventory.pieces[1].fichier) as pdf:
        raw = list(pdf.pages[0].get_images().values())[0]
        assert (raw.Width, raw.Height) == (200, 400)  # orientation baked into the pixels
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) == 0


def _glyphs(path, page: int) -> list[tuple[str, float, float, float, float]]:
    """Each drawn character of a page with its box (left, bottom, right, top), in drawing order."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = pdfium.PdfDocument(str(path))
    try:
        text = doc[page - 1].get_textpage()
        out = []
        for i in range(text.count_chars()):
            # pdfium reads a « - » ending a line as a soft hyphen (« \x02 »): it is drawn all the same.
            ch = "-" if raw.FPDFText_IsHyphen(text.raw, i) else chr(raw.FPDFText_GetUnicode(text.raw, i))
            if not ch.isspace() and not raw.FPDFText_IsGenerated(text.raw, i):
                out.append((ch, *text.get_charbox(i)))
        text.close()
        return out
    finally:
        doc.close()


def _bordereau_columns(path, pages: int):
    """The bordereau's title column and pages column: the characters drawn from the « Pièce »
    heading's left edge up to the « Pages » heading's, and from there on, page after page."""
    first = _glyphs(path, 1)
    heads = "".join(g[0] for g in first)
    label_x = first[heads.index("Pièce")][1]
    pages_x = first[heads.index("Pages")][1]
    head_y = first[heads.index("Pages")][2]
    titles, ranges = [], []
    for k in range(1, pages + 1):
        for g in _glyphs(path, k):
            if k == 1 and g[4] > head_y:  # the headings and everything above them
                continue
            if g[1] >= pages_x - 1:
                ranges.append(g)
            elif g[1] >= label_x - 1:
                titles.append(g)
    return label_x, pages_x, titles, ranges


def _page_ranges(res, n_bord: int) -> str:
    """The pages column as it should read, spaces aside: « p.2p.3-4… »."""
    out, start = [], n_bord + 1
    for p in res.inventory.pieces:
        out.append(f"p.{start}" if p.pages == 1 else f"p.{start}-{start + p.pages - 1}")
        start += p.pages
    return "".join(out)


def test_bordereau_cuts_a_title_too_long_for_its_column(tmp_path):
    """A web address or a file name has no space to wrap at: it was drawn over the pages column
    and off the page (attack 24). It is now cut, best after « / _ - . @ », and shown whole."""
    data = default_case()
    long_titles = [
        "Page https://www.val-de-marne.gouv.fr/Demarches-administratives/Titres-de-sejour/"
        "Prise-de-rendez-vous-en-ligne-pour-les-titres-de-sejour-salaries",
        "Courriel_a_la_prefecture_du_12_septembre_2025_sans_reponse_envoye_depuis_"
        "karim.benali.1987@example.com",
        "\u2031" * 60,  # the font's widest glyph, no cut marker anywhere
        "Attestation e\u0301" + "e\u0301" * 120,  # a letter keeps its accent when cut
    ]
    data["pieces"] += [{"titre": t, "categorie": "autre", "fichier": f"pieces/long{i}.pdf"}
                       for i, t in enumerate(long_titles)]
    res = built(write_case(tmp_path / "affaire", data))
    path = res.out / "dossier-complet.pdf"
    with pikepdf.open(path) as pdf:
        width = float(pdf.pages[0].mediabox[2])
    label_x, pages_x, titles, ranges = _bordereau_columns(path, 1)
    # Every glyph of every title inside its column, none reaching the pages column.
    assert titles and all(label_x - 1 <= g[1] and g[3] < pages_x - 5 for g in titles)
    # Every title shown whole, in order (line breaks aside).
    assert "".join(g[0] for g in titles) == "".join("".join(p.titre.split()) for p in res.inventory.pieces)
    # The pages column holds the page ranges, each one whole, and stays on the page.
    assert "".join(g[0] for g in ranges) == _page_ranges(res, 1)
    assert all(g[3] < width - 20 for g in ranges)
    lines = [t for t in pdf_text(path, 1, 1).splitlines() if "example.com" in t]
    assert lines == ["depuis_karim.benali.1987@example.com"], lines  # cut after « _ »
    assert not any(t.startswith("\u0301") for t in pdf_text(path, 1, 1).splitlines())


def _title_lines(title: str) -> list[str]:
    """The lines the bordereau draws for a single pièce named ``title``."""
    from types import SimpleNamespace

    from refere.pieces import bordereau
    from refere.pieces.pdffont import Font

    inv = SimpleNamespace(pieces=[SimpleNamespace(numero=1, titre=title)])
    layout = bordereau._bordereau_layout(inv, ["Bordereau des pièces"], Font(), Font(bold=True))
    label_x = next(x for _, _, x, _, text in layout[0] if text == "Pièce")
    return [text for bold, _, x, _, text in layout[0] if x == label_x and not bold]


def test_bordereau_hides_format_characters_and_breaks_where_they_allow(tmp_path):
    """A soft hyphen was drawn « - » mid-word (« Attes-ta-tion »), a zero-width space let a word be
    cut anywhere (« Certificatd / erésidence »), and their file name held « _ » (attack 25). Both are
    now invisible places to break, a soft hyphen showing « - » only at the end of a line broken at
    it (as in Word); other format characters are not drawn; file names are made without them."""
    from refere.pieces.pdffont import missing

    soft = "hé\u00adber\u00adge\u00adment"
    # The fewest words before « hébergement » that push it past the end of the line.
    filler = next(n for n in range(1, 60) if len(_title_lines("Attestation " + "de " * n + soft)) > 1)
    broken = _title_lines("Attestation " + "de " * filler + soft)
    assert len(broken) == 2 and broken[0].endswith("-"), broken
    assert broken[0][:-1].split()[-1] + broken[1] == "hébergement"
    zero = "\u200b".join(["Certificat", "de", "résidence"] * 8)  # one word, wider than the line
    cut = _title_lines(zero)
    assert len(cut) > 1 and all(re.fullmatch("(Certificat|de|résidence)+", line) for line in cut), cut
    assert missing("Attes\u00adta\u00adtion\U000e0001") == []  # never drawn: no warning of « � »

    data = default_case()
    data["pieces"] = [
        {"titre": "Attes\u00adta\u00adtion d'" + soft + " de M.\u2060 Rachid\ufeff Benali\u200d",
         "categorie": "domicile", "fichier": "pieces/hebergement.pdf", "date": "2025-03-01"},
        {"titre": "Attestation " + "de " * filler + soft, "categorie": "autre", "fichier": "pieces/long.pdf"},
        {"titre": zero, "categorie": "autre", "fichier": "pieces/zero.pdf"},
    ]
    res = built(write_case(tmp_path / "affaire", data))
    text = pdf_text(res.out / "dossier-complet.pdf", 1, 1)
    assert "Attestation d'hébergement de M. Rachid Benali p. 2" in text, text
    assert f"{broken[0]} p. " in text and f"\n{broken[1]}\r\n" in text  # the hyphen at the line's end only
    assert not any(c in text for c in "\u00ad\u200b\u200d\u2060\ufeff\ufffd"), text
    names = [p.fichier for p in res.inventory.pieces if p.categorie != "captures"]
    assert names[0] == "01_Attestation_d_hebergement_de_M_Rachid_Benali.pdf"
    assert names[1] == "05_Attestation_" + "de_" * filler + "hebergement.pdf"
    assert names[2].startswith("06_CertificatderesidenceCertificat")
    assert all(name in os.listdir(res.out / "pieces") for name in names)


def test_bordereau_title_taller_than_the_first_page_goes_on_over_the_next():
    """Under a long header, the first title may not fit what is left of page 1: it starts there
    (the headings never alone on a page) and goes on at the top of the next page."""
    from types import SimpleNamespace

    from refere.pieces import bordereau
    from refere.pieces.pdffont import Font

    inv = SimpleNamespace(pieces=[SimpleNamespace(numero=1, titre="\u2031" * 500),
                                  SimpleNamespace(numero=2, titre="Passeport")])
    layout = bordereau._bordereau_layout(inv, ["Bordereau des pièces", *["Ligne"] * 30], Font(), Font(bold=True))
    assert len(layout) == 2
    assert any(text == "Pièce" for *_, text in layout[0]) and any(text == "\u2031" * 21 for *_, text in layout[0])
    assert all(y >= 20 * bordereau.MM for page in layout for *_, y, _ in page)
    label_x = next(x for page in layout for _, _, x, _, text in page if text == "Pièce")
    drawn = [text for page in layout for bold, _, x, _, text in page if x == label_x and not bold]
    assert "".join(drawn) == "\u2031" * 500 + "Passeport"


def test_bordereau_of_titles_as_long_as_allowed_spans_pages(tmp_path):
    """Titles of the longest length the case allows, in the widest glyph: each row grows, the
    bordereau goes on over pages, and every page range is still right."""
    from refere.affaire.model import SHORT

    data = default_case()
    # Words just too wide to go two on a line (the most lines), or one word to cut over lines.
    titles = [" ".join(["\u2031" * 12] * 40), "\u2031" * SHORT]
    data["pieces"] = [{"titre": f"{i}{titles[i % 2]}"[:SHORT], "categorie": "autre", "fichier": f"pieces/p{i}.pdf"}
                      for i in range(4)]
    res = built(write_case(tmp_path / "affaire", data))
    path = res.out / "dossier-complet.pdf"
    with pikepdf.open(path) as pdf:
        labels = [pikepdf.Page(pg).label for pg in pdf.pages]
    n_bord = sum(1 for label in labels if label.startswith("Bordereau"))
    assert n_bord >= 3
    label_x, pages_x, titles, ranges = _bordereau_columns(path, n_bord)
    assert all(label_x - 1 <= g[1] and g[3] < pages_x - 5 for g in titles)
    assert all(g[2] > 15 for g in titles)  # above the bottom of the page
    assert "".join(g[0] for g in titles) == "".join("".join(p.titre.split()) for p in res.inventory.pieces)
    assert "".join(g[0] for g in ranges) == _page_ranges(res, n_bord)
