"""The workspace on disk: case folders, dossier.yaml round-trip, uploads. No rules of evidence here.

Everything the web layer writes goes through this module: atomically, inside the case folder,
under names the server makes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import stat
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refere import files, write
from refere.preuves import shotdates
from refere.errors import CaseInvalid, FileProblem, OutputError, Problem, RefereError, os_reason
from refere.affaire import roundtrip
from refere.web import casenames

CASE_FILE = "dossier.yaml"
FRESH_MARK = ".refere-web-nouveau"  # the version of a case file as the form created it
NAMES_FILE = ".refere-web-noms.json"  # stored name → the name the file had on the user's device
_FRESH_UNUSED = ""  # the version of a case file as the form created it
OUT_DIR = "dossier"  # build.default_out: where `refere build` writes beside dossier.yaml
BATCH_OUT = "construits"  # in the workspace: where « Tout construire » writes (never a case's name)
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class Stale(RefereError):
    """The file changed since the page was shown (another tab, an editor)."""

    def __init__(self) -> None:
        super().__init__("Ce dossier a été modifié ailleurs (autre onglet ou éditeur) : rechargez la page, "
                         "puis refaites votre modification.")


class UploadRefused(RefereError):
    pass


# Latin letters that have no accent to take off, written as the alphabet without them.
_LATIN = {"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "ŧ": "t", "ħ": "h"}


def slugify(text: str) -> str:
    """A folder name from a person's name: Latin letters without their accents (« Aïssatou » →
    « aissatou »), other scripts' letters kept (« 김민준 », « محمد »), anything else a dash."""
    out = []
    for c in unicodedata.normalize("NFC", text):
        c = _LATIN.get(c.lower(), c)
        folded = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode().lower()
        # A vowel sign (Devanagari, Arabic, Thai) belongs to its letter: never a dash in the name.
        # A mark left alone (an emoji's variation selector once the emoji is a dash) is dropped, and
        # the invisible ones everywhere (variation selectors, the grapheme joiner U+034F).
        if c == "\u034f" or 0xFE00 <= ord(c) <= 0xFE0F or 0xE0100 <= ord(c) <= 0xE01EF:
            continue
        mark = unicodedata.category(c).startswith("M")
        keep = c.isalnum() or (mark and bool(out) and out[-1] != "-")
        out.append(folded if folded.isalnum() else c.lower() if keep else "" if mark else "-")
    slug = re.sub(r"-+", "-", "".join(out)).strip("-")[:64]
    # 64 letters of some scripts (Adlam, CJK Ext. B: 4 bytes each) exceed the bytes a folder name the
    # web serves may take: cut whole characters until it fits, or the case would be made, then refused.
    while len(slug.encode("utf-8")) > casenames.NAME_BYTES:
        slug = slug[:-1]
    return slug.strip("-")


# ---------------------------------------------------------------- workspace


def case_ids(workspace: Path) -> list[str]:
    return [name for name in _case_folders(workspace) if casenames.problem(name) is None]


def unserved_cases(workspace: Path) -> list[tuple[str, str]]:
    """Case folders `refere batch` builds but the web cannot show (casenames): (name as shown, why)."""
    return [(casenames.visible(n), why) for n in _case_folders(workspace) if (why := casenames.problem(n))]


def linked_cases(workspace: Path) -> list[str]:
    """Links never followed (a case outside the workspace), named on the page as `refere batch` names
    them: a link to a folder holding a case, anywhere below it; a case folder whose dossier.yaml is a link."""
    from refere.jobs import holds_case

    names = []
    for p in _entries(workspace):
        if p.name[:1] == "." or p.name == BATCH_OUT:
            continue
        if p.is_symlink():
            if holds_case(p):
                names.append(casenames.visible(p.name))
        elif p.is_dir() and (p / CASE_FILE).is_symlink():
            names.append(f"{casenames.visible(p.name)}/{CASE_FILE}")
    return names


def _case_folders(workspace: Path) -> list[str]:
    # As `refere batch`, hidden folders are not cases; a linked case file is never read nor listed.
    return [p.name for p in _entries(workspace) if p.name != BATCH_OUT and p.name[:1] != "." and p.is_dir()
            and not p.is_symlink() and (p / CASE_FILE).is_file() and not (p / CASE_FILE).is_symlink()]


