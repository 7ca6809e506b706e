"""Every grammatical form the requête needs, from one place: applicant, counsel, défendeur.

French agrees articles, prepositions, pronouns and past participles with the person; a template
that writes « de {{ le_requerant }} » prints « de le requérant ». The forms below are complete
words (« du requérant », « à la requérante »), so templates never build them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from babel.dates import format_date as _babel_format_date

from refere import dates
from refere.affaire import departements


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- applicant ------------------------------------------------------------------------------

def requerant(civilite: str | None) -> dict[str, str]:
    """Forms for « M. », « Mme » or no civilité (« la partie requérante », feminine throughout)."""
    if civilite == "M.":
        f = {"le_requerant": "le requérant", "du_requerant": "du requérant", "au_requerant": "au requérant",
             "il": "il", "lui": "lui", "le": "le", "ne": "né", "e": "", "interesse": "l'intéressé"}
    elif civilite == "Mme":
        f = {"le_requerant": "la requérante", "du_requerant": "de la requérante", "au_requerant": "à la requérante",
             "il": "elle", "lui": "lui", "le": "la", "ne": "née", "e": "e", "interesse": "l'intéressée"}
    else:
        # No civilité: « la partie requérante » keeps every agreement feminine and correct.
        # `ne` stays « né(e) » for old custom templates; the built-in one uses `naissance`.
        f = {"le_requerant": "la partie requérante", "du_requerant": "de la partie requérante",
             "au_requerant": "à la partie requérante", "il": "elle", "lui": "lui", "le": "la", "ne": "né(e)",
             "e": "e", "interesse": "la partie requérante"}
    f["pour_requerant"] = "pour " + f["le_requerant"]
    for key in ("le_requerant", "du_requerant", "au_requerant", "il"):
        f[key[0].upper() + key[1:]] = cap(f[key])
    return f


def naissance(civilite: str | None, date: dt.date, lieu: str) -> str:
    """« né le 3 novembre 1987 à Oran », or without a participle when the sex is unknown."""
    when = dates.format_date(date)
    if civilite in ("M.", "Mme"):
        return f"{'né' if civilite == 'M.' else 'née'} le {when} à {lieu}"
    return f"date et lieu de naissance\u00a0: {when}, {lieu}"


def nationalite(text: str) -> str:
    """« de nationalité algérienne »; a value already written as a phrase is kept."""
    t = text.strip()
    if t.lower().startswith(("de nationalité", "nationalité")):
        return t if t.lower().startswith("de ") else "de " + t
    return f"de nationalité {t}"


# --- counsel --------------------------------------------------------------------------------

_MAITRE = re.compile(r"^(?:ma[iî]tre|me)\.?\s+", re.IGNORECASE)


def without_maitre(nom: str) -> str:
    """The name as written, without a leading « Maître » / « Me » (the requête adds it)."""
    return _MAITRE.sub("", nom.strip(), count=1)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\s'’-]+", " ", text).strip()


def _de(name: str) -> str:
    """« de Lyon », « d'Orléans », « du Havre », « des Sables-d'Olonne »."""
    low = name.lower()
    if low.startswith("le "):
        return "du " + name[3:]
    if low.startswith("les "):
        return "des " + name[4:]
    if low.startswith(("la ", "l'", "l’")):
        return "de " + name
    if _fold(name[:1]) in tuple("aeiouyh"):
        return "d'" + name
    return "de " + name


def barreau(name: str) -> str:
    """« au barreau de la Seine-Saint-Denis » (département names take their article) or « de Lyon »."""
    n = name.strip()
    n = re.sub(r"^barreau\s+", "", n, flags=re.IGNORECASE)
    n = re.sub(r"^(?:de la |de l'|de l’|du |des |de |d'|d’)", "", n, flags=re.IGNORECASE)
    folded = _fold(n)
    for dep in departements.table().values():
        if dep.code != "75" and _fold(dep.nom) == folded:
            return f"au barreau {dep.de_nom}"
    return f"au barreau {_de(n)}"


def association(nom: str) -> str:
    """« l'association La Cimade Île-de-France », unless the name already says « association »."""
    n = nom.strip()
    if m := re.match(r"^(?:l['’]\s*)?association\b\s*", n, re.IGNORECASE):
        n = n[m.end():]
    return f"l'association {n}"


def conseil(qualite: str, civilite: str | None, nom: str, barreau_nom: str | None) -> dict[str, str]:
    if qualite == "association":
        la = association(nom)
        return {"avocat_mot": "", "maitre": "", "nom_seul": nom.strip(), "au_barreau": "",
                "appellation": la, "Appellation": cap(la), "qualite_ligne": ""}
    mot = "avocate" if civilite == "Mme" else "avocat"
    seul = without_maitre(nom)
    maitre = f"Maître {seul}"
    au = barreau(barreau_nom) if barreau_nom else ""
    ligne = f"{mot} {au}".strip()
    return {"avocat_mot": mot, "maitre": maitre, "nom_seul": seul, "au_barreau": au,
            "appellation": f"{maitre}, {ligne}", "Appellation": f"{maitre}, {ligne}", "qualite_ligne": cap(ligne)}


