"""The requête in the situations that are not a textbook renewal (issue 20), read back and reasoned about.

One rendered requête per situation a référé lawyer reviewed: renewal inside and before the R. 431-5
window, titre expired before the first attempt, récépissé expiring in 10 days, changement de statut
with one and three proven facts, AES with a family, ANEF, lawyer with aide juridictionnelle, association.
The assertions are about the reasoning: the FIXER date against every deadline, the window, the branch,
and a table of sentences each situation's facts forbid.
"""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
from docx import Document

from conftest import pdf_text, require_tool, write_case
from refere.affaire import echeances, grammaire
from refere.affaire.loader import load
from refere.errors import RefereError
from refere.pieces import plan
from refere.preuves import rules
from refere.requete import render

SIGNED = "2025-04-04"  # a Friday
# Ten attempts over four weeks, 10 March – 3 April 2025.
ATTEMPTS = ["2025-03-10 08:52", "2025-03-11 00:04", "2025-03-13 08:47", "2025-03-17 23:58", "2025-03-19 08:55",
            "2025-03-24 00:02", "2025-03-26 08:49", "2025-03-28 19:30", "2025-04-01 08:51", "2025-04-03 23:55"]
IDENTITE = {"id": "passeport", "titre": "Passeport", "categorie": "identite", "fichier": "pieces/passeport.pdf"}
COURRIEL = {"titre": "Courriel à la préfecture du 20 mars 2025", "categorie": "courrier_prefecture",
            "fichier": "pieces/courriel.pdf", "date": "2025-03-20"}


def titre(titre_texte: str) -> dict:
    return {"id": "titre", "titre": titre_texte, "categorie": "titre_sejour", "fichier": "pieces/titre.pdf"}


def urgence_piece(pid: str, titre_texte: str) -> dict:
    return {"id": pid, "titre": titre_texte, "categorie": "urgence", "fichier": f"pieces/{pid}.pdf"}


def base(civilite: str | None = "M.") -> dict:
    requerant = {"nom": "Diallo", "prenoms": "Mamadou", "date_naissance": "1984-12-12", "lieu_naissance": "Labé (Guinée)",
                 "nationalite": "guinéenne", "adresse": "31 boulevard Anatole-France\n93300 Aubervilliers"}
    if civilite:
        requerant["civilite"] = civilite
    return {"version": 1, "requerant": requerant, "prefecture": {"departement": "93"},
            "tentatives": [{"date": a, "capture": f"captures/c{i:02d}.png"} for i, a in enumerate(ATTEMPTS)],
            "pieces": [IDENTITE, COURRIEL], "demandes": {"astreinte_par_jour": 50},
            "signature": {"lieu": "Aubervilliers", "date": SIGNED}}


def situations() -> dict[str, dict]:
    out: dict[str, dict] = {}

    d = base()  # expiry 15 May: the two months open on 15 March, inside the attempts
    d["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour « salarié »",
                      "expiration_titre": "2025-05-15"}
    d["pieces"] += [titre("Carte de séjour expirant le 15 mai 2025"),
                    urgence_piece("employeur", "Attestation de l'employeur du 12 mars 2025")]
    d["urgence"] = [{"motif": "emploi", "fait": "son employeur a attesté qu'il suspendra son contrat de travail au "
                     "15 mai 2025 faute de titre ou de récépissé", "echeance": "2025-05-15", "preuves": ["employeur"]}]
    out["renouvellement-dans-le-delai"] = d

    d = base("Mme")  # expiry 30 June: the two months open on 30 April, after every attempt
    d["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour temporaire",
                      "expiration_titre": "2025-06-30"}
    d["pieces"] += [titre("Carte de séjour temporaire expirant le 30 juin 2025")]
    out["renouvellement-avant-le-delai"] = d

    d = base()  # expired on 1 March, before the first attempt (10 March)
    d["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour pluriannuelle",
                      "expiration_titre": "2025-03-01",
                      "explication_retard": "hospitalisé du 10 janvier au 7 mars 2025, il n'a pu accomplir "
                                            "aucune démarche avant sa sortie",
                      "preuves_retard": ["hopital"]}
    d["pieces"] += [titre("Carte de séjour pluriannuelle expirée le 1er mars 2025"),
                    urgence_piece("hopital", "Bulletin de situation de l'hôpital du 7 mars 2025")]
    out["expire-avant-la-premiere-tentative"] = d

    d = base("Mme")  # a récépissé expiring in ten days
    d["procedure"] = {"type": "delivrance_recepisse", "titre_actuel": "récépissé de demande de titre de séjour",
                      "expiration_titre": "2025-04-14"}
    d["prefecture"].update(prefete=True, adresse="1 esplanade Jean-Moulin\n93000 Bobigny")
    d["pieces"] += [titre("Récépissé expirant le 14 avril 2025"),
                    urgence_piece("contrat", "Contrat de travail du 3 janvier 2024")]
    d["urgence"] = [{"motif": "emploi", "fait": "elle est aide-soignante en contrat à durée indéterminée ; son "
                     "employeur ne pourra plus la faire travailler sans récépissé valide", "echeance": "2025-04-14",
                     "preuves": ["contrat"]}]
    out["recepisse-dans-10-jours"] = d

    d = base()  # changement de statut, titre valid for six more months, one fact written as a sentence
    d["procedure"] = {"type": "changement_de_statut", "titre_actuel": "carte de séjour temporaire « étudiant »",
                      "expiration_titre": "2025-09-30", "precisions": "Passage du statut d'étudiant à salarié"}
    d["pieces"] += [titre("Carte de séjour « étudiant » expirant le 30 septembre 2025"),
                    urgence_piece("promesse", "Promesse d'embauche de la société Logistique Est du 3 mars 2025")]
    d["urgence"] = ["La société Logistique Est lui a adressé une promesse d'embauche, valable jusqu'au 30 juin 2025."]
    out["changement-de-statut-un-fait"] = d

    d = base("Mme")  # three facts, two of them on the same day
    d["procedure"] = {"type": "changement_de_statut", "titre_actuel": "carte de séjour temporaire « étudiant »",
                      "expiration_titre": "2025-05-31"}
    d["pieces"] += [titre("Carte de séjour « étudiant » expirant le 31 mai 2025"),
                    urgence_piece("promesse", "Promesse d'embauche du 5 mars 2025"),
                    urgence_piece("crous", "Lettre du CROUS du 12 mars 2025"),
                    urgence_piece("caf", "Courrier de la CAF du 18 mars 2025")]
    d["urgence"] = [
        {"motif": "promesse_embauche", "fait": "la société Datalyse l'embauchera à compter du 5 mai 2025",
         "echeance": "2025-05-05", "preuves": ["promesse"]},
        {"motif": "logement", "fait": "le CROUS met fin à son logement au 5 mai 2025", "echeance": "2025-05-05",
         "preuves": ["crous"]},
        {"motif": "droits_sociaux", "fait": "la CAF a suspendu l'examen de son aide au logement", "preuves": ["caf"]}]
    d["demandes"]["recepisse_travail"] = True
    out["changement-de-statut-trois-faits"] = d

    d = base()  # AES with a family, no titre
    d["situation"] = ("Entré en France en 2016, il vit avec son épouse et leurs deux enfants, scolarisés à "
                      "Aubervilliers.")
    d["procedure"] = {"type": "admission_exceptionnelle_sejour", "preuves_dossier": ["liste"],
                      "sans_mesure_eloignement": True}
    d["prefecture"]["preuves_rendez_vous"] = ["page"]
    d["pieces"] += [urgence_piece("scolarite", "Certificats de scolarité"),
                    urgence_piece("promesse", "Promesse d'embauche du 16 mars 2025"),
                    {"id": "page", "titre": "Page de la préfecture : rendez-vous en ligne seulement",
                     "fichier": "pieces/page.pdf"},
                    {"id": "liste", "titre": "Liste des pièces du dossier", "fichier": "pieces/liste.pdf"}]
    d["urgence"] = [
        {"motif": "famille", "fait": "il assure l'entretien de ses deux enfants mineurs", "preuves": ["scolarite"]},
        {"motif": "promesse_embauche", "fait": "un restaurant lui propose un contrat à compter du 12 mai 2025",
         "echeance": "2025-05-12", "preuves": ["promesse"]}]
    out["aes-famille"] = d

    d = base("Mme")  # ANEF renewal, window 120–60 days: 2 Feb – 3 April 2025 for an expiry on 2 June
    d["procedure"] = {"type": "renouvellement_titre_sejour", "voie": "anef", "titre_actuel": "carte de séjour pluriannuelle",
                      "expiration_titre": "2025-06-02"}
    d["pieces"] = [IDENTITE, titre("Carte de séjour pluriannuelle expirant le 2 juin 2025"),
                   {"id": "ccc", "titre": "Réponse du centre de contact citoyen du 14 mars 2025",
                    "fichier": "pieces/ccc.pdf"}]
    d["diligences"] = [{"date": "2025-03-12", "type": "centre_contact_citoyen",
                        "description": "formulaire envoyé ; réponse automatique, sans suite", "preuves": ["ccc"]}]
    out["anef"] = d

    d = base()  # lawyer, aide juridictionnelle obtained
    d["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "certificat de résidence algérien",
                      "expiration_titre": "2025-05-10"}
    d["prefecture"]["departement"] = "75"
    d["conseil"] = {"qualite": "avocat", "civilite": "Mme", "nom": "Claire LEFÈVRE", "barreau": "Paris",
                    "toque": "E 1234", "telephone": "01 42 00 00 00", "adresse": "12 rue de Rivoli\n75004 Paris"}
    d["aide_juridictionnelle"] = "obtenue"
    d["decision_aj"] = "BAJ de Paris, n° 2025/041234 du 25 mars 2025"
    d["pieces"] += [titre("Certificat de résidence expirant le 10 mai 2025"),
                    {"titre": "Décision du bureau d'aide juridictionnelle du 25 mars 2025", "fichier": "pieces/aj.pdf"}]
    d["demandes"].update(delai_jours=8, frais_l761_1=1500)
    out["avocat-aj-obtenue"] = d

    d = base(None)  # association, first application, no civilité
    d["procedure"] = {"type": "premiere_demande_titre_sejour",
                      "precisions": "carte « vie privée et familiale » de parent d'enfant français"}
    d["conseil"] = {"qualite": "association", "nom": "La Cimade", "adresse": "1 rue Hippolyte-Maindron\n75014 Paris"}
    d["pieces"] += [urgence_piece("creche", "Lettre de la crèche du 13 mars 2025")]
    d["urgence"] = [{"motif": "famille", "fait": "mère d'une enfant française, elle perdra faute de titre la place de "
                     "son enfant en crèche le 30 avril 2025", "echeance": "2025-04-30", "preuves": ["creche"]}]
    out["association"] = d
    return out


