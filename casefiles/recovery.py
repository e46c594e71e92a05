"""劝返 一人一案 (issue 11, point 3): the writes of a dropout's plan, and who may make them.

A case is opened for a student whose 学籍状态 is 辍学 (pairing.services.student_status_change wrote
it: the officer's status form, or the 疑似辍学 ledger's 确认辍学). The officer keeps the plan and
closes it; the teacher who 包保 the student (or is named responsible in the plan) records attempts
from her phone; county staff read. Closing on return (动态销号) writes the return to 在校 through
student_status_change in the same transaction, so the pairing owes talks again from that day.

The overdue rule lives on the queryset (RecoveryCaseQuerySet.overdue: one rule for the ledger, its
report and the reminder job); ``recovery_overdue_notify`` is the job's work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from guidance.models import Notification, ReminderLevel
from pairing import services as pairing_services
from pairing.models import EnrollmentChange, EnrollmentStatus, Pairing, Student, Teacher
from zaoyang_aid.access import Role, scope_of

from .models import RecoveryAttempt, RecoveryCase, RecoveryMethod, RecoveryParty, RecoveryStatus

# Who sees the ledger (辍学学生台账) of their scope: the school's officer and the county's staff.
LEDGER_ROLES = (Role.OFFICER, Role.COUNTY)
# Who adds attempts to a case they may open, beside its officer: the teacher who 包保 the student
# (or is named in the plan), and a counsellor who 包保 the student (the case's scope lets her in).
ATTEMPT_ROLES = frozenset({Role.OFFICER, Role.TEACHER, Role.COUNSELLOR})


# --- Who may do what (one place: the pages and the services ask these) ------------------------------


def may_manage(user: Any, case: RecoveryCase) -> bool:
    """Edit the plan and close the case: the officer of the student's school, while it is open."""
    scope = scope_of(user)
    return case.is_open and scope.role == Role.OFFICER and scope.school_id == case.student.school_id


def may_add_attempt(user: Any, case: RecoveryCase) -> bool:
    """Record an attempt: whoever of ATTEMPT_ROLES may open the case (its scope: the school's officer,
    the teacher or counsellor who 包保 the student, the teacher named responsible), while it is open."""
    scope = scope_of(user)
    if not case.is_open or scope.role not in ATTEMPT_ROLES:
        return False
    return RecoveryCase.objects.visible_to(user).filter(pk=case.pk).exists()


def may_open_case(user: Any, student: Student) -> bool:
    scope = scope_of(user)
    return (
        scope.role == Role.OFFICER
        and scope.school_id == student.school_id
        and student.enrollment_status == EnrollmentStatus.DROPPED_OUT
    )


# --- Reads the forms start from -----------------------------------------------------------------------


def dropped_out_on(student_id: int) -> dt.date | None:
    """The day of the student's latest change to 辍学 (the case's opening day by default)."""
    return (
        EnrollmentChange.objects.filter(student_id=student_id, status=EnrollmentStatus.DROPPED_OUT)
        .order_by("-effective_on", "-pk")
        .values_list("effective_on", flat=True)
        .first()
    )


def returned_on(student_id: int) -> dt.date | None:
    """The day of the student's latest return to 在校 (the 销号 form's date when the status form
    already recorded it)."""
    return (
        EnrollmentChange.objects.filter(student_id=student_id, status=EnrollmentStatus.ENROLLED, to_school__isnull=True)
        .order_by("-effective_on", "-pk")
        .values_list("effective_on", flat=True)
        .first()
    )


def paired_teacher_id(student_id: int) -> int | None:
    """The teacher who 包保 the student now, else the last one who did (a dropout's pairing may have
    been ended since): the plan's responsible teacher by default."""
    pairings = Pairing.objects.filter(student_id=student_id)
    active = pairings.filter(ended_on__isnull=True).values_list("teacher_id", flat=True).first()
    if active is not None:
        return active
    return pairings.order_by("-ended_on", "-pk").values_list("teacher_id", flat=True).first()


