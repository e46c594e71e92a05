"""Writes that touch several rows, each inside one transaction: all of it is saved, or none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone

from zaoyang_aid import audit
from zaoyang_aid.access import SCHOOL_ROLES, Role, scope_of

from . import figures, selectors
from .models import (
    AidExitReason,
    AidListExit,
    AssessmentChangeConfirmation,
    ConsentMethod,
    ConsentScope,
    EnrollmentChange,
    EnrollmentStatus,
    Guardian,
    GuardianConsent,
    HardshipAssessment,
    HardshipLevel,
    Household,
    HouseholdMember,
    Pairing,
    PairingEndReason,
    School,
    SpecialCategory,
    Stage,
    Student,
    Teacher,
    Term,
)
from .validators import validate_username

# --- 学生 ------------------------------------------------------------------------------------------
# A student with the family's address, guardians and household members, all or nothing, checked by
# the models' full_clean (their Chinese messages, and Student.clean's checks of the birth date,
# gender and 学籍号 against the 身份证号). Errors are keyed as the student page names its inputs: a
# student's field by its name ("id_number"), the address with "household-" ("household-village"),
# a row by its list and place in it ("guardians-0-phone", "members-1-age"; the row itself
# "guardians-0", the whole list "guardians"). The page puts each at its field; an import names the
# row. The school and 学籍状态 are not among the values: they change through student_status_change
# and student_transfer, which keep the dated history.

STUDENT_FIELDS = ("name", "gender", "birth_date", "id_number", "student_number", "grade", "class_name", "hukou_type")
HOUSEHOLD_FIELDS = ("town", "village", "address_detail")
GUARDIAN_FIELDS = ("name", "relation", "phone")
MEMBER_FIELDS = ("name", "age", "relation", "occupation", "annual_income", "health")

Row = Mapping[str, Any]
M = TypeVar("M", bound=models.Model)
Errors = dict[str, list[str]]


def _keyed(exc: ValidationError, prefix: str) -> Errors:
    return {
        prefix if field == NON_FIELD_ERRORS else f"{prefix}-{field}": messages
        for field, messages in exc.message_dict.items()
    }


def _put(obj: models.Model, values: Row, fields: Sequence[str]) -> None:
    for name in fields:
        if name in values:
            value = values[name]
            setattr(obj, name, value.strip() if isinstance(value, str) else value)


def _rows_checked(
    model: type[M], rows: Sequence[Row], *, fields: Sequence[str], parent: str, existing: dict[int, M], prefix: str
) -> tuple[list[M], Errors]:
    """The rows as instances (an "id" names one of ``existing``), each full_clean'ed; not saved."""
    made: list[M] = []
    errors: Errors = {}
    for i, row in enumerate(rows):
        pk = row.get("id")
        obj = existing.get(int(pk)) if pk else model()
        if obj is None:
            errors[f"{prefix}-{i}"] = ["这一行已被删除或不属于该学生,请刷新页面后重新填写。"]
            continue
        _put(obj, row, fields)
        try:
            obj.full_clean(exclude=[parent])
        except ValidationError as exc:
            errors.update(_keyed(exc, f"{prefix}-{i}"))
        made.append(obj)
    return made, errors


def _rows_replace(kept: list[M], *, current: models.QuerySet[M], parent: str, owner: Any) -> None:
    current.exclude(pk__in=[obj.pk for obj in kept if obj.pk]).delete()
    for obj in kept:
        setattr(obj, parent, owner)
        obj.save()


def _full_clean(obj: models.Model, *, exclude: Sequence[str], batch: bool) -> None:
    """``obj.full_clean(exclude=...)``; in a batch (students_create) without its per-row queries:
    the foreign keys' rows were read by the caller, so only their presence is checked here (with the
    field's own message), uniqueness is checked once for the whole batch (_batch_unique_errors), and
    the check constraints are left to the database's insert (Student's grade range, which
    Student.clean's grade-of-the-stage check already implies)."""
    if not batch:
        obj.full_clean(exclude=exclude)
        return
    keys = [f for f in obj._meta.concrete_fields if f.many_to_one and f.name not in exclude]
    errors: Errors = {
        f.name: [str(f.error_messages["null"])] for f in keys if getattr(obj, f.attname) is None and not f.null
    }
    try:
        obj.full_clean(exclude=[*exclude, *(f.name for f in keys)], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, messages)
    if errors:
        raise ValidationError(errors)


def _student_check(
    student: Student,
    *,
    values: Row,
    household: Row,
    guardians: Sequence[Row],
    members: Sequence[Row],
    errors: Errors,
    batch: bool = False,
) -> tuple[Household, list[Guardian], list[HouseholdMember]]:
    """Every rule of a student's record, the errors added to ``errors``: the household, the
    student, their guardian and member rows (instances, not saved)."""
    home = student.household if student.pk else Household()
    _put(home, household, HOUSEHOLD_FIELDS)
    try:
        _full_clean(home, exclude=[], batch=batch)
    except ValidationError as exc:
        errors.update(_keyed(exc, "household"))
    _put(student, values, STUDENT_FIELDS)
    try:
        _full_clean(student, exclude=["household"], batch=batch)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    old_guardians = {g.pk: g for g in Guardian.objects.filter(student=student)} if student.pk else {}
    old_members = {m.pk: m for m in HouseholdMember.objects.filter(household=home)} if home.pk else {}
    kept_guardians, problems = _rows_checked(
        Guardian, guardians, fields=GUARDIAN_FIELDS, parent="student", existing=old_guardians, prefix="guardians"
    )
    errors.update(problems)
    kept_members, problems = _rows_checked(
        HouseholdMember, members, fields=MEMBER_FIELDS, parent="household", existing=old_members, prefix="members"
    )
    errors.update(problems)
    if not guardians:
        errors["guardians"] = ["请至少填写一位监护人。"]
    return home, kept_guardians, kept_members


