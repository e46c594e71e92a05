"""心理健康档案: counselling sessions, 心理测评, risk levels and teachers' requests (定单式).

Who reads: the school's counsellors and the county staff designated for it (zaoyang_aid.fields,
FieldGroup.COUNSELLING, applied by the models' ``visible_to``). The teacher who 包保 a student sees
only "心理老师建议跟进" (PsychFile.follow_up_wanted) and the status of her own requests. Who writes:
the school's counsellors (``may_counsel``); a teacher only asks for a session.

Edits take the ``version`` the form read and refuse a newer row (optimistic locking). A rise of a
student's level to 重点关注 or 危机 writes one in-app notice per active officer of the school in the
level's transaction and, after the commit, sends it at once by email and webhook
(``risk_rise_deliver``, run by the ``notify_risk_rise`` task). No notice, email, webhook or audit
line carries a reason, a note, a topic or a result: only the student, the level and whom to call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from pairing.models import EnrollmentStatus, Pairing, Student, Teacher, Term
from zaoyang_aid import audit
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.fields import FieldGroup, broad_access, field_access
from zaoyang_aid.locks import ensure_term_open
from zaoyang_aid.models import AuditAction

from .channels import channels
from .deliveries import absolute_link, claim, send_one
from .models import (
    OPEN_REQUEST_STATUSES,
    CounsellingRecord,
    CounsellingRequest,
    Delivery,
    Notification,
    PsychAssessment,
    PsychFile,
    ReminderLevel,
    RequesterKind,
    RequestStatus,
    RiskLevel,
    RiskLevelChange,
    SessionKind,
    SessionMode,
)

STALE = "这条记录已被他人修改,请刷新后再改。"
NOT_COUNSELLOR = "只有本校的心理健康教师可以填写心理健康档案。"
NOT_PAIRED = "只有正在包保这名学生的教师可以申请心理辅导。"
TEXT_MAX = 2000
REASON_MAX = 500


# --- Who may ---------------------------------------------------------------------------------


def may_read(user: Any, student: Student) -> bool:
    """Whether ``user`` reads ``student``'s 心理健康档案 (counsellors of the school, designated county)."""
    return FieldGroup.COUNSELLING in field_access(user, school_id=student.school_id, paired_teacher_id=None)


def may_read_any(user: Any) -> bool:
    return FieldGroup.COUNSELLING in broad_access(user)


def may_counsel(user: Any, school_id: int | None) -> bool:
    """The school's 心理健康教师 write its files (designated county staff only read)."""
    scope = scope_of(user)
    return scope.role == Role.COUNSELLOR and scope.school_id is not None and scope.school_id == school_id


def pairs_now(user: Any, student_id: int) -> bool:
    teacher_id = scope_of(user).teacher_id
    return (
        teacher_id is not None
        and Pairing.objects.active().filter(student_id=student_id, teacher_id=teacher_id).exists()
    )


def _ensure_counsellor(by: Any, school_id: int | None) -> None:
    if not may_counsel(by, school_id):
        raise ValidationError(NOT_COUNSELLOR)


def _term_of(day: dt.date) -> Term:
    term = Term.objects.containing(day).first()
    if term is None:
        raise ValidationError({"date": "这一天不在任何学期内,请核对日期。"})
    return term


def _text(value: str, *, field_name: str, label: str, max_length: int = TEXT_MAX, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field_name: f"请填写{label}。"})
    if len(value) > max_length:
        raise ValidationError({field_name: f"{label}不超过{max_length}字(现有{len(value)}字)。"})
    return value


def _file_of(student_id: int) -> PsychFile:
    """The student's file, opened on first use; locked for the rest of the transaction."""
    PsychFile.objects.get_or_create(student_id=student_id)
    return PsychFile.objects.select_for_update(of=("self",)).get(student_id=student_id)


# --- Requests (定单式, from the teacher) -----------------------------------------------------------


@transaction.atomic
def counselling_request_create(*, student: Student, by: Any, reason: str) -> CounsellingRequest:
    """The 包保 teacher asks the school's counsellors to see ``student``; one open request per
    teacher and student at a time."""
    if not pairs_now(by, student.pk):
        raise ValidationError(NOT_PAIRED)
    reason = _text(reason, field_name="reason", label="申请原因", max_length=REASON_MAX)
    open_request = CounsellingRequest.objects.filter(
        student=student, requested_by=by, status__in=OPEN_REQUEST_STATUSES
    ).exists()
    if open_request:
        raise ValidationError("您对这名学生的心理辅导申请尚在处理中,无需重复申请。")
    _file_of(student.pk)
    request = CounsellingRequest.objects.create(student=student, requested_by=by, reason=reason)
    audit.record(AuditAction.CREATE, obj=request, student_id=student.pk, changes={"心理辅导申请": [None, "已提交"]})
    return request


