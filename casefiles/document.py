"""A case file laid out as a document: the one structure that the print view (HTML, A4) and the PDF
both render, so the two never disagree about what a case file holds or in which order.

``casefiles.selectors`` reads a student's case file for a reader (asking the field policy); a builder
turns it into a ``Document``: a cover page and sections of blocks. A block is one record (a talk, a
visit, a 五三卡, a term's results): renderers keep a block on one page where it fits, and start each
section on a new page when ``page_break_before`` says so. Values are plain text, already masked and
already cut down to what the reader may see; a renderer adds nothing and hides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """A label and its value (multi-line values keep their line breaks)."""

    label: str
    value: str


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Block:
    """One record, kept whole on a page where it fits: a heading, a line under it (who wrote it and
    when, 补录), label/value rows and optional tables."""

    title: str
    meta: str = ""
    rows: list[Row] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    # Shown when the section has no block, or why the reader sees none ("无权查看").
    empty_text: str = "无"
    page_break_before: bool = True
    # What the section holds ("talks", "attachments" …): the screen page adds its own links to some
    # sections by it; the print view and the PDF ignore it.
    key: str = ""


@dataclass(frozen=True)
class Cover:
    title: str  # "学生资助帮扶档案"
    rows: list[Row]  # 学校, 学生, 包保教师, 学期, 生成时间, 生成人


@dataclass(frozen=True)
class Document:
    cover: Cover
    sections: list[Section]
    # Printed at the foot of every page, e.g. "枣阳市学生资助管理中心 · 内部资料 注意保密".
    footer: str = ""
    # The file name a download offers, without extension (no ID number in it).
    filename: str = "帮扶档案"
