"""Word templates: a sandboxed Jinja environment, French errors, and the template verifier.

A custom template comes from outside (a firm, a colleague, a download): it is treated as hostile.
It is rendered in ``ImmutableSandboxedEnvironment`` with the globals cut down to ``range``,
no include/import/extends/macro, and budgets on loop iterations, value sizes, output size and
time, so that it can neither run code nor exhaust the machine. Budgets live in a ContextVar:
safe in threads (a web server), no child process needed.

Every problem is reported in French with where it sits: the part of the document (body, header…),
the paragraph number and the paragraph's text. docxtpl puts each ``<w:p`` on its own line before
Jinja sees the XML, so a Jinja line number is a paragraph.
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import functools
import hashlib
import html
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from refere.errors import RefereError, TemplateError

# --- limits ------------------------------------------------------------------------------------

MAX_RANGE = 10_000  # items of one range()
MAX_ITERATIONS = 200_000  # loop iterations in one document
MAX_VALUE = 1_000_000  # characters of one string, items of one list
MAX_OUTPUT = 10_000_000  # characters of one rendered part (the XML of the body, a header…)
MAX_NUMBER_ARG = 10_000  # a number given to a filter or method (widths, counts)
MAX_SECONDS = 10.0  # processor time of one document render (per thread: a busy machine is no excuse)
MAX_POWER = 64
MAX_INT_BITS = 4096  # of a product of integers (about 1 200 digits): checked before multiplying
MAX_LAYOUT_TEXT = 100_000  # characters given to wordwrap, center, indent, truncate
MIN_WRAP_WIDTH = 5  # wordwrap(1) on a long text is slow and means nothing in a requête
MAX_TRUNCATE_END = 100  # truncate(…, end=…): the « … » put at the cut
MAX_TAGS = 3_000  # Jinja tags in one template: a requête has a few hundred

# Jinja filters a requête needs; the rest (random, safe, format, xmlattr, tojson, attr…) is not
# offered: nondeterministic, raw XML into the document, or unbounded.
ALLOWED_FILTERS = frozenset({
    "abs", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
    "float", "groupby", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
    "min", "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "slice", "sort",
    "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount", "wordwrap",
})
BLOCKED_ATTRIBUTES = frozenset({"format", "format_map", "mro"})


class Refused(jinja2.exceptions.TemplateRuntimeError):
    """A template operation refused by the sandbox; ``message`` is French."""


class FilterValueError(Refused):
    """A filter given a value of the wrong kind (``procedure.expiration|date_fr``)."""


# --- per-render budget and problem recording -----------------------------------------------------

@dataclasses.dataclass
class _Budget:
    iterations: int = MAX_ITERATIONS
    deadline: float = dataclasses.field(default_factory=lambda: time.thread_time() + MAX_SECONDS)

    def tick(self, n: int = 1) -> None:
        self.iterations -= n
        if self.iterations < 0:
            raise Refused(f"le modèle répète plus de {MAX_ITERATIONS:,} fois une boucle : refusé".replace(",", "\u202f"))
        if time.thread_time() > self.deadline:
            raise Refused(f"le modèle met plus de {MAX_SECONDS:.0f} secondes à se remplir : refusé")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("refere_budget", default=None)
# When set (by the verifier), undefined values and filter failures are recorded and the render
# goes on, so that every problem of one sample case is found in one pass.
_RECORD: contextvars.ContextVar[list | None] = contextvars.ContextVar("refere_record", default=None)
# (where, Jinja source) of the part being rendered, for the paragraph of a recorded problem.
_PART: contextvars.ContextVar[tuple[str, str | None]] = contextvars.ContextVar("refere_part", default=("document", None))


def _tick(n: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick(n)


def _template_line() -> int | None:
    frame = sys._getframe(1)
    while frame is not None:
        tpl = frame.f_globals.get("__jinja_template__")
        if tpl is not None:
            return tpl.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


def _record(kind: str, detail: Any) -> bool:
    """Record a problem when the verifier is collecting; False when the caller must raise."""
    rec = _RECORD.get()
    if rec is None:
        return False
    rec.append((_PART.get(), _template_line(), kind, detail))
    return True


class _Undefined(jinja2.StrictUndefined):
    """Strict: an unknown name fails on every use. Under the verifier, records and goes on."""

    __slots__ = ()

    def _soft(self) -> None:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()
        if not _record("undefined", self):
            raise UndefinedUse(self._undefined_message, self)

    def __str__(self) -> str:
        self._soft()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._soft()
        return iter(())

    def __len__(self) -> int:
        self._soft()
        return 0

    def __bool__(self) -> bool:
        self._soft()
        return False

    def __eq__(self, other: Any) -> bool:
        self._soft()
        return False

    def __ne__(self, other: Any) -> bool:
        self._soft()
        return True

    def __hash__(self) -> int:
        self._soft()
        return 0

    def __contains__(self, item: Any) -> bool:
        self._soft()
        return False

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        self._soft()
        return self


# --- sizes -------------------------------------------------------------------------------------------

def _size(value: Any) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return len(value) + sum(len(x) for x in value if isinstance(x, str))
    if isinstance(value, dict):
        return len(value)
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return abs(value)
    return 1


def _check_args(what: str, value: Any, args: Iterable[Any]) -> None:
    """A call whose result could be huge (center(10**9), 'x'.ljust, replace by a long string) is
    refused before it runs: numbers are capped, and the value's size times the largest argument
    bounds every string operation Jinja and str offer."""
    biggest = 1
    for a in args:
        if isinstance(a, (int, float)) and not isinstance(a, bool) and abs(a) > MAX_NUMBER_ARG:
            raise Refused(f"{what} : nombre trop grand ({a!r} ; au plus {MAX_NUMBER_ARG})")
        biggest = max(biggest, _size(a))
    if _size(value) > MAX_VALUE or _size(value) * biggest > 5 * MAX_VALUE:
        raise Refused(f"{what} : valeur trop grande pour un modèle de requête")


def _check_result(what: str, result: Any) -> Any:
    if isinstance(result, (str, list, tuple)) and _size(result) > MAX_VALUE:
        raise Refused(f"{what} : valeur trop grande pour un modèle de requête")
    return result


# Why each refere filter failed, in words a template author can act on.
FILTER_EXPECTS = {
    "date_fr": "il attend une date ISO (AAAA-MM-JJ), comme « signature.date_iso » ; "
               "les dates du contexte sont déjà écrites en français : insérez-les sans filtre",
    "montant_fr": "il attend un nombre ; les montants du contexte sont déjà écrits en euros : insérez-les sans filtre",
    "nombre_fr": "il attend un nombre entier",
    "majuscules": "il attend un texte",
}


def _short(value: Any, n: int = 40) -> str:
    text = str(value) if not isinstance(value, jinja2.Undefined) else "?"
    return text if len(text) <= n else text[: n - 1] + "…"


def _fail(value: jinja2.Undefined) -> None:
    if isinstance(value, _Undefined):
        value._soft()  # raises, or records under the verifier
    else:
        value._fail_with_undefined_error()


def _guard_filter(name: str, func: Callable, ours: bool) -> Callable:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = args[skip] if len(args) > skip else None
        if isinstance(value, jinja2.Undefined):
            _fail(value)
            return ""
        _tick()
        _check_layout(name, value, args[skip + 1:], kwargs)
        _check_args(f"filtre « {name} »", value, [*args[skip + 1:], *kwargs.values()])
        try:
            result = func(*args, **kwargs)
        except jinja2.TemplateError:
            raise
        except AssertionError:
            # Jinja checks some arguments with assert (truncate: end longer than the length).
            raise Refused(f"filtre « {name} » : arguments incohérents pour « {_short(value)} »") from None
        except Exception:
            if not ours:
                raise
            err = FilterValueError(f"le filtre « {name} » ne s'applique pas à « {_short(value)} » : "
                                   f"{FILTER_EXPECTS.get(name, 'valeur inattendue')}")
            if _record("filter", err):
                return ""
            raise err from None
        return _check_result(f"filtre « {name} »", result)

    return wrapper


def _check_layout(name: str, value: Any, args: tuple, kwargs: dict[str, Any]) -> None:
    """Filters that lay text out: their time grows with the text and their arguments."""
    if name not in ("wordwrap", "center", "indent", "truncate"):
        return
    if isinstance(value, str) and len(value) > MAX_LAYOUT_TEXT:
        raise Refused(f"filtre « {name} » : texte trop long ({len(value)} caractères ; au plus {MAX_LAYOUT_TEXT})")
    if name == "wordwrap":
        width = args[0] if args else kwargs.get("width", 79)
        if isinstance(width, (int, float)) and width < MIN_WRAP_WIDTH:
            raise Refused(f"filtre « wordwrap » : largeur {width!r} trop petite (au moins {MIN_WRAP_WIDTH})")
    if name == "truncate":
        end = args[2] if len(args) > 2 else kwargs.get("end", "...")
        if isinstance(end, str) and len(end) > MAX_TRUNCATE_END:
            raise Refused(f"filtre « truncate » : fin de coupure trop longue ({len(end)} caractères ; "
                          f"au plus {MAX_TRUNCATE_END})")


def _guard_test(name: str, func: Callable) -> Callable:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value = args[skip] if len(args) > skip else None
        # « x is defined », « x is none », « x is mapping » on a typo would silently be false:
        # an unknown name is an error in a test as everywhere else.
        if isinstance(value, jinja2.Undefined):
            _fail(value)
            return False
        _tick()
        return func(*args, **kwargs)

    return wrapper


def _range(*args: Any) -> range:
    for a in args:
        if isinstance(a, jinja2.Undefined):
            a._fail_with_undefined_error()
        if not isinstance(a, int) or isinstance(a, bool):
            raise Refused("range() n'accepte que des nombres entiers")
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise Refused(f"range() de plus de {MAX_RANGE} éléments : refusé")
    return rng


# --- forbidden constructs ------------------------------------------------------------------------

_FORBIDDEN = {
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.AssignBlock: "{% set … %}…{% endset %}",
    # Turning escaping off would let a name typed in a case file write raw Word XML.
    nodes.EvalContextModifier: "{% autoescape %}",
}


def police(tree: nodes.Template) -> list[tuple[int, str]]:
    """Constructs a requête template has no use for and that could read files or escape the
    budgets (include, macros, block captures, recursive loops, ``self``)."""
    found = []
    for node in tree.find_all(nodes.Node):
        for kind, tag in _FORBIDDEN.items():
            if isinstance(node, kind):
                what = "lire un autre fichier" if kind in (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends) \
                    else "inutile dans une requête"
                found.append((node.lineno, f"balise {tag} interdite dans un modèle ({what})"))
        if isinstance(node, nodes.For) and node.recursive:
            found.append((node.lineno, "boucle « recursive » interdite dans un modèle"))
        if isinstance(node, nodes.Name) and node.name in ("self", "caller", "super", "varargs", "kwargs"):
            found.append((node.lineno, f"« {node.name} » interdit dans un modèle"))
    return found


class _Template(jinja2.Template):
    def render(self, *args: Any, **kwargs: Any) -> str:
        ctx = self.new_context(dict(*args, **kwargs))
        own = _BUDGET.get() is None
        token = _BUDGET.set(_Budget()) if own else None
        try:
            out, n = [], 0
            gen = self.root_render_func(ctx)
            try:
                for chunk in gen:
                    n += len(chunk)
                    if n > MAX_OUTPUT:
                        raise Refused(f"le modèle produit plus de {MAX_OUTPUT // 1_000_000} millions de caractères : refusé")
                    _tick(0)
                    out.append(chunk)
            except Refused as exc:
                # Raised out here, not in the template: say which paragraph was being written.
                if gen.gi_frame is not None:
                    exc.template_line = self.get_corresponding_lineno(gen.gi_frame.f_lineno)
                raise
            return "".join(out)
        except Exception:
            self.environment.handle_exception()
        finally:
            if token is not None:
                _BUDGET.reset(token)


class SandboxEnv(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+", "//", "/"})
    template_class = _Template

    def __init__(self, filters: dict[str, Callable]) -> None:
        super().__init__(undefined=_Undefined, autoescape=True)
        self.globals.clear()
        self.globals["range"] = _range
        self.filters = {name: _guard_filter(name, f, False) for name, f in self.filters.items() if name in ALLOWED_FILTERS}
        self.filters.update({name: _guard_filter(name, f, True) for name, f in filters.items()})
        self.tests = {name: _guard_test(name, f) for name, f in self.tests.items()}
        self._compiled: dict[str, jinja2.Template] = {}
        self._lock = threading.Lock()

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> jinja2.Template:
        # docxtpl compiles each part on every render; the verifier renders one template five
        # times and build once more: compile once.
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        with self._lock:
            tpl = self._compiled.pop(source, None)
        if tpl is None:
            tpl = super().from_string(source)
        with self._lock:
            self._compiled[source] = tpl
            while len(self._compiled) > 16:
                self._compiled.pop(next(iter(self._compiled)))
        return tpl

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if found := police(tree):
            raise jinja2.TemplateSyntaxError(found[0][1], found[0][0], name, filename)
        # Every loop goes through guard_iter, which counts iterations against the budget.
        for node in tree.find_all(nodes.For):
            node.iter = nodes.Call(nodes.EnvironmentAttribute("guard_iter", lineno=node.lineno), [node.iter], [],
                                   None, None, lineno=node.lineno)
        return tree

    def guard_iter(self, iterable: Any) -> Iterator[Any]:
        for item in iterable:
            _tick()
            yield item

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return attr not in BLOCKED_ATTRIBUTES and super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Jinja hands back a value that fails only when printed; in a list it would not: refuse now.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe.")

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is refused (BLOCKED_ATTRIBUTES): its widths are unbounded

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick(0)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick(0)
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick()
        if getattr(__obj, "__func__", None) is SandboxEnv.guard_iter:
            return __self.guard_iter(*args)
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "?").strip("_")
        _check_args(f"« {name}() »", owner if isinstance(owner, (str, list, tuple, dict)) else "", [*args, *kwargs.values()])
        return _check_result(f"« {name}() »", super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        for v in (left, right):
            if isinstance(v, jinja2.Undefined):
                v._fail_with_undefined_error()
        if operator == "**":
            if not (isinstance(left, (int, float)) and isinstance(right, (int, float))) or abs(right) > MAX_POWER \
                    or abs(left) > 10 ** 9:
                raise Refused(f"puissance trop grande ({_short(left)} ** {_short(right)}) : refusée")
        elif operator == "*" and _is_int(left) and _is_int(right):
            # The product has about as many digits as both factors: refused before computing it.
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise Refused(f"produit trop grand ({_short(left)} * {_short(right)}) : nombre trop grand")
        elif operator == "*":
            seq, n = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            # A list repeated is as heavy as its items: cap it as range() is capped, times ten.
            limit = MAX_VALUE if isinstance(seq, str) else 10 * MAX_RANGE
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and _size(seq) * max(n, 0) > limit:
                raise Refused("répétition trop grande (« * ») : refusée")
        elif operator == "%" and isinstance(left, str):
            raise Refused("mise en forme par « % » interdite dans un modèle : assemblez le texte avec « ~ »")
        elif operator == "+" and isinstance(left, (str, list, tuple)) and _size(left) + _size(right) > MAX_VALUE:
            raise Refused("valeur trop grande pour un modèle de requête")
        return _check_result(f"« {operator} »", super().call_binop(context, operator, left, right))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def make_env(filters: dict[str, Callable]) -> SandboxEnv:
    """A new environment: callers may set options (autoescape) without touching anyone else's.
    Compiled parts are cached on it, so reuse one environment for several renders."""
    return SandboxEnv(filters)


# --- where a problem sits -----------------------------------------------------------------------

def jinja_source(xml: str) -> str:
    """The text Jinja sees for one part: docxtpl starts each paragraph on a new line."""
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


def part_label(partname: str) -> str:
    name = partname.rsplit("/", 1)[-1]
    if name == "document.xml":
        return "corps du document"
    if name.startswith("header"):
        return f"en-tête ({name})"
    if name.startswith("footer"):
        return f"pied de page ({name})"
    if name.startswith("footnotes"):
        return "notes de bas de page"
    return name


def where(label: str, src: str | None, lineno: int | None) -> str:
    """« corps du document, paragraphe 12 « POUR : {{ nmo }} » » — the same in the verifier and in build."""
    if src is None or not lineno:
        return label
    lines, numbers = _index(src)
    if not 1 <= lineno <= len(lines):
        return label
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", lines[lineno - 1][:20_000])).split())
    if len(text) > 90:
        text = text[:89] + "…"
    quoted = f" « {text} »" if text else ""
    return f"{label}{quoted}" if lineno == 1 else f"{label}, paragraphe {numbers[lineno - 1]}{quoted}"


_TOKENS = re.compile(r"<w:p(?=[ >/])|<w:t(?=[ >])|</w:t>|\{%.*?%\}", re.S)


@functools.lru_cache(maxsize=16)
def _index(src: str) -> tuple[list[str], list[int]]:
    """The lines of a part and, for each, the number of its paragraph as Word shows it: empty
    paragraphs (<w:p/>, not split out by docxtpl) count, and so does each paragraph that held a
    {%p %} or {%tr %} tag — docxtpl left only the bare tag, outside any text run. One pass, so that
    a template with many problems costs no more than one with a single problem."""
    lines = src.split("\n")
    numbers, n, in_text = [], 0, False
    for line in lines:
        numbers.append(n + 1)
        for m in _TOKENS.finditer(line):
            tok = m[0]
            if tok == "</w:t>":
                in_text = False
            elif tok.startswith("<w:t"):
                in_text = True
            elif tok.startswith("<w:p") or not in_text:
                n += 1
    return lines, numbers


# --- Jinja's English, in French ------------------------------------------------------------------

def syntax_fr(exc: jinja2.TemplateSyntaxError) -> str:
    msg = exc.message or ""
    if not msg.isascii() or msg.startswith(("balise ", "boucle ", "« ")):
        return msg  # already ours (police)
    block = re.search(r"innermost block that needs to be closed is '(\w+)'", msg)
    closing = f" ; un « {{% {block[1]} %}} » reste ouvert : fermez-le par « {{% end{block[1]} %}} »" if block else ""
    if m := re.match(r"Encountered unknown tag '(\w+)'", msg):
        if m[1].startswith("end") and m[1][3:] in _OPENERS and not block:
            return f"« {{% {m[1]} %}} » sans « {{% {m[1][3:]} %}} » ouvert avant lui"
        if m[1] in ("else", "elif"):
            return f"« {{% {m[1]} %}} » mal placé (en trop, ou hors d'un « {{% if %}} »){closing}"
        return f"balise inconnue « {{% {m[1]} %}} »{closing}"
    if msg.startswith("Unexpected end of template"):
        return (f"« {{% {block[1]} %}} » jamais fermé : ajoutez « {{% end{block[1]} %}} » à l'endroit voulu" if block
                else "fin du document atteinte dans une balise non fermée")
    if m := re.match(r"unexpected end of template, expected '(.+)'", msg):
        return "fin du document atteinte dans une balise non fermée (il manque « }} » ou « %} »)"
    if m := re.match(r"expected token '(.+?)', got '(.+?)'", msg):
        what = {"end of print statement": "« }} »", "end of statement block": "« %} »"}.get(m[1], f"« {m[1]} »")
        return f"balise mal formée : {what} attendu, « {m[2]} » trouvé"
    if m := re.match(r"unexpected '(.+?)'", msg):
        return f"« {m[1]} » inattendu dans une balise"
    if m := re.match(r"unexpected char '(.+?)'", msg):
        return f"caractère « {m[1]} » inattendu dans une balise (Word a peut-être remplacé un guillemet droit par « ’ » ou « “ »)"
    if msg.startswith("Expected an expression") or msg.startswith("expected"):
        return "expression manquante ou incomplète dans une balise (par exemple « {% if %} » sans condition)"
    if msg.startswith("tag name expected"):
        return "nom de balise attendu après « {% »"
    if m := re.match(r"[Nn]o (filter|test) named '(.+?)'", msg):
        return f"{'filtre' if m[1] == 'filter' else 'test'} inconnu « {m[2]} »"
    if "block" in msg and "defined twice" in msg:
        return "bloc défini deux fois"
    return f"erreur de syntaxe dans une balise ({msg})"


_BLOCK_TAG = re.compile(r"\{%-?\s*(\w+)")
_OPENERS = frozenset({"if", "for", "with", "macro", "call", "filter", "block"})


def _unclosed_line(src: str, kind: str) -> int | None:
    """Line of the innermost block of ``kind`` left open: where the author must look, rather
    than the end of the document where Jinja noticed."""
    stack: list[tuple[str, int]] = []
    for m in _BLOCK_TAG.finditer(src):
        word = m[1]
        if word in _OPENERS:
            stack.append((word, m.start()))
        elif word.startswith("end"):
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == word[3:]:
                    del stack[i:]
                    break
    for word, pos in reversed(stack):
        if word == kind:
            return src.count("\n", 0, pos) + 1
    return None


def syntax_problem(label: str, src: str | None, exc: jinja2.TemplateSyntaxError) -> str:
    lineno = exc.lineno
    block = re.search(r"innermost block that needs to be closed is '(\w+)'", exc.message or "")
    if src and block and (exc.message or "").startswith("Unexpected end"):
        lineno = _unclosed_line(src, block[1]) or lineno
    return f"{where(label, src, lineno)} : {syntax_fr(exc)}"


# --- static analysis against the sample contexts -------------------------------------------------

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


def _dotted(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        base = _dotted(node.node)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, (str, int)):
        base = _dotted(node.node)
        return f"{base}.{node.arg.value}" if base else None
    return None


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


# --- the .docx side --------------------------------------------------------------------------------

PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")  # docxtpl renders these


def _docx_class():
    from docxtpl import DocxTemplate

    class Docx(DocxTemplate):
        """Knows which part it is rendering, so that a problem says where it sits."""

        def render_xml_part(self, src_xml, part, context, jinja_env=None):
            token = _PART.set((part_label(str(part.partname)), jinja_source(src_xml)))
            try:
                xml = super().render_xml_part(src_xml, part, context, jinja_env)
                # The rendered XML is checked for fields as build checks its output: a template
                # may assemble « INCLUDE » ~ « PICTURE » that no tag of the source shows.
                self.__dict__.setdefault("refere_rendered", []).append((str(part.partname).lstrip("/"), xml))
                return xml
            except Exception as exc:
                exc.refere_where = _PART.get()
                raise
            finally:
                _PART.reset(token)

        def render_properties(self, context, jinja_env=None):
            # As docxtpl does, one property at a time, so that a problem names its property.
            for prop in PROPERTIES:
                initial = getattr(self.docx.core_properties, prop) or ""
                token = _PART.set((f"propriété « {prop} » du document", initial))
                try:
                    rendered = jinja_env.from_string(initial).render(context)
                except Exception as exc:
                    exc.refere_where = _PART.get()
                    raise
                finally:
                    _PART.reset(token)
                setattr(self.docx.core_properties, prop, rendered)

    return Docx


def open_docx(path: Path):
    """A DocxTemplate of a file that passed the safety checks; TemplateError otherwise."""
    from refere.modeles import docxzip

    if not path.is_file():
        raise TemplateError(f"modèle introuvable « {path} »")
    problems = docxzip.safety_problems(path)
    if problems:
        raise TemplateError(report(path, problems))
    try:
        tpl = _docx_class()(str(path))
        tpl.refere_path = path
        tpl.init_docx()  # docxtpl opens lazily; open now so a bad file fails here, in French
        tpl.docx.part  # noqa: B018 — a .docx without its main part fails here, not mid-render
        return tpl
    except Exception as exc:
        raise TemplateError(f"« {path.name} » n'est pas un document Word (.docx) lisible ({type(exc).__name__})") from None


def template_parts(tpl) -> list[tuple[str, str]]:
    """(where, source as Jinja sees it) for every part docxtpl renders."""
    parts = [("corps du document", jinja_source(tpl.patch_xml(tpl.get_xml())))]
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        for _, part in tpl.get_headers_footers(uri):
            parts.append((part_label(str(part.partname)), jinja_source(tpl.patch_xml(tpl.get_part_xml(part)))))
    for part in tpl.docx.part.package.parts:
        if part.content_type.endswith(".footnotes+xml"):
            blob = part.blob.decode("utf-8", "replace") if isinstance(part.blob, bytes) else part.blob
            parts.append((part_label(str(part.partname)), jinja_source(tpl.patch_xml(blob))))
    for prop in PROPERTIES:
        value = getattr(tpl.docx.core_properties, prop) or ""
        if "{" in value:
            parts.append((f"propriété « {prop} » du document", value))
    return parts


def _traceback_line(exc: BaseException) -> int | None:
    """The template line of the innermost template frame: Jinja rewrites the traceback so that
    those frames carry template line numbers (and ``__jinja_exception__`` in their globals)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _undefined_fr(undef: jinja2.Undefined, src: str | None, lineno: int | None) -> str:
    name = undef._undefined_name
    obj = undef._undefined_obj
    shown = None
    if src is not None and lineno:
        try:
            tree = jinja2.Environment().parse(src)
        except jinja2.TemplateError:
            tree = None
        if tree is not None:
            for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
                key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
                if node.lineno == lineno and key == name and (d := _dotted(node)):
                    shown = d
                    break
    if obj is jinja2.utils.missing:
        return f"variable inconnue « {name} »"
    if obj is None:
        base = shown.rsplit(".", 1)[0] if shown else "?"
        return (f"« {shown or name} » : « {base} » est vide dans ce cas ; entourez ce passage de "
                f"« {{% if {base} %}} » … « {{% endif %}} »")
    if isinstance(obj, dict):
        return f"variable inconnue « {shown or name} »"
    return f"« {shown or name} » n'existe pas sur cette valeur ({_short(obj)})"


