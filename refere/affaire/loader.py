"""Read a case file: safe YAML with line numbers, then the model; every problem at once."""

from __future__ import annotations

import difflib
import errno
import os
import re
import stat
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from refere import files
from refere.errors import CONTROLS, CaseInvalid, Problem, invisible, os_reason
from refere.affaire.model import Case, cross_problems

MAX_BYTES = 1024 * 1024  # a real case file is tens of kB; PyYAML reads ~1 MB/s
PLACEHOLDER = "À COMPLÉTER"  # what « refere init » writes where an answer is needed
# Bounds alias expansion ("billion laughs") and absurd files; a real case has ~1,000. Above what the model's
# list limits let a valid case reach (2,000 attempts of 9 nodes, 500 pièces of ~11, …): a case the model
# accepts is never refused for its size here.
MAX_NODES = 40_000

_YAML = "tag:yaml.org,2002:"
_NULL = _YAML + "null"
# The tags a node may carry: implicit ones, « ! », « !!str » and « !!null » (and « !!seq »,
# « !!map » on a list or a mapping, which change nothing). Any other explicit tag is refused:
# « !!timestamp », « !!binary », « !!int » of 5,000 digits… reach no constructor.
_ALLOWED_TAGS = {
    yaml.ScalarNode: (_YAML + "str", _NULL),
    yaml.SequenceNode: (_YAML + "seq",),
    yaml.MappingNode: (_YAML + "map",),
}


class _Loader(yaml.SafeLoader):
    """SafeLoader that only resolves ``null`` implicitly.

    Every other plain scalar stays text, so ``01`` keeps its zero, ``2025-02-30`` reaches our
    own date parser (which reports it nicely), and pydantic does the typing.
    Nodes are counted as they are composed: a file of millions of tiny nodes under the size cap
    is refused after MAX_NODES of them, not after building them all.
    """

    nodes = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig("written")
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag == _NULL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


Loc = tuple[Any, ...]


