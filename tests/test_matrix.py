"""The built-in template over a covering matrix of cases, read back and scanned for broken French.

Axes: civilité × procedure × counsel × aide juridictionnelle × route. The full product is 144
requêtes; a pairwise covering set (every value of every axis, and every pair of values of two
axes, in at least one requête) catches the same agreement mistakes in a fraction of the time.
"""

from __future__ import annotations

import itertools
import re

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from conftest import write_case
from refere.preuves import rules
from refere.pieces import plan
from refere.requete import render
from refere.affaire.loader import load

AXES = {
    "civilite": ["M.", "Mme", None],
    "procedure": ["renouvellement_titre_sejour", "changement_de_statut", "admission_exceptionnelle_sejour"],
    "conseil": [None, "avocat", "avocate", "association"],
    "aj": [None, "demandee"],
    "voie": ["rendez_vous", "anef"],
}


def pairwise(axes: dict[str, list]) -> list[dict]:
    """A greedy covering set: every pair of values of two axes appears in some row."""
    names = list(axes)
    todo = {((a, va), (b, vb)) for a, b in itertools.combinations(names, 2) for va in axes[a] for vb in axes[b]}
    rows = []
    while todo:
        best, gain = None, -1
        for combo in itertools.product(*(axes[n] for n in names)):
            row = dict(zip(names, combo))
            g = sum(1 for (a, va), (b, vb) in todo if row[a] == va and row[b] == vb)
            if g > gain:
                best, gain = row, g
        rows.append(best)
        todo = {((a, va), (b, vb)) for (a, va), (b, vb) in todo if not (best[a] == va and best[b] == vb)}
    return rows


ROWS = pairwise(AXES)

COUNSEL = {
    "avocat": {"qualite": "avocat", "civilite": "M.", "nom": "Me Paul DURAND", "barreau": "Seine-Saint-Denis",
               "toque": "PB 42", "adresse": "5 place du Marché, 93200 Saint-Denis", "telephone": "01 48 00 00 00",
               "courriel": "p.durand@example.org", "reference": "D-2025-7"},
    "avocate": {"qualite": "avocat", "civilite": "Mme", "nom": "Jeanne MARTIN", "barreau": "Lyon",
                "adresse": "10 quai Saint-Antoine\n69002 Lyon", "courriel": "jm@example.org"},
    "association": {"qualite": "association", "nom": "La Cimade Île-de-France",
                    "adresse": "1 rue Hippolyte-Maindron\n75014 Paris"},
}
SIGNATURE_TOWN = {None: "Saint-Denis", "avocat": "Saint-Denis", "avocate": "Lyon", "association": "Saint-Denis"}


def case_data(row: dict, k: int) -> dict:
    attempts = ["2025-03-03 08:55", "2025-03-04 00:05", "2025-03-06 14:10", "2025-03-10 08:50",
                "2025-03-12 23:55", "2025-03-14 08:40", "2025-03-17 08:59", "2025-03-18 00:10",
                "2025-03-20 19:30", "2025-03-21 08:45"]
    requerant = {"nom": "Diallo", "prenoms": "Aïssatou", "date_naissance": "1991-04-12",
                 "lieu_naissance": "Conakry (Guinée)", "nationalite": "guinéenne",
                 "adresse": "12 rue de la République, 93200 Saint-Denis"}
    if row["civilite"]:
        requerant["civilite"] = row["civilite"]
    procedure = {"type": row["procedure"], "voie": row["voie"]}
    if row["procedure"] != "admission_exceptionnelle_sejour":
        procedure.update(titre_actuel="carte de séjour temporaire", expiration_titre="2025-05-31")
    data = {
        "version": 1,
        "requerant": requerant,
        "procedure": procedure,
        "prefecture": {"departement": "93"},
        "tentatives": [{"date": a, "capture": f"captures/c{i:02d}.png"} for i, a in enumerate(attempts)],
        "pieces": [
            {"id": "passeport", "titre": "Passeport", "categorie": "identite", "fichier": "pieces/passeport.pdf"},
            {"id": "titre", "titre": "Carte de séjour", "categorie": "titre_sejour", "fichier": "pieces/titre.pdf"},
            {"titre": "Courriel à la préfecture du 12 mars 2025", "categorie": "courrier_prefecture",
             "fichier": "pieces/courriel.pdf", "date": "2025-03-12"},
            {"id": "contrat", "titre": "Contrat de travail", "categorie": "urgence", "fichier": "pieces/contrat.pdf"},
            {"id": "caf", "titre": "Notification de la CAF", "categorie": "urgence", "fichier": "pieces/caf.pdf"},
            {"id": "ccc", "titre": "Réponse du centre de contact citoyen", "categorie": "autre",
             "fichier": "pieces/ccc.pdf"},
        ],
        "urgence": [
            {"motif": "emploi", "fait": "son contrat de travail à durée indéterminée sera suspendu le 31 mai 2025",
             "echeance": "2025-05-31", "preuves": ["contrat", "titre"]},
            {"motif": "droits_sociaux", "fait": "la CAF a annoncé la suspension de ses allocations",
             "preuves": ["caf"]},
        ],
        "demandes": {"astreinte_par_jour": 50, "frais_l761_1": 1200},
        "signature": {"date": "2025-03-28"},
    }
    if row["procedure"] == "admission_exceptionnelle_sejour":
        # No titre allows work: a job offer, never a job held (an avowal the requête would not argue).
        data["urgence"][0] = {"motif": "promesse_embauche", "fait": "la société Bâtir lui propose un contrat de travail "
                              "à durée indéterminée à compter du 31 mai 2025", "echeance": "2025-05-31",
                              "preuves": ["contrat", "titre"]}
    if k % 2:  # the applicant's own words, in some rows: quoted, never argued in the first person
        data["urgence"].append("Je ne peux plus payer mon loyer depuis que mes allocations sont suspendues.")
    if row["voie"] == "anef":
        data["diligences"] = [
            {"date": "2025-03-07", "type": "centre_contact_citoyen",
             "description": "formulaire « Je n'arrive pas à déposer ma demande » envoyé ; réponse automatique, sans suite",
             "preuves": ["ccc"]},
            {"date": "2025-03-13", "type": "point_accueil_numerique",
             "description": "au point d'accueil numérique de Bobigny, le dépôt a échoué de nouveau"},
        ]
    elif k % 3 == 0:
        data["prefecture"]["url_rendez_vous"] = "https://www.seine-saint-denis.gouv.fr/booking/create/1"
    if row["conseil"]:
        data["conseil"] = COUNSEL[row["conseil"]]
    if row["aj"]:
        data["aide_juridictionnelle"] = row["aj"]
    return data


