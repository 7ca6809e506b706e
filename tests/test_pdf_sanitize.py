"""No active content and no hidden personal data reaches the court: every PDF written is cleaned
of scripts, actions, attachments and forms (what is seen stays), and carries no metadata but its
title and producer; JPEG and PNG metadata (EXIF, GPS, XMP, comments) never reach an output."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pikepdf
import pytest
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, TiffImagePlugin
from PIL.PngImagePlugin import PngInfo

from conftest import default_case, write_case
from refere.pieces import sanitize
from refere.build import Options, build

SECRET = "Jean Secret-Auteur"
GPS_SECONDS = (241233, 10000)  # 24.1233 seconds: a rational no screenshot carries by chance
XMP = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       f'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>{SECRET}</dc:creator>'
       f'</rdf:Description></rdf:RDF></x:xmpmeta>').encode()
NEEDLES = [SECRET.encode(), SECRET.encode("utf-16-be"), struct.pack("<II", *GPS_SECONDS), struct.pack(">II", *GPS_SECONDS)]


def _exif(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x013B] = SECRET  # Artist
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[3] = "N", "E"
    gps[2] = (TiffImagePlugin.IFDRational(48, 1), TiffImagePlugin.IFDRational(51, 1),
              TiffImagePlugin.IFDRational(*GPS_SECONDS))
    gps[4] = (TiffImagePlugin.IFDRational(2, 1), TiffImagePlugin.IFDRational(21, 1),
              TiffImagePlugin.IFDRational(*GPS_SECONDS))
    return exif.tobytes()


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_with_secrets(orientation: int | None = None, size=(400, 250)) -> bytes:
    img = Image.new("RGB", size, (200, 210, 230))
    ImageDraw.Draw(img).rectangle([10, 10, size[0] // 2, size[1] // 3], fill=(20, 20, 20))
    buf = io.BytesIO()
    icc = b"\x00" * 128  # a (dummy) ICC profile: APP2 must survive
    img.save(buf, "JPEG", quality=90, exif=_exif(orientation), icc_profile=icc)
    data = buf.getvalue()
    extra = _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP) + _segment(0xFE, SECRET.encode())
    extra += _segment(0xED, b"Photoshop 3.0\x00" + SECRET.encode())  # APP13, IPTC
    return data[:2] + extra + data[2:]


def png_with_secrets() -> bytes:
    info = PngInfo()
    info.add_text("Author", SECRET)
    info.add_text("Comment", SECRET, zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    img = Image.new("RGB", (270, 600), (245, 245, 245))
    ImageDraw.Draw(img).text((20, 100), "aucun creneau", fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info, exif=_exif())
    data = buf.getvalue()
    # A tIME chunk as well (Pillow does not write one).
    body = b"tIME" + struct.pack(">HBBBBB", 2025, 3, 4, 8, 55, 0)
    chunk = struct.pack(">I", 7) + body + struct.pack(">I", zlib.crc32(body))
    return data[:33] + chunk + data[33:]


def pdf_with_secrets(path: Path) -> Path:
    """A PDF carrying a photo with EXIF/GPS, an author in its info and XMP, and active content."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    jpeg = jpeg_with_secrets()
    image = pdf.make_stream(jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=400, Height=250,
                            ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode)
    image.Metadata = pdf.make_stream(XMP)
    # A reference XObject: a viewer would fetch its page from the network.
    remote = pdf.make_stream(b"0 0 1 rg 0 0 10 10 re f", Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                             BBox=[0, 0, 10, 10], Ref=pikepdf.Dictionary(F=pikepdf.String("http://traceur.example/p.pdf"),
                                                                        Page=0))
    content = b"BT /F1 14 Tf 72 700 Td (VISIBLE) Tj ET q 400 0 0 250 72 300 cm /Im0 Do Q /Fx0 Do"
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 612, 792],
                              Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font),
                                                           XObject=pikepdf.Dictionary(Im0=image, Fx0=remote)),
                              Contents=pdf.make_stream(content))
    pdf.pages.append(pikepdf.Page(page))
    page = pdf.pages[0].obj
    js = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x')"))
    page.AA = pikepdf.Dictionary(O=js)
    page.Metadata = pdf.make_stream(XMP)
    embedded = pdf.make_stream(b"MZ executable " + SECRET.encode(), Type=pikepdf.Name.EmbeddedFile)
    filespec = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Filespec, F=pikepdf.String("x.exe"),
                                                    EF=pikepdf.Dictionary(F=embedded)))
    # The appearance of a filled-in field: what the user sees must stay visible.
    ap = pdf.make_stream(b"BT /F1 12 Tf 2 6 Td (REMPLI) Tj ET", Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                         BBox=[0, 0, 150, 20], Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)))
    widget = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx, T=pikepdf.String("nom"),
        V=pikepdf.String("REMPLI"), Rect=[72, 600, 222, 620], F=4, AP=pikepdf.Dictionary(N=ap),
        AA=pikepdf.Dictionary(K=js)))
    annots = [
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[72, 690, 200, 710],
                           A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("http://traceur.example/"))),
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[72, 650, 200, 670],
                           A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe"))),
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[72, 630, 200, 640],
                           A=pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=pikepdf.Array([page, pikepdf.Name.Fit]),
                                                Next=js)),
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.FileAttachment, Rect=[10, 10, 30, 30],
                           FS=filespec),
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.RichMedia, Rect=[10, 40, 30, 60]),
        widget,
    ]
    page.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(a) for a in annots]))
    pdf.Root.OpenAction = js
    pdf.Root.AA = pikepdf.Dictionary(WC=js)
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("x"), js])),
        EmbeddedFiles=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("x.exe"), filespec])))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([widget]), XFA=pdf.make_stream(b"<xdp/>"))
    pdf.docinfo["/Author"] = SECRET
    pdf.docinfo["/Creator"] = SECRET
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [SECRET]
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path)
    return path


