"""« refere modele verifier » and « build --modele »: every problem at once, in French, with its paragraph."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docx import Document

from conftest import ROOT
from refere.requete.samples import VARIANTS, sample_contexts

BUILTIN = ROOT / "templates" / "requete-refere-mesures-utiles.docx"


def make_template(path: Path, *paragraphs: str, header: str | None = None, footer: str | None = None) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    if header is not None:
        doc.sections[0].header.paragraphs[0].text = header
    if footer is not None:
        doc.sections[0].footer.paragraphs[0].text = footer
    doc.save(str(path))
    return path


def problems(output: str) -> list[str]:
    return [line.strip().removeprefix("– ") for line in output.splitlines() if line.strip().startswith("–")]


def test_firm_template_with_typos_reports_everything_at_once(tmp_path, run):
    tpl = make_template(
        tmp_path / "cabinet.docx",
        "Cabinet Martin & associés",
        "POUR : {{ nmo }}, {{ requerant.ne }} le {{ requerant.date_naissance }}",
        "Demeurant {{ requerant.adrese }}",
        "Titre expirant le {{ procedure.expiration|date_fr }}",
        "Somme : {{ demandes.frais|montant_euros }}",
        "{% if requerant.situation is mapping %}x{% endif %}",
    )
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1
    found = problems(res.output)
    assert len(found) == 5, res.output
    assert "inutilisable (5 problèmes)" in res.output
    assert found[0] == ("corps du document, paragraphe 2 « POUR : {{ nmo }}, {{ requerant.ne }} le "
                        "{{ requerant.date_naissance }} » : variable inconnue « nmo » ; vouliez-vous dire « requerant.nom » ?")
    assert "paragraphe 3" in found[1] and "« requerant.adrese »" in found[1] and "« requerant.adresse » ?" in found[1]
    assert "paragraphe 4" in found[2] and "« procedure.expiration|date_fr »" in found[2]
    assert "« 31 mai 2025 »" in found[2] and "date ISO" in found[2]
    assert "paragraphe 5" in found[3] and "filtre inconnu « montant_euros »" in found[3] and "« montant_fr » ?" in found[3]
    assert "paragraphe 6" in found[4] and "« requerant.situation »" in found[4]


def test_build_gives_the_verifiers_messages_before_any_work(tmp_path, run, example):
    tpl = make_template(tmp_path / "cabinet.docx", "{{ requerant.designation }}", "{{ requerant.nmo }}",
                        "{% if conseil %}{{ conseil.nom }}{% endif %}{{ procedure.expiration|date_fr }}")
    verifier = problems(run("modele", "verifier", tpl).output)
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 1
    assert problems(res.output) == verifier and len(verifier) == 2
    assert "refere modele verifier" in res.output
    assert not (example.parent / "dossier").exists()


@pytest.mark.parametrize("payload", ["{{ nmo is defined }}", "{% if requerant.nmo is none %}x{% endif %}",
                                     "{% if requerant.nmo is mapping %}x{% endif %}", "{{ nmo|default('') }}"])
def test_tests_on_unknown_names_rejected_by_verifier_and_build(tmp_path, run, example, payload):
    tpl = make_template(tmp_path / "t.docx", "Cabinet", payload)
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1 and "variable inconnue" in res.output and "paragraphe 2" in res.output
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 1 and "variable inconnue" in res.output


def test_missing_if_conseil_caught_by_the_sample_without_counsel(tmp_path, run, example):
    tpl = make_template(tmp_path / "avocat.docx", "{{ requerant.designation }}",
                        "Pour le requérant : {{ conseil.designation }}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1
    [problem] = problems(res.output)
    assert problem.startswith("corps du document, paragraphe 2 « Pour le requérant : {{ conseil.designation }} »")
    assert "« conseil » est vide dans ce cas" in problem and "{% if conseil %}" in problem
    assert "(exemple : sans conseil" in problem
    # The example case has no counsel either: build refuses it with the same words.
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 1 and "« conseil » est vide dans ce cas" in res.output
    fixed = make_template(tmp_path / "avocat2.docx", "{{ requerant.designation }}",
                          "{% if conseil %}Pour le requérant : {{ conseil.designation }}{% endif %}")
    assert run("modele", "verifier", fixed).exit_code == 0


def test_syntax_errors_translated_with_their_paragraph(tmp_path, run):
    tpl = make_template(tmp_path / "s1.docx", "Intro", "{% if conseil %}", "{{ conseil.nom }}", "{% endfi %}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1 and "paragraphe 4 « {% endfi %} » : balise inconnue « {% endfi %} »" in res.output
    assert "fermez-le par « {% endif %} »" in res.output and "Encountered" not in res.output
    tpl = make_template(tmp_path / "s2.docx", "Intro", "{% for t in tentatives %}", "{{ t.date }}", "Fin")
    res = run("modele", "verifier", tpl)
    assert "paragraphe 2 « {% for t in tentatives %} » : « {% for %} » jamais fermé : ajoutez « {% endfor %} »" in res.output
    tpl = make_template(tmp_path / "s3.docx", "Intro", "{% if %}x{% endif %}", "{{ nmo }}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1 and "paragraphe 2 « {% if %}x{% endif %} » : expression manquante" in res.output
    # The part does not parse, yet the other tags are still checked.
    assert "variable inconnue « nmo »" in res.output
    tpl = make_template(tmp_path / "s4.docx", "{{ requerant.nom|majuscules( }}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1 and "paragraphe 1" in res.output and "unexpected" not in res.output


def test_headers_and_footers_are_checked_and_located(tmp_path, run):
    tpl = make_template(tmp_path / "entete.docx", "{{ requerant.designation }}",
                        header="Cabinet — réf. {{ conseil.referance }}", footer="Page {{ pagee }}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1
    assert "en-tête (header1.xml)" in res.output and "« conseil.referance »" in res.output
    assert "pied de page (footer1.xml)" in res.output and "« pagee »" in res.output


def test_wrong_kind_of_value_in_a_computed_expression(tmp_path, run):
    tpl = make_template(tmp_path / "calc.docx", "{% for t in tentatives %}{{ t.date|date_fr }}{% endfor %}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1 and "« t.date|date_fr »" in res.output and "date ISO" in res.output


def test_builtin_and_exported_templates_pass(tmp_path, run):
    assert run("modele", "verifier", BUILTIN).exit_code == 0
    out = tmp_path / "cabinet.docx"
    res = run("modele", "exporter", out)
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == BUILTIN.read_bytes()
    assert "refere modele verifier" in res.output
    res = run("modele", "verifier", out)
    assert res.exit_code == 0 and "correct" in res.output


def test_exporter_never_overwrites_without_force(tmp_path, run):
    out = tmp_path / "cabinet.docx"
    out.write_bytes(b"mon travail")
    res = run("modele", "exporter", out)
    assert res.exit_code == 1 and "existe déjà" in res.output and "--force" in res.output
    assert out.read_bytes() == b"mon travail"
    assert run("modele", "exporter", out, "--force").exit_code == 0
    assert out.read_bytes() == BUILTIN.read_bytes()
    res = run("modele", "exporter", tmp_path / "absent" / "x.docx")
    assert res.exit_code == 1 and "Erreur interne" not in res.output
    res = run("modele", "exporter", tmp_path / "cabinet.odt")
    assert res.exit_code == 1 and ".docx" in res.output
    assert not list(tmp_path.glob(".*.part"))


def test_exporter_help_is_french(run):
    res = run("modele", "exporter", "--help")
    assert res.exit_code == 0 and "modèle intégré" in res.output and "Remplace" in res.output


def test_firm_letterhead_template_builds(tmp_path, run, example):
    tpl = make_template(
        tmp_path / "cabinet.docx",
        "À Madame ou Monsieur le juge des référés du {{ tribunal.nom }}",
        "POUR : {{ requerant.designation }}, {{ requerant.ne }} le {{ requerant.date_naissance }}",
        "{% if conseil %}Ayant pour conseil {{ conseil.designation }}{% endif %}",
        "{%p for t in tentatives %}",
        "{{ t.numero }}. {{ t.date }} à {{ t.heure }} : {{ t.resultat }}",
        "{%p endfor %}",
        "Fait à {{ signature.lieu }}, le {{ signature.date_iso|date_fr }}",
        header="Cabinet — {{ requerant.nom|majuscules }}",
    )
    assert run("modele", "verifier", tpl).exit_code == 0
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 0, res.output
    doc = Document(str(example.parent / "dossier" / "requete.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "POUR : M. Karim BENALI" in text and re.search(r"^10\. .+ à .+ : ", text, re.M)
    assert "BENALI" in doc.sections[0].header.paragraphs[0].text


def test_sample_cases_cover_the_shapes_of_real_cases():
    contexts = [c for _, c in sample_contexts()]
    assert {c["conseil"] is None for c in contexts} == {True, False}
    assert {c["conseil"]["qualite"] for c in contexts if c["conseil"]} == {"avocat", "association"}
    assert {c["requerant"]["civilite"] for c in contexts} == {"M.", "Mme", ""}
    assert {bool(c["urgence"]) for c in contexts} == {True, False}
    data = list(VARIANTS.values())
    assert {d.get("aide_juridictionnelle") for d in data} == {None, "obtenue", "demandee"}
    assert {d["procedure"].get("voie", "rendez_vous") for d in data} == {"rendez_vous", "anef"}
    assert {(d.get("conseil") or {}).get("civilite") for d in data} >= {"M.", "Mme"}


@pytest.mark.parametrize("tag, expected", [
    ("{% endif %}", "« {% endif %} » sans « {% if %} » ouvert avant lui"),
    ("{% if conseil %}{% else %}{% else %}{% endif %}", "« {% else %} » mal placé"),
    ("{{ requerant.nom }", "« } » inattendu dans une balise"),
    ("{{ }}", "expression manquante"),
    ("{{ requerant.nom|majuscules(}}", "paragraphe 2"),
])
def test_syntax_messages_are_french(tmp_path, run, tag, expected):
    res = run("modele", "verifier", make_template(tmp_path / "s.docx", "Intro", tag))
    assert res.exit_code == 1 and expected in res.output and "paragraphe 2" in res.output, res.output
    assert not re.search(r"\b(unexpected|expected|Encountered|token)\b", res.output), res.output


def test_every_problem_of_a_paragraph_in_one_run_sorted_by_paragraph(tmp_path, run):
    """A filter error no longer hides the same paragraph's « conseil est vide »: one run says both."""
    tpl = make_template(
        tmp_path / "cabinet.docx",
        "Autre : {{ inconnue_var }}",
        "Avocat : {{ conseil.nom|majuscules_inconnues }} et {{ conseil.barreau }}",
    )
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1
    found = problems(res.output)
    assert [int(re.search(r"paragraphe (\d+)", p)[1]) for p in found] == sorted(
        int(re.search(r"paragraphe (\d+)", p)[1]) for p in found)
    second = [p for p in found if "paragraphe 2" in p]
    assert any("filtre inconnu « majuscules_inconnues »" in p for p in second)
    assert any("« conseil » est vide dans ce cas" in p for p in second)
    assert sum("inconnue_var" in p for p in found) == 1  # the same cause is said once


