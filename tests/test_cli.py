import json

import pytest
import yaml

from refere import __version__
from refere.cli import cli
from refere.affaire.loader import load

def all_commands(group=cli, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield prefix + (name,), cmd
        if hasattr(cmd, "commands"):
            yield from all_commands(cmd, prefix + (name,))


def test_help_lists_every_verb(run):
    res = run("--help")
    assert res.exit_code == 0
    assert "Utilisation :" in res.output and "Commandes" in res.output
    for verb in sorted(cli.commands):
        assert verb in res.output


@pytest.mark.parametrize("path, cmd", list(all_commands()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_french_help_with_example(run, path, cmd):
    res = run(*path, "--help")
    assert res.exit_code == 0
    assert "Exemple" in res.output, path
    assert "Afficher cette aide" in res.output
    assert "Show this message" not in res.output


def test_version(run):
    res = run("--version")
    assert res.exit_code == 0 and __version__ in res.output


def test_unknown_command_is_usage_error(run):
    res = run("chek")
    assert res.exit_code == 2 and "Commande inconnue" in res.output


def test_missing_argument_in_french(run):
    res = run("check")
    assert res.exit_code == 2 and "Argument manquant" in res.output


def test_schema_is_json_schema(run):
    res = run("schema")
    doc = json.loads(res.output)
    assert doc["additionalProperties"] is False
    assert {"version", "requerant", "procedure", "prefecture", "tentatives"} <= set(doc["required"])
    assert "renouvellement_titre_sejour" in json.dumps(doc)


def test_the_example_and_every_date_form_the_loader_reads_validate_against_the_schema(run, example, tmp_path):
    """What an editor checks the case file against (VS Code's YAML extension, with the formats):
    the example case passes, with its dates as the documentation writes them (« 2025-09-01 08:52 »,
    not RFC 3339), and so do the other forms the loader reads (attack 35)."""
    import jsonschema

    class Editor(yaml.SafeLoader):  # YAML 1.2, as an editor reads it: numbers, but no timestamp type
        yaml_implicit_resolvers = {k: [(tag, rx) for tag, rx in v if not tag.endswith(":timestamp")]
                                   for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    schema = json.loads(run("schema").output)
    check = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    data = yaml.load(example.read_text("utf-8"), Editor)
    assert [e.message for e in check.iter_errors(data)] == []
    for written in ("2025-09-01 08:52", "2025-09-01T08:52:27", "01/09/2025 08h52", "1/9/2025 à 08:52",
                    "2025-09-01 08:52+02:00", "2025-09-01T06:52:27Z"):
        data["tentatives"][0]["date"] = written
        assert [e.message for e in check.iter_errors(data)] == [], written
    data["requerant"]["date_naissance"] = "12/04/1991"
    assert [e.message for e in check.iter_errors(data)] == []
    data["tentatives"][0]["date"] = "hier matin"
    assert [e.message for e in check.iter_errors(data)] != []


def test_init_creates_commented_case(run, tmp_path):
    res = run("init", tmp_path / "nouveau")
    assert res.exit_code == 0, res.output
    text = (tmp_path / "nouveau" / "dossier.yaml").read_text("utf-8")
    assert "# Dossier refere" in text and (tmp_path / "nouveau" / "captures").is_dir()
    assert (tmp_path / "nouveau" / "pieces").is_dir()
    assert yaml.safe_load(text)["version"] == 1
    # Filled-in template is refused until completed, with useful messages.
    res = run("check", tmp_path / "nouveau" / "dossier.yaml")
    assert res.exit_code == 1 and "tentatives" in res.output
    # Never overwrites.
    res = run("init", tmp_path / "nouveau")
    assert res.exit_code == 1 and "existe déjà" in res.output


def test_init_interactive_takes_natural_words(runner, tmp_path):
    """« Madame », « changement de statut »: the words a person says; the démarches are listed as words."""
    answers = "\n".join([
        "Madame", "Diallo", "Aïssatou", "12/04/1991", "Conakry (Guinée)", "guinéenne", "12 rue de la Paix / 75002 Paris",
        "", "", "", "titre", "changement de statut", "", "", "75",
    ]) + "\n"
    res = runner.invoke(cli, ["init", str(tmp_path / "d"), "--interactif"], input=answers)
    assert res.exit_code == 0, res.output
    assert "Renouvellement de mon titre de séjour" in res.output and "renouvellement_titre_sejour" not in res.output
    assert "plusieurs démarches correspondent" in res.output  # « titre » alone is asked again
    data = yaml.safe_load((tmp_path / "d" / "dossier.yaml").read_text("utf-8"))
    assert data["requerant"]["civilite"] == "Mme" and data["procedure"]["type"] == "changement_de_statut"
    text = (tmp_path / "d" / "dossier.yaml").read_text("utf-8")
    assert "Son titre de séjour expire" in text and "Mon titre" not in text


def test_init_interactive_validates_each_answer(runner, tmp_path):
    answers = "\n".join([
        "Mme", "Diallo", "Aïssatou", "31/02/1991", "12/04/1991", "Conakry (Guinée)", "guinéenne",
        "12 rue de la République / 93200 Saint-Denis", "", "pas-une-adresse", "a.diallo@example.org", "",
        "renouvellement_titre_sejour", "carte de séjour", "31/05/2025", "20", "93",
    ]) + "\n"
    res = runner.invoke(cli, ["init", str(tmp_path / "d"), "--interactif"], input=answers)
    assert res.exit_code == 0, res.output
    assert "date impossible" in res.output  # 31/02 refused, asked again
    assert "2A" in res.output  # « 20 » refused with the Corsica hint
    assert "adresse électronique invalide" in res.output
    data = yaml.safe_load((tmp_path / "d" / "dossier.yaml").read_text("utf-8"))
    assert data["requerant"]["date_naissance"] == "1991-04-12"
    assert data["requerant"]["adresse"].splitlines() == ["12 rue de la République", "93200 Saint-Denis"]
    assert data["prefecture"]["departement"] == "93"
    # Only the attempts are missing.
    res = runner.invoke(cli, ["check", str(tmp_path / "d" / "dossier.yaml")])
    assert res.exit_code == 1 and "la liste des tentatives : ajoutez au moins une tentative" in res.output


def test_debug_shows_traceback_only_when_asked(run, tmp_path):
    bad = tmp_path / "a" / "dossier.yaml"
    bad.parent.mkdir()
    bad.write_text("version: 1\n")
    plain = run("check", bad)
    assert "Traceback" not in plain.output and plain.exit_code == 1
    debug = run("--debug", "check", bad)
    assert debug.exit_code == 1 and "Traceback" in debug.output


def test_example_case_checks(run, example):
    assert run("check", example).exit_code == 0
    assert load(example).requerant.nom == "BENALI"


def test_init_placeholders_must_be_filled(run, tmp_path):
    run("init", tmp_path / "d")
    res = run("build", tmp_path / "d")
    assert res.exit_code == 1
    # In the form's words, with the line of dossier.yaml; the technical path only in --json.
    assert "dossier.yaml:8 — la personne qui demande le rendez-vous : nom de famille : à remplir" in res.output
    assert res.output.count("date de naissance") == 1 and "requerant." not in res.output
    # Neither the préfecture nor the démarche is guessed for the applicant.
    assert "la préfecture : département : à remplir" in res.output
    assert "la démarche et la voie : démarche : à remplir" in res.output
    assert not (tmp_path / "d" / "dossier").exists()


def test_os_errors_in_french(run, tmp_path, case_path):
    blocker = tmp_path / "un-fichier"
    blocker.write_text("x")
    res = run("build", case_path, "-o", blocker / "sortie")
    # The path is refused before any work, for what it is (a file where a folder should be).
    assert res.exit_code == 1 and "(un élément du chemin est un fichier, pas un dossier)" in res.output
    assert blocker.read_text() == "x"


# --- messages a person can act on ----------------------------------------------------------

ENGLISH = ["[required]", "Options:", "Commands:", "Usage:", "INTEGER", "RANGE", "TEXT", "Show this message",
           "Show the version", "default:", "x<=", "BOOLEAN", "CHOICE", "FILENAME", "PATH", "DIRECTORY"]


def test_refere_alone_prints_help_and_succeeds(run):
    res = run()
    assert res.exit_code == 0
    assert "Utilisation :" in res.output and "Commandes :" in res.output


@pytest.mark.parametrize("path, cmd", list(all_commands()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_no_english_word_in_any_help(run, path, cmd):
    res = run(*path, "--help")
    for word in ENGLISH:
        assert word not in res.output, (path, word)
    assert "Options :" in res.output


def test_range_error_in_french(run, tmp_path):
    res = run("batch", tmp_path, "-o", tmp_path / "o", "-j", "0")
    assert res.exit_code == 2 and "0 est hors des limites (de 1 à 64)" in res.output


def test_check_missing_file_says_introuvable_once(run, tmp_path):
    res = run("check", tmp_path / "absent" / "dossier.yaml")
    assert res.exit_code == 1 and res.output.count("introuvable") == 1 and "Traceback" not in res.output


def test_captures_on_missing_folder_says_it_is_missing(run, tmp_path):
    res = run("captures", tmp_path / "captures")
    assert res.exit_code == 1 and "introuvable" in res.output


def test_check_many_cases_one_line_each(run, tmp_path, example):
    from conftest import default_case, write_case

    root = tmp_path / "permanence"
    write_case(root / "bonne", default_case())
    write_case(root / "une-semaine", default_case(["2025-03-03 08:55", "2025-03-04 00:05"]))
    write_case(root / "cassee", "version: 1\nrequerant: [\n")
    res = run("check", root)
    assert res.exit_code == 1
    lines = {line.split(" : ")[0]: line for line in res.output.splitlines() if " : " in line}
    assert "recevable" in lines["bonne"]
    assert "bloquant : tentatives toutes dans la même semaine" in lines["une-semaine"]
    assert "erreur" in lines["cassee"] and "n'a pas été fermé" in lines["cassee"]
    assert "1 sur 3 affaires sans problème bloquant" in res.output
    # Several case files; all sound: exit 0. --json: one object per case.
    res = run("check", example, root / "bonne" / "dossier.yaml", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [d["dossier"] for d in doc] == ["exemple-94", "bonne"] and doc[1]["bloquants"] == []
    assert json.loads(run("check", root / "une-semaine", root / "bonne", "--json").output)[0]["bloquants"] == [
        "semaines-insuffisantes"]


def test_plural_agreement():
    from refere.present import plural

    assert plural(1, "pièce") == "1 pièce" and plural(2, "pièce") == "2 pièces" and plural(0, "pièce") == "0 pièce"


def test_build_says_what_to_do_next(run, example):
    res = run("build", example)
    assert res.exit_code == 0
    out = res.output
    assert "signez" in out and "Télérecours" in out and "tribunal administratif de Melun" in out
    assert "Ne déposez pas « dossier-complet.pdf »" in out and "« inventaire.json »" in out
    files = [line.strip() for line in out.splitlines() if "/pieces/" in line]
    assert files == [str(example.parent / "dossier" / "pieces" / p.name)
                     for p in sorted((example.parent / "dossier" / "pieces").iterdir())]
    assert f"{len(files)} pièces" in out and len(files) > 1


def test_next_steps_for_a_draft_say_not_to_file(run, tmp_path):
    from conftest import default_case, write_case

    from refere.build import Options, build, next_steps

    case = write_case(tmp_path / "a", default_case(["2025-03-03 08:55", "2025-03-04 00:05"]))
    res = build(case, Options(brouillon=True))
    steps = next_steps(res)
    assert "PROJET" in steps[0] and not any("/pieces/" in s for s in steps)


def test_next_steps_for_counsel_file_through_telerecours(run, tmp_path):
    from conftest import default_case, write_case

    from refere.build import Options, build, next_steps

    data = default_case(["2025-03-03 08:55", "2025-03-04 00:05", "2025-03-06 14:10", "2025-03-10 08:50"])
    data["conseil"] = {"qualite": "avocat", "civilite": "Mme", "nom": "Jeanne Martin", "barreau": "Seine-Saint-Denis"}
    res = build(write_case(tmp_path / "a", data), Options(out=tmp_path / "out"))
    text = "\n".join(next_steps(res))
    assert "par l'application Télérecours (obligatoire pour les avocats, article R. 414-1" in text
    assert "citoyens" not in text and "imprimez" not in text and "envoi à un avocat" not in text
    n = len(res.inventory.pieces)
    assert f"puis les {n} pièces, une par fichier, dans cet ordre" in text
    assert "vaut signature : rien à imprimer ni à signer" in text and "signez" not in text
    assert "requete.pdf" not in text  # built without --pdf: no PDF to name


def test_next_steps_name_the_pdf_to_upload_when_built_with_pdf(run, tmp_path):
    from conftest import default_case, require_tool, write_case

    require_tool("LibreOffice", "soffice", hint="paquet Debian libreoffice-writer-nogui")
    res = run("build", write_case(tmp_path / "a", default_case()), "-o", tmp_path / "out", "--pdf")
    assert res.exit_code == 0, res.output
    pdf = tmp_path / "out" / "requete.pdf"
    assert pdf.is_file()
    assert f"Télérecours citoyens (https://citoyens.telerecours.fr), la requête « {pdf} » (le PDF, pas le .docx) " \
        "d'abord" in " ".join(res.output.split())
    assert "Si vous la corrigez en la relisant, enregistrez-la de nouveau en PDF" in " ".join(res.output.split())
    assert "attention : la police" not in res.output  # the built-in template's fonts are installed


def test_pdf_says_when_the_templates_font_is_not_installed(run, tmp_path):
    """A firm's template in Garamond (not on this computer): the PDF is set in another font, and said so."""
    from docx import Document

    from conftest import default_case, require_tool, write_case
    from refere.requete.render import default_template

    require_tool("LibreOffice", "soffice", hint="paquet Debian libreoffice-writer-nogui")
    doc = Document(str(default_template()))
    doc.styles["Normal"].font.name = "Garamond Refere Absente"
    tpl = tmp_path / "cabinet.docx"
    doc.save(str(tpl))
    res = run("build", write_case(tmp_path / "a", default_case()), "-o", tmp_path / "out", "--pdf", "--modele", tpl)
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "attention : la police « Garamond Refere Absente » du modèle n'est pas installée sur cet ordinateur" in flat
    assert flat.index("attention : la police") < flat.index("Et maintenant")


def test_attempts_counted_from_one_in_messages(run, tmp_path):
    from conftest import default_case, write_case

    data = default_case()
    data["tentatives"][3]["date"] = "2025-13-01 08:00"
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1
    assert "tentative n° 4, date et heure : date impossible" in res.output and "tentatives[3]" not in res.output
    res = run("check", write_case(tmp_path / "a", data), "--json")
    assert "tentatives[3].date" in res.output  # the technical path, for programs


def test_shell_completion_as_documented(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    assert '_REFERE_COMPLETE=bash_source refere' in (ROOT / "docs" / "index.md").read_text("utf-8")
    script = [sys.executable, "-c", "from refere.cli import main; main()"]
    env = {**os.environ, "_REFERE_COMPLETE": "bash_source"}
    src = subprocess.run(script, env=env, capture_output=True, text=True, timeout=60)
    assert src.returncode == 0 and "complete -o nosort -F" in src.stdout
    env = {**os.environ, "_REFERE_COMPLETE": "bash_complete", "COMP_WORDS": "refere cou", "COMP_CWORD": "1"}
    words = subprocess.run(script, env=env, capture_output=True, text=True, timeout=60).stdout
    assert "plain,courrier" in words


def test_field_paths_counted_from_one():
    from refere.present import field_fr

    assert field_fr("tentatives[0].capture") == "tentative n° 1, capture"
    assert field_fr("pieces[2].fichiers[0]") == "pièce n° 3, fichiers n° 1"
    assert field_fr("requerant.nom") == "la personne qui demande le rendez-vous : nom de famille"


def test_check_json_on_a_missing_file_is_json(run, tmp_path):
    import json as _json

    res = run("check", tmp_path / "absent" / "dossier.yaml", "--json")
    assert res.exit_code == 1
    doc = _json.loads(res.output)
    assert doc["valide"] is False and "introuvable" in doc["erreurs"][0]["message"]
    res = run("check", tmp_path / "absent" / "dossier.yaml")
    assert res.exit_code == 1 and res.output.count("introuvable") == 1


def test_check_text_names_fields_in_words_not_keys(run, tmp_path):
    """The first-person urgency and the counsel's civility: the form's words, never a YAML key."""
    from conftest import default_case, write_case

    data = default_case()
    data["conseil"] = {"qualite": "avocat", "nom": "Martin", "barreau": "Paris", "adresse": "1 rue X\n75001 Paris"}
    res = run("check", write_case(tmp_path / "a", data))
    assert "en remplissant séparément le motif, le fait, la date limite et les pièces qui le prouvent" in res.output
    assert "Indiquez « M. » ou « Mme » dans « avocat ou association : civilité »" in res.output
    for key in ("echeance", "forme structurée", "« civilite »", "conseil.civilite", "« «"):
        assert key not in res.output, key


def test_build_lists_its_warnings_in_words_before_what_to_do_next(run, tmp_path):
    import yaml

    from conftest import default_case, write_case

    data = default_case()
    data["pieces"] = [p for p in data.get("pieces", []) if p.get("categorie") != "courrier_prefecture"]
    case = write_case(tmp_path / "a", data)
    codes = yaml.safe_load(run("check", case, "--json").output)
    res = run("build", case, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "pas-de-courrier" in str(codes) and "[pas-de-courrier] Aucune pièce de catégorie" in out
    head = out.index("avertissement")
    assert "relisez avant de déposer" in out[head:head + 60] and head < out.index("Et maintenant")