@transaction.atomic
def counselling_request_handle(
    *, request: CounsellingRequest, by: Any, status: str, note: str = "", version: int
) -> CounsellingRequest:
    """A counsellor schedules, completes or declines a request (the teacher sees the new status)."""
    _ensure_counsellor(by, request.student.school_id)
    if status not in RequestStatus.values or status == RequestStatus.PENDING:
        raise ValidationError({"status": "请选择已安排、已完成或已婉拒。"})
    note = _text(note, field_name="note", label="处理说明", max_length=200, required=False)
    before = request.get_status_display()
    updated = CounsellingRequest.objects.filter(pk=request.pk, version=version).update(
        status=status, handled_by=by, handled_at=timezone.now(), handling_note=note, version=F("version") + 1
    )
    if not updated:
        raise ValidationError(STALE)
    request.refresh_from_db()
    audit.record(
        AuditAction.UPDATE,
        obj=request,
        student_id=request.student_id,
        changes={"状态": [before, request.get_status_display()]},
    )
    return request


# --- Sessions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionValues:
    kind: str
    mode: str
    requester_kind: str
    request_id: int | None
    student_ids: tuple[int, ...]
    date: dt.date
    duration_minutes: int
    topic: str
    notes: str


def _clean_session(values: SessionValues, *, school_id: int) -> SessionValues:
    errors: dict[str, list[str]] = {}
    ids = tuple(dict.fromkeys(values.student_ids))
    if values.kind == SessionKind.INDIVIDUAL and len(ids) != 1:
        errors["students"] = ["个体辅导请选择一名学生。"]
    elif values.kind == SessionKind.GROUP and len(ids) < 2:
        errors["students"] = ["团体辅导请至少选择两名学生。"]
    elif values.kind not in SessionKind.values:
        errors["kind"] = ["请选择辅导形式。"]
    found = Student.objects.filter(pk__in=ids, school_id=school_id).count()
    if ids and found != len(ids):
        errors["students"] = ["只能选择本校的学生。"]
    if values.mode == SessionMode.ORDERED and values.requester_kind not in RequesterKind.values:
        errors["requester_kind"] = ["定单式辅导请注明由谁申请(教师、家长或学生)。"]
    if values.mode not in SessionMode.values:
        errors["mode"] = ["请选择辅导方式。"]
    if values.date > timezone.localdate():
        errors["date"] = ["辅导日期不能晚于今天。"]
    if not 5 <= values.duration_minutes <= 600:
        errors["duration_minutes"] = ["时长应在5至600分钟之间。"]
    if errors:
        raise ValidationError(errors)
    return SessionValues(
        kind=values.kind,
        mode=values.mode,
        requester_kind=values.requester_kind if values.mode == SessionMode.ORDERED else "",
        request_id=values.request_id if values.mode == SessionMode.ORDERED else None,
        student_ids=ids,
        date=values.date,
        duration_minutes=values.duration_minutes,
        topic=_text(values.topic, field_name="topic", label="主题", max_length=100),
        notes=_text(values.notes, field_name="notes", label="辅导记录"),
    )


def _link_request(request_id: int | None, *, student_ids: Sequence[int], by: Any) -> None:
    """A session that answers a request completes it."""
    if request_id is None:
        return
    request = CounsellingRequest.objects.select_for_update(of=("self",)).filter(pk=request_id).first()
    if request is None or request.student_id not in student_ids:
        raise ValidationError({"request": "所选申请不属于本次辅导的学生。"})
    if request.status != RequestStatus.DONE:
        CounsellingRequest.objects.filter(pk=request.pk).update(
            status=RequestStatus.DONE, handled_by=by, handled_at=timezone.now(), version=F("version") + 1
        )


@transaction.atomic
def counselling_record_create(*, by: Any, school_id: int, values: SessionValues) -> CounsellingRecord:
    """Record a session the counsellor held with one student or a group of the school's students."""
    _ensure_counsellor(by, school_id)
    cleaned = _clean_session(values, school_id=school_id)
    term = _term_of(cleaned.date)
    for student_id in cleaned.student_ids:
        ensure_term_open(student_id=student_id, term_id=term.pk)
        _file_of(student_id)
    _link_request(cleaned.request_id, student_ids=cleaned.student_ids, by=by)
    record = CounsellingRecord.objects.create(
        school_id=school_id,
        counsellor=by,
        term=term,
        **_row_values(cleaned),
    )
    record.students.set(cleaned.student_ids)
    for student_id in cleaned.student_ids:
        audit.record(AuditAction.CREATE, obj=record, student_id=student_id, changes=_summary(record, None))
    return record


