"""Writing a submitted form back into the case document, in place.

Only what the form shows is written, and only when it changed: a file written by hand keeps
its comments, its order, its date formats and whatever the form does not show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from refere.web.form_fields import LISTS, MOTIF_LABELS, SECTIONS, path
from refere.web.form_values import display, to_yaml


@dataclass
class Change:
    changed: bool = False
    notes: list[str] = field(default_factory=list)


def _set(mapping: Any, key: str, old_shown: str, new_raw: str | None, kind: str, ch: Change,
         order: list[str] | None = None) -> None:
    if new_raw is None:
        return  # the input was not on the page
    new_shown_norm = new_raw.replace("\r\n", "\n").strip()
    if new_shown_norm == old_shown.strip():
        return
    value = to_yaml(new_raw, "preuves" if key == "preuves" else kind)
    if value is None and key not in mapping:
        return
    if kind == "check" and value is False and key not in mapping:
        return
    if key in mapping or not order or not hasattr(mapping, "insert"):
        mapping[key] = value
    else:
        _insert_in_order(mapping, key, value, order)
    ch.changed = True


def _insert_in_order(mapping: Any, key: str, value: Any, order: list[str]) -> None:
    """A key the file did not have goes where the form shows it (after the field before it), and a comment
    that stood after that field — the next section's, as ruamel keeps it — stays after the new key: never a
    new « nom: » under « # Facultatif : ce que le juge cherche… »."""
    keys = list(mapping.keys())
    before = order[:order.index(key)] if key in order else order
    pos = max((keys.index(k) + 1 for k in before if k in keys), default=len(keys))
    prev = keys[pos - 1] if pos else None
    mapping.insert(pos, key, value)
    item = mapping.ca.items.get(prev) if prev is not None else None
    token = item[2] if item and len(item) > 2 else None
    if token is None:
        return
    text = token.value
    eol, rest = (text.split("\n", 1) + [""])[:2] if text.startswith("#") else ("", text[1:] if text.startswith("\n") else text)
    if not rest.strip():
        return  # only a comment on the field's own line: it stays there
    from ruamel.yaml.tokens import CommentToken

    item[2] = CommentToken(eol + "\n", token.start_mark) if eol else None
    mapping.ca.items.setdefault(key, [None, None, None, None])[2] = CommentToken("\n" + rest, token.start_mark)


def apply_sections(doc: Any, form: dict[str, str], sections=SECTIONS) -> Change:
    from ruamel.yaml.comments import CommentedMap

    ch = Change()
    for sec in sections:
        if sec.key:
            target = doc.get(sec.key)
            if not isinstance(target, dict):
                submitted = {f.key: form.get(path(sec.key, f.key), "") for f in sec.fields}
                if not any(v.strip() for k, v in submitted.items() if k != "oqtf"):
                    continue
                target = CommentedMap()
                doc[sec.key] = target
                ch.changed = True
        else:
            target = doc
        for f in sec.fields:
            p = path(sec.key, f.key)
            raw = form.get(p)
            if f.kind == "check":
                raw = "oui" if raw else ""
            _set(target, f.key, display(target.get(f.key), f.kind), raw, f.kind, ch,
                 order=[g.key for g in sec.fields])
        if sec.nullable and isinstance(target, dict) and all(v in (None, "") for v in target.values()):
            doc[sec.key] = None
    return ch


def list_of(doc: Any, name: str) -> Any:
    """The list ``name`` of the case file, created (empty) when it is missing or not a list."""
    from ruamel.yaml.comments import CommentedSeq

    seq = doc.get(name)
    if not isinstance(seq, list):
        seq = CommentedSeq()
        doc[name] = seq
    return seq


def sources(written: list[str]) -> tuple[str, Any]:
    """« fichier » for one file, « fichiers: [a, b] » for several, as a person writes them: (key, value)."""
    from ruamel.yaml.comments import CommentedSeq

    if len(written) == 1:
        return "fichier", written[0]
    files_seq = CommentedSeq(written)
    files_seq.fa.set_flow_style()
    return "fichiers", files_seq


