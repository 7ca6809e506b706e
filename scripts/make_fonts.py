"""Prepare the fonts shipped in refere/data/fonts/ from DejaVu Sans (Debian: fonts-dejavu-core).

Layout tables (ligatures, kerning) are removed: the bordereau is plain left-to-right text, and
decompiling them was most of the time of every subset. Run once when updating the fonts:

    python scripts/make_fonts.py /usr/share/fonts/truetype/dejavu
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools.ttLib import TTFont

OUT = Path(__file__).resolve().parent.parent / "refere" / "data" / "fonts"
DROP = ("GSUB", "GPOS", "GDEF", "kern", "FFTM")


def main(source: Path) -> None:
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        font = TTFont(source / name, recalcTimestamp=False)
        for tag in DROP:
            if tag in font:
                del font[tag]
        font.save(OUT / name)
        print(OUT / name, (OUT / name).stat().st_size)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/dejavu"))
