"""What a template's tags ask for, checked without rendering against the contexts refere fills it
with: unknown names (with the nearest known one), filters given the wrong kind of value, tests."""

from __future__ import annotations

import dataclasses
import difflib
import html
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import jinja2
from jinja2 import nodes

from refere.errors import TemplateError
from refere.modeles.document import raw_parts, template_parts
from refere.modeles.messages import jinja_source, report, syntax_problem, where
from refere.modeles.sandbox import BLOCKED_ATTRIBUTES, FILTER_EXPECTS, MAX_TAGS, _short, police



class _List:
    __slots__ = ("elem",)

    def __init__(self, elem: Any) -> None:
        self.elem = elem


SCALAR = "scalar"
DICT_METHODS = frozenset({"items", "keys", "values", "get"})
# Ties between equally close names go to the applicant first: « nmo » is « requerant.nom ».
ROOT_ORDER = ("requerant", "conseil", "procedure", "defendeur", "tribunal", "signature", "chiffres", "demandes")


def _schema(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _schema(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        elem = None
        for x in value:
            elem = _merge(elem, _schema(x))
        return _List(elem)
    return None if value is None else SCALAR


def _merge(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) for k in {**a, **b}}
    if isinstance(a, _List) and isinstance(b, _List):
        return _List(_merge(a.elem, b.elem))
    return a


def _paths(schema: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(schema, dict):
        for k, v in schema.items():
            p = f"{prefix}.{k}" if prefix else k
            yield p
            yield from _paths(v, p)


def _values(ctx: Any, path: str) -> list[Any]:
    values = [ctx]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part.removesuffix("[]")
        nxt = []
        for v in values:
            if isinstance(v, dict) and key in v:
                nxt += list(v[key] or []) if many else [v[key]]
        values = nxt
    return values


def closest(name: str, candidates: Iterable[str]) -> str | None:
    def score(c: str) -> tuple[float, int]:
        last = c.rsplit(".", 1)[-1]
        r = max(difflib.SequenceMatcher(None, name, c).ratio(), difflib.SequenceMatcher(None, name, last).ratio())
        root = c.split(".", 1)[0]
        return r, -(ROOT_ORDER.index(root) if root in ROOT_ORDER else len(ROOT_ORDER))

    best = max(candidates, key=score, default=None)
    return best if best is not None and score(best)[0] >= 0.6 else None


def _hint(name: str, candidates: Iterable[str]) -> str:
    c = closest(name, candidates)
    return f" ; vouliez-vous dire « {c} » ?" if c else " (voir docs/modeles.md)"


def _key(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _forbidden(key: str | None) -> bool:
    return key is not None and (key.startswith("_") or key in BLOCKED_ATTRIBUTES)


def _names(target: nodes.Node) -> list[nodes.Name]:
    return [target] if isinstance(target, nodes.Name) else list(target.find_all(nodes.Name))


@dataclasses.dataclass
class Analyser:
    """Finds, without running anything, every unknown variable, filter and test of a part, and
    every refere filter given a context value it cannot take."""

    contexts: list[dict[str, Any]]
    env: jinja2.Environment
    our_filters: dict[str, Callable]

    def __post_init__(self) -> None:
        schema: Any = None
        for ctx in self.contexts:
            schema = _merge(schema, _schema(ctx))
        self.schema: dict[str, Any] = schema or {}
        self.names = sorted(_paths(self.schema))
        self.problems: list[tuple[int, str]] = []
        self.seen: set[tuple[int, str]] = set()

    def run(self, tree: nodes.Template) -> list[tuple[int, str]]:
        self.problems, self.seen = [], set()
        scope: dict[str, tuple] = {}  # one for the part: « {% set %} » is known after it
        for node in tree.body:
            self.visit(node, scope)
        return self.problems

    def report(self, lineno: int, message: str) -> None:
        if (lineno, message) not in self.seen:
            self.seen.add((lineno, message))
            self.problems.append((lineno, message))

    def visit(self, node: nodes.Node, scope: dict[str, tuple]) -> None:
        if isinstance(node, nodes.For):
            res = self.expr(node.iter, scope)
            inner = dict(scope)
            elem = (res[0] + "[]" if res[0] else None, res[1].elem) if res and isinstance(res[1], _List) else (None, None)
            for t in _names(node.target):
                inner[t.name] = (elem[0], elem[1], t.name) if isinstance(node.target, nodes.Name) else (None, None, t.name)
            inner["loop"] = (None, None, "loop")
            if node.test is not None:
                self.expr(node.test, inner)
            for n in node.body:
                self.visit(n, inner)
            for n in node.else_:
                self.visit(n, scope)
        elif isinstance(node, nodes.Assign):
            res = self.expr(node.node, scope)
            for t in _names(node.target):
                scope[t.name] = (res[0], res[1], t.name) if res and isinstance(node.target, nodes.Name) else (None, None, t.name)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values):
                res = self.expr(value, scope)
                for t in _names(target):
                    inner[t.name] = (res[0], res[1], t.name) if res and isinstance(target, nodes.Name) else (None, None, t.name)
            for n in node.body:
                self.visit(n, inner)
        elif isinstance(node, nodes.Expr):
            self.expr(node, scope)
        else:
            for child in node.iter_child_nodes():
                self.visit(child, scope)

    def expr(self, node: nodes.Node, scope: dict[str, tuple]) -> tuple | None:
        """(path in the context or None, schema, name as written) of a variable, else None."""
        if isinstance(node, nodes.Name):
            if node.ctx != "load":
                return None
            if node.name in scope:
                return scope[node.name]
            if node.name in self.schema:
                return (node.name, self.schema[node.name], node.name)
            if node.name not in self.env.globals:
                self.report(node.lineno, f"variable inconnue « {node.name} »"
                            + _hint(node.name, [*self.names, *(k for k in scope if k != "loop")]))
            return None
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            if isinstance(node, nodes.Getattr):
                key = node.attr
            else:
                key = node.arg.value if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str) else None
                self.expr(node.arg, scope)
            base = self.expr(node.node, scope)
            if _forbidden(key):
                if not _forbidden(_key(node.node)):  # one message per chain: ''.__class__.__mro__
                    self.report(node.lineno, f"accès interdit à « {key} » : un modèle ne peut pas exécuter de code")
                return None
            if base is None or key is None or not isinstance(base[1], dict):
                return None
            path, schema, shown = base
            if key in schema:
                return (f"{path}.{key}" if path else None, schema[key], f"{shown}.{key}")
            if key not in DICT_METHODS:
                siblings = [f"{shown}.{k}" for k in schema]
                c = closest(key, list(schema))
                hint = f" ; vouliez-vous dire « {shown}.{c} » ?" if c else _hint(f"{shown}.{key}", [*siblings, *self.names])
                self.report(node.lineno, f"variable inconnue « {shown}.{key} »{hint}")
            return None
        if isinstance(node, (nodes.Filter, nodes.Test)):
            base = self.expr(node.node, scope) if node.node is not None else None
            for child in node.iter_child_nodes(exclude=("node",)):
                self.expr(child, scope)
            self.check_call(node, base)
            return None
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Expr):
                self.expr(child, scope)
            else:
                self.visit(child, scope)
        return None

    def check_call(self, node: nodes.Filter | nodes.Test, base: tuple | None) -> None:
        is_filter = isinstance(node, nodes.Filter)
        known = self.env.filters if is_filter else self.env.tests
        word = "filtre" if is_filter else "test"
        if node.name not in known:
            if is_filter and node.name in jinja2.defaults.DEFAULT_FILTERS:
                self.report(node.lineno, f"filtre « {node.name} » non autorisé dans un modèle (voir docs/modeles.md)")
            else:
                self.report(node.lineno, f"{word} inconnu « {node.name} »" + _hint(node.name, known))
            return
        if not is_filter or node.name not in self.our_filters or base is None or not base[0]:
            return
        for ctx in self.contexts:
            for value in _values(ctx, base[0]):
                if value in (None, ""):
                    continue
                try:
                    self.our_filters[node.name](value)
                except Exception:
                    self.report(node.lineno, f"« {base[2]}|{node.name} » : le filtre « {node.name} » ne s'applique pas à "
                                f"« {_short(value)} » : {FILTER_EXPECTS.get(node.name, 'valeur inattendue')}")
                    return