def _student_write(
    student: Student, *, values: Row, household: Row, guardians: Sequence[Row], members: Sequence[Row], errors: Errors
) -> Student:
    """Check everything, then write everything: the household, the student, then their rows."""
    home, kept_guardians, kept_members = _student_check(
        student, values=values, household=household, guardians=guardians, members=members, errors=errors
    )
    if errors:
        raise ValidationError(errors)
    home.save()
    student.household = home
    student.save()
    _rows_replace(kept_guardians, current=Guardian.objects.filter(student=student), parent="student", owner=student)
    _rows_replace(kept_members, current=HouseholdMember.objects.filter(household=home), parent="household", owner=home)
    return student


class StudentValues(TypedDict):
    """A student's own fields as the create and update services take them (Student.clean normalizes
    both numbers and checks them against the birth date and gender)."""

    name: str
    gender: str
    birth_date: dt.date
    id_number: str
    student_number: str
    grade: int
    class_name: str
    hukou_type: str


@transaction.atomic
def student_create(
    *,
    by: Any,
    school: School,
    household: Row,
    guardians: Sequence[Row],
    members: Sequence[Row] = (),
    **values: Unpack[StudentValues],
) -> Student:
    """Register a student (在校) at ``school``, which must be in ``by``'s scope, with a new household
    (``household``: town, village, address_detail), their guardians (name, relation, phone) and the
    household's members (name, age, relation, occupation, annual_income, health)."""
    errors: Errors = {}
    if not School.objects.visible_to(by).filter(pk=school.pk).exists():
        errors["school"] = ["只能在您管理范围内的学校登记学生。"]
    student = Student(school=school, enrollment_status=EnrollmentStatus.ENROLLED)
    return _student_write(
        student, values=dict(values), household=household, guardians=guardians, members=members, errors=errors
    )


@transaction.atomic
def student_update(
    *,
    student: Student,
    by: Any,
    household: Row,
    guardians: Sequence[Row],
    members: Sequence[Row] = (),
    **values: Unpack[StudentValues],
) -> Student:
    """Correct a student's record and their household (shared with siblings). ``guardians`` and
    ``members`` replace the stored rows: a row with an "id" changes that row, a new row is added,
    and a stored row left out is deleted. Locks the student's row, like the status services."""
    locked = _lock_student(student.pk)
    errors: Errors = {}
    if not Student.objects.visible_to(by).filter(pk=locked.pk).exists():
        errors[NON_FIELD_ERRORS] = ["该学生不在您的管理范围内。"]
    return _student_write(
        locked, values=dict(values), household=household, guardians=guardians, members=members, errors=errors
    )


@dataclass(frozen=True)
class NewStudent:
    """One student for students_create: student_create's arguments as values."""

    school: School
    values: Row  # StudentValues
    household: Row
    guardians: Sequence[Row]
    members: Sequence[Row] = ()


BATCH_SIZE = 1000


@transaction.atomic
def students_create(*, by: Any, new: Sequence[NewStudent]) -> list[Errors]:
    """student_create for many students at once (a roster import): the same rules (_student_check,
    the same scope and uniqueness messages) with a constant number of queries per BATCH_SIZE
    students, rows inserted with bulk_create and logged with audit.record_created. Returns each
    student's errors, keyed as student_create raises them ({} when written); the students with errors
    are not written, the others are (the caller's transaction decides whether they stay)."""
    visible = set(School.objects.visible_to(by).filter(pk__in={n.school.pk for n in new}).values_list("pk", flat=True))
    results: list[Errors] = []
    for start in range(0, len(new), BATCH_SIZE):
        results.extend(_students_create_batch(new[start : start + BATCH_SIZE], visible=visible))
    return results


def _students_create_batch(new: Sequence[NewStudent], *, visible: set[int]) -> list[Errors]:
    made: list[tuple[Student, Household, list[Guardian], list[HouseholdMember]]] = []
    results: list[Errors] = []
    for item in new:
        errors: Errors = {} if item.school.pk in visible else {"school": ["只能在您管理范围内的学校登记学生。"]}
        student = Student(school=item.school, enrollment_status=EnrollmentStatus.ENROLLED)
        home, guardians, members = _student_check(
            student,
            values=item.values,
            household=item.household,
            guardians=item.guardians,
            members=item.members,
            errors=errors,
            batch=True,
        )
        results.append(errors)
        made.append((student, home, guardians, members))
    _batch_unique_errors([m[0] for m in made], results)
    kept = [m for m, errors in zip(made, results, strict=True) if not errors]
    homes = Household.objects.bulk_create([home for _s, home, _g, _m in kept])
    for (student, _home, guardian_rows, member_rows), saved in zip(kept, homes, strict=True):
        student.household = saved
        for guardian in guardian_rows:
            guardian.student = student
        for member in member_rows:
            member.household = saved
    students = Student.objects.bulk_create([m[0] for m in kept])
    guardians = Guardian.objects.bulk_create([g for _s, _h, gs, _m in kept for g in gs])
    members = HouseholdMember.objects.bulk_create([r for _s, _h, _g, ms in kept for r in ms])
    audit.record_created([*homes, *students, *guardians, *members])
    return results


def _batch_unique_errors(students: Sequence[Student], results: list[Errors]) -> None:
    """Student's unique fields (身份证号, 学籍号) against the database and within the batch, one
    query, with the message full_clean's validate_unique gives."""
    unique = [f.name for f in Student._meta.concrete_fields if f.unique and not f.primary_key]
    wanted = {name: {getattr(s, name) for s in students} for name in unique}
    taken = {
        name: set(Student.objects.filter(**{f"{name}__in": values}).values_list(name, flat=True))
        for name, values in wanted.items()
    }
    for student, errors in zip(students, results, strict=True):
        for name in unique:
            if getattr(student, name) in taken[name]:
                errors.setdefault(name, []).extend(student.unique_error_message(Student, (name,)).messages)
        if not errors:  # written: a later student of the batch with its numbers is refused
            for name in unique:
                taken[name].add(getattr(student, name))


# --- 家庭经济困难认定 ------------------------------------------------------------------------------


