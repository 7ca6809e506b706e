"""The Flask application: thin routes over store (files), forms (inputs ↔ YAML) and core (the CLI's functions)."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from flask import (Flask, abort, after_this_request, flash, jsonify, redirect, render_template, request,
                   send_file, session, url_for)
from werkzeug.exceptions import RequestEntityTooLarge

from refere import __version__
from refere.preuves import captures
from refere.affaire import departements
from refere.errors import CaseInvalid, RefereError
from refere.web import core, forms, store

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")


def create_app(workspace: Path, password: str | None = None, limits: store.Limits | None = None,
               workers: int | None = None, trusted_hosts: list[str] | None = None) -> Flask:
    app = Flask(__name__)
    limits = limits or store.Limits()
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # a new one at each start: sessions end with the server
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="refere_session",
        # A request may carry many files; each file and the case total are checked as they arrive.
        MAX_CONTENT_LENGTH=limits.case_bytes + 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=20_000,  # 2000 attempts (the format's maximum) × their inputs
        # A local server answers only to local names: a web page cannot reach it by DNS rebinding.
        TRUSTED_HOSTS=trusted_hosts,
        REFERE_WORKSPACE=workspace.resolve(),
        REFERE_PASSWORD=password,
        REFERE_LIMITS=limits,
    )
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(forms=forms, refere_version=__version__)
    out = workspace / "construits"
    app.extensions["refere_batch"] = core.BatchRunner(workspace.resolve(), out, workers or (os.cpu_count() or 1))
    _routes(app)
    return app


def _ws() -> Path:
    from flask import current_app
    return current_app.config["REFERE_WORKSPACE"]


def _folder(case_id: str) -> Path:
    folder = store.case_dir(_ws(), case_id)
    if folder is None:
        abort(404)
    return folder


_NOTES_MAX = 200


def _stash(name: str, data) -> None:
    """Results shown on the next page, kept here: a cookie holds 4 KB, an upload of 100 captures more."""
    from flask import current_app
    notes = current_app.extensions.setdefault("refere_notes", {})
    while len(notes) >= _NOTES_MAX:
        notes.pop(next(iter(notes)))
    key = secrets.token_urlsafe(12)
    notes[key] = data
    session[name] = key


def _unstash(name: str):
    from flask import current_app
    key = session.pop(name, None)
    return current_app.extensions.get("refere_notes", {}).pop(key, None) if key else None


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _routes(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = _csrf_token

    @app.before_request
    def _guard():
        if request.endpoint == "static":
            return None
        pw = app.config["REFERE_PASSWORD"]
        if pw and not session.get("auth") and request.endpoint != "login":
            return redirect(url_for("login", suite=request.path))
        if request.method == "POST":
            sent = request.form.get("_csrf", "")
            if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
                return render_template("erreur.html", titre="Formulaire expiré",
                                       message="Ce formulaire a expiré ou ne vient pas de cette page : "
                                               "rechargez la page, puis recommencez."), 400
        return None

    @app.after_request
    def _headers(resp):
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        if resp.mimetype == "text/html":
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        lim = app.config["REFERE_LIMITS"]
        return render_template("erreur.html", titre="Envoi trop gros",
                               message=f"L'envoi dépasse la taille permise ({lim.case_bytes // 1024 // 1024} Mo pour un "
                                       "dossier) : envoyez moins de fichiers à la fois."), 413

    @app.errorhandler(400)
    def _bad_request(_exc):
        # Plain text: with an untrusted Host no URL can be built, so no template with links.
        return ("Requête refusée : adresse ou formulaire invalide. Ouvrez refere à l'adresse affichée "
                "par la commande « refere web ».", 400, {"Content-Type": "text/plain; charset=utf-8"})

    @app.errorhandler(404)
    def _not_found(_exc):
        return render_template("erreur.html", titre="Page introuvable",
                               message="Ce dossier ou cette page n'existe pas."), 404

    @app.route("/connexion", methods=["GET", "POST"])
    def login():
        error = ""
        if request.method == "POST":
            pw = app.config["REFERE_PASSWORD"] or ""
            if hmac.compare_digest(request.form.get("mot_de_passe", "").encode(), pw.encode()):
                session.clear()
                session["auth"] = True
                suite = request.args.get("suite", "/")
                return redirect(suite if suite.startswith("/") and not suite.startswith("//") else "/")
            error = "Mot de passe incorrect."
        return render_template("connexion.html", error=error)

    # ------------------------------------------------------------ workspace

    @app.get("/")
    def index():
        ws = _ws()
        runner = app.extensions["refere_batch"]
        rows = []
        for cid in store.case_ids(ws):
            st = core.status(ws / cid, runner.out)
            rows.append({"id": cid, **st})
        return render_template("index.html", rows=rows, workspace=ws, batch=runner.state,
                               single=(ws / store.CASE_FILE).is_file(),
                               has_report=(runner.out / "rapport.csv").is_file())

    @app.post("/nouveau")
    def new_case():
        try:
            cid = store.new_case(_ws(), request.form.get("nom", ""))
        except RefereError as exc:
            flash(exc.message, "erreur")
            return redirect(url_for("index"))
        flash("Dossier créé : remplissez chaque partie, puis enregistrez.", "ok")
        return redirect(url_for("case_form", case_id=cid))

    @app.post("/tout-construire")
    def batch_start():
        if not app.extensions["refere_batch"].start():
            flash("« Tout construire » est déjà en cours.", "erreur")
        return redirect(url_for("batch_page"))

    @app.get("/tout-construire")
    def batch_page():
        runner = app.extensions["refere_batch"]
        known = set(store.case_ids(runner.workspace)) if not runner.state.running else set()
        failures = {r.dossier: core.failure_summary(runner.workspace / r.dossier if r.dossier in known else None, r.erreur)
                    for r in runner.state.rows if r.statut not in ("ok", "à jour")}
        return render_template("lot.html", batch=runner.state, out=runner.out, failures=failures,
                               has_report=(runner.out / "rapport.csv").is_file())

    @app.get("/tout-construire/rapport.csv")
    def batch_report():
        path = app.extensions["refere_batch"].out / "rapport.csv"
        if not path.is_file():
            abort(404)
        return send_file(path, mimetype="text/csv", as_attachment=True, download_name="rapport.csv", max_age=0)

    @app.get("/api/departement")
    def api_departement():
        try:
            d = departements.lookup(request.args.get("code", ""))
        except RefereError as exc:
            return jsonify({"erreur": exc.message}), 404
        return jsonify({"tribunal": d.tribunal, "prefet": d.prefet, "nom": d.nom})

    # ------------------------------------------------------------ the case form

    def _load_doc(folder: Path, fresh: bool = False):
        try:
            read = store.read_doc if fresh else store.read_doc_for_display
            return read(folder / store.CASE_FILE), None
        except CaseInvalid as exc:
            return None, exc.problems

    def _page(template: str, case_id: str, folder: Path, doc, **extra):
        checked = core.check(folder)
        paths = forms.all_paths(doc) if doc is not None else []
        problems, hints = checked.problems, {}
        if store.is_fresh(folder):
            # A new case, never saved: what is left to fill is a neutral hint, not a red error.
            todo = {p.field for p in problems if p.message.startswith("valeur à compléter")}
            hints = {f: "à remplir" for f in todo if f in set(paths)}
            problems = [p for p in problems if p.field not in hints]
        by_path, general = forms.place(problems, paths)
        return render_template(template, case_id=case_id, doc=doc, checked=checked, errors=by_path, hints=hints,
                               general=general, version=store.version_of(folder / store.CASE_FILE),
                               originals=store.original_names(folder),
                               status=core.status(folder), **extra)

    @app.get("/d/<case_id>/")
    def case_form(case_id):
        folder = _folder(case_id)
        doc, problems = _load_doc(folder)
        if doc is None:
            return render_template("illisible.html", case_id=case_id, problems=core.check(folder).problems or problems), 200
        dep = None
        code = forms.get(doc, "prefecture.departement")
        try:
            dep = departements.lookup(code) if code not in (None, "") else None
        except RefereError:
            dep = None
        return _page("dossier.html", case_id, folder, doc, dep=dep,
                     urgence=forms.list_rows(doc, "urgence"), diligences=forms.list_rows(doc, "diligences"),
                     piece_ids=[str(p.get("id")) for p in (doc.get("pieces") or []) if isinstance(p, dict) and p.get("id")],
                     piece_titles={str(p.get("id")): f"{p.get('titre') or p.get('id')} ({p.get('id')})"
                                   for p in (doc.get("pieces") or []) if isinstance(p, dict) and p.get("id")})

    def _save(folder: Path, mutate) -> bool:
        """Re-read, apply, write if changed; refuse when another tab saved in between."""
        doc, problems = _load_doc(folder, fresh=True)
        if doc is None:
            flash("Le fichier dossier.yaml est illisible : corrigez-le dans un éditeur.", "erreur")
            return False
        sent = request.form.get("_version", "")
        if sent != store.version_of(folder / store.CASE_FILE):
            flash(store.Stale().message, "erreur")
            return False
        changed = mutate(doc)
        if changed:
            try:
                store.write_doc(folder / store.CASE_FILE, doc, sent)
            except RefereError as exc:
                flash(exc.message, "erreur")
                return False
        return True

    @app.post("/d/<case_id>/supprimer-cle")
    def remove_key(case_id):
        """Remove a mistyped key the form cannot show: only one the loader names as unknown right now."""
        folder = _folder(case_id)
        wanted = request.form.get("champ", "")
        unknown = {p.field: forms.unknown_key(p) for p in core.check(folder).problems if forms.unknown_key(p)}
        if wanted not in unknown:
            flash("Cette clé n'est plus signalée comme inconnue : rien n'a été supprimé.", "erreur")
        elif _save(folder, lambda doc: forms.remove_key(doc, wanted)):
            flash(f"Clé « {unknown[wanted]} » supprimée.", "ok")
        return redirect(request.referrer if _same_site(request.referrer) else url_for("case_form", case_id=case_id))

    def _same_site(ref: str | None) -> bool:
        from urllib.parse import urlsplit
        return bool(ref) and urlsplit(ref).netloc == request.host and urlsplit(ref).path.startswith("/d/")

    # « Enregistrer et passer à … » buttons: save first, then go on (leaving never loses what was typed).
    NEXT_STEPS = {"captures": "captures_page", "pieces": "pieces_page", "verification": "check_page"}

    def _next_step(case_id):
        endpoint = NEXT_STEPS.get(request.form.get("_suite", ""))
        return redirect(url_for(endpoint, case_id=case_id)) if endpoint else None

    @app.post("/d/<case_id>/")
    def case_save(case_id):
        folder = _folder(case_id)
        form = forms.merge_proof_boxes(request.form.to_dict(), request.form.getlist)
        try:
            proofs = _receive_proofs(folder)
        except store.UploadRefused as exc:
            flash(exc.message + " Rien n'a été enregistré.", "erreur")
            return redirect(url_for("case_form", case_id=case_id))

        def mutate(doc):
            seq = doc.get("urgence")
            removed = [i for i in range(len(seq) if isinstance(seq, list) else 0) if form.get(f"urgence[{i}].supprimer")]
            a = forms.apply_sections(doc, form)
            b = forms.apply_list(doc, "urgence", form)
            c = forms.apply_list(doc, "diligences", form)
            d = forms.attach_proofs(doc, form, proofs, removed)
            return a.changed or b.changed or c.changed or d

        if _save(folder, mutate):
            flash("Enregistré.", "ok")
            if (nxt := _next_step(case_id)):
                return nxt
        else:
            for written in proofs.values():
                for w in written:
                    store.remove_inside(folder, w, "pieces")
        return redirect(url_for("case_form", case_id=case_id) + "#haut")

    def _receive_proofs(folder: Path) -> dict[str, list[str]]:
        """Proof files sent with urgency facts → pieces/ (checked like any pièce)."""
        import re
        limits = app.config["REFERE_LIMITS"]
        dest = folder / "pieces"
        used = store.folder_size(folder)
        out: dict[str, list[str]] = {}
        originals: dict[str, str] = {}
        try:
            for key in request.files:
                m = re.fullmatch(r"urgence\[(\d+|nouveau)\]\.preuve", key)
                if not m:
                    continue
                for up in request.files.getlist(key):
                    if not up or not up.filename:
                        continue
                    tmp, kind, digest, size = store.receive(up.stream, up.filename, dest, limits, used)
                    used += size
                    out.setdefault(m[1], []).append(f"pieces/{store.store_piece(tmp, kind, digest, 'preuve-urgence', dest)}")
                    originals[out[m[1]][-1]] = up.filename
        except store.UploadRefused:
            for written in out.values():
                for w in written:
                    store.remove_inside(folder, w, "pieces")
            raise
        store.remember_names(folder, originals)
        return out

    # ------------------------------------------------------------ captures

    @app.get("/d/<case_id>/captures")
    def captures_page(case_id):
        folder = _folder(case_id)
        doc, problems = _load_doc(folder)
        if doc is None:
            return render_template("illisible.html", case_id=case_id, problems=core.check(folder).problems or problems)
        rows = forms.list_rows(doc, "tentatives")
        used = {str(r["item"].get("capture")) for r in rows if r["item"].get("capture")}
        loose = []
        cap = folder / "captures"
        if cap.is_dir():
            for p in sorted(cap.iterdir()):
                if p.is_file() and not p.name.startswith(".") and f"captures/{p.name}" not in used:
                    when, source = _date_existing(p)
                    loose.append({"name": p.name, "when": when.strftime("%Y-%m-%dT%H:%M") if when else "",
                                  "source": source})
        return _page("captures.html", case_id, folder, doc, rows=rows, loose=loose,
                     result=_unstash("envoi"))

    def _date_existing(p: Path):
        from refere import files
        from refere.preuves import shotdates
        with open(p, "rb") as fh:
            kind = files.sniff(fh.read(1024))
        if kind is None:
            return None, "format non reconnu"
        found = shotdates.read(p, kind)
        return (found.when, found.source) if found else (None, "")

    @app.get("/d/<case_id>/captures/voir/<name>")
    def capture_file(case_id, name):
        """A screenshot, to read its date on it; only a file directly in captures/, images inline."""
        from refere import files
        folder = _folder(case_id)
        path = folder / "captures" / name
        if name.startswith(".") or "/" in name or "\\" in name or not path.is_file() or path.is_symlink():
            abort(404)
        if path.resolve().parent != (folder / "captures").resolve():
            abort(404)
        with open(path, "rb") as fh:
            kind = files.sniff(fh.read(1024))
        if kind is None:
            abort(404)
        mime = {"png": "image/png", "jpeg": "image/jpeg", "pdf": "application/pdf"}[kind]
        # A PDF is downloaded, never shown inside the page (a PDF can carry scripts).
        return send_file(path, mimetype=mime, as_attachment=kind == "pdf", download_name=name, max_age=0)

    @app.post("/d/<case_id>/captures/envoyer")
    def captures_upload(case_id):
        folder = _folder(case_id)
        sent = request.form.get("_version", "")
        if sent != store.version_of(folder / store.CASE_FILE):
            flash(store.Stale().message, "erreur")
            return redirect(url_for("captures_page", case_id=case_id))
        limits = app.config["REFERE_LIMITS"]
        cap = folder / "captures"
        known = store.existing_hashes(cap)
        used = store.folder_size(folder)
        dated, undated, dupes, refused = [], [], [], []
        for up in request.files.getlist("fichiers"):
            if not up or not up.filename:
                continue
            original = up.filename
            try:
                tmp, kind, digest, size = store.receive(up.stream, original, cap, limits, used)
            except store.UploadRefused as exc:
                refused.append(exc.message)
                continue
            if digest in known:
                tmp.unlink(missing_ok=True)
                dupes.append(f"« {original} » a le même contenu que « {known[digest]} » : "
                             "une capture ne prouve qu'une tentative, elle n'est pas ajoutée.")
                continue
            when, source = store.date_upload(tmp, kind, original)
            name = store.store_capture(tmp, kind, digest, when, cap)
            known[digest] = name
            used += size
            shot = captures.Shot(f"captures/{name}", when, source, digest)
            (dated if when else undated).append((original, shot))
        store.remember_names(folder, {s.written: o for o, s in dated + undated})
        added = skipped = 0
        if dated:
            try:
                with store.file_lock(folder / store.CASE_FILE):
                    added, skipped = captures.merge(folder / store.CASE_FILE,
                                                    captures.Scan([s for _, s in dated], [], []))
            except RefereError as exc:
                refused.append(exc.message)
        _stash("envoi", {
            "ajoutees": added, "ignorees": skipped,
            "datees": [f"« {o} » : {s.when:%d/%m/%Y %H:%M} (d'après : {s.source})" for o, s in dated],
            "non_datees": [o for o, _ in undated], "doublons": dupes, "refusees": refused,
        })
        return redirect(url_for("captures_page", case_id=case_id) + "#resultat")

    @app.post("/d/<case_id>/captures/dater")
    def captures_date(case_id):
        """Give a date to a capture that has none (or add a loose one) as a new attempt."""
        folder = _folder(case_id)
        name = request.form.get("nom", "")
        if not (folder / "captures" / name).is_file() or "/" in name or name.startswith("."):
            abort(404)
        when = request.form.get("date", "").strip()
        if not when:
            flash("Indiquez la date et l'heure de la tentative.", "erreur")
            return redirect(url_for("captures_page", case_id=case_id))

        def mutate(doc):
            from ruamel.yaml.comments import CommentedMap
            seq = forms.list_of(doc, "tentatives")
            item = CommentedMap()
            item["date"] = forms.to_yaml(when, "datetime")
            item["capture"] = f"captures/{name}"
            seq.append(item)
            return True

        if _save(folder, mutate):
            flash("Tentative ajoutée.", "ok")
        return redirect(url_for("captures_page", case_id=case_id))

    @app.post("/d/<case_id>/captures")
    def captures_save(case_id):
        folder = _folder(case_id)
        form = request.form.to_dict()
        if _save(folder, lambda doc: forms.apply_list(doc, "tentatives", form).changed):
            flash("Tentatives enregistrées.", "ok")
            if (nxt := _next_step(case_id)):
                return nxt
        return redirect(url_for("captures_page", case_id=case_id))

    @app.post("/d/<case_id>/captures/retirer")
    def captures_remove_file(case_id):
        folder = _folder(case_id)
        name = request.form.get("nom", "")
        doc, _ = _load_doc(folder)
        used = {str(t.get("capture")) for t in (doc.get("tentatives") or []) if isinstance(t, dict)} if doc else set()
        if f"captures/{name}" in used:
            flash("Cette capture sert à une tentative : retirez d'abord la tentative.", "erreur")
        else:
            store.remove_inside(folder, f"captures/{name}", "captures")
            flash("Capture retirée.", "ok")
        return redirect(url_for("captures_page", case_id=case_id))

    # ------------------------------------------------------------ pièces

    @app.get("/d/<case_id>/pieces")
    def pieces_page(case_id):
        folder = _folder(case_id)
        doc, problems = _load_doc(folder)
        if doc is None:
            return render_template("illisible.html", case_id=case_id, problems=core.check(folder).problems or problems)
        return _page("pieces.html", case_id, folder, doc, rows=forms.list_rows(doc, "pieces"))

    @app.post("/d/<case_id>/pieces/envoyer")
    def pieces_upload(case_id):
        folder = _folder(case_id)
        title = request.form.get("titre", "").strip()
        if not title:
            flash("Donnez un titre à la pièce (par exemple : Passeport).", "erreur")
            return redirect(url_for("pieces_page", case_id=case_id))
        category = request.form.get("categorie") or "autre"
        limits = app.config["REFERE_LIMITS"]
        dest = folder / "pieces"
        used = store.folder_size(folder)
        written, originals = [], {}
        try:
            for up in request.files.getlist("fichiers"):
                if not up or not up.filename:
                    continue
                tmp, kind, digest, size = store.receive(up.stream, up.filename, dest, limits, used)
                used += size
                written.append(f"pieces/{store.store_piece(tmp, kind, digest, title, dest)}")
                originals[written[-1]] = up.filename
        except store.UploadRefused as exc:
            for w in written:
                store.remove_inside(folder, w, "pieces")
            flash(exc.message + " Rien n'a été ajouté.", "erreur")
            return redirect(url_for("pieces_page", case_id=case_id))
        if not written:
            flash("Choisissez le fichier de la pièce (PDF, JPEG ou PNG).", "erreur")
            return redirect(url_for("pieces_page", case_id=case_id))

        def mutate(doc):
            from ruamel.yaml.comments import CommentedMap
            seq = forms.list_of(doc, "pieces")
            item = CommentedMap()
            if (pid := request.form.get("id", "").strip()):
                item["id"] = pid
            item["titre"] = title
            item["categorie"] = category
            forms.set_sources(item, written)
            if (d := forms.to_yaml(request.form.get("date", ""), "date")) is not None:
                item["date"] = d
            seq.append(item)
            return True

        if _save(folder, mutate):
            store.remember_names(folder, originals)
            flash(f"Pièce « {title} » ajoutée.", "ok")
        else:
            for w in written:
                store.remove_inside(folder, w, "pieces")
        return redirect(url_for("pieces_page", case_id=case_id))

    @app.post("/d/<case_id>/pieces")
    def pieces_save(case_id):
        folder = _folder(case_id)
        form = request.form.to_dict()
        removed: list[str] = []

        def mutate(doc):
            seq = doc.get("pieces") or []
            for i, item in enumerate(seq):
                if form.get(f"pieces[{i}].supprimer") and isinstance(item, dict):
                    removed.extend(str(x) for x in ([item.get("fichier")] if item.get("fichier") else item.get("fichiers") or []))
            changed = forms.apply_list(doc, "pieces", form, new_entry=False).changed
            if (mv := form.get("deplacer")):
                i, _, way = mv.partition(":")
                if i.isdigit():
                    changed = forms.move(doc, "pieces", int(i), -1 if way == "haut" else 1) or changed
            return changed

        if _save(folder, mutate):
            doc, _ = _load_doc(folder)
            still = {str(x) for p in ((doc or {}).get("pieces") or []) if isinstance(p, dict)
                     for x in ([p.get("fichier")] if p.get("fichier") else p.get("fichiers") or [])}
            for w in removed:
                if w not in still:
                    store.remove_inside(folder, w, "pieces")
            flash("Pièces enregistrées.", "ok")
            if (nxt := _next_step(case_id)):
                return nxt
        return redirect(url_for("pieces_page", case_id=case_id))

    # ------------------------------------------------------------ check and build

    @app.get("/d/<case_id>/verification")
    def check_page(case_id):
        folder = _folder(case_id)
        doc, problems = _load_doc(folder)
        from refere.present import figures_lines
        checked = core.check(folder)
        lines = figures_lines(checked.report) if checked.report else []
        return render_template("verification.html", case_id=case_id, checked=checked, figures=lines,
                               status=core.status(folder), doc=doc)

    @app.get("/d/<case_id>/construction")
    def build_page(case_id):
        folder = _folder(case_id)
        m = core.manifest(folder)
        return render_template("construction.html", case_id=case_id, manifest=m, status=core.status(folder),
                               files=core.output_files(folder), result=_unstash("construit"),
                               checked=core.check(folder), outdir=store.OUT_DIR)

    @app.post("/d/<case_id>/construction")
    def build_run(case_id):
        folder = _folder(case_id)
        brouillon = bool(request.form.get("brouillon"))
        try:
            res = core.run_build(folder, brouillon)
        except RefereError as exc:
            _stash("construit", {"erreur": exc.message})
            return redirect(url_for("build_page", case_id=case_id))
        _stash("construit", {"pieces": len(res.inventory.pieces), "pages": res.pages, "brouillon": brouillon,
                             "avertissements": [w.message for w in res.report.warnings]})
        return redirect(url_for("build_page", case_id=case_id) + "#fichiers")

    @app.get("/d/<case_id>/fichiers/<path:name>")
    def download(case_id, name):
        folder = _folder(case_id)
        if name not in core.output_files(folder):
            abort(404)  # only what the last build listed: never a path from the request
        return send_file(folder / store.OUT_DIR / name, as_attachment=True, download_name=Path(name).name, max_age=0)

    @app.get("/d/<case_id>/dossier.zip")
    def download_zip(case_id):
        folder = _folder(case_id)
        if not core.output_files(folder):
            abort(404)
        tmp = core.make_zip(folder, case_id)

        @after_this_request
        def _cleanup(resp):
            resp.call_on_close(lambda: tmp.unlink(missing_ok=True))
            return resp

        return send_file(tmp, mimetype="application/zip", as_attachment=True, download_name=f"{case_id}.zip", max_age=0)
