"""What the case says about time and about its branch: deadlines, the R. 431-5 window, the
récépissé branch, and which pièces prove a fact written as a plain sentence.

Shared by ``check`` (preuves) and the requête (requete): one reading of the case for both.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from refere import dates
from refere.affaire.grammaire import dernier_jour_ouvre, first_person
from refere.affaire.model import Case, Piece, Urgence

MOIS = dates.MOIS
_DATE = re.compile(r"\b(1er|\d{1,2})[\s\u00a0]+(" + "|".join(MOIS) + r")[\s\u00a0]+(\d{4})\b", re.IGNORECASE)
_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")

SHORT_DAYS = 10   # a deadline this close: 48 hours asked
SOON_DAYS = 30    # a deadline this close: 8 days asked (« délai bref », CE 435594)
ORDONNANCE_DAYS = 30  # time the judge may take to rule: a FIXER date closer than this may pass before it
RULING_DAYS = 5  # the least time before an ordonnance is notified: a switch date sooner is no real choice
NEAR_EXPIRY = 62  # outside renewal, a titre's expiry counts as a deadline only this close (two months)


def requete_date(case: Case) -> dt.date:
    """The requête's date: the signature date, else today."""
    return case.signature.date or dates.today()


def dates_in(text: str) -> list[dt.date]:
    """Every full date written in a French sentence (« 15 janvier 2027 », « 15/01/2027 »)."""
    out = []
    for m in _DATE.finditer(text):
        day = 1 if m[1].lower() == "1er" else int(m[1])
        try:
            out.append(dt.date(int(m[3]), MOIS.index(m[2].lower()) + 1, day))
        except ValueError:
            continue
    for m in _NUMERIC.finditer(text):
        try:
            out.append(dt.date(int(m[3]), int(m[2]), int(m[1])))
        except ValueError:
            continue
    return sorted(out)


# --- branch ---------------------------------------------------------------------------------

def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


def recepisse(case: Case) -> bool:
    """The application is registered; what is at stake is the renewal of its récépissé."""
    proc = case.procedure
    return proc.type == "delivrance_recepisse" or _fold(proc.titre_actuel or "").startswith("recepisse")


def recepisse_demande(case: Case) -> str:
    """What the récépissé acknowledges: « demande de renouvellement de titre de séjour » when the case
    says so, else « demande de titre de séjour »."""
    renewal = "renouvellement" in _fold(case.procedure.titre_actuel or "") or case.procedure.is_renewal
    return "demande de renouvellement de titre de séjour" if renewal else "demande de titre de séjour"


def presumed(case: Case) -> bool:
    """Urgency in principle established: a renewal, or the renewal of a récépissé (CE 453391)."""
    return case.procedure.is_renewal or recepisse(case)


def prolongation(case: Case) -> bool:
    """On the ANEF, the registered request earns an « attestation de prolongation d'instruction »
    only when a titre is there to prolong; a first titre's request earns a récépissé."""
    proc = case.procedure
    held = proc.type in ("renouvellement_titre_sejour", "changement_de_statut")  # a titre held, by definition
    return proc.is_anef and (held or bool(proc.expiration_titre or proc.titre_actuel))


def expired(case: Case) -> bool:
    exp = case.procedure.expiration_titre
    return bool(exp and exp < requete_date(case))


def expired_before_first(case: Case) -> bool:
    """The titre had already expired when the first attempt was made (R. 431-5: the préfet will say so)."""
    exp = case.procedure.expiration_titre
    first = min(t.date.date() for t in case.tentatives)
    return bool(exp and case.procedure.is_renewal and first > exp)


# Procedures by which the applicant asks for a first titre: he holds none to work with.
NO_TITRE = ("premiere_demande_titre_sejour", "admission_exceptionnelle_sejour")


def holds_titre(case: Case) -> bool:
    """Whether the applicant holds a titre today (L. 8251-1 then speaks of his job)."""
    proc = case.procedure
    if proc.is_renewal or recepisse(case):
        return True
    return bool(proc.titre_actuel) and proc.type not in NO_TITRE


# --- which urgency facts the requête argues -------------------------------------------------

# « Il travaille comme plongeur depuis 2021 »: work stated as a fact, an avowal when no titre allows it.
_WORKS = re.compile(r"\b(?:travaill(?:e|ait)|exerce|occupe un emploi|employée? (?:comme|par|chez|depuis|en qualité)|"
                    r"salariée? (?:de|chez|depuis))\b", re.IGNORECASE)
