"""The requête read back with python-docx, and converted by LibreOffice."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from docx import Document

from conftest import ROOT, default_case, pdf_text, require_tool, write_case
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
    return "\n".join(parts)


def rows(path: Path, index: int) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in Document(str(path)).tables[index].rows]


def build_case(tmp_path, data, **kw):
    path = write_case(tmp_path / "affaire", data)
    kw.setdefault("jobs", 1)
    return build(path, Options(**kw))


def test_example_requete_sections(example):
    res = build(example, Options(jobs=1))
    text = docx_text(res.out / "requete.docx")
    for needle in ["RÉFÉRÉ", "REQUÊTE EN RÉFÉRÉ MESURES UTILES", "article L. 521-3 du code de justice administrative",
                   "tribunal administratif de Melun", "POUR", "CONTRE", "Le préfet du Val-de-Marne.",
                   "I. FAITS", "II. DISCUSSION", "Sur l'urgence", "Sur l'utilité de la mesure",
                   "Sur l'absence d'obstacle", "PAR CES MOTIFS", "BORDEREAU DES PIÈCES",
                   "CE, 10 juin 2020, n°\u00a0435594", "CE, 9 juin 2022, n°\u00a0453391",
                   "M. Karim BENALI, né le 3 novembre 1987 à Oran (Algérie)",
                   "https://www.val-de-marne.gouv.fr/booking/create/1187/1",
                   "Le requérant a effectué 10 tentatives du 1er septembre 2025 au 25 septembre 2025, "
                   "sur 4 semaines distinctes et 10 jours, dont 5 avant 9 h et 3 autour de minuit.",
                   "astreinte de 50\u00a0€ par jour de retard", "Fait à Créteil"]:
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
    assert body[0] == ["1", "1er septembre 2025", "8\u00a0h\u00a052", "aucun créneau disponible", "pièce n°\u00a04, p.\u00a01"]
    assert body[1][2] == "0\u00a0h\u00a003" and body[1][1] == "2 septembre 2025"  # just after midnight, own day
    for row, a in zip(body, res.inventory.attempts):
        assert row[4] == f"pièce n°\u00a0{a.piece}, p.\u00a0{a.page}"
    bordereau = rows(path, 1)[1:]
    files = sorted(p.name for p in (res.out / "pieces").iterdir())
    assert [r[0] for r in bordereau] == [str(n) for n in range(1, 9)]
    for r, p, f in zip(bordereau, res.inventory.pieces, files):
        assert r[1] == p.titre and r[2] == str(p.pages)
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
        assert s in text, s
    assert ("Long. " * 400).strip() in text
    assert "<b>&amp;</b>" in text
    assert "49" not in text.split("{{ 7 * 7 }}")[0][-5:]
    assert "NGUYỄN THỊ MINH KHAI" in text  # the family name in capitals
    # The file is valid XML for a real word processor too (LibreOffice test below).
    with zipfile.ZipFile(res.out / "requete.docx") as z:
        assert "&lt;script&gt;" in z.read("word/document.xml").decode()


@pytest.mark.parametrize("conseil, expected, signer", [
    (None, None, "Mme Aïssatou Binta DIALLO"),
    ({"qualite": "avocat", "nom": "Maître Jeanne MARTIN", "barreau": "Seine-Saint-Denis", "courriel": "jm@example.org"},
     "ayant pour conseil Maître Jeanne MARTIN, avocat au barreau de Seine-Saint-Denis, courriel\u00a0: jm@example.org",
     "Maître Jeanne MARTIN"),
    ({"qualite": "association", "nom": "La Cimade Île-de-France", "adresse": "1 rue X\n75011 Paris"},
     "ayant pour conseil La Cimade Île-de-France, association, 1 rue X, 75011 Paris", "La Cimade Île-de-France"),
])
def test_counsel_variants(tmp_path, conseil, expected, signer):
    data = default_case()
    data["conseil"] = conseil
    text = docx_text(build_case(tmp_path, data).out / "requete.docx")
    if expected:
        assert expected.replace("\u00a0:", " :") in text.replace("\u00a0:", " :")
        assert "Pour Mme Aïssatou Binta DIALLO," in text
    else:
        assert "ayant pour conseil" not in text
    assert signer in text.split("PAR CES MOTIFS")[1]


@pytest.mark.parametrize("proc, presumed", [
    ("renouvellement_titre_sejour", True),
    ("premiere_demande_titre_sejour", False),
    ("admission_exceptionnelle_sejour", False),
])
def test_procedure_variants(tmp_path, proc, presumed):
    data = default_case()
    data["procedure"]["type"] = proc
    data["urgence"] = ["Je risque de perdre mon emploi d'aide-soignante."]
    text = docx_text(build_case(tmp_path, data).out / "requete.docx")
    assert ("la condition d'urgence est en principe regardée comme remplie" in text) is presumed
    assert ("circonstances particulières de l'espèce" in text) is not presumed
    assert "Je risque de perdre mon emploi d'aide-soignante." in text
    label = {"renouvellement_titre_sejour": "le renouvellement de son titre de séjour",
             "premiere_demande_titre_sejour": "la première demande de son titre de séjour",
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
    conclusions = text.split("PAR CES MOTIFS")[1].replace("\u202f", " ").replace("\u00a0", " ")
    assert f"dans un délai de {demandes.get('delai_jours', 15)} jours" in conclusions
    assert ("DIRE que ce rendez-vous devra avoir lieu" in conclusions) is ("rdv_sous_jours" in demandes)
    assert ("ASSORTIR cette injonction d'une astreinte" in conclusions) is ("astreinte_par_jour" in demandes)
    assert ("L. 761-1" in conclusions) is ("frais_l761_1" in demandes)
    if demandes.get("frais_l761_1") == 1500:
        assert "la somme de 1 500 €" in conclusions
    if demandes.get("frais_l761_1") == 1200.5:
        assert "1 200,50 €" in conclusions


def test_gender_and_paris(tmp_path):
    data = default_case()
    data["requerant"]["civilite"] = "M."
    data["prefecture"]["departement"] = "75"
    text = docx_text(build_case(tmp_path / "a", data).out / "requete.docx")
    assert "M. Aïssatou Binta DIALLO, né le" in text and "Le requérant a effectué" in text
    assert "Le préfet de police." in text and "enjoindre au préfet de police" in text
    assert "tribunal administratif de Paris" in text
    del data["requerant"]["civilite"]
    data["prefecture"]["departement"] = "69"
    text = docx_text(build_case(tmp_path / "b", data).out / "requete.docx")
    assert "né(e) le" in text and "La partie requérante a effectué" in text
    assert "Le préfet du Rhône." in text


def test_courriers_and_oqtf_and_url(tmp_path):
    data = default_case()
    data["procedure"]["oqtf"] = True
    data["prefecture"]["url_rendez_vous"] = "https://www.seine-saint-denis.gouv.fr/rdv?a=1&b=2"
    text = docx_text(build_case(tmp_path, data).out / "requete.docx")
    assert "Courriel à la préfecture du 12 mars 2025 (pièce n°\u00a05)" in text  # date not repeated
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
    text = docx_text(build_case(tmp_path, data, brouillon=True).out / "requete.docx")
    assert "justifie de 1 tentative, sur 1 semaine distincte, du 3 mars 2025 au 3 mars 2025" in text
    assert "1 semaines" not in text and "1 tentatives" not in text


def test_urgency_facts_stated_once(tmp_path):
    data = default_case()
    data["urgence"] = ["Mon employeur m'a prévenu par écrit."]
    text = docx_text(build_case(tmp_path, data).out / "requete.docx")
    assert text.count("Mon employeur m'a prévenu par écrit.") == 1
    assert "Les circonstances exposées au I" in text


def test_precisions_sentence_ends_once(tmp_path):
    data = default_case()
    data["procedure"] = {"type": "autre", "precisions": "Demande de carte « salarié » (article L. 421-1 du CESEDA)."}
    data["urgence"] = ["Promesse d'embauche valable jusqu'au 30 avril 2025."]
    text = docx_text(build_case(tmp_path, data).out / "requete.docx")
    assert "(article L. 421-1 du CESEDA)." in text and "CESEDA).." not in text
    assert "caractérisent l'urgence." in text and "ci-après" not in text


def test_missing_template_fails_before_any_work(example, tmp_path, run):
    res = run("build", example, "--modele", tmp_path / "absent.docx")
    assert res.exit_code == 1 and "modèle introuvable" in res.output
    assert not (example.parent / "dossier").exists()