# --- défendeur ------------------------------------------------------------------------------

def defendeur(dep: departements.Departement, prefete: bool = False) -> dict[str, str]:
    """« le préfet de la Seine-Saint-Denis » and its forms; Paris: « le préfet de police »; « la préfète »
    when the case says so."""
    rest = dep.prefet.removeprefix("le ")  # « préfet de la Seine-Saint-Denis »
    prefecture = "la préfecture de police" if dep.code == "75" else f"la préfecture {dep.de_nom}"
    if prefete:
        rest = "préfète" + rest.removeprefix("préfet")
        return {"le_prefet": "la " + rest, "Le_prefet": "La " + rest, "du_prefet": "de la " + rest,
                "au_prefet": "à la " + rest, "la_prefecture": prefecture}
    return {"le_prefet": "le " + rest, "Le_prefet": "Le " + rest, "du_prefet": "du " + rest,
            "au_prefet": "au " + rest, "la_prefecture": prefecture}


# --- dates, lists, sentences ----------------------------------------------------------------

def date_avec_jour(d: dt.date) -> str:
    """« lundi 3 mars 2025 »."""
    return f"{_babel_format_date(d, 'EEEE', locale='fr_FR')} {dates.format_date(d)}"


def pieces_ref(numeros: list[int]) -> str:
    """« (pièce n° 7) », « (pièces n° 7 et 9) », « (pièces n° 3, 7 et 9) »; empty for none."""
    nums = sorted(dict.fromkeys(numeros))
    if not nums:
        return ""
    nbsp = "\u00a0"
    if len(nums) == 1:
        return f"(pièce n°{nbsp}{nums[0]})"
    listed = ", ".join(str(n) for n in nums[:-1]) + f" et {nums[-1]}"
    return f"(pièces n°{nbsp}{listed})"


def end_sentence(text: str) -> str:
    """One final full stop, whatever the text ended with (« … » and « ?! » are kept)."""
    t = text.rstrip()
    t = re.sub(r"\s*[.;,:]+$", "", t)
    if t.endswith(("!", "?", "…", "»")) and not t.endswith(" »"):
        return t
    if t.endswith("»"):
        # A quotation closed by its own full stop (« … 2025. ») already ends the sentence.
        inner = t[:-1].rstrip("\u00a0 ")
        return t if inner.endswith((".", "!", "?", "…")) else t + "."
    return t + "."


def strip_end(text: str) -> str:
    return re.sub(r"\s*[.;,:]+$", "", text.rstrip())


# First-person words of a fact written by the applicant (« je », « mon », « m'… »).
_FIRST_PERSON = re.compile(
    r"(?<![\w'’])(?:je|j['’]|me|m['’]|moi|mon|ma|mes|nous|notre|nos)(?![\w'’])|(?<![\w'’])[jm]['’](?=\w)",
    re.IGNORECASE)


def first_person(text: str) -> bool:
    # « Me Martin » is a lawyer, not « me ».
    cleaned = re.sub(r"\bMe\.?\s+(?=[A-ZÀ-Ý])", "", text)
    return bool(_FIRST_PERSON.search(cleaned))


ORDINAUX = ("En premier lieu", "En deuxième lieu", "En troisième lieu", "En quatrième lieu",
            "En cinquième lieu", "En sixième lieu")


def ordinal(k: int, total: int) -> str:
    """Connector of the k-th of `total` arguments (0-based)."""
    if total == 1:
        return "En l'espèce"
    if total == 2:  # « second » when there are only two
        return ("En premier lieu", "En second lieu")[k]
    if k < len(ORDINAUX):  # « En troisième lieu », never « Enfin »: every argued paragraph is counted
        return ORDINAUX[k]
    return "En outre"


_DATE = re.compile(r"\b(?:1er|\d{1,2}) (?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|"
                   r"novembre|décembre)(?: \d{4})?\b")
_TYPO = ((" :", "\u00a0:"), (" ;", "\u00a0;"), (" ?", "\u00a0?"), (" !", "\u00a0!"),
         ("« ", "«\u00a0"), (" »", "\u00a0»"), ("n° ", "n°\u00a0"))


def nbsp_dates(text: str) -> str:
    """« 14 décembre 2026 » never split across lines (the bordereau's titles, entered as typed)."""
    return _DATE.sub(lambda m: m[0].replace(" ", "\u00a0"), text)


