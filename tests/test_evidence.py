import json
import shutil

import pytest

from conftest import default_case, make_jpeg, write_case
from refere.preuves.rules import BLOQUANT, check
from refere.affaire.loader import load


def codes(tmp_path, data) -> dict[str, str]:
    report = check(load(write_case(tmp_path / "affaire", data)))
    return {f.code: f.niveau for f in report.findings}


def sound_case(attempts=None) -> dict:
    """default_case with everything a sound file has: titre pièce, urgency proven, fresh attempts."""
    data = default_case(attempts)
    # The titre expires on 10 May: the attempts from 10 March fall in the two months of R. 431-5.
    data["procedure"]["expiration_titre"] = "2025-05-10"
    data["pieces"].append({"id": "titre", "titre": "Carte de séjour expirant le 10 mai 2025", "categorie": "titre_sejour",
                           "fichier": "pieces/titre.pdf"})
    data["pieces"].append({"id": "contrat", "titre": "Contrat de travail", "categorie": "urgence",
                           "fichier": "pieces/contrat.pdf"})
    data["urgence"] = [{"motif": "emploi", "fait": "son contrat de travail sera suspendu le 31 mai 2025",
                        "echeance": "2025-05-31", "preuves": ["contrat"]}]
    data["signature"]["date"] = "2025-03-28"
    return data


def test_sound_case_has_no_findings(tmp_path):
    assert codes(tmp_path, sound_case()) == {}


def test_example_figures(example):
    r = check(load(example))
    f = r.figures
    assert (f.tentatives, f.semaines, f.jours, f.avant_9h, f.autour_minuit) == (10, 4, 10, 5, 3)
    assert not r.findings


def test_one_week_blocks(tmp_path):
    data = sound_case(["2025-03-03 08:55", "2025-03-04 00:05", "2025-03-05 08:50", "2025-03-09 23:30"])
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
    ("changement_de_statut", [], True),
    ("renouvellement_titre_sejour", [], False),
])
def test_urgency_outside_renewal_blocks(tmp_path, proc, urgence, expected):
    data = sound_case()
    data["procedure"]["type"] = proc
    data["urgence"] = urgence
    found = codes(tmp_path, data)
    assert ("urgence-absente" in found) is expected
    if expected:
        assert found["urgence-absente"] == BLOQUANT


@pytest.mark.parametrize("fait, warned", [
    ("Je risque de perdre mon emploi.", True),
    ("Mon titre expire le 31 mai 2025.", True),
    ("J'ai une promesse d'embauche.", True),
    ("son employeur a écrit à Me Martin le 3 mars 2025", False),
    ("La promesse d'embauche de la société Nettoyage 93 expire le 30 avril 2025.", False),
])
def test_first_person_urgency_warns(tmp_path, fait, warned):
    data = sound_case()
    data["urgence"] = [{"fait": fait, "preuves": ["contrat"]}]
    assert ("urgence-premiere-personne" in codes(tmp_path, data)) is warned


def test_urgency_fact_without_piece_warns(tmp_path):
    data = sound_case()
    data["urgence"].append({"motif": "famille", "fait": "ses deux enfants sont scolarisés à Saint-Denis"})
    data["urgence"].append("Promesse d'embauche valable jusqu'au 30 avril 2025.")
    report = check(load(write_case(tmp_path / "affaire", data)))
    where = [f.champ for f in report.findings if f.code == "urgence-sans-piece"]
    assert where == ["urgence[1].preuves", "urgence[2].preuves"]


def test_stale_attempts_warn_from_the_signature_date(tmp_path):
    data = sound_case()
    data["signature"]["date"] = "2025-03-31"  # 10 days after the last attempt (21 March): fine
    assert "derniere-tentative-ancienne" not in codes(tmp_path / "a", data)
    data["signature"]["date"] = "2025-04-01"  # 11 days
    assert codes(tmp_path / "b", data)["derniere-tentative-ancienne"] == "avertissement"


