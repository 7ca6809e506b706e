"""Images as a viewer shows them (issue 22.5, 22.6, 26.8): every EXIF orientation, a 16-bit grey
key colour flattened on white, odd metadata never an internal error, image data running past its
rows never copied raw, a valid JPEG refere cannot decode named « format non pris en charge »,
check and build agreeing on every capture. Files are generated (tests/hostile.py) and the pièce
is rendered with pdfium, as a viewer draws it."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

import hostile
from conftest import default_case, make_png, write_case


def _case(tmp_path: Path, make, ext: str, *args) -> Path:
    """The image is capture n° 1 and the first pièce at once."""
    data = default_case()
    data["tentatives"][0]["capture"] = f"captures/c00.{ext}"
    data["pieces"][0]["fichier"] = f"pieces/image.{ext}"
    folder = tmp_path / "affaire"
    write_case(folder, data)
    make(folder / f"captures/c00.{ext}", *args)
    make(folder / f"pieces/image.{ext}", *args)
    return folder / "dossier.yaml"


def _rendered_picture(pdf_path: Path):
    """The picture on page 1 of a pièce as pdfium draws it (page rotation applied), cropped to the
    image: everything below the stamp's margin that is not page white."""
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        page = doc[0].render(scale=2).to_pil().convert("L")
    finally:
        doc.close()
    body = page.crop((0, int(page.height * 0.08), page.width, page.height))
    box = body.point(lambda v: 255 if v < 250 else 0).getbbox()
    return body.crop(box)


