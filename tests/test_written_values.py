"""Values a person writes that the requête would state wrongly (attack 24): an impossible date in a
sentence, an hour the clocks skipped, a local public holiday, « d'huit », an amount under a cent, a
quoted value rewritten in the message, a linked case folder left out in silence."""

from __future__ import annotations

import csv
import html
import datetime as dt
import os

import pytest
from docx import Document

from conftest import copy_example, default_case, write_case
from refere.affaire import grammaire
from refere.affaire.loader import load
from refere.pieces import plan
from refere.preuves import rules, shotdates
from refere.requete import render
from refere.web import store
from refere.web.app import create_app


def _requete_text(folder, data) -> str:
    case = load(write_case(folder, data))
    out = folder / "requete.docx"
    render.render(render.context(case, plan.make(case), rules.check(case)), out)
    return "\n".join(p.text for p in Document(str(out)).paragraphs).replace("\u00a0", " ").replace("\u2019", "'")


@pytest.mark.parametrize("field, text, wrong", [
    ("explication_retard", "Hospitalisé du 31 juin au 20 août 2025, il n'a pu faire aucune démarche.", "31 juin"),
    ("urgence", "Mon contrat de travail prend fin le 30/02/2025.", "30/02/2025"),
    ("precisions", "Demande déposée le 29 février 2025.", "29 février 2025"),
])
def test_an_impossible_date_in_a_sentence_is_refused_at_its_line(tmp_path, run, field, text, wrong):
    """« du 31 juin au 20 août » passed check, then the build died of « Erreur interne » (the period
    read to argue the delay) and the web answered 500: refused at its line by check and by build."""
    data = default_case()
    if field == "urgence":
        data["urgence"] = [text]
    elif field == "precisions":
        data["procedure"].update(type="autre", precisions=text)
    else:
        data["procedure"].update(expiration_titre="2025-02-15", explication_retard=text)
    path = write_case(tmp_path / "affaire", data)
    line = next(i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text[:20] in ln)
    for verb in (["check"], ["build", "-o", tmp_path / "sortie"]):
        res = run(*verb[:1], path, *verb[1:])
        assert res.exit_code == 1, res.output
        assert f"dossier.yaml:{line} — " in res.output and f"« {wrong} » n'existe pas au calendrier" in res.output
        assert "Erreur interne" not in res.output
    assert not (tmp_path / "sortie").exists()


def test_a_29_february_without_its_year_and_real_periods_are_accepted(tmp_path):
    data = default_case()
    data["procedure"].update(expiration_titre="2025-02-15",
                             explication_retard="Hospitalisé du 29 février au 1er mars 2025 puis du 3/03/2025.")
    data["urgence"] = ["Mon titre expire le 31 mai 2025."]
    assert load(write_case(tmp_path / "a", data)).procedure.explication_retard.startswith("Hospitalisé")


@pytest.mark.parametrize("count, words", [(8, "de huit tentatives"), (11, "de onze tentatives"),
                                          (10, "de dix tentatives")])
def test_huit_and_onze_take_no_elision(tmp_path, count, words):
    days = [dt.date(2025, 3, 3) + dt.timedelta(days=2 * i) for i in range(count)]
    data = default_case([f"{d.isoformat()} 08:5{i % 10}" for i, d in enumerate(days)])
    data["signature"]["date"] = "2025-04-01"
    text = _requete_text(tmp_path / "a", data)
    assert words in text and "d'huit" not in text and "d'onze" not in text


def test_local_public_holidays():
    # Alsace-Moselle: 26 December and Good Friday (18 April 2025); not in Paris.
    assert grammaire.dernier_jour_ouvre(dt.date(2025, 12, 26), "57") == dt.date(2025, 12, 24)
    assert grammaire.dernier_jour_ouvre(dt.date(2025, 12, 26), "75") == dt.date(2025, 12, 26)
    assert grammaire.dernier_jour_ouvre(dt.date(2025, 4, 18), "67") == dt.date(2025, 4, 17)
    assert grammaire.dernier_jour_ouvre(dt.date(2025, 4, 18), "93") == dt.date(2025, 4, 18)
    # The abolition of slavery overseas, each on its own day.
    for code, day in {"971": (5, 27), "972": (5, 22), "973": (6, 10), "974": (12, 20), "976": (4, 27)}.items():
        assert dt.date(2026, *day) in grammaire.jours_feries(2026, code)
        assert dt.date(2026, *day) not in grammaire.jours_feries(2026, "94")


