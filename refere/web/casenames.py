"""Which case folder names the web serves: any name a person types (accents, spaces, capitals), never one
that could hide or reorder text on the page (control or invisible characters) nor one too long to
build beside. The others are listed by the web with what to do, never silently left out."""

from __future__ import annotations

import unicodedata

from refere.errors import invisible

NAME_MAX = 128  # characters
# Bytes: a build writes « .<nom>.tmp-<pid>-<hasard> » beside the folder; 255 bytes is a file name's limit.
NAME_BYTES = 200

def problem(name: str) -> str | None:
    """Why the web does not serve a case folder of this name (French), or None when it does."""
    odd = sorted({c for c in name if invisible(c)})
    if odd:
        which = ", ".join(_code(c) for c in odd[:5])
        return f"caractère invisible ou de contrôle dans le nom ({which})"
    if len(name) > NAME_MAX:
        return f"nom trop long ({len(name)} caractères ; au plus {NAME_MAX})"
    if (size := len(name.encode("utf-8"))) > NAME_BYTES:
        return f"nom trop long ({size} octets ; au plus {NAME_BYTES}, une lettre accentuée en compte 2)"
    if name.strip() != name:
        return "espace au début ou à la fin du nom"
    return None


def _code(c: str) -> str:
    if 0xDC80 <= ord(c) <= 0xDCFF:  # a byte of a name not in UTF-8 (os.listdir's surrogateescape)
        return f"octet {ord(c) - 0xDC00:02X}"
    return f"U+{ord(c):04X}"


def visible(name: str) -> str:
    """The name as it can be shown: each odd character written as its code, a long name cut."""
    shown = "".join(f"<{_code(c)}>" if invisible(c) else c for c in name)
    return shown if len(shown) <= 80 else f"{shown[:60]}… ({len(name)} caractères)"


def same(a: str, b: str) -> bool:
    """Two spellings of one name: « é » typed as one character or as « e » and an accent (NFC)."""
    return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)
