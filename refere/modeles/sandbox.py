"""The bounded Jinja sandbox a Word template is rendered in.

A custom template comes from outside (a firm, a colleague, a download): it is treated as hostile.
It is rendered in ``ImmutableSandboxedEnvironment`` with the globals cut down to ``range``,
no include/import/extends/macro, and budgets on loop iterations, value sizes, output size and
time, so that it can neither run code nor exhaust the machine. Budgets live in a ContextVar:
safe in threads (a web server), no child process needed.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import sys
import threading
import time
from typing import Any, Callable, Iterable, Iterator

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError



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


class _Shown:
    """A value a tag would print as Python's word (« False », « None »): recorded by the verifier."""

    def __init__(self, value: Any) -> None:
        if value is None:
            self.message = ("affiche « None » dans ce cas : cette valeur est vide ; entourez ce passage de "
                            "{% if … %}…{% endif %}")
        else:
            self.message = (f"affiche « {value} » : une comparaison ou une valeur oui/non n'est pas un texte ; "
                            "écrivez-la dans {% if … %}…{% endif %}")


def _finalize(value: Any) -> Any:
    if (value is None or value is True or value is False) and _RECORD.get() is not None:  # cheap: called per output
        _record("valeur", _Shown(value))
    return value


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
        super().__init__(undefined=_Undefined, autoescape=True, finalize=_finalize)
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




class UndefinedUse(jinja2.UndefinedError):
    def __init__(self, message: str, undefined: jinja2.Undefined) -> None:
        super().__init__(message)
        self.undefined = undefined
