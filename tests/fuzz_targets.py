"""Fuzz targets over the parsers of hostile input: the YAML loader, the PNG metadata reader and
the source probe (PDF and images). Each returns normally or raises the one French error type its
caller handles; anything else is a bug. Run long with ``tests/fuzz/run.py``."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pikepdf
from hypothesis import strategies as st
from PIL import Image

from refere.affaire import loader
from refere.pieces import pngmeta, probe
from refere.preuves import shotdates
from refere.errors import CaseInvalid, FileProblem

COUNTS = {"loader": 0, "pngmeta": 0, "pdf": 0, "image": 0}


# --- YAML loader ------------------------------------------------------------------------------

_KEYS = ["version", "requerant", "nom", "date", "tentatives", "pieces", "capture", "fichier", "~", "null",
         "numero_etranger", "date_naissance", "signature", "procedure", "type", "<<", "? a"]
_SCALARS = ["1", "2025-03-03 08:55", "٠١٢٣٤٥٦٧٨٩", "9999-12-31", "0001-01-01", "null", "~", "[]", "{}",
            "&a x", "*a", "!!python/none", "!!binary AAAA", "'", '"', "- x", "|", ">", "---", "...",
            "é", "\t", "% TAG", "captures/c.png", "../x", "/etc/passwd", "\x00", "\ufeff"]


@st.composite
def yaml_texts(draw) -> str:
    tokens = st.one_of(st.sampled_from(_KEYS), st.sampled_from(_SCALARS), st.text(max_size=8))
    lines = draw(st.lists(st.tuples(st.integers(0, 6), tokens, st.sampled_from([": ", ":", " ", "- ", ""]), tokens),
                          max_size=30))
    return "\n".join(" " * ind + a + sep + b for ind, a, sep, b in lines)


def target_loader(text: str, base: Path) -> None:
    COUNTS["loader"] += 1
    try:
        loader.load_text(text, "dossier.yaml", base)
    except CaseInvalid as exc:
        assert exc.message and "Traceback" not in exc.message


# --- PNG metadata -----------------------------------------------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_CHUNK_KINDS = [b"IHDR", b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tRNS", b"IDAT", b"IEND", b"PLTE", b"acTL"]


@st.composite
def png_like(draw) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(_CHUNK_KINDS))
        body = draw(st.one_of(
            st.binary(max_size=64),
            st.builds(lambda k, t: k + b"\x00\x00" + zlib.compress(t), st.binary(max_size=10), st.binary(max_size=200)),
            st.builds(lambda k, t: k + b"\x00\x01\x00fr\x00\x00" + zlib.compress(t), st.binary(max_size=10),
                      st.binary(max_size=200)),
            st.just(b"Creation Time\x00" + b"2025:03:03 08:55:00"),
            st.just(b"MM\x00*\x00\x00\x00\x08" + b"\xff" * 40),
        ))
        out += _chunk(kind, body)
        if draw(st.booleans()):  # a lying length
            out = out[:-4 - len(body) - 8] + struct.pack(">I", draw(st.integers(0, 2**32 - 1))) + out[-len(body) - 8:]
    return out + draw(st.binary(max_size=16))


def target_pngmeta(data: bytes) -> None:
    COUNTS["pngmeta"] += 1
    meta = pngmeta.read(data)
    _ = meta.orientation, meta.has_alpha
    shotdates.read(Path("Screenshot_20250303-085500.png"), "png", data)


# --- probe: PDF and images --------------------------------------------------------------------

def _seed_pdf() -> bytes:
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for i in range(2):
        pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, 612, 792], Rotate=90 * i,
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(b"BT /F1 12 Tf 72 700 Td (x) Tj ET"))))
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True, compress_streams=False)
    return buf.getvalue()


SEED_PDF = _seed_pdf()
_PDF_VALUES = [b"45", b"(x)", b"null", b"[0 0 0 0]", b"[0 0 1e300 1]", b"-90", b"1.5", b"<<>>", b"[]", b"true",
               b"/FlateDecode", b"[/FlateDecode /FlateDecode /FlateDecode]", b"99999999999999999999", b"3 0 R"]


@st.composite
def pdf_like(draw) -> bytes:
    data = bytearray(SEED_PDF)
    for _ in range(draw(st.integers(0, 4))):
        how = draw(st.sampled_from(["flip", "cut", "value", "insert"]))
        pos = draw(st.integers(0, len(data) - 1))
        if how == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif how == "cut":
            del data[pos:]
            if not data:
                break
        elif how == "value":
            for key in (b"/Rotate ", b"/MediaBox ", b"/Font ", b"/Resources ", b"/Count ", b"/Length "):
                at = data.find(key)
                if at >= 0 and draw(st.booleans()):
                    end = at + len(key)
                    stop = min(i for i in (data.find(b"/", end + 1), data.find(b">>", end)) if i > 0) \
                        if (data.find(b"/", end + 1) > 0 or data.find(b">>", end) > 0) else end
                    data[end:stop] = draw(st.sampled_from(_PDF_VALUES)) + b" "
        else:
            data[pos:pos] = draw(st.sampled_from(_PDF_VALUES))
    return bytes(data)


def target_pdf(data: bytes) -> None:
    COUNTS["pdf"] += 1
    try:
        probe._pdf_pages(data, "piece.pdf")
    except FileProblem as exc:
        assert exc.message.startswith("« piece.pdf »"), exc.message


def _seed_image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buf, fmt)
    return buf.getvalue()


SEEDS_IMAGE = [_seed_image("PNG"), _seed_image("JPEG")]


@st.composite
def image_like(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS_IMAGE)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[pos] = draw(st.integers(0, 255))
        else:
            del data[max(pos, 8):]
    return bytes(data)


def target_image(data: bytes) -> None:
    COUNTS["image"] += 1
    try:
        probe._image_pages(data, "c.png")
    except FileProblem as exc:
        assert exc.message.startswith("« c.png »"), exc.message
