"""The requête's argued sentences: urgency, R. 431-5 window, ANEF diligences, conclusions.

Data in (case, inventory, grammatical forms), French sentences out; the template only places them.
Every citation here is worded no stronger than the decision (``../shared/domain/legal-brief.md``).
"""

from __future__ import annotations

import datetime as dt

from refere import dates
from refere.affaire.grammaire import DEMANDES, cap, dernier_jour_ouvre, end_sentence, first_person, ordinal, pieces_ref, strip_end, typo
from refere.affaire.model import Case, Urgence
from refere.pieces.plan import Inventory

CE_453391 = "CE, 9 juin 2022, n°\u00a0453391"
CESEDA = "code de l'entrée et du séjour des étrangers et du droit d'asile"
L8251_1 = ("Or nul ne peut employer un étranger non muni d'un titre l'autorisant à exercer une activité "
           "salariée en France (article L. 8251-1 du code du travail).")

# Lead of each motif's paragraph; the applicant's fact follows the colon.
LEADS = {
    "emploi": "l'emploi {du} est directement menacé",
    "promesse_embauche": "une embauche est proposée {au}, qui ne peut se réaliser sans titre l'autorisant à travailler",
    "droits_sociaux": "les droits sociaux {du} dépendent de la justification de la régularité de son séjour",
    "etudes": "la poursuite des études {du} est compromise",
    "famille": "la situation familiale {du} rend nécessaire l'obtention rapide de ce rendez-vous",
    "sante": "l'état de santé {du} rend nécessaire l'obtention rapide de ce rendez-vous",
    "logement": "le logement {du} est menacé",
    "autre": "{le} se trouve dans la situation suivante",
}
AFTER = {"emploi": L8251_1, "promesse_embauche": L8251_1}
# Procedures by which the applicant asks for a first titre: he holds none to work with.
NO_TITRE = ("premiere_demande_titre_sejour", "admission_exceptionnelle_sejour")

# What the applicant did, as a verb phrase after « il » / « elle » ({e}: past participle agreement).
DILIGENCE_LABELS = {
    "centre_contact_citoyen": "a saisi le centre de contact citoyen de l'ANEF",
    "point_accueil_numerique": "s'est rendu{e} dans un point d'accueil numérique",
    "courrier": "a écrit à la préfecture",
    "courriel": "a adressé un courriel à la préfecture",
    "autre": "",
}
DILIGENCE_KEYS = {"centre_contact_citoyen": "centre de contact citoyen",
                  "point_accueil_numerique": "point d'accueil numérique"}


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def _pieces(case: Case, inv: Inventory, ids: list[str]) -> str:
    return pieces_ref(inv.numeros_of_ids(ids, case.pieces_by_id))


def _with_ref(text: str, ref: str) -> str:
    """« text (pièce n° 7). » — the reference inside the sentence, one full stop."""
    body = strip_end(text)
    if ref:
        body = f"{body} {ref}"
    return end_sentence(body)


def _echeance(u: Urgence, on: dt.date, anef: bool) -> str:
    if u.echeance is None:
        return ""
    when = dates.format_date(u.echeance)
    if u.echeance >= on:
        what = "la demande doit avoir été enregistrée" if anef else "le rendez-vous doit avoir eu lieu"
        return f" Cette situation comporte une échéance précise, le {when}, avant laquelle {what}."
    return f" L'échéance du {when} est déjà dépassée, ce qui rend la situation plus pressante encore."


def holds_titre(case: Case) -> bool:
    """Whether the applicant holds a titre today (L. 8251-1 then speaks of his job)."""
    proc = case.procedure
    if proc.is_renewal:
        return True
    return bool(proc.titre_actuel) and proc.type not in NO_TITRE


def usable_urgency(case: Case) -> list[Urgence]:
    """Facts the requête can argue as its own: written in the third person."""
    return [u for u in case.urgence if not first_person(u.fait)]


