"""A run's output folder is held from its start: a folder swapped for a link (or another folder) while
`refere batch` or « Tout construire » runs receives nothing, and the swap is refused in French.

The swap is made by a thread on a real event (the first case's build under way in the output folder),
on the real file system: no mock."""

from __future__ import annotations

import csv
import os
import threading
import time
from pathlib import Path

import pytest

from conftest import default_case, write_case
from refere import write
from refere.errors import OutputError

SWAPPED = "a été remplacé pendant la construction (par un lien symbolique ou un autre dossier) : rien n'y est écrit"


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


class Swapper(threading.Thread):
    """Once a write is under way in ``watched`` (a name starting with ``prefix`` is there: the private folder
    « .<case>.tmp-… » of a build), replaces ``folder`` by a link to ``elsewhere`` (the real folder moved to
    « <name>.old »)."""

    def __init__(self, watched: Path, prefix: str, folder: Path, elsewhere: Path):
        super().__init__(daemon=True)
        self.watched, self.prefix, self.folder, self.elsewhere = watched, prefix, folder, elsewhere
        self.moved = folder.with_name(folder.name + ".old")
        self.done = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if any(n.startswith(self.prefix) for n in os.listdir(self.watched)):
                    break
            except OSError:
                pass
            time.sleep(0.002)
        os.rename(self.folder, self.moved)
        os.symlink(self.elsewhere, self.folder, target_is_directory=True)
        self.done.set()


def test_a_path_given_before_the_swap_still_writes_in_the_held_folder(tmp_path):
    out, elsewhere = tmp_path / "construits", tmp_path / "ailleurs"
    elsewhere.mkdir()
    held = write.hold(out)
    with write.inside(held, "lundi/diallo") as target:
        os.rename(out, tmp_path / "construits.old")
        os.symlink(elsewhere, out, target_is_directory=True)
        target.mkdir()
        (target / "requete.docx").write_bytes(b"ok")
    assert (tmp_path / "construits.old" / "lundi" / "diallo" / "requete.docx").read_bytes() == b"ok"
    assert _tree(elsewhere) == []
    with pytest.raises(OutputError) as exc, write.inside(held, "lundi/cherkaoui"):
        pass
    assert exc.value.message.startswith(f"« {out} » {SWAPPED}")
    assert _tree(elsewhere) == []


def test_a_folder_on_the_way_swapped_for_a_link_is_refused_by_name(tmp_path):
    out, elsewhere = tmp_path / "construits", tmp_path / "ailleurs"
    elsewhere.mkdir()
    held = write.hold(out)
    (out / "lundi").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputError) as exc, write.inside(held, "lundi/diallo"):
        pass
    assert exc.value.message.startswith(f"« {out / 'lundi'} » est un lien symbolique : refere n'écrit pas à travers")
    assert _tree(elsewhere) == []


def test_an_error_inside_names_the_real_path_never_proc(tmp_path):
    held = write.hold(tmp_path / "construits")
    with pytest.raises(OutputError) as exc, write.inside(held, "lundi/diallo") as target:
        raise OutputError(f"impossible d'écrire « {target / 'requete.docx'} »")
    assert exc.value.message == f"impossible d'écrire « {tmp_path / 'construits' / 'lundi' / 'diallo' / 'requete.docx'} »"