def _all_bytes(path: Path) -> bytes:
    """What an output file holds, streams decoded where they can be (compression hides nothing)."""
    out = [path.read_bytes()]
    if path.suffix == ".pdf":
        with pikepdf.open(path) as pdf:
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Stream):
                    out.append(obj.read_raw_bytes())
                    try:
                        out.append(obj.read_bytes())
                    except pikepdf.PdfError:
                        pass
                if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                    out.append(repr(dict(obj.items())).encode("utf-8", "replace"))
    return b"\n".join(out)


FORBIDDEN_KEYS = {"/JS", "/JavaScript", "/AA", "/OpenAction", "/AcroForm", "/XFA", "/EmbeddedFiles", "/EF",
                  "/Launch", "/URI", "/RichMedia", "/Ref", "/OPI", "/FileAttachment", "/Metadata", "/Widget", "/Author", "/Creator"}


def _active_names(path: Path) -> set[str]:
    found = set()
    with pikepdf.open(path) as pdf:
        assert set(pdf.docinfo.keys()) <= {"/Title", "/Producer"}
        assert "/Metadata" not in pdf.Root
        for obj in pdf.objects:
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                for key, value in obj.items():
                    found |= {key, str(value)} & FORBIDDEN_KEYS
    return found


def test_nothing_active_or_private_reaches_any_output(tmp_path):
    folder = tmp_path / "affaire"
    data = default_case()
    (folder / "pieces").mkdir(parents=True)
    (folder / "pieces" / "photo.jpg").write_bytes(jpeg_with_secrets(orientation=6))
    (folder / "pieces" / "ecran.png").write_bytes(png_with_secrets())
    pdf_with_secrets(folder / "pieces" / "formulaire.pdf")
    data["pieces"] = [
        {"titre": "Photo", "categorie": "autre", "fichier": "pieces/photo.jpg"},
        {"titre": "Écran", "categorie": "autre", "fichier": "pieces/ecran.png"},
        {"titre": "Formulaire", "categorie": "autre", "fichier": "pieces/formulaire.pdf"},
    ]
    case_path = write_case(folder, data)
    sources = {name: (folder / "pieces" / name).read_bytes() for name in ("photo.jpg", "ecran.png")}
    sources["formulaire.pdf"] = _all_bytes(folder / "pieces" / "formulaire.pdf")
    for name, raw in sources.items():  # the test means something: every secret is in the sources
        assert SECRET.encode() in raw, name
        assert any(n in raw for n in NEEDLES[2:]) or name == "ecran.png" and b"eXIf" in raw, name

    res = build(case_path, Options(jobs=1))
    outputs = [res.out / "dossier-complet.pdf", res.out / "inventaire.json", *(res.out / "pieces").iterdir()]
    for path in outputs:
        blob = _all_bytes(path)
        for needle in NEEDLES:
            assert needle not in blob, (path.name, needle)
        assert b"ICC_PROFILE" not in blob or path.suffix == ".pdf"
    for path in [res.out / "dossier-complet.pdf", *(res.out / "pieces").iterdir()]:
        assert _active_names(path) == set(), path.name

    by_title = {p.titre: p for p in res.inventory.pieces}
    # What was seen stays: the field's filled-in value and the page's own text.
    form = res.out / "pieces" / by_title["Formulaire"].fichier
    doc = pdfium.PdfDocument(str(form))
    try:
        text = doc[0].get_textpage().get_text_range()
    finally:
        doc.close()
    assert "VISIBLE" in text and "REMPLI" in text
    # The photo: EXIF orientation became the page's rotation; JFIF and ICC kept; the scan is the same bytes.
    with pikepdf.open(res.out / "pieces" / by_title["Photo"].fichier) as pdf:
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) == 90
        raw = next(iter(pdf.pages[0].get_images().values())).read_raw_bytes()
    source = sources["photo.jpg"]
    assert raw[raw.index(b"\xff\xda"):] == source[source.index(b"\xff\xda"):]
    assert b"ICC_PROFILE\x00" in raw and b"Exif" not in raw
    # inventaire.json says what was removed, per source.
    manifest = json.loads((res.out / "inventaire.json").read_text("utf-8"))
    retire = {s["fichier"]: s["retire"] for p in manifest["pieces"] for s in p["sources"]}
    assert {"JavaScript", "fichiers joints", "champ de formulaire", "formulaire XFA", "lien vers Internet",
            "lancement de programme", "contenu multimédia", "fichier joint", "contenu externe"} <= set(retire["pieces/formulaire.pdf"])
    assert retire["pieces/photo.jpg"] == []


