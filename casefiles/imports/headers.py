"""Finding the header row under a roster's title rows ("枣阳市2026年秋季学期家庭经济困难学生名单",
"填报单位:…") and mapping its cells to our columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zaoyang_aid.spreadsheets import Sheet, clean_text

from .columns import SCHOOL_KEYS, Column, match_column

HEADER_SEARCH_ROWS = 20  # title rows, 填报单位 and notes above the header: never more than a few
MIN_HEADER_MATCHES = 3


@dataclass(frozen=True)
class RowError:
    """One problem to show in the preview: Excel's row number, the column's label ("" for the whole
    row) and a Chinese message."""

    row_number: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"第{self.row_number}行" + (f"“{self.column}”" if self.column else "")
        return f"{where}:{self.message}"


@dataclass
class HeaderMap:
    row_number: int  # Excel's row number of the header row
    positions: dict[str, int] = field(default_factory=dict)  # column key -> 0-based cell index
    ignored: list[str] = field(default_factory=list)  # headers we do not read, shown in the preview
    errors: list[RowError] = field(default_factory=list)

    def value(self, row: list[Any], key: str) -> Any:
        index = self.positions.get(key)
        if index is None or index >= len(row):
            return None
        return row[index]


def find_header(sheet: Sheet, columns: tuple[Column, ...]) -> HeaderMap:
    """The first row within HEADER_SEARCH_ROWS with the most cells naming our columns (at least
    MIN_HEADER_MATCHES); errors for a missing required column, a column named twice, or no header."""
    best: tuple[int, int] | None = None  # (matches, row index)
    for index, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        matches = len({c.key for c in (match_column(clean_text(v), columns) for v in row) if c})
        if matches >= MIN_HEADER_MATCHES and (best is None or matches > best[0]):
            best = (matches, index)
    if best is None:
        labels = "、".join(c.label for c in columns if c.required)
        message = f"前{HEADER_SEARCH_ROWS}行中没有找到表头。表头应含有{labels}等列名,请使用系统提供的模板。"
        return HeaderMap(row_number=0, errors=[RowError(1, "", message)])
    return _map_header(sheet.rows[best[1]], best[1] + 1, columns)


def _map_header(row: list[Any], row_number: int, columns: tuple[Column, ...]) -> HeaderMap:
    header = HeaderMap(row_number=row_number)
    for index, value in enumerate(row):
        text = clean_text(value)
        column = match_column(text, columns)
        if column is None:
            if text:
                header.ignored.append(text)
        elif column.key in header.positions:
            header.errors.append(
                RowError(
                    row_number,
                    text,
                    f"与第{header.positions[column.key] + 1}列重复,都表示“{column.label}”。请删去其中一列。",
                )
            )
        else:
            header.positions[column.key] = index
    for column in columns:
        if column.required and column.key not in header.positions:
            header.errors.append(RowError(row_number, column.label, "缺少这一列。"))
    keys = {c.key for c in columns}
    if set(SCHOOL_KEYS) <= keys and not any(k in header.positions for k in SCHOOL_KEYS):
        header.errors.append(RowError(row_number, "学校名称", "缺少这一列(或“学校标识码”列)。"))
    return header