@pytest.mark.parametrize("departement, expiry, fixer", [
    ("57", "2025-12-27", "24 décembre 2025"),   # 26 December is a holiday in Moselle, 25 everywhere
    ("972", "2026-05-23", "21 mai 2026"),       # 22 May in Martinique
    ("94", "2025-12-27", "26 décembre 2025"),
])
def test_the_appointment_date_asked_is_a_working_day_where_the_case_is(tmp_path, departement, expiry, fixer):
    data = default_case()
    data["prefecture"]["departement"] = departement
    data["procedure"]["expiration_titre"] = expiry
    data["urgence"] = [f"Mon titre expire le {expiry[8:].lstrip('0')} "
                       f"{'décembre' if expiry[5:7] == '12' else 'mai'} {expiry[:4]}."]
    text = _requete_text(tmp_path / "a", data)
    assert f"FIXER ce rendez-vous au plus tard le {fixer}" in text


def test_an_hour_the_clocks_skipped_is_refused(tmp_path, run):
    """2:30 on 30 March 2025 never happened in Paris: it became 3:30 without a word."""
    data = default_case()
    data["tentatives"][3]["date"] = "2025-03-30 02:30"
    path = write_case(tmp_path / "affaire", data)
    line = next(i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "02:30" in ln)
    res = run("check", path)
    assert res.exit_code == 1
    assert f"dossier.yaml:{line} — " in res.output and "heure inexistante « 2025-03-30 02:30 »" in res.output
    # With its offset, or the hour that happens twice in October, it is a real time.
    for written, shown in (("2025-03-30 02:30+01:00", "3 h 30"), ("2025-10-26 02:30", "2 h 30")):
        data["tentatives"][3]["date"] = written
        data["signature"]["date"] = "2025-12-01"
        case = load(write_case(tmp_path / written[:10], data))
        assert f"{case.tentatives[3].date.hour} h {case.tentatives[3].date.minute}" == shown
    # A capture named by a clock not set to Paris time: its name gives no date.
    assert shotdates.parse_name("Screenshot_20250330-023012.png") is None
    assert shotdates.parse_name("Screenshot_20250330-033012.png") == dt.datetime(2025, 3, 30, 3, 30, 12,
                                                                                 tzinfo=shotdates.PARIS)


def test_a_date_message_quotes_the_value_as_typed(tmp_path, run):
    data = default_case()
    data["signature"]["date"] = "2025-09-29 10:00"
    data["requerant"]["date_naissance"] = "1987-11-03 à 10h30"
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1
    assert "une date sans heure est attendue, pas « 2025-09-29 10:00 » : écrivez « 2025-09-29 »" in res.output
    assert "pas « 1987-11-03 à 10h30 » : écrivez « 1987-11-03 »" in res.output
    assert "septembre" not in res.output and "novembre" not in res.output


@pytest.mark.parametrize("amount, ok", [(0.004, False), (12.3456, False), (50.5, True), (1500, True)])
def test_amounts_are_euros_and_cents(tmp_path, run, amount, ok):
    data = default_case()
    data["demandes"] = {"astreinte_par_jour": amount}
    res = run("check", write_case(tmp_path / "a", data))
    if ok:
        assert "montant" not in res.output
    else:
        assert res.exit_code == 1
        assert f"montant en euros et centimes attendu (deux décimales au plus), pas « {amount} »" in res.output


