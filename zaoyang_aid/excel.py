"""The shared Excel writer: one sheet laid out as the county's offices file a 报表.

Rows 1-4 name the report (title, 填报单位, the filter used in words, 导出时间 and who exported), row 5
is the styled header, then the data rows and a 合计 row. Panes are frozen below the header, the
header carries an auto-filter, dates and percentages are real Excel values with a number format.

Streaming: XlsxWriter's constant-memory mode, rows taken from an iterator; each row goes to a
temporary file as the next one begins, so memory stays flat as rows grow. It writes the 10,000-row
teacher report's cells in about 0.6x the time of openpyxl's write-only mode (bench/reports.py prints
both floors; ../shared/PERFORMANCE.md measured 1.5x faster), which the issue's 1.5x-the-floor target
needed. openpyxl still reads every workbook (imports, tests). Only the first WIDTH_SAMPLE rows are held,
to size the columns before the first row is written.

No cell carries a live formula: text that starts with =, +, -, @, a tab or a carriage return is
written with a leading apostrophe in its value. The apostrophe is in the text itself (not only
Excel's hidden quotePrefix style), so the cell stays inert when an office saves the sheet as CSV and
another program opens that (OWASP, "CSV injection").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import islice
from typing import IO, Any

import xlsxwriter
from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from xlsxwriter.worksheet import Worksheet

HEADER_ROW = 5  # rows 1-4: title, 填报单位, 筛选条件, 导出时间 and who
TITLE_HEIGHT = 28  # points: row 1 holds the 16 pt title
WIDTH_SAMPLE = 200  # rows looked at to size the columns
MAX_WIDTH = 60  # characters; longer text wraps in Excel rather than widening the sheet
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
INTEGER_FORMAT = "0"
DECIMAL_FORMAT = "#,##0.00"


class CellKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"  # an aware moment, written as Asia/Shanghai wall time
    PERCENT = "percent"  # a share 0..1, shown as 87.5%


class Total(StrEnum):
    NONE = ""
    SUM = "sum"  # the column's numbers added up
    COUNT = "count"  # the rows with a value in this column


@dataclass(frozen=True)
class Column:
    """One column of a sheet. ``ratio_of`` (numerator key, denominator key) makes the 合计 of a
    percentage the ratio of the two columns' sums, not a sum of percentages."""

    key: str
    label: str
    kind: CellKind = CellKind.TEXT
    width: int = 0  # characters (a CJK character counts two); 0: fitted to the header and the first rows
    total: Total = Total.NONE
    ratio_of: tuple[str, str] | None = None


@dataclass(frozen=True)
class Heading:
    title: str
    unit: str  # 填报单位
    filters: str  # the filter used, in words
    exported_at: dt.datetime  # aware; written in Asia/Shanghai
    exported_by: str


@dataclass(frozen=True)
class Chart:
    """A native Excel bar chart beside the table: one bar per data row, labelled by the ``category``
    column, as high as the ``value`` column (a PERCENT column gives a 0-100% axis). It reads the
    sheet's own cells, so it redraws when an office sorts or corrects them."""

    title: str
    category: str  # a column key
    value: str  # a column key


def display_width(text: str) -> int:
    """Columns a text takes in Excel's default font: a CJK or full-width character counts two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def safe_text(value: str) -> str:
    """Text as a cell may hold it: characters XML cannot carry dropped (openpyxl would refuse the
    whole file for one), and a leading formula trigger made inert with an apostrophe."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_TRIGGERS):
        value = "'" + value
    # A line break in a cell is a LF (XML reads a bare CR as one anyway); a CR would be written
    # escaped (_x000D_), which readers other than Excel show as those seven characters.
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


# Cell formats, as XlsxWriter format properties (the workbook makes each once).
_HEADER_STYLE = {
    "bold": True,
    "font_color": "#FFFFFF",
    "bg_color": "#2F5597",
    "pattern": 1,
    "align": "center",
    "valign": "vcenter",
    "text_wrap": True,
    "border": 1,
    "border_color": "#999999",
}
_TOTAL_STYLE = {"bold": True, "bg_color": "#E7ECF7", "pattern": 1, "border": 1, "border_color": "#999999"}
_TITLE_STYLE = {"bold": True, "font_size": 16}
_FORMATS = {
    CellKind.DATE: DATE_FORMAT,
    CellKind.DATETIME: DATETIME_FORMAT,
    CellKind.PERCENT: PERCENT_FORMAT,
    CellKind.INTEGER: INTEGER_FORMAT,
    CellKind.DECIMAL: DECIMAL_FORMAT,
}
CM_PIXELS = 37.8  # a chart's size: XlsxWriter takes pixels at 96 dpi


def _value(column: Column, value: Any) -> Any:
    if value is None or value == "":
        return None
    if column.kind == CellKind.DATE:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None)
        return value if isinstance(value, dt.date) else safe_text(str(value))
    if column.kind == CellKind.DATETIME:
        if isinstance(value, dt.datetime):
            return (timezone.localtime(value) if timezone.is_aware(value) else value).replace(tzinfo=None)
        return safe_text(str(value))
    if column.kind in (CellKind.INTEGER, CellKind.DECIMAL, CellKind.PERCENT):
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return float(value) if isinstance(value, Decimal) else value
        return safe_text(str(value))
    return safe_text(str(value))


