import os
import re

import pytest

from conftest import default_case, make_pdf, make_png, write_case
from refere.errors import CaseInvalid
from refere.affaire.loader import load
from refere.affaire.model import PROCEDURES


def problems(path) -> list[str]:
    with pytest.raises(CaseInvalid) as info:
        load(path)
    return [str(p) for p in info.value.problems]


def test_example_case_loads(example):
    case = load(example)
    assert case.requerant.nom == "BENALI"
    assert len(case.tentatives) == 10
    assert case.prefecture.departement == "94"
    assert case.departement.prefet == "le préfet du Val-de-Marne"


def test_every_problem_reported_at_once_with_line_and_field(tmp_path):
    text = """version: 1
requerant:
  prenom: Karim
  nom: [a, b]
  date_naissance: 2025-02-30
  lieu_naissance: Oran
  nationalite: algérienne
  adresse: x
procedure:
  type: renouvelement
prefecture:
  departement: "20"
tentatives:
  - date: 2025-03-03 08:55
    resultat: null
"""
    out = problems(write_case(tmp_path, text))
    joined = "\n".join(out)
    assert "dossier.yaml:3: requerant.prenom: champ inconnu « prenom » ; vouliez-vous dire « prenoms » ?" in out
    assert "dossier.yaml:4: requerant.nom: texte attendu, pas une liste" in out
    assert "dossier.yaml:5: requerant.date_naissance: date impossible « 2025-02-30 »" in out
    assert re.search(r"dossier.yaml:10: procedure.type: .*vouliez-vous dire « renouvellement_titre_sejour »", joined)
    assert re.search(r"dossier.yaml:12: prefecture.departement: .*2A", joined)
    assert "requerant.prenoms: champ obligatoire manquant" in joined
    assert len(out) >= 6


def test_misspelt_top_level_key(tmp_path):
    data = default_case()
    data["tentative"] = data.pop("tentatives")
    out = problems(write_case(tmp_path, data))
    assert any("tentative: champ inconnu « tentative » ; vouliez-vous dire « tentatives » ?" in p for p in out)
    assert any("tentatives: champ obligatoire manquant" in p for p in out)


@pytest.mark.parametrize("field, value, message", [
    (("demandes", "delai_jours"), "quinze", "nombre entier attendu"),
    (("demandes", "delai_jours"), 0, "au moins 1"),
    (("procedure", "oqtf"), "peut-être", "« oui » ou « non » attendu"),
    (("requerant", "courriel"), "pas-une-adresse", "adresse électronique invalide"),
    (("requerant", "numero_etranger"), "12345", "10 chiffres"),
    (("requerant", "civilite"), "Dr", "civilité"),
    (("prefecture", "url_rendez_vous"), "www.example.org", "https://"),
    (("options", "captures"), "hebdo", "valeurs possibles"),
    (("requerant", "date_naissance"), "2099-01-01", "futur"),
    (("version",), 2, "seule version"),
    (("demandes", "astreinte_par_jour"), 250_000.5, "doit être au plus 100\u202f000, pas « 250000.5 »"),
    (("demandes", "astreinte_par_jour"), 0, "doit être supérieur à 0, pas « 0 »"),
    (("prefecture", "departement"), "9" * 5000, "département inconnu « " + "9" * 60 + "… »"),
])
def test_wrong_values(tmp_path, field, value, message):
    data = default_case()
    target = data
    for key in field[:-1]:
        target = target.setdefault(key, {})
    target[field[-1]] = value
    out = problems(write_case(tmp_path, data))
    assert any(".".join(field) in p and message in p for p in out), out


def test_unquoted_departement_and_civilite_variants(tmp_path):
    data = default_case()
    data["prefecture"]["departement"] = 1
    data["requerant"]["civilite"] = "Madame"
    text = write_case(tmp_path, data).read_text().replace("departement: 1", "departement: 01")
    case = load(write_case(tmp_path, text))
    assert case.prefecture.departement == "01"
    assert case.requerant.civilite == "Mme"


def test_autre_needs_precisions(tmp_path):
    data = default_case()
    data["procedure"]["type"] = "autre"
    assert any("precisions" in p for p in problems(write_case(tmp_path, data)))
    data["procedure"]["precisions"] = "Attestation de résidence."
    assert load(write_case(tmp_path, data)).procedure.label == PROCEDURES["autre"]


