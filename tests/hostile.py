"""Generated real-world oddities (issues 22 and 26): damaged, odd or hostile PDFs and images.

Each maker writes one real file with pikepdf, zlib or Pillow; the tests assert the one right
outcome for each, and tests/test_no_english.py runs the CLI over all of them.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw

Name = pikepdf.Name


def _font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    return pdf.make_indirect(pikepdf.Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))


def _page(pdf: pikepdf.Pdf, contents, **extra) -> None:
    page = pikepdf.Dictionary(Type=Name.Page, MediaBox=[0, 0, 612, 792],
                              Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=_font(pdf))),
                              Contents=contents, **extra)
    pdf.pages.append(pikepdf.Page(page))


def _raw_save(pdf: pikepdf.Pdf, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none,
             deterministic_id=True)
    return path


def _stream(pdf: pikepdf.Pdf, data: bytes, *filters: str, **parms) -> pikepdf.Object:
    s = pikepdf.Stream(pdf, data)
    if filters:
        s.Filter = pikepdf.Array([Name(f) for f in filters]) if len(filters) > 1 else Name(filters[0])
    for k, v in parms.items():
        s[f"/{k}"] = v
    return pdf.make_indirect(s)


TEXT = b"BT /F1 24 Tf 72 700 Td (Bonjour) Tj ET"
# An LZW stream qpdf refuses with « bad code received » (QpdfRuntimeError, not PdfError).
BAD_LZW = b"\x00K\x00"


def lzw_encode(data: bytes) -> bytes:
    """PDF LZW (MSB first, EarlyChange 1), as a producer writes it."""
    table = {bytes([i]): i for i in range(256)}
    width, nxt, out, acc, nbits = 9, 258, bytearray(), 0, 0

    def put(code: int) -> None:
        nonlocal acc, nbits
        acc = (acc << width) | code
        nbits += width
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
        acc &= (1 << nbits) - 1

    put(256)
    cur = b""
    for byte in data:
        cand = cur + bytes([byte])
        if cand in table:
            cur = cand
            continue
        put(table[cur])
        table[cand] = nxt
        nxt += 1
        if nxt + 1 > (1 << width) and width < 12:
            width += 1
        if nxt >= 4095:
            put(256)
            table = {bytes([i]): i for i in range(256)}
            width, nxt = 9, 258
        cur = bytes([byte])
    if cur:
        put(table[cur])
    put(257)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


# --- PDFs -------------------------------------------------------------------------------------

def pdf_array_bad_lzw(path: Path) -> Path:
    """/Contents is an array whose second part is LZW qpdf cannot decode."""
    pdf = pikepdf.new()
    _page(pdf, pikepdf.Array([_stream(pdf, TEXT), _stream(pdf, BAD_LZW, "/LZWDecode")]))
    return _raw_save(pdf, path)


def pdf_packed_1_7_mb(path: Path) -> Path:
    """A sound PDF whose object stream inflates to 1.7 MB (well compressed, data after its end)."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    pdf.pages[0].obj.PieceInfo = pdf.make_indirect(pikepdf.Dictionary(K=pikepdf.String("abcdefgh" * 212_000)))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)
    return path


def pdf_flate_bomb_parts(path: Path, parts: int = 6, each: int = 200_000_000) -> Path:
    """/Contents: several Flate parts of 200 MB of spaces each (each under the per-stream bound)."""
    z = zlib.compressobj(9)
    body = z.compress(b"0 0 m 1 1 l S\n") + z.compress(b" " * each) + z.flush()
    pdf = pikepdf.new()
    _page(pdf, pikepdf.Array([_stream(pdf, body, "/FlateDecode") for _ in range(parts)]))
    return _raw_save(pdf, path)


def pdf_rotate(path: Path, value) -> Path:
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT), Rotate=value)
    return _raw_save(pdf, path)


def pdf_user_unit(path: Path, value) -> Path:
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT), UserUnit=value)
    return _raw_save(pdf, path)