def _after(case: Case, u: Urgence, ref: str) -> tuple[str, bool]:
    """The sentence following a job-related fact, and whether it carries the pièces itself."""
    if u.motif not in AFTER:
        return "", False
    if holds_titre(case):
        return L8251_1, False
    tail = f" {ref}" if ref else ""
    return (f"La poursuite de son activité salariée est subordonnée à sa régularisation, que seul "
            f"l'enregistrement de sa demande permet d'engager{tail}."), True


def urgency_paragraphs(case: Case, inv: Inventory, g: dict[str, str], on: dt.date) -> list[str]:
    """Each urgency fact as an argued third-person paragraph citing its pièces.

    A fact in the first person is quoted as the applicant's own words, never taken over as the
    requête's argument; a plain third-person string is printed as written, after the others.
    """
    argued: list[tuple[Urgence, bool]] = []  # (fact, quoted)
    plain: list[Urgence] = []
    for u in case.urgence:
        if first_person(u.fait):
            argued.append((u, True))
        elif u.libre:
            plain.append(u)
        else:
            argued.append((u, False))
    out = []
    for k, (u, quoted) in enumerate(argued):
        lead = ordinal(k, len(argued))
        ref = _pieces(case, inv, u.preuves)
        after, moved = _after(case, u, ref)
        own_ref = "" if moved else ref
        if quoted:
            words = u.fait.strip()
            text = (f"{lead}, {g['le_requerant']} expose sa situation en ces termes : « {words} »"
                    + (f" {own_ref}" if own_ref else ""))
            text = end_sentence(text)
        else:
            motif = LEADS[u.motif].format(du=g["du_requerant"], au=g["au_requerant"], le=g["le_requerant"])
            text = _with_ref(f"{lead}, {motif} : {u.fait.strip()}", own_ref)
        out.append(text + (f" {after}" if after else "") + _echeance(u, on, case.procedure.is_anef))
    for u in plain:
        out.append(_with_ref(cap(u.fait.strip()), _pieces(case, inv, u.preuves)))
    return [typo(x) for x in out]


def urgency_intro(case: Case, g: dict[str, str]) -> str:
    # With a single fact, its paragraph opens « En l'espèce » already: never say it twice.
    single = sum(1 for u in case.urgence if first_person(u.fait) or not u.libre) == 1
    proof = ("de l'attestation de prolongation d'instruction ou du récépissé" if case.procedure.is_anef
             else "du récépissé")
    if case.procedure.is_renewal:
        # With a known expiry the next paragraph names the récépissé: not twice in a row.
        why = ("En effet, l'impossibilité de déposer la demande avant l'expiration du titre expose "
               f"{g['interesse']} au risque de perdre son emploi et ses droits sociaux."
               if case.procedure.expiration_titre else
               f"En effet, l'impossibilité de déposer la demande avant l'expiration du titre prive {g['interesse']} "
               f"{proof} qui lui permettrait de justifier de la régularité de son séjour, et l'expose au risque de "
               "perdre son emploi et ses droits sociaux.")
        return typo("S'agissant du renouvellement d'un titre de séjour, la condition d'urgence est en principe "
                f"regardée comme remplie ({CE_453391}). " + why)
    return typo("Hors le cas du renouvellement d'un titre de séjour, il appartient à l'étranger de justifier de "
            "« circonstances particulières caractérisant la nécessité pour lui d'obtenir rapidement ce "
            f"rendez-vous » ({CE_453391})." + ("" if single else " Tel est le cas en l'espèce."))


def anef_window(exp: dt.date) -> tuple[dt.date, dt.date]:
    """R. 431-5 CESEDA on the téléservice: from the 120th to the 60th day before expiry."""
    return exp - dt.timedelta(days=120), exp - dt.timedelta(days=60)


