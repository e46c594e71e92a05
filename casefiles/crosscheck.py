"""部门名单比对, the reading: a department's list as 民政, 残联 and 乡村振兴 export it (.xls or .xlsx,
their own column names, title rows above the header, notes under the table) reduced to the set of
valid ID numbers it holds. Nothing else of the list leaves this module: no name, no address, no row.

Every cell of a row counts: a 低保 list names the 户主 and each household member (成员身份证号), a
残联 list gives the 残疾证号 (the ID number plus two digits: its first 18 characters count). A cell
whose number fails the ID checksum is not matched; the rows with none are counted, and their row
numbers (never their content) shown to the uploader.

    read = read_department_list(upload, max_bytes=settings.DEPARTMENT_LIST_MAX_BYTES)
    read.ids, read.rows_read, read.rows_without_id
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from stdnum.cn import ric

from zaoyang_aid.spreadsheets import Sheet, SheetLimits, clean_code, clean_text, open_sheet

HEADER_SEARCH_ROWS = 20  # title rows (“枣阳市2026年低保对象花名册”, 单位, 日期) above the header
# A header cell naming a column that holds an ID number, in the spellings the departments use:
# 身份证号, 户主身份证号, 成员身份证号码, 公民身份号码, 证件号码, 残疾证号, 身份证件号.
ID_HEADER_WORDS = ("身份证", "身份号码", "证件号", "残疾证号")
_ID_IN_TEXT_RE = re.compile(r"(?<![0-9A-Z])(\d{17}[\dX])(?:\d{2})?(?![0-9A-Z])")
_FOOTER_WORDS = (
    "填表人",
    "填报人",
    "审核人",
    "负责人",
    "制表",
    "联系人",
    "说明",
    "备注",
    "注:",
    "合计",
    "总计",
    "共计",
)
ROW_NUMBERS_SHOWN = 20


@dataclass
class DepartmentListRead:
    """What the comparison needs of a list: the valid ID numbers, and counts for the uploader."""

    ids: set[str] = field(default_factory=set)
    header_row: int = 0  # Excel's row number of the header, 0 when none was found
    rows_read: int = 0  # the rows under the header that are neither blank nor a note
    rows_without_id: list[int] = field(default_factory=list)  # Excel's row numbers


def read_department_list(
    source: UploadedFile | Path | str, *, max_bytes: int, limits: SheetLimits | None = None
) -> DepartmentListRead:
    """The list's ID numbers, or ValidationError (Chinese) when the file is refused (not .xls/.xlsx,
    too large, a zip bomb: zaoyang_aid.spreadsheets) or holds no column of ID numbers."""
    limits = replace(limits or SheetLimits(), max_bytes=max_bytes)
    return read_sheet(open_sheet(source, limits=limits))


def read_sheet(sheet: Sheet) -> DepartmentListRead:
    header = find_id_header(sheet.rows)
    if header is None:
        raise ValidationError(
            f"前{HEADER_SEARCH_ROWS}行中没有找到身份证号列。名单应有一列“身份证号”“公民身份号码”“证件号码”"
            "或“残疾证号”等,请检查是否选错了文件或工作表(系统读取第一个工作表)。",
            code="no_id_column",
        )
    read = DepartmentListRead(header_row=header + 1)
    for row_number, cells in enumerate(sheet.rows[header + 1 :], start=header + 2):
        texts = [t for t in (clean_text(v) for v in cells) if t]
        if not texts or _is_footer(texts):
            continue
        read.rows_read += 1
        found = ids_in_row(cells)
        if found:
            read.ids |= found
        else:
            read.rows_without_id.append(row_number)
    if not read.ids:
        raise ValidationError(
            f"名单中没有读到有效的身份证号(共读取{read.rows_read}行)。请确认身份证号完整(18位)且未被Excel"
            "显示为科学计数法(如4.20683E+17)。",
            code="no_ids",
        )
    return read


def find_id_header(rows: list[list[Any]]) -> int | None:
    """The 0-based index of the first row within HEADER_SEARCH_ROWS with a cell naming an ID column."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        for value in row:
            text = clean_text(value).replace(" ", "")
            if len(text) <= 20 and any(word in text for word in ID_HEADER_WORDS):
                return index
    return None


def ids_in_row(cells: Iterable[Any]) -> set[str]:
    """Every valid ID number in the row's cells: a cell that is one (spaces and dashes ignored, a
    残疾证号's two trailing digits dropped), or a cell listing several ("张三 4206…、李四 4206…")."""
    found: set[str] = set()
    for value in cells:
        if isinstance(value, int | float) and not isinstance(value, bool):
            continue  # an ID stored as a number has lost its last digits (Excel keeps 15): unusable
        code = clean_code(value)
        if (len(code) == 18 or (len(code) == 20 and code[18:].isdigit())) and _valid(code[:18]):
            found.add(code[:18])
            continue
        text = clean_text(value).upper()
        found |= {m for m in _ID_IN_TEXT_RE.findall(text) if _valid(m)}
    return found


def _valid(number: str) -> bool:
    """Well formed: 17 digits and a digit or X, a real birth date, the right check digit. Not
    stdnum's region check by date of birth: a parent born in 1978 carries 420683 (枣阳市 since 1988)."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return ric.calc_check_digit(number) == number[-1]


def _is_footer(texts: list[str]) -> bool:
    """A note under the table (填表人, 合计, 注:…): a few filled cells, one of them such a word."""
    return len(texts) <= 3 and any(t.startswith(_FOOTER_WORDS) for t in texts)


def describe_rows(numbers: list[int]) -> str:
    """第12、15、…行 for the uploader's message (row numbers only: never a cell of the list)."""
    shown = "、".join(str(n) for n in numbers[:ROW_NUMBERS_SHOWN])
    more = f"等{len(numbers)}行" if len(numbers) > ROW_NUMBERS_SHOWN else "行"
    return f"第{shown}{more}"