class _Walk:
    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}
        self.key_lines: dict[Loc, int] = {}
        self.count = 0
        self.duplicates: list[tuple[Loc, int]] = []
        self.null_keys: list[tuple[Loc, int]] = []
        self.tags: list[tuple[Loc, int, str]] = []  # explicit tags refused: where, line, message

    def check_tag(self, node: yaml.Node, loc: Loc) -> None:
        if node.tag in _ALLOWED_TAGS.get(type(node), ()):
            return
        tag = "!!" + node.tag[len(_YAML):] if node.tag.startswith(_YAML) else node.tag
        shown = tag if len(tag) <= 40 else tag[:39] + "…"
        if node.tag in _ALLOWED_TAGS[yaml.ScalarNode]:
            what = "une liste" if isinstance(node, yaml.SequenceNode) else "un ensemble de champs"
            message = f"étiquette YAML « {shown} » sur {what} : elle ne s'applique qu'à une valeur simple ; supprimez-la"
        else:
            message = (f"étiquette YAML « {shown} » non autorisée : écrivez la valeur telle quelle, sans étiquette "
                       "(seules « !!str » et « !!null » sont acceptées)")
        self.tags.append((loc, node.start_mark.line + 1, message))

    def visit(self, node: yaml.Node, loc: Loc) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig
        self.check_tag(node, loc)
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
                if isinstance(key_node, yaml.ScalarNode):
                    self.check_tag(key_node, loc + (key,))
                else:
                    self.visit(key_node, loc + (key,))  # a complex key: its tags are checked too
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _NULL:
                    self.null_keys.append((loc, key_node.start_mark.line + 1))
                if key in seen:
                    self.duplicates.append((loc + (key,), key_node.start_mark.line + 1))
                    # YAML keeps the last value: what is said of it points at its line.
                    self.lines[loc + (key,)] = value_node.start_mark.line + 1
                seen.add(key)
                self.key_lines[loc + (key,)] = key_node.start_mark.line + 1
                self.visit(value_node, loc + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.visit(item, loc + (i,))

    def line_of(self, loc: Loc) -> int | None:
        while True:
            if loc in self.key_lines:
                return self.key_lines[loc]
            if loc in self.lines:
                return self.lines[loc]
            if not loc:
                return None
            loc = loc[:-1]


class _TooBig(Exception):
    """Over MAX_NODES: « written » as the file is composed (that many elements in it), else once its aliases
    are expanded by the walk."""


def data_path(loc: Loc, data: Any) -> Loc:
    """Pydantic's location without its internal tags (« function-after[…] »): a part is kept
    when it is a key or index of the data, or a field name the data lacks."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and ("[" in part or "(" in part):
            continue  # a validator's tag (a real key was matched above; field names have neither)
        elif isinstance(node, str):
            break  # a shorthand string standing for a mapping (urgence: the fact itself)
        else:
            node = None
        out.append(part)
    return tuple(out)


def field_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CaseInvalid([Problem(name, line, "", (
            "le fichier n'est pas encodé en UTF-8 (caractère illisible, octet "
            f"0x{raw[exc.start]:02x}) : réenregistrez-le en UTF-8 dans votre éditeur "
            "(« Enregistrer sous » → encodage UTF-8)"))]) from None


_YAML_HINTS = [
    ("found character '\\t'", "tabulation interdite : indentez avec des espaces"),
    ("mapping values are not allowed", "« : » inattendu : mettez la valeur entre guillemets si elle contient « : », ou vérifiez l'indentation"),
    ("could not find expected ':'", "« : » manquant après le nom du champ, ou indentation incorrecte"),
    ("found undefined alias", "alias « * » inconnu"),
    ("could not determine a constructor for the tag", "étiquette YAML « ! » non autorisée (seules les données simples sont acceptées)"),
    ("found unhashable key", "clé invalide"),
    ("expected <block end>, but found", "indentation incorrecte"),
    ("while scanning a quoted scalar", "guillemet ouvert mais jamais fermé"),
    ("found duplicate anchor", "ancre « & » définie deux fois"),
    ("but found another document", "plusieurs documents (séparés par « --- ») : un dossier n'en contient qu'un"),
]


def _yaml_problem(exc: yaml.MarkedYAMLError, name: str) -> Problem:
    """The parser's English as a person can act on it: what is probably wrong, and where."""
    line = exc.problem_mark.line + 1 if exc.problem_mark else None
    opened = exc.context_mark.line + 1 if exc.context_mark else None
    context, problem = exc.context or "", (exc.problem or "").strip()
    here = f", remarqué ligne {line}" if line and opened and line != opened else ""
    if "flow sequence" in context:
        return Problem(name, opened or line, "", (
            f"crochet « [ » ouvert ligne {opened} et jamais fermé{here} : fermez la liste par « ] », ou mettez "
            "le texte entre guillemets s'il commence par « [ »"))
    if "flow mapping" in context:
        return Problem(name, opened or line, "", (
            f"accolade « {{ » ouverte ligne {opened} et jamais fermée{here} : fermez-la par « }} », ou mettez "
            "le texte entre guillemets s'il commence par « { »"))
    if "quoted scalar" in context:
        return Problem(name, opened or line, "", (
            f"guillemet ouvert ligne {opened} et jamais fermé : ajoutez le guillemet de fin, sur la même ligne"))
    if "but found '<stream end>'" in problem:
        return Problem(name, line, "", (
            "le fichier se termine au milieu d'une valeur : un crochet « [ », une accolade « { » ou un guillemet "
            "ouvert plus haut n'a pas été fermé"))
    m = re.search(r"found character '(.+)' that cannot start any token", problem)
    if m:
        if m[1] == "\\t":
            return Problem(name, line, "", "tabulation interdite : indentez avec des espaces")
        return Problem(name, line, "", (
            f"une valeur ne peut pas commencer par « {m[1]} » : mettez toute la valeur entre guillemets « \" »"))
    if "expected <block end>, but found '<scalar>'" in problem:
        return Problem(name, line, "", (
            "texte en trop après une valeur : si la valeur contient un guillemet ou une apostrophe, mettez-la "
            "tout entière entre guillemets « \" » (par exemple : nom: \"l'école\")"))
    if "expected <block end>" in problem:
        return Problem(name, line, "", (
            f"indentation incorrecte : cette ligne n'est pas alignée sur les champs du même niveau"
            f"{f' (le bloc commence ligne {opened})' if opened and opened != line else ''} ; "
            "indentez avec le même nombre d'espaces"))
    m = re.search(r"found undefined alias '(.+)'", problem)
    if m:
        return Problem(name, line, "", (
            f"« *{m[1]} » n'est pas une valeur connue : une valeur qui commence par « * » se met entre guillemets"))
    for needle, fr in _YAML_HINTS:
        if needle in f"{context} {problem}":
            return Problem(name, line, "", f"syntaxe YAML incorrecte : {fr}")
    return Problem(name, line, "", (
        "syntaxe YAML incorrecte à cette ligne : vérifiez l'indentation (des espaces, alignés), le « : » après "
        "chaque nom de champ et les guillemets autour des textes qui contiennent « : », « # » ou des guillemets"))


def _reader_problem(exc: yaml.reader.ReaderError, text: str, name: str) -> Problem:
    line = text[: exc.position].count("\n") + 1
    return Problem(name, line, "", (
        f"caractère de contrôle interdit (code {exc.character:#04x}) : supprimez-le, "
        "il vient souvent d'un copier-coller"))


def _same_for_every_reader(text: str, name: str) -> None:
    """PyYAML (YAML 1.1) reads a NEL (U+0085), LS or PS (U+2028, U+2029) as a line break and skips a second BOM at the start;
    editors and ruamel (YAML 1.2, the web's reader) do not. Such a file means one thing here and another
    in the editor that shows its line numbers: refused, the same way by the CLI and the web. A BOM
    further in is invisible in every editor: refused too, rather than an unknown field that looks known."""
    if text.startswith("\ufeff"):  # the first BOM is already removed (_decode, or the web's read)
        raise CaseInvalid([Problem(name, 1, "", (
            "marque d'encodage (BOM) répétée au début du fichier : réenregistrez-le en UTF-8 dans votre "
            "éditeur de texte"))])
    if (at := text.find("\ufeff")) >= 0:
        raise CaseInvalid([Problem(name, text.count("\n", 0, at) + 1, "", (
            "caractère invisible (U+FEFF, marque d'encodage) au milieu du fichier : supprimez-le dans "
            "votre éditeur de texte (effacez le début de la ligne et retapez-le)"))])
    # PyYAML also breaks lines at U+2028 and U+2029 (LS, PS), which ruamel and editors do not.
    for char, label in (("\x85", "NEL, U+0085"), ("\u2028", "LS, U+2028"), ("\u2029", "PS, U+2029")):
        if (at := text.find(char)) >= 0:
            raise CaseInvalid([Problem(name, text.count("\n", 0, at) + 1, "", (
                f"caractère de fin de ligne inhabituel ({label}) : remplacez-le par un retour à la ligne "
                "ordinaire dans votre éditeur de texte"))])


def parse_yaml(text: str, name: str, empty_ok: bool = False) -> tuple[Any, _Walk]:
    """The CLI's reading of the YAML (the web checks its files with it too): the data and what the walk
    saw; ``empty_ok``: a file with no value at all gives None instead of a refusal."""
    _same_for_every_reader(text, name)
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise CaseInvalid([_reader_problem(exc, text, name)]) from None
    try:
        node = loader.get_single_node()
        if node is None and empty_ok:
            return None, _Walk()
        if node is None:
            raise CaseInvalid([Problem(name, None, "", "le fichier est vide : partez du modèle créé par « refere init »")])
        walk = _Walk()
        walk.visit(node, ())
        if walk.tags:  # refused before any constructor runs
            raise CaseInvalid([Problem(name, line, field_path(loc), message) for loc, line, message in walk.tags])
        data = loader.construct_document(node)
    except _TooBig as exc:
        raise CaseInvalid([Problem(name, None, "", _too_big(text) if exc.args == ("written",) else (
            "fichier trop gros une fois les alias « * » développés : un dossier n'en a pas besoin"))]) from None
    except RecursionError:  # PyYAML composes recursively
        raise CaseInvalid([Problem(name, None, "", "fichier trop imbriqué : un dossier n'en a pas besoin")]) from None
    except yaml.MarkedYAMLError as exc:
        raise CaseInvalid([_yaml_problem(exc, name)]) from None
    except yaml.reader.ReaderError as exc:
        raise CaseInvalid([_reader_problem(exc, text, name)]) from None
    except yaml.YAMLError:
        raise CaseInvalid([Problem(name, None, "", "fichier YAML illisible")]) from None
    finally:
        loader.dispose()
    return data, walk


def _too_big(text: str) -> str:
    """How many elements the file has (counted on events, up to a bound: no tree is built) and the limit."""
    n, more = 0, False
    try:  # libyaml when PyYAML has it: ten times faster than the Python parser on such a file
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            n += isinstance(event, yaml.NodeEvent)  # a scalar, an alias, a list or a mapping
            if n > 5 * MAX_NODES:
                more = True
                break
    except yaml.YAMLError:
        more = True  # broken further on: what was counted is a lower bound
    return (f"fichier trop gros : {'plus de ' if more else ''}{_fr(n)} éléments (champs, valeurs, tentatives…), "
            f"au plus {_fr(MAX_NODES)} ; un dossier réel en a environ 1 000 : retirez ce qui ne sert pas "
            "(des milliers de tentatives ? gardez les plus parlantes)")


def _fr(n: int) -> str:
    from refere.dates import format_number  # Babel: only for this rare refusal

    return format_number(n)


def _bound(n) -> str:
    """A model's bound as French writes it (« 100 000 », « 0,5 »), not « 100000.0 »."""
    if isinstance(n, (int, float)) and not isinstance(n, bool):
        return _fr(int(n)) if float(n).is_integer() else str(n).replace(".", ",")
    return str(n)


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that holds the field at ``loc`` (for suggesting a misspelt key)."""
    model: Any = Case
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _unwrap(field.annotation)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0]
        elif origin is list:
            tp = typing.get_args(tp)[0]
        else:
            return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "un ensemble de champs"
    if isinstance(value, list):
        return "une liste"
    if value is None:
        return "rien"
    text = str(value)
    return f"« {text[:60]}{'…' if len(text) > 60 else ''} »"


def translate(err: dict[str, Any], loc: Loc) -> str:
    """A pydantic error, in French."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "refere":
        return err["msg"]
    if kind == "missing":
        return "champ obligatoire manquant"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(loc[:-1])
        msg = f"champ inconnu « {key} »"
        hidden = [c for c in key if invisible(c)]
        if hidden:  # the quote shows nothing wrong: say what is there
            msg += f" (caractère invisible U+{ord(hidden[0]):04X} dans le nom : retapez-le)"
        if model is not None:
            close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
            if close:
                msg += f" ; vouliez-vous dire « {close[0]} » ?"
            else:
                msg += " ; champs possibles : " + ", ".join(model.model_fields)
        return msg
    if kind in ("string_type",):
        return f"texte attendu, pas {_show(value)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"nombre entier attendu, pas {_show(value)}"
    if kind in ("float_parsing", "float_type"):
        return f"nombre attendu, pas {_show(value)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"« oui » ou « non » attendu, pas {_show(value)}"
    if kind in ("list_type",):
        return f"liste attendue (un élément par ligne, commençant par « - »), pas {_show(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"ensemble de champs attendu (nom: valeur), pas {_show(value)}"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = [o.strip().strip("'") for o in str(expected).replace(" or ", ",").split(",") if o.strip()]
        msg = f"valeur {_show(value)} non reconnue ; valeurs possibles : {', '.join(options)}"
        if isinstance(value, str):
            close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
            if close:
                msg += f" (vouliez-vous dire « {close[0]} » ?)"
        return msg
    if kind in ("greater_than_equal", "greater_than"):
        bound = _bound(ctx.get("ge", ctx.get("gt")))
        return f"doit être {'au moins' if kind == 'greater_than_equal' else 'supérieur à'} {bound}, pas {_show(value)}"
    if kind in ("less_than_equal", "less_than"):
        bound = _bound(ctx.get("le", ctx.get("lt")))
        return f"doit être au plus {bound}, pas {_show(value)}"
    if kind == "too_short":
        if isinstance(value, str):
            return "texte vide"
        return "liste vide : au moins un élément attendu"
    if kind == "string_too_short":
        return "texte vide"
    if kind in ("string_too_long", "too_long"):
        limit = ctx.get("max_length")
        unit = "caractères" if kind == "string_too_long" else "éléments"
        return f"trop long ({limit} {unit} au plus)"
    if kind in ("finite_number",):
        return "nombre fini attendu"
    return f"valeur invalide {_show(value)}"


def _named_files(data) -> list[str]:
    """The files the case names (captures, pièces), as the model will meet them (stripped)."""
    def text(v) -> list[str]:
        return [v.strip()] if isinstance(v, str) else []
    rows = [r for key in ("tentatives", "pieces") for r in (data.get(key) if isinstance(data.get(key), list) else [])
            if isinstance(r, dict)] if isinstance(data, dict) else []
    return [n for r in rows for v in (r.get("capture"), r.get("fichier"), *(r.get("fichiers") if isinstance(
        r.get("fichiers"), list) else [])) for n in text(v)]


def load_text(text: str, name: str, base: Path) -> Case:
    data, walk = parse_yaml(text, name)
    problems = [
        Problem(name, line, field_path(loc), f"clé « {loc[-1]} » écrite deux fois (la seconde écraserait la première)")
        for loc, line in walk.duplicates
    ]
    problems += [Problem(name, line, field_path(loc), "nom de champ vide ou « null » avant « : » : écrivez le nom du champ")
                 for loc, line in walk.null_keys]
    if walk.null_keys:
        raise CaseInvalid(_dedupe(problems))
    problems += [Problem(name, walk.line_of(loc), field_path(loc), _control_words(char))
                 for loc, char in _controls(data)]
    unfilled = set(_placeholders(data))
    problems += [Problem(name, walk.line_of(loc), field_path(loc), "valeur à compléter (« À COMPLÉTER »)")
                 for loc in sorted(unfilled, key=str)]
    if not isinstance(data, dict):
        what = "une liste" if isinstance(data, list) else "une simple valeur"
        raise CaseInvalid(problems + [Problem(name, 1, "", (
            f"le fichier contient {what} ; il doit être une suite de champs « nom: valeur » "
            "(version, requerant, procedure…) : partez du modèle de « refere init »"))])
    ahead = files.check_ahead(base, _named_files(data))
    try:
        case = Case.model_validate(data, context={"base": base, "ahead": ahead})
    except ValidationError as exc:
        for err in exc.errors():
            loc = data_path(err["loc"], data)
            if loc in unfilled:
                continue  # already said: « à compléter »
            problems.append(Problem(name, walk.line_of(loc), field_path(loc), translate(err, loc)))
        raise CaseInvalid(_dedupe(problems)) from None
    finally:
        if ahead is not None:
            ahead(None)
    problems += [Problem(name, walk.line_of(loc), field_path(loc), _other_lines(msg, walk))
                 for loc, msg in cross_problems(case)]
    if problems:
        raise CaseInvalid(_dedupe(problems))
    return case


def _other_lines(message: str, walk: Any) -> str:
    """« {ligne:pieces,2,id} » in a cross-field message → « ligne 41 »: a problem names both places."""
    def line(m: re.Match) -> str:
        loc = tuple(int(x) if x.isdigit() else x for x in m[1].split(","))
        n = walk.line_of(loc)
        return f"ligne {n}" if n else "plus haut"
    return re.sub(r"\{ligne:([^}]*)\}", line, message)


def _placeholders(data: Any, loc: Loc = ()) -> list[Loc]:
    """Where the template of « refere init » was left unfilled."""
    if isinstance(data, str):
        return [loc] if data.strip().upper() == PLACEHOLDER else []
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _placeholders(v, loc + (k,))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _placeholders(v, loc + (i,))]
    return []


