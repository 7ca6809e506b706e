"""The ``refere`` command: parse options, call one core function, print. Nothing more."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click

from . import __version__, clifr, departements
from .errors import EvidenceInsufficient, RefereError

clifr.install()

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Root(click.Group):
    """Every user-facing error becomes French text and an exit code here, and only here."""

    def main(self, args=None, prog_name=None, **extra):  # type: ignore[override]
        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args
        for stream in (sys.stdout, sys.stderr):
            # A terminal that cannot print French (PYTHONIOENCODING=latin-1, C locale) gets « ? »
            # for what it lacks, never a crash.
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="replace")
        extra["standalone_mode"] = False
        try:
            rv = super().main(args=args, prog_name=prog_name or "refere", **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("Interrompu.", err=True)
            sys.exit(1)
        except RefereError as exc:
            if debug:
                traceback.print_exc()
            if exc.message:
                click.echo(exc.message, err=True)
            sys.exit(exc.exit_code)
        except Exception:
            if debug:
                raise
            click.echo(
                "Erreur interne inattendue : ce n'est pas de votre faute. Relancez avec --debug "
                "et transmettez le message aux développeurs de refere.", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(name="refere", cls=Root, context_settings=CONTEXT, subcommand_metavar="COMMANDE [ARGUMENTS]...")
@click.version_option(__version__, "--version", prog_name="refere")
@click.option("--debug", is_flag=True, help="Afficher la trace Python complète en cas d'erreur.")
def cli(debug: bool) -> None:
    """Prépare une requête en référé mesures utiles (article L. 521-3 du code de justice
    administrative) quand la préfecture ne propose aucun rendez-vous, avec ses pièces numérotées.

    \b
    Exemple :
      refere init mon-dossier
      refere check mon-dossier/dossier.yaml
      refere build mon-dossier/dossier.yaml
    """
    # --debug is read by Root.main before parsing; nothing to keep here.


@cli.command()
@click.argument("dossier", type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Échouer aussi sur les avertissements.")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON pour les programmes.")
def check(dossier: Path, strict: bool, as_json: bool) -> None:
    """Vérifie le fichier dossier.yaml et les preuves, comme le ferait le juge.

    Affiche toutes les erreurs et tous les avertissements, groupés.

    \b
    Exemple :
      refere check mon-dossier/dossier.yaml
      refere check mon-dossier/dossier.yaml --strict --json
    """
    from . import plan
    from .evidence import check as run_check
    from .loader import load, resolve_case_path
    from .present import report_text

    from .errors import CaseInvalid

    path = resolve_case_path(dossier)
    try:
        case = load(path)
    except CaseInvalid as exc:
        if not as_json:
            raise
        # A program gets JSON whatever happens, with each problem's place in the file.
        click.echo(json.dumps({"valide": False, "erreurs": [
            {"fichier": p.file, "ligne": p.line, "champ": p.field, "message": p.message} for p in exc.problems
        ]}, ensure_ascii=False, indent=2))
        raise EvidenceInsufficient("") from None
    report = run_check(case)
    inv = None if report.blocking else plan.make(case)  # the numbering, once the files are readable
    if as_json:
        doc = report.to_dict()
        if inv is not None:
            doc["pieces"] = [{"numero": p.numero, "titre": p.titre, "fichier": p.fichier, "pages": p.pages}
                             for p in inv.pieces]
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        click.echo(report_text(case, report, str(path), inv))
    if report.blocking:
        raise EvidenceInsufficient("Preuves insuffisantes : voir les problèmes bloquants ci-dessus." if not as_json else "")
    if strict and report.warnings:
        raise EvidenceInsufficient("Avertissements présents et --strict demandé." if not as_json else "")


@cli.command()
@click.argument("departement")
def tribunal(departement: str) -> None:
    """Indique le tribunal administratif compétent et le préfet défendeur d'un département.

    \b
    Exemple :
      refere tribunal 93
      refere tribunal 2A
    """
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
    from .model import Case

    s = Case.model_json_schema()
    s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    s["title"] = "Dossier refere (format 1)"
    click.echo(json.dumps(s, ensure_ascii=False, indent=2))


@cli.command()
@click.argument("dossier", type=click.Path(path_type=Path))
@click.option("--interactif", is_flag=True, help="Poser les questions une à une.")
def init(dossier: Path, interactif: bool) -> None:
    """Crée un dossier d'affaire : dossier.yaml commenté, captures/ et pieces/.

    \b
    Exemple :
      refere init dossier-diallo
      refere init dossier-diallo --interactif
    """
    from .init import ask, create

    answers = ask() if interactif else None
    path = create(dossier, answers)
    click.echo(f"Dossier créé : {path}")
    click.echo("Complétez-le, placez les captures dans captures/ et les pièces dans pieces/, puis :")
    click.echo(f"  refere check {path}")


@cli.command()
@click.argument("dossier", type=click.Path(path_type=Path))
@click.option("-o", "--sortie", type=click.Path(path_type=Path), help="Dossier de sortie (par défaut : dossier/ à côté du fichier).")
@click.option("--force", is_flag=True, help="Remplacer le dossier de sortie s'il existe.")
@click.option("--brouillon", is_flag=True, help="Construire même si les preuves sont insuffisantes (requête marquée « PROJET »).")
@click.option("--pdf", is_flag=True, help="Convertir aussi la requête en PDF (LibreOffice requis).")
@click.option("--modele", type=click.Path(path_type=Path), help="Modèle Word personnalisé (.docx).")
@click.option("--compresser", is_flag=True, help="Recompresser les images d'une pièce de plus de 32 Mo.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Nombre de processus (par défaut : les cœurs de la machine).")
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
    from .assemble import default_jobs
    from .build import Options, build as run_build

    res = run_build(dossier, Options(sortie, force, brouillon, pdf, modele, compresser, jobs or default_jobs()))
    from .present import inventory_lines

    click.echo(f"Dossier construit : {res.out}")
    click.echo(f"  {len(res.inventory.pieces)} pièces, {res.pages} pages dans dossier-complet.pdf ; "
               "à déposer une par une, dans l'ordre :")
    click.echo("\n".join(inventory_lines(res.inventory)))
    for w in res.report.warnings:
        click.echo(f"  avertissement [{w.code}] {w.message}")
    for b in res.report.blocking:
        click.echo(f"  PROJET seulement — [{b.code}] {b.message}")


@cli.command()
@click.argument("dossiers", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--sortie", required=True, type=click.Path(path_type=Path),
              help="Dossier où écrire chaque affaire (sous-dossier par affaire) et rapport.csv.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Affaires traitées en parallèle (par défaut : les cœurs de la machine).")
@click.option("--force", is_flag=True, help="Remplacer les sorties déjà construites.")
def batch(dossiers: tuple[Path, ...], sortie: Path, jobs: int | None, force: bool) -> None:
    """Construit de nombreuses affaires ; une affaire en erreur n'arrête pas les autres.

    Chaque argument est un fichier dossier.yaml ou un dossier où en chercher. Écrit
    SORTIE/<affaire>/ pour chacune et SORTIE/rapport.csv ; sort avec le code 1 si une affaire échoue.

    \b
    Exemple :
      refere batch permanence-2025-03-14/ -o construits/ -j 2
    """
    import os
    import sys

    from .batch import FAILED, find_jobs, run, write_report
    from .errors import RefereError

    found = find_jobs(dossiers)
    workers = jobs or os.cpu_count() or 1
    interactive = sys.stdout.isatty()
    bar = click.progressbar(length=len(found), label="Construction", show_pos=True) if interactive else None

    def progress(row, done, total):
        # Only the case folder's name: nothing personal in the output.
        if bar is not None:
            bar.update(1)
        else:
            click.echo(f"[{done}/{total}] {row.dossier} : {'ok' if row.statut == 'ok' else 'échec'}")

    if bar is not None:
        with bar:
            rows = run(found, sortie, workers, force, progress)
    else:
        rows = run(found, sortie, workers, force, progress)
    write_report(rows, sortie / "rapport.csv")
    failed = sorted((r for r in rows if r.statut == FAILED), key=lambda r: r.dossier)
    click.echo(f"{len(rows) - len(failed)} affaire(s) construite(s), {len(failed)} en échec — rapport : {sortie / 'rapport.csv'}")
    for r in failed:
        click.echo(f"  ÉCHEC {r.dossier} : {r.erreur}")
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
    from .captures import as_yaml, merge, scan

    base = ajouter.parent if ajouter else dossier_captures.parent
    result = scan(dossier_captures, base)
    if ajouter is None:
        click.echo(as_yaml(result), nl=False)
        return
    added, skipped = merge(ajouter, result)
    click.echo(f"{added} tentative(s) ajoutée(s) à {ajouter}, {skipped} déjà présente(s).")
    for s in result.undated:
        click.echo(f"  non datée : {s.written} ({s.source})")
    for group in result.duplicates:
        click.echo(f"  contenu identique : {', '.join(group)}")


@cli.group(subcommand_metavar="COMMANDE [ARGUMENTS]...")
def modele() -> None:
    """Modèles Word personnalisés de la requête.

    \b
    Exemple :
      refere modele verifier mon-modele.docx
    """


@modele.command("verifier")
@click.argument("fichier", type=click.Path(path_type=Path))
def modele_verifier(fichier: Path) -> None:
    """Vérifie un modèle : il s'ouvre, et chaque variable qu'il emploie existe.

    \b
    Exemple :
      refere modele verifier cabinet.docx
    """
    from .errors import TemplateError
    from .render import verify_template
    from .sample import sample_context

    problems = verify_template(fichier, sample_context())
    if problems:
        raise TemplateError(f"Modèle « {fichier} » inutilisable :\n" + "\n".join(f"  {p}" for p in problems))
    click.echo(f"Modèle « {fichier} » : correct.")


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    cli.main(args=argv, prog_name="refere")