def test_a_linked_case_folder_is_named_not_skipped(tmp_path, run):
    desk = tmp_path / "permanence"
    copy_example(desk / "vrai")
    copy_example(tmp_path / "ailleurs")
    os.symlink(tmp_path / "ailleurs", desk / "lien")
    res = run("batch", desk, "-o", tmp_path / "sortie", "-j", "1")
    assert res.exit_code == 1
    with open(tmp_path / "sortie" / "rapport.csv", encoding="utf-8-sig", newline="") as fh:
        rows = {r["dossier"]: r for r in csv.DictReader(fh, delimiter=";")}
    assert rows["vrai"]["statut"] == "ok"
    assert rows["lien"]["statut"] == "échec" and rows["lien"]["bloquants"] == "lien-non-suivi"
    assert rows["lien"]["erreur"].endswith("est un lien vers un autre dossier, qui n'est pas suivi : donnez directement "
                                          "le dossier vers lequel il pointe")
    assert not (tmp_path / "sortie" / "lien").exists()
    # The web page of the same folder names it too, and never serves it.
    client = create_app(desk, limits=store.Limits(), workers=1).test_client()
    page = html.unescape(client.get("/").get_data(as_text=True))
    hint = page.split('id="liens-non-suivis"')[1].split("</div>")[0]
    assert "1 lien vers un autre dossier ou fichier n'est pas suivi" in hint and "<code>lien</code>" in hint
    assert client.get("/d/lien/").status_code == 404


@pytest.mark.parametrize("phone, ok", [("abc", False), ("06 1a", False), ("+", False), ("poste 204", False),
                                       ("06 12 34", True), ("+33 6 12 34 56 78", True), ("01.48.00.00.00", True),
                                       ("(0)1 48 00 00 00", True), ("01 48 00 00 00 poste 204", True),
                                       ("06–12–34–56–78 (WhatsApp)", True)])
def test_a_phone_number_is_a_number_first(tmp_path, run, phone, ok):
    data = default_case()
    data["requerant"]["telephone"] = phone
    res = run("check", write_case(tmp_path / "a", data))
    assert ("numéro de téléphone invalide" in res.output) is not ok, res.output
    # Letters before the number are refused; a number of the wrong length for France is the check's
    # warning, and what follows the number (« poste 204 ») is not counted in it.
    assert ("n'a pas le bon nombre de chiffres" in res.output) is (phone == "06 12 34"), res.output


@pytest.mark.parametrize("written", ["50,5", "50.5"])
def test_an_amount_with_a_decimal_comma(tmp_path, written):
    data = default_case()
    data["demandes"] = {"astreinte_par_jour": written}
    assert load(write_case(tmp_path / "a", data)).demandes.astreinte_par_jour == 50.5


def test_a_lowercase_t_between_date_and_hour_is_read_as_yaml_allows(tmp_path):
    data = default_case()
    data["tentatives"][0]["date"] = "2025-03-03t08:55"
    assert load(write_case(tmp_path / "a", data)).tentatives[0].date.hour == 8


def test_precisions_are_one_sentence_in_the_requete(tmp_path):
    data = default_case()
    data["procedure"].update(type="autre", precisions="Changement de statut\nétudiant vers salarié")
    text = _requete_text(tmp_path / "a", data)
    assert "démarche : changement de statut étudiant vers salarié." in text


def test_a_list_entry_outside_the_lists_is_named_in_words(tmp_path, run):
    """An unknown id among the situation's proofs was named « preuves situation[0] »."""
    data = default_case()
    data["situation"] = "Salarié depuis 2020."
    data["preuves_situation"] = ["inconnu"]
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1
    assert "pièces qui prouvent la situation, n° 1 : aucune pièce n'a l'identifiant « inconnu »" in res.output
    assert "situation[0]" not in res.output


