"""Real-world PDFs (issues 22 and 26): damage never passed in silence, no false alarm, no hang,
refusals in French only, hidden layers kept hidden. Each file is generated (tests/hostile.py) and
goes through the real CLI; the outcome asserted is the one right one."""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest

import hostile
from conftest import check_pdf, default_case, make_pdf, write_case
from refere.pieces import flux, pdfcheck, pdfnames, probe, repair
from test_attacks import refere as limited

PIECE = "pieces/passeport.pdf"


def _case(tmp_path: Path, make, *args) -> Path:
    folder = tmp_path / "affaire"
    write_case(folder, default_case())
    make(folder / PIECE, *args)
    return folder / "dossier.yaml"


def _piece_warning(out: str) -> str:
    lines = [ln for ln in out.splitlines() if "[piece-" in ln]
    return "\n".join(lines)


# --- 22.1: regressions ------------------------------------------------------------------------

def test_undecodable_lzw_part_of_a_contents_array_is_named_with_its_page(tmp_path, run):
    """qpdf raises QpdfRuntimeError (not PdfError) for this LZW part: damage, never « Erreur interne »."""
    case = _case(tmp_path, hostile.pdf_array_bad_lzw)
    result = run("build", case)
    assert result.exit_code == 0, result.output
    warning = _piece_warning(result.output)
    assert "[piece-endommagee]" in warning and "page touchée : 1" in warning
    assert "flux de données compressé illisible" in warning
    with pikepdf.open(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf") as pdf:
        assert len(pdf.pages) == 1


def test_well_compressed_object_stream_is_measured_to_its_end():
    """The inflation bound stops at the end of the zlib data even with input left after it."""
    body = b"abcdefgh" * 212_000
    data = zlib.compress(body, 9) + b"\nendstream\nendobj\n" + b"x" * 100_000
    assert flux.inflated_size(data, probe.MAX_PACKED) == len(body)


def test_pdf_whose_object_streams_inflate_to_megabytes_checks_and_builds(tmp_path):
    case = _case(tmp_path, hostile.pdf_packed_1_7_mb)
    assert not probe.packed_objects_bomb((tmp_path / "affaire" / PIECE).read_bytes())
    ran = limited("build", case, cwd=tmp_path)
    assert ran.code == 0 and "Dossier construit" in ran.out, ran.out
    assert "[piece-" not in ran.out


# --- 22.6: residues -----------------------------------------------------------------------------

def test_content_parts_inflating_past_memory_are_refused_before_stamping(tmp_path):
    case = _case(tmp_path, hostile.pdf_flate_bomb_parts)
    ran = limited("build", case, cwd=tmp_path)
    assert ran.code == 1, ran.out
    assert "passeport.pdf" in ran.out and "contenu de page qui se décompresse en plus de 128 Mo" in ran.out
    assert ran.rss_kb < 600_000


def test_rotation_that_is_not_a_whole_multiple_of_90_is_refused(tmp_path, run):
    case = _case(tmp_path, hostile.pdf_rotate, pikepdf.Object.parse(b"90.5"))
    result = run("build", case)
    assert result.exit_code == 1
    assert "« pieces/passeport.pdf », page 1 : rotation (/Rotate) de 90,5°, pas un multiple de 90" in result.output


@pytest.mark.parametrize("value", [b"0", b"-3", b"/Grand", b"100000"])
def test_a_user_unit_readers_cannot_agree_on_is_refused_naming_it(tmp_path, run, value):
    """/UserUnit 0 or -3 went into the pièce unchanged, each reader falling back its own way (attack 34)."""
    case = _case(tmp_path, hostile.pdf_user_unit, pikepdf.Object.parse(value))
    result = run("build", case)
    assert result.exit_code == 1, result.output
    assert ("« pieces/passeport.pdf », page 1 : unité de mesure de la page (/UserUnit) invalide" in result.output
            and "Traceback" not in result.output)
    assert not (tmp_path / "affaire" / "dossier").exists()


def test_a_sound_user_unit_is_kept_as_the_source_has_it(tmp_path, run):
    case = _case(tmp_path, hostile.pdf_user_unit, 10)
    result = run("build", case)
    assert result.exit_code == 0, result.output
    with pikepdf.open(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf") as pdf:
        assert pdf.pages[0].obj.UserUnit == 10


# --- 22.2: damage never passed in silence ---------------------------------------------------------

@pytest.mark.parametrize("make, label, page", [
    (hostile.pdf_bad_token, "contenu de page mal formé", "page touchée : 2"),
    (hostile.pdf_cut_jpeg, "flux de données compressé illisible", "page touchée : 1"),
    (hostile.pdf_jpeg_cut_at_restart, "flux de données compressé illisible", "page touchée : 1"),
    (hostile.pdf_runlength_damaged, "flux de données compressé illisible", "page touchée : 1"),
    (hostile.pdf_ccitt_damaged, "flux de données compressé illisible", "page touchée : 1"),
    (hostile.pdf_unknown_filter, "flux compressé par un filtre inconnu", "page touchée : 1"),
    (hostile.pdf_truncated, "contenu de page manquant (fichier tronqué ?)", "pages touchées : 1, 2"),
])
def test_damage_is_warned_with_its_page(tmp_path, run, make, label, page):
    case = _case(tmp_path, make)
    result = run("check", case)
    warning = _piece_warning(result.output)
    assert "[piece-endommagee]" in warning, result.output
    assert label in warning and page in warning


PDF_DAMAGED_JPEGS = {
    "progressive-first": lambda: hostile.jpeg_progressive_cut("first"),
    "progressive-between": lambda: hostile.jpeg_progressive_cut("between"),
    "progressive-later-comment": lambda: hostile.jpeg_progressive_cut(
        "later", hostile.JPEG_TAILS["commentaire"] + b"\xff\xd9"),
    "restarts-swapped": lambda: hostile.jpeg_restarts("swapped"),
    "restarts-missing": lambda: hostile.jpeg_restarts("missing"),
    "sequential-dnl": lambda: hostile.jpeg_sequential_cut(hostile.JPEG_TAILS["dnl"]),
    "sequential-segments": lambda: hostile.jpeg_sequential_cut(hostile.JPEG_TAILS["segments"]),
}


@pytest.mark.parametrize("make", PDF_DAMAGED_JPEGS.values(), ids=PDF_DAMAGED_JPEGS.keys())
def test_jpeg_drawn_grey_in_a_pdf_is_warned_with_its_page(tmp_path, run, make):
    """The JPEGs a capture is refused for, as a /DCTDecode image in a pièce: damage on page 1."""
    case = _case(tmp_path, hostile.pdf_jpeg, make())
    result = run("check", case)
    warning = _piece_warning(result.output)
    assert "[piece-endommagee]" in warning, result.output
    assert "flux de données compressé illisible" in warning and "page touchée : 1" in warning


# --- 22.3: no false alarm --------------------------------------------------------------------------

@pytest.mark.parametrize("make", [hostile.pdf_lzw, hostile.pdf_flate_variants, hostile.pdf_orphan_damage,
                                  hostile.pdf_ccitt, hostile.pdf_jpeg_whole,
                                  lambda path: hostile.pdf_jpeg(path, hostile.jpeg_scan(quality=85, progressive=True)),
                                  lambda path: hostile.pdf_jpeg(path, hostile.jpeg_header_oddities())])
def test_sound_pieces_are_never_called_damaged(tmp_path, run, make):
    """A valid LZW stream of 78 KB (past the old 62 KB bound), an empty Flate stream and one
    without its checksum (qpdf and poppler read both), garbage in an object no page uses."""
    case = _case(tmp_path, make)
    result = run("build", case)
    assert result.exit_code == 0, result.output
    assert "[piece-" not in result.output


def test_valid_lzw_is_measured_exactly_and_damaged_lzw_is_damage_not_a_bomb():
    data = b"0 0 m 100 100 l S\n" * 5000
    assert flux.lzw_size(hostile.lzw_encode(data)) == len(data)
    with pytest.raises(flux.Undecodable):
        flux.lzw_size(hostile.BAD_LZW)


def test_rebuilt_cross_reference_table_is_repaired_and_named_so(tmp_path, run):
    case = _case(tmp_path, hostile.pdf_bad_xref)
    result = run("check", case)
    warning = _piece_warning(result.output)
    assert "[piece-reparee]" in warning and "(table des objets (xref) endommagée)" in warning


# --- 22.4 and 26.8: refusals in French, the same each time; valid but unsupported named so ------------

def _encrypted_unknown_filter(path: Path) -> None:
    hostile._page(pdf := pikepdf.new(), pdf.make_stream(hostile.TEXT))
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(owner="o", user="", R=4, aes=True))
    path.write_bytes(buf.getvalue().replace(b"/AESV2", b"/FOOV2"))


@pytest.mark.parametrize("data, expected", [
    (b"%PDF-1.7\n" + b"garbage " * 40, "PDF endommagé ou tronqué, illisible"),
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
     "PDF endommagé ou tronqué, illisible"),
    (None, "PDF chiffré par une méthode que refere ne sait pas lire, format non pris en charge"),
])
def test_refusals_are_french_and_identical_from_run_to_run(tmp_path, run, data, expected):
    case = _case(tmp_path, lambda p: _encrypted_unknown_filter(p) if data is None else p.write_bytes(data))
    first, second = run("check", case), run("check", case)
    assert first.exit_code == second.exit_code == 1
    assert first.output == second.output
    assert expected in first.output and "passeport.pdf" in first.output
    assert not re.search(r"0x[0-9a-f]{6}|BytesIO|unable|trailer dictionary|stream", first.output)


