"""Coherence of the case with itself: what the requête would say that the facts contradict.

Warnings only (except an unproven urgency outside renewal, see rules._urgency): the judge reads a
requête whose dates, titles and sentences agree, or throws it out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from refere import dates
from refere.affaire import echeances
from refere.affaire.grammaire import first_person, subjectless
from refere.affaire.model import Case

R431_5 = "R. 431-5 CESEDA"
R431_2 = "R. 431-2 CESEDA ; CE, Section, 3 juin 2022, n° 452798"
CE_435594 = "CE, 10 juin 2020, n° 435594"
CE_453391 = "CE, 9 juin 2022, n° 453391"
R412_2 = "R. 412-2 CJA (pièces produites)"
R411_1 = "R. 411-1 CJA (identité des parties)"
L435_1 = "L. 435-1 CESEDA ; CE, 9 juin 2022, n° 453391"
L8251_1 = "L. 8251-1 code du travail"
PRACTICE = "pratique constatée des tribunaux administratifs"
AVERTISSEMENT = "avertissement"

Add = Callable[..., None]

_RESIDUE = re.compile(r"\{\{|\}\}|\{%|%\}|</?(?:b|i|u|p|br|strong|em|span|div)\b[^>]*>", re.IGNORECASE)
# Sentences that say the applicant has no valid document.
_NO_DOCUMENT = re.compile(r"faute de (?:justificatif|titre|document)[^.;]*(?:validit|séjour)|sans (?:titre|document) de "
                          r"séjour|dépourvu(?:e)? de (?:tout )?(?:titre|document)|situation irrégulière", re.IGNORECASE)
_EXPIRED_WORD = re.compile(r"\bexpiré(?:e)?\b", re.IGNORECASE)
_DATE_WORDS = re.compile(r"\b(?:1er|\d{1,2}) (?:" + "|".join(echeances.MOIS) + r") \d{4}\b|\b\d{1,2}/\d{1,2}/\d{4}\b",
                         re.IGNORECASE)


def check(case: Case, add: Add) -> None:
    _window(case, add)
    _urgency_kinds(case, add)
    _applicant(case, add)
    _deadlines(case, add)
    _facts(case, add)
    _texts(case, add)
    _titre_pieces(case, add)
    _same_minute(case, add)
    _tribunal(case, add)
    _bordereau_letters(case, add)
    _counsel(case, add)
    _route(case, add)


def _window(case: Case, add: Add) -> None:
    """R. 431-5: attempts all before the two months (the ANEF has its own warning)."""
    if case.procedure.is_anef or not echeances.all_before_window(case):
        return
    opens, _ = echeances.window(case) or (None, None)
    add("tentatives-avant-delai", AVERTISSEMENT,
        f"Toutes les tentatives précèdent le {dates.format_date(opens)}, début des deux mois avant l'expiration du "
        "titre pendant lesquels la demande de renouvellement se présente : le préfet répondra qu'aucune demande "
        "ne pouvait encore être déposée. Refaites des tentatives à partir de cette date, avec capture.",
        R431_5, "tentatives")


def _deadlines(case: Case, add: Add) -> None:
    """A date the user asks for after a deadline tells the judge there is no urgency."""
    ahead = echeances.deadlines(case)
    d = case.demandes
    if d.rdv_au_plus_tard and ahead and d.rdv_au_plus_tard >= ahead[0].date:
        add("rdv-apres-echeance", AVERTISSEMENT,
            f"« rdv_au_plus_tard » ({dates.format_date(d.rdv_au_plus_tard)}) n'est pas antérieur à l'échéance du "
            f"{dates.format_date(ahead[0].date)} ({ahead[0].source}) : demander un rendez-vous après l'échéance "
            "dit au juge qu'il n'y a pas d'urgence. Choisissez une date antérieure, ou retirez ce champ.",
            CE_435594, "demandes.rdv_au_plus_tard")


def _urgency_kinds(case: Case, add: Add) -> None:
    """Facts the requête leaves out of « Sur l'urgence », each with why (echeances.not_argued)."""
    if echeances.admits_work(case, case.situation):
        add("travail-non-autorise", AVERTISSEMENT,
            "La « situation » dit que la personne travaille, alors qu'aucun titre ne l'y autorise : c'est un aveu "
            "de travail non autorisé, que la requête imprimerait. Retirez la phrase, ou décrivez l'offre d'emploi "
            "(« … lui propose un contrat … ») comme fait d'urgence avec sa pièce.", L8251_1, "situation")
    for i, u in enumerate(case.urgence):
        if first_person(u.fait):
            continue
        why = echeances.not_argued(case, u)
        where = f"urgence[{i}]"
        if why == "travail":
            add("travail-non-autorise", AVERTISSEMENT,
                f"Le fait d'urgence n° {i + 1} dit que la personne travaille, alors qu'aucun titre ne l'y autorise : "
                "la requête ne l'argumente pas (ce serait un aveu de travail non autorisé). Décrivez plutôt une "
                "offre d'emploi (« promesse_embauche ») avec sa pièce.", L8251_1, where + ".fait")
        elif why == "fond":
            add("urgence-fond", AVERTISSEMENT,
                f"Le fait d'urgence n° {i + 1} décrit la vie familiale : dans une admission exceptionnelle, elle est "
                "le fond de la demande (article L. 435-1 du CESEDA), pas une circonstance qui rend le rendez-vous "
                "urgent. La requête ne l'argumente pas dans l'urgence ; décrivez-la dans « situation ».",
                L435_1, where + ".motif")
        elif why == "sans-lien":
            add("urgence-sans-lien", AVERTISSEMENT,
                f"Le fait d'urgence n° {i + 1} ne dit pas en quoi un rendez-vous y remédierait (titre, récépissé, "
                "travail, droits qui dépendent du séjour) : la requête ne l'argumente pas. Écrivez le lien (« faute "
                "de titre, … ») ou retirez ce fait.", CE_453391, where + ".fait")