def school_officers(school_id: int) -> list[Any]:
    """The active 资助专干 accounts of a school (the plan's officer is one of them)."""
    return list(
        get_user_model()
        ._default_manager.filter(role=Role.OFFICER, is_active=True, teacher__school_id=school_id)
        .order_by("full_name", "pk")
    )


# --- Writes ---------------------------------------------------------------------------------------------


def _plan_errors(
    *,
    school_id: int,
    opened_on: dt.date,
    leave_reason: str,
    teacher: int | None,
    officer: int | None,
    next_step: str,
    next_step_due: dt.date | None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not leave_reason:
        errors["leave_reason"] = "请填写辍学原因。"
    elif len(leave_reason) > 500:
        errors["leave_reason"] = "辍学原因不能超过500字。"
    if teacher is not None and not Teacher.objects.filter(pk=teacher, school_id=school_id).exists():
        errors["teacher"] = "帮扶教师应为本校教职工。"
    if officer is not None and officer not in {u.pk for u in school_officers(school_id)}:
        errors["officer"] = "负责资助专干应为本校在职的资助专干。"
    errors |= _next_step_errors(next_step=next_step, next_step_due=next_step_due, after=opened_on)
    return errors


def _next_step_errors(*, next_step: str, next_step_due: dt.date | None, after: dt.date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(next_step) > 200:
        errors["next_step"] = "下一步措施不能超过200字。"
    if next_step and next_step_due is None:
        errors["next_step_due"] = "请填写下一步措施的完成日期。"
    elif next_step_due is not None and not next_step:
        errors["next_step"] = "填写了完成日期,请写明下一步措施。"
    elif next_step_due is not None and next_step_due < after:
        errors["next_step_due"] = f"完成日期不能早于{after:%Y-%m-%d}。"
    return errors


@transaction.atomic
def recovery_case_open(
    *,
    student: int,
    by: Any,
    leave_reason: str,
    opened_on: dt.date | None = None,
    teacher: int | None = None,
    head_teacher: str = "",
    village_cadre: str = "",
    officer: int | None = None,
    next_step: str = "",
    next_step_due: dt.date | None = None,
) -> RecoveryCase:
    """Open a dropout's 劝返方案: the student is 辍学; one open case per student (the database holds
    it: two officers opening at once get one case and a message). ``opened_on`` defaults to the 辍学
    date, ``officer`` to the one opening it."""
    locked = Student.objects.select_for_update().filter(pk=student).first()
    if locked is None or not may_open_case(by, locked):
        if locked is not None and locked.enrollment_status != EnrollmentStatus.DROPPED_OUT:
            raise ValidationError({NON_FIELD_ERRORS: "该学生的学籍状态不是“辍学”,无需建立劝返方案。"})
        raise ValidationError({NON_FIELD_ERRORS: "只有该学生所在学校的资助专干可以建立劝返方案。"})
    if RecoveryCase.objects.filter(student=locked, status=RecoveryStatus.OPEN).exists():
        raise ValidationError({NON_FIELD_ERRORS: "该学生已有进行中的劝返方案。"})
    dropped_on = dropped_out_on(locked.pk)
    opened_on = opened_on or dropped_on or timezone.localdate()
    leave_reason, next_step = leave_reason.strip(), next_step.strip()
    officer = officer if officer is not None else by.pk
    errors = _plan_errors(
        school_id=locked.school_id,
        opened_on=opened_on,
        leave_reason=leave_reason,
        teacher=teacher,
        officer=officer,
        next_step=next_step,
        next_step_due=next_step_due,
    )
    if opened_on > timezone.localdate():
        errors["opened_on"] = "建案日期不能晚于今天。"
    elif dropped_on is not None and opened_on < dropped_on:
        errors["opened_on"] = f"建案日期不能早于辍学日期({dropped_on:%Y-%m-%d})。"
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            case = RecoveryCase.objects.create(
                student=locked,
                opened_on=opened_on,
                leave_reason=leave_reason,
                teacher_id=teacher,
                head_teacher=head_teacher.strip()[:50],
                village_cadre=village_cadre.strip()[:60],
                officer_id=officer,
                next_step=next_step,
                next_step_due=next_step_due,
                opened_by=by,
            )
    except IntegrityError as exc:
        raise ValidationError({NON_FIELD_ERRORS: "该学生已有进行中的劝返方案。"}) from exc
    _tell_teacher(case, by)
    return case


def _tell_teacher(case: RecoveryCase, by: Any) -> None:
    """The teacher named responsible learns of the plan in her notices (and digest), with the link
    where she records attempts: once per case and teacher (a new teacher named later is told too)."""
    if case.teacher_id is None:
        return
    teacher = Teacher.objects.select_related("user").get(pk=case.teacher_id)
    if teacher.user_id == by.pk:
        return
    student = case.student
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=teacher.user,
                level=ReminderLevel.TEACHER,
                title=f"{student.name}:请参与劝返"[:100],
                body=(
                    f"学校已为辍学学生{student.name}建立劝返方案(一人一案),您是方案中的帮扶教师。"
                    "请与家长、班主任和村干部保持联系,每次劝返后及时记录劝返情况。"
                ),
                link=reverse("casefiles:recovery_detail", args=[case.pk]),
                source_key=f"recovery-teacher:{case.pk}:{teacher.pk}",
            )
        ],
        ignore_conflicts=True,
    )


