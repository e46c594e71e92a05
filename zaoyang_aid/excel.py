"""The shared Excel writer: one sheet laid out as the county's offices file a 报表.

Rows 1-4 name the report (title, 填报单位, the filter used in words, 导出时间 and who exported), row 5
is the styled header, then the data rows and a 合计 row. Panes are frozen below the header, the
header carries an auto-filter, dates and percentages are real Excel values with a number format.

Streaming: openpyxl's write-only mode, rows taken from an iterator (../shared/PERFORMANCE.md: flat
memory, the same speed as the normal mode). Only the first WIDTH_SAMPLE rows are held, to size the
columns before the first row is written (a write-only sheet takes its widths up front).

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

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties

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
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="2F5597")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_TOTAL_FILL = PatternFill("solid", fgColor="E7ECF7")
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=16)
_FORMATS = {
    CellKind.DATE: DATE_FORMAT,
    CellKind.DATETIME: DATETIME_FORMAT,
    CellKind.PERCENT: PERCENT_FORMAT,
    CellKind.INTEGER: INTEGER_FORMAT,
    CellKind.DECIMAL: DECIMAL_FORMAT,
}


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
    return lambda value: _value(column, value)


class _Totals:
    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = columns
        self.sums: dict[str, float] = {c.key: 0 for c in columns}
        self.counts: dict[str, int] = {c.key: 0 for c in columns}

    def add(self, row: Sequence[Any]) -> None:
        for column, value in zip(self.columns, row, strict=True):
            if value is None or value == "":
                continue
            self.counts[column.key] += 1
            if isinstance(value, int | float) and not isinstance(value, bool):  # _value made Decimals floats
                self.sums[column.key] += value

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


def _cell(ws: WriteOnlyWorksheet, value: Any, *, font: Font | None = None, **style: Any) -> Cell:
    cell = WriteOnlyCell(ws, value=value)
    if font is not None:
        cell.font = font
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _formatted(ws: WriteOnlyWorksheet, value: Any, number_format: str) -> Cell:
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    return cell


def _heading_rows(ws: WriteOnlyWorksheet, heading: Heading) -> None:
    local = timezone.localtime(heading.exported_at)  # settings.TIME_ZONE: Asia/Shanghai
    ws.append([_cell(ws, safe_text(heading.title), font=_TITLE_FONT)])
    ws.append([_cell(ws, safe_text(f"填报单位:{heading.unit}"))])
    ws.append([_cell(ws, safe_text(f"筛选条件:{heading.filters}"))])
    when = local.strftime("%Y-%m-%d %H:%M")
    ws.append([_cell(ws, safe_text(f"导出时间:{when}    导出人:{heading.exported_by}"))])


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
    a binary file). Returns the number of data rows written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=safe_text(sheet_title or heading.title)[:31].replace("'", "") or "Sheet1")
    iterator: Iterator[Sequence[Any]] = iter(rows)
    convert = [_converter(c) for c in columns]
    sample = [[f(v) for f, v in zip(convert, row, strict=True)] for row in islice(iterator, WIDTH_SAMPLE)]
    for i, width in enumerate(_widths(columns, sample), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    last = get_column_letter(len(columns))
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.merged_cells.add(f"A1:{last}1")
    ws.row_dimensions[1].height = TITLE_HEIGHT  # the default height cut the 16 pt title in half (LibreOffice, print)
    # Printed as offices file it: landscape, the table one page wide (a wide report no longer splits
    # its columns and its chart across pages), as many pages long as it takes.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"  # the header on every printed page
    _heading_rows(ws, heading)
    ws.append(
        [
            _cell(ws, c.label, font=_HEADER_FONT, fill=_HEADER_FILL, alignment=_HEADER_ALIGN, border=_BORDER)
            for c in columns
        ]
    )
    totals = _Totals(columns)
    count = 0

    formats = [_FORMATS.get(c.kind) if c.kind != CellKind.INTEGER else None for c in columns]

    def data_row(values: Sequence[Any]) -> list[Any]:
        """Plain values, and a styled cell only where Excel needs a number format (a date, a share):
        a style on every cell made the writer 4x the bare write (bench/reports.py)."""
        return [
            _formatted(ws, value, number_format) if number_format and not isinstance(value, str | None) else value
            for value, number_format in zip(values, formats, strict=True)
        ]

    for values in sample:
        ws.append(data_row(values))
        totals.add(values)
        count += 1
    for row in iterator:
        values = [f(v) for f, v in zip(convert, row, strict=True)]
        ws.append(data_row(values))
        totals.add(values)
        count += 1
    if totals.wanted:
        total_cells = []
        for value, number_format in zip(totals.row(), formats, strict=True):
            cell = _cell(ws, value, font=_BOLD, fill=_TOTAL_FILL, border=_BORDER)
            if number_format and value is not None:
                cell.number_format = number_format
            total_cells.append(cell)
        ws.append(total_cells)
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(count, 1)}"
    if chart is not None and count:
        _add_chart(ws, chart, columns, count)
    wb.save(target)
    return count


def _add_chart(ws: WriteOnlyWorksheet, chart: Chart, columns: Sequence[Column], count: int) -> None:
    """The bar chart, anchored right of the table at the header row (write-only sheets take charts:
    openpyxl writes them when the workbook is saved)."""
    keys = [c.key for c in columns]
    value_column = columns[keys.index(chart.value)]
    bars = BarChart()
    bars.type = "col"
    bars.title = chart.title
    bars.legend = None
    bars.y_axis.title = value_column.label
    bars.y_axis.scaling.min = 0
    if value_column.kind == CellKind.PERCENT:
        bars.y_axis.scaling.max = 1
        bars.y_axis.number_format = "0%"
    bars.y_axis.delete = False
    # Each bar labelled with its value: the towns' rates differ by a few points, which bars from 0
    # to 100% alone do not show.
    # (The labels take the cells' own format: openpyxl writes a label numFmt without the sourceLinked
    # attribute the schema requires, which Excel would "repair".)
    bars.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False)
    bars.x_axis.delete = False
    value_at = keys.index(chart.value) + 1
    category_at = keys.index(chart.category) + 1
    last_row = HEADER_ROW + count
    bars.add_data(Reference(ws, min_col=value_at, min_row=HEADER_ROW, max_row=last_row), titles_from_data=True)
    bars.set_categories(Reference(ws, min_col=category_at, min_row=HEADER_ROW + 1, max_row=last_row))
    bars.width = max(16, round(1.8 * count))  # centimetres: a bar's name and value stay readable for 20 towns
    bars.height = 9
    anchor = f"{get_column_letter(len(columns) + 2)}{HEADER_ROW}"
    ws.add_chart(bars, anchor)  # type: ignore[misc]  # the stubs type it for Worksheet; openpyxl shares it
