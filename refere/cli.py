"""The ``refere`` command: parse options, call one core function, print. Nothing more."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from refere import __version__, clifr
from refere.errors import EvidenceInsufficient, RefereError

clifr.install()

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Root(click.Group):
    """Every user-facing error becomes French text and an exit code here, and only here."""

    def main(self, args=None, prog_name=None, **extra):  # type: ignore[override]
        saved = sys.stdout, sys.stderr
        try:
            self._main(args, prog_name, **extra)
        finally:
            sys.stdout, sys.stderr = saved

    def _main(self, args, prog_name, **extra):
        from refere.signals import exit_code, install

        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args
        install()  # SIGTERM, SIGHUP: unwind like Ctrl-C, so staging folders are removed
        quiet_libraries(debug)  # warnings here; the libraries' loggers when a command runs (cli below)
        for stream in (sys.stdout, sys.stderr):
            # A terminal that cannot print French (PYTHONIOENCODING=latin-1, C locale) gets « ? »
            # for what it lacks, never a crash.
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="replace")
        clifr.inert_streams()  # a name or a text carrying escape sequences is shown, never obeyed
        extra["standalone_mode"] = False
        try:
            rv = super().main(args=args, prog_name=prog_name or "refere", **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (KeyboardInterrupt, click.exceptions.Abort) as exc:
            # Click turns Ctrl-C into Abort; the signal's number rides along as its cause.
            cause = exc if isinstance(exc, KeyboardInterrupt) else exc.__cause__
            click.echo("Interrompu : le travail en cours n'a rien laissé à moitié écrit.", err=True)
            sys.exit(exit_code(cause) if isinstance(cause, KeyboardInterrupt) else 130)
        except RefereError as exc:
            if debug:
                import traceback

                traceback.print_exc()
            from refere.present import error_text

            if exc.message:
                click.echo(error_text(exc), err=True)
            sys.exit(exc.exit_code)
        except Exception:
            if debug:
                raise
            click.echo(
                "Erreur interne inattendue : ce n'est pas de votre faute. Relancez avec --debug "
                "et transmettez le message aux développeurs de refere.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(name="refere", cls=Root, context_settings=CONTEXT, subcommand_metavar="COMMANDE [ARGUMENTS]...",
             invoke_without_command=True)
@click.version_option(__version__, "--version", prog_name="refere")
@click.option("--debug", is_flag=True,
              help="Afficher la trace Python complète en cas d'erreur, et les avertissements des bibliothèques.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Prépare une requête en référé mesures utiles (article L. 521-3 du code de justice
    administrative) quand la préfecture ne propose aucun rendez-vous, avec ses pièces numérotées.

    \b
    Exemple :
      refere init mon-dossier
      refere check mon-dossier/dossier.yaml
      refere build mon-dossier/dossier.yaml
    """
    # --debug is read by Root.main before parsing. The libraries' loggers are quieted here, when a
    # command is about to run: `refere --help` never pays for importing logging.
    quiet_loggers(debug)
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())  # « refere » alone: the help, and success


@cli.command()
@click.argument("dossiers", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Échouer aussi sur les avertissements.")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON pour les programmes.")
@click.option("--calendrier", type=clifr.OUTPUT, metavar="FICHIER.png",
              help="Écrire aussi le calendrier des tentatives (image PNG ; une seule affaire).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Captures lues à la fois (par défaut : les cœurs de la machine, 4 au plus).")
def check(dossiers: tuple[Path, ...], strict: bool, as_json: bool, calendrier: Path | None = None,
          jobs: int | None = None) -> None:
    """Vérifie le fichier dossier.yaml et les preuves, comme le ferait le juge.

    Affiche toutes les erreurs et tous les avertissements, groupés. Avec plusieurs fichiers,
    ou un dossier qui contient plusieurs affaires, affiche une ligne par affaire.

    \b
    Exemple :
      refere check mon-dossier/dossier.yaml
      refere check mon-dossier/dossier.yaml --strict --json
      refere check mon-dossier/dossier.yaml --calendrier calendrier.png
      refere check permanence/
    """
    from refere.files import resolve_case_path  # not the loader: a cached check never needs it
    from refere.preuves import lecture

    lecture.JOBS.set(jobs)
    # One argument is one case, unless it is a folder of cases (a folder without its own dossier.yaml).
    if len(dossiers) == 1 and not (dossiers[0].is_dir() and not (dossiers[0] / "dossier.yaml").exists()):
        _check_one(resolve_case_path(dossiers[0]), strict, as_json, calendrier)
        return
    if calendrier is not None:
        raise click.UsageError("--calendrier ne s'emploie qu'avec une seule affaire")
    _check_many(dossiers, strict, as_json)


