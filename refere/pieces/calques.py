"""Optional content (PDF layers): what a source hides by default stays hidden in the pièce.

A page copied alone into a new file loses the document's /OCProperties: every layer would then
show, hidden ones included (an earlier draft, a watermark meant for screen only…). The layer
configuration is carried across and merged when several sources share one output, each layer
keeping its default state (on, off, or per use: view, print), so that a reader and a printer show
exactly what they showed for the source.
"""

from __future__ import annotations

import pikepdf

Name = pikepdf.Name
LISTS = ("/ON", "/OFF", "/Order", "/RBGroups", "/Locked", "/AS")


def carry(out: pikepdf.Pdf, source: pikepdf.Pdf) -> bool:
    """Merge ``source``'s layer configuration into ``out`` (whose pages were copied from it with
    ``copy_foreign``, so the layer objects are the same ones). True when a layer is off by default."""
    props = source.Root.get("/OCProperties")
    if not isinstance(props, pikepdf.Dictionary) or not isinstance(props.get("/OCGs"), pikepdf.Array):
        return False
    copied = _copy(out, props)
    default = copied.get("/D") if isinstance(copied.get("/D"), pikepdf.Dictionary) else pikepdf.Dictionary()
    ocgs = [g for g in copied.OCGs if isinstance(g, pikepdf.Dictionary)]
    off = [g for g in default.get("/OFF", pikepdf.Array()) if isinstance(g, pikepdf.Dictionary)]
    if default.get("/BaseState") == Name.OFF:  # everything off but what /ON lists
        on = {g.objgen for g in default.get("/ON", pikepdf.Array()) if isinstance(g, pikepdf.Dictionary)}
        off = [g for g in ocgs if g.objgen not in on]
    mine = out.Root.get("/OCProperties")
    if not isinstance(mine, pikepdf.Dictionary):
        mine = out.Root.OCProperties = pikepdf.Dictionary(OCGs=pikepdf.Array(), D=pikepdf.Dictionary())
    target = mine.D
    known = {g.objgen for g in mine.OCGs}
    for g in ocgs:
        if g.objgen not in known:
            mine.OCGs.append(g)
            known.add(g.objgen)
    for key in LISTS:
        values = off if key == "/OFF" else default.get(key) if key != "/ON" else None
        if isinstance(values, (pikepdf.Array, list)) and len(values):
            if key not in target:
                target[key] = pikepdf.Array()
            for v in values:
                target[key].append(v)
    return bool(off)


def _copy(out: pikepdf.Pdf, obj, depth: int = 0):
    """``obj`` from another file into ``out``: indirect objects through qpdf's foreign copy (the
    same destination objects the pages' copies already point to), direct ones member by member."""
    if depth > 16:
        return pikepdf.Null() if hasattr(pikepdf, "Null") else None
    if isinstance(obj, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)) and obj.is_indirect:
        return out.copy_foreign(obj)
    if isinstance(obj, pikepdf.Array):
        return pikepdf.Array([_copy(out, v, depth + 1) for v in obj])
    if isinstance(obj, pikepdf.Dictionary):
        return pikepdf.Dictionary({k: _copy(out, obj[k], depth + 1) for k in obj.keys()})
    return obj
