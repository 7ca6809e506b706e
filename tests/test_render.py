"""The requête read back with python-docx, and converted by LibreOffice."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from docx import Document

from conftest import ROOT, default_case, pdf_text, require_tool, write_case
from refere.affaire import grammaire
from refere.build import Options, build
from refere.errors import TemplateError

HOSTILE = [
    "Tom & Jerry <script>alert('x')</script>",
    "« guillemets » \"droits\" 'simples'",
    "{{ 7 * 7 }} {% if true %}évalué{% endif %} {# commentaire #}",
    "Nguyễn Thị Minh Khai",
    "Şükrü Gökçe, İğdır",
]


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(c.text for c in row.cells))
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs]
    # The requête writes the typographic apostrophe (’); needles here are typed with « ' ».
    return "\n".join(parts).replace("\u2019", "'")


def rows(path: Path, index: int) -> list[list[str]]:
    return [[c.text.replace("\u2019", "'") for c in r.cells] for r in Document(str(path)).tables[index].rows]


def build_case(tmp_path, data, **kw):
    path = write_case(tmp_path / "affaire", data)
    kw.setdefault("jobs", 1)
    return build(path, Options(**kw))


def test_example_requete_sections(example):
    res = build(example, Options(jobs=1))
    text = docx_text(res.out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    for needle in ["RÉFÉRÉ", "REQUÊTE EN RÉFÉRÉ MESURES UTILES", "article L. 521-3 du code de justice administrative",
                   "tribunal administratif de Melun", "POUR", "CONTRE", "Le préfet du Val-de-Marne,\n21-29 avenue du Général-de-Gaulle\n94038 Créteil Cedex.",
                   "I. FAITS", "II. DISCUSSION", "Sur l'urgence", "Sur l'utilité de la mesure",
                   "Sur l'absence d'obstacle", "PAR CES MOTIFS", "BORDEREAU DES PIÈCES",
                   "CE, 10 juin 2020, n° 435594", "CE, 9 juin 2022, n° 453391",
                   "M. Karim BENALI, né le 3 novembre 1987 à Oran (Algérie)",
                   "https://www.val-de-marne.gouv.fr/booking/create/4025/1",
                   "Le requérant a effectué dix tentatives, entre le 1er et le 25 septembre 2025, réparties sur "
                   "quatre semaines distinctes et dix jours différents, dont cinq avant 9 h et trois autour de minuit.",
                   "Il est titulaire d'un certificat de résidence algérien « salarié », qui expire le "
                   "15 novembre 2025 (pièce n° 2).",
                   "Par courriel du 12 septembre 2025 (pièce n° 8), le requérant a sollicité un rendez-vous "
                   "auprès de la préfecture ; ce courriel est resté sans réponse.",
                   "FIXER ce rendez-vous au plus tard le 14 novembre 2025",
                   "astreinte de 50 € par jour de retard", "Fait à Créteil"]:
        assert needle in text, needle
    assert "timbre" not in text.lower()
    assert "PROJET" not in text


def test_table_of_attempts_and_bordereau_match_inventory(example):
    res = build(example, Options(jobs=1))
    path = res.out / "requete.docx"
    attempts = rows(path, 0)
    assert attempts[0] == ["N°", "Date", "Heure", "Résultat", "Preuve"]
    body = attempts[1:]
    assert len(body) == 10
    assert body[0] == ["1", "lundi 1er septembre 2025", "8\u00a0h\u00a052", "aucun créneau disponible",
                       "pièce n°\u00a04, p.\u00a01"]
    assert body[1][2] == "0\u00a0h\u00a003" and body[1][1] == "mardi 2 septembre 2025"  # just after midnight, own day
    for row, a in zip(body, res.inventory.attempts):
        assert row[4] == f"pièce n°\u00a0{a.piece}, p.\u00a0{a.page}"
    bordereau = rows(path, 1)[1:]
    files = sorted(p.name for p in (res.out / "pieces").iterdir())
    assert [r[0] for r in bordereau] == [str(n) for n in range(1, 10)]
    for r, p, f in zip(bordereau, res.inventory.pieces, files):
        assert r[1] == grammaire.nbsp_dates(p.titre) and r[2] == str(p.pages)  # dates never split
        assert f.startswith(f"{int(r[0]):02d}_")


def test_header_and_page_numbers(example):
    res = build(example, Options(jobs=1))
    with zipfile.ZipFile(res.out / "requete.docx") as z:
        footers = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("word/footer"))
        headers = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("word/header"))
        core = z.read("docProps/core.xml").decode()
    assert "PAGE" in footers and "NUMPAGES" in footers and "sur" in footers
    assert "RÉFÉRÉ" in headers
    assert "root" not in core and "refere" in core


def test_hostile_strings_appear_exactly(tmp_path):
    data = default_case()
    data["requerant"]["nom"] = HOSTILE[3]
    data["requerant"]["prenoms"] = HOSTILE[4]
    data["requerant"]["lieu_naissance"] = HOSTILE[0]
    data["procedure"]["titre_actuel"] = HOSTILE[1]
    data["urgence"] = HOSTILE + ["Long. " * 400]
    data["pieces"][0]["titre"] = HOSTILE[2]
    data["tentatives"][0]["note"] = "<b>&amp;</b>"
    res = build_case(tmp_path, data)
    text = docx_text(res.out / "requete.docx")
    for s in HOSTILE:
        # Typed text is printed as written; only « … » keeps its words on the line (no-break spaces).
        assert s in text or s in text.replace("\u00a0", " "), s
    assert ("Long. " * 400).strip() in text
    assert "<b>&amp;</b>" in text
    assert "49" not in text.split("{{ 7 * 7 }}")[0][-5:]
    assert "NGUYỄN THỊ MINH KHAI" in text  # the family name in capitals
    # The file is valid XML for a real word processor too (LibreOffice test below).
    with zipfile.ZipFile(res.out / "requete.docx") as z:
        assert "&lt;script&gt;" in z.read("word/document.xml").decode()


@pytest.mark.parametrize("conseil, expected, signer", [
    (None, None, "Mme Aïssatou Binta DIALLO"),
    ({"qualite": "avocat", "civilite": "Mme", "nom": "Maître Jeanne MARTIN", "barreau": "Seine-Saint-Denis",
      "toque": "PB 123", "courriel": "jm@example.org", "adresse": "3 rue du Palais, 93000 Bobigny",
      "telephone": "01 02 03 04 05", "reference": "2025-0142"},
     "ayant pour conseil Maître Jeanne MARTIN, avocate au barreau de la Seine-Saint-Denis, toque PB 123, "
     "3 rue du Palais, 93000 Bobigny, téléphone : 01 02 03 04 05, courriel : jm@example.org, et élisant domicile "
     "au cabinet de son conseil.", "Maître Jeanne MARTIN"),
    ({"qualite": "avocat", "nom": "Paul DURAND", "barreau": "Lyon", "ville": "Villeurbanne"},
     "ayant pour conseil Maître Paul DURAND, avocat au barreau de Lyon, et élisant domicile", "Maître Paul DURAND"),
    ({"qualite": "association", "nom": "La Cimade Île-de-France", "adresse": "1 rue X\n75011 Paris"},
     "élisant domicile auprès de l'association La Cimade Île-de-France, "
     "1 rue X, 75011 Paris.", "Mme Aïssatou Binta DIALLO"),
    ({"qualite": "association", "nom": "Association Droits Devant"}, None, "Mme Aïssatou Binta DIALLO"),
])
def test_counsel_variants(tmp_path, conseil, expected, signer):
    data = default_case()
    data["conseil"] = conseil
    del data["signature"]["lieu"]
    text = docx_text(build_case(tmp_path, data, brouillon=True).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    end = text.split("PAR CES MOTIFS")[1]
    lawyer = bool(conseil and conseil["qualite"] == "avocat")
    if expected:
        assert expected in text
        assert "Maître Maître" not in text
    # Art. 4 loi n° 71-1130: only a lawyer represents and signs for the applicant.
    assert ("ayant pour conseil" in text) is lawyer
    assert ("Pour Mme Aïssatou Binta DIALLO," in end) is lawyer
    assert "association" not in end.lower()
    if conseil and conseil["qualite"] == "association" and "adresse" not in conseil:
        assert "élection de domicile" not in text
    assert signer in end
    assert ("La requête est dispensée du ministère d'avocat" in text) is not lawyer
    assert ("élisant domicile au cabinet de son conseil" in text) is lawyer
    town = {None: "Saint-Denis", "Seine-Saint-Denis": "Bobigny", "Lyon": "Villeurbanne"}
    if conseil and conseil["qualite"] == "association":
        assert "Fait à Saint-Denis, le" in end  # the applicant signs: his town
    else:
        assert f"Fait à {town[conseil and conseil['barreau']]}, le" in end
    if conseil and conseil.get("civilite") == "Mme":
        assert text.startswith("Référence du cabinet : 2025-0142")
        assert "avocate au barreau de la Seine-Saint-Denis" in end


@pytest.mark.parametrize("proc, presumed", [
    ("renouvellement_titre_sejour", True),
    ("premiere_demande_titre_sejour", False),
    ("admission_exceptionnelle_sejour", False),
])
def test_procedure_variants(tmp_path, proc, presumed):
    data = default_case()
    data["procedure"]["type"] = proc
    data["urgence"] = ["Je risque de perdre mon emploi d'aide-soignante."]
    if not presumed:  # quoted words alone do not argue urgency: a third-person fact too, proven
        data["pieces"].append({"id": "contrat", "titre": "Contrat", "categorie": "urgence", "fichier": "pieces/c.pdf"})
        # No titre: a job offered (a job held would be an avowal of unauthorised work, never argued).
        data["urgence"].append({"motif": "promesse_embauche", "fait": "une clinique l'embauchera à compter du "
                                "30 mai 2025", "preuves": ["contrat"]})
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert ("la condition d'urgence est en principe constatée" in text) is presumed
    assert ("« circonstances particulières caractérisant la nécessité pour lui d'obtenir rapidement ce "
            "rendez-vous » (CE, 9 juin 2022, n° 453391)" in text) is not presumed
    # The applicant's own words, quoted and attributed, never the requête's argument.
    # In a renewal the titre's expiry is the first argued paragraph: the quote comes second.
    lead = "En second lieu" if presumed else "En deuxième lieu"
    assert f"{lead}, la requérante expose sa situation en ces termes : « Je risque de perdre mon emploi " \
           "d'aide-soignante. »" in text
    label = {"renouvellement_titre_sejour": "le renouvellement de son titre de séjour",
             "premiere_demande_titre_sejour": "le dépôt de sa première demande de titre de séjour",
             "admission_exceptionnelle_sejour": "sa demande d'admission exceptionnelle au séjour"}[proc]
    assert f"date de rendez-vous pour {label}" in text


@pytest.mark.parametrize("demandes", [
    {},
    {"rdv_sous_jours": 30},
    {"astreinte_par_jour": 100},
    {"frais_l761_1": 1500},
    {"delai_jours": 8, "rdv_sous_jours": 21, "astreinte_par_jour": 150, "frais_l761_1": 1200.5},
])
def test_optional_conclusions(tmp_path, demandes):
    data = default_case()
    data["demandes"] = demandes
    text = docx_text(build_case(tmp_path, data).out / "requete.docx")
    conclusions = text.split("PAR CES MOTIFS")[1].replace("\u202f", " ").replace("\u00a0", " ").replace("\u2011", "-")
    assert f"dans un délai de {demandes.get('delai_jours', 15)} jours" in conclusions
    assert "DIRE" not in conclusions
    if "rdv_sous_jours" in demandes:
        assert f"FIXER ce rendez-vous au plus tard dans un délai de {demandes['rdv_sous_jours']} jours" in conclusions
    else:  # the titre expires on 31 May 2025, after the requête (1 April): the day before by default
        assert "FIXER ce rendez-vous au plus tard le 30 mai 2025" in conclusions
    assert ("ASSORTIR cette injonction d'une astreinte" in conclusions) is ("astreinte_par_jour" in demandes)
    assert ("L. 761-1" in conclusions) is ("frais_l761_1" in demandes)
    if demandes.get("frais_l761_1") == 1500:
        assert "la somme de 1 500 € à verser à la requérante au titre de l'article L. 761-1" in conclusions
    if demandes.get("frais_l761_1") == 1200.5:
        assert "1 200,50 €" in conclusions


def test_gender_and_paris(tmp_path):
    data = default_case()
    data["requerant"]["civilite"] = "M."
    data["prefecture"]["departement"] = "75"
    text = docx_text(build_case(tmp_path / "a", data).out / "requete.docx")
    assert "M. Aïssatou Binta DIALLO, né le" in text and "Le requérant a effectué" in text
    assert "Le préfet de police." in text and "enjoindre au préfet de police" in text
    assert "le titre de séjour du requérant expire" in text and "un rendez-vous au requérant :" in text.replace("\u00a0", " ").replace("\u2011", "-")
    assert "tribunal administratif de Paris" in text
    del data["requerant"]["civilite"]
    data["prefecture"]["departement"] = "69"
    text = docx_text(build_case(tmp_path / "b", data).out / "requete.docx")
    assert "Aïssatou Binta DIALLO, date et lieu de naissance\u00a0: 12 avril 1991, Conakry (Guinée)" in text
    assert "né(e)" not in text and "La partie requérante a effectué" in text
    assert "le titre de séjour de la partie requérante expire" in text
    assert "Le préfet du Rhône." in text


def test_courriers_and_oqtf_and_url(tmp_path):
    data = default_case()
    data["procedure"]["oqtf"] = True
    data["prefecture"]["url_rendez_vous"] = "https://www.seine-saint-denis.gouv.fr/rdv?a=1&b=2"
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert ("Par courriel du 12 mars 2025 (pièce n° 5), la requérante a sollicité un rendez-vous auprès de la "
            "préfecture ; ce courriel est resté sans réponse.") in text
    assert "obligation de quitter le territoire" in text
    assert "https://www.seine-saint-denis.gouv.fr/rdv?a=1&b=2" in text


def test_brouillon_marks_every_page(tmp_path):
    data = default_case(["2025-03-03 08:55", "2025-03-04 00:05"])
    res = build_case(tmp_path, data, brouillon=True)
    doc = Document(str(res.out / "requete.docx"))
    assert any("PROJET" in p.text for s in doc.sections for p in s.header.paragraphs)


def test_requete_converts_with_libreoffice(example, run):
    require_tool("LibreOffice", "soffice", hint="paquet Debian libreoffice-writer-nogui")
    res = run("build", example, "--pdf")
    assert res.exit_code == 0, res.output
    pdf = example.parent / "dossier" / "requete.pdf"
    text = pdf_text(pdf)
    assert "PAR CES MOTIFS" in text and "ENJOINDRE" in text and "préfet du Val-de-Marne" in text
    assert "BORDEREAU DES PIÈCES" in text
    import pikepdf

    with pikepdf.open(pdf) as doc:
        assert len(doc.pages) >= 3
    # Same inputs, same bytes: LibreOffice's /DocChecksum differed from run to run (attack 20).
    first = pdf.read_bytes()
    res = run("build", example, "--pdf", "--force")
    assert res.exit_code == 0 and pdf.read_bytes() == first, res.output


def test_pdf_without_libreoffice_is_a_clear_message(example, run, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    res = run("build", example, "--pdf")
    assert res.exit_code == 1 and "LibreOffice" in res.output and "libreoffice-writer-nogui" in res.output
    assert not (example.parent / "dossier").exists()


# --- custom templates -----------------------------------------------------------------------

def make_template(path: Path, *paragraphs: str) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(str(path))
    return path


def test_custom_template(example, tmp_path, run):
    tpl = make_template(tmp_path / "cabinet.docx", "Cabinet X — {{ requerant.designation }} c/ {{ defendeur.nom }}",
                        "{{ tentatives|length }} tentatives ; {{ signature.date_iso|date_fr }}")
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 0, res.output
    text = docx_text(example.parent / "dossier" / "requete.docx")
    assert "Cabinet X — M. Karim BENALI c/ le préfet du Val-de-Marne" in text
    assert "10 tentatives" in text


def test_custom_template_unknown_variable_fails_build(example, tmp_path, run):
    tpl = make_template(tmp_path / "faux.docx", "{{ requerant.nom }} {{ requerant.surnom }}")
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 1 and "surnom" in res.output
    assert not (example.parent / "dossier").exists()


def test_modele_verifier(tmp_path, run):
    good = ROOT / "templates" / "requete-refere-mesures-utiles.docx"
    assert run("modele", "verifier", good).exit_code == 0
    bad = make_template(tmp_path / "faux.docx", "{{ inconnu }} {{ autre_inconnu }} {{ requerant.nom }}")
    res = run("modele", "verifier", bad)
    assert res.exit_code == 1 and "« autre_inconnu »" in res.output and "« inconnu »" in res.output
    bad2 = make_template(tmp_path / "faux2.docx", "{{ requerant.surnom }}")
    res = run("modele", "verifier", bad2)
    assert res.exit_code == 1 and "surnom" in res.output
    broken = make_template(tmp_path / "faux3.docx", "{% if %}")
    assert run("modele", "verifier", broken).exit_code == 1
    (tmp_path / "pas-un-docx.docx").write_text("bonjour")
    res = run("modele", "verifier", tmp_path / "pas-un-docx.docx")
    assert res.exit_code == 1 and "Word" in res.output


def test_template_script_matches_committed_template(tmp_path):
    out = tmp_path / "regenerated.docx"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_template.py"), str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == (ROOT / "templates" / "requete-refere-mesures-utiles.docx").read_bytes()


def test_template_error_type():
    assert TemplateError("x").exit_code == 1


def test_singular_figures_in_a_draft(tmp_path):
    data = default_case(["2025-03-03 08:55"])
    text = docx_text(build_case(tmp_path, data, brouillon=True).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert "justifie d'une tentative, sur une seule semaine, le 3 mars 2025" in text
    assert "a effectué une tentative, le 3 mars 2025." in text
    assert "une semaines" not in text and "une tentatives" not in text and "de une" not in text


def test_urgency_facts_stated_once(tmp_path):
    data = default_case()
    data["urgence"] = ["Mon employeur m'a prévenu par écrit."]
    text = docx_text(build_case(tmp_path, data).out / "requete.docx")
    assert text.count("Mon employeur m'a prévenu par écrit.") == 1
    assert "«\u00a0Mon employeur m'a prévenu par écrit.\u00a0»" in text


def test_precisions_sentence_ends_once(tmp_path):
    data = default_case()
    data["procedure"] = {"type": "autre", "precisions": "Demande de carte « salarié » (article L. 421-1 du CESEDA)."}
    data["urgence"] = ["Promesse d'embauche valable jusqu'au 30 avril 2025."]
    # A plain sentence with no pièce, outside renewal: only a draft (urgence-sans-piece blocks).
    text = docx_text(build_case(tmp_path, data, brouillon=True).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert "(article L. 421-1 du CESEDA)." in text and "CESEDA).." not in text
    # Argued like a structured fact: after the connector, without its capital.
    assert "En l'espèce, promesse d'embauche valable jusqu'au 30 avril 2025." in text and "ci-après" not in text
    assert "Tel est le cas en l'espèce." not in text


def test_missing_template_fails_before_any_work(example, tmp_path, run):
    res = run("build", example, "--modele", tmp_path / "absent.docx")
    assert res.exit_code == 1 and "modèle introuvable" in res.output
    assert not (example.parent / "dossier").exists()


# --- grammar and wording --------------------------------------------------------------------

@pytest.mark.parametrize("address, town", [
    ("12 rue X, 93200 Saint-Denis", "Saint-Denis"),
    ("12 rue X\n93200 Saint-Denis", "Saint-Denis"),
    ("BP 12, 69002 Lyon Cedex 02", "Lyon"),
    ("12 rue X", None),
])
def test_town_of_one_line_address(address, town):
    from refere.requete.render import town_of

    assert town_of(address) == town


@pytest.mark.parametrize("barreau, expected", [
    ("Seine-Saint-Denis", "au barreau de la Seine-Saint-Denis"),
    ("seine saint denis", "au barreau de la Seine-Saint-Denis"),
    ("Val-de-Marne", "au barreau du Val-de-Marne"),
    ("Hauts-de-Seine", "au barreau des Hauts-de-Seine"),
    ("Essonne", "au barreau de l'Essonne"),
    ("Barreau de Lyon", "au barreau de Lyon"),
    ("Paris", "au barreau de Paris"),
    ("Orléans", "au barreau d'Orléans"),
    ("Le Havre", "au barreau du Havre"),
])
def test_barreau_article(barreau, expected):
    from refere.affaire.grammaire import barreau as form

    assert form(barreau) == expected


def test_counsel_and_applicant_forms():
    from refere.affaire import departements
    from refere.affaire.grammaire import conseil, defendeur, end_sentence, first_person, pieces_ref, requerant

    assert conseil("avocat", "Mme", "Me Jeanne MARTIN", "Lyon")["appellation"] == \
        "Maître Jeanne MARTIN, avocate au barreau de Lyon"
    assert conseil("avocat", None, "Maître Paul DURAND", None)["appellation"] == "Maître Paul DURAND, avocat"
    assert conseil("association", None, "Association Droits Devant", None)["appellation"] == "l'association Droits Devant"
    assert conseil("association", None, "L'association X", None)["Appellation"] == "L'association X"
    assert requerant(None)["du_requerant"] == "de la partie requérante"
    assert requerant("M.")["au_requerant"] == "au requérant"
    assert defendeur(departements.lookup("75"))["du_prefet"] == "du préfet de police"
    assert defendeur(departements.lookup("84"))["au_prefet"] == "au préfet de Vaucluse"
    assert pieces_ref([9, 2, 9]) == "(pièces n°\u00a02 et 9)" and pieces_ref([]) == ""
    assert end_sentence("fait.") == "fait." and end_sentence("fait ;") == "fait."
    assert first_person("J'ai perdu mon emploi") and not first_person("son employeur a écrit à Me Durand")


def test_old_case_file_still_builds(tmp_path):
    """A file of the first release: plain-string urgency, no new fields, non-renewal."""
    data = default_case()
    data["procedure"] = {"type": "premiere_demande_titre_sejour"}
    data["urgence"] = ["Sa promesse d'embauche expire le 30 avril 2025", "Je dois commencer le 2 mai."]
    text = docx_text(build_case(tmp_path, data, brouillon=True).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert "En premier lieu, sa promesse d'embauche expire le 30 avril 2025." in text
    assert "En second lieu, la requérante expose sa situation en ces termes : « Je dois commencer le 2 mai. »" in text


def test_aide_obtenue_and_paris_forms(tmp_path):
    data = default_case()
    data["prefecture"]["departement"] = "75"
    data["requerant"]["civilite"] = "M."
    data["conseil"] = {"qualite": "avocat", "nom": "Paul DURAND", "barreau": "Paris", "adresse": "1 rue X\n75001 Paris"}
    data["aide_juridictionnelle"] = "obtenue"
    data["decision_aj"] = "BAJ de Paris, n° 2025/001234 du 2 mars 2025"
    data["demandes"] = {"frais_l761_1": 1000}
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert ("Le requérant est admis au bénéfice de l'aide juridictionnelle par décision du bureau d'aide "
            "juridictionnelle de Paris, n° 2025/001234 du 2 mars 2025.") in text
    assert "ADMETTRE" not in text  # already granted: nothing provisional to ask
    assert ("à verser à Maître Paul DURAND en application des articles L. 761-1 du code de justice administrative "
            "et 37, alinéa 2") in text
    assert "avocat au barreau de Paris" in text and "ENJOINDRE au préfet de police de communiquer au requérant" in text


@pytest.mark.parametrize("expiration, demandes, expected", [
    ("2025-05-31", {"rdv_au_plus_tard": "2025-05-15"}, "FIXER ce rendez-vous au plus tard le 15 mai 2025."),
    # Nine days left: 48 hours to give a date, the appointment on the eve of the expiry.
    ("2025-04-10", {}, "dans un délai de 48 heures à compter de la notification de l'ordonnance à intervenir, une "
                       "date de rendez-vous pour le renouvellement de son titre de séjour ; – FIXER ce rendez-vous "
                       "au plus tard le 9 avril 2025"),
    # Already expired: 8 days, and the appointment within 8 days of the date's communication (never longer
    # than the injunction's own delay, never « 23 »).
    ("2025-03-01", {}, "dans un délai de 8 jours à compter de la notification de l'ordonnance à intervenir, une "
                       "date de rendez-vous pour le renouvellement de son titre de séjour ; – FIXER ce rendez-vous "
                       "dans un délai de 8 jours à compter de la communication de cette date"),
])
def test_rdv_deadline(tmp_path, expiration, demandes, expected):
    data = default_case()
    data["procedure"]["expiration_titre"] = expiration
    data["demandes"] = demandes
    data["urgence"] = []
    text = docx_text(build_case(tmp_path, data, brouillon=True).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    conclusions = text.split("PAR CES MOTIFS")[1].replace("\n", " ")
    assert expected in conclusions


# --- lawyer review of issue 9 -----------------------------------------------------------------

def test_fixer_takes_earliest_deadline_on_a_working_day(tmp_path):
    data = default_case()
    data["pieces"].append({"id": "contrat", "titre": "Contrat", "categorie": "urgence", "fichier": "pieces/c.pdf"})
    # Titre 31 May; the job ends Monday 19 May: the day before is Sunday 18 May → Friday 16 May.
    data["urgence"] = [{"motif": "emploi", "fait": "son contrat sera suspendu à l'expiration de son titre",
                        "echeance": "2025-05-19", "preuves": ["contrat"]}]
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert "FIXER ce rendez-vous au plus tard le 16 mai 2025." in text  # 48 days ahead: the date alone
    assert "en tout état de cause" not in text
    assert "une échéance précise, le 19 mai 2025, avant laquelle le rendez-vous doit avoir eu lieu" in text
    # The same job ending on 5 May, 34 days after the requête: its eve could pass before the ordonnance.
    data["urgence"][0]["echeance"] = "2025-05-05"
    text = docx_text(build_case(tmp_path / "near", data).out / "requete.docx").replace("\u00a0", " ")
    # The eve (Friday 2 May) stays the date, the one « C'est avant cette date » refers to; a late
    # ordonnance gets 15 days from its notification.
    assert ("FIXER ce rendez-vous au plus tard le 2 mai 2025 ou, si l'ordonnance est notifiée après le "
            "17 avril 2025, dans les 15 jours de sa notification") in text


def test_first_person_emploi_keeps_l8251_1_and_written_requests_list(tmp_path):
    data = default_case()
    data["urgence"] = [{"motif": "emploi", "fait": "mon employeur va me licencier"}]
    data["pieces"].append({"titre": "Lettre recommandée à la préfecture", "categorie": "courrier_prefecture",
                           "fichier": "pieces/lrar.pdf", "date": "2025-03-20"})
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert "« mon employeur va me licencier ». Or nul ne peut employer un étranger" in text
    assert "La requérante a en outre sollicité un rendez-vous auprès de la préfecture par écrit :" in text
    assert "– courriel du 12 mars 2025 (pièce n° 5) ;" in text
    assert "– lettre recommandée du 20 mars 2025 (pièce n° 6)." in text
    assert "Ces demandes sont restées sans réponse." in text and "de demandes écrites restées sans réponse" in text


def test_anef_window_not_opening_day_says_in_the_delay(tmp_path):
    data = default_case()
    data["procedure"].update(voie="anef", expiration_titre="2025-07-05")  # window opens 7 March 2025
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    # Attempts from 3 March: those before the window are not the argument, the first inside it is.
    assert ("a tenté de déposer sa demande dès le 3 mars 2025, avant même l'ouverture de ce délai le 7 mars 2025, "
            "et a poursuivi ses tentatives dans ce délai :") in text
    assert "dès l'ouverture de ce délai" not in text


def test_anef_window_diligence_and_aj_piece(tmp_path):
    data = default_case()
    data["procedure"].update(voie="anef", expiration_titre="2025-06-30")  # window opens 2 March 2025
    data["pieces"] += [
        {"id": "ccc", "titre": "Courriel du centre de contact citoyen", "categorie": "courrier_prefecture",
         "fichier": "pieces/ccc.pdf"},
        {"titre": "Décision du bureau d'aide juridictionnelle", "fichier": "pieces/aj.pdf"},
    ]
    data["diligences"] = [{"date": "2025-03-09", "type": "centre_contact_citoyen",
                           "description": "formulaire envoyé, réponse automatique", "preuves": ["ccc"]}]
    data["aide_juridictionnelle"] = "obtenue"
    data["decision_aj"] = "n° 2025/77 du 2 mars 2025"
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert ("a tenté de déposer sa demande dès le 3 mars 2025, à l'ouverture de ce délai, et a renouvelé ses "
            "tentatives depuis :") in text
    assert "avant même l'ouverture" not in text
    assert ("– le 9 mars 2025, elle a saisi le centre de contact citoyen de l'ANEF : formulaire envoyé, réponse "
            "automatique (pièce n° 6).") in text
    # Cited by the diligence, the CCC's answer is not a letter to the préfecture.
    assert "Courriel du centre de contact citoyen (pièce" not in text and "Par courriel du" in text
    assert "Par courriel du 12 mars 2025 (pièce n° 5)" in text
    assert ("admise au bénéfice de l'aide juridictionnelle par décision du bureau d'aide juridictionnelle "
            "(n° 2025/77 du 2 mars 2025) (pièce n° 7).") in text


def test_labels_read_right_everywhere(tmp_path):
    data = default_case()
    data["procedure"] = {"type": "changement_de_statut", "titre_actuel": "carte de séjour temporaire « étudiant »",
                         "expiration_titre": "2025-05-31",
                         "precisions": "changement de statut d'étudiant à salarié"}
    data["pieces"].append({"id": "contrat", "titre": "Contrat", "categorie": "urgence", "fichier": "pieces/c.pdf"})
    data["urgence"] = [{"motif": "promesse_embauche", "fait": "une société l'embauchera le 2 juin 2025",
                        "preuves": ["contrat"]}]
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    label = "le dépôt de sa demande de titre de séjour en changement de statut"
    assert f"de lui fixer un rendez-vous pour {label}, pour les motifs suivants" in text
    # The précisions joined into the sentence, never « Objet précis de la demande : … ».
    assert f"doit se présenter en préfecture pour {label} (changement de statut d'étudiant à salarié)." in text
    assert "Objet précis" not in text
    assert f"une date de rendez-vous pour {label} ;" in text
    assert f"{label} :" not in text
    assert "Elle est titulaire d'une carte de séjour temporaire « étudiant », qui expire le 31 mai 2025" in text


def test_site_in_contre_block_without_capital(tmp_path):
    data = default_case()
    data["prefecture"]["site"] = "Sous-préfecture du Raincy"
    text = docx_text(build_case(tmp_path, data).out / "requete.docx").replace("\u00a0", " ").replace("\u2011", "-")
    assert "Le préfet de la Seine-Saint-Denis (site : sous-préfecture du Raincy)." in text


def test_dates_never_split_across_lines(example):
    res = build(example, Options(jobs=1))
    text = docx_text(res.out / "requete.docx")
    assert "FIXER ce rendez-vous au plus tard le 14\u00a0novembre\u00a02025" in text
    assert "dans un délai de 15\u00a0jours" in text and "le 25\u00a0septembre\u00a02025, réparties" in text


def test_counsel_name_keeps_one_spelling_beside_an_email(tmp_path):
    # An apostrophe in a name turns typographic in every sentence, even the one that also gives an
    # e-mail address; the address itself stays as typed (a reader copies it).
    data = default_case()
    data["conseil"] = {"qualite": "avocat", "civilite": "Mme", "nom": "Sophie LEROUX-N'DIAYE",
                       "barreau": "Val-de-Marne", "courriel": "s.n'diaye@cabinet.fr"}
    doc = Document(str(build_case(tmp_path, data, brouillon=True).out / "requete.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "N'DIAYE" not in text.replace("s.n'diaye@cabinet.fr", "")
    assert text.count("LEROUX-N\u2019DIAYE") >= 2
    assert "s.n'diaye@cabinet.fr" in text


def test_template_compiled_ahead_is_not_compiled_again(tmp_path, monkeypatch):
    """batch's parent compiles the built-in template before its workers fork (build.preload): a
    requête rendered after it compiles nothing more, and is the same document as without it."""
    import jinja2

    from refere.modeles.document import precompile
    from refere.requete import render

    case_file = write_case(tmp_path / "affaire", default_case())
    monkeypatch.setattr(render, "_SHARED", [])
    build(case_file, Options(out=tmp_path / "sans"))
    monkeypatch.setattr(render, "_SHARED", [])
    precompile(render.builtin_template(), render.shared_env())
    compiled = []
    real = jinja2.Environment.from_string

    def counting(self, source, *args, **kwargs):
        compiled.append(source)
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "from_string", counting)
    build(case_file, Options(out=tmp_path / "avec"))
    assert compiled == []
    assert (tmp_path / "avec" / "requete.docx").read_bytes() == (tmp_path / "sans" / "requete.docx").read_bytes()


def test_an_opendocument_template_is_named_as_such(run, tmp_path):
    """A sound LibreOffice file given as template read as a damaged Word file (attack 21)."""
    import zipfile

    odt = tmp_path / "cabinet.odt"
    with zipfile.ZipFile(odt, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")  # stored, first
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                   '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.'
                   'opendocument.text"/></manifest:manifest>')
        z.writestr("content.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
                   'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2">'
                   '<office:body><office:text/></office:body></office:document-content>')
    res = run("modele", "verifier", odt)
    assert res.exit_code == 1
    assert ("« cabinet.odt » est un document OpenDocument (LibreOffice), pas un document Word : ouvrez-le et "
            "enregistrez-le au format Word (.docx)") in res.output, res.output


@pytest.mark.parametrize("name", ["cas;1", "dossier#2", "a%20b"])
def test_pdf_of_a_case_whose_folder_name_libreoffice_reads_as_a_url(tmp_path, run, name):
    """« ; », « # », « %20 » in the output path: LibreOffice read them as parts of a URL and answered in
    English, exit 1 (attack 30)."""
    from conftest import copy_example, require_tool

    require_tool("LibreOffice", "soffice", "REFERE_EXIGER_LIBREOFFICE")
    case = copy_example(tmp_path / name) / "dossier.yaml"
    out = tmp_path / name / "sortie"
    res = run("build", case, "-o", out, "--pdf")
    assert res.exit_code == 0, res.output
    assert (out / "requete.pdf").read_bytes().startswith(b"%PDF")