def assessment_problems(
    *,
    student: Student,
    term: Term,
    level: HardshipLevel | None,
    categories: Sequence[SpecialCategory],
    decided_on: dt.date | None,
) -> dict[str, str]:
    """Why this 认定 cannot be saved, keyed by field (the admin's form shows them at the field;
    assessment_save raises them)."""
    errors: dict[str, str] = {}
    stage = student.school.stage
    if level is None:
        errors["level"] = "请选择困难等级。"
    elif not HardshipLevel.objects.for_stage(stage).filter(pk=level.pk).exists():
        errors["level"] = f"“{level.name}”不是{Stage(stage).label}学段使用的困难等级,请重新选择。"
    stopped = [c.name for c in categories if not c.is_active]
    if stopped:
        errors["categories"] = f"特殊群体类别“{'、'.join(stopped)}”已停用,请重新选择。"
    if decided_on is None:
        errors["decided_on"] = "请填写认定日期。"
    elif decided_on > term.end_date:
        errors["decided_on"] = f"认定日期不能晚于{term.name}结束日期({term.end_date})。"
    return errors


@transaction.atomic
def assessment_save(
    *,
    student: Student,
    term: Term,
    level: HardshipLevel,
    categories: Sequence[SpecialCategory] = (),
    decided_on: dt.date,
    note: str = "",
    reason: str = "",
    by: Any = None,
) -> HardshipAssessment:
    """Record a student's 认定 for ``term``, or adjust it: one row a student and term. The level
    must be one of the student's stage (HardshipLevel.objects.for_stage). ``reason`` (变动原因) and
    ``by`` are the history's why and who (pairing/dynamics.py). Saving the 认定 of a term the student
    left the list in (an open AidListExit) takes her back: the exit records the re-entry, which
    needs a reason."""
    locked = _lock_student(student.pk)  # two officers saving the same term's 认定 queue here
    reason = (reason or "").strip()
    errors: Errors = {
        k: [v]
        for k, v in assessment_problems(
            student=locked, term=term, level=level, categories=categories, decided_on=decided_on
        ).items()
    }
    exit_ = AidListExit.objects.filter(student=locked, term=term, reentered_on__isnull=True).first()
    if exit_ is not None and not reason:
        errors["reason"] = [
            f"该学生已于{exit_.exited_on:%Y-%m-%d}退出资助名单({exit_.get_reason_display()}),重新纳入请填写变动原因。"
        ]
    assessment = HardshipAssessment.objects.filter(student=locked, term=term).first()
    assessment = assessment or HardshipAssessment(student=locked, term=term)
    assessment.level, assessment.decided_on, assessment.note = level, decided_on, (note or "").strip()
    assessment.reason, assessment.recorded_by, assessment.recorded_at = reason, by, timezone.now()
    try:
        assessment.full_clean(exclude=["student", "term", "level", "decided_on", "recorded_by"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    assessment.save()
    assessment.categories.set(categories)
    if exit_ is not None:
        exit_.reentered_on = max(exit_.exited_on, decided_on)  # the decision's day, never before the exit
        exit_.reentry_reason, exit_.reentered_by = reason, by
        exit_.save(update_fields=["reentered_on", "reentry_reason", "reentered_by"])
    return assessment


# --- 动态管理: leaving the aid list, confirming a term's 认定 changes --------------------------------


def _exit_errors(*, student: Student, on: dt.date, reason: str, note: str) -> tuple[Errors, Term | None]:
    errors: Errors = {}
    term = Term.objects.select_related("school_year").containing(on).first()
    if on > timezone.localdate():
        errors["on"] = ["退出日期不能晚于今天。"]
    elif term is None:
        errors["on"] = ["退出日期不在任何学期内,请核对。"]
    if reason not in AidExitReason.values:
        errors["reason"] = ["请选择退出原因。"]
    elif reason == AidExitReason.OTHER and not note:
        errors["note"] = ["退出原因为“其他”时请填写说明。"]
    if len(note) > 200:
        errors["note"] = ["说明不能超过200字。"]
    if term is not None and not errors:
        assessed = HardshipAssessment.objects.filter(student=student, term__start_date__lte=term.start_date)
        if not assessed.exists():
            errors[NON_FIELD_ERRORS] = ["该学生没有困难认定记录,不在资助名单中。"]
        elif (done := AidListExit.objects.filter(student=student, term=term).first()) is not None:
            errors[NON_FIELD_ERRORS] = [
                f"该学生已于{done.exited_on:%Y-%m-%d}登记退出资助名单({done.get_reason_display()}),同一学期只登记一次。"
            ]
    return errors, term


@transaction.atomic
def aid_list_exit(*, student: Student | int, on: dt.date, reason: str, note: str = "", by: Any) -> AidListExit:
    """Record that a student leaves the list of 家庭经济困难学生 from ``on`` (脱贫退出, 家庭经济好转,
    毕业离校, 转出本县, 其他): she is off the list in the term containing ``on``. The term's 认定,
    if any, stays as the record of what was decided before."""
    locked = _lock_student(student if isinstance(student, int) else student.pk)
    note = (note or "").strip()
    errors, term = _exit_errors(student=locked, on=on, reason=reason, note=note)
    if errors or term is None:
        raise ValidationError(errors)
    return AidListExit.objects.create(student=locked, term=term, exited_on=on, reason=reason, note=note, recorded_by=by)


@transaction.atomic
def assessment_change_confirm(*, student: int, term: Term, fingerprint: str, by: Any) -> AssessmentChangeConfirmation:
    """The school officer confirms a student's 认定 change of ``term`` as she read it
    (``fingerprint``, ChangeLine.fingerprint): a change edited since is refused, to be read again.
    Confirming again after an edit replaces the earlier confirmation (the audit log keeps both)."""
    return assessment_changes_confirm(read={student: fingerprint}, term=term, by=by)[0]


@transaction.atomic
def assessment_changes_confirm(*, read: Mapping[int, str], term: Term, by: Any) -> list[AssessmentChangeConfirmation]:
    """全部确认: each student's change of ``term`` as the officer read it (student id -> fingerprint),
    all or none: one refused (edited since, confirmed by a colleague meanwhile, out of her scope)
    confirms nothing, naming the student."""
    from .dynamics import ChangeKind, previous_term, term_changes

    if scope_of(by).role != Role.OFFICER:
        raise ValidationError("只有本校资助专干可以确认认定变动。")
    if not read:
        raise ValidationError("请选择要确认的变动。")
    ids = sorted(read)
    if Student.objects.visible_to(by).filter(pk__in=ids).count() != len(ids):
        raise ValidationError("该学生不存在或不在您的管理范围内。")
    list(Student.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))  # lock, in order
    lines = {
        line.student.pk: line
        for line in term_changes(by, Student.objects.filter(pk__in=ids), term=term, previous=previous_term(term))
    }
    now, done = timezone.now(), []
    for student_id in ids:
        line = lines.get(student_id)
        if line is None or line.kind == ChangeKind.UNCHANGED:
            raise ValidationError("该学生本学期的认定没有变动,无需确认。")
        name = line.student.name
        if line.fingerprint != read[student_id]:
            raise ValidationError(f"{name}的认定变动在您打开页面后已被修改,请查看最新的变动后再确认。")
        if line.confirmed and line.confirmation is not None:
            who = line.confirmation.confirmed_by.get_full_name()
            when = timezone.localtime(line.confirmation.confirmed_at)
            raise ValidationError(f"{name}的变动已由{who}于{when:%Y-%m-%d %H:%M}确认。")
        confirmation, _created = AssessmentChangeConfirmation.objects.update_or_create(
            student_id=student_id,
            term=term,
            defaults={
                "fingerprint": line.fingerprint,
                "summary": line.summary,
                "confirmed_by": by,
                "confirmed_at": now,
            },
        )
        done.append(confirmation)
    return done


# --- 教职工 ----------------------------------------------------------------------------------------
# A member of staff is two rows, their account (User: 姓名, 角色, 登录账号) and their staff row
# (Teacher: school, phone, title), written together.

USERNAME_TAKEN = "该登录账号已被使用,请换一个。"


def _staff_problems(*, user: Any, teacher: Teacher) -> Errors:
    errors: Errors = {}
    if not (user.full_name or "").strip():
        errors["full_name"] = ["请填写姓名。"]
    if user.role not in SCHOOL_ROLES:
        errors["role"] = ["请选择教师、学校资助专干或心理健康教师。"]
    for obj, exclude in ((user, ["password", "username", "role"]), (teacher, ["user"])):
        try:
            obj.full_clean(exclude=exclude)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, messages)
    return errors


