"""The case file read and written back as the person wrote it (comments, key order, quotes): the
web form's edits and `refere captures --ajouter` both go through here, with the same guards as
the loader (size, nesting, impossible dates), so that neither fails where the other refuses."""

from __future__ import annotations

from typing import Any

from refere.errors import CaseInvalid, Problem

MAX_NESTING = 64  # a real case file nests 4 levels deep


def yaml():
    from ruamel.yaml import YAML

    # One set of settings for every writer: a file edited both ways stays alike.
    out = YAML()
    out.Resolver = _resolver()
    out.preserve_quotes = True
    out.indent(mapping=2, sequence=4, offset=2)
    out.width = 4096
    return out


_RESOLVER = None


def _resolver():
    """ruamel's resolver without timestamps: a date or time stays the text written (« 08:52:00 Z »,
    « 2025-9-1 »), as the loader reads it, and is written back as it was, never in ruamel's form
    (which also rounded or accepted forms the check refuses)."""
    global _RESOLVER
    if _RESOLVER is None:
        from ruamel.yaml.resolver import VersionedResolver

        class Resolver(VersionedResolver):
            def add_version_implicit_resolver(self, version, tag, regexp, first):
                if tag != "tag:yaml.org,2002:timestamp":
                    super().add_version_implicit_resolver(version, tag, regexp, first)

        _RESOLVER = Resolver
    return _RESOLVER


def load(text: str, name: str, fix: str) -> Any:
    """The round-trip document of ``text`` (the file ``name``), or CaseInvalid with its line; ``fix``
    ends the syntax error's message (« corrigez-la avant d'ajouter des captures »…)."""
    from ruamel.yaml.error import YAMLError

    from refere.affaire.loader import parse_yaml

    try:
        _shallow_enough(text, name)
        parse_yaml(text.removeprefix("\ufeff"), name, empty_ok=True)
        data = yaml().load(text)
    except RecursionError:  # ruamel composes recursively: a deeply nested file is refused, never a traceback
        raise CaseInvalid([_too_nested(name)]) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CaseInvalid([Problem(name, mark.line + 1 if mark else None, "", f"syntaxe YAML incorrecte : {fix}")]) from None
    except ValueError:  # ruamel builds dates: « 1987-02-31 » written by hand is no date at all
        raise CaseInvalid([_impossible_date(text, name)]) from None
    if data is None:
        from ruamel.yaml.comments import CommentedMap
        data = CommentedMap()
    if not isinstance(data, dict):
        raise CaseInvalid([Problem(name, 1, "", "le fichier doit être une suite de champs « nom: valeur »")])
    return data


def _impossible_date(text: str, name: str) -> Problem:
    import datetime as dt
    import re

    for k, line in enumerate(text.splitlines(), start=1):
        for m in re.finditer(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", line.split("#", 1)[0]):
            try:
                dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return Problem(name, k, "", f"date impossible « {int(m[3])}/{int(m[2])}/{m[1]} » (jour ou mois qui "
                                            "n'existe pas) : corrigez-la dans un éditeur de texte")
    return Problem(name, None, "", "date ou heure impossible : corrigez le fichier dans un éditeur de texte")


def _too_nested(name: str) -> Problem:
    return Problem(name, None, "", "fichier trop imbriqué (crochets ou accolades les uns dans les autres) : "
                                   "un dossier n'en a pas besoin")


def _shallow_enough(text: str, name: str) -> None:
    """The loader's size limit, and a nesting limit, checked before ruamel reads the file (it is slow on
    a huge file and recurses on each bracket)."""
    from refere.affaire.loader import MAX_BYTES

    if (size := len(text.encode("utf-8"))) > MAX_BYTES:
        raise CaseInvalid([Problem(name, None, "", f"fichier trop gros ({size} octets) pour un dossier")])
    depth = 0
    if text.count("[") + text.count("{") > MAX_NESTING:
        for ch in text:
            if ch in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    raise CaseInvalid([_too_nested(name)])
            elif ch in "]}" and depth:
                depth -= 1
