"""控辍保学 ledgers (issue 11, point 2): the rules and the writes.

- 适龄儿童台账: a town's list uploaded by the county (read by dropout_lists.py), keyed by ID number, each
  child matched live to pairing.Student (``match_of``); an unmatched child's 核实.
- 疑似辍学学生台账: entered by the school's 资助专干, or proposed by a teacher's 缺勤登记 once the days
  without leave in one school week reach DROPOUT_SUSPECT_DAYS (``absence_proposes``); each entry says
  whether it was entered in the week of the first absence (``entered_in_week``). 确认辍学 is a change
  of 学籍状态 through pairing.services.student_status_change, so the student then appears in the
  辍学 ledger.
- 月报: per school and month, the counts frozen at submission; its status is ``monthly_status``.
- 季度复核: per school and quarter, by the county.

Every write is a service taking plain values, inside ``transaction.atomic``, audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone

from guidance.models import Notification, ReminderLevel
from pairing import services as pairing_services
from pairing.models import EnrollmentStatus, Pairing, School, Stage, Student, Teacher, Term, Town
from zaoyang_aid import audit, calendar
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.models import AuditAction

from .models import (
    AbsenceNote,
    ChildVerification,
    DropoutMonthlyReport,
    DropoutRecheck,
    DropoutSource,
    MonthlyStatus,
    RecheckStatus,
    SchoolAgeChild,
    SuspectedDropout,
    SuspectedStatus,
)

# The schools the ledgers, reports and re-checks are about: compulsory education.
COMPULSORY_STAGES = (Stage.PRIMARY, Stage.JUNIOR)


# --- The rules -----------------------------------------------------------------------------------------


class ChildMatch:
    """How a child of a town's list stands in our rolls (by ID number)."""

    ENROLLED = "enrolled"
    DROPPED_OUT = "dropped_out"
    SUSPENDED = "suspended"
    LEFT = "left"
    UNMATCHED = "unmatched"
    choices = (
        (ENROLLED, "在校"),
        (DROPPED_OUT, "辍学"),
        (SUSPENDED, "休学"),
        (LEFT, "已转出或毕业"),
        (UNMATCHED, "未匹配"),
    )
    labels = dict(choices)


def match_of(enrollment_status: str | None) -> str:
    """The one matching rule: a student with the child's ID number and their 学籍状态, or 未匹配."""
    if enrollment_status is None:
        return ChildMatch.UNMATCHED
    return {
        EnrollmentStatus.ENROLLED: ChildMatch.ENROLLED,
        EnrollmentStatus.DROPPED_OUT: ChildMatch.DROPPED_OUT,
        EnrollmentStatus.SUSPENDED: ChildMatch.SUSPENDED,
    }.get(enrollment_status, ChildMatch.LEFT)  # type: ignore[call-overload]


def entered_in_week(first_absent_on: dt.date, entered_on: dt.date) -> bool:
    """“学校当周登记”: entered by the Sunday of the week (Monday to Sunday) of the first day absent."""
    return entered_on <= calendar.monday_of(first_absent_on) + dt.timedelta(days=6)


def absence_proposes(days_without_leave: int) -> bool:
    """Absences without leave adding up to DROPOUT_SUSPECT_DAYS in one school week propose an entry."""
    return days_without_leave >= settings.DROPOUT_SUSPECT_DAYS


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def monthly_due_on(month: dt.date) -> dt.date:
    """A month's report is due by DROPOUT_REPORT_DUE_DAY of the next month."""
    return next_month(month).replace(day=settings.DROPOUT_REPORT_DUE_DAY)


def monthly_status(*, month: dt.date, submitted_on: dt.date | None, today: dt.date, required: bool = True) -> str:
    """The one rule of a school's 月报 status for ``month`` (its first day) as of ``today``; a month
    that touches no term (``required`` False: the summer vacation) owes no report."""
    due = monthly_due_on(month)
    if submitted_on is not None:
        return MonthlyStatus.SUBMITTED if submitted_on <= due else MonthlyStatus.LATE
    if not required:
        return MonthlyStatus.NOT_REQUIRED
    if today < next_month(month):
        return MonthlyStatus.NOT_DUE
    return MonthlyStatus.DUE if today <= due else MonthlyStatus.OVERDUE