def test_strip_jpeg_keeps_image_data_and_refuses_to_guess():
    data = jpeg_with_secrets()
    clean = sanitize.strip_jpeg(data)
    assert SECRET.encode() not in clean and b"Exif" not in clean
    assert clean[clean.index(b"\xff\xdb"):] == data[data.index(b"\xff\xdb"):]
    with Image.open(io.BytesIO(clean)) as img:
        img.load()
        assert img.size == (400, 250) and img.info.get("icc_profile")
    assert sanitize.strip_jpeg(clean) is clean  # nothing left to drop
    assert sanitize.strip_jpeg(b"\xff\xd8\xff\xe1\xff\xff") == b"\xff\xd8\xff\xe1\xff\xff"  # lying length: as is
    assert sanitize.strip_jpeg(b"not a jpeg") == b"not a jpeg"


def test_odd_structures_are_cleaned_and_stamped_without_a_traceback(tmp_path, run):
    pdf = pikepdf.new()
    odd = [
        dict(Annots=pikepdf.String("pas un tableau"), Resources=3),
        dict(Annots=pikepdf.Array([None, 5, pikepdf.Dictionary(Subtype=pikepdf.Name.Link, A=pikepdf.String("x"))])),
        dict(Contents=pikepdf.Array([None, 7]), Rotate=pikepdf.Name("/quatrevingtdix")),
        dict(MediaBox=pikepdf.Array([0, 0, "a", "b"]), CropBox=pikepdf.Array([500, 500, 600, 600])),
    ]
    for extra in odd:
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 200, 200], Contents=pdf.make_stream(b""))
        for key, value in extra.items():
            page[f"/{key}"] = value
        pdf.pages.append(pikepdf.Page(page))
    pdf.Root.Names = 4
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=12, NeedAppearances=True)
    pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, pikepdf.Name.Fit])
    folder = tmp_path / "affaire"
    (folder / "pieces").mkdir(parents=True)
    pdf.save(folder / "pieces" / "bizarre.pdf")
    data = default_case()
    data["pieces"] = [{"titre": "Bizarre", "categorie": "autre", "fichier": "pieces/bizarre.pdf"}]
    res = run("build", write_case(folder, data))
    assert res.exit_code in (0, 1) and "Traceback" not in res.output and "Erreur interne" not in res.output, res.output
    if res.exit_code == 0:
        out = next((folder / "dossier" / "pieces").glob("*Bizarre*"))
        doc = pdfium.PdfDocument(str(out))
        try:
            assert all("Pièce n° 4 — p." in doc[i].get_textpage().get_text_range() for i in range(len(doc)))
        finally:
            doc.close()
    else:
        assert "bizarre.pdf" in res.output


