"""Departments' lists as they export them, for the 部门名单比对 tests: title rows, their own column
names, household members, 残疾证号, notes under the table."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import xlwt

from pairing.tests.factories import make_id_number

# People who are not our students: their names and numbers must never be stored.
STRANGER_ID = make_id_number(901, dt.date(1978, 5, 6))
STRANGER_NAME = "赵外人"
HOUSEHOLDER_ID = make_id_number(902, dt.date(1980, 1, 2))


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xls_bytes(rows: list[list[Any]]) -> bytes:
    """Excel 97-2003, as 民政's system exports it (written by xlwt)."""
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("低保对象")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def dibao_household_list(*member_ids: str) -> list[list[Any]]:
    """民政's 低保 list: one row per household member, the 户主 repeated on each."""
    rows: list[list[Any]] = [
        ["枣阳市2026年城乡最低生活保障对象花名册"],
        ["填报单位:枣阳市民政局", None, None, "日期:2026-11-01"],
        [
            "序号",
            "乡镇",
            "村(社区)",
            "户主姓名",
            "户主身份证号",
            "成员姓名",
            "与户主关系",
            "成员身份证号码",
            "保障人数",
        ],
        [1, "吴店镇", "白土村", STRANGER_NAME, STRANGER_ID, STRANGER_NAME, "本人", STRANGER_ID, 3],
    ]
    for n, member in enumerate(member_ids, start=2):
        rows.append([n, "吴店镇", "白土村", "户主甲", HOUSEHOLDER_ID, f"成员{n}", "子女", member, 3])
    rows.append(["合计", None, None, None, None, None, None, None, 3 * len(member_ids)])
    rows.append(["填表人:李某", None, None, "审核人:王某"])
    return rows


def disability_list(*ids: str) -> list[list[Any]]:
    """残联's list: the 残疾证号 is the ID number plus two digits (残疾类别, 等级)."""
    rows: list[list[Any]] = [
        ["枣阳市持证残疾人名单"],
        ["姓名", "性别", "残疾证号", "残疾类别", "残疾等级", "乡镇"],
        [STRANGER_NAME, "男", STRANGER_ID + "43", "肢体", "三级", "七方镇"],
    ]
    rows += [[f"残疾人{n}", "男", number + "12", "视力", "二级", "七方镇"] for n, number in enumerate(ids)]
    return rows


def plain_list(header: str, *ids: str) -> list[list[Any]]:
    rows: list[list[Any]] = [["姓名", header, "乡镇", "村"], [STRANGER_NAME, STRANGER_ID, "琚湾镇", "某村"]]
    rows += [[f"对象{n}", number, "琚湾镇", "某村"] for n, number in enumerate(ids)]
    return rows
