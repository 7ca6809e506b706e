"""The requête's argued sentences: urgency, R. 431-5 window, ANEF diligences, conclusions.

Data in (case, inventory, grammatical forms), French sentences out; the template only places them.
Every citation here is worded no stronger than the decision (``../shared/domain/legal-brief.md``).
"""

from __future__ import annotations

import datetime as dt

from refere import dates
from refere.affaire import echeances
from refere.affaire.grammaire import DEMANDES, compte, entre_dates, nombre, pieces_ref, strip_end, typo
from refere.affaire.model import Case
from refere.pieces.plan import Inventory

def libelle_recepisse(case: Case) -> str:
    """« le renouvellement de son récépissé de demande de renouvellement de titre de séjour »."""
    return f"le renouvellement de son récépissé de {echeances.recepisse_demande(case)}"


def moyen_recepisse(case: Case, g: dict[str, str]) -> str:
    """The moyen of the récépissé injunction asked outside the récépissé branch (R. 431-12 CESEDA)."""
    d = case.demandes
    if echeances.recepisse(case):
        return ""
    if case.procedure.is_anef:  # the conclusions ask it from the registration, whatever the urgency
        text = (f"l'étranger titulaire d'un titre de séjour se voit remettre, dès l'enregistrement de sa demande "
                f"sur le téléservice, une attestation de prolongation de l'instruction (article R. 431-15-1 du "
                f"{CESEDA}) ; " if echeances.prolongation(case) else "")
        text += (f"l'étranger admis à souscrire sa demande au guichet se voit remettre un récépissé (article R. 431-12 "
                 f"du même code). Ce document, renouvelé jusqu'à ce qu'il soit statué, permet seul de justifier de la "
                 f"régularité du séjour pendant l'instruction : {g['le_requerant']} demande qu'il lui soit remis dès "
                 "l'enregistrement de sa demande.")
        return typo(text[:1].upper() + text[1:])
    if not (d.recepisse_travail or echeances.expired_before_first(case) or echeances.recepisse_for_proof(case)):
        return ""
    return typo(f"L'étranger admis à souscrire une demande de titre de séjour se voit remettre un récépissé "
                f"(article R. 431-12 du {CESEDA}) : {g['le_requerant']} demande "
                "qu'il lui soit remis dès l'enregistrement de sa demande.")


def comme_captures(shown: int, attempts: int) -> str:
    """« comme le montrent les captures d'écran produites », never more than they show: « pour trois
    d'entre elles » when some attempts have none; nothing without any."""
    if not shown:
        return ""
    if shown == 1:  # one capture: « la capture … produite » (attack 28)
        return "comme le montre la capture d'écran produite" + ("" if attempts == 1 else " pour l'une d'entre elles")
    some = "" if shown == attempts else f" pour {nombre(shown)} d'entre elles"
    return "comme le montrent les captures d'écran produites" + some


def recepisse_travail_de_droit(case: Case) -> bool:
    """Only the récépissé of a renewal filed in time carries the right to work the titre gave; a first
    « salarié » demand or a late renewal concludes to a plain récépissé de demande de titre de séjour."""
    return case.procedure.is_renewal and not echeances.expired_before_first(case)


OPENING_SLACK = 1  # a day before the opening is « la veille de l'ouverture » (the table shows that attempt)
CESEDA = "code de l'entrée et du séjour des étrangers et du droit d'asile"

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