def test_future_attempt_and_attempt_after_signature(tmp_path):
    data = default_case()
    data["tentatives"][0]["date"] = "2099-01-01 08:00"
    data["tentatives"][1]["date"] = "2025-05-02 08:00"
    data["signature"]["date"] = "2025-05-01"
    out = problems(write_case(tmp_path, data))
    assert any("tentatives[0].date: tentative dans le futur" in p for p in out)
    # Cross-field rules run once the fields themselves are valid.
    data["tentatives"][0]["date"] = "2025-03-03 08:55"
    out = problems(write_case(tmp_path, data))
    assert any("tentatives[1].date" in p and "postérieure à la date de signature" in p for p in out)


def test_fichier_or_fichiers(tmp_path):
    data = default_case()
    data["pieces"][0] = {"titre": "Passeport", "categorie": "identite"}
    assert any("pieces[0]" in p and "soit « fichier »" in p for p in problems(write_case(tmp_path, data)))


def test_empty_file(tmp_path):
    out = problems(write_case(tmp_path, ""))
    assert out == ["dossier.yaml: le fichier est vide : partez du modèle créé par « refere init »"]
    assert "vide" in problems(write_case(tmp_path, "# rien\n"))[0]


def test_list_at_root(tmp_path):
    out = problems(write_case(tmp_path, "- version: 1\n- requerant: x\n"))
    assert "une liste" in out[0] and out[0].startswith("dossier.yaml:1:")


def test_latin1_file(tmp_path):
    path = tmp_path / "dossier.yaml"
    path.write_bytes("version: 1\nrequerant:\n  nom: Hélène\n".encode("latin-1"))
    out = problems(path)
    assert out[0].startswith("dossier.yaml:3:") and "UTF-8" in out[0]


def test_utf8_bom_accepted(tmp_path, case_path):
    case_path.write_bytes(b"\xef\xbb\xbf" + case_path.read_bytes())
    assert load(case_path).requerant.prenoms == "Aïssatou Binta"


def test_python_tags_refused(tmp_path):
    out = problems(write_case(tmp_path, "version: !!python/object/apply:os.system ['echo pwned']\n"))
    assert "dossier.yaml:1" in out[0] and "étiquette" in out[0]


def test_alias_bomb_bounded(tmp_path):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("version: *a9")
    out = problems(write_case(tmp_path, "\n".join(lines) + "\n"))
    assert "alias" in out[0]


def test_duplicate_keys(tmp_path, case_path):
    text = case_path.read_text().replace("version: 1\n", "version: 1\nversion: 1\n")
    out = problems(write_case(tmp_path / "affaire", text))
    assert any(p.startswith("dossier.yaml:2: version: clé « version » écrite deux fois") for p in out)


def test_a_key_written_twice_points_at_the_value_yaml_keeps(tmp_path, case_path):
    """YAML keeps the second value: an impossible date there is said at its own line (attack 18:
    the first, valid one's line was given)."""
    text = case_path.read_text().replace("  date: '2025-04-01'\n", "  date: '2025-04-01'\n  date: '2025-02-30'\n")
    out = problems(write_case(tmp_path / "affaire", text))
    second = text.splitlines().index("  date: '2025-02-30'") + 1
    assert f"dossier.yaml:{second}: signature.date: date impossible « 2025-02-30 »" in out, out
    assert f"dossier.yaml:{second}: signature.date: clé « date » écrite deux fois (la seconde écraserait la première)" in out


def test_yaml_syntax_error_has_line(tmp_path):
    out = problems(write_case(tmp_path, "version: 1\nrequerant:\n  nom: a: b\n"))
    assert out[0].startswith("dossier.yaml:3:") and "syntaxe YAML" in out[0]
    out = problems(write_case(tmp_path, "version: 1\nrequerant:\n\tnom: x\n"))
    assert "tabulation" in out[0]


def test_huge_string_refused(tmp_path):
    data = default_case()
    data["requerant"]["nom"] = "A" * 10_000
    assert any("requerant.nom: trop long" in p for p in problems(write_case(tmp_path, data)))


# --- paths ---------------------------------------------------------------------------------

def _with_capture(tmp_path, capture: str):
    data = default_case()
    data["tentatives"][0]["capture"] = capture
    return write_case(tmp_path / "affaire", data)


