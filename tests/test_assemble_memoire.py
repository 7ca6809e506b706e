"""A pièce's PNG pages leave their image data in a file beside the pièce until it is saved, not
in memory (bench/README.md, peak memory): the pièces and the complete dossier are the same bytes
as when every image was held in memory, whatever the PNG, and nothing is left beside them."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from refere.build import Options, build
from refere.pieces import images
from refere.pieces.imagedata import ImageData

import hostile
from conftest import default_case, make_jpeg, make_png, snapshot, write_case


def _png(img: Image.Image, **save) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", **save)
    return out.getvalue()


def _case(tmp_path: Path) -> Path:
    """Ten captures over three weeks, of every kind of PNG a pièce passes through, and a JPEG."""
    data = default_case()
    names = [f"captures/c{i:02d}.png" for i in range(9)] + ["captures/c09.jpg"]
    for t, name in zip(data["tentatives"], names):
        t["capture"] = name
    folder = tmp_path / "affaire"
    caps = folder / "captures"
    base = Image.open(make_png(caps / "c00.png", size=(270, 600), text="tentative 0")).convert("RGB")
    noise = Image.effect_noise((270, 600), 60).convert("RGB")  # photo-like: many IDAT chunks
    (caps / "c01.png").write_bytes(_png(base.convert("L")))
    (caps / "c02.png").write_bytes(_png(base, dpi=(144, 144)))
    (caps / "c03.png").write_bytes(_png(base.convert("I").point(lambda v: v * 256).convert("I;16")))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    (caps / "c04.png").write_bytes(_png(base, icc_profile=srgb))
    exif = Image.Exif()
    exif[274] = 6  # a quarter turn: the page's rotation, the image data passed as it is
    (caps / "c05.png").write_bytes(_png(base, exif=exif.tobytes()))
    (caps / "c06.png").write_bytes(hostile.split_idat(_png(noise), 8192))
    (caps / "c07.png").write_bytes(_png(base.convert("P", palette=Image.ADAPTIVE, colors=16)))
    (caps / "c08.png").write_bytes(_png(noise) + b"bytes after IEND")
    make_jpeg(caps / "c09.jpg")
    return write_case(folder, data)


def _pieces(out: Path) -> dict[str, bytes]:
    return {name: data for name, data in snapshot(out).items() if name.endswith(".pdf")}


def _held_in_memory(monkeypatch) -> None:
    monkeypatch.setattr(images, "_deferred", lambda data, rotation, spill: None)


def test_pieces_are_the_same_bytes_as_with_the_images_held_in_memory(tmp_path, monkeypatch):
    case = _case(tmp_path)
    made = []
    deferred = images._deferred

    def counted(data, rotation, spill):
        page = deferred(data, rotation, spill)
        made.append(page is not None)
        return page

    monkeypatch.setattr(images, "_deferred", counted)
    build(case, Options(out=tmp_path / "fichier", jobs=1))
    # Every PNG but the 16-colour palette one with transparency none of them has: all nine.
    assert sum(made) == 9
    _held_in_memory(monkeypatch)
    build(case, Options(out=tmp_path / "memoire", jobs=1))
    on_disk, in_memory = _pieces(tmp_path / "fichier"), _pieces(tmp_path / "memoire")
    assert len(on_disk) == 6 and on_disk == in_memory
    # Nothing left beside the pièces (the file of image data is removed once opened).
    assert not [p for p in (tmp_path / "fichier").rglob(".*")]


@pytest.mark.parametrize("fail_at, for_good", [(4, False), (1, True), (2, True)],
                         ids=["apres-deux-images", "des-l-en-tete", "apres-l-en-tete"])
def test_a_full_disk_keeps_the_images_not_written_in_memory(tmp_path, monkeypatch, fail_at, for_good):
    """The disk fills at the ``fail_at``-th write (the header, then one image per write): once
    only, after two images, or from then on. Same pièces as with every image in memory, nothing
    left beside them."""
    case = _case(tmp_path)
    write = ImageData._write
    calls = []

    def full(self, parts):
        calls.append(1)
        if len(calls) == fail_at or (for_good and len(calls) > fail_at):
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, parts)

    monkeypatch.setattr(ImageData, "_write", full)
    build(case, Options(out=tmp_path / "plein", jobs=1))
    monkeypatch.setattr(ImageData, "_write", write)
    _held_in_memory(monkeypatch)
    build(case, Options(out=tmp_path / "memoire", jobs=1))
    assert _pieces(tmp_path / "plein") == _pieces(tmp_path / "memoire")
    assert not [p for p in (tmp_path / "plein").rglob(".*")]
