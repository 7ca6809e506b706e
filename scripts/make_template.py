"""Generate templates/requete-refere-mesures-utiles.docx, the built-in Word template.

Run: python scripts/make_template.py   (a test checks that the committed .docx matches this)
The template holds Jinja tags for docxtpl; see docs/modeles.md for every variable.
"""

from __future__ import annotations

import datetime as dt
import re
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
from refere.affaire.grammaire import articles  # noqa: E402
from refere.modeles.docxzip import normalize  # noqa: E402

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
    """French typography: a no-break space before « : ; ? ! » and inside guillemets, and the
    typographic apostrophe (’) in the words, never inside a Jinja tag."""
    for a, b in ((" :", NBSP + ":"), (" ;", NBSP + ";"), (" ?", NBSP + "?"), (" !", NBSP + "!"),
                 ("« ", "«" + NBSP), (" »", NBSP + "»"), ("n° ", "n°" + NBSP)):
        text = text.replace(a, b)
    text = "".join(part if part.startswith(("{{", "{%")) else part.replace("'", "\u2019")
                   for part in re.split(r"(\{\{.*?\}\}|\{%.*?%\})", text))
    # « L. 911-1 », « R. 431-2 »: the letter never alone at the end of a line, the number never split.
    return articles(text)


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

    def keep(para):
        para.paragraph_format.keep_with_next = True
        return para

    tag("{%p if conseil and conseil.reference %}")
    p("Référence du cabinet : {{ conseil.reference }}", right=True)
    tag("{%p endif %}")
    p("REQUÊTE EN RÉFÉRÉ MESURES UTILES", "Title")
    p("(article L. 521-3 du code de justice administrative)", center=True, italic=True)
    p()
    p("À Madame ou Monsieur le juge des référés", center=True, bold=True)
    p("du {{ tribunal.nom }}", center=True, bold=True)
    tag("{%p for ligne in tribunal.adresse_lignes %}")
    p("{{ ligne }}", center=True)
    tag("{%p endfor %}")

    p("POUR :", "Heading 2")
    p("{{ requerant.designation }}, {{ requerant.naissance }}, {{ requerant.de_nationalite }}, "
      "{{ requerant.domicile }}{% if requerant.numero_etranger %}, numéro étranger (AGDREF) "
      "{{ requerant.numero_etranger }}{% endif %}{% if requerant.telephone %}, téléphone : "
      "{{ requerant.telephone }}{% endif %}{% if requerant.courriel %}, courriel : "
      "{{ requerant.courriel }}{% endif %} ;")
    # An association neither represents nor signs (art. 4 loi n° 71-1130): domicile only.
    tag("{%p if conseil and conseil.avocat %}")
    p("ayant pour conseil {{ conseil.designation }}, et élisant domicile au cabinet de son conseil.")
    tag("{%p elif conseil and conseil.election_domicile %}")
    p("{{ conseil.election_domicile }}")
    tag("{%p endif %}")
    tag("{%p if aide_juridictionnelle.phrase %}")
    p("{{ aide_juridictionnelle.phrase }}")
    tag("{%p endif %}")

    p("CONTRE :", "Heading 2")
    p("{{ defendeur.Le_prefet }}{% if prefecture.site_texte %} (site : {{ prefecture.site_texte }}){% endif %}"
      "{% if defendeur.adresse_lignes %},{% else %}.{% endif %}")
    tag("{%p for ligne in defendeur.adresse_lignes %}")
    p("{{ ligne }}{% if loop.last %}.{% endif %}")
    tag("{%p endfor %}")

    p("{{ requerant.Le_requerant }} demande au juge des référés, sur le fondement de l'article "
      "L. 521-3 du code de justice administrative, d'enjoindre {{ defendeur.au_prefet }} "
      "{% if procedure.anef %}d'enregistrer {{ procedure.demande }}"
      "{% else %}de lui fixer un rendez-vous pour {{ procedure.libelle }}{% endif %}, pour les motifs suivants.")

    p("I. FAITS", "Heading 1")
    tag("{%p if faits.situation %}")
    p("{{ faits.situation }}")
    tag("{%p endif %}")
    p("{{ faits.objet }}")
    tag("{%p if procedure.titre_phrase %}")
    p("{{ procedure.titre_phrase }}")
    tag("{%p endif %}")
    tag("{%p if faits.dossier %}")
    p("{{ faits.dossier }}")
    tag("{%p endif %}")
    tag("{%p if procedure.anef %}")
    # « comme le montrent les captures » only when some attempt has one: never a proof the dossier lacks.
    p("{{ chiffres.phrase }} {% if chiffres.nombre > 1 %}À chaque fois, le{% else %}Le{% endif %} téléservice a "
      "empêché le dépôt de la demande{% if lecture.citation %}"
      " ; {{ chiffres.comme_captures }}, il affichait : {{ lecture.citation }}{% elif chiffres.comme_captures %}, "
      "{{ chiffres.comme_captures }}.{% else %}.{% endif %} Le détail des tentatives figure ci-dessous.")
    tag("{%p else %}")
    p("Cette démarche suppose l'obtention préalable d'un rendez-vous, que la préfecture n'attribue "
      "que par son service de prise de rendez-vous en ligne{% if faits.en_ligne_ref %} {{ faits.en_ligne_ref }}"
      "{% endif %}{% if prefecture.url %}, à l'adresse suivante :{% else %}.{% endif %}")
    tag("{%p if prefecture.url %}")
    p("{{ prefecture.url }}", center=True)
    tag("{%p endif %}")
    # The site's message, as every capture's reading gives it, quoted once; unread, the plain sentence.
    # « À chaque fois » only when there were several (a single attempt: a draft, --brouillon).
    p("{{ chiffres.phrase }} {% if lecture.citation %}{% if chiffres.nombre > 1 %}À chaque fois, {% else %}Ce "
      "jour-là, {% endif %}{{ chiffres.comme_captures }}, le service affichait : {{ lecture.citation }}{% else %}"
      "{% if chiffres.nombre > 1 %}À chaque fois, le{% else %}Le{% endif %} service a répondu qu'aucun créneau n'était "
      "disponible{% if chiffres.comme_captures %}, {{ chiffres.comme_captures }}{% endif %}.{% endif %} "
      "Le détail des tentatives figure ci-dessous.")
    tag("{%p endif %}")

    _table(doc, ("N°", "Date", "Heure", "Résultat", "Preuve"),
           (Cm(0.9), Cm(5.0), Cm(1.8), Cm(4.6), Cm(3.7)), "for t in tentatives",
           ("{{ t.numero }}", "{{ t.date }}", "{{ t.heure }}",
            "{{ t.resultat }}{% if t.note %} ({{ t.note }}){% endif %}", "{{ t.preuve }}"))
    p()
    # The same attempts as a picture, week by week, then its text equivalent.
    keep(p("Les mêmes tentatives, semaine par semaine (heures de Paris) :"))
    p("{{ calendrier }}", center=True)

    tag("{%p if courriers_texte.phrase %}")
    p("{{ courriers_texte.phrase }}")
    tag("{%p elif courriers_texte.lignes %}")
    keep(p("{{ courriers_texte.intro }}"))
    tag("{%p for ligne in courriers_texte.lignes %}")
    keep(p("– {{ ligne }}"))
    tag("{%p endfor %}")
    p("{{ courriers_texte.conclusion }}")
    tag("{%p endif %}")
    tag("{%p if diligences %}")
    p("{% if procedure.anef %}{{ requerant.Le_requerant }} a sollicité l'accompagnement que l'administration "
      "doit offrir aux usagers du téléservice :{% else %}{{ requerant.Le_requerant }} a en outre accompli les "
      "démarches suivantes :{% endif %}")
    tag("{%p for x in diligences %}")
    p("– {{ x.phrase }}")
    tag("{%p endfor %}")
    tag("{%p endif %}")
    tag("{%p if procedure.anef %}")
    p("{% if diligences %}Malgré ces démarches, {{ requerant.le_requerant }}{% else %}{{ requerant.Le_requerant }}"
      "{% endif %} se trouve dans l'impossibilité constatée de déposer sa demande au moyen du téléservice, pour "
      "des raisons tenant à son fonctionnement.")
    tag("{%p endif %}")

    p("II. DISCUSSION", "Heading 1")
    p("A. Sur la compétence du juge des référés et la recevabilité de la requête", "Heading 2")
    p("Aux termes de l'article L. 521-3 du code de justice administrative : « En cas d'urgence et sur "
      "simple requête qui sera recevable même en l'absence de décision administrative préalable, le juge "
      "des référés peut ordonner toutes autres mesures utiles sans faire obstacle à l'exécution d'aucune "
      "décision administrative. »")
    p("La requête étant recevable, en vertu de l'article L. 521-3, même en l'absence de décision administrative "
      "préalable, l'exigence de production d'une décision posée par l'article R. 412-1 du code de justice "
      "administrative est sans objet."
      "{% if not (conseil and conseil.avocat) %} La requête est dispensée du ministère d'avocat (articles R. 522-5 "
      "et R. 431-2 du code de justice administrative).{% endif %}")
    p("Le {{ tribunal.nom }} est territorialement compétent, {{ defendeur.le_prefet }} ayant son siège dans "
      "son ressort (articles R. 312-1 et R. 221-3 du code de justice administrative).")

    p("B. Sur l'urgence", "Heading 2")
    p("{{ urgence_intro }}")
    tag("{%p if urgence_titre %}")
    p("{{ urgence_titre }}")
    tag("{%p endif %}")
    tag("{%p if urgence_retard %}")
    p("{{ urgence_retard }}")
    tag("{%p endif %}")
    tag("{%p if procedure.fenetre %}")
    p("{{ procedure.fenetre }}")
    tag("{%p endif %}")
    tag("{%p for u in urgence_paragraphes %}")
    p("{{ u }}")
    tag("{%p endfor %}")
    tag("{%p if urgence_manque %}")
    p("{{ urgence_manque }}", bold=True)
    tag("{%p endif %}")
    tag("{%p if urgence_delai_bref %}")
    p("{{ urgence_delai_bref }}")
    tag("{%p endif %}")
    p("Les tentatives répétées {{ requerant.du_requerant }} depuis le {{ chiffres.premiere }} montrent en outre "
      "que la situation ne se résoudra pas d'elle-même.")
    tag("{%p if procedure.oqtf %}")
    p("Par loyauté, {{ requerant.le_requerant }} indique qu'une obligation de quitter le territoire "
      "français lui a été notifiée. Il appartient au juge d'apprécier si, dans les circonstances "
      "particulières exposées ci-dessus, l'urgence demeure caractérisée (CE, 9 juin 2022, n° 453391).")
    tag("{%p endif %}")

    p("C. Sur l'utilité de la mesure", "Heading 2")
    tag("{%p if procedure.anef %}")
    p("Il appartient à l'administration d'enregistrer une demande complète dans un délai raisonnable. "
      "Lorsque l'étranger établit n'avoir pu accomplir en ligne les démarches qui conditionnent cet "
      "enregistrement, le juge des référés, saisi sur le fondement de l'article L. 521-3, peut enjoindre au "
      "préfet d'y procéder dans un délai qu'il fixe (CE, 10 juin 2020, n° 435594 ; CE, 9 juin 2022, n° 453391).")
    p("L'article R. 431-2 du code de l'entrée et du séjour des étrangers et du droit d'asile, qui impose le "
      "dépôt en ligne des demandes de titres qu'il énumère, prévoit que l'étranger bénéficie d'un "
      "accompagnement et que, lorsqu'il est dans l'impossibilité constatée d'utiliser le téléservice pour des "
      "raisons tenant à sa conception ou à son mode de fonctionnement, alors qu'il a accompli les diligences "
      "qui lui incombent, notamment en recourant à cet accompagnement, une solution de substitution lui est "
      "proposée. Le Conseil d'État a jugé que l'obligation de recourir à un téléservice n'est légale qu'à la "
      "condition que soient prévus un tel accompagnement et une solution de substitution (CE, Section, "
      "3 juin 2022, n° 452798).")
    p("En l'espèce, {{ requerant.le_requerant }} justifie {{ chiffres.de_resume }}{% if diligences %}, et des démarches d'accompagnement exposées ci-dessus, "
      "restées sans effet{% endif %}. L'impossibilité d'utiliser le téléservice est ainsi constatée, et la "
      "mesure demandée est utile.")
    # The document asked from the registration: its ground, as in the other branch.
    tag("{%p if moyen_recepisse %}")
    p("{{ moyen_recepisse }}")
    tag("{%p endif %}")
    tag("{%p elif faits.recepisse %}")
    p("Aux termes de l'article R. 431-12 du code de l'entrée et du séjour des étrangers et du droit d'asile, "
      "l'étranger admis à souscrire une demande de délivrance ou de renouvellement de titre de séjour se voit "
      "remettre un récépissé qui autorise sa présence sur le territoire pour la durée qu'il précise. Tant qu'il "
      "n'a pas été statué sur sa demande, {{ requerant.le_requerant }} doit pouvoir justifier de la régularité "
      "de son séjour, et ce récépissé ne peut être renouvelé que sur rendez-vous{% if faits.en_ligne_ref %} "
      "{{ faits.en_ligne_ref }}{% endif %}.")
    p("Lorsque le rendez-vous ne peut être obtenu que par voie électronique et que l'étranger établit n'avoir "
      "pu l'obtenir malgré plusieurs tentatives n'ayant pas été effectuées la même semaine, le juge des "
      "référés, saisi sur le fondement de l'article L. 521-3, peut enjoindre au préfet de lui communiquer une "
      "date de rendez-vous dans un délai qu'il fixe (CE, 10 juin 2020, n° 435594).")
    tag("{%p if chiffres.comme_captures %}")
    p("Les captures d'écran de la page de prise de rendez-vous ne sauraient être écartées au seul motif "
      "qu'elles sont anonymes (CE, 21 avril 2021, n° 448178).")
    tag("{%p endif %}")
    p("En l'espèce, {{ requerant.le_requerant }} justifie {{ chiffres.de_resume }}{% if courriers_texte.utilite %}, "
      "ainsi que {{ courriers_texte.utilite }}{% endif %}. La mesure demandée, qui seule permet le renouvellement "
      "du récépissé, est donc utile.")
    tag("{%p else %}")
    p("Il appartient à l'administration de recevoir l'étranger et d'enregistrer une demande complète "
      "dans un délai raisonnable. Lorsque le rendez-vous ne peut être obtenu que par voie "
      "électronique et que l'étranger établit n'avoir pu l'obtenir malgré plusieurs tentatives n'ayant "
      "pas été effectuées la même semaine, le juge des référés, saisi sur le fondement de l'article "
      "L. 521-3, peut enjoindre au préfet de lui communiquer une date de rendez-vous dans un délai qu'il "
      "fixe, et fixer la date avant laquelle ce rendez-vous doit avoir lieu (CE, 10 juin 2020, n° 435594 ; "
      "v. aussi CE, avis, 1er juillet 2020, n° 436288).")
    p("Les services en ligne de prise de rendez-vous sont des téléservices ; pour les demandes qui ne "
      "relèvent pas du téléservice de l'administration numérique des étrangers en France, le préfet ne pouvait "
      "ni ne peut rendre obligatoire la prise de rendez-vous en ligne (CE, avis, 3 juin 2022, n° 461694). "
      "L'étranger qui n'obtient pas de rendez-vous par ce moyen ne saurait donc être privé de toute possibilité "
      "de présenter sa demande.")
    tag("{%p if chiffres.comme_captures %}")
    p("Les captures d'écran de la page de prise de rendez-vous ne sauraient être écartées au seul motif "
      "qu'elles sont anonymes (CE, 21 avril 2021, n° 448178).")
    tag("{%p endif %}")
    p("En l'espèce, {{ requerant.le_requerant }} justifie {{ chiffres.de_resume }}{% if courriers_texte.utilite %}, ainsi que {{ courriers_texte.utilite }}"
      "{% endif %}. La mesure demandée est donc utile.")
    tag("{%p if moyen_recepisse %}")
    p("{{ moyen_recepisse }}")
    tag("{%p endif %}")
    tag("{%p endif %}")

    p("D. Sur l'absence d'obstacle à l'exécution d'une décision administrative et de contestation sérieuse",
      "Heading 2")
    p("Aucune décision administrative n'a refusé {% if procedure.anef %}d'enregistrer la demande "
      "{{ requerant.du_requerant }}{% else %}un rendez-vous {{ requerant.au_requerant }}{% endif %} : "
      "l'injonction demandée ne fait obstacle à l'exécution d'aucune décision. Elle ne se heurte à "
      "aucune contestation sérieuse, {% if faits.recepisse %}le droit de l'étranger dont la demande est en cours "
      "d'instruction de justifier de la régularité de son séjour{% else %}le droit de voir sa demande "
      "enregistrée{% endif %} n'étant pas discutable.")

    p("PAR CES MOTIFS", "Heading 1")
    keep(p("{{ requerant.Le_requerant }} demande au juge des référés, sur le fondement des articles L. 521-3, "
           "L. 911-1 et L. 911-3 du code de justice administrative, de :"))
    tag("{%p for c in conclusions %}")
    # The signature block never stands alone on a page: the last conclusion and it stay together.
    keep(p("– {{ c }}"))
    tag("{%p endfor %}")
    keep(p())
    keep(p("Fait à {{ signature.lieu }}, le {{ signature.date }}.", right=True))
    # Only a lawyer signs for the applicant; with an association the applicant signs himself.
    tag("{%p if conseil and conseil.avocat %}")
    keep(p("Pour {{ requerant.designation }},", right=True))
    keep(p("{{ conseil.maitre }}", right=True, bold=True))
    keep(p("{{ conseil.avocat_mot }}{% if conseil.au_barreau %} {{ conseil.au_barreau }}{% endif %}", right=True))
    tag("{%p else %}")
    keep(p("{{ requerant.designation }}", right=True, bold=True))
    # The applicant signs by hand (or by Télérecours); a lawyer's Télérecours login is the signature:
    # no « (signature) » placeholder under a lawyer's name.
    p("(signature)", right=True, italic=True)
    tag("{%p endif %}")

    br = doc.add_paragraph()
    br.add_run().add_break(WD_BREAK.PAGE)
    p("BORDEREAU DES PIÈCES", "Heading 1")
    p("Pièces produites à l'appui de la requête (article R. 412-2 du code de justice administrative), "
      "chacune dans un fichier dont le nom commence par son numéro :")
    _table(doc, ("N°", "Pièce", "Pages"), (Cm(1.1), Cm(12.6), Cm(2.3)), "for piece in pieces",
           ("{{ piece.numero }}", "{{ piece.titre }}", "{{ piece.pages }}"))

    return save(doc, out, "Requête en référé mesures utiles")


def save(doc, out: Path, title: str) -> Path:
    """Fixed properties and a normalised archive: the script always writes the same bytes."""
    props = doc.core_properties
    props.author = "refere"
    props.last_modified_by = "refere"
    props.title = title
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