def test_absolute_path_refused(tmp_path):
    make_png(tmp_path / "outside.png", size=(20, 20))
    out = problems(_with_capture(tmp_path, str(tmp_path / "outside.png")))
    assert any("tentatives[0].capture: chemin absolu" in p for p in out)


def test_dotdot_refused(tmp_path):
    make_png(tmp_path / "outside.png", size=(20, 20))
    out = problems(_with_capture(tmp_path, "../outside.png"))
    assert any("« .. » (remonter d'un dossier) n'est pas accepté dans un chemin ; copiez le fichier dans le "
               "dossier de l'affaire" in p for p in out), out
    # Coming back inside, it is refused all the same (one spelling per file), saying how to write it
    # rather than that it would leave the case's folder (attack 34).
    out = problems(_with_capture(tmp_path, "./captures/../captures/x.png"))
    assert any("n'est pas accepté dans un chemin ; écrivez « captures/x.png »" in p for p in out), out
    assert not any("sortirait" in p for p in out)


def test_symlink_out_refused(tmp_path):
    make_png(tmp_path / "outside.png", size=(20, 20))
    folder = tmp_path / "affaire" / "captures"
    folder.mkdir(parents=True)
    os.symlink(tmp_path / "outside.png", folder / "lien.png")
    out = problems(_with_capture(tmp_path, "captures/lien.png"))
    assert any("lien qui mène hors du dossier" in p for p in out)


def test_symlink_inside_accepted(tmp_path):
    folder = tmp_path / "affaire" / "captures"
    make_png(folder / "vraie.png", size=(20, 20))
    os.symlink(folder / "vraie.png", folder / "lien.png")
    case = load(_with_capture(tmp_path, "captures/lien.png"))
    assert case.tentatives[0].capture.kind == "png"


def test_missing_file_names_path_and_folder(tmp_path):
    path = _with_capture(tmp_path, "captures/absente.png")
    (path.parent / "captures" / "absente.png").unlink()
    out = problems(path)
    assert any(f"fichier introuvable « captures/absente.png » (cherché dans {path.parent})" in p for p in out)
    assert any(p.startswith("dossier.yaml:") and "tentatives[0].capture" in p for p in out)


def test_folder_and_empty_file(tmp_path):
    (tmp_path / "affaire" / "captures" / "dossier.png").mkdir(parents=True)
    assert any("est un dossier" in p for p in problems(_with_capture(tmp_path, "captures/dossier.png")))
    (tmp_path / "affaire" / "captures" / "vide.png").write_bytes(b"")
    assert any("0 octet" in p for p in problems(_with_capture(tmp_path, "captures/vide.png")))


@pytest.mark.parametrize("content, hint", [
    (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "HEIC"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 40, "WEBP"),
    (b"GIF89a" + b"\x00" * 40, "GIF"),
    (b"Bonjour, ceci est du texte", "ni une image"),
])
def test_type_judged_by_content(tmp_path, content, hint):
    f = tmp_path / "affaire" / "captures" / "capture.png"
    f.parent.mkdir(parents=True)
    f.write_bytes(content)
    out = problems(_with_capture(tmp_path, "captures/capture.png"))
    assert any(hint in p for p in out), out


def test_pdf_named_png_is_accepted_as_pdf(tmp_path):
    make_pdf(tmp_path / "affaire" / "captures" / "capture.png")
    case = load(_with_capture(tmp_path, "captures/capture.png"))
    assert case.tentatives[0].capture.kind == "pdf"


def test_sources_never_modified(case_path):
    before = {p: p.read_bytes() for p in case_path.parent.rglob("*") if p.is_file()}
    load(case_path)
    assert before == {p: p.read_bytes() for p in case_path.parent.rglob("*") if p.is_file()}


def test_directory_argument_finds_dossier_yaml(case_path):
    assert load(case_path.parent).requerant.nom == "Diallo"


def test_nonexistent_case(tmp_path):
    assert "introuvable" in problems(tmp_path / "nope.yaml")[0]


def test_null_sections_take_defaults(tmp_path):
    data = default_case()
    data.update(pieces=None, urgence=None, demandes=None, signature=None, options=None)
    case = load(write_case(tmp_path, data))
    assert case.pieces == [] and case.demandes.delai_jours == 15 and case.options.captures == "par_semaine"


