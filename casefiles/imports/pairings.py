"""The pairing roster (结对帮扶名单): which teacher 包保 which student, imported through the same
service as the pairing page (pairing.services.pairing_create).

A row is one pairing. The student is found by 全国学籍号, with 学生姓名 as a cross-check (a
mismatch is an error: a mistyped 学籍号 must not pair another child); the teacher by 教师手机号 or
教师登录账号 (教师姓名, when given, is checked too); both within the importer's scope.

Decisions, as the preview and the template note say them:
- 结对日期: 20261014, an Excel date or serial, or 2026-10-14. Blank is the day of the import. A date
  before the current term needs a 补录原因 (as on the page); a future date is refused.
- The same pairing again (this student with this teacher, still active) is "unchanged", whatever
  the date; a date that differs from the recorded one is an error, because the import changes no
  existing pairing. A student paired with another teacher is an error: the pairing page ends or
  reassigns a pairing, the import only starts new ones.
- Above the load limit (settings.PAIRING_TEACHER_LOAD_LIMIT, counting the teacher's active
  pairings and the earlier rows of the file) a row needs 是 in 确认超出结对上限, the page's
  confirmation checkbox as a column.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from pairing import services
from pairing.models import EnrollmentChange, EnrollmentStatus, Pairing, Student, Teacher, Term
from pairing.validators import validate_student_number
from zaoyang_aid.access import SCHOOL_ROLES
from zaoyang_aid.spreadsheets import Sheet, clean_code, clean_text, parse_date, parse_flag

from .columns import Column
from .rows import Roster, RosterRow, normalize_student_number
from .tables import (
    CHUNK,
    add_errors,
    bad_value,
    check_duplicates_in_file,
    chunks,
    read_table,
    require_one_of,
    service_error,
)

PAIRING_COLUMNS: tuple[Column, ...] = (
    Column("student_number", "全国学籍号", ("全国学籍号", "学籍号", "学生学籍号", "全国学籍号码"), required=True),
    Column("student_name", "学生姓名", ("学生姓名", "姓名", "受助学生姓名", "帮扶对象姓名"), required=True),
    Column(
        "teacher_phone",
        "教师手机号",
        ("教师手机号", "教师手机号码", "教师联系电话", "教师电话", "帮扶教师手机号", "帮扶教师联系电话"),
    ),
    Column("teacher_username", "教师登录账号", ("教师登录账号", "教师账号", "帮扶教师登录账号")),
    Column("teacher_name", "教师姓名", ("教师姓名", "帮扶教师", "帮扶教师姓名", "包保教师", "结对教师")),
    Column("started_on", "结对日期", ("结对日期", "结对时间", "帮扶开始日期", "开始日期")),
    Column("backdated_reason", "补录原因", ("补录原因", "补录说明")),
    Column("confirmed_over_limit", "确认超出结对上限", ("确认超出结对上限", "超出上限确认", "确认超限")),
)
PAIRING_LABELS = {c.key: c.label for c in PAIRING_COLUMNS}
TEACHER_KEYS = ("teacher_phone", "teacher_username")
OTHER_TEACHER = "该学生已有进行中的结对(另一位帮扶教师)。导入不更换帮扶教师,请在结对页面结束原结对或更换帮扶教师。"

template_notes: dict[str, str] = {
    "student_number": "必填,19位,如G420683201203040011",
    "student_name": "必填,须与学籍号对应的学生姓名一致",
    "teacher_phone": "教师手机号或教师登录账号至少填一项",
    "teacher_username": "教师没有手机号记录时填写",
    "teacher_name": "选填,填写时须与系统中一致",
    "started_on": "如20261014;不填为导入当天",
    "backdated_reason": "结对日期早于本学期开学日期时必填",
    "confirmed_over_limit": "教师结对人数超过上限时填“是”",
}

_SERVICE_COLUMNS = {
    "student": "student_number",
    "started_on": "started_on",
    "backdated_reason": "backdated_reason",
    "confirmed_over_limit": "confirmed_over_limit",
}


def _student_number(raw: Any) -> str:
    return normalize_student_number(clean_code(raw))


def _person_name(raw: Any) -> str:
    text = clean_text(raw)
    return text if text.isascii() else text.replace(" ", "")


_PARSERS = {
    "student_number": _student_number,
    "student_name": _person_name,
    "teacher_name": _person_name,
    "teacher_phone": clean_code,
    "teacher_username": lambda raw: clean_text(raw).replace(" ", ""),
    "started_on": parse_date,
    "confirmed_over_limit": parse_flag,
}


def _message(key: str, raw: Any) -> str:
    shown = clean_text(raw)[:30]
    if key == "started_on":
        return f"“{shown}”不是有效日期。请写成20261014或2026-10-14。"
    if key == "confirmed_over_limit":
        return f"只能填“是”或“否”,不能填“{shown}”。"
    return bad_value(raw)


def _check_row(row: RosterRow) -> None:
    """学籍号 format, a teacher named, a date not in the future, a reason within 200 characters."""
    values = row.values
    if values.get("student_number"):
        try:
            validate_student_number(values["student_number"])
        except ValidationError as exc:
            row.add_error("student_number", exc.messages[0])
    if not any(values.get(k) for k in TEACHER_KEYS) and any(k in values for k in TEACHER_KEYS):
        row.add_error("teacher_phone", "请填写教师手机号或教师登录账号。")
    if values.get("started_on") and values["started_on"] > timezone.localdate():
        row.add_error("started_on", "结对日期不能晚于今天。")
    if len(values.get("backdated_reason") or "") > 200:
        row.add_error("backdated_reason", "补录原因不能超过200字。")


def read_pairing_roster(sheet: Sheet) -> Roster:
    """Every row of a pairing roster parsed and checked without the database: required cells,
    the 学籍号's format, dates, the same student twice in the file."""
    roster = read_table(sheet, PAIRING_COLUMNS, parsers=_PARSERS, messages=_message, check_row=_check_row)
    require_one_of(roster.header, TEACHER_KEYS, PAIRING_LABELS)
    check_duplicates_in_file(roster.rows, "student_number")
    return roster


