"""The catalogue of bad inputs: each gives exit 1, a French message naming the file (and the line
and field when there is one), no traceback, nothing left behind, and untouched sources."""

import errno
import os
import re

import pytest
from PIL import Image

from conftest import default_case, make_pdf, make_png, snapshot, write_case


def _yaml(text):
    def setup(folder):
        write_case(folder, default_case())
        (folder / "dossier.yaml").write_text(text, "utf-8")
    return setup


def _case(mutate):
    def setup(folder):
        data = default_case()
        mutate(data, folder)
        write_case(folder, data)
    return setup


def _bytes(raw: bytes):
    def setup(folder):
        write_case(folder, default_case())
        (folder / "dossier.yaml").write_bytes(raw)
    return setup


def _replace(relative: str, content_fn):
    """Build a sound case, then replace one of its files with something bad."""
    def setup(folder):
        write_case(folder, default_case())
        target = folder / relative
        target.unlink()
        content_fn(target, folder)
    return setup


def _capture(content_fn):
    return _replace("captures/c00.png", content_fn)


def _piece(content_fn):
    return _replace("pieces/passeport.pdf", content_fn)


def _set_capture(path):
    def mutate(data, folder):
        data["tentatives"][0]["capture"] = path
    return mutate


def _outside(folder):
    make_png(folder.parent / "ailleurs.png", size=(20, 20))
    return str(folder.parent / "ailleurs.png")


def _alias_bomb():
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nversion: 1\n"


def _wrong_types(data, folder):
    data["requerant"] = {"nom": ["a"], "prenoms": {"x": 1}, "date_naissance": "hier", "lieu_naissance": 3,
                         "nationalite": None, "adresse": []}
    data["demandes"] = {"delai_jours": "quinze", "astreinte_par_jour": "beaucoup"}
    data["tentatives"][0]["date"] = ["2025"]


def _huge(data, folder):
    data["urgence"] = ["x" * 30_000]
    data["requerant"]["nom"] = "N" * 5_000


def _symlink(target, folder):
    make_png(folder.parent / "secret.png", size=(20, 20))
    os.symlink(folder.parent / "secret.png", target)


def _bomb_image(target, folder):
    Image.new("1", (20000, 20000)).save(target, optimize=True)


def _webp(target, folder):
    Image.new("RGB", (20, 20)).save(target, "WEBP")


def _gif(target, folder):
    Image.new("P", (20, 20)).save(target, "GIF")


