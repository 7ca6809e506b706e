"""``refere build``: load → check → plan → assemble and render → write, atomically."""

from __future__ import annotations

import contextlib
import functools
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from refere import __version__, files, signals, write
from refere.pieces import plan, probe, reuse
from refere.preuves import rules, shotdates
from refere.errors import EvidenceInsufficient, OutputError
from refere.affaire.loader import load, resolve_case_path
from refere.affaire.model import Case
from refere.present import report_text

if TYPE_CHECKING:
    from refere.pieces import assemble


def _stack():
    """The PDF writer (pikepdf, img2pdf) and the requête's stack (Jinja), imported once the
    captures' check has started: that check, on the other cores, runs while they load. A Ctrl-C
    waits for the imports' end: raised inside pikepdf's, it aborts the interpreter (« Critical
    nanobind error », attack 36)."""
    with signals.held():
        from refere.pieces import assemble
        from refere.requete import render

    return assemble, render


@dataclass
class Options:
    out: Path | None = None
    force: bool = False
    brouillon: bool = False
    pdf: bool = False
    modele: Path | None = None
    compresser: bool = False
    jobs: int = 1


@dataclass
class Result:
    case_path: Path
    out: Path
    case: Case
    report: rules.Report
    inventory: plan.Inventory
    pages: int
    # What the person should know about the files themselves (a template's font missing from the PDF).
    notes: list[str] = field(default_factory=list)


def default_out(case_path: Path) -> Path:
    return case_path.parent / "dossier"


def _sources(case: Case, case_path: Path) -> list[Path]:
    paths = [case_path]
    paths += [t.capture.path for t in case.tentatives if t.capture is not None]
    paths += [s.path for p in case.pieces for s in p.sources]
    return paths


def _refuse_other_case(target: Path, case_path: Path) -> None:
    """An output inside another case's folder: this person's filing would land in that person's case."""
    other = write.case_around(target)
    if other is not None and other != Path(os.path.realpath(case_path.parent)):
        raise OutputError(f"le dossier de sortie « {target} » est dans le dossier d'une autre affaire (« {other} ») : "
                          "choisissez un dossier de sortie à part avec -o, ou laissez celui par défaut "
                          f"(« {default_out(case_path)} »)")


def header_lines(case: Case) -> list[str]:
    r = case.requerant
    who = " ".join(x for x in (r.civilite, r.prenoms, r.nom.upper()) if x)
    tribunal = case.tribunal.nom if case.tribunal else case.departement.tribunal
    return ["Bordereau des pièces", f"{who} contre {case.defendeur}",
            f"Référé mesures utiles (article L. 521-3 du CJA) — {tribunal}"]


def _source_state(src, written: assemble.Written, k: int) -> dict:
    """What was repaired or is still damaged (PDFs) and what active content was removed."""
    state = {"etat": src.etat.etat, "defauts": list(src.etat.defauts)} if src.kind == "pdf" else {}
    state["retire"] = list(written.removed[k]) if k < len(written.removed) else []
    return state


def manifest(case: Case, inv: plan.Inventory, report: rules.Report, written: list[assemble.Written],
             folder: Path, options: Options, hashes: dict | None = None) -> dict:
    """``hashes``: the SHA-256 of output files already known (not read again), by name; a
    future of one is waited for (see reuse.sha256_later)."""
    by_num = {w.numero: w for w in written}
    known = hashes or {}
    return {
        "outil": {"nom": "refere", "version": __version__},
        "tribunal": case.tribunal.nom if case.tribunal else case.departement.tribunal,
        "defendeur": case.departement.prefet,
        "brouillon": options.brouillon,
        "pieces": [
            {
                "numero": p.numero,
                "titre": p.titre,
                "categorie": p.categorie,
                "fichier": f"pieces/{p.fichier}",
                "pages": by_num[p.numero].pages,
                "octets": by_num[p.numero].size,
                "sha256": by_num[p.numero].sha256 or files.sha256(folder / "pieces" / p.fichier),
                "recompresse": by_num[p.numero].compressed,
                "sources": [{"fichier": s.written, "type": s.kind, "pages": s.pages, "sha256": s.sha256,
                             **_source_state(s, by_num[p.numero], k)}
                            for k, s in enumerate(p.sources)],
            }
            for p in inv.pieces
        ],
        "tentatives": [
            {"date": a.date.isoformat(timespec="minutes"), "capture": a.capture, "piece": a.piece, "page": a.page}
            for a in inv.attempts
        ],
        "preuves": report.to_dict(),
        "lecture": _lecture(case, report),
        "fichiers": {name: reuse.known(known.get(name)) or files.sha256(folder / name)
                     for name in sorted(("requete.docx", "dossier-complet.pdf", "requete.pdf"))
                     if (folder / name).exists()},
    }


