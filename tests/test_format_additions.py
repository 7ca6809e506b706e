"""The backward-compatible additions to format 1: shapes, shorthand and cross references."""

from __future__ import annotations

import pytest

from refere.affaire import loader
from refere.errors import CaseInvalid


def _case(tmp_path, extra: str, urgence: str = "") -> "loader.Case":
    (tmp_path / "c.png").write_bytes(b"")  # never read: no capture is named
    text = f"""version: 1
requerant:
  nom: DIALLO
  prenoms: Awa
  date_naissance: 1991-04-12
  lieu_naissance: Conakry (Guinée)
  nationalite: guinéenne
  adresse: 12 rue de la République, 93200 Saint-Denis
procedure:
  type: changement_de_statut
prefecture:
  departement: "93"
tentatives:
  - date: 2025-03-03 08:55
{extra}
{urgence}
"""
    path = tmp_path / "dossier.yaml"
    path.write_text(text, encoding="utf-8")
    return loader.load(path)


def test_old_file_means_what_it_meant(tmp_path):
    case = _case(tmp_path, "", "urgence:\n  - son contrat prend fin le 31 mai 2025")
    assert case.procedure.voie == "rendez_vous"
    assert case.aide_juridictionnelle is None and case.diligences == []
    (u,) = case.urgence
    assert (u.motif, u.libre, u.fait) == ("autre", True, "son contrat prend fin le 31 mai 2025")


def test_structured_entries_and_ids(tmp_path):
    (tmp_path / "p").mkdir()
    import pikepdf
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(tmp_path / "p" / "contrat.pdf")
    case = _case(tmp_path, """pieces:
  - id: contrat
    titre: Contrat de travail
    categorie: urgence
    fichier: p/contrat.pdf
diligences:
  - date: 2025-03-12
    type: Centre contact citoyen
    description: formulaire, sans réponse
    preuves: [contrat]
aide_juridictionnelle: demandée
demandes:
  rdv_au_plus_tard: 2025-05-30
conseil:
  qualite: avocat
  civilite: Madame
  nom: Jeanne MARTIN
  barreau: Seine-Saint-Denis
  toque: PB 123
  ville: Bobigny
  reference: 2025-0142
signature:
  lieu: Bobigny
  date: 2025-04-01""", """urgence:
  - motif: emploi
    fait: son employeur ne pourra plus l'employer après le 31 mai 2025
    echeance: 2025-05-31
    preuves: [contrat]""")
    assert case.pieces_by_id == {"contrat": 0}
    assert case.diligences[0].type == "centre_contact_citoyen"
    assert case.aide_juridictionnelle == "demandee"
    assert case.conseil.civilite == "Mme" and case.conseil.toque == "PB 123"
    assert case.urgence[0].preuves == ["contrat"] and not case.urgence[0].libre
    assert case.demandes.rdv_au_plus_tard.isoformat() == "2025-05-30"


def test_unknown_and_duplicate_ids_name_both_lines(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"")
    import pikepdf
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(tmp_path / "a.pdf")
    with pytest.raises(CaseInvalid) as err:
        _case(tmp_path, """pieces:
  - id: a
    titre: A
    fichier: a.pdf
  - id: a
    titre: B
    fichier: a.pdf
aide_juridictionnelle: obtenue""", """urgence:
  - fait: il perdra son emploi
    preuves: [b]""")
    text = str(err.value)
    assert "dossier.yaml:19: pieces[1].id: identifiant « a » déjà employé par une autre pièce (ligne 16)" in text
    assert "urgence[0].preuves[0]: aucune pièce n'a l'identifiant « b »" in text
    assert "decision_aj" in text  # obtenue without its decision


def test_bad_choices_are_french(tmp_path):
    with pytest.raises(CaseInvalid) as err:
        _case(tmp_path, "procedure_x: 1", "urgence:\n  - motif: emplois\n    fait: x\n    libre: true")
    text = str(err.value)
    assert "vouliez-vous dire « emploi »" in text
    assert "urgence[0].libre" in text or "clé « libre »" in text