def problem_fr(exc: BaseException, default_where: tuple[str, str | None] = ("document", None)) -> str:
    """One exception from a render, in French, with where it sits."""
    label, src = getattr(exc, "refere_where", default_where)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return syntax_problem(label, src, exc)
    lineno = getattr(exc, "template_line", None) or _traceback_line(exc)
    loc = where(label, src, lineno)
    if isinstance(exc, UndefinedUse):
        return f"{loc} : {_undefined_fr(exc.undefined, src, lineno)}"
    if isinstance(exc, SecurityError):
        m = re.search(r"attribute '([^']+)'", str(exc))
        return f"{loc} : accès interdit" + (f" à « {m[1]} »" if m else "") + " : un modèle ne peut pas exécuter de code"
    if isinstance(exc, Refused):
        return f"{loc} : {exc.message}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"{loc} : variable inconnue ({exc.message})"
    if isinstance(exc, (TypeError, ValueError, ArithmeticError, LookupError)):
        return f"{loc} : opération impossible sur ces valeurs ({type(exc).__name__})"
    if isinstance(exc, RecursionError):
        return f"{loc} : modèle trop imbriqué"
    if isinstance(exc, jinja2.TemplateError):
        return f"{loc} : erreur du modèle ({exc.message})"
    return f"{loc} : le modèle ne produit pas un document Word valide ({type(exc).__name__})"