def test_letter_template_exported_checked_and_recognised(tmp_path, run):
    """« modele exporter --courrier » writes the built-in letter; « modele verifier --courrier » fills it with
    the sample cases' letters; either kind given to the other command is named, not 20 false errors."""
    from refere.requete import courrier

    letter = tmp_path / "lettre-cabinet.docx"
    res = run("modele", "exporter", "--courrier", letter)
    assert res.exit_code == 0, res.output
    assert letter.read_bytes() == courrier.template_path().read_bytes()
    assert "refere modele verifier --courrier" in res.output
    res = run("modele", "verifier", "--courrier", letter)
    assert res.exit_code == 0 and "Modèle de lettre" in res.output and f"avec {len(VARIANTS)} dossiers" in res.output
    # Given to the other command, it is checked as what it is, and said so.
    res = run("modele", "verifier", letter)
    assert res.exit_code == 0, res.output
    assert "est un modèle de la lettre à la préfecture, pas de la requête : vérifié comme une lettre" in res.output
    assert "variable inconnue" not in res.output and "Modèle de lettre" in res.output
    res = run("modele", "verifier", "--courrier", BUILTIN)
    assert res.exit_code == 0 and "est un modèle de la requête, pas de la lettre" in res.output
    # A firm's letter with a typo: located, with the nearest name.
    bad = make_template(tmp_path / "faute.docx", "{{ objett }}", "{{ phrases.intro }}")
    res = run("modele", "verifier", "--courrier", bad)
    assert res.exit_code == 1 and "objett" in res.output and "objet" in res.output
    # And the letter command uses it.
    from conftest import default_case, write_case

    case = write_case(tmp_path / "a", default_case())
    res = run("courrier", case, "--modele", letter)
    assert res.exit_code == 0, res.output
    res = run("courrier", case, "--modele", bad, "--force")
    assert res.exit_code == 1 and f"« refere modele verifier --courrier {bad} »" in res.output


