"""Names written the pre-1.2 way, made legal for the PDF version a pièce declares.

Before PDF 1.2 a « # » in a name was an ordinary character (``/Im#1``); since then it starts a
two-digit escape, and a stray one breaks the spec (``qpdf --check`` fails). qpdf reads such a
« # » as a NUL byte inside the name and writes it back as it was. A pièce says PDF 1.5, so each
of these names becomes the same name with a real « # » (written ``/Im#231``), in the resource
dictionaries and in the content streams that call them alike: what a viewer draws is unchanged.
When that spelling is already another key of the document, the name gets a suffix instead.
Only a source declaring a version before 1.2 is looked at: any other is left byte for byte.
"""

from __future__ import annotations

import pikepdf

from refere.pieces import flux, repair

STRAY = "\x00"  # how qpdf holds a « # » that starts no escape
MAX_WALK = 200_000  # objects walked from the pages of one document
MAX_REWRITE = 1_000_000  # bytes of content rewritten for one document (a PDF 1.0 page: a few KB)
_SKIP = ("/Parent", "/P", "/Dest", "/Prev", "/Next", "/First", "/Last")
_ERRORS = repair.walk_errors()  # what a page walk may raise, as the probe counts it


def _spellings(objects) -> dict[str, str]:
    """Each stray name a dictionary uses as a key → its legal spelling, one that no other key of
    the document already has (PDF 1.0 may hold /Im#1 and /Im#231 side by side: two images)."""
    taken, stray = set(), set()
    for obj in objects:
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            for key in obj.keys():
                (stray if STRAY in key else taken).add(key)
    out = {}
    for key in sorted(stray):
        plain = new = key.replace(STRAY, "#")
        n = 1
        while new in taken:
            new, n = f"{plain}_{n}", n + 1
        taken.add(new)
        out[key] = new
    return out


def _fixed(name: pikepdf.Name, names: dict[str, str]) -> pikepdf.Name:
    text = str(name)
    return pikepdf.Name(names.get(text) or text.replace(STRAY, "#"))


def _stray(obj) -> bool:
    return isinstance(obj, pikepdf.Name) and STRAY in str(obj)


def _has_stray(obj) -> bool:
    if isinstance(obj, pikepdf.Array):
        return any(_has_stray(v) for v in obj)
    if isinstance(obj, pikepdf.Dictionary):
        return any(STRAY in k or _has_stray(v) for k, v in obj.items())
    return _stray(obj)


def _stray_value(obj) -> bool:
    """A stray name as a value of this dictionary or array itself (what it holds is walked too)."""
    if isinstance(obj, pikepdf.Array):
        return any(_stray(v) for v in obj)
    return any(_stray(obj.get(k)) for k in obj.keys())


def _operand(obj, names: dict[str, str]):
    """An operand of a content stream with its names fixed (arrays and dictionaries too)."""
    if _stray(obj):
        return _fixed(obj, names)
    if isinstance(obj, pikepdf.Array):
        return pikepdf.Array([_operand(v, names) for v in obj])
    if isinstance(obj, pikepdf.Dictionary):
        return pikepdf.Dictionary({str(_operand(pikepdf.Name(k), names)): _operand(v, names)
                                   for k, v in obj.items()})
    return obj


def _content(pdf: pikepdf.Pdf, owner, names: dict[str, str]) -> None:
    """Rewrite the content of ``owner`` (a page or a content stream) when it calls a stray name."""
    page = owner if isinstance(owner, pikepdf.Page) else None
    try:
        ops = pikepdf.parse_content_stream(owner)
    except _ERRORS:
        return  # unreadable content: left as it is (the probe names the damage)
    changed = False
    out = []
    for op in ops:
        if isinstance(op, pikepdf.ContentStreamInstruction) and any(_has_stray(v) for v in op.operands):
            operands = [_operand(v, names) for v in op.operands]
            op, changed = pikepdf.ContentStreamInstruction(operands, op.operator), True
        out.append(op)
    if not changed:
        return  # nothing to fix: the stream stays as stored
    data = pikepdf.unparse_content_stream(out)
    if page is not None:
        page.obj.Contents = pdf.make_stream(data)
    else:
        owner.write(data)  # decoded data replaces the filtered one; saved compressed


def _small(owners: list) -> bool:
    """Whether the contents to rewrite decode to MAX_REWRITE bytes at most together: each token is
    held as an object while rewritten (some 300 bytes; a token takes one or two bytes at least)."""
    left = MAX_REWRITE
    for owner in owners:
        try:
            if isinstance(owner, pikepdf.Page):
                size = repair.content_size(owner, left)
            else:
                size = flux.decoded_size(owner.read_raw_bytes(), flux.filter_names(owner),
                                         owner.get("/DecodeParms"), left)
        except (flux.Undecodable, *_ERRORS):
            continue  # unreadable content: left as it is by _content
        except flux.TooCostly:
            return False  # content cut too fine to count: not rewritten either
        if size is None or size > left:
            return False
        left -= size
    return True


def _object(obj, names: dict[str, str]) -> None:
    """Fix the names of one dictionary or array in place (keys and values)."""
    if isinstance(obj, pikepdf.Array):
        for i, v in enumerate(obj):
            if _stray(v):
                obj[i] = _fixed(v, names)
        return
    for key in list(obj.keys()):
        value = obj.get(key)
        if _stray(value):
            obj[key] = value = _fixed(value, names)
        if STRAY in key:
            del obj[key]
            obj[names[key]] = value


def legalise(pdf: pikepdf.Pdf) -> None:
    """Give every name the pages use with a stray « # » its PDF 1.2 spelling, in place."""
    try:
        if str(pdf.pdf_version) >= "1.2":
            return
    except (TypeError, ValueError):
        return
    # Walk first, rewrite after: a call and its key must get the same spelling, and that
    # spelling must not be a key the document already has.
    owners: list = []
    objects: list = []
    seen: set = set()
    budget = [MAX_WALK]
    for page in pdf.pages:
        try:
            _page(page, seen, budget, owners, objects)
        except _ERRORS:
            continue  # a structure too odd to walk: the page goes through as it was
    names = _spellings(objects)
    if not (names or any(_stray_value(obj) for obj in objects)) or not _small(owners):
        # Nothing to rename (content is tokenised only for a name its resources use), or content
        # too long to rewrite in memory: the document goes through as qpdf writes it back.
        return
    for owner in owners:
        _content(pdf, owner, names)
    for obj in objects:
        try:
            _object(obj, names)
        except _ERRORS:
            continue  # an object too odd to rewrite stays as it was


def _page(page: pikepdf.Page, seen: set, budget: list[int], owners: list, objects: list) -> None:
    owners.append(page)
    todo = [page.obj]
    while todo and budget[0] > 0:
        obj = todo.pop()
        budget[0] -= 1
        if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)):
            continue
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        objects.append(obj)
        if isinstance(obj, pikepdf.Array):
            todo.extend(obj)
            continue
        # Content of its own: a form (also an annotation's appearance), a tiling pattern, a
        # Type 3 glyph; its names are fixed the same way as the resources it calls them from.
        if isinstance(obj, pikepdf.Stream) and (obj.get("/Subtype") == pikepdf.Name.Form
                                                or obj.get("/PatternType") == 1):
            owners.append(obj)
        procs = obj.get("/CharProcs") if obj.get("/Subtype") == pikepdf.Name.Type3 else None
        for glyph in procs.values() if isinstance(procs, pikepdf.Dictionary) else ():
            if isinstance(glyph, pikepdf.Stream):
                owners.append(glyph)
        todo.extend(obj.get(k) for k in obj.keys() if k not in _SKIP)
