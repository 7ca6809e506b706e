"""The case form: the page, saving it (with the urgency proofs sent along), removing an unknown key."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, flash, redirect, request, url_for

from refere.affaire import departements
from refere.errors import RefereError
from refere.web import core, forms, store
from refere.web.common import flash_saved, case_folder, next_step, page, readable_case, receive_pieces, same_site, undo_uploads, save


def register(app: Flask) -> None:
    @app.get("/d/<case_id>/")
    def case_form(case_id):
        folder, doc = readable_case(case_id)
        dep = None
        code = forms.get(doc, "prefecture.departement")
        try:
            dep = departements.lookup(code) if code not in (None, "") else None
        except RefereError:
            dep = None
        return page("dossier.html", case_id, folder, doc, dep=dep,
                    urgence=forms.list_rows(doc, "urgence"), diligences=forms.list_rows(doc, "diligences"),
                    piece_ids=[str(p.get("id")) for p in (doc.get("pieces") or []) if isinstance(p, dict) and p.get("id")],
                    piece_titles={str(p.get("id")): f"{p.get('titre') or p.get('id')} ({p.get('id')})"
                                  for p in (doc.get("pieces") or []) if isinstance(p, dict) and p.get("id")})

    @app.post("/d/<case_id>/supprimer-cle")
    def remove_key(case_id):
        """Remove a mistyped key the form cannot show: only one the loader names as unknown right now."""
        folder = case_folder(case_id)
        wanted = request.form.get("champ", "")
        unknown = {p.field: forms.unknown_key(p) for p in core.check(folder).problems if forms.unknown_key(p)}
        if wanted not in unknown:
            flash("Cette clé n'est plus signalée comme inconnue : rien n'a été supprimé.", "erreur")
        elif save(folder, lambda doc: forms.remove_key(doc, wanted)):
            flash(f"Clé « {unknown[wanted]} » supprimée.", "ok")
        return redirect(request.referrer if same_site(request.referrer) else url_for("case_form", case_id=case_id))

    @app.post("/d/<case_id>/")
    def case_save(case_id):
        folder = case_folder(case_id)
        form = forms.merge_proof_boxes(request.form.to_dict(), request.form.getlist)
        try:
            proofs = _receive_proofs(folder)
        except store.UploadRefused as exc:
            flash(exc.message.rstrip(".") + ". Rien n'a été enregistré.", "erreur")
            return redirect(url_for("case_form", case_id=case_id))

        def mutate(doc):
            seq = doc.get("urgence")
            removed = [i for i in range(len(seq) if isinstance(seq, list) else 0) if form.get(f"urgence[{i}].supprimer")]
            a = forms.apply_sections(doc, form)
            b = forms.apply_list(doc, "urgence", form)
            c = forms.apply_list(doc, "diligences", form)
            d = forms.attach_proofs(doc, form, proofs, removed)
            return a.changed or b.changed or c.changed or d

        for note in forms.half_filled(form, bool(proofs.get("nouveau"))):
            flash(note, "avertissement")
        if save(folder, mutate):
            flash_saved(folder, "case_form", "Enregistré")
            if (nxt := next_step(case_id)):
                return nxt
        else:
            undo_uploads(folder)
        return redirect(url_for("case_form", case_id=case_id) + "#haut")


def _receive_proofs(folder: Path) -> dict[str, list[str]]:
    """Proof files sent with urgency facts → pieces/ (checked like any pièce), by the fact they prove."""
    uploads = [(m[1], up) for key in request.files if (m := re.fullmatch(r"urgence\[(\d+|nouveau)\]\.preuve", key))
               for up in request.files.getlist(key)]
    out: dict[str, list[str]] = {}
    received = receive_pieces(folder, uploads, "preuve-urgence")
    for where, written, _ in received:
        out.setdefault(where, []).append(written)
    store.remember_names(folder, {written: original for _, written, original in received})
    return out