def _applicant(case: Case, add: Add) -> None:
    r, proc = case.requerant, case.procedure
    if r.civilite is None:
        add("requerant-sans-civilite", AVERTISSEMENT,
            "La personne n'a pas de « civilite » : la requête écrit « la partie requérante » et « date et lieu de "
            "naissance : », ce qui se lit mal si les faits disent « elle », « il », « mère » ou « père ». "
            "Indiquez « M. » ou « Mme » dans « requerant.civilite ».", R411_1, "requerant.civilite")
    lodged = [i for i, p in enumerate(case.pieces) if p.categorie == "domicile" and "hébergement" in p.titre.lower()]
    if lodged and not r.heberge_par:
        add("hebergement-sans-hebergeant", AVERTISSEMENT,
            "L'adresse est prouvée par une attestation d'hébergement, mais la requête écrit « demeurant » : "
            "indiquez le nom de la personne qui héberge dans « requerant.heberge_par » (par exemple « M. Sékou Diallo ») pour "
            "qu'elle écrive « hébergé chez … ».", R411_1, "requerant.heberge_par")
    # The number itself, without what follows it (« poste 204 », « (WhatsApp) »), « (0) » after the
    # country code dropped; only a French number is counted (« 00 212 … » is another country's).
    number = re.match(r"[+\d\s.\-–—/]*(?:\(0\)[\d\s.\-–—/]*)?", r.telephone or "")[0].replace("(0)", "")
    digits = re.sub(r"[^\d+]", "", number)
    if digits.startswith("0033"):
        digits = "+33" + digits[4:]
    if digits and ((digits.startswith("0") and not digits.startswith("00") and len(digits) != 10)
                   or (digits.startswith("+33") and len(digits) != 12)):
        add("telephone-incomplet", AVERTISSEMENT,
            f"Le numéro de téléphone « {r.telephone} » n'a pas le bon nombre de chiffres pour un numéro français "
            "(10 chiffres : 06 12 34 56 78) : il est imprimé dans la requête et la lettre, le greffe et la préfecture "
            "ne pourraient pas appeler. Corrigez « requerant.telephone ».", R411_1, "requerant.telephone")
    if proc.type == "admission_exceptionnelle_sejour" and not (proc.sans_mesure_eloignement or proc.oqtf):
        add("eloignement-non-precise", AVERTISSEMENT,
            "Admission exceptionnelle : le juge vérifie qu'aucune mesure d'éloignement n'empêche l'urgence. Si "
            "aucune n'a été prise, écrivez « sans_mesure_eloignement: oui » dans « procedure » : la requête le dira. "
            "Sinon, indiquez « oqtf: oui » et faites-vous conseiller.", CE_453391, "procedure.sans_mesure_eloignement")
    if echeances.recepisse(case) and "renouvellement" in echeances.recepisse_demande(case):
        for i, p in enumerate(case.pieces):
            if "récépissé" in p.titre.lower() and "renouvellement" not in p.titre.lower():
                add("recepisse-intitule", AVERTISSEMENT,
                    f"La pièce « {p.titre} » : la requête parle d'un récépissé de demande de renouvellement ; "
                    "écrivez-le dans l'intitulé (« Récépissé de demande de renouvellement de titre de séjour "
                    "… »), le juge compare le bordereau à la requête.", R412_2, f"pieces[{i}].titre")