# --- 26.5: a pièce shows what its source shows ----------------------------------------------------------

def _render(path: Path, index: int = 0):
    doc = pdfium.PdfDocument(str(path))
    try:
        return doc[index].render(scale=1).to_pil().convert("L")
    finally:
        doc.close()


def test_hidden_layer_stays_hidden_in_the_piece_and_the_complete_dossier(tmp_path, run):
    case = _case(tmp_path, hostile.pdf_layers)
    result = run("build", case)
    assert result.exit_code == 0, result.output
    source = _render(tmp_path / "affaire" / PIECE)
    assert source.getpixel((200, 792 - 500)) > 240  # the hidden black square is not drawn
    assert abs(source.getpixel((425, 792 - 475)) - 128) < 10  # the visible grey one is
    out = tmp_path / "affaire/dossier"
    complete = pdfium.PdfDocument(str(out / "dossier-complet.pdf"))
    first_piece_page = 1  # after the one-page bordereau
    complete.close()
    for rendered in (_render(out / "pieces/01_Passeport.pdf"), _render(out / "dossier-complet.pdf", first_piece_page)):
        # The pièce is the source page with a stamp band added on top: compare the source's area.
        body = rendered.crop((0, rendered.height - 792, 612, rendered.height))
        diff = sum(abs(a - b) for a, b in zip(body.tobytes(), source.tobytes())) / (612 * 792)
        assert diff < 1.0
    with pikepdf.open(out / "pieces/01_Passeport.pdf") as pdf:
        assert len(pdf.Root.OCProperties.D.OFF) == 1


@pytest.mark.parametrize("value, shown", [(2**40, "1099511627776"), (-2**31, "-2147483648"),
                                          (90 * 10**12, "90000000000000")])
