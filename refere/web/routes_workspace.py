"""Workspace pages: the list of cases, a new case, « Tout construire » and its report, the département API."""

from __future__ import annotations

from flask import Flask, abort, flash, jsonify, redirect, render_template, request, send_file, url_for

from refere.affaire import departements
from refere.errors import RefereError
from refere.web import core, store
from refere.web.common import ws


def register(app: Flask) -> None:
    @app.get("/")
    def index():
        workspace = ws()
        runner = app.extensions["refere_batch"]
        rows = []
        for cid in store.case_ids(workspace):
            st = core.status(workspace / cid)
            rows.append({"id": cid, **st})
        total = len(rows)
        # The same person in two folders (came twice, or two volunteers): each row names the other folder.
        same = core.same_people(workspace, [r["id"] for r in rows])
        for r in rows:
            r["same"] = same.get(r["id"], [])
        report = core.report_age(runner.out, rows)
        # The desk's search (folder or person's name, accents ignored) and filter by state.
        q, etat = request.args.get("q", "").strip(), request.args.get("etat", "")
        if q:
            wanted = core.plain(q)
            rows = [r for r in rows if wanted in core.plain(f"{r['id']} {r['name']}")]
        if etat == "a-reconstruire":
            rows = [r for r in rows if r.get("stale")]
        elif etat:
            rows = [r for r in rows if r["state"] == etat]
        return render_template("index.html", rows=rows, total=total, q=q, etat=etat, states=core.STATE_FILTER,
                               workspace=workspace, batch=runner.state,
                               single=(workspace / store.CASE_FILE).is_file(),
                               groups=store.nested_groups(workspace) if not total else [],
                               unserved=store.unserved_cases(workspace),
                               linked=store.linked_cases(workspace),
                               has_report=report is not None, report=report)

    @app.post("/nouveau")
    def new_case():
        try:
            cid = store.new_case(ws(), request.form.get("nom", ""))
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
                               has_report=core.report_age(runner.out, []) is not None)

    @app.get("/tout-construire/rapport.csv")
    def batch_report():
        out = app.extensions["refere_batch"].out
        fh = core.open_plain(out.parent, [out.name, "rapport.csv"])  # never through a link
        if fh is None:
            abort(404)
        return send_file(fh, mimetype="text/csv", as_attachment=True, download_name="rapport.csv", max_age=0)

    @app.get("/api/departement")
    def api_departement():
        try:
            d = departements.lookup(request.args.get("code", ""))
        except RefereError as exc:
            return jsonify({"erreur": exc.message}), 404
        return jsonify({"tribunal": d.tribunal, "prefet": d.prefet, "nom": d.nom})