SITUATIONS = situations()


def render_situation(tmp_path, name: str):
    case = load(write_case(tmp_path / name, copy.deepcopy(SITUATIONS[name])))
    report = rules.check(case)
    out = tmp_path / f"{name}.docx"
    render.render(render.context(case, plan.make(case), report), out)
    # The requête writes the typographic apostrophe (’); needles here are typed with « ' ».
    raw = "\n".join(p.text for p in Document(str(out)).paragraphs).replace("\u2019", "'")
    return case, report, raw, raw.replace("\u00a0", " ").replace("\u2011", "-")


def render_data(folder, data: dict) -> str:
    """The requête of a modified situation, as flat text (no-break spaces and ’ read as typed)."""
    case = load(write_case(folder, data))
    out = folder.parent / f"{folder.name}.docx"
    render.render(render.context(case, plan.make(case), rules.check(case)), out)
    return "\n".join(p.text for p in Document(str(out)).paragraphs).replace("\u00a0", " ").replace("\u2019", "'")


MOIS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
        "novembre", "décembre")


def fixer_date(text: str) -> dt.date | None:
    m = re.search(r"FIXER ce rendez-vous au plus tard le (1er|\d+) (\w+) (\d{4})", text)
    if not m:
        return None
    return dt.date(int(m[3]), MOIS.index(m[2]) + 1, 1 if m[1] == "1er" else int(m[1]))


# Sentences the facts of a situation forbid: (needle, situations where it must not appear).
FORBIDDEN = [
    # An attempt before the window is told only beside attempts inside it (see the reasoning test).
    ("avant même l'ouverture", {"renouvellement-avant-le-delai", "expire-avant-la-premiere-tentative"}),
    ("faute d'enregistrement", {"recepisse-dans-10-jours"}),
    ("le droit de voir sa demande enregistrée", {"recepisse-dans-10-jours"}),
    ("l'impossibilité de déposer la demande avant l'expiration du titre", set(SITUATIONS)),
    ("Tel est le cas en l'espèce.\nLes tentatives", set(SITUATIONS)),
    ("Objet précis de la demande", set(SITUATIONS)),
    ("regardée comme remplie", set(SITUATIONS)),
    ("l'intéressée", {"association"}),
    # A loss of job and rights no fact or pièce supports is never asserted.
    ("perdre son emploi et ses droits sociaux", set(SITUATIONS)),
    ("Il en va de même du renouvellement du récépissé", set(SITUATIONS)),
    ("prêt à être déposé", {"recepisse-dans-10-jours"}),
    ("ayant fait élection de domicile", set(SITUATIONS)),
    ("Calendrier des tentatives (une ligne", set(SITUATIONS)),
    ("dès l'ouverture de ce délai, le", set(SITUATIONS)),
    # A titre valid six more months: no sentence saying he cannot justify his stay.
    ("ne pourra obtenir le récépissé", {"changement-de-statut-un-fait"}),
    ("au plus tard le 29 septembre", {"changement-de-statut-un-fait"}),
    ("[À COMPLÉTER", set(SITUATIONS)),
    ("R. 431-5", {"renouvellement-avant-le-delai"}),
    # Expired before the first attempt: the window is stated with the explanation, never « dans ce délai ».
    ("ne lui est pas imputable", {"renouvellement-avant-le-delai", "expire-avant-la-premiere-tentative"}),
    ("démarche suivante", set(SITUATIONS)),
    ("que seul l'enregistrement", set(SITUATIONS)),
    ("239794", set(SITUATIONS)),
    ("Le préfet", {"recepisse-dans-10-jours"}),
]