def typo(text: str) -> str:
    """French typography for generated sentences: no-break spaces before « : ; ? ! », in guillemets, the
    typographic apostrophe (’),
    and between an article's letter and its number (« L. 8251-1 » never split across lines)."""
    for a, b in _TYPO:
        text = text.replace(a, b)
    text = text.replace("'", "\u2019")  # the typographic apostrophe
    # « 15 novembre 2025 » and « 15 jours » never split across lines either.
    text = nbsp_dates(text)
    text = re.sub(r"(?<=\d) (?=(?:jours?|heures|€)\b)", "\u00a0", text)
    text = re.sub(r"\balinéa (?=\d)", "alinéa\u00a0", text)  # « 37, alinéa 2 » on one line
    return articles(text)


def articles(text: str) -> str:
    """« L. 521-3 », « R. 431-5 », « n° 91-647 »: the letter never alone at the end of a line, and the
    number never split at its hyphen (U+2011, the non-breaking hyphen)."""
    text = re.sub(r"\b([LRD])\.[ \u00a0](?=\d)", "\\1.\u00a0", text)
    return re.sub(r"(?<=\b[LRD]\.\u00a0)(\d+(?:-\d+)+)|(?<=n°\u00a0)(\d+(?:-\d+)+)",
                  lambda m: m[0].replace("-", "\u2011"), text)


def guillemets(text: str) -> str:
    """Entered text printed as written, but « salarié » never split from its guillemets."""
    return text.replace("« ", "«\u00a0").replace(" »", "\u00a0»")


def telephone(text: str) -> str:
    """« 01 42 00 00 00 » on one line."""
    return re.sub(r"(?<=[\d+]) (?=\d)", "\u00a0", text.strip())


# The application itself, as a feminine noun: « enregistrer la demande de changement de statut ».
DEMANDES = {
    "premiere_demande_titre_sejour": "première demande de titre de séjour",
    "renouvellement_titre_sejour": "demande de renouvellement de titre de séjour",
    "changement_de_statut": "demande de titre de séjour en changement de statut",
    "admission_exceptionnelle_sejour": "demande d'admission exceptionnelle au séjour",
    "duplicata_titre": "demande de duplicata de titre de séjour",
    "changement_situation": "déclaration de changement de situation",
    "remise_titre": "demande de remise de titre de séjour",
    "recueil_biometrie": "demande de recueil de données biométriques",
    "delivrance_recepisse": "demande de récépissé",
    "document_circulation_mineur": "demande de document de circulation pour étranger mineur",
    "naturalisation": "demande de naturalisation",
    "autre": "demande",
}


# Numbers a requête writes in words (« dix tentatives »); digits beyond twenty.
_NOMBRES = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
            "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf", "vingt")


def de_nombre(text: str) -> str:
    """« de dix tentatives », « d'une tentative », « de huit », « de onze » (never elided)."""
    return ("d'" if text[:1] in "aeiouéèêhAEIOUÉ" and not text.lower().startswith(("huit", "onze")) else "de ") + text


def semaines(n: int) -> str:
    """« trois semaines distinctes », « une seule semaine » (not « une semaine distincte »)."""
    return "une seule semaine" if n == 1 else compte(n, "", "semaines distinctes", True)


def nombre(n: int, feminin: bool = False) -> str:
    """« dix », « une » (feminine noun follows), « 23 »."""
    if n == 1 and feminin:
        return "une"
    return _NOMBRES[n] if 0 <= n < len(_NOMBRES) else str(n)


def compte(n: int, one: str, many: str, feminin: bool = False) -> str:
    """« dix tentatives », « une semaine distincte », « un jour différent »."""
    return f"{nombre(n, feminin)} {one if n == 1 else many}"


# Feminine, spelled out or as their initials: APS (autorisation provisoire de séjour), APRI
# (attestation de prolongation de l'instruction), CST/CSP (carte de séjour temporaire/pluriannuelle).
_FEMININ_TITRES = ("carte", "attestation", "autorisation", "vignette", "demande", "aps", "apri", "cst", "csp")
# A common noun written with a capital at the start of the field loses it inside the sentence.
_COMMON_TITRES = _FEMININ_TITRES[:5] + ("récépissé", "recepisse", "certificat", "visa", "titre", "document")


def titre_indefini(titre: str) -> str:
    """« d'un certificat de résidence … », « d'une carte de séjour … »; the text as written after it."""
    t = titre.strip()
    low = t.lower()
    if low.startswith(("un ", "une ")):
        return "d'" + t
    first = re.split(r"[\s'’-]", low, maxsplit=1)[0]
    if first in _COMMON_TITRES and t[:1].isupper() and t[1:2].islower():
        t = t[:1].lower() + t[1:]
    return ("d'une " if first in _FEMININ_TITRES else "d'un ") + t