def _staff_save(*, user: Any, teacher: Teacher) -> Teacher:
    user.phone = teacher.phone
    user.save()
    teacher.user = user
    teacher.save()
    return teacher


@transaction.atomic
def teacher_create(
    *,
    school: School,
    username: str,
    password: str,
    full_name: str,
    role: str,
    phone: str,
    title: str = "",
    is_head_teacher: bool = False,
) -> Teacher:
    """Add a member of staff with their account. ``password`` passes the project's password
    validators (settings.AUTH_PASSWORD_VALIDATORS); ``username`` is unique whatever its case."""
    user = get_user_model()(username=username.strip(), full_name=full_name.strip(), role=role)
    teacher = Teacher(school=school, phone=phone.strip(), title=title.strip(), is_head_teacher=is_head_teacher)
    errors = _staff_problems(user=user, teacher=teacher)
    try:
        validate_username(user.username)
    except ValidationError as exc:
        errors["username"] = exc.messages
    else:
        if get_user_model().objects.filter(username__iexact=user.username).exists():
            errors["username"] = [USERNAME_TAKEN]
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    return _staff_save(user=user, teacher=teacher)


@transaction.atomic
def teacher_update(
    *,
    teacher: Teacher,
    school: School,
    full_name: str,
    role: str,
    phone: str,
    title: str = "",
    is_head_teacher: bool = False,
) -> Teacher:
    """Change a member of staff and their account (not the 登录账号 nor the password). A teacher who
    still 包保 students stays at their school: the pairings require one school."""
    locked = Teacher.objects.select_for_update().select_related("user").get(pk=teacher.pk)  # as pairing_create
    user = locked.user
    moving = school.pk != locked.school_id
    user.full_name, user.role = full_name.strip(), role
    locked.school, locked.phone, locked.title, locked.is_head_teacher = (
        school,
        phone.strip(),
        title.strip(),
        is_head_teacher,
    )
    errors = _staff_problems(user=user, teacher=locked)
    if moving and Pairing.objects.filter(teacher=locked, ended_on__isnull=True).exists():
        errors["school"] = ["该教师还有进行中的结对,请先结束结对或更换帮扶教师,再调整学校。"]
    if errors:
        raise ValidationError(errors)
    return _staff_save(user=user, teacher=locked)


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


@dataclass(frozen=True)
class PairingFacts:
    """What the rules of a new pairing read besides the student and teacher rows: found one pairing
    at a time (pairing_create) or for many at once (pairings_create, the roster import's check)."""

    has_active: bool  # the student has an active pairing
    arrived: dt.date | None  # the student's last arrival at their school (EnrollmentChange)
    last_end: dt.date | None  # the end of the student's last pairing
    term_start: dt.date | None  # the start of the current (latest started) term
    load: int  # the teacher's active pairings


def _facts_of(*, teacher: Teacher, student: Student, today: dt.date) -> PairingFacts:
    term = Term.objects.latest_started(today)
    return PairingFacts(
        has_active=Pairing.objects.filter(student=student, ended_on__isnull=True).exists(),
        arrived=EnrollmentChange.objects.filter(student=student, to_school_id=student.school_id).aggregate(
            last=Max("effective_on")
        )["last"],
        last_end=Pairing.objects.filter(student=student).aggregate(last=Max("ended_on"))["last"],
        term_start=term.start_date if term is not None else None,
        load=selectors.teacher_active_load(teacher.pk),
    )