# What links a fact to the appointment: the séjour document, work, the préfecture.
_LINKED = re.compile(r"titre|s[ée]jour|r[ée]c[ée]piss[ée]|autorisation de travail|autoris\w* à travailler|"
                     r"rendez-vous|r[ée]gularit|papiers|pr[ée]fecture|travailler|emploi|embauch|salari",
                     re.IGNORECASE)
LINKED_MOTIFS = ("emploi", "promesse_embauche", "droits_sociaux")


# A plain sentence about work is argued like the structured fact it is.
_WORK = (("promesse_embauche", re.compile(r"\b(?:embauch\w*|promesse)\b", re.I)),
         ("emploi", re.compile(r"\b(?:employeur|emploi|contrat de travail|licenci\w*|salari\w*|travail)\b", re.I)))
HIRE = ("promesse_embauche", "emploi")
HIRE_MARGIN_DAYS = 15  # a job's date: the request must be filed before it, not the appointment on its eve


def motif_of(u: Urgence) -> str:
    if not u.libre:
        return u.motif
    for motif, words in _WORK:
        if words.search(u.fait):
            return motif
    return "autre"


def hire_deadline(case: Case, e: "Echeance") -> bool:
    """A job's date outside renewal: an appointment on its eve produces no authorisation by then."""
    if presumed(case) or not e.source.startswith("urgence["):
        return False
    return motif_of(case.urgence[int(e.source[8:-1])]) in HIRE


def admits_work(case: Case, text: str | None) -> bool:
    """A text saying the applicant works while no titre allows it (AES, first demand)."""
    return bool(text) and not holds_titre(case) and bool(_WORKS.search(text or ""))


def not_argued(case: Case, u: Urgence) -> str | None:
    """Why the requête does not argue a third-person fact, or None when it does.

    « travail »: an avowal of work without authorisation (never an urgency); « fond »: the family in an
    admission exceptionnelle, which is the merits (L. 435-1 CESEDA), not urgency; « sans-lien »: a fact
    an appointment cannot remedy (a CROUS room lost because studies ended), said without any link to
    the séjour document, outside renewal. ``check`` warns about each.
    """
    proc = case.procedure
    if not holds_titre(case) and (u.motif == "emploi" or _WORKS.search(u.fait)):
        return "travail"
    if proc.type == "admission_exceptionnelle_sejour" and u.motif == "famille":
        return "fond"
    # In a renewal the urgency is presumed: an added fact only reinforces it, and is kept.
    if not presumed(case) and u.motif not in LINKED_MOTIFS and not _LINKED.search(u.fait):
        return "sans-lien"
    return None


# --- the R. 431-5 window --------------------------------------------------------------------

def two_months_before(d: dt.date) -> dt.date:
    month, year = d.month - 2, d.year
    if month <= 0:
        month, year = month + 12, year - 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def window(case: Case) -> tuple[dt.date, dt.date] | None:
    """R. 431-5 CESEDA: a renewal is filed in the two months before expiry, or from the 120th to the
    60th day before it on the ANEF téléservice. None when the case is not a renewal with a known expiry,
    or when the person holds a récépissé: the demande is filed already, the window is behind (attack 22:
    the requête pleaded a delay in registering the demande it had just called registered)."""
    proc = case.procedure
    exp = proc.expiration_titre
    if not (proc.is_renewal and exp) or recepisse(case):
        return None
    if proc.is_anef:
        return exp - dt.timedelta(days=120), exp - dt.timedelta(days=60)
    return two_months_before(exp), exp


def attempts_inside(case: Case) -> list[dt.date]:
    w = window(case)
    if w is None:
        return []
    return sorted(d for d in (t.date.date() for t in case.tentatives) if w[0] <= d <= w[1])


def all_before_window(case: Case) -> bool:
    """Every attempt precedes the window: the préfet will say no request could be filed yet."""
    w = window(case)
    return bool(w) and all(t.date.date() < w[0] for t in case.tentatives)


# --- deadlines ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Echeance:
    date: dt.date
    source: str  # « urgence[2] » or « procedure.expiration_titre »


def fact_deadline(u: Urgence, on: dt.date) -> dt.date | None:
    """A fact's deadline: its `echeance`, else the first date still ahead written in its text."""
    if u.echeance is not None:
        return u.echeance
    ahead = [d for d in dates_in(u.fait) if d >= on]
    return ahead[0] if ahead else None