# A text of the case never needs a control character; one written as an escape in quotes
# (« \e[31m », « \x1b ») would reach the terminal, the requête and rapport.csv. Tab and
# line breaks (« \r\n » too) are text.
def _control_in(text: str) -> str | None:
    m = CONTROLS.search(text.replace("\r\n", "\n")) or _NONCHARACTERS.search(text)
    return m[0] if m else None


# Unicode's non-characters (U+FFFE, U+FDD0…), reachable by a YAML escape: Word drops them, the
# bordereau draws « � » (attack 20).
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef" + "".join(f"{chr(p + 0xFFFE)}{chr(p + 0xFFFF)}" for p in range(0, 0x110000, 0x10000)) + "]")


def _controls(data: Any, loc: Loc = ()) -> list[tuple[Loc, str]]:
    """Where a text (or a key) of the case holds a control character, and the first one."""
    if isinstance(data, str):
        return [(loc, c)] if (c := _control_in(data)) else []
    if isinstance(data, dict):
        return ([(loc + (k,), c) for k in data if isinstance(k, str) and (c := _control_in(k))]
                + [p for k, v in data.items() for p in _controls(v, loc + (k,))])
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _controls(v, loc + (i,))]
    return []


def _control_words(char: str) -> str:
    if _NONCHARACTERS.match(char):
        return (f"caractère non valide (U+{ord(char):04X}, un « non-caractère » Unicode, invisible) dans le texte : "
                "effacez la valeur et retapez-la (il vient d'un copier-coller, ou d'un « \\u » entre guillemets)")
    return (f"caractère de contrôle interdit (code {ord(char):#04x}) dans le texte : supprimez-le, "
            "il vient souvent d'un copier-coller ou d'un « \\ » suivi d'une lettre entre guillemets")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return sorted(out, key=lambda p: (p.line or 0))


