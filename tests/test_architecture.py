"""The package's shape: stages that import one way, no circle, small modules (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "refere"

# What each part of refere may import. The spine's base (errors, files, dates…) is below every
# stage; the stages follow the pipeline; build, batch and present drive the stages; the CLI and
# the web are two faces on that core (the CLI may start the web server, never the other way).
BASE = {"refere", "refere.errors", "refere.files", "refere.dates", "refere.signals", "refere.write", "refere.isolee",
        "refere.clifr"}
SPINE = {"refere.build", "refere.batch", "refere.jobs", "refere.present"}
ALLOWED = {
    "base": {"base"},
    "affaire": {"base", "affaire"},
    "modeles": {"base", "modeles"},
    "pieces": {"base", "affaire", "pieces"},
    "preuves": {"base", "affaire", "pieces", "preuves"},
    "requete": {"base", "affaire", "pieces", "preuves", "modeles", "requete"},
    "spine": {"base", "affaire", "pieces", "preuves", "modeles", "requete", "spine"},
    "web": {"base", "affaire", "pieces", "preuves", "modeles", "requete", "spine", "web"},
    "cli": {"base", "affaire", "pieces", "preuves", "modeles", "requete", "spine", "web", "cli"},
}
STAGES = ("affaire", "pieces", "preuves", "modeles", "requete")
MAX_LINES = 600
MAX_TOP_MODULES = 14


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(root: Path) -> dict[str, set[str]]:
    """Module → the package modules it imports, at the top or inside a function alike."""
    mods = modules(root)
    top = root.name
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t.split(".")[0] == top and t != name:
                    deps.add(t)
                    break
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def stage_of(module: str) -> str:
    if module in BASE:
        return "base"
    if module in SPINE:
        return "spine"
    if module in ("refere.cli", "refere.__main__"):
        return "cli"
    part = module.split(".")[1]
    if part in STAGES or part == "web":
        return part
    if part in ("data", "templates"):
        return "base"
    raise AssertionError(f"{module}: which stage? add it to tests/test_architecture.py and docs/architecture.md")


def test_no_import_circle():
    assert find_cycle(imports(PACKAGE)) is None, " → ".join(find_cycle(imports(PACKAGE)))


def test_a_planted_circle_is_found(tmp_path):
    pkg = tmp_path / "refere"
    (pkg / "etape").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "etape" / "__init__.py").write_text("")
    (pkg / "etape" / "a.py").write_text("from refere.etape import b\n")
    # Hidden in a function: still a dependency, still a circle.
    (pkg / "etape" / "b.py").write_text("def f():\n    from . import a\n    return a\n")
    assert find_cycle(imports(pkg)) == ["refere.etape.a", "refere.etape.b", "refere.etape.a"]


def test_stages_import_one_way():
    wrong = [f"{m} ({stage_of(m)}) imports {d} ({stage_of(d)})"
             for m, deps in sorted(imports(PACKAGE).items()) for d in sorted(deps)
             if stage_of(d) not in ALLOWED[stage_of(m)]]
    assert wrong == []


def test_a_stage_importing_the_cli_is_refused():
    assert "cli" not in ALLOWED["preuves"] and "web" not in ALLOWED["spine"]
    assert stage_of("refere.web.app") == "web" and stage_of("refere.preuves.lecture") == "preuves"


def test_modules_are_small_and_the_top_is_a_thin_spine():
    sizes = {p: len(p.read_text("utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {str(p.relative_to(PACKAGE)): n for p, n in sizes.items() if n > MAX_LINES} == {}
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


@pytest.mark.parametrize("stage", [*STAGES, "web"])
def test_every_stage_says_what_it_takes_and_gives(stage):
    doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text("utf-8")))
    assert doc and len(doc.split()) >= 15


def test_architecture_doc_names_every_stage():
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text("utf-8")
    for stage in [*STAGES, "web"]:
        assert f"refere/{stage}/" in text