def started_on_of(values: dict[str, Any]) -> dt.date:
    """The row's 结对日期: the one written, else the day of the import."""
    day: dt.date | None = values.get("started_on")
    return day or timezone.localdate()


def _teacher_key(values: dict[str, Any]) -> str:
    """The column that names the row's teacher, where an error about the teacher goes."""
    return "teacher_phone" if values.get("teacher_phone") else "teacher_username"


# --- Checks against the database: 2 queries, then 4 per CHUNK rows and 1 per CHUNK teachers ------------


@dataclass
class _Found:
    """What one chunk's queries found, by 学籍号 and by teacher."""

    students: dict[str, Student]
    teachers_by_phone: dict[str, list[Teacher]]
    teachers_by_username: dict[str, list[Teacher]]
    pairings: dict[int, list[tuple[int, dt.date, dt.date | None]]]  # student -> (teacher, started, ended)
    arrivals: dict[int, dt.date]


def check_pairing_roster(roster: Roster, *, by: Any) -> None:
    """Against the database, in a constant number of queries: the student and the teacher within
    ``by``'s scope (``student_id``, ``teacher_id`` for the commit), the name cross-checks, the same
    school, the student 在校 and not paired with another teacher, the date as pairing_create takes
    it, and the load limit (the teacher's active pairings plus the file's earlier rows)."""
    term = Term.objects.latest_started(timezone.localdate())
    for chunk in chunks(roster.rows):
        found = _find(chunk, by=by)
        for row in chunk:
            if row.values.get("student_number") and any(row.values.get(k) for k in TEACHER_KEYS):
                _check_pairing_row(row, found, term)
    _check_loads(roster.rows)


def _find(rows: list[RosterRow], *, by: Any) -> _Found:
    numbers = {r.values["student_number"] for r in rows if r.values.get("student_number")}
    phones = {r.values["teacher_phone"] for r in rows if r.values.get("teacher_phone")}
    usernames = {str(r.values["teacher_username"]).lower() for r in rows if r.values.get("teacher_username")}
    students = {
        s.student_number: s
        for s in Student.objects.visible_to(by)
        .filter(student_number__in=numbers)
        .only("pk", "student_number", "name", "school_id", "enrollment_status", "birth_date")
    }
    by_phone: dict[str, list[Teacher]] = {}
    by_username: dict[str, list[Teacher]] = {}
    teachers = (
        Teacher.objects.visible_to(by)
        .annotate(lowered=Lower("user__username"))
        .filter(Q(phone__in=phones) | Q(lowered__in=usernames))
        .select_related("user")
    )
    for teacher in teachers:
        by_phone.setdefault(teacher.phone, []).append(teacher)
        by_username.setdefault(teacher.lowered, []).append(teacher)
    ids = [s.pk for s in students.values()]
    pairings: dict[int, list[tuple[int, dt.date, dt.date | None]]] = {}
    for student_id, teacher_id, started, ended in Pairing.objects.filter(student_id__in=ids).values_list(
        "student_id", "teacher_id", "started_on", "ended_on"
    ):
        pairings.setdefault(student_id, []).append((teacher_id, started, ended))
    arrivals = dict(
        EnrollmentChange.objects.filter(student_id__in=ids, to_school_id=F("student__school_id"))
        .values("student_id")
        .annotate(last=Max("effective_on"))
        .values_list("student_id", "last")
    )
    return _Found(students, by_phone, by_username, pairings, arrivals)