def pdf_bad_token(path: Path) -> Path:
    """Page 2's content is cut in the middle of a string: qpdf --check cannot see it once the
    content sits in a form XObject."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    _page(pdf, pdf.make_stream(b"BT /F1 24 Tf 72 700 Td (Bonjour, ceci est coup"))
    return _raw_save(pdf, path)


def pdf_image_stream(path: Path, data: bytes, filters: list[str], w: int, h: int, bpc: int = 8,
                     cs: str = "/DeviceGray", parms=None) -> Path:
    pdf = pikepdf.new()
    img = pikepdf.Stream(pdf, data)
    img.Type, img.Subtype = Name.XObject, Name.Image
    img.Width, img.Height, img.BitsPerComponent, img.ColorSpace = w, h, bpc, Name(cs)
    img.Filter = pikepdf.Array([Name(f) for f in filters])
    if parms is not None:
        img.DecodeParms = parms
    page = pikepdf.Dictionary(Type=Name.Page, MediaBox=[0, 0, 612, 792],
                              Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=pdf.make_indirect(img))),
                              Contents=pdf.make_stream(b"q 300 0 0 300 100 300 cm /Im0 Do Q"))
    pdf.pages.append(pikepdf.Page(page))
    return _raw_save(pdf, path)


def jpeg_bytes(size=(64, 48)) -> bytes:
    img = Image.new("L", size, 200)
    ImageDraw.Draw(img).rectangle([4, 4, size[0] // 2, size[1] // 2], fill=20)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def pdf_cut_jpeg(path: Path) -> Path:
    data = jpeg_bytes()
    return pdf_image_stream(path, data[:len(data) // 2], ["/DCTDecode"], 64, 48)


def jpeg_scan(size=(600, 1200), **save) -> bytes:
    """A JPEG with content down to its last rows (a blue panel, lines of text)."""
    img = Image.new("RGB", size, (240, 240, 240))
    draw = ImageDraw.Draw(img)
    draw.rectangle([50, 50, size[0] - 50, size[1] - 50], fill=(10, 120, 200))
    for y in range(60, size[1] - 60, 40):
        draw.text((70, y), f"Aucun rendez-vous disponible {y}", fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", **save)
    return buf.getvalue()


def jpeg_cut_at_restart() -> bytes:
    """Cut at its middle restart marker and closed with EOI: libjpeg draws the lower half grey and
    only warns (« Premature end of JPEG file »)."""
    data = jpeg_scan(quality=90, restart_marker_blocks=4)
    rst = [i for i in range(len(data) - 1) if data[i] == 0xFF and 0xD0 <= data[i + 1] <= 0xD7]
    return data[:rst[len(rst) // 2]] + b"\xff\xd9"


def jpeg_cut_then_comment() -> bytes:
    """Cut at a restart marker, then a comment segment before EOI: the scan ends on the comment's
    marker, not on EOI, and must not slip past the check for it (attack 5)."""
    return jpeg_cut_at_restart()[:-2] + b"\xff\xfe\x00\x06abcd\xff\xd9"


def jpeg_whole_then_comment() -> bytes:
    """A whole JPEG with a comment segment between its scan and EOI: sound."""
    return jpeg_scan(quality=90, restart_marker_blocks=4)[:-2] + b"\xff\xfe\x00\x06abcd\xff\xd9"


def jpeg_garbage_scan() -> bytes:
    """Headers of a sound JPEG, 5000 zero bytes of scan data, EOI."""
    data = jpeg_scan(quality=90)
    sos = data.index(b"\xff\xda")
    return data[:sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")] + bytes(5000) + b"\xff\xd9"


def pdf_jpeg_cut_at_restart(path: Path) -> Path:
    return pdf_image_stream(path, jpeg_cut_at_restart(), ["/DCTDecode"], 600, 1200, cs="/DeviceRGB")


def pdf_jpeg_whole(path: Path) -> Path:
    """The same JPEG with restart markers, whole."""
    data = jpeg_scan(quality=90, restart_marker_blocks=4)
    return pdf_image_stream(path, data, ["/DCTDecode"], 600, 1200, cs="/DeviceRGB")


def jpeg_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def pdf_runlength_damaged(path: Path) -> Path:
    """RunLength data that says « 100 bytes follow » where 3 do."""
    return pdf_image_stream(path, b"\x63abc", ["/RunLengthDecode"], 10, 10)


def pdf_ccitt(path: Path, damaged: bool = False) -> Path:
    """A scan in CCITT G4 (as img2pdf files a fax-like TIFF); damaged: its data replaced by bytes
    that are no G4 code (libtiff draws white and says so only on stderr; poppler shows nothing)."""
    import img2pdf

    img = Image.new("1", (400, 200), 1)
    ImageDraw.Draw(img).text((20, 80), "Titre de sejour", fill=0)
    buf = io.BytesIO()
    img.save(buf, "TIFF", compression="group4")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = pikepdf.open(io.BytesIO(img2pdf.convert(buf.getvalue())))
    if damaged:
        image = next(iter(pdf.pages[0].obj.Resources.XObject.values()))
        image.write(b"\xff\x00" * 500, filter=pikepdf.Name.CCITTFaxDecode, decode_parms=image.DecodeParms)
    pdf.save(path, deterministic_id=True)
    return path


def pdf_ccitt_damaged(path: Path) -> Path:
    return pdf_ccitt(path, damaged=True)


def pdf_unknown_filter(path: Path) -> Path:
    pdf = pikepdf.new()
    _page(pdf, _stream(pdf, TEXT, "/BrotliDecode"))
    return _raw_save(pdf, path)


def pdf_lzw(path: Path, size: int = 200_000) -> Path:
    """A sound content stream of ``size`` bytes under LZW (raw well over 62 KB)."""
    import random

    rnd = random.Random(7)
    lines = []
    while sum(len(x) for x in lines) < size:
        lines.append(f"{rnd.randrange(600)} {rnd.randrange(780)} m {rnd.randrange(600)} {rnd.randrange(780)} l S\n".encode())
    data = b"".join(lines)
    pdf = pikepdf.new()
    _page(pdf, _stream(pdf, lzw_encode(data), "/LZWDecode"))
    return _raw_save(pdf, path)


def pdf_flate_variants(path: Path) -> Path:
    """Page 1: an empty Flate content stream; page 2: Flate without its end marker (checksum)."""
    pdf = pikepdf.new()
    _page(pdf, _stream(pdf, b"", "/FlateDecode"))
    _page(pdf, _stream(pdf, zlib.compress(TEXT)[:-4], "/FlateDecode"))
    return _raw_save(pdf, path)


def pdf_orphan_damage(path: Path) -> Path:
    """A sound page, and an object no page uses whose data is garbage."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    pdf.Root.Orphelin = _stream(pdf, b"garbage that is not zlib", "/FlateDecode")
    return _raw_save(pdf, path)