def months_in_term(first: dt.date, last: dt.date) -> set[dt.date]:
    """The months from ``first`` to ``last`` (first days) that touch a term: those owe a report."""
    terms = list(
        Term.objects.filter(start_date__lt=next_month(last), end_date__gte=first).values_list("start_date", "end_date")
    )
    months, month = set(), first
    while month <= last:
        if any(start < next_month(month) and end >= month for start, end in terms):
            months.add(month)
        month = next_month(month)
    return months


def quarter_of(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def quarter_label(quarter: dt.date) -> str:
    return f"{quarter.year}年第{(quarter.month - 1) // 3 + 1}季度"


# --- 适龄儿童台账 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadResult:
    created: int
    updated: int
    unchanged: int


_CHILD_FIELDS = ("name", "gender", "birth_date", "village", "guardian_name", "guardian_phone")


@transaction.atomic
def school_age_children_upload(
    *, by: Any, town_id: int, year: int, rows: Iterable[Mapping[str, Any]], file_name: str = ""
) -> UploadResult:
    """Write a town's list: each row (id_number, name, gender, birth_date, village, guardian_name,
    guardian_phone) created, or updated in place when a row with its ID number exists (a re-upload
    never duplicates; a child listed earlier by another town moves to this one)."""
    if scope_of(by).role != Role.COUNTY:
        raise ValidationError("只有市资助中心可以上传适龄儿童名单。")
    town = Town.objects.filter(pk=town_id).first()
    if town is None:
        raise ValidationError({"town": "请选择乡镇。"})
    given = {str(r["id_number"]): r for r in rows}
    stored = {c.id_number: c for c in SchoolAgeChild.objects.select_for_update().filter(id_number__in=list(given))}
    new, changed, unchanged = [], [], 0
    for id_number, row in given.items():
        child = stored.get(id_number)
        values = {key: row.get(key) or "" for key in _CHILD_FIELDS} | {"birth_date": row["birth_date"]}
        values |= {"town_id": town.pk, "reference_year": year}
        if child is None:
            new.append(SchoolAgeChild(id_number=id_number, uploaded_by=by, **values))
        elif any(getattr(child, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(child, key, value)
            child.updated_at = timezone.now()  # bulk_update skips auto_now
            changed.append(child)
        else:
            unchanged += 1
    SchoolAgeChild.objects.bulk_create(new)
    SchoolAgeChild.objects.bulk_update(changed, [*_CHILD_FIELDS, "town_id", "reference_year", "updated_at"])
    result = UploadResult(created=len(new), updated=len(changed), unchanged=unchanged)
    audit.record(
        AuditAction.CREATE,
        object_type="适龄儿童名单",
        object_id=str(town.pk),
        object_label=f"{town.name}适龄儿童名单({year}年)",
        changes={
            "文件名": [None, file_name[:200]],
            "新增": [None, result.created],
            "更新": [None, result.updated],
            "无变化": [None, result.unchanged],
        },
    )
    return result


@transaction.atomic
def school_age_child_verify(
    *, child_id: int, by: Any, verification: str, note: str = "", on: dt.date | None = None
) -> SchoolAgeChild:
    """Record (or undo, with 待核实) the county's 核实 of a child not in school in our rolls."""
    child = SchoolAgeChild.objects.visible_to(by).select_for_update().filter(pk=child_id).first()
    if child is None or scope_of(by).role != Role.COUNTY:
        raise ValidationError("该儿童不存在或您无权核实。")
    status = Student.objects.filter(id_number=child.id_number).values_list("enrollment_status", flat=True).first()
    if match_of(status) == ChildMatch.ENROLLED:
        raise ValidationError("该儿童已在我市学校就读,无需核实。")
    note = (note or "").strip()
    errors: dict[str, str] = {}
    if verification not in ChildVerification.values:
        errors["verification"] = "请选择核实情况。"
    elif verification == ChildVerification.OTHER and not note:
        errors["note"] = "核实情况为“其他”时请填写说明。"
    if len(note) > 200:
        errors["note"] = "说明不超过200字。"
    day = on or timezone.localdate()
    if day > timezone.localdate():
        errors["on"] = "核实日期不能晚于今天。"
    if errors:
        raise ValidationError(errors)
    before = child.get_verification_display()
    pending = verification == ChildVerification.PENDING
    child.verification = verification
    child.verification_note = "" if pending else note
    child.verified_on = None if pending else day
    child.verified_by = None if pending else by
    child.save(update_fields=["verification", "verification_note", "verified_on", "verified_by", "updated_at"])
    audit.record(
        AuditAction.UPDATE,
        obj=child,
        changes={"核实情况": [before, child.get_verification_display()], "核实说明": [None, child.verification_note]},
    )
    return child


# --- 缺勤登记 and 疑似辍学学生台账 ----------------------------------------------------------------------


def may_note_absence(by: Any, student: Student) -> bool:
    """Whoever 包保 the student now, or the school's 资助专干."""
    scope = scope_of(by)
    if scope.role == Role.OFFICER and scope.school_id == student.school_id:
        return True
    return (
        scope.teacher_id is not None
        and Pairing.objects.filter(student=student, teacher_id=scope.teacher_id, ended_on__isnull=True).exists()
    )


@transaction.atomic
def absence_note_create(
    *, by: Any, student_id: int, date_from: dt.date, days: int, with_leave: bool, note: str = ""
) -> tuple[AbsenceNote, SuspectedDropout | None]:
    """A teacher's 缺勤登记; when it brings the student's days without leave in that school week to
    DROPOUT_SUSPECT_DAYS, a 疑似辍学 entry is proposed (待确认) and the school's 资助专干 told."""
    student = Student.objects.select_for_update().select_related("school").filter(pk=student_id).first()
    if student is None or not may_note_absence(by, student):
        raise ValidationError("只有包保该学生的教师或本校资助专干可以登记缺勤。")
    teacher = Teacher.objects.filter(user=by).first()
    errors: dict[str, str] = {}
    today = timezone.localdate()
    if date_from > today:
        errors["date_from"] = "缺勤起始日不能晚于今天。"
    elif date_from < today - dt.timedelta(days=60):
        errors["date_from"] = "只能登记60天以内的缺勤。"
    if not 1 <= days <= 30:
        errors["days"] = "缺勤天数应在1至30天之间。"
    note = (note or "").strip()
    if len(note) > 200:
        errors["note"] = "情况说明不超过200字。"
    if teacher is None:
        errors["date_from"] = "您的账号没有对应的教职工信息,无法登记。"
    if student.enrollment_status != EnrollmentStatus.ENROLLED:
        errors["date_from"] = f"该学生学籍状态为“{student.get_enrollment_status_display()}”,无需登记缺勤。"
    if errors or teacher is None:
        raise ValidationError(errors)
    absence = AbsenceNote.objects.create(
        student=student, teacher=teacher, date_from=date_from, days=days, with_leave=with_leave, note=note
    )
    audit.record(
        AuditAction.CREATE,
        obj=absence,
        student_id=student.pk,
        changes={
            "缺勤起始日": [None, str(date_from)],
            "天数": [None, days],
            "已请假": [None, "是" if with_leave else "否"],
        },
    )
    return absence, (None if with_leave else _propose(student, absence))


def _propose(student: Student, absence: AbsenceNote) -> SuspectedDropout | None:
    monday = calendar.monday_of(absence.date_from)
    week = AbsenceNote.objects.filter(
        student=student, with_leave=False, date_from__gte=monday, date_from__lte=monday + dt.timedelta(days=6)
    ).aggregate(days=Sum("days"), first=Min("date_from"))
    if not absence_proposes(week["days"] or 0):
        return None
    if SuspectedDropout.objects.filter(student=student, status__in=["proposed", "pending"]).exists():
        return None
    entry = SuspectedDropout.objects.create(
        student=student,
        school_id=student.school_id,
        first_absent_on=week["first"],
        week_monday=monday,
        days_absent=week["days"],
        source=DropoutSource.ATTENDANCE,
        absence_note=absence,
        note=f"教师缺勤登记:本周无故缺勤累计{week['days']}天。{absence.note}"[:200],
        status=SuspectedStatus.PROPOSED,
        proposed_at=timezone.now(),
    )
    _notify_officers(entry, student)
    return entry


# Words in a talk record (its content, the student's state or the problems found) that speak of a
# student missing school. A match proposes an entry; the officer confirms with the real dates or dismisses.
TALK_ABSENCE_WORDS = (
    "旷课",
    "逃学",
    "辍学",
    "厌学",
    "不想上学",
    "不愿上学",
    "不想读书",
    "不愿读书",
    "没来上学",
    "未到校",
    "没到校",
    "缺课",
    "离家出走",
    "外出打工",
)
TALK_LOOKBACK_DAYS = 7


def talk_absence_words(*texts: str) -> list[str]:
    """The absence words a talk record's texts contain, in TALK_ABSENCE_WORDS order."""
    joined = " ".join(texts)
    return [word for word in TALK_ABSENCE_WORDS if word in joined]


def talk_proposals_sweep(*, today: dt.date | None = None) -> int:
    """Propose a 疑似辍学 entry (待确认, source 教师谈心记录) for each talk record of the last
    TALK_LOOKBACK_DAYS whose words speak of absence, about a student 在校 at a primary or junior school
    without an open entry; the school's officers are told. Returns how many were proposed.

    Safe to run twice (at-least-once under acks_late): a talk proposes once (a unique constraint on
    the entry's talk), a student has one open entry (a partial unique index); a row that loses either
    race is skipped in its own savepoint."""
    from guidance.models import TalkRecord

    today = today or timezone.localdate()
    words = Q()
    for word in TALK_ABSENCE_WORDS:
        words |= Q(content__contains=word) | Q(student_state__contains=word) | Q(problems__contains=word)
    talks = (
        TalkRecord.objects.filter(words, date__gte=today - dt.timedelta(days=TALK_LOOKBACK_DAYS), date__lte=today)
        .filter(
            pairing__student__enrollment_status=EnrollmentStatus.ENROLLED,
            pairing__student__school__stage__in=COMPULSORY_STAGES,
        )
        .exclude(pk__in=SuspectedDropout.objects.filter(talk__isnull=False).values("talk_id"))
        .exclude(
            pairing__student__in=SuspectedDropout.objects.filter(status__in=["proposed", "pending"]).values(
                "student_id"
            )
        )
        .select_related("pairing__student", "pairing__teacher__user")
        .order_by("pairing__student_id", "-date", "-pk")
    )
    proposed, seen = 0, set()
    for talk in talks:
        student = talk.pairing.student
        if student.pk in seen:
            continue  # the student's latest such talk only
        seen.add(student.pk)
        if _propose_from_talk(talk, student, talk_absence_words(talk.content, talk.student_state, talk.problems)):
            proposed += 1
    return proposed


def _propose_from_talk(talk: Any, student: Student, found: list[str]) -> bool:
    teacher = talk.pairing.teacher.name
    try:
        with transaction.atomic():
            entry = SuspectedDropout.objects.create(
                student=student,
                school_id=student.school_id,
                first_absent_on=talk.date,
                week_monday=calendar.monday_of(talk.date),
                days_absent=1,
                source=DropoutSource.TALK,
                talk=talk,
                note=f"{teacher}老师{talk.date:%m月%d日}的谈心记录提到“{'、'.join(found)}”。缺勤日期与天数请核实后确认。"[
                    :200
                ],
                status=SuspectedStatus.PROPOSED,
                proposed_at=timezone.now(),
            )
            _notify_officers(entry, student, why=f"{teacher}老师的谈心记录提到“{'、'.join(found)}”")
    except IntegrityError:
        return False
    return True


def _notify_officers(entry: SuspectedDropout, student: Student, *, why: str = "") -> None:
    officers = Teacher.objects.filter(school_id=student.school_id, user__role=Role.OFFICER, user__is_active=True)
    link = reverse("casefiles:suspected_detail", args=[entry.pk])
    why = why or f"{student.name}本周无故缺勤累计{entry.days_absent}天(教师缺勤登记)"
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=o.user_id,
                level=ReminderLevel.OFFICER,
                title=f"{student.name}:疑似辍学待确认",
                body=f"{why},请确认是否登记为疑似辍学。"[:500],
                link=link,
                source_key=f"suspected:{entry.pk}:{entry.week_monday:%Y%m%d}",
            )
            for o in officers
        ],
        ignore_conflicts=True,
    )


