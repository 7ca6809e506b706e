"""A custom template (issue 22.6, 22.10): no external relationship reaches the requête unless it
is a link a reader clicks, and its render is bounded by a hard wall-clock limit it cannot escape."""

from __future__ import annotations

import zipfile

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml

from refere.modeles import limite

TRACKER = "http://traceur.example/pixel.png"


def _exported(tmp_path, run):
    path = tmp_path / "cabinet.docx"
    assert run("modele", "exporter", path).exit_code == 0
    return path


def test_an_unused_external_link_is_not_carried_into_the_requete(tmp_path, run, case_path):
    template = _exported(tmp_path, run)
    doc = docx.Document(str(template))
    doc.part.relate_to(TRACKER, RT.HYPERLINK, is_external=True)
    doc.save(str(template))
    result = run("build", case_path, "--modele", template)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(case_path.parent / "dossier/requete.docx") as z:
        rels = [n for n in z.namelist() if n.endswith(".rels")]
        assert not any(b"traceur.example" in z.read(n) for n in rels)


def test_a_link_word_would_fetch_on_opening_is_refused(tmp_path, run, case_path):
    """A hyperlink-typed relationship named by settings' attachedTemplate: Word fetches it."""
    template = _exported(tmp_path, run)
    doc = docx.Document(str(template))
    settings = next(p for p in doc.part.package.iter_parts() if str(p.partname).endswith("/settings.xml"))
    rid = settings.relate_to("http://traceur.example/modele.dotm", RT.HYPERLINK, is_external=True)
    settings.element.append(parse_xml(
        '<w:attachedTemplate xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        f'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="{rid}"/>'))
    doc.save(str(template))
    for args in (("modele", "verifier", template), ("build", case_path, "--modele", template)):
        result = run(*args)
        assert result.exit_code == 1
        assert ("lien « http://traceur.example/modele.dotm » dans « word/_rels/settings.xml.rels » employé par "
                "« attachedTemplate », que Word irait chercher à l'ouverture") in result.output
    assert not (case_path.parent / "dossier").exists()


def test_a_render_past_the_wall_clock_limit_is_killed(tmp_path, run, case_path, monkeypatch):
    """Each operation here stays inside the sandbox's counters; only the hard limit stops it."""
    monkeypatch.setattr(limite, "WALL_SECONDS", 1.0)
    template = _exported(tmp_path, run)
    doc = docx.Document(str(template))
    doc.add_paragraph('{% set t = "mot " * 200000 %}{% for i in range(10000) %}{% for j in range(19) %}'
                      '{{ t|wordcount }}{% endfor %}{% endfor %}')
    doc.save(str(template))
    result = run("modele", "verifier", template)
    assert result.exit_code == 1
    assert "le modèle met plus de 1 seconde à se remplir (limite stricte) : refusé" in result.output


def test_the_limit_carries_back_results_and_errors():
    assert limite.run(sum, [1, 2, 3], seconds=30) == 6
    with pytest.raises(ZeroDivisionError):
        limite.run(divmod, 1, 0, seconds=30)
