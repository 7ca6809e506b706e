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
