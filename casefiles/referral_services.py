"""部门联动 (issue 11, point 4), the writes: a referral made (with its 转介单 number), a department's
answer recorded on its behalf (status, outcome, help received: aid money becomes an AidReceipt linked
to the referral, so it is in the case file's aid list), and the daily notice of overdue referrals.

Who may write: the 资助专干 of the student's school (``may_refer``); county staff read every
referral, a teacher or counsellor those of the students they 包保 (Referral.visible_to).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import IntegerField, Max
from django.db.models.functions import Cast, Substr
from django.urls import reverse
from django.utils import timezone

from guidance.models import Notification
from pairing.models import EnrollmentStatus, Pairing, Student, Teacher, Term
from zaoyang_aid.access import Role, scope_of

from .models import (
    REFERRAL_CLOSED_STATUSES,
    AidReceipt,
    AidSource,
    Referral,
    ReferralDepartment,
    ReferralStatus,
    ReferralUpdate,
)

# Who makes referrals and records the departments' answers: the school's 资助专干.
REFERRAL_WRITERS = frozenset({Role.OFFICER})
REFERENCE_PREFIX = "ZY"


def may_refer(user: Any, student: Student | None = None) -> bool:
    """The one rule: an officer, for a student of her school."""
    scope = scope_of(user)
    if scope.role not in REFERRAL_WRITERS:
        return False
    return student is None or student.school_id == scope.school_id


def reference_for(year: int, number: int) -> str:
    return f"{REFERENCE_PREFIX}-{year}-转-{number:04d}"


def _next_reference(year: int) -> str:
    """The year's next number: one more than the highest given (compared as numbers, so that 10000
    follows 9999). Two officers at once may pick the same one: the unique index refuses the second,
    and referral_create tries again."""
    prefix = reference_for(year, 0)[:-4]
    number = Cast(Substr("reference", len(prefix) + 1), IntegerField())
    highest = Referral.objects.filter(reference__startswith=prefix).aggregate(m=Max(number))["m"]
    return reference_for(year, (highest or 0) + 1)


def _refer_problems(
    *, student: Student, department: ReferralDepartment | None, referred_on: dt.date, due_on: dt.date, reason: str
) -> dict[str, str]:
    problems = {}
    if department is None or not department.is_active:
        problems["department"] = "请选择转介部门。"
    if referred_on > timezone.localdate():
        problems["referred_on"] = "转介日期不能晚于今天。"
    if due_on < referred_on:
        problems["due_on"] = "答复期限不能早于转介日期。"
    if not reason.strip():
        problems["reason"] = "请写明需要部门帮助解决的问题。"
    if student.enrollment_status in (EnrollmentStatus.TRANSFERRED, EnrollmentStatus.GRADUATED):
        problems["student"] = "该学生已转出或毕业,不能再转介。"
    return problems


def referral_create(
    *,
    by: Any,
    student_id: int,
    department_id: int | None,
    referred_on: dt.date,
    reason: str,
    due_on: dt.date | None = None,
    contact_teacher_id: int | None = None,
) -> Referral:
    """A referral sent today or earlier, due REFERRAL_DUE_DAYS later unless ``due_on`` says, with
    the 包保 teacher as its contact unless another teacher of the school is named."""
    student = Student.objects.select_related("school").filter(pk=student_id).first()
    if student is None or not may_refer(by, student):
        raise ValidationError("只有本校资助专干可以为该学生转介。")
    department = ReferralDepartment.objects.filter(pk=department_id).first() if department_id else None
    due_on = due_on or referred_on + dt.timedelta(days=settings.REFERRAL_DUE_DAYS)
    problems = _refer_problems(
        student=student, department=department, referred_on=referred_on, due_on=due_on, reason=reason
    )
    contact = _contact_teacher(student, contact_teacher_id)
    if contact_teacher_id and contact is None:
        problems["contact_teacher"] = "联系教师应是本校教师。"
    if problems or department is None:
        raise ValidationError(problems)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return Referral.objects.create(
                    reference=_next_reference(referred_on.year),
                    student=student,
                    department=department,
                    referred_on=referred_on,
                    due_on=due_on,
                    reason=reason.strip(),
                    contact_teacher=contact,
                    referred_by=by,
                )
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _contact_teacher(student: Student, teacher_id: int | None) -> Teacher | None:
    if teacher_id:
        return Teacher.objects.filter(pk=teacher_id, school_id=student.school_id).first()
    pairing = Pairing.objects.active().filter(student=student).select_related("teacher").first()
    return pairing.teacher if pairing is not None else None


# From a status, where the department's answer may take it (the same status: a note, or help given).
NEXT_STATUSES: dict[str, tuple[str, ...]] = {
    ReferralStatus.SENT: (
        ReferralStatus.SENT,
        ReferralStatus.ACCEPTED,
        ReferralStatus.RESOLVED,
        ReferralStatus.DECLINED,
    ),
    ReferralStatus.ACCEPTED: (ReferralStatus.ACCEPTED, ReferralStatus.RESOLVED, ReferralStatus.DECLINED),
    ReferralStatus.RESOLVED: (ReferralStatus.RESOLVED,),
    ReferralStatus.DECLINED: (),
}


def _update_problems(
    referral: Referral, *, on: dt.date, status: str, note: str, aid_item: str, aid_amount: Decimal | None
) -> dict[str, str]:
    problems = {}
    if status not in NEXT_STATUSES.get(referral.status, ()):
        if not NEXT_STATUSES.get(referral.status):
            problems["status"] = "该转介部门未受理,已结束,不能再登记。"
        else:
            problems["status"] = f"转介现为“{referral.get_status_display()}”,不能改为该状态。"
    if on < referral.referred_on:
        problems["on"] = "日期不能早于转介日期。"
    if on > timezone.localdate():
        problems["on"] = "日期不能晚于今天。"
    if bool(aid_item.strip()) != (aid_amount is not None):
        problems["aid_amount" if aid_item.strip() else "aid_item"] = "资助项目与金额应同时填写。"
    if aid_amount is not None and aid_amount <= 0:
        problems["aid_amount"] = "金额应大于0。"
    if status == ReferralStatus.DECLINED and not note.strip():
        problems["note"] = "请写明部门未受理的原因。"
    return problems


@transaction.atomic
def referral_update_record(
    *,
    by: Any,
    referral_id: int,
    on: dt.date,
    status: str,
    note: str = "",
    help_text: str = "",
    aid_item: str = "",
    aid_amount: Decimal | None = None,
    aid_source: str = AidSource.LOCAL,
    due_on: dt.date | None = None,
) -> ReferralUpdate:
    """The department's answer, recorded by the officer: the update row, the referral's status with
    its dates (accepted_on, closed_on), its outcome and help, and the aid paid (an AidReceipt of the
    term of ``on``). The referral's row is locked so that two answers recorded at once keep order."""
    referral = Referral.objects.select_for_update().select_related("student").filter(pk=referral_id).first()
    if referral is None or not may_refer(by, referral.student):
        raise ValidationError("只有本校资助专干可以登记该转介的办理情况。")
    problems = _update_problems(referral, on=on, status=status, note=note, aid_item=aid_item, aid_amount=aid_amount)
    if due_on is not None and due_on < referral.referred_on:
        problems["due_on"] = "答复期限不能早于转介日期。"
    term = Term.objects.latest_started(on) if aid_item.strip() else None
    if aid_item.strip() and term is None:
        problems["aid_item"] = "该日期不在任何学期内,无法登记资助发放。"
    if aid_source not in AidSource.values:
        problems["aid_source"] = "请选择资金来源。"
    if problems:
        raise ValidationError(problems)
    aid = None
    if term is not None and aid_amount is not None:
        aid = AidReceipt.objects.create(
            student=referral.student,
            term=term,
            item=aid_item.strip()[:60],
            amount=aid_amount,
            paid_on=on,
            source=aid_source,
            referral=referral,
        )
    update = ReferralUpdate.objects.create(
        referral=referral, on=on, status=status, note=note.strip(), help_text=help_text.strip(), aid=aid, recorded_by=by
    )
    _apply(referral, update, due_on=due_on)
    return update