def test_a_document_without_a_body_is_refused_in_french(tmp_path, run):
    """word/document.xml reduced to <w:document/>: refused by name, never « Erreur interne »."""
    import zipfile

    src = make_template(tmp_path / "source.docx", "{{ requerant.nom }}")
    tpl = tmp_path / "sans-corps.docx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tpl, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>')
            zout.writestr(item, data)
    result = run("modele", "verifier", tpl)
    assert result.exit_code == 1
    assert "« sans-corps.docx » n'est pas un document Word (.docx) lisible (document sans corps)" in result.output
    assert "Erreur interne" not in result.output


def test_letter_template_knows_the_counsel_as_the_requete_does(tmp_path, run):
    """A firm's letter signs with {{ conseil.maitre }} and its toque: the verifier knows `conseil`,
    and the letter written with it names the counsel (and nothing when the applicant writes alone)."""
    from docx import Document as Read

    from conftest import default_case, write_case

    tpl = make_template(tmp_path / "lettre-cabinet.docx", "{{ objet }}",
                        "{% if conseil %}{{ conseil.maitre }}, {{ conseil.au_barreau }}, toque {{ conseil.toque }}"
                        "{% else %}{{ designation }}{% endif %}",
                        "{% if conseil %}{% for l in conseil.adresse_lignes %}{{ l }} / {% endfor %}{% endif %}")
    res = run("modele", "verifier", "--courrier", tpl)
    assert res.exit_code == 0, res.output
    assert "variable inconnue" not in run("modele", "verifier", "--courrier",
                                          make_template(tmp_path / "x.docx", "{{ conseil.reference }}")).output
    data = default_case()
    data["conseil"] = {"qualite": "avocat", "civilite": "Mme", "nom": "Jeanne MARTIN", "barreau": "Seine-Saint-Denis",
                       "toque": "PB 123", "adresse": "3 rue du Palais\n93000 Bobigny"}
    case = write_case(tmp_path / "avec-conseil", data)
    assert run("courrier", case, "--modele", tpl).exit_code == 0
    text = [p.text for p in Read(str(case.parent / "courrier-prefecture.docx")).paragraphs]
    assert text[1] == "Maître Jeanne MARTIN, au barreau de la Seine-Saint-Denis, toque PB 123"
    assert text[2] == "3\u00a0rue du Palais / 93000\u00a0Bobigny / "


