"""Who a case is for, as its file is written: two folders for the same person (a person who
came twice, or two volunteers who opened a folder each) are told apart from the others.

Read without the case format's checks: a case file that does not load still names its person.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def plain(text: str) -> str:
    """Lower case without accents: « Aïssatou » is found by « aissatou »."""
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


# person_key per case file, by (path, size, mtime_ns): the desk's case list asks on every view and a
# case file of up to 1 MB takes PyYAML a minute to parse (attack4 G1).
_PERSON_CACHE: dict[tuple[str, int, int], tuple[str, ...] | None] = {}
_PERSON_CACHE_MAX = 4096


def written_person(case_file: Path | None) -> dict:
    """The « requerant » block as written, read without the case format's checks ({} when unreadable)."""
    import yaml

    if case_file is None:
        return {}
    try:
        with open(case_file, encoding="utf-8") as fh:
            data = yaml.load(fh.read(1 << 20), Loader=_text_loader())
        r = data.get("requerant") if isinstance(data, dict) else None
    except Exception:  # noqa: BLE001 — a broken file is reported by its own check, not here
        return {}
    return {k: " ".join(str(v).split()) for k, v in r.items() if isinstance(v, (str, int)) or hasattr(v, "isoformat")} \
        if isinstance(r, dict) else {}


_TEXT_LOADER = None


def _text_loader():
    """libyaml when PyYAML has it (ten times faster: only the name is read here), every scalar but
    ``null`` read as text, as the case loader does: a person named « No » or « On » is not a boolean."""
    global _TEXT_LOADER
    if _TEXT_LOADER is None:
        import yaml

        class Text(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            pass

        Text.yaml_implicit_resolvers = {k: [r for r in v if r[0] == "tag:yaml.org,2002:null"]
                                        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
        _TEXT_LOADER = Text
    return _TEXT_LOADER


def _birth(text: str) -> str:
    """A birth date in one spelling whatever the accepted one written (« 03/11/1987 », « 1987-11-03 »)."""
    from refere import dates

    try:
        return dates.parse_date(text).isoformat()
    except ValueError:
        return text


def person_key(case_file: Path | None) -> tuple[str, ...] | None:
    """Name, first names and birth date as written (accents, case and spaces ignored), or None when one
    is missing or the file does not read: two folders with the same key are the same person."""
    return _person(case_file)[1]


def _person(case_file: Path | None) -> tuple[tuple | None, tuple[str, ...] | None]:
    """``person_key`` and the file's stamp it is cached under (None: the file could not be stat'ed)."""
    if case_file is None:
        return None, None
    try:
        st = os.stat(case_file)
    except (OSError, ValueError):
        return None, None
    stamp = (os.path.abspath(case_file), st.st_size, st.st_mtime_ns)
    if stamp in _PERSON_CACHE:
        return stamp, _PERSON_CACHE[stamp]
    r = written_person(case_file)
    key = (plain(str(r.get("nom", ""))), plain(str(r.get("prenoms", ""))), _birth(str(r.get("date_naissance", ""))))
    found = key if all(key) and "a completer" not in key else None
    remember_person(stamp, found)
    return stamp, found


def remember_person(stamp: tuple, found: tuple[str, ...] | None) -> None:
    if len(_PERSON_CACHE) >= _PERSON_CACHE_MAX:
        _PERSON_CACHE.clear()
    _PERSON_CACHE[stamp] = found


def person_entry(case_file: Path | None) -> tuple | None:
    """``person_key``'s cache entry for a case file, read in a batch worker: the parent then
    parses no case file again after the cases are built (it did, one after the other)."""
    stamp, key = _person(case_file)
    return (stamp, key) if stamp is not None else None


def same_people(named: Iterable[tuple[str, Path | None]]) -> dict[str, list[str]]:
    """For each case whose person has another folder too: the other folders' names (a person who came
    twice, or two volunteers who opened a folder each)."""
    groups: dict[tuple, list[str]] = {}
    for name, case_file in named:
        key = person_key(case_file)
        if key is not None:
            groups.setdefault(key, []).append(name)
    return {n: [o for o in names if o != n] for names in groups.values() if len(names) > 1 for n in names}
