"""The evidence rules a juge des référés applies (``../shared/domain/legal-brief.md``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from refere import dates
from refere.affaire import grammaire
from refere.pieces import repair
from refere.affaire import echeances
from refere.preuves import coherence, shotdates
from refere.errors import FileProblem
from refere.affaire.model import Case
from refere.pieces.probe import prefetch, probe
from refere.preuves.findings import (
    BLOQUANT,
    AVERTISSEMENT,
    CE_435594,
    CE_453391,
    PRACTICE,
    TELERECOURS,
    L521_3,
    R431_5,
    R431_2,
    R411_1,
    R412_2,
    ANEF_HOST,
    LOI_91_647,
    FRESH_DAYS,
    Finding,
)

# Time-of-day bands, disjoint, named as the requête says them.
BANDS = {
    "minuit": "autour de minuit (23 h – 2 h)",
    "matin": "tôt le matin (2 h – 9 h)",
    "journee": "en journée (9 h – 18 h)",
    "soiree": "en soirée (18 h – 23 h)",
}


def band(t: dt.datetime) -> str:
    h = t.hour
    if h >= 23 or h < 2:
        return "minuit"
    if h < 9:
        return "matin"
    if h < 18:
        return "journee"
    return "soiree"


@dataclass
class Figures:
    tentatives: int
    premiere: str
    derniere: str
    duree_jours: int
    semaines: int
    jours: int
    avant_9h: int
    autour_minuit: int
    tranches: dict[str, int]
    captures: int
    courriers: int


@dataclass
class Report:
    figures: Figures
    findings: list[Finding] = field(default_factory=list)
    # What the captures show (refere.preuves.lecture.Readings), read once here for the requête and the manifest.
    lecture: Any = field(default=None, compare=False, repr=False)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.niveau == BLOQUANT]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.niveau == AVERTISSEMENT]

    def to_dict(self) -> dict:
        return {
            "valide": not self.blocking,
            "bloquants": len(self.blocking),
            "avertissements": len(self.warnings),
            "chiffres": asdict(self.figures),
            "constats": [asdict(f) for f in self.findings],
        }


def figures(case: Case) -> Figures:
    times = sorted(t.date for t in case.tentatives)
    weeks = {t.isocalendar()[:2] for t in times}
    days = {t.date() for t in times}
    bands = {k: 0 for k in BANDS}
    for t in times:
        bands[band(t)] += 1
    return Figures(
        tentatives=len(times),
        premiere=times[0].isoformat(timespec="minutes"),
        derniere=times[-1].isoformat(timespec="minutes"),
        duree_jours=(times[-1].date() - times[0].date()).days + 1,
        semaines=len(weeks),
        jours=len(days),
        avant_9h=sum(1 for t in times if t.hour < 9 and band(t) == "matin"),
        autour_minuit=bands["minuit"],
        tranches=bands,
        captures=sum(1 for t in case.tentatives if t.capture is not None),
        courriers=sum(1 for p in case.pieces if p.categorie == "courrier_prefecture"),
    )


Add = Callable[..., None]


def check(case: Case) -> Report:
    fig = figures(case)
    out: list[Finding] = []

    def add(code: str, level: str, message: str, source: str, champ: str = "") -> None:
        out.append(Finding(code, level, message, source, champ))

    _attempt_counts(case, fig, add)
    shots = _captures(case, add)
    _pieces_readable(case, add, shots)
    _freshness(case, add)
    _pieces_expected(case, add)
    _urgency(case, add)
    coherence.check(case, add)
    _route(case, add)
    # What the captures show, read by OCR (refere/preuves/lecture.py): warnings only.
    from refere.preuves import lecture, titulaire
    readings = lecture.read_case(case)
    out += lecture.findings(case, readings)
    if not any(f.code == "piece-illisible" for f in out):
        out += titulaire.findings(case)  # whose name the identity and titre pièces bear
    if not any(f.code == "voie-a-verifier" for f in out):
        out += route_seen(case, readings)
    return Report(fig, _one_per_reused_capture(out), readings)


def _one_per_reused_capture(out: list[Finding]) -> list[Finding]:
    """A capture reused for a second attempt is one mistake: its « date / heure d'une capture différente »
    follow from it and are not counted again (the « même capture » warning says what to fix)."""
    reused = {f.champ.rsplit(".", 1)[0] for f in out if f.code == "capture-en-double"}
    return [f for f in out if not (f.code in ("date-capture-discordante", "heure-capture-discordante")
                                   and f.champ.rsplit(".", 1)[0] in reused)]


def _shows(r: Any) -> tuple[bool, bool]:
    """(booking module, ANEF) as one capture's reading shows them: its words and its address."""
    from refere.preuves import lecture

    text = lecture.normalise(" ".join(x for x in (r.ocr.texte if r.ocr else "", r.message or "") if x))
    address = (r.adresse or "").lower()
    booking = "/booking/" in address or any(w in f" {text} " for w in (" plage horaire", " creneau"))
    anef = (ANEF_HOST in address or "administration etrangers en france" in text
            or " anef " in f" {text} ")
    return booking, anef