def pairing_problems(
    *,
    teacher: Teacher,
    student: Student,
    started_on: dt.date,
    confirmed_over_limit: bool,
    backdated_reason: str,
    facts: PairingFacts,
    today: dt.date,
) -> dict[str, str]:
    """What stops ``teacher`` from starting to 包保 ``student`` on ``started_on``, keyed as
    pairing_create's arguments: the one definition of the rules, on facts found by the caller."""
    errors: dict[str, str] = {}
    if student.enrollment_status != EnrollmentStatus.ENROLLED:
        status = student.get_enrollment_status_display()
        errors["student"] = f"该学生学籍状态为“{status}”,不在校,不能新建结对。"
    elif facts.has_active:
        errors["student"] = ACTIVE_PAIRING_EXISTS
    if teacher.school_id != student.school_id:
        errors["teacher"] = "帮扶教师必须与学生在同一所学校。"
    elif not teacher.user.is_active or teacher.user.role not in SCHOOL_ROLES:
        errors["teacher"] = "该教师的账号已停用或不是学校教职工账号,不能结对。"
    problem = start_date_problem(
        student=student, started_on=started_on, backdated_reason=backdated_reason, facts=facts, today=today
    )
    if problem:
        errors["backdated_reason" if problem == BACKDATE_NEEDS_REASON else "started_on"] = problem
    if not errors and not confirmed_over_limit:
        limit = settings.PAIRING_TEACHER_LOAD_LIMIT
        if facts.load + 1 > limit:
            errors["confirmed_over_limit"] = over_limit_warning(facts.load, limit)
    if len(backdated_reason) > 200:
        errors["backdated_reason"] = "补录原因不能超过200字。"
    return errors


BACKDATE_NEEDS_REASON = "结对日期早于本学期开学日期。如确是补录以前的结对,请填写补录原因。"


def start_date_problem(
    *, student: Student, started_on: dt.date, backdated_reason: str, facts: PairingFacts, today: dt.date
) -> str | None:
    """Why a pairing of ``student`` may not start on ``started_on``: never in the future, before the
    student was born or came to the school, or before their last pairing ended; before the
    current term only with the officer's reason (a pairing is otherwise overdue at once)."""
    if started_on > today:
        return "结对日期不能晚于今天。"
    if started_on < student.birth_date:
        return f"结对日期不能早于学生的出生日期({student.birth_date:%Y-%m-%d})。"
    if facts.arrived is not None and started_on < facts.arrived:
        return f"结对日期不能早于学生转入本校的日期({facts.arrived:%Y-%m-%d})。"
    if facts.last_end is not None and started_on < facts.last_end:
        return f"结对日期不能早于该学生上一次结对的结束日期({facts.last_end:%Y-%m-%d})。"
    if facts.term_start is not None and started_on < facts.term_start and not backdated_reason.strip():
        return BACKDATE_NEEDS_REASON
    return None


def _new_pairing_errors(
    *, teacher: Teacher, student: Student, started_on: dt.date, confirmed_over_limit: bool, backdated_reason: str = ""
) -> dict[str, str]:
    """pairing_problems on the facts of one pairing (locked rows)."""
    today = timezone.localdate()
    return pairing_problems(
        teacher=teacher,
        student=student,
        started_on=started_on,
        confirmed_over_limit=confirmed_over_limit,
        backdated_reason=backdated_reason,
        facts=_facts_of(teacher=teacher, student=student, today=today),
        today=today,
    )


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
            pairing = Pairing.objects.create(teacher=teacher, student=student, started_on=started_on)
        figures.touch_schools([teacher.school_id, student.school_id])
        return pairing
    except IntegrityError as exc:
        if "one_active_pairing_per_student" not in str(exc) and "pairing_pairing.student_id" not in str(exc):
            raise
        raise ValidationError({"student": ACTIVE_PAIRING_EXISTS}) from exc


@transaction.atomic
def pairing_create(
    *,
    teacher: Teacher,
    student: Student,
    started_on: dt.date,
    confirmed_over_limit: bool = False,
    backdated_reason: str = "",
) -> Pairing:
    """Start a pairing. Above PAIRING_TEACHER_LOAD_LIMIT only when the officer has confirmed;
    before the current term only with a reason (kept on the pairing)."""
    student = _lock_student(student.pk)
    _lock_teacher(teacher.pk)
    backdated_reason = backdated_reason.strip()
    errors = _new_pairing_errors(
        teacher=teacher,
        student=student,
        started_on=started_on,
        confirmed_over_limit=confirmed_over_limit,
        backdated_reason=backdated_reason,
    )
    if errors:
        raise ValidationError(errors)
    pairing = _insert(teacher=teacher, student=student, started_on=started_on)
    term = Term.objects.latest_started(timezone.localdate())
    if backdated_reason and term is not None and started_on < term.start_date:
        pairing.backdated_reason = backdated_reason
        pairing.save(update_fields=["backdated_reason"])
    return pairing


@dataclass(frozen=True)
class NewPairing:
    """One pairing for pairings_create: pairing_create's arguments (the teacher with its user)."""

    teacher: Teacher
    student: Student
    started_on: dt.date
    confirmed_over_limit: bool = False
    backdated_reason: str = ""


@transaction.atomic
def pairings_create(*, new: Sequence[NewPairing]) -> list[dict[str, str]]:
    """pairing_create for many pairings at once (a roster import): the same rules (pairing_problems)
    on facts found for every student and teacher together, a constant number of queries per
    BATCH_SIZE pairings; the students' rows locked, then the teachers', in id order, as pairing_create
    locks them; the pairings inserted with bulk_create and logged with audit.record_created. Returns
    each pairing's errors keyed as pairing_create raises them ({} when written); a teacher's load and
    a student's active pairing count the batch's earlier pairings. The pairings with errors are not
    written, the others are (the caller's transaction decides whether they stay)."""
    results: list[dict[str, str]] = []
    today = timezone.localdate()
    term = Term.objects.latest_started(today)
    for start in range(0, len(new), BATCH_SIZE):
        results.extend(_pairings_create_batch(new[start : start + BATCH_SIZE], today=today, term=term))
    return results