@pytest.mark.parametrize("name", list(SITUATIONS))
def test_situation_reasoning(tmp_path, name):
    case, report, raw, flat = render_situation(tmp_path, name)
    assert not report.blocking, [f.code for f in report.blocking]
    on = dt.date.fromisoformat(SIGNED)
    conclusions = flat.split("PAR CES MOTIFS")[1]

    # FIXER never after any deadline: structured échéances, dates written in facts, a near expiry.
    fixed = fixer_date(conclusions)
    deadlines = [e.date for e in echeances.deadlines(case, on)]
    deadlines += [u.echeance for u in case.urgence if u.echeance and u.echeance > on]
    deadlines += [x for u in case.urgence for x in echeances.dates_in(u.fait) if x > on]
    m = re.search(r"FIXER ce rendez-vous [^;]*?dans (?:les|un délai de) (48 heures|\d+ jours) (?:à compter )?de (?:sa|la) "
                  r"notification", conclusions)
    after = None if m is None else (2 if m[1] == "48 heures" else int(m[1].split()[0]))
    # One formula: a date, and for a late ordonnance a delay from its notification, the cut-off said.
    assert "en tout état de cause" not in conclusions
    cut = re.search(r"au plus tard le ([^;]+?) ou, si l'ordonnance est notifiée après le (1er|\d+) (\w+) (\d{4}), "
                    r"dans les (48 heures|\d+ jours) de sa notification", conclusions)
    if fixed and after and echeances.notified_after(fixed, after, case.prefecture.departement) > on:
        assert cut is not None, conclusions
        when = dt.date(int(cut[4]), MOIS.index(cut[3]) + 1, 1 if cut[2] == "1er" else int(cut[2]))
        assert when == echeances.notified_after(fixed, after, case.prefecture.departement) and on < when < fixed
    # Never « ou, à défaut, »: a switch date already past shortens the delays instead (CE 435594).
    assert "à défaut" not in conclusions
    if fixed and after:
        assert echeances.notified_after(fixed, after, case.prefecture.departement) > on, (name, fixed, after)
        # The fallback is never longer than the injunction's own delay.
        assert after <= echeances.delais(case, on).jours, name
    # On the ANEF the appointment date is asked only when the user sets one.
    assert fixed is not None or after is not None or not deadlines or case.procedure.is_anef
    for d in deadlines:
        assert fixed is None or fixed < d, (fixed, d)
    if fixed:
        assert fixed.weekday() < 5
    # A deadline closer than the delay plus the time to rule: a date alone could pass before the
    # ordonnance, so a delay after notification is added for a late ordonnance; the date stays the eve
    # of the deadline, the one the urgency paragraph names (« C'est avant cette date… »).
    ahead = echeances.deadlines(case, on)
    jours = echeances.delais(case, on).jours
    if ahead and not case.procedure.is_anef and not case.demandes.model_fields_set & {"rdv_au_plus_tard"}:
        near = (ahead[0].date - on).days <= jours + echeances.ORDONNANCE_DAYS
        assert (after is not None) is near, (name, ahead[0], jours, after)
        # A job's date outside renewal leaves 15 days: an appointment on its eve gives no authorisation.
        margin = echeances.HIRE_MARGIN_DAYS if echeances.hire_deadline(case, ahead[0]) else 1
        if near:
            assert fixed == grammaire.dernier_jour_ouvre(ahead[0].date - dt.timedelta(days=margin),
                                                         case.prefecture.departement), (name, fixed)
        if after is not None:
            assert after <= max(jours, 15)

    # « C'est avant cette date que le rendez-vous doit avoir eu lieu »: the FIXER names a date before it.
    for u in case.urgence:
        d = echeances.fact_deadline(u, on)
        if d and re.search(re.escape(u.fait.strip()[:40]) + r"[^\n]*C'est avant cette date", flat):
            assert fixed is not None and fixed < d, (name, fixed, d)
    assert ("C'est avant cette date" not in flat) or fixed is not None, name

    if "avant même l'ouverture" in flat:
        assert echeances.attempts_inside(case), name
    # The R. 431-5 window: cited only from an attempt inside it.
    inside = echeances.attempts_inside(case)
    assert ("L'article R. 431-5" in flat) is bool(inside)
    assert ("Le délai de deux mois prévu par l'article R. 431-5" in flat) is echeances.expired_before_first(case)
    for needle, where in FORBIDDEN:
        if name in where:
            assert needle not in flat and needle not in raw, f"{name}: « {needle} »"

    paras = raw.lower().split("\n")
    espece = ["en l'espèce" in t for t in paras]
    assert not any(a and b for a, b in zip(espece, espece[1:]))

    # The titre's expiry is said once in « Sur l'urgence », and so is each fact's échéance.
    urgence_b = flat.split("B. Sur l'urgence")[1].split("C. Sur l'utilité")[0]
    exp = case.procedure.expiration_titre
    if exp:
        day = re.sub(r"^1 ", "1er ", f"{exp.day} {MOIS[exp.month - 1]} {exp.year}")
        assert urgence_b.count(f"expire le {day}") + urgence_b.count(f"a expiré le {day}") <= 1, (name, day)
    for u in case.urgence:
        if u.echeance:
            day = re.sub(r"^1 ", "1er ", f"{u.echeance.day} {MOIS[u.echeance.month - 1]} {u.echeance.year}")
            assert urgence_b.count(f"le {day}, avant laquelle") <= 1, (name, day)
            # A fact that writes its date is not followed by the same date again.
            if day in u.fait:
                assert f"le {day}, avant laquelle" not in urgence_b, (name, day)

    # Article numbers never split: the docx carries the non-breaking hyphen.
    assert "L.\u00a0521\u20113" in raw and "L. 521-3" not in raw and "L.\u00a0521-3" not in raw


def test_recepisse_branch(tmp_path):
    _, _, raw, flat = render_situation(tmp_path, "recepisse-dans-10-jours")
    assert "La préfète de la Seine-Saint-Denis,\n1 esplanade Jean-Moulin\n93000 Bobigny." in flat
    assert "R. 431-12 du code de l'entrée et du séjour" in flat
    assert "a présenté une demande de titre de séjour, qui a été enregistrée et est en cours d'instruction" in flat
    concl = flat.split("PAR CES MOTIFS")[1]
    assert "ENJOINDRE à la préfète de la Seine-Saint-Denis de communiquer à la requérante, dans un délai de 48 heures" in concl
    assert "pour le renouvellement de son récépissé de demande de titre de séjour" in concl
    assert ("– À titre subsidiaire, ENJOINDRE à la préfète de la Seine-Saint-Denis de renouveler le récépissé de "
            "demande de titre de séjour de la requérante, en l'autorisant à travailler, par voie postale ou "
            "électronique, dans un délai de 48 heures") in concl
    assert "ASSORTIR ces injonctions" in concl
    # Ten days left: the short delay is justified by the date the titre paragraph gave, not repeated.
    assert ("délai bref en cas d'urgence particulière (CE, 10 juin 2020, n° 435594). Un tel délai s'impose ici, "
            "dès lors que l'échéance rappelée ci-dessus est proche.") in flat
    # The récépissé is presumed urgent a fortiori, not « as the CE decided ».
    assert ("Cette présomption vaut a fortiori pour le renouvellement du récépissé, seul document qui, pendant "
            "l'instruction de la demande, autorise la présence de la requérante") in flat
    # The eve (Friday 11 April) could pass before an ordonnance: 48 hours from a notification after Wednesday 9.
    assert ("FIXER ce rendez-vous au plus tard le 11 avril 2025 ou, si l'ordonnance est notifiée après le "
            "9 avril 2025, dans les 48 heures de sa notification ;") in concl


def test_recepisse_renewed_only_by_appointment_cites_its_piece(tmp_path):
    """« ce récépissé ne peut être renouvelé que sur rendez-vous » cites the page that shows it."""
    data = copy.deepcopy(SITUATIONS["recepisse-dans-10-jours"])
    data["pieces"].append({"id": "page", "titre": "Page de la préfecture : renouvellement sur rendez-vous",
                           "fichier": "pieces/page.pdf"})
    data["prefecture"]["preuves_rendez_vous"] = ["page"]
    flat = render_data(tmp_path / "r", data)
    assert "et ce récépissé ne peut être renouvelé que sur rendez-vous (pièce n° 9)." in flat