def test_rotation_out_of_range_is_refused_as_such_not_as_no_number(tmp_path, run, value, shown):
    case = _case(tmp_path, hostile.pdf_rotate, value)
    result = run("build", case)
    assert result.exit_code == 1
    assert (f"« pieces/passeport.pdf », page 1 : rotation (/Rotate) de {shown}°, hors limites (les lecteurs PDF "
            "ne la lisent pas tous de la même façon)") in result.output
    assert "pas un nombre" not in result.output


def _parent_lies(path: Path) -> None:
    """A page listed by the root /Pages (US letter, no rotation) whose /Parent names another
    /Pages node, listed nowhere, that says 100 × 100 turned a quarter: pdfium draws that blank."""
    pdf = pikepdf.new()
    hostile._page(pdf, pdf.make_stream(hostile.TEXT))
    page = pdf.pages[0].obj
    pdf.Root.Pages.MediaBox, pdf.Root.Pages.Resources = page.MediaBox, page.Resources
    del page["/MediaBox"], page["/Resources"]
    page.Parent = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Pages, Kids=[], Count=0, Rotate=90,
                                                       MediaBox=[0, 0, 100, 100]))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path)


def _parent_lies_harmlessly(path: Path) -> None:
    """The same lie, but the page holds its own box and resources and neither node gives another:
    every reader draws the same page (qpdf's own test file duplicate-page-inherited-2-fixed.pdf)."""
    pdf = pikepdf.new()
    hostile._page(pdf, pdf.make_stream(hostile.TEXT))
    pdf.pages[0].obj.Parent = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Pages, Kids=[], Count=0))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path)


def test_a_parent_lie_that_changes_no_attribute_is_no_warning(tmp_path, run):
    """Checked against the real-world corpora: two sound qpdf test files were called « réparée »
    for a /Parent that changes nothing any reader draws. Said only when an inherited attribute
    the page lacks would come otherwise through its /Parent."""
    case = _case(tmp_path, _parent_lies_harmlessly)
    result = run("build", case)
    assert result.exit_code == 0, result.output
    assert "[piece-" not in result.output, result.output


