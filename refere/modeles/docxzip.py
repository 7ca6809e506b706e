"""Make a .docx byte-identical from run to run: fixed timestamps and order inside the archive."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from lxml import etree

FIXED = (1980, 1, 1, 0, 0, 0)


def normalize(path: Path) -> None:
    with zipfile.ZipFile(path) as zin:
        items = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    items = _without_unused_links(items)
    # [Content_Types].xml must stay first for some readers; keep the writer's order otherwise.
    tmp = path.with_suffix(path.suffix + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items:
            info = zipfile.ZipInfo(name, FIXED)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    tmp.replace(path)


# --- safety of a .docx that came from outside ----------------------------------------------------

MAX_TOTAL = 50 * 1024 * 1024  # uncompressed bytes of the whole archive
MAX_MEMBERS = 2000
MAX_XML = 2 * 1024 * 1024  # one XML part: a long requête with a letterhead is well under 1 Mo
MAX_RATIO = 200  # uncompressed / compressed, for members big enough to matter
RATIO_FLOOR = 1024 * 1024

# External relationships: Word follows them by itself when it opens the file (fetching a URL, a
# template, an OLE source…). A hyperlink is only followed when the reader clicks it.
SAFE_LINK = re.compile(r"^(https?://|mailto:|#)", re.IGNORECASE)
# Field instructions Word runs by itself (reads a file or a URL, starts a DDE conversation).
# Word reads field codes case-insensitively, so the match is too.
FIELD_CODES = re.compile(r"^\s*(INCLUDEPICTURE|INCLUDETEXT|LINK|DDEAUTO|DDE|IMPORT)\b", re.IGNORECASE)
HYPERLINK_FIELD = re.compile(r"^\s*HYPERLINK\b(.*)$", re.IGNORECASE | re.DOTALL)
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = "{%s}" % W_NS
# Relationship kinds (last part of the Type URI) a plain Word document uses. Anything else —
# altChunk/aFChunk (imported HTML, RTF or MHT Word renders), attachedTemplate, subDocument,
# oleObject, package, control… — is refused: an allow-list, because new kinds keep appearing.
SAFE_KINDS = frozenset({
    "officeDocument", "core-properties", "extended-properties", "custom-properties", "thumbnail",
    "styles", "stylesWithEffects", "numbering", "settings", "fontTable", "webSettings", "theme",
    "header", "footer", "footnotes", "endnotes", "image", "hyperlink", "comments",
    "commentsExtended", "commentsIds", "commentsExtensible", "people", "customXml", "customXmlProps",
    "font", "glossaryDocument",
})
ACTIVE_PART = re.compile(r"(vbaProject|vbaData|/activeX/|/embeddings/.*\.bin$)", re.IGNORECASE)
ACTIVE_TYPE = re.compile(r"macroEnabled|vbaProject|activeX|oleObject", re.IGNORECASE)


def safety_problems(path: Path, sizes: bool = True) -> list[str]:
    """Why this .docx must not be used, in French (empty: safe). The sizes are read from the
    archive's directory, before anything is inflated; zipfile stops at the declared size.
    ``sizes=False`` for a document refere wrote itself: only what it would fetch or run."""
    try:
        if sizes and path.stat().st_size > MAX_TOTAL:
            # Data hidden outside the archive's members would still be read (hashed, copied).
            return [f"fichier de {path.stat().st_size // (1024 * 1024)} Mo : refusé (au plus {MAX_TOTAL // (1024 * 1024)} Mo)"]
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return ["ce n'est pas un document Word (.docx) lisible"]
    with zf:
        infos = zf.infolist()
        if sizes and (problem := _size_problem(infos)):
            return [problem]
        problems = []
        names = {i.filename for i in infos}
        if len(names) < len(infos):
            # Word reads one of the twins, the template engine the other: what is checked is not what is filled.
            seen: set[str] = set()
            twice = sorted({i.filename for i in infos if i.filename in seen or seen.add(i.filename)})
            return [f"archive incohérente : la partie « {twice[0]} » y figure deux fois ; "
                    "réenregistrez le modèle dans Word"]
        for name in sorted(names):
            if ACTIVE_PART.search(name):
                problems.append(f"contenu actif (macro, ActiveX ou objet OLE) « {name} » : refusé ; "
                                "enregistrez le modèle en .docx sans macros")
        try:
            types = zf.read("[Content_Types].xml").decode("utf-8", "replace") if "[Content_Types].xml" in names else ""
            if ACTIVE_TYPE.search(types):
                problems.append("le document déclare des macros ou des objets actifs (.docm) : refusé ; "
                                "enregistrez-le en « Document Word (.docx) »")
            for name in sorted(n for n in names if n.endswith(".rels")):
                source = _source_part(name)
                problems += _rels_problems(name, zf.read(name), names,
                                           zf.read(source) if source in names else b"")
            # Every part, not only word/ (the main document may live anywhere _rels/.rels points),
            # whatever its name (Word reads a part by its content type: « header1.dat » is a header)
            # and its encoding (UTF-16 hides the words looked for from a search of the bytes).
            for name in sorted(n for n in names if not n.endswith(".rels")):
                data = as_utf8(zf.read(name))
                if name.endswith(".xml") or data.lstrip()[:1] == b"<":
                    problems += field_problems(name, data) + settings_problems(name, data) + binding_problems(name, data)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, zlib.error):
            return ["ce n'est pas un document Word (.docx) lisible (archive endommagée)"]
        return sorted(set(problems), key=problems.index)


def field_instructions(data: bytes | str) -> list[str]:
    """Every field instruction of one XML part as Word reads it: the ``w:instrText`` runs of a
    complex field joined in document order from ``fldChar begin`` to ``separate``/``end`` (an
    author can split « INCLUDE » and « PICTURE » over runs), and each ``w:fldSimple/@w:instr``."""
    return _scan_fields(data)[0]


def _scan_fields(data: bytes | str) -> tuple[list[str], list[str]]:
    """(every field instruction, the instruction of each field found inside another field's
    instruction). Word computes a nested field first and reads its result as part of the outer
    code: ``{ { QUOTE 73 78 … } "http://…" }`` is an INCLUDETEXT no text of the part shows."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if b"nstr" not in data:  # instrText, delInstrText, fldSimple's w:instr
        return [], []
    out: list[str] = []
    nested: list[str] = []
    # Open complex fields, innermost last: [instruction pieces (None once past « separate »),
    # whether the field sits inside its parent's instruction].
    stack: list[list] = []
    try:
        for _event, el in etree.iterparse(io.BytesIO(data), events=("start",), resolve_entities=False,
                                           no_network=True, load_dtd=False, huge_tree=False):
            tag = el.tag
            in_code = bool(stack) and stack[-1][0] is not None
            if tag == _W + "fldChar":
                kind = el.get(_W + "fldCharType")
                if kind == "begin":
                    stack.append([[], in_code])
                elif kind in ("separate", "end") and stack:
                    if stack[-1][0] is not None:
                        code = "".join(stack[-1][0])
                        out.append(code)
                        if stack[-1][1]:
                            nested.append(code)
                    if kind == "end":
                        stack.pop()
                    else:
                        stack[-1][0] = None  # result text follows: no more instruction for this field
            elif tag in (_W + "instrText", _W + "delInstrText"):
                # A deleted (tracked) instruction is still one: rejecting the deletion restores it.
                if not stack:
                    out.append(el.text or "")  # outside any field: checked alone, to be safe
                elif in_code:
                    stack[-1][0].append(el.text or "")
            elif tag == _W + "fldSimple":
                out.append(el.get(_W + "instr") or "")
                if in_code:
                    nested.append(out[-1])
    except etree.XMLSyntaxError:
        # Unreadable XML: Word would not open it either; keep a conservative textual scan.
        text = data.decode("utf-8", "replace")
        out.append(re.sub(r"<[^>]*>", "", text))
    for pieces, inside in stack:  # a field never closed: still what Word would read
        if pieces is not None:
            out.append("".join(pieces))
            if inside:
                nested.append(out[-1])
    return [" ".join(i.split()) for i in out], [" ".join(i.split()) for i in nested]