def _number(value: Any) -> Any:
    """A number column's cell: ints and floats as they are (the common case, asked first)."""
    kind = type(value)
    if kind is int or kind is float:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value) if isinstance(value, Decimal) else value
    return safe_text(str(value))


def _converter(column: Column) -> Any:
    """The column's cell conversion (``_value`` for it), chosen once per file rather than per cell:
    the 10,000-row teacher report converts 120,000 cells."""
    if column.kind in (CellKind.INTEGER, CellKind.DECIMAL, CellKind.PERCENT):
        return _number
    if column.kind == CellKind.TEXT:
        return _text
    return lambda value: _value(column, value)


def _text(value: Any) -> Any:
    """A text column's cell (``_value`` for it): text made safe, blanks left out."""
    if value is None or value == "":
        return None
    return safe_text(value if type(value) is str else str(value))


class _Totals:
    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = columns
        self.sums: dict[str, float] = {c.key: 0 for c in columns}
        self.counts: dict[str, int] = {c.key: 0 for c in columns}
        # Only the columns a total needs are looked at, per row: the 10,000-row teacher report adds
        # up nine of its twelve.
        added = {c.key for c in columns if c.total == Total.SUM}
        added |= {key for c in columns if c.ratio_of for key in c.ratio_of}
        self._summed = [(i, c.key) for i, c in enumerate(columns) if c.key in added]
        self._counted = [(i, c.key) for i, c in enumerate(columns) if c.total == Total.COUNT]

    def add(self, row: Sequence[Any]) -> None:
        sums, counts = self.sums, self.counts
        for i, key in self._summed:
            value = row[i]
            kind = type(value)
            if kind is int or kind is float:  # _value made Decimals floats; a bool is neither
                sums[key] += value
        for i, key in self._counted:
            if row[i] is not None and row[i] != "":
                counts[key] += 1

    def row(self) -> list[Any]:
        values: list[Any] = []
        for column in self.columns:
            if column.ratio_of is not None:
                numerator, denominator = (self.sums[k] for k in column.ratio_of)
                values.append(numerator / denominator if denominator else None)
            elif column.total == Total.SUM:
                values.append(self.sums[column.key])
            elif column.total == Total.COUNT:
                values.append(self.counts[column.key])
            else:
                values.append(None)
        values[0] = values[0] if values[0] is not None else "合计"
        return values

    @property
    def wanted(self) -> bool:
        return any(c.total or c.ratio_of for c in self.columns)


def _widths(columns: Sequence[Column], sample: Sequence[Sequence[Any]]) -> list[int]:
    widths = []
    for i, column in enumerate(columns):
        if column.width:
            widths.append(column.width)
            continue
        longest = display_width(column.label)
        for row in sample:
            value = row[i]
            if isinstance(value, dt.datetime):
                longest = max(longest, 16)
            elif isinstance(value, dt.date):
                longest = max(longest, 10)
            elif value is not None:
                longest = max(longest, display_width(str(value)))
        widths.append(min(longest + 2, MAX_WIDTH))
    return widths


def _sheet_name(title: str) -> str:
    """A worksheet name Excel takes: at most 31 characters, none of []:*?/\\ and no apostrophe."""
    name = "".join(ch for ch in safe_text(title) if ch not in "[]:*?/\\'")[:31].strip()
    return name or "Sheet1"


