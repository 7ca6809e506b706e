"""``refere captures``: a folder of screenshots → the ``tentatives:`` list, dated from the files."""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from . import files, shotdates
from .errors import CaseInvalid, OutputError, Problem, RefereError, os_reason


@dataclass(frozen=True)
class Shot:
    written: str  # path as it will be written in the case file
    when: dt.datetime | None
    source: str  # where the date came from, or why there is none
    sha256: str


@dataclass(frozen=True)
class Scan:
    dated: list[Shot]
    undated: list[Shot]
    duplicates: list[list[str]]


def scan(folder: Path, relative_to: Path) -> Scan:
    if not folder.is_dir():
        raise RefereError(f"« {folder} » n'est pas un dossier de captures")
    dated, undated = [], []
    by_hash: dict[str, list[str]] = {}
    entries = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                     key=lambda p: unicodedata.normalize("NFC", p.name))
    for path in entries:
        written = _written(path, relative_to)
        with open(path, "rb") as fh:
            head = fh.read(1024)
        kind = files.sniff(head)
        digest = files.sha256(path)
        if kind is None:
            reason = files.describe_unsupported(head) if head else "fichier vide"
            undated.append(Shot(written, None, reason, digest))
            continue
        by_hash.setdefault(digest, []).append(written)
        found = shotdates.read(path, kind)
        if found is None:
            undated.append(Shot(written, None, "aucune date dans le fichier ni dans son nom", digest))
        else:
            dated.append(Shot(written, found.when, found.source, digest))
    dated.sort(key=lambda s: (s.when, s.written))
    return Scan(dated, undated, [names for names in by_hash.values() if len(names) > 1])


def _written(path: Path, base: Path) -> str:
    rel = os.path.relpath(path, base)
    return unicodedata.normalize("NFC", Path(rel).as_posix())


def _minute(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


def as_yaml(result: Scan) -> str:
    """The list to paste into dossier.yaml; what could not be dated is said in comments."""
    out = io.StringIO()
    out.write("tentatives:\n")
    for s in result.dated:
        out.write(f"  - date: {_minute(s.when)}    # d'après : {s.source}\n")
        out.write(f"    capture: {_quote(s.written)}\n")
    if not result.dated:
        out.write("  []\n# Aucune capture datée dans ce dossier.\n")
    if result.undated:
        out.write("# Fichiers non datés (à ajouter à la main, avec la date et l'heure de la tentative) :\n")
        for s in result.undated:
            out.write(f"#   {s.written} : {s.source}\n")
    for group in result.duplicates:
        out.write(f"# Contenu identique (une seule capture prouve une seule tentative) : {', '.join(group)}\n")
    return out.getvalue()


def _quote(text: str) -> str:
    import json

    plain = all(c.isalnum() or c in "/._-" for c in text)
    return text if plain else json.dumps(text, ensure_ascii=False)


def merge(case_file: Path, result: Scan) -> tuple[int, int]:
    """Add the dated captures to ``tentatives`` (comments and order kept); returns (added, skipped)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    try:
        text = case_file.read_text("utf-8")
        data = yaml.load(text)
    except FileNotFoundError:
        raise CaseInvalid([Problem(str(case_file), None, "", "fichier introuvable")]) from None
    except UnicodeDecodeError:
        raise CaseInvalid([Problem(case_file.name, None, "", "le fichier n'est pas encodé en UTF-8")]) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CaseInvalid([Problem(case_file.name, mark.line + 1 if mark else None, "",
                                   "syntaxe YAML incorrecte : corrigez-la avant d'ajouter des captures")]) from None
    if not isinstance(data, dict):
        raise CaseInvalid([Problem(case_file.name, 1, "", "le fichier doit être une suite de champs « nom: valeur »")])
    seq = data.get("tentatives")
    if seq is None:
        seq = CommentedSeq()
        data["tentatives"] = seq
    if not isinstance(seq, list):
        raise CaseInvalid([Problem(case_file.name, None, "tentatives", "liste attendue")])
    known_paths = {unicodedata.normalize("NFC", str(t.get("capture"))) for t in seq if isinstance(t, dict) and t.get("capture")}
    known_times = {str(t.get("date"))[:16] for t in seq if isinstance(t, dict)}
    added = skipped = 0
    for s in result.dated:
        if s.written in known_paths or _minute(s.when) in known_times:
            skipped += 1
            continue
        entry = CommentedMap()
        entry["date"] = _minute(s.when)
        entry["capture"] = s.written
        seq.append(entry)
        added += 1
    if added:
        buf = io.StringIO()
        yaml.dump(data, buf)
        _replace(case_file, buf.getvalue())
    return added, skipped


def _replace(path: Path, text: str) -> None:
    """Write beside, then rename: the case file is never left half-written."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"impossible de mettre à jour « {path} » ({os_reason(exc)})") from None