def route_seen(case: Case, readings: Any) -> list[Finding]:
    """The captures contradict the declared route: a warning, the human decides."""
    if readings is None:
        return []
    seen = [_shows(r) for r in readings.par_capture.values() if r.ocr is not None or r.adresse]
    if case.procedure.is_anef and any(b and not a for b, a in seen):
        return [Finding("voie-a-verifier", AVERTISSEMENT,
                        "Le dossier suit la voie ANEF mais des captures montrent un module de prise de rendez-vous "
                        "(« plage horaire », « créneau » ou adresse « /booking/ ») : s'agit-il d'un dépôt bloqué sur "
                        "l'ANEF ou d'un rendez-vous introuvable ? Un avocat ou une association décide de la voie.",
                        R431_2, "procedure.voie")]
    if not case.procedure.is_anef and any(a for _, a in seen):
        return [Finding("voie-a-verifier", AVERTISSEMENT,
                        "Le dossier suit la voie du rendez-vous mais des captures montrent une page de l'ANEF : si la "
                        "demande se dépose sur l'ANEF, écrivez « voie: anef ». Un avocat ou une association décide "
                        "de la voie.", R431_2, "procedure.voie")]
    return []


def _attempt_counts(case: Case, fig: Figures, add: Add) -> None:
    anef = case.procedure.is_anef
    if fig.semaines < 2:
        add("semaines-insuffisantes", BLOQUANT,
            f"Toutes les tentatives ({fig.tentatives}) tombent dans la même semaine. Le Conseil d'État "
            "exige des tentatives « n'ayant pas été effectuées la même semaine » : réessayez au moins "
            "une autre semaine, en gardant une capture d'écran datée.", CE_435594, "tentatives")
    elif fig.semaines < 3:
        add("moins-de-3-semaines", AVERTISSEMENT,
            f"Les tentatives couvrent {fig.semaines} semaines distinctes ; les requêtes accueillies en "
            "montrent en général au moins 3. Continuez à essayer une semaine de plus.", PRACTICE, "tentatives")
    if fig.tentatives < 10:
        n = f"{fig.tentatives} tentative" + ("s" if fig.tentatives > 1 else "")
        add("moins-de-10-tentatives", AVERTISSEMENT,
            f"{n} seulement ; une dizaine au moins rend l'impossibilité d'obtenir un rendez-vous difficile "
            "à contester.", PRACTICE, "tentatives")
    if fig.jours < 6:
        jours = "un seul jour" if fig.jours == 1 else f"{fig.jours} jours distincts"
        add("moins-de-6-jours", AVERTISSEMENT,
            f"Les tentatives ont eu lieu sur {jours} ; essayez sur au moins 6 jours différents.",
            PRACTICE, "tentatives")
    if fig.courriers == 0 and not (anef and case.diligences):
        add("pas-de-courrier", AVERTISSEMENT,
            "Aucune pièce de catégorie « courrier_prefecture » : un courriel ou une lettre recommandée à la "
            "préfecture restés sans réponse renforcent beaucoup le dossier.", PRACTICE, "pieces")
    elif fig.courriers == 0:
        add("anef-sans-courrier", AVERTISSEMENT,
            "Voie ANEF : aucune pièce de catégorie « courrier_prefecture ». Une lettre recommandée au préfet "
            "sollicitant la solution de substitution (article R. 431-2 du CESEDA) est la meilleure preuve de "
            "l'impossibilité constatée.", PRACTICE, "pieces")
    used = [k for k, n in fig.tranches.items() if n]
    # Slots are released at fixed hours on booking pages; an ANEF error does not depend on the hour.
    if not anef and fig.tentatives > 1 and len(used) == 1:
        add("une-seule-tranche-horaire", AVERTISSEMENT,
            f"Toutes les tentatives ont eu lieu {BANDS[used[0]]}. Les créneaux sont souvent ouverts avant 9 h "
            "ou vers minuit : variez les heures.", PRACTICE, "tentatives")


