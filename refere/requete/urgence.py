"""The requête's « Sur l'urgence »: each paragraph a sentence the facts support, nothing they contradict.

Renewal (and the renewal of a récépissé): urgency is in principle established (CE 453391) and the
facts reinforce it. Any other procedure: the « circonstances particulières » must be shown, each fact
in the third person, with its pièces; without one, a draft says what is missing.
"""

from __future__ import annotations

import datetime as dt
import re

from refere import dates
from refere.affaire import echeances
from refere.affaire.grammaire import (cap, compte, end_sentence, first_person, ordinal, pieces_ref, strip_end, subjectless, typo,
                                      with_subject)
from refere.affaire.model import Case, Urgence
from refere.pieces.plan import Inventory

CE_453391 = "CE, 9 juin 2022, n°\u00a0453391"
CE_435594 = "CE, 10 juin 2020, n°\u00a0435594"
CESEDA = "code de l'entrée et du séjour des étrangers et du droit d'asile"
L8251_1 = ("Or nul ne peut employer un étranger non muni d'un titre l'autorisant à exercer une activité "
           "salariée en France (article L. 8251-1 du code du travail).")
EMBAUCHE = ("Cette embauche, subordonnée à la détention d'un titre l'autorisant à exercer une activité salariée "
            "(article L. 8251-1 du code du travail), suppose l'examen de sa demande{de}.")
# Without a titre (AES, first demand), the job offered waits for the examination, which registration opens.
EMBAUCHE_SANS_TITRE = ("Cette embauche suppose une autorisation de travail (article L. 8251-1 du code du travail), qui ne "
                       "peut lui être accordée qu'au terme de l'examen de sa demande, examen que le préfet ne peut "
                       "engager sans l'avoir enregistrée. Chaque semaine de retard compromet ainsi une embauche qui ne "
                       "restera pas indéfiniment ouverte.")
A_COMPLETER = "[À COMPLÉTER : circonstances particulières, avec leurs pièces]"
A_COMPLETER_RETARD = "[À COMPLÉTER : raison pour laquelle les démarches n'ont pu commencer avant l'expiration du titre, avec ses pièces]"

NO_TITRE = echeances.NO_TITRE

# Lead of each motif's paragraph; the applicant's fact follows the colon.
LEADS = {
    "emploi": "l'emploi {du} est directement menacé",
    "promesse_embauche": "une embauche est proposée {au}",
    "droits_sociaux": "les droits sociaux {du} dépendent de la justification de la régularité de son séjour",
    "etudes": "la poursuite des études {du} est compromise",
    "famille": "la situation familiale {du} rend nécessaire l'obtention rapide de ce rendez-vous",
    "sante": "l'état de santé {du} rend nécessaire l'obtention rapide de ce rendez-vous",
    "logement": "le logement {du} est menacé",
    "autre": "{le} se trouve dans la situation suivante",
}
# A job offer written as a clause of its own: a subject, then the employer's verb.
_OWN_CLAUSE = re.compile(r"^(?:le|la|les|l['’]|un|une|son|sa|ses)\s*[^,;:]*?\s(?:lui\s+|l['’])?(?:propose|proposent|"
                         r"a promis|promet|embauchera|offre|a adressé|recrute|recrutera)\b", re.IGNORECASE)
# Words that open a sentence and lose their capital after a colon or a connector.
_OPENERS = re.compile(r"^(?:le|la|les|l['’]|son|sa|ses|leur|leurs|un|une|des|depuis|il|elle|ils|elles|ce|cette|"
                      r"ces|en|à|au|aux|du|de|d['’]|par|pour|sans|faute|dans|après|avant|lors|employée?|embauchée?|"
                      r"titulaire|mère|père|parent)\b", re.I)


holds_titre = echeances.holds_titre


def lower_first(text: str) -> str:
    """« La société X … » after a colon or a connector: « la société X … ». An acronym (« CAF »), or a
    name of two capitalised words (« Logistique Est »), keeps its capital."""
    t = text.strip()
    words = t.split()
    if not words or words[0][:2].isupper() or not words[0][:1].isupper():
        return t
    if len(words) > 1 and words[1][:1].isupper() and not _OPENERS.match(t):
        return t
    return t[:1].lower() + t[1:]