def field_problems(name: str, data: bytes | str) -> list[str]:
    problems = []
    codes, nested = _scan_fields(data)
    for code in nested:
        # What the outer field becomes is only known once Word has computed the inner one: a
        # template has no need for it, and it is the usual way to hide INCLUDETEXT or DDE.
        inner = re.match(r"\S*", code)[0].upper() or "(vide)"
        problems.append(f"champ Word « {inner} » placé dans le code d'un autre champ, dans « {name} » : Word "
                        "composerait ce code à l'ouverture, peut-être pour lire un fichier ou une adresse "
                        "extérieurs ; refusé (supprimez ces champs imbriqués)")
    for code in codes:
        if f := FIELD_CODES.match(code):
            problems.append(f"champ Word « {f[1].upper()} » dans « {name} » : il ferait lire un fichier ou une "
                            "adresse extérieurs à l'ouverture ; refusé (supprimez ce champ)")
        elif h := HYPERLINK_FIELD.match(code):
            target = h[1].strip()
            # Switches with an argument (\l bookmark, \o tooltip, \t frame) and without (\m, \n)
            # are not the target; what is left, if anything, is the address Word opens.
            rest = re.sub(r'\\[lot]\s*("[^"]*"|\S+)|\\[mn]\b', " ", target, flags=re.IGNORECASE)
            m = re.match(r'\s*(?:"([^"]*)"|(\S+))', rest)
            url = ((m[1] if m[1] is not None else m[2]) if m else "").strip()
            if url and not SAFE_LINK.match(url):
                problems.append(f"champ Word « HYPERLINK » vers « {url[:80]} » dans « {name} » : seuls les liens "
                                "http(s) et mailto sont permis ; refusé")
    return problems