def _apply(referral: Referral, update: ReferralUpdate, *, due_on: dt.date | None) -> None:
    """The referral's derived state from its new update (kept here, in the update's transaction)."""
    if update.status == ReferralStatus.ACCEPTED and referral.accepted_on is None:
        referral.accepted_on = update.on
    if update.status in REFERRAL_CLOSED_STATUSES and referral.closed_on is None:
        referral.closed_on = update.on
    referral.status = update.status
    if update.note:
        referral.outcome = update.note
    if update.help_text:
        referral.help_text = "\n".join(filter(None, [referral.help_text, update.help_text]))
    if due_on is not None:
        referral.due_on = due_on
    referral.save()


# --- Overdue: the officer's daily notice ---------------------------------------------------------


def overdue_referrals_notify(*, today: dt.date) -> int:
    """A notice to each officer of the school for each of its referrals overdue today. Safe to run
    twice: the notice's source_key (referral, due date) is unique per recipient, so a second run
    (or a retry) adds nothing; a new due date set later gives a new notice when it passes too.
    Returns the number of notices written."""
    overdue = Referral.objects.overdue(today).select_related("student", "department")
    by_school: dict[int, list[Referral]] = {}
    for referral in overdue:
        by_school.setdefault(referral.student.school_id, []).append(referral)
    officers = Teacher.objects.filter(
        school_id__in=by_school, user__role=Role.OFFICER, user__is_active=True
    ).values_list("school_id", "user_id")
    notices = [
        Notification(
            recipient_id=user_id,
            title=f"转介逾期未答复:{r.student.name}({r.department.name})",
            body=f"{r.reference},{r.referred_on:%Y-%m-%d}转介{r.department.name},答复期限{r.due_on:%Y-%m-%d}。"
            "请联系部门了解办理情况并登记。",
            link=reverse("casefiles:referral_detail", args=[r.pk]),
            source_key=f"referral-overdue:{r.pk}:{r.due_on:%Y-%m-%d}",
        )
        for school_id, user_id in officers
        for r in by_school[school_id]
    ]
    before = Notification.objects.filter(source_key__startswith="referral-overdue:").count()
    Notification.objects.bulk_create(notices, ignore_conflicts=True)
    return Notification.objects.filter(source_key__startswith="referral-overdue:").count() - before