def _captures(case: Case, add: Add) -> dict[str, int]:
    """Checks each attempt's capture; returns each capture's content hash -> its first attempt."""
    what = "du message d'erreur de l'ANEF" if case.procedure.is_anef else "d'écran"
    seen: dict[str, int] = {}
    # Checked on every core (and dated from the same bytes); the loop reads what they found.
    prefetch((t.capture for t in case.tentatives), shotdates.entry_text)
    for i, t in enumerate(case.tentatives):
        where = f"tentatives[{i}]"
        if t.capture is None:
            add("tentative-sans-capture", AVERTISSEMENT,
                f"La tentative du {dates.format_datetime(t.date)} n'a pas de capture {what} : "
                "sans preuve, le juge peut l'écarter.", PRACTICE, where + ".capture")
            continue
        try:
            info = probe(t.capture)
        except FileProblem as exc:
            add("capture-illisible", BLOQUANT, f"Capture illisible : {exc.message}", CE_435594, where + ".capture")
            continue
        if info.sha256 in seen:
            j = seen[info.sha256]
            add("capture-en-double", AVERTISSEMENT,
                f"La même capture (contenu identique) sert aux tentatives n° {j + 1} et n° {i + 1} "
                f"(« {case.tentatives[j].capture} », « {t.capture} ») : une capture ne prouve qu'une tentative.",
                PRACTICE, where + ".capture")
        else:
            seen[info.sha256] = i
        shot = shotdates.read(t.capture.path, t.capture.kind, content=shotdates.content_date(t.capture))
        # Compare in UTC: same-zone subtraction is wall-clock and off by an hour across DST.
        if shot and abs(shot.when.astimezone(dt.timezone.utc) - t.date.astimezone(dt.timezone.utc)) > dt.timedelta(hours=1):
            add("date-capture-discordante", AVERTISSEMENT,
                f"La tentative n° {i + 1} est déclarée le {dates.format_datetime(t.date)}, mais la capture "
                f"« {t.capture} » date du {dates.format_datetime(shot.when)} (selon : {shot.source}). "
                "Corrigez la date déclarée ou la capture.", PRACTICE, where + ".date")
    return seen