def _check_pairing_row(row: RosterRow, found: _Found, term: Term | None) -> None:
    values = row.values
    student = found.students.get(values["student_number"])
    if student is None:
        row.add_error("student_number", "系统中没有这个学籍号的学生,或该学生不在您的管理范围内。")
        return
    values["student_id"] = student.pk
    if values.get("student_name") and values["student_name"] != student.name:
        row.add_error("student_name", f"与学籍号不符:系统中这个学籍号的学生是“{student.name}”。请核对。")
    teacher = _teacher_of(row, found, student)
    if teacher is None:
        return
    values["teacher_id"] = teacher.pk
    active = [p for p in found.pairings.get(student.pk, []) if p[2] is None]
    if active and active[0][0] == teacher.pk:
        _check_same_pairing(row, active[0][1])
        return
    if student.enrollment_status != EnrollmentStatus.ENROLLED:
        row.add_error(
            "student_number", f"该学生学籍状态为“{student.get_enrollment_status_display()}”,不在校,不能新建结对。"
        )
    elif active:
        row.add_error("student_number", OTHER_TEACHER)
    _check_date(row, student, found, term)


def _teacher_of(row: RosterRow, found: _Found, student: Student) -> Teacher | None:
    """The row's teacher, by phone or 登录账号; the one at the student's school when a phone is shared."""
    values, key = row.values, _teacher_key(row.values)
    if key == "teacher_phone":
        candidates = found.teachers_by_phone.get(values["teacher_phone"], [])
    else:
        candidates = found.teachers_by_username.get(str(values["teacher_username"]).lower(), [])
    if not candidates:
        row.add_error(key, f"系统中没有{PAIRING_LABELS[key][2:]}为“{values[key]}”的教职工,或不在您的管理范围内。")
        return None
    here = [t for t in candidates if t.school_id == student.school_id]
    if len(here) > 1:
        row.add_error(key, "该校有多名教职工使用这个手机号,请改填教师登录账号。")
        return None
    if not here:
        row.add_error(key, "帮扶教师必须与学生在同一所学校。")
        return None
    teacher = here[0]
    if values.get("teacher_name") and values["teacher_name"] != teacher.name:
        row.add_error("teacher_name", f"与系统中不符:这位教职工是“{teacher.name}”。请核对。")
    if not teacher.user.is_active or teacher.user.role not in SCHOOL_ROLES:
        row.add_error(key, "该教师的账号已停用或不是学校教职工账号,不能结对。")
    return teacher


def _check_same_pairing(row: RosterRow, started: dt.date) -> None:
    """The pairing is there already: unchanged, unless the file gives it another date."""
    given = row.values.get("started_on")
    if given and given != started:
        row.add_error("started_on", f"该结对已于{started:%Y-%m-%d}开始,与表中日期不同。导入不修改已有结对的日期。")
    else:
        row.values["unchanged"] = True


def _check_date(row: RosterRow, student: Student, found: _Found, term: Term | None) -> None:
    """pairing_create's date rules (services.start_date_problem) on what the queries found; a future
    date is told by _check_row already."""
    started, today = started_on_of(row.values), timezone.localdate()
    if started > today:
        return
    ends = [p[2] for p in found.pairings.get(student.pk, []) if p[2] is not None]
    facts = services.PairingFacts(
        has_active=False,
        arrived=found.arrivals.get(student.pk),
        last_end=max(ends) if ends else None,
        term_start=term.start_date if term is not None else None,
        load=0,
    )
    reason = (row.values.get("backdated_reason") or "").strip()
    problem = services.start_date_problem(
        student=student, started_on=started, backdated_reason=reason, facts=facts, today=today
    )
    if problem:
        row.add_error("backdated_reason" if problem == services.BACKDATE_NEEDS_REASON else "started_on", problem)


