"""rapport.csv is opened in a spreadsheet: no cell of it may run as a formula (CSV injection)."""

from __future__ import annotations

import csv

from conftest import write_case

NAMES = ['=HYPERLINK("ailleurs.example";"clic")', "+33 6 12", "-2+3", "@SOMME(A1)", "\tTAB", "\rCR",
         "diallo"]


def test_cells_that_would_run_as_formulas_are_written_as_text(run, tmp_path):
    root = tmp_path / "permanence"
    for name in NAMES:
        write_case(root / name, "version: 1\nrequerant: [\n")  # a broken case: its row still names it
    out = tmp_path / "sortie"
    res = run("batch", root, "-o", out)
    assert res.exit_code == 1
    with open(out / "rapport.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    shown = {"diallo": "diallo", "\rCR": "'\nCR"}  # a lone CR would end the row: it is a line break
    assert sorted(r["dossier"] for r in rows) == sorted(shown.get(n, "'" + n) for n in NAMES)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