def nested_groups(workspace: Path) -> list[tuple[str, int]]:
    """Sub-folders holding cases (« lundi/diallo-a », as « refere batch » reads them): the web lists only the
    cases directly in its folder, so the page points to each (« refere web lundi/ »). (name, number of cases)."""
    counts = [(p.name, len(case_ids(p))) for p in _entries(workspace)
              if p.is_dir() and not p.is_symlink() and p.name != BATCH_OUT and not p.name.startswith(".")]
    return [(name, n) for name, n in counts if n]


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return []


def case_dir(workspace: Path, case_id: str) -> Path | None:
    """The folder of a listed case, or None: an id is looked up, never joined as a path."""
    ids = case_ids(workspace)
    if case_id in ids:
        return workspace / case_id
    alike = [i for i in ids if casenames.same(i, case_id or "")]  # « é » typed another way (NFC)
    return workspace / alike[0] if len(alike) == 1 else None


def new_case(workspace: Path, name: str) -> str:
    from refere.affaire.init import FIELDS, OPTIONAL, check_place, create
    from refere.affaire.loader import PLACEHOLDER

    slug = slugify(name)
    if not slug:
        raise RefereError("Donnez un nom au dossier (lettres ou chiffres), par exemple « diallo-aissatou ».")
    if slug == BATCH_OUT:
        raise RefereError(f"« {slug} » est le dossier où « Tout construire » écrit : choisissez un autre nom.")
    if not os.path.lexists(workspace / slug):
        check_place(workspace / slug)  # before the folder is made: a refusal leaves nothing (attack 28)
    try:  # made here and now (a link or folder of that name fails), then written through as opened
        os.mkdir(workspace / slug, write.new_dir_mode())
    except FileExistsError:
        raise RefereError(f"Un dossier « {slug} » existe déjà : choisissez un autre nom.") from None
    except OSError as exc:
        raise OutputError(f"impossible de créer le dossier « {slug} » ({os_reason(exc)})") from None
    # Unlike `refere init`'s template, no département or démarche is pre-chosen: the form asks.
    answers: dict[str, str | None] = {f: (None if f in OPTIONAL else PLACEHOLDER) for f in FIELDS}
    with write.pinned(workspace / slug, make=False) as folder:
        create(folder, answers)
        # Remembers the untouched file: until it changes, its « À COMPLÉTER » values are hints, not errors.
        atomic_write(folder / FRESH_MARK, version_of(folder / CASE_FILE).encode("ascii"))
    return slug


def is_fresh(folder: Path) -> bool:
    """A case made by the web form and never saved since (its dossier.yaml untouched)."""
    try:
        mark = (folder / FRESH_MARK).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return bool(mark) and mark == version_of(folder / CASE_FILE)


# ---------------------------------------------------------------- dossier.yaml