def test_first_attempt_after_expiry_warns(tmp_path):
    data = sound_case()
    data["procedure"]["expiration_titre"] = "2025-03-02"
    assert "premiere-tentative-apres-expiration" in codes(tmp_path / "a", data)
    data["procedure"]["expiration_titre"] = "2025-03-03"  # expired the day of the first attempt: not after
    assert "premiere-tentative-apres-expiration" not in codes(tmp_path / "b", data)


def test_anef_late_filing_and_diligences(tmp_path):
    data = sound_case()
    data["procedure"]["voie"] = "anef"
    data["procedure"]["expiration_titre"] = "2025-04-30"  # first attempt 3 March: 58 days before
    found = codes(tmp_path / "a", data)
    assert "depot-anef-tardif" in found and "anef-sans-diligence" in found
    assert "une-seule-tranche-horaire" not in found
    data["procedure"]["expiration_titre"] = "2025-05-31"
    data["diligences"] = [{"date": "2025-03-05", "type": "centre_contact_citoyen",
                           "description": "formulaire envoyé, sans réponse", "preuves": ["contrat"]}]
    found = codes(tmp_path / "b", data)
    assert "depot-anef-tardif" not in found and "anef-sans-diligence" not in found


def test_route_mismatch_warns(tmp_path):
    data = sound_case()
    data["procedure"]["voie"] = "anef"
    data["diligences"] = [{"date": "2025-03-05", "description": "courriel à la préfecture"}]
    data["prefecture"]["url_rendez_vous"] = "https://www.seine-saint-denis.gouv.fr/booking/create/1"
    assert "voie-a-verifier" in codes(tmp_path / "a", data)
    data["procedure"]["voie"] = "rendez_vous"
    data["diligences"][0]["type"] = "centre_contact_citoyen"
    assert "voie-a-verifier" in codes(tmp_path / "b", data)
    del data["diligences"]
    assert "voie-a-verifier" not in codes(tmp_path / "c", data)


def test_anef_address_on_the_anef_route_is_expected(tmp_path):
    # The ANEF's own page in url_rendez_vous is no « page de prise de rendez-vous ».
    data = sound_case()
    data["procedure"]["voie"] = "anef"
    data["diligences"] = [{"date": "2025-03-05", "description": "courriel à la préfecture"}]
    data["prefecture"]["url_rendez_vous"] = "https://administration-etrangers-en-france.interieur.gouv.fr/particuliers/#/"
    assert "voie-a-verifier" not in codes(tmp_path / "a", data)


def test_identity_and_titre_pieces_expected(tmp_path):
    data = sound_case()
    data["pieces"] = [p for p in data["pieces"] if p["categorie"] not in ("identite", "titre_sejour")]
    found = codes(tmp_path / "a", data)
    assert {"pas-de-piece-identite", "pas-de-piece-titre"} <= set(found)
    del data["procedure"]["titre_actuel"], data["procedure"]["expiration_titre"]
    assert "pas-de-piece-titre" not in codes(tmp_path / "b", data)


def test_oqtf_warns(tmp_path):
    data = sound_case()
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
    data = sound_case()
    data["pieces"] = [p for p in data["pieces"] if p["categorie"] != "courrier_prefecture"]
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
    assert "dossier.yaml:2 — la personne qui demande le rendez-vous : ensemble de champs attendu" in res.output


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
    assert "Pièces (9), dans l'ordre du bordereau" in res.output
    assert "01_Carte_d_identite_algerienne_recto_et_verso.pdf  (2 p.)" in res.output
    assert not (example.parent / "dossier").exists()
    doc = json.loads(run("check", example, "--json").output)
    assert [p["numero"] for p in doc["pieces"]] == list(range(1, 10))
    assert doc["pieces"][7]["fichier"].startswith("08_Courriel")