def as_utf8(data: bytes) -> bytes:
    """An XML part in UTF-16 (with its byte-order mark, or declared so), as UTF-8 with its
    declaration said so; a UTF-8 one without its byte-order mark; any other part as it is."""
    if data[:3] == b"\xef\xbb\xbf":  # else a part named « .dat » would not look like XML
        return data[3:]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        try:
            text = data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else
                               "utf-16-le" if data[:1] == b"<" else "utf-16-be")
        except UnicodeDecodeError:
            return data
        return re.sub(r"""(<\?xml[^>]*?encoding=)(["'])[^"']*\2""", r"\1\2UTF-8\2", text.lstrip("\ufeff"), count=1).encode("utf-8")
    return data


_OFF = frozenset({"false", "off", "0"})


def settings_problems(name: str, data: bytes | str) -> list[str]:
    """Document settings that make Word act on opening. ``w:updateFields`` has Word offer to
    recompute every field: refused like any other risky part, never quietly dropped."""
    if not _holds(data, b"updateFields", lambda el: el.tag == _W + "updateFields"
                  and (el.get(_W + "val") or "true").strip().lower() not in _OFF):
        return []
    return [f"réglage « updateFields » dans « {name} » : Word proposerait à l'ouverture de mettre à jour tous "
            "les champs du document ; refusé (retirez ce réglage, ou repartez du modèle donné par "
            "« refere modele exporter »)"]


def binding_problems(name: str, data: bytes | str) -> list[str]:
    """A content control bound to an XML data part (``w:dataBinding``, in any of Word's
    namespaces): Word and LibreOffice show the part's value in place of the text the template
    engine filled in, so the requête would show what nobody checked (another name…)."""
    if not _holds(data, b"dataBinding", lambda el: isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == "dataBinding"):
        return []
    return [f"contrôle de contenu lié à des données XML (« dataBinding ») dans « {name} » : Word afficherait "
            "la donnée liée à la place du texte rempli par refere ; refusé (dans Word, supprimez le contrôle "
            "de contenu en gardant son texte, ou repartez du modèle donné par « refere modele exporter »)"]


def _holds(data: bytes | str, word: bytes, hit) -> bool:
    """Whether the XML part has an element for which ``hit`` is true (not looked for when ``word``
    is not in its bytes). An unreadable part with the word in it counts as holding one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if word not in data:
        return False
    try:
        for _event, el in etree.iterparse(io.BytesIO(data), events=("start",), resolve_entities=False,
                                           no_network=True, load_dtd=False, huge_tree=False):
            if hit(el):
                return True
    except etree.XMLSyntaxError:
        return True  # unreadable: the word is there, refuse as if it were read
    return False


def _size_problem(infos: list[zipfile.ZipInfo]) -> str | None:
    if len(infos) > MAX_MEMBERS:
        return f"archive de {len(infos)} éléments : refusée (au plus {MAX_MEMBERS})"
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL:
        return f"le document décompressé ferait {total // (1024 * 1024)} Mo : refusé (au plus {MAX_TOTAL // (1024 * 1024)} Mo)"
    for i in infos:
        if i.filename.endswith((".xml", ".rels")) and i.file_size > MAX_XML:
            mb = f"{i.file_size / (1024 * 1024):.1f}".replace(".", ",")
            return (f"« {i.filename} » démesuré ({mb} Mo de XML) : refusé "
                    f"(au plus {MAX_XML // (1024 * 1024)} Mo)")
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            return (f"« {i.filename} » est une bombe de décompression ({i.file_size} octets pour "
                    f"{i.compress_size} compressés) : refusé")
    return None


def _source_dir(rels_name: str) -> str:
    """« word/_rels/document.xml.rels » → « word/ »: internal targets are relative to it."""
    folder = rels_name.rsplit("_rels/", 1)[0]
    return folder


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in (folder + target).split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Elements that open their relationship only when the reader clicks: a typed hyperlink. Any other
# element naming an external relationship (a picture's r:link, settings' attachedTemplate…)
# makes Word fetch it on opening, whatever the relationship's type says.
_CLICKED = frozenset({f"{{{W_NS}}}hyperlink",
                      "{http://schemas.openxmlformats.org/drawingml/2006/main}hlinkClick",
                      "{http://schemas.openxmlformats.org/drawingml/2006/main}hlinkHover"})


def _source_part(rels_name: str) -> str | None:
    """« word/_rels/document.xml.rels » → « word/document.xml »; the package's own → None."""
    folder, _, file = rels_name.rpartition("_rels/")
    return folder + file[:-5] if file.endswith(".rels") and file != ".rels" else None


