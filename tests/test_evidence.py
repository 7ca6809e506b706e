import json
import shutil

import pytest

from conftest import default_case, make_jpeg, make_png, write_case
from refere.evidence import BLOQUANT, check
from refere.loader import load


def codes(tmp_path, data) -> dict[str, str]:
    report = check(load(write_case(tmp_path / "affaire", data)))
    return {f.code: f.niveau for f in report.findings}


def test_sound_case_has_no_findings(tmp_path):
    assert codes(tmp_path, default_case()) == {}


def test_example_figures(example):
    r = check(load(example))
    f = r.figures
    assert (f.tentatives, f.semaines, f.jours, f.avant_9h, f.autour_minuit) == (10, 4, 10, 5, 3)
    assert not r.findings


def test_one_week_blocks(tmp_path):
    data = default_case(["2025-03-03 08:55", "2025-03-04 00:05", "2025-03-05 08:50", "2025-03-09 23:30"])
    found = codes(tmp_path, data)
    assert found["semaines-insuffisantes"] == BLOQUANT
    assert "moins-de-3-semaines" not in found


def test_two_weeks_warns_but_does_not_block(tmp_path):
    data = default_case(["2025-03-03 08:55", "2025-03-04 00:05", "2025-03-05 08:50", "2025-03-10 23:30"])
    found = codes(tmp_path, data)
    assert "semaines-insuffisantes" not in found
    assert found["moins-de-3-semaines"] == "avertissement"
    assert found["moins-de-10-tentatives"] == "avertissement"
    assert found["moins-de-6-jours"] == "avertissement"


def test_iso_weeks_not_seven_day_windows(tmp_path):
    # Sunday then Monday: two ISO weeks although one day apart.
    data = default_case(["2025-03-09 08:55", "2025-03-10 00:05"])
    assert "semaines-insuffisantes" not in codes(tmp_path, data)


def test_ten_attempts_six_days_thresholds(tmp_path):
    base = default_case()
    assert "moins-de-10-tentatives" not in codes(tmp_path / "a", base)
    nine = default_case([t["date"] for t in base["tentatives"]][:9])
    assert "moins-de-10-tentatives" in codes(tmp_path / "b", nine)
    # Ten attempts, but on five days only.
    few_days = default_case(["2025-03-03 08:55", "2025-03-03 23:55", "2025-03-10 08:50", "2025-03-10 00:10",
                             "2025-03-17 08:40", "2025-03-17 19:00", "2025-03-18 08:30", "2025-03-18 23:30",
                             "2025-03-19 08:20", "2025-03-19 12:00"])
    found = codes(tmp_path / "c", few_days)
    assert "moins-de-6-jours" in found and "moins-de-10-tentatives" not in found


def test_no_courrier_warns(tmp_path):
    data = default_case()
    data["pieces"] = [p for p in data["pieces"] if p["categorie"] != "courrier_prefecture"]
    assert "pas-de-courrier" in codes(tmp_path, data)


def test_attempt_without_capture(tmp_path):
    data = default_case()
    del data["tentatives"][3]["capture"]
    found = check(load(write_case(tmp_path / "affaire", data))).findings
    f = [x for x in found if x.code == "tentative-sans-capture"]
    assert len(f) == 1 and f[0].champ == "tentatives[3].capture"


def test_single_time_band(tmp_path):
    same_band = default_case([f"2025-03-{d:02d} 10:{d:02d}" for d in (3, 4, 5, 6, 7, 10, 11, 12, 13, 17)])
    assert "une-seule-tranche-horaire" in codes(tmp_path / "a", same_band)
    assert "une-seule-tranche-horaire" not in codes(tmp_path / "b", default_case())


def test_same_capture_twice(tmp_path):
    data = default_case()
    folder = tmp_path / "affaire"
    write_case(folder, data)
    shutil.copy(folder / "captures/c00.png", folder / "captures/c05.png")
    found = check(load(folder / "dossier.yaml")).findings
    dup = [f for f in found if f.code == "capture-en-double"]
    assert len(dup) == 1 and "tentatives n° 1 et n° 6" in dup[0].message


def test_capture_date_differs(tmp_path):
    data = default_case()
    folder = tmp_path / "affaire"
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-085512.png"
    data["tentatives"][1]["capture"] = "captures/Screenshot_20250306-120000.png"  # declared 4 March 00:05
    data["tentatives"][2]["capture"] = "captures/photo.jpg"
    make_jpeg(folder / "captures/photo.jpg", taken="2025:03:06 16:00:00")  # declared 14:10 → 1 h 50 off
    write_case(folder, data)
    found = [f for f in check(load(folder / "dossier.yaml")).findings if f.code == "date-capture-discordante"]
    assert [f.champ for f in found] == ["tentatives[1].date", "tentatives[2].date"]
    assert "Screenshot_20250306-120000.png" in found[0].message and "nom du fichier" in found[0].message
    assert "EXIF" in found[1].message