# --- lawyer review of issue 9 -----------------------------------------------------------------

def test_first_person_only_urgency_blocks_outside_renewal(tmp_path):
    data = sound_case()
    data["procedure"] = {"type": "admission_exceptionnelle_sejour"}
    data["urgence"] = ["Je vais perdre mon travail.",
                       {"motif": "emploi", "fait": "mon employeur me licenciera", "preuves": ["contrat"]}]
    found = codes(tmp_path / "a", data)
    assert found["urgence-non-argumentee"] == BLOQUANT
    report = check(load(write_case(tmp_path / "a2" / "affaire", data)))
    f = next(x for x in report.findings if x.code == "urgence-non-argumentee")
    assert f.message.startswith("urgence non démontrée : le juge rejettera probablement la requête sans audience")
    # A structured fact in the first person is warned about too.
    assert [x.champ for x in report.findings if x.code == "urgence-premiere-personne"] == ["urgence[0].fait",
                                                                                          "urgence[1].fait"]
    # A job held without a titre is an avowal, never argued: still blocking, and warned about.
    data["urgence"].append({"motif": "emploi", "fait": "son employeur suspendra son contrat", "preuves": ["contrat"]})
    found = codes(tmp_path / "b0", data)
    assert found["urgence-non-argumentee"] == BLOQUANT and found["travail-non-autorise"] == "avertissement"
    # One third-person fact an appointment remedies is enough; a renewal never needs one.
    data["urgence"][-1] = {"motif": "promesse_embauche", "fait": "une entreprise lui propose un contrat",
                           "preuves": ["contrat"]}
    assert "urgence-non-argumentee" not in codes(tmp_path / "b", data)
    renewal = sound_case()
    renewal["urgence"] = ["Je vais perdre mon travail."]
    assert "urgence-non-argumentee" not in codes(tmp_path / "c", renewal)


def test_premature_anef_attempt_warns(tmp_path):
    data = sound_case()
    data["procedure"]["voie"] = "anef"
    data["procedure"]["expiration_titre"] = "2025-07-15"  # window opens 16 March 2025
    data["diligences"] = [{"date": "2025-03-07", "type": "centre_contact_citoyen", "description": "formulaire"}]
    assert codes(tmp_path / "a", data).get("depot-anef-premature") == "avertissement"
    data["procedure"]["expiration_titre"] = "2025-05-31"  # window opens 31 January: all inside
    assert "depot-anef-premature" not in codes(tmp_path / "b", data)


def test_aj_obtenue_without_decision_piece_warns(tmp_path):
    data = sound_case()
    data["aide_juridictionnelle"] = "obtenue"
    data["decision_aj"] = "BAJ de Bobigny, n° 2025/1 du 2 mars 2025"
    assert codes(tmp_path / "a", data).get("aj-sans-piece") == "avertissement"
    data["pieces"].append({"titre": "Décision d'aide juridictionnelle", "fichier": "pieces/aj.pdf"})
    assert "aj-sans-piece" not in codes(tmp_path / "b", data)


def test_count_messages_agree_in_number(tmp_path):
    data = sound_case(["2025-03-03 08:55", "2025-03-10 08:50"])
    report = check(load(write_case(tmp_path / "affaire", data)))
    text = " ".join(f.message for f in report.findings)
    assert "(s)" not in text
    assert "2 tentatives seulement ; une dizaine au moins rend l'impossibilité d'obtenir un rendez-vous difficile" in text
    assert "sur 2 jours distincts" in text


def _reading(text: str, adresse: str | None = None):
    from refere.preuves import lecture

    ocr = lecture.Ocr([{"texte": line, "haut": 0.5, "confiance": 90.0} for line in text.splitlines()], 20, 90.0)
    return lecture.Reading("captures/c00.png", "0" * 64, ocr, message=lecture.find_message(text), adresse=adresse)


