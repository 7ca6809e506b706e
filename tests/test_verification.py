"""Every capture is checked whole before it is filed, however fast: the PNG check without
decoding (pngcheck), the check on worker processes, what is remembered between runs (decoded
images, pièces already built, a check already passed) and byte-identical outputs whatever the
number of workers."""

from __future__ import annotations

import functools
import io
import os
import struct
import time
import zlib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import default_case, make_png, write_case
from PIL import Image

from refere import files
from refere.affaire.loader import load
from refere.build import Options, build
from refere.cli import cli
from refere.errors import EvidenceInsufficient
from refere.pieces import pngcheck, probe
from refere.preuves.rules import check

# --- the PNG check -----------------------------------------------------------------------------


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        out.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return out


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return pngcheck.SIGNATURE + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))
        for kind, body in chunks)


def _with_idat(data: bytes, idat: bytes) -> bytes:
    """The same PNG with its image data replaced by ``idat`` (one chunk, a correct CRC)."""
    others = [(k, b) for k, b in _chunks(data) if k != b"IDAT"]
    return _png(others[:-1] + [(b"IDAT", idat)] + others[-1:])


def _raw(data: bytes) -> bytes:
    return zlib.decompress(b"".join(b for k, b in _chunks(data) if k == b"IDAT"))


def _accepts(data: bytes) -> bool:
    try:
        pngcheck.pixels(data)
    except pngcheck.Broken:
        return False
    return True


def _pillow_accepts(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception:  # noqa: BLE001 - whatever Pillow raises, it refused
        return False
    return True


def _sample(mode: str, size=(37, 23), **save) -> bytes:
    img = Image.effect_noise(size, 60).convert("L")
    if mode == "I;16":
        img = img.convert("I").point(lambda v: v * 257).convert("I;16")
    else:
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, "PNG", **save)
    return buf.getvalue()


MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "I;16"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("level", [0, 6, 9])
def test_pngcheck_accepts_what_pillow_decodes(mode, level):
    data = _sample(mode, compress_level=level)
    assert pngcheck.simple(data)
    assert _pillow_accepts(data) and _accepts(data)
    # The image data split over several chunks, as encoders do: the same image.
    idat = b"".join(b for k, b in _chunks(data) if k == b"IDAT")
    others = [(k, b) for k, b in _chunks(data) if k != b"IDAT"]
    split = _png(others[:-1] + [(b"IDAT", idat[:len(idat) // 3]), (b"IDAT", idat[len(idat) // 3:])] + others[-1:])
    assert _pillow_accepts(split) and _accepts(split)


def test_pngcheck_refuses_a_bad_crc():
    data = _sample("RGB")
    at = data.index(b"IDAT") + 4 + len(_chunks(data)[[k for k, _ in _chunks(data)].index(b"IDAT")][1])
    bad = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
    assert not _accepts(bad)


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA"])
def test_pngcheck_refuses_a_bad_filter_byte(mode):
    data = _sample(mode)
    raw = bytearray(_raw(data))
    stride = len(raw) // 23
    raw[5 * stride] = 7  # filter types are 0 to 4
    bad = _with_idat(data, zlib.compress(bytes(raw)))
    assert not _pillow_accepts(bad)
    assert not _accepts(bad)


def test_pngcheck_refuses_truncated_image_data():
    data = _sample("RGB", size=(200, 120))
    idat = b"".join(b for k, b in _chunks(data) if k == b"IDAT")
    # The image data cut short, in a well-formed chunk (correct CRC): rows are missing.
    short = _with_idat(data, idat[: len(idat) // 2])
    assert not _pillow_accepts(short)
    assert not _accepts(short)
    # The file itself cut in the middle of its image data.
    cut = data[: data.index(b"IDAT") + len(idat) // 2]
    assert not _accepts(cut)


def test_pngcheck_refuses_rows_missing_from_a_whole_stream():
    data = _sample("L", size=(64, 64))
    raw = _raw(data)
    # A complete zlib stream (its checksum right) that holds ten rows fewer than the header says.
    bad = _with_idat(data, zlib.compress(raw[: len(raw) - 10 * 65]))
    assert not _accepts(bad)


def test_pngcheck_leaves_interlaced_images_to_a_full_decode():
    chunks = _chunks(_sample("RGB"))
    header = bytearray(chunks[0][1])
    header[12] = 1  # Adam7 interlacing: rows of seven passes, left to Pillow
    assert pngcheck.simple(_png(chunks))
    assert not pngcheck.simple(_png([(b"IHDR", bytes(header))] + chunks[1:]))


# --- cases -------------------------------------------------------------------------------------

def _case(tmp_path: Path) -> Path:
    return write_case(tmp_path / "affaire", default_case())


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_outputs_byte_identical_with_one_or_many_workers(tmp_path, monkeypatch):
    case_file = _case(tmp_path)
    outs = {}
    for jobs in (1, 3):
        # Each build from nothing: its own empty cache, its own output.
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{jobs}"))
        probe._probe.cache_clear()
        out = tmp_path / f"sortie-{jobs}"
        build(case_file, Options(out=out, jobs=jobs))
        outs[jobs] = _tree(out)
    assert outs[1].keys() == outs[3].keys()
    assert [name for name in outs[1] if outs[1][name] != outs[3][name]] == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_capture_cut_short_is_said_the_same_whatever_the_workers(tmp_path, monkeypatch, jobs):
    """With workers, the pièces are written ahead and failed on the cut capture first: « impossible
    à mettre en page » was said, not what the check found (attack 36)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    probe._probe.cache_clear()
    case_file = _case(tmp_path)
    first = load(case_file).tentatives[0].capture.path
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    result = CliRunner().invoke(cli, ["build", str(case_file), "--brouillon", "-j", jobs])
    assert result.exit_code == 1, result.output
    assert "image endommagée ou tronquée" in result.output and "mettre en page" not in result.output, result.output


def test_files_named_by_the_case_checked_ahead_on_threads_give_the_same_case_and_refusals(tmp_path, monkeypatch):
    """The case's files are hashed on two threads before the model meets them (files.check_ahead):
    the same Sources, and the same refusals at the same lines, as checked one after the other."""
    from refere.errors import CaseInvalid

    good = _case(tmp_path)
    data = yaml.safe_load(good.read_text("utf-8"))
    data["tentatives"][2]["capture"] = "captures/absente.png"
    data["tentatives"][5]["capture"] = "captures"  # a folder
    bad = good.with_name("mauvais.yaml")
    bad.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    seen = {}
    for name, ahead_from in (("ahead", 0), ("one-by-one", 1 << 30)):
        monkeypatch.setattr(files, "AHEAD_FROM", ahead_from)
        case = load(good)
        with pytest.raises(CaseInvalid) as refused:
            load(bad)
        seen[name] = ([(s.written, s.path, s.kind, s.file.sha256) for t in case.tentatives for s in [t.capture]],
                      [(p.line, p.field, p.message) for p in refused.value.problems])
    assert len(seen["ahead"][1]) == 2
    assert seen["ahead"] == seen["one-by-one"]


def test_font_subsets_remembered_give_the_same_bytes_and_a_damaged_entry_is_made_again(tmp_path, monkeypatch):
    """The bordereau's font subsets are remembered in the user's cache (pdffont._subset): recalled,
    the same bytes as made; an entry cut short or not a font is made again, never embedded."""
    from refere.pieces import pdffont

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    font = pdffont.Font(False)
    font.encode("Bordereau — Nguyễn Thị İğdır, pièce n° 3")
    gids = tuple(sorted(font.used))
    made = pdffont._make_subset(False, gids)
    pdffont._subset.cache_clear()
    assert pdffont._subset(False, gids) == made
    [entry] = (tmp_path / "cache" / "refere" / pdffont._SUBSETS).iterdir()
    real = pdffont._make_subset

    def never(*_args):
        raise AssertionError("subset made again although remembered")

    pdffont._subset.cache_clear()
    monkeypatch.setattr(pdffont, "_make_subset", never)
    assert pdffont._subset(False, gids) == made
    monkeypatch.setattr(pdffont, "_make_subset", real)
    whole = entry.read_bytes()
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 1  # one byte inside the font data (attack 36)
    for damaged in (whole[:200], whole[:36] + b"<html>" + whole[42:], b"", bytes(flipped)):
        entry.write_bytes(damaged)
        pdffont._subset.cache_clear()
        assert pdffont._subset(False, gids) == made
        assert entry.read_bytes() == whole  # made again, and remembered again
    pdffont._subset.cache_clear()


def test_a_build_with_remembered_font_subsets_writes_the_same_bytes(tmp_path, monkeypatch):
    from refere.pieces import pdffont

    case_file = _case(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    trees = []
    for name in ("froid", "chaud"):
        probe._probe.cache_clear()
        pdffont._subset.cache_clear()
        out = tmp_path / f"sortie-{name}"
        build(case_file, Options(out=out))
        trees.append(_tree(out))
    assert list((tmp_path / "cache" / "refere" / pdffont._SUBSETS).iterdir())
    assert trees[0] == trees[1]


def test_jobs_run_while_waiting_stop_when_the_check_is_done_and_a_failure_is_skipped():
    from concurrent.futures import Future

    pending, ran = Future(), []

    def failing():
        ran.append("failing")
        raise RuntimeError("simulée")

    probe.while_waiting([lambda: ran.append("a"), failing, lambda: pending.set_result("vérifiée"),
                         lambda: ran.append("d")])
    try:
        probe._idle_until(pending)
        assert ran == ["a", "failing"] and pending.result() == "vérifiée"
        assert len(probe._IDLE) == 1  # « d »: left for the next wait, or forgotten at the end
    finally:
        probe.while_waiting(None)
    assert probe._IDLE == []


def _slow_check(real):
    """The workers' check, a quarter of a second slower: the build waits for every capture."""
    @functools.wraps(real)  # pickled by its name, found (forked) in the workers as this one
    def slow(*args):
        time.sleep(0.25)
        return real(*args)
    return slow


def test_work_done_ahead_while_waiting_changes_no_byte_and_its_failure_changes_nothing(tmp_path, monkeypatch):
    """While it waits for the captures' check, a build prepares the bordereau's font subsets and
    the template: the bytes are those of a build whose preparation failed (and was done again,
    for real, when needed)."""
    from refere.pieces import assemble, pdffont

    case_file = _case(tmp_path)
    ran, outs = [], {}
    real = assemble.prepare_complete

    def counted(*args):
        ran.append("prepared")
        real(*args)

    def broken(*_args):
        ran.append("broken")
        raise RuntimeError("simulée")

    monkeypatch.setattr(probe, "_verify_remote", _slow_check(probe._verify_remote))
    for name, prepare in (("ahead", counted), ("broken", broken)):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{name}"))
        monkeypatch.setattr(assemble, "prepare_complete", prepare)
        probe._probe.cache_clear()
        pdffont._subset.cache_clear()
        out = tmp_path / f"sortie-{name}"
        build(case_file, Options(out=out, jobs=2))
        outs[name] = _tree(out)
    assert ran == ["prepared", "broken"]  # each build prepared once, while it waited
    assert outs["ahead"] == outs["broken"]


def _replace(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` as a user's tool does: a new file renamed over the old one."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def test_truncated_capture_refused_although_one_of_the_same_name_and_size_was_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "_SETTLED_NS", 0)  # every file vouched for by its identity
    case_file = _case(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["check", str(case_file)]).exit_code == 0
    assert runner.invoke(cli, ["check", str(case_file)]).exit_code == 0  # answered from the cache
    first = load(case_file).tentatives[0].capture.path
    raw = first.read_bytes()
    # Cut in the middle of its image data, padded back to the same size, under the same name.
    _replace(first, raw[: len(raw) // 2] + bytes(len(raw) - len(raw) // 2))
    probe._probe.cache_clear()
    result = runner.invoke(cli, ["check", str(case_file)])
    assert result.exit_code != 0
    assert "capture-illisible" in [f.code for f in check(load(case_file)).findings]
    with pytest.raises(EvidenceInsufficient):
        build(case_file, Options(out=tmp_path / "sortie", jobs=2))
    assert not (tmp_path / "sortie").exists()


def test_a_changed_capture_is_checked_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    case_file = _case(tmp_path)
    assert not check(load(case_file)).blocking
    first = load(case_file).tentatives[0].capture.path
    make_png(first.with_name("autre.png"), text="une autre capture")
    _replace(first, first.with_name("autre.png").read_bytes())
    probe._probe.cache_clear()
    case = load(case_file)
    sha = case.tentatives[0].capture.file.sha256
    assert not (probe.decode_cache() / sha).exists()
    assert not check(case).blocking
    assert (probe.decode_cache() / sha).read_text("ascii") == "1 exacte"  # checked, then remembered


def _idat(data: bytes) -> bytes:
    return b"".join(b for k, b in _chunks(data) if k == b"IDAT")


def test_image_data_running_past_its_rows_is_re_encoded_however_its_check_is_known(tmp_path, monkeypatch):
    """The check inflates every capture already; whether its data runs past its rows is taken
    from it (never inflated again), and such data is never copied raw into a pièce: checked on
    the workers, remembered in the cache, or remembered by an older refere (not said: judged)."""
    case_file = _case(tmp_path)
    shots = sorted((tmp_path / "affaire" / "captures").iterdir())
    sound = shots[0].read_bytes()
    long = _with_idat(sound, zlib.compress(_raw(sound) + bytes(1000)))  # 1000 bytes past the last row
    assert pngcheck.pixels(long) == 1000 and pngcheck.pixels(sound) == 0
    _replace(shots[0], long)
    other = _idat(shots[1].read_bytes())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def built(name: str) -> bytes:
        probe._probe.cache_clear()
        build(case_file, Options(out=tmp_path / name, jobs=2))
        return b"".join(p.read_bytes() for p in sorted((tmp_path / name / "pieces").iterdir()))

    first = built("sortie-1")  # nothing cached: checked on the workers while the pièces are written
    assert other in first  # a sound capture's image data is filed as it is
    assert _idat(long) not in first
    sha = load(case_file).tentatives[0].capture.file.sha256
    assert (probe.decode_cache() / sha).read_text("ascii") == "1 longue"
    assert _idat(long) not in built("sortie-2")  # known from the cache
    (probe.decode_cache() / sha).write_text("1", "ascii")  # what an older refere remembered
    assert _idat(long) not in built("sortie-3")


def test_second_build_keeps_unchanged_pieces_but_never_altered_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    case_file = _case(tmp_path)
    out = tmp_path / "sortie"
    build(case_file, Options(out=out, jobs=2))
    first = _tree(out)
    build(case_file, Options(out=out, force=True, jobs=2))
    assert _tree(out) == first
    # A pièce altered in the previous output (same size) is built again, not copied.
    piece = sorted((out / "pieces").iterdir())[-1]
    raw = bytearray(piece.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    piece.write_bytes(bytes(raw))
    complete = out / "dossier-complet.pdf"
    complete.write_bytes(complete.read_bytes()[:-1] + b"\n")
    build(case_file, Options(out=out, force=True, jobs=2))
    assert _tree(out) == first


def test_cached_check_answers_the_same_and_sees_a_changed_case(tmp_path, monkeypatch):
    from refere.preuves import rules

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "_SETTLED_NS", 0)
    calls = []
    real = rules.check
    monkeypatch.setattr(rules, "check", lambda case: calls.append(1) or real(case))
    case_file = _case(tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["check", str(case_file)])
    assert first.exit_code == 0 and len(calls) == 1
    again = runner.invoke(cli, ["check", str(case_file)])
    assert again.exit_code == 0 and again.output == first.output
    assert len(calls) == 1  # answered from the cache
    # The case file changed: checked in full again.
    text = case_file.read_text("utf-8")
    case_file.write_text(text.replace("2025-03-21 08:45", "2025-03-21 08:46"), "utf-8")
    assert runner.invoke(cli, ["check", str(case_file)]).exit_code == 0
    assert len(calls) == 2
    # A capture replaced (same name): checked in full again.
    first_capture = load(case_file).tentatives[1].capture.path
    make_png(first_capture.with_name("autre.png"), text="une autre capture")
    _replace(first_capture, first_capture.with_name("autre.png").read_bytes())
    assert runner.invoke(cli, ["check", str(case_file)]).exit_code == 0
    assert len(calls) == 3