def window_sentence(case: Case, attempts: list[dt.date] | dt.date, g: dict[str, str]) -> str:
    """R. 431-5 CESEDA: when the first attempt falls inside (or before) the window, the delay is not his.

    On the ANEF an attempt before the window is a premature filing, never an argument: the first
    attempt inside the window is the one cited.
    """
    proc = case.procedure
    exp = proc.expiration_titre
    if not (proc.is_renewal and exp):
        return ""
    days = sorted([attempts] if isinstance(attempts, dt.date) else attempts)
    if proc.is_anef:
        opens, closes = anef_window(exp)
        rule = ("entre le cent-vingtième et le soixantième jour qui précèdent l'expiration du titre, "
                "lorsque celui-ci relève du téléservice")
        inside = [d for d in days if opens <= d <= closes]
        if not inside:
            return ""
        first = inside[0]
        where = (f"dès l'ouverture de ce délai, le {dates.format_date(first)}" if (first - opens).days <= 1
                 else f"dans ce délai, dès le {dates.format_date(first)}")
        did = "a tenté de déposer sa demande"
    else:
        opens, closes = _two_months_before(exp), exp
        rule = "dans les deux mois qui précèdent l'expiration du titre"
        first = days[0]
        if first > closes:
            return ""
        where = (f"dès le {dates.format_date(first)}, "
                 + ("avant même l'ouverture de ce délai" if first < opens else "dans ce délai"))
        did = "a entrepris ses démarches"
    return typo(f"L'article R. 431-5 du {CESEDA} prévoit que la demande de renouvellement est présentée {rule}. "
            f"{g['Le_requerant']} {did} {where} : "
            "le retard dans l'enregistrement de sa demande ne lui est pas imputable.")


def _two_months_before(d: dt.date) -> dt.date:
    month, year = d.month - 2, d.year
    if month <= 0:
        month, year = month + 12, year - 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def diligences(case: Case, inv: Inventory, g: dict[str, str] | None = None) -> list[dict[str, str]]:
    """« le 9 septembre 2025, il a saisi le centre de contact citoyen de l'ANEF : … (pièce n° 7) ; »."""
    g = g or {"il": "il", "e": ""}
    out = []
    items = sorted(case.diligences, key=lambda d: d.date)
    for k, d in enumerate(items):
        label = DILIGENCE_LABELS[d.type].format(e=g["e"])
        desc = strip_end(d.description.strip())
        # « … s'est rendu dans un point d'accueil numérique : rendez-vous au point d'accueil numérique
        # de Bobigny » says it twice: a description naming the service stands alone.
        if label and _fold(DILIGENCE_KEYS.get(d.type, "\0")) in _fold(desc):
            label = ""
        what = f"{g['il']} {label} : {desc}" if label else desc
        ref = _pieces(case, inv, d.preuves)
        phrase = f"le {dates.format_date(d.date)}, {what}" + (f" {ref}" if ref else "")
        phrase += " ;" if k < len(items) - 1 else "."
        out.append({"date": dates.format_date(d.date), "type": d.type, "libelle": label,
                    "description": d.description, "pieces": ref, "phrase": typo(phrase)})
    return out


def fixer_date(case: Case, on: dt.date) -> dt.date | None:
    """Default « FIXER » date: the earliest of the eve of the titre's expiry and of each urgency
    fact's échéance still ahead, moved back to a working day."""
    candidates = [x - dt.timedelta(days=1) for x in
                  [case.procedure.expiration_titre, *(u.echeance for u in case.urgence)] if x and x > on]
    return dernier_jour_ouvre(min(candidates)) if candidates else None