def _lecture(case: Case, report: rules.Report) -> dict:
    # What each capture shows, as read for check (refere/preuves/lecture.py; cached, so not read again).
    from refere.preuves import lecture
    if report.lecture is not None:
        return lecture.inventaire(report.lecture)

    return lecture.inventaire(lecture.read_case(case))


def build(case_file: str | Path, options: Options) -> Result:
    case_path = resolve_case_path(case_file)
    if options.modele is None:
        return _build(case_path, options)
    from refere.requete import verifier

    # Checked before any work, with every problem « modele verifier » would give, and filled from
    # the same private copy: a template replaced meanwhile is never used.
    with verifier.pinned(options.modele) as modele:
        return _build(case_path, replace(options, modele=modele))


def _build(case_path: Path, options: Options) -> Result:
    case = load(case_path)
    target = options.out or default_out(case_path)
    _refuse_other_case(target, case_path)
    # A previous output of this case (staging checks it is one): unchanged pièces are taken from it.
    previous = target if target.is_dir() and not target.is_symlink() else None
    probe.WORKERS = options.jobs  # the captures are checked on this many processes
    # Every capture is checked whole in worker processes while the pièces are written into a
    # private folder beside the target: nothing is filed (moved into the output) before the
    # check's report, which waits for every capture, says it may be.
    pool = probe.start(plan.filing_order(case) + _source_list(case), shotdates.entry_text, behind=True)
    assemble, render = _stack()
    if pool is not None:
        probe.while_waiting(_warmups(builtin=options.modele is None))
    with write.scratch(target) if pool is not None else contextlib.nullcontext() as ahead:
        early: tuple | Exception | None = None
        try:
            if ahead is not None:
                early = _assemble_ahead(case, options, ahead, previous)
            report = rules.check(case)
        finally:
            probe.while_waiting(None)
            if pool is not None:
                with signals.held():  # the checks under way end; a signal meanwhile, after
                    pool.shutdown(wait=True, cancel_futures=True)
                probe.thaw()
        return _filed(case, case_path, options, report, early, ahead, previous, target)