def _pairings_create_batch(new: Sequence[NewPairing], *, today: dt.date, term: Term | None) -> list[dict[str, str]]:
    student_ids = sorted({n.student.pk for n in new})
    teacher_ids = sorted({n.teacher.pk for n in new})
    students = {s.pk: s for s in Student.objects.select_for_update().filter(pk__in=student_ids).order_by("pk")}
    list(Teacher.objects.select_for_update().filter(pk__in=teacher_ids).order_by("pk").values_list("pk"))
    active = set(
        Pairing.objects.filter(student_id__in=student_ids, ended_on__isnull=True).values_list("student_id", flat=True)
    )
    arrived = dict(
        EnrollmentChange.objects.filter(student_id__in=student_ids, to_school_id=models.F("student__school_id"))
        .values("student_id")
        .annotate(last=Max("effective_on"))
        .values_list("student_id", "last")
    )
    last_end = dict(
        Pairing.objects.filter(student_id__in=student_ids, ended_on__isnull=False)
        .values("student_id")
        .annotate(last=Max("ended_on"))
        .values_list("student_id", "last")
    )
    load = dict(
        Pairing.objects.filter(teacher_id__in=teacher_ids, ended_on__isnull=True)
        .values("teacher_id")
        .annotate(n=models.Count("pk"))
        .values_list("teacher_id", "n")
    )
    results: list[dict[str, str]] = []
    made: list[Pairing] = []
    for item in new:
        student = students[item.student.pk]  # as read under the lock
        reason = item.backdated_reason.strip()
        facts = PairingFacts(
            has_active=student.pk in active,
            arrived=arrived.get(student.pk),
            last_end=last_end.get(student.pk),
            term_start=term.start_date if term is not None else None,
            load=load.get(item.teacher.pk, 0),
        )
        errors = pairing_problems(
            teacher=item.teacher,
            student=student,
            started_on=item.started_on,
            confirmed_over_limit=item.confirmed_over_limit,
            backdated_reason=reason,
            facts=facts,
            today=today,
        )
        results.append(errors)
        if errors:
            continue
        backdated = bool(reason) and term is not None and item.started_on < term.start_date
        made.append(
            Pairing(
                teacher=item.teacher,
                student=student,
                started_on=item.started_on,
                backdated_reason=reason if backdated else "",
            )
        )
        active.add(student.pk)
        load[item.teacher.pk] = load.get(item.teacher.pk, 0) + 1
    audit.record_created(Pairing.objects.bulk_create(made))
    figures.touch_schools(school for p in made for school in (p.teacher.school_id, p.student.school_id))
    return results


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
    figures.touch_pairings([pairing.pk])
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
    figures.touch_pairings([old.pk])
    errors = _new_pairing_errors(
        teacher=new_teacher, student=student, started_on=on, confirmed_over_limit=confirmed_over_limit
    )
    if errors:  # raising rolls the old pairing's end back too
        raise ValidationError(
            _renamed(
                errors,
                {"teacher": "new_teacher", "started_on": "on", "backdated_reason": "on", "student": NON_FIELD_ERRORS},
            )
        )
    try:
        return _insert(teacher=new_teacher, student=student, started_on=on)
    except ValidationError as exc:
        raise ValidationError({NON_FIELD_ERRORS: exc.messages}) from exc


# --- 学籍变动 --------------------------------------------------------------------------------------
# Student.enrollment_status and Student.school change only here, each with a dated EnrollmentChange
# row (who, when, why): the compliance engine reads that history, so a status set on a page, in
# the admin or by an import must come through these functions. Locks the student's row, like the
# pairing services, so a status change and a new pairing cannot cross.

# Leaving for good ends the pairing, with its reason, in the same transaction; 休学 and 辍学 only
# suspend what it owes (the pages say why), since the student is expected back.
ENDS_PAIRING: dict[str, str] = {
    EnrollmentStatus.GRADUATED: PairingEndReason.GRADUATION,
    EnrollmentStatus.TRANSFERRED: PairingEndReason.SCHOOL_TRANSFER,
}


def _change_date_errors(*, student: Student, on: dt.date) -> dict[str, str]:
    errors: dict[str, str] = {}
    last = EnrollmentChange.objects.filter(student=student).aggregate(last=Max("effective_on"))["last"]
    if on > timezone.localdate():
        errors["on"] = "生效日期不能晚于今天。"
    elif on < student.birth_date:
        errors["on"] = "生效日期不能早于学生的出生日期。"
    elif last is not None and on < last:
        errors["on"] = f"生效日期不能早于上一次学籍变动({last:%Y-%m-%d})。"
    return errors


def _end_active_pairing(*, student: Student, on: dt.date, reason: str, note: str) -> Pairing | None:
    active = Pairing.objects.filter(student=student, ended_on__isnull=True).first()
    if active is None:
        return None
    if on < active.started_on:
        raise ValidationError({"on": f"生效日期早于当前结对的开始日期({active.started_on:%Y-%m-%d}),请核对。"})
    active.ended_on, active.end_reason, active.end_note = on, reason, note[:200]
    active.save(update_fields=["ended_on", "end_reason", "end_note"])
    figures.touch_pairings([active.pk])
    return active


