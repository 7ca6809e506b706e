"""Round 3's remaining findings on the web server (issue 22: F16, F17, F18, F9), over real HTTP
(waitress on 127.0.0.1) with real files on disk, except where noted."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

from conftest import copy_example
from test_web_security import Browser, running

CID = "exemple-94"
CITED = "Screenshot_20250901-085227.png"


@pytest.fixture
def ws(tmp_path) -> Path:
    w = tmp_path / "espace"
    w.mkdir()
    copy_example(w / CID)
    return w


# ---------------------------------------------------------------- F17: a name in the other Unicode form

def test_a_capture_cited_in_the_other_unicode_form_is_neither_loose_nor_removed(ws):
    """dossier.yaml cites « captures/été.png » as typed (NFC); the file copied from a Mac is NFD."""
    case = ws / CID / "dossier.yaml"
    case.write_text(case.read_text("utf-8").replace(f"captures/{CITED}", "captures/été.png", 1), "utf-8")
    nfd = unicodedata.normalize("NFD", "été.png")
    os.rename(ws / CID / "captures" / CITED, ws / CID / "captures" / nfd)
    with running(ws) as server:
        b = Browser(server)
        status, _, body = b.get(f"/d/{CID}/captures")
        assert status == 200
        assert "Captures sans tentative" not in body.decode("utf-8")  # no « Retirer » offered for it
        status, _, body = b.post(f"/d/{CID}/captures/retirer", {"nom": nfd}, token_from=f"/d/{CID}/captures")
        assert status == 302
        _, _, body = b.get(f"/d/{CID}/captures")
        assert "Cette capture sert à une tentative : retirez d'abord la tentative." in body.decode("utf-8")
    assert (ws / CID / "captures" / nfd).is_file()