def _locked_case(case: int, by: Any) -> RecoveryCase:
    found = RecoveryCase.objects.visible_to(by).select_for_update().filter(pk=case).first()
    if found is None:
        raise ValidationError({NON_FIELD_ERRORS: "该劝返方案不存在或不在您的管理范围内。"})
    found = RecoveryCase.objects.select_related("student").get(pk=found.pk)
    if not found.is_open:
        raise ValidationError({NON_FIELD_ERRORS: f"该劝返方案已{found.get_status_display()},不能再修改。"})
    return found


@transaction.atomic
def recovery_case_update(
    *,
    case: int,
    by: Any,
    leave_reason: str,
    teacher: int | None,
    head_teacher: str,
    village_cadre: str,
    officer: int | None,
    next_step: str,
    next_step_due: dt.date | None,
) -> RecoveryCase:
    """Edit an open plan: the people responsible, the reason, the next step (the officer only)."""
    locked = _locked_case(case, by)
    if not may_manage(by, locked):
        raise ValidationError({NON_FIELD_ERRORS: "只有该学生所在学校的资助专干可以修改劝返方案。"})
    leave_reason, next_step = leave_reason.strip(), next_step.strip()
    errors = _plan_errors(
        school_id=locked.student.school_id,
        opened_on=locked.opened_on,
        leave_reason=leave_reason,
        teacher=teacher,
        officer=officer,
        next_step=next_step,
        next_step_due=next_step_due,
    )
    if errors:
        raise ValidationError(errors)
    locked.leave_reason, locked.teacher_id, locked.officer_id = leave_reason, teacher, officer
    locked.head_teacher, locked.village_cadre = head_teacher.strip()[:50], village_cadre.strip()[:60]
    locked.next_step, locked.next_step_due = next_step, next_step_due
    locked.save()
    _tell_teacher(locked, by)
    return locked