def test_letters_the_bordereau_cannot_draw_are_warned_of(tmp_path, run):
    """A title in Chinese is drawn « � » in the bordereau (its font has no such letters), shown in the
    requête: check says which letters, and of which pièce; the bordereau's text layer agrees."""
    from conftest import pdf_text
    data = default_case()
    data["pieces"][0]["titre"] = "Passeport de 李小龍"
    path = write_case(tmp_path / "a", data)
    res = run("check", path)
    assert ("Dans l'intitulé de la pièce « Passeport de 李小龍 », le bordereau (première page du dossier "
            "complet) ne peut pas dessiner « 李 », « 小 », « 龍 »") in res.output, res.output
    res = run("build", path, "-o", tmp_path / "sortie")
    assert res.exit_code == 0, res.output
    assert "Passeport de \ufffd\ufffd\ufffd" in pdf_text(tmp_path / "sortie" / "dossier-complet.pdf", 1, 1)
    # Arabic and accents are in the font: no warning.
    data["pieces"][0]["titre"] = "Passeport جواز سفر, Ğ ő ŧ"
    assert "ne peut pas dessiner" not in run("check", write_case(tmp_path / "b", data)).output


@pytest.mark.parametrize("where", ["situation", "note", "resultat", "description", "titre", "titre_actuel",
                                   "heberge_par"])
def test_an_impossible_date_is_refused_in_every_text_copied(tmp_path, run, where):
    """Only three fields were checked: a « 31 septembre 2025 » in a pièce's title reached the
    bordereau and the file name, in a note or a démarche the requête and the letter (attack 25)."""
    data = default_case()
    text = "Courriel du 31 septembre 2025"
    if where == "situation":
        data["situation"] = text
    elif where in ("note", "resultat"):
        data["tentatives"][2][where] = text
    elif where == "description":
        data["diligences"] = [{"date": "2025-03-05", "description": text}]
    elif where == "titre":
        data["pieces"][1]["titre"] = text
    elif where == "titre_actuel":
        data["procedure"]["titre_actuel"] = text
    else:
        data["requerant"]["heberge_par"] = text
    path = write_case(tmp_path / "a", data)
    line = next(i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in ln)
    res = run("check", path)
    assert res.exit_code == 1
    assert f"dossier.yaml:{line} — " in res.output and "« 31 septembre 2025 » n'existe pas au calendrier" in res.output


@pytest.mark.parametrize("fait, quoted", [
    ("le 30 fevrier 2025", "30 fevrier 2025"), ("le 2025-06-31", "2025-06-31"), ("le 31.06.2025", "31.06.2025"),
    ("le 31-06-2025", "31-06-2025"), ("le 31/06/25", "31/06/25"), ("le 31 ju\u200bin 2025", "31 juin 2025"),
    ("le 31 ju\u00adin 2025", "31 juin 2025"), ("le 31\u2060 juin 2025", "31 juin 2025"),
])
def test_an_impossible_date_written_otherwise(tmp_path, run, fait, quoted):
    data = default_case()
    data["urgence"] = [f"Mon contrat prend fin {fait}."]
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1 and f"« {quoted} » n'existe pas au calendrier" in res.output, res.output


@pytest.mark.parametrize("text", [
    "Mon employeur (01.48.00.00.00, dossier 2025-0142, version 12.5.2025) m'attend le 3/03/2025.",
    "Hébergé au 13-15-17 rue Victor-Hugo.", "Capture d'écran 2025-09-01 à 08.52.27", "karim.12.31.90@gmail.com",
    "dossier 2025-13-05", "RG 23/15/45", "macOS 10.15.17", "article L. 313-11, 1/2 journée, 12.30",
])
def test_numbers_that_are_not_dates_pass(tmp_path, text):
    """An address range, a time « 08.52.27 », a reference whose « month » passes 12 are no dates at
    all: refused as impossible dates by the nineteenth pass's first reading (attack 26)."""
    data = default_case()
    data["urgence"] = [text]
    data["pieces"][1]["titre"] = text
    assert load(write_case(tmp_path / "a", data)).urgence[0].fait == text


@pytest.mark.parametrize("phone", ["+374 91 56-78-90", "+7 8412 12-34-56", "+33 (0)6 12 34 56 78",
                                   "0033 6 12 34 56 78", "00 212 6 12 34 56 78"])
def test_phone_numbers_from_everywhere_pass_without_a_false_warning(tmp_path, run, phone):
    data = default_case()
    data["requerant"]["telephone"] = phone
    res = run("check", write_case(tmp_path / "a", data))
    assert "date impossible" not in res.output and "numéro de téléphone invalide" not in res.output, res.output
    assert "n'a pas le bon nombre de chiffres" not in res.output, res.output