def load(path: str | Path) -> Case:
    """Load and validate ``dossier.yaml``; raises CaseInvalid with every problem found."""
    path = Path(path)
    name = path.name
    st = _stat(path)
    if stat.S_ISDIR(st.st_mode):
        candidate = path / "dossier.yaml"
        try:
            found = stat.S_ISREG(os.stat(candidate).st_mode)
        except OSError:
            found = False
        if not found:
            raise CaseInvalid([Problem(str(path), None, "", "c'est un dossier sans fichier dossier.yaml")])
        path, name = candidate, candidate.name
        st = _stat(path)
    if stat.S_ISREG(st.st_mode) and st.st_size > MAX_BYTES:
        raise CaseInvalid([Problem(name, None, "", f"fichier trop gros ({st.st_size} octets) pour un dossier")])
    try:
        # Type checked before opening: a FIFO, socket or device is refused, never read; named as
        # the user gave it (« /dev/zero », not « zero »).
        raw = files.read_file(path, str(path), limit=MAX_BYTES)
    except files.FileKindError as exc:
        raise CaseInvalid([Problem(str(path), None, "", str(exc))]) from None
    return load_text(_decode(raw, name), name, path.parent)


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            note = files.path_twin_note(path) if exc.errno == errno.ENOENT else None
            reason = f"fichier introuvable : {note}" if note else "fichier introuvable"
        elif exc.errno == errno.ENAMETOOLONG:
            reason = "chemin trop long pour le système : raccourcissez les noms de dossiers"
        else:
            reason = f"fichier illisible ({os_reason(exc)})"
        raise CaseInvalid([Problem(_short(path), None, "", reason)]) from None


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else text[:60] + "…" + text[-40:]


def resolve_case_path(path: str | Path) -> Path:
    return files.resolve_case_path(path)