def test_all_procedure_types_have_labels():
    assert len(PROCEDURES) == 12
    assert PROCEDURES["renouvellement_titre_sejour"] == "le renouvellement de son titre de séjour"


def test_control_character_named_with_its_line(tmp_path):
    out = problems(write_case(tmp_path, "version: 1\nrequerant:\n  nom: Dia\x1fllo\n"))
    assert out[0].startswith("dossier.yaml:3:") and "caractère de contrôle" in out[0]


def test_keys_that_look_like_pydantic_tags(tmp_path):
    out = problems(write_case(tmp_path, "version: 1\n'(': 1\n'a[b]': 2\n"))
    assert any(p.startswith("dossier.yaml:2: (: champ inconnu") for p in out)
    assert any(p.startswith("dossier.yaml:3: a[b]: champ inconnu") for p in out)


@pytest.mark.parametrize("written, value", [("oui", True), ("Non", False), ("true", True), ("false", False)])
def test_oqtf_in_french_or_english(tmp_path, written, value):
    data = default_case()
    data["procedure"]["oqtf"] = written
    assert load(write_case(tmp_path, data)).procedure.oqtf is value


@pytest.mark.parametrize("char", ["\u200b", "\u00a0", "\u2060"])
def test_unknown_key_with_an_invisible_character_says_so(tmp_path, char):
    """« nom » with a zero-width or non-breaking space looks known: the message names the character."""
    data = default_case()
    data["requerant"][char + "nom"] = data["requerant"].pop("nom")
    out = problems(write_case(tmp_path, data))
    assert any(f"champ inconnu « {char}nom » (caractère invisible U+{ord(char):04X} dans le nom : retapez-le) ; "
               "vouliez-vous dire « nom » ?" in p for p in out), out


def test_bom_inside_the_file_is_refused_with_its_line(tmp_path):
    out = problems(write_case(tmp_path, "version: 1\nrequerant:\n  \ufeffnom: Diallo\n"))
    assert out == ["dossier.yaml:3: caractère invisible (U+FEFF, marque d'encodage) au milieu du fichier : "
                   "supprimez-le dans votre éditeur de texte (effacez le début de la ligne et retapez-le)"]


def test_notes_too_long_together_are_refused_before_the_build(tmp_path):
    """One 20,000-character note repeated by YAML aliases took the requête past the template's
    10 million characters: `check` said the case was fine, the build blamed the built-in template
    (attack 19). The notes together are bounded, said at the attempts' line."""
    data = default_case()
    data["tentatives"].append({"date": "2025-03-22 09:00", "capture": "captures/c10.png"})
    for t in data["tentatives"]:
        t["note"] = "x" * 20_000
    path = write_case(tmp_path / "affaire", data)
    out = problems(path)
    line = path.read_text("utf-8").splitlines().index("tentatives:") + 1
    assert f"dossier.yaml:{line}: tentatives: notes des tentatives trop longues : plus de 200\u202f000 caractères en tout" \
        in "\n".join(out), out
    for t in data["tentatives"]:
        t["note"] = "x" * 10_000
    assert len(load(write_case(tmp_path / "affaire", data)).tentatives) == len(data["tentatives"]) > 10


def test_a_piece_lists_at_most_two_hundred_files(tmp_path):
    """One file listed 19,000 times in a pièce took a build to 600 MB (attack 19)."""
    data = default_case()
    data["pieces"][0] = {"titre": "Passeport", "categorie": "identite", "fichiers": ["pieces/passeport.pdf"] * 201}
    out = problems(write_case(tmp_path / "affaire", data))
    assert len(out) == 1 and out[0].startswith("dossier.yaml:") and "pieces[0].fichiers" in out[0] \
        and "200" in out[0], out
    data["pieces"][0]["fichiers"] = ["pieces/passeport.pdf"] * 200
    assert len(load(write_case(tmp_path / "affaire", data)).pieces[0].sources) == 200