def test_recepisse_of_a_renewal_says_renewal(tmp_path):
    data = copy.deepcopy(SITUATIONS["recepisse-dans-10-jours"])
    data["procedure"]["titre_actuel"] = "récépissé de demande de renouvellement de titre de séjour"
    data["pieces"].append({"id": "liste", "titre": "Liste des pièces réunies pour le renouvellement du récépissé",
                           "fichier": "pieces/liste.pdf"})
    data["procedure"]["preuves_dossier"] = ["liste"]
    flat = render_data(tmp_path / "r", data)
    assert "La requérante a présenté une demande de renouvellement de titre de séjour, qui a été enregistrée" in flat
    assert "une date de rendez-vous pour le renouvellement de son récépissé de demande de renouvellement" in flat
    assert "renouveler le récépissé de demande de renouvellement de titre de séjour de la requérante" in flat
    assert "Les pièces nécessaires au renouvellement du récépissé sont réunies (pièce n° 9)." in flat
    assert "prêt à être déposé" not in flat


def test_window_and_expired_titre(tmp_path):
    _, _, _, inside = render_situation(tmp_path, "renouvellement-dans-le-delai")
    assert "a entrepris ses démarches dès l'ouverture de ce délai, le 17 mars 2025" not in inside
    # Three attempts precede the opening (15 March): the argument goes on from the first inside it.
    assert ("Le requérant a entrepris ses démarches dès le 10 mars 2025, avant même l'ouverture de ce délai le "
            "15 mars 2025, et a poursuivi ses tentatives dans ce délai : sept tentatives entre le 17 mars et le "
            "3 avril 2025, sur trois semaines distinctes.") in inside
    # The titre paragraph names 15 May; the fact does not repeat the same échéance.
    assert inside.count("15 mai 2025, avant laquelle") == 0
    assert "FIXER ce rendez-vous au plus tard le 14 mai 2025" in inside

    # The first attempt the day before the window opens: the requête names that attempt, at the
    # opening, as the table shows it (never a later date « dès l'ouverture »).
    data = copy.deepcopy(SITUATIONS["renouvellement-dans-le-delai"])
    data["procedure"]["expiration_titre"] = "2025-05-11"  # the two months open on 11 March
    data["pieces"][2]["titre"] = "Carte de séjour expirant le 11 mai 2025"
    data["urgence"][0].update(echeance="2025-05-11", fait="son employeur a attesté qu'il suspendra son contrat "
                              "de travail à l'expiration du titre faute de récépissé")
    opening = render_data(tmp_path / "w", data)
    assert ("Le requérant a entrepris ses démarches dès le 10 mars 2025, veille de l'ouverture de ce délai, et a "
            "renouvelé ses tentatives depuis : le retard") in opening

    # Attempts before the window and inside it: argued from the first one inside, as a continuation.
    data = copy.deepcopy(SITUATIONS["renouvellement-avant-le-delai"])
    data["procedure"]["expiration_titre"] = "2025-05-20"  # the two months open on 20 March
    data["pieces"][2]["titre"] = "Carte de séjour temporaire expirant le 20 mai 2025"
    case = load(write_case(tmp_path / "p", data))
    assert "tentatives-avant-delai" not in {f.code for f in rules.check(case).findings}
    out = tmp_path / "p.docx"
    render.render(render.context(case, plan.make(case), rules.check(case)), out)
    part = "\n".join(p.text for p in Document(str(out)).paragraphs).replace("\u00a0", " ").replace("\u2019", "'")
    assert ("La requérante a entrepris ses démarches dès le 10 mars 2025, avant même l'ouverture de ce délai le "
            "20 mars 2025, et a poursuivi ses tentatives dans ce délai : cinq tentatives entre le 24 mars et le "
            "3 avril 2025, sur deux semaines distinctes.") in part

    _, report, _, before = render_situation(tmp_path, "renouvellement-avant-le-delai")
    assert "tentatives-avant-delai" in {f.code for f in report.findings}
    assert "se trouve exposé" not in before
    assert ("ne pourra obtenir, à l'expiration de son titre le 30 juin 2025, le récépissé qui lui permettrait de "
            "justifier de la régularité de son séjour") in before

    _, report, _, late = render_situation(tmp_path, "expire-avant-la-premiere-tentative")
    assert "premiere-tentative-apres-expiration" not in {f.code for f in report.findings}  # explained
    # The window is stated, the explanation covers it, and the first attempt is dated from the release.
    assert ("Le délai de deux mois prévu par l'article R. 431-5 du code de l'entrée et du séjour des étrangers et du "
            "droit d'asile pour présenter la demande de renouvellement courait du 1er janvier 2025 au 1er mars 2025. "
            "Le requérant n'était pas tenu de présenter sa demande dès son ouverture. Hospitalisé du 10 janvier "
            "au 7 mars 2025, il n'a pu accomplir aucune démarche avant sa sortie (pièce n° 8) : il a ainsi été "
            "privé de la plus grande partie de ce délai et de toute possibilité d'agir avant son terme. Il a tenté d'obtenir un rendez-vous dès le 10 mars 2025, trois jours après la fin de cet "
            "empêchement.") in late
    assert "n'a pu l'utiliser" not in late
    # 1–9 January were free: « n'a pu agir plus tôt » only when the impediment covers the whole window.
    assert "n'a pu agir plus tôt" not in late
    data = copy.deepcopy(SITUATIONS["expire-avant-la-premiere-tentative"])
    data["procedure"]["explication_retard"] = "hospitalisé du 20 décembre 2024 au 7 mars 2025"
    whole = render_data(tmp_path / "whole", data)
    assert "n'était pas tenu de présenter sa demande dès son ouverture, n'a pu agir plus tôt : hospitalisé" in whole
    data["procedure"]["explication_retard"] = "hospitalisé du 10 février au 20 février 2025"
    short = render_data(tmp_path / "short", data)
    assert "il a ainsi été privé d'une partie de ce délai." in short
    assert "ne lui est donc pas imputable" not in late
    concl = late.split("PAR CES MOTIFS")[1]
    assert "dans un délai de 8 jours" in concl
    # The fallback never exceeds the injunction's 8 days (the « délai bref » pleaded).
    assert "FIXER ce rendez-vous dans un délai de 8 jours à compter de la communication de cette date ;" in concl
    # A late renewal: the récépissé authorising work is not of right; a plain récépissé is asked.
    assert ("de délivrer au requérant, dès l'enregistrement de sa demande, un récépissé de demande de titre de "
            "séjour ;") in concl and "l'autorisant à travailler" not in concl
    # The récépissé asked in the conclusions has its moyen; the expiry is said once in B.
    assert ("L'étranger admis à souscrire une demande de titre de séjour se voit remettre un récépissé (article "
            "R. 431-12 du code de l'entrée et du séjour des étrangers et du droit d'asile)") in late
    assert "239794" not in late  # an asylum decision, not about a titre's récépissé
    assert "Le titre de séjour du requérant a expiré le 1er mars 2025." not in late
    assert "dès lors que le titre de séjour du requérant a expiré le 1er mars 2025." in late


