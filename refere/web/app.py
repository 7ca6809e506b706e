"""The Flask application: thin routes over store (files), forms (inputs ↔ YAML) and core (the CLI's functions).

This module builds the app, guards every request, answers errors and the login; the pages live in one
module per page group: routes_workspace, routes_case, routes_captures, routes_pieces, routes_build.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from pathlib import Path
from urllib.parse import quote

from flask import Flask, abort, flash, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, SecurityError
from werkzeug.sansio.multipart import MultipartDecoder

from refere import __version__, present
from refere.web import auth, core, forms, routes_build, routes_captures, routes_case, routes_pieces, routes_workspace, store, wire
from refere.web.common import csrf_token

PLAIN_HTTP_REFUSED = ("Requête refusée : ce serveur attend ses visiteurs en HTTPS, par le proxy. Ouvrez l'adresse "
                      "https:// donnée par la personne qui l'a lancé (voir docs/web.md, « Mode réseau »).")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")

HTTP_FRENCH = {
    405: ("Action impossible ici", "Cette adresse ne s'ouvre pas de cette façon (méthode HTTP non permise) : "
                                   "revenez à la liste des dossiers et utilisez les boutons des pages."),
    416: ("Partie de fichier introuvable", "La partie du fichier demandée n'existe pas : téléchargez le fichier entier."),
    500: ("Erreur interne", "La page n'a pas pu être produite à cause d'une erreur de refere. Rechargez la page ; "
                            "si l'erreur revient, le terminal qui fait tourner refere en dit plus."),
}

PAGE_GROUPS = (routes_workspace, routes_case, routes_captures, routes_pieces, routes_build)


def create_app(workspace: Path, password: str | None = None, limits: store.Limits | None = None,
               workers: int | None = None, trusted_hosts: list[str] | None = None, behind_proxy: bool = False,
               templates: core.Templates | None = None) -> Flask:
    """``behind_proxy``: the browsers reach this server through an HTTPS reverse proxy on this computer,
    which says who they are (X-Forwarded-For) and that they came by HTTPS (X-Forwarded-Proto); the
    server (serve.make_server) turns those headers into the request's address and scheme."""
    app = Flask(__name__)
    limits = limits or store.Limits()
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # a new one at each start: sessions end with the server
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=behind_proxy,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="refere_session",
        # A request may carry many files; each file and the case total are checked as they arrive.
        MAX_CONTENT_LENGTH=limits.case_bytes + 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=20_000,  # 2000 attempts (the format's maximum) × their inputs
        # A local server answers only to local names: a web page cannot reach it by DNS rebinding.
        # Checked here (_guard), not by werkzeug's TRUSTED_HOSTS, which cuts « [::1] » at its first colon.
        REFERE_HOSTS=None if trusted_hosts is None else {_host_name(h.strip("[]")) for h in trusted_hosts},
        REFERE_WORKSPACE=workspace.resolve(),
        REFERE_PASSWORD=password,
        REFERE_LIMITS=limits,
        REFERE_PROXY=behind_proxy,
        # The cabinet's templates, already checked (serve.make_server): used for the requête and the letter.
        REFERE_MODELES=templates or core.Templates(),
    )
    app.extensions["refere_gate"] = auth.Gate()
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(forms=forms, present=present, refere_version=__version__)
    out = workspace / store.BATCH_OUT
    app.extensions["refere_batch"] = core.BatchRunner(workspace.resolve(), out, workers or (os.cpu_count() or 1),
                                                      app.config["REFERE_MODELES"].requete)
    _guards(app)
    for group in PAGE_GROUPS:
        group.register(app)
    return app


_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([1-9][0-9]{0,4}))?", re.ASCII | re.IGNORECASE)


def _host_name(name: str) -> str:
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return name.lower()


def host_trusted(host: str, trusted: set[str]) -> bool:
    """A Host header « name[:port] », or « [IPv6]:port » as browsers send an IPv6 address, whose
    name is one of ``trusted`` exactly (letter case aside)."""
    m = _HOST.fullmatch(host or "")
    if m is None or (m[2] and int(m[2]) > 65535):
        return False
    return _host_name(m[1].strip("[]")) in trusted