def write_sheet(
    target: str | IO[bytes],
    *,
    heading: Heading,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    sheet_title: str = "",
    chart: Chart | None = None,
) -> int:
    """Write ``rows`` (each a sequence of raw values in ``columns``' order) to ``target`` (a path or
    a seekable binary file). Returns the number of data rows written."""
    wb = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,  # each row goes to a temporary file as the next begins: flat memory
            # Text stays text: no string is ever read as a formula, a number or a link.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        ws = wb.add_worksheet(_sheet_name(sheet_title or heading.title))
        iterator: Iterator[Sequence[Any]] = iter(rows)
        convert = [_converter(c) for c in columns]
        sample = [[f(v) for f, v in zip(convert, row, strict=True)] for row in islice(iterator, WIDTH_SAMPLE)]
        for i, width in enumerate(_widths(columns, sample)):
            ws.set_column(i, i, width)
        last = len(columns) - 1
        ws.freeze_panes(HEADER_ROW, 0)
        # Printed as offices file it: landscape, the table one page wide (a wide report no longer splits
        # its columns and its chart across pages), as many pages long as it takes, the header on each.
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(HEADER_ROW - 1)
        _heading_rows(wb, ws, heading, last)
        header = wb.add_format(_HEADER_STYLE)
        for i, column in enumerate(columns):
            ws.write_string(HEADER_ROW - 1, i, column.label, header)

        number_formats: dict[str, Any] = {k: wb.add_format({"num_format": f}) for k, f in _FORMATS.items()}
        formats = [
            number_formats[c.kind] if c.kind in _FORMATS and c.kind != CellKind.INTEGER else None for c in columns
        ]
        write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
        chart_cells: dict[int, list[Any]] = {}
        if chart is not None:
            keys = [c.key for c in columns]
            chart_cells = {keys.index(chart.category): [], keys.index(chart.value): []}
        totals = _Totals(columns)
        row_at = HEADER_ROW  # zero-based: the first data row is the one below the header

        def write_row(values: Sequence[Any]) -> None:
            """Each value as its type: a styled cell only where Excel needs a number format (a date,
            a share); a blank leaves the cell out."""
            for col, value in enumerate(values):
                kind = type(value)
                if kind is str:
                    write_string(row_at, col, value)
                elif kind is int or kind is float:
                    write_number(row_at, col, value, formats[col])
                elif value is None:
                    continue
                elif isinstance(value, dt.date):
                    write_datetime(row_at, col, value, formats[col])
                else:
                    write_number(row_at, col, value, formats[col])
            for col, cells in chart_cells.items():
                cells.append(values[col])

        for values in sample:
            write_row(values)
            totals.add(values)
            row_at += 1
        for row in iterator:
            values = [f(v) for f, v in zip(convert, row, strict=True)]
            write_row(values)
            totals.add(values)
            row_at += 1
        count = row_at - HEADER_ROW
        if totals.wanted:
            total_formats = {kind: wb.add_format({**_TOTAL_STYLE, "num_format": fmt}) for kind, fmt in _FORMATS.items()}
            plain_total = wb.add_format(_TOTAL_STYLE)
            for col, (column, value) in enumerate(zip(columns, totals.row(), strict=True)):
                style = total_formats.get(column.kind, plain_total) if column.kind != CellKind.INTEGER else plain_total
                if value is None:
                    ws.write_blank(row_at, col, None, style)
                elif isinstance(value, str):
                    ws.write_string(row_at, col, value, style)
                else:
                    ws.write_number(row_at, col, value, style)
        ws.autofilter(HEADER_ROW - 1, 0, HEADER_ROW - 1 + max(count, 1), last)
        if chart is not None and count:
            _add_chart(wb, ws, chart, columns, count, chart_cells)
    finally:
        wb.close()
    return count


def _heading_rows(wb: xlsxwriter.Workbook, ws: Worksheet, heading: Heading, last: int) -> None:
    local = timezone.localtime(heading.exported_at)  # settings.TIME_ZONE: Asia/Shanghai
    title = safe_text(heading.title)
    title_format = wb.add_format(_TITLE_STYLE)
    if last > 0:
        ws.merge_range(0, 0, 0, last, title, title_format)
    else:
        ws.write_string(0, 0, title, title_format)
    ws.set_row(0, TITLE_HEIGHT)  # the default height cut the 16 pt title in half (LibreOffice, print)
    ws.write_string(1, 0, safe_text(f"填报单位:{heading.unit}"))
    ws.write_string(2, 0, safe_text(f"筛选条件:{heading.filters}"))
    when = local.strftime("%Y-%m-%d %H:%M")
    ws.write_string(3, 0, safe_text(f"导出时间:{when}    导出人:{heading.exported_by}"))


def _add_chart(
    wb: xlsxwriter.Workbook,
    ws: Worksheet,
    chart: Chart,
    columns: Sequence[Column],
    count: int,
    cells: dict[int, list[Any]],
) -> None:
    """The bar chart, anchored right of the table at the header row. It refers to the sheet's own
    cells; the values written are given too as the chart's cache (a constant-memory sheet keeps no
    rows to read them from), so a viewer that does not recalculate charts still draws the bars."""
    keys = [c.key for c in columns]
    value_column = columns[keys.index(chart.value)]
    value_at, category_at = keys.index(chart.value), keys.index(chart.category)
    first, last_row = HEADER_ROW, HEADER_ROW + count - 1  # zero-based data rows
    bars = wb.add_chart({"type": "column"})
    assert bars is not None  # noqa: S101  # "column" is a chart type XlsxWriter knows
    bars.add_series(
        {
            "name": [ws.name, HEADER_ROW - 1, value_at],
            "categories": [ws.name, first, category_at, last_row, category_at],
            "values": [ws.name, first, value_at, last_row, value_at],
            "categories_data": ["" if v is None else v for v in cells[category_at]],
            "values_data": cells[value_at],
            # Each bar labelled with its value: the towns' rates differ by a few points, which bars
            # from 0 to 100% alone do not show.
            "data_labels": {"value": True},
        }
    )
    bars.set_title({"name": chart.title})
    bars.set_legend({"none": True})
    y_axis: dict[str, Any] = {"name": value_column.label, "min": 0}
    if value_column.kind == CellKind.PERCENT:
        y_axis |= {"max": 1, "num_format": "0%"}
    bars.set_y_axis(y_axis)
    # A bar's name and value stay readable for 20 towns: 1.8 cm a bar, at least 16 cm; 9 cm high.
    bars.set_size({"width": round(max(16, 1.8 * count) * CM_PIXELS), "height": round(9 * CM_PIXELS)})
    ws.insert_chart(HEADER_ROW - 1, len(columns) + 1, bars)