def test_capture_within_an_hour_is_fine(tmp_path):
    data = default_case()
    data["tentatives"][0]["capture"] = "captures/Screenshot_20250303-094000.png"  # 45 min after
    assert "date-capture-discordante" not in codes(tmp_path, data)


def test_unreadable_capture_blocks(tmp_path):
    data = default_case()
    folder = tmp_path / "affaire"
    write_case(folder, data)
    raw = (folder / "captures/c02.png").read_bytes()
    (folder / "captures/c02.png").write_bytes(raw[: len(raw) // 2])
    found = {f.code: f for f in check(load(folder / "dossier.yaml")).findings}
    assert found["capture-illisible"].niveau == BLOQUANT
    assert "c02.png" in found["capture-illisible"].message


@pytest.mark.parametrize("proc, urgence, expected", [
    ("premiere_demande_titre_sejour", [], True),
    ("premiere_demande_titre_sejour", ["Je vais perdre mon emploi."], False),
    ("admission_exceptionnelle_sejour", [], True),
    ("renouvellement_titre_sejour", [], False),
])
def test_urgency_outside_renewal(tmp_path, proc, urgence, expected):
    data = default_case()
    data["procedure"]["type"] = proc
    data["urgence"] = urgence
    assert ("urgence-non-justifiee" in codes(tmp_path, data)) is expected


def test_oqtf_warns(tmp_path):
    data = default_case()
    data["procedure"]["oqtf"] = True
    assert codes(tmp_path / "a", data)["oqtf"] == "avertissement"
    data["procedure"]["oqtf"] = False
    assert "oqtf" not in codes(tmp_path / "b", data)


def test_every_finding_cites_its_source(tmp_path):
    data = default_case(["2025-03-03 10:00", "2025-03-03 10:30"])
    data["pieces"] = []
    data["procedure"]["type"] = "naturalisation"
    data["procedure"]["oqtf"] = True
    data["urgence"] = []
    del data["tentatives"][1]["capture"]
    report = check(load(write_case(tmp_path / "affaire", data)))
    assert len(report.findings) >= 6
    for f in report.findings:
        assert f.source and f.message and f.code
    assert any("435594" in f.source for f in report.findings)
    assert any("453391" in f.source for f in report.findings)


# --- the command ----------------------------------------------------------------------------

def test_check_command_prints_figures(run, example):
    res = run("check", example)
    assert res.exit_code == 0, res.output
    assert "10 tentatives" in res.output and "4 semaines distinctes" in res.output
    assert "Résultat : dossier complet." in res.output


def test_check_blocking_exits_1(run, tmp_path):
    path = write_case(tmp_path / "a", default_case(["2025-03-03 08:55", "2025-03-04 00:05"]))
    res = run("check", path)
    assert res.exit_code == 1
    assert "[semaines-insuffisantes]" in res.output and "CE, 10 juin 2020, n° 435594" in res.output


def test_check_strict_and_json(run, tmp_path):
    data = default_case()
    data["pieces"] = data["pieces"][:1]
    path = write_case(tmp_path / "a", data)
    assert run("check", path).exit_code == 0
    assert run("check", path, "--strict").exit_code == 1
    res = run("check", path, "--json")
    doc = json.loads(res.output)
    assert doc["valide"] is True and doc["avertissements"] == 1
    assert doc["constats"][0]["code"] == "pas-de-courrier"
    assert doc["chiffres"]["semaines"] == 3


def test_check_invalid_case_exit_1_no_traceback(run, tmp_path):
    path = write_case(tmp_path / "a", "version: 1\nrequerant: 3\n")
    res = run("check", path)
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "dossier.yaml:2: requerant: ensemble de champs attendu" in res.output


def test_check_json_for_an_invalid_case(run, tmp_path):
    path = write_case(tmp_path / "a", "version: 1\nrequerant:\n  prenom: x\n")
    res = run("check", path, "--json")
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["valide"] is False
    assert {"fichier": "dossier.yaml", "ligne": 3, "champ": "requerant.prenom",
            "message": "champ inconnu « prenom » ; vouliez-vous dire « prenoms » ?"} in doc["erreurs"]


def test_unreadable_piece_blocks_in_check(tmp_path, run):
    from conftest import make_pdf

    folder = tmp_path / "affaire"
    write_case(folder, default_case())
    make_pdf(folder / "pieces" / "passeport.pdf", encrypt=("o", "secret"))
    res = run("check", folder / "dossier.yaml")
    assert res.exit_code == 1
    assert "[piece-illisible]" in res.output and "passeport.pdf" in res.output and "mot de passe" in res.output


def test_check_shows_the_numbering_before_building(run, example):
    res = run("check", example)
    assert "Pièces (8), dans l'ordre du bordereau" in res.output
    assert "01_Carte_d_identite_algerienne_recto_et_verso.pdf  (2 p.)" in res.output
    assert not (example.parent / "dossier").exists()
    doc = json.loads(run("check", example, "--json").output)
    assert [p["numero"] for p in doc["pieces"]] == list(range(1, 9))
    assert doc["pieces"][7]["fichier"].startswith("08_Courriel")
