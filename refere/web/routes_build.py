"""Check and build: the verification page, building, downloading the outputs one by one or as a zip."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Flask, abort, current_app, redirect, render_template, request, send_file, url_for

from refere.errors import CaseInvalid, RefereError
from refere.present import figures_lines
from refere.web import core, store
from refere.web.common import case_folder, load_doc, stash, unstash


def register(app: Flask) -> None:
    @app.get("/d/<case_id>/verification")
    def check_page(case_id):
        folder = case_folder(case_id)
        doc, problems = load_doc(folder)
        checked = core.check(folder)
        lines = figures_lines(checked.report) if checked.report else []
        return render_template("verification.html", case_id=case_id, checked=checked, figures=lines,
                               status=core.status(folder), doc=doc, originals=store.original_names(folder))

    @app.get("/d/<case_id>/construction")
    def build_page(case_id):
        folder = case_folder(case_id)
        m = core.manifest(folder)
        doc, _ = load_doc(folder)
        return render_template("construction.html", case_id=case_id, manifest=m, status=core.status(folder),
                               files=core.output_files(folder), result=unstash("construit"), doc=doc,
                               pdf_possible=core.pdf_possible(), letters=core.letter_files(folder),
                               letter=unstash("courrier"), letter_stale=core.letter_stale(folder),
                               checked=core.check(folder), originals=store.original_names(folder),
                               unreadable=m is None and core.built_unreadable(folder),
                               outdir=core.built_dir(folder).relative_to(folder.parent).as_posix(),
                               modeles=current_app.config["REFERE_MODELES"])

    @app.post("/d/<case_id>/construction")
    def build_run(case_id):
        folder = case_folder(case_id)
        brouillon = bool(request.form.get("brouillon"))
        if not brouillon and not request.form.get("confirmer"):
            checked = core.check(folder)
            if checked.report is not None and checked.report.warnings and not checked.report.blocking:
                # The warnings are listed on the page: a final build is a choice made knowing them.
                stash("construit", {"confirmer": True})
                return redirect(url_for("build_page", case_id=case_id) + "#confirmer-avertissements")
        try:
            res = core.run_build(folder, brouillon, pdf=bool(request.form.get("pdf")) and core.pdf_possible(),
                                 modele=current_app.config["REFERE_MODELES"].requete)
        except CaseInvalid as exc:
            # Each problem in the form's words, with its « Corriger » link (as on the verification page).
            stash("construit", {"erreur": True, "problemes": [(p.field, p.message) for p in exc.problems]})
            return redirect(url_for("build_page", case_id=case_id) + "#resultat")
        except RefereError as exc:
            stash("construit", {"erreur": True, "message": exc.message})
            return redirect(url_for("build_page", case_id=case_id) + "#resultat")
        stash("construit", {"pieces": len(res.inventory.pieces), "pages": res.pages, "brouillon": brouillon,
                            "avertissements": [(w.champ, w.message) for w in res.report.warnings],
                            "notes": list(res.notes)})
        return redirect(url_for("build_page", case_id=case_id) + "#fichiers")

    @app.post("/d/<case_id>/courrier")
    def letter_run(case_id):
        folder = case_folder(case_id)
        try:
            res = core.write_letter(folder, current_app.config["REFERE_MODELES"].courrier)
        except CaseInvalid as exc:
            stash("courrier", {"erreur": True, "problemes": [(p.field, p.message) for p in exc.problems]})
        except RefereError as exc:
            stash("courrier", {"erreur": True, "message": exc.message})
        else:
            # What the letter still lacks (the préfecture's address), in the form's words.
            stash("courrier", {"tentatives": res.tentatives, "a_completer": list(res.a_completer)})
        return redirect(url_for("build_page", case_id=case_id) + "#courrier")

    @app.get("/d/<case_id>/courrier/<name>")
    def letter_download(case_id, name):
        folder = case_folder(case_id)
        if name not in core.LETTER_FILES:
            abort(404)  # only the two names the letter is written under
        fh = core.open_plain(folder, [core.LETTER_DIR, name])  # never through a link
        if fh is None:
            abort(404)
        return send_file(fh, mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream",
                         as_attachment=True, download_name=name, max_age=0)

    @app.get("/d/<case_id>/fichiers/<path:name>")
    def download(case_id, name):
        folder = case_folder(case_id)
        try:
            fh = core.open_output(folder, name)  # only what the last build listed, inside dossier/, no link
        except core.NotServed as exc:
            return missing(exc)
        return send_file(fh, mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream",
                         as_attachment=True, download_name=Path(name).name, max_age=0)

    @app.get("/d/<case_id>/dossier.zip")
    def download_zip(case_id):
        folder = case_folder(case_id)
        if not core.output_files(folder):
            abort(404)
        try:
            zipped = core.make_zip(folder, case_id)  # closed, and so gone, with the response
        except core.NotServed as exc:
            return missing(exc)
        except core.BuildUnderWay as exc:  # a build kept replacing the folder: never a zip of two builds
            return render_template("erreur.html", titre="Construction en cours", message=exc.message), 503
        return send_file(zipped, mimetype="application/zip", as_attachment=True, download_name=f"{case_id}.zip",
                         max_age=0)


def missing(exc: RefereError):
    return render_template("erreur.html", titre="Fichier introuvable", message=exc.message), 404
