"""Generate templates/requete-refere-mesures-utiles.docx, the built-in Word template.

Run: python scripts/make_template.py   (a test checks that the committed .docx matches this)
The template holds Jinja tags for docxtpl; see docs/modeles.md for every variable.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from refere.docxzip import normalize  # noqa: E402

OUT = ROOT / "templates" / "requete-refere-mesures-utiles.docx"
FONT = "Liberation Serif"  # metric-compatible with Times New Roman, present with LibreOffice


def _field(paragraph, code: str) -> None:
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, code), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._r.append(el)
        elif text == code:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {code} "
            run._r.append(instr)
        else:
            t = OxmlElement("w:t")
            t.text = text
            run._r.append(t)


NBSP = "\u00a0"


def french_spaces(text: str) -> str:
    """French typography: a no-break space before « : ; ? ! » and inside guillemets."""
    for a, b in ((" :", NBSP + ":"), (" ;", NBSP + ";"), (" ?", NBSP + "?"), (" !", NBSP + "!"),
                 ("« ", "«" + NBSP), (" »", NBSP + "»"), ("n° ", "n°" + NBSP)):
        text = text.replace(a, b)
    return text


def _font(style) -> None:
    """Name the font outright: python-docx's heading styles point at theme fonts, which win."""
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def _table(doc, headers: tuple[str, ...], widths: tuple, loop: str, cells: tuple[str, ...]):
    """A table whose second row loops with docxtpl's {%tr %}; fixed column widths."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    for col, w in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths):
        col.set(qn("w:w"), str(int(w.twips)))
    texts = (headers, (f"{{%tr {loop} %}}",) + ("",) * (len(headers) - 1), cells,
             ("{%tr endfor %}",) + ("",) * (len(headers) - 1))
    for row, row_texts in zip(table.rows, texts):
        for cell, w, text in zip(row.cells, widths, row_texts):
            cell.width = w
            para = cell.paragraphs[0]
            para.style = doc.styles["Tableau"]
            if text:
                para.add_run(text).bold = row_texts is headers
    _repeat_header(table.rows[0])
    return table


def _styles(doc) -> None:
    st = doc.styles
    normal = st["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(12)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    pf = normal.paragraph_format
    pf.space_after = Pt(6)
    pf.line_spacing = 1.15
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    for name, size, before in (("Title", 15, 0), ("Heading 1", 13, 18), ("Heading 2", 12, 12)):
        s = st[name]
        s.font.name = FONT
        s.font.size = Pt(size)
        s.font.bold = True
        s.font.color.rgb = RGBColor(0, 0, 0)
        _font(s)
        s.paragraph_format.space_before = Pt(before)
        s.paragraph_format.space_after = Pt(6)
        s.paragraph_format.keep_with_next = True
        s.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER if name == "Title" else WD_ALIGN_PARAGRAPH.LEFT
    _font(normal)
    table_style = st.add_style("Tableau", WD_STYLE_TYPE.PARAGRAPH)
    table_style.base_style = normal
    table_style.font.size = Pt(10.5)
    table_style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    table_style.paragraph_format.space_after = Pt(0)
    table_style.paragraph_format.line_spacing = 1.0
    border = st["Title"].element.pPr.find(qn("w:pBdr"))
    if border is not None:  # python-docx's Title has a rule under it; a court document does not
        st["Title"].element.pPr.remove(border)


def build(out: Path = OUT) -> Path:
    doc = Document()
    _styles(doc)
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Cm(2.5)
    sec.top_margin, sec.bottom_margin = Cm(2.2), Cm(2)

    head = sec.header.paragraphs[0]
    head.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    r = head.add_run("RÉFÉRÉ")
    r.bold = True
    r.font.size = Pt(14)
    draft = sec.header.add_paragraph()
    draft.alignment = WD_ALIGN_PARAGRAPH.CENTER
    r = draft.add_run("{% if brouillon %}PROJET — document de travail, à relire avant tout dépôt{% endif %}")
    r.bold = True
    r.font.color.rgb = RGBColor(0xC0, 0, 0)

    foot = sec.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    foot.add_run("page ")
    _field(foot, "PAGE")
    foot.add_run(" sur ")
    _field(foot, "NUMPAGES")

    def p(text: str = "", style: str | None = None, bold: bool = False, center: bool = False,
          italic: bool = False, right: bool = False):
        para = doc.add_paragraph(style=style)
        if text:
            run = para.add_run(french_spaces(text))
            # Only ever switch on: an explicit « off » would override the paragraph's style.
            if bold:
                run.bold = True
            if italic:
                run.italic = True
        if center:
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if right:
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        return para

    def tag(text: str):
        return doc.add_paragraph(text)

    p("REQUÊTE EN RÉFÉRÉ MESURES UTILES", "Title")
    p("(article L. 521-3 du code de justice administrative)", center=True, italic=True)
    p()
    p("À Madame ou Monsieur le juge des référés", center=True, bold=True)
    p("du {{ tribunal.nom }}", center=True, bold=True)
    tag("{%p for ligne in tribunal.adresse_lignes %}")
    p("{{ ligne }}", center=True)
    tag("{%p endfor %}")

    p("POUR :", "Heading 2")
    p("{{ requerant.designation }}, {{ requerant.ne }} le {{ requerant.date_naissance }} à "
      "{{ requerant.lieu_naissance }}, de nationalité {{ requerant.nationalite }}, demeurant "
      "{{ requerant.adresse }}{% if requerant.numero_etranger %}, numéro étranger (AGDREF) "
      "{{ requerant.numero_etranger }}{% endif %}{% if requerant.telephone %}, téléphone : "
      "{{ requerant.telephone }}{% endif %}{% if requerant.courriel %}, courriel : "
      "{{ requerant.courriel }}{% endif %} ;")
    tag("{%p if conseil %}")
    p("ayant pour conseil {{ conseil.designation }}.")
    tag("{%p endif %}")

    p("CONTRE :", "Heading 2")
    p("{{ defendeur.nom_capitalise }}{% if prefecture.site %} ({{ prefecture.site }}){% endif %}.")

    p("{{ requerant.Le_requerant }} demande au juge des référés, sur le fondement de l'article "
      "L. 521-3 du code de justice administrative, d'enjoindre {{ defendeur.au_nom }} de lui fixer "
      "un rendez-vous pour {{ procedure.libelle }}, pour les motifs suivants.")

    p("I. FAITS", "Heading 1")
    p("{{ requerant.Le_requerant }} doit se présenter en préfecture pour {{ procedure.libelle }}"
      "{% if procedure.precisions %} : {{ procedure.precisions }}{% endif %}.")
    tag("{%p if procedure.titre_actuel %}")
    p("{{ requerant.Il }} est titulaire d'un titre de séjour ({{ procedure.titre_actuel }})"
      "{% if procedure.expiration %}, qui {% if procedure.expiration_passee %}a expiré{% else %}expire{% endif %}"
      " le {{ procedure.expiration }}{% endif %}.")
    tag("{%p elif procedure.expiration %}")
    p("Son titre de séjour {% if procedure.expiration_passee %}a expiré{% else %}expire{% endif %} le "
      "{{ procedure.expiration }}.")
    tag("{%p endif %}")
    p("Cette démarche suppose l'obtention préalable d'un rendez-vous, que la préfecture n'attribue "
      "que par son service de prise de rendez-vous en ligne{% if prefecture.url %}, à l'adresse "
      "suivante :{% endif %}")
    tag("{%p if prefecture.url %}")
    p("{{ prefecture.url }}", center=True)
    tag("{%p endif %}")
    p("{{ chiffres.phrase }} À chaque fois, le service a répondu qu'aucun créneau n'était disponible, "
      "comme le montrent les captures d'écran produites. Le détail des tentatives figure ci-dessous.")

    _table(doc, ("N°", "Date", "Heure", "Résultat", "Preuve"),
           (Cm(1.1), Cm(4.3), Cm(1.9), Cm(4.9), Cm(3.8)), "for t in tentatives",
           ("{{ t.numero }}", "{{ t.date }}", "{{ t.heure }}",
            "{{ t.resultat }}{% if t.note %} ({{ t.note }}){% endif %}", "{{ t.preuve }}"))
    p()

    tag("{%p if courriers %}")
    p("{{ requerant.Le_requerant }} a en outre demandé un rendez-vous par écrit à la préfecture :")
    tag("{%p for c in courriers %}")
    p("– {{ c.titre }}{{ c.complement_date }} (pièce n° {{ c.numero }}) ;")
    tag("{%p endfor %}")
    p("ces demandes sont restées sans réponse utile.")
    tag("{%p endif %}")
    tag("{%p if urgence %}")
    p("Sa situation est la suivante :")
    tag("{%p for u in urgence %}")
    p("– {{ u }}")
    tag("{%p endfor %}")
    tag("{%p endif %}")

    p("II. DISCUSSION", "Heading 1")
    p("A. Sur la compétence du juge des référés et la recevabilité de la requête", "Heading 2")
    p("Aux termes de l'article L. 521-3 du code de justice administrative : « En cas d'urgence et sur "
      "simple requête qui sera recevable même en l'absence de décision administrative préalable, le juge "
      "des référés peut ordonner toutes autres mesures utiles sans faire obstacle à l'exécution d'aucune "
      "décision administrative. »")
    p("La présente requête ne tend à l'annulation d'aucune décision : aucune décision n'est produite au "
      "sens de l'article R. 412-1 du code de justice administrative, l'article L. 521-3 n'en exigeant pas. "
      "Elle est dispensée du ministère d'avocat (articles R. 522-5 et R. 431-2 du même code).")
    p("Le {{ tribunal.nom }} est territorialement compétent, {{ defendeur.nom }} ayant son siège dans "
      "son ressort (articles R. 312-1 et R. 221-3 du code de justice administrative).")

    p("B. Sur l'urgence", "Heading 2")
    tag("{%p if procedure.renouvellement %}")
    p("S'agissant du renouvellement d'un titre de séjour, la condition d'urgence est en principe "
      "regardée comme remplie (CE, 9 juin 2022, n° 453391) : l'impossibilité de déposer la demande avant "
      "l'expiration du titre prive l'intéressé de la preuve de la régularité de son séjour et du "
      "récépissé qui y est attaché, et l'expose à la perte de son emploi et de ses droits sociaux.")
    tag("{%p else %}")
    p("Pour une démarche autre que le renouvellement d'un titre, l'urgence s'apprécie au regard des "
      "circonstances particulières de l'espèce (CE, 9 juin 2022, n° 453391).")
    tag("{%p endif %}")
    tag("{%p if procedure.expiration %}")
    p("Le titre de séjour de {{ requerant.le_requerant }} {% if procedure.expiration_passee %}a expiré"
      "{% else %}expire{% endif %} le {{ procedure.expiration }} ; faute de rendez-vous, "
      "{{ requerant.il }} ne peut obtenir le récépissé qui lui permettrait de justifier de la régularité "
      "de son séjour.")
    tag("{%p endif %}")
    tag("{%p if urgence %}")
    p("Les circonstances exposées au I (situation de {{ requerant.le_requerant }}) caractérisent "
      "{% if procedure.renouvellement %}en outre {% endif %}l'urgence.")
    tag("{%p endif %}")
    p("Enfin, les tentatives répétées de {{ requerant.le_requerant }} depuis le {{ chiffres.premiere }} "
      "montrent que la situation ne se résoudra pas d'elle-même.")
    tag("{%p if procedure.oqtf %}")
    p("Par loyauté, {{ requerant.le_requerant }} indique qu'une obligation de quitter le territoire "
      "français lui a été notifiée. Il appartient au juge d'apprécier si, dans les circonstances "
      "particulières exposées ci-dessus, l'urgence demeure caractérisée (CE, 9 juin 2022, n° 453391).")
    tag("{%p endif %}")

    p("C. Sur l'utilité de la mesure", "Heading 2")
    p("Il appartient à l'administration de recevoir l'étranger et d'enregistrer une demande complète "
      "dans un délai raisonnable. Lorsque le rendez-vous ne peut être obtenu que par voie "
      "électronique et que l'étranger établit n'avoir pu l'obtenir malgré plusieurs tentatives n'ayant "
      "pas été effectuées la même semaine, le juge des référés, saisi sur le fondement de l'article "
      "L. 521-3, peut enjoindre au préfet de lui communiquer une date de rendez-vous dans un délai qu'il "
      "fixe (CE, 10 juin 2020, n° 435594 ; CE, avis, 1er juillet 2020, n° 436288).")
    p("Les captures d'écran de la page de prise de rendez-vous indiquant l'absence de créneau sont "
      "un mode de preuve admis (CE, 21 avril 2021, n° 448178). L'administration qui impose la prise de "
      "rendez-vous en ligne doit en outre offrir une solution de substitution (CE, Section, 3 juin 2022, "
      "n° 452798 ; article R. 431-2 du code de l'entrée et du séjour des étrangers et du droit d'asile).")
    p("En l'espèce, {{ requerant.le_requerant }} justifie de {{ chiffres.tentatives_texte }}, "
      "sur {{ chiffres.semaines_texte }}, du {{ chiffres.premiere }} au "
      "{{ chiffres.derniere }}{% if courriers %}, ainsi que de demandes écrites restées sans "
      "réponse{% endif %}. La mesure demandée est donc utile.")

    p("D. Sur l'absence d'obstacle à l'exécution d'une décision administrative et de contestation sérieuse",
      "Heading 2")
    p("Aucune décision administrative n'a refusé un rendez-vous à {{ requerant.le_requerant }} : "
      "l'injonction demandée ne fait obstacle à l'exécution d'aucune décision. Elle ne se heurte à "
      "aucune contestation sérieuse, le droit de voir sa demande enregistrée n'étant pas discutable.")

    p("PAR CES MOTIFS", "Heading 1")
    p("{{ requerant.Le_requerant }} demande au juge des référés de :")
    p("– ENJOINDRE {{ defendeur.au_nom }} de lui communiquer, dans un délai de "
      "{{ demandes.delai_jours }} jours à compter de la notification de l'ordonnance à intervenir, une "
      "date de rendez-vous pour {{ procedure.libelle }} ;")
    tag("{%p if demandes.rdv_sous_jours %}")
    p("– DIRE que ce rendez-vous devra avoir lieu dans un délai de {{ demandes.rdv_sous_jours }} jours "
      "à compter de la même notification ;")
    tag("{%p endif %}")
    tag("{%p if demandes.astreinte %}")
    p("– ASSORTIR cette injonction d'une astreinte de {{ demandes.astreinte }} par jour de retard ;")
    tag("{%p endif %}")
    tag("{%p if demandes.frais %}")
    p("– METTRE À LA CHARGE de l'État la somme de {{ demandes.frais }} au titre de l'article "
      "L. 761-1 du code de justice administrative.")
    tag("{%p endif %}")
    p()
    p("Fait à {{ signature.lieu }}, le {{ signature.date }}.", right=True)
    tag("{%p if conseil %}")
    p("Pour {{ requerant.designation }},", right=True)
    p("{{ conseil.nom }}", right=True, bold=True)
    tag("{%p else %}")
    p("{{ requerant.designation }}", right=True, bold=True)
    tag("{%p endif %}")
    p("(signature)", right=True, italic=True)

    br = doc.add_paragraph()
    br.add_run().add_break(WD_BREAK.PAGE)
    p("BORDEREAU DES PIÈCES", "Heading 1")
    p("Pièces produites à l'appui de la requête (article R. 412-2 du code de justice administrative), "
      "chacune dans un fichier dont le nom commence par son numéro :")
    _table(doc, ("N°", "Pièce", "Pages"), (Cm(1.1), Cm(12.6), Cm(2.3)), "for piece in pieces",
           ("{{ piece.numero }}", "{{ piece.titre }}", "{{ piece.pages }}"))

    props = doc.core_properties
    props.author = "refere"
    props.last_modified_by = "refere"
    props.title = "Requête en référé mesures utiles"
    props.comments = ""
    props.created = props.modified = dt.datetime(2025, 1, 1)
    props.revision = 1
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(out)
    normalize(out)
    return out


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