def _officer_student(by: Any, student_id: int) -> Student:
    scope = scope_of(by)
    student = Student.objects.select_for_update().filter(pk=student_id).first()
    if scope.role != Role.OFFICER or student is None or student.school_id != scope.school_id:
        raise ValidationError({"student": "请选择本校的学生。"})
    return student


def _entry_dates_errors(first_absent_on: dt.date, entered_on: dt.date) -> dict[str, str]:
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if first_absent_on > today:
        errors["first_absent_on"] = "首次缺勤日期不能晚于今天。"
    if entered_on > today:
        errors["entered_on"] = "登记日期不能晚于今天。"
    elif entered_on < first_absent_on:
        errors["entered_on"] = "登记日期不能早于首次缺勤日期。"
    return errors


@transaction.atomic
def suspected_dropout_create(
    *,
    by: Any,
    student_id: int,
    first_absent_on: dt.date,
    days_absent: int,
    source: str,
    note: str = "",
    entered_on: dt.date | None = None,
) -> SuspectedDropout:
    """The 资助专干 enters one of her school's students in the 疑似辍学 ledger (待核实)."""
    student = _officer_student(by, student_id)
    entered_on = entered_on or timezone.localdate()
    errors = _entry_dates_errors(first_absent_on, entered_on)
    if not 1 <= days_absent <= 60:
        errors["days_absent"] = "无故缺勤天数应在1至60天之间。"
    if source not in DropoutSource.values:
        errors["source"] = "请选择来源。"
    note = (note or "").strip()
    if len(note) > 200:
        errors["note"] = "情况说明不超过200字。"
    if student.enrollment_status != EnrollmentStatus.ENROLLED:
        errors["student"] = f"该学生学籍状态为“{student.get_enrollment_status_display()}”。"
    elif SuspectedDropout.objects.filter(student=student, status__in=["proposed", "pending"]).exists():
        errors["student"] = "该学生已在疑似辍学台账中(待确认或待核实),请在原登记上处理。"
    if errors:
        raise ValidationError(errors)
    entry = SuspectedDropout.objects.create(
        student=student,
        school_id=student.school_id,
        first_absent_on=first_absent_on,
        week_monday=calendar.monday_of(first_absent_on),
        days_absent=days_absent,
        source=source,
        note=note,
        status=SuspectedStatus.PENDING,
        entered_on=entered_on,
        entered_by=by,
        entered_in_week=entered_in_week(first_absent_on, entered_on),
    )
    _audit_entry(entry, AuditAction.CREATE, {"状态": [None, entry.get_status_display()]})
    return entry


