import re

import pytest

from conftest import default_case, make_pdf, write_case
from refere.affaire.loader import load
from refere.pieces.plan import MAX_NAME, ascii_label, file_name, make


def inventory(tmp_path, data):
    return make(load(write_case(tmp_path / "affaire", data)))


def test_example_numbering(example):
    inv = make(load(example))
    assert [p.numero for p in inv.pieces] == list(range(1, 10))
    assert [p.categorie for p in inv.pieces] == ["identite", "titre_sejour", "domicile", "captures", "captures",
                                                 "captures", "captures", "courrier_prefecture", "urgence"]
    assert inv.pieces[3].titre == "Captures d'écran des tentatives du 1er au 7 septembre 2025 (3 tentatives)"
    assert inv.pieces[0].pages == 2  # recto and verso, one pièce
    assert inv.courriers == (8,)


def test_piece_numbers_by_index_and_id(tmp_path):
    data = default_case()
    data["pieces"] = [
        {"id": "lettre", "titre": "Lettre de l'employeur", "categorie": "urgence", "fichier": "pieces/l.pdf"},
        {"id": "passeport", "titre": "Passeport", "categorie": "identite", "fichier": "pieces/p.pdf"},
        {"titre": "Courriel", "categorie": "courrier_prefecture", "fichier": "pieces/c.pdf"},
    ]
    case = load(write_case(tmp_path / "affaire", data))
    inv = make(case)
    # Identity first, then 3 weeks of captures, then the others in the order written.
    assert inv.numero_of(1) == 1 and inv.numero_of(0) == 5 and inv.numero_of(2) == 6
    assert inv.numeros_of_ids(["lettre", "passeport"], case.pieces_by_id) == [5, 1]
    assert all(p.index is None for p in inv.pieces if p.categorie == "captures")


def test_anef_default_result(tmp_path):
    data = default_case()
    data["procedure"]["voie"] = "anef"
    inv = inventory(tmp_path, data)
    assert {a.resultat for a in inv.attempts} == {"dépôt en ligne impossible"}


def test_pieces_before_and_after_captures_in_the_order_written(tmp_path):
    # case-format.md: identite, titre_sejour, domicile « in the order written », then the
    # captures, then courrier_prefecture, urgence, autre (also as written).
    data = default_case()
    data["pieces"] = [
        {"titre": "Autre", "categorie": "autre", "fichier": "pieces/a.pdf"},
        {"titre": "Courrier", "categorie": "courrier_prefecture", "fichier": "pieces/b.pdf"},
        {"titre": "Domicile", "categorie": "domicile", "fichier": "pieces/c.pdf"},
        {"titre": "Urgence", "categorie": "urgence", "fichier": "pieces/d.pdf"},
        {"titre": "Identité 2", "categorie": "identite", "fichier": "pieces/e.pdf"},
        {"titre": "Titre", "categorie": "titre_sejour", "fichier": "pieces/f.pdf"},
        {"titre": "Identité 1", "categorie": "identite", "fichier": "pieces/g.pdf"},
    ]
    inv = inventory(tmp_path, data)
    titles = [p.titre for p in inv.pieces]
    assert titles[:4] == ["Domicile", "Identité 2", "Titre", "Identité 1"]
    assert all(t.startswith("Captures") for t in titles[4:7])
    assert titles[7:] == ["Autre", "Courrier", "Urgence"]


def test_par_semaine_uses_iso_weeks_and_chronological_order(tmp_path):
    data = default_case()
    data["tentatives"].reverse()  # written in any order
    inv = inventory(tmp_path, data)
    caps = [p for p in inv.pieces if p.categorie == "captures"]
    assert [p.titre for p in caps] == [
        "Captures d'écran des tentatives du 3 au 9 mars 2025 (3 tentatives)",
        "Captures d'écran des tentatives du 10 au 16 mars 2025 (3 tentatives)",
        "Captures d'écran des tentatives du 17 au 23 mars 2025 (4 tentatives)",
    ]
    first = caps[0]
    dates = [inv.attempts[i].date for i in first.tentatives]
    assert dates == sorted(dates)
    # The table of attempts cites pièce and page.
    assert [(a.piece, a.page) for a in inv.attempts[:4]] == [(2, 1), (2, 2), (2, 3), (3, 1)]


def test_par_tentative_and_unique(tmp_path):
    data = default_case()
    data["options"] = {"captures": "par_tentative"}
    inv = inventory(tmp_path / "a", data)
    caps = [p for p in inv.pieces if p.categorie == "captures"]
    assert len(caps) == 10
    assert caps[0].titre == "Capture d'écran de la tentative du 3 mars 2025 à 8\u00a0h\u00a055"
    data["options"] = {"captures": "unique"}
    inv = inventory(tmp_path / "b", data)
    caps = [p for p in inv.pieces if p.categorie == "captures"]
    assert [p.titre for p in caps] == ["Captures d'écran des tentatives du 3 au 21 mars 2025 (10 tentatives)"]
    assert [a.page for a in inv.attempts] == list(range(1, 11))


def test_multipage_capture_shifts_pages(tmp_path):
    data = default_case()
    data["tentatives"][0]["capture"] = "captures/long.pdf"
    make_pdf(tmp_path / "affaire" / "captures" / "long.pdf", pages=3)
    inv = inventory(tmp_path, data)
    assert [(a.piece, a.page) for a in inv.attempts[:3]] == [(2, 1), (2, 4), (2, 5)]
    assert inv.pieces[1].pages == 5