def test_a_tag_that_would_print_true_false_or_none_is_refused(tmp_path, run):
    """« {{ procedure.type == "anef" }} » prints « False » in the requête: the verifier names its paragraph."""
    tpl = make_template(tmp_path / "cabinet.docx", "{{ requerant.designation }}",
                        "Voie : {{ procedure.type == 'anef' }}", "{{ requerant.civilite == 'Mme' and 'Madame' }}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1
    found = problems(res.output)
    assert len(found) == 2, res.output
    assert found[0].startswith("corps du document, paragraphe 2 « Voie : {{ procedure.type == 'anef' }} » : affiche « False »")
    assert "paragraphe 3" in found[1] and "affiche « False »" in found[1] and "{% if" in found[1]


def test_a_paragraph_that_does_not_parse_hides_no_other_problem(tmp_path, run):
    """A broken tag in the body no longer stops the sample renders: the header's « conseil est vide » and
    the footer's printed « False » are reported in the same run, sorted by part and paragraph."""
    tpl = make_template(tmp_path / "cabinet.docx", "{{ requerant.designation }}",
                        "REQUÊTE {% if brouillon %}(PROJET){% endif %(article L. 521-3)",
                        header="CABINET {{ conseil.nom_seul|upper }}", footer="Réf. {{ procedure.type == 'anef' }}")
    res = run("modele", "verifier", tpl)
    assert res.exit_code == 1
    found = problems(res.output)
    assert len(found) == 3, res.output
    assert found[0].startswith("corps du document, paragraphe 2") and "balise mal formée" in found[0]
    assert found[1].startswith("en-tête (header1.xml)") and "« conseil » est vide dans ce cas" in found[1]
    assert found[2].startswith("pied de page (footer1.xml)") and "affiche « False »" in found[2]


@pytest.mark.parametrize("swap", ["en place", "par renommage"])
def test_a_template_replaced_after_its_check_is_never_filled(tmp_path, run, example, monkeypatch, swap):
    """Attack 34: build checked « --modele » at the start and read the path again to fill it, so a
    template put there meanwhile was filled unchecked. The bytes checked are the bytes filled."""
    import hashlib
    import json

    from refere.requete import verifier

    tpl = make_template(tmp_path / "cabinet.docx", "MODELE VERIFIE pour {{ requerant.nom }}")
    checked = tpl.read_bytes()
    other = make_template(tmp_path / "autre.docx", "MODELE REMPLACE {{ requerant.nom }}")
    real = verifier.check

    def check_then_swap(path, letter=False):
        real(path, letter)
        if swap == "en place":
            tpl.write_bytes(other.read_bytes())
        else:
            other.replace(tpl)

    monkeypatch.setattr(verifier, "check", check_then_swap)
    res = run("build", example, "--modele", tpl)
    assert res.exit_code == 0, res.output
    assert tpl.read_bytes() != checked  # the file named was indeed replaced during the build
    out = example.parent / "dossier"
    text = "\n".join(p.text for p in Document(str(out / "requete.docx")).paragraphs)
    assert "MODELE VERIFIE pour" in text and "REMPLACE" not in text
    recorded = json.loads((out / "inventaire.json").read_text("utf-8"))["construction"]["options"]["modele"]
    assert recorded == hashlib.sha256(checked).hexdigest()


def test_a_template_of_the_other_kind_is_named_by_batch_build_and_courrier(tmp_path, run):
    """A letter template given for the requête (or the reverse) gave 22 « variable inconnue » with
    wrong suggestions; « modele verifier » already knew it for what it is (attack 35)."""
    from conftest import default_case, write_case

    letter, requete = tmp_path / "lettre.docx", tmp_path / "requete.docx"
    assert run("modele", "exporter", "--courrier", letter).exit_code == 0
    assert run("modele", "exporter", requete).exit_code == 0
    case = write_case(tmp_path / "p" / "a", default_case())
    for args, what in [(("batch", case.parent.parent, "-o", tmp_path / "out", "--modele", letter), letter),
                       (("build", case, "--modele", letter), letter),
                       (("courrier", case, "--modele", requete), requete),
                       (("courrier", case.parent.parent, "--modele", requete), requete)]:
        res = run(*args)
        assert res.exit_code == 1, res.output
        kind = ("de la lettre à la préfecture, pas de la requête : employez-le avec « refere courrier --modele »"
                if what == letter else
                "de la requête, pas de la lettre à la préfecture : employez-le avec « refere build --modele »")
        assert f"« {what} » est un modèle {kind}" in res.output, res.output
        assert "variable inconnue" not in res.output
    assert not (tmp_path / "out").exists() and not (case.parent / "dossier").exists()
    assert not (case.parent / "courrier-prefecture.docx").exists()


def test_a_template_checked_once_is_not_checked_again_for_each_case(tmp_path, run, example, monkeypatch):
    """Each build fills a private copy of « --modele » (pinned): the verification, a child process of
    a second or more, is remembered by the template's bytes, not by where the copy lies — a batch's
    parent checks it once for all its cases."""
    from refere.modeles import limite
    from refere.requete import verifier

    verifier._VERIFIED.clear()
    template = tmp_path / "cabinet.docx"
    assert run("modele", "exporter", template).exit_code == 0
    runs = []
    real = limite.run
    monkeypatch.setattr(limite, "run", lambda *args, **kw: runs.append(args[0]) or real(*args, **kw))
    for k in range(3):
        result = run("build", example, "--modele", template, "-o", tmp_path / f"sortie-{k}", "-j", "1")
        assert result.exit_code == 0, result.output
    assert [f.__name__ for f in runs].count("_verify_now") == 1


def test_a_letter_template_replaced_after_its_check_is_never_filled(tmp_path, run, example, monkeypatch):
    """The same for « refere courrier --modele », checked once before every case of a desk's folder
    and filled case after case: the bytes checked are the bytes filled."""
    from refere.requete import verifier

    def letter(path: Path, mark: str) -> Path:  # the built-in letter, marked
        assert run("modele", "exporter", "--courrier", path).exit_code == 0
        doc = Document(str(path))
        doc.paragraphs[0].insert_paragraph_before(mark)
        doc.save(str(path))
        return path

    tpl, other = letter(tmp_path / "lettre.docx", "LETTRE VERIFIEE"), letter(tmp_path / "autre.docx", "LETTRE REMPLACEE")
    real = verifier.check

    def check_then_swap(path, letter=False):
        real(path, letter)
        other.replace(tpl)

    monkeypatch.setattr(verifier, "check", check_then_swap)
    res = run("courrier", example, "--modele", tpl, "-o", tmp_path / "envoi")
    assert res.exit_code == 0, res.output
    text = "\n".join(p.text for p in Document(str(next((tmp_path / "envoi").glob("*.docx")))).paragraphs)
    assert "LETTRE VERIFIEE" in text and "REMPLACEE" not in text