def _check_one(path: Path, strict: bool, as_json: bool, calendrier: Path | None = None) -> None:
    import json

    from refere.preuves import checkcache

    # An unchanged case passed before: the same answer, without reading it all again.
    cache_key = checkcache.key(path, [strict, as_json]) if calendrier is None and path.is_file() else None
    if cache_key is not None and (answer := checkcache.recall(cache_key)) is not None:
        click.echo(answer)
        return
    from refere.pieces import plan
    from refere.errors import CaseInvalid, Problem
    from refere.preuves.rules import check as run_check
    from refere.affaire.loader import load
    from refere.present import report_text

    try:
        if not path.exists() and not path.is_symlink():
            from refere.files import path_twin_note

            note = path_twin_note(path)
            raise RefereError(f"fichier « {path} » introuvable" + (f" : {note}" if note else ""))
        case = load(path)
    except RefereError as exc:
        if not as_json:
            raise
        # A program gets JSON whatever happens, with each problem's place in the file.
        problems = exc.problems if isinstance(exc, CaseInvalid) else [
            Problem(str(path), None, "", exc.message)]
        click.echo(json.dumps({"valide": False, "erreurs": [
            {"fichier": p.file, "ligne": p.line, "champ": p.field, "message": p.message} for p in problems
        ]}, ensure_ascii=False, indent=2))
        raise EvidenceInsufficient("") from None
    report = run_check(case)
    if calendrier is not None:
        from refere.preuves.calendrier import save

        save(case, calendrier, path)
        click.echo(f"Calendrier des tentatives écrit : {calendrier}", err=True)
    inv = None if report.blocking else plan.make(case)  # the numbering, once the files are readable
    if as_json:
        doc = report.to_dict()
        if inv is not None:
            doc["pieces"] = [{"numero": p.numero, "titre": p.titre, "fichier": p.fichier, "pages": p.pages}
                             for p in inv.pieces]
        answer = json.dumps(doc, ensure_ascii=False, indent=2)
    else:
        answer = report_text(case, report, str(path), inv)
    click.echo(answer)
    if report.blocking:
        raise EvidenceInsufficient("Preuves insuffisantes : voir les problèmes bloquants ci-dessus." if not as_json else "")
    if strict and report.warnings:
        raise EvidenceInsufficient("Avertissements présents et --strict demandé." if not as_json else "")
    if cache_key is not None:
        checkcache.remember(cache_key, case, answer)


def _check_many(dossiers: tuple[Path, ...], strict: bool, as_json: bool) -> None:
    """One line per case: the codes found, so a desk sees at once which case needs work."""
    import json

    from refere.batch import find_jobs, same_people
    from refere.present import check_summary, plural

    jobs = find_jobs(dossiers)
    same = same_people((j.name, j.case_file) for j in jobs)
    results = [check_summary(job.name, job.case_file, job.problem, same.get(job.name, [])) for job in jobs]
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for r in results:
            click.echo(r["ligne"])
    failed = sum(1 for r in results if r["erreur"] or r["bloquants"] or (strict and r["avertissements"]))
    if not as_json:
        click.echo(f"{len(results) - failed} sur {plural(len(results), 'affaire')} sans problème bloquant"
                   + (" ni avertissement" if strict else ""))
    if failed:
        raise EvidenceInsufficient("")


@cli.command()
@click.argument("departement")
def tribunal(departement: str) -> None:
    """Indique le tribunal administratif compétent et le préfet défendeur d'un département.

    \b
    Exemple :
      refere tribunal 93
      refere tribunal 2A
    """
    from refere.affaire import departements

    d = departements.lookup(departement)
    click.echo(f"Département : {d.code} — {d.nom}")
    click.echo(f"Tribunal compétent : {d.tribunal} (article R. 221-3 du CJA)")
    click.echo(f"Défendeur : {d.prefet}")


@cli.command()
def schema() -> None:
    """Affiche le schéma JSON du fichier dossier.yaml (pour l'autocomplétion des éditeurs).

    \b
    Exemple :
      refere schema > dossier.schema.json
    """
    import json

    from refere.affaire.model import Case

    s = Case.model_json_schema()
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    s["title"] = "Dossier refere (format 1)"
    click.echo(json.dumps(s, ensure_ascii=False, indent=2))