def _lock_entry(entry_id: int, by: Any, *, statuses: Iterable[str]) -> SuspectedDropout:
    scope = scope_of(by)
    entry = SuspectedDropout.objects.visible_to(by).select_for_update().filter(pk=entry_id).first()
    if entry is None or scope.role != Role.OFFICER:
        raise ValidationError("该登记不存在或您无权处理。")
    if entry.status not in statuses:
        raise ValidationError(f"该登记的状态已是“{entry.get_status_display()}”,不能再这样处理。")
    return entry


@transaction.atomic
def suspected_dropout_confirm(
    *,
    entry_id: int,
    by: Any,
    on: dt.date | None = None,
    first_absent_on: dt.date | None = None,
    days_absent: int | None = None,
) -> SuspectedDropout:
    """The officer confirms a proposed entry: it enters the ledger (待核实) on ``on`` (today), with
    the first day absent and the days as she found them (a talk record's proposal only guesses them)."""
    entry = _lock_entry(entry_id, by, statuses=[SuspectedStatus.PROPOSED])
    day = on or timezone.localdate()
    first = first_absent_on or entry.first_absent_on
    errors = _entry_dates_errors(first, day)
    if days_absent is not None and not 1 <= days_absent <= 60:
        errors["days_absent"] = "无故缺勤天数应在1至60天之间。"
    if errors:
        raise ValidationError(errors)
    entry.status = SuspectedStatus.PENDING
    entry.first_absent_on, entry.week_monday = first, calendar.monday_of(first)
    entry.days_absent = days_absent or entry.days_absent
    entry.entered_on, entry.entered_by = day, by
    entry.entered_in_week = entered_in_week(first, day)
    entry.save(
        update_fields=[
            "status",
            "first_absent_on",
            "week_monday",
            "days_absent",
            "entered_on",
            "entered_by",
            "entered_in_week",
        ]
    )
    _audit_entry(entry, AuditAction.UPDATE, {"状态": [SuspectedStatus.PROPOSED.label, entry.get_status_display()]})
    return entry