def test_changement_de_statut_and_aes(tmp_path):
    _, report, _, one = render_situation(tmp_path, "changement-de-statut-un-fait")
    # The free sentence is argued with its pièce, without its capital, with the rule on hiring.
    # « lui » had no antecedent: the applicant becomes the verb's object, and check says so.
    assert "texte-sans-sujet" in {f.code for f in report.findings}
    assert ("En l'espèce, la société Logistique Est a adressé au requérant une promesse d'embauche, valable jusqu'au "
            "30 juin 2025 (pièce n° 8). Cette embauche, subordonnée à la détention d'un titre l'autorisant à "
            "exercer une activité salariée (article L. 8251-1 du code du travail), suppose l'examen de sa demande de "
            "changement de statut.") in one
    assert "que seul l'enregistrement" not in one
    assert "en changement de statut (passage du statut d'étudiant à salarié)." in one
    # A job's date: 15 days before it (Sunday 15 June → Friday 13 June), the filing must precede it.
    assert "FIXER ce rendez-vous au plus tard le 13 juin 2025" in one
    assert "Le dépôt de sa demande doit donc intervenir sans délai, pour que son examen puisse commencer avant cette date." in one
    assert "voie-a-verifier" in {f.code for f in report.findings}

    _, _, _, three = render_situation(tmp_path, "changement-de-statut-trois-faits")
    # A job's date: the filing must come before it, not an appointment promised for its eve.
    assert "C'est avant cette date que le rendez-vous doit avoir eu lieu." not in three
    assert three.count("pour que son examen puisse commencer avant cette date.") == 1
    assert three.count("article L. 8251-1") == 1
    # 5 May, a job's date: 15 days before (Sunday 20 April → Friday 18 April). 18 April minus 15 days is
    # already past on 4 April: the injunction and its fallback shorten to 8 days, the switch date is said,
    # and the « délai bref » is pleaded with the hiring date.
    assert ("FIXER ce rendez-vous au plus tard le 18 avril 2025 ou, si l'ordonnance est notifiée après le 10 avril "
            "2025, dans les 8 jours de sa notification ;") in three
    assert "de communiquer à la requérante, dans un délai de 8 jours à compter de la notification" in three
    assert ("Le juge des référés fixe un délai bref en cas d'urgence particulière (CE, 10 juin 2020, n° 435594). Un tel "
            "délai s'impose ici, dès lors que l'embauche doit commencer le 5 mai 2025.") in three
    # A first « salarié » demand: a plain récépissé, its right to work is not of right.
    assert "dès l'enregistrement de sa demande, un récépissé de demande de titre de séjour ;" in three
    assert "l'autorisant à travailler ;" not in three
    # The CROUS room lost because studies ended: an appointment does not remedy it, not argued, warned.
    _, report3, _, _ = render_situation(tmp_path / "3", "changement-de-statut-trois-faits")
    assert "CROUS" not in three.split("B. Sur l'urgence")[1]
    assert [f.champ for f in report3.findings if f.code == "urgence-sans-lien"] == ["urgence[1].fait"]
    assert "se voit remettre un récépissé (article R. 431-12" in three  # the injunction's moyen
    _, _, _, one = render_situation(tmp_path, "changement-de-statut-un-fait")
    assert "récépissé" not in one.split("PAR CES MOTIFS")[1] and "R. 431-12" not in one  # none asked

    _, report, _, aes = render_situation(tmp_path, "aes-famille")
    faits = aes.split("I. FAITS")[1]
    # The pasted situation had no subject: it gets the applicant's name, and check warns.
    assert faits.startswith("\nM. DIALLO, entré en France en 2016, vit avec son épouse")
    assert "texte-sans-sujet" in {f.code for f in report.findings}
    assert "son dossier est complet et prêt à être déposé (pièce n° 10)." in aes
    assert "que par son service de prise de rendez-vous en ligne (pièce n° 9)." in aes
    # L. 435-1 named; no removal measure said because the case says so; the family is the merits, not urgency.
    assert "pour sa demande d'admission exceptionnelle au séjour, sur le fondement de l'article L. 435-1 du code" in aes
    assert "Le requérant ne fait l'objet d'aucune mesure d'éloignement." in aes
    # The family is proven in the situation, where it belongs in an AES.
    data = copy.deepcopy(SITUATIONS["aes-famille"])
    data["preuves_situation"] = ["scolarite"]
    case = load(write_case(tmp_path / "s", data))
    faits_ctx = render.context(case, plan.make(case), rules.check(case))["faits"]["situation"]
    assert faits_ctx.replace("\u00a0", " ").replace("\u2019", "'") == (
        "M. DIALLO, entré en France en 2016, vit avec son épouse et leurs deux enfants, scolarisés à Aubervilliers "
        "(pièce n° 7). Le requérant ne fait l'objet d'aucune mesure d'éloignement.")
    urg = aes.split("B. Sur l'urgence")[1].split("C. Sur l'utilité")[0]
    assert "enfants" not in urg and "Tel est le cas en l'espèce" not in urg
    assert "En l'espèce, un restaurant propose au requérant un contrat à compter du 12 mai 2025" in urg
    codes = {f.code for f in report.findings}
    assert "urgence-fond" in codes and "eloignement-non-precise" not in codes
    assert "situation-absente" not in {f.code for f in report.findings}


def test_counsel_and_neutral_forms(tmp_path):
    _, _, raw, avocat = render_situation(tmp_path, "avocat-aj-obtenue")
    assert "toque\u00a0E\u00a01234" in raw and "01\u00a042\u00a000\u00a000\u00a000" in raw
    assert "n°\u00a091\u201163" not in raw and "loi n°\u00a091\u2011647" in raw
    assert "délai bref en cas d'urgence particulière" in avocat  # 8 days asked
    assert "12\u00a0rue de Rivoli" in raw  # the street number never alone at a line's end
    assert ("à verser à Maître Claire LEFÈVRE en application des articles L. 761-1 du code de justice "
            "administrative et 37, alinéa 2, de la loi n° 91-647 du 10 juillet 1991") in avocat

    _, _, _, asso = render_situation(tmp_path, "association")
    assert "la partie requérante" in asso and "l'intéressé" not in asso
    assert "date et lieu de naissance : 12 décembre 1984, Labé (Guinée)" in asso
    assert "élisant domicile auprès de l'association La Cimade, 1 rue Hippolyte-Maindron, 75014 Paris." in asso

    _, anef_report, _, anef = render_situation(tmp_path, "anef")
    concl = anef.split("PAR CES MOTIFS")[1]
    # The attestation exists only once the request is registered: asked from that registration, not within
    # a delay, and covering the period after the titre's expiry.
    # Valid for the time it states, it is renewed until the decision (R. 431-12, R. 431-15-1).
    assert ("de délivrer à la requérante, dès l'enregistrement de sa demande, une attestation de prolongation de "
            "l'instruction de sa demande ou, en cas de dépôt au guichet, un récépissé de demande de titre de séjour, "
            "couvrant la période postérieure au 2 juin 2025, et de renouveler ce document jusqu'à ce qu'il soit "
            "statué sur sa demande ;") in concl
    # No letter to the préfet asking the substitution solution: check says so on the ANEF route too.
    assert "anef-sans-courrier" in {f.code for f in anef_report.findings}
    data = copy.deepcopy(SITUATIONS["anef"])
    data["pieces"].append(COURRIEL)
    assert "anef-sans-courrier" not in {f.code for f in rules.check(load(write_case(tmp_path / "lettre", data))).findings}
    # The titre's paragraph says what its expiry costs: the intro does not say it a second time.
    assert anef.count("2 juin 2025") == 3  # the titre in the facts, its paragraph in B, the injunction


def test_file_names_never_end_on_a_lone_number():
    name = plan.file_name(5, "Captures d'écran des tentatives du 30 novembre au 6 décembre 2026 (5 tentatives)")
    assert name == "05_Captures_d_ecran_des_tentatives_du_30_novembre_au_6_decembre_2026.pdf"
    assert plan.file_name(3, "Captures d'écran des tentatives du 16 au 22 novembre 2026 (2 tentatives)") == \
        "03_Captures_d_ecran_des_tentatives_du_16_au_22_novembre_2026_2_tentatives.pdf"


