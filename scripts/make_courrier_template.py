"""Generate templates/courrier-prefecture.docx, the letter asking the préfecture for an appointment.

Run: python scripts/make_courrier_template.py   (a test checks that the committed .docx matches)
The template holds Jinja tags for docxtpl; refere/courrier.py builds its context.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Mm, Pt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from make_template import FONT, _font, french_spaces, save  # noqa: E402

OUT = ROOT / "templates" / "courrier-prefecture.docx"


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(11.5)
    normal.element.rPr.rFonts.set("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia", FONT)
    _font(normal)
    pf = normal.paragraph_format
    pf.space_after = Pt(8)
    pf.line_spacing = 1.15
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    # Address lines: no space between them; the e-mail body keeps them together too.
    bloc = doc.styles.add_style("Bloc", WD_STYLE_TYPE.PARAGRAPH)
    bloc.base_style = normal
    bloc.paragraph_format.space_after = Pt(0)
    bloc.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT


def build(out: Path = OUT) -> Path:
    doc = Document()
    _styles(doc)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Cm(2.5)
    sec.top_margin, sec.bottom_margin = Cm(2), Cm(2)

    def p(text: str = "", style: str | None = None, bold: bool = False, right: bool = False, indent=None):
        para = doc.add_paragraph(style=style)
        if text:
            run = para.add_run(french_spaces(text))
            if bold:
                run.bold = True
        if right:
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if indent is not None:
            para.paragraph_format.left_indent = indent
        return para

    def tag(text: str):
        return doc.add_paragraph(text)

    tag("{%p for ligne in expediteur %}")
    p("{{ ligne }}", "Bloc")
    tag("{%p endfor %}")
    tag("{%p if numero_etranger %}")
    p("Numéro étranger (AGDREF) : {{ numero_etranger }}", "Bloc")
    tag("{%p endif %}")
    p()
    tag("{%p for ligne in destinataire %}")
    p("{{ ligne }}", "Bloc", indent=Cm(9))
    tag("{%p endfor %}")
    p()
    p("À {{ lieu }}, le {{ date }}", right=True)
    p()
    p("Objet : {{ objet }}", bold=True)
    p()
    p("Madame, Monsieur,")
    tag("{%p if phrases.intro %}")
    p("{{ phrases.intro }}")
    tag("{%p endif %}")
    p("{{ phrases.situation }}{% if phrases.titre %} {{ phrases.titre }}{% endif %}")
    p("{{ phrases.tentatives }}")
    tag("{%p for t in tentatives %}")
    p("– {{ t.date }} : {{ t.resultat }}{% if loop.last %}.{% else %} ;{% endif %}", "Bloc", indent=Cm(0.6))
    tag("{%p endfor %}")
    p()
    tag("{%p if diligences %}")
    p("{{ phrases.diligences }}")
    tag("{%p for d in diligences %}")
    p("– {{ d }}{% if loop.last %}.{% else %} ;{% endif %}", "Bloc", indent=Cm(0.6))
    tag("{%p endfor %}")
    p()
    tag("{%p endif %}")
    tag("{%p if urgences %}")
    p("{{ phrases.urgences }}")
    tag("{%p for u in urgences %}")
    p("– {{ u }}{% if loop.last %}.{% else %} ;{% endif %}", "Bloc", indent=Cm(0.6))
    tag("{%p endfor %}")
    p()
    tag("{%p endif %}")
    tag("{%p if phrases.urgence %}")
    p("{{ phrases.urgence }}")
    tag("{%p endif %}")
    p("{{ phrases.demande }} {{ phrases.reponse }}")
    p("{{ phrases.recours }}")
    p("Je vous prie d'agréer, Madame, Monsieur, l'expression de ma considération distinguée.")
    p()
    tag("{%p if signataire.pour %}")
    p("{{ signataire.pour }}", right=True)
    tag("{%p endif %}")
    p("{{ signataire.nom }}", right=True, bold=True)

    return save(doc, out, "Demande de rendez-vous à la préfecture")


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