def _pieces_readable(case: Case, add: Add, shots: dict[str, int]) -> None:
    """``shots``: each capture's content hash -> its attempt (the captures are filed as pièces of their own)."""
    seen: dict[str, tuple[int, str]] = {}  # content hash -> first pièce and file that holds it
    said: set[tuple[str, int]] = set()  # a file listed again in a pièce: said once, however often
    for i, p in enumerate(case.pieces):
        for src in p.sources:
            try:
                info = probe(src)
            except FileProblem as exc:
                # Not a rule of evidence, but build would fail on it: say so now.
                add("piece-illisible", BLOQUANT, f"Pièce illisible : {exc.message}", "R. 412-2 CJA (pièces produites)",
                    f"pieces[{i}]")
                continue
            if info.sha256 in seen:
                if (info.sha256, i) in said:
                    continue  # its third listing in this pièce, or later: nothing new to say
                said.add((info.sha256, i))
                j, first = seen[info.sha256]
                add("piece-en-double", AVERTISSEMENT, _double_piece(case, j, i, first, src.written),
                    "R. 412-2 CJA (pièces produites)", f"pieces[{i}]")
                if j == i:
                    continue  # its damage, if any, is already said for this pièce
            else:
                seen[info.sha256] = (i, src.written)
                if info.sha256 in shots:  # filed twice: in the captures' pièce and as this one
                    add("capture-produite-en-piece", AVERTISSEMENT, _capture_as_piece(case, shots[info.sha256], i, src),
                        "R. 412-2 CJA (pièces produites)", f"pieces[{i}]")
            # A damaged PDF is filed all the same; the user hears what was repaired or is still wrong.
            if info.etat.etat != repair.INTACT:
                code = "piece-reparee" if info.etat.etat == repair.REPAIRED else "piece-endommagee"
                add(code, AVERTISSEMENT, repair.describe(src.written, info.etat), "R. 412-2 CJA (pièces produites)",
                    f"pieces[{i}]")
    _pieces_weight(case, add)


def _pieces_weight(case: Case, add: Add) -> None:
    """What the build would refuse (``plan.heavy_problem``): files each sound but too heavy together,
    pièces numbered as the plan numbers them (the files are known by now: already checked)."""
    from refere.pieces import plan

    pieces = []
    for titre, sources in plan.grouped(case):
        known = []
        for src in sources:
            with contextlib.suppress(FileProblem):  # said as « piece-illisible », « capture-illisible »
                known.append(probe(src))
        pieces.append((titre, known))
    if (problem := plan.heavy_problem(pieces)) is not None:
        add("pdf-trop-lourds", BLOQUANT, f"Pièces trop lourdes : {problem}", "R. 412-2 CJA (pièces produites)", "pieces")


def _capture_as_piece(case: Case, k: int, i: int, src) -> str:
    t = case.tentatives[k]
    same = "" if src.written == t.capture.written else f" (« {t.capture.written} », contenu identique)"
    return (f"La pièce « {case.pieces[i].titre} » (« {src.written} ») est la capture de la tentative n° {k + 1} du "
            f"{dates.format_datetime(t.date)}{same}, déjà produite avec les captures : un document ne se produit "
            "qu'une fois ; joignez le bon document à cette pièce, ou retirez-la.")


def _double_piece(case: Case, j: int, i: int, first: str, second: str) -> str:
    files = f"(« {first} », « {second} »)" if first != second else f"(« {first} »)"
    if i == j:
        return (f"Le même fichier (contenu identique) est joint deux fois à la pièce « {case.pieces[i].titre} » "
                f"{files} : retirez le doublon.")
    return (f"Le même fichier (contenu identique) est produit comme pièce « {case.pieces[j].titre} » et comme pièce "
            f"« {case.pieces[i].titre} » {files} : un document ne se produit qu'une fois ; retirez le doublon "
            "ou joignez le bon document.")


requete_date = echeances.requete_date


def _freshness(case: Case, add: Add) -> None:
    """The judge rules on the day of the order: old attempts, or attempts begun too late."""
    times = sorted(t.date for t in case.tentatives)
    first, last = times[0].date(), times[-1].date()
    on = requete_date(case)
    if (on - last).days > FRESH_DAYS:
        add("derniere-tentative-ancienne", AVERTISSEMENT,
            f"La dernière tentative date du {dates.format_date(last)}, {(on - last).days} jours avant la requête "
            f"({dates.format_date(on)}). Le juge apprécie l'utilité de la mesure au jour où il statue : "
            "refaites des tentatives récentes, avec capture.", L521_3, "tentatives")
    exp = case.procedure.expiration_titre
    if exp is None:
        return
    # A first attempt after the expiry: coherence._facts warns until the delay is explained.
    if first <= exp and case.procedure.is_anef and case.procedure.is_renewal and first > exp - dt.timedelta(days=60):
        add("depot-anef-tardif", AVERTISSEMENT,
            f"La première tentative de dépôt ({dates.format_date(first)}) est postérieure au 60e jour avant "
            f"l'expiration du titre ({dates.format_date(exp)}) : sur l'ANEF, le renouvellement se demande entre "
            "le 120e et le 60e jour ; une taxe de retard peut être réclamée.", R431_5, "tentatives")
    if case.procedure.is_anef and case.procedure.is_renewal and first < exp - dt.timedelta(days=120):
        add("depot-anef-premature", AVERTISSEMENT,
            f"La première tentative de dépôt ({dates.format_date(first)}) précède le 120e jour avant l'expiration "
            f"du titre ({dates.format_date(exp - dt.timedelta(days=120))}) : le téléservice pouvait la refuser. "
            "La requête ne cite que les tentatives faites à partir de cette date ; refaites-en dans le délai.",
            R431_5, "tentatives")