@transaction.atomic
def student_status_change(
    *, student: Student | int, status: str, on: dt.date, reason: str, by: Any
) -> EnrollmentChange:
    """Record a change of 学籍状态 from ``on``: 休学 and 辍学 suspend the pairing's weekly talk from
    that day (the pairing stays, and owes again from a return to 在校); 毕业 and 转出 end it with
    that reason. Moving to another school of the county is ``student_transfer``."""
    locked = _lock_student(student if isinstance(student, int) else student.pk)
    reason = reason.strip()
    errors = _change_date_errors(student=locked, on=on)
    if status not in EnrollmentStatus.values:
        errors["status"] = "请选择学籍状态。"
    elif status == locked.enrollment_status:
        errors["status"] = f"该学生的学籍状态已是“{locked.get_enrollment_status_display()}”。"
    if not reason:
        errors["reason"] = "请填写变动原因。"
    elif len(reason) > 200:
        errors["reason"] = "原因不能超过200字。"
    if errors:
        raise ValidationError(errors)
    if status in ENDS_PAIRING:
        label = EnrollmentStatus(status).label
        _end_active_pairing(student=locked, on=on, reason=ENDS_PAIRING[status], note=f"学籍变动:{label}。{reason}")
    change = EnrollmentChange.objects.create(
        student=locked, status=status, effective_on=on, reason=reason, recorded_by=by
    )
    locked.enrollment_status = status
    locked.save(update_fields=["enrollment_status", "updated_at"])
    figures.touch_students([locked.pk])  # the engine reads the dated history: owed weeks change
    if status in LEAVES_AID_LIST:
        _leave_aid_list(student=locked, on=on, reason=LEAVES_AID_LIST[status], note=reason, by=by)
    return change


# 毕业 and 转出 (out of the county) take a student off the list of 家庭经济困难学生 too (动态管理): the
# exit is recorded with the status change, when the day falls in a term and she is on the list.
LEAVES_AID_LIST: dict[str, str] = {
    EnrollmentStatus.GRADUATED: AidExitReason.GRADUATED,
    EnrollmentStatus.TRANSFERRED: AidExitReason.LEFT_COUNTY,
}


def _leave_aid_list(*, student: Student, on: dt.date, reason: str, note: str, by: Any) -> AidListExit | None:
    term = Term.objects.containing(on).first()
    if term is None or AidListExit.objects.filter(student=student, term=term).exists():
        return None
    if not HardshipAssessment.objects.filter(student=student, term__start_date__lte=term.start_date).exists():
        return None  # never on the list
    return AidListExit.objects.create(
        student=student, term=term, exited_on=on, reason=reason, note=note[:200], recorded_by=by
    )


@transaction.atomic
def student_transfer(
    *, student: Student | int, to_school: School, on: dt.date, reason: str, by: Any
) -> EnrollmentChange:
    """Move a student to another school of the county from ``on``: the pairing with the old
    school's teacher ends with reason 转学, and the student waits on the new school's list of
    students without a pairing."""
    locked = _lock_student(student if isinstance(student, int) else student.pk)
    reason = reason.strip()
    errors = _change_date_errors(student=locked, on=on)
    if to_school.pk == locked.school_id:
        errors["to_school"] = "转入学校与当前学校相同。"
    if locked.enrollment_status != EnrollmentStatus.ENROLLED:
        errors["to_school"] = f"该学生学籍状态为“{locked.get_enrollment_status_display()}”,请先办理复学。"
    if not reason:
        errors["reason"] = "请填写转学原因。"
    if errors:
        raise ValidationError(errors)
    from_school = locked.school
    _end_active_pairing(
        student=locked, on=on, reason=PairingEndReason.SCHOOL_TRANSFER, note=f"转学至{to_school.name}。{reason}"
    )
    change = EnrollmentChange.objects.create(
        student=locked,
        status=EnrollmentStatus.ENROLLED,
        effective_on=on,
        reason=reason,
        from_school=from_school,
        to_school=to_school,
        recorded_by=by,
    )
    locked.school = to_school
    locked.save(update_fields=["school", "updated_at"])
    figures.touch_schools([from_school.pk])  # its officer's figures counted her pairing by her school
    figures.touch_students([locked.pk])
    for listener in TRANSFER_LISTENERS:  # e.g. guidance tells the new school's officers
        listener(change)
    return change


# The apps above told of a move to another school, inside its transaction (pairing may not import
# them): guidance registers the in-app notice to the new school's officers (GuidanceConfig.ready).
TRANSFER_LISTENERS: list[Callable[[EnrollmentChange], object]] = []


def transfer_listener_register(listener: Callable[[EnrollmentChange], object]) -> None:
    if listener not in TRANSFER_LISTENERS:
        TRANSFER_LISTENERS.append(listener)


# --- 学期 -------------------------------------------------------------------------------------------
# Rows of the apps above hang off a term's dates (guidance: talk records and home visits carry their
# term; the tallies count weeks of it). pairing may not import them, so they register here (in their
# AppConfig.ready) what a change of dates must check and re-derive.


@dataclass(frozen=True)
class TermDependent:
    """What an app above keeps of a term: ``outside`` counts its rows of ``term`` dated outside
    [start, end] (a change that would strand them is refused); ``rederive`` recomputes what it
    derived from the term's dates, inside the change's transaction."""

    label: str
    outside: Callable[[Term, dt.date, dt.date], int]
    rederive: Callable[[Term], None]


TERM_DEPENDENTS: list[TermDependent] = []


def term_dependent_register(dependent: TermDependent) -> None:
    if all(d.label != dependent.label for d in TERM_DEPENDENTS):
        TERM_DEPENDENTS.append(dependent)


def term_dates_problems(*, term: Term, start_date: dt.date, end_date: dt.date) -> dict[str, str]:
    """Why ``term`` may not run from ``start_date`` to ``end_date``, keyed by field (the admin's form
    shows them at the field; term_dates_change raises them)."""
    errors: dict[str, str] = {}
    if end_date <= start_date:
        errors["end_date"] = "结束日期必须晚于开学日期。"
        return errors
    if (end_date - start_date).days > 200:
        errors["end_date"] = "一个学期不应超过200天,请检查日期。"
    other = (
        Term.objects.filter(start_date__lte=end_date, end_date__gte=start_date)
        .exclude(pk=term.pk)
        .select_related("school_year")
        .first()
    )
    if other is not None:
        errors["start_date"] = f"与{other.name}({other.start_date}至{other.end_date})的日期重叠。"
    if term.pk is None:
        return errors
    stranded = [(d.label, d.outside(term, start_date, end_date)) for d in TERM_DEPENDENTS]
    stranded = [(label, n) for label, n in stranded if n]
    if stranded:
        what = "、".join(f"{n}条{label}" for label, n in stranded)
        errors["start_date" if "start_date" not in errors else "end_date"] = (
            f"有{what}的日期在新的学期日期之外,修改后将不属于任何学期。请先核对这些记录,或调整日期范围。"
        )
    return errors