def append_entry(doc: Any, name: str, *pairs: tuple[str, Any]) -> bool:
    """Append to the list ``name`` a new item with these keys, in this order (a None value is left out)."""
    from ruamel.yaml.comments import CommentedMap

    list_of(doc, name).append(CommentedMap([(k, v) for k, v in pairs if v is not None]))
    return True


def apply_list(doc: Any, name: str, form: dict[str, str], new_entry: bool = True) -> Change:
    """Edit a list (urgence, diligences, tentatives, pieces) in place; « supprimer » removes."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    ch = Change()
    fields = LISTS[name]
    seq = doc.get(name)
    if not isinstance(seq, list):
        seq = CommentedSeq()
    remove = []
    for i, item in enumerate(seq):
        prefix = f"{name}[{i}]"
        if form.get(f"{prefix}.supprimer"):
            remove.append(i)
            continue
        if isinstance(item, str) and name == "urgence":
            item = _expand_urgence(seq, i, item, form, prefix, ch)
            if isinstance(item, str):
                continue
        if not isinstance(item, dict):
            continue
        for f in fields:
            _set(item, f.key, display(item.get(f.key), f.kind), form.get(f"{prefix}.{f.key}"), f.kind, ch)
    for i in reversed(remove):
        del seq[i]
        ch.changed = True
    if new_entry:
        prefix = f"{name}[nouveau]"
        values = {f.key: form.get(f"{prefix}.{f.key}", "") for f in fields}
        main = {"urgence": "fait", "diligences": "description", "tentatives": "date", "pieces": "titre"}[name]
        if values[main].strip():
            item = CommentedMap()
            for f in fields:
                v = to_yaml(values[f.key], "preuves" if f.key == "preuves" else f.kind)
                if v not in (None, "", []):
                    item[f.key] = v
            seq.append(item)
            ch.changed = True
    if ch.changed:
        doc[name] = seq
    return ch


_NEW_ROWS = {"urgence": ("fait", "Le nouveau fait d'urgence n'a pas été ajouté : le fait lui-même"),
             "diligences": ("description", "La nouvelle démarche n'a pas été ajoutée : « ce qui a été fait »")}
_TYPED = {"echeance": "l'échéance", "preuves": "les pièces qui le prouvent", "date": "la date"}


def half_filled(form: dict[str, str], uploaded: bool = False) -> list[str]:
    """A new row with its other inputs filled but its main text empty is not added (``apply_list``):
    said, rather than what was typed vanishing (``uploaded``: a proof was sent for the new fact)."""
    out = []
    for name, (main, what) in _NEW_ROWS.items():
        typed = [w for k, w in _TYPED.items() if (form.get(f"{name}[nouveau].{k}") or "").strip()]
        sent = uploaded and name == "urgence"
        if (typed or sent) and not (form.get(f"{name}[nouveau].{main}") or "").strip():
            out.append(f"{what} est vide"
                       + (f" ({', '.join(typed)} : à saisir de nouveau)" if typed else "")
                       + (" ; le justificatif envoyé est gardé dans les pièces" if sent else "")
                       + ". Écrivez-le, puis enregistrez de nouveau.")
    return out


def _expand_urgence(seq, i, text, form, prefix, ch):
    """A plain-string fact stays a string unless the form gave it a motif, a date or proofs."""
    from ruamel.yaml.comments import CommentedMap

    motif = form.get(f"{prefix}.motif", "autre") or "autre"
    fait = form.get(f"{prefix}.fait")
    echeance = (form.get(f"{prefix}.echeance") or "").strip()
    preuves = (form.get(f"{prefix}.preuves") or "").strip()
    if motif == "autre" and not echeance and not preuves:
        if fait is not None and fait.replace("\r\n", "\n").strip() != text.strip():
            seq[i] = to_yaml(fait, "textarea")
            ch.changed = True
        return text
    item = CommentedMap()
    item["motif"] = "autre"
    item["fait"] = text
    seq[i] = item
    ch.changed = True
    return item


def move(doc: Any, name: str, index: int, delta: int) -> bool:
    seq = doc.get(name)
    j = index + delta
    if not isinstance(seq, list) or not (0 <= index < len(seq)) or not (0 <= j < len(seq)):
        return False
    seq[index], seq[j] = seq[j], seq[index]
    return True


def remove_key(doc: Any, dotted: str) -> bool:
    """Remove the key at a case-format path (« requerant.prenom », « tentatives[2].heure »); ruamel keeps
    the comments of the other keys."""
    parts = re.findall(r"([^.\[\]]+)|\[(\d+)\]", dotted)
    node = doc
    for name, index in parts[:-1]:
        if index:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
        else:
            node = node.get(name) if isinstance(node, dict) else None
        if node is None:
            return False
    last, index = parts[-1] if parts else ("", "")
    if index or not isinstance(node, dict) or last not in node:
        return False
    del node[last]
    return True


def attach_proofs(doc: Any, form: dict[str, str], proofs: dict[str, list[str]], removed: list[int]) -> bool:
    """Each uploaded proof becomes a pièce « urgence » with an id, cited by its fact's « preuves »."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    seq = doc.get("urgence")
    if not proofs or not isinstance(seq, list):
        return False
    pieces = list_of(doc, "pieces")
    used = {str(p.get("id")) for p in pieces if isinstance(p, dict) and p.get("id")}
    changed = False
    for where, written in proofs.items():
        if where == "nouveau":
            if not (form.get("urgence[nouveau].fait") or "").strip():
                continue  # no fact was added: the proof is kept in pieces/ only
            index = len(seq) - 1
        else:
            i = int(where)
            if i in removed:
                continue
            index = i - sum(1 for r in removed if r < i)
        if not 0 <= index < len(seq):
            continue
        item = seq[index]
        if isinstance(item, str):
            item = CommentedMap([("motif", "autre"), ("fait", item)])
            seq[index] = item
        motif = str(item.get("motif") or "autre")
        n = 1
        while f"urgence-{motif}-{n}".replace("_", "-") in used:
            n += 1
        pid = f"urgence-{motif}-{n}".replace("_", "-")
        used.add(pid)
        piece = CommentedMap()
        piece["id"] = pid
        piece["titre"] = f"Justificatif de l'urgence ({MOTIF_LABELS.get(motif, motif)})"
        piece["categorie"] = "urgence"
        key, value = sources(written)
        piece[key] = value
        pieces.append(piece)
        refs = item.get("preuves")
        if not isinstance(refs, list):
            refs = CommentedSeq()
            refs.fa.set_flow_style()
            item["preuves"] = refs
        refs.append(pid)
        changed = True
    return changed


