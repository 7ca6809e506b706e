"""Images decoded once are remembered by content, in the user's cache, never in the case."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import default_case, write_case

from refere.pieces import probe
from refere.preuves.rules import check
from refere.affaire.loader import load


def _cache() -> Path:
    return probe.decode_cache()


def test_second_check_decodes_nothing_and_a_changed_file_is_decoded_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    case_file = write_case(tmp_path / "affaire", default_case())
    case = load(case_file)
    assert not check(case).blocking
    shas = {t.capture.file.sha256 for t in case.tentatives if t.capture is not None}
    assert shas and shas <= {p.name for p in _cache().iterdir()}

    # Second run, new process state: every image comes from the cache, none is decoded.
    probe._probe.cache_clear()
    decoded = []
    monkeypatch.setattr(probe, "_image_pages", lambda data, written: decoded.append(written) or 1)
    # Nor read again for the date the capture carries: remembered with the decoding.
    monkeypatch.setattr(probe, "source_bytes", lambda src: decoded.append(src.written) or b"")
    assert not check(load(case_file)).blocking
    assert decoded == []

    # A capture cut in half has another SHA-256: decoded again, and refused.
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    probe._probe.cache_clear()
    first = next(t.capture for t in case.tentatives if t.capture is not None)
    raw = first.path.read_bytes()
    first.path.write_bytes(raw[: len(raw) // 2])
    found = [f.code for f in check(load(case_file)).findings]
    assert "capture-illisible" in found


def test_a_bad_cache_entry_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    case_file = write_case(tmp_path / "affaire", default_case())
    case = load(case_file)
    sha = next(t.capture.file.sha256 for t in case.tentatives if t.capture is not None)
    _cache().mkdir(parents=True)
    (_cache() / sha).write_text("beaucoup", "ascii")
    probe._probe.cache_clear()
    assert probe._decoded_before(sha) is None
    assert not check(case).blocking
    assert (_cache() / sha).read_text("ascii") == "1 exacte"  # a plain PNG: its data fits its rows
    assert not [n for n in os.listdir(_cache()) if n.endswith(".part")]


def test_odd_user_cache_entries_are_read_again_never_followed(tmp_path, monkeypatch):
    """A shared or tampered user cache: a FIFO, a link to /dev/zero or to a file elsewhere as an
    entry is not believed (no hang, no internal error), and a link planted at a temporary name is
    never written through."""
    from refere import files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    case_file = write_case(tmp_path / "affaire", default_case())
    case = load(case_file)
    shas = sorted({t.capture.file.sha256 for t in case.tentatives if t.capture is not None})
    _cache().mkdir(parents=True)
    os.mkfifo(_cache() / shas[0])
    (_cache() / f"{shas[1]}.date").symlink_to("/dev/zero")
    probe._probe.cache_clear()
    assert not check(case).blocking  # returns: the FIFO is not opened for reading, /dev/zero not read
    victim = tmp_path / "ailleurs.txt"
    victim.write_text("à garder")
    entry = tmp_path / "cache" / "x" / "entree"
    entry.parent.mkdir(parents=True)
    files.remember(entry, "valeur")
    assert entry.read_text() == "valeur" and victim.read_text() == "à garder"
    assert not [p for p in entry.parent.iterdir() if p.name.endswith(".part")]


# --- SHA-256 of sources remembered by identity (files._hash_recalled) ------------------------

def _rewrite_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    """``data`` (same length) written over ``path``, its modification time set back as it was:
    only the change time (and, for a replacement, the inode) tells."""
    import time

    st = os.stat(path)
    assert len(data) == st.st_size
    time.sleep(0.02)  # past the file system's clock tick, so that the change time moves
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_settled_source_is_hashed_once_and_a_rewrite_is_caught(tmp_path, monkeypatch):
    import hashlib

    from conftest import make_png

    from refere import files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "_SETTLED_NS", 0)  # as if every file had been written long ago
    shot = make_png(tmp_path / "affaire" / "cap.png", size=(60, 90))
    raw = shot.read_bytes()
    first = files.check_source(tmp_path / "affaire", "cap.png")
    assert first.sha256 == hashlib.sha256(raw).hexdigest() and not first.recalled
    assert not (files.user_cache() / files._HASH_FOLDER).exists()  # entered by its verification
    files.remember_hash(first)
    entries = list((files.user_cache() / files._HASH_FOLDER).iterdir())
    assert [e.read_text("ascii") for e in entries] == [first.sha256]

    def no_hashing(*args):
        raise AssertionError("hashed again")

    with monkeypatch.context() as m:  # unchanged: the remembered SHA-256, nothing hashed
        m.setattr(files, "_digest_fd", no_hashing)
        again = files.check_source(tmp_path / "affaire", "cap.png")
    assert (again.sha256, again.size, again.kind, again.recalled) == (first.sha256, len(raw), "png", True)

    # The same size, the same modification time, other bytes: the change time tells.
    changed = raw[:40] + bytes(len(raw) - 40)
    _rewrite_keeping_size_and_mtime(shot, changed)
    files.remember_hash(first)  # too late: the file is no longer the one hashed, nothing entered
    assert len(list((files.user_cache() / files._HASH_FOLDER).iterdir())) == 1
    assert files.check_source(tmp_path / "affaire", "cap.png").sha256 == hashlib.sha256(changed).hexdigest()

    # Replaced by another file (another inode) of that size and those times: hashed too.
    other = raw[:50] + b"\x01" * (len(raw) - 50)
    st = os.stat(shot)
    (tmp_path / "new.png").write_bytes(other)
    os.utime(tmp_path / "new.png", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp_path / "new.png", shot)
    assert files.check_source(tmp_path / "affaire", "cap.png").sha256 == hashlib.sha256(other).hexdigest()


def test_a_file_just_written_is_not_remembered(tmp_path, monkeypatch):
    from conftest import make_png

    from refere import files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    make_png(tmp_path / "affaire" / "cap.png", size=(60, 90))
    fresh = files.check_source(tmp_path / "affaire", "cap.png")
    assert fresh.stamp is None  # changed under 2 s ago
    files.remember_hash(fresh)
    assert not (files.user_cache() / files._HASH_FOLDER).exists()


def test_a_changed_capture_is_verified_again_whatever_its_size_and_mtime(tmp_path, monkeypatch):
    from refere import files

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "_SETTLED_NS", 0)
    case_file = write_case(tmp_path / "affaire", default_case())
    case = load(case_file)
    assert not check(case).blocking
    first = next(t.capture for t in case.tentatives if t.capture is not None)
    assert list((files.user_cache() / files._HASH_FOLDER).iterdir())  # the hashes are remembered

    # Its image data zeroed, its size and modification time as before: verified again, refused.
    raw = first.path.read_bytes()
    _rewrite_keeping_size_and_mtime(first.path, raw[:len(raw) // 2] + bytes(len(raw) - len(raw) // 2))
    probe._probe.cache_clear()  # a new run
    again = load(case_file)
    capture = next(t.capture for t in again.tentatives if t.capture is not None)
    assert capture.file.sha256 != first.file.sha256
    assert "capture-illisible" in [f.code for f in check(again).findings]


def test_a_pdf_entry_without_a_true_weight_is_checked_again(tmp_path, monkeypatch):
    """The total of what the PDFs weigh (``pdf-trop-lourds``) relies on the entry: an entry of an
    older refere (no weight), or one whose weight or joined content is not a plain count, is not
    believed; the PDF is checked again and the entry rewritten with what was measured."""
    import json

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    case = load(write_case(tmp_path / "affaire", default_case()))
    src = case.pieces[0].sources[0]
    assert probe.probe(src).kind == "pdf"
    entry = probe._pdf_cache() / src.file.sha256
    fresh = json.loads(entry.read_text("utf-8"))
    assert set(fresh) == {"pages", "etat", "defauts", "pages_touchees", "poids", "contenu"}
    for odd in ({"poids": None}, {"poids": -1}, {"poids": True}, {"contenu": "0"}, {"contenu": 1 << 41}, {}):
        data = {k: v for k, v in fresh.items() if k not in ("poids", "contenu")} if odd == {} else {**fresh, **odd}
        entry.write_text(json.dumps(data), "utf-8")
        assert probe._pdf_before(src.file.sha256) is None, odd
        probe._probe.cache_clear()
        assert probe.probe(src).pages == 1
        again = json.loads(entry.read_text("utf-8"))
        assert {**again, "poids": 0} == {**fresh, "poids": 0}
        assert isinstance(again["poids"], int) and 0 <= again["poids"] < 1 << 20  # measured anew: a few KB
