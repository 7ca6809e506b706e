"""``refere captures``: a folder of screenshots → the ``tentatives:`` list, dated from the files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from refere import files
from refere.preuves import shotdates
from refere.errors import CONTROLS, CaseInvalid, OutputError, Problem, RefereError, os_reason
from refere.affaire.loader import MAX_BYTES
from refere.affaire.model import MAX_TENTATIVES


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


# A phone's screenshot folder holds hundreds of files; far more is the wrong folder (or an attack).
MAX_FILES = 5_000


def _entries(folder: Path) -> list[str]:
    """Names of what is directly in ``folder`` but sub-folders; nothing is opened or followed here
    (links, FIFOs and devices are refused when read); listing stops past MAX_FILES."""
    names = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith(".") or entry.is_dir(follow_symlinks=False):
                    continue
                names.append(entry.name)
                if len(names) > MAX_FILES:
                    raise RefereError(f"« {folder} » contient plus de {MAX_FILES} fichiers : ce n'est pas un "
                                      "dossier de captures (donnez le dossier où sont les captures)")
    except OSError as exc:
        raise RefereError(f"dossier de captures illisible « {folder} » ({os_reason(exc)})") from None
    return sorted(names, key=lambda n: unicodedata.normalize("NFC", n))


def scan(folder: Path, relative_to: Path) -> Scan:
    try:
        is_dir = folder.is_dir()
    except OSError:
        is_dir = False
    if not is_dir:
        raise RefereError(f"« {folder} » n'est pas un dossier de captures")
    root = os.path.realpath(folder)
    dated, undated = [], []
    by_hash: dict[str, list[str]] = {}
    for name in _entries(folder):
        path = folder / name
        written = _written(path, relative_to)
        if not files.utf8_name(name):
            # A name in an old encoding (latin-1 from a zip, a USB key): no path to write in dossier.yaml.
            shown = os.fsencode(written).decode("utf-8", "replace")
            undated.append(Shot(shown, None, "nom de fichier illisible (encodage) : renommez-le", ""))
            continue
        control = CONTROLS.search(name) or re.search("[\t\n]", name)
        if control:
            # `refere check` refuses such a name in dossier.yaml: never written there (attack4 G6).
            undated.append(Shot(written, None, f"nom de fichier avec un caractère de contrôle interdit (code "
                                f"{ord(control[0]):#04x}) : renommez-le", ""))
            continue
        try:
            # Opened inside the folder given, without following a link swapped in meanwhile.
            data = files.read_confined(root, name, written)
        except files.FileKindError as exc:
            undated.append(Shot(written, None, str(exc), ""))
            continue
        digest = hashlib.sha256(data).hexdigest()
        kind = files.sniff(data[:1024])
        if kind is None:
            reason = files.describe_unsupported(data[:1024]) if data else "fichier vide"
            undated.append(Shot(written, None, reason, digest))
            continue
        by_hash.setdefault(digest, []).append(written)
        found = shotdates.read(path, kind, data)
        if found is None:
            undated.append(Shot(written, None, shotdates.undated_reason(written), digest))
        else:
            dated.append(Shot(written, found.when, found.source, digest))
    dated.sort(key=lambda s: (s.when, s.written))
    return Scan(dated, undated, [names for names in by_hash.values() if len(names) > 1])


def _written(path: Path, base: Path) -> str:
    rel = os.path.relpath(path, base)
    return unicodedata.normalize("NFC", Path(rel).as_posix())


def _minute(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


def _written_minute(value) -> str:
    """An attempt's minute in Paris however it was written (« 01/09/2025 08:52 », « …T00:03:00+02:00 »,
    « 12h40 »): the same attempt is never added twice for its capture."""
    from refere import dates

    try:
        return _minute(dates.parse_datetime(value))
    except (ValueError, TypeError):
        return str(value)[:16]


def as_yaml(result: Scan) -> str:
    """The list to paste into dossier.yaml; what could not be dated is said in comments."""
    out = io.StringIO()
    out.write("tentatives:\n")
    # A date in the future is a phone's clock gone wrong: said, never offered as an attempt (as --ajouter).
    future = [s for s in result.dated if in_future(s)]
    dated = [s for s in result.dated if s not in future]
    for s in dated:
        out.write(f"  - date: {_minute(s.when)}    # d'après : {s.source}\n")
        out.write(f"    capture: {_quote(s.written)}\n")
    if not dated:
        out.write("  []\n# Aucune capture datée dans ce dossier.\n")
    if future:
        out.write("# Datées dans le futur (horloge du téléphone mal réglée ?), à ajouter à la main avec la vraie date :\n")
        for s in future:
            out.write(f"#   {_quote(s.written)} : {_minute(s.when)} d'après {s.source}\n")
    if result.undated:
        out.write("# Fichiers non datés (à ajouter à la main, avec la date et l'heure de la tentative) :\n")
        for s in result.undated:
            out.write(f"#   {_quote(s.written)} : {s.source}\n")  # quoted: a name with a new line stays in its comment
    for group in result.duplicates:
        out.write(f"# Contenu identique (une seule capture prouve une seule tentative) : {', '.join(_quote(g) for g in group)}\n")
    return out.getvalue()


def _quote(text: str) -> str:
    import json

    plain = all(c.isalnum() or c in "/._-" for c in text)
    return text if plain else json.dumps(text, ensure_ascii=False)


def merge(case_file: Path, result: Scan, refused: list[str] | None = None) -> tuple[int, int]:
    """Add the dated captures to ``tentatives`` (comments and order kept); returns (added, skipped).

    With ``refused`` (a list to fill): a capture dated in the future (a phone's clock gone wrong) or whose
    content is already another attempt's capture is not added, and why is said there, one line each."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from refere.affaire import roundtrip

    if case_file.is_symlink():
        raise OutputError(f"« {case_file} » est un lien symbolique : donnez le fichier lui-même "
                          "(rien n'a été modifié)")
    _refuse_outside(case_file.parent, result)
    try:
        text = files.read_file(case_file, case_file.name, limit=MAX_BYTES).decode("utf-8")
    except files.FileKindError as exc:
        raise CaseInvalid([Problem(case_file.name, None, "", str(exc))]) from None
    except UnicodeDecodeError:
        raise CaseInvalid([Problem(case_file.name, None, "", "le fichier n'est pas encodé en UTF-8")]) from None
    # The web form's guards too: an impossible date or a deep nesting was « Erreur interne » (attack 21).
    data = roundtrip.load(text, case_file.name, "corrigez-la avant d'ajouter des captures")
    yaml = roundtrip.yaml()
    seq = data.get("tentatives")
    if seq is None:
        seq = CommentedSeq()
        data["tentatives"] = seq
    if not isinstance(seq, list):
        raise CaseInvalid([Problem(case_file.name, None, "tentatives", "liste attendue")])
    known_paths = {unicodedata.normalize("NFC", str(t.get("capture"))) for t in seq if isinstance(t, dict) and t.get("capture")}
    known_times = {_written_minute(t.get("date")) for t in seq if isinstance(t, dict)}
    added = skipped = 0
    used = _used_contents(case_file.parent, known_paths) if refused is not None else {}
    for s in result.dated:
        if s.written in known_paths or _minute(s.when) in known_times:
            skipped += 1
            continue
        if refused is not None:
            why = _refusal(s, used)
            if why:
                refused.append(f"« {s.written} » : {why}")
                continue
            used.setdefault(s.sha256, s.written)
        entry = CommentedMap()
        entry["date"] = _minute(s.when)
        entry["capture"] = s.written
        seq.append(entry)
        added += 1
    if added and len(seq) > MAX_TENTATIVES:  # refere could not read the case back: nothing is written
        raise CaseInvalid([Problem(case_file.name, None, "tentatives", (
            f"{len(seq)} tentatives avec ces captures, au plus {MAX_TENTATIVES} dans un dossier : rien n'a été "
            "ajouté ; gardez les captures les plus parlantes"))])
    if added:
        buf = io.StringIO()
        yaml.dump(data, buf)
        _replace(case_file, buf.getvalue())
    return added, skipped


def _used_contents(base: Path, written: set[str]) -> dict[str, str]:
    """The SHA-256 of each capture the attempts already use, and its name."""
    out: dict[str, str] = {}
    for w in sorted(written):
        try:
            out.setdefault(files.check_source(base, w).sha256, w)
        except (RefereError, files.FileKindError, OSError, AttributeError):
            continue  # a missing or broken capture is the check's to report
    return out


def in_future(s: Shot) -> bool:
    """Dated after now: a phone's clock gone wrong; never an attempt as it stands."""
    from refere import dates

    when = s.when if s.when.tzinfo is not None else s.when.replace(tzinfo=dates.PARIS)  # a phone's local time
    return when > dates.now()


def _refusal(s: Shot, used: dict[str, str]) -> str:
    from refere import dates

    if in_future(s):
        return (f"datée du {dates.format_datetime(s.when)}, dans le futur (horloge du téléphone mal réglée ?) : "
                "pas ajoutée ; notez la tentative à la main avec sa vraie date")
    if s.sha256 in used:
        return (f"même contenu que « {used[s.sha256]} », déjà la capture d'une tentative : pas ajoutée "
                "(une capture ne prouve qu'une tentative)")
    return ""


def _refuse_outside(base: Path, result: Scan) -> None:
    """Only paths that « refere check » accepts are written into the case file."""
    refused = []
    for s in result.dated:
        try:
            files.check_source(base, s.written)
        except files.FileKindError as exc:
            refused.append(f"  {exc}")
    if refused:
        raise RefereError("Ces captures ne peuvent pas être ajoutées au dossier (elles doivent se trouver dans "
                          "le dossier de l'affaire, par exemple dans captures/) ; rien n'a été modifié :\n"
                          + "\n".join(refused[:20]) + ("\n  …" if len(refused) > 20 else ""))


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