@cli.command()
@click.argument("dossier", type=clifr.OUTPUT)
@click.option("--interactif", is_flag=True, help="Poser les questions une à une.")
def init(dossier: Path, interactif: bool) -> None:
    """Crée un dossier d'affaire : dossier.yaml commenté, captures/ et pieces/.

    \b
    Exemple :
      refere init dossier-diallo
      refere init dossier-diallo --interactif
    """
    from refere.affaire.init import ask, create

    answers = ask(dossier) if interactif else None
    path = create(dossier, answers)
    click.echo(f"Dossier créé : {path}")
    click.echo("Complétez-le, placez les captures dans captures/ et les pièces dans pieces/, puis :")
    click.echo(f"  refere check {path}")


@cli.command()
@click.argument("dossier", type=click.Path(path_type=Path))
@click.option("-o", "--sortie", type=clifr.OUTPUT, help="Dossier de sortie (par défaut : dossier/ à côté du fichier).")
@click.option("--force", is_flag=True, help="Remplacer le dossier de sortie s'il existe.")
@click.option("--brouillon", is_flag=True, help="Construire même si les preuves sont insuffisantes (requête marquée « PROJET »).")
@click.option("--pdf", is_flag=True, help="Convertir aussi la requête en PDF (LibreOffice requis).")
@click.option("--modele", type=click.Path(path_type=Path), help="Modèle Word personnalisé (.docx).")
@click.option("--compresser", is_flag=True, help="Recompresser les images d'une pièce de plus de 32 Mo.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, metavar="N", help="Nombre de processus (par défaut : les cœurs de la machine).")
def build(dossier: Path, sortie: Path | None, force: bool, brouillon: bool, pdf: bool, modele: Path | None,
          compresser: bool, jobs: int | None) -> None:
    """Construit le dossier : requête Word, pièces numérotées, dossier complet, inventaire.

    \b
    Écrit dans le dossier de sortie :
      requete.docx, pieces/NN_Titre.pdf, dossier-complet.pdf, inventaire.json

    \b
    Exemple :
      refere build mon-dossier/dossier.yaml
      refere build mon-dossier/dossier.yaml -o sortie/ --force --pdf
    """
    from refere.pieces.probe import default_jobs  # not the PDF writer: loaded once the checks run
    from refere.build import Options, build as run_build, next_steps
    from refere.preuves import lecture
    from refere.affaire.libelles import words
    from refere.present import plural

    lecture.JOBS.set(jobs)  # the captures too are read N at a time
    res = run_build(dossier, Options(sortie, force, brouillon, pdf, modele, compresser, jobs or default_jobs()))
    click.echo(f"Dossier construit : {res.out}")
    click.echo(f"  {plural(len(res.inventory.pieces), 'pièce')}, {plural(res.pages, 'page')} dans dossier-complet.pdf")
    if res.report.warnings and not res.report.blocking:  # before « Et maintenant »: what to read again
        click.echo(f"  {plural(len(res.report.warnings), 'avertissement')} : relisez avant de déposer")
    for w in res.report.warnings:
        click.echo(f"  [{w.code}] {words(w.message, w.champ)}")  # as « refere check » shows them
    for b in res.report.blocking:
        click.echo(f"  PROJET seulement — [{b.code}] {b.message}")
    for note in res.notes:
        click.echo(f"  attention : {note}.")
    click.echo("")
    click.echo("\n".join(next_steps(res)))


@cli.command()
@click.argument("dossiers", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--sortie", required=True, type=clifr.OUTPUT,
              help="Dossier où écrire chaque affaire (sous-dossier par affaire) et rapport.csv.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Affaires traitées en parallèle (par défaut : les cœurs de la machine).")
@click.option("--force", is_flag=True, help="Reconstruire toutes les affaires, même celles qui sont à jour.")
@click.option("--brouillon", is_flag=True, help="Construire même si les preuves sont insuffisantes (requêtes marquées « PROJET »).")
@click.option("--pdf", is_flag=True, help="Convertir aussi chaque requête en PDF (LibreOffice requis).")
@click.option("--modele", type=click.Path(path_type=Path), help="Modèle Word personnalisé (.docx) pour toutes les affaires.")
@click.option("--compresser", is_flag=True, help="Recompresser les images d'une pièce de plus de 32 Mo.")
def batch(dossiers: tuple[Path, ...], sortie: Path, jobs: int | None, force: bool, brouillon: bool, pdf: bool,
          modele: Path | None, compresser: bool) -> None:
    """Construit de nombreuses affaires ; une affaire en erreur n'arrête pas les autres.

    Chaque argument est un fichier dossier.yaml ou un dossier où en chercher. Chaque affaire est
    nommée par son chemin depuis le dossier donné et écrite dans SORTIE/<affaire>/ ; SORTIE/rapport.csv
    liste toutes les affaires. Relancé, batch ne reconstruit que les affaires modifiées depuis
    leur dernière construction (les autres sont « à jour ») ; --force reconstruit tout. Sort avec
    le code 1 si une affaire échoue.

    \b
    Exemple :
      refere batch permanence-2025-03-14/ -o construits/ -j 2
      refere batch permanence-2025-03-14/ -o construits/ --modele cabinet.docx --pdf
    """
    import os
    import sys

    from refere.batch import (FAILED, INTERRUPTED, REPORT, UP_TO_DATE, Row, Settings, check_output, find_jobs, run,
                              no_last_collection, summary_lines, write_report)
    from refere.write import hold

    no_last_collection()
    if modele is not None:
        from refere.requete.verifier import check as check_template

        check_template(modele)  # a missing or broken template fails once, not once per case
    found = find_jobs(dossiers)
    check_output(found, dossiers, sortie)
    workers = jobs or os.cpu_count() or 1
    interactive = sys.stdout.isatty()
    bar = (click.progressbar(length=len(found), label="Construction", show_pos=True, file=clifr.raw(sys.stdout))
           if interactive else None)
    words = {FAILED: "échec", UP_TO_DATE: "à jour"}
    finished = []

    def progress(row, done, total):
        finished.append(row)
        # Only the case folder's name: nothing personal in the output.
        if bar is not None:
            bar.update(1)
        else:
            click.echo(f"[{done}/{total}] {row.dossier} : {words.get(row.statut, row.statut)}")

    settings = Settings(force=force, brouillon=brouillon, pdf=pdf,
                        modele=Path(os.path.abspath(modele)) if modele else None, compresser=compresser)
    held = hold(sortie)  # every case and rapport.csv land in this very folder, whatever is swapped later
    try:
        if bar is not None:
            with bar:
                rows = run(found, held, workers, settings, progress)
        else:
            rows = run(found, held, workers, settings, progress)
    except KeyboardInterrupt:
        # Stopped (Ctrl-C, SIGTERM): the report still lists every case, the unfinished ones as such.
        done = {r.dossier for r in finished}
        rest = [Row(j.name, INTERRUPTED, erreur="construction interrompue : relancez la même commande")
                for j in found if j.name not in done]
        write_report(finished + rest, held)
        raise
    write_report(rows, held)
    click.echo("\n".join(summary_lines(rows, sortie / REPORT)))
    failed = [r for r in rows if r.statut == FAILED]
    if failed:
        raise RefereError("")


@cli.command()
@click.argument("dossier_captures", type=click.Path(path_type=Path))
@click.option("--ajouter", type=click.Path(path_type=Path), help="Ajouter les tentatives à ce dossier.yaml (commentaires conservés).")
def captures(dossier_captures: Path, ajouter: Path | None) -> None:
    """Lit un dossier de captures d'écran et écrit la liste « tentatives: » datée d'après les fichiers.

    La date vient, par ordre de confiance : des données EXIF, des métadonnées PNG ou PDF, puis du
    nom du fichier (Android, macOS, Windows, GNOME). Un fichier sans date est signalé à part.

    \b
    Exemple :
      refere captures mon-dossier/captures
      refere captures mon-dossier/captures --ajouter mon-dossier/dossier.yaml
    """
    from refere.preuves.captures import as_yaml, merge, scan
    from refere.errors import FileProblem
    from refere.present import plural

    if not dossier_captures.exists() and not dossier_captures.is_symlink():
        raise FileProblem(f"dossier de captures « {dossier_captures} » introuvable")
    base = ajouter.parent if ajouter else dossier_captures.parent
    result = scan(dossier_captures, base)
    if ajouter is None:
        click.echo(as_yaml(result), nl=False)
        return
    refused: list[str] = []
    added, skipped = merge(ajouter, result, refused)
    click.echo(f"{plural(added, 'tentative ajoutée', 'tentatives ajoutées')} à {ajouter}, "
               f"{plural(skipped, 'déjà présente', 'déjà présentes')}.")
    # A file name is shown on one line: its line breaks as « \x0a » (errors.printable shows the rest).
    for line in refused:
        click.echo(f"  ATTENTION {line}".replace("\n", "\\x0a"))
    for s in result.undated:
        click.echo(f"  non datée : {s.written} ({s.source})".replace("\n", "\\x0a"))
    for group in result.duplicates:
        click.echo(f"  contenu identique : {', '.join(group)}".replace("\n", "\\x0a"))


@cli.command()
@click.argument("espace", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port d'écoute (0 : un port libre).")
@click.option("--hote", default="127.0.0.1", show_default=True, metavar="ADRESSE",
              help="Adresse d'écoute, sur cet ordinateur seulement (127.0.0.1, localhost ou ::1) : "
                   "le réseau passe par un proxy HTTPS (--derriere-proxy).")
@click.option("--derriere-proxy", is_flag=True,
              help="Pour une permanence : les téléphones passent par un proxy HTTPS installé sur cet ordinateur "
                   "(exige REFERE_MOT_DE_PASSE et --nom-public ; voir docs/web.md, « Mode réseau »).")
@click.option("--nom-public", metavar="NOM",
              help="Avec --derriere-proxy : l'adresse que les téléphones ouvrent (192.168.1.20, ou un nom de "
                   "domaine) ; toute requête pour un autre nom est refusée.")
@click.option("--sans-navigateur", is_flag=True, help="Ne pas ouvrir le navigateur.")
@click.option("--modele", type=click.Path(path_type=Path), help="Modèle Word de la requête (.docx) du cabinet, vérifié au démarrage.")
@click.option("--modele-courrier", type=click.Path(path_type=Path), help="Modèle Word de la lettre (.docx), vérifié au démarrage.")
def web(espace: Path, port: int, hote: str, derriere_proxy: bool, nom_public: str | None, sans_navigateur: bool,
        modele: Path | None, modele_courrier: Path | None) -> None:
    """Ouvre le formulaire dans le navigateur : un dossier d'affaire par sous-dossier de ESPACE.

    Par défaut, ESPACE est le dossier courant et seul cet ordinateur y a accès. Ctrl-C arrête le serveur.

    \b
    Exemple :
      refere web permanence/
      REFERE_MOT_DE_PASSE='…' refere web permanence/ --derriere-proxy --nom-public 192.168.1.20
      refere web cabinet/ --modele cabinet.docx --modele-courrier lettre-cabinet.docx
    """
    from refere.web import core, serve

    serve.run(espace, hote, port, not sans_navigateur, echo=click.echo, behind_proxy=derriere_proxy,
              public_name=nom_public, templates=core.Templates(modele, modele_courrier))


@cli.command()
@click.argument("dossier", type=click.Path(path_type=Path))
@click.option("-o", "--sortie", type=clifr.OUTPUT,
              help="Dossier où écrire la lettre et le texte du courriel (par défaut : celui du dossier.yaml).")
@click.option("--force", is_flag=True, help="Remplacer une lettre déjà écrite.")
@click.option("--modele", type=click.Path(path_type=Path),
              help="Modèle Word de la lettre (.docx), celui du cabinet ou de l'association.")
def courrier(dossier: Path, sortie: Path | None, force: bool, modele: Path | None) -> None:
    """Écrit la demande de rendez-vous à la préfecture, à envoyer avant le référé.

    Une lettre Word (courrier-prefecture.docx) et le même texte pour un courriel
    (courrier-prefecture.txt), avec la liste datée des tentatives déjà faites. DOSSIER est un
    dossier.yaml, ou un dossier d'affaires : une lettre par affaire (dans son dossier, ou dans
    SORTIE/<affaire>/ avec -o) et un résumé ; une affaire en erreur n'arrête pas les autres.

    \b
    Exemple :
      refere courrier mon-dossier/dossier.yaml
      refere courrier mon-dossier/dossier.yaml -o envois/ --force
      refere courrier mon-dossier/dossier.yaml --modele lettre-cabinet.docx
      refere courrier permanence-2025-03-14/          (une lettre par affaire du dossier)
    """
    from refere.requete.courrier import write as write_letter
    from refere.requete.verifier import pin
    from refere.present import letter_done

    if modele is not None:  # checked once before any case (a requête's named as one), filled from those bytes
        modele = pin(modele, letter=True)

    if dossier.is_dir() and not (dossier / "dossier.yaml").is_file():
        # A desk's folder: one letter per case, a summary; one bad case never stops the others.
        from refere.batch import find_jobs, letter_lines, letters

        rows = letters(find_jobs([dossier]), sortie, force, modele, given=[dossier])
        click.echo("\n".join(letter_lines(rows)))
        if any(r.written is None for r in rows):
            raise RefereError("")
        return
    click.echo("\n".join(letter_done(write_letter(dossier, sortie, force, modele=modele))))


@cli.group(subcommand_metavar="COMMANDE [ARGUMENTS]...")
def modele() -> None:
    """Modèles Word personnalisés de la requête.

    \b
    Exemples :
      refere modele exporter cabinet.docx
      refere modele verifier cabinet.docx
      refere build dossier.yaml --modele cabinet.docx
    """


@modele.command("verifier")
@click.argument("fichier", type=click.Path(path_type=Path))
@click.option("--courrier", "lettre", is_flag=True,
              help="FICHIER est un modèle de la lettre à la préfecture (refere courrier --modele).")
def modele_verifier(fichier: Path, lettre: bool) -> None:
    """Vérifie un modèle et signale tous ses problèmes d'un coup.

    Balises mal formées, variables ou filtres inconnus (avec le nom le plus proche), filtre
    appliqué à une valeur qui ne lui convient pas, contenu refusé (macros, images ou modèles
    distants, code) : chaque problème est donné avec le paragraphe où il se trouve. Le modèle
    est rempli avec plusieurs dossiers d'exemple (avec et sans conseil, homme et femme, voie
    ANEF…) : « refere build --modele » fait les mêmes vérifications. Avec --courrier, le
    modèle de la lettre à la préfecture est rempli avec les lettres de ces dossiers.

    \b
    Exemple :
      refere modele verifier cabinet.docx
      refere modele verifier --courrier lettre-cabinet.docx
    """
    from refere.errors import TemplateError
    from refere.modeles.messages import report
    from refere.requete.samples import letter_contexts, sample_contexts
    from refere.requete.verifier import KINDS, swapped, verify

    problems = verify(fichier, letter=lettre)
    if said := swapped(fichier, lettre, problems):  # the other kind: checked as what it is, and said so
        lettre, problems = not lettre, []
        click.echo(f"{said} : vérifié comme {KINDS[lettre][1]} ; employez-le avec « {KINDS[lettre][2]} ».")
    if problems:
        raise TemplateError(report(fichier, problems))
    n = len(letter_contexts() if lettre else sample_contexts())
    what = "Modèle de lettre" if lettre else "Modèle"
    click.echo(f"{what} « {fichier} » : correct (rempli sans erreur avec {n} dossiers d'exemple).")


@modele.command("exporter")
@click.argument("fichier", type=clifr.OUTPUT)
@click.option("--force", is_flag=True, help="Remplace le fichier s'il existe déjà.")
@click.option("--courrier", "lettre", is_flag=True,
              help="Écrire le modèle de la lettre à la préfecture (refere courrier) au lieu de celui de la requête.")
def modele_exporter(fichier: Path, force: bool, lettre: bool) -> None:
    """Écrit le modèle intégré dans FICHIER, pour l'adapter (en-tête du cabinet…).

    \b
    Exemple :
      refere modele exporter cabinet.docx
      refere modele verifier cabinet.docx
      refere modele exporter --courrier lettre-cabinet.docx
    """
    from refere.requete.verifier import export

    export(fichier, force, letter=lettre)
    option = "--courrier " if lettre else ""
    click.echo(f"Modèle intégré {'de la lettre ' if lettre else ''}écrit dans « {fichier} ». Adaptez-le dans Word, "
               f"puis : refere modele verifier {option}{fichier}")


# Libraries that speak English on stderr (Pillow's « Corrupt EXIF data », pikepdf's XMP and page
# copy notes, img2pdf, fontTools): what matters reaches the user as refere's own French findings.
_CHATTY = ("PIL", "pikepdf", "img2pdf", "fontTools", "docxtpl", "docx", "pytesseract")


def quiet_libraries(debug: bool) -> None:
    """Keep the libraries' warnings off the user's screen; ``--debug`` shows them."""
    import warnings

    warnings.simplefilter("default" if debug else "ignore")


def quiet_loggers(debug: bool) -> None:
    """Keep the libraries' log lines off the user's screen; ``--debug`` shows them."""
    import logging

    if debug:
        logging.basicConfig(level=logging.WARNING)
        return
    for name in _CHATTY:
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="refere")
