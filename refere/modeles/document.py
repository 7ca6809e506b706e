"""The .docx side of a template: opened only once it passed the zip checks, its parts as Jinja
sees them, rendered in the sandbox with every problem in French."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jinja2

from refere.errors import RefereError, TemplateError
from refere.modeles.messages import _undefined_fr, jinja_source, part_label, problem_fr, report, where
from refere.modeles.sandbox import _BUDGET, _PART, _RECORD, _Budget


# --- the .docx side --------------------------------------------------------------------------------

PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")  # docxtpl renders these


def _docx_class():
    from docxtpl import DocxTemplate

    class Docx(DocxTemplate):
        """Knows which part it is rendering, so that a problem says where it sits."""

        def render_xml_part(self, src_xml, part, context, jinja_env=None):
            if getattr(self, "refere_tolerant", False) and jinja_env is not None:
                src_xml = _without_broken_paragraphs(src_xml, jinja_env)
            token = _PART.set((part_label(str(part.partname)), jinja_source(src_xml)))
            try:
                xml = super().render_xml_part(src_xml, part, context, jinja_env)
                # The rendered XML is checked for fields as build checks its output: a template
                # may assemble « INCLUDE » ~ « PICTURE » that no tag of the source shows.
                self.__dict__.setdefault("refere_rendered", []).append((str(part.partname).lstrip("/"), xml))
                return xml
            except Exception as exc:
                exc.refere_where = _PART.get()
                raise
            finally:
                _PART.reset(token)

        def render_properties(self, context, jinja_env=None):
            # As docxtpl does, one property at a time, so that a problem names its property.
            for prop in PROPERTIES:
                initial = getattr(self.docx.core_properties, prop) or ""
                token = _PART.set((f"propriété « {prop} » du document", initial))
                try:
                    rendered = jinja_env.from_string(initial).render(context)
                except Exception as exc:
                    exc.refere_where = _PART.get()
                    raise
                finally:
                    _PART.reset(token)
                setattr(self.docx.core_properties, prop, rendered)

    return Docx


def _without_broken_paragraphs(xml: str, env: jinja2.Environment) -> str:
    """The verifier's render goes on past a paragraph whose tags do not even parse (already reported, with
    its paragraph, by the analysis): its tag marks are taken out, so the other paragraphs' problems (« conseil
    est vide »…) are found in the same run. A block left open to the end cannot be cut out: left as it is."""
    import re

    lines = jinja_source(xml).split("\n")
    tried: set[int] = set()
    while len(tried) < 50:
        try:
            env.parse("\n".join(lines))
            break
        except jinja2.TemplateSyntaxError as exc:
            k = exc.lineno
            if not k or k in tried or not 1 <= k <= len(lines):
                return xml
            tried.add(k)
            lines[k - 1] = re.sub(r"[{}%]", "", lines[k - 1])
    else:
        return xml
    return re.sub(r"\n<w:p([ >])", r"<w:p\1", "\n".join(lines)) if tried else xml


def open_docx(path: Path):
    """A DocxTemplate of a file that passed the safety checks; TemplateError otherwise."""
    from refere.modeles import docxzip

    if not path.is_file():
        raise TemplateError(f"modèle introuvable « {path} »")
    problems = docxzip.safety_problems(path)
    if problems:
        raise TemplateError(report(path, problems))
    try:
        tpl = _docx_class()(str(path))
        tpl.refere_path = path
        tpl.init_docx()  # docxtpl opens lazily; open now so a bad file fails here, in French
        tpl.docx.part  # noqa: B018 — a .docx without its main part fails here, not mid-render
        body = tpl.docx.element.body
    except Exception as exc:
        from lxml import etree

        if _opendocument(path):  # a sound LibreOffice file read as « damaged » (attack 21)
            raise TemplateError(f"« {path.name} » est un document OpenDocument (LibreOffice), pas un document Word : "
                                "ouvrez-le et enregistrez-le au format Word (.docx)") from None
        why = "XML illisible ou trop imbriqué" if isinstance(exc, etree.XMLSyntaxError) else "structure interne incorrecte"
        raise TemplateError(f"« {path.name} » n'est pas un document Word (.docx) lisible ({why})") from None
    if body is None:  # <w:document/> alone: Word shows nothing, docxtpl would fail mid-render
        raise TemplateError(f"« {path.name} » n'est pas un document Word (.docx) lisible (document sans corps)")
    return tpl


def _opendocument(path: Path) -> bool:
    """Whether ``path`` is an OpenDocument file (its first entry names its type, as the format asks)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            with z.open("mimetype") as fh:
                return fh.read(64).startswith(b"application/vnd.oasis.opendocument")
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, ValueError):
        return False


