"""The pièces page: the list, adding a pièce with its files, editing, reordering and removing pièces."""

from __future__ import annotations

import os

from flask import Flask, flash, redirect, request, url_for

from refere.web import forms, store
from refere import files
from refere.web.common import (flash_saved, case_folder, load_doc, next_step, page, readable_case, receive_pieces, remove_pieces, save,
                               stash, undo_uploads, unstash)


def _sources(item) -> list[str]:
    return [str(x) for x in ([item.get("fichier")] if item.get("fichier") else item.get("fichiers") or [])]


def register(app: Flask) -> None:
    @app.get("/d/<case_id>/pieces")
    def pieces_page(case_id):
        folder, doc = readable_case(case_id)
        return page("pieces.html", case_id, folder, doc, rows=forms.list_rows(doc, "pieces"),
                    typed=unstash("piece_saisie") or {})

    @app.post("/d/<case_id>/pieces/envoyer")
    def pieces_upload(case_id):
        folder = case_folder(case_id)
        title = request.form.get("titre", "").strip()
        # After an error the form shows again what was typed (the files must be chosen again).
        stash("piece_saisie", {k: request.form.get(k, "") for k in ("titre", "categorie", "id", "date")})
        if not title:
            flash("Donnez un titre à la pièce (par exemple : Passeport).", "erreur")
            return redirect(url_for("pieces_page", case_id=case_id))
        category = request.form.get("categorie") or "autre"
        try:
            received = receive_pieces(folder, ((None, up) for up in request.files.getlist("fichiers")), title)
        except store.UploadRefused as exc:
            flash(exc.message.rstrip(".") + ". Rien n'a été ajouté.", "erreur")
            return redirect(url_for("pieces_page", case_id=case_id))
        written = [w for _, w, _ in received]
        # A pièce sent twice is refused like a duplicate capture, naming the pièce it repeats.
        doc, _ = load_doc(folder)
        known = store.Known(app.config["REFERE_LIMITS"].file_bytes)  # hashed only for an upload of its size
        for k, item in enumerate((doc or {}).get("pieces") or [], 1):
            if isinstance(item, dict):
                for src in _sources(item):
                    if src not in written and store.inside(folder, src):
                        known.add_path(folder / src, f"la pièce n° {k} de la liste (« {item.get('titre') or src} »)")
        again = [(o, same) for _, w, o in received
                 if (d := files.content_hash(folder / w, known.limit)) and (same := known.find(d, os.stat(folder / w).st_size))]
        sent: dict[str, str] = {}  # the same file chosen twice in one upload (attack 22: a pièce listing it twice)
        for _, w, o in received:
            if not again and (d := files.content_hash(folder / w, known.limit)):
                if d in sent:
                    again = [(o, f"« {sent[d]} », envoyé avec lui")]
                sent.setdefault(d, o)
        if again:
            remove_pieces(folder, written)
            flash(f"« {again[0][0]} » a le même contenu que {again[0][1]} : une pièce n'est produite qu'une fois, "
                  "rien n'a été ajouté.", "erreur")
            return redirect(url_for("pieces_page", case_id=case_id))
        if not written:
            flash("Choisissez le fichier de la pièce (PDF, JPEG ou PNG).", "erreur")
            return redirect(url_for("pieces_page", case_id=case_id))

        def mutate(doc):
            return forms.append_entry(doc, "pieces", ("id", request.form.get("id", "").strip() or None),
                                      ("titre", title), ("categorie", category), forms.sources(written),
                                      ("date", forms.to_yaml(request.form.get("date", ""), "date")))

        if save(folder, mutate):
            store.remember_names(folder, {w: original for _, w, original in received})
            flash(f"Pièce « {title} » ajoutée.", "ok")
            unstash("piece_saisie")
        else:
            undo_uploads(folder)
        return redirect(url_for("pieces_page", case_id=case_id))

    @app.post("/d/<case_id>/pieces")
    def pieces_save(case_id):
        folder = case_folder(case_id)
        form = request.form.to_dict()
        removed: list[str] = []

        def mutate(doc):
            seq = doc.get("pieces") or []
            for i, item in enumerate(seq):
                if form.get(f"pieces[{i}].supprimer") and isinstance(item, dict):
                    removed.extend(_sources(item))
            changed = forms.apply_list(doc, "pieces", form, new_entry=False).changed
            if (mv := form.get("deplacer")):
                i, _, way = mv.partition(":")
                if i.isascii() and i.isdigit():  # « ² » is a digit to isdigit, not to int()
                    changed = forms.move(doc, "pieces", int(i), -1 if way == "haut" else 1) or changed
            return changed

        if save(folder, mutate):
            doc, _ = load_doc(folder)
            still = {x for p in ((doc or {}).get("pieces") or []) if isinstance(p, dict) for x in _sources(p)}
            remove_pieces(folder, [w for w in removed if w not in still])
            flash_saved(folder, "pieces_page", "Pièces enregistrées")
            if (nxt := next_step(case_id)):
                return nxt
        return redirect(url_for("pieces_page", case_id=case_id))
