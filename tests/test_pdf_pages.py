"""Every page of every pièce carries its whole stamp inside the visible page, read as a viewer
reads it (pdfium through pypdfium2 always; poppler's pdftotext when installed), whatever the
source page: tiny, rotated, with a malformed content stream, or from a damaged file."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest

from refere.build import Options, build
from refere.preuves.rules import check
from refere.affaire.loader import load

import hostile
from conftest import default_case, write_case

STAMP = re.compile(r"Pièce n° (\d+) — p\. (\d+)/(\d+)")


def _page(pdf: pikepdf.Pdf, size, content: bytes, rotate: int = 0) -> None:
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, *size],
                              Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)))),
                              Contents=pdf.make_stream(content))
    if rotate:
        page.Rotate = rotate
    pdf.pages.append(pikepdf.Page(page))


def pdf_with_pages(path: Path, pages: list[tuple[tuple[float, float], bytes, int]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = pikepdf.new()
    for size, content, rotate in pages:
        _page(pdf, size, content, rotate)
    pdf.save(path, deterministic_id=True)
    return path


def _pdfium_stamps(path: Path) -> list[str]:
    """The stamp text each page shows inside its crop box, per pdfium."""
    doc = pdfium.PdfDocument(str(path))
    try:
        found = []
        for i in range(len(doc)):
            page = doc[i]
            text = page.get_textpage()
            left, bottom, right, top = page.get_cropbox()
            inside = text.get_text_bounded(left, bottom, right, top)
            whole = text.get_text_range()
            match = STAMP.search(inside.replace("\r", "").replace("\n", " "))
            # get_text_bounded keeps characters that touch the box: check every character's box too.
            if match:
                start = whole.find(match.group(0))
                for k in range(start, start + len(match.group(0))):
                    x0, y0, x1, y1 = text.get_charbox(k)
                    assert left - 0.01 <= x0 and x1 <= right + 0.01 and bottom - 0.01 <= y0 and y1 <= top + 0.01, \
                        (path.name, i, match.group(0))
            found.append(match.group(0) if match else "")
        return found
    finally:
        doc.close()


def _poppler_stamps(path: Path) -> list[str]:
    """The same, per poppler: word boxes in display coordinates must lie inside the page."""
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    with pikepdf.open(path) as pdf:
        turned = [int(page.obj.get("/Rotate", 0)) % 180 == 90 for page in pdf.pages]
    found = []
    for page, turn in zip(re.findall(r"<page (.*?)</page>", html, re.S), turned):
        w, h = (float(v) for v in re.search(r'width="([\d.]+)" height="([\d.]+)"', page).groups())
        if turn:  # poppler gives the unrotated size but words in display coordinates
            w, h = h, w
        words = re.findall(r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">(.*?)</word>', page)
        inside = [t for x0, y0, x1, y1, t in words
                  if float(x0) >= -0.5 and float(y0) >= -0.5 and float(x1) <= w + 0.5 and float(y1) <= h + 0.5]
        match = STAMP.search(" ".join(inside).replace("&#176;", "°"))
        found.append(match.group(0) if match else "")
    return found


def assert_every_page_stamped(path: Path, numero: int) -> None:
    with pikepdf.open(path) as pdf:
        total = len(pdf.pages)
        for page in pdf.pages:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            assert x1 > x0 and y1 > y0
    expected = [f"Pièce n° {numero} — p. {k}/{total}" for k in range(1, total + 1)]
    assert _pdfium_stamps(path) == expected
    if shutil.which("pdftotext"):
        assert _poppler_stamps(path) == expected


def _case(tmp_path: Path, pieces: dict[str, Path]) -> Path:
    data = default_case()
    data["pieces"] = [{"titre": title, "categorie": "autre", "fichier": f"pieces/{p.name}"} for title, p in pieces.items()]
    return write_case(tmp_path / "affaire", data)


def _built(case_path: Path):
    return build(case_path, Options(jobs=1))


def test_narrow_and_tiny_pages_at_every_rotation(tmp_path):
    pages = []
    for w in (4, 30, 90, 600):
        for rotate in (0, 90, 180, 270):
            pages.append(((w, 300 if w > 4 else 4), b"0 0 1 rg 0 0 2 2 re f", rotate))
    pdf_with_pages(tmp_path / "affaire" / "pieces" / "etroit.pdf", pages)
    res = _built(_case(tmp_path, {"Pages étroites": tmp_path / "affaire" / "pieces" / "etroit.pdf"}))
    path = res.out / "pieces" / res.inventory.pieces[0].fichier
    assert_every_page_stamped(path, 1)
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            # The stamp never starts at a negative coordinate of the visible page.
            ops = pikepdf.unparse_content_stream(pikepdf.parse_content_stream(page))
            x, y = (float(v) for v in re.search(rb"([-\d.]+) ([-\d.]+) Td", ops).groups())
            assert x >= 0 and y >= 0


MALFORMED = {
    "coupe-jeton": b"BT /F1 12 Tf 10 200 Td (ORIGINAL) Tj ET 0 0 1 rg 10 10 50 5",
    "chaine-ouverte": b"BT /F1 12 Tf 10 200 Td (ORIGINAL) Tj ET BT /F1 12 Tf 10 100 Td (jamais fermee",
    "tableau-ouvert": b"BT /F1 12 Tf 10 200 Td (ORIGINAL) Tj 0 -20 Td [(ouvert) 3 (sans fin",
    "dictionnaire-ouvert": b"BT /F1 12 Tf 10 200 Td (ORIGINAL) Tj ET /P << /MCID 0 BDC",
    "q-orphelin": b"Q Q Q BT /F1 12 Tf 10 200 Td (ORIGINAL) Tj ET Q zorglub 3 4 bidule Q",
}


@pytest.mark.parametrize("rotate", [0, 90])
def test_malformed_content_streams_keep_the_stamp(tmp_path, rotate):
    folder = tmp_path / "affaire" / "pieces"
    pieces = {name: pdf_with_pages(folder / f"{name}.pdf", [((300, 300), content, rotate)] * 2)
              for name, content in MALFORMED.items()}
    res = _built(_case(tmp_path, pieces))
    for piece in res.inventory.pieces:
        path = res.out / "pieces" / piece.fichier
        assert_every_page_stamped(path, piece.numero)
        if piece.categorie == "captures":
            continue
        doc = pdfium.PdfDocument(str(path))
        try:
            assert "ORIGINAL" in doc[0].get_textpage().get_text_range()  # the evidence is drawn as before
        finally:
            doc.close()
        with pikepdf.open(path) as pdf:
            # The source's content lives in its own form XObject: the page stream is only ours.
            page = pdf.pages[0]
            ops = [str(op) for _, op in pikepdf.parse_content_stream(page)]
            assert ops == ["q", "Do", "Q", "q", "cm", "BT", "Tf", "g", "Td", "Tj", "ET", "Q"]


def _broken_flate(path: Path) -> Path:
    pdf = pikepdf.new()
    _page(pdf, (300, 300), b"")
    stream = pdf.make_stream(b"")
    stream.write(b"\x78\x9c" + bytes(range(200, 256)) * 3, filter=pikepdf.Name.FlateDecode)
    pdf.pages[0].obj.Contents = stream
    _page(pdf, (300, 300), b"BT /F1 12 Tf 10 200 Td (ORIGINAL) Tj ET")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none,
             deterministic_id=True)
    return path


def _broken_xref(path: Path) -> Path:
    pdf_with_pages(path, [((300, 300), b"BT /F1 12 Tf 10 200 Td (ORIGINAL) Tj ET", 0)] * 2)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.save(path, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable,
                 deterministic_id=True)
    data = path.read_bytes()
    at = data.rindex(b"startxref")
    # Every offset of the table wrong, and startxref pointing nowhere.
    head, table = data[:data.rindex(b"xref", 0, at)], data[data.rindex(b"xref", 0, at):at]
    table = re.sub(rb"\d{10} (\d{5}) n", rb"0000000777 \1 n", table)
    path.write_bytes(head + table + b"startxref\n99999\n%%EOF\n")
    return path


def test_damaged_sources_are_repaired_or_named_in_french(tmp_path, run):
    folder = tmp_path / "affaire" / "pieces"
    pieces = {"Flux cassé": _broken_flate(folder / "flux.pdf"), "Table cassée": _broken_xref(folder / "xref.pdf")}
    case_path = _case(tmp_path, pieces)
    report = check(load(case_path))
    by_code = {f.code: f for f in report.findings}
    assert "piece-reparee" in by_code and "piece-endommagee" in by_code
    repaired, damaged = by_code["piece-reparee"].message, by_code["piece-endommagee"].message
    assert repaired.startswith("pièce réparée : « pieces/xref.pdf »") and "xref" in repaired
    assert damaged.startswith("pièce endommagée : « pieces/flux.pdf »") and "flux de données compressé illisible" in damaged
    for text in (repaired, damaged):
        assert str(tmp_path) not in text and "[" not in text
        assert not re.search(r"\b(error|warning|stream|offset|object)\b", text, re.I)
    # check and build say it.
    res = run("check", case_path)
    assert "pièce réparée : « pieces/xref.pdf »" in res.output and "pièce endommagée : « pieces/flux.pdf »" in res.output
    res = run("build", case_path)
    assert res.exit_code == 0, res.output
    assert "pièce réparée" in res.output
    out = case_path.parent / "dossier"
    manifest = json.loads((out / "inventaire.json").read_text("utf-8"))
    states = {p["sources"][0]["fichier"]: p["sources"][0] for p in manifest["pieces"]}
    assert states["pieces/xref.pdf"]["etat"] == "reparee"
    assert states["pieces/flux.pdf"]["etat"] == "endommagee"
    assert states["pieces/flux.pdf"]["defauts"] == ["flux de données compressé illisible"]
    for p in manifest["pieces"]:
        path = out / p["fichier"]
        assert_every_page_stamped(path, p["numero"])
    # The repaired pièce is a clean file.
    xref_piece = next(p for p in manifest["pieces"] if p["sources"][0]["fichier"] == "pieces/xref.pdf")
    with pikepdf.open(out / xref_piece["fichier"]) as pdf:
        assert pdf.check_pdf_syntax() == []


def test_draft_marks_every_page_projet(tmp_path):
    folder = tmp_path / "affaire" / "pieces"
    pieces = {"Étroite": pdf_with_pages(folder / "etroit.pdf", [((30, 300), b"", 90)]),
              "Normale": pdf_with_pages(folder / "normal.pdf", [((595, 842), b"", 0)] * 2)}
    res = build(_case(tmp_path, pieces), Options(jobs=1, brouillon=True))
    complete = pdfium.PdfDocument(str(res.out / "dossier-complet.pdf"))
    try:
        texts = [complete[i].get_textpage().get_text_range() for i in range(len(complete))]
    finally:
        complete.close()
    assert len(texts) == 1 + sum(p.pages for p in res.inventory.pieces)
    assert all("PROJET" in t for t in texts), texts
    for piece in res.inventory.pieces:
        for stamp in _pdfium_stamps(res.out / "pieces" / piece.fichier):
            assert stamp  # the whole stamp still fits
        doc = pdfium.PdfDocument(str(res.out / "pieces" / piece.fichier))
        try:
            assert all("PROJET — Pièce n°" in doc[i].get_textpage().get_text_range() for i in range(len(doc)))
        finally:
            doc.close()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) absent : lecture par poppler non vérifiée")
def test_poppler_reads_every_stamp_inside_the_page(tmp_path):
    folder = tmp_path / "affaire" / "pieces"
    pages = [((w, 300), MALFORMED["chaine-ouverte"], r) for w in (4, 30, 90) for r in (0, 90, 180, 270)]
    res = _built(_case(tmp_path, {"Étroites": pdf_with_pages(folder / "etroit.pdf", pages)}))
    piece = next(p for p in res.inventory.pieces if p.categorie == "autre")
    path = res.out / "pieces" / piece.fichier
    assert _poppler_stamps(path) == [f"Pièce n° {piece.numero} — p. {k}/12" for k in range(1, 13)]


def test_diagnosis_decodes_within_a_budget(tmp_path):
    """A few MB of compressed zeros are checked up to the budget, then taken as they are."""
    from refere.pieces import repair

    z = zlib.compressobj(9)
    chunk = b"\0" * (1 << 22)
    data = b"".join(z.compress(chunk) for _ in range(repair.BUDGET // len(chunk) * 2)) + z.flush()
    pdf = pikepdf.new()
    _page(pdf, (300, 300), b"BT /F1 12 Tf 10 200 Td (ORIGINAL) Tj ET")
    stream = pdf.make_stream(b"")
    stream.write(data, filter=pikepdf.Name.FlateDecode)
    pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(X=stream)
    path = tmp_path / "bombe.pdf"
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    with pikepdf.open(path) as doc:
        assert repair.diagnose(doc) == repair.Diagnosis()
    # Hex over Flate, cut short: damaged (the budget is per file; this one is fresh).
    with pikepdf.new() as doc:
        _page(doc, (300, 300), b"")
        bad = doc.make_stream(b"")
        bad.write(zlib.compress(b"abc" * 100)[:-8].hex().encode() + b">",
                  filter=pikepdf.Array([pikepdf.Name.ASCIIHexDecode, pikepdf.Name.FlateDecode]))
        doc.pages[0].obj.Resources.XObject = pikepdf.Dictionary(Y=bad)
        assert repair.diagnose(doc) == repair.Diagnosis(repair.DAMAGED, ("flux de données compressé illisible",), (1,))


def test_pages_sharing_one_content_stream_share_one_form(tmp_path):
    pdf = pikepdf.new()
    noise = bytes(b for b in hashlib.shake_256(b"refere").digest(200_000) if b not in b"\r\n")  # incompressible
    _page(pdf, (300, 300), b"BT /F1 12 Tf 10 200 Td (PARTAGE) Tj ET %" + noise)
    first = pdf.pages[0].obj
    first.Resources = pdf.make_indirect(first.Resources)
    for _ in range(59):
        pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 300, 300],
                                                         Resources=first.Resources, Contents=first.Contents)))
    source = tmp_path / "affaire" / "pieces" / "partage.pdf"
    source.parent.mkdir(parents=True)
    pdf.save(source)
    res = _built(_case(tmp_path, {"Partagé": source}))
    piece = next(p for p in res.inventory.pieces if p.categorie == "autre")
    path = res.out / "pieces" / piece.fichier
    assert_every_page_stamped(path, piece.numero)
    assert path.stat().st_size < 3 * source.stat().st_size


def test_a_png_in_many_idat_chunks_is_filed_as_img2pdf_would_file_it():
    """Its image data is handed to img2pdf in one chunk (joined one by one, many chunks cost the
    square of their number): the same PDF as from the file as it is, the same pixels."""
    import io
    import struct
    import zlib

    import img2pdf
    from PIL import Image

    from refere.pieces import images

    noise = io.BytesIO()
    Image.effect_noise((300, 500), 60).convert("RGB").save(noise, "PNG")  # photo-like: 300 KB of data
    source = hostile.split_idat(noise.getvalue(), 8192,
                         after=b"\x00\x00\x00\x04tEXtab\x00c" + struct.pack(">I", zlib.crc32(b"ab\x00c", zlib.crc32(b"tEXt"))))
    merged = images._png_until_iend(source + b"trailing")
    kinds, i = [], 8
    while i < len(merged):
        (n,) = struct.unpack(">I", merged[i:i + 4])
        kind, body = merged[i + 4:i + 8], merged[i + 8:i + 8 + n]
        assert zlib.crc32(body, zlib.crc32(kind)) == int.from_bytes(merged[i + 8 + n:i + 12 + n], "big")
        kinds.append(kind)
        i += 12 + n
    assert source.count(b"IDAT") > 20 and kinds == [b"IHDR", b"IDAT", b"tEXt", b"IEND"]
    with Image.open(io.BytesIO(source)) as a, Image.open(io.BytesIO(merged)) as b:
        assert a.tobytes() == b.tobytes()
    # img2pdf's /ID is drawn from the clock (two runs a second apart differ): blanked, same length.
    def same_id(pdf: bytes) -> bytes:
        return re.sub(rb"/ID \[<[0-9a-f]+><[0-9a-f]+>\]", lambda m: b"/ID [" + b" " * (len(m[0]) - 6) + b"]", pdf)

    assert same_id(img2pdf.convert(merged, nodate=True)) == same_id(img2pdf.convert(source, nodate=True))