def pdf_bad_xref(path: Path) -> Path:
    """A sound PDF whose cross-reference table points nowhere: qpdf rebuilds it."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    data = bytearray(buf.getvalue())
    i = data.rfind(b"startxref")
    data[i:] = b"startxref\n999999\n%%EOF\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    return path


def pdf_layers(path: Path) -> Path:
    """A black square in a layer hidden by default, a grey one in a visible layer."""
    pdf = pikepdf.new()
    hidden = pdf.make_indirect(pikepdf.Dictionary(Type=Name.OCG, Name=pikepdf.String("Masqué")))
    shown = pdf.make_indirect(pikepdf.Dictionary(Type=Name.OCG, Name=pikepdf.String("Visible")))
    pdf.Root.OCProperties = pikepdf.Dictionary(
        OCGs=pikepdf.Array([hidden, shown]),
        D=pikepdf.Dictionary(Order=pikepdf.Array([hidden, shown]), OFF=pikepdf.Array([hidden])))
    content = (b"/OC /Cach BDC 0 g 100 400 200 200 re f EMC\n"
               b"/OC /Vis BDC 0.5 g 350 400 150 150 re f EMC\n")
    page = pikepdf.Dictionary(Type=Name.Page, MediaBox=[0, 0, 612, 792],
                              Resources=pikepdf.Dictionary(Properties=pikepdf.Dictionary(Cach=hidden, Vis=shown)),
                              Contents=pdf.make_stream(content))
    pdf.pages.append(pikepdf.Page(page))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, deterministic_id=True)
    return path


def pdf_truncated(path: Path) -> Path:
    """A 3-page PDF cut after its page objects: the content streams are gone."""
    pdf = pikepdf.new()
    for i in range(3):
        _page(pdf, pdf.make_stream(b"BT /F1 24 Tf 72 700 Td (Page %d) Tj ET" % (i + 1) + b" " * 2000))
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.disable,
             compress_streams=False)
    data = buf.getvalue()
    cut = data.index(b"stream", data.index(b"/Length")) - 40
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:max(cut, 200)])
    return path


# --- images -----------------------------------------------------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    pos, out = 8, []
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        out.append((kind, data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out


def png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(_chunk(k, d) for k, d in chunks)


def arrow(size=(60, 90)) -> Image.Image:
    """An asymmetric picture: mid grey, black in the top-left quarter only."""
    img = Image.new("RGB", size, (128, 128, 128))
    ImageDraw.Draw(img).rectangle([0, 0, size[0] // 2 - 1, size[1] // 2 - 1], fill=(0, 0, 0))
    return img


def jpeg_oriented(path: Path, orientation: int) -> Path:
    """The arrow as a camera would store it for ``orientation``: a viewer shows ``arrow()``."""
    img = arrow()
    stored = {1: img, 2: img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 3: img.transpose(Image.Transpose.ROTATE_180),
              4: img.transpose(Image.Transpose.FLIP_TOP_BOTTOM), 5: img.transpose(Image.Transpose.TRANSPOSE),
              6: img.transpose(Image.Transpose.ROTATE_90), 7: img.transpose(Image.Transpose.TRANSVERSE),
              8: img.transpose(Image.Transpose.ROTATE_270)}[orientation]
    exif = Image.Exif()
    exif[274] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    stored.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def png_exif_orientation(path: Path, value: bytes) -> Path:
    """A PNG whose eXIf chunk gives Orientation as the ASCII text ``value`` (« abc »)."""
    buf = io.BytesIO()
    arrow().save(buf, "PNG")
    # TIFF header, one IFD entry: tag 274, type ASCII (2), count, value inline (≤ 4 bytes)
    text = value[:3] + b"\x00"
    ifd = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + struct.pack(">HHI", 274, 2, 4) + text + b"\x00\x00\x00\x00"
    chunks = png_chunks(buf.getvalue())
    chunks.insert(1, (b"eXIf", ifd))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_from_chunks(chunks))
    return path


def png_idat_bomb(path: Path, extra: int = 300_000_000) -> Path:
    """A 40 × 40 grey PNG whose IDAT goes on inflating long after the image's rows."""
    rows = b"".join(b"\x00" + bytes([200]) * 40 for _ in range(40))
    z = zlib.compressobj(9)
    idat = z.compress(rows) + z.compress(b"\x00" * extra) + z.flush()
    ihdr = struct.pack(">IIBBBBB", 40, 40, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_from_chunks([(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")]))
    return path


def png_grey16_trns(path: Path) -> Path:
    """16-bit grey, the key 0x1234 transparent (tRNS): the left half is transparent."""
    w, h = 400, 200
    rows = b"".join(b"\x00" + b"".join(struct.pack(">H", 0x1234 if x < w // 2 else 0x2000) for x in range(w))
                    for _ in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_from_chunks([(b"IHDR", ihdr), (b"tRNS", struct.pack(">H", 0x1234)),
                                      (b"IDAT", zlib.compress(rows)), (b"IEND", b"")]))
    return path


def jpeg_12bit(path: Path) -> Path:
    """A JPEG whose frame header says 12 bits per sample (valid; Pillow cannot decode it)."""
    data = bytearray(jpeg_bytes())
    i = data.index(b"\xff\xc0")
    data[i + 1] = 0xC1  # extended sequential, where 12 bits are allowed
    data[i + 4] = 12
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    return path


def jpeg_icc_after_sof(path: Path) -> Path:
    """A JPEG whose ICC profile (APP2) comes after its frame header."""
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    arrow().save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    app2 = b"\xff\xe2" + struct.pack(">H", len(profile) + 16) + b"ICC_PROFILE\x00\x01\x01" + profile
    sos = data.index(b"\xff\xda")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:sos] + app2 + data[sos:])
    return path


def png_palette_trns(path: Path) -> Path:
    """A palette PNG with transparency in bytes (Pillow warns in English when converting it)."""
    img = arrow().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "PNG", transparency=b"\x00\xff\xff\xff")
    return path


def jpeg_corrupt_exif(path: Path) -> Path:
    """A JPEG whose EXIF block is cut short (Pillow warns « Corrupt EXIF data »)."""
    exif = Image.Exif()
    exif[274] = 1
    exif[270] = "Description"
    raw = exif.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    arrow().save(path, "JPEG", quality=90, exif=raw[:len(raw) - 6])
    return path


# --- JPEG damage libjpeg draws grey and only warns about (jpegcheck.damaged) --------------------

def _at(data: bytes, pattern: bytes) -> list[int]:
    """Offsets of the markers ``pattern`` (a regex over bytes) in ``data``."""
    import re

    return [m.start() for m in re.finditer(pattern, data)]


def jpeg_progressive_cut(where: str, tail: bytes = b"\xff\xd9") -> bytes:
    """A progressive JPEG (ten scans) cut in its first (DC) scan, between two scans or inside a
    later scan, then closed with ``tail``: libjpeg draws it grey or blurred without a warning
    for the cut between scans, with one only for the others."""
    data = jpeg_scan(quality=90, progressive=True)
    sos = _at(data, rb"\xff\xda")
    cut = {"first": (sos[0] + sos[1]) // 2, "between": sos[4], "later": (sos[6] + sos[7]) // 2}[where]
    return data[:cut] + tail


def jpeg_restarts(how: str) -> bytes:
    """A JPEG with restart markers, two intervals swapped, one left out, or one marker renamed
    (libjpeg: « found marker 0xd5 instead of RST3 », then resynchronises: rows in the wrong
    place or missing)."""
    data = jpeg_scan(quality=90, restart_marker_blocks=4)
    rst = _at(data, rb"\xff[\xd0-\xd7]")
    a, b, c = rst[len(rst) // 2:len(rst) // 2 + 3]
    if how == "swapped":
        return data[:a] + data[b:c] + data[a:b] + data[c:]
    if how == "missing":
        return data[:a] + data[b:]
    return data[:a + 1] + bytes([0xD0 + (data[a + 1] + 3) % 8]) + data[a + 2:]


# What may sit between a cut scan and EOI: a comment, an APP1, a DNL, several segments, fill bytes.
JPEG_TAILS = {
    "commentaire": b"\xff\xfe\x00\x06abcd",
    "app1": b"\xff\xe1\x00\x08Exif\x00\x00",
    "dnl": b"\xff\xdc\x00\x04\x04\xb0",
    "segments": b"\xff\xfe\x00\x04ab\xff\xe5\x00\x04zz\xff\xdb\x00\x43\x00" + bytes(range(1, 65)),
    "remplissage": b"\xff" * 7,
}


def jpeg_sequential_cut(tail: bytes) -> bytes:
    """A sequential JPEG cut in the middle of its scan, then ``tail`` and EOI."""
    return jpeg_cut_at_restart()[:-2] + tail + b"\xff\xd9"


def jpeg_header_oddities() -> bytes:
    """A whole JPEG with stray bytes between header segments (0xFF 0x00, junk) and a sequential
    scan whose unused Ss/Se fields are off: libjpeg warns about both, the picture is whole."""
    data = jpeg_scan(quality=85)
    sos = data.index(b"\xff\xda")
    dqt = data.index(b"\xff\xdb")
    odd = bytearray(data[:dqt] + b"\xff\x00\x00\x02junk" + data[dqt:])
    sos = odd.index(b"\xff\xda")
    odd[sos + 4 + 2 * odd[sos + 4] + 2] = 0  # Se = 0
    return bytes(odd)


def pdf_jpeg(path: Path, data: bytes) -> Path:
    """A one-page PDF showing the 600 × 1200 JPEG ``data`` (/DCTDecode)."""
    return pdf_image_stream(path, data, ["/DCTDecode"], 600, 1200, cs="/DeviceRGB")


# --- the fourth attack (December): readers bounded in time and memory, metadata ignored ----------

def pdf_form_fanout(path: Path, depth: int = 40) -> Path:
    """A page drawing a form that draws the next one twice, ``depth`` deep (2^40 draws): PDFium's
    memory grows without end, rendering the page as extracting its text."""
    pdf = pikepdf.new()
    form = pdf.make_stream(b"0 0 1 1 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 10, 10])
    for _ in range(depth):
        form = pdf.make_stream(b"/A Do /A Do", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 10, 10],
                               Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(A=form)))
    _page(pdf, pdf.make_stream(b"/X0 Do"))
    pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(X0=form)
    return _raw_save(pdf, path)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_chunks(source: Path, path: Path, chunks: bytes) -> Path:
    """The PNG at ``source`` with ``chunks`` inserted before its image data (pixels untouched)."""
    data = source.read_bytes()
    at = data.index(b"IDAT") - 4
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:at] + chunks + data[at:])
    return path


def many_text_chunks(n: int = 200_000) -> bytes:
    """``n`` tiny tEXt chunks: Pillow copies its ``info`` (n keys) on every image operation."""
    return b"".join(_png_chunk(b"tEXt", b"k%d\x00v" % i) for i in range(n))


def large_icc_chunk(size: int = 1_200_000) -> bytes:
    """An ICC profile inflating past Pillow's MAX_TEXT_CHUNK (1 MB): Pillow refuses the image."""
    return _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * size, 9))