def _uses(xml: bytes) -> dict[str, set[str]]:
    """Relationship id → tags of the elements that name it (any attribute in the r: namespace)."""
    uses: dict[str, set[str]] = {}
    if not xml:
        return uses
    try:
        for _event, el in etree.iterparse(io.BytesIO(xml), events=("start",), resolve_entities=False,
                                           no_network=True, load_dtd=False, huge_tree=False):
            for key, value in el.attrib.items():
                if key.startswith(f"{{{R_NS}}}"):
                    uses.setdefault(value, set()).add(el.tag if isinstance(el.tag, str) else "")
    except etree.XMLSyntaxError:
        pass
    return uses


def _without_unused_links(items: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """External relationships that no element of their part names are dropped from the
    document refere writes (a template's leftovers: nothing to click, only something to fetch)."""
    parts = dict(items)
    out = []
    for name, data in items:
        source = _source_part(name) if name.endswith(".rels") else None
        if source is None or b"External" not in data:
            out.append((name, data))
            continue
        uses = _uses(parts.get(source, b""))
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError:
            out.append((name, data))
            continue
        dropped = False
        for rel in list(root):
            if isinstance(rel.tag, str) and rel.get("TargetMode") == "External" and rel.get("Id") not in uses:
                root.remove(rel)
                dropped = True
        out.append((name, etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
                    if dropped else data))
    return out


def _rels_problems(name: str, data: bytes, names: set[str] | frozenset[str] = frozenset(),
                   source: bytes = b"") -> list[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return [f"« {name} » illisible"]
    problems = []
    uses = _uses(source) if b"External" in data else {}
    for rel in root:
        if not isinstance(rel.tag, str):
            continue  # comment or processing instruction
        kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
        target = rel.get("Target") or ""
        if rel.get("TargetMode") == "External":
            fetched = sorted(etree.QName(t).localname for t in uses.get(rel.get("Id") or "", ()) if t and t not in _CLICKED)
            if kind == "hyperlink" and SAFE_LINK.match(target) and fetched:
                problems.append(f"lien « {target[:80]} » dans « {name} » employé par « {fetched[0]} », que Word "
                                "irait chercher à l'ouverture ; refusé (un lien ne sert qu'au texte sur lequel on clique)")
                continue
            if kind == "hyperlink" and SAFE_LINK.match(target):
                continue  # a link typed by the author, only followed when clicked
            problems.append(f"relation externe « {kind} » vers « {target[:80]} » dans « {name} » : Word irait la "
                            "chercher à l'ouverture ; refusé (insérez l'image ou le contenu dans le document)")
            continue
        if kind not in SAFE_KINDS:
            what = (" (contenu HTML, RTF ou MHT importé que Word afficherait)"
                    if kind.lower() in ("afchunk", "altchunk") else "")
            problems.append(f"relation « {kind} »{what} dans « {name} » : ce type de contenu n'est pas permis "
                            "dans un modèle ; refusé (enregistrez un document Word simple)")
        elif names and _resolve(_source_dir(name), target) not in names:
            problems.append(f"« {name} » : relation vers une partie absente « {target[:80]} » ; "
                            "document endommagé, refusé (réenregistrez-le dans Word)")
    return problems