@pytest.mark.parametrize("where", ["nom", "prenoms", "titre"])
def test_a_text_of_invisible_characters_only_is_empty(tmp_path, run, where):
    """« \u2060 » as the name: the requête was signed « M. » with no name (attack 26)."""
    data = default_case()
    if where == "titre":
        data["pieces"][1]["titre"] = "\u200b"
    else:
        data["requerant"][where] = "\u2060\u00ad"
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1 and "texte vide (seulement des caractères invisibles)" in res.output, res.output


def test_the_titre_held_reads_as_a_sentence(tmp_path, run):
    """« un récépissé … » was not read as a récépissé (wrong branch of the requête); « aucun » gave
    « titulaire d'un aucun »; « APS » is an autorisation, « Carte » loses its capital mid-sentence."""
    data = default_case()
    data["procedure"] = {"type": "premiere_demande_titre_sejour",
                         "titre_actuel": "un récépissé de demande de titre de séjour", "expiration_titre": "2025-05-31"}
    with_article = _requete_text(tmp_path / "a", data)
    data["procedure"]["titre_actuel"] = "récépissé de demande de titre de séjour"
    assert with_article == _requete_text(tmp_path / "b", data)
    assert "a présenté une demande de titre de séjour, qui a été enregistrée" in with_article
    for written, said in (("APS", "titulaire d'une APS"), ("Carte pluriannuelle", "titulaire d'une carte pluriannuelle")):
        data["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": written, "expiration_titre": "2025-05-31"}
        assert said in _requete_text(tmp_path / written, data)
    data["procedure"]["titre_actuel"] = "aucun"
    res = run("check", write_case(tmp_path / "c", data))
    assert res.exit_code == 1 and "« aucun » n'est pas un document" in res.output


def test_the_same_person_whatever_the_spelling_of_the_birth_date(tmp_path):
    """« 03/11/1987 » and « 1987-11-03 » are one birth date; « No » and « On » are names, not booleans."""
    from refere.affaire.personnes import same_people, written_person

    paths = []
    for name, born in (("a", "03/11/1987"), ("b", "1987-11-03")):
        data = default_case()
        data["requerant"].update(nom="No", prenoms="On", date_naissance=born)
        paths.append((name, write_case(tmp_path / name, data)))
    assert written_person(paths[0][1])["nom"] == "No" and written_person(paths[0][1])["prenoms"] == "On"
    assert same_people(paths) == {"a": ["b"], "b": ["a"]}


def test_a_capture_named_in_the_skipped_hour_says_why_it_has_no_date(tmp_path, run):
    from conftest import make_png

    make_png(tmp_path / "captures" / "Screenshot_20250330-023000.png", size=(200, 300))
    res = run("captures", tmp_path / "captures")
    assert ("l'heure de son nom (2 h 30 le 30 mars 2025) n'a pas existé à Paris (passage à l'heure d'été)"
            in res.output), res.output


@pytest.mark.parametrize("written, value", [("1 500", 1500), ("1\u00a0000,50", 1000.5), ("1\u202f000", 1000)])
def test_an_amount_with_thousands_spaces(tmp_path, written, value):
    data = default_case()
    data["demandes"] = {"frais_l761_1": written}
    assert load(write_case(tmp_path / "a", data)).demandes.frais_l761_1 == value


def test_an_address_with_its_scheme_in_capitals(tmp_path):
    data = default_case()
    data["prefecture"]["url_rendez_vous"] = "HTTPS://WWW.SEINE-SAINT-DENIS.GOUV.FR/booking"
    assert load(write_case(tmp_path / "a", data)).prefecture.url_rendez_vous.startswith("HTTPS://")


@pytest.mark.parametrize("text, wrong", [("le 30 févr. 2015", "30 févr. 2015"), ("le 31 sept. 2021", "31 sept. 2021"),
                                         ("le 2015/06/31", "2015/06/31"), ("du 2025.06.31 au 2025.08.20", "2025.06.31"),
                                         ("le 31 sep 2025", "31 sep 2025"), ("le 31 sept.", "31 sept")])
