"""Rebuild casefiles/fonts/NotoSansSC-Regular-subset.ttf (see casefiles/fonts/README.md).

    python scripts/subset_cjk_font.py /path/to/NotoSansCJK-Regular.ttc casefiles/fonts/NotoSansSC-Regular-subset.ttf

Needs only fontTools (a dependency of fpdf2). Face 2 of the TTC is Noto Sans CJK SC.
"""

from __future__ import annotations

import sys

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

RANGES = [
    (0x20, 0x7E),
    (0xA0, 0xFF),
    (0x2010, 0x206F),
    (0x2100, 0x214F),
    (0x2190, 0x21FF),
    (0x2460, 0x24FF),
    (0x2500, 0x257F),
    (0x25A0, 0x25FF),
    (0x2600, 0x26FF),
    (0x2700, 0x27BF),
    (0x3000, 0x303F),
    (0x3200, 0x32FF),
    (0x4E00, 0x9FFF),
    (0xFF00, 0xFFEF),
]


def to_truetype(font: TTFont) -> None:
    """CFF outlines to quadratic glyf ones (after fontTools' snippets/otf2ttf.py)."""
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs"):
        setattr(maxp, attr, 0)
    for attr in ("maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    maxp.compile(font)
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\000\001\000\000"


def main(source: str, target: str) -> None:
    font = TTCollection(source).fonts[2]
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.hinting = False
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes={cp for start, end in RANGES for cp in range(start, end + 1)})
    subsetter.subset(font)
    to_truetype(font)
    font.save(target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
