"""``refere courrier``: the letter to the préfecture, read back with python-docx, converted by LibreOffice."""

import datetime as dt
import os
import subprocess
import sys

import pikepdf
import pytest
from docx import Document

from conftest import ROOT, default_case, make_pdf, write_case
from refere.requete import courrier, render


def text_of(path):
    return ("\n".join(p.text for p in Document(str(path)).paragraphs).replace("\u00a0", " ").replace("\u2011", "-")
            .replace("\u2019", "'"))


def test_letter_lists_attempts_with_weekday_and_asks_for_an_appointment(run, case_path):
    res = run("courrier", case_path)
    assert res.exit_code == 0, res.output
    docx = case_path.parent / "courrier-prefecture.docx"
    text = text_of(docx)
    assert "lundi 3 mars 2025 à 8 h 55 : aucun créneau disponible ;" in text
    assert "vendredi 21 mars 2025 à 8 h 45 : aucun créneau disponible." in text  # the last one ends the list
    assert text.count("aucun créneau disponible") == 10
    assert ("Objet : Mme Aïssatou Binta DIALLO — demande de rendez-vous pour le dépôt d'une demande de "
            "renouvellement de titre de séjour") in text
    assert "[adresse postale de la préfecture]" in text  # no address known: a visible blank
    assert "Je vous remercie de bien vouloir me répondre dans un délai de huit jours." in text
    assert "Je vous demande donc de bien vouloir me fixer un rendez-vous" in text
    assert "Préfecture de la Seine-Saint-Denis" in text
    assert "J'ai essayé à 10 reprises" in text
    assert "carte de séjour temporaire" in text and "31 mai 2025" in text
    assert "tribunal administratif de Montreuil" in text
    lines = [p.text.replace("\u2019", "'") for p in Document(str(docx)).paragraphs if p.text.strip()]
    assert lines[-1] == "Mme Aïssatou Binta DIALLO"  # signed by the applicant
    # The e-mail body says the same words.
    mail = (case_path.parent / "courrier-prefecture.txt").read_text("utf-8").replace("\u2019", "'")
    for para in (p.strip() for p in text.split("\n") if p.strip()):
        assert para in mail
    assert "Madame, Monsieur,\n\n" in mail and "\u00a0" not in mail


def test_expired_title_and_counsel_signs_in_the_third_person(tmp_path):
    data = default_case()
    data["procedure"]["expiration_titre"] = "2025-02-01"
    data["conseil"] = {"qualite": "avocat", "nom": "Maître Claire Martin", "barreau": "Seine-Saint-Denis",
                       "courriel": "cm@example.org", "adresse": "3 place de la Mairie\n93200 Saint-Denis"}
    case = write_case(tmp_path / "a", data)
    out = courrier.write(case, tmp_path / "envoi", today=dt.date(2025, 3, 25))
    text = text_of(out.docx)
    assert "qui a expiré le 1er février 2025" in text
    assert "J'interviens pour Mme Aïssatou Binta DIALLO, née le 12 avril 1991" in text
    assert "Elle a essayé à 10 reprises" in text and "de ses tentatives" in text
    assert "bien vouloir lui fixer un rendez-vous pour le renouvellement de son titre" in text
    assert "Pour Mme Aïssatou Binta DIALLO," in text and text.rstrip().endswith("Maître Claire Martin")
    assert text.splitlines()[0] == "Maître Claire Martin" and "Courriel : cm@example.org" in text
    assert "À Saint-Denis, le 25 mars 2025" in text