def merge_proof_boxes(form: dict[str, str], multi) -> dict[str, str]:
    """Ticked pièces (several values of one name) → the « preuves » text the list editor reads."""
    for key in [k for k in form if k.endswith(".preuves_cases")]:
        prefix = key[: -len(".preuves_cases")]
        form[f"{prefix}.preuves"] = ", ".join(multi(f"{prefix}.preuves_choix"))
    return form


def sort_attempts(doc: Any) -> bool:
    """Attempts in date order, as the requête numbers them: « tentative n° 11 » is the same one on every page.
    Left as they are while one date cannot be read (its error is shown first)."""
    from refere import dates

    seq = doc.get("tentatives") if isinstance(doc, dict) else None
    if not isinstance(seq, list):
        return False
    keys = []
    for item in seq:
        try:
            when = dates.parse_datetime(item.get("date")) if isinstance(item, dict) else None
        except Exception:
            when = None
        if when is None:
            return False
        keys.append(when.replace(tzinfo=None))
    order = sorted(range(len(seq)), key=lambda i: keys[i])
    if order == list(range(len(seq))):
        return False
    items = [seq[i] for i in order]
    notes = getattr(getattr(seq, "ca", None), "items", None)
    moved = {new: notes[old] for new, old in enumerate(order) if old in notes} if notes is not None else None
    del seq[:]
    seq.extend(items)
    if moved is not None:
        notes.clear()
        notes.update(moved)
    return True