def test_unproven_urgency_outside_renewal_is_a_draft(tmp_path):
    data = copy.deepcopy(SITUATIONS["aes-famille"])
    data["urgence"] = ["Faute de titre, il ne peut plus exercer son activité de livreur à compter du 1er mai 2025."]
    data["pieces"] = [p for p in data["pieces"] if p.get("categorie") != "urgence"]
    case = load(write_case(tmp_path / "a", data))
    assert {f.code: f.niveau for f in rules.check(case).findings}["urgence-sans-piece"] == rules.BLOQUANT
    # Facts the requête does not argue (family life in an AES, work without authorisation) leave no
    # urgency: blocking, each with its own warning.
    data["urgence"] = ["Il vit en France avec sa famille depuis 2016.", "Il travaille comme livreur depuis 2020."]
    found = {(f.code, f.niveau) for f in rules.check(load(write_case(tmp_path / "c", data))).findings}
    assert {("urgence-non-argumentee", rules.BLOQUANT), ("urgence-sans-lien", "avertissement"),
            ("travail-non-autorise", "avertissement")} <= found
    data["urgence"] = []
    case = load(write_case(tmp_path / "b", data))
    out = tmp_path / "b.docx"
    render.render(render.context(case, plan.make(case), rules.check(case), brouillon=True), out)
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "[À COMPLÉTER : circonstances particulières, avec leurs pièces]" in text
    assert "Tel est le cas en l'espèce." not in text


def test_check_warns_on_incoherent_case(tmp_path):
    data = copy.deepcopy(SITUATIONS["changement-de-statut-un-fait"])
    data["demandes"]["rdv_au_plus_tard"] = "2025-07-15"  # after the offer lapses on 30 June
    data["pieces"][2]["titre"] = "Carte de séjour expirée {{ date }}"
    data["urgence"].append({"motif": "autre", "fait": "il est sans titre de séjour valable",
                            "preuves": ["promesse"]})
    data["conseil"] = {"qualite": "avocat", "nom": "Paul DURAND"}
    found = {f.code for f in rules.check(load(write_case(tmp_path / "a", data))).findings}
    assert {"rdv-apres-echeance", "residu-de-modele", "titre-piece-incoherente", "fait-contredit-titre",
            "conseil-sans-civilite"} <= found
    data["pieces"][2]["titre"] = "Carte de séjour"
    data["pieces"].append({"titre": "Attestation d'hébergement de M. Sékou Diallo", "categorie": "domicile",
                           "fichier": "pieces/hebergement.pdf"})
    found = {f.code for f in rules.check(load(write_case(tmp_path / "b", data))).findings}
    assert {"titre-piece-sans-date", "piece-sans-date"} <= found


def test_l521_3_never_splits_in_the_pdf(tmp_path):
    require_tool("LibreOffice", "soffice", hint="paquet Debian libreoffice-writer-nogui")
    _, _, _, _ = render_situation(tmp_path, "aes-famille")
    docx = tmp_path / "aes-famille.docx"
    pdf = tmp_path / "aes-famille.pdf"
    render.to_pdf(docx, pdf)
    text = pdf_text(pdf).replace("\r", "")
    assert text.count("521") >= 4
    # Every « L. 521-3 » is on one line: no line ends inside it.
    assert not re.search(r"L\.\s*$|L\.\s*521\s*$|521[-\u2011]\s*$", text, re.MULTILINE)
    assert len(re.findall(r"L\.[\s\u00a0]521[-\u2011]3", text)) >= 4


def test_new_fields_in_the_schema_and_unknown_keys_refused(tmp_path, run):
    import json

    doc = json.loads(run("schema").output)
    text = json.dumps(doc)
    for name in ("situation", "explication_retard", "preuves_retard", "preuves_dossier", "prefete",
                 "preuves_rendez_vous", "recepisse_travail"):
        assert f'"{name}"' in text, name
    data = copy.deepcopy(SITUATIONS["aes-famille"])
    data["prefecture"]["prefet_nom"] = "X"
    res = run("check", write_case(tmp_path / "a", data))
    assert res.exit_code == 1 and "prefet_nom" in res.output


def test_applicant_forms_and_case_checks(tmp_path):
    """Review 2 of issue 20: hébergé chez, civilité, removal measure, récépissé title, avowal of work."""
    data = copy.deepcopy(SITUATIONS["aes-famille"])
    data["pieces"].append({"titre": "Attestation d'hébergement de M. Sékou Diallo du 2 mars 2025",
                           "categorie": "domicile", "fichier": "pieces/hebergement.pdf"})
    data["situation"] += " Il travaille comme plongeur dans un restaurant depuis 2021."
    case = load(write_case(tmp_path / "a", copy.deepcopy(data)))
    found = {f.code: f.champ for f in rules.check(case).findings}
    assert found["hebergement-sans-hebergeant"] == "requerant.heberge_par"
    assert found["travail-non-autorise"] == "situation"
    data["requerant"]["heberge_par"] = "M. Sékou Diallo"
    flat = render_data(tmp_path / "b", data)
    case = load(write_case(tmp_path / "b2", data))
    assert ("M. Mamadou DIALLO, né le 12 décembre 1984 à Labé (Guinée), de nationalité guinéenne (pièce n° 1), hébergé chez "
            "M. Sékou Diallo, 31 boulevard Anatole-France, 93300 Aubervilliers ;") in flat
    assert "demeurant" not in flat.split("CONTRE")[0]
    assert "hebergement-sans-hebergeant" not in {f.code for f in rules.check(case).findings}

    # No civilité: warned; with « Mme », the identity line and « la requérante ».
    data = copy.deepcopy(SITUATIONS["association"])
    assert "requerant-sans-civilite" in {f.code for f in rules.check(load(write_case(tmp_path / "c", data))).findings}
    data["requerant"]["civilite"] = "Mme"
    case = load(write_case(tmp_path / "d", data))
    out = tmp_path / "d.docx"
    render.render(render.context(case, plan.make(case), rules.check(case)), out)
    flat = "\n".join(p.text for p in Document(str(out)).paragraphs).replace("\u00a0", " ").replace("\u2019", "'")
    assert "Mme Mamadou DIALLO, née le 12 décembre 1984 à Labé (Guinée)" in flat
    assert "partie requérante" not in flat and "la requérante" in flat

    # A removal measure is never both absent and notified.
    data = copy.deepcopy(SITUATIONS["aes-famille"])
    data["procedure"]["oqtf"] = True
    with pytest.raises(RefereError, match="sans_mesure_eloignement"):
        load(write_case(tmp_path / "e", data))
    # Not said, the sentence is not written and check asks.
    data["procedure"].pop("oqtf")
    data["procedure"].pop("sans_mesure_eloignement")
    case = load(write_case(tmp_path / "f", data))
    assert "eloignement-non-precise" in {f.code for f in rules.check(case).findings}
    assert "mesure d'éloignement" not in render.context(case, plan.make(case), rules.check(case))["faits"]["situation"]

    # A récépissé of a renewal whose pièce title does not say « renouvellement ».
    data = copy.deepcopy(SITUATIONS["recepisse-dans-10-jours"])
    data["procedure"]["titre_actuel"] = "récépissé de demande de renouvellement de titre de séjour"
    found = {f.code: f.champ for f in rules.check(load(write_case(tmp_path / "g", data))).findings}
    assert found["recepisse-intitule"] == "pieces[2].titre"


def test_site_message_quoted_once_when_every_capture_reads_it(tmp_path):
    """The captures' reading gives one message: quoted once, as the site showed it; unread, not at all."""
    assert render._citation("Il n'existe plus de plage horaire libre. Veuillez recommencer ultérieurement.") == \
        "«\u00a0Il n\u2019existe plus de plage horaire libre. Veuillez recommencer ultérieurement.\u00a0»"
    assert render._citation("Aucun créneau disponible") == "«\u00a0Aucun créneau disponible\u00a0»."
    assert render._citation("") == ""
    case = load(write_case(tmp_path / "a", copy.deepcopy(SITUATIONS["renouvellement-dans-le-delai"])))
    ctx = render.context(case, plan.make(case), rules.check(case))
    assert ctx["lecture"]["citation"] == ""  # no reading: the plain sentence
    ctx["lecture"]["citation"] = render._citation("Il n'existe plus de plage horaire libre.")
    out = tmp_path / "a.docx"
    render.render(ctx, out)
    flat = "\n".join(p.text for p in Document(str(out)).paragraphs).replace("\u00a0", " ").replace("\u2019", "'")
    assert flat.count("le service affichait : « Il n'existe plus de plage horaire libre. »") == 1
    assert ("À chaque fois, comme le montrent les captures d'écran produites, le service affichait : « Il n'existe "
            "plus de plage horaire libre. » Le détail des tentatives figure ci-dessous.") in flat
    assert "aucun créneau n'était disponible" not in flat


