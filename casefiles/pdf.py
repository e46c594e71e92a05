"""A case file as a PDF: ``render_pdf(document) -> bytes``, A4, with its Chinese text embedded.

Pure Python (fpdf2, whose only native-free dependencies are fontTools, Pillow and defusedxml), so
the quick start works on a machine with nothing but Python. The font is a subset of Noto Sans CJK SC
committed beside this module (casefiles/fonts/README.md); fpdf2 embeds only the glyphs a document
uses, with a ToUnicode map, so the text extracts (pypdf) as it was written.

Layout, from ``casefiles.document``: a cover page (title, then its rows), then each section, on a
new page when ``page_break_before``; a block is measured before it is drawn and moved whole to the
next page when it does not fit the rest of this one; a block longer than a page flows over pages
with its title repeated as "…(续)". Rows are a two-column table whose values wrap, tables repeat
their headings on a new page, and every page has the document's footer and "第 N 页 / 共 M 页".
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace
from fpdf.util import Padding

from .document import Block, Cover, Document, Row, Section, Table

# fontTools logs every table it prunes at INFO, ten lines per PDF: a worker's log is no place for it.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONT_PATH = Path(__file__).resolve().parent / "fonts" / "NotoSansSC-Regular-subset.ttf"
FONT = "NotoSansSC"

BODY_SIZE = 10.5
LINE = 6.0  # mm per line of body text
LABEL_SHARE = 0.26  # of the text width, for a row's label
GREY = (90, 90, 90)
RULE = (190, 190, 190)
HEAD_FILL = (236, 240, 244)
PAD = 1.2  # mm above and below a row
TITLE_HEIGHT = 12.0  # a section's title with its rule
META_SIZE = 9
TITLE_SIZE = 12
TABLE_SIZE = 9.5


class _CaseFilePDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        # The title of the block being drawn: a page break inside it repeats it as "…(续)".
        self.continuing: str | None = None
        self.render_color_fonts = False  # none in our font; skips a look for colour tables (30 ms)
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_font(FONT, fname=str(FONT_PATH))
        self.set_font(FONT, size=BODY_SIZE)
        self.set_draw_color(*RULE)
        self.set_creator("资助帮扶")

    def header(self) -> None:
        if self.continuing:
            self.set_font(FONT, size=12)
            self.cell(0, 8, f"{self.continuing}(续)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_font(FONT, size=BODY_SIZE)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, size=8.5)
        self.set_text_color(*GREY)
        self.cell(self.epw * 0.6, 6, self.footer_text, align=Align.L)
        self.cell(self.epw * 0.4, 6, f"第 {self.page_no()} 页 / 共 {{nb}} 页", align=Align.R)
        self.set_text_color(0, 0, 0)


def render_pdf(document: Document) -> bytes:
    document = _printable(document)
    pdf = _CaseFilePDF(document.footer)
    pdf.set_title(document.filename)
    _cover(pdf, document.cover)
    for section in document.sections:
        _section(pdf, section)
    return bytes(pdf.output())


MISSING = "□"  # stands for a character the font lacks (CJK Extension A and beyond, emoji)


@functools.cache
def _font_characters() -> frozenset[int]:
    return frozenset(TTFont(str(FONT_PATH), lazy=True).getBestCmap())


def _shown(text: str) -> str:
    """The text with each character the font lacks as "□": fpdf2 would drop it without a trace, and
    a name printed without one of its characters is worse than one that shows a gap."""
    known = _font_characters()
    if all(ord(c) in known or c in "\n\r\t" for c in text):
        return text
    return "".join(c if ord(c) in known or c in "\n\r\t" else MISSING for c in text)


def _printable(document: Document) -> Document:
    def rows(items: list[Row]) -> list[Row]:
        return [Row(_shown(r.label), _shown(r.value)) for r in items]

    def table(t: Table) -> Table:
        return Table(headers=[_shown(h) for h in t.headers], rows=[[_shown(v or "") for v in r] for r in t.rows])

    def block(b: Block) -> Block:
        return Block(_shown(b.title), _shown(b.meta), rows(b.rows), [table(t) for t in b.tables])

    return Document(
        cover=Cover(_shown(document.cover.title), rows(document.cover.rows)),
        sections=[
            Section(_shown(s.title), [block(b) for b in s.blocks], _shown(s.empty_text), s.page_break_before)
            for s in document.sections
        ],
        footer=_shown(document.footer),
        filename=document.filename,
    )


def _cover(pdf: _CaseFilePDF, cover: Cover) -> None:
    pdf.add_page()
    pdf.ln(40)
    pdf.set_font(FONT, size=24)
    pdf.multi_cell(0, 14, cover.title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(16)
    pdf.set_font(FONT, size=12)
    _rows(pdf, cover.rows, line=8.0)
    pdf.set_font(FONT, size=BODY_SIZE)


def _section(pdf: _CaseFilePDF, section: Section) -> None:
    if section.page_break_before:
        pdf.add_page()
    else:
        pdf.ln(4)
    # A title is never left alone at the foot of a page: it needs room for three lines under it.
    if pdf.will_page_break(TITLE_HEIGHT + 3 * LINE):
        pdf.add_page()
    _section_title(pdf, section.title)
    if not section.blocks:
        pdf.set_text_color(*GREY)
        pdf.multi_cell(0, LINE, section.empty_text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
    for block in section.blocks:
        _block_kept_together(pdf, block)


def _section_title(pdf: _CaseFilePDF, title: str) -> None:
    pdf.set_font(FONT, size=15)
    pdf.cell(0, TITLE_HEIGHT - 2, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(2)
    pdf.set_font(FONT, size=BODY_SIZE)


def _block_kept_together(pdf: _CaseFilePDF, block: Block) -> None:
    """Measure the block first; when it would cross the page's foot and the page already holds
    something, start it on the next page. A block taller than a page flows on.

    Measured by counting wrapped lines, not by fpdf2's offset_rendering(), which deep-copies the
    document and its 21,000-glyph font for every block (90 ms each)."""
    if pdf.will_page_break(_block_height(pdf, block)) and pdf.get_y() > pdf.t_margin + 12:
        pdf.add_page()
    pdf.continuing = block.title
    try:
        _block(pdf, block)
    finally:
        pdf.continuing = None


def _block_height(pdf: _CaseFilePDF, block: Block) -> float:
    """The height ``_block`` will draw (what it draws, line for line), in mm."""
    pdf.set_font(FONT, size=TITLE_SIZE)
    height: float = 2 + 7 * _line_count(pdf, block.title, pdf.epw, padding=0) + 1 + 3
    if block.meta:
        pdf.set_font(FONT, size=META_SIZE)
        height += 5 * _line_count(pdf, block.meta, pdf.epw, padding=0)
    pdf.set_font(FONT, size=BODY_SIZE)
    height += sum(_row_height(pdf, row, LINE) for row in block.rows)
    pdf.set_font(FONT, size=TABLE_SIZE)
    for table in block.tables:
        width = pdf.epw / max(len(table.headers), 1)
        for values in [table.headers, *table.rows]:
            lines = max((_line_count(pdf, v or "", width, padding=1.2) for v in values), default=1)
            height += lines * (LINE - 0.5) + 2 + 0.2
        height += 1.5
    pdf.set_font(FONT, size=BODY_SIZE)
    return height


def _block(pdf: _CaseFilePDF, block: Block) -> None:
    pdf.ln(2)
    pdf.set_font(FONT, size=TITLE_SIZE)
    pdf.multi_cell(0, 7, block.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if block.meta:
        pdf.set_font(FONT, size=META_SIZE)
        pdf.set_text_color(*GREY)
        pdf.multi_cell(0, 5, block.meta, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, size=BODY_SIZE)
    pdf.ln(1)
    if block.rows:
        _rows(pdf, block.rows, line=LINE)
    for table in block.tables:
        pdf.ln(1.5)
        _table(pdf, table)
    pdf.ln(3)


def _rows(pdf: _CaseFilePDF, rows: list[Row], *, line: float) -> None:
    """Label and value side by side, the value wrapped; a row moves whole to the next page when it
    fits on one, and a longer one flows over pages (its label stays on the first)."""
    label_width = pdf.epw * LABEL_SHARE
    value_width = pdf.epw - label_width
    for row in rows:
        value = row.value or "—"
        lines = _row_lines(pdf, row)
        height = lines * line + 2 * PAD
        if height <= pdf.eph and pdf.will_page_break(height):
            pdf.add_page()
        top, page = pdf.get_y() + PAD, pdf.page
        pdf.set_text_color(*GREY)
        pdf.set_xy(pdf.l_margin, top)
        pdf.multi_cell(label_width, line, row.label, padding=Padding(right=2))
        pdf.set_text_color(0, 0, 0)
        pdf.page = page  # draw the value beside the label, on the label's page
        pdf.set_xy(pdf.l_margin + label_width, top)
        pdf.multi_cell(value_width, line, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(pdf.get_y(), top + lines * line) if pdf.page == page else pdf.get_y())
        pdf.set_y(pdf.get_y() + PAD)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())


def _row_lines(pdf: _CaseFilePDF, row: Row) -> int:
    label_width = pdf.epw * LABEL_SHARE
    return max(
        _line_count(pdf, row.label, label_width, padding=2),
        _line_count(pdf, row.value or "—", pdf.epw - label_width, padding=0),
    )


def _row_height(pdf: _CaseFilePDF, row: Row, line: float) -> float:
    return _row_lines(pdf, row) * line + 2 * PAD


def _line_count(pdf: _CaseFilePDF, text: str, width: float, *, padding: float) -> int:
    lines = pdf.multi_cell(width, LINE, text, dry_run=True, output="LINES", padding=Padding(right=padding))
    return max(len(lines), 1) if isinstance(lines, list) else 1


def _table(pdf: _CaseFilePDF, table: Table) -> None:
    options: dict[str, Any] = {
        "line_height": LINE - 0.5,
        "headings_style": FontFace(fill_color=HEAD_FILL),
        "cell_fill_mode": TableCellFillMode.NONE,
        "padding": (1, 1.2),
        "text_align": "LEFT",
        "repeat_headings": 1,
    }
    pdf.set_font(FONT, size=TABLE_SIZE)
    with pdf.table(**options) as drawn:
        drawn.row(table.headers)
        for values in table.rows:
            drawn.row([value or "" for value in values])
    pdf.set_font(FONT, size=BODY_SIZE)