def ztxt_bomb_chunk(size: int = 100_000_000) -> bytes:
    """A zTXt chunk of ``size`` bytes once inflated (100 MB of zeros in about 100 KB)."""
    return _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * size, 9))


def large_itxt_chunk(size: int = 1_500_000) -> bytes:
    """A compressed iTXt (an XMP packet) of 1.5 MB once inflated."""
    return _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(b" " * size, 9))


def pdf_pound_names(path: Path) -> Path:
    """A PDF 1.0 whose resources are named with a stray « # » (legal before PDF 1.2): /Im#1 and
    /Im# drawn by the page, /Fm#1 a form that draws /Im# too; each image a black square."""
    pdf = pikepdf.new()

    def image() -> pikepdf.Object:
        return _stream(pdf, b"\x00" * 100, Type=Name.XObject, Subtype=Name.Image, Width=10, Height=10,
                       ColorSpace=Name.DeviceGray, BitsPerComponent=8)

    # qpdf holds a stray « # » as a NUL inside the name and writes it back as « # ».
    form = _stream(pdf, b"q 100 0 0 100 0 0 cm /Im# Do Q", Type=Name.XObject, Subtype=Name.Form,
                   BBox=[0, 0, 100, 100],
                   Resources=pikepdf.Dictionary({"/XObject": pikepdf.Dictionary({"/Im\x00": image()})}))
    page = pikepdf.Dictionary(Type=Name.Page, MediaBox=[0, 0, 612, 792], Contents=_stream(
        pdf, b"q 100 0 0 100 50 600 cm /Im\x001 Do Q q 200 0 0 100 300 600 cm /Im\x00 Do Q "
             b"q 1 0 0 1 50 300 cm /Fm\x001 Do Q".replace(b"\x00", b"#")),
        Resources=pikepdf.Dictionary({"/XObject": pikepdf.Dictionary(
            {"/Im\x001": image(), "/Im\x00": image(), "/Fm\x001": form})}))
    pdf.pages.append(pikepdf.Page(page))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, compress_streams=False, force_version="1.0", deterministic_id=True)
    return path