def _pieces_expected(case: Case, add: Add) -> None:
    cats = {p.categorie for p in case.pieces}
    if "identite" not in cats:
        add("pas-de-piece-identite", AVERTISSEMENT,
            "Aucune pièce d'identité (catégorie « identite ») : joignez le passeport ou la carte d'identité.",
            R411_1, "pieces")
    if case.aide_juridictionnelle == "obtenue" and not any("aide juridictionnelle" in p.titre.lower()
                                                             for p in case.pieces):
        add("aj-sans-piece", AVERTISSEMENT,
            "L'aide juridictionnelle est déclarée « obtenue » mais aucune pièce dont le titre mentionne "
            "« aide juridictionnelle » ne produit la décision du bureau : joignez-la.", R412_2, "pieces")
    if case.aide_juridictionnelle == "demandee" and (case.conseil is None or case.conseil.qualite != "avocat"):
        add("aj-sans-avocat", AVERTISSEMENT,
            "L'aide juridictionnelle est demandée sans avocat : l'admission provisoire reste possible, mais "
            "l'aide sert d'abord à rémunérer un avocat, et les frais de l'article 37, alinéa 2, de la loi "
            "du 10 juillet 1991 ne sont dus qu'à un avocat. Demandez au bureau d'aide juridictionnelle la "
            "désignation d'un avocat, ou indiquez-le dans « conseil ».", LOI_91_647, "aide_juridictionnelle")
    if (case.aide_juridictionnelle in ("demandee", "obtenue") and case.conseil is not None
            and case.conseil.qualite == "avocat" and not case.demandes.frais_l761_1):
        # Without an amount the requête asks no frais: the avocat's art. 37 al. 2 fee is lost by omission.
        add("aj-sans-frais", AVERTISSEMENT,
            "L'aide juridictionnelle est demandée ou obtenue et un avocat est constitué, mais aucun montant de "
            "frais n'est indiqué : la requête ne conclut ni à l'article 37, alinéa 2, de la loi du 10 juillet "
            "1991 ni à l'article L. 761-1 du CJA. Indiquez la somme demandée dans « demandes.frais_l761_1 ».",
            LOI_91_647, "demandes.frais_l761_1")
    proc = case.procedure
    if (proc.titre_actuel or proc.expiration_titre) and "titre_sejour" not in cats:
        add("pas-de-piece-titre", AVERTISSEMENT,
            "Un titre de séjour est déclaré (« titre_actuel » ou « expiration_titre ») mais aucune pièce de "
            "catégorie « titre_sejour » ne le prouve : joignez sa copie recto verso.", R412_2, "pieces")


