"""The captures page: the attempts, sending screenshots (dated on arrival), dating or removing a loose one."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, abort, flash, redirect, request, send_file, url_for

from refere.affaire.model import MAX_TENTATIVES
from refere.preuves import captures, shotdates
from refere import dates, files
from refere.errors import RefereError
from refere.web import core, forms, store
from refere.web.common import flash_saved, case_folder, load_doc, next_step, page, readable_case, save, stash, unstash


def _date_existing(p: Path):
    with open(p, "rb") as fh:
        kind = files.sniff(fh.read(1024))
    if kind is None:
        return None, "format non reconnu"
    found = shotdates.read(p, kind)
    return (found.when, found.source) if found else (None, "")


def register(app: Flask) -> None:
    @app.get("/d/<case_id>/captures")
    def captures_page(case_id):
        folder, doc = readable_case(case_id)
        rows = forms.list_rows(doc, "tentatives")
        used = {store.norm_path(str(r["item"].get("capture"))) for r in rows if r["item"].get("capture")}
        loose = []
        cap = folder / "captures"
        if cap.is_dir() and not cap.is_symlink():  # a linked folder is not read (nor written, store.receive)
            inodes = store.cited_files(folder, used)  # cited under another spelling: not loose
            for p in sorted(cap.iterdir()):
                if (p.is_file() and not p.is_symlink() and not p.name.startswith(".")
                        and not store.is_cited(folder, used, f"captures/{p.name}", inodes)
                        and store.bare_name(p.name)):  # a name in an old encoding cannot be shown nor named
                    when, source = _date_existing(p)
                    loose.append({"name": p.name, "when": when.strftime("%Y-%m-%dT%H:%M") if when else "",
                                  "source": source})
        return page("captures.html", case_id, folder, doc, rows=rows, loose=loose,
                    result=unstash("envoi"))

    @app.get("/d/<case_id>/captures/voir/<name>")
    def capture_file(case_id, name):
        """A screenshot, to read its date on it; only a file directly in captures/, images inline."""
        folder = case_folder(case_id)
        # Opened without following a link at any step: neither a linked captures/ nor a linked file.
        fh = core.open_plain(folder, ["captures", name]) if store.bare_name(name) else None
        if fh is None:
            abort(404)
        kind = files.sniff(fh.read(1024))
        if kind is None:
            fh.close()
            abort(404)
        fh.seek(0)
        mime = {"png": "image/png", "jpeg": "image/jpeg", "pdf": "application/pdf"}[kind]
        # A PDF is downloaded, never shown inside the page (a PDF can carry scripts).
        return send_file(fh, mimetype=mime, as_attachment=kind == "pdf", download_name=name, max_age=0)

    @app.post("/d/<case_id>/captures/envoyer")
    def captures_upload(case_id):
        folder = case_folder(case_id)
        sent = request.form.get("_version", "")
        if sent != store.version_of(folder / store.CASE_FILE):
            flash(store.Stale().message, "erreur")
            return redirect(url_for("captures_page", case_id=case_id))
        limits = app.config["REFERE_LIMITS"]
        cap = folder / "captures"
        known = store.existing_files(cap, limits.file_bytes)  # hashed only when an upload has a file's size
        used = store.folder_size(folder)
        dated, undated, dupes, refused, future = [], [], [], [], []
        names = store.original_names(folder)  # « captures/x.png » → the name it had on the phone
        doc, _ = load_doc(folder)
        attempts = {str(t.get("capture")): k for k, t in enumerate((doc or {}).get("tentatives") or [], 1)
                    if isinstance(t, dict) and t.get("capture")}

        def said(stored: str) -> str:
            """« la tentative n° 1 (Screenshot_….png) », as the person knows it, never the stored name."""
            key = f"captures/{stored}"
            shown = f"« {names.get(key, stored)} »"
            return f"la tentative n° {attempts[key]} ({shown})" if key in attempts else shown

        # A phone's copy « X (1).png » comes after its original « X.png »: the original is the one kept.
        ups = sorted((up for up in request.files.getlist("fichiers") if up and up.filename),
                     key=lambda up: (re.sub(r" ?\(\d+\)(?=\.\w+$)", "", up.filename),
                                     bool(re.search(r"\(\d+\)\.\w+$", up.filename))))
        had = len(t) if isinstance(t := (doc or {}).get("tentatives"), list) else 0
        if had + len(ups) > MAX_TENTATIVES:  # refused before anything is stored: refere could not read it back
            flash(f"Envoi refusé : ce dossier a {had} tentatives et cet envoi apporte {len(ups)} "
                  f"captures ; un dossier en compte au plus {MAX_TENTATIVES}. Rien n'a été enregistré : envoyez "
                  "seulement les captures les plus parlantes.", "erreur")
            return redirect(url_for("captures_page", case_id=case_id))
        for up in ups:
            original = store.shown_name(up.filename)
            try:
                tmp, kind, digest, size = store.receive(up.stream, original, cap, limits, used)
            except store.UploadRefused as exc:
                refused.append(exc.message)
                continue
            if (same := known.find(digest, size)) is not None:
                store.discard(tmp)
                dupes.append(f"« {original} » a le même contenu que {said(same)} : une capture ne prouve "
                             f"qu'une tentative, « {original} » n'est pas ajoutée.")
                continue
            when, source = store.date_upload(tmp, kind, original)
            try:
                name = store.store_capture(tmp, kind, digest, when, cap)
            except store.UploadRefused as exc:
                refused.append(exc.message)
                continue
            known.add(digest, name)
            names[f"captures/{name}"] = original
            used += size
            shot = captures.Shot(f"captures/{name}", when, source, digest)
            if when and captures.in_future(shot):  # put aside as undated, as « refere captures » does
                future.append(f"« {original} » est datée du {dates.format_datetime(when)}, dans le futur "
                              "(horloge du téléphone mal réglée ?) : elle n'est pas ajoutée ; indiquez ci-dessous "
                              "la vraie date de la tentative.")
                when = None
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
        stash("envoi", {
            "ajoutees": added, "ignorees": skipped,
            "datees": [f"« {o} » : {s.when:%d/%m/%Y %H:%M} (d'après : {s.source})" for o, s in dated],
            "non_datees": [o for o, _ in undated], "doublons": future + dupes, "refusees": refused,
        })
        return redirect(url_for("captures_page", case_id=case_id) + "#resultat")

    @app.post("/d/<case_id>/captures/dater")
    def captures_date(case_id):
        """Give a date to a capture that has none (or add a loose one) as a new attempt."""
        folder = case_folder(case_id)
        name = request.form.get("nom", "")
        cap = folder / "captures"
        if not store.bare_name(name) or cap.is_symlink() or not (cap / name).is_file() or (cap / name).is_symlink():
            abort(404)
        when = request.form.get("date", "").strip()
        if not when:
            flash("Indiquez la date et l'heure de la tentative.", "erreur")
            return redirect(url_for("captures_page", case_id=case_id))
        # In date order, as the requête numbers them (forms.sort_attempts).
        if save(folder, lambda doc: forms.append_entry(doc, "tentatives", ("date", forms.to_yaml(when, "datetime")),
                                                        ("capture", f"captures/{name}")) | forms.sort_attempts(doc)):
            flash("Tentative ajoutée.", "ok")
        return redirect(url_for("captures_page", case_id=case_id))

    @app.post("/d/<case_id>/captures")
    def captures_save(case_id):
        folder = case_folder(case_id)
        form = request.form.to_dict()
        if (future := _future(form.get("tentatives[nouveau].date", ""))):
            # Enter in « Ajouter une tentative sans capture » saves at once: a mistyped year is not written.
            form.pop("tentatives[nouveau].date")
            flash(f"La nouvelle tentative est datée du {future}, dans le futur : vérifiez l'année. Elle n'a pas "
                  "été ajoutée.", "erreur")
        if save(folder, lambda doc: forms.apply_list(doc, "tentatives", form).changed | forms.sort_attempts(doc)):
            flash_saved(folder, "captures_page", "Tentatives enregistrées")
            if (nxt := next_step(case_id)):
                return nxt
        return redirect(url_for("captures_page", case_id=case_id))

    @app.post("/d/<case_id>/captures/retirer")
    def captures_remove_file(case_id):
        folder = case_folder(case_id)
        name = request.form.get("nom", "")
        if not store.bare_name(name):
            abort(404)
        # Checked against dossier.yaml as it is now, under its lock: no path spelling or other tab slips by.
        with store.file_lock(folder / store.CASE_FILE):
            used = store.referenced(folder / store.CASE_FILE)
            if used is None:
                flash("Le fichier dossier.yaml est illisible : corrigez-le dans un éditeur.", "erreur")
            elif store.is_cited(folder, used, f"captures/{name}"):  # in any Unicode form or spelling
                flash("Cette capture sert à une tentative : retirez d'abord la tentative.", "erreur")
            else:
                store.remove_inside(folder, f"captures/{name}", "captures")
                flash("Capture retirée.", "ok")
        return redirect(url_for("captures_page", case_id=case_id))


def _future(typed: str) -> str:
    """« 4 décembre 2027 à 9 h 05 » when a typed date and time (datetime-local) is later than now."""
    import datetime as dt

    from refere import dates

    try:
        when = dt.datetime.fromisoformat(typed.strip())
    except ValueError:
        return ""
    now = dates.now()
    return dates.format_datetime(when) if when > now.replace(tzinfo=None) + dt.timedelta(minutes=5) else ""