def _facts(case: Case, add: Add) -> None:
    proc = case.procedure
    on = echeances.requete_date(case)
    if echeances.expired_before_first(case) and not proc.explication_retard:
        first = min(t.date.date() for t in case.tentatives)
        add("premiere-tentative-apres-expiration", AVERTISSEMENT,
            f"La première tentative ({dates.format_date(first)}) est postérieure à l'expiration du titre "
            f"({dates.format_date(proc.expiration_titre)}) : le préfet soutiendra que l'urgence est due au retard du "
            "demandeur. Expliquez ce retard dans « procedure.explication_retard » (à la troisième personne), avec "
            "ses pièces dans « procedure.preuves_retard », et joignez toute démarche antérieure.",
            R431_5, "procedure.explication_retard")
    if proc.type == "admission_exceptionnelle_sejour" and not case.situation:
        add("situation-absente", AVERTISSEMENT,
            "Admission exceptionnelle au séjour sans « situation » : décrivez en quelques phrases, à la troisième "
            "personne, l'entrée en France, la durée de résidence, la famille et le travail. Le juge les cherche "
            "pour apprécier l'urgence.", CE_453391, "situation")
    valid = proc.expiration_titre and proc.expiration_titre >= on and (proc.titre_actuel or proc.is_renewal)
    if valid:
        for i, u in enumerate(case.urgence):
            if _NO_DOCUMENT.search(u.fait):
                add("fait-contredit-titre", AVERTISSEMENT,
                    f"Le fait d'urgence n° {i + 1} dit que la personne est sans document de séjour valide, alors que "
                    f"son titre est valable jusqu'au {dates.format_date(proc.expiration_titre)} : le juge y lira une "
                    "contradiction. Reformulez-le (ce qui arrivera à l'expiration du titre).",
                    PRACTICE, f"urgence[{i}].fait")


def _free_texts(case: Case):
    yield "situation", case.situation
    yield "procedure.precisions", case.procedure.precisions
    yield "procedure.titre_actuel", case.procedure.titre_actuel
    yield "procedure.explication_retard", case.procedure.explication_retard
    for i, u in enumerate(case.urgence):
        yield f"urgence[{i}].fait", u.fait
    for i, d in enumerate(case.diligences):
        yield f"diligences[{i}].description", d.description
    for i, p in enumerate(case.pieces):
        yield f"pieces[{i}].titre", p.titre
    for i, t in enumerate(case.tentatives):
        yield f"tentatives[{i}].resultat", t.resultat
        yield f"tentatives[{i}].note", t.note


def _texts(case: Case, add: Add) -> None:
    # The situation and the plain urgency sentences are pasted in the requête as they are written.
    pasted = [("situation", case.situation)] + [(f"urgence[{i}].fait", u.fait) for i, u in enumerate(case.urgence)
                                                if u.libre]
    for where, text in pasted:
        if text and subjectless(text, case.requerant.nom):
            add("texte-sans-sujet", AVERTISSEMENT,
                f"{where} : « {text.strip()[:60]}… » n'a pas de sujet (participe ou « il », « elle », « lui » sans "
                "nom) ; la requête y ajoute le nom, mais une phrase complète à la troisième personne se lit mieux "
                "(« M. DIALLO est entré en France en 2016 ; il… »).", R411_1, where)
    for where, text in _free_texts(case):
        if text and (m := _RESIDUE.search(text)):
            add("residu-de-modele", AVERTISSEMENT,
                f"« {m[0]} » dans {where} : reste d'un modèle ou d'une mise en forme copiée, qui serait imprimé tel "
                "quel dans la requête. Retirez-le.", PRACTICE, where)


def _tribunal(case: Case, add: Add) -> None:
    """A tribunal written in the case that is not the département's: the requête says the préfet has
    his seat in its ressort (R. 312-1, R. 221-3 CJA)."""
    if case.tribunal is None:
        return
    own = case.departement.tribunal
    same = lambda name: " ".join(unicodedata.normalize("NFC", name).casefold().replace("’", "'").split())  # noqa: E731
    if same(case.tribunal.nom) != same(own):
        add("tribunal-different", AVERTISSEMENT,
            f"Le tribunal indiqué (« {case.tribunal.nom} ») n'est pas celui du département {case.departement.code} "
            f"({own}) : la requête dirait le préfet établi dans son ressort. Vérifiez, ou retirez « tribunal ».",
            "R. 312-1 et R. 221-3 CJA")  # the « tribunal » section has no input in the form


def _same_minute(case: Case, add: Add) -> None:
    """Two attempts at the same minute, as the requête prints them (« 2 h 30 » twice on the night the
    clocks go back): counted twice, one row repeated (attack 30)."""
    seen: dict[str, int] = {}
    for i, t in enumerate(case.tentatives):
        shown = f"{dates.format_date(t.date.date())} à {dates.format_time(t.date)}"
        if shown in seen:
            add("tentative-en-double", AVERTISSEMENT,
                f"Les tentatives n° {seen[shown] + 1} et n° {i + 1} sont à la même minute ({shown}) : la requête les "
                "compterait deux fois et imprimerait deux lignes identiques. Supprimez le doublon.",
                R412_2, f"tentatives[{i}].date")
        else:
            seen[shown] = i