def raw_parts(tpl) -> list[tuple[str, str]]:
    """(where, XML as stored) for every part docxtpl renders, before docxtpl rewrites its tags."""
    parts = [("corps du document", tpl.get_xml())]
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        for _, part in tpl.get_headers_footers(uri):
            parts.append((part_label(str(part.partname)), tpl.get_part_xml(part)))
    for part in tpl.docx.part.package.parts:
        if part.content_type.endswith(".footnotes+xml"):
            blob = part.blob.decode("utf-8", "replace") if isinstance(part.blob, bytes) else part.blob
            parts.append((part_label(str(part.partname)), blob))
    return parts


def template_parts(tpl) -> list[tuple[str, str]]:
    """(where, source as Jinja sees it) for every part docxtpl renders."""
    parts = [(label, jinja_source(tpl.patch_xml(xml))) for label, xml in raw_parts(tpl)]
    for prop in PROPERTIES:
        value = getattr(tpl.docx.core_properties, prop) or ""
        if "{" in value:
            parts.append((f"propriété « {prop} » du document", value))
    return parts


def _render_collect(path: Path, env: jinja2.Environment, ctx: dict[str, Any]) -> list[str]:
    """Render once, recording every unknown name and refused filter value instead of stopping."""
    tpl = open_docx(path)
    tpl.refere_tolerant = True  # past a paragraph that does not parse: every other problem in one run
    found: list = []
    rec_token, budget_token = _RECORD.set(found), _BUDGET.set(_Budget())
    problems = []
    try:
        tpl.render(ctx, env, autoescape=True)
    except Exception as exc:  # the first problem that cannot be stepped over
        problems.append(problem_fr(exc))
    else:
        from refere.modeles import docxzip

        for name, xml in getattr(tpl, "refere_rendered", []):
            problems += [f"document produit : {p}" for p in docxzip.field_problems(name, xml)
                         + docxzip.binding_problems(name, xml)]
    finally:
        _RECORD.reset(rec_token)
        _BUDGET.reset(budget_token)
    for (label, src), lineno, kind, detail in found:
        loc = where(label, src, lineno)
        if kind == "undefined":
            problems.append(f"{loc} : {_undefined_fr(detail, src, lineno)}")
        else:
            problems.append(f"{loc} : {detail.message}")
    return problems



@dataclasses.dataclass(frozen=True)
class Picture:
    """A PNG for the context: it becomes a docxtpl InlineImage of the document being rendered."""

    png: bytes
    width_mm: float
    # A picture taller than this at ``width_mm`` is made smaller to fit: an inline picture taller
    # than the page is cut off by Word and LibreOffice (a long calendar lost its last weeks).
    max_height_mm: float | None = None

    def inline(self, tpl: Any) -> Any:
        import io

        from docx.shared import Mm
        from docxtpl import InlineImage

        width, height = int.from_bytes(self.png[16:20], "big"), int.from_bytes(self.png[20:24], "big")
        if self.max_height_mm and width and height * self.width_mm / width > self.max_height_mm:
            return InlineImage(tpl, io.BytesIO(self.png), height=Mm(self.max_height_mm))
        return InlineImage(tpl, io.BytesIO(self.png), width=Mm(self.width_mm))


def precompile(path: Path, env: jinja2.Environment) -> None:
    """Compile each part of the template at ``path`` into ``env``'s cache (SandboxEnv keeps them
    by text) before any case is rendered: a batch's parent does it once before its workers fork.
    The texts are the ones docxtpl's render gives ``from_string`` (body, headers and footers,
    properties); should docxtpl prepare them otherwise, a render only compiles them again."""
    import re

    tpl = open_docx(path)
    tpl.render_init()
    parts = [tpl.patch_xml(tpl.get_xml())]
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        parts += [tpl.patch_xml(tpl.get_part_xml(part)) for _, part in tpl.get_headers_footers(uri)]
    for xml in parts:
        env.from_string(re.sub(r"<w:p([ >])", r"\n<w:p\1", xml))
    for prop in PROPERTIES:
        env.from_string(getattr(tpl.docx.core_properties, prop) or "")


def render_docx(path: Path, env: jinja2.Environment, ctx: dict[str, Any]):
    """The rendered DocxTemplate (not saved); TemplateError with where and why otherwise."""
    tpl = open_docx(path)
    # An image belongs to the document it goes in: made here, where that document exists.
    ctx = {k: v.inline(tpl) if isinstance(v, Picture) else v for k, v in ctx.items()}
    token = _BUDGET.set(_Budget())
    try:
        tpl.render(ctx, env, autoescape=True)
    except RefereError:
        raise
    except Exception as exc:
        raise TemplateError(report(path, [problem_fr(exc)], build=True)) from None
    finally:
        _BUDGET.reset(token)
    return tpl