def pdf_pound_names_colliding(path: Path) -> Path:
    """A PDF 1.0 whose page resources hold /Im#1 twice over: once with a stray « # » (a black
    square, drawn on the left) and once written /Im#231 (a mid-grey square, drawn on the right)."""
    pdf = pikepdf.new()

    def image(shade: int) -> pikepdf.Object:
        return _stream(pdf, bytes([shade]) * 100, Type=Name.XObject, Subtype=Name.Image, Width=10,
                       Height=10, ColorSpace=Name.DeviceGray, BitsPerComponent=8)

    page = pikepdf.Dictionary(Type=Name.Page, MediaBox=[0, 0, 612, 792], Contents=_stream(
        pdf, b"q 100 0 0 100 50 600 cm /Im#1 Do Q q 100 0 0 100 300 600 cm /Im#231 Do Q"),
        Resources=pikepdf.Dictionary({"/XObject": pikepdf.Dictionary(
            {"/Im\x001": image(0), "/Im#1": image(128)})}))
    pdf.pages.append(pikepdf.Page(page))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, compress_streams=False, force_version="1.0", deterministic_id=True)
    return path


def pdf_unknown_filter_shared(path: Path) -> Path:
    """Two pages citing one image under an unknown filter: both are damaged."""
    pdf = pikepdf.new()
    bad = _stream(pdf, b"\x00" * 16, "/Potato", Type=Name.XObject, Subtype=Name.Image, Width=4, Height=4,
                  ColorSpace=Name.DeviceGray, BitsPerComponent=8)
    for _ in range(2):
        _page(pdf, _stream(pdf, TEXT))
        pdf.pages[-1].Resources.XObject = pikepdf.Dictionary(Im1=bad)
    return _raw_save(pdf, path)


# --- attack 10: one object named a great many times -------------------------------------------

def pdf_contents_repeated(path: Path, times: int, size: int = 1_000_000) -> Path:
    """A page whose /Contents names one Flate stream (``size`` bytes of blank content once
    inflated) ``times`` times over: a few KB that every stamp would join ``times`` times."""
    pdf = pikepdf.new()
    part = _stream(pdf, zlib.compress(b" " * size, 9), "/FlateDecode")
    _page(pdf, pikepdf.Array([part] * times))
    return _raw_save(pdf, path)


def pdf_kids_repeated(path: Path, times: int) -> Path:
    """A page tree whose /Kids lists the same page ``times`` times (qpdf copies each repeat)."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    page = pdf.Root.Pages.Kids[0]
    pdf.Root.Pages.Kids = pikepdf.Array([page] * times)
    pdf.Root.Pages.Count = times
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)
    return path


def pdf_annotation_repeated(path: Path, times: int, packed: bool = False) -> Path:
    """A sound page listing one link annotation ``times`` times in /Annots (twice: valid, and
    drawn alike by every viewer); ``packed``: the objects inside an object stream."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    link = pdf.make_indirect(pikepdf.Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 690, 200, 720],
                                                Border=[0, 0, 0]))
    pdf.pages[0].obj.Annots = pikepdf.Array([link] * times)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = pikepdf.ObjectStreamMode.generate if packed else pikepdf.ObjectStreamMode.disable
    pdf.save(path, object_stream_mode=mode, deterministic_id=True)
    return path


def pdf_deep_page_tree(path: Path, depth: int) -> Path:
    """One page under ``depth`` nested /Pages nodes: valid, past the 100 levels qpdf walks."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    page = pdf.Root.Pages.Kids[0]
    node = page
    for _ in range(depth):
        parent = pdf.make_indirect(pikepdf.Dictionary(Type=Name.Pages, Kids=[node], Count=1))
        node.Parent = parent
        node = parent
    node.Parent = pdf.Root.Pages
    pdf.Root.Pages.Kids = pikepdf.Array([node])
    return _raw_save(pdf, path)


def pdf_contents_shared(path: Path, pages: int, times: int, size: int) -> Path:
    """``pages`` pages sharing one /Contents array that names one Flate stream (``size`` bytes of
    blank content inflated) ``times`` times: each page joins the whole array when stamped."""
    pdf = pikepdf.new()
    part = _stream(pdf, zlib.compress(b" " * size, 9), "/FlateDecode")
    shared = pdf.make_indirect(pikepdf.Array([part] * times))
    for _ in range(pages):
        _page(pdf, shared)
    return _raw_save(pdf, path)


def pdf_kids_nulls(path: Path, nulls: int) -> Path:
    """One page whose /Kids also holds ``nulls`` nulls (qpdf notes and skips each one)."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    pdf.Root.Pages.Kids = pikepdf.Array([pdf.Root.Pages.Kids[0]] + [None] * nulls)
    return _raw_save(pdf, path)