# --- docxtpl's rich-content tags ---------------------------------------------------------------------

# « {{r x}} », « {{p x}} », « {{tr x}} », « {{tc x}} »: docxtpl removes the run, paragraph, table
# row or cell around the tag and writes the value's own Word XML there (RichText, Subdoc).
# refere's values are plain text: printed there, they vanish from the requête.
_RICH = re.compile(r"\{\{(tr|tc|p|r) ([^{}]*)\}\}")
_RICH_WHAT = {"r": "le morceau de texte", "p": "le paragraphe", "tr": "la ligne du tableau", "tc": "la cellule"}


def rich_tag_problems(label: str, xml: str) -> list[str]:
    """Every rich-content tag of one part (raw XML, before docxtpl's rewriting), with its paragraph."""
    src = jinja_source(xml)
    found = []
    for lineno, line in enumerate(src.split("\n"), 1):
        if "{{" not in line:
            continue
        text = html.unescape(re.sub(r"<[^>]+>", "", line))
        for m in _RICH.finditer(text):
            expr = " ".join(m[2].split())
            found.append(f"{where(label, src, lineno)} : « {{{{{m[1]} {expr}}}}} » remplace "
                         f"{_RICH_WHAT[m[1]]} qui la porte par un contenu Word mis en forme (RichText, "
                         "sous-document) que refere ne fournit pas : la valeur disparaîtrait de la requête ; "
                         f"écrivez « {{{{ {expr} }}}} »")
    return found


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def analyse(tpl, env: jinja2.Environment, contexts: list[dict[str, Any]], our_filters: dict[str, Callable]) -> list[str]:
    """Problems found without rendering: syntax, forbidden tags, rich-content tags, unknown names,
    filters, tests."""
    analyser = Analyser(contexts, env, our_filters)
    parser = jinja2.Environment()
    problems = []
    parts = template_parts(tpl)
    tags = sum(src.count("{{") + src.count("{%") for _, src in parts)
    if tags > MAX_TAGS:
        raise TemplateError(report(getattr(tpl, "refere_path", Path("modèle")),
                                   [f"modèle démesuré : {tags} balises (au plus {MAX_TAGS})"]))
    for label, xml in raw_parts(tpl):
        problems += rich_tag_problems(label, xml)
    for label, src in parts:
        try:
            tree = parser.parse(src)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(syntax_problem(label, src, exc))
            problems += [f"{where(label, src, line)} : {msg}" for line, msg in _print_tags(src, analyser)]
            continue
        problems += [f"{where(label, src, line)} : {msg}" for line, msg in police(tree)]
        problems += [f"{where(label, src, line)} : {msg}" for line, msg in analyser.run(tree)]
    return _dedupe(problems)


def _print_tags(src: str, analyser: Analyser) -> list[tuple[int, str]]:
    """After a syntax error the part cannot be parsed: still check each {{ … }} on its own."""
    local = set(re.findall(r"\{%-?[ptrc]?\s*for\s+(\w+)(?:\s*,\s*(\w+))?\s+in\b", src))
    names = {n for pair in local for n in pair if n} | set(re.findall(r"\{%-?\s*set\s+(\w+)", src)) | {"loop"}
    scope = {n: (None, None, n) for n in names}
    found = []
    for m in re.finditer(r"\{\{.*?\}\}", src, re.S):
        try:
            tree = jinja2.Environment().parse(m[0])
        except jinja2.TemplateSyntaxError:
            continue
        line = src.count("\n", 0, m.start()) + 1
        analyser.problems, analyser.seen = [], set()
        for node in tree.body:
            analyser.visit(node, dict(scope))
        found += [(line, msg) for _, msg in analyser.problems]
    return found
