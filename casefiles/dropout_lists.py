"""适龄儿童台账, the reading: a town's list of children of compulsory-education age as the 乡镇 or the
公安 hands it over (.xls or .xlsx, title rows above the header, their own column names), read with the
roster reader (casefiles/imports: headers found by keyword, every bad row reported with Excel's row
number, the column and a Chinese message). Nothing is written here: dropouts.school_age_children_upload
writes the clean rows.

    roster = read_school_age_list(upload, year=2026, max_bytes=...)
    roster.errors, roster.clean_rows   # each row's values: name, id_number, birth_date, gender, …
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from stdnum.cn import ric

from pairing.models import Gender
from pairing.validators import validate_id_number, validate_phone
from zaoyang_aid.spreadsheets import SheetLimits, clean_code, clean_text, open_sheet, parse_date

from .imports.columns import Column
from .imports.rows import Roster, RosterRow
from .imports.tables import bad_value, check_duplicates_in_file, read_table

# The columns of a town's list, with the spellings the 乡镇 and 公安 lists use.
CHILD_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("姓名", "儿童姓名", "学生姓名"), required=True),
    Column(
        "id_number",
        "身份证号",
        ("身份证号", "身份证号码", "身份证件号", "公民身份号码", "证件号码", "儿童身份证号"),
        required=True,
    ),
    Column("birth_date", "出生日期", ("出生日期", "出生年月日", "生日")),
    Column("gender", "性别", ("性别",)),
    Column("town", "乡镇(街道)", ("乡镇", "乡镇街道", "所在乡镇", "乡镇(街道)")),
    Column("village", "村(社区)", ("村", "村社区", "所在村", "村(社区)", "村(居)委会", "村居")),
    Column("guardian_name", "监护人", ("监护人", "监护人姓名", "家长姓名")),
    Column("guardian_phone", "联系电话", ("联系电话", "监护人电话", "监护人联系电话", "手机号", "电话")),
)
_GENDERS = {"男": Gender.MALE, "男性": Gender.MALE, "女": Gender.FEMALE, "女性": Gender.FEMALE}

# 义务教育: a child of 6 to 15 years (whole years) on 9-1 of the ledger's year.
COMPULSORY_AGES = (6, 15)


def age_on_reference(birth_date: dt.date, year: int) -> int:
    """Whole years of age on 9-1 of ``year`` (the national notice's reference day)."""
    reference = dt.date(year, 9, 1)
    return reference.year - birth_date.year - ((reference.month, reference.day) < (birth_date.month, birth_date.day))


def is_compulsory_age(birth_date: dt.date, year: int) -> bool:
    """The one age rule of the 适龄儿童台账: 6 to 15 on 9-1 of ``year``, both ends included."""
    low, high = COMPULSORY_AGES
    return low <= age_on_reference(birth_date, year) <= high


def _gender(raw: Any) -> str:
    text = clean_text(raw)
    if not text:
        return ""
    if text not in _GENDERS:
        raise ValueError(text)
    return str(_GENDERS[text])


def _date(raw: Any) -> dt.date | None:
    if clean_text(raw) == "":
        return None
    day = parse_date(raw)
    if day is None:
        raise ValueError(raw)
    return day


_PARSERS = {
    "id_number": lambda raw: clean_code(raw).upper(),
    "birth_date": _date,
    "gender": _gender,
}


def _message(key: str, raw: Any) -> str:
    shown = clean_text(raw)[:30]
    if key == "birth_date":
        return f"“{shown}”不是有效日期。请写成20150901或2015-09-01。"
    if key == "gender":
        return f"只能填“男”或“女”,不能填“{shown}”。"
    return bad_value(raw)


def _checker(year: int, town_name: str) -> Any:
    def check(row: RosterRow) -> None:
        _check_id_and_age(row, year)
        phone = row.values.get("guardian_phone")
        if phone:
            try:
                validate_phone(phone)
            except ValidationError as exc:
                row.add_error("guardian_phone", exc.messages[0])
        town = row.values.get("town")
        if town and town_name and _bare_town(town) != _bare_town(town_name):
            row.add_error("town", f"与所选乡镇“{town_name}”不一致。每个乡镇的名单请分别上传。")

    return check


def _bare_town(name: str) -> str:
    """琚湾镇 and 琚湾 name the same town; 环城街道 and 环城街道办事处 too."""
    name = name.replace(" ", "").removeprefix("枣阳市")
    for suffix in ("街道办事处", "办事处", "街道", "镇", "乡"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


def _check_id_and_age(row: RosterRow, year: int) -> None:
    id_number = row.values.get("id_number")
    if not id_number:
        return
    try:
        validate_id_number(id_number)
    except ValidationError as exc:
        row.add_error("id_number", exc.messages[0])
        return
    born: dt.date = ric.get_birth_date(id_number)
    given = row.values.get("birth_date")
    if given and given != born:
        row.add_error("birth_date", f"与身份证号不一致(身份证号为{born:%Y年%m月%d日})。")
        return
    row.values["birth_date"] = born
    expected = str(Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE)
    if row.values.get("gender") and row.values["gender"] != expected:
        row.add_error("gender", f"与身份证号不一致(身份证号为{Gender(expected).label}性)。")
    row.values["gender"] = expected
    if not is_compulsory_age(born, year):
        age = age_on_reference(born, year)
        row.add_error(
            "id_number",
            f"{year}年9月1日时{age}周岁,不在义务教育适龄范围({COMPULSORY_AGES[0]}至{COMPULSORY_AGES[1]}周岁)。",
        )


def read_school_age_list(
    source: UploadedFile | Path | str, *, year: int, town_name: str, max_bytes: int, limits: SheetLimits | None = None
) -> Roster:
    """The list's rows, each parsed and checked (ID number, birth date and gender against it, the
    age rule for ``year``, the phone, the town); ValidationError when the file itself is refused."""
    limits = replace(limits or SheetLimits(), max_bytes=max_bytes)
    roster = read_table(
        open_sheet(source, limits=limits),
        CHILD_COLUMNS,
        parsers=_PARSERS,
        messages=_message,
        check_row=_checker(year, town_name),
    )
    check_duplicates_in_file(roster.rows, "id_number")
    return roster


def row_values(row: RosterRow) -> dict[str, Any]:
    """A clean row as the upload service takes it (plain values)."""
    keys = ("id_number", "name", "gender", "birth_date", "village", "guardian_name", "guardian_phone")
    return {key: row.values.get(key) or ("" if key != "birth_date" else None) for key in keys}