CATALOGUE = {
    # YAML
    "tag-python": (_yaml("version: !!python/object/apply:os.system ['true']\n"), ["dossier.yaml:1", "étiquette"]),
    "alias-bomb": (_yaml(_alias_bomb()), ["dossier.yaml", "alias"]),
    "deep-nesting": (_yaml("version: " + "[" * 5000 + "]" * 5000 + "\n"), ["dossier.yaml", "trop imbriqué"]),
    "latin-1": (_bytes("version: 1\nrequerant:\n  nom: Hélène\n".encode("latin-1")), ["dossier.yaml:3", "UTF-8"]),
    "empty": (_yaml(""), ["dossier.yaml", "vide"]),
    "list-root": (_yaml("- a\n- b\n"), ["dossier.yaml:1", "liste"]),
    "wrong-types": (_case(_wrong_types), ["requerant.nom: texte attendu", "demandes.delai_jours: nombre entier",
                                          "tentatives[0].date"]),
    "huge-strings": (_case(_huge), ["requerant.nom: trop long", "urgence[0]: trop long"]),
    "duplicate-keys": (_yaml("version: 1\nversion: 1\n"), ["dossier.yaml:2: version: clé « version » écrite deux fois"]),
    # paths
    "absolute": (_case(lambda d, f: _set_capture(_outside(f))(d, f)), ["tentatives[0].capture: chemin absolu"]),
    "dotdot": (_case(_set_capture("../ailleurs.png")), ["tentatives[0].capture", "« .. »"]),
    "symlink-out": (_capture(_symlink), ["tentatives[0].capture", "lien qui mène hors"]),
    "folder": (_capture(lambda t, f: t.mkdir()), ["tentatives[0].capture", "est un dossier"]),
    "missing": (_capture(lambda t, f: None), ["tentatives[0].capture: fichier introuvable « captures/c00.png »"]),
    "zero-byte": (_capture(lambda t, f: t.write_bytes(b"")), ["captures/c00.png", "0 octet"]),
    # files
    "not-what-name-says": (_capture(lambda t, f: t.write_text("je suis du texte")), ["c00.png", "ni une image"]),
    "truncated-pdf": (_piece(lambda t, f: t.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")), ["passeport.pdf"]),
    "password-pdf": (_piece(lambda t, f: make_pdf(t, encrypt=("o", "u"))), ["passeport.pdf", "mot de passe"]),
    "pixel-bomb": (_capture(_bomb_image), ["c00.png", "démesurée"]),
    "heic": (_capture(lambda t, f: t.write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64)), ["c00.png", "HEIC", "convertissez"]),
    "webp": (_capture(_webp), ["c00.png", "WEBP", "convertissez"]),
    "gif": (_capture(_gif), ["c00.png", "GIF", "convertissez"]),
}


def _leftovers(folder):
    return [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] + \
           [p.name for p in folder.iterdir() if p.name.startswith((".", "dossier")) and p.name != "dossier.yaml"]




def _as_said(needle: str) -> str:
    """The catalogue names a field by its path; the CLI says it in the form's words (--json keeps the path)."""
    from refere.affaire.libelles import words
    from refere.present import field_fr

    m = re.fullmatch(r"(dossier\.yaml:\d+: )?([a-z_]+(?:\[\d+\])?(?:\.[a-z_0-9]+(?:\[\d+\])?)*): (.+)", needle, re.S)
    if not m:
        bare = re.fullmatch(r"[a-z_]+(?:\[\d+\])?(?:\.[a-z_0-9]+(?:\[\d+\])?)+|[a-z_]+\[\d+\]", needle)
        return field_fr(needle) if bare else needle
    return (m[1][:-2] + " — " if m[1] else "") + f"{field_fr(m[2])} : {words(m[3], m[2])}"


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_bad_input(name, tmp_path, run):
    setup, expected = CATALOGUE[name]
    folder = tmp_path / "affaire"
    setup(folder)
    before = snapshot(folder)
    res = run("build", folder / "dossier.yaml")
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and "Error" not in res.output.replace("Erreur", "")
    for needle in expected:
        assert _as_said(needle) in res.output, (_as_said(needle), res.output)
    assert _leftovers(folder) == []
    assert snapshot(folder) == before


def test_output_exists(tmp_path, run, case_path):
    (case_path.parent / "dossier").mkdir()
    (case_path.parent / "dossier" / "garder.txt").write_text("x")
    # Not a refere output: never replaced, even with --force.
    for extra in ((), ("--force",)):
        res = run("build", case_path, *extra)
        assert res.exit_code == 1 and "n'a pas été construit par refere" in res.output
        assert (case_path.parent / "dossier" / "garder.txt").read_text() == "x"


def test_output_cannot_be_written(tmp_path, run, case_path):
    blocker = tmp_path / "fichier"
    blocker.write_text("pas un dossier")
    res = run("build", case_path, "-o", blocker / "sortie")
    assert res.exit_code == 1 and "impossible d'écrire" in res.output and "Traceback" not in res.output
    assert blocker.read_text() == "pas un dossier"


def test_disk_full_in_the_middle(tmp_path, run, case_path, monkeypatch):
    from refere.pieces import assemble

    real = assemble.save
    calls = {"n": 0}

    def failing_save(pdf, path):
        calls["n"] += 1
        if calls["n"] == 3:  # a few pièces written, then the disk fills up mid-file
            path.write_bytes(b"%PDF-1.7 half")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(pdf, path)

    monkeypatch.setattr(assemble, "save", failing_save)
    before = snapshot(case_path.parent)
    res = run("build", case_path, "-j", "1")
    assert res.exit_code == 1 and "disque plein" in res.output
    assert snapshot(case_path.parent) == before
    assert _leftovers(case_path.parent) == []
    # And an existing good output is kept when the rebuild fails.
    monkeypatch.setattr(assemble, "save", real)
    assert run("build", case_path).exit_code == 0
    good = snapshot(case_path.parent / "dossier")
    calls["n"] = 0
    monkeypatch.setattr(assemble, "save", failing_save)
    assert run("build", case_path, "-j", "1", "--force").exit_code == 1
    assert snapshot(case_path.parent / "dossier") == good


def test_no_personal_data_in_metadata(case_path, monkeypatch, run):
    import getpass
    import zipfile

    import pikepdf

    monkeypatch.setenv("USER", "utilisateur-secret")
    monkeypatch.setenv("LOGNAME", "utilisateur-secret")
    assert run("build", case_path).exit_code == 0
    out = case_path.parent / "dossier"
    names = {"utilisateur-secret", getpass.getuser(), os.uname().nodename}
    with zipfile.ZipFile(out / "requete.docx") as z:
        core = z.read("docProps/core.xml").decode() + z.read("docProps/app.xml").decode()
    for pdf_path in [out / "dossier-complet.pdf", *(out / "pieces").iterdir()]:
        with pikepdf.open(pdf_path) as pdf:
            info = {str(k): str(v) for k, v in pdf.docinfo.items()}
            assert set(info) <= {"/Title", "/Producer"}
            core += str(info)
            with pdf.open_metadata() as meta:
                core += str(dict(meta))
    for n in names:
        if n and n not in ("refere",):
            assert n not in core, n