def test_same_case_same_bytes_and_no_overwrite(run, case_path, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1743500000")
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("courrier", case_path, "-o", a).exit_code == 0
    assert run("courrier", case_path, "-o", b).exit_code == 0
    for name in ("courrier-prefecture.docx", "courrier-prefecture.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    res = run("courrier", case_path, "-o", a)
    assert res.exit_code == 1 and "--force" in res.output
    assert run("courrier", case_path, "-o", a, "--force").exit_code == 0


def test_courrier_on_missing_or_invalid_case(run, tmp_path):
    res = run("courrier", tmp_path / "absent" / "dossier.yaml")
    assert res.exit_code == 1 and "introuvable" in res.output and "Traceback" not in res.output
    bad = write_case(tmp_path / "b", "version: 1\nrequerant: [\n")
    res = run("courrier", bad)
    assert res.exit_code == 1 and "n'a pas été fermé" in res.output
    assert not (tmp_path / "b" / "courrier-prefecture.docx").exists()


def test_courrier_with_the_firms_letter_template(run, case_path, tmp_path):
    """« --modele »: the firm's own letter, with the same variables; an unknown one is refused, named."""
    firm = Document(str(courrier.template_path()))
    firm.add_paragraph("Cabinet Martin — {{ tentatives|length }} tentatives")
    firm.save(str(tmp_path / "cabinet.docx"))
    res = run("courrier", case_path, "--modele", tmp_path / "cabinet.docx")
    assert res.exit_code == 0, res.output
    assert "Cabinet Martin — 10 tentatives" in text_of(case_path.parent / "courrier-prefecture.docx")
    broken = Document()
    broken.add_paragraph("Bonjour {{ variable_inconnue }}")
    broken.save(str(tmp_path / "casse.docx"))
    res = run("courrier", case_path, "--modele", tmp_path / "casse.docx", "--force")
    assert res.exit_code == 1 and "variable_inconnue" in res.output and "Traceback" not in res.output
    res = run("courrier", case_path, "--modele", tmp_path / "absent.docx", "--force")
    assert res.exit_code == 1 and "introuvable" in res.output


def test_courrier_template_script_matches_committed_template(tmp_path):
    out = tmp_path / "regenerated.docx"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_courrier_template.py"), str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == (ROOT / "templates" / "courrier-prefecture.docx").read_bytes()


def test_letter_converts_with_libreoffice(case_path, tmp_path):
    if render.soffice() is None:
        if os.environ.get("REFERE_EXIGER_LIBREOFFICE") == "1":
            pytest.fail("LibreOffice est exigé (REFERE_EXIGER_LIBREOFFICE=1) mais introuvable")
        pytest.skip("LibreOffice (soffice) absent : conversion de la lettre non vérifiée")
    out = courrier.write(case_path, tmp_path / "envoi", today=dt.date(2025, 3, 25))
    pdf = tmp_path / "lettre.pdf"
    render.to_pdf(out.docx, pdf)
    with pikepdf.open(pdf) as doc:
        assert 1 <= len(doc.pages) <= 3


def _counsel_case(tmp_path, **procedure):
    data = default_case(["2025-03-03 08:55", "2025-03-04 00:05", "2025-03-06 14:10"])
    data["procedure"] = {"type": "changement_de_statut", **procedure}
    data["prefecture"]["site"] = "1 esplanade Jean Moulin, 93000 Bobigny"
    data["signature"] = {"date": "2025-04-01"}
    data["conseil"] = {"qualite": "avocat", "civilite": "Mme", "nom": "Jeanne MARTIN", "barreau": "Seine-Saint-Denis",
                       "toque": "PB 123", "adresse": "8 rue du Port\n93300 Aubervilliers"}
    data["urgence"] = [{"motif": "emploi", "fait": "Son employeur exige le récépissé avant la fin du mois.",
                        "echeance": "2025-04-30"}]
    return data


def test_counsel_letter_names_counsel_as_the_requete_does(tmp_path):
    case = write_case(tmp_path / "a", _counsel_case(tmp_path))
    out = courrier.write(case, tmp_path / "envoi", today=dt.date(2025, 3, 25))
    lines = [p.text.replace("\u00a0", " ").replace("\u2019", "'") for p in Document(str(out.docx)).paragraphs if p.text.strip()]
    assert lines[:3] == ["Maître Jeanne MARTIN", "Avocate au barreau de la Seine-Saint-Denis", "Toque PB 123"]
    assert lines[-2:] == ["Pour Mme Aïssatou Binta DIALLO,", "Maître Jeanne MARTIN"]
    text = "\n".join(lines)
    assert "À Aubervilliers, le 25 mars 2025" in text  # the counsel's town, as the requête's « Fait à »
    assert ("Objet : Mme Aïssatou Binta DIALLO — demande de rendez-vous pour le dépôt d'une demande de titre de "
            "séjour (changement de statut)") in text
    assert "1 esplanade Jean Moulin" in text and "[adresse postale" not in text
    assert "– Son employeur exige le récépissé avant la fin du mois — échéance : le 30 avril 2025." in text
    assert "dans un délai de huit jours, à l'adresse indiquée en tête de ce courrier" in text


def test_a_fact_that_says_its_date_is_not_followed_by_it_again(tmp_path):
    data = _counsel_case(tmp_path)
    data["urgence"] = [{"motif": "emploi", "echeance": "2025-03-15",
                        "fait": "Son contrat ne peut être prolongé au-delà du 15 mars 2025."}]
    case = write_case(tmp_path / "a", data)
    out = courrier.write(case, tmp_path / "envoi", today=dt.date(2025, 3, 25))
    text = "\n".join(p.text.replace("\u00a0", " ") for p in Document(str(out.docx)).paragraphs)
    assert "– Son contrat ne peut être prolongé au-delà du 15 mars 2025 (date déjà dépassée)." in text
    assert "échéance : le 15 mars" not in text


def test_anef_letter_describes_the_blocked_filing(tmp_path):
    data = _counsel_case(tmp_path, voie="anef")
    data["diligences"] = [{"date": "2025-03-09", "type": "centre_contact_citoyen",
                           "description": "formulaire envoyé, réponse automatique"}]
    case = write_case(tmp_path / "a", data)
    text = text_of(courrier.write(case, tmp_path / "envoi", today=dt.date(2025, 3, 25)).docx)
    assert "article R. 431-2 du code de l'entrée et du séjour des étrangers et du droit d'asile" in text
    assert "Elle a tenté de la déposer à 3 reprises" in text
    assert "lundi 3 mars 2025 à 8 h 55 : dépôt impossible ;" in text
    assert ("– le 9 mars 2025 : saisine du centre de contact citoyen de l'ANEF (formulaire envoyé, réponse "
            "automatique).") in text
    assert "permettre l'enregistrement de sa demande" in text and "solution de substitution" in text
    assert "attestation de prolongation d'instruction" in text
    assert "créneau" not in text and "fixer un rendez-vous" not in text


def test_letter_sentences_keep_french_no_break_spaces(tmp_path):
    data = _counsel_case(tmp_path, voie="anef")
    out = courrier.write(write_case(tmp_path / "a", data), tmp_path / "envoi", today=dt.date(2025, 3, 25))
    raw = "\n".join(p.text for p in Document(str(out.docx)).paragraphs).replace("\u2019", "'")
    assert "R.\u00a0431\u20112" in raw and "tentatives\u00a0:" in raw and "L.\u00a0521\u20113" in raw
    assert " :" not in raw.replace("\u00a0:", "")


def test_letter_uses_the_prefecture_address_and_introduces_urgency_as_facts(run, tmp_path):
    data = default_case()
    data["urgence"] = [{"motif": "emploi", "fait": "Son contrat de travail prend fin le 30 avril 2025 si elle "
                        "n'a pas de récépissé."}]
    case = write_case(tmp_path / "a", data)
    res = run("courrier", case)
    assert res.exit_code == 0, res.output
    assert "À compléter : l'adresse postale de la préfecture" in res.output
    assert "Remplissez « adresse de la préfecture »" in res.output
    text = text_of(case.parent / "courrier-prefecture.docx")
    assert "[adresse postale de la préfecture]" in text
    assert ("Ma demande est urgente. Voici les faits, tels qu'ils seront exposés au juge des référés pour "
            "Mme Aïssatou Binta DIALLO :") in text.replace("\u00a0", " ")
    assert "Son contrat de travail prend fin le 30 avril 2025" in text and "Ma situation est urgente" not in text
    data["prefecture"]["adresse"] = "Préfecture de la Seine-Saint-Denis\n1 esplanade Jean Moulin\n93000 Bobigny"
    write_case(tmp_path / "a", data)
    res = run("courrier", case, "--force")
    assert res.exit_code == 0 and "À compléter" not in res.output
    lines = [p.text.replace("\u2019", "'") for p in Document(str(case.parent / "courrier-prefecture.docx")).paragraphs]
    assert "1 esplanade Jean Moulin" in lines and "93000 Bobigny" in lines
    assert "[adresse postale" not in "\n".join(lines)
    # Counsel writes for the applicant: the same facts, « sa demande ».
    data["conseil"] = {"qualite": "avocat", "civilite": "Mme", "nom": "Claire Martin", "barreau": "Paris",
                       "adresse": "3 place de la Mairie\n93200 Saint-Denis"}
    write_case(tmp_path / "a", data)
    run("courrier", case, "--force")
    text = text_of(case.parent / "courrier-prefecture.docx")
    assert "Les circonstances suivantes rendent sa demande urgente :" in text


def test_service_typed_in_the_address_is_not_printed_twice(tmp_path):
    data = default_case()
    data["prefecture"]["adresse"] = "Service des étrangers\n1 esplanade Jean Moulin\n93007 Bobigny Cedex"
    out = courrier.write(write_case(tmp_path / "a", data), tmp_path / "envoi", today=dt.date(2025, 3, 25))
    lines = [x.strip() for x in text_of(out.docx).splitlines()]
    assert lines.count("Service des étrangers") == 1
    start = lines.index("Service des étrangers")
    assert lines[start - 1].startswith("Préfecture ") and lines[start + 1] == "1 esplanade Jean Moulin"
    # Without it, the tool writes it above the address.
    data["prefecture"]["adresse"] = "1 esplanade Jean Moulin\n93007 Bobigny Cedex"
    out = courrier.write(write_case(tmp_path / "b", data), tmp_path / "envoi-b", today=dt.date(2025, 3, 25))
    lines = [x.strip() for x in text_of(out.docx).splitlines()]
    assert lines[lines.index("1 esplanade Jean Moulin") - 1] == "Service des étrangers"


def test_the_letter_never_replaces_a_file_the_case_cites(run, tmp_path):
    """A pièce stored as « courrier-prefecture.docx » (a PDF: files are known by their content) was
    replaced by the letter with --force, and by the web's button, which always forces (attack 20)."""
    data = default_case()
    data["pieces"][1]["fichier"] = "courrier-prefecture.docx"
    make_pdf(tmp_path / "affaire" / "courrier-prefecture.docx", text="Courriel")
    path = write_case(tmp_path / "affaire", data)
    before = (path.parent / "courrier-prefecture.docx").read_bytes()
    assert before.startswith(b"%PDF")
    res = run("courrier", path, "--force")
    assert res.exit_code == 1
    assert "courrier-prefecture.docx » est un fichier que le dossier cite (pièce ou capture)" in res.output
    assert (path.parent / "courrier-prefecture.docx").read_bytes() == before
    assert not (path.parent / "courrier-prefecture.txt").exists()
    res = run("courrier", path, "-o", tmp_path / "lettres")
    assert res.exit_code == 0 and (tmp_path / "lettres" / "courrier-prefecture.docx").is_file(), res.output


def test_counsel_writing_for_a_person_without_civilite_names_them(tmp_path):
    """No civilité: the letter said « Elle a essayé … » of « Karim BENALI », the feminine agreeing with
    nothing in it (attack 23). The person's name stands where a pronoun would."""
    data = default_case()
    del data["requerant"]["civilite"]
    data["conseil"] = {"qualite": "association", "nom": "Association Accès Droits", "adresse": "3 place de la Mairie\n93200 Saint-Denis"}
    out = courrier.write(write_case(tmp_path / "a", data), tmp_path / "envoi", today=dt.date(2025, 3, 25))
    text = text_of(out.docx)
    assert "Aïssatou Binta DIALLO a essayé à 10 reprises" in text, text
    assert "Elle " not in text and " elle " not in text


def test_the_letter_names_the_titre_held_as_the_requete_does(tmp_path):
    data = default_case()
    data["procedure"]["titre_actuel"] = "visa de long séjour valant titre de séjour « étudiant »"
    case = write_case(tmp_path / "a", data)
    text = text_of(courrier.write(case, tmp_path / "envoi", today=dt.date(2025, 3, 25)).docx)
    assert "titulaire d'un visa de long séjour valant titre de séjour « étudiant », qui expire le 31 mai 2025" \
        in text.replace("\u2019", "'").replace("\u00a0", " "), text


def test_a_recepisse_held_is_renewed_in_the_letter_as_in_the_requete(tmp_path):
    """The letter said « titulaire d'un titre de séjour (récépissé…) », « je ne peux pas obtenir le
    récépissé » and asked the titre's renewal, while the requête asked the récépissé's (attack 26)."""
    data = default_case()
    data["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "récépissé de demande de titre de séjour",
                         "expiration_titre": "2025-05-31"}
    case = write_case(tmp_path / "a", data)
    text = text_of(courrier.write(case, tmp_path / "envoi", today=dt.date(2025, 3, 25)).docx)
    text = text.replace("\u2019", "'").replace("\u00a0", " ")
    assert "Je suis titulaire d'un récépissé de demande de titre de séjour, qui expire le 31 mai 2025" in text, text
    assert "pour le renouvellement de mon récépissé" in text and "ne peux pas obtenir le renouvellement de mon récépissé" in text
    assert "le renouvellement de mon titre de séjour" not in text


@pytest.mark.parametrize("kind, objet, way", [
    ("autre", "demande de rendez-vous : le changement d'adresse sur son titre de séjour",
     "pour cette démarche, ou de m'indiquer une autre manière de l'accomplir."),
    ("remise_titre", "demande de rendez-vous pour la remise de son titre de séjour",
     "une autre manière de retirer mon titre de séjour."),
    ("recueil_biometrie", "demande de rendez-vous pour le recueil de ses données biométriques",
     "une autre manière de faire recueillir mes données biométriques."),
    ("changement_situation", "demande de rendez-vous pour la déclaration d'un changement de situation",
     "une autre manière de faire cette déclaration."),
    ("delivrance_recepisse", "demande de rendez-vous pour le renouvellement de son récépissé",
     "une autre manière d'obtenir ce renouvellement."),
])
def test_the_letter_names_what_the_appointment_is_for(run, tmp_path, kind, objet, way):
    """« autre » said « pour ma démarche » and « le dépôt d'une demande »; a card collected was « une demande
    de remise de titre » to « déposer » (attack 35)."""
    data = default_case()
    data["procedure"] = {"type": kind}
    if kind == "autre":
        data["procedure"]["precisions"] = "le changement d'adresse sur son titre de séjour."
    case = write_case(tmp_path / "a", data)
    res = run("courrier", case)
    assert res.exit_code == 0, res.output
    text = text_of(case.parent / "courrier-prefecture.docx")
    assert f"Objet : Mme Aïssatou Binta DIALLO — {objet}" in text, text
    assert way in text and "dépôt d'une demande de remise" not in text
    if kind == "autre":
        assert ("Je dois me présenter en préfecture pour ma démarche : le changement d'adresse sur mon titre de "
                "séjour.") in text
