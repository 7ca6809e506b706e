"""The requête's FAITS a judge looks for: who the applicant is, what is asked, that the dossier is
ready, and why an appointment is the only way in. Data in, French sentences out."""

from __future__ import annotations

import re
from typing import Any

from refere import dates
from refere.affaire import echeances
from refere.affaire.grammaire import DEMANDES, cap, end_sentence, pieces_ref, strip_end, subjectless, typo, with_subject
from refere.affaire.model import Case
from refere.pieces.plan import Inventory
from refere.requete.redaction import libelle_recepisse
from refere.requete.urgence import lower_first, short_name


def _ref(case: Case, inv: Inventory, ids: list[str]) -> str:
    return pieces_ref(inv.numeros_of_ids(ids, case.pieces_by_id))


def libelle(case: Case) -> str:
    """What the appointment is for: « le renouvellement de son récépissé … » in the récépissé branch."""
    return libelle_recepisse(case) if echeances.recepisse(case) else case.procedure.label


def objet(case: Case, g: dict[str, str]) -> str:
    """« Le requérant doit se présenter en préfecture pour … (passage du statut d'étudiant à salarié). »
    The précisions are joined into the sentence, never pasted after « Objet précis de la demande : »."""
    proc = case.procedure
    if proc.is_anef:
        head = (f"{g['Le_requerant']} doit présenter sa {DEMANDES[proc.type]} au moyen du téléservice de "
                "l'administration numérique des étrangers en France (ANEF), auquel l'article R. 431-2 du code de "
                "l'entrée et du séjour des étrangers et du droit d'asile soumet les titres qu'il énumère")
    elif echeances.recepisse(case):
        head = (f"{g['Le_requerant']} a présenté une {echeances.recepisse_demande(case)}, qui a été enregistrée "
                "et est en cours d'instruction. Il lui faut se présenter en préfecture pour "
                f"{libelle_recepisse(case)}")
    else:
        head = f"{g['Le_requerant']} doit se présenter en préfecture pour {libelle(case)}"
        if proc.type == "admission_exceptionnelle_sejour":
            head += (", sur le fondement de l'article L. 435-1 du code de l'entrée et du séjour des étrangers et du "
                     "droit d'asile")
    return typo(end_sentence(with_precisions(case, head)))


def with_precisions(case: Case, head: str) -> str:
    """``head`` with the précisions joined: after a colon for « autre » (« sa démarche : … »), else in
    brackets; the sentence left open. The requête and the letter name the démarche the same way."""
    proc = case.procedure
    extra = strip_end(proc.precisions or "")
    if extra and proc.type == "autre":
        return f"{head} : {lower_first(extra)}"
    if extra:
        return f"{head} ({lower_first(extra)})"
    return head


def dossier(case: Case, inv: Inventory, g: dict[str, str]) -> str:
    """CE 435594 orders the registration of a complete application: say it is complete and ready."""
    ref = _ref(case, inv, case.procedure.preuves_dossier)
    if echeances.recepisse(case):
        # The application is already registered: no file is « prêt à être déposé ».
        return typo(f"Les pièces nécessaires au renouvellement du récépissé sont réunies {ref}.") if ref else ""
    if not ref:
        # Asserted without a pièce, « complet et prêt » is what the préfet denies: say only what is true.
        return typo(f"{g['Le_requerant']} a réuni les pièces nécessaires à sa demande.")
    return typo(end_sentence(f"{g['Le_requerant']} a réuni les pièces exigées pour sa demande : son dossier est "
                             f"complet et prêt à être déposé {ref}"))


def en_ligne_ref(case: Case, inv: Inventory) -> str:
    """The pièce showing the préfecture receives only by online appointment, cited where that is said."""
    return _ref(case, inv, case.prefecture.preuves_rendez_vous)


def own_subject(case: Case, text: str, g: dict[str, str]) -> str:
    """A pasted text without a subject (« Entré en France en 2016, il… ») gets the applicant's name."""
    if not subjectless(text, case.requerant.nom):
        return text.strip()
    return with_subject(text, short_name(case), g["le_requerant"], g["au_requerant"])


def situation(case: Case, g: dict[str, str] | None = None, inv: Inventory | None = None) -> str:
    """The applicant's situation, and « ne fait l'objet d'aucune mesure d'éloignement » only when the
    case says so (procedure.sans_mesure_eloignement): never assumed."""
    none = (f"{cap(g['le_requerant']) if g else 'Le requérant'} ne fait l'objet d'aucune mesure d'éloignement."
            if case.procedure.sans_mesure_eloignement else "")
    if not case.situation:
        return typo(none)
    text = own_subject(case, case.situation, g) if g else case.situation.strip()
    ref = _ref(case, inv, case.preuves_situation) if inv is not None else ""
    body = end_sentence(f"{strip_end(cap(text))} {ref}" if ref else cap(text))
    return typo(body + (f" {none}" if none else ""))


def domicile(case: Case, g: dict[str, str], address: str) -> str:
    """« demeurant 8 allée des Tilleuls, 94000 Créteil », or « hébergé chez M. Sékou Diallo, … » when
    the case names the host (requerant.heberge_par)."""
    host = (case.requerant.heberge_par or "").strip()
    if host and case.requerant.civilite is None:
        return f"demeurant chez {host}, {address}"  # in the POUR block, beside the person's own name (attack 22)
    if host:
        return f"hébergé{g['e']} chez {host}, {address}"
    return f"demeurant {address}"


def defendeur_lignes(case: Case) -> list[str]:
    """The défendeur's address as the case gives it, never invented."""
    return [x.strip() for x in (case.prefecture.adresse or "").splitlines() if x.strip()]


def context(case: Case, inv: Inventory, g: dict[str, str]) -> dict[str, Any]:
    exp = case.procedure.expiration_titre
    return {
        "situation": situation(case, g, inv),
        "objet": objet(case, g),
        "dossier": dossier(case, inv, g),
        "en_ligne_ref": en_ligne_ref(case, inv),
        "recepisse": echeances.recepisse(case),
        "expiration_recepisse": dates.format_date(exp) if exp and echeances.recepisse(case) else "",
    }


# Values printed as typed, character for character: addresses a reader copies.
_VERBATIM_KEYS = {"url", "courriel", "fichier", "date_iso"}
_ADDRESS = re.compile(r"(\S+://\S+|\S+@\S+)")


def apostrophes(value: Any, key: str = "") -> Any:
    """The typographic apostrophe (’) in every word the requête prints; a web or e-mail address, or a
    file name, stays as typed."""
    if isinstance(value, str):
        if key in _VERBATIM_KEYS:
            return value
        # Only the addresses inside a sentence stay as typed: « N'DIAYE » beside an e-mail still turns.
        parts = _ADDRESS.split(value)
        return "".join(p if i % 2 else p.replace("'", "\u2019") for i, p in enumerate(parts))
    if isinstance(value, dict):
        return {k: apostrophes(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [apostrophes(v, key) for v in value]
    return value
