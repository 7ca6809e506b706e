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


def hidden(pdf: pikepdf.Pdf, oc) -> bool:
    """Whether an annotation's ``/OC`` (a layer, or a membership dictionary of layers) makes it
    hidden in the document's default configuration, as a viewer opens it. What cannot be judged
    (a malformed entry) counts as shown: the viewer's default."""
    props = pdf.Root.get("/OCProperties")
    default = props.get("/D") if isinstance(props, pikepdf.Dictionary) else None
    if not isinstance(oc, pikepdf.Dictionary) or not isinstance(default, pikepdf.Dictionary):
        return False

    def listed(key: str) -> set:
        values = default.get(key)
        return {g.objgen for g in values if isinstance(g, pikepdf.Dictionary) and g.is_indirect} \
            if isinstance(values, pikepdf.Array) else set()

    on, off, base_off = listed("/ON"), listed("/OFF"), default.get("/BaseState") == Name.OFF

    def shown(group) -> bool:
        key = group.objgen if group.is_indirect else None
        return key not in off and (key in on or not base_off)

    def expression(ve, depth: int) -> bool:  # a visibility expression: [/And …], [/Or …], [/Not x]
        if isinstance(ve, pikepdf.Dictionary):
            return shown(ve)
        if not isinstance(ve, pikepdf.Array) or not len(ve) or depth > 16:
            return True
        op, args = ve[0], [expression(a, depth + 1) for a in list(ve)[1:50]]
        if op == Name.Not:
            return not args[0] if args else True
        return all(args) if op == Name.And else any(args) if op == Name.Or else True

    if oc.get("/Type") != Name.OCMD:
        return not shown(oc)
    if "/VE" in oc:
        return not expression(oc.VE, 0)
    groups = oc.get("/OCGs")
    groups = [groups] if isinstance(groups, pikepdf.Dictionary) else \
        [g for g in groups if isinstance(g, pikepdf.Dictionary)] if isinstance(groups, pikepdf.Array) else []
    if not groups:
        return False  # no layer named: the dictionary has no effect
    states = [shown(g) for g in groups[:200]]
    policy = oc.get("/P", Name.AnyOn)
    visible = {Name.AllOn: all(states), Name.AnyOff: not all(states), Name.AllOff: not any(states)}.get(policy, any(states))
    return not visible