def short_name(case: Case) -> str:
    """« M. DIALLO », or without civilité « Ana Paula SANTOS »: the subject a pasted text lacks."""
    r = case.requerant
    return f"{r.civilite} {r.nom.upper()}" if r.civilite else f"{r.prenoms} {r.nom.upper()}".strip()


motif_of = echeances.motif_of


def usable(case: Case) -> list[Urgence]:
    """Facts the requête can argue as its own: written in the third person, and an urgency an
    appointment remedies (echeances.not_argued says which are left out, and check warns)."""
    return [u for u in case.urgence if not first_person(u.fait) and echeances.not_argued(case, u) is None]


def argued(case: Case) -> list[Urgence]:
    """The facts the « Sur l'urgence » section writes: the usable ones and the applicant's quoted words."""
    return [u for u in case.urgence if first_person(u.fait) or echeances.not_argued(case, u) is None]


def _pieces(case: Case, inv: Inventory, ids: list[str]) -> str:
    return pieces_ref(inv.numeros_of_ids(ids, case.pieces_by_id))


def _with_ref(text: str, ref: str) -> str:
    body = strip_end(text)
    return end_sentence(f"{body} {ref}" if ref else body)


def _echeance(d: dt.date | None, on: dt.date, anef: bool, written: bool = False) -> str:
    if d is None:
        return ""
    when = dates.format_date(d)
    if d >= on:
        what = "la demande doit avoir été enregistrée" if anef else "le rendez-vous doit avoir eu lieu"
        if written:  # the fact already gives the date: it is not said a second time
            return f" C'est avant cette date que {what}."
        return f" Cette situation comporte une échéance précise, le {when}, avant laquelle {what}."
    return f" L'échéance du {when} est déjà dépassée, ce qui rend la situation plus pressante encore."


def _after(case: Case, motif: str, said: set[str]) -> str:
    """The rule following a job-related fact, said once in the requête."""
    if motif == "promesse_embauche" and case.procedure.type in NO_TITRE:
        key, text = "embauche", EMBAUCHE_SANS_TITRE
    elif motif == "promesse_embauche":
        de = " de changement de statut" if case.procedure.type == "changement_de_statut" else ""
        key, text = "embauche", EMBAUCHE.format(de=de)
    elif motif == "emploi" and holds_titre(case):
        key, text = "l8251", L8251_1
    else:
        return ""
    if key in said or (key == "l8251" and "embauche" in said) or (key == "embauche" and "l8251" in said):
        return ""
    said.add(key)
    return text