def test_typographic_apostrophe_in_the_requete(tmp_path):
    """Review 2, item 12: the requête writes « ’ », in the template's words and in its generated sentences;
    a Jinja tag keeps its own quotes."""
    case = load(write_case(tmp_path / "a", copy.deepcopy(SITUATIONS["changement-de-statut-trois-faits"])))
    out = tmp_path / "a.docx"
    render.render(render.context(case, plan.make(case), rules.check(case)), out)
    raw = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "'" not in raw.split("BORDEREAU")[0]
    assert "Aux termes de l\u2019article L.\u00a0521\u20113" in raw  # the template's text
    assert "il appartient à l\u2019étranger de justifier" in raw  # a generated sentence


def test_urgency_on_a_justificatif_de_sejour_asks_the_recepisse(tmp_path):
    # The crèche requires a justificatif de séjour: an appointment is none, the récépissé given at
    # registration (R. 431-12) is. The requête asks for it and says the request must be registered first.
    data = copy.deepcopy(SITUATIONS["association"])
    data["urgence"][0]["fait"] = ("mère d'une enfant française, elle perdra la place de son enfant en crèche, que la "
                                  "commune supprimera le 30 avril 2025 à défaut de justificatif de séjour")
    text = render_data(tmp_path / "creche", data).replace("\u2011", "-")
    assert "C'est avant cette date que le rendez-vous doit avoir eu lieu" not in text
    assert ("à défaut de justificatif de séjour (pièce n° 7). Seul le récépissé remis lors de l'enregistrement de sa "
            "demande (article R. 431-12 du code de l'entrée et du séjour des étrangers et du droit d'asile) lui "
            "permettra de produire ce justificatif : c'est donc avant cette date que sa demande doit être "
            "enregistrée.") in text
    concl = text.split("PAR CES MOTIFS")[1]
    assert ("ENJOINDRE au préfet de la Seine-Saint-Denis de délivrer à la partie requérante, dès l'enregistrement de sa "
            "demande, un récépissé de demande de titre de séjour ;") in concl
    assert "ASSORTIR ces injonctions" in concl
    # In a renewal the récépissé follows of right: no such conclusion for a fact on its lack.
    renewal = render_data(tmp_path / "renouvellement", copy.deepcopy(SITUATIONS["renouvellement-dans-le-delai"]))
    assert "Seul le récépissé remis lors" not in renewal


def test_urgency_paragraphs_are_numbered_with_the_titre(tmp_path):
    # The titre's expiry is argued first: three paragraphs, three ordinals, none announced as two.
    _, _, _, three = render_situation(tmp_path, "changement-de-statut-trois-faits")
    urg = three.split("B. Sur l'urgence")[1].split("C. Sur l'utilité")[0]
    leads = re.findall(r"^(En \w+ lieu|Enfin|En l'espèce),", urg, re.M)
    assert leads == ["En premier lieu", "En deuxième lieu", "En troisième lieu"]
    assert "\nEn premier lieu, le titre de séjour de la requérante expire le 31 mai 2025 ;" in urg


def test_a_job_offer_with_its_own_subject_is_not_announced_twice(tmp_path):
    # « une embauche est proposée au requérant : le restaurant … lui propose » said the offer twice.
    data = copy.deepcopy(SITUATIONS["aes-famille"])
    data["urgence"][1]["fait"] = ("le restaurant Le Fil d'Or lui propose un contrat à durée indéterminée à compter "
                                  "du 12 mai 2025")
    text = render_data(tmp_path / "aes", data)
    assert "une embauche est proposée" not in text
    assert ("En l'espèce, le restaurant Le Fil d'Or propose au requérant un contrat à durée indéterminée à compter "
            "du 12 mai 2025 (pièce n° 8).") in text
    # « l'embauchera »: a promise, not a certainty, and the applicant named.
    _, _, _, three = render_situation(tmp_path, "changement-de-statut-trois-faits")
    assert "En deuxième lieu, la société Datalyse a promis d'embaucher la requérante à compter du 5 mai 2025" in three
    # A fact without a subject of its own keeps the motif's lead.
    data["urgence"][1]["fait"] = "contrat à durée indéterminée à compter du 12 mai 2025"
    lead = render_data(tmp_path / "lead", data)
    assert "En l'espèce, une embauche est proposée au requérant : contrat à durée indéterminée" in lead


def test_bordereau_dates_never_split(tmp_path):
    # « expirant le 14 ⏎ avril 2025 » in the bordereau: the day stays with its month.
    render_situation(tmp_path, "recepisse-dans-10-jours")
    doc = Document(str(tmp_path / "recepisse-dans-10-jours.docx"))
    bordereau = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "Récépissé expirant le 14\u00a0avril\u00a02025" in bordereau
    assert "14 avril" not in bordereau


def test_a_recepisse_renewal_pleads_no_r431_5_window(tmp_path):
    """A renewal whose current document is a récépissé expiring in nine months: the requête called the
    demande registered, then pleaded « le retard dans l'enregistrement de sa demande ne lui est pas
    imputable » under R. 431-5, and check warned that every attempt came before the window
    (attack 22). The demande is filed: no window, no such warning."""
    data = copy.deepcopy(SITUATIONS["recepisse-dans-10-jours"])
    data["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "récépissé de demande de titre de séjour",
                         "expiration_titre": "2026-01-20"}
    case = load(write_case(tmp_path / "r", data))
    assert echeances.window(case) is None
    assert "tentatives-avant-delai" not in {f.code for f in rules.check(case).findings}
    flat = render_data(tmp_path / "r2", data)
    assert "qui a été enregistrée et est en cours d'instruction" in flat
    assert "R. 431-5" not in flat and "retard dans l'enregistrement" not in flat


@pytest.mark.parametrize("jours", [15, 30])
def test_no_delai_bref_pleaded_beside_a_longer_delay(tmp_path, jours):
    """An expired titre with « delai_jours: 30 » asked: the requête argued « un tel délai s'impose
    ici » for a délai bref, then asked 30 days (attack 22). Only 8 days or less is pleaded as brief."""
    data = copy.deepcopy(SITUATIONS["expire-avant-la-premiere-tentative"])
    data["demandes"]["delai_jours"] = jours
    flat = render_data(tmp_path / "e", data)
    assert f"dans un délai de {jours} jours" in flat.split("PAR CES MOTIFS")[1]
    assert "délai bref" not in flat
    data["demandes"]["delai_jours"] = 8
    assert "délai bref en cas d'urgence particulière" in render_data(tmp_path / "e8", data)


def test_a_host_named_without_civilite_keeps_the_wording_neutral(tmp_path):
    """No civilité, a host named: « Mamadou DIALLO, …, hébergée chez … » gave the person named a
    feminine agreement (attack 22). « demeurant chez … », as for no host."""
    data = base(None)
    data["procedure"] = copy.deepcopy(SITUATIONS["renouvellement-dans-le-delai"]["procedure"])
    data["requerant"]["heberge_par"] = "M. Sékou Diallo"
    flat = render_data(tmp_path / "h", data)
    assert "demeurant chez M. Sékou Diallo, 31 boulevard Anatole-France" in flat
    assert "hébergé" not in flat