def version_of(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


def _yaml():
    return roundtrip.yaml()


def read_doc(path: Path) -> Any:
    """The round-trip document (comments, key order), or CaseInvalid: what the CLI refuses, with its line."""
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise CaseInvalid([Problem(path.name, None, "", "le fichier n'est pas encodé en UTF-8")]) from None
    return roundtrip.load(text, path.name, "corrigez le fichier dans un éditeur de texte")


_doc_cache: dict[str, tuple[str, Any]] = {}


def read_doc_for_display(path: Path) -> Any:
    """read_doc, cached by content: pages only read it (ruamel is slow on 120 attempts).

    Never mutate what this returns; a save re-reads the file with read_doc."""
    version = version_of(path)
    key = str(path.resolve())
    hit = _doc_cache.get(key)
    if hit and hit[0] == version:
        return hit[1]
    data = read_doc(path)
    if len(_doc_cache) >= 64:
        _doc_cache.pop(next(iter(_doc_cache)))
    _doc_cache[key] = (version, data)
    return data


def write_doc(path: Path, data: Any, expected_version: str | None) -> str:
    """Write atomically; refuse when the file changed since ``expected_version``."""
    buf = io.StringIO()
    _yaml().dump(data, buf)
    with _file_lock(path):
        if expected_version is not None and version_of(path) != expected_version:
            raise Stale()
        raw = buf.getvalue().encode("utf-8")
        from refere.affaire.loader import MAX_BYTES

        if len(raw) > MAX_BYTES:  # refere could not read it back: the file on disk stays as it was
            raise RefereError(f"Non enregistré : le dossier ferait {len(raw) // 1024} Ko, plus que les "
                              f"{MAX_BYTES // 1024} Ko qu'un dossier.yaml peut avoir ; une valeur est bien trop longue "
                              "(un nom, un texte collé par erreur ?)")
        atomic_write(path, raw)
    version = hashlib.sha256(raw).hexdigest()[:16]
    _doc_cache[str(path.resolve())] = (version, data)  # the next page need not parse it again
    return version


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def file_lock(path: Path) -> threading.Lock:
    """Held while dossier.yaml is rewritten, by this module or by captures.merge."""
    return _file_lock(path)


def _file_lock(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(path.resolve()), threading.Lock())


def build_lock(folder: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault("build:" + str(folder.resolve()), threading.Lock())


atomic_write = write.replace_file  # in the folder as opened now: never through a link swapped in


# ---------------------------------------------------------------- uploads


@dataclass
class Limits:
    file_bytes: int = 32 * 1024 * 1024  # Télérecours citoyens refuses larger files anyway
    case_bytes: int = 400 * 1024 * 1024


def folder_size(folder: Path) -> int:
    total = 0
    for sub in ("captures", "pieces"):
        d = folder / sub
        if d.is_dir() and not d.is_symlink():
            total += sum(p.stat().st_size for p in d.rglob("*") if p.is_file() and not p.is_symlink())
    return total


def _mo(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} Mo"


@dataclass
class Stored:
    original: str  # the name the browser sent, for messages only
    written: str  # path as written in dossier.yaml (relative to the case folder)
    kind: str
    sha256: str
    when: dt.datetime | None = None
    source: str = ""  # where the date came from
    duplicate_of: str | None = None  # an existing file with the same content


def receive(stream, original: str, folder: Path, limits: Limits, used: int) -> tuple[Path, str, str, int]:
    """Copy an upload to a temporary file inside ``folder``; check size and content type.

    Returns (temporary path, kind, sha256, size); raises UploadRefused with a French message.
    """
    if folder.is_symlink():  # even one leading nowhere: never followed, never replaced
        raise UploadRefused(f"le dossier « {folder.name} » de l'affaire est un lien vers un autre endroit : "
                            "rien n'y est écrit (remplacez-le par un vrai dossier)")
    if folder.exists() and not folder.is_dir():
        raise UploadRefused(f"« {folder.name} » dans le dossier de l'affaire est un fichier, pas un dossier : "
                            "rien n'y est écrit (supprimez-le ou renommez-le)")
    try:  # the case folder and this one held open until store_*: a link swapped in meanwhile receives nothing
        fd, tmp = write.held_temp(folder, ".envoi-")
    except OutputError as exc:
        raise UploadRefused(f"rien n'est écrit dans le dossier « {folder.name} » de l'affaire : {exc.message}") from None
    os.fchmod(fd, write.new_file_mode())  # mkstemp's 0600 would differ from the user's other files
    h = hashlib.sha256()
    size = 0
    head = b""
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > limits.file_bytes:
                    raise UploadRefused(f"« {original} » dépasse la taille permise par fichier ({_mo(limits.file_bytes)}).")
                if used + size > limits.case_bytes:
                    raise UploadRefused(f"« {original} » ferait dépasser la taille permise pour un dossier "
                                        f"({_mo(limits.case_bytes)}) : retirez des fichiers inutiles.")
                if len(head) < 1024:
                    head += chunk[: 1024 - len(head)]
                h.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadRefused(f"« {original} » est vide (0 octet).")
        kind = files.sniff(head)
        if kind is None:
            raise UploadRefused(f"« {original} » : {files.describe_unsupported(head)}")
        _probe_file(tmp, original, kind)
    except BaseException:
        discard(tmp)
        raise
    return tmp, kind, h.hexdigest(), size


discard = write.let_go  # an upload received but not kept: removed, its folder let go


def _still_there(tmp: Path, folder: Path) -> None:
    """The folder the upload was received in is still ``folder`` (else it is refused, never moved elsewhere)."""
    if not write.still_at(tmp, folder):
        discard(tmp)
        raise UploadRefused(f"le dossier « {folder.name} » de l'affaire a été remplacé pendant l'envoi (par un lien "
                            "ou un autre dossier) : rien n'y est écrit ; remettez le vrai dossier, puis recommencez")


def _probe_file(path: Path, original: str, kind: str) -> None:
    """The existing probe (readable image or PDF, bounded size): a fake PDF is refused here."""
    from refere.affaire.model import Source
    from refere.pieces.probe import probe

    try:
        probe(Source(original, path, kind))
    except FileProblem as exc:
        raise UploadRefused(exc.message) from None


EXT = {"png": "png", "jpeg": "jpg", "pdf": "pdf"}


class Known:
    """Files of the case an upload may repeat, matched by content. A file is hashed only when an
    upload has its very size, and only a regular file (never a link) no larger than an upload can
    be: a huge file left in captures/ is never read."""

    def __init__(self, limit: int):
        self.limit = limit
        self._by_size: dict[int, list[tuple[Path, str]]] = {}
        self._added: dict[str, str] = {}

    def add_path(self, path: Path, label: str) -> None:
        try:
            st = os.lstat(path)
        except (OSError, ValueError):
            return
        if stat.S_ISREG(st.st_mode) and 0 < st.st_size <= self.limit:
            self._by_size.setdefault(st.st_size, []).append((path, label))

    def add(self, digest: str, label: str) -> None:
        """A file just stored under ``label``, its hash known."""
        self._added.setdefault(digest, label)

    def find(self, digest: str, size: int) -> str | None:
        """The label of a known file with this content, or None."""
        if digest in self._added:
            return self._added[digest]
        for path, label in self._by_size.get(size, ()):
            if files.content_hash(path, self.limit) == digest:
                return label
        return None


def inside(case_folder: Path, written: str) -> bool:
    """Whether a path dossier.yaml names stays inside the case folder."""
    try:
        files.resolve_inside(case_folder, written)
    except files.FileKindError:
        return False
    return True


def existing_files(folder: Path, limit: int) -> Known:
    """The files directly in ``folder`` (not a linked folder), known by name."""
    known = Known(limit)
    if folder.is_dir() and not folder.is_symlink():
        for p in sorted(folder.iterdir()):
            if not p.name.startswith("."):
                known.add_path(p, p.name)
    return known


def date_upload(tmp: Path, kind: str, original: str) -> tuple[dt.datetime | None, str]:
    """As `refere captures` dates a file: its own metadata first, then its (original) name."""
    found = shotdates.read(tmp, kind)  # tmp's own name carries no date: metadata only
    if found is not None:
        return found.when, found.source
    if when := shotdates.parse_name(original):
        return when, "nom du fichier"
    return None, shotdates.undated_reason(original)


def store_capture(tmp: Path, kind: str, digest: str, when: dt.datetime | None, folder: Path) -> str:
    # The name keeps the date in the Android pattern, so `refere captures` still dates it.
    stem = when.strftime("%Y%m%d-%H%M%S") if when else "sans-date"
    name = f"{stem}-{digest[:8]}.{EXT[kind]}"
    _still_there(tmp, folder)
    try:
        os.replace(tmp, tmp.parent / name)  # the folder held since receive
    finally:
        discard(tmp)
    return name


def store_piece(tmp: Path, kind: str, digest: str, title: str, folder: Path) -> tuple[str, bool]:
    """Move the upload to its name in pieces/: (name, created). A file already there with the same content
    is kept as it is, never replaced (created False): undoing this upload must not remove it."""
    stem = slugify(title)[:40].strip("-") or "piece"
    _still_there(tmp, folder)
    try:
        for name in (f"{stem}-{digest[:8]}.{EXT[kind]}", f"{stem}-{digest}.{EXT[kind]}"):
            dest = tmp.parent / name  # the folder held since receive
            try:
                os.link(tmp, dest)  # fails if the name is taken: nothing is ever overwritten
            except FileExistsError:
                if files.content_hash(dest, os.stat(tmp).st_size) == digest:  # bounded: never a huge planted file
                    return name, False
                continue  # another content under the short name: the full hash tells them apart
            except OSError:  # a file system without hard links
                if dest.exists() or dest.is_symlink():
                    continue
                os.replace(tmp, dest)
                return name, True
            return name, True
    finally:
        discard(tmp)
    raise UploadRefused(f"un autre fichier occupe déjà le nom « {name} » dans pieces/ : renommez-le ou retirez-le.")


def norm_path(written: str) -> str:
    # NFC: a name copied from a Mac (NFD) is the same file the case file cites as typed (NFC).
    return unicodedata.normalize("NFC", posixpath.normpath(written.replace("\\", "/"))) if written else ""


def cited_files(case_folder: Path, used: set[str]) -> set[tuple[int, int]]:
    """(device, inode) of each existing file a string of dossier.yaml names: the same file under
    another spelling (Unicode form, letter case on macOS and Windows) is still cited."""
    out = set()
    for written in used:
        if 0 < len(written) < 4096 and inside(case_folder, written):  # never a file outside the case
            try:
                st = os.stat(case_folder / written)
            except (OSError, ValueError):
                continue
            out.add((st.st_dev, st.st_ino))
    return out


def is_cited(case_folder: Path, used: set[str], written: str, inodes: set[tuple[int, int]] | None = None) -> bool:
    """Whether dossier.yaml (``used``: referenced()) cites this file, under any spelling of its name."""
    if norm_path(written) in used:
        return True
    try:
        st = os.stat(case_folder / written)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) in (cited_files(case_folder, used) if inodes is None else inodes)


def referenced(case_file: Path) -> set[str] | None:
    """Every path dossier.yaml names (normalised: « ./captures/x.png » is « captures/x.png »), read now;
    None when it cannot be read. Call it under file_lock(case_file) before deleting a file."""
    try:
        doc = read_doc(case_file)
    except CaseInvalid:
        return None
    out: set[str] = set()
    todo: list[Any] = [doc]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, str):
            out.add(norm_path(item))
    return out