def paragraphs(path):
    doc = Document(str(path))
    return doc.paragraphs


def outside_quotes(text: str) -> str:
    """The text with every « … » (nested too) removed."""
    out, depth = [], 0
    for ch in text:
        if ch == "«":
            depth += 1
        elif ch == "»":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


BROKEN = re.compile(r"\b(?:de le|à le|de les|à les|le la|la le)\b", re.IGNORECASE)
DOUBLED = re.compile(r"(?<!\.)[.;,:][\s\u00a0]*[.;,:](?!\.)")
FIRST_PERSON = re.compile(r"(?<![\w'’])(?:je|moi|mon|ma|mes|me|nous|notre|nos)(?!\w)|(?<![\w'’])[jm]['’](?=\w)",
                          re.IGNORECASE)
ENDS = re.compile(r"(?:[.;:]|[.!?…][\s\u00a0]*»)$")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("matrice") / "affaire"


def test_matrix_covers_every_pair():
    assert len(ROWS) < 40
    for a, b in itertools.combinations(AXES, 2):
        for va, vb in itertools.product(AXES[a], AXES[b]):
            assert any(r[a] == va and r[b] == vb for r in ROWS), (a, va, b, vb)


def render_row(folder, row, k):
    case = load(write_case(folder, case_data(row, k)))
    inv = plan.make(case)
    report = rules.check(case)
    out = folder.parent / f"requete-{k:02d}.docx"
    render.render(render.context(case, inv, report), out)
    return case, report, out


@pytest.mark.parametrize("k", range(len(ROWS)), ids=[
    "-".join(str(v or "aucun") for v in r.values()) for r in ROWS])