def test_a_first_titre_on_the_anef_asks_a_recepisse_not_a_prolongation(tmp_path):
    """An « attestation de prolongation d'instruction » prolongs a titre: a first application (none to
    prolong) asks the récépissé only, in the conclusions and in the letter to the préfet."""
    from refere.requete import courrier

    d = base("Mme")
    d["procedure"] = {"type": "premiere_demande_titre_sejour", "voie": "anef"}
    d["urgence"] = [{"motif": "promesse_embauche", "fait": "un restaurant lui propose un contrat à compter du 12 mai 2025",
                     "echeance": "2025-05-12"}]
    text = render_data(tmp_path / "a", d)
    assert "une attestation de prolongation" not in text and "prolongation d'instruction" not in text
    assert ("dès l'enregistrement de sa demande, en cas de dépôt au guichet, un récépissé de demande de titre de "
            "séjour et de renouveler ce document jusqu'à ce qu'il soit statué sur sa demande") in text
    assert "R. 431-12" in text.replace("\u2011", "-") and "R. 431-15-1" not in text.replace("\u2011", "-")
    letter = courrier.write(tmp_path / "a" / "dossier.yaml", tmp_path / "envoi", today=dt.date(2025, 4, 4)).docx
    words = "\n".join(p.text for p in Document(str(letter)).paragraphs).replace("\u00a0", " ").replace("\u2019", "'")
    assert "prolongation d'instruction" not in words and "me délivrer un récépissé de demande de titre de séjour" in words
    # With a titre to prolong (a renewal on the ANEF), the attestation is asked.
    anef = render_situation(tmp_path, "anef")[3]
    assert "une attestation de prolongation de l'instruction de sa demande ou, en cas de dépôt au guichet" in anef
    assert "(article R. 431-15-1 du code de l'entrée et du séjour des étrangers et du droit d'asile)" in anef
    assert "valable jusqu'à ce qu'il soit statué" not in anef


def test_no_capture_no_claim_of_captures(tmp_path):
    """« comme le montrent les captures d'écran produites » and the case law on anonymous captures
    were printed when no attempt had a capture (the table read « sans capture » on every row)."""
    d = base()
    d["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour temporaire",
                      "expiration_titre": "2025-05-31"}
    d["tentatives"] = [{"date": a} for a in ATTEMPTS]
    text = render_data(tmp_path / "sans", d)
    assert "captures d'écran" not in text and "448178" not in text
    assert "À chaque fois, le service a répondu qu'aucun créneau n'était disponible. Le détail" in text
    for k in range(len(ATTEMPTS)):
        d["tentatives"][k]["capture"] = f"captures/c{k:02d}.png"
    text = render_data(tmp_path / "toutes", d)
    assert "comme le montrent les captures d'écran produites." in text and "448178" in text


def test_a_job_waiting_for_a_titre_asks_no_recepisse_that_would_not_allow_work(tmp_path):
    """An admission exceptionnelle at the guichet whose job offer « subordonnée à la délivrance d'un
    titre de séjour » asked a récépissé, on the word « titre »: a first demand's récépissé does not
    allow work (the lawyer's review)."""
    d = copy.deepcopy(SITUATIONS["aes-famille"])
    d["urgence"] = [{"motif": "promesse_embauche", "fait": "un restaurant lui propose un contrat, subordonné à la "
                     "délivrance d'un titre de séjour", "echeance": "2025-05-12", "preuves": ["promesse"]}]
    conclusions = render_data(tmp_path / "aes", d).split("PAR CES MOTIFS")[1]
    assert "récépissé" not in conclusions


def test_an_admission_exceptionnelle_on_the_anef_is_a_route_to_verify(tmp_path):
    d = copy.deepcopy(SITUATIONS["aes-famille"])
    d["procedure"]["voie"] = "anef"
    case = load(write_case(tmp_path / "aes", d))
    found = [f for f in rules.check(case).findings if f.code == "voie-a-verifier"]
    assert len(found) == 1 and "se dépose en principe au guichet" in found[0].message


def test_a_delay_chosen_too_long_for_a_near_deadline_is_shortened(tmp_path):
    """« delai_jours: 15 » with the titre expiring 20 days after the filing: the fallback's switch date
    fell two days after the filing, so a later ordonnance gave 15 days, past the expiry (the lawyer's
    review). Shortened to 8 days, the switch date leaves the judge a few days."""
    d = base()
    d["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour temporaire",
                      "expiration_titre": "2025-04-24"}
    d["demandes"]["delai_jours"] = 15
    text = render_data(tmp_path / "a", d)
    assert ("FIXER ce rendez-vous au plus tard le 23 avril 2025 ou, si l'ordonnance est notifiée après le 15 avril "
            "2025, dans les 8 jours de sa notification") in text


def test_captures_for_some_attempts_only_are_said_so(tmp_path):
    """One capture for ten attempts: « À chaque fois, comme le montrent les captures d'écran produites »
    claimed more than the dossier shows (attack 27)."""
    d = base()
    d["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour temporaire",
                      "expiration_titre": "2025-05-31"}
    d["tentatives"] = [{"date": a} for a in ATTEMPTS]
    for k in (0, 4, 7):
        d["tentatives"][k]["capture"] = f"captures/c{k:02d}.png"
    text = render_data(tmp_path / "trois", d)
    assert ("le service a répondu qu'aucun créneau n'était disponible, comme le montrent les captures d'écran "
            "produites pour trois d'entre elles.") in text
    d["tentatives"] = [{"date": a} for a in ATTEMPTS]
    d["tentatives"][2]["capture"] = "captures/c02.png"
    assert "produite pour l'une d'entre elles." in render_data(tmp_path / "une", d)


def test_a_recepisse_on_the_anef_lacks_a_registration_not_a_rendez_vous(tmp_path):
    d = base()
    d["procedure"] = {"type": "renouvellement_titre_sejour", "voie": "anef",
                      "titre_actuel": "récépissé de demande de renouvellement de titre de séjour",
                      "expiration_titre": "2025-04-20"}
    text = render_data(tmp_path / "a", d)
    assert "faute d'enregistrement de sa demande, il ne peut en obtenir le renouvellement" in text
    assert "faute de rendez-vous" not in text


def _renewal(attempts: list[dict]) -> dict:
    d = base()
    d["procedure"] = {"type": "renouvellement_titre_sejour", "titre_actuel": "carte de séjour temporaire",
                      "expiration_titre": "2025-05-31"}
    d["tentatives"] = attempts
    return d


def test_one_capture_is_said_in_the_singular(tmp_path):
    d = _renewal([{"date": a} for a in ATTEMPTS])
    d["tentatives"][2]["capture"] = "captures/c02.png"
    text = render_data(tmp_path / "une", d)
    assert "comme le montre la capture d'écran produite pour l'une d'entre elles." in text
    assert "les captures d'écran produites" not in text


def test_attempts_all_in_one_week_are_said_so(tmp_path):
    """A draft whose attempts fall in one week read « réparties sur une semaine distincte » (attack 29)."""
    d = _renewal([{"date": a, "capture": f"captures/c{i:02d}.png"} for i, a in enumerate(ATTEMPTS[:2])])
    case = load(write_case(tmp_path / "a", d))
    out = tmp_path / "a.docx"
    render.render(render.context(case, plan.make(case), rules.check(case), brouillon=True), out)
    text = "\n".join(p.text for p in Document(str(out)).paragraphs).replace("\u00a0", " ")
    assert "réparties sur une seule semaine et deux jours différents" in text and "semaine distincte" not in text