def test_attempts_without_capture_have_no_piece(tmp_path):
    data = default_case()
    del data["tentatives"][0]["capture"]
    inv = inventory(tmp_path, data)
    assert inv.attempts[0].piece is None and inv.attempts[0].page is None
    assert "(2 tentatives)" in inv.pieces[1].titre


def test_cross_month_and_year_labels(tmp_path):
    data = default_case(["2025-09-30 08:55", "2025-12-30 00:05", "2026-01-02 08:00"])
    data["signature"]["date"] = "2026-01-10"
    inv = inventory(tmp_path, data)
    titles = [p.titre for p in inv.pieces if p.categorie == "captures"]
    # The first week starts on the first attempt (30 September), not on its Monday.
    assert titles == ["Captures d'écran des tentatives du 30 septembre au 5 octobre 2025 (1 tentative)",
                      "Captures d'écran des tentatives du 29 décembre 2025 au 4 janvier 2026 (2 tentatives)"]


def test_week_labels_never_run_past_the_requete(tmp_path):
    # Signed on Thursday 4 December: the last week ends on that day, never on Sunday 7 December.
    data = default_case(["2025-11-20 08:55", "2025-11-21 00:05", "2025-12-01 08:00", "2025-12-03 23:50"])
    data["signature"]["date"] = "2025-12-04"
    inv = inventory(tmp_path, data)
    titles = [p.titre for p in inv.pieces if p.categorie == "captures"]
    assert titles == ["Captures d'écran des tentatives du 20 au 23 novembre 2025 (2 tentatives)",
                      "Captures d'écran des tentatives du 1er au 4 décembre 2025 (2 tentatives)"]


@pytest.mark.parametrize("title, expected", [
    ("Carte d'identité algérienne (recto et verso)", "01_Carte_d_identite_algerienne_recto_et_verso.pdf"),
    ("Cœur & Œuvre — 1.5 %", "01_Coeur_OEuvre_1_5.pdf"),
    ("Nguyễn Thị Minh Khai", "01_Nguyen_Thi_Minh_Khai.pdf"),
    ("Courrier - réponse", "01_Courrier-reponse.pdf"),
    ("!!!", "01_Piece.pdf"),
    # Format characters are unseen in the title: gone, never « _ » (attack 25).
    ("Attes\u00adta\u00adtion d'hé\u00adber\u00adge\u00adment", "01_Attestation_d_hebergement.pdf"),
    ("Certificat\u200bde\u2060résidence\ufeff\u200d", "01_Certificatderesidence.pdf"),
])
def test_file_names(title, expected):
    assert file_name(1, title) == expected


def test_file_names_are_valid_for_telerecours(tmp_path):
    long = "Attestation " + "très longue " * 20
    name = file_name(12, long)
    assert len(name) - len(".pdf") <= MAX_NAME
    assert re.fullmatch(r"12_[A-Za-z0-9_-]+\.pdf", name)
    assert not name[:-4].endswith(("_", "-"))
    assert file_name(7, "x", width=3) == "007_x.pdf"
    assert ascii_label("Préfecture de l'Île-de-France") == "Prefecture_de_l_Ile-de-France"


def test_cut_file_names_do_not_end_on_a_small_word():
    from refere.pieces.plan import DANGLING

    titles = ["Attestation de l'employeur sur la promesse d'embauche et le contrat de travail et de la mutuelle",
              "Courriel adressé à la préfecture de la Seine-Saint-Denis pour le renouvellement du titre de séjour",
              "Justificatifs de domicile des trois derniers mois et quittances de loyer et factures et relevés"]
    for title in titles:
        name = file_name(1, title)
        assert len(name) - len(".pdf") <= MAX_NAME
        assert re.split(r"[_-]", name[:-4])[-1].lower() not in DANGLING, name
        assert len(file_name(1, title)) > 40  # still a real cut, not an empty label


def test_sources_are_verified_pdfs_first_then_in_filing_order(example, monkeypatch):
    """A build verifies the PDFs first (the plan waits for their pages), then every file in the
    order the pièces file them: the pièces writer takes each capture as soon as it is verified."""
    from refere.build import _source_list
    from refere.pieces import plan, probe

    monkeypatch.setenv("XDG_CACHE_HOME", str(example.parent / "cache"))
    monkeypatch.setattr(probe, "_pending", {})
    monkeypatch.setattr(probe, "WORKERS", 2)
    case = load(example)
    pool = probe.start(plan.filing_order(case) + _source_list(case))
    assert pool is not None
    try:
        submitted = [c.path for c in probe._pending]
    finally:
        probe.stop(pool)
    filed = [s.path for p in make(case).pieces for s in p.sources]
    assert [s.path for s in plan.filing_order(case)] == filed
    assert filed != [s.path for s in _source_list(case)]  # not the order the case lists them in
    assert submitted == [p for p in filed if p.suffix == ".pdf"] + [p for p in filed if p.suffix != ".pdf"]


def test_a_build_s_verification_workers_yield_the_cpu_to_it():
    """``start(..., behind=True)``: the workers run below the build's own process, which writes
    the pièces meanwhile (its work is the critical path)."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from refere.pieces import probe

    here = os.nice(0)
    for behind, expected in ((True, min(19, here + probe.BEHIND_NICE)), (False, here)):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                                 initializer=probe._worker_start, initargs=(behind,)) as pool:
            assert pool.submit(os.nice, 0).result() == expected