@transaction.atomic
def counselling_record_update(
    *, record: CounsellingRecord, by: Any, values: SessionValues, version: int
) -> CounsellingRecord:
    """Change a session; refused when someone saved it since ``version`` was read, or when the
    term of its old or new date is locked for one of its students."""
    _ensure_counsellor(by, record.school_id)
    cleaned = _clean_session(values, school_id=record.school_id)
    term = _term_of(cleaned.date)
    before_ids = set(record.students.values_list("pk", flat=True))
    for student_id in before_ids:
        ensure_term_open(student_id=student_id, term_id=record.term_id)
    for student_id in cleaned.student_ids:
        ensure_term_open(student_id=student_id, term_id=term.pk)
        _file_of(student_id)
    before = _summary(record, None)
    updated = CounsellingRecord.objects.filter(pk=record.pk, version=version).update(
        term=term, updated_at=timezone.now(), version=F("version") + 1, **_row_values(cleaned)
    )
    if not updated:
        raise ValidationError(STALE)
    _link_request(cleaned.request_id, student_ids=cleaned.student_ids, by=by)
    record.refresh_from_db()
    record.students.set(cleaned.student_ids)
    after = _summary(record, None)
    changed = {name: [before[name][1], pair[1]] for name, pair in after.items() if before.get(name) != pair}
    for student_id in before_ids | set(cleaned.student_ids):
        audit.record(AuditAction.UPDATE, obj=record, student_id=student_id, changes=changed or {"修改": [None, "无"]})
    return record


def _row_values(cleaned: SessionValues) -> dict[str, Any]:
    return {
        "kind": cleaned.kind,
        "mode": cleaned.mode,
        "requester_kind": cleaned.requester_kind,
        "request_id": cleaned.request_id,
        "date": cleaned.date,
        "duration_minutes": cleaned.duration_minutes,
        "topic": cleaned.topic,
        "notes": cleaned.notes,
    }


def _summary(record: CounsellingRecord, _: Any) -> dict[str, list[str | None]]:
    """What an audit line says of a session: its form and date, never its topic or notes."""
    return {
        "心理辅导": [None, f"{record.get_kind_display()} {record.get_mode_display()} {record.date:%Y-%m-%d}"],
        "时长": [None, f"{record.duration_minutes}分钟"],
    }


# --- Assessments and risk levels -----------------------------------------------------------------


@transaction.atomic
def psych_assessment_create(
    *, student: Student, by: Any, scale: str, taken_on: dt.date, score: Decimal, result: str
) -> PsychAssessment:
    _ensure_counsellor(by, student.school_id)
    if taken_on > timezone.localdate():
        raise ValidationError({"taken_on": "测评日期不能晚于今天。"})
    if score < 0:
        raise ValidationError({"score": "得分不能为负数。"})
    result = _text(result, field_name="result", label="结果解读")
    term = Term.objects.containing(taken_on).first()
    if term is not None:
        ensure_term_open(student_id=student.pk, term_id=term.pk)
    _file_of(student.pk)
    assessment = PsychAssessment.objects.create(
        student=student, scale=scale, taken_on=taken_on, score=score, result=result, entered_by=by
    )
    audit.record(
        AuditAction.CREATE,
        obj=assessment,
        student_id=student.pk,
        changes={"心理测评": [None, f"{assessment.get_scale_display()} {taken_on:%Y-%m-%d}"]},
    )
    return assessment


@transaction.atomic
def risk_level_set(
    *, student: Student, by: Any, level: int, reason: str, follow_up_wanted: bool, version: int, deliver: bool = True
) -> RiskLevelChange:
    """Set the student's risk level (with the reason) and whether the 包保 teacher should follow up.

    ``version`` is the file's version as read (0 when the student had no file yet). A rise from a
    lower level to 重点关注 or 危机 notifies each active officer of the school, once (see module);
    ``deliver=False`` (the demo) writes the in-app notices without sending email and webhook."""
    _ensure_counsellor(by, student.school_id)
    if level not in RiskLevel.values:
        raise ValidationError({"level": "请选择风险等级。"})
    reason = _text(reason, field_name="reason", label="设定理由", max_length=REASON_MAX)
    existed = PsychFile.objects.filter(student=student).exists()
    psych_file = _file_of(student.pk)
    if psych_file.version != version and not (version == 0 and not existed):
        raise ValidationError(STALE)
    now = timezone.now()
    change = RiskLevelChange.objects.create(
        student=student, level=level, previous_level=psych_file.risk_level, set_by=by, set_at=now, reason=reason
    )
    PsychFile.objects.filter(pk=psych_file.pk).update(
        risk_level=level,
        risk_set_at=now,
        risk_set_by=by,
        follow_up_wanted=follow_up_wanted,
        version=F("version") + 1,
        updated_at=now,
    )
    audit.record(
        AuditAction.UPDATE,
        obj=change,
        student_id=student.pk,
        changes={"风险等级": [RiskLevel(change.previous_level).label, RiskLevel(level).label]},
    )
    if change.is_urgent_rise and _risk_rise_notify(change, student=student, counsellor=by) and deliver:
        from .tasks import notify_risk_rise  # the task module imports this one

        transaction.on_commit(lambda: notify_risk_rise.delay(change.pk))
    return change