def bare_name(name: str) -> bool:
    """A file name directly in a folder: no separator, no leading dot, no control character."""
    return (bool(name) and not name.startswith(".") and files.utf8_name(name)
            and not any(c in "/\\" or unicodedata.category(c) == "Cc" for c in name))


def remove_inside(case_folder: Path, written: str, sub: str) -> None:
    """Delete a file the server stored (only inside captures/ or pieces/, never a link)."""
    try:
        full = files.resolve_inside(case_folder, written)
    except files.FileKindError:
        return
    # Removed from the folder as opened now (a plain file), never through a link swapped in since.
    if full.parent.resolve() == (case_folder / sub).resolve():
        with contextlib.suppress(OSError, OutputError), write.pinned(case_folder, sub, make=False) as folder:
            if stat.S_ISREG(os.lstat(folder / full.name).st_mode):
                os.unlink(folder / full.name)


def remove_unused(case_folder: Path, written: list[str], sub: str) -> None:
    """Delete these stored files, except any dossier.yaml names once re-read under its lock (all of them
    when it cannot be read: a file too many beats a proof lost)."""
    with _file_lock(case_folder / CASE_FILE):
        used = referenced(case_folder / CASE_FILE)
        for w in written:
            if used is not None and not is_cited(case_folder, used, w):
                remove_inside(case_folder, w, sub)