@transaction.atomic
def recovery_attempt_create(
    *,
    case: int,
    by: Any,
    date: dt.date,
    with_whom: str,
    method: str,
    outcome: str,
    who: str = "",
    next_step: str = "",
    next_step_due: dt.date | None = None,
) -> RecoveryAttempt:
    """Record one 劝返 attempt; a next step given with it replaces the plan's next step (kept by this
    service, in this transaction: the overdue rule reads it)."""
    locked = _locked_case(case, by)
    if not may_add_attempt(by, locked):
        raise ValidationError({NON_FIELD_ERRORS: "您不能为该学生记录劝返情况。"})
    who, outcome, next_step = (who.strip() or by.get_full_name()), outcome.strip(), next_step.strip()
    errors: dict[str, str] = {}
    if date > timezone.localdate():
        errors["date"] = "劝返日期不能晚于今天。"
    elif date < locked.opened_on:
        errors["date"] = f"劝返日期不能早于建案日期({locked.opened_on:%Y-%m-%d})。"
    if with_whom not in RecoveryParty.values:
        errors["with_whom"] = "请选择劝返对象。"
    if method not in RecoveryMethod.values:
        errors["method"] = "请选择劝返方式。"
    if not outcome:
        errors["outcome"] = "请填写劝返情况与结果。"
    elif len(outcome) > 500:
        errors["outcome"] = "劝返情况与结果不能超过500字。"
    if len(who) > 100:
        errors["who"] = "劝返人员不能超过100字。"
    errors |= _next_step_errors(next_step=next_step, next_step_due=next_step_due, after=date)
    if errors:
        raise ValidationError(errors)
    attempt = RecoveryAttempt.objects.create(
        case=locked, date=date, who=who, with_whom=with_whom, method=method, outcome=outcome, recorded_by=by
    )
    if next_step:
        locked.next_step, locked.next_step_due = next_step, next_step_due
        locked.save(update_fields=["next_step", "next_step_due", "updated_at"])
    return attempt


@transaction.atomic
def recovery_case_close_returned(
    *, case: int, by: Any, returned_on: dt.date, returned_class: str, note: str = ""
) -> RecoveryCase:
    """动态销号 on return: the student is back 在校 from ``returned_on`` (written through
    student_status_change, so the pairing owes again from that day) and the case is closed, in one
    transaction. A student already set back to 在校 some other way (the status form) is only closed."""
    locked = _locked_case(case, by)
    if not may_manage(by, locked):
        raise ValidationError({NON_FIELD_ERRORS: "只有该学生所在学校的资助专干可以销号。"})
    returned_class, note = returned_class.strip(), note.strip()
    errors: dict[str, str] = {}
    if not returned_class:
        errors["returned_class"] = "请填写返回的班级。"
    elif len(returned_class) > 30:
        errors["returned_class"] = "班级不能超过30字。"
    if returned_on > timezone.localdate():
        errors["returned_on"] = "返校日期不能晚于今天。"
    elif returned_on < locked.opened_on:
        errors["returned_on"] = f"返校日期不能早于建案日期({locked.opened_on:%Y-%m-%d})。"
    if len(note) > 200:
        errors["note"] = "说明不能超过200字。"
    student = locked.student
    if student.enrollment_status not in (EnrollmentStatus.DROPPED_OUT, EnrollmentStatus.ENROLLED):
        errors[NON_FIELD_ERRORS] = (
            f"该学生的学籍状态为“{student.get_enrollment_status_display()}”,不能按返校销号,请选择其他销号。"
        )
    if errors:
        raise ValidationError(errors)
    if student.enrollment_status == EnrollmentStatus.DROPPED_OUT:
        try:
            pairing_services.student_status_change(
                student=student.pk,
                status=EnrollmentStatus.ENROLLED,
                on=returned_on,
                reason=f"劝返复学,返回{returned_class}"[:200],
                by=by,
            )
        except ValidationError as exc:
            raise ValidationError({_RETURN_FIELDS.get(k, NON_FIELD_ERRORS): v for k, v in _error_dict(exc)}) from exc
    locked.status, locked.returned_on, locked.returned_class = RecoveryStatus.RETURNED, returned_on, returned_class
    locked.closed_on, locked.close_reason = max(timezone.localdate(), locked.opened_on), note
    locked.save()
    return locked


_RETURN_FIELDS = {"on": "returned_on"}


def _error_dict(exc: ValidationError) -> list[tuple[str, list[str]]]:
    if hasattr(exc, "error_dict"):
        return [(k, [m for e in v for m in e.messages]) for k, v in exc.error_dict.items()]
    return [(NON_FIELD_ERRORS, exc.messages)]


