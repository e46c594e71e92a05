"""Writes that touch several rows, each inside one transaction: all of it is saved, or none."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from zaoyang_aid.access import SCHOOL_ROLES

from . import selectors
from .forms import AssessmentForm, GuardianForms, HouseholdForm, MemberForms, StudentForm, TeacherForm
from .models import EnrollmentStatus, HardshipAssessment, Pairing, PairingEndReason, Student, Teacher


@transaction.atomic
def student_save(
    *, student_form: StudentForm, household_form: HouseholdForm, guardians: GuardianForms, members: MemberForms
) -> Student:
    """Save a student with their household, guardians and household members (forms already valid)."""
    household = household_form.save()
    student = student_form.save(commit=False)
    student.household = household
    student.save()
    guardians.instance = student
    guardians.save()
    members.instance = household
    members.save()
    return student


@transaction.atomic
def assessment_save(*, form: AssessmentForm) -> HardshipAssessment:
    assessment = form.save(commit=False)
    assessment.student = form.student
    assessment.term = form.term
    assessment.save()
    form.save_m2m()
    return assessment


@transaction.atomic
def teacher_save(*, form: TeacherForm) -> Teacher:
    """Create or update a member of staff and their account together."""
    teacher = form.save(commit=False)
    if teacher.pk:
        user = teacher.user
    else:
        user = get_user_model()(username=form.cleaned_data["username"])
        user.set_password(form.cleaned_data["password"])
    user.full_name = form.cleaned_data["full_name"]
    user.role = form.cleaned_data["role"]
    user.phone = teacher.phone
    user.save()
    teacher.user = user
    teacher.save()
    return teacher


# --- 结对 ------------------------------------------------------------------------------------------
# Every pairing write locks the student's row first (and then, when it starts a pairing, the
# teacher's), always in that order: two officers pairing one student at once queue on the lock, and
# the second one's checks see the first one's pairing. The partial unique index
# one_active_pairing_per_student stays the last word. Errors are ValidationErrors keyed by the
# service's own argument names, which are the forms' field names.

ACTIVE_PAIRING_EXISTS = "该学生已有进行中的结对,请先结束原结对或更换帮扶教师。"
REASSIGN_REASONS = frozenset({PairingEndReason.TRANSFER, PairingEndReason.OTHER})


def over_limit_warning(load: int, limit: int) -> str:
    return f"该教师已结对{load}名学生,再结对将超过每人{limit}名的要求,确认仍要结对吗?"


def _lock_student(student_id: int) -> Student:
    return Student.objects.select_for_update().get(pk=student_id)


def _lock_teacher(teacher_id: int) -> None:
    # Two pairings for one teacher at once would both see the load below the limit.
    Teacher.objects.select_for_update().filter(pk=teacher_id).values_list("pk").get()


def _new_pairing_errors(
    *, teacher: Teacher, student: Student, started_on: dt.date, confirmed_over_limit: bool
) -> dict[str, str]:
    """What stops ``teacher`` from starting to 包保 ``student`` on ``started_on`` (locked rows)."""
    errors: dict[str, str] = {}
    if student.enrollment_status != EnrollmentStatus.ENROLLED:
        status = student.get_enrollment_status_display()
        errors["student"] = f"该学生学籍状态为“{status}”,不在校,不能新建结对。"
    elif Pairing.objects.filter(student=student, ended_on__isnull=True).exists():
        errors["student"] = ACTIVE_PAIRING_EXISTS
    if teacher.school_id != student.school_id:
        errors["teacher"] = "帮扶教师必须与学生在同一所学校。"
    elif not teacher.user.is_active or teacher.user.role not in SCHOOL_ROLES:
        errors["teacher"] = "该教师的账号已停用或不是学校教职工账号,不能结对。"
    if started_on > timezone.localdate():
        errors["started_on"] = "结对日期不能晚于今天。"
    else:
        last_end = Pairing.objects.filter(student=student).aggregate(last=Max("ended_on"))["last"]
        if last_end is not None and started_on < last_end:
            errors["started_on"] = f"结对日期不能早于该学生上一次结对的结束日期({last_end:%Y-%m-%d})。"
    if not errors and not confirmed_over_limit:
        load, limit = selectors.teacher_active_load(teacher.pk), settings.PAIRING_TEACHER_LOAD_LIMIT
        if load + 1 > limit:
            errors["confirmed_over_limit"] = over_limit_warning(load, limit)
    return errors


def _end_errors(*, pairing: Pairing, ended_on: dt.date, reason: str, note: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if ended_on < pairing.started_on:
        errors["ended_on"] = f"结束日期不能早于结对日期({pairing.started_on:%Y-%m-%d})。"
    elif ended_on > timezone.localdate():
        # An end date makes the pairing inactive at once (the teacher loses access), so not ahead.
        errors["ended_on"] = "结束日期不能晚于今天。"
    if reason not in PairingEndReason.values:
        errors["reason"] = "请选择结束原因。"
    if len(note) > 200:
        errors["note"] = "说明不能超过200字。"
    return errors


def _renamed(errors: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    return {names.get(key, key): message for key, message in errors.items()}


def _insert(*, teacher: Teacher, student: Student, started_on: dt.date) -> Pairing:
    try:
        with transaction.atomic():  # a savepoint, so the caller's transaction survives a refusal
            return Pairing.objects.create(teacher=teacher, student=student, started_on=started_on)
    except IntegrityError as exc:
        if "one_active_pairing_per_student" not in str(exc) and "pairing_pairing.student_id" not in str(exc):
            raise
        raise ValidationError({"student": ACTIVE_PAIRING_EXISTS}) from exc


@transaction.atomic
def pairing_create(
    *, teacher: Teacher, student: Student, started_on: dt.date, confirmed_over_limit: bool = False
) -> Pairing:
    """Start a pairing. Above PAIRING_TEACHER_LOAD_LIMIT only when the officer has confirmed."""
    student = _lock_student(student.pk)
    _lock_teacher(teacher.pk)
    errors = _new_pairing_errors(
        teacher=teacher, student=student, started_on=started_on, confirmed_over_limit=confirmed_over_limit
    )
    if errors:
        raise ValidationError(errors)
    return _insert(teacher=teacher, student=student, started_on=started_on)


@transaction.atomic
def pairing_end(*, pairing: Pairing, ended_on: dt.date, reason: str, note: str = "") -> Pairing:
    """End a pairing on ``ended_on`` (its first day without it), keeping the row with the reason."""
    _lock_student(pairing.student_id)
    pairing = Pairing.objects.get(pk=pairing.pk)  # read again under the lock: a colleague may have ended it
    if not pairing.is_active:
        raise ValidationError(f"该结对已于{pairing.ended_on:%Y-%m-%d}结束。")
    note = note.strip()
    errors = _end_errors(pairing=pairing, ended_on=ended_on, reason=reason, note=note)
    if errors:
        raise ValidationError(errors)
    pairing.ended_on, pairing.end_reason, pairing.end_note = ended_on, reason, note
    pairing.save(update_fields=["ended_on", "end_reason", "end_note"])
    return pairing


@transaction.atomic
def pairing_reassign(
    *,
    pairing: Pairing,
    new_teacher: Teacher,
    on: dt.date,
    reason: str,
    note: str = "",
    confirmed_over_limit: bool = False,
) -> Pairing:
    """Hand a student to another teacher: the old pairing ends on ``on`` and the new one starts on
    ``on``, both or neither. Returns the new pairing."""
    student = _lock_student(pairing.student_id)
    old = Pairing.objects.get(pk=pairing.pk)
    if not old.is_active:
        raise ValidationError(f"该结对已于{old.ended_on:%Y-%m-%d}结束,不能再更换帮扶教师。")
    note = note.strip()
    errors = _renamed(_end_errors(pairing=old, ended_on=on, reason=reason, note=note), {"ended_on": "on"})
    if reason not in REASSIGN_REASONS:
        errors["reason"] = "更换帮扶教师的原因应为“调动”或“其他”;毕业、转学、脱贫退出请直接结束结对。"
    if new_teacher.pk == old.teacher_id:
        errors["new_teacher"] = "新的帮扶教师与原教师相同,请选择另一位教师。"
    if errors:
        raise ValidationError(errors)
    _lock_teacher(new_teacher.pk)
    old.ended_on, old.end_reason, old.end_note = on, reason, note
    old.save(update_fields=["ended_on", "end_reason", "end_note"])
    errors = _new_pairing_errors(
        teacher=new_teacher, student=student, started_on=on, confirmed_over_limit=confirmed_over_limit
    )
    if errors:  # raising rolls the old pairing's end back too
        raise ValidationError(
            _renamed(errors, {"teacher": "new_teacher", "started_on": "on", "student": NON_FIELD_ERRORS})
        )
    try:
        return _insert(teacher=new_teacher, student=student, started_on=on)
    except ValidationError as exc:
        raise ValidationError({NON_FIELD_ERRORS: exc.messages}) from exc