def _check_loads(rows: list[RosterRow]) -> None:
    """Above the load limit without 是 in 确认超出结对上限: the teacher's active pairings now, plus
    the file's earlier new pairings of the same teacher (one query per CHUNK teachers)."""
    new = [r for r in rows if r.values.get("teacher_id") and not r.values.get("unchanged") and r.is_clean]
    teacher_ids = sorted({r.values["teacher_id"] for r in new})
    load: Counter[int] = Counter()
    for start in range(0, len(teacher_ids), CHUNK):
        load.update(
            dict(
                Pairing.objects.filter(teacher_id__in=teacher_ids[start : start + CHUNK], ended_on__isnull=True)
                .values("teacher_id")
                .annotate(n=Count("pk"))
                .values_list("teacher_id", "n")
            )
        )
    limit = settings.PAIRING_TEACHER_LOAD_LIMIT
    for row in new:
        teacher_id = row.values["teacher_id"]
        if load[teacher_id] + 1 > limit and not row.values.get("confirmed_over_limit"):
            row.add_error(
                "confirmed_over_limit", services.over_limit_warning(load[teacher_id], limit) + "如确认,请在本列填“是”。"
            )
        load[teacher_id] += 1


# --- Commit ----------------------------------------------------------------------------------------


def commit_pairing_row(row: RosterRow, *, by: Any) -> str:
    """Start one checked row's pairing through pairing_create: "created", or "unchanged" when this
    student is already paired with this teacher (nothing written). A ValidationError is keyed by
    this roster's column keys ("" for the row). The caller runs every row in one
    transaction.atomic, so that the import is all or nothing."""
    values = row.values
    # One query for the student and their active pairing (a 15,000-row import asks it 15,000 times).
    active = Pairing.objects.filter(student=OuterRef("pk"), ended_on__isnull=True)
    student = (
        Student.objects.visible_to(by)
        .annotate(
            active_teacher_id=Subquery(active.values("teacher_id")[:1]),
            active_started_on=Subquery(active.values("started_on")[:1]),
        )
        .get(pk=values["student_id"])
    )
    teacher = Teacher.objects.visible_to(by).select_related("user").get(pk=values["teacher_id"])
    if student.active_teacher_id == teacher.pk:
        started = student.active_started_on
        if values.get("started_on") and values["started_on"] != started:
            raise ValidationError({"started_on": [f"该结对已于{started:%Y-%m-%d}开始,与表中日期不同。"]})
        return "unchanged"
    names = {**_SERVICE_COLUMNS, "teacher": _teacher_key(values)}
    try:
        services.pairing_create(
            teacher=teacher,
            student=student,
            started_on=started_on_of(values),
            confirmed_over_limit=bool(values.get("confirmed_over_limit")),
            backdated_reason=values.get("backdated_reason") or "",
        )
    except ValidationError as exc:
        raise service_error(exc, names) from exc
    return "created"


def pairing_rows_write(rows: list[RosterRow], user: Any) -> Counter[str]:
    """The clean rows of a checked roster written at once through services.pairings_create
    (pairing_create's rules, in sets): the rows the check found already paired are "unchanged" and
    not written; a row the service refuses gets the refusal at its column and is counted "bad"."""
    outcomes: Counter[str] = Counter()
    new = []
    for row in rows:
        if row.values.get("unchanged"):
            outcomes["unchanged"] += 1
        else:
            new.append(row)
    students = Student.objects.visible_to(user).in_bulk([r.values["student_id"] for r in new])
    teachers = Teacher.objects.visible_to(user).select_related("user").in_bulk([r.values["teacher_id"] for r in new])
    items = [
        services.NewPairing(
            teacher=teachers[row.values["teacher_id"]],
            student=students[row.values["student_id"]],
            started_on=started_on_of(row.values),
            confirmed_over_limit=bool(row.values.get("confirmed_over_limit")),
            backdated_reason=row.values.get("backdated_reason") or "",
        )
        for row in new
    ]
    for row, errors in zip(new, services.pairings_create(new=items), strict=True):
        if errors:
            add_errors(
                row, service_error(ValidationError(errors), {**_SERVICE_COLUMNS, "teacher": _teacher_key(row.values)})
            )
            outcomes["bad"] += 1
        else:
            outcomes["created"] += 1
    return outcomes
