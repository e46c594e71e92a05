"""A student roster's rows, read and checked without the database: values normalised (rosters as
other systems export them), and every problem a RowError with Excel's row number, the column and a
Chinese message. The checks that need the database are in checks.py."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from stdnum.cn import ric

from pairing.models import Gender, HukouType
from pairing.validators import validate_id_number, validate_phone, validate_student_number
from zaoyang_aid.spreadsheets import Sheet, clean_code, clean_text, parse_date, parse_flag

from .columns import DATE_KEYS, FLAG_KEYS, STUDENT_COLUMNS, Column
from .headers import HeaderMap, RowError, find_header

_LABELS = {c.key: c.label for c in STUDENT_COLUMNS}
_GENDERS = {
    "男": Gender.MALE,
    "男性": Gender.MALE,
    "m": Gender.MALE,
    "女": Gender.FEMALE,
    "女性": Gender.FEMALE,
    "f": Gender.FEMALE,
}
_HUKOU = {
    "城镇": HukouType.URBAN,
    "非农业": HukouType.URBAN,
    "城市": HukouType.URBAN,
    "农村": HukouType.RURAL,
    "农业": HukouType.RURAL,
}
_ID_LIKE_RE = re.compile(r"\d{17}[\dX]")
_CJK_GAP_RE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


@dataclass
class RosterRow:
    row_number: int  # Excel's
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    # The column labels errors are named by: the student roster's unless a roster of another kind
    # (teachers, pairings) gives its own.
    labels: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    def add_error(self, key: str, message: str) -> None:
        self.errors.append(RowError(self.row_number, (self.labels or _LABELS).get(key, key), message))

    @property
    def is_clean(self) -> bool:
        return not self.errors


@dataclass
class Roster:
    header: HeaderMap
    rows: list[RosterRow]
    # Excel row numbers of the notes under the table ("填表人:…  审核人:…"), read as no student:
    # the preview says so, so that a real row mistaken for one would be noticed.
    footer_rows: list[int] = field(default_factory=list)

    @property
    def errors(self) -> list[RowError]:
        return [*self.header.errors, *(e for row in self.rows for e in row.errors)]

    @property
    def clean_rows(self) -> list[RosterRow]:
        return [row for row in self.rows if row.is_clean]


def read_student_roster(sheet: Sheet) -> Roster:
    """Header found under the title rows, then each non-blank row below it parsed and checked."""
    header = find_header(sheet, STUDENT_COLUMNS)
    if not header.positions:
        return Roster(header=header, rows=[])
    rows, footer_rows = [], []
    for row_number, cells in enumerate(sheet.rows[header.row_number :], start=header.row_number + 1):
        texts = [t for t in (clean_text(v) for v in cells) if t]
        if is_footer(texts):
            footer_rows.append(row_number)
        elif texts:
            rows.append(parse_student_row(header, cells, row_number))
    check_duplicates_in_file(rows)
    return Roster(header=header, rows=rows, footer_rows=footer_rows)


_FOOTER_WORDS = ("填表人", "填报人", "审核人", "负责人", "制表", "联系人", "说明", "备注:", "注:", "合计", "总计")


def is_footer(texts: list[str]) -> bool:
    """A note under the table: at most three filled cells, one of them naming who filled or checked
    the form, a note or a total. A student's row fills far more cells than that."""
    return 0 < len(texts) <= 3 and any(t.startswith(_FOOTER_WORDS) for t in texts)


def parse_student_row(header: HeaderMap, cells: list[Any], row_number: int) -> RosterRow:
    row = RosterRow(row_number=row_number)
    for key in header.positions:
        raw = header.value(cells, key)
        parse: Callable[[Any], Any] = _PARSERS.get(key, _text)
        try:
            row.values[key] = parse(raw)
        except ValueError:
            row.add_error(key, _bad_value_message(key, raw))
    _check_required(row, header)
    _check_id_number(row)
    _check_student_number(row)
    return row


def _text(raw: Any) -> str:
    return clean_text(raw)


def _person_name(raw: Any) -> str:
    """Spaces typed between the characters of a Chinese name to line up two- and three-character
    names ("张  三") are removed; a space in a name in Latin letters is kept."""
    return _CJK_GAP_RE.sub("", clean_text(raw))