@transaction.atomic
def term_dates_change(*, term: Term, start_date: dt.date, end_date: dt.date) -> Term:
    """Move a term's dates: refused (ValidationError at the field) when it would overlap another
    term or leave records outside every term; otherwise saved and everything derived from the dates
    re-derived in the same transaction (the apps' TERM_DEPENDENTS: the talk tallies)."""
    locked = Term.objects.select_for_update().select_related("school_year").get(pk=term.pk)
    errors = term_dates_problems(term=locked, start_date=start_date, end_date=end_date)
    if errors:
        raise ValidationError(errors)
    locked.start_date, locked.end_date = start_date, end_date
    locked.save(update_fields=["start_date", "end_date"])
    for dependent in TERM_DEPENDENTS:
        dependent.rederive(locked)
    figures.touch_county()
    return locked


# --- 知情同意 (PIPL) ----------------------------------------------------------------------------
# Who records and withdraws a consent: the school's 资助专干 (the school answers for the processing
# and keeps the signed forms) and the county's staff. The teacher who 包保 the student collects the
# signature on a home visit and sees the state, but does not record it: the one who files the paper
# records it, so a record always points at a paper someone accountable holds. Pages ask this one rule.
CONSENT_RECORDERS = frozenset({Role.OFFICER, Role.COUNTY})


def may_record_consent(user: Any) -> bool:
    return scope_of(user).role in CONSENT_RECORDERS


def _consent_writer_errors(*, student: Student, by: Any) -> Errors:
    if not may_record_consent(by) or not Student.objects.visible_to(by).filter(pk=student.pk).exists():
        return {NON_FIELD_ERRORS: ["您无权为该学生登记知情同意。"]}
    return {}


@transaction.atomic
def consent_record(
    *,
    student: Student,
    scope: str,
    given_on: dt.date,
    method: str,
    by: Any,
    given_by_name: str = "",
    relation: str = "",
    guardian: Guardian | None = None,
    note: str = "",
) -> GuardianConsent:
    """Record a guardian's 知情同意 to one use of the student's data. The name and relation default
    to the registered guardian's. Refuses a future date, a date before the birth and a second active
    consent of the same scope (the student's row is locked, so two officers queue here)."""
    locked = _lock_student(student.pk)
    errors = _consent_writer_errors(student=locked, by=by)
    if guardian is not None and guardian.student_id != locked.pk:
        errors["guardian"] = ["所选监护人不是该学生的监护人。"]
    name = (given_by_name or (guardian.name if guardian else "")).strip()
    relation = (relation or (guardian.relation if guardian else "")).strip()
    if not name:
        errors["given_by_name"] = ["请填写表示同意的监护人姓名。"]
    if not relation:
        errors["relation"] = ["请填写监护人与学生的关系。"]
    if scope not in ConsentScope.values:
        errors["scope"] = ["请选择同意事项。"]
    if method not in ConsentMethod.values:
        errors["method"] = ["请选择取得方式。"]
    if given_on > timezone.localdate():
        errors["given_on"] = ["同意日期不能晚于今天。"]
    elif given_on < locked.birth_date:
        errors["given_on"] = [f"同意日期不能早于学生的出生日期({locked.birth_date:%Y-%m-%d})。"]
    if GuardianConsent.objects.active().filter(student=locked, scope=scope).exists():
        errors["scope"] = ["该学生这一事项已有有效的知情同意,如需重新登记请先撤回原同意。"]
    if errors:
        raise ValidationError(errors)
    return GuardianConsent.objects.create(
        student=locked,
        scope=scope,
        given_on=given_on,
        given_by_name=name,
        relation=relation,
        guardian=guardian,
        method=method,
        note=(note or "").strip(),
        recorded_by=by,
    )


@transaction.atomic
def consent_withdraw(*, consent: GuardianConsent, on: dt.date, note: str, by: Any, version: int) -> GuardianConsent:
    """Record that the guardian withdrew the consent on ``on``; the row stays as history. ``version``
    is the one the form was opened at: if a colleague saved meanwhile, nothing is written."""
    # Locked and read again: of two saves opened at the same version, the second waits here and then
    # finds the version moved on. (A save(), not a QuerySet.update, so that the audit log sees it.)
    current = (
        GuardianConsent.objects.select_for_update(of=("self",))
        .select_related("student", "withdrawn_by")
        .get(pk=consent.pk)
    )
    if current.version != version or current.withdrawn_on is not None:
        raise ValidationError(_stale_consent_message(current))
    errors = _consent_writer_errors(student=current.student, by=by)
    note = (note or "").strip()
    if not note:
        errors["note"] = ["请填写撤回的方式与说明(如:家长来电撤回,已告知)。"]
    if on > timezone.localdate():
        errors["on"] = ["撤回日期不能晚于今天。"]
    elif on < current.given_on:
        errors["on"] = [f"撤回日期不能早于同意日期({current.given_on:%Y-%m-%d})。"]
    if errors:
        raise ValidationError(errors)
    current.withdrawn_on, current.withdrawal_note, current.withdrawn_by = on, note, by
    current.version += 1
    current.save(update_fields=["withdrawn_on", "withdrawal_note", "withdrawn_by", "version"])
    return current


def _stale_consent_message(current: GuardianConsent) -> str:
    """The refusal of the second of two saves: who got there first; the form keeps what was typed."""
    if current.withdrawn_on is not None:
        who = current.withdrawn_by.get_full_name() if current.withdrawn_by else "其他人"
        return f"本次未保存:{who}已于{current.withdrawn_on:%Y-%m-%d}登记撤回这项同意(见学生页面的历史记录)。"
    return "本次未保存:这项同意在您打开本页后已被他人修改。您填写的内容仍在下方,请先查看学生页面再决定。"