def _urgency(case: Case, add: Add) -> None:
    presumed = echeances.presumed(case)
    if not presumed and case.urgence and all(grammaire.first_person(u.fait) or echeances.not_argued(case, u)
                                             for u in case.urgence):
        # Quoted first-person words are the applicant's, not an argument the judge can weigh.
        add("urgence-non-argumentee", BLOQUANT,
            "urgence non démontrée : le juge rejettera probablement la requête sans audience ; décrivez les faits "
            "à la troisième personne dans « urgence », en remplissant séparément le motif, le fait et les pièces qui le "
            "prouvent",
            f"{CE_453391} ; R. 522-1 CJA", "urgence")
    if not presumed and not case.urgence:
        add("urgence-absente", BLOQUANT,
            "Hors renouvellement, l'urgence n'est pas présumée et doit être justifiée : décrivez dans "
            "« urgence » les circonstances particulières (emploi menacé, droits sociaux, famille…), avec les "
            "pièces qui les prouvent. Sans cela, le juge peut rejeter la requête sans audience.",
            f"{CE_453391} ; R. 522-1 CJA", "urgence")
    for i, u in enumerate(case.urgence):
        where = f"urgence[{i}]"
        if grammaire.first_person(u.fait):
            add("urgence-premiere-personne", AVERTISSEMENT,
                f"Le fait d'urgence n° {i + 1} est écrit à la première personne (« je », « mon »…) : la requête le "
                "citera entre guillemets comme vos propres mots. Écrivez-le plutôt à la troisième personne, "
                "en remplissant séparément le motif, le fait, la date limite et les pièces qui le prouvent.",
                PRACTICE, where + ".fait")
        if not echeances.proven(case, u):
            # Outside renewal the urgency is the condition of the requête: unproven, it is only a draft.
            # Quoted first-person words are not argued: they have their own warning.
            argued = (not presumed and not grammaire.first_person(u.fait)
                      and echeances.not_argued(case, u) is None)
            add("urgence-sans-piece", BLOQUANT if argued else AVERTISSEMENT,
                f"Le fait d'urgence n° {i + 1} n'est prouvé par aucune pièce : ajoutez-la dans « pieces » avec un "
                "« id » et citez-la dans « preuves » (contrat, lettre de l'employeur, notification CAF…)."
                + ("" if not argued else " Hors renouvellement, l'urgence doit être prouvée : sans pièce, la requête "
                   "n'est qu'un projet."),
                CE_453391, where + ".preuves")


def _route(case: Case, add: Add) -> None:
    """ANEF or booking page: the facts must fit the route chosen."""
    proc = case.procedure
    if proc.is_anef and not case.diligences:
        add("anef-sans-diligence", AVERTISSEMENT,
            "Voie ANEF sans « diligences » : la solution de substitution n'est ouverte qu'à qui a demandé "
            "l'accompagnement (centre de contact citoyen, point d'accueil numérique, courrier à la préfecture). "
            "Décrivez ces démarches et joignez-en la preuve.", R431_2, "diligences")
    if proc.is_anef and case.prefecture.url_rendez_vous and ANEF_HOST not in case.prefecture.url_rendez_vous.lower():
        # The ANEF's own address is what the ANEF route expects there, not a booking page.
        add("voie-a-verifier", AVERTISSEMENT,
            "Le dossier suit la voie ANEF mais indique une page de prise de rendez-vous : s'agit-il d'un dépôt "
            "bloqué sur l'ANEF ou d'un rendez-vous introuvable ? Un avocat ou une association décide de la voie.",
            R431_2, "procedure.voie")
    elif not proc.is_anef and any(d.type == "centre_contact_citoyen" for d in case.diligences):
        add("voie-a-verifier", AVERTISSEMENT,
            "Le dossier suit la voie du rendez-vous mais cite le centre de contact citoyen de l'ANEF : si la "
            "demande se dépose sur l'ANEF, écrivez « voie: anef ». Un avocat ou une association décide de la voie.",
            R431_2, "procedure.voie")
    if proc.oqtf:
        add("oqtf", AVERTISSEMENT,
            "Une obligation de quitter le territoire a été notifiée : le juge retient en principe l'absence "
            "d'urgence si elle n'a pas été exécutée. Faites-vous conseiller avant de déposer.", CE_453391,
            "procedure.oqtf")


def size_finding(name: str, size: int) -> Finding:
    return Finding("piece-trop-lourde", AVERTISSEMENT,
                   f"Le fichier « {name} » pèse {size / 1_000_000:.1f} Mo, plus que les 32 Mo acceptés par "
                   "Télérecours citoyens : relancez avec --compresser.", TELERECOURS, "pieces")