def paragraphs(case: Case, inv: Inventory, g: dict[str, str], on: dt.date) -> list[str]:
    """Each urgency fact as an argued third-person paragraph citing its pièces.

    A fact in the first person is quoted as the applicant's own words, never taken over as the
    requête's argument. A plain sentence in the third person is argued like a structured fact.
    """
    facts = argued(case)
    name = short_name(case)
    out: list[str] = []
    said: set[str] = set()
    # A date the titre paragraph already gives is not said again as a fact's échéance.
    head = 1 if _titre(case, g, on) else 0  # the titre's paragraph, when written, is the first argued
    dated: set[dt.date] = {case.procedure.expiration_titre} if head else set()
    for k, u in enumerate(facts):
        lead = ordinal(k + head, len(facts) + head)
        ref = _pieces(case, inv, echeances.linked_pieces(case, u))
        motif = motif_of(u)
        if first_person(u.fait):
            text = end_sentence(f"{lead}, {g['le_requerant']} expose sa situation en ces termes : « {u.fait.strip()} »"
                                + (f" {ref}" if ref else ""))
        elif u.libre:
            from_user = with_subject(u.fait, name, g["le_requerant"], g["au_requerant"]) \
                if subjectless(u.fait, case.requerant.nom) else u.fait
            text = _with_ref(f"{lead}, {lower_first(from_user)}", ref)
        elif u.motif == "promesse_embauche" and _OWN_CLAUSE.match(u.fait.strip()):
            # The fact has its subject and verb (« le restaurant … lui propose … »): no « une embauche est
            # proposée au requérant : » before it; a promise is told as one, not as a certainty.
            own = re.sub(r"\bl['’]embauchera\b", f"a promis d'embaucher {g['le_requerant']}", u.fait.strip(), count=1)
            own = with_subject(own, name, g["le_requerant"], g["au_requerant"])
            text = _with_ref(f"{lead}, {lower_first(own)}", ref)
        else:
            words = LEADS[u.motif].format(du=g["du_requerant"], au=g["au_requerant"], le=g["le_requerant"])
            text = _with_ref(f"{lead}, {words} : {lower_first(u.fait)}", ref)
        after = _after(case, motif, said)
        deadline = u.echeance
        if deadline in dated:
            deadline = None
        elif deadline is not None:
            dated.add(deadline)
        job_date = echeances.fact_deadline(u, on)
        if motif in echeances.HIRE and not echeances.presumed(case) and job_date is not None:
            # A job's date: an appointment on its eve gives no authorisation by then; the filing must come
            # first. Without a titre, no date is promised at all (the examination takes months).
            when = "cette date" if job_date in echeances.dates_in(u.fait) else f"le {dates.format_date(job_date)}"
            tail = "" if case.procedure.type in NO_TITRE or job_date < on else (
                f" Le dépôt de sa demande doit donc intervenir sans délai, pour que son examen puisse commencer "
                f"avant {when}.")
        elif deadline is not None and deadline >= on and echeances.needs_sejour_proof(case, u):
            # The appointment is no justificatif de séjour: the récépissé given at registration is.
            written = deadline in echeances.dates_in(u.fait)
            which = "ce justificatif" if "justificatif" in u.fait.lower() else "un justificatif de séjour"
            tail = ("" if written else f" Cette situation comporte une échéance précise, le {dates.format_date(deadline)}.") \
                + (f" Seul le récépissé remis lors de l'enregistrement de sa demande (article R. 431-12 du {CESEDA}) "
                   f"lui permettra de produire {which} : c'est donc avant cette date que sa demande doit être enregistrée.")
        else:
            tail = _echeance(deadline, on, case.procedure.is_anef, deadline in echeances.dates_in(u.fait))
        out.append(text + (f" {after}" if after else "") + tail)
    return [typo(x) for x in out]


def intro(case: Case, g: dict[str, str]) -> str:
    proc = case.procedure
    concrete = bool(usable(case))
    if echeances.recepisse(case):
        return typo("S'agissant du renouvellement d'un titre de séjour, la condition d'urgence est en principe "
                    f"constatée ({CE_453391}). Cette présomption vaut a fortiori pour le renouvellement du "
                    "récépissé, seul document qui, pendant l'instruction de la demande, autorise la présence "
                    f"{g['du_requerant']} sur le territoire (article R. 431-12 du {CESEDA}).")
    if proc.is_renewal:
        text = ("S'agissant du renouvellement d'un titre de séjour, la condition d'urgence est en principe "
                f"constatée ({CE_453391}).")
        # The generic loss of job and rights only when no concrete fact follows, and never when the titre
        # expired before the first attempt (the delay is then argued on its own).
        # The titre's own paragraph, when there is one, already says what its expiry costs.
        if not concrete and not echeances.expired_before_first(case) \
                and not titre(case, g, echeances.requete_date(case)):
            text += " " + _generic(case, g)
        return typo(text)
    several = len(argued(case)) > 1
    return typo("Hors le cas du renouvellement d'un titre de séjour, il appartient à l'étranger de justifier de "
                "« circonstances particulières caractérisant la nécessité pour lui d'obtenir rapidement ce "
                f"rendez-vous » ({CE_453391})." + (" Tel est le cas en l'espèce." if several else ""))