class UndefinedUse(jinja2.UndefinedError):
    def __init__(self, message: str, undefined: jinja2.Undefined) -> None:
        super().__init__(message)
        self.undefined = undefined


MAX_SHOWN = 100


def report(path: Path, problems: list[str], build: bool = False) -> str:
    n = len(problems)
    head = f"Modèle « {path.name} » inutilisable" + (" (1 problème) :" if n == 1 else f" ({n} problèmes) :")
    shown = [f"  – {p}" for p in problems[:MAX_SHOWN]]
    if n > MAX_SHOWN:
        shown.append(f"  … et {n - MAX_SHOWN} autres problèmes")
    tail = f"\nCorrigez le modèle puis vérifiez-le avec « refere modele verifier {path} »." if build else ""
    return head + "\n" + "\n".join(shown) + tail


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _render_collect(path: Path, env: jinja2.Environment, ctx: dict[str, Any]) -> list[str]:
    """Render once, recording every unknown name and refused filter value instead of stopping."""
    tpl = open_docx(path)
    found: list = []
    rec_token, budget_token = _RECORD.set(found), _BUDGET.set(_Budget())
    problems = []
    try:
        tpl.render(ctx, env, autoescape=True)
    except Exception as exc:  # the first problem that cannot be stepped over
        problems.append(problem_fr(exc))
    else:
        from refere.modeles import docxzip

        for name, xml in getattr(tpl, "refere_rendered", []):
            problems += [f"document produit : {p}" for p in docxzip.field_problems(name, xml)]
    finally:
        _RECORD.reset(rec_token)
        _BUDGET.reset(budget_token)
    for (label, src), lineno, kind, detail in found:
        loc = where(label, src, lineno)
        if kind == "undefined":
            problems.append(f"{loc} : {_undefined_fr(detail, src, lineno)}")
        else:
            problems.append(f"{loc} : {detail.message}")
    return problems