def _lower(text: str) -> str:
    """A description's capital lowered when it opens on a common word (« Au point… »)."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first[:1].isupper() and not first[1:2].isupper() else text


def _pieces(case: Case, inv: Inventory, ids: list[str]) -> str:
    return pieces_ref(inv.numeros_of_ids(ids, case.pieces_by_id))


def window_sentence(case: Case, g: dict[str, str]) -> str:
    """R. 431-5 CESEDA: the first attempt made inside the window shows the delay is not his.

    An attempt before the window is no argument (no request could be filed yet): only the first
    attempt inside it is cited, and without one nothing is said.
    """
    w = echeances.window(case)
    inside = echeances.attempts_inside(case)
    if w is None or not inside:
        return ""
    opens, closes = w
    first = inside[0]
    if case.procedure.is_anef:
        # The window's both ends, once: the urgency's opening paragraph does not repeat the 60th day.
        rule = ("entre le cent-vingtième et le soixantième jour qui précèdent l'expiration du titre lorsque "
                f"celui-ci relève du téléservice, soit en l'espèce du {dates.format_date(opens)} au "
                f"{dates.format_date(closes)}")
        did = "a tenté de déposer sa demande"
    else:
        rule = "dans les deux mois qui précèdent l'expiration du titre"
        did = "a entrepris ses démarches"
    # An attempt a day or two before the opening is still « à l'ouverture » for a reader counting the
    # two months from the other end: the requête names the first attempt, which the table shows.
    earliest = min(t.date.date() for t in case.tentatives)
    gap = (earliest - opens).days
    if -OPENING_SLACK <= gap <= 1:
        # Exact: the window opens two months before expiry; the day before is « la veille ».
        at = "veille de l'ouverture de ce délai" if gap < 0 else "à l'ouverture de ce délai"
        where = f"dès le {dates.format_date(earliest)}, {at}"
        where += ", et a renouvelé ses tentatives depuis" if len(case.tentatives) > 1 else ""
    elif gap < -OPENING_SLACK:
        # Attempts before the window too: the first one is told with its real date, and the argument rests
        # on those made inside the window (counted, with their weeks).
        weeks = len({d.isocalendar()[:2] for d in inside})
        return typo(f"L'article R. 431-5 du {CESEDA} prévoit que la demande de renouvellement est présentée {rule}. "
                    f"{g['Le_requerant']} {did} dès le {dates.format_date(earliest)}, avant même l'ouverture de ce "
                    f"délai le {dates.format_date(opens)}, et a poursuivi ses tentatives dans ce délai : "
                    f"{compte(len(inside), 'tentative', 'tentatives', feminin=True)} "
                    f"{entre_dates(inside[0], inside[-1])}, sur "
                    f"{compte(weeks, 'semaine', 'semaines distinctes', feminin=True)}. Le retard dans "
                    "l'enregistrement de sa demande ne lui est pas imputable.")
    else:
        where = f"dans ce délai, dès le {dates.format_date(first)}"
    late = ""
    if case.procedure.is_anef:
        # Why act now although the titre runs for months: after the 60th day the request is late.
        late = (f" Au-delà du {dates.format_date(closes)}, la demande serait tardive, alors que le retard tient au "
                "seul dysfonctionnement du téléservice.")
    return typo(f"L'article R. 431-5 du {CESEDA} prévoit que la demande de renouvellement est présentée {rule}. "
                f"{g['Le_requerant']} {did} {where} : "
                "le retard dans l'enregistrement de sa demande ne lui est pas imputable." + late)


def diligences(case: Case, inv: Inventory, g: dict[str, str] | None = None) -> list[dict[str, str]]:
    """« le 9 septembre 2025, il a saisi le centre de contact citoyen de l'ANEF : … (pièce n° 7) ; »."""
    g = g or {"il": "il", "e": ""}
    out = []
    items = sorted(case.diligences, key=lambda d: d.date)
    for k, d in enumerate(items):
        label = DILIGENCE_LABELS[d.type].format(e=g["e"])
        desc = strip_end(d.description.strip())
        # « … s'est rendu dans un point d'accueil numérique : rendez-vous au point d'accueil numérique
        # de Bobigny » says it twice: a description naming the service takes the neutral verb. Every
        # line keeps one grammatical form: « le …, il <verbe> : <description> ».
        if label and _fold(DILIGENCE_KEYS.get(d.type, "\0")) in _fold(desc):
            label = ""
        # Without a verb of its own, the description is the clause itself (« le 1er décembre 2026, au
        # point d'accueil numérique de Nanterre, le dépôt a échoué… »), never pasted after a colon.
        what = f"{g['il']} {label} : {desc}" if label else _lower(desc)
        ref = _pieces(case, inv, d.preuves)
        phrase = f"le {dates.format_date(d.date)}, {what}" + (f" {ref}" if ref else "")
        phrase += " ;" if k < len(items) - 1 else "."
        out.append({"date": dates.format_date(d.date), "type": d.type, "libelle": label,
                    "description": d.description, "pieces": ref, "phrase": typo(phrase)})
    return out


def delai_texte(jours: int) -> str:
    """« dans un délai de 48 heures » for two days, « de 8 jours » otherwise."""
    what = "48 heures" if jours == 2 else f"{jours} jours"
    return f"dans un délai de {what} à compter de la notification de l'ordonnance à intervenir"


def fixer_date(case: Case, on: dt.date) -> dt.date | None:
    """The « FIXER » date: the eve of the earliest deadline, on a working day (affaire.echeances)."""
    return echeances.delais(case, on).fixer


def _dans(jours: int) -> str:
    return "dans les 48 heures" if jours == 2 else f"dans les {jours} jours"