def pdf_content_stream_shared(path: Path, pages: int, size: int) -> Path:
    """``pages`` pages drawing one content stream of ``size`` bytes (a comment: draws nothing),
    each with its own /Resources: each page stamped gets its own copy of the stream."""
    pdf = pikepdf.new()
    shared = _stream(pdf, b"%" + b"x" * size + b"\n" + TEXT)
    for _ in range(pages):
        _page(pdf, shared)
    return _raw_save(pdf, path)


def pdf_runlength_forms(path: Path, forms: int) -> Path:
    """One page drawing ``forms`` distinct forms, each 8 KB of [/FlateDecode /RunLengthDecode]
    that the writing decodes to 255 MB of zeros (re-encoded in the pièce)."""
    pdf = pikepdf.new()
    data = zlib.compress(b"\x81\x00" * 1_990_000, 9)  # 1.99 million runs of 128 zeros
    names = {}
    for i in range(forms):
        names[f"/X{i}"] = _stream(pdf, data, "/FlateDecode", "/RunLengthDecode",
                                  Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 10, 10])
    calls = b" ".join(b"q /X%d Do Q" % i for i in range(forms))
    _page(pdf, pdf.make_stream(TEXT + b" " + calls))
    pdf.pages[0].Resources.XObject = pikepdf.Dictionary(names)
    return _raw_save(pdf, path)