def _generic(case: Case, g: dict[str, str]) -> str:
    proc = case.procedure
    proof = "l'attestation de prolongation d'instruction ou le récépissé" if echeances.prolongation(case) else "le récépissé"
    lack = "Faute d'enregistrement de sa demande" if proc.is_anef else "Faute de rendez-vous"
    exp = proc.expiration_titre
    on = echeances.requete_date(case)
    # No loss of job or rights is asserted here: without a fact and its pièce, it is a claim the préfet
    # refutes by pointing at the file. What the case proves is the titre's date, and on the ANEF the
    # 60th day after which the request is no longer within R. 431-5.
    if exp and exp > on:
        text = (f"{lack}, {g['le_requerant']} ne pourra obtenir, à l'expiration de son titre le "
                f"{dates.format_date(exp)}, {proof} qui lui permettrait de justifier de la régularité de son séjour.")
        last = exp - dt.timedelta(days=60)
        if proc.is_anef and last > on and not echeances.attempts_inside(case):
            text += (f" Le délai de l'article R. 431-5 du {CESEDA} pour présenter la demande sur le téléservice "
                     f"expire en outre le {dates.format_date(last)}, soixantième jour précédant cette échéance.")
        return text
    return (f"{lack}, {g['le_requerant']} ne peut obtenir {proof} qui lui permettrait de justifier de la régularité "
            "de son séjour.")


def titre(case: Case, g: dict[str, str], on: dt.date) -> str:
    """The titre's expiry as an urgency, numbered as the first argued paragraph when facts follow."""
    text = _titre(case, g, on)
    facts = argued(case)
    if not text or not facts:
        return text
    return f"{ordinal(0, len(facts) + 1)}, {lower_first(text)}"


def _titre(case: Case, g: dict[str, str], on: dt.date) -> str:
    """The titre's expiry as an urgency, only when it is one: expired, or within the two months."""
    proc = case.procedure
    exp = proc.expiration_titre
    if exp is None:
        return ""
    when = dates.format_date(exp)
    past = exp < on
    if echeances.recepisse(case):
        lack = "faute d'enregistrement de sa demande" if proc.is_anef else "faute de rendez-vous"  # no rendez-vous on the ANEF
        if past:
            return typo(f"Le récépissé {g['du_requerant']} a expiré le {when} ; {lack}, {g['il']} n'a pu "
                        f"en obtenir le renouvellement et se trouve dépourvu{g['e']} de tout document justifiant de la "
                        "régularité de son séjour et l'autorisant à travailler.")
        return typo(f"Le récépissé {g['du_requerant']} expire le {when} ; {lack}, {g['il']} ne peut en "
                    f"obtenir le renouvellement et se trouvera, à cette date, dépourvu{g['e']} de tout document "
                    "justifiant de la régularité de son séjour et l'autorisant à travailler.")
    if echeances.expired_before_first(case):
        # The short delay's paragraph says it with its reason: not twice in the same section.
        return "" if echeances.delais(case, on).bref else typo(f"Le titre de séjour {g['du_requerant']} a expiré le {when}.")
    if not past and (exp - on).days > echeances.NEAR_EXPIRY:
        return ""  # six months ahead, the titre still covers him: nothing to say here
    proof = "l'attestation de prolongation d'instruction" if echeances.prolongation(case) else "le récépissé"
    if past:
        return typo(f"Le titre de séjour {g['du_requerant']} a expiré le {when} ; faute d'enregistrement de sa "
                    f"demande, {g['il']} ne peut obtenir {proof} qui lui permettrait de justifier de la régularité "
                    "de son séjour.")
    return typo(f"Le titre de séjour {g['du_requerant']} expire le {when} ; faute d'enregistrement de sa demande, "
                f"{g['il']} ne pourra obtenir {proof} qui lui permettrait de justifier de la régularité de son séjour "
                "au-delà de cette date.")