@pytest.mark.parametrize("escape", ["\\uFFFE", "\\uFFFF", "\\uFDD0", "\\U0010FFFF"])
def test_a_unicode_non_character_is_refused_at_its_line(tmp_path, case_path, escape):
    """« BEN\\uFFFEALI »: Word dropped the character, the bordereau drew « � » (attack 20)."""
    text = case_path.read_text().replace("nom: Diallo", f'nom: "Dial{escape}lo"')
    out = problems(write_case(tmp_path / "affaire", text))
    line = text.splitlines().index(f'  nom: "Dial{escape}lo"') + 1
    # Said for a person who pasted it in the form too (attack 29: « il vient d'un \\u » was untrue there).
    assert out == [f"dossier.yaml:{line}: requerant.nom: caractère non valide (U+{escape[2:].lstrip('0')}, un "
                   "« non-caractère » Unicode, invisible) dans le texte : effacez la valeur et retapez-la (il vient "
                   "d'un copier-coller, ou d'un « \\u » entre guillemets)"], out


def test_the_advice_on_writing_a_date_is_given_as_it_must_be_written(run, tmp_path):
    """« écrivez-les 3 mars 2025 à 08:55 »: the advice, put into words like any date, was a form the
    check refuses (attack 21). The form stays as it is to be written."""
    data = default_case()
    data["tentatives"][0]["date"] = "hier"
    data["requerant"]["date_naissance"] = "jadis"
    res = run("check", write_case(tmp_path / "affaire", data))
    assert res.exit_code == 1
    assert "date et heure illisibles « hier » : écrivez-les sous la forme 2025-03-03 08:55 ou 03/03/2025 08:55" \
        in res.output, res.output
    assert "date illisible « jadis » : écrivez-la sous la forme 2025-03-03 ou 03/03/2025" in res.output


def test_a_step_in_the_future_or_a_past_deadline_is_refused(tmp_path):
    """A diligence dated 2030 was printed « le 12 septembre 2030, lettre recommandée » in the requête
    and the letter; « rdv_au_plus_tard » before the signature asked the judge for the impossible
    (attack 23). Both refused at their line."""
    data = default_case()
    data["diligences"] = [{"date": "2030-09-12", "type": "courrier", "description": "lettre recommandée"}]
    data["demandes"] = {"rdv_au_plus_tard": "2025-01-01"}
    out = problems(write_case(tmp_path / "affaire", data))
    assert any(p.endswith("diligences[0].date: démarche datée du 2030-09-12, après la date de signature : une démarche "
                          "se note une fois faite") for p in out), out
    assert any("demandes.rdv_au_plus_tard: date limite du rendez-vous « 2025-01-01 » déjà passée" in p for p in out), out
    data["diligences"][0]["date"] = "2025-03-20"
    data["demandes"] = {"rdv_au_plus_tard": "2025-05-02"}
    assert load(write_case(tmp_path / "affaire", data)).demandes.rdv_au_plus_tard.isoformat() == "2025-05-02"


@pytest.mark.parametrize("block", ["|", "|-", "|+"])
def test_a_line_break_inside_a_one_line_field_is_refused_at_its_line(tmp_path, block):
    """A name written as a block (« nom: | » then two lines) would be split in two in the requête's
    sentence (attack 32): refused at its line, naming the field."""
    data = default_case()
    path = write_case(tmp_path / "affaire", data)
    text = path.read_text("utf-8").replace("  nom: Diallo\n", f"  nom: {block}\n    DIALLO\n    AUTRE\n", 1)
    assert "AUTRE" in text
    path.write_text(text, "utf-8")
    with pytest.raises(CaseInvalid) as refused:
        load(path)
    [problem] = refused.value.problems
    assert problem.field == "requerant.nom" and problem.line == text.splitlines().index(f"  nom: {block}") + 1
    assert "ce texte doit tenir sur une seule ligne" in problem.message
    # Folded (« > ») or wrapped plain, the lines join with spaces: accepted.
    path.write_text(text.replace(f"  nom: {block}\n", "  nom: >-\n", 1), "utf-8")
    assert load(path).requerant.nom == "DIALLO AUTRE"


def test_a_tab_inside_a_one_line_field_is_a_space(tmp_path):
    """« BEN\\tALI » would leave a tab's gap inside the requête's sentence (attack 37)."""
    path = write_case(tmp_path / "affaire", default_case())
    path.write_text(path.read_text("utf-8").replace("  nom: Diallo\n", '  nom: "DIAL\\tLO"\n', 1), "utf-8")
    assert load(path).requerant.nom == "DIAL LO"