@pytest.mark.parametrize("voie,text,adresse,warned", [
    ("anef", "Il n'existe plus de plage horaire libre pour votre demande de rendez-vous", None, True),
    ("anef", "Choisissez une date", "www.seine-saint-denis.gouv.fr/booking/create/1234", True),
    ("anef", "Une erreur technique est survenue. Réessayez plus tard",
     "administration-etrangers-en-france.interieur.gouv.fr/particuliers", False),
    ("rendez_vous", "Une erreur technique est survenue. Réessayez plus tard",
     "administration-etrangers-en-france.interieur.gouv.fr/particuliers", True),
    ("rendez_vous", "Aucun créneau disponible", "www.seine-saint-denis.gouv.fr/booking/create/1234", False),
])
def test_route_checked_against_what_the_captures_show(tmp_path, voie, text, adresse, warned):
    from refere.preuves import lecture
    from refere.preuves.rules import route_seen

    data = default_case()
    data["procedure"]["voie"] = voie
    case = load(write_case(tmp_path / "affaire", data))
    readings = lecture.Readings({"captures/c00.png": _reading(text, adresse)})
    found = route_seen(case, readings)
    assert [f.code for f in found] == (["voie-a-verifier"] if warned else [])
    assert all(f.niveau != BLOQUANT for f in found)


@pytest.mark.parametrize("conseil,warned", [
    (None, True),
    ({"qualite": "association", "nom": "La Cimade"}, True),
    ({"qualite": "avocat", "nom": "Jeanne Martin", "barreau": "Seine-Saint-Denis"}, False),
])
def test_aj_requested_without_a_lawyer_warns(tmp_path, conseil, warned):
    data = sound_case()
    data["aide_juridictionnelle"] = "demandee"
    if conseil:
        data["conseil"] = conseil
    found = codes(tmp_path, data)
    assert ("aj-sans-avocat" in found) is warned
    if warned:
        assert found["aj-sans-avocat"] != BLOQUANT


@pytest.mark.parametrize("aj,qualite,frais,warned", [
    ("demandee", "avocat", None, True),
    ("obtenue", "avocat", None, True),
    ("demandee", "avocat", 1500, False),
    (None, "avocat", None, False),
    ("demandee", "association", None, False),
])
def test_aj_with_a_lawyer_and_no_fee_asked_warns(tmp_path, aj, qualite, frais, warned):
    # Without an amount the requête asks neither art. 37 al. 2 nor L. 761-1: the avocat's fee is lost.
    data = sound_case()
    data["aide_juridictionnelle"] = aj
    if aj == "obtenue":
        data["decision_aj"] = "BAJ de Bobigny, n° 2026/004512, 2 décembre 2026"
    data["conseil"] = {"qualite": qualite, "nom": "Jeanne Martin" if qualite == "avocat" else "La Cimade",
                       **({"barreau": "Seine-Saint-Denis"} if qualite == "avocat" else {})}
    data.setdefault("demandes", {})["frais_l761_1"] = frais
    found = codes(tmp_path, data)
    assert ("aj-sans-frais" in found) is warned
    if warned:
        assert found["aj-sans-frais"] != BLOQUANT


def test_unreadable_captures_reported_in_case_order(tmp_path):
    # Captures are decoded on several threads first: the report keeps the case's order.
    data = default_case()
    folder = tmp_path / "affaire"
    write_case(folder, data)
    names = [t["capture"] for t in data["tentatives"]][-2:]
    for name in names:
        raw = (folder / name).read_bytes()
        (folder / name).write_bytes(raw[: len(raw) // 2])
    found = [f for f in check(load(folder / "dossier.yaml")).findings if f.code == "capture-illisible"]
    n = len(data["tentatives"])
    assert [f.champ for f in found] == [f"tentatives[{i}].capture" for i in (n - 2, n - 1)]
    assert all(n.rsplit("/", 1)[1] in f.message for n, f in zip(names, found))