@transaction.atomic
def suspected_dropout_dismiss(*, entry_id: int, by: Any, note: str) -> SuspectedDropout:
    """The officer dismisses a proposal (the absence is explained): kept, as 不予登记, with why."""
    entry = _lock_entry(entry_id, by, statuses=[SuspectedStatus.PROPOSED])
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "请填写不予登记的原因。"})
    if len(note) > 200:
        raise ValidationError({"note": "说明不超过200字。"})
    _resolve(entry, by=by, status=SuspectedStatus.DISMISSED, on=timezone.localdate(), note=note)
    return entry


RESOLUTIONS = (SuspectedStatus.RETURNED, SuspectedStatus.ON_LEAVE, SuspectedStatus.DROPPED_OUT)


@transaction.atomic
def suspected_dropout_resolve(*, entry_id: int, by: Any, status: str, on: dt.date, note: str = "") -> SuspectedDropout:
    """Close a 待核实 entry: 已返校 (the return's date), 已补假, or 确认辍学, which changes the
    student's 学籍状态 to 辍学 from ``on`` through pairing.services.student_status_change."""
    entry = _lock_entry(entry_id, by, statuses=[SuspectedStatus.PENDING])
    note = (note or "").strip()
    errors: dict[str, str] = {}
    if status not in RESOLUTIONS:
        errors["status"] = "请选择处理结果。"
    if on > timezone.localdate():
        errors["on"] = "日期不能晚于今天。"
    elif on < entry.first_absent_on:
        errors["on"] = "日期不能早于首次缺勤日期。"
    if status == SuspectedStatus.DROPPED_OUT and not note:
        errors["note"] = "确认辍学请填写情况说明(将记入学籍变动原因)。"
    if len(note) > 200:
        errors["note"] = "说明不超过200字。"
    if errors:
        raise ValidationError(errors)
    if status == SuspectedStatus.DROPPED_OUT:
        try:
            pairing_services.student_status_change(
                student=entry.student_id, status=EnrollmentStatus.DROPPED_OUT, on=on, reason=note, by=by
            )
        except ValidationError as exc:
            raise ValidationError({"on": exc.messages}) from exc
    _resolve(entry, by=by, status=status, on=on, note=note)
    return entry


