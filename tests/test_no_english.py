"""No library's English on the user's terminal (issue 26.8, 22.4): the real CLI, in a child
process (so that Python's warnings and logging reach stderr as they would on a terminal), over
every generated oddity of tests/hostile.py, as a capture and as a pièce. Any English word outside
the user's own quoted text « … » fails the test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pikepdf

import hostile
from conftest import ROOT, default_case, write_case

ENGLISH = re.compile(
    r"\b(the|and|is|are|not|cannot|could|with|from|this|that|which|error|warning|invalid|unable|failed|"
    r"expected|unexpected|stream|object|found|missing|unknown|unsupported|corrupt|damaged|truncated|should|"
    r"must|has|have|while|reading|decoding|converted|bytes|exception|traceback|palette|transparency|"
    r"recovered|attempting|file|Truncated|UserWarning|site-packages)\b|0x[0-9a-f]{6}", re.IGNORECASE)

PDFS = {
    "lzw-illisible": hostile.pdf_array_bad_lzw,
    "objets-1-7-mo": hostile.pdf_packed_1_7_mb,
    "rotation-90-5": lambda p: hostile.pdf_rotate(p, pikepdf.Object.parse(b"90.5")),
    "jeton-coupe": hostile.pdf_bad_token,
    "jpeg-coupe": hostile.pdf_cut_jpeg,
    "runlength": hostile.pdf_runlength_damaged,
    "filtre-inconnu": hostile.pdf_unknown_filter,
    "lzw-sain": hostile.pdf_lzw,
    "flate-vide": hostile.pdf_flate_variants,
    "xref": hostile.pdf_bad_xref,
    "calques": hostile.pdf_layers,
    "tronque": hostile.pdf_truncated,
    "illisible": lambda p: p.write_bytes(b"%PDF-1.7\n" + b"garbage " * 40),
    "rotation-2-40": lambda p: hostile.pdf_rotate(p, 2**40),
}
IMAGES = {
    "orientation-5": (lambda p: hostile.jpeg_oriented(p, 5), "jpg"),
    "exif-abc": (lambda p: hostile.png_exif_orientation(p, b"abc"), "png"),
    "gris-16": (hostile.png_grey16_trns, "png"),
    "jpeg-12-bits": (hostile.jpeg_12bit, "jpg"),
    "icc-apres-sof": (hostile.jpeg_icc_after_sof, "jpg"),
    "palette-trns": (hostile.png_palette_trns, "png"),
    "exif-corrompu": (hostile.jpeg_corrupt_exif, "jpg"),
    "icc-1200-ko": (lambda p: _png_carrying(p, hostile.large_icc_chunk()), "png"),
    "ztxt-100-mo": (lambda p: _png_carrying(p, hostile.ztxt_bomb_chunk()), "png"),
}


def _png_carrying(path: Path, chunks: bytes) -> Path:
    plain = path.with_name("plain-" + path.name)
    plain.parent.mkdir(parents=True, exist_ok=True)
    hostile.arrow().save(plain)
    hostile.png_with_chunks(plain, path, chunks)
    plain.unlink()
    return path


def _english(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        bare = re.sub(r"«[^«»]*»", "", line)
        if ENGLISH.search(bare):
            found.append(line)
    return found


def _cli(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REFERE_LECTURE": "0"}
    proc = subprocess.run([sys.executable, "-m", "refere", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout + proc.stderr


REFUSED_PDFS = ("rotation-90-5", "rotation-2-40", "illisible")
REFUSED_IMAGES = ("jpeg-12-bits",)


def _folder(tmp_path: Path, name: str, captures: dict[str, object], pieces: dict[str, object]) -> Path:
    """A case whose first captures and pièces are the given makers' files."""
    data = default_case()
    for i, capture in enumerate(captures):
        data["tentatives"][i]["capture"] = capture
    data["pieces"] = [{"titre": f"Pièce {i + 1}", "fichier": piece} for i, piece in enumerate(pieces)]
    folder = tmp_path / name
    for written, make in [*captures.items(), *pieces.items()]:
        (folder / written).parent.mkdir(parents=True, exist_ok=True)
        make(folder / written)
    write_case(folder, data)
    return folder


def test_pdf_oddities_speak_french_only(tmp_path):
    """Those refere files (damaged, repaired, odd) in one build; those it refuses, one check each."""
    kept = {f"pieces/{n}.pdf": make for n, make in PDFS.items() if n not in REFUSED_PDFS}
    out = _cli("build", "dossier.yaml", cwd=_folder(tmp_path, "gardes", {}, kept))
    assert "Dossier construit" in out and not _english(out), out
    for name in REFUSED_PDFS:
        out = _cli("check", "dossier.yaml", cwd=_folder(tmp_path, name, {}, {f"pieces/{name}.pdf": PDFS[name]}))
        assert "[piece-illisible]" in out and not _english(out), out


def test_image_oddities_speak_french_only(tmp_path):
    kept = {n: v for n, v in IMAGES.items() if n not in REFUSED_IMAGES}
    captures = {f"captures/{n}.{ext}": make for n, (make, ext) in kept.items()}
    pieces = {f"pieces/{n}.{ext}": make for n, (make, ext) in kept.items()}
    folder = _folder(tmp_path, "images", captures, pieces)
    out = _cli("check", "dossier.yaml", cwd=folder) + _cli("build", "dossier.yaml", cwd=folder)
    assert "Dossier construit" in out and not _english(out), out
    for name in REFUSED_IMAGES:
        make, ext = IMAGES[name]
        out = _cli("check", "dossier.yaml", cwd=_folder(tmp_path, name, {f"captures/{name}.{ext}": make}, {}))
        assert "format non pris en charge" in out and not _english(out), out


def test_debug_shows_the_libraries_own_words(tmp_path):
    """What is kept off the screen is still there for a developer: --debug shows it."""
    folder = _folder(tmp_path, "debug", {"captures/exif.jpg": hostile.jpeg_corrupt_exif}, {})
    assert not _english(_cli("build", "dossier.yaml", cwd=folder))
    assert "UserWarning: Truncated File Read" in _cli("--debug", "build", "--force", "dossier.yaml", cwd=folder)