def test_cmyk_jpeg_keeps_its_adobe_segment():
    img = Image.new("CMYK", (40, 30), (0, 200, 30, 10))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    data = data[:2] + _segment(0xE1, b"Exif\x00\x00" + SECRET.encode()) + data[2:]
    assert b"Adobe" in data
    clean = sanitize.strip_jpeg(data)
    assert SECRET.encode() not in clean and b"Adobe" in clean
    with Image.open(io.BytesIO(clean)) as a, Image.open(io.BytesIO(data)) as b:
        assert a.convert("RGB").tobytes() == b.convert("RGB").tobytes()


def _noisy(size=(160, 120)) -> Image.Image:
    img = Image.new("RGB", size, (200, 210, 230))
    draw = ImageDraw.Draw(img)
    for k in range(0, size[0], 7):  # detail, so that the scans carry 0xFF00 and restart markers
        draw.line([(k, 0), (size[0] - k, size[1])], fill=((k * 37) % 256, (k * 91) % 256, (k * 13) % 256), width=3)
    return img


def _insert_after(data: bytes, marker: bytes, extra: bytes, nth: int = 0) -> bytes:
    pos = -1
    for _ in range(nth + 1):
        pos = data.index(marker, pos + 1)
    length = int.from_bytes(data[pos + 2:pos + 4], "big")
    end = pos + 2 + length
    if marker == b"\xff\xda":  # after a scan's data: before the next marker that is not data
        k = end
        while not (data[k] == 0xFF and data[k + 1] not in (0x00, *range(0xD0, 0xD8), 0xFF)):
            k += 1
        end = k
    return data[:end] + extra + data[end:]


@pytest.mark.parametrize("progressive", [False, True])
def test_strip_jpeg_drops_segments_wherever_they_sit_and_cuts_after_eoi(progressive):
    buf = io.BytesIO()
    _noisy().save(buf, "JPEG", quality=85, progressive=progressive, restart_marker_blocks=2 if not progressive else 0)
    original = buf.getvalue()
    secrets = [f"{SECRET}-{k}".encode() for k in range(4)]
    data = _insert_after(original, b"\xff\xc2" if progressive else b"\xff\xc0", _segment(0xE1, b"Exif\x00\x00" + secrets[0]))
    data = _insert_after(data, b"\xff\xda", _segment(0xFE, secrets[1]) + _segment(0xED, secrets[2]))
    if progressive:
        assert data.count(b"\xff\xda") > 2
        data = _insert_after(data, b"\xff\xda", _segment(0xE5, secrets[1]), nth=2)
    data += secrets[3] * 3  # after EOI
    clean = sanitize.strip_jpeg(data)
    assert not any(s in clean for s in [SECRET.encode(), *secrets]), clean
    assert clean.endswith(b"\xff\xd9")
    assert clean == original  # the inserted segments and the trailer are all that went
    with Image.open(io.BytesIO(clean)) as a, Image.open(io.BytesIO(original)) as b:
        assert a.convert("RGB").tobytes() == b.convert("RGB").tobytes()