def clean_staging(folder: Path) -> None:
    """Temporary upload files left by a crash."""
    for sub in ("captures", "pieces"):
        d = folder / sub
        if d.is_dir():
            for p in d.glob(".envoi-*"):
                p.unlink(missing_ok=True)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def original_names(folder: Path) -> dict[str, str]:
    """What each uploaded file was called on the user's device (« captures/x.png » → « IMG_0042.PNG »)."""
    try:
        data = json.loads((folder / NAMES_FILE).read_text("utf-8"))
    except (OSError, ValueError, RecursionError):  # nested 100 000 deep: unreadable, like any other
        return {}
    return {str(k): shown_name(str(v)) for k, v in data.items()} if isinstance(data, dict) else {}


NAME_MAX = 120


def shown_name(sent: str) -> str:
    """A name sent by a browser, fit to remember and show: its last part, without control or format
    characters (a U+202E would show « IMG_\u202egnp.exe » reversed), at most NAME_MAX characters."""
    last = (sent or "").replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c for c in last if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    return clean if len(clean) <= NAME_MAX else clean[: NAME_MAX - 1] + "…"


def remember_names(folder: Path, names: dict[str, str]) -> None:
    """Add to the sidecar (atomic; a display aid only: losing it loses nothing of the case)."""
    if not names:
        return
    with _file_lock(folder / NAMES_FILE):
        data = original_names(folder)
        data.update({k: shown_name(v) for k, v in names.items()})
        atomic_write(folder / NAMES_FILE, json.dumps(data, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8"))
