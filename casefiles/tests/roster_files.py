"""Student rosters for the import tests: a full header in the template's spellings and rows built
from keyword values, written as .xlsx or .xls."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import xlwt

from casefiles.imports.columns import STUDENT_COLUMNS
from pairing.tests.factories import make_id_number

LABELS = [c.label for c in STUDENT_COLUMNS]
KEYS = [c.key for c in STUDENT_COLUMNS]


def student_row(seq: int, *, school: str, town: str, **values: Any) -> dict[str, Any]:
    id_number = make_id_number(seq, dt.date(2012, 3, 4))
    row: dict[str, Any] = {
        "name": f"学生{seq}",
        "id_number": id_number,
        "student_number": "G" + id_number,
        "birth_date": int(f"{dt.date(2012, 3, 4) + dt.timedelta(days=seq // 500):%Y%m%d}"),
        "school": school,
        "grade": "1年级",
        "class_name": "2班",
        "hukou_type": "农村",
        "town": town,
        "village": "沙店村",
        "guardian_name": f"家长{seq}",
        "guardian_relation": "父亲",
        "guardian_phone": "13912345678",
    }
    row.update(values)
    return row


def cells(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [["枣阳市学生名单"], LABELS, *([row.get(k) for k in KEYS] for row in rows)]


def xlsx(rows: list[dict[str, Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in cells(rows):
        sheet.append(line)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xls(rows: list[dict[str, Any]]) -> bytes:
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("Sheet1")
    for r, line in enumerate(cells(rows)):
        for c, value in enumerate(line):
            if value is not None:
                sheet.write(r, c, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
