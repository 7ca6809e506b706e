"""What every page group shares: the workspace, a case folder from its URL, results kept for the next
page, the CSRF token, and reading, showing and saving the case file."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, make_response, redirect, render_template, request, session, url_for

from refere.errors import CaseInvalid, RefereError
from refere.web import core, forms, store


def ws() -> Path:
    return current_app.config["REFERE_WORKSPACE"]


def case_folder(case_id: str) -> Path:
    folder = store.case_dir(ws(), case_id)
    if folder is None:
        abort(404)
    return folder


_NOTES_MAX = 200


def stash(name: str, data) -> None:
    """Results shown on the next page, kept here: a cookie holds 4 KB, an upload of 100 captures more."""
    notes = current_app.extensions.setdefault("refere_notes", {})
    while len(notes) >= _NOTES_MAX:
        notes.pop(next(iter(notes)))
    key = secrets.token_urlsafe(12)
    notes[key] = data
    session[name] = key


def unstash(name: str):
    key = session.pop(name, None)
    return current_app.extensions.get("refere_notes", {}).pop(key, None) if key else None


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def load_doc(folder: Path, fresh: bool = False):
    try:
        read = store.read_doc if fresh else store.read_doc_for_display
        return read(folder / store.CASE_FILE), None
    except CaseInvalid as exc:
        return None, exc.problems


def readable_case(case_id: str):
    """(folder, document) of a case whose form can be shown; otherwise the page says why dossier.yaml cannot
    be read (an answer, not an error: the person fixes the file and reloads)."""
    folder = case_folder(case_id)
    doc, problems = load_doc(folder)
    if doc is None:
        abort(make_response(render_template("illisible.html", case_id=case_id,
                                            problems=core.check(folder).problems or problems), 200))
    return folder, doc


_TO_FILL = ("valeur à compléter", "liste vide")


def page(template: str, case_id: str, folder: Path, doc, **extra):
    checked = core.check(folder)
    paths = forms.all_paths(doc) if doc is not None else []
    problems, hints = checked.problems, {}
    if store.is_fresh(folder):
        # A new case, never saved: what is left to fill (a value, a first attempt) is a neutral hint, not a red error.
        known = set(paths)
        hints = {p.field: forms.words(p.message, p.field) for p in problems
                 if p.message.startswith(_TO_FILL) and p.field in known}
        problems = [p for p in problems if p.field not in hints]
    by_path, general = forms.place(problems, paths)
    # The summary at the top counts only what is corrected on this page (the attempts are on « Captures »).
    to_fix = {p: m for p, m in by_path.items() if forms.page_of(p) == request.endpoint}
    return render_template(template, case_id=case_id, doc=doc, checked=checked, errors=by_path, hints=hints,
                           to_fix=to_fix, notes=findings_by_anchor(checked, doc, store.original_names(folder)), general=general, version=store.version_of(folder / store.CASE_FILE),
                           originals=store.original_names(folder),
                           status=core.status(folder), **extra)


def findings_by_anchor(checked, doc, originals: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The check's findings (blocking, then warnings) by the id their « Corriger » link opens, for this page:
    the field it focuses shows why, in the same words as on « Vérification »."""
    out: dict[str, list[str]] = {}
    if checked.report is None or doc is None:
        return out
    for f in [*checked.report.blocking, *checked.report.warnings]:
        if f.champ and forms.page_of(f.champ) == request.endpoint and (a := forms.anchor(f.champ, doc)):
            out.setdefault(a, []).append(forms.words(f.message, f.champ, originals))
    return out


def save(folder: Path, mutate) -> bool:
    """Re-read, apply, write if changed; refuse when another tab saved in between."""
    doc, problems = load_doc(folder, fresh=True)
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


_PAGE_NAMES = {"case_form": "Formulaire", "captures_page": "Captures", "pieces_page": "Pièces"}


def flash_saved(folder: Path, endpoint: str, done: str) -> None:
    """« Enregistré. », or plainly « Enregistré, mais 2 champs sont à corriger : … » when the saved page
    still has problems (named in the form's words); the page is named when the person moves on."""
    doc, _ = load_doc(folder)
    problems = core.check(folder).problems if doc is not None else []
    by_path, _ = forms.place(problems, forms.all_paths(doc) if doc is not None else [])
    # The field's own name (« courriel »), without its section: the list below the message gives both.
    wrong = [forms.field_label(p).split(" : ")[-1] for p in by_path if forms.page_of(p) == endpoint]
    if not wrong:
        flash(f"{done}.", "ok")
        return
    n = len(wrong)
    where = f" (page « {_PAGE_NAMES[endpoint]} »)" if request.form.get("_suite") in NEXT_STEPS else ""
    names = ", ".join(wrong[:4]) + (f" et {n - 4} autre{'s' if n > 5 else ''}" if n > 4 else "")
    flash(f"{done}, mais {n} champ{'s' if n > 1 else ''} {'sont' if n > 1 else 'est'} à corriger{where} : {names}.",
          "avertissement")


# « Enregistrer et passer à … » buttons: save first, then go on (leaving never loses what was typed).
NEXT_STEPS = {"captures": "captures_page", "pieces": "pieces_page", "verification": "check_page"}


def next_step(case_id):
    endpoint = NEXT_STEPS.get(request.form.get("_suite", ""))
    return redirect(url_for(endpoint, case_id=case_id)) if endpoint else None


def same_site(ref: str | None) -> bool:
    return bool(ref) and urlsplit(ref).netloc == request.host and urlsplit(ref).path.startswith("/d/")


def receive_pieces(folder: Path, uploads, title: str) -> list[tuple[object, str, str]]:
    """Files sent as pièces → pieces/, each checked like any pièce and named after ``title``.

    ``uploads`` yields (tag, upload); returns (tag, written path, sent name) for each file written.
    On a refused file, every file written here is removed again and UploadRefused raised.
    """
    limits = current_app.config["REFERE_LIMITS"]
    dest = folder / "pieces"
    used = store.folder_size(folder)
    out: list[tuple[object, str, str]] = []
    created = g.setdefault("refere_created", [])
    try:
        for tag, up in uploads:
            if not up or not up.filename:
                continue
            sent = store.shown_name(up.filename)
            tmp, kind, digest, size = store.receive(up.stream, sent, dest, limits, used)
            used += size
            name, new = store.store_piece(tmp, kind, digest, title, dest)
            if new:
                created.append(f"pieces/{name}")
            out.append((tag, f"pieces/{name}", sent))
    except store.UploadRefused:
        undo_uploads(folder)
        raise
    return out


def undo_uploads(folder: Path) -> None:
    """Remove the files this request created in pieces/, unless dossier.yaml names them by now."""
    store.remove_unused(folder, g.pop("refere_created", []), "pieces")


def remove_pieces(folder: Path, written) -> None:
    store.remove_unused(folder, list(written), "pieces")
