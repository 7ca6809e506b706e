"""Nothing that runs, fetches or hides reaches the court; nothing personal that is not seen.

``clean`` works on a source PDF opened in memory (the file itself is never written): scripts,
actions, attached files, multimedia and form fields go; what a reader sees stays (form fields
with an appearance are drawn into the page first). It returns French labels of what it removed,
for ``inventaire.json``. ``strip_jpeg`` drops a JPEG's metadata segments without re-encoding.
"""

from __future__ import annotations

import re

import pikepdf

from refere.pieces import calques

Name = pikepdf.Name

# Actions that run code, open files or reach the network; a GoTo inside the document is kept.
_ACTIONS = {
    "/JavaScript": "JavaScript", "/Launch": "lancement de programme", "/URI": "lien vers Internet",
    "/GoToR": "lien vers un autre fichier", "/GoToE": "lien vers un fichier joint",
    "/ImportData": "import de données", "/SubmitForm": "envoi de formulaire",
    "/ResetForm": "action de formulaire", "/Rendition": "contenu multimédia", "/Movie": "vidéo",
    "/Sound": "son", "/RichMediaExecute": "contenu multimédia", "/GoTo3DView": "objet 3D",
    "/Hide": "action de formulaire", "/SetOCGState": "action sur les calques",
}
_ANNOTS = {
    "/FileAttachment": "fichier joint", "/Sound": "son", "/Movie": "vidéo", "/Screen": "contenu multimédia",
    "/RichMedia": "contenu multimédia", "/3D": "objet 3D", "/Widget": "champ de formulaire",
}
_META = ("/Metadata", "/PieceInfo")
JS = "JavaScript"


def _action_labels(action) -> list[str]:
    """Labels of the dangerous actions in an action dictionary and its /Next chain (bounded)."""
    found, seen = [], 0
    todo = [action]
    while todo and seen < 64:
        a = todo.pop()
        seen += 1
        if isinstance(a, pikepdf.Array):
            todo.extend(a)
            continue
        if not isinstance(a, pikepdf.Dictionary):
            continue
        kind = str(a.get("/S", ""))
        if kind in _ACTIONS:
            found.append(_ACTIONS[kind])
        elif "/JS" in a:
            found.append(JS)
        elif kind not in ("/GoTo", "/Named", "/Thread", ""):
            found.append("action inconnue")
        if "/Next" in a:
            todo.append(a.Next)
    return found


def _document(pdf: pikepdf.Pdf, removed: set[str]) -> None:
    """Document-level labels: none of these is copied to the pièce, but the user hears they were there."""
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        if "/JavaScript" in names:
            removed.add(JS)
        if "/EmbeddedFiles" in names:
            removed.add("fichiers joints")
    if "/OpenAction" in root and isinstance(root.OpenAction, pikepdf.Dictionary):
        removed.update(_action_labels(root.OpenAction))
    if "/AA" in root:
        removed.add("actions automatiques du document")
    form = root.get("/AcroForm")
    if isinstance(form, pikepdf.Dictionary):
        if "/XFA" in form:
            removed.add("formulaire XFA")
        fields = form.get("/Fields")
        if isinstance(fields, pikepdf.Array) and len(fields):
            removed.add("champ de formulaire")


def _flatten_fields(pdf: pikepdf.Pdf) -> None:
    """Form fields with an appearance become page content (what was filled in stays visible)."""
    form = pdf.Root.get("/AcroForm")
    if not isinstance(form, pikepdf.Dictionary):
        return
    # An annotation on a layer hidden by default is left out (qpdf's flattening ignores /OC):
    # marked hidden meanwhile, it stays an annotation on its layer, hidden as in the source.
    held = []
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        for annot in annots if isinstance(annots, pikepdf.Array) else ():
            if isinstance(annot, pikepdf.Dictionary) and "/OC" in annot and calques.hidden(pdf, annot.OC):
                flags = annot.get("/F")
                held.append((annot, flags))
                annot.F = (int(flags) if isinstance(flags, int) else 0) | _HIDDEN
    try:
        if form.get("/NeedAppearances"):
            pdf.generate_appearance_streams()
        # « screen »: what a viewer shows, not an annotation meant for print only (NoView).
        pdf.flatten_annotations("screen")
    except (pikepdf.PdfError, RuntimeError, ValueError, TypeError):
        pass  # the widgets are removed below all the same
    for annot, flags in held:
        if flags is None:
            del annot["/F"]
        else:
            annot.F = flags


_HIDDEN = 2  # annotation flag: never shown nor printed


def _page(page: pikepdf.Page, removed: set[str]) -> None:
    obj = page.obj
    if "/AA" in obj:
        del obj["/AA"]
        removed.add("actions automatiques de page")
    for key in _META:
        if key in obj:
            del obj[key]
    annots = obj.get("/Annots")
    if not isinstance(annots, pikepdf.Array):
        if annots is not None:
            del obj["/Annots"]
        return
    kept = pikepdf.Array()
    listed: set = set()
    for annot in annots:
        if not isinstance(annot, pikepdf.Dictionary):
            continue
        if annot.is_indirect:
            if annot.objgen in listed:
                continue  # listed twice: kept once, drawn the same (qpdf flags the repeat)
            listed.add(annot.objgen)
        subtype = str(annot.get("/Subtype", ""))
        if subtype in _ANNOTS:
            removed.add(_ANNOTS[subtype])
            continue
        if "/AA" in annot:
            del annot["/AA"]
            removed.add("actions automatiques")
        if "/A" in annot:
            labels = _action_labels(annot.A)
            if labels:
                removed.update(labels)
                del annot["/A"]
                if subtype == "/Link" and "/Dest" not in annot:
                    continue  # a link that no longer leads anywhere
            elif isinstance(annot.A, pikepdf.Dictionary) and "/Next" in annot.A:
                del annot.A["/Next"]
        for key in _META:
            if key in annot:
                del annot[key]
        kept.append(annot)
    if len(kept) != len(annots):
        if len(kept):
            obj.Annots = kept
        else:
            del obj["/Annots"]