def deadlines(case: Case, on: dt.date | None = None) -> list[Echeance]:
    """Deadlines still ahead, earliest first: the urgency facts' and, when it matters, the titre's expiry."""
    on = on or requete_date(case)
    out = []
    for i, u in enumerate(case.urgence):
        if not first_person(u.fait) and not_argued(case, u):
            continue  # a fact the requête does not argue sets no deadline
        d = fact_deadline(u, on)
        if d is not None and d > on:
            out.append(Echeance(d, f"urgence[{i}]"))
    exp = case.procedure.expiration_titre
    # Outside renewal, a distant expiry is no deadline: asking for its eve tells the judge there is no hurry.
    if exp and exp > on and (presumed(case) or (exp - on).days <= NEAR_EXPIRY):
        out.append(Echeance(exp, "procedure.expiration_titre"))
    # On the same day, the titre's expiry is the deadline the requête names.
    return sorted(out, key=lambda e: (e.date, e.source != "procedure.expiration_titre"))


_M = "|".join(MOIS)
_SPAN = re.compile(rf"\bdu[\s\u00a0]+(1er|\d{{1,2}})(?:[\s\u00a0]+({_M}))?(?:[\s\u00a0]+(\d{{4}}))?[\s\u00a0]+au[\s\u00a0]+"
                   rf"(1er|\d{{1,2}})[\s\u00a0]+({_M})[\s\u00a0]+(\d{{4}})", re.IGNORECASE)


def span_in(text: str) -> tuple[dt.date, dt.date] | None:
    """« du 10 janvier au 7 mars 2025 », « du 1er au 30 octobre 2026 »: the first period a text gives."""
    m = _SPAN.search(text)
    if not m:
        return None
    day = lambda x: 1 if x.lower() == "1er" else int(x)  # noqa: E731
    try:  # an impossible day (« du 31 juin ») is refused by the model; nothing to read here
        end = dt.date(int(m[6]), MOIS.index(m[5].lower()) + 1, day(m[4]))
        month = MOIS.index(m[2].lower()) + 1 if m[2] else end.month
        start = dt.date(int(m[3]) if m[3] else end.year, month, day(m[1]))
    except ValueError:
        return None
    if start > end and not m[3]:
        start = start.replace(year=start.year - 1)
    return start, end


_SEJOUR_PROOF = re.compile(r"justificatif de s[ée]jour|\btitres?\b|r[ée]c[ée]piss[ée]", re.IGNORECASE)
_JOB = re.compile(r"embauch|\bemploi|contrat de travail|\bemployeur|\bsalari[ée]", re.IGNORECASE)


def needs_sejour_proof(case: Case, u: Urgence) -> bool:
    """An argued fact resting on the lack of a justificatif de séjour outside a renewal: only the
    récépissé given at registration (R. 431-12 CESEDA) remedies it, so the requête asks for it."""
    if presumed(case) or first_person(u.fait) or not_argued(case, u):
        return False
    # A job waits for a titre: a first demand's récépissé does not allow work, so it cures nothing
    # there (`demandes.recepisse_travail` asks one that does, where the law gives it).
    if u.motif in ("emploi", "promesse_embauche") or _JOB.search(u.fait):
        return False
    return bool(_SEJOUR_PROOF.search(u.fait))


def recepisse_for_proof(case: Case) -> bool:
    return any(needs_sejour_proof(case, u) for u in case.urgence)


def notified_after(fixer: dt.date, jours: int, departement: str = "") -> dt.date:
    """The last notification date that still leaves `jours` before `fixer`: two working days for
    48 hours, else `jours` calendar days (« si l'ordonnance est notifiée après le … »)."""
    if jours > 2:
        return fixer - dt.timedelta(days=jours)
    d = fixer
    for _ in range(jours):
        d = dernier_jour_ouvre(d - dt.timedelta(days=1), departement)
    return d


@dataclass(frozen=True)
class Delais:
    jours: int               # delay given to the préfet to communicate a date (or register)
    fixer: dt.date | None    # latest date of the appointment
    fixer_jours: int | None  # or a delay after notification (with `fixer`: « et, en tout état de cause »)
    bref: bool               # a short delay: the « délai bref » of CE 435594 is pleaded
    echeance: Echeance | None


