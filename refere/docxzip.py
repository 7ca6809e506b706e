"""Make a .docx byte-identical from run to run: fixed timestamps and order inside the archive."""

from __future__ import annotations

import zipfile
from pathlib import Path

FIXED = (1980, 1, 1, 0, 0, 0)


def normalize(path: Path) -> None:
    with zipfile.ZipFile(path) as zin:
        items = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    # [Content_Types].xml must stay first for some readers; keep the writer's order otherwise.
    tmp = path.with_suffix(path.suffix + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items:
            info = zipfile.ZipInfo(name, FIXED)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    tmp.replace(path)