def _bordereau_letters(case: Case, add: Add) -> None:
    """Letters the bordereau's font lacks (Chinese, emoji…): drawn « � » there, shown in the requête."""
    from refere.pieces.pdffont import missing

    r = case.requerant
    texts = [(f"{r.prenoms} {r.nom}", "le nom de la personne", "requerant.nom")]
    texts += [(p.titre, f"l'intitulé de la pièce « {p.titre} »", f"pieces[{i}].titre") for i, p in enumerate(case.pieces)]
    for text, what, field in texts:
        if lost := missing(text):
            shown = ", ".join(f"« {c} »" for c in lost[:5]) + (" …" if len(lost) > 5 else "")
            add("bordereau-lettres-absentes", AVERTISSEMENT,
                f"Dans {what}, le bordereau (première page du dossier complet) ne peut pas dessiner {shown} : "
                "ces lettres y paraîtront comme « � » ; la requête Word les montre. Ajoutez-y une transcription "
                "en lettres latines pour que le greffe puisse le lire.", R412_2, field)


def _titre_pieces(case: Case, add: Add) -> None:
    proc = case.procedure
    on = echeances.requete_date(case)
    valid = bool(proc.expiration_titre and proc.expiration_titre >= on)
    for i, p in enumerate(case.pieces):
        if p.categorie == "domicile" and p.date is None and not _DATE_WORDS.search(p.titre):
            add("piece-sans-date", AVERTISSEMENT,
                f"L'intitulé de la pièce « {p.titre} » ne donne pas sa date : écrivez-la (« Attestation "
                "d'hébergement de M. …, du 2 mars 2025 ») ou remplissez sa « date du document » (« date ») ; le juge "
                "vérifie qu'elle est récente.",
                R412_2, f"pieces[{i}].titre")
        if p.categorie != "titre_sejour":
            continue
        if valid and _EXPIRED_WORD.search(p.titre):
            add("titre-piece-incoherente", AVERTISSEMENT,
                f"La pièce « {p.titre} » est dite expirée, alors que le titre est valable jusqu'au "
                f"{dates.format_date(proc.expiration_titre)} et que la requête dit la personne titulaire : "
                "corrigez l'intitulé ou « expiration_titre ».", R412_2, f"pieces[{i}].titre")
        elif not _DATE_WORDS.search(p.titre):
            when = ""
            if proc.expiration_titre:
                verb = "expirant" if valid else "expiré"
                when = f" (par exemple « {p.titre} {verb} le {dates.format_date(proc.expiration_titre)} »)"
            add("titre-piece-sans-date", AVERTISSEMENT,
                f"L'intitulé de la pièce « {p.titre} » ne donne pas la date d'expiration du titre{when} : le "
                "bordereau doit permettre au juge de la lire sans ouvrir la pièce.", R412_2, f"pieces[{i}].titre")


def _counsel(case: Case, add: Add) -> None:
    c = case.conseil
    if c is not None and c.qualite == "avocat" and c.civilite is None:
        add("conseil-sans-civilite", AVERTISSEMENT,
            "Avocat sans « civilite » : la requête écrit « avocat » au masculin. Indiquez « M. » ou « Mme » dans "
            "« conseil.civilite ».", R411_1, "conseil.civilite")


def _route(case: Case, add: Add) -> None:
    proc = case.procedure
    text = " ".join(x for x in (proc.titre_actuel, proc.precisions) if x).lower()
    if proc.type == "changement_de_statut" and not proc.is_anef and "étudiant" in text:
        add("voie-a-verifier", AVERTISSEMENT,
            "Changement de statut d'étudiant à salarié par la voie du rendez-vous : beaucoup de préfectures "
            "traitent cette demande sur l'ANEF (« voie: anef »). Vérifiez sur le site de la préfecture ; un avocat "
            "ou une association décide de la voie.", R431_2, "procedure.voie")
    if proc.type == "admission_exceptionnelle_sejour" and proc.is_anef:
        add("voie-a-verifier", AVERTISSEMENT,
            "Admission exceptionnelle au séjour par l'ANEF (« voie: anef ») : cette demande se dépose en principe au "
            "guichet de la préfecture, sur rendez-vous, et non sur le téléservice ; la requête plaiderait alors "
            "l'article R. 431-2 à tort. Vérifiez sur le site de la préfecture ; un avocat ou une association décide "
            "de la voie.", R431_2, "procedure.voie")
