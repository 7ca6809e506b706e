"""The documentation stays true: every command, error code and template variable is in it."""

import importlib.util
import re

from conftest import ROOT
from refere.preuves import rules
from refere.cli import cli
from refere.requete.render import FILTERS
from refere.requete.samples import sample_context

DOCS = ROOT / "docs"


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date():
    expected = _load_script("make_cli_doc").render()
    assert (DOCS / "cli.md").read_text("utf-8") == expected, "run: python scripts/make_cli_doc.py"


def test_every_command_documented_in_readme_and_cli_reference():
    readme = (ROOT / "README.md").read_text("utf-8")
    reference = (DOCS / "cli.md").read_text("utf-8")
    for name in cli.commands:
        assert f"refere {name}" in readme, name
        assert f"## `refere {name}`" in reference, name


def test_every_evidence_code_explained():
    text = (DOCS / "erreurs.md").read_text("utf-8")
    codes = set(re.findall(r'"([a-z0-9]+(?:-[a-z0-9]+)+)"', (ROOT / "refere" / "preuves" / "rules.py").read_text("utf-8")))
    codes = {c for c in codes if c not in ("ce-435594",)}
    assert {"semaines-insuffisantes", "capture-illisible", "oqtf"} <= codes | {"oqtf"}
    for code in codes | {"oqtf"}:
        assert f"`{code}`" in text, code
    assert rules.BLOQUANT and rules.AVERTISSEMENT


def _paths(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        yield prefix
        for k in value[0]:
            yield f"{prefix}[].{k}"
    else:
        yield prefix


def test_every_template_variable_and_filter_documented():
    text = (DOCS / "modeles.md").read_text("utf-8")
    loops = {"tentatives[]": "t", "courriers[]": "c", "pieces[]": "piece", "diligences[]": "x"}
    for path in _paths(sample_context()):
        for loop, var in loops.items():
            path = path.replace(loop + ".", var + ".")
        assert f"`{path.removesuffix('[]')}" in text, path
    for name in FILTERS:
        assert f"`{name}`" in text, name


def test_guides_exist_and_link_each_other():
    index = (DOCS / "index.md").read_text("utf-8")
    for page in ("demandeur.md", "association.md", "avocat.md", "format.md", "erreurs.md", "modeles.md", "cli.md"):
        assert (DOCS / page).is_file()
        assert f"({page})" in index


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme.split("```")[1].strip().splitlines()
    assert block[0] == "sh"
    assert block[1].startswith("python3 -m venv .venv") and "refere build cases/exemple-94/dossier.yaml" in block[1]
    assert block[2] == ".venv/bin/python -m pytest -q"


def test_readme_lists_the_real_rapport_columns():
    from refere.batch import COLUMNS

    readme = (ROOT / "README.md").read_text("utf-8")
    flat = " ".join(readme.split())
    assert ", ".join(f"`{c}`" for c in COLUMNS[:4]) in flat
    for c in COLUMNS:
        assert f"`{c}`" in flat
    assert "UTF-8 avec BOM" in flat


def test_modeles_lists_every_letter_variable():
    from refere.requete.samples import letter_contexts

    doc = (ROOT / "docs" / "modeles.md").read_text("utf-8")
    section = doc.split("## La lettre à la préfecture", 1)[1].split("\n## ", 1)[0]
    ctx = letter_contexts()[0][1]
    names = {k for k in ctx if k != "phrases"} | {f"phrases.{k}" for k in ctx["phrases"]}
    names |= {f"signataire.{k}" for k in ctx["signataire"]} - {"signataire"}
    for name in sorted(names - {"signataire"}):
        assert f"`{name}`" in section, name
    avocat = (ROOT / "docs" / "avocat.md").read_text("utf-8")
    assert "refere modele exporter --courrier" in avocat and "refere modele verifier --courrier" in avocat
    assert "--pdf" in avocat.split("```sh", 1)[1].split("```", 1)[0]