def _resolve(entry: SuspectedDropout, *, by: Any, status: str, on: dt.date, note: str) -> None:
    before = entry.get_status_display()
    entry.status = status
    entry.resolved_on, entry.resolved_by, entry.resolution_note = on, by, note
    entry.save(update_fields=["status", "resolved_on", "resolved_by", "resolution_note"])
    _audit_entry(entry, AuditAction.UPDATE, {"状态": [before, entry.get_status_display()], "处理说明": [None, note]})


def _audit_entry(entry: SuspectedDropout, action: str, changes: dict[str, Any]) -> None:
    audit.record(action, obj=entry, student_id=entry.student_id, changes=changes)


# --- 月报 -----------------------------------------------------------------------------------------------


def monthly_counts(school_id: int, month: dt.date) -> dict[str, int]:
    """What a school's report of ``month`` holds, as the ledgers stand now (two queries)."""
    students = Student.objects.filter(school_id=school_id).aggregate(
        enrolled=Count("pk", filter=Q(enrollment_status=EnrollmentStatus.ENROLLED)),
        dropouts_open=Count("pk", filter=Q(enrollment_status=EnrollmentStatus.DROPPED_OUT)),
    )
    entries = SuspectedDropout.objects.filter(school_id=school_id).aggregate(
        suspected_open=Count("pk", filter=Q(status=SuspectedStatus.PENDING)),
        returned=Count(
            "pk",
            filter=Q(status=SuspectedStatus.RETURNED, resolved_on__gte=month, resolved_on__lt=next_month(month)),
        ),
    )
    return {**students, **entries}