def _guards(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def _guard():
        hosts = app.config["REFERE_HOSTS"]
        if isinstance(request.routing_exception, SecurityError) or (hosts is not None and not host_trusted(request.host, hosts)):
            abort(400)  # a Host not trusted: refused before anything (even the login redirect) is built
        if app.config["REFERE_PROXY"] and request.scheme != "https":
            return (PLAIN_HTTP_REFUSED, 400, {"Content-Type": "text/plain; charset=utf-8"})
        if request.endpoint == "static":
            return None
        pw = app.config["REFERE_PASSWORD"]
        if pw and request.endpoint != "login" and not app.extensions["refere_gate"].session_alive(session.get("auth")):
            if session.pop("auth", None):
                flash("Votre connexion a expiré : entrez de nouveau le mot de passe.", "erreur")
            return redirect(url_for("login", suite=quote(request.path, safe="/")))  # « Aïssatou » as %C3%AF
        if request.method == "POST":
            if _unreadable_multipart():
                return render_template("erreur.html", titre="Formulaire illisible",
                                       message="Le navigateur a envoyé un formulaire que refere ne sait pas lire "
                                               "(par exemple un nom de fichier qui n'est pas en UTF-8) : renommez "
                                               "le fichier, rechargez la page, puis recommencez."), 400
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
        # Nothing is kept in the browser's cache: a passport scan or requete.docx must not stay on a shared
        # phone or computer after logout.
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc):
        lim, cfg = app.config["REFERE_LIMITS"], app.config
        if (request.content_length or 0) > cfg["MAX_CONTENT_LENGTH"] or request.content_length is None:
            message = wire.too_large_message(lim)
        elif _too_many_parts(exc):
            message = (f"Le formulaire compte plus de {cfg['MAX_FORM_PARTS']:,} champs et fichiers".replace(",", " ")
                       + " : envoyez-en moins à la fois.")
        else:
            message = (f"Un champ de texte du formulaire dépasse {cfg['MAX_FORM_MEMORY_SIZE'] // 1024 // 1024} Mo : "
                       "raccourcissez-le.")
        return render_template("erreur.html", titre="Envoi trop gros", message=message), 413

    @app.errorhandler(400)
    def _bad_request(_exc):
        # Plain text: with an untrusted Host no URL can be built, so no template with links.
        return ("Requête refusée : adresse ou formulaire invalide. Ouvrez refere à l'adresse affichée "
                "par la commande « refere web ».", 400, {"Content-Type": "text/plain; charset=utf-8"})

    @app.errorhandler(404)
    def _not_found(_exc):
        return render_template("erreur.html", titre="Page introuvable",
                               message="Ce dossier ou cette page n'existe pas."), 404

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        """Any other refusal werkzeug or Flask may give (405, 416, 500…), in French."""
        code = exc.code or 500
        titre, message = HTTP_FRENCH.get(code, ("Requête refusée", f"Le serveur refuse cette requête (code {code})."))
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]  # Allow, Content-Range
        return render_template("erreur.html", titre=titre, message=message), code, headers

    @app.route("/connexion", methods=["GET", "POST"])
    def login():
        error, code = "", 200
        if request.method == "POST":
            gate, addr = app.extensions["refere_gate"], request.remote_addr
            pw = app.config["REFERE_PASSWORD"] or ""
            if (wait := gate.wait(addr))[0]:
                error, code = auth.too_many(*wait), 429  # the password is not even compared
            elif hmac.compare_digest(request.form.get("mot_de_passe", "").encode(), pw.encode()):
                gate.succeeded(addr)
                session.clear()
                session["auth"] = gate.open_session()
                return redirect(auth.local_path(request.args.get("suite")))
            else:
                gate.failed(addr)
                wait = gate.wait(addr)
                error = "Mot de passe incorrect." + (f" {auth.too_many(*wait)}" if wait[0] else "")
        return render_template("connexion.html", error=error), code

    @app.post("/deconnexion")
    def logout():
        app.extensions["refere_gate"].close_session(session.get("auth"))
        session.clear()
        flash("Vous êtes déconnecté.", "ok")
        resp = redirect(url_for("login"))
        resp.headers["Clear-Site-Data"] = '"cache"'  # and what an older page left in the cache is dropped
        return resp


def _unreadable_multipart() -> bool:
    """A multipart body of which werkzeug could read nothing at all (it drops a form it cannot parse)."""
    return (request.mimetype == "multipart/form-data" and (request.content_length or 0) > 0
            and not request.form and not request.files)


def _too_many_parts(exc: BaseException) -> bool:
    """werkzeug raises the same 413 for a text field over MAX_FORM_MEMORY_SIZE and for more than
    MAX_FORM_PARTS parts: the multipart decoder it came from says which."""
    tb = exc.__traceback__
    while tb is not None:
        dec = tb.tb_frame.f_locals.get("self")
        if isinstance(dec, MultipartDecoder):
            return dec.max_parts is not None and dec._parts_decoded > dec.max_parts
        tb = tb.tb_next
    return False