def test_an_impossible_date_abbreviated_or_year_first(tmp_path, run, text, wrong):
    data = default_case()
    data["urgence"] = [f"Mon contrat prend fin {text}."]
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1 and f"« {wrong} » n'existe pas au calendrier" in res.output, res.output


@pytest.mark.parametrize("written", ["1.500", "1.200"])
def test_an_amount_with_a_thousands_dot_is_asked_not_guessed(tmp_path, run, written):
    """« 1.500 » was read 1,50 € in the requête, with no warning (attack 28)."""
    data = default_case()
    data["demandes"] = {"astreinte_par_jour": written}
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1 and f"montant ambigu « {written} » : écrivez {written.replace('.', '')} (sans point)" \
        in res.output, res.output


def test_sept_as_a_number_is_no_month(tmp_path):
    data = default_case()
    data["urgence"] = ["Entre le 1er et le 31 sept tentatives ont échoué, à 31 sept fois."]
    assert load(write_case(tmp_path / "a", data)).urgence[0].fait.startswith("Entre")


def test_init_never_hides_cases_below(tmp_path, run):
    from conftest import copy_example

    copy_example(tmp_path / "perm" / "a")
    res = run("init", tmp_path / "perm")
    assert res.exit_code == 1 and "contient déjà une affaire" in res.output and "a/dossier.yaml" in res.output
    assert not (tmp_path / "perm" / "dossier.yaml").exists()


def test_a_new_case_refused_in_the_web_leaves_no_folder(tmp_path):
    """With a case folder as the workspace, « Nouveau dossier » was refused but left an empty folder."""
    from conftest import copy_example

    ws = copy_example(tmp_path / "affaire")
    client = create_app(ws, limits=store.Limits(), workers=1).test_client()
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="_csrf" value="')[1].split('"')[0]
    before = sorted(p.name for p in ws.iterdir())
    r = client.post("/nouveau", data={"_csrf": token, "nom": "Aïcha Diallo"}, follow_redirects=True)
    assert "est dans le dossier d'une autre affaire" in html.unescape(r.get_data(as_text=True))
    assert sorted(p.name for p in ws.iterdir()) == before


@pytest.mark.parametrize("text, wrong", [("Courriel du 31 nov, sans réponse", "31 nov"), ("le 30 fev", "30 fev"),
                                         ("le 31 avr", "31 avr")])
def test_abbreviated_months_without_a_dot_still_count(tmp_path, run, text, wrong):
    """The exception for « sept » (seven) had been made for every abbreviation (attack 29)."""
    data = default_case()
    data["pieces"][1]["titre"] = text
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1 and f"« {wrong} » n'existe pas au calendrier" in res.output, res.output


def test_a_dotless_i_is_no_unexplained_refusal(tmp_path):
    """« juıllet » (a Turkish keyboard) matched « juillet » case-blindly and ended in « valeur invalide »."""
    data = default_case()
    data["situation"] = "Entré en France le 14 juıllet 2015."
    assert load(write_case(tmp_path / "a", data)).situation.startswith("Entré")


@pytest.mark.parametrize("written, value", [("1.200,50", 1200.5), ("€50", 50), ("50 EUR", 50), ("50 € par jour", 50)])
def test_more_ways_to_write_an_amount(tmp_path, written, value):
    data = default_case()
    data["demandes"] = {"astreinte_par_jour": written}
    assert load(write_case(tmp_path / "a", data)).demandes.astreinte_par_jour == value


def test_a_thousands_dot_not_ending_in_zero_is_asked_too(tmp_path, run):
    data = default_case()
    data["demandes"] = {"astreinte_par_jour": "1.255"}
    res = run("check", write_case(tmp_path / "a", data))
    assert "montant ambigu « 1.255 » : écrivez 1255 (sans point) pour ce nombre d'euros" in res.output, res.output


