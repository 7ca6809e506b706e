"""Attack4 findings G1–G7: the desk and the CLI outputs against hostile folders and files."""

from __future__ import annotations

import os

from conftest import default_case, write_case


def test_same_person_key_is_parsed_once_per_file_version(tmp_path):
    """G1: the case list asks « même personne » on every view; a case file is parsed again only
    when its size or modification time changes."""
    from refere import batch

    case = default_case()
    case_file = write_case(tmp_path / "a", case, files=False)
    first = batch.person_key(case_file)
    assert first is not None and "diallo" in first[0]
    st = os.stat(case_file)
    text = case_file.read_text(encoding="utf-8")
    same_size = text.replace(case["requerant"]["nom"], "X" * len(case["requerant"]["nom"]), 1)
    assert len(same_size.encode()) == st.st_size
    case_file.write_text(same_size, encoding="utf-8")
    os.utime(case_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert batch.person_key(case_file) == first  # same (path, size, mtime): the earlier parse
    os.utime(case_file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert batch.person_key(case_file)[0] == "x" * len(case["requerant"]["nom"])