def test_a_page_whose_parent_lies_is_filed_as_its_tree_lists_it_and_named(tmp_path, run):
    """Attack 34: the pièce took the box from the listing node and the rotation from /Parent, a
    third picture neither poppler nor pdfium shows, unsaid. Now it is what poppler and qpdf read
    (the tree that lists the page), and the page is named: readers disagree on the original."""
    case = _case(tmp_path, _parent_lies)
    with pikepdf.open(tmp_path / "affaire" / PIECE) as pdf:
        assert pdf.pages[0].obj.Parent.objgen != pdf.Root.Pages.objgen  # the lie is in the file
    result = run("build", case)
    assert result.exit_code == 0, result.output
    assert ("[piece-reparee] pièce réparée : « pieces/passeport.pdf » (page rattachée (/Parent) à un autre nœud "
            "de l'arbre des pages que celui qui la liste : les lecteurs PDF ne la montrent pas tous de la même "
            "façon ; page touchée : 1)") in result.output
    doc = pdfium.PdfDocument(str(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf"))
    try:
        page = doc[0]
        width, height = page.get_size()
        assert (page.get_rotation(), width) == (0, 612) and height >= 792
        assert "Bonjour" in page.get_textpage().get_text_range()
    finally:
        doc.close()


def test_aes256_permissions_that_do_not_match_are_named_so(tmp_path, run):
    """Attack 34: an AES-256 file whose /Perms (the permissions under the key) was altered was
    « objet mal formé »; it is the encryption's permissions entry that does not match."""
    def make(path: Path) -> None:
        hostile._page(pdf := pikepdf.new(), pdf.make_stream(hostile.TEXT))
        buf = io.BytesIO()
        pdf.save(buf, encryption=pikepdf.Encryption(owner="o", user="", R=6))
        data = buf.getvalue()
        perms = re.search(rb"/Perms\s*<([0-9a-fA-F]+)>", data)
        path.write_bytes(data[:perms.start(1)] + perms.group(1)[::-1] + data[perms.end(1):])

    result = run("check", _case(tmp_path, make))
    assert result.exit_code == 0, result.output
    assert ("[piece-reparee] pièce réparée : « pieces/passeport.pdf » (autorisations du chiffrement (/Perms) "
            "contraires au reste du chiffrement) ;") in _piece_warning(result.output)


# --- issue 22, fourth pass: the last corpus defect and its neighbour ------------------------------

def _built_clean(tmp_path: Path, run, make, *args):
    """The case built with ``make``'s PDF as pièce 1, without a warning, the pièce and the complete
    dossier passing qpdf --check: the output folder, and the source's page as each draws it."""
    result = run("build", _case(tmp_path, make, *args))
    assert result.exit_code == 0, result.output
    assert "[piece-" not in result.output
    out = tmp_path / "affaire/dossier"
    for path in (out / "pieces/01_Passeport.pdf", out / "dossier-complet.pdf"):
        check_pdf(path)
    drawn = (_render(out / "pieces/01_Passeport.pdf"), _render(out / "dossier-complet.pdf", 1))
    return out, [page.crop((0, page.height - 792, 612, page.height)) for page in drawn]


def test_names_with_a_stray_pound_from_pdf_1_0_pass_qpdf_check_and_are_still_drawn(tmp_path, run):
    """/Im#1 is legal in PDF 1.0 (qpdf's name-pound-images.pdf); the pièce, PDF 1.5, spells it
    /Im#231 in its resources and content alike: qpdf --check passes, the images are drawn."""
    out, bodies = _built_clean(tmp_path, run, hostile.pdf_pound_names)
    source = _render(tmp_path / "affaire" / PIECE)
    for body in bodies:
        assert body.tobytes() == source.tobytes()
        for x, y in ((100, 142), (400, 142), (100, 442)):  # /Im#1, /Im#, and /Im# inside /Fm#1
            assert body.getpixel((x, y)) < 20, (x, y)
        assert body.getpixel((250, 142)) > 240  # between two squares: blank
    with pikepdf.open(out / "pieces/01_Passeport.pdf") as pdf:
        form = pdf.pages[0].Resources.XObject["/FRefereP"]
        assert sorted(form.Resources.XObject.keys()) == ["/Fm#1", "/Im#", "/Im#1"]  # a real « # » now


def test_stray_name_beside_its_legal_spelling_keeps_both_images_apart(tmp_path, run):
    """/Im#1 (stray) and /Im#231 in one PDF 1.0 dictionary are two names in the version the file
    declares (« # » escapes came with 1.2), so two images: the stray one gets a spelling of its own
    in its key and its call alike; qpdf --check passes and each square keeps its own shade
    (attack 9: the call was renamed onto the other image). Viewers reading it by the 1.2 rules
    disagree with each other (PDFium draws grey twice, poppler drops the left one)."""
    out, bodies = _built_clean(tmp_path, run, hostile.pdf_pound_names_colliding)
    for body in bodies:
        assert body.getpixel((100, 142)) < 20  # the stray /Im#1: black
        assert 100 < body.getpixel((350, 142)) < 160  # /Im#231: mid-grey
        assert body.getpixel((250, 142)) > 240
    with pikepdf.open(out / "pieces/01_Passeport.pdf") as pdf:
        form = pdf.pages[0].Resources.XObject["/FRefereP"]
        assert sorted(form.Resources.XObject.keys()) == ["/Im#1", "/Im#1_1"]


def _saved(data: bytes, legalise: bool) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as doc:
        if legalise:
            pdfnames.legalise(doc)
        doc.save(out, deterministic_id=True)
    return out.getvalue()


@pytest.mark.parametrize("make", [hostile.pdf_layers, hostile.pdf_ccitt, hostile.pdf_lzw])
@pytest.mark.parametrize("version", ["1.0", "1.7"])
def test_pdf_without_stray_names_is_left_byte_for_byte(tmp_path, make, version):
    """Only a name with a stray « # » is rewritten: any other PDF 1.0 (or later) is not touched."""
    with pikepdf.open(make(tmp_path / "source.pdf")) as pdf:
        data = io.BytesIO()
        pdf.save(data, force_version=version)
    assert _saved(data.getvalue(), True) == _saved(data.getvalue(), False)
    pound = hostile.pdf_pound_names(tmp_path / "pound.pdf").read_bytes()
    assert _saved(pound, True) != _saved(pound, False)


def test_damaged_stream_shared_by_two_pages_names_both(tmp_path, run):
    """One image under an unknown filter cited by pages 1 and 2 (qpdf's indirect-filter.pdf)."""
    case = _case(tmp_path, hostile.pdf_unknown_filter_shared)
    result = run("check", case)
    warning = _piece_warning(result.output)
    assert "[piece-endommagee]" in warning, result.output
    assert "flux compressé par un filtre inconnu" in warning and "pages touchées : 1, 2" in warning


# --- attack 10: one object named a great many times, a deep page tree ------------------------

@pytest.mark.parametrize("times, size, message", [
    (20_000, 1_000_000, "contenu de page qui se décompresse en plus de 128 Mo"),
    (100_001, 10, "contenu de page découpé en plus de 100\u202f000 morceaux"),
])
def test_content_naming_one_stream_many_times_is_refused_at_once(tmp_path, run, times, size, message):
    """20,000 × 1 MB took 50 s to add up (every part measured anew, past the limit too); a
    million parts, 40 minutes. Each part is measured once now, the total stops at the limit."""
    case = _case(tmp_path, hostile.pdf_contents_repeated, times, size)
    source = (tmp_path / "affaire" / PIECE).read_bytes()
    result = run("check", case)
    assert result.exit_code == 1
    assert f"« pieces/passeport.pdf », page 1 : {message}" in result.output
    assert (tmp_path / "affaire" / PIECE).read_bytes() == source


def test_page_listed_thousands_of_times_is_refused_before_qpdf_copies_it(tmp_path, run):
    """qpdf lists pages by copying each repeat (a million repeats in 9 KB: 2.4 GB, « Erreur
    interne » under a 1.5 GB cap): counted first, by walking /Kids."""
    case = _case(tmp_path, hostile.pdf_kids_repeated, 5_000)
    result = run("check", case)
    assert result.exit_code == 1
    assert ("« pieces/passeport.pdf » : plus de 2000 pages, c'est trop pour une pièce ; ne gardez que les "
            "pages utiles") in result.output


@pytest.mark.parametrize("packed", [False, True], ids=["objets-a-plat", "flux-d-objets"])
def test_annotation_listed_twice_is_no_damage(tmp_path, run, packed):
    """A valid page listing one annotation twice: qpdf notes it (« kid 0 … duplicate entry »), which
    was read as a damaged page tree — and, inside an object stream, as a damaged object stream."""
    _, bodies = _built_clean(tmp_path, run, hostile.pdf_annotation_repeated, 2, packed)
    source = _render(tmp_path / "affaire" / PIECE)
    assert [body.tobytes() for body in bodies] == [source.tobytes()] * 2


def test_page_with_more_annotations_than_any_document_is_refused(tmp_path, run):
    case = _case(tmp_path, hostile.pdf_annotation_repeated, 100_001, True)
    result = run("check", case)
    assert result.exit_code == 1
    assert "« pieces/passeport.pdf », page 1 : page qui porte plus de 100\u202f000 annotations" in result.output


def test_page_tree_deeper_than_qpdf_walks_is_unsupported_not_damaged(tmp_path, run):
    case = _case(tmp_path, hostile.pdf_deep_page_tree, 200)
    result = run("check", case)
    assert result.exit_code == 1
    assert ("« pieces/passeport.pdf » : arbre des pages imbriqué sur plus de 100 niveaux, format non pris "
            "en charge") in result.output
    assert "endommagé" not in result.output


@pytest.mark.parametrize("warning, label", [
    # The object's position names the object stream it sits in: no finding about that stream.
    ("a.pdf object stream 1, object 4 0 at offset 106: /Type key should be /Page but is not; overriding",
     "arbre des pages endommagé"),
    ("a.pdf, object 2 0 at offset 73: /Type key should be /Pages but is not; overriding", "arbre des pages endommagé"),
    ("a.pdf (xref table, offset 585): accepting invalid xref table entry", "table des objets (xref) endommagée"),
    ("a.pdf (object 7 0, offset 1200): expected endstream", "longueur d'un flux (/Length) erronée"),
], ids=["dans-un-flux-d-objets", "type-pages", "xref", "endstream"])
def test_qpdf_findings_named_by_what_they_say_not_by_where(warning, label):
    """Messages as libqpdf 12 writes them (corpus: no-pages-types.pdf, xref-errors.pdf)."""
    assert repair.label(warning) == label


@pytest.mark.parametrize("make, args, message", [
    (hostile.pdf_contents_shared, (3, 1, 100_000_000),
     "« pieces/passeport.pdf », page 3 : avec les pages d'avant, contenu qui se décompresse en plus de 256 Mo au total"),
    (hostile.pdf_contents_shared, (10, 30_000, 10),
     "« pieces/passeport.pdf » : plus de 200\u202f000 morceaux de contenu et annotations sur ses pages"),
    (hostile.pdf_kids_nulls, (30_000,), "« pieces/passeport.pdf » : arbre des pages démesuré (plus de 20\u202f000 entrées)"),
], ids=["contenu-partage-trop-gros", "contenu-partage-trop-de-morceaux", "kids-nuls"])
def test_what_many_pages_share_is_counted_for_each_of_them(tmp_path, run, make, args, message):
    """attack 11: one /Contents array shared by ten pages, each joining 128 MB when stamped
    (« Erreur interne » in memory), or by 2,000 pages (still checking after 340 s); a million
    nulls in /Kids (49 s). Each is refused in French, the source untouched."""
    case = _case(tmp_path, make, *args)
    source = (tmp_path / "affaire" / PIECE).read_bytes()
    result = run("check", case)
    assert result.exit_code == 1
    assert message in result.output
    assert (tmp_path / "affaire" / PIECE).read_bytes() == source


@pytest.mark.parametrize("make, args, message", [
    (hostile.pdf_content_stream_shared, (300, 1_000_000),
     "page 257 : avec les pages d'avant, contenu qui se décompresse en plus de 256 Mo au total"),
    (hostile.pdf_runlength_forms, (10,), "flux compressés qui se décompressent en plus de 2 Go au total"),
], ids=["un-flux-de-contenu-pour-300-pages", "dix-formes-de-255-Mo"])
def test_what_the_writing_would_copy_or_decode_is_bounded_over_the_document(tmp_path, run, make, args, message):
    """attack 12: one 1 MB content stream drawn by 2,000 pages (each stamped page copies it:
    « Erreur interne » in memory); 400 forms of 255 MB each once decoded (the check measured each,
    130 s; the writing would decode 100 GB)."""
    case = _case(tmp_path, make, *args)
    result = run("check", case)
    assert result.exit_code == 1
    assert message in result.output


def test_runs_and_codes_are_counted_within_one_allowance_per_document():
    """Counting LZW codes and RunLength runs is the one check done a unit at a time in Python:
    within a document's span the counts share one allowance, spent by whatever counts first."""
    with flux.counting(1_000):
        assert flux.runlength_size(hostile.fine_runs("/RunLengthDecode", 400)) == 400
        assert flux.lzw_size(hostile.lzw_encode(b"abc" * 100)) == 300
        with pytest.raises(flux.TooCostly):  # 600 more runs: past the 1,000 with the LZW codes
            flux.runlength_size(hostile.fine_runs("/RunLengthDecode", 600))
    # Outside a document, each count has the whole allowance to itself.
    assert flux.runlength_size(hostile.fine_runs("/RunLengthDecode", 400)) == 400


@pytest.mark.parametrize("kind, count", [("/RunLengthDecode", 45_000_000), ("/LZWDecode", 25_000_000)],
                         ids=["runlength", "lzw"])
def test_data_cut_too_fine_to_count_is_refused_as_unsupported(tmp_path, run, kind, count):
    """A few hundred KB of Flate over tens of millions of one-byte runs (or LZW clear codes, which
    decode to nothing) held a core for minutes while each was counted: refused as not supported,
    in French, once the document's allowance is spent."""
    case = _case(tmp_path, hostile.pdf_fine_runs, kind, count)
    assert (tmp_path / "affaire" / PIECE).stat().st_size < 400_000
    result = run("check", case)
    assert result.exit_code == 1
    assert (f"« pieces/passeport.pdf » : format non pris en charge (flux {kind[1:-6]} découpés en trop de "
            "morceaux pour être vérifiés en un temps raisonnable)") in result.output


# --- attack 13 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("disguise", hostile.PACKED_DISGUISES)
def test_object_stream_bomb_is_found_however_its_dictionary_is_written(tmp_path, run, disguise):
    """Catalog and page inside an object stream of 200 KB that inflates to 200 MB (qpdf inflates it
    whole on opening: 4 GB for a 3 MB file); its dictionary padded past what a look before
    « stream » sees, its /Filter or /Type held by another object, « # » escapes, a lone CR, a
    decoy header or keyword inside a string, LZW either way. Refused before qpdf opens it; the
    same file inflating to 1 MB is a sound pièce."""
    case = _case(tmp_path, hostile.pdf_packed_bomb, disguise)
    result = run("check", case)
    assert result.exit_code == 1
    assert ("« pieces/passeport.pdf » : PDF dont les objets compressés se décompressent en plus de 64 Mo, "
            "refusé pour protéger la mémoire") in result.output
    hostile.pdf_packed_bomb(tmp_path / "affaire" / PIECE, disguise, 1_000_000)
    result = run("check", case)
    assert result.exit_code == 0 and "objets compressés" not in result.output, result.output
    # A lone CR after « stream », a /Length that lies, are off the standard: qpdf reads them, and
    # says so (a true warning).
    assert ("[piece-" in result.output) == (disguise in ("cr-seul", "lzw-longueur-courte")), result.output


@pytest.mark.parametrize("disguise", hostile.UNMEASURED_DISGUISES)
def test_a_pdf_that_makes_qpdf_allocate_without_end_is_refused_by_its_capped_reader(tmp_path, disguise):
    """An LZW object stream without /Type, or typed as something else (qpdf uses it all the same,
    and has no limit of its own on LZW): nothing measures it beforehand, so the PDF is read in a
    child process whose memory is capped; 2 GB of zeros there, a refusal in French here, and the
    command itself stays under the 1.5 GB the test allows it (attack 14)."""
    case = _case(tmp_path, hostile.pdf_packed_bomb, disguise, 2_000_000_000)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 1, ran.out
    assert ("« pieces/passeport.pdf » : PDF qui demande plus de 1 Go de mémoire pour être lu, refusé pour protéger "
            "la mémoire") in ran.out


def test_qpdf_itself_stops_inflating_past_what_the_checks_allow(tmp_path):
    """Behind the reading of dictionaries, qpdf's own limit: an object stream inflating past
    300 MB is not inflated, whatever hides it (the file is then unreadable, never a memory blow-up)."""
    path = hostile.pdf_packed_bomb(tmp_path / "bombe.pdf", "rembourre", 400_000_000)
    pdfcheck.qpdf_limits()
    with pytest.raises(pikepdf.PdfError):
        with pikepdf.open(path) as pdf:
            len(pdf.pages)


def test_content_of_millions_of_operators_is_checked_in_bounded_memory(tmp_path):
    """24 MB of « q » (a 24 KB file): the damage check tokenised it into a list of 12 million
    instructions, 3.7 GB. Tokens are now counted, not kept: the check passes under the 1.5 GB cap."""
    case = _case(tmp_path, hostile.pdf_many_tokens, 24_000_000)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 0, ran.out
    assert "[piece-" not in ran.out


@pytest.mark.parametrize("pound", [False, True], ids=["sans-diese", "avec-diese"])
def test_pdf_1_1_with_huge_content_builds_in_bounded_memory(tmp_path, pound):
    """A PDF 1.1 page of 60 MB of « q » (60 KB of file): the renaming of pre-1.2 names tokenised
    every content stream whole (7.6 GB, then « Erreur interne »). It now reads content only when
    a resource name has a stray « # », and not past 1 MB: the build passes under the 1.5 GB cap."""
    case = _case(tmp_path, hostile.pdf_many_tokens, 60_000_000, "1.1", pound)
    ran = limited("build", case, cwd=tmp_path)
    assert ran.code == 0, ran.out
    with pikepdf.open(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf") as pdf:
        assert len(pdf.pages) == 1


@pytest.mark.parametrize("kind", ["entetes", "leurres"])
def test_a_flood_of_objects_for_the_reader_is_refused_at_once(tmp_path, run, kind):
    """The reading of stream dictionaries is bounded: a million object headers, or headers and
    keywords written inside one another's strings, are refused in French (not read for minutes)."""
    case = _case(tmp_path, hostile.pdf_object_flood, kind)
    result = run("check", case)
    assert result.exit_code == 1
    assert "« pieces/passeport.pdf » : PDF à la structure démesurée" in result.output


def test_the_date_of_a_pdf_capture_is_read_in_a_capped_process(tmp_path):
    """The web dates an uploaded PDF capture by its creation date, in the server's own process: an
    LZW object stream nothing can measure beforehand took it to 2 GB. It is read in a capped
    child: no date, and the caller's own memory stays small."""
    import subprocess
    import sys

    bomb = hostile.pdf_packed_bomb(tmp_path / "capture.pdf", "lzw-sans-type", 2_000_000_000)
    # VmHWM, this process's own peak (ru_maxrss keeps the peak of pytest, which forked it).
    code = ("import sys; from pathlib import Path; from refere.preuves import shotdates; "
            "print(shotdates.from_content('pdf', Path(sys.argv[1]).read_bytes()), "
            "[int(x.split()[1]) // 1024 for x in open('/proc/self/status') if x.startswith('VmHWM')][0])")
    done = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=120)
    date, peak_mb = done.stdout.split()
    assert (done.returncode, date, done.stderr) == (0, "None", "")
    assert int(peak_mb) < 300, peak_mb


def test_objects_the_checks_do_not_walk_are_read_in_the_capped_process(tmp_path):
    """An array of 31 million zeros in a 60 KB object stream, referenced by nothing: the checks
    never touched it, the pièce's clean-up (every object) took the build to 4.5 GB, the web server
    too (attack 15). Every object is read in the capped child: refused in French, the command
    within the 1.5 GB the test allows it. The same PDF with a small array is a sound pièce."""
    case = _case(tmp_path, hostile.pdf_packed_array)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 1, ran.out
    assert "« pieces/passeport.pdf » : PDF qui demande plus de 1 Go de mémoire pour être lu" in ran.out
    hostile.pdf_packed_array(tmp_path / "affaire" / PIECE, 3_000_000)  # 420 MB once read (attack 17)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 1 and "PDF dont les objets occupent plus de 64 Mo une fois lus" in ran.out, ran.out
    hostile.pdf_packed_array(tmp_path / "affaire" / PIECE, 1000)
    ran = limited("build", case, cwd=tmp_path)
    assert ran.code == 0 and "[piece-" not in ran.out, ran.out


def test_pdfs_that_each_pass_but_together_would_fill_the_memory_are_refused(tmp_path):
    """Each source may take 64 MB once read; the build holds a pièce's sources at once, then every
    pièce: ten such files took it to 4.3 GB (attack 17). Three of 62 MB pass one by one, but not
    together: refused in French, the heaviest named, by ``check`` too, from the cache as well, and
    nothing is built. A sound PDF weighs next to nothing."""
    folder = tmp_path / "affaire"
    data = default_case()
    data["pieces"].append({"titre": "Attestation", "categorie": "autre", "fichier": "pieces/attestation.pdf"})
    case = write_case(folder, data)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 0, ran.out
    for name in ("passeport", "courriel", "attestation"):
        hostile.pdf_packed_array(folder / f"pieces/{name}.pdf", 450_000)  # 62 MB once read
    for _ in range(2):  # checked, then known from the cache
        ran = limited("check", case, cwd=tmp_path)
        assert ran.code == 1, ran.out
        assert "[pdf-trop-lourds] Pièces trop lourdes : les PDF de ce dossier occupent ensemble plus de 160 Mo" in ran.out
        assert all(f"« pieces/{n}.pdf » (6" in ran.out for n in ("passeport", "courriel", "attestation")), ran.out
    ran = limited("build", case, cwd=tmp_path)
    assert ran.code == 1 and "occupent ensemble plus de 160 Mo" in ran.out, ran.out
    assert not (folder / "dossier").exists()
    hostile.pdf_packed_array(folder / "pieces/attestation.pdf", 1000)
    ran = limited("build", case, cwd=tmp_path)
    assert ran.code == 0 and "[piece-endommagee]" not in ran.out, ran.out
    with pikepdf.open(folder / "dossier/dossier-complet.pdf") as pdf:
        assert len(pdf.pages) > 3


def test_page_content_joined_over_a_pieces_sources_is_bounded(tmp_path):
    """Each source may join 256 MB of page content for the stamping; the pièce holds it for all
    its sources until saved: eight of 254 MB took a build to 2.3 GB (attack 18). Two of 130 MB in
    one pièce are refused, naming the pièce and the files; in two pièces they pass."""
    folder = tmp_path / "affaire"
    data = default_case()
    data["pieces"][0] = {"titre": "Passeport", "categorie": "identite",
                         "fichiers": ["pieces/passeport.pdf", "pieces/passeport-suite.pdf"]}
    case = write_case(folder, data)
    hostile.pdf_joined_content(folder / "pieces/passeport.pdf", 65_000_000)
    hostile.pdf_joined_content(folder / "pieces/passeport-suite.pdf", 65_000_001)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 1, ran.out
    assert ("[pdf-trop-lourds] Pièces trop lourdes : pièce n° 1 « Passeport » : ses fichiers demandent plus de 256 Mo "
            "de mémoire pour l'écrire, fichiers et contenu des pages (les plus lourds : « pieces/passeport-suite.pdf » "
            "(130 Mo), « pieces/passeport.pdf » (130 Mo))") in ran.out
    ran = limited("build", case, "--brouillon", cwd=tmp_path)
    assert ran.code == 1 and "répartissez-les entre plusieurs pièces" in ran.out, ran.out
    assert not (folder / "dossier").exists()
    data["pieces"][0]["fichiers"] = ["pieces/passeport.pdf"]
    data["pieces"].append({"titre": "Passeport (suite)", "categorie": "identite", "fichier": "pieces/passeport-suite.pdf"})
    write_case(folder, data)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 0, ran.out


def test_a_piece_whose_files_are_too_heavy_to_hold_is_refused_naming_them(tmp_path):
    """Writing a pièce holds each listing's bytes (PDF, JPEG) until it is saved: twelve 96 MB scans
    in one pièce took a build and the web server to 2.3 GB, one listed sixteen times to 3.1 GB
    (attack 19). A 30 MB scan listed nine times is refused by check and build, the file named with
    how often it is listed; listed twice, it is built."""
    folder = tmp_path / "affaire"
    data = default_case()
    data["pieces"][0] = {"titre": "Passeport", "categorie": "identite", "fichiers": ["pieces/scan.pdf"] * 9}
    case = write_case(folder, data)
    hostile.pdf_heavy_scan(folder / "pieces/scan.pdf", 30_000_000)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 1, ran.out
    assert ("pièce n° 1 « Passeport » : ses fichiers demandent plus de 256 Mo de mémoire pour l'écrire, fichiers et "
            "contenu des pages (les plus lourds : « pieces/scan.pdf » (270 Mo, cité 9 fois))") in ran.out
    ran = limited("build", case, "--brouillon", cwd=tmp_path)
    assert ran.code == 1 and "cité 9 fois" in ran.out and not (folder / "dossier").exists(), ran.out
    data["pieces"][0]["fichiers"] = ["pieces/scan.pdf"] * 2
    write_case(folder, data)
    ran = limited("build", case, "--brouillon", cwd=tmp_path)
    assert ran.code == 0, ran.out
    with pikepdf.open(folder / "dossier/pieces/01_Passeport.pdf") as pdf:
        assert len(pdf.pages) == 2


def test_the_heaviest_files_are_named_with_every_listing_counted():
    """A small file listed 30,000 times made the total; the message named three others, each
    « 1 Mo » when they weighed a tenth of that (attack 19)."""
    from refere.pieces import plan, probe

    def pdf(written: str, weight: int) -> probe.SourceInfo:
        return probe.SourceInfo(Path(written), written, "pdf", 1, written, 10_000, poids=weight)

    problem = plan.heavy_problem([("Passeport", [pdf("pieces/a.pdf", 8_000)] * 30_000),
                                  ("Courriel", [pdf("pieces/courriel.pdf", 120_000)])])
    assert problem is not None and "(les plus lourds : « pieces/a.pdf » (240 Mo, cité 30\u202f000 fois), " \
                                   "« pieces/courriel.pdf » (moins d'1 Mo))" in problem, problem


def test_layers_are_weighed_as_the_piece_carries_them(tmp_path):
    """The layer configuration is carried over list by list, once per listing of the file: 300,000
    entries took a build to 2 GB (attack 18). Past 10,000 entries: refused at once; under, what the
    carrying takes is part of the file's weight (counted for each listing, see MAX_HELD)."""
    from refere.errors import FileProblem
    from refere.pieces import probe

    hostile.pdf_layer_lists(tmp_path / "calques.pdf", 20_000)
    with pytest.raises(FileProblem, match="« calques.pdf » : PDF aux calques démesurés .plus de 10\u202f000 entrées"):
        probe._pdf_isolated((tmp_path / "calques.pdf").read_bytes(), "calques.pdf")
    hostile.pdf_layer_lists(tmp_path / "calques.pdf", 2_400)
    assert probe._pdf_isolated((tmp_path / "calques.pdf").read_bytes(), "calques.pdf")[2] > 1 << 20


def test_objects_read_while_opening_count_against_the_limit(tmp_path):
    """An array packed beside the catalogue is read by qpdf as it opens the file: measured from
    after the opening, it weighed nothing and passed the 64 MB limit at 137 MB (attack 18)."""
    from refere.errors import FileProblem
    from refere.pieces import probe

    hostile.pdf_array_beside_catalogue(tmp_path / "piece.pdf", 600_000)
    with pytest.raises(FileProblem, match="« piece.pdf » : PDF dont les objets occupent plus de 64 Mo une fois lus"):
        probe._pdf_isolated((tmp_path / "piece.pdf").read_bytes(), "piece.pdf")
    hostile.pdf_array_beside_catalogue(tmp_path / "piece.pdf", 1000)
    assert probe._pdf_isolated((tmp_path / "piece.pdf").read_bytes(), "piece.pdf")[2] < 1 << 20


def test_a_sound_pdf_weighs_next_to_nothing(tmp_path):
    from refere.pieces import probe

    make_pdf(tmp_path / "piece.pdf", text="piece")
    assert 0 <= probe._pdf_isolated((tmp_path / "piece.pdf").read_bytes(), "piece.pdf")[2] < 1 << 20


def test_the_date_of_a_pdf_is_read_once_per_content(tmp_path, monkeypatch):
    """The web dates a case's loose PDF captures on every view of its page: each was a child
    process, 2 s for a hostile one, on every view (attack 15). Remembered by SHA-256 now."""
    from refere import isolee
    from refere.preuves import shotdates

    data = make_pdf(tmp_path / "capture.pdf").read_bytes()
    first = shotdates.from_content("pdf", data)
    calls = []
    monkeypatch.setattr(isolee, "run_forked", lambda *a, **k: calls.append(a))
    assert shotdates.from_content("pdf", data) == first and calls == []
    assert shotdates.from_content("pdf", data + b"\n%autre\n") is None and len(calls) == 1


@pytest.mark.parametrize("options, annotations, message", [
    (2_000, 0, "« pieces/passeport.pdf » : PDF qui demande plus de 1 Go de mémoire pour être lu"),
    (1, 6_000, "« pieces/passeport.pdf », page 1 : formulaire de plus de 5\u202f000 annotations sur la page"),
], ids=["liste-de-2000-renvois", "6000-annotations"])
def test_a_form_the_writing_would_draw_without_end_is_refused_by_the_check(tmp_path, options, annotations, message):
    """The build draws and flattens a PDF's form fields (qpdf): a list box citing one 2 MB string
    2,000 times (a 3 KB file) took it to 8 GB, 40,000 annotations to 200 s, after a check that
    passed (attack 16). The check now does the same clean-up in its capped process, and counts a
    form page's annotations first."""
    case = _case(tmp_path, hostile.pdf_form, options, annotations)
    ran = limited("check", case, cwd=tmp_path)
    assert ran.code == 1, ran.out
    assert message in ran.out
    hostile.pdf_form(tmp_path / "affaire" / PIECE, 3, 100)
    ran = limited("build", case, cwd=tmp_path)
    assert ran.code == 0, ran.out


def test_pages_are_bounded_per_piece_and_per_dossier():
    """A 2,000-page PDF listed forty times, 80,000 pages, took a build to 833 MB (attack 19)."""
    from refere.pieces import plan, probe

    def pdf(pages: int) -> probe.SourceInfo:
        return probe.SourceInfo(Path("pieces/long.pdf"), "pieces/long.pdf", "pdf", pages, "sha", 10_000)

    assert plan.heavy_problem([("Bail, annexes", [pdf(1500), pdf(501)])]) == (
        "pièce n° 1 « Bail, annexes » : plus de 2\u202f000 pages, c'est trop pour une pièce ; ne gardez que les "
        "pages utiles, ou répartissez-les entre plusieurs pièces")
    assert plan.heavy_problem([("Bail", [pdf(2000)])] * 5) is None
    assert plan.heavy_problem([("Bail", [pdf(2000)])] * 5 + [("Avenant", [pdf(1)])]) == (
        "plus de 10\u202f000 pages en tout, c'est trop pour un dossier ; ne gardez que les pages utiles")