def rdv_deadline(case: Case, on: dt.date) -> str:
    """The « FIXER » conclusion's limit, or empty when none is asked.

    One formula wherever a date is asked with a fallback delay: « au plus tard le 11 décembre 2026 ou,
    si l'ordonnance est notifiée après le 9 décembre 2026, dans les 48 heures de sa notification »; the
    date is the one the urgency paragraph names (« C'est avant cette date… »).
    """
    d = echeances.delais(case, on)
    if d.fixer is not None and d.fixer_jours:
        # echeances.delais keeps the switch date ahead of the requête: never « ou, à défaut, ».
        cutoff = echeances.notified_after(d.fixer, d.fixer_jours, case.prefecture.departement)
        return (f"au plus tard le {dates.format_date(d.fixer)} ou, si l'ordonnance est notifiée après le "
                f"{dates.format_date(cutoff)}, {_dans(d.fixer_jours)} de sa notification")
    if d.fixer is not None:
        return f"au plus tard le {dates.format_date(d.fixer)}"
    if d.fixer_jours and case.demandes.rdv_sous_jours:
        return f"au plus tard dans un délai de {d.fixer_jours} jours à compter de la notification de l'ordonnance"
    if d.fixer_jours and d.echeance is not None:
        return f"{_dans(d.fixer_jours)} de la notification de l'ordonnance à intervenir"
    if d.fixer_jours:
        return f"dans un délai de {d.fixer_jours} jours à compter de la communication de cette date"
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
    delais = echeances.delais(case, on)
    delay = delai_texte(delais.jours)
    recepisse = echeances.recepisse(case)
    if proc.is_anef:
        items.append(f"ENJOINDRE {dfd['au_prefet']} d'enregistrer la {DEMANDES[proc.type]} présentée par "
                     f"{g['le_requerant']}, soit en permettant son dépôt sur le téléservice, soit en lui fixant un "
                     "rendez-vous pour un dépôt au guichet au titre de la solution de substitution prévue par "
                     f"l'article R. 431-2 du {CESEDA}, {delay}")
        exp = proc.expiration_titre
        # Delivered only once the request is registered: asked from that registration, not within a delay.
        # Such a document is valid for the time it states, then renewed (R. 431-12, R. 431-15-1): never
        # « valable jusqu'à ce qu'il soit statué ».
        after = f", couvrant la période postérieure au {dates.format_date(exp)}," if exp and exp >= on else ""
        proof = ("une attestation de prolongation de l'instruction de sa demande ou, en cas de dépôt au guichet, un "
                 "récépissé de demande de titre de séjour" if echeances.prolongation(case)
                 else "en cas de dépôt au guichet, un récépissé de demande de titre de séjour")
        items.append(f"ENJOINDRE {dfd['au_prefet']} de délivrer {g['au_requerant']}, dès l'enregistrement de sa "
                     f"demande, {proof}{after} et de renouveler ce document jusqu'à ce qu'il soit statué sur sa "
                     "demande")
        limit = rdv_deadline(case, on) if (d.rdv_au_plus_tard or d.rdv_sous_jours) else ""
        if limit:
            items.append(f"FIXER, si un rendez-vous est attribué, sa date {limit}")
    else:
        what = libelle_recepisse(case) if recepisse else proc.label
        items.append(f"ENJOINDRE {dfd['au_prefet']} de communiquer {g['au_requerant']}, {delay}, une date de "
                     f"rendez-vous pour {what}")
        limit = rdv_deadline(case, on)
        if limit:
            items.append(f"FIXER ce rendez-vous {limit}")
        if recepisse:
            items.append(f"À titre subsidiaire, ENJOINDRE {dfd['au_prefet']} de renouveler le récépissé de "
                         f"{echeances.recepisse_demande(case)} {g['du_requerant']}, en l'autorisant à travailler, par voie "
                         f"postale ou électronique, {delai_texte(min(delais.jours, 2))}")
        elif d.recepisse_travail or echeances.expired_before_first(case) or echeances.recepisse_for_proof(case):
            items.append(f"ENJOINDRE {dfd['au_prefet']} de délivrer {g['au_requerant']}, dès l'enregistrement de sa "
                         "demande, un récépissé de demande de titre de séjour"
                         + (" l'autorisant à travailler" if recepisse_travail_de_droit(case) else ""))
    if d.astreinte_par_jour:
        which = "ces injonctions" if sum(x.startswith(("ENJOINDRE", "À titre subsidiaire")) for x in items) > 1 \
            else "cette injonction"
        items.append(f"ASSORTIR {which} d'une astreinte de {dates.format_amount(d.astreinte_par_jour)} "
                     "par jour de retard à l'expiration du délai imparti")
    if d.frais_l761_1:
        amount = dates.format_amount(d.frais_l761_1)
        avocat = counsel and counsel.get("avocat")
        if case.aide_juridictionnelle and avocat:
            items.append(f"METTRE À LA CHARGE de l'État la somme de {amount} à verser à {counsel['maitre']} en "
                         "application des articles L. 761-1 du code de justice administrative et 37, alinéa 2, de "
                         f"la loi n° 91-647 du 10 juillet 1991, sous réserve qu'{counsel['il']} renonce à percevoir la part contributive de l'État "
                         "à l'aide juridictionnelle"
                         + (f" ou, dans l'hypothèse où {g['le_requerant']} ne serait pas admis{g['e']} à l'aide "
                            f"juridictionnelle, la même somme à verser {g['au_requerant']} au titre de l'article L. 761-1 du "
                            "code de justice administrative" if case.aide_juridictionnelle == "demandee" else ""))
        else:
            items.append(f"METTRE À LA CHARGE de l'État la somme de {amount} à verser {g['au_requerant']} au titre "
                         "de l'article L. 761-1 du "
                         "code de justice administrative")
    return [typo(f"{text} ;" if k < len(items) - 1 else f"{text}.") for k, text in enumerate(items)]