def rdv_deadline(case: Case, on: dt.date) -> str:
    """The « FIXER » conclusion's limit, or empty when none is asked."""
    d = case.demandes
    if d.rdv_au_plus_tard:
        return f"au plus tard le {dates.format_date(d.rdv_au_plus_tard)}"
    if d.rdv_sous_jours:
        return f"au plus tard dans un délai de {d.rdv_sous_jours} jours à compter de la notification de l'ordonnance"
    eve = fixer_date(case, on)
    if eve is not None:
        # That day only if the préfet's own delay leaves room for it.
        if (eve - on).days >= d.delai_jours:
            return f"au plus tard le {dates.format_date(eve)}"
        return (f"au plus tard dans un délai de {d.delai_jours + 15} jours à compter de la notification "
                "de l'ordonnance")
    return ""


def conclusions(case: Case, g: dict[str, str], dfd: dict[str, str], on: dt.date,
                counsel: dict | None) -> list[str]:
    """PAR CES MOTIFS: verbs a juge des référés grants; each ends « ; », the last « . »."""
    d = case.demandes
    proc = case.procedure
    items: list[str] = []
    if case.aide_juridictionnelle == "demandee":
        items.append(f"ADMETTRE {g['le_requerant']} au bénéfice de l'aide juridictionnelle à titre provisoire, "
                     "en application de l'article 20 de la loi n° 91-647 du 10 juillet 1991")
    delay = (f"dans un délai de {d.delai_jours} jours à compter de la notification de l'ordonnance à intervenir")
    if proc.is_anef:
        items.append(f"ENJOINDRE {dfd['au_prefet']} d'enregistrer la {DEMANDES[proc.type]} présentée par "
                     f"{g['le_requerant']}, soit en permettant son dépôt sur le téléservice, soit en lui fixant un "
                     "rendez-vous pour un dépôt au guichet au titre de la solution de substitution prévue par "
                     f"l'article R. 431-2 du {CESEDA}, {delay}")
        items.append(f"ENJOINDRE {dfd['au_prefet']} de délivrer {g['au_requerant']}, dans le même délai, une "
                     "attestation de prolongation d'instruction ou un récépissé de demande de titre de séjour")
        limit = rdv_deadline(case, on) if (d.rdv_au_plus_tard or d.rdv_sous_jours) else ""
        if limit:
            items.append(f"FIXER, si un rendez-vous est attribué, sa date {limit}")
    else:
        items.append(f"ENJOINDRE {dfd['au_prefet']} de communiquer {g['au_requerant']}, {delay}, une date de "
                     f"rendez-vous pour {proc.label}")
        limit = rdv_deadline(case, on)
        if limit:
            items.append(f"FIXER ce rendez-vous {limit}")
    if d.astreinte_par_jour:
        which = "ces injonctions" if proc.is_anef else "cette injonction"
        items.append(f"ASSORTIR {which} d'une astreinte de {dates.format_amount(d.astreinte_par_jour)} "
                     "par jour de retard à l'expiration du délai imparti")
    if d.frais_l761_1:
        amount = dates.format_amount(d.frais_l761_1)
        avocat = counsel and counsel.get("avocat")
        if case.aide_juridictionnelle and avocat:
            items.append(f"METTRE À LA CHARGE de l'État la somme de {amount} à verser à {counsel['maitre']} en "
                         "application des dispositions de l'article 37, alinéa 2, de la loi n° 91-647 du "
                         f"10 juillet 1991, sous réserve qu'{counsel['il']} renonce à percevoir la part contributive de l'État "
                         "à l'aide juridictionnelle"
                         + (f" ou, dans l'hypothèse où {g['le_requerant']} ne serait pas admis{g['e']} à l'aide "
                            f"juridictionnelle, la même somme à verser {g['au_requerant']} au titre de l'article L. 761-1 du "
                            "code de justice administrative" if case.aide_juridictionnelle == "demandee" else ""))
        else:
            items.append(f"METTRE À LA CHARGE de l'État la somme de {amount} à verser {g['au_requerant']} au titre "
                         "de l'article L. 761-1 du "
                         "code de justice administrative")
    return [typo(f"{text} ;" if k < len(items) - 1 else f"{text}.") for k, text in enumerate(items)]