def _report(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {r["dossier"]: r for r in csv.DictReader(fh, delimiter=";")}


def _batch_swapped(run, tmp_path: Path, names: tuple[str, ...], swapped: str):
    """`refere batch` of these cases, one at a time; ``construits/<swapped>`` becomes a link to « ailleurs »
    while the first case is being built. Nothing is ever written there; the run fails (exit 1)."""
    cases = tmp_path / "permanence"
    for name in names:
        write_case(cases / name, default_case())
    out, elsewhere = tmp_path / "construits", tmp_path / "ailleurs"
    elsewhere.mkdir()
    (out / swapped).mkdir(parents=True)
    swapper = Swapper(out / swapped, f".{names[0].split('/')[-1]}.tmp-", out / swapped, elsewhere)
    swapper.start()
    res = run("batch", cases, "-o", out, "-j", "1")
    assert swapper.done.is_set()
    assert _tree(elsewhere) == []  # neither a case nor rapport.csv went through the link
    assert res.exit_code == 1
    return res, swapper, out


def test_batch_output_swapped_for_a_link_mid_run_writes_nothing_there(run, tmp_path):
    res, swapper, out = _batch_swapped(run, tmp_path, ("a1", "a2", "a3"), "")
    # The case under way when the folder was swapped is finished in the folder held, whole.
    assert (swapper.moved / "a1" / "inventaire.json").is_file() and (swapper.moved / "a1" / "requete.docx").is_file()
    assert f"[2/3] a2 : échec" in res.output and f"[3/3] a3 : échec" in res.output
    # rapport.csv cannot go anywhere else either: the run says why, naming the folder.
    assert f"« {out} » {SWAPPED}" in res.output
    assert not (swapper.moved / "rapport.csv").exists()


def test_batch_case_folder_swapped_for_a_link_refuses_that_case_only(run, tmp_path):
    res, swapper, out = _batch_swapped(run, tmp_path, ("lundi/a1", "lundi/a2", "mardi/b1"), "lundi")
    assert (swapper.moved / "a1" / "inventaire.json").is_file()
    rows = _report(out / "rapport.csv")
    assert {d: r["statut"] for d, r in rows.items()} == {"lundi/a1": "ok", "lundi/a2": "échec", "mardi/b1": "ok"}
    assert rows["lundi/a2"]["erreur"].startswith(f"« {out / 'lundi'} » est un lien symbolique : refere n'écrit pas")
    assert rows["lundi/a2"]["bloquants"] == "sortie-impossible"
    assert (out / "mardi" / "b1" / "requete.docx").is_file()


def test_tout_construire_output_swapped_for_a_link_mid_run_writes_nothing_there(tmp_path):
    from test_web_security import Browser, running

    ws, elsewhere = tmp_path / "espace", tmp_path / "ailleurs"
    for name in ("a1", "a2", "a3"):
        write_case(ws / name, default_case())
    elsewhere.mkdir()
    out = ws / "construits"
    out.mkdir()
    swapper = Swapper(out, ".a1.tmp-", out, elsewhere)
    swapper.start()
    with running(ws) as server:
        b = Browser(server)
        assert b.post("/tout-construire", {}, token_from="/")[0] == 302
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            page = b.get("/tout-construire")[2].decode("utf-8")
            if "en cours" not in page:
                break
            time.sleep(0.3)
    assert swapper.done.is_set()
    assert _tree(elsewhere) == []
    assert (swapper.moved / "a1" / "inventaire.json").is_file()
    assert f"« {out} » {SWAPPED}" in page
    assert not (swapper.moved / "rapport.csv").exists()


def test_letters_of_a_folder_with_their_output_swapped_for_a_link_mid_run_write_nothing_there(run, tmp_path):
    cases = tmp_path / "permanence"
    for name in ("a1", "a2"):
        write_case(cases / name, default_case())
    out, elsewhere = tmp_path / "lettres", tmp_path / "ailleurs"
    elsewhere.mkdir()
    (out / "a1").mkdir(parents=True)
    swapper = Swapper(out / "a1", ".courrier-", out, elsewhere)  # a1's letter under way
    swapper.start()
    res = run("courrier", cases, "-o", out)
    assert swapper.done.is_set()
    assert _tree(elsewhere) == []
    assert res.exit_code == 1
    assert f"  a1 : {out / 'a1' / 'courrier-prefecture.docx'}" in res.output  # written in the folder held
    assert (swapper.moved / "a1" / "courrier-prefecture.docx").is_file()
    assert f"  ÉCHEC a2 : « {out} » {SWAPPED}" in res.output


# ---------------------------------------------------------------- the web server's other writes


class Swapping:
    """An upload arriving in two parts; between them, ``folder`` is replaced by a link to ``elsewhere``."""

    def __init__(self, data: bytes, folder: Path, elsewhere: Path):
        self.parts, self.folder, self.elsewhere = [data[:100], data[100:]], folder, elsewhere

    def read(self, n: int = -1) -> bytes:
        if len(self.parts) == 1:
            os.rename(self.folder, self.folder.with_name(self.folder.name + ".old"))
            os.symlink(self.elsewhere, self.folder, target_is_directory=True)
        return self.parts.pop(0) if self.parts else b""


@pytest.mark.parametrize("sub", ["captures", "pieces"])
def test_an_upload_whose_folder_is_swapped_meanwhile_is_refused_and_written_nowhere_else(tmp_path, sub):
    from conftest import make_png
    from refere.web import store

    case, elsewhere = tmp_path / "espace" / "diallo", tmp_path / "ailleurs"
    write_case(case, default_case())
    elsewhere.mkdir()
    data = make_png(tmp_path / "src.png", size=(300, 600), text="capture").read_bytes()
    folder = case / sub
    tmp, kind, digest, size = store.receive(Swapping(data, folder, elsewhere), "IMG_0042.PNG", folder,
                                            store.Limits(), 0)
    assert size == len(data) and _tree(elsewhere) == []
    with pytest.raises(store.UploadRefused) as exc:
        if sub == "captures":
            store.store_capture(tmp, kind, digest, None, folder)
        else:
            store.store_piece(tmp, kind, digest, "Contrat", folder)
    assert exc.value.message.startswith(f"le dossier « {sub} » de l'affaire a été remplacé pendant l'envoi (par un lien")
    assert _tree(elsewhere) == []
    # Nothing left behind in the real folder either (moved aside), and the folder is let go.
    assert not any(p.name.startswith(".envoi-") for p in case.with_name("diallo").joinpath(sub + ".old").iterdir())
    assert write._HELD == {}


def test_a_new_case_name_taken_meanwhile_by_a_link_is_refused_and_nothing_written_there(tmp_path):
    from refere.errors import RefereError
    from refere.web import store

    ws, elsewhere = tmp_path / "espace", tmp_path / "ailleurs"
    ws.mkdir()
    elsewhere.mkdir()
    (ws / "diallo-aissatou").symlink_to(elsewhere / "absent", target_is_directory=True)  # a dangling link too
    with pytest.raises(RefereError, match="Un dossier « diallo-aissatou » existe déjà"):
        store.new_case(ws, "Diallo Aïssatou")
    assert _tree(elsewhere) == []
    assert store.new_case(ws, "Cherkaoui Yassine") == "cherkaoui-yassine"
    assert sorted(p.name for p in (ws / "cherkaoui-yassine").iterdir()) == [".refere-web-nouveau", "captures",
                                                                            "dossier.yaml", "pieces"]


def test_a_case_folder_swapped_for_a_link_during_a_build_or_a_letter_from_the_web_writes_nothing_there(tmp_path):
    from conftest import copy_example
    from test_web_security import Browser, running

    ws, elsewhere = tmp_path / "espace", tmp_path / "ailleurs"
    copy_example(ws / "exemple-94")
    elsewhere.mkdir()
    case = ws / "exemple-94"
    with running(ws) as server:
        b = Browser(server)
        # The build under way (its private folder beside dossier/), the whole case folder becomes a link.
        swapper = Swapper(case, ".dossier.tmp-", case, elsewhere)
        swapper.start()
        status, resp, _ = b.post("/d/exemple-94/construction", {"brouillon": "oui"}, token_from="/d/exemple-94/construction")
        assert status == 302
        assert swapper.done.is_set()
        assert _tree(elsewhere) == []
        # In the real case folder: the build finished whole, or (its sources now read through the link)
        # refused; never half-written, nothing left behind.
        left = sorted(os.listdir(swapper.moved))
        assert left in (["captures", "dossier.yaml", "pieces"], ["captures", "dossier", "dossier.yaml", "pieces"])
        assert "dossier" not in left or (swapper.moved / "dossier" / "inventaire.json").is_file()
    # The letter under way (its private folder in courrier/), courrier/ becomes a link.
    os.unlink(case)
    os.rename(swapper.moved, case)
    with running(ws) as server:
        b = Browser(server)
        swapper = Swapper(case / "courrier", ".courrier-", case / "courrier", elsewhere)
        (case / "courrier").mkdir()
        swapper.start()
        assert b.post("/d/exemple-94/courrier", {}, token_from="/d/exemple-94/construction")[0] == 302
        assert swapper.done.is_set()
        assert _tree(elsewhere) == []
        assert (swapper.moved / "courrier-prefecture.docx").is_file()