def delais(case: Case, on: dt.date | None = None) -> Delais:
    """The delays the conclusions ask for: never an appointment after the earliest deadline."""
    on = on or requete_date(case)
    d = case.demandes
    ahead = deadlines(case, on)
    first = ahead[0] if ahead else None
    left = (first.date - on).days if first else None
    if "delai_jours" in d.model_fields_set:
        jours = d.delai_jours
    elif left is not None and left <= SHORT_DAYS:
        jours = 2
    elif (left is not None and left <= SOON_DAYS) or (presumed(case) and expired(case)):
        jours = 8
    else:
        jours = d.delai_jours
    fixer: dt.date | None = None
    fixer_jours: int | None = None
    if d.rdv_au_plus_tard:
        fixer = d.rdv_au_plus_tard
    elif d.rdv_sous_jours:
        fixer_jours = d.rdv_sous_jours
    elif first is not None:
        margin = HIRE_MARGIN_DAYS if hire_deadline(case, first) else 1
        eve = dernier_jour_ouvre(first.date - dt.timedelta(days=margin), case.prefecture.departement)
        near = left is not None and left <= jours + ORDONNANCE_DAYS
        after = jours  # a late ordonnance: the same delay as the injunction's
        if eve > on:
            # The eve of the deadline is the date asked; when it is near, an ordonnance notified late
            # gets a delay after its notification instead (« … ou, si l'ordonnance est notifiée après … »).
            fixer = eve
            if near:
                fixer_jours = after
        else:
            fixer_jours = after
    elif presumed(case) and expired(case):
        # Expired titre, no deadline ahead: the date is communicated, then the appointment within the
        # injunction's own delay (never a fallback longer than it, never « 23 jours »).
        fixer_jours = min(15, jours)
    if fixer is not None and fixer_jours and not d.rdv_au_plus_tard:
        # The switch date (FIXER date minus the delay) must still be ahead: otherwise the injunction's
        # own delay makes the date unattainable; shorten both to 8 days, then 48 hours (CE 435594).
        # « Ahead » means after the days a judge takes at least to rule: a switch date two days after the
        # filing left a 15-day fallback that ran past the deadline (the lawyer's review).
        soon = on + dt.timedelta(days=RULING_DAYS)
        for short in (8, 2):
            if notified_after(fixer, fixer_jours, case.prefecture.departement) > soon or fixer_jours <= short:
                break
            jours, fixer_jours = min(jours, short), short
        if notified_after(fixer, fixer_jours, case.prefecture.departement) <= on:
            fixer, fixer_jours = None, min(jours, fixer_jours)
    # Pleaded only for the delay asked: « un délai bref s'impose » beside 15 or 30 days contradicted
    # itself (attack 22); near deadlines already bring the delay to 8 days or 48 hours above.
    bref = jours <= 8
    return Delais(jours, fixer, fixer_jours, bref, first)


# --- free facts and their pièces ------------------------------------------------------------

_STOP = {"de", "du", "des", "la", "le", "les", "l", "d", "en", "et", "a", "au", "aux", "un", "une", "pour", "sur",
         "par", "piece", "attestation", "lettre", "courrier", "courriel", "copie"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", _fold(text)) if len(w) > 2 and w not in _STOP}


def linked_pieces(case: Case, u: Urgence) -> list[str]:
    """The pièces that prove a fact: its `preuves`, or for a plain sentence the `urgence` pièces it names
    (their id, or a significant word of their title), or, when it is the only plain sentence, the
    `urgence` pièces no other fact cites."""
    if u.preuves or not u.libre:
        return list(u.preuves)
    urgent = [p for p in case.pieces if p.categorie == "urgence" and p.id]
    words = _words(u.fait)
    named = [p.id for p in urgent if p.id in _fold(u.fait) or _title_named(p, words)]
    if named:
        return named
    plain = [x for x in case.urgence if x.libre and not first_person(x.fait)]
    if len(plain) == 1 and plain[0] is u:
        cited = {i for x in case.urgence for i in x.preuves}
        return [p.id for p in urgent if p.id not in cited]
    return []


def _title_named(p: Piece, words: set[str]) -> bool:
    # The title's first significant word (« promesse », « contrat », « caf »…) written in the fact.
    own = [w for w in re.findall(r"[a-z0-9]+", _fold(p.titre)) if len(w) > 2 and w not in _STOP]
    return bool(own) and own[0] in words


def proven(case: Case, u: Urgence) -> bool:
    return bool(linked_pieces(case, u))