def _class_name(raw: Any) -> str:
    text = clean_text(raw).replace(" ", "")
    return f"{text}班" if text.isdigit() else text


def _gender(raw: Any) -> str:
    text = clean_text(raw).lower()
    if not text:
        return ""
    if text not in _GENDERS:
        raise ValueError(raw)
    return str(_GENDERS[text])


def _hukou(raw: Any) -> str:
    text = clean_text(raw).replace("户口", "")
    if not text:
        return ""
    if text not in _HUKOU:
        raise ValueError(raw)
    return str(_HUKOU[text])


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "name": _person_name,
    "guardian_name": _person_name,
    "id_number": clean_code,
    "student_number": clean_code,
    "guardian_phone": clean_code,
    "school_code": clean_code,
    "class_name": _class_name,
    "gender": _gender,
    "hukou_type": _hukou,
    **dict.fromkeys(DATE_KEYS, parse_date),
    **dict.fromkeys(FLAG_KEYS, parse_flag),
}


def _bad_value_message(key: str, raw: Any) -> str:
    shown = clean_text(raw)[:30]
    if key in DATE_KEYS:
        return f"“{shown}”不是有效日期。请写成20261014或2026-10-14。"
    if key in FLAG_KEYS:
        return f"只能填“是”或“否”(不清楚请留空),不能填“{shown}”。"
    if key == "gender":
        return f"只能填“男”或“女”,不能填“{shown}”。"
    if key == "hukou_type":
        return f"只能填“城镇”或“农村”,不能填“{shown}”。"
    return f"“{shown}”无法识别。"


def _check_required(row: RosterRow, header: HeaderMap) -> None:
    # A column missing from the header is reported once, on the header row, not on every row.
    for column in STUDENT_COLUMNS:
        if column.required and column.key in header.positions and row.values.get(column.key) in ("", None):
            row.add_error(column.key, "必填,不能为空。")
    if row.values.get("guardian_phone"):
        try:
            validate_phone(row.values["guardian_phone"])
        except ValidationError as exc:
            row.add_error("guardian_phone", exc.messages[0])


def _check_id_number(row: RosterRow) -> None:
    """Checksum, birth date and gender against the ID number; a blank 出生日期 or 性别 is taken from it."""
    id_number = row.values.get("id_number")
    if not id_number:
        return
    try:
        validate_id_number(id_number)
    except ValidationError as exc:
        row.add_error("id_number", exc.messages[0])
        return
    born: dt.date = ric.get_birth_date(id_number)
    expected_gender = str(Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE)
    given = row.values.get("birth_date")
    if given and given != born:
        row.add_error("birth_date", f"与身份证件号不一致(身份证件号为{born:%Y年%m月%d日})。")
    elif not given:
        row.values["birth_date"] = born
    if row.values.get("gender") and row.values["gender"] != expected_gender:
        row.add_error("gender", f"与身份证件号不一致(身份证件号为{Gender(expected_gender).label}性)。")
    else:
        row.values["gender"] = row.values.get("gender") or expected_gender


def normalize_student_number(value: str) -> str:
    """学籍号 as other systems export it: the G dropped (18 characters, an ID number) gets it back."""
    if _ID_LIKE_RE.fullmatch(value):
        return "G" + value
    return value


def _check_student_number(row: RosterRow) -> None:
    value = row.values.get("student_number")
    if not value:
        return
    value = row.values["student_number"] = normalize_student_number(value)
    try:
        validate_student_number(value)
    except ValidationError as exc:
        row.add_error("student_number", exc.messages[0])
        return
    id_number = row.values.get("id_number")
    if value.startswith("G") and id_number and value[1:] != id_number:
        row.add_error("student_number", "G字头学籍号应为G加上本人身份证件号,与所填身份证件号不一致。")


def check_duplicates_in_file(rows: list[RosterRow]) -> None:
    """A 学籍号 or 身份证件号 a second time in the same file: an error on the later row, naming the first."""
    for key in ("student_number", "id_number"):
        first: dict[str, int] = {}
        for row in rows:
            value = row.values.get(key)
            if not value:
                continue
            if value in first:
                row.add_error(key, f"与第{first[value]}行重复。")
            else:
                first[value] = row.row_number


__all__ = ["Column", "Roster", "RosterRow", "normalize_student_number", "parse_student_row", "read_student_roster"]
