"""The empty roster template a page and ``import_roster --template`` hand out: a title row, a note
row saying what each column takes, the header (the columns' labels, which the header detection
reads back), and drop-down lists for 是/否 and 性别. Small, so openpyxl's normal mode."""

from __future__ import annotations

from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from zaoyang_aid.excel import display_width

from .columns import FLAG_KEYS
from .kinds import RosterKind

TEMPLATE_ROWS = 2000  # rows the drop-down lists cover
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="2F5597")
_REQUIRED_FILL = PatternFill("solid", fgColor="C00000")
_NOTE_FONT = Font(color="666666", size=9)
_WRAP = Alignment(horizontal="center", vertical="center", wrap_text=True)


def template_filename(kind: RosterKind) -> str:
    return f"{kind.label}导入模板.xlsx"


def template_write(kind: RosterKind, target: IO[bytes]) -> None:
    """Row 1 the title, row 2 the notes (above the header, so no reader takes them for a student),
    row 3 the header; required columns in red."""
    workbook = Workbook()
    sheet = workbook.create_sheet(kind.label, 0)
    workbook.remove(workbook.worksheets[1])  # the default empty sheet
    sheet.append([f"{kind.label}(导入模板):第2行为填写说明,第3行为表头,从第4行起每行一条"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([column.note for column in kind.columns])
    sheet.append([column.label for column in kind.columns])
    for index, column in enumerate(kind.columns, start=1):
        letter = get_column_letter(index)
        note, header = sheet.cell(row=2, column=index), sheet.cell(row=3, column=index)
        note.font, note.alignment = _NOTE_FONT, _WRAP
        header.font, header.alignment = _HEADER_FONT, _WRAP
        header.fill = _REQUIRED_FILL if column.required else _HEADER_FILL
        width = max(display_width(column.label), min(display_width(column.note), 24)) + 2
        sheet.column_dimensions[letter].width = width
        choices = '"是,否"' if column.key in FLAG_KEYS else ('"男,女"' if column.key == "gender" else "")
        if column.key in {"id_number", "student_number", "guardian_phone", "school_code", "birth_date"}:
            for row in range(4, TEMPLATE_ROWS + 4):  # text cells: Excel would turn an ID into 4.2E+17
                sheet.cell(row=row, column=index).number_format = "@"
        if choices:
            check = DataValidation(type="list", formula1=choices, allow_blank=True)
            check.error, check.errorTitle = "请从下拉列表中选择,不清楚请留空。", "填写有误"
            check.add(f"{letter}4:{letter}{TEMPLATE_ROWS + 3}")
            sheet.add_data_validation(check)
    sheet.row_dimensions[2].height = 36
    sheet.freeze_panes = "A4"
    workbook.save(target)
