"""The evidence rules a juge des référés applies (``../shared/domain/legal-brief.md``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from . import dates, shotdates
from .errors import FileProblem
from .model import Case
from .probe import probe, source_bytes

BLOQUANT = "bloquant"
AVERTISSEMENT = "avertissement"

CE_435594 = "CE, 10 juin 2020, n° 435594"
CE_453391 = "CE, 9 juin 2022, n° 453391"
PRACTICE = "pratique constatée des tribunaux administratifs"
TELERECOURS = "Télérecours citoyens : 32 Mo au plus par fichier"

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
class Finding:
    code: str
    niveau: str
    message: str
    source: str
    champ: str = ""


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


def check(case: Case) -> Report:
    fig = figures(case)
    out: list[Finding] = []

    def add(code: str, level: str, message: str, source: str, champ: str = "") -> None:
        out.append(Finding(code, level, message, source, champ))

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
        add("moins-de-10-tentatives", AVERTISSEMENT,
            f"{fig.tentatives} tentative(s) seulement ; une dizaine au moins rend le refus difficile à contester.",
            PRACTICE, "tentatives")
    if fig.jours < 6:
        add("moins-de-6-jours", AVERTISSEMENT,
            f"Les tentatives ont eu lieu sur {fig.jours} jour(s) distinct(s) ; essayez sur au moins 6 jours différents.",
            PRACTICE, "tentatives")
    if fig.courriers == 0:
        add("pas-de-courrier", AVERTISSEMENT,
            "Aucune pièce de catégorie « courrier_prefecture » : un courriel ou une lettre recommandée à la "
            "préfecture restés sans réponse renforcent beaucoup le dossier.", PRACTICE, "pieces")
    used = [k for k, n in fig.tranches.items() if n]
    if fig.tentatives > 1 and len(used) == 1:
        add("une-seule-tranche-horaire", AVERTISSEMENT,
            f"Toutes les tentatives ont eu lieu {BANDS[used[0]]}. Les créneaux sont souvent ouverts avant 9 h "
            "ou vers minuit : variez les heures.", PRACTICE, "tentatives")

    seen: dict[str, int] = {}
    for i, t in enumerate(case.tentatives):
        where = f"tentatives[{i}]"
        if t.capture is None:
            add("tentative-sans-capture", AVERTISSEMENT,
                f"La tentative du {dates.format_datetime(t.date)} n'a pas de capture d'écran : "
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
                f"La même capture (contenu identique) sert aux tentatives {j + 1} et {i + 1} "
                f"(« {case.tentatives[j].capture} », « {t.capture} ») : une capture ne prouve qu'une tentative.",
                PRACTICE, where + ".capture")
        else:
            seen[info.sha256] = i
        shot = shotdates.read(t.capture.path, t.capture.kind, source_bytes(t.capture))
        # Compare in UTC: same-zone subtraction is wall-clock and off by an hour across DST.
        if shot and abs(shot.when.astimezone(dt.timezone.utc) - t.date.astimezone(dt.timezone.utc)) > dt.timedelta(hours=1):
            add("date-capture-discordante", AVERTISSEMENT,
                f"La tentative {i + 1} est déclarée le {dates.format_datetime(t.date)}, mais la capture "
                f"« {t.capture} » date du {dates.format_datetime(shot.when)} (selon : {shot.source}). "
                "Corrigez la date déclarée ou la capture.", PRACTICE, where + ".date")

    for i, p in enumerate(case.pieces):
        for src in p.sources:
            try:
                probe(src)
            except FileProblem as exc:
                # Not a rule of evidence, but build would fail on it: say so now.
                add("piece-illisible", BLOQUANT, f"Pièce illisible : {exc.message}", "R. 412-2 CJA (pièces produites)",
                    f"pieces[{i}]")

    if not case.procedure.is_renewal and not case.urgence:
        add("urgence-non-justifiee", AVERTISSEMENT,
            "Hors renouvellement, l'urgence n'est pas présumée : décrivez dans « urgence » les circonstances "
            "particulières (emploi menacé, droits sociaux, famille…).", CE_453391, "urgence")
    if case.procedure.oqtf:
        add("oqtf", AVERTISSEMENT,
            "Une obligation de quitter le territoire a été notifiée : le juge retient en principe l'absence "
            "d'urgence si elle n'a pas été exécutée. Faites-vous conseiller avant de déposer.", CE_453391,
            "procedure.oqtf")
    return Report(fig, out)


def size_finding(name: str, size: int) -> Finding:
    return Finding("piece-trop-lourde", AVERTISSEMENT,
                   f"Le fichier « {name} » pèse {size / 1_000_000:.1f} Mo, plus que les 32 Mo acceptés par "
                   "Télérecours citoyens : relancez avec --compresser.", TELERECOURS, "pieces")