def entre_dates(first: dt.date, last: dt.date) -> str:
    """« le 3 mars 2025 », « entre le 1er et le 25 septembre 2025 », « entre le 29 août et le 5 septembre 2025 »."""
    if first == last:
        return f"le {dates.format_date(first)}"
    if first.year != last.year:
        start = dates.format_date(first)
    elif first.month != last.month:
        start = dates.format_day_month(first)
    else:
        start = "1er" if first.day == 1 else str(first.day)
    return f"entre le {start} et le {dates.format_date(last)}"


def _paques(year: int) -> dt.date:
    """Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


# Local public holidays (code du travail L. 3134-13 for Alsace-Moselle; the abolition of slavery,
# loi 83-550 and décret 83-1003, in the overseas départements).
_LOCAL_FIXED = {"57": {(12, 26)}, "67": {(12, 26)}, "68": {(12, 26)}, "971": {(5, 27)}, "972": {(5, 22)},
                "973": {(6, 10)}, "974": {(12, 20)}, "976": {(4, 27)}}
_GOOD_FRIDAY = ("57", "67", "68")


def jours_feries(year: int, departement: str = "") -> set[dt.date]:
    """French public holidays: fixed days, Easter Monday, Ascension, Whit Monday, and the
    département's own (Good Friday and 26 December in Alsace-Moselle, the abolition of slavery
    overseas)."""
    easter = _paques(year)
    fixed = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}
    fixed |= _LOCAL_FIXED.get(departement, set())
    days = {dt.date(year, m, d) for m, d in fixed} | {easter + dt.timedelta(days=n) for n in (1, 39, 50)}
    if departement in _GOOD_FRIDAY:
        days.add(easter - dt.timedelta(days=2))
    return days


def dernier_jour_ouvre(d: dt.date, departement: str = "") -> dt.date:
    """The day itself, or the last working day before it (weekends and the public holidays of the
    département, whose préfecture and tribunal are closed then)."""
    while d.weekday() >= 5 or d in jours_feries(d.year, departement):
        d -= dt.timedelta(days=1)
    return d


# --- free texts pasted without a subject ------------------------------------------------------

# A sentence opening on a participle or an attribute (« Entré en France en 2016, il… », « Mère d'une
# enfant française, elle… ») has no subject of its own once pasted in the requête.
_ATTRIBUTE = re.compile(r"^(?:entr|arriv|n|mari|pacs|install|hébergé|employ|embauch|âg|scolaris|inscrit|"
                        r"titulaire|mère|père|parent|originaire|veu[fv]|divorc|célibataire|seul)\w*\b",
                        re.IGNORECASE)
_PARTICIPLE = re.compile(r"^[A-Za-zÀ-ÿ]+(?:é|ée|és|ées)\b")
_PRONOUN = re.compile(r"(?<![\w'’-])(?:il|elle|lui)(?![\w'’-])", re.IGNORECASE)


def subjectless(text: str, nom: str = "") -> bool:
    """A third-person free text with no subject of its own: it opens on a participle or an attribute,
    or uses « il », « elle », « lui » without ever naming the applicant."""
    t = text.strip()
    if not t or first_person(t):
        return False
    if _ATTRIBUTE.match(t) or _PARTICIPLE.match(t):
        return True
    named = bool(nom) and nom.lower() in t.lower()
    return bool(_PRONOUN.search(t)) and not named and not re.match(r"^(?:M\.|Mme)\s", t)


def with_subject(text: str, name: str, le_requerant: str, au_requerant: str) -> str:
    """Give a pasted text its subject: « Entré en France en 2016, il y réside » becomes « M. DIALLO,
    entré en France en 2016, y réside » ; a leading « Il » becomes the applicant's name ; « X lui a
    adressé » becomes « X a adressé au requérant »."""
    t = text.strip()
    m = re.match(r"^([^,;]+),\s+(?:il|elle)\s+(.+)$", t, re.DOTALL | re.IGNORECASE)
    if m and (_ATTRIBUTE.match(t) or _PARTICIPLE.match(t)):
        head = m[1][:1].lower() + m[1][1:]
        return f"{name}, {head}, {m[2]}"
    m = re.match(r"^(?:il|elle)\s+(.+)$", t, re.DOTALL | re.IGNORECASE)
    if m:
        return f"{name} {m[1]}"
    # « … lui a adressé une promesse » : the verb takes the applicant as its object.
    return re.sub(r"(?<![\w'’-])lui (a|ont|avait|avaient|propose|proposent|offre|offrent|verse|versent)"
                  r"(?: (\w+é(?:e|s|es)?))?(?=\s)",
                  lambda k: f"{k[1]}{(' ' + k[2]) if k[2] else ''} {au_requerant}", t, count=1)