def _quarters(img) -> list[float]:
    w, h = img.size
    out = []
    for box in ((0, 0, w // 2, h // 2), (w // 2, 0, w, h // 2), (0, h // 2, w // 2, h), (w // 2, h // 2, w, h)):
        part = img.crop((box[0] + 3, box[1] + 3, box[2] - 3, box[3] - 3)).tobytes()
        out.append(sum(part) / len(part))
    return out


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_shown_upright(tmp_path, run, orientation):
    case = _case(tmp_path, hostile.jpeg_oriented, "jpg", orientation)
    result = run("build", case)
    assert result.exit_code == 0, result.output
    picture = _rendered_picture(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf")
    assert picture.height > picture.width  # the arrow picture is portrait
    top_left, *others = _quarters(picture)
    assert top_left < 40 and all(abs(q - 128) < 25 for q in others), (orientation, _quarters(picture))


def test_sixteen_bit_grey_with_a_transparent_key_is_flattened_on_white(tmp_path, run):
    case = _case(tmp_path, hostile.png_grey16_trns, "png")
    result = run("build", case)
    assert result.exit_code == 0, result.output
    picture = _rendered_picture(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf")
    # Only the opaque right half (grey 0x2000 → 32) is left once the white is cropped away.
    assert picture.width == pytest.approx(picture.height, rel=0.1)
    assert sum(picture.tobytes()) / len(picture.tobytes()) < 45


def test_exif_orientation_written_as_text_is_ignored_not_an_internal_error(tmp_path, run):
    case = _case(tmp_path, hostile.png_exif_orientation, "png", b"abc")
    result = run("build", case)
    assert result.exit_code == 0, result.output
    assert "Erreur interne" not in result.output


def test_image_data_running_past_its_rows_is_refused_never_filed_raw(tmp_path, run):
    """IHDR says 40 × 40; the IDAT goes on inflating to 300 MB. The PNG verifier (zlib stream,
    rows, filter bytes) finds data past the image's rows: the file is not a sound PNG, it is
    refused by name, and nothing is built — its bomb never reaches a PDF."""
    case = _case(tmp_path, hostile.png_idat_bomb, "png")
    result = run("build", case)
    assert result.exit_code == 1, result.output
    assert "« captures/c00.png » : image endommagée ou tronquée" in result.output
    assert not (tmp_path / "affaire/dossier").exists()


def test_twelve_bit_jpeg_is_refused_as_unsupported_not_damaged(tmp_path, run):
    case = _case(tmp_path, hostile.jpeg_12bit, "jpg")
    result = run("check", case)
    assert result.exit_code == 1
    assert "« captures/c00.jpg » : image JPEG en 12 bits par couleur, format non pris en charge" in result.output
    assert "endommagée" not in result.output


@pytest.mark.parametrize("make, ext", [(hostile.jpeg_icc_after_sof, "jpg"), (hostile.png_palette_trns, "png"),
                                       (hostile.jpeg_corrupt_exif, "jpg")])
def test_check_and_build_agree(tmp_path, run, make, ext):
    case = _case(tmp_path, make, ext)
    checked = run("check", case)
    built = run("build", case)
    assert checked.exit_code == built.exit_code == 0, checked.output + built.output
    assert "[capture-illisible]" not in checked.output


# --- issue 22, F20: a JPEG cut short but closed with its end marker --------------------------------

@pytest.mark.parametrize("data", [hostile.jpeg_cut_at_restart, hostile.jpeg_garbage_scan,
                                  hostile.jpeg_cut_then_comment])
def test_jpeg_cut_short_but_closed_with_eoi_is_refused(tmp_path, run, data):
    """libjpeg draws the missing rows grey and only warns: refused like any truncated image."""
    case = _case(tmp_path, hostile.jpeg_file, "jpg", data())
    result = run("check", case)
    assert result.exit_code == 1, result.output
    assert ("[capture-illisible] Capture illisible : « captures/c00.jpg » : image endommagée ou tronquée, "
            "ses pixels ne se lisent pas en entier") in result.output
    assert "« pieces/image.jpg » : image endommagée ou tronquée" in result.output


# --- issue 22: a progressive JPEG cut, restart markers shuffled, a cut hidden behind segments -----

DAMAGED_JPEGS = {
    **{f"progressive-{where}": (lambda where=where: hostile.jpeg_progressive_cut(where))
       for where in ("first", "between", "later")},
    **{f"restarts-{how}": (lambda how=how: hostile.jpeg_restarts(how)) for how in ("swapped", "missing", "renamed")},
    **{f"sequential-{name}": (lambda tail=tail: hostile.jpeg_sequential_cut(tail))
       for name, tail in hostile.JPEG_TAILS.items()},
    **{f"progressive-{name}": (lambda tail=tail: hostile.jpeg_progressive_cut("later", tail + b"\xff\xd9"))
       for name, tail in hostile.JPEG_TAILS.items()},
}


@pytest.mark.parametrize("make", DAMAGED_JPEGS.values(), ids=DAMAGED_JPEGS.keys())
def test_jpeg_libjpeg_draws_in_grey_is_refused(tmp_path, run, make):
    """libjpeg fills what a cut or shuffled scan lacks (grey, blurred, rows out of place) and at
    most warns: refused like a cut sequential JPEG, by check as by build."""
    case = _case(tmp_path, hostile.jpeg_file, "jpg", make())
    for command in ("check", "build"):
        result = run(command, case)
        assert result.exit_code == 1, result.output
        assert "« captures/c00.jpg » : image endommagée ou tronquée, ses pixels ne se lisent pas en entier" \
            in result.output
        assert "« pieces/image.jpg » : image endommagée ou tronquée" in result.output


@pytest.mark.parametrize("save, tail", [
    ({"quality": 90}, b""), ({"quality": 90, "restart_marker_blocks": 4}, b""), ({"quality": 5}, b""),
    ({"quality": 97, "subsampling": 0}, b""), ({"quality": 75, "optimize": True}, b""),
    ({"quality": 80, "progressive": True}, b""),
    ({"quality": 80, "progressive": True, "optimize": True, "restart_marker_blocks": 3}, b""),
    ({"quality": 70, "subsampling": 2, "restart_marker_rows": 1}, b""),
    # What phones append after the end marker (a maker trailer, a motion photo): not image data.
    ({"quality": 85}, b"SEFH" + bytes(200) + b"\xff\xd8\xff\xd9"),
])
def test_whole_jpegs_are_never_called_damaged(tmp_path, run, save, tail):
    case = _case(tmp_path, hostile.jpeg_file, "jpg", hostile.jpeg_scan(**save) + tail)
    result = run("check", case)
    assert result.exit_code == 0, result.output
    assert "[capture-illisible]" not in result.output and "endommag" not in result.output


def test_whole_jpeg_with_a_comment_before_its_end_is_sound(tmp_path, run):
    case = _case(tmp_path, hostile.jpeg_file, "jpg", hostile.jpeg_whole_then_comment())
    result = run("check", case)
    assert result.exit_code == 0, result.output
    assert "[capture-illisible]" not in result.output and "endommag" not in result.output


def test_jpeg_with_stray_header_bytes_is_sound(tmp_path, run):
    """libjpeg warns about stray bytes between header segments and a sequential scan's unused
    fields; the picture is whole: never called damaged."""
    case = _case(tmp_path, hostile.jpeg_file, "jpg", hostile.jpeg_header_oddities())
    result = run("check", case)
    assert result.exit_code == 0, result.output
    assert "endommag" not in result.output


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_progressive_jpegs_are_sound(tmp_path, run, mode):
    buf = io.BytesIO()
    hostile.arrow((300, 500)).convert(mode).save(buf, "JPEG", quality=85, progressive=True)
    case = _case(tmp_path, hostile.jpeg_file, "jpg", buf.getvalue())
    result = run("check", case)
    assert result.exit_code == 0, result.output
    assert "endommag" not in result.output


def test_the_installed_qpdf_reports_corrupt_jpeg_data():
    """The strict JPEG check rests on qpdf's DCT decoder turning libjpeg's « corrupt data »
    warnings into errors (qpdf 11.10 and later): pyproject pins a pikepdf that bundles one."""
    import pikepdf
    version = tuple(int(part) for part in pikepdf.__libqpdf_version__.split(".")[:2])
    assert version >= (11, 10), pikepdf.__libqpdf_version__


# --- the fourth attack (December): metadata never taken for damage, never slow -----------------

def _png_carrying(chunks: bytes):
    def make(path: Path) -> Path:
        plain = path.with_name("plain-" + path.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        hostile.arrow((600, 900)).save(plain)
        hostile.png_with_chunks(plain, path, chunks)
        plain.unlink()
        return path
    return make


@pytest.mark.parametrize("chunks", [hostile.large_icc_chunk(), hostile.large_itxt_chunk(),
                                    hostile.ztxt_bomb_chunk(), hostile.many_text_chunks()],
                         ids=["icc-1200k", "itxt-1500k", "ztxt-bomb-100M", "text-200000"])
def test_png_with_oversized_or_countless_metadata_is_accepted_by_check_and_build(tmp_path, run, chunks):
    """Pillow refuses a metadata chunk inflating past 1 MB: the pixels are sound, the image is
    accepted (the chunk is dropped, never inflated: the 100 MB bomb costs nothing)."""
    case = _case(tmp_path, _png_carrying(chunks), "png")
    checked = run("check", case)
    built = run("build", case)
    assert checked.exit_code == built.exit_code == 0, checked.output + built.output
    assert "endommagée" not in checked.output + built.output
    top_left, *others = _quarters(_rendered_picture(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf"))
    assert top_left < 40 and all(abs(q - 128) < 25 for q in others)  # the pixels, as they are


def test_animated_png_whose_still_image_is_not_a_frame_is_refused(tmp_path, run):
    """A browser shows an APNG's animation; the pièce would show its still image, which may be
    another picture altogether (attack 14): refused. An APNG whose still image is its first frame
    is filed as that frame."""
    case = _case(tmp_path, hostile.apng, "png", True)
    result = run("check", case)
    assert result.exit_code == 1
    assert "« captures/c00.png » : image animée (APNG) dont l'image fixe n'est pas celle que montrent" in result.output
    case = _case(tmp_path, hostile.apng, "png", False)
    result = run("build", case)
    assert result.exit_code == 0, result.output
    img = _rendered_picture(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf")
    assert img.getpixel((img.width // 2, img.height // 2)) < 60  # blue in grey: 29 (red, green: about 76)


def test_large_transparent_images_are_reencoded_one_pièce_at_a_time(tmp_path):
    """Re-encoding lays each transparent image on white, holding its pixels twice over: two pièce
    processes each flattening a 59-megapixel PNG (249 KB) took a build to 2.2 GB (attack 19). The
    pièces are written one at a time when their pixels would not fit together; small captures,
    as many at once as asked."""
    from refere.affaire.loader import load
    from refere.pieces import assemble, images, plan

    data = default_case()
    data["pieces"][0] = {"titre": "Passeport", "categorie": "identite", "fichiers": ["pieces/grand.png"] * 2}
    data["pieces"][1]["fichiers"] = ["pieces/grand.png"] * 2
    del data["pieces"][1]["fichier"]
    folder = tmp_path / "affaire"
    write_case(folder, data)
    Image.new("RGBA", (7700, 7700), (30, 60, 200, 128)).save(folder / "pieces/grand.png")
    inv = plan.make(load(folder / "dossier.yaml"))
    big = inv.pieces[0].sources[0]
    assert images.needs_reencoding(big) and images.decoded_bytes(big) == 4 * 7700 * 7700
    assert assemble.at_once(inv, False, 4) == 1
    make_png(folder / "pieces/grand.png", size=(1080, 2400), mode="RGBA")  # a phone's capture
    inv = plan.make(load(folder / "dossier.yaml"))
    assert assemble.at_once(inv, False, 4) == 4
    assert assemble.at_once(inv, False, 1) == 1


def _dark_png(path: Path, size, dpi) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (20, 20, 20)).save(path, dpi=dpi)


def _dark_jpeg(path: Path, size, dpi) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (20, 20, 20)).save(path, "JPEG", dpi=dpi, quality=90)


@pytest.mark.parametrize("make, ext, size, dpi", [
    (_dark_png, "png", (300, 500), (300, 75)),     # a capture whose pHYs says 300 × 75 dpi
    (_dark_png, "png", (800, 600), (2540, 25)),    # 100000 : 1000 pixels per metre
    (_dark_jpeg, "jpg", (800, 600), (3000, 10)),   # JFIF density 3000 × 10 dpi
])
def test_pixels_are_square_whatever_density_the_file_gives_across_and_down(tmp_path, run, make, ext, size, dpi):
    """Viewers show an image's pixels square, whatever its density says across and down: so does
    the pièce, never a squeezed picture (attack 33)."""
    case = _case(tmp_path, make, ext, size, dpi)
    result = run("build", case)
    assert result.exit_code == 0, result.output
    picture = _rendered_picture(tmp_path / "affaire/dossier/pieces/01_Passeport.pdf")
    assert picture.width / picture.height == pytest.approx(size[0] / size[1], rel=0.03), picture.size


@pytest.mark.parametrize("colours", [None, 2])
def test_a_palette_png_missing_its_colours_is_refused_as_damaged(tmp_path, run, colours):
    """No PLTE, or two colours for pixels that name 64: poppler drew a blank page, pdfium a black
    one, and nothing was said (attack 38). Refused by check and build alike, naming the file."""
    case = _case(tmp_path, hostile.png_palette_broken, "png", colours)
    checked = run("check", case)
    assert checked.exit_code == 1 and "[capture-illisible]" in checked.output, checked.output
    built = run("build", case)
    assert built.exit_code == 1, built.output
    assert "« pieces/image.png » : image endommagée (sa palette de couleurs manque" in built.output \
        or "« captures/c00.png » : image endommagée (sa palette de couleurs manque" in built.output, built.output
    assert not (case.parent / "dossier").exists()