def _filed(case: Case, case_path: Path, options: Options, report: rules.Report, early: tuple | Exception | None,
           ahead: Path | None, previous: Path | None, target: Path) -> Result:
    """The check's report judged, what was written ahead (``early``) or else everything, filed."""
    assemble, render = _stack()
    if report.blocking and not options.brouillon:
        exc = EvidenceInsufficient(
            report_text(case, report, str(case_path))
            + "\n\nRien n'a été construit. Complétez les preuves, ou ajoutez --brouillon pour un projet marqué « PROJET »."
        )
        exc.report = report  # batch reports the codes
        raise exc
    if isinstance(early, Exception):
        # What stopped the pièces, said only now: the report comes first, then what the check
        # found of each file (a capture cut short is « tronquée » whatever the workers did).
        for src in plan.filing_order(case) + _source_list(case):
            if src is not None:
                probe.probe(src)
        raise early
    inv = early[0] if early else plan.make(case)
    for piece in inv.pieces:
        for src in piece.sources:
            probe.probe(src)  # a capture that failed its check is never filed, not even in a draft
    hashes: dict[str, str] = {}
    with write.staging(target, options.force, _sources(case, case_path), case_identity(case)) as tmp:
        if early:
            _, written, pages, known = early
            os.rename(ahead / "pieces", tmp / "pieces")
            os.rename(ahead / "dossier-complet.pdf", tmp / "dossier-complet.pdf")
            hashes.update(known)
        else:
            written = _pieces(inv, options, tmp, previous)
            pages = assemble.build_complete(inv, tmp / "pieces", tmp / "dossier-complet.pdf", header_lines(case),
                                            options.brouillon, written, _previous(previous, "dossier-complet.pdf"),
                                            hashes)
        for w in written:
            if w.size > assemble.SIZE_LIMIT:
                report.findings.append(rules.size_finding(w.fichier, w.size))
        ctx = render.context(case, inv, report, options.brouillon)
        render.render(ctx, tmp / "requete.docx", options.modele)
        notes = []
        if options.pdf:
            render.to_pdf(tmp / "requete.docx", tmp / "requete.pdf")
            notes = render.missing_fonts(tmp / "requete.docx", tmp / "requete.pdf")
        data = manifest(case, inv, report, written, tmp, options, hashes)
        data["construction"] = {**fingerprint(case_path, case, options), "pages_dossier_complet": pages,
                                "affaire": case_identity(case)}
        (tmp / "inventaire.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return Result(case_path, target, case, report, inv, pages, notes)


def preload() -> None:
    """What every build loads as it goes, loaded once: a batch's parent calls this before its
    workers fork, so that they start with it (shared memory) instead of each loading it again.
    The libraries imported on first use, the fonts, and the built-in template compiled."""
    from PIL import Image
    from refere.pieces import reuse
    from refere.preuves import calendrier, ecran, lecture, lecture_cache, titulaire  # noqa: F401

    # The formats a build opens (PNG, JPEG, ...), as ``Image.open`` would load them: not every
    # plugin Pillow has (``Image.init``, 0.03 s more), which a case never needs and the parent
    # would load alone, before any worker starts.
    Image.preinit()
    for job in _warmups(builtin=True):
        job()
    reuse._code_version()


def _warmups(builtin: bool) -> list:
    """What a build loads as it goes, as jobs to run ahead (``preload``, ``probe.while_waiting``):
    the bordereau's fonts (parsed), python-docx, and the built-in template compiled when it is the
    one used. Not the fonts' subsetter: its subsets are mostly remembered (pdffont._subset)."""
    from refere.modeles.document import _docx_class, precompile
    from refere.pieces import pdffont

    _, render = _stack()
    jobs = [functools.partial(pdffont.Font, False), functools.partial(pdffont.Font, True), _docx_class]
    if builtin:
        jobs.append(lambda: precompile(render.builtin_template(), render.shared_env()))
    return jobs


def _source_list(case: Case) -> list:
    return [t.capture for t in case.tentatives if t.capture is not None] + [s for p in case.pieces for s in p.sources]


def _previous(previous: Path | None, name: str) -> Path | None:
    return previous / name if previous is not None else None


def _pieces(inv: plan.Inventory, options: Options, folder: Path, previous: Path | None) -> list[assemble.Written]:
    assemble, _ = _stack()
    written = assemble.build_pieces(inv, folder / "pieces", options.compresser, options.jobs, options.brouillon,
                                    _previous(previous, "pieces"))
    for w, p in zip(written, inv.pieces):
        # The inventory is the single source of truth: the files must match it exactly.
        if w.pages != p.pages:
            raise RuntimeError(f"pièce {p.numero}: {w.pages} pages written, {p.pages} planned")
    return written


def _assemble_ahead(case: Case, options: Options, folder: Path, previous: Path | None) -> tuple | Exception:
    """The pièces and the complete dossier, written into ``folder`` while the captures are being
    checked; or the error that stopped them, to be raised after the check's report."""
    assemble, _ = _stack()
    try:
        inv = plan.make(case)
        header = header_lines(case)
        probe.while_waiting([functools.partial(assemble.prepare_complete, inv, header, options.brouillon)])
        written = _pieces(inv, options, folder, previous)
        hashes: dict[str, str] = {}
        pages = assemble.build_complete(inv, folder / "pieces", folder / "dossier-complet.pdf", header,
                                        options.brouillon, written, _previous(previous, "dossier-complet.pdf"), hashes)
        return inv, written, pages, hashes
    except Exception as exc:  # noqa: BLE001 - raised as it is, after the report
        return exc


# --- what was built from what: lets batch leave an up-to-date case alone ---------------------

def fingerprint(case_path: Path, case: Case, options: Options) -> dict:
    """The refere version, the options that change the output, each source's SHA-256, and the
    requête's date: without ``signature.date`` that is today, on which the reasoning depends (« expire
    le » or « a expiré », deadlines, the check's warnings), so a later day builds again.

    Sources are hashed through ``probe``, whose cache the check already filled: no second read.
    """
    from refere.affaire.echeances import requete_date
    from refere.pieces.probe import probe

    sources = {case_path.name: files.sha256(case_path)}
    for src in [t.capture for t in case.tentatives if t.capture is not None] + [s for p in case.pieces for s in p.sources]:
        sources[src.written] = probe(src).sha256
    return {
        "version": __version__,
        "options": {
            "brouillon": options.brouillon,
            "pdf": options.pdf,
            "compresser": options.compresser,
            "modele": files.sha256(options.modele) if options.modele is not None else None,
        },
        "sources": dict(sorted(sources.items())),
        "date_requete": requete_date(case).isoformat(),
    }


def case_identity(case: Case) -> str:
    """Who the output is for, without saying it: a short hash of the applicant's name and birth date.

    Lets a later build recognise its own previous output and refuse to replace another person's.
    """
    import hashlib
    import unicodedata

    name = unicodedata.normalize("NFKD", case.requerant.nom).encode("ascii", "ignore").decode().casefold()
    key = f"refere-affaire\0{' '.join(name.split())}\0{case.requerant.date_naissance.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def previous_build(target: Path) -> dict | None:
    """The inventaire.json of a previous refere output at ``target``, if readable."""
    from refere.write import is_refere_output

    if not is_refere_output(target):
        return None
    try:
        return json.loads((target / "inventaire.json").read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def up_to_date(target: Path, case_path: Path, case: Case, options: Options) -> dict | None:
    """The previous manifest when it was built from exactly these inputs, else None."""
    data = previous_build(target)
    if data is None or not isinstance(data.get("construction"), dict):
        return None
    record = dict(data["construction"])
    record.pop("pages_dossier_complet", None)
    record.pop("affaire", None)
    if record != fingerprint(case_path, case, options):
        return None
    expected = [target / "requete.docx", target / "dossier-complet.pdf"]
    expected += [target / p["fichier"] for p in data.get("pieces", []) if isinstance(p, dict) and "fichier" in p]
    return data if all(p.is_file() for p in expected) else None


# --- what to do next, in plain French (the CLI and the web pages print the same) -------------

def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def next_steps(result: Result) -> list[str]:
    """The applicant's next moves after a build: sign, file each pièce in order, keep the rest."""
    inv, case = result.inventory, result.case
    tribunal = case.tribunal.nom if case.tribunal else case.departement.tribunal
    out = result.out
    if result.report.blocking:
        return [
            "Ce dossier est un PROJET (--brouillon) : ne le déposez pas.",
            "Complétez les preuves (voir les problèmes bloquants), relancez « refere check », puis "
            "reconstruisez sans --brouillon.",
        ]
    pieces = [f"     {out / 'pieces' / p.fichier}" for p in inv.pieces]
    # With --pdf, the PDF is the file to upload (a .docx may show otherwise on the court's screen).
    pdf = out / "requete.pdf"
    filed = f"la requête « {pdf} » (le PDF, pas le .docx)" if pdf.is_file() else "la requête"
    # Corrected while read, the .docx and the PDF differ: the PDF is the one filed.
    redo = (" Si vous la corrigez en la relisant, enregistrez-la de nouveau en PDF (requete.pdf) avant de la "
            "déposer." if pdf.is_file() else "")
    if case.conseil is not None and case.conseil.qualite == "avocat":
        # Counsel must file through Télérecours (art. R. 414-1 CJA): no paper, no « citoyens »; filing
        # through the application identifies counsel, which is the signature: nothing to print or sign.
        steps = [
            "Et maintenant :",
            f"1. Relisez la requête « {out / 'requete.docx'} ».{redo}",
            f"2. Déposez {filed} au {tribunal} par l'application Télérecours (obligatoire pour les "
            "avocats, article R. 414-1 du code de justice administrative ; le dépôt par Télérecours "
            "vous identifie et vaut signature : rien à imprimer ni à signer), puis les "
            f"{_plural(len(inv.pieces), 'pièce')}, une par fichier, dans cet ordre :",
        ]
        steps += pieces
        steps += [
            "3. Ne déposez pas « dossier-complet.pdf » : il réunit le dossier en un seul fichier, pour le "
            "relire ou le garder.",
            "4. Ne déposez pas « inventaire.json » : c'est la trace de ce qui a été construit ; gardez-le.",
        ]
        return steps
    steps = [
        "Et maintenant :",
        f"1. Relisez la requête « {out / 'requete.docx'} » ; imprimez-la, datez-la et signez-la "
        f"(ou signez-la électroniquement si vous déposez par Télérecours).{redo}",
        f"2. Déposez-la au {tribunal} : sur Télérecours citoyens (https://citoyens.telerecours.fr), {filed} "
        f"d'abord, puis les {_plural(len(inv.pieces), 'pièce')}, une par fichier, dans cet ordre :",
    ]
    steps += pieces
    steps += [
        "3. Ne déposez pas « dossier-complet.pdf » : il sert pour l'impression, un dépôt papier au "
        "greffe ou l'envoi à un avocat.",
        "4. Ne déposez pas « inventaire.json » : c'est la trace de ce qui a été construit ; gardez-le.",
    ]
    if any(f.code == "pas-de-courrier" for f in result.report.warnings):
        steps.append(f"Conseil : écrivez d'abord à la préfecture pour demander un rendez-vous (« refere courrier "
                     f"{result.case_path} »), puis ajoutez la preuve de l'envoi comme pièce courrier_prefecture.")
    return steps
