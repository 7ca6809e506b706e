"""Attack catalogue (issue 10, causes 3, 4, 6, 8): one generated sample per cause.

Each sample runs the real CLI in a child process under an address-space limit and a wall-clock
timeout, and asserts the exit code, the French message, the CPU time and peak memory, that
nothing is left behind, that the sources are untouched and that nothing from outside the case
reaches the output.
"""

from __future__ import annotations

import binascii
import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from conftest import ROOT, default_case, make_jpeg, make_pdf, make_png, write_case

ADDRESS_SPACE = 1_500_000_000  # bytes: the child dies rather than swap past this
MAX_RSS_KB = 1_000_000
MAX_CPU_S = 10.0  # CPU seconds, so that a loaded machine does not fail the test
WALL_S = 60.0
SECRET = b"SECRET-HORS-AFFAIRE-8f3a"


# --- running the CLI under limits -------------------------------------------------------------

class Ran:
    def __init__(self, code: int, out: str, cpu: float, rss_kb: int):
        self.code, self.out, self.cpu, self.rss_kb = code, out, cpu, rss_kb


def refere(*args, cwd: Path, env: dict | None = None, stdin=subprocess.DEVNULL) -> Ran:
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", "refere", *map(str, args)], cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, stdin=stdin, preexec_fn=limit, env=full_env)
        timer = threading.Timer(WALL_S, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode((env or {}).get("PYTHONIOENCODING", "utf-8"), "replace")
    return Ran(proc.returncode, text, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_rewrite(path: Path, change) -> None:
    data = path.read_bytes()
    pos, out = 8, [data[:8]]
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = change(kind, data[pos + 8:pos + 8 + n])
        if body is not None:
            out.append(_chunk(kind, body))
        pos += 12 + n
    path.write_bytes(b"".join(out))


def _case(folder: Path, data=None) -> Path:
    return write_case(folder, data or default_case())


def _secret(tmp: Path) -> Path:
    """A file outside the case that must never be read into an output."""
    path = tmp / "secret.png"
    info = PngInfo()
    info.add_text("Comment", SECRET.decode())
    Image.new("RGB", (30, 30)).save(path, pnginfo=info)
    return path


# --- samples: each returns (command arguments) after preparing the case folder ----------------

CAPTURE = "captures/c00.png"
PIECE = "pieces/passeport.pdf"


def png_idat_truncated(folder):
    _case(folder)
    _png_rewrite(folder / CAPTURE, lambda k, b: b[:len(b) // 3] if k == b"IDAT" else b)


def png_idat_garbage(folder):
    _case(folder)
    _png_rewrite(folder / CAPTURE, lambda k, b: bytes((i * 7 + 3) & 255 for i in range(len(b))) if k == b"IDAT" else b)


def png_ihdr_lies(folder):
    _case(folder)
    _png_rewrite(folder / CAPTURE, lambda k, b: struct.pack(">II", 2000, 4000) + b[8:] if k == b"IHDR" else b)


def jpeg_cut_mid_scan(folder):
    data = default_case()
    data["tentatives"][0]["capture"] = "captures/c00.jpg"
    _case(folder, data)
    make_jpeg(folder / "captures/c00.jpg", size=(900, 1400))
    raw = (folder / "captures/c00.jpg").read_bytes()
    (folder / "captures/c00.jpg").write_bytes(raw[:len(raw) // 2])


def png_ztxt_bomb(folder):
    _case(folder)
    bomb = zlib.compress(b"\x00" * 200_000_000, 9)  # ~200 kB that inflate to 200 MB
    itxt = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + bomb

    path = folder / CAPTURE
    raw = path.read_bytes()
    head = raw[:33]  # signature + IHDR
    path.write_bytes(head + _chunk(b"zTXt", b"Creation Time\x00\x00" + bomb) + _chunk(b"iTXt", itxt) + raw[33:])


def jpeg_exif_blob(folder):
    data = default_case()
    data["tentatives"][0]["capture"] = "captures/c00.jpg"
    _case(folder, data)
    exif = Image.Exif()
    exif[270] = "x" * 60_000  # ImageDescription filling the APP1 segment
    exif.get_ifd(0x8769)[36867] = "2025:03:03 08:55:00"
    Image.new("RGB", (200, 300)).save(folder / "captures/c00.jpg", "JPEG", exif=exif.tobytes())


def _pdf_with_stream(folder, data: bytes, filters: list[str]):
    _case(folder)
    pdf = pikepdf.new()
    stream = pikepdf.Stream(pdf, data)
    stream.Filter = pikepdf.Array([pikepdf.Name(f) for f in filters])
    pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 612, 792],
                                                     Contents=stream)))
    pdf.save(folder / PIECE, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)


def pdf_nested_filters(folder):
    data = b"0 0 m 1 1 l S\n"
    for _ in range(4):
        data = zlib.compress(data)
    _pdf_with_stream(folder, data, ["/FlateDecode"] * 4)


def pdf_hex_flate_bomb(folder):
    inflater = zlib.compressobj(9)
    body = inflater.compress(b"0 0 m 1 1 l S\n" + b" " * 300_000_000) + inflater.flush()
    _pdf_with_stream(folder, binascii.hexlify(body) + b">", ["/ASCIIHexDecode", "/FlateDecode"])


def pdf_object_stream_bomb(folder):
    """An object stream of 100 kB inflating to 100 MB (a few MB make gigabytes): qpdf would inflate
    it whole, in memory, to read the one object it holds."""
    _case(folder)
    deflater = zlib.compressobj(9)
    body = deflater.compress(b"5 0 ") + deflater.compress(b" " * 100_000_000) + deflater.compress(b"<< >>")
    body += deflater.flush()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Foo 5 0 R >>"]
    out, offsets = b"%PDF-1.7\n", []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    offsets.append(len(out))
    out += (b"4 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(body)
            + body + b"\nendstream\nendobj\n")
    xref = len(out)
    rows = struct.pack(">BIH", 0, 0, 65535) + b"".join(struct.pack(">BIH", 1, o, 0) for o in offsets)
    rows += struct.pack(">BIH", 2, 4, 0) + struct.pack(">BIH", 1, xref, 0)
    out += (b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(rows)
            + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref)
    (folder / PIECE).write_bytes(out)


def pdf_many_pages(folder, n=30_000):
    """Written by hand: tens of thousands of tiny pages in a file of a few MB."""
    _case(folder)
    out, offsets = bytearray(b"%PDF-1.7\n"), []

    def obj(body: bytes) -> None:
        offsets.append(len(out))
        out.extend(b"%d 0 obj\n" % len(offsets) + body + b"\nendobj\n")

    obj(b"<< /Type /Catalog /Pages 2 0 R >>")
    obj(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (i + 3) for i in range(n)) + b"] /Count %d >>" % n)
    for _ in range(n):
        obj(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")
    xref = len(out)
    out.extend(b"xref\n0 %d\n0000000000 65535 f \n" % (n + 3) + b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.extend(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n + 3, xref))
    (folder / PIECE).write_bytes(bytes(out))


def yaml_many_nodes(folder):
    _case(folder)
    (folder / "dossier.yaml").write_text("version: [" + "0," * 500_000 + "0]\n")


def _special(make):
    def setup(folder):
        _case(folder)
        (folder / CAPTURE).unlink()
        make(folder / CAPTURE)
    return setup


def _socket(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()  # the socket file stays


def _dev_zero(path):
    try:
        os.mknod(path, 0o644 | 0o020000, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("créer un périphérique demande les droits root")


def sparse_piece(folder):
    _case(folder)
    with open(folder / PIECE, "r+b") as fh:
        fh.truncate(50 * 1024**3)  # 50 GB of nothing


def case_file_fifo(folder):
    _case(folder)
    (folder / "dossier.yaml").unlink()
    os.mkfifo(folder / "dossier.yaml")


def _pdf_page_value(**values):
    def setup(folder):
        _case(folder)
        make_pdf(folder / PIECE, pages=2)
        with pikepdf.open(folder / PIECE, allow_overwriting_input=True) as pdf:
            page = pdf.pages[1].obj
            for key, value in values.items():
                page[f"/{key}"] = value
            pdf.save(folder / PIECE)
    return setup


def _field(mutate):
    def setup(folder):
        data = default_case()
        mutate(data)
        _case(folder, data)
    return setup


def _set(path, value):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def long_path(folder):
    _case(folder)
    text = (folder / "dossier.yaml").read_text()
    (folder / "dossier.yaml").write_text(text.replace("captures/c00.png", "captures/" + "x" * 300 + ".png"))


def yaml_text(text):
    def setup(folder):
        _case(folder)
        (folder / "dossier.yaml").write_text(text, "utf-8")
    return setup


def capture_swapped_for_link(folder):
    """The link was not there when the case was written: it is found when the file is opened."""
    _case(folder)
    (folder / CAPTURE).unlink()
    os.symlink(_secret(folder.parent), folder / CAPTURE)


BUILD = ("build", "dossier.yaml")
ILLEGIBLE = ["c00", "image endommagée ou tronquée"]

SAMPLES = {
    # 3. evidence decoded before it is filed
    "png-idat-truncated": (png_idat_truncated, BUILD, 1, ILLEGIBLE),
    "png-idat-garbage": (png_idat_garbage, BUILD, 1, ILLEGIBLE),
    "png-ihdr-lies": (png_ihdr_lies, BUILD, 1, ILLEGIBLE),
    "jpeg-cut-mid-scan": (jpeg_cut_mid_scan, BUILD, 1, ["captures/c00.jpg", "image endommagée ou tronquée"]),
    # 4. bounded everywhere (Pillow refuses a text chunk inflating past 1 MB: the capture is illegible)
    # Its pixels are sound: the metadata bombs are dropped, never inflated (memory stays bounded below).
    "png-text-bomb": (png_ztxt_bomb, BUILD, 0, ["Dossier construit"]),
    "jpeg-exif-blob": (jpeg_exif_blob, BUILD, 0, ["Dossier construit"]),
    "pdf-nested-filters": (pdf_nested_filters, BUILD, 1, ["passeport.pdf", "compressé 4 fois"]),
    "pdf-hex-flate-bomb": (pdf_hex_flate_bomb, BUILD, 1, ["passeport.pdf", "se décompresse en plus de"]),
    "pdf-object-stream-bomb": (pdf_object_stream_bomb, BUILD, 1, ["passeport.pdf", "objets compressés"]),
    "pdf-30000-pages": (pdf_many_pages, BUILD, 1, ["passeport.pdf", "plus de 2000 pages"]),
    "yaml-many-nodes": (yaml_many_nodes, BUILD, 1, ["dossier.yaml", "trop gros"]),
    "capture-fifo": (_special(os.mkfifo), BUILD, 1, ["captures/c00.png", "tube (FIFO)"]),
    "capture-socket": (_special(_socket), BUILD, 1, ["captures/c00.png", "socket"]),
    "capture-dev-zero": (_special(_dev_zero), BUILD, 1, ["captures/c00.png", "périphérique"]),
    "piece-sparse-50GB": (sparse_piece, BUILD, 1, ["passeport.pdf", "fichier trop gros"]),
    "case-file-fifo": (case_file_fifo, ("check", "dossier.yaml"), 1, ["dossier.yaml", "tube (FIFO)"]),
    # 6. files opened once, no link followed
    "capture-link-out": (capture_swapped_for_link, BUILD, 1, ["captures/c00.png", "lien"]),
    # 8. every odd value in French
    "pdf-rotate-45": (_pdf_page_value(Rotate=45), BUILD, 1, ["passeport.pdf", "page 2", "multiple de 90"]),
    "pdf-rotate-text": (_pdf_page_value(Rotate=pikepdf.String("90")), BUILD, 1,
                        ["passeport.pdf", "page 2", "/Rotate", "pas un nombre"]),
    "pdf-font-not-dict": (_pdf_page_value(Resources=pikepdf.Dictionary(Font=pikepdf.Array([1]))), BUILD, 1,
                          ["passeport.pdf", "page 2", "/Font"]),
    "pdf-zero-box": (_pdf_page_value(MediaBox=pikepdf.Array([0, 0, 0, 0])), BUILD, 1,
                     ["passeport.pdf", "page 2", "taille nulle"]),
    "path-too-long": (long_path, BUILD, 1, ["tentative n° 1, capture", "chemin trop long"]),
    "year-1850": (_field(_set(("signature", "date"), "1850-01-01")), BUILD, 1,
                  ["signature : date", "année invraisemblable"]),
    "year-1900-attempt": (_field(_set(("tentatives", 0, "date"), "1900-01-01 10:00")), BUILD, 1,
                          ["tentative n° 1, date et heure", "la prise de rendez-vous en ligne date au plus tôt de 2000"]),
    "year-9999": (_field(_set(("tentatives", 0, "date"), "9999-12-31 23:59")), BUILD, 1,
                  ["tentative n° 1, date et heure", "année invraisemblable"]),
    "arabic-indic-digits": (_field(_set(("requerant", "numero_etranger"), "٠١٢٣٤٥٦٧٨٩")), BUILD, 1,
                            ["numéro étranger AGDREF", "10 chiffres"]),
    "yaml-two-documents": (yaml_text("version: 1\n---\nversion: 1\n"), BUILD, 1, ["dossier.yaml:2", "plusieurs documents"]),
    "yaml-null-key": (yaml_text("version: 1\n~: x\n"), BUILD, 1, ["dossier.yaml:2", "null"]),
}


def _hidden(folder: Path) -> list[str]:
    return [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] + \
           [p.name for p in folder.iterdir() if p.name.startswith(".")]


def _readable(folder: Path) -> dict[str, bytes]:
    """Snapshot of the regular files (a FIFO or socket is not read)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(folder))] = p.read_bytes() if p.stat().st_size < 100_000_000 else b"<large>"
    return out


@pytest.mark.parametrize("name", list(SAMPLES))
def test_attack(name, tmp_path):
    setup, args, code, needles = SAMPLES[name]
    folder = tmp_path / "affaire"
    setup(folder)
    before = _readable(folder)
    ran = refere(*args, cwd=folder)
    assert ran.code == code, ran.out
    for needle in needles:
        assert needle in ran.out, (needle, ran.out)
    assert "Traceback" not in ran.out and "Erreur interne" not in ran.out
    assert ran.cpu < MAX_CPU_S, f"{ran.cpu:.1f} s CPU"
    assert ran.rss_kb < MAX_RSS_KB, f"{ran.rss_kb} kB"
    assert _hidden(folder) == []
    after = _readable(folder)
    if code == 0:
        after = {k: v for k, v in after.items() if not k.startswith("dossier/")}
    else:
        assert not (folder / "dossier").exists()
    assert after == before
    assert all(SECRET not in v for v in after.values())
    assert SECRET.decode() not in ran.out


# --- commands other than build ----------------------------------------------------------------

def test_captures_folder_of_many_files_is_refused_quickly(tmp_path):
    folder = tmp_path / "captures"
    folder.mkdir()
    for i in range(20_000):
        (folder / f"f{i:05d}.txt").touch()
    ran = refere("captures", folder, cwd=tmp_path)
    assert ran.code == 1 and "plus de 5000 fichiers" in ran.out, ran.out
    assert ran.cpu < MAX_CPU_S and ran.rss_kb < MAX_RSS_KB


def test_captures_never_reads_outside_the_folder(tmp_path):
    secret = _secret(tmp_path)
    folder = tmp_path / "affaire" / "captures"
    make_png(folder / "Screenshot_20250303-085512.png", size=(40, 80))
    os.symlink(secret, folder / "Screenshot_20250304-085512.png")
    os.mkfifo(folder / "Screenshot_20250305-085512.png")
    ran = refere("captures", folder, cwd=tmp_path)
    assert ran.code == 0, ran.out
    assert "2025-03-03 08:55" in ran.out
    assert "2025-03-04" not in ran.out and "lien symbolique" in ran.out  # the link is not followed
    assert "tube (FIFO)" in ran.out  # said, never opened (the command would hang)
    assert SECRET.decode() not in ran.out


def test_ajouter_refuses_paths_check_would_refuse(tmp_path):
    case = _case(tmp_path / "affaire")
    elsewhere = tmp_path / "ailleurs"
    make_png(elsewhere / "Screenshot_20250303-085512.png", size=(40, 80))
    before = case.read_bytes()
    ran = refere("captures", elsewhere, "--ajouter", case, cwd=tmp_path)
    assert ran.code == 1 and "rien n'a été modifié" in ran.out and "« .. »" in ran.out, ran.out
    assert case.read_bytes() == before


def test_ajouter_refuses_a_symlinked_case_file(tmp_path):
    real = _case(tmp_path / "affaire")
    link = tmp_path / "affaire" / "lien.yaml"
    os.symlink(real, link)
    make_png(tmp_path / "affaire" / "captures" / "Screenshot_20250401-083000.png", size=(40, 80))
    before = real.read_bytes()
    ran = refere("captures", tmp_path / "affaire" / "captures", "--ajouter", link, cwd=tmp_path)
    assert ran.code == 1 and "lien symbolique" in ran.out, ran.out
    assert link.is_symlink() and real.read_bytes() == before


def test_init_never_writes_through_a_link(tmp_path):
    target = tmp_path / "victime.txt"
    folder = tmp_path / "nouveau"
    folder.mkdir()
    os.symlink(target, folder / "dossier.yaml")  # dangling: exists() says False
    ran = refere("init", folder, cwd=tmp_path)
    assert ran.code == 1 and "lien symbolique" in ran.out, ran.out
    assert not target.exists()


def test_terminal_that_cannot_print_french(tmp_path):
    folder = tmp_path / "affaire"
    _field(_set(("requerant", "numero_etranger"), "٠١٢٣٤٥٦٧٨٩"))(folder)
    ran = refere("check", "dossier.yaml", cwd=folder, env={"PYTHONIOENCODING": "latin-1"})
    assert ran.code == 1 and "numéro étranger" in ran.out and "Erreur interne" not in ran.out, ran.out
    ok = refere("tribunal", "93", cwd=folder, env={"PYTHONIOENCODING": "ascii"})
    assert ok.code == 0 and "Montreuil" in ok.out, ok.out


def test_source_swapped_for_a_link_after_checking_changes_nothing(tmp_path):
    """Between the check (load) and the use (probe, conversion), a swap is refused."""
    from refere import files
    from refere.errors import FileProblem

    folder = tmp_path / "affaire"
    make_png(folder / "captures" / "c.png", size=(30, 30))
    checked = files.check_source(folder, "captures/c.png")
    assert files.read_checked(checked)[:4] == b"\x89PNG"
    (folder / "captures" / "c.png").unlink()
    os.symlink(_secret(tmp_path), folder / "captures" / "c.png")
    with pytest.raises(FileProblem, match="lien"):
        files.read_checked(checked)
    # A folder of the chain swapped for a link is refused as well.
    os.unlink(folder / "captures" / "c.png")
    make_png(tmp_path / "autre" / "c.png", size=(30, 30))
    os.rename(folder / "captures", folder / "captures.old")
    os.symlink(tmp_path / "autre", folder / "captures")
    with pytest.raises(FileProblem):
        files.read_checked(checked)


def test_link_inside_the_case_is_read_as_resolved(tmp_path):
    """A link that stays inside the case is allowed; it is resolved once, then never followed."""
    from refere import files

    folder = tmp_path / "affaire"
    make_png(folder / "vraies" / "c.png", size=(30, 30))
    os.symlink("vraies", folder / "captures")
    checked = files.check_source(folder, "captures/c.png")
    assert checked.parts == ("vraies", "c.png")
    assert files.read_checked(checked) == (folder / "vraies" / "c.png").read_bytes()


def test_png_text_bomb_is_inflated_only_up_to_the_bound():
    from refere.pieces import pngmeta

    bomb = zlib.compress(b"a" * 50_000_000, 9)
    png = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + _chunk(b"zTXt", b"Comment\x00\x00" + bomb) + _chunk(b"IEND", b""))
    start = time.process_time()
    meta = pngmeta.read(png)
    assert len(meta.text["Comment"]) == pngmeta.MAX_TEXT
    assert time.process_time() - start < 1.0


def test_progressive_jpeg_with_thousands_of_scans_is_refused(tmp_path, run):
    import io

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 200)).save(buf, "JPEG", progressive=True, quality=80)
    data = buf.getvalue()
    last = data.rindex(b"\xff\xda")
    scan = data[last:-2]  # the last scan, header and data, up to EOI
    folder = tmp_path / "affaire"
    (folder / "pieces").mkdir(parents=True)
    (folder / "pieces" / "passes.jpg").write_bytes(data[:-2] + scan * 3000 + b"\xff\xd9")
    case = default_case()
    case["pieces"] = [{"titre": "Passes", "categorie": "autre", "fichier": "pieces/passes.jpg"}]
    start = time.monotonic()
    res = run("build", write_case(folder, case))
    assert res.exit_code == 1 and "passes (au plus 100)" in res.output and "passes.jpg" in res.output, res.output
    assert "Traceback" not in res.output
    assert time.monotonic() - start < 30
    assert not (folder / "dossier").exists()


def test_a_device_given_as_the_case_file_is_named_as_given(run):
    if not os.path.exists("/dev/zero"):
        pytest.skip("/dev/zero absent")
    result = run("check", "/dev/zero")
    assert result.exit_code == 1
    assert "/dev/zero — « /dev/zero » est un périphérique, pas un fichier ordinaire" in result.output