def _empty(obj) -> None:
    """Neutralise an object still referenced from somewhere: no keys, no data."""
    if isinstance(obj, pikepdf.Stream):
        obj.write(b"")
    for key in list(obj.keys()):
        if key != "/Length":
            del obj[key]


def _objects(pdf: pikepdf.Pdf, removed: set[str]) -> None:
    """One pass over every object: metadata and embedded files wherever they hide, JPEG metadata
    inside image streams. Linear in the file's size."""
    for obj in pdf.objects:
        if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            continue
        for key in _META:
            if key in obj:
                del obj[key]
        kind = obj.get("/Type")
        if kind in (Name.EmbeddedFile, Name.Filespec) or "/EF" in obj or "/RichMediaContent" in obj:
            removed.add("fichiers joints")
            _empty(obj)
            continue
        if "/JS" in obj or str(obj.get("/S", "")) in _ACTIONS:
            removed.update(_action_labels(obj) or [JS])
            _empty(obj)
            continue
        # Data a viewer would fetch from elsewhere: external stream data, reference XObjects, OPI.
        external = [k for k in ("/F", "/FFilter", "/FDecodeParms") if isinstance(obj, pikepdf.Stream) and k in obj]
        external += [k for k in ("/Ref", "/OPI") if k in obj and obj.get("/Type", Name.XObject) == Name.XObject]
        if external:
            removed.add("contenu externe")
            for key in external:
                del obj[key]
        if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == Name.Image and obj.get("/Filter") == Name.DCTDecode:
            raw = obj.read_raw_bytes()
            clean = strip_jpeg(raw)
            if clean is not raw:
                obj.write(clean, filter=Name.DCTDecode, decode_parms=obj.get("/DecodeParms"))


def clean(pdf: pikepdf.Pdf) -> list[str]:
    """Clean ``pdf`` in memory; the sorted French labels of what was removed."""
    removed: set[str] = set()
    _document(pdf, removed)
    _flatten_fields(pdf)
    for page in pdf.pages:
        _page(page, removed)
    _objects(pdf, removed)
    return sorted(removed)


# --- JPEG -----------------------------------------------------------------------------------

_SOS, _EOI = 0xDA, 0xD9
_APP0, _APP2, _APP14, _APP15, _COM = 0xE0, 0xE2, 0xEE, 0xEF, 0xFE


def _needed(marker: int, segment: bytes) -> bool:
    """Segments that decoding needs: the ICC profile, and Adobe's colour transform (without it a
    CMYK or YCCK JPEG shows inverted or wrong colours). Neither says anything about a person."""
    if marker == _APP2:
        return segment[4:16] == b"ICC_PROFILE\x00"
    return marker == _APP14 and segment[4:9] == b"Adobe"


# In entropy-coded data a marker is 0xFF followed by a byte that is neither 0x00 (a stuffed
# 0xFF), 0xFF (fill) nor RST0…RST7 (restart markers belong to the data).
_NEXT_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")


def strip_jpeg(data: bytes) -> bytes:
    """Drop APP1…APP15 (EXIF, GPS, XMP, maker notes) and COM segments wherever they sit (also
    after SOF and between the scans of a progressive JPEG), keeping APP0 (JFIF), the ICC profile
    and Adobe's APP14, and cut whatever follows EOI; the entropy-coded data is copied as it is.
    Returns ``data`` itself when there is nothing to drop or the structure is not understood."""
    if data[:2] != b"\xff\xd8":
        return data
    out = [data[:2]]
    i, dropped, n = 2, False, len(data)
    while i < n:
        if data[i] != 0xFF:
            return data
        j = i + 1
        while j < n and data[j] == 0xFF:  # fill bytes before a marker
            j += 1
        if j >= n:
            break
        marker, start = data[j], j - 1
        if marker == _EOI:
            out.append(b"\xff\xd9")
            dropped |= j + 1 < n  # bytes after EOI: never image data
            i = n
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # standalone markers
            out.append(data[start:j + 1])
            i = j + 1
            continue
        if marker == 0x00 or j + 3 > n:
            return data
        length = int.from_bytes(data[j + 1:j + 3], "big")
        end = j + 1 + length
        if length < 2 or end > n:
            return data
        segment = data[start:end]
        if marker == _COM or (_APP0 < marker <= _APP15 and not _needed(marker, segment)):
            dropped = True
        else:
            out.append(segment)
        i = end
        if marker == _SOS:  # the scan's data runs to the next real marker
            m = _NEXT_MARKER.search(data, i)
            k = m.start() if m else n
            out.append(data[i:k])
            i = k
    if not dropped:
        return data
    return b"".join(out)