@pytest.mark.parametrize("twice", [("2025-03-04 00:05", "2025-03-04 00:05"),
                                   ("2025-10-26 02:30", "2025-10-26 02:30+01:00")])
def test_the_same_attempt_twice_is_warned_of(tmp_path, run, twice):
    """Written twice (or 2 h 30 before and after the clocks go back): « onze tentatives » for ten, two
    identical rows, no warning (attack 30)."""
    attempts = ["2025-03-03 08:55", *twice, "2025-03-10 08:50", "2025-10-27 08:40"]
    data = default_case(attempts)
    data["signature"]["date"] = "2025-11-01"
    res = run("check", write_case(tmp_path / "a", data))
    assert "[tentative-en-double]" in res.output and "Les tentatives n° 2 et n° 3 sont à la même minute" in res.output, \
        res.output


def test_a_tribunal_written_in_the_case(tmp_path, run):
    """« Paris » gave « du Paris », « Le le tribunal… » came of « le tribunal … », and another tribunal
    than the département's was never questioned (attack 30)."""
    data = default_case()
    data["tribunal"] = {"nom": "Paris"}
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1 and "écrivez le nom entier du tribunal" in res.output
    data["tribunal"] = {"nom": "Le Tribunal administratif de Paris"}
    path = write_case(tmp_path / "b", data)
    assert load(path).tribunal.nom == "tribunal administratif de Paris"
    res = run("check", path)
    assert "[tribunal-different]" in res.output and "n'est pas celui du département 93" in res.output, res.output
    data["tribunal"] = {"nom": "tribunal administratif de Montreuil"}
    assert "[tribunal-different]" not in run("check", write_case(tmp_path / "c", data)).output


@pytest.mark.parametrize("written, kept", [("TRIBUNAL ADMINISTRATIF DE MONTREUIL", "tribunal administratif de Montreuil"),
                                           ("Tribunal Administratif de Montreuil", "tribunal administratif de Montreuil"),
                                           ("tribunal  administratif\nde Montreuil", "tribunal administratif de Montreuil"),
                                           ("tribunal administratif de Montreuil".replace("Montreuil", "Montreuil"),
                                            "tribunal administratif de Montreuil")])
def test_a_tribunal_name_as_typed_reads_as_written_french(tmp_path, run, written, kept):
    """« tRIBUNAL ADMINISTRATIF », a line break in the sentence, a false « not the département's »
    warning for its own tribunal written with two spaces (attack 31)."""
    data = default_case()
    data["tribunal"] = {"nom": written}
    path = write_case(tmp_path / "a", data)
    assert load(path).tribunal.nom == kept
    assert "[tribunal-different]" not in run("check", path).output


@pytest.mark.parametrize("written", ["tribunal administratif", "tribunal administratifs de Montreuil"])
def test_a_tribunal_name_that_names_none(tmp_path, run, written):
    data = default_case()
    data["tribunal"] = {"nom": written}
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1 and "écrivez le nom entier du tribunal" in res.output


def test_a_reading_killed_from_outside_is_never_replayed(tmp_path, monkeypatch):
    """A reading's child killed from outside said « refaite au prochain contrôle », but the check's answer
    was kept and replayed: the capture was never read again (attack 31)."""
    from refere import files
    from refere.preuves import checkcache, lecture_cache

    case = load(write_case(tmp_path / "a", default_case()))
    kept = []
    monkeypatch.setattr(files, "remember", lambda path, text: kept.append(path))
    shot = next(t.capture.file.sha256 for t in case.tentatives if t.capture is not None)
    lecture_cache.cut(shot)  # this case's reading of one capture cut short
    try:
        checkcache.remember("essai", case, "réponse")
        assert kept == []
    finally:
        lecture_cache.done(shot)
    lecture_cache.cut("0" * 64)  # another file's cut reading says nothing of this case (a long-lived web server)
    try:
        checkcache.remember("essai", case, "réponse")
    finally:
        lecture_cache.done("0" * 64)
    assert not lecture_cache.unfinished([shot, "0" * 64]) and (kept or case.tentatives[0].capture.file.stamp is None)