def analyse(tpl, env: jinja2.Environment, contexts: list[dict[str, Any]], our_filters: dict[str, Callable]) -> list[str]:
    """Problems found without rendering: syntax, forbidden tags, unknown names, filters, tests."""
    analyser = Analyser(contexts, env, our_filters)
    parser = jinja2.Environment()
    problems = []
    parts = template_parts(tpl)
    tags = sum(src.count("{{") + src.count("{%") for _, src in parts)
    if tags > MAX_TAGS:
        raise TemplateError(report(getattr(tpl, "refere_path", Path("modèle")),
                                   [f"modèle démesuré : {tags} balises (au plus {MAX_TAGS})"]))
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


@functools.lru_cache(maxsize=32)
def _verify_cached(digest: str, path_str: str) -> tuple[str, ...]:
    from refere.requete import render
    from refere.requete.samples import sample_contexts

    path = Path(path_str)
    env = render.jinja_env()
    samples = sample_contexts()
    problems = analyse(open_docx(path), env, [c for _, c in samples], render.FILTERS)
    # A paragraph already reported is not reported again by the renders (same cause, worse words).
    seen = {p.split(" : ", 1)[0] for p in problems}
    # Each sample case in turn: what breaks only without counsel, for a man… shows here.
    found: dict[str, list[str]] = {}
    for label, ctx in samples:
        for p in _render_collect(path, env, ctx):
            if p.split(" : ", 1)[0] not in seen:
                found.setdefault(p, []).append(label)
    return tuple(problems) + tuple(p + (f" (exemple : {labels[0]})" if len(labels) < len(samples) else "")
                                   for p, labels in found.items())


