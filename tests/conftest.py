"""Fixtures: real image and PDF files made with Pillow and pikepdf, and case folders."""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import shutil
from pathlib import Path

import pikepdf
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image, ImageDraw

from refere.cli import cli

# Reading captures by OCR is slow and depends on Tesseract: only tests/test_lecture.py turns it on.
os.environ.setdefault("REFERE_LECTURE", "0")
# The images already decoded are remembered in the user's cache: the tests use one of their own.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="refere-tests-cache-")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "cases" / "exemple-94"


def make_png(path: Path, size=(1080, 2400), mode="RGB", text="aucun créneau", **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    base = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(base)
    if size[0] > 60 and size[1] > 160:
        draw.rectangle([20, 20, size[0] - 20, size[1] // 6], fill=(0, 0, 145))
    draw.text((40, size[1] // 4), text, fill=(0, 0, 0))
    if mode == "RGBA":
        img = base.convert("RGBA")
        img.putalpha(Image.new("L", size, 128))
    elif mode == "LA":
        img = base.convert("LA")
    elif mode == "P":
        img = base.convert("P", palette=Image.ADAPTIVE, colors=16)
        save.setdefault("transparency", 0)
    elif mode == "I;16":
        img = base.convert("I").point(lambda v: v * 256).convert("I;16")
    else:
        img = base.convert(mode)
    img.save(path, "PNG", **save)
    return path


def make_jpeg(path: Path, size=(800, 500), mode="RGB", orientation: int | None = None,
              taken: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, (200, 210, 230))
    ImageDraw.Draw(img).rectangle([10, 10, size[0] // 2, size[1] // 3], fill=(20, 20, 20))
    img = img.convert(mode)
    exif = Image.Exif()
    if orientation:
        exif[274] = orientation
    if taken:
        exif.get_ifd(0x8769)[36867] = taken
    img.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


def make_pdf(path: Path, pages=1, size=(612, 792), rotate=0, text="Document", encrypt=None,
             creation: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for i in range(pages):
        content = f"BT /F1 14 Tf 72 {size[1] - 100} Td ({text} page {i + 1}) Tj ET".encode()
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, *size],
                                  Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                                  Contents=pdf.make_stream(content))
        if rotate:
            page.Rotate = rotate
        pdf.pages.append(pikepdf.Page(page))
    if creation:
        pdf.docinfo["/CreationDate"] = creation
    kwargs = {}
    if encrypt:
        kwargs["encryption"] = pikepdf.Encryption(owner=encrypt[0], user=encrypt[1], R=6)
    # qpdf cannot derive a deterministic ID for an encrypted file.
    pdf.save(path, deterministic_id=not encrypt, **kwargs)
    return path


def default_case(attempts=None) -> dict:
    """A sound renewal case with attempts over three weeks (captures to be created)."""
    if attempts is None:
        attempts = ["2025-03-03 08:55", "2025-03-04 00:05", "2025-03-06 14:10", "2025-03-10 08:50",
                    "2025-03-12 23:55", "2025-03-14 08:40", "2025-03-17 08:59", "2025-03-18 00:10",
                    "2025-03-20 19:30", "2025-03-21 08:45"]
    return {
        "version": 1,
        "requerant": {"civilite": "Mme", "nom": "Diallo", "prenoms": "Aïssatou Binta",
                      "date_naissance": "1991-04-12", "lieu_naissance": "Conakry (Guinée)",
                      "nationalite": "guinéenne", "adresse": "12 rue de la République\n93200 Saint-Denis"},
        "procedure": {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour temporaire",
                      "expiration_titre": "2025-05-31"},
        "prefecture": {"departement": "93"},
        "tentatives": [{"date": a, "capture": f"captures/c{i:02d}.png"} for i, a in enumerate(attempts)],
        "pieces": [
            {"titre": "Passeport", "categorie": "identite", "fichier": "pieces/passeport.pdf"},
            {"titre": "Courriel à la préfecture du 12 mars 2025", "categorie": "courrier_prefecture",
             "fichier": "pieces/courriel.pdf", "date": "2025-03-12"},
        ],
        "urgence": ["Mon titre expire le 31 mai 2025."],
        "signature": {"lieu": "Saint-Denis", "date": "2025-04-01"},
    }


def write_case(folder: Path, data: dict | str, files: bool = True, small: bool = True) -> Path:
    """Write dossier.yaml and create every file it names (small real PNGs and PDFs)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dossier.yaml"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
        return path
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if files:
        size = (270, 600) if small else (1080, 2400)
        for i, t in enumerate(data.get("tentatives") or []):
            cap = t.get("capture") if isinstance(t, dict) else None
            if isinstance(cap, str) and not (folder / cap).exists() and not cap.startswith(("/", "..")):
                make_png(folder / cap, size=size, text=f"tentative {i}")
        for p in data.get("pieces") or []:
            for f in ([p.get("fichier")] if p.get("fichier") else []) + list(p.get("fichiers") or []):
                if isinstance(f, str) and not (folder / f).exists():
                    if f.endswith(".pdf"):
                        make_pdf(folder / f, text=p.get("titre", "piece"))
                    elif f.endswith((".jpg", ".jpeg")):
                        make_jpeg(folder / f)
                    else:
                        make_png(folder / f, size=(400, 300))
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def run(runner):
    def _run(*args: str):
        return runner.invoke(cli, [str(a) for a in args])
    return _run


@pytest.fixture
def case_path(tmp_path) -> Path:
    return write_case(tmp_path / "affaire", default_case())


# What a user's own runs leave in cases/exemple-94/ (git-ignored): a test never sees it.
USER_OUTPUTS = shutil.ignore_patterns("dossier", ".refere", "courrier-prefecture.*")


def copy_example(target: Path) -> Path:
    """The example case as committed, whatever « refere build » or « refere courrier » left next to it."""
    shutil.copytree(EXAMPLE, target, ignore=USER_OUTPUTS)
    return target


@pytest.fixture
def example(tmp_path) -> Path:
    target = copy_example(tmp_path / "exemple-94")
    for p in target.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return target / "dossier.yaml"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def require_tool(name: str, program: str | None = None, env: str | None = None, hint: str = "") -> str:
    """Path of an external program, or skip the test with a visible reason.

    With ``REFERE_EXIGER_<NAME>=1`` (CI sets it) a missing program fails the test instead.
    """
    import os

    env = env or f"REFERE_EXIGER_{name.upper()}"
    found = shutil.which(program or name.lower())
    if found:
        return found
    reason = f"{program or name} introuvable{' (' + hint + ')' if hint else ''}"
    if os.environ.get(env) == "1":
        pytest.fail(f"{reason} alors que {env}=1")
    pytest.skip(f"{reason} ; {env}=1 rend ce test obligatoire")


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    """Text of pages ``first``..``last`` (1-based, inclusive), read with pdfium (pip-installable)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        n = len(doc)
        out = []
        for k in range((first or 1) - 1, min(last or n, n)):
            page = doc[k]
            textpage = page.get_textpage()
            out.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return "\n".join(out)
    finally:
        doc.close()


def top_line(path: Path, page_number: int = 1) -> str:
    """The text of the visually highest line of a page, as displayed (its /Rotate applied)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        page = doc[page_number - 1]
        rotation = page.get_rotation()
        textpage = page.get_textpage()
        chars = []
        for i in range(textpage.count_chars()):
            l, b, r, t = textpage.get_charbox(i)
            x, y = (l + r) / 2, (b + t) / 2
            # Displayed clockwise by /Rotate: which page-space direction points up on screen.
            up = {0: y, 90: -x, 180: -y, 270: x}[rotation]
            chars.append((up, textpage.get_text_range(i, 1)))
        textpage.close()
        page.close()
    finally:
        doc.close()
    highest = max(up for up, c in chars if c.strip())
    return "".join(c for up, c in chars if up > highest - 8)


def check_pdf(path: Path) -> None:
    """What « qpdf --check » does, through pikepdf: structure and every stream decodable."""
    with pikepdf.open(path) as pdf:
        problems = pdf.check_pdf_syntax()
        assert problems == [], (path, problems)
        for page in pdf.pages:
            for stream in ([page.obj.Contents] if isinstance(page.obj.Contents, pikepdf.Stream)
                           else list(page.obj.Contents)):
                stream.read_bytes()


def pdf_fonts(path: Path) -> set[str]:
    """BaseFont and encoding names of every font the pages use (what « pdffonts » lists)."""
    names: set[str] = set()
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            fonts = page.obj.get("/Resources", {}).get("/Font", {})
            for _, font in fonts.items():
                names.add(str(font.get("/BaseFont", "")))
                names.add(str(font.get("/Encoding", "")))
    return names


def png_bytes(size=(10, 10)) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", size).save(b, "PNG")
    return b.getvalue()


TODAY = dt.date.today()