@transaction.atomic
def monthly_report_submit(*, by: Any, month: dt.date, note: str = "") -> DropoutMonthlyReport:
    """The 资助专干 submits her school's 月报 of ``month``, its counts frozen as they stand today."""
    scope = scope_of(by)
    if scope.role != Role.OFFICER or scope.school_id is None:
        raise ValidationError("只有学校资助专干可以报送月报。")
    today = timezone.localdate()
    note = (note or "").strip()
    errors: dict[str, str] = {}
    if month.day != 1:
        errors["month"] = "请选择月份。"
    elif month > first_of_month(today):
        errors["month"] = "不能报送尚未开始的月份。"
    elif DropoutMonthlyReport.objects.filter(school_id=scope.school_id, month=month).exists():
        errors["month"] = f"{month:%Y年%m月}的月报已报送。"
    if len(note) > 500:
        errors["note"] = "说明不超过500字。"
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            report = DropoutMonthlyReport.objects.create(
                school_id=scope.school_id,
                month=month,
                submitted_on=today,
                submitted_by=by,
                note=note,
                **monthly_counts(scope.school_id, month),
            )
    except IntegrityError as exc:  # two submissions at once: the constraint holds, the second is told
        raise ValidationError({"month": f"{month:%Y年%m月}的月报已报送。"}) from exc
    audit.record(
        AuditAction.CREATE,
        obj=report,
        changes={
            "月份": [None, f"{month:%Y年%m月}"],
            "状态": [None, MonthlyStatus(monthly_status(month=month, submitted_on=today, today=today)).label],
        },
    )
    return report


# --- 季度复核 --------------------------------------------------------------------------------------------


@transaction.atomic
def recheck_save(
    *,
    by: Any,
    school_id: int,
    quarter: dt.date,
    checked_on: dt.date,
    findings: str,
    discrepancies: int,
    status: str,
    fixed_on: dt.date | None = None,
) -> DropoutRecheck:
    """The county records (or corrects) its re-check of a school's ledgers for a quarter."""
    if scope_of(by).role != Role.COUNTY:
        raise ValidationError("只有市资助中心可以记录季度复核。")
    findings = (findings or "").strip()
    errors: dict[str, str] = {}
    today = timezone.localdate()
    if quarter != quarter_of(quarter):
        errors["quarter"] = "请选择季度。"
    elif quarter > quarter_of(today):
        errors["quarter"] = "不能复核尚未开始的季度。"
    if checked_on > today:
        errors["checked_on"] = "复核日期不能晚于今天。"
    elif checked_on < quarter:
        errors["checked_on"] = "复核日期不能早于该季度开始。"
    if status not in RecheckStatus.values:
        errors["status"] = "请选择复核结果。"
    if status == RecheckStatus.FIXED and fixed_on is None:
        errors["fixed_on"] = "已整改需填写整改完成日期。"
    if fixed_on is not None and (fixed_on < checked_on or fixed_on > today):
        errors["fixed_on"] = "整改完成日期应在复核日期与今天之间。"
    if status != RecheckStatus.CHECKED and not findings:
        errors["findings"] = "需整改或已整改时请填写复核发现的问题。"
    if discrepancies < 0:
        errors["discrepancies"] = "不一致数不能为负数。"
    if len(findings) > 500:
        errors["findings"] = "复核发现不超过500字。"
    if not School.objects.filter(pk=school_id, stage__in=COMPULSORY_STAGES).exists():
        errors["school"] = "请选择学校(小学或初中)。"
    if errors:
        raise ValidationError(errors)
    recheck, created = DropoutRecheck.objects.update_or_create(
        school_id=school_id,
        quarter=quarter,
        defaults={
            "checked_on": checked_on,
            "checked_by": by,
            "findings": findings,
            "discrepancies": discrepancies,
            "status": status,
            "fixed_on": fixed_on if status == RecheckStatus.FIXED else None,
        },
    )
    audit.record(
        AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=recheck,
        changes={"状态": [None, recheck.get_status_display()], "不一致数": [None, discrepancies]},
    )
    return recheck