def verify(path: Path) -> list[str]:
    """Every problem of a custom template, in French; empty when it is usable."""
    open_docx(path)  # missing, unreadable or unsafe: TemplateError at once
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        from refere.errors import os_reason
        raise TemplateError(f"modèle « {path} » illisible : {os_reason(exc)}") from None
    return list(_verify_cached(digest, str(path)))


def check(path: Path) -> None:
    """Refuse, with every problem, a template the verifier would reject (used by build)."""
    problems = verify(path)
    if problems:
        raise TemplateError(report(path, problems, build=True))


@dataclasses.dataclass(frozen=True)
class Picture:
    """A PNG for the context: it becomes a docxtpl InlineImage of the document being rendered."""

    png: bytes
    width_mm: float

    def inline(self, tpl: Any) -> Any:
        import io

        from docx.shared import Mm
        from docxtpl import InlineImage

        return InlineImage(tpl, io.BytesIO(self.png), width=Mm(self.width_mm))


def render_docx(path: Path, env: jinja2.Environment, ctx: dict[str, Any]):
    """The rendered DocxTemplate (not saved); TemplateError with where and why otherwise."""
    tpl = open_docx(path)
    # An image belongs to the document it goes in: made here, where that document exists.
    ctx = {k: v.inline(tpl) if isinstance(v, Picture) else v for k, v in ctx.items()}
    token = _BUDGET.set(_Budget())
    try:
        tpl.render(ctx, env, autoescape=True)
    except RefereError:
        raise
    except Exception as exc:
        raise TemplateError(report(path, [problem_fr(exc)], build=True)) from None
    finally:
        _BUDGET.reset(token)
    return tpl


def export(dest: Path, force: bool) -> None:
    """Write the built-in template to ``dest`` for a firm to adapt; never overwrite unless asked."""
    import os
    import tempfile

    from refere.requete import render
    from refere.errors import OutputError, os_reason

    if dest.suffix.lower() != ".docx":
        raise OutputError(f"« {dest} » : donnez un nom de fichier en .docx")
    if (dest.exists() or dest.is_symlink()) and not force:
        raise OutputError(f"« {dest} » existe déjà : ajoutez --force pour le remplacer, ou choisissez un autre nom")
    if dest.is_dir():
        raise OutputError(f"« {dest} » est un dossier")
    data = render.default_template().read_bytes()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent if str(dest.parent) else ".")
    except OSError as exc:
        raise OutputError(f"impossible d'écrire dans « {dest.parent} » ({os_reason(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)  # a symlink at dest is replaced, never written through
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"écriture impossible de « {dest} » ({os_reason(exc)})") from None
