"""The roster checks that need the database, each a constant number of queries for the whole file
(a 15,000-row roster must not ask once per row). Each adds RowErrors to the rows it is given and,
where it resolves something (a school), puts the result in ``row.values`` for the commit to use."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from pairing.models import GRADE_NAMES, Pairing, School, Stage, Student

from .rows import RosterRow

_CHINESE_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# How schools write grades beside our GRADE_NAMES: 初一 = 七年级, 高1, 7 (junior grades counted from 1).
_GRADE_ALIASES: dict[str, dict[str, int]] = {
    Stage.JUNIOR: {"初一": 1, "初二": 2, "初三": 3, "七年级": 1, "八年级": 2, "九年级": 3, "7": 1, "8": 2, "9": 3},
    Stage.SENIOR: {"高1": 1, "高2": 2, "高3": 3, "10": 1, "11": 2, "12": 3},
}


def parse_grade(text: str, stage: str) -> int | None:
    """The grade number within the school's stage, or None when the stage has no such grade."""
    text = text.replace(" ", "")
    names = {name: number for number, name in GRADE_NAMES.get(stage, {}).items()}
    if text in names:
        return names[text]
    if text in _GRADE_ALIASES.get(stage, {}):
        return _GRADE_ALIASES[stage][text]
    match = re.fullmatch(r"([1-9一二三四五六七八九])(年级)?", text)
    if match:
        number = _CHINESE_NUMBERS.get(match.group(1)) or int(match.group(1))
        return number if number in GRADE_NAMES.get(stage, {}) else None
    return None


def check_schools(rows: Iterable[RosterRow], *, schools: QuerySet[School]) -> None:
    """学校名称 or 学校标识码 resolved within ``schools`` (the importer's scope: an officer's own school,
    the whole county for county staff), one query. A school outside it reads as unknown, so the
    preview tells an officer nothing about other schools. Puts ``school_id`` and ``grade`` (a number)."""
    rows = list(rows)
    names = {r.values.get("school") for r in rows} - {None, ""}
    codes = {r.values.get("school_code") for r in rows} - {None, ""}
    found = list(schools.filter(Q(name__in=names) | Q(code__in=codes)).only("pk", "name", "code", "stage"))
    by_name = {s.name: s for s in found}
    by_code = {s.code: s for s in found}
    for row in rows:
        code, name = row.values.get("school_code"), row.values.get("school")
        school = by_code.get(code) if code else by_name.get(name or "")
        if school is None:
            shown = code or name
            if shown:
                row.add_error("school_code" if code else "school", f"学校“{shown}”不存在,或不在您的管理范围内。")
            else:
                row.add_error("school", "必填,不能为空。")
            continue
        if code and name and school.name != name:
            row.add_error("school", f"学校名称与学校标识码不一致(标识码{code}是{school.name})。")
        row.values["school_id"] = school.pk
        _resolve_grade(row, school)


def _resolve_grade(row: RosterRow, school: School) -> None:
    raw = row.values.get("grade")
    if not raw:
        return
    grade = parse_grade(str(raw), school.stage)
    if grade is None:
        row.add_error("grade", f"{school.get_stage_display()}没有“{raw}”这个年级。")
    else:
        row.values["grade"] = grade


# Rows per query of the checks below: two IN lists of 5,000 stay far below SQLite's 32,766 bound
# parameters (older builds) and keep PostgreSQL's plans simple; a 15,000-row roster asks 3 times.
CHUNK = 5000


def _chunks(rows: list[RosterRow]) -> Iterable[list[RosterRow]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def check_students_in_database(rows: Iterable[RosterRow]) -> None:
    """A 学籍号 already held by a student with another 身份证件号, or the reverse, one query per
    CHUNK rows. The same pair again is no error: re-importing a file changes nothing (the commit
    updates or skips)."""
    rows = [r for r in rows if r.values.get("student_number") or r.values.get("id_number")]
    for chunk in _chunks(rows):
        _check_students_chunk(chunk)


def _check_students_chunk(rows: list[RosterRow]) -> None:
    numbers = {r.values.get("student_number") for r in rows} - {None, ""}
    ids = {r.values.get("id_number") for r in rows} - {None, ""}
    known = Student.objects.filter(Q(student_number__in=numbers) | Q(id_number__in=ids)).values_list(
        "student_number", "id_number"
    )
    id_of_number: dict[str, str] = {}
    number_of_id: dict[str, str] = {}
    for number, id_number in known:
        id_of_number[number] = id_number
        number_of_id[id_number] = number
    for row in rows:
        number, id_number = row.values.get("student_number"), row.values.get("id_number")
        if number in id_of_number and id_number and id_of_number[number] != id_number:
            row.add_error("student_number", "系统中已有这个学籍号的学生,但身份证件号不同。请核对。")
        elif id_number in number_of_id and number and number_of_id[id_number] != number:
            row.add_error("id_number", "系统中已有这个身份证件号的学生,但学籍号不同。请核对。")


def check_active_pairings(rows: Iterable[RosterRow], *, teacher_key: str = "teacher_phone") -> None:
    """For a pairings roster: a student who already has an active pairing with another teacher (one
    query per CHUNK rows). Rows carry ``student_number`` and the teacher's phone under ``teacher_key``; the same
    pairing again is no error (re-import). The pairings roster's columns come with its import."""
    for chunk in _chunks([r for r in rows if r.values.get("student_number")]):
        _check_pairings_chunk(chunk, teacher_key)


def _check_pairings_chunk(rows: list[RosterRow], teacher_key: str) -> None:
    numbers = {r.values["student_number"] for r in rows}
    active = Pairing.objects.active().filter(student__student_number__in=numbers)
    holder = dict(active.values_list("student__student_number", "teacher__phone"))
    for row in rows:
        phone = holder.get(row.values["student_number"])
        if phone is not None and phone != row.values.get(teacher_key):
            row.add_error("student_number", "该学生已有进行中的结对(另一位帮扶教师),请先结束原结对。")