def test_requete_reads_as_correct_french(folder, k):
    row = ROWS[k]
    _, report, out = render_row(folder, row, k)
    assert not report.blocking
    paras = paragraphs(out)
    raw = "\n".join(p.text for p in paras).replace("\u2019", "'")  # needles typed with « ' »
    # Article numbers carry a non-breaking hyphen (U+2011): never split across lines.
    assert re.search(r"[LRD]\.\u00a0\d+-\d", raw) is None
    text = raw.replace("\u2011", "-")
    flat = text.replace("\u00a0", " ")

    # Agreement and elision.
    assert not BROKEN.search(text), BROKEN.search(text)
    assert "Maître Maître" not in text and "Maître Me " not in text
    assert "né(e)" not in text and "DIRE que" not in text
    assert not DOUBLED.search(text), DOUBLED.search(text)[0] + " in " + text[max(0, DOUBLED.search(text).start() - 60):][:120]
    assert not FIRST_PERSON.search(outside_quotes(text)), FIRST_PERSON.search(outside_quotes(text))

    # Every body paragraph of running text ends its sentence.
    for p in paras:
        t = p.text.strip()
        if not t or p.style.name != "Normal" or p.alignment in (WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT):
            continue
        assert ENDS.search(t), f"paragraphe sans ponctuation finale : {t[-80:]!r}"

    # Conclusions: « ; » each, « . » the last.
    body = [p.text.replace("\u2019", "'") for p in paras]
    start = next(i for i, t in enumerate(body) if t == "PAR CES MOTIFS")
    items = [t for t in body[start:] if t.startswith("– ")]
    assert len(items) >= 3
    assert all(t.endswith(";") for t in items[:-1]) and items[-1].endswith(".") and not items[-1].endswith("..")
    assert items[0].startswith("– ADMETTRE") is (row["aj"] == "demandee")

    # Applicant forms.
    if row["civilite"] == "M.":
        assert ", né le 12 avril 1991" in text and "requérante" not in text
    elif row["civilite"] == "Mme":
        assert ", née le 12 avril 1991" in text and "la requérante" in text and "le requérant" not in text
    else:
        assert "date et lieu de naissance" in flat and "la partie requérante" in text
        assert "le requérant" not in text and "la requérante" not in text
    assert "de nationalité guinéenne" in text

    # Route: required and forbidden citations.
    cesdea_431_2 = "R. 431-2 du code de l'entrée et du séjour des étrangers et du droit d'asile"
    if row["voie"] == "anef":
        for needle in ("n° 452798", cesdea_431_2, "impossibilité constatée", "centre de contact citoyen",
                       "(pièce n° 9)", "n° 435594"):
            assert needle in flat, needle
        # The attestation prolongs a titre: asked only when one is held (not for an admission exceptionnelle).
        held = row["procedure"] != "admission_exceptionnelle_sejour"
        assert ("attestation de prolongation de l'instruction" in flat) is held
        assert "un récépissé de demande de titre de séjour" in flat
        assert "461694" not in text and "aucun créneau" not in text
    else:
        for needle in ("CE, avis, 3 juin 2022, n° 461694", "CE, 10 juin 2020, n° 435594",
                       "v. aussi CE, avis, 1er juillet 2020, n° 436288",
                       "ne sauraient être écartées au seul motif qu'elles sont anonymes (CE, 21 avril 2021, n° 448178)"):
            assert needle in flat, needle
        assert "452798" not in text and cesdea_431_2 not in flat
    if row["procedure"] == "renouvellement_titre_sejour":
        # Concrete facts follow: the presumption alone, without the generic loss of job and rights.
        assert "la condition d'urgence est en principe constatée (CE, 9 juin 2022, n° 453391)." in flat
        assert "perdre son emploi et ses droits sociaux" not in flat
        # First attempt 3 March, titre expiring 31 May: every attempt precedes the two months (from 31 March).
        assert ("R. 431-5" in flat) is (row["voie"] == "anef") and "avant même l'ouverture" not in flat
    else:
        assert ("« circonstances particulières caractérisant la nécessité pour lui d'obtenir rapidement ce "
                "rendez-vous » (CE, 9 juin 2022, n° 453391)") in flat
        assert "R. 431-5" not in text
    # Urgency argued with its pièces (titre n° 2, contrat n° 7, CAF n° 8 in this inventory).
    assert "(pièces n° 2 et 7)" in flat and "(pièce n° 8)" in flat
    # L. 8251-1: for a titre the applicant holds, his job; for AES, the job offered, which supposes the
    # examination of his demand (never « que seul l'enregistrement … permet d'obtenir »).
    holds = row["procedure"] != "admission_exceptionnelle_sejour"
    assert "L. 8251-1 du code du travail" in flat and "que seul l'enregistrement" not in flat
    assert ("Cette embauche suppose une autorisation de travail (article L. 8251-1 du code du travail), qui ne peut "
            "lui être accordée qu'au terme de l'examen de sa demande" in flat) is not holds
    assert ("C'est avant cette date" in flat) is (row["procedure"] == "renouvellement_titre_sejour")
    # The dossier is said « complet et prêt » only with a pièce; here none is cited.
    assert "a réuni les pièces nécessaires à sa demande." in flat and "complet et prêt" not in flat
    # FIXER: the day before the earliest échéance (31 May 2025, a Saturday) → Friday 30 May; outside
    # renewal the échéance is a job's date, 15 days before it → Friday 16 May.
    if row["voie"] == "rendez_vous":
        day = "30 mai 2025" if row["procedure"] == "renouvellement_titre_sejour" else "16 mai 2025"
        assert f"FIXER ce rendez-vous au plus tard le {day}" in flat

    # Facts: figures in words, the titre with its pièce, the written request in one sentence.
    assert ("a effectué dix tentatives" + (" de dépôt" if row["voie"] == "anef" else "")
            + ", entre le 3 et le 21 mars 2025, réparties sur trois semaines distinctes et dix jours différents") in flat
    assert ("avant 9 h" in flat) is (row["voie"] != "anef")
    if row["procedure"] != "admission_exceptionnelle_sejour":
        assert "titulaire d'une carte de séjour temporaire, qui expire le 31 mai 2025 (pièce n° 2)." in flat
    assert re.search(r"Par courriel du 12 mars 2025 \(pièce n° \d+\), (?:le requérant|la requérante|la partie "
                     r"requérante) a (?:sollicité|signalé)[^;]+ ; ce courriel est resté sans réponse\.", flat)
    assert "d'une demande écrite restée sans réponse" in flat or row["voie"] == "anef"
    if row["voie"] == "anef":
        il = "il" if row["civilite"] == "M." else "elle"
        assert (f"– le 7 mars 2025, {il} a saisi le centre de contact citoyen de l'ANEF : formulaire") in flat
        # A description naming the service is not preceded by it a second time.
        # … and a description without a verb of its own is the clause itself, never after « la démarche suivante : ».
        assert ("– le 13 mars 2025, au point d'accueil numérique de Bobigny, le dépôt a échoué de nouveau."
                in flat) and "démarche suivante" not in flat
        assert "avant même l'ouverture" not in flat
        assert ("dans ce délai, dès le 3 mars 2025" in flat) is (row["procedure"] == "renouvellement_titre_sejour")
    if row["procedure"] == "changement_de_statut":
        assert "sa demande de titre de séjour en changement de statut" in flat and "statut de son titre" not in flat

    # Counsel.
    c = row["conseil"]
    lawyer = c in ("avocat", "avocate")
    assert ("élisant domicile au cabinet de son conseil" in text) is lawyer
    assert ("dispensée du ministère d'avocat" in text) is not lawyer
    assert f"Fait à {SIGNATURE_TOWN[c]}, le 28 mars 2025." in text
    if c == "avocat":
        assert "Maître Paul DURAND, avocat au barreau de la Seine-Saint-Denis, toque\u00a0PB\u00a042" in text
        assert "Référence du cabinet : D-2025-7" in flat
    if c == "avocate":
        assert "Maître Jeanne MARTIN, avocate au barreau de Lyon" in text
    if c == "association":
        # Art. 4 loi n° 71-1130: an association neither represents nor signs; domicile only.
        assert "ayant pour conseil" not in text and "L'association" not in text
        assert ("élisant domicile auprès de l'association La Cimade "
                "Île-de-France, 1\u00a0rue Hippolyte-Maindron, 75014\u00a0Paris.") in text
    if not lawyer:
        # The applicant signs himself.
        sig = body[body.index(f"Fait à {SIGNATURE_TOWN[c]}, le 28 mars 2025."):]
        assert sig[1].startswith(("M. ", "Mme ", "Aïssatou")) and "(signature)" in sig[2] and "Pour " not in sig[1]
    else:
        assert any(t.startswith("Pour ") for t in body[start:])
        # A lawyer's Télérecours login is the signature: no « (signature) » under the lawyer's name.
        assert not any("(signature)" in t for t in body[start:])
    # Costs: art. 37 al. 2 only for a lawyer under aide juridictionnelle, L. 761-1 in the alternative.
    art37 = ("articles L. 761-1 du code de justice administrative et 37, alinéa 2, de la loi n° 91-647"
             in flat)
    assert art37 is (lawyer and row["aj"] == "demandee")
    assert "L. 761-1" in flat.split("PAR CES MOTIFS")[1]
    assert ("dans l'hypothèse où" in flat and "ne serait pas admis" in flat) is art37
    # Never two « En l'espèce » in one paragraph or in two paragraphs running.
    espece = [("en l'espèce" in t.lower()) for t in body]
    assert not any(a and b for a, b in zip(espece, espece[1:]))
    assert not any(t.lower().count("en l'espèce") > 1 for t in body)


def test_scanners_catch_what_they_look_for():
    """The scans above would see the mistakes of the first release."""
    assert BROKEN.search("Le titre de séjour de le requérant") and BROKEN.search("refusé un rendez-vous à le requérant")
    assert not BROKEN.search("de la requérante, au requérant, de l'intéressé")
    assert DOUBLED.search("l'article R. 412-1 du CESEDA.. Ensuite") and DOUBLED.search("jours ;.")
    assert not DOUBLED.search("L. 521-3, v. aussi CE, avis, n° 436288 ; (pièce n° 7).")
    assert not ENDS.search("à l'adresse suivante") and ENDS.search("« Je pars. »") and ENDS.search("fin.")
    assert FIRST_PERSON.search(outside_quotes("Mon titre expire")) and FIRST_PERSON.search("j'ai perdu")
    assert not FIRST_PERSON.search(outside_quotes("elle expose : « Je ne peux plus payer mon loyer. »"))