@transaction.atomic
def recovery_case_close_other(*, case: int, by: Any, closed_on: dt.date, reason: str) -> RecoveryCase:
    """其他销号 (转学外县, 超龄, 死亡 …) with its reason; the 学籍 status is changed on its own form."""
    locked = _locked_case(case, by)
    if not may_manage(by, locked):
        raise ValidationError({NON_FIELD_ERRORS: "只有该学生所在学校的资助专干可以销号。"})
    reason = reason.strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "请写明销号原因(如转学外县、超龄)。"
    elif len(reason) > 200:
        errors["reason"] = "销号原因不能超过200字。"
    if closed_on > timezone.localdate():
        errors["closed_on"] = "销号日期不能晚于今天。"
    elif closed_on < locked.opened_on:
        errors["closed_on"] = f"销号日期不能早于建案日期({locked.opened_on:%Y-%m-%d})。"
    if errors:
        raise ValidationError(errors)
    locked.status, locked.closed_on, locked.close_reason = RecoveryStatus.OTHER, closed_on, reason
    locked.save()
    return locked


# --- The overdue reminder -------------------------------------------------------------------------------


def recovery_overdue_notify(*, today: dt.date) -> int:
    """Remind the responsible officer of each overdue open case (RecoveryCaseQuerySet.overdue), or the
    school's officers when the plan names none still active. One notice per officer, case and due
    date: the key ``recovery-overdue:<case>:<due date>`` is unique per recipient in the database, so
    a run repeated (or two at once) notifies once, and a new due date notifies again. At-most-once
    per key; the notice then reaches the officer's digest by email/webhook with her other unread ones.
    Returns how many notices were new."""
    cases = list(RecoveryCase.objects.overdue(today).select_related("student__school", "officer").order_by("pk"))
    fallback: dict[int, list[Any]] = {}
    notices = []
    for case in cases:
        recipients = [case.officer] if case.officer is not None and case.officer.is_active else []
        if not recipients:
            school_id = case.student.school_id
            recipients = fallback.setdefault(school_id, school_officers(school_id))
        key = f"recovery-overdue:{case.pk}:{case.due_on:%Y-%m-%d}"
        notices += [_notice(case, user, key, today) for user in recipients]
    if not notices:
        return 0
    existing = set(
        Notification.objects.filter(source_key__in={n.source_key for n in notices}).values_list(
            "recipient_id", "source_key"
        )
    )
    new = [n for n in notices if (n.recipient_id, n.source_key) not in existing]
    Notification.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent run: the database refuses
    return len(new)


def _notice(case: RecoveryCase, user: Any, key: str, today: dt.date) -> Notification:
    student = case.student
    due_on: dt.date = case.due_on  # type: ignore[attr-defined]
    if case.next_step_due is not None:
        what = f"下一步措施“{case.next_step}”应于{due_on:%Y-%m-%d}完成"
    elif case.last_attempt_on is not None:  # type: ignore[attr-defined]
        what = f"最近一次劝返在{due_on:%Y-%m-%d}"
    else:
        what = f"方案自{due_on:%Y-%m-%d}建立以来尚无劝返记录"
    days = (today - due_on).days
    who = f"{student.school.name}{student.class_label}{student.name}"
    if student.enrollment_status == EnrollmentStatus.ENROLLED:
        # Set back 在校 on the status form with the plan left open: the plan wants its 销号.
        title = f"劝返待销号:{student.name}"
        body = f"{who}的学籍已恢复在校,劝返方案仍未销号({what})。请核实后办理销号,记录返校日期与班级。"
    else:
        title = f"劝返逾期:{student.name}"
        body = (
            f"{who}的劝返方案已逾期:{what},"
            f"已过{days}天(超过{settings.RECOVERY_OVERDUE_DAYS}天即提醒)。请尽快开展劝返并记录。"
        )
    return Notification(
        recipient=user,
        level=ReminderLevel.OFFICER,
        title=title[:100],
        body=body[:500],
        link=reverse("casefiles:recovery_detail", args=[case.pk]),
        source_key=key,
    )
