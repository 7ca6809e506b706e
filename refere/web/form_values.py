"""Values between dossier.yaml and the form: what an input shows for a YAML value, and how a
submitted text is best written back in YAML."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from refere import dates
from refere.errors import CONTROLS
from refere.affaire.loader import PLACEHOLDER
from refere.web.form_fields import LISTS


def display(value: Any, kind: str) -> str:
    """What an input shows for a YAML value (the placeholder shows as empty)."""
    if value is None:
        return ""
    if kind == "check":
        return "oui" if _truthy(value) else ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M") if kind == "datetime" else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(value)
    if text.strip().upper() == PLACEHOLDER:
        return ""
    if kind == "date":
        return _iso_date(text) or text
    if kind == "datetime":
        return _iso_datetime(text) or text
    return text


def input_type(kind: str, shown: str) -> str:
    """A date picker only when the value is one it can show; anything else stays plain text."""
    if kind == "date":
        return "date" if not shown or re.fullmatch(r"\d{4}-\d{2}-\d{2}", shown) else "text"
    if kind == "datetime":
        return "datetime-local" if not shown or re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", shown) else "text"
    return {"number": "text", "email": "email", "tel": "tel", "url": "url"}.get(kind, "text")


def _iso_date(text: str) -> str | None:
    try:
        return dates.parse_date(text).isoformat()
    except Exception:
        return None


def _iso_datetime(text: str) -> str | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}", text.strip()):
        return text.strip().replace(" ", "T")
    return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "oui", "yes", "1")


def get(doc: Any, dotted: str) -> Any:
    node = doc
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def list_rows(doc: Any, name: str) -> list[dict[str, Any]]:
    """Rows for the template: each field's shown value, plus the raw item."""
    seq = doc.get(name)
    rows = []
    if isinstance(seq, list):
        for i, item in enumerate(seq):
            if isinstance(item, str) and name == "urgence":
                item_view = {"motif": "autre", "fait": item}
            elif isinstance(item, dict):
                item_view = item
            else:
                item_view = {}
            rows.append({"index": i, "item": item_view,
                         "values": {f.key: display(item_view.get(f.key), f.kind) for f in LISTS[name]}})
    return rows


def refs(value: Any) -> list[str]:
    """The pièce ids a « preuves » value cites, in its order."""
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    if isinstance(value, str):
        return [x for x in re.split(r"[\s,;]+", value) if x]
    return []


# ---------------------------------------------------------------- writing back


def to_yaml(text: str, kind: str) -> Any:
    """A submitted value as it is best written in YAML."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Line separators pasted from a PDF or Word (U+2028, U+2029, NEL) were written raw: a file that
    # no longer read, every later save refused (attack 23). A line break in a text box, a space elsewhere.
    text = re.sub("[\u2028\u2029\x85]", "\n", text)
    if kind != "textarea":  # a one-line field: no browser sends a line break there, a crafted form may (attack 32)
        text = re.sub(r"[ \t]*\n[ \t\n]*", " ", text)
    # A U+FEFF pasted from a Windows program or a PDF is invisible, and the loader refuses it raw inside a
    # file (a BOM out of place): written in a text box's block, the file no longer read (attack 27).
    text = text.replace("\ufeff", "")
    if kind != "textarea":
        text = text.strip()
    else:
        text = "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip()
    if kind == "check":
        return text == "oui"
    if text == "":
        return None
    if kind == "datetime":
        return text.replace("T", " ")[:16] if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", text) else text
    if kind == "number" and re.fullmatch(r"\d{1,9}", text):
        return int(text)
    if kind == "preuves":
        from ruamel.yaml.comments import CommentedSeq

        seq = CommentedSeq(x for x in re.split(r"[\s,;]+", text) if x)
        seq.fa.set_flow_style()
        return seq
    # U+FFFE, U+FFFF (and lone surrogates) are no characters YAML may hold raw: written raw in a text
    # box's block, the file no longer read (attack 28); escaped, it reads and the check names the field.
    if CONTROLS.search(text) or re.search("[\ufffe\uffff\ud800-\udfff]", text):
        # A control character cannot be written raw, nor in a block (ruamel keeps a replaced value's
        # block style): quoted with its escapes, the file still reads, and the check names the field.
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString
        return DoubleQuotedScalarString(text)
    if "\n" in text:
        return LiteralScalarString(text + "\n")
    return text