def test_jpeg_secrets_after_sof_and_eoi_never_reach_the_piece(tmp_path, run):
    buf = io.BytesIO()
    _noisy().save(buf, "JPEG", quality=85, progressive=True)
    data = _insert_after(buf.getvalue(), b"\xff\xc2", _segment(0xE1, b"Exif\x00\x00" + SECRET.encode()))
    data = _insert_after(data, b"\xff\xda", _segment(0xFE, SECRET.encode()), nth=1) + SECRET.encode()
    folder = tmp_path / "affaire"
    (folder / "pieces").mkdir(parents=True)
    (folder / "pieces" / "photo.jpg").write_bytes(data)
    case = default_case()
    case["pieces"] = [{"titre": "Photo", "categorie": "autre", "fichier": "pieces/photo.jpg"}]
    res = run("build", write_case(folder, case))
    assert res.exit_code == 0, res.output
    for path in (folder / "dossier").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_png_with_bytes_after_iend_is_cut_at_iend(tmp_path, run):
    img = Image.new("RGB", (120, 80), (240, 240, 240))
    ImageDraw.Draw(img).rectangle([10, 10, 60, 40], fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    folder = tmp_path / "affaire"
    (folder / "pieces").mkdir(parents=True)
    (folder / "pieces" / "trailer.png").write_bytes(buf.getvalue() + b"PK\x03\x04" + SECRET.encode() * 50)
    case = default_case()
    case["pieces"] = [{"titre": "Trailer", "categorie": "autre", "fichier": "pieces/trailer.png"}]
    res = run("build", write_case(folder, case))
    assert res.exit_code == 0, res.output
    assert "invalid png" not in res.output
    out = next((folder / "dossier" / "pieces").glob("*Trailer*"))
    assert SECRET.encode() not in out.read_bytes()
    with pikepdf.open(out) as pdf:
        images = [pikepdf.PdfImage(i) for i in pdf.pages[0].get_images().values()]
        ours = [i for i in images if (i.width, i.height) == img.size]
        assert ours, [(i.width, i.height) for i in images]
        assert ours[0].as_pil_image().convert("RGB").tobytes() == img.tobytes()


def _annotated_form(path: Path) -> Path:
    """A one-page form (an /AcroForm: its annotations get flattened) with three stamps, each a
    coloured box: red on a layer off by default (hidden, directly and through a membership
    dictionary), green on a layer on, blue for print only (NoView: hidden on screen)."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(612, 792))
    page.obj.Contents = pdf.make_stream(b"")
    Name, D, A = pikepdf.Name, pikepdf.Dictionary, pikepdf.Array
    off = pdf.make_indirect(D(Type=Name.OCG, Name=pikepdf.String("brouillon")))
    on = pdf.make_indirect(D(Type=Name.OCG, Name=pikepdf.String("visible")))
    pdf.Root.OCProperties = D(OCGs=A([off, on]), D=D(Order=A([off, on]), OFF=A([off])))
    member = D(Type=Name.OCMD, OCGs=A([off]), P=Name.AllOn)

    def stamp(y: int, rgb: bytes, flags: int, oc=None):
        box = pdf.make_stream(rgb + b" rg 0 0 200 80 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 200, 80])
        annot = D(Type=Name.Annot, Subtype=Name.Stamp, Rect=[100, y, 300, y + 80], F=flags, AP=D(N=box))
        if oc is not None:
            annot.OC = oc
        return pdf.make_indirect(annot)

    page.obj.Annots = A([stamp(600, b"1 0 0", 4, off), stamp(480, b"1 0 0", 4, member),
                         stamp(360, b"0 1 0", 4, on), stamp(240, b"0 0 1", 4 | 32)])
    pdf.Root.AcroForm = D(Fields=A())
    pdf.save(path)
    return path


def _colours_drawn(path: Path) -> set[str]:
    """The box colours a viewer draws on page 1: page content and the annotations it shows (pdfium
    ignores /OC on annotations: drawn without them, then the kept ones judged by their layer)."""
    doc = pdfium.PdfDocument(str(path))
    try:
        img = doc[0].render(scale=0.5, draw_annots=False).to_pil().convert("RGB")
    finally:
        doc.close()
    seen = {rgb for _, rgb in img.getcolors(1 << 24)}
    names = {(255, 0, 0): "rouge", (0, 255, 0): "vert", (0, 0, 255): "bleu"}
    return {name for rgb, name in names.items() if rgb in seen}


def test_annotations_on_hidden_layers_or_for_print_only_are_never_drawn_into_the_piece(tmp_path):
    """A form's annotations become page content, but only those a viewer shows: not those on a
    layer hidden by default, nor those marked for print only (attack 33). Those kept as
    annotations stay on their layer, off, or keep their print-only mark."""
    folder = tmp_path / "affaire"
    data = default_case()
    data["pieces"].append({"titre": "Formulaire", "categorie": "autre", "fichier": "pieces/formulaire.pdf"})
    write_case(folder, data)
    _annotated_form(folder / "pieces" / "formulaire.pdf")
    res = build(folder / "dossier.yaml", Options())
    piece = next(res.out / "pieces" / p.fichier for p in res.inventory.pieces if p.titre == "Formulaire")
    assert _colours_drawn(piece) == {"vert"}
    with pikepdf.open(piece) as pdf:
        off = {g.objgen for g in pdf.Root.OCProperties.D.OFF}
        for annot in pdf.pages[0].obj.get("/Annots", pikepdf.Array()):
            oc = annot.get("/OC")
            assert (oc is not None and sanitize.calques.hidden(pdf, oc)) or int(annot.F) & 32, repr(annot)
            if oc is not None and oc.get("/Type") != pikepdf.Name.OCMD:
                assert oc.objgen in off
            assert int(annot.F) & 2 == 0  # the flag set while flattening is taken back