def risk_notice_text(student: Student, level: int, counsellor: Any) -> tuple[str, str]:
    """The notice's title and body: the student, the level and whom to call; never the reason."""
    name = counsellor.get_full_name()
    phone = getattr(getattr(counsellor, "teacher", None), "phone", "") or counsellor.phone
    contact = f"{name}({phone})" if phone else name
    title = f"心理风险预警:{student.name} {RiskLevel(level).label}"
    body = (
        f"{student.school.name}{student.class_label}的{student.name}心理风险等级已调整为“{RiskLevel(level).label}”。"
        f"请立即联系心理健康教师{contact},共同做好关注与保护。详情不在通知中显示。"
    )
    return title[:100], body[:500]


def _risk_rise_notify(change: RiskLevelChange, *, student: Student, counsellor: Any) -> int:
    """One in-app notice per active officer of the school (unique per officer and rise)."""
    officers = get_user_model().objects.filter(is_active=True, role=Role.OFFICER, teacher__school_id=student.school_id)
    title, body = risk_notice_text(student, change.level, counsellor)
    link = reverse("pairing:student_detail", args=[student.pk])
    rows = [
        Notification(
            recipient=officer,
            risk_change=change,
            level=ReminderLevel.OFFICER,
            title=title,
            body=body,
            link=link,
        )
        for officer in officers
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def risk_rise_deliver(change_id: int) -> int:
    """Send a risk rise's notices at once over every channel (email, webhook), one Delivery per
    officer and channel under the unique (recipient, channel, day, key): run twice, it writes no
    second row and sends nothing twice, since each row is claimed before it is sent (see
    deliveries.claim). At-least-once only in a worker's crash between sending and marking sent, as
    for the digests. Returns how many were sent now."""
    key = f"risk-{change_id}"
    notices = list(
        Notification.objects.filter(risk_change_id=change_id)
        .select_related("recipient__reminder_preference")
        .order_by("pk")
    )
    today = timezone.localdate()
    rows = [
        Delivery(
            recipient=n.recipient,
            channel=channel.name,
            day=today,
            key=key,
            subject=n.title,
            body=f"{n.body}\n\n此通知由资助帮扶系统自动发送,请勿回复。",
            items=[{"title": n.title, "link": absolute_link(n.link)}],
            next_attempt_at=timezone.now(),
        )
        for n in notices
        for channel in channels()
        if channel.enabled_for(n.recipient)
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    now = timezone.now()
    sent = 0
    for pk in Delivery.objects.filter(key=key).order_by("pk").values_list("pk", flat=True):
        delivery = claim(pk, now=now)
        if delivery is not None and send_one(delivery, now) == "sent":
            sent += 1
    return sent


# --- Reads ---------------------------------------------------------------------------------------


def psych_files(user: Any, *, level: int | None = None, school_id: int | None = None) -> QuerySet[PsychFile]:
    """The files the reader sees (the counsellor's school, or the county for designated staff),
    highest level first, each with its last session's date and its open requests (one query)."""
    last_session = (
        CounsellingRecord.objects.filter(students=OuterRef("student_id")).order_by("-date").values("date")[:1]
    )
    open_requests = (
        CounsellingRequest.objects.filter(student_id=OuterRef("student_id"), status__in=OPEN_REQUEST_STATUSES)
        .order_by()
        .values("student_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    files = (
        PsychFile.objects.visible_to(user)
        .select_related("student__school")
        .annotate(last_session_on=Subquery(last_session), open_requests=Coalesce(Subquery(open_requests), 0))
        .order_by("-risk_level", "-open_requests", "student__school__name", "student__name", "pk")
    )
    if level is not None:
        files = files.filter(risk_level=level)
    if school_id is not None:
        files = files.filter(student__school_id=school_id)
    return files


@dataclass
class PsychFilePage:
    student: Student
    file: PsychFile | None
    sessions: list[CounsellingRecord]
    assessments: list[PsychAssessment]
    changes: list[RiskLevelChange]
    requests: list[CounsellingRequest]


def psych_file_page(user: Any, student: Student) -> PsychFilePage:
    """Everything of one student's file the reader sees (5 queries, plus 1 for the sessions' students)."""
    return PsychFilePage(
        student=student,
        file=PsychFile.objects.visible_to(user).filter(student=student).select_related("risk_set_by").first(),
        sessions=list(
            CounsellingRecord.objects.visible_to(user)
            .filter(students=student)
            .select_related("counsellor")
            .prefetch_related("students")
        ),
        assessments=list(PsychAssessment.objects.visible_to(user).filter(student=student).select_related("entered_by")),
        changes=list(RiskLevelChange.objects.visible_to(user).filter(student=student).select_related("set_by")),
        requests=list(
            CounsellingRequest.objects.visible_to(user)
            .filter(student=student)
            .select_related("requested_by", "handled_by")
        ),
    )


@dataclass(frozen=True)
class TeacherPsychState:
    """What the 包保 teacher sees of a student's file: follow-up wanted, and her requests' status."""

    follow_up_wanted: bool = False
    request_statuses: tuple[str, ...] = field(default_factory=tuple)


def teacher_psych_states(
    user: Any, student_ids: Iterable[int], *, paired: bool = False
) -> dict[int, TeacherPsychState]:
    """For 我的帮扶学生 and the student page: per student the teacher 包保 now, the follow-up flag
    and the status of her own requests (2 queries, whatever the number of students; 1 more to check
    the pairings unless the caller passes ``paired=True`` for ids it read as her active pairings)."""
    teacher_id = scope_of(user).teacher_id
    ids = list(student_ids)
    if teacher_id is None or not ids:
        return {}
    if not paired:
        ids = list(
            Pairing.objects.active()
            .filter(teacher_id=teacher_id, student_id__in=ids)
            .values_list("student_id", flat=True)
        )
        if not ids:
            return {}
    follow = set(
        PsychFile.objects.filter(student_id__in=ids, follow_up_wanted=True).values_list("student_id", flat=True)
    )
    statuses: dict[int, str] = {}
    for student_id, status in (
        CounsellingRequest.objects.filter(student_id__in=ids, requested_by=user)
        .order_by("-created_at", "-pk")
        .values_list("student_id", "status")
    ):
        statuses.setdefault(student_id, RequestStatus(status).label)  # the latest request's
    return {sid: TeacherPsychState(sid in follow, (statuses[sid],) if sid in statuses else ()) for sid in ids}


def psych_summary(*, student_id: int, reader: Any) -> dict[str, Any] | None:
    """What ``reader`` may see of a student's 心理健康档案, for the case file (casefiles):

    - counsellors of the school and designated county staff: the whole file (``level``,
      ``level_label``, ``follow_up_wanted``, ``sessions``, ``assessments``, ``changes``, ``requests``);
    - the teacher who 包保 the student now: ``{"follow_up_wanted": bool}`` only;
    - anyone else: None.
    """
    student = Student.objects.visible_to(reader).select_related("school").filter(pk=student_id).first()
    if student is None:
        return None
    if may_read(reader, student):
        page = psych_file_page(reader, student)
        level = page.file.risk_level if page.file is not None else RiskLevel.NORMAL
        return {
            "level": level,
            "level_label": RiskLevel(level).label,
            "follow_up_wanted": bool(page.file and page.file.follow_up_wanted),
            "sessions": page.sessions,
            "assessments": page.assessments,
            "changes": page.changes,
            "requests": page.requests,
        }
    if pairs_now(reader, student_id):
        return {"follow_up_wanted": PsychFile.objects.filter(student_id=student_id, follow_up_wanted=True).exists()}
    return None


def counsellor_contact(school_id: int) -> list[Teacher]:
    """The school's active counsellors, for the teacher's request page (whom she may also call)."""
    return list(
        Teacher.objects.filter(school_id=school_id, user__role=Role.COUNSELLOR, user__is_active=True).select_related(
            "user"
        )
    )


def enrolled_students(school_id: int) -> QuerySet[Student]:
    """Whom a session may name: the school's students at school now."""
    return (
        Student.objects.filter(school_id=school_id, enrollment_status=EnrollmentStatus.ENROLLED)
        .select_related("school")  # each label names the grade, which depends on the school's stage
        .order_by("grade", "class_name", "name")
    )
