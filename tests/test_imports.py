"""What each command loads: `--help` and `check` never import the PDF writer, the web stack or
the OCR (start-up time is what a user waits for before anything happens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, copy_example

# Run refere as `python -m refere` would, then print the top-level packages it loaded.
PROBE = """
import json, runpy, sys
sys.argv = ["refere", *sys.argv[1:]]
try:
    runpy.run_module("refere", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stdout.flush()
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""

PDF = {"pikepdf", "img2pdf", "pypdfium2", "fontTools"}
WEB = {"flask", "werkzeug", "waitress", "jinja2", "refere.web"}
OCR = {"pytesseract", "rapidfuzz"}
WORD = {"docx", "docxtpl"}


def loaded(args: list[str], cache: Path) -> tuple[int, set[str]]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "REFERE_LECTURE": "0",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env,
                          timeout=300)
    report = json.loads(proc.stderr.rsplit("MODULES ", 1)[1])
    return report["code"], set(report["modules"])


def roots(modules: set[str], families: set[str]) -> set[str]:
    """The members of ``families`` found in ``modules`` (a package or any of its submodules)."""
    return {f for f in families if any(m == f or m.startswith(f + ".") for m in modules)}


def test_help_loads_click_and_the_command_line_only(tmp_path):
    code, modules = loaded(["--help"], tmp_path / "cache")
    assert code == 0
    assert roots(modules, PDF | WEB | OCR | WORD | {"PIL", "yaml", "pydantic", "refere.affaire",
                                                    "refere.pieces", "refere.preuves"}) == set()


def test_check_never_loads_the_pdf_library_the_web_or_the_ocr(tmp_path):
    case = copy_example(tmp_path / "affaire") / "dossier.yaml"
    cache = tmp_path / "cache"
    # The first check opens the case's PDF pièces (pikepdf) and remembers their findings.
    assert loaded(["check", str(case)], cache)[0] == 0
    # The case file changed (a comment): checked again, the PDF findings come from the cache.
    case.write_text(case.read_text("utf-8") + "# relu\n", "utf-8")
    # A check is remembered only when every file had settled (changed over 2 s before it was
    # read: refere.files._SETTLED_NS): wait for the newest to settle, as a user's files have.
    newest = max(p.stat().st_ctime for p in case.parent.rglob("*"))
    time.sleep(max(0.0, newest + 2.2 - time.time()))
    code, modules = loaded(["check", str(case)], cache)
    assert code == 0
    assert "refere.preuves.rules" in modules  # really checked, not answered from the cache
    assert roots(modules, PDF | WEB | OCR | WORD) == set()
    # Unchanged since: answered from the cache, loading even less.
    code, modules = loaded(["check", str(case)], cache)
    assert code == 0
    assert "refere.preuves.rules" not in modules
    assert roots(modules, PDF | WEB | OCR | WORD | {"PIL", "yaml", "pydantic"}) == set()
