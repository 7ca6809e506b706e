"""Escape sequences in file names, folder names or a case's text never reach the terminal nor
rapport.csv as controls (a colour, a window title, a cursor move): they are shown, inert. A case
file that holds one in a text is refused, naming the line and the field."""

from __future__ import annotations

import csv

import yaml

from conftest import default_case, write_case
from refere.errors import printable

ESC = "\x1b]0;PWNED\x07\x1b[31mROUGE\x9b2J\u202e"


def _no_control(text: str) -> None:
    assert not any(c in text for c in "\x1b\x07\x9b\u202e\r"), repr(text)


def test_printable_shows_every_control_and_keeps_text():
    assert printable("Aïssatou\tDIALLO\n« 93 »") == "Aïssatou\tDIALLO\n« 93 »"
    assert printable(ESC) == "\\x1b]0;PWNED\\x07\\x1b[31mROUGE\\x9b2J\\u202e"


def test_folder_names_with_escapes_are_shown_inert_by_batch_and_in_its_report(run, tmp_path):
    root = tmp_path / "permanence"
    name = f"dossier{ESC}"
    write_case(root / name, "version: 1\nrequerant: [\n")  # broken: its row and its failure name it
    out = tmp_path / "sortie"
    res = run("batch", root, "-o", out)
    assert res.exit_code == 1
    _no_control(res.output)
    assert "dossier\\x1b]0;PWNED\\x07" in res.output  # (Click itself drops « ESC [ … m » off a terminal)
    with open(out / "rapport.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert [r["dossier"] for r in rows] == [printable(name)]
    for cell in rows[0].values():
        _no_control(cell)


def test_a_path_given_with_escapes_is_named_inert(run, tmp_path):
    res = run("check", tmp_path / f"absent{ESC}" / "dossier.yaml")
    assert res.exit_code == 1
    _no_control(res.output)
    assert "absent\\x1b]0;PWNED" in res.output


def test_capture_file_names_with_escapes_are_listed_inert(run, tmp_path):
    from conftest import make_png

    folder = tmp_path / "captures"
    shot = make_png(folder / f"Screenshot_20250310-085500{ESC}.png", size=(90, 200))
    (folder / f"copie{ESC}.png").write_bytes(shot.read_bytes())  # named in a « # » comment line
    res = run("captures", folder)
    assert res.exit_code == 0, res.output
    _no_control(res.output)
    assert "captures/copie\\u001b]0;PWNED" in res.output  # YAML's own escape
    assert "captures/Screenshot_20250310-085500\\u001b]0;PWNED" in res.output  # YAML's own escape


def test_control_characters_in_a_case_text_are_refused_with_line_and_field(run, tmp_path):
    data = default_case()
    data["requerant"]["nom"] = f"Diallo{ESC}"
    path = write_case(tmp_path / "affaire", data)
    text = path.read_text("utf-8")
    assert "\\e]0;PWNED" in text or "\\x1B" in text or "\\e" in text  # written as YAML escapes
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.strip().startswith("nom:"))
    res = run("check", path)
    assert res.exit_code == 1
    _no_control(res.output)
    assert f"dossier.yaml:{line} — " in res.output
    assert "nom de famille : caractère de contrôle interdit (code 0x1b)" in res.output
    assert not (tmp_path / "affaire" / "dossier").exists()


def test_line_breaks_and_tabs_stay_text(run, tmp_path):
    data = default_case()
    data["requerant"]["adresse"] = "12 rue de la République\r\n93200\tSaint-Denis"
    path = write_case(tmp_path / "affaire", data)
    assert yaml.safe_load(path.read_text("utf-8"))["requerant"]["adresse"].count("\r\n") == 1
    res = run("check", path)
    assert "caractère de contrôle" not in res.output
    assert res.exit_code == 0, res.output
