"""A template's problems in French, with where they sit: the part of the document (body,
header…), the paragraph number and the paragraph's text. docxtpl puts each ``<w:p`` on its own
line before Jinja sees the XML, so a Jinja line number is a paragraph."""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SecurityError

from refere.modeles.sandbox import Refused, UndefinedUse, _short


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
        # Jinja's own words are English: only the name they quote is kept.
        if m := re.search(r"'([^']+)' is undefined", exc.message or ""):
            return f"{loc} : variable inconnue « {m[1]} » (voir docs/modeles.md)"
        if m := re.search(r"has no attribute '([^']+)'", exc.message or ""):
            return f"{loc} : champ inconnu « {m[1]} » (voir docs/modeles.md)"
        return f"{loc} : variable inconnue (voir docs/modeles.md)"
    for kind, words in _OPERATION_WORDS:
        if isinstance(exc, kind):
            return f"{loc} : opération impossible sur ces valeurs ({words})"
    if isinstance(exc, RecursionError):
        return f"{loc} : modèle trop imbriqué"
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{loc} : syntaxe du modèle incorrecte (ligne {exc.lineno})"
    if isinstance(exc, jinja2.TemplateError):
        return f"{loc} : erreur du modèle"
    return f"{loc} : le modèle ne produit pas un document Word valide"


_OPERATION_WORDS = ((TypeError, "valeurs de types incompatibles"), (ZeroDivisionError, "division par zéro"),
                    (ArithmeticError, "calcul impossible"), (LookupError, "élément absent de la liste ou du tableau"),
                    (ValueError, "valeur inadaptée"))



MAX_SHOWN = 100


def report(path: Path, problems: list[str], build: bool = False) -> str:
    n = len(problems)
    head = f"Modèle « {path.name} » inutilisable" + (" (1 problème) :" if n == 1 else f" ({n} problèmes) :")
    shown = [f"  – {p}" for p in problems[:MAX_SHOWN]]
    if n > MAX_SHOWN:
        shown.append(f"  … et {n - MAX_SHOWN} autres problèmes")
    tail = f"\nCorrigez le modèle puis vérifiez-le avec « refere modele verifier {path} »." if build else ""
    return head + "\n" + "\n".join(shown) + tail
