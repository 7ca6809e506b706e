"""The case file, format 1, as pydantic models (``../shared/spec/case-format.md``).

Files named in the case are checked while validating when a ``base`` folder is given in the
validation context; without one (``refere schema``) only the shape is checked.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from refere import dates, files
from refere.affaire import departements
from refere.errors import RefereError

PROCEDURES: dict[str, str] = {
    "premiere_demande_titre_sejour": "le dépôt de sa première demande de titre de séjour",
    "renouvellement_titre_sejour": "le renouvellement de son titre de séjour",
    "changement_de_statut": "le dépôt de sa demande de titre de séjour en changement de statut",
    "admission_exceptionnelle_sejour": "sa demande d'admission exceptionnelle au séjour",
    "duplicata_titre": "la délivrance d'un duplicata de son titre de séjour",
    "changement_situation": "la déclaration d'un changement de situation",
    "remise_titre": "la remise de son titre de séjour",
    "recueil_biometrie": "le recueil de ses données biométriques",
    "delivrance_recepisse": "la délivrance d'un récépissé de demande de titre de séjour",
    "document_circulation_mineur": "la délivrance d'un document de circulation pour étranger mineur",
    "naturalisation": "le dépôt de sa demande de naturalisation",
    "autre": "sa démarche",
}
CATEGORIES = ("identite", "titre_sejour", "domicile", "courrier_prefecture", "urgence", "autre")
VOIES = ("rendez_vous", "anef")
MOTIFS = ("emploi", "promesse_embauche", "droits_sociaux", "etudes", "famille", "sante", "logement", "autre")
DILIGENCES = ("centre_contact_citoyen", "point_accueil_numerique", "courrier", "courriel", "autre")
AIDE_JURIDICTIONNELLE = ("demandee", "obtenue")
PIECE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

SHORT = 500  # names, places, titles
LONG = 20_000  # one paragraph


def _err(message: str) -> PydanticCustomError:
    return PydanticCustomError("refere", message)


def _check_date(value: Any) -> dt.date:
    try:
        return dates.parse_date(value)
    except dates.DateFormatError as exc:
        raise _err(str(exc)) from None


def _check_datetime(value: Any) -> dt.datetime:
    try:
        return dates.parse_datetime(value)
    except dates.DateFormatError as exc:
        raise _err(str(exc)) from None


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


def _none_to_empty(value: Any) -> Any:
    return {} if value is None else value


def _as_written(pattern: str):  # in the schema: the forms the loader reads (dates.DATE_PATTERN)
    return lambda schema: (schema.pop("format", None), schema.update(type="string", pattern=pattern))
Date = Annotated[dt.date, BeforeValidator(_check_date), Field(json_schema_extra=_as_written(dates.DATE_PATTERN))]
DateTime = Annotated[dt.datetime, BeforeValidator(_check_datetime), Field(json_schema_extra=_as_written(dates.DATETIME_PATTERN))]


def _real_dates(value: str | None) -> str | None:
    """A date no calendar has, in a text the outputs copy: refused where it is written. A text of
    invisible characters only (U+2060, a soft hyphen…) is empty: the requête would be signed « M. »."""
    if value is not None and all(c.isspace() or unicodedata.category(c) == "Cf" for c in value):
        raise _err("texte vide (seulement des caractères invisibles)")
    wrong = dates.impossible_dates(value) if value else []
    if wrong:
        listed = ", ".join(f"« {w} »" for w in wrong)
        many = len(wrong) > 1
        raise _err(f"date{'s' if many else ''} impossible{'s' if many else ''} dans le texte : {listed} "
                   f"n'exist{'ent' if many else 'e'} pas au calendrier ; corrigez-l{'es' if many else 'a'}, la "
                   f"requête l{'es' if many else 'a'} reprendrait telle{'s' if many else ''} quelle{'s' if many else ''}")
    return value


def _one_line(value: str) -> str:
    """A name, a title, a place: the requête sets it inside a sentence, where a line break (a
    block « | » in the file, a crafted form) would split it (attack 32)."""
    if "\n" in value:  # the other breaks are control characters, refused as such by the loader
        raise _err("ce texte doit tenir sur une seule ligne : retirez le retour à la ligne (écrivez-le à la suite, "
                   "après un espace)")
    return value.replace("\t", " ")  # a tab would leave a gap inside the sentence


# Texts the requête, the letter, the bordereau or a file name copy: the dates they give must exist.
Bare = Annotated[str, Field(min_length=1, max_length=SHORT)]  # an address or a number, not a sentence
Short = Annotated[Bare, AfterValidator(_real_dates), AfterValidator(_one_line)]
Long = Annotated[str, Field(min_length=1, max_length=LONG), AfterValidator(_real_dates)]


@dataclass(frozen=True)
class Source:
    """A file named in the case: as written, where it is, and what it is."""

    written: str
    path: Path
    kind: str  # 'png' | 'jpeg' | 'pdf'
    file: files.Checked | None = field(default=None, compare=False, repr=False)  # verified content

    def __str__(self) -> str:
        return self.written


def _check_source(value: str, info: ValidationInfo) -> Any:
    base = (info.context or {}).get("base")
    if base is None:
        return value
    ahead = (info.context or {}).get("ahead")  # files.check_ahead: begun before the model
    try:
        checked = ahead(value) if ahead is not None else files.check_source(Path(base), value)
    except files.FileKindError as exc:
        raise _err(str(exc)) from None
    return Source(value, checked.path, checked.kind, checked)


SourcePath = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_check_source)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _civilite(value: Any) -> Any:
    if value is None:
        return None
    norm = str(value).strip().rstrip(".").lower()
    table = {"m": "M.", "monsieur": "M.", "mme": "Mme", "madame": "Mme"}
    if norm in table:
        return table[norm]
    raise _err(f"civilité « {value} » non reconnue : écrivez « M. » ou « Mme »")


def _birth(value: dt.date) -> dt.date:
    if value > dates.today():
        raise _err(f"date de naissance dans le futur « {value.isoformat()} »")
    if value.year < 1900:
        raise _err(f"date de naissance invraisemblable « {value.isoformat()} »")
    return value


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_NONE_WORDS = ("aucun", "aucune", "neant", "sans", "sans titre", "pas de titre", "non", "rien", "-", "sans objet")


def _titre_actuel(value: str | None) -> str | None:
    """The document held, as the requête writes it after « titulaire d'un… »: its own article taken off
    (« un récépissé… » is a récépissé); « aucun » is no document at all."""
    if value is None:
        return None
    folded = unicodedata.normalize("NFKD", value.strip().lower()).encode("ascii", "ignore").decode().rstrip(" .")
    if folded in _NONE_WORDS:
        raise _err(f"« {value.strip()} » n'est pas un document : sans titre de séjour, ne remplissez pas ce champ "
                   "(supprimez la ligne)")
    return re.sub(r"^(?:(?:un|une|le|la|les|son|sa|ses|mon|ma|mes)\s+|l['’]\s*)", "", value.strip(),
                  flags=re.IGNORECASE) or value


def _cents(value: float) -> float:
    if abs(value * 100 - round(value * 100)) > 1e-6:  # the requête prints euros and cents: 0.004 read « 0,00 € »
        raise _err(f"montant en euros et centimes attendu (deux décimales au plus), pas « {value!r} »")
    return value


def _decimal_comma(value: Any) -> Any:
    # « 50,5 », « 1 500 », « 50 € » as French writes them (the form sends what was typed): a decimal comma,
    # spaces between groups of three digits (plain, no-break or thin), the euro sign after.
    if isinstance(value, str):
        value = re.sub(r"^\s*€\s*|\s*(?:€|eur|euros?)?(?:\s+par\s+jour)?\s*$", "", value, flags=re.IGNORECASE)
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", value):  # « 1.200,50 »: dots between thousands, then cents
            value = value.replace(".", "")
    if isinstance(value, str) and re.fullmatch(r"\s*[1-9]\d{0,2}\.\d{3}\s*", value):
        # « 1.500 »: fifteen hundred written with a dot, or one and a half? Read as 1,50 € (attack 28): asked.
        cents = value.strip().replace(".", ",").rstrip("0").rstrip(",")
        raise _err(f"montant ambigu « {value.strip()} » : écrivez {value.strip().replace('.', '')} (sans point) "
                   "pour ce nombre d'euros" + (f", ou {cents} pour des euros et centimes" if len(cents) <= len(value.strip()) - 1 else ""))
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,3}(?:[ \u00a0\u202f]\d{3})*(?:,\d+)?\s*|\s*\d+,\d+\s*", value):
        return re.sub(r"[ \u00a0\u202f]", "", value.strip()).replace(",", ".", 1)
    return value


Amount = Annotated[float, BeforeValidator(_decimal_comma), Field(gt=0, le=100_000), AfterValidator(_cents)]

# A number first (« +33 », « (0)1 », « 06 »), then what people add: « poste 204 », « (WhatsApp) ».
PHONE = re.compile(r"^[+(\d][^\x00-\x1f\x7f]*$")


def _phone(value: str | None) -> str | None:
    # Printed under the name in the requête and the letter: a number a court can dial, first (too few
    # or too many digits for a French number: the check's « telephone-incomplet » warning).
    if value is not None and not (PHONE.match(value) and sum(c in "0123456789" for c in value) >= 6):
        raise _err(f"numéro de téléphone invalide « {value} » : le numéro d'abord, par exemple 06 12 34 56 78 "
                   "ou +33 6 12 34 56 78 (poste 204)")
    return value


def _email(value: str | None) -> str | None:
    if value is not None and not EMAIL.match(value):
        raise _err(f"adresse électronique invalide « {value} »")
    return value


def _agdref(value: Any) -> Any:
    if value is None:
        return None
    digits = re.sub(r"\s", "", str(value))
    if not re.fullmatch(r"[0-9]{10}", digits):  # ASCII only: « \d » also takes ٠١٢…
        raise _err(f"numéro étranger (AGDREF) invalide « {value} » : il compte 10 chiffres")
    return digits


class Requerant(Strict):
    civilite: Annotated[Literal["M.", "Mme"] | None, BeforeValidator(_civilite)] = None
    nom: Short
    prenoms: Short
    nom_usage: Short | None = None
    date_naissance: Annotated[Date, AfterValidator(_birth)]
    lieu_naissance: Short
    nationalite: Short
    adresse: Annotated[str, Field(min_length=1, max_length=2000)]
    telephone: Annotated[Bare | None, AfterValidator(_phone)] = None
    courriel: Annotated[Short | None, AfterValidator(_email)] = None
    numero_etranger: Annotated[str | None, BeforeValidator(_agdref)] = None
    # Who lodges the applicant when the address is an attestation d'hébergement: « hébergé chez … ».
    heberge_par: Short | None = None


def _oui_non(value: Any) -> Any:
    """« oui » / « non » as people write them in French, besides true/false."""
    if isinstance(value, str) and value.strip().lower() in ("oui", "non"):
        return value.strip().lower() == "oui"
    return value


def _ascii_choice(value: Any) -> Any:
    """« demandée », « Rendez-vous »: accents, case and dashes as people type them."""
    if not isinstance(value, str):
        return value
    folded = unicodedata.normalize("NFKD", value.strip().lower()).encode("ascii", "ignore").decode()
    return re.sub(r"[\s-]+", "_", folded)


def _piece_id(value: Any) -> Any:
    if value is None:
        return None
    text = str(value).strip()
    if not PIECE_ID.match(text):
        raise _err(f"identifiant « {value} » invalide : lettres minuscules sans accent, chiffres et « - » "
                   "(par exemple « contrat » ou « lettre-employeur »)")
    return text


PieceId = Annotated[str, BeforeValidator(_piece_id)]
Preuves = Annotated[list[PieceId], BeforeValidator(_none_to_list), Field(max_length=50)]


class Procedure(Strict):
    type: Literal[tuple(PROCEDURES)]  # type: ignore[valid-type]
    voie: Annotated[Literal[VOIES], BeforeValidator(_ascii_choice)] = "rendez_vous"  # type: ignore[valid-type]
    titre_actuel: Annotated[Short | None, AfterValidator(_titre_actuel)] = None
    expiration_titre: Date | None = None
    # Joined into a sentence of the requête: its line breaks are spaces there.
    precisions: Annotated[Long | None, AfterValidator(lambda v: " ".join(v.split()) if v else v)] = None
    oqtf: Annotated[bool, BeforeValidator(_oui_non)] = False
    # The case states that no removal measure was taken: the requête says so (never assumed).
    sans_mesure_eloignement: Annotated[bool, BeforeValidator(_oui_non)] = False
    # Why the first attempt came after the titre expired (R. 431-5 CESEDA), with its pièces.
    explication_retard: Long | None = None
    preuves_retard: Preuves = []
    # The pièces showing the application is complete and ready to be filed (CE 435594).
    preuves_dossier: Preuves = []

    @model_validator(mode="after")
    def _autre_needs_precisions(self) -> Procedure:
        if self.type == "autre" and not self.precisions:
            raise _err("procedure.precisions est obligatoire quand le type est « autre »")
        if self.oqtf and self.sans_mesure_eloignement:
            raise _err("procedure.sans_mesure_eloignement et procedure.oqtf se contredisent : une obligation de "
                       "quitter le territoire est une mesure d'éloignement")
        return self

    @property
    def label(self) -> str:
        return PROCEDURES[self.type]

    @property
    def is_renewal(self) -> bool:
        return self.type == "renouvellement_titre_sejour"

    @property
    def is_anef(self) -> bool:
        return self.voie == "anef"


def _departement(value: Any) -> str:
    try:
        return departements.normalize_code(value)
    except RefereError as exc:
        raise _err(exc.message) from None


def _url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://\S+$", value, re.IGNORECASE):  # « HTTPS:// » is one too
        raise _err(f"adresse web invalide « {value} » : elle doit commencer par https://")
    return value


class Prefecture(Strict):
    departement: Annotated[str, BeforeValidator(_departement)]
    site: Short | None = None
    url_rendez_vous: Annotated[Bare | None, AfterValidator(_url)] = None
    adresse: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    prefete: Annotated[bool, BeforeValidator(_oui_non)] = False
    # The pièces showing the préfecture receives only by online appointment.
    preuves_rendez_vous: Preuves = []


def _tribunal_nom(value: str) -> str:
    """« tribunal administratif de Paris », as the requête writes it after « le », « du », « Le … est
    compétent »: the whole name, one space between words, its article taken off, « tribunal
    administratif » in small letters, a name typed in capitals given its own (attacks 30, 31)."""
    name = " ".join(unicodedata.normalize("NFC", value).split())
    name = re.sub(r"^(?:le|l['’])\s*", "", name, flags=re.IGNORECASE)
    folded = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
    if not re.match(r"tribunal administratif (?:de|du|des|d')\s*\w", folded):
        raise _err(f"« {value.strip()} » : écrivez le nom entier du tribunal, par exemple « tribunal administratif de "
                   "Paris » (le référé se présente au tribunal administratif, pas à une cour)")
    rest = name[len("tribunal administratif"):]
    if rest.isupper():  # « DE MELUN »
        rest = re.sub(r"\w+", lambda m: m[0].lower() if m[0].lower() in ("de", "du", "des", "la", "le", "les", "d")
                      else m[0].capitalize(), rest)
    return "tribunal administratif" + rest


class Tribunal(Strict):
    # A name wrapped over two lines is one name: brought to one line before Short's check (attack 31).
    nom: Annotated[Short, BeforeValidator(lambda v: " ".join(v.split()) if isinstance(v, str) else v),
                   AfterValidator(_tribunal_nom)]
    adresse: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class Conseil(Strict):
    qualite: Annotated[Literal["avocat", "association"], BeforeValidator(_ascii_choice)]
    civilite: Annotated[Literal["M.", "Mme"] | None, BeforeValidator(_civilite)] = None
    nom: Short
    barreau: Short | None = None
    toque: Short | None = None
    adresse: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    ville: Short | None = None
    courriel: Annotated[Short | None, AfterValidator(_email)] = None
    telephone: Annotated[Bare | None, AfterValidator(_phone)] = None
    reference: Short | None = None

    @model_validator(mode="after")
    def _barreau_for_avocat(self) -> Conseil:
        if self.barreau and self.qualite != "avocat":
            raise _err("conseil.barreau ne s'emploie que pour un avocat")
        return self


# Online booking of a préfecture appointment does not predate this year: an attempt before it is a
# typing mistake (1900 for 2000, a birth date in the wrong field).
FIRST_ATTEMPT_YEAR = 2000


def _attempt_date(value: dt.datetime) -> dt.datetime:
    if value > dates.now() + dt.timedelta(minutes=5):
        raise _err(f"tentative dans le futur « {value:%Y-%m-%d %H:%M} »")
    if value.year < FIRST_ATTEMPT_YEAR:
        raise _err(f"année invraisemblable pour une tentative « {value:%Y-%m-%d %H:%M} » : la prise de "
                   f"rendez-vous en ligne date au plus tôt de {FIRST_ATTEMPT_YEAR}")
    return value


MAX_TENTATIVES = 2000  # the web and « refere captures » add no more (loader.MAX_NODES is sized for it)
# Characters of every attempt's note together: each is written into the requête, and one long note
# repeated by YAML aliases took it past the template's 10 million characters (attack 19).
MAX_NOTES = 200_000


class Tentative(Strict):
    date: Annotated[DateTime, AfterValidator(_attempt_date)]
    capture: SourcePath | None = None
    resultat: Short | None = None
    note: Long | None = None


class Piece(Strict):
    id: PieceId | None = None
    titre: Short
    categorie: Literal[CATEGORIES] = "autre"  # type: ignore[valid-type]
    fichier: SourcePath | None = None
    # A pièce of one document: a file listed 19,000 times took a build to 600 MB (attack 19).
    fichiers: Annotated[list[SourcePath], Field(min_length=1, max_length=200)] | None = None
    date: Date | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Piece:
        if (self.fichier is None) == (self.fichiers is None):
            raise _err("indiquez soit « fichier » (un fichier), soit « fichiers » (une liste), pas les deux ni aucun")
        return self

    @property
    def sources(self) -> list[Any]:
        return [self.fichier] if self.fichier is not None else list(self.fichiers or [])


class Urgence(Strict):
    """One urgency fact. A plain string in the file is read as ``motif: autre`` and ``libre``."""

    motif: Annotated[Literal[MOTIFS], BeforeValidator(_ascii_choice)] = "autre"  # type: ignore[valid-type]
    fait: Long
    echeance: Date | None = None
    preuves: Preuves = []
    # True when the fact was written as a plain string: printed as written, never as our argument.
    _libre: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _shorthand(cls, value: Any, handler: Any) -> Urgence:
        if not isinstance(value, str):
            return handler(value)
        fact = handler({"motif": "autre", "fait": value})
        fact._libre = True
        return fact

    @property
    def libre(self) -> bool:
        return self._libre


class Diligence(Strict):
    date: Date
    type: Annotated[Literal[DILIGENCES], BeforeValidator(_ascii_choice)] = "autre"  # type: ignore[valid-type]
    description: Long
    preuves: Preuves = []


class Demandes(Strict):
    delai_jours: Annotated[int, Field(ge=1, le=365)] = 15
    rdv_au_plus_tard: Date | None = None
    rdv_sous_jours: Annotated[int, Field(ge=1, le=730)] | None = None
    astreinte_par_jour: Amount | None = None
    frais_l761_1: Amount | None = None
    recepisse_travail: Annotated[bool, BeforeValidator(_oui_non)] = False


class Signature(Strict):
    lieu: Short | None = None
    date: Date | None = None


class Options(Strict):
    captures: Literal["par_semaine", "par_tentative", "unique"] = "par_semaine"


def _version(value: Any) -> int:
    if str(value).strip() != "1":
        raise _err(f"version « {value} » inconnue : la seule version du format est 1 (écrivez « version: 1 »)")
    return 1


class Case(Strict):
    version: Annotated[Literal[1], BeforeValidator(_version)]
    requerant: Requerant
    situation: Long | None = None
    # The pièces proving the situation (family, residence…), cited at its end.
    preuves_situation: Preuves = []
    procedure: Procedure
    prefecture: Prefecture
    tribunal: Tribunal | None = None
    conseil: Conseil | None = None
    aide_juridictionnelle: Annotated[Literal[AIDE_JURIDICTIONNELLE] | None,  # type: ignore[valid-type]
                                     BeforeValidator(_ascii_choice)] = None
    decision_aj: Short | None = None
    tentatives: Annotated[list[Tentative], BeforeValidator(_none_to_list),
                          Field(min_length=1, max_length=MAX_TENTATIVES)]
    pieces: Annotated[list[Piece], BeforeValidator(_none_to_list), Field(max_length=500)] = []
    urgence: Annotated[list[Urgence], BeforeValidator(_none_to_list),
                       Field(max_length=100)] = []
    diligences: Annotated[list[Diligence], BeforeValidator(_none_to_list), Field(max_length=100)] = []
    demandes: Annotated[Demandes, BeforeValidator(_none_to_empty)] = Demandes()
    signature: Annotated[Signature, BeforeValidator(_none_to_empty)] = Signature()
    options: Annotated[Options, BeforeValidator(_none_to_empty)] = Options()

    @property
    def departement(self) -> departements.Departement:
        return departements.table()[self.prefecture.departement]

    @property
    def defendeur(self) -> str:
        """« le préfet du Val-de-Marne », « la préfète … » when the case says so: every place that names him."""
        from refere.affaire.grammaire import defendeur

        return defendeur(self.departement, self.prefecture.prefete)["le_prefet"]

    @property
    def pieces_by_id(self) -> dict[str, int]:
        """Piece id → index in ``pieces``."""
        return {p.id: i for i, p in enumerate(self.pieces) if p.id is not None}


def cross_problems(case: Case) -> list[tuple[tuple, str]]:
    """Rules that involve several fields, as (location, French message)."""
    out: list[tuple[tuple, str]] = []
    sig = case.signature.date
    if sig is not None:
        if sig > dates.today():
            out.append((("signature", "date"), f"date de signature dans le futur « {sig.isoformat()} »"))
        for i, t in enumerate(case.tentatives):
            if t.date.date() > sig:
                out.append(
                    (("tentatives", i, "date"),
                     f"tentative du {t.date:%Y-%m-%d} postérieure à la date de signature ({sig.isoformat()})")
                )
    for i, p in enumerate(case.pieces):
        if p.date is not None and p.date > dates.today():
            out.append((("pieces", i, "date"), f"date dans le futur « {p.date.isoformat()} »"))
    # A step taken is dated by its day: one in the future was printed as done (attack 23).
    for i, d in enumerate(case.diligences):
        if d.date > min(dates.today(), sig or dates.today()):
            out.append((("diligences", i, "date"), f"démarche datée du {d.date.isoformat()}, après "
                        + ("la date de signature" if sig and sig < dates.today() else "aujourd'hui")
                        + " : une démarche se note une fois faite"))
    rdv = case.demandes.rdv_au_plus_tard
    if rdv is not None and rdv <= (sig or dates.today()):
        out.append((("demandes", "rdv_au_plus_tard"), f"date limite du rendez-vous « {rdv.isoformat()} » déjà passée "
                    "au jour de la requête : le juge ne peut pas l'ordonner ; indiquez une date à venir"))
    out += _id_problems(case)
    if case.aide_juridictionnelle == "obtenue" and not case.decision_aj:
        out.append((("aide_juridictionnelle",),
                    "aide juridictionnelle « obtenue » : indiquez la décision dans « decision_aj » "
                    "(bureau, numéro et date)"))
    if case.decision_aj and case.aide_juridictionnelle != "obtenue":
        out.append((("decision_aj",), "« decision_aj » ne s'emploie qu'avec « aide_juridictionnelle: obtenue »"))
    if sum(len(t.note or "") for t in case.tentatives) > MAX_NOTES:
        out.append((("tentatives",), f"notes des tentatives trop longues : plus de {MAX_NOTES:,} caractères en tout "
                                     "(une note dit en une phrase ce qui s'est passé) ; abrégez-les".replace(",", "\u202f")))
    if case.demandes.rdv_au_plus_tard and case.demandes.rdv_sous_jours:
        out.append((("demandes", "rdv_au_plus_tard"),
                    "indiquez soit « rdv_au_plus_tard » (une date), soit « rdv_sous_jours » (un délai), pas les deux"))
    return out


def _id_problems(case: Case) -> list[tuple[tuple, str]]:
    """Duplicate ids, and citations of ids that no pièce has; each names the other place."""
    out: list[tuple[tuple, str]] = []
    first: dict[str, int] = {}
    for i, p in enumerate(case.pieces):
        if p.id is None:
            continue
        if p.id in first:
            out.append((("pieces", i, "id"),
                        f"identifiant « {p.id} » déjà employé par une autre pièce "
                        f"({{ligne:pieces,{first[p.id]},id}}) : chaque identifiant est unique"))
        else:
            first[p.id] = i
    cited: list[tuple[tuple, list[str]]] = [
        ((section, i, "preuves"), item.preuves)
        for section in ("urgence", "diligences") for i, item in enumerate(getattr(case, section))]
    cited += [(("preuves_situation",), case.preuves_situation),
              (("procedure", "preuves_retard"), case.procedure.preuves_retard),
              (("procedure", "preuves_dossier"), case.procedure.preuves_dossier),
              (("prefecture", "preuves_rendez_vous"), case.prefecture.preuves_rendez_vous)]
    for where, refs in cited:
        for k, ref in enumerate(refs):
            if ref not in first:
                known = ", ".join(f"« {x} »" for x in first) or "aucune pièce n'a encore de clé « id »"
                out.append(((*where, k), f"aucune pièce n'a l'identifiant « {ref} » (identifiants connus : {known})"))
    return out