def retard(case: Case, inv: Inventory, g: dict[str, str], brouillon: bool) -> str:
    """Why the first attempt came after the titre expired: the applicant's explanation, argued."""
    if not echeances.expired_before_first(case):
        return ""
    proc = case.procedure
    if not proc.explication_retard:
        return A_COMPLETER_RETARD if brouillon else ""
    ref = _pieces(case, inv, proc.preuves_retard)
    first = min(t.date.date() for t in case.tentatives)
    opens, _ = echeances.window(case) or (None, None)
    delay = ("entre le cent-vingtième et le soixantième jour qui précèdent l'expiration du titre"
             if proc.is_anef else "de deux mois")
    closes = proc.expiration_titre - dt.timedelta(days=60) if proc.is_anef else proc.expiration_titre
    head = f"Le délai {delay} prévu par l'article R. 431-5 du {CESEDA} pour présenter la demande de renouvellement"
    text = (f"{head} courait du {dates.format_date(opens)} au {dates.format_date(closes)}. " if opens
            else f"{head} est expiré. ")
    # Never « n'a pu l'utiliser »: the préfet answers that part of the window was free. He was not bound to
    # file on its first day, and the explanation says what kept him from acting.
    # The explanation's last date before the first attempt (a release from hospital…) shows how soon he acted.
    before = [d for d in echeances.dates_in(proc.explication_retard) if d <= first]
    span = echeances.span_in(proc.explication_retard)
    start = span[0] if span and span[1] <= first else None
    if opens is None or start is None or start <= opens:
        # The impediment covers the whole window (or its start is unknown): he could not act sooner.
        text += _with_ref(f"{g['Le_requerant']}, qui n'était pas tenu{g['e']} de présenter sa demande dès son "
                          f"ouverture, n'a pu agir plus tôt : {lower_first(proc.explication_retard)}", ref)
    else:
        # Part of the window was free: say what the impediment took, true to its dates.
        covered = (min(before[-1], closes) - max(start, opens)).days
        part = "de la plus grande partie" if 2 * covered > (closes - opens).days else "d'une partie"
        rest = " et de toute possibilité d'agir avant son terme" if before[-1] >= closes else ""
        text += (f"{g['Le_requerant']} n'était pas tenu{g['e']} de présenter sa demande dès son ouverture. "
                 + strip_end(_with_ref(cap(proc.explication_retard.strip()), ref))
                 + f" : {g['il']} a ainsi été privé{g['e']} {part} de ce délai{rest}.")
    since = ""
    if before and (first - before[-1]).days > 0:
        n = (first - before[-1]).days
        since = f", {compte(n, 'jour', 'jours')} après la fin de cet empêchement"
    did = "a tenté de déposer sa demande" if proc.is_anef else "a tenté d'obtenir un rendez-vous"
    return typo(f"{text} {cap(g['il'])} {did} dès le {dates.format_date(first)}{since}.")


def missing(case: Case) -> str:
    """Outside renewal, no fact to argue: the draft says what is missing, never « Tel est le cas » alone."""
    if echeances.presumed(case) or usable(case):
        return ""
    return A_COMPLETER


def delai_bref(case: Case, g: dict[str, str], on: dt.date) -> str:
    """CE 435594: a short delay in case of particular urgency, with the fact that justifies it."""
    d = echeances.delais(case, on)
    if not d.bref:
        return ""
    proc = case.procedure
    exp = proc.expiration_titre
    what = "récépissé" if echeances.recepisse(case) else "titre de séjour"
    # A date the section already gave (the titre's paragraph, a fact) is recalled, not written again.
    stated = {exp} if (exp and titre(case, g, on)) else set()
    stated |= {x for u in argued(case) for x in ([u.echeance] if u.echeance else []) + echeances.dates_in(u.fait)}
    if exp and exp < on and echeances.presumed(case):
        why = (f"le {what} {g['du_requerant']} a expiré" + ("" if exp in stated else f" le {dates.format_date(exp)}"))
    elif d.echeance is not None and echeances.hire_deadline(case, d.echeance):
        why = f"l'embauche doit commencer le {dates.format_date(d.echeance.date)}"  # the fact that justifies it
    elif d.echeance is not None and d.echeance.date in stated:
        why = "l'échéance rappelée ci-dessus est proche"
    elif d.echeance is not None and d.echeance.source == "procedure.expiration_titre":
        why = f"le {what} {g['du_requerant']} expire le {dates.format_date(d.echeance.date)}"
    elif d.echeance is not None:
        why = f"la situation exposée ci-dessus comporte une échéance au {dates.format_date(d.echeance.date)}"
    else:
        return ""
    return typo("Le juge des référés fixe un délai bref en cas d'urgence particulière "
                f"({CE_435594}). Un tel délai s'impose ici, dès lors que {why}.")