def fine_runs(kind: str, count: int) -> bytes:
    """``count`` runs of one byte (RunLength) or ``count`` clear codes (LZW, nothing decoded):
    data whose size can only be told one run or one code at a time."""
    if kind == "/RunLengthDecode":
        return b"\x00A" * count + b"\x80"
    eight = int("100000000" * 8, 2).to_bytes(9, "big")  # eight 9-bit codes 256 (clear) make 9 bytes
    return eight * (count // 8)


def pdf_fine_runs(path: Path, kind: str, count: int) -> Path:
    """One image behind [/FlateDecode kind] whose ``count`` runs or codes sit in a few hundred KB."""
    pdf = pikepdf.new()
    image = _stream(pdf, zlib.compress(fine_runs(kind, count), 9), "/FlateDecode", kind, Type=Name.XObject,
                    Subtype=Name.Image, Width=8, Height=8, BitsPerComponent=8, ColorSpace=Name.DeviceGray)
    _page(pdf, pdf.make_stream(TEXT + b" q 80 0 0 80 72 500 cm /Im0 Do Q"))
    pdf.pages[0].Resources.XObject = pikepdf.Dictionary(Im0=image)
    return _raw_save(pdf, path)


def lzw_zeros(prefix: bytes, size: int, early: int = 1) -> bytes:
    """PDF LZW of ``prefix`` then at least ``size`` zeros, as densely as LZW allows: each code names
    the newest table entry (one zero longer than the last), the table cleared when full (about
    1,400 bytes out per byte in)."""
    codes, out = [256, *prefix, 256], len(prefix)
    while out < size:
        codes.append(0)
        out += 1
        for k in range(258, 4094):
            codes.append(k)
            out += k - 256
        codes.append(256)
    codes.append(257)
    packed, acc, bits, entries, width = bytearray(), 0, 0, 258, 9
    for i, code in enumerate(codes):
        acc, bits = (acc << width) | code, bits + width
        while bits >= 8:
            bits -= 8
            packed.append((acc >> bits) & 0xFF)
        acc &= (1 << bits) - 1
        if code == 256:
            entries, width = 258, 9
            continue
        if i > 0 and codes[i - 1] != 256:
            entries += 1  # each code after the first of a table adds an entry
        if entries + early >= (1 << width) and width < 12:
            width += 1
    if bits:
        packed.append((acc << (8 - bits)) & 0xFF)
    return bytes(packed)


PACKED_DISGUISES = ("rembourre", "filtre-indirect", "cr-seul", "type-echappe", "type-indirect", "leurre-entete",
                    "leurre-stream", "lzw", "lzw-earlychange-0", "lzw-longueur-courte", "lzw-crypt")
# Disguises only the capped child process reading the PDF stops (nothing reads them beforehand).
UNMEASURED_DISGUISES = ("lzw-sans-type", "lzw-autre-type")


def pdf_packed_bomb(path: Path, disguise: str, size: int = 200_000_000) -> Path:
    """Catalog, page tree and page inside one object stream that inflates to ``size`` bytes, its
    dictionary written so that a look at the bytes before « stream » misses it (attack 13)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>"]
    body, offsets = b"", []
    for n, o in enumerate(objs, 1):
        offsets.append(b"%d %d" % (n, len(body)))
        body += o + b"\n"
    header = b" ".join(offsets) + b"\n"
    if disguise.startswith("lzw"):
        early = 0 if disguise.endswith("-0") else 1
        data, filt = lzw_zeros(header + body, size, early), b"/LZWDecode"
        if early == 0:
            filt += b" /DecodeParms << /EarlyChange 0 >>"
        if disguise == "lzw-crypt":
            filt = b"[/Crypt /LZWDecode]"
    else:
        deflater = zlib.compressobj(9)
        parts, zero = [deflater.compress(header + body)], bytes(1 << 22)
        for _ in range(size // len(zero)):
            parts.append(deflater.compress(zero))
        data, filt = b"".join(parts) + deflater.flush(), b"/FlateDecode"
    out, where = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), {}
    where[4] = len(out)
    out += b"4 0 obj\n<< /Length 5 >>\nstream\nBT ET\nendstream\nendobj\n"
    kind = b"/ObjStm"
    if disguise == "filtre-indirect":
        where[6] = len(out)
        out += b"6 0 obj\n" + filt + b"\nendobj\n"
        filt = b"6 0 R"
    if disguise == "type-indirect":
        where[6] = len(out)
        out += b"6 0 obj\n/ObjStm\nendobj\n"
        kind = b"6 0 R"
    if disguise == "type-echappe":
        kind = b"/Obj#53tm"
    if disguise == "lzw-autre-type":
        kind = b"/XObject"
    extra = {"rembourre": b" /Pad (" + b"x" * 5000 + b")", "leurre-entete": b" /Pad (9 0 obj << >>)",
             "leurre-stream": b" /Pad (>> stream\n)"}.get(disguise, b"")
    eol = b"\r" if disguise == "cr-seul" else b"\n"
    where[5] = len(out)
    typed = b"" if disguise == "lzw-sans-type" else b"/Type %s" % kind
    length = 5 if disguise == "lzw-longueur-courte" else len(data)  # qpdf finds the end by « endstream »
    out += (b"5 0 obj\n<< %s%s /Filter %s /N 3 /First %d /Length %d >>\nstream" % (typed, extra, filt, len(header), length)
            + eol + data + b"\nendstream\nendobj\n")
    xref = len(out)
    rows = b""
    for n in range(8):
        if n == 0:
            rows += struct.pack(">BIH", 0, 0, 65535)
        elif n <= 3:
            rows += struct.pack(">BIH", 2, 5, n - 1)
        elif n == 7:
            rows += struct.pack(">BIH", 1, xref, 0)
        else:
            rows += struct.pack(">BIH", 1, where[n], 0) if n in where else struct.pack(">BIH", 0, 0, 0)
    out += (b"7 0 obj\n<< /Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(rows)
            + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def pdf_many_tokens(path: Path, size: int, version: str = "1.7", pound: bool = False) -> Path:
    """One page whose content is ``size`` bytes of « q » operators (Flate: a few KB of file);
    ``pound``: its one image is named /Im#1 with a stray « # », as PDF 1.0 allows (attack 13)."""
    pdf = pikepdf.new()
    image = _stream(pdf, b"\x00" * 100, Type=Name.XObject, Subtype=Name.Image, Width=10, Height=10,
                    ColorSpace=Name.DeviceGray, BitsPerComponent=8)
    name = "/Im\x001" if pound else "/Im1"
    call = b"q 100 0 0 100 50 600 cm " + name.replace("\x00", "#").encode() + b" Do Q\n"
    content = call + b"q\n" * (size // 2)
    page = pikepdf.Dictionary(Type=Name.Page, MediaBox=[0, 0, 612, 792],
                              Contents=_stream(pdf, zlib.compress(content, 9), "/FlateDecode"),
                              Resources=pikepdf.Dictionary({"/XObject": pikepdf.Dictionary({name: image})}))
    pdf.pages.append(pikepdf.Page(page))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none,
             force_version=version, deterministic_id=True)
    return path


def pdf_object_flood(path: Path, kind: str) -> Path:
    """A few MB of text that makes a reader of objects work: a million « N 0 obj » headers, or
    headers and « stream » keywords nested in one another's strings (attack 14's kind)."""
    if kind == "entetes":
        body = b"1 0 obj\nnull\nendobj\n" * 1_100_000
    else:
        body = b"1 0 obj << /A (" + b"1 0 obj << /A ( stream\n" * 400_000
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4\n" + body + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    return path


def apng(path: Path, still_apart: bool) -> Path:
    """An animated PNG of two frames (blue, green); ``still_apart``: its still image (red, what a
    reader without animation shows) is not one of them."""
    from PIL import Image

    red, blue, green = (Image.new("RGB", (60, 60), c) for c in ("red", "blue", "green"))
    path.parent.mkdir(parents=True, exist_ok=True)
    if still_apart:
        red.save(path, save_all=True, append_images=[blue, green], default_image=True)
    else:
        blue.save(path, save_all=True, append_images=[green])
    return path


def pdf_packed_array(path: Path, count: int = 31_000_000) -> Path:
    """A sound one-page PDF with, referenced by nothing, an array of ``count`` zeros packed alone
    in an object stream: 62 MB once inflated (under the object-stream limit), some 4 GB once qpdf
    has made each number an object, as the pièce's clean-up does when it walks every object
    (attack 15)."""
    out, where = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), {}
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
            5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    for n in (1, 2, 3):
        where[n] = len(out)
        out += b"%d 0 obj\n" % n + objs[n] + b"\nendobj\n"
    where[4] = len(out)
    out += b"4 0 obj\n<< /Length %d >>\nstream\n" % len(TEXT) + TEXT + b"\nendstream\nendobj\n"
    where[5] = len(out)
    out += b"5 0 obj\n" + objs[5] + b"\nendobj\n"
    deflater = zlib.compressobj(6)
    packed = deflater.compress(b"6 0 [") + deflater.compress(b"0 " * count) + deflater.compress(b"]") + deflater.flush()
    where[7] = len(out)
    out += (b"7 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
            + packed + b"\nendstream\nendobj\n")
    xref = len(out)
    rows = struct.pack(">BIH", 0, 0, 65535)
    for n in range(1, 8):
        rows += struct.pack(">BIH", 2, 7, 0) if n == 6 else struct.pack(">BIH", 1, where[n], 0)
    rows += struct.pack(">BIH", 1, xref, 0)
    out += (b"8 0 obj\n<< /Type /XRef /Size 9 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(rows)
            + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def split_idat(png: bytes, size: int, after: bytes = b"") -> bytes:
    """The same PNG with its image data in IDAT chunks of ``size`` bytes (as libpng writes them,
    8 KB each), and ``after`` (whole chunks) between the last IDAT and IEND."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))

    i, head, data = 8, png[:8], b""
    while i < len(png):
        (n,) = struct.unpack(">I", png[i:i + 4])
        kind, body = png[i + 4:i + 8], png[i + 8:i + 8 + n]
        if kind == b"IDAT":
            data += body
        elif kind != b"IEND":
            head += png[i:i + 12 + n]
        i += 12 + n
    return (head + b"".join(chunk(b"IDAT", data[k:k + size]) for k in range(0, len(data), size))
            + after + chunk(b"IEND", b""))


def pdf_form(path: Path, options: int = 0, annotations: int = 0) -> Path:
    """A one-page PDF with a form that asks to be drawn (/NeedAppearances): a list box whose /Opt
    cites one 2 MB string ``options`` times (a few KB of file: qpdf's drawing copies each), and
    ``annotations`` more small annotations on the page (attack 16)."""
    pdf = pikepdf.new()
    _page(pdf, _stream(pdf, TEXT))
    page = pdf.pages[0].obj
    helv = page.Resources.Font.F1
    big = pdf.make_indirect(pikepdf.String(b"A" * 2_000_000))
    field = pdf.make_indirect(pikepdf.Dictionary(
        Type=Name.Annot, Subtype=Name.Widget, FT=Name.Ch, T=pikepdf.String("choix"), Ff=0,
        Opt=pikepdf.Array([big] * options), V=pikepdf.String("x"), DA=pikepdf.String("/Helv 10 Tf 0 g"),
        Rect=[72, 500, 300, 600], P=page))
    look = pdf.make_stream(b"0 0 1 rg 0 0 5 5 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 5, 5])
    square = [pdf.make_indirect(pikepdf.Dictionary(Type=Name.Annot, Subtype=Name.Square, Rect=[x % 500, 50, x % 500 + 5, 55],
                                                  AP=pikepdf.Dictionary(N=look)))
              for x in range(annotations)]
    page.Annots = pikepdf.Array([field, *square])
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[field], NeedAppearances=True, DA=pikepdf.String("/Helv 10 Tf 0 g"),
                                           DR=pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=helv)))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)
    return path


def pdf_joined_content(path: Path, size: int, pages: int = 2) -> Path:
    """``pages`` pages whose /Contents is an array of one Flate stream of ``size`` bytes (a square,
    then spaces): the stamping joins and holds it until the pièce is saved (attack 18)."""
    head = b"0 0 1 rg 100 100 200 200 re f\n"
    body = zlib.compress(head + b" " * (size - len(head)), 9)
    pdf = pikepdf.new()
    for _ in range(pages):
        _page(pdf, pikepdf.Array([_stream(pdf, body, "/FlateDecode")]))
    return _raw_save(pdf, path)


def pdf_layer_lists(path: Path, entries: int) -> Path:
    """One layer whose default configuration cites one indirect array of ``entries`` zeros under
    /Order, /RBGroups, /Locked and /AS: carried over list by list for each listing of the file."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    ocg = pdf.make_indirect(pikepdf.Dictionary(Type=Name.OCG, Name=pikepdf.String("calque")))
    big = pdf.make_indirect(pikepdf.Array([0] * entries))
    pdf.Root.OCProperties = pikepdf.Dictionary(OCGs=pikepdf.Array([ocg]),
                                               D=pikepdf.Dictionary(Order=big, RBGroups=big, Locked=big, AS=big))
    return _raw_save(pdf, path)


def pdf_array_beside_catalogue(path: Path, count: int) -> Path:
    """An array of ``count`` zeros packed in the object stream that holds the catalogue: qpdf reads
    it while opening the file, before anything else (attack 18)."""
    pdf = pikepdf.new()
    _page(pdf, pdf.make_stream(TEXT))
    pdf.Root.Extra = pdf.make_indirect(pikepdf.Array([0] * count))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)
    return path


def pdf_heavy_scan(path: Path, size: int) -> Path:
    """A sound one-page PDF drawing one grey image stored without compression: a file of ``size``
    bytes, as a scanner may write (each listing of it is held whole while its pièce is written)."""
    import random

    side = int(size ** 0.5)
    pdf = pikepdf.new()
    image = _stream(pdf, random.Random(3).randbytes(side * side), Type=Name.XObject, Subtype=Name.Image,
                    Width=side, Height=side, BitsPerComponent=8, ColorSpace=Name.DeviceGray)
    _page(pdf, pdf.make_stream(b"q 500 0 0 500 50 150 cm /Im0 Do Q"))
    pdf.pages[0].Resources.XObject = pikepdf.Dictionary(Im0=image)
    return _raw_save(pdf, path)


def png_palette_broken(path: Path, colours: int | None) -> Path:
    """A palette PNG whose pixels name 64 colours, its PLTE chunk dropped (``colours`` None) or cut
    to ``colours`` entries: viewers draw a blank or black page, Pillow its own default colours."""
    img = Image.new("P", (64, 40))
    img.putdata([x for _ in range(40) for x in range(64)])
    img.putpalette([v for i in range(64) for v in (i * 4, 255 - i * 4, 128)])
    buf = io.BytesIO()
    img.save(buf, "PNG")
    data, out, pos = buf.getvalue(), bytearray(buf.getvalue()[:8]), 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos:pos + 12 + length]
        if kind == b"PLTE":
            if colours is None:
                chunk = b""
            else:
                body = data[pos + 8:pos + 8 + 3 * colours]
                chunk = struct.pack(">I", len(body)) + b"PLTE" + body + struct.pack(">I", zlib.crc32(b"PLTE" + body))
        out += chunk
        pos += 12 + length
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path
