"""Demo data for the 控辍保学 ledgers (called by casefiles/demo.py; zaoyang_aid/demo.py explains the
protocol), written through the services so that every rule holds, at the demo school and its town:

- 适龄儿童台账: the demo town's list, uploaded by demo_county: children matched to the demo school's
  students (在校), children not in our rolls (未匹配, 待核实) and two already verified (外县就读, 送教上门);
- 疑似辍学学生台账: one entry in each status: a proposal from demo_teacher's 缺勤登记 (待确认), one
  entered in the week of the absence and one late (待核实), 已返校, 已补假, 确认辍学 (the student's
  学籍 becomes 辍学) and a dismissed proposal (不予登记);
- 月报: the demo school's three months before this one: on time, late, and missing; the other
  compulsory-education schools each on time or late for those months;
- 季度复核: one re-check of the demo school this quarter (需整改).

A generator of its own keeps what the earlier seeders draw unchanged. Rows go in with bulk_create (the
command writes one audit summary), as the services would write them; two cases go through the
services: demo_teacher's 缺勤登记 that proposes an entry, and 确认辍学 (a change of 学籍).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from stdnum.cn import ric

from pairing.demo import GroundFloor
from pairing.models import EnrollmentStatus, Gender, Student
from zaoyang_aid import calendar
from zaoyang_aid.access import Role
from zaoyang_aid.demo import DemoContext, mobile, person_name, raw_delete

from . import dropouts
from .dropout_lists import is_compulsory_age
from .models import (
    AbsenceNote,
    ChildVerification,
    DropoutMonthlyReport,
    DropoutRecheck,
    DropoutSource,
    RecheckStatus,
    SchoolAgeChild,
    SuspectedDropout,
    SuspectedStatus,
)

MATCHED = 6
UNMATCHED = 5
SHANGHAI = ZoneInfo("Asia/Shanghai")


def holds_records() -> bool:
    return any(m.objects.exists() for m in (SchoolAgeChild, SuspectedDropout, DropoutMonthlyReport, DropoutRecheck))


def flush(ctx: DemoContext) -> None:
    for model in (SuspectedDropout, AbsenceNote, SchoolAgeChild, DropoutMonthlyReport, DropoutRecheck):
        raw_delete(ctx, model.objects.all())


def seed(ctx: DemoContext) -> None:
    ground: GroundFloor = ctx.shared["pairing"]
    rng = random.Random(f"dropouts-{ctx.seed}")  # noqa: S311 - demo data, not secrets
    users = get_user_model()._default_manager
    county = users.get(username="demo_county")
    officer = next(
        t.user for t in ground.teachers if t.school_id == ground.demo_school.pk and t.user.role == Role.OFFICER
    )
    students = _free_students(ground)
    _children(ctx, rng, ground, county, students)
    _suspected(ctx, ground, officer, students)
    _monthly(ctx, rng, ground, officer)
    _recheck(ctx, ground, county)


def _free_students(ground: GroundFloor) -> list[Student]:
    """The demo school's students 在校 now and untouched by the ground floor's cases, in a fixed order."""
    busy: set[int] = set()
    cases = ground.cases
    if cases is not None:
        busy = {p.student_id for p in (cases.suspended, cases.returned, cases.handed_over, cases.taken_over) if p}
        if cases.moved is not None:
            busy.add(cases.moved.student_id)
    ids = [s.pk for s in ground.students if s.school_id == ground.demo_school.pk and s.pk not in busy]
    return list(Student.objects.filter(pk__in=ids, enrollment_status=EnrollmentStatus.ENROLLED).order_by("pk"))


def _children(ctx: DemoContext, rng: random.Random, ground: GroundFloor, county: Any, students: list[Student]) -> None:
    year = calendar.school_year_start(ctx.today)
    town = ground.demo_school.town
    villages = ground.villages.get(town.pk) or ["清河村"]
    matched = [s for s in students if is_compulsory_age(s.birth_date, year)][:MATCHED]
    rows = [
        {
            "id_number": s.id_number,
            "name": s.name,
            "gender": s.gender,
            "birth_date": s.birth_date,
            "village": rng.choice(villages),
            "guardian_name": person_name(rng, male=True, generation="adult"),
            "guardian_phone": mobile(rng),
        }
        for s in matched
    ]
    for n in range(UNMATCHED):
        born = dt.date(year - 7 - n, 3 + n, 10 + n)
        male = n % 2 == 0
        body = f"420683{born:%Y%m%d}{(900 + n * 2 + (1 if male else 0)):03d}"
        rows.append(
            {
                "id_number": body + ric.calc_check_digit(body + "0"),
                "name": person_name(rng, male=male),
                "gender": Gender.MALE if male else Gender.FEMALE,
                "birth_date": born,
                "village": rng.choice(villages),
                "guardian_name": person_name(rng, male=not male, generation="adult"),
                "guardian_phone": mobile(rng),
            }
        )
    # The town's list as uploaded (bulk: the command writes one audit summary); the first two
    # children not in our rolls already verified three days ago.
    checks = [
        (ChildVerification.OTHER_COUNTY, "随父母在深圳市宝安区就读,已取得在读证明"),
        (ChildVerification.HOME_TEACHING, "重度残疾,由枣阳市特殊教育学校送教上门"),
    ]
    children = []
    for n, row in enumerate(rows):
        check = checks[n - len(matched)] if 0 <= n - len(matched) < len(checks) else None
        children.append(
            SchoolAgeChild(
                town=town,
                reference_year=year,
                uploaded_by=county,
                verification=check[0] if check else ChildVerification.PENDING,
                verification_note=check[1] if check else "",
                verified_on=ctx.today - dt.timedelta(days=3) if check else None,
                verified_by=county if check else None,
                **row,
            )
        )
    ctx.insert(SchoolAgeChild, children, label="适龄儿童")


def _suspected(ctx: DemoContext, ground: GroundFloor, officer: Any, students: list[Student]) -> None:
    today = ctx.today
    monday = calendar.monday_of(today)
    teacher_ids = {
        p.student_id for p in ground.pairings if p.ended_on is None and p.teacher_id == ground.demo_teacher.pk
    }
    mine = [s for s in students if s.pk in teacher_ids]
    others = [s for s in students if s.pk not in teacher_ids][::-1]  # not the ones the list matched first
    if mine:  # demo_teacher's 缺勤登记 proposes an entry for demo_officer (待确认)
        dropouts.absence_note_create(
            by=ground.demo_teacher.user,
            student_id=mine[0].pk,
            date_from=monday,
            days=3,
            with_leave=False,
            note="家长电话称孩子不愿上学,在家玩手机",
        )
    if len(others) < 6:
        return
    entries = [
        _entry(others[0], monday, 2, DropoutSource.SCHOOL, today, officer, "连续两天未到校,班主任家访未见人"),
        _entry(
            others[1],
            today - dt.timedelta(days=12),
            6,
            DropoutSource.TALK,
            today,
            officer,
            "谈心时流露不想读书,之后未到校",
        ),
    ]
    for n, (student, status, note) in enumerate(
        [
            (others[2], SuspectedStatus.RETURNED, "家访劝返,已返校上课"),
            (others[3], SuspectedStatus.ON_LEAVE, "家长补办病假手续"),
        ]
    ):
        first = today - dt.timedelta(days=30 - n * 5)
        entry = _entry(student, first, 3 + n, DropoutSource.ATTENDANCE, first + dt.timedelta(days=n + 1), officer, "")
        entry.status, entry.resolved_on, entry.resolved_by = status, first + dt.timedelta(days=6), officer
        entry.resolution_note = note
        entries.append(entry)
    dismissed = _entry(
        others[5], monday, 3, DropoutSource.ATTENDANCE, today, officer, "教师缺勤登记:本周无故缺勤累计3天。"
    )
    dismissed.entered_on = dismissed.entered_by = dismissed.entered_in_week = None
    dismissed.status, dismissed.proposed_at = SuspectedStatus.DISMISSED, ctx_now(today)
    dismissed.resolved_on, dismissed.resolved_by = today, officer
    dismissed.resolution_note = "家长已补交病假条,属病假"
    entries.append(dismissed)
    ctx.insert(SuspectedDropout, entries, label="疑似辍学登记")
    # 确认辍学 through the services: the student's 学籍 becomes 辍学, as the ledger of dropouts reads it.
    first = today - dt.timedelta(days=20)
    entry = dropouts.suspected_dropout_create(
        by=officer,
        student_id=others[4].pk,
        first_absent_on=first,
        days_absent=5,
        source=DropoutSource.ATTENDANCE,
        entered_on=first + dt.timedelta(days=1),
    )
    dropouts.suspected_dropout_resolve(
        entry_id=entry.pk,
        by=officer,
        status=SuspectedStatus.DROPPED_OUT,
        on=first + dt.timedelta(days=6),
        note="随父母外出务工,多次劝返未果",
    )


def ctx_now(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 8, 30, tzinfo=SHANGHAI)


def _entry(
    student: Student, first: dt.date, days: int, source: str, entered_on: dt.date, officer: Any, note: str
) -> SuspectedDropout:
    """A 待核实 entry as suspected_dropout_create writes it."""
    return SuspectedDropout(
        student=student,
        school_id=student.school_id,
        first_absent_on=first,
        week_monday=calendar.monday_of(first),
        days_absent=days,
        source=source,
        note=note,
        status=SuspectedStatus.PENDING,
        entered_on=entered_on,
        entered_by=officer,
        entered_in_week=dropouts.entered_in_week(first, entered_on),
    )


def _monthly(ctx: DemoContext, rng: random.Random, ground: GroundFloor, officer: Any) -> None:
    """The six months before this one that touch a term: at the demo school on time but for the
    month before last (late) and last month (missing); elsewhere on time or a few days late."""
    months = [dropouts.first_of_month(ctx.today)]
    for _ in range(6):
        months.insert(0, dropouts.first_of_month(months[0] - dt.timedelta(days=1)))
    months = months[:-1]
    required = dropouts.months_in_term(months[0], months[-1])
    reports = []
    for school in ground.schools:
        officer_of = officer if school.pk == ground.demo_school.pk else _officer(ground, school)
        if school.stage not in dropouts.COMPULSORY_STAGES or officer_of is None:
            continue
        counts = dropouts.monthly_counts(school.pk, months[-1])
        for back, month in enumerate(reversed(months), start=1):
            if month not in required:
                continue
            if school.pk == ground.demo_school.pk:
                offset = {1: None, 2: 7}.get(back, -2)  # last month missing, the one before late
            else:
                offset = rng.choice([-3, -1, 0, 4, None] if back == 1 else [-3, -1, 0, 0, 4])
            if offset is None:
                continue
            day = min(dropouts.monthly_due_on(month) + dt.timedelta(days=offset), ctx.today)
            note = "本月无新增疑似辍学学生" if not counts["suspected_open"] else ""
            reports.append(
                DropoutMonthlyReport(
                    school=school, month=month, submitted_on=day, submitted_by=officer_of, note=note, **counts
                )
            )
    ctx.insert(DropoutMonthlyReport, reports, label="控辍保学月报")


def _officer(ground: GroundFloor, school: Any) -> Any:
    return next((t.user for t in ground.teachers if t.school_id == school.pk and t.user.role == Role.OFFICER), None)


def _recheck(ctx: DemoContext, ground: GroundFloor, county: Any) -> None:
    quarter = dropouts.quarter_of(ctx.today)
    recheck = DropoutRecheck(
        school=ground.demo_school,
        quarter=quarter,
        checked_on=max(quarter, ctx.today - dt.timedelta(days=2)),
        checked_by=county,
        findings="抽查考勤:一名学生连续缺勤两天未在当周登记;月报有一个月逾期补报。",
        discrepancies=2,
        status=RecheckStatus.NEEDS_FIX,
    )
    ctx.insert(DropoutRecheck, [recheck], label="控辍保学季度复核")
