"""Writes of the case file: a term's 学业成绩 and attachments. Keyword-only plain values, one
transaction each, Chinese ValidationErrors; every write of a term's records asks whether the term is
still open for the student (zaoyang_aid.locks) inside its transaction.

Writes of the officer's term review: comments, answers, sign-off and reopening.

Each takes the ``version`` its form read and refuses, writing nothing, when someone saved since
(optimistic locking: two officers signing off the same file at once, the second is told to reload;
two answers to one comment, likewise). No row of a (student, term) means 未开始: the first comment
or the sign-off creates it, and the unique (student, term) turns a second first write into the
same refusal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from guidance.models import Notification, ReminderLevel
from pairing.models import Pairing, Student, Term
from zaoyang_aid import audit
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.locks import ensure_term_open
from zaoyang_aid.models import AuditAction

from .attachments import CleanFile
from .checklist import checklists_for
from .models import Attachment, AttachmentKind, CaseFileReview, ReviewComment, ReviewReopening, ReviewStatus, TermResult

STALE = "成绩已被他人修改,请刷新后再改。"
NOT_ALLOWED = "只有包保这名学生的教师或本校资助专干可以录入成绩和上传附件。"
MAX_SUBJECT_LENGTH = 20


def may_enter(user: Any, student: Student) -> bool:
    """Term results and attachments: the teacher who 包保 the student now, or the school's 资助专干."""
    scope = scope_of(user)
    if scope.role == Role.OFFICER and scope.school_id == student.school_id:
        return True
    return (
        scope.teacher_id is not None
        and Pairing.objects.filter(student=student, teacher_id=scope.teacher_id, ended_on__isnull=True).exists()
    )


@dataclass(frozen=True)
class ScoreInput:
    """One subject as the form posts it: ``score`` blank deletes the subject's result."""

    score: str
    full_marks: str = "100"
    class_rank: str = ""
    version: int = 0


def _decimal(value: str, field: str, label: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError({field: [f"{label}应为数字。"]}) from None
    if not number.is_finite() or number < 0 or number > 1000:
        raise ValidationError({field: [f"{label}应在0至1000之间。"]})
    return number.quantize(Decimal("0.1"))


def _clean_score(subject: str, given: ScoreInput) -> dict[str, Any]:
    score = _decimal(given.score, f"score_{subject}", f"{subject}成绩")
    full = _decimal(given.full_marks or "100", f"full_{subject}", f"{subject}满分")
    if full == 0:
        raise ValidationError({f"full_{subject}": [f"{subject}满分应大于0。"]})
    if score > full:
        raise ValidationError({f"score_{subject}": [f"{subject}成绩不能高于满分{full}。"]})
    rank = str(given.class_rank or "").strip()
    if rank and (not rank.isdigit() or not 1 <= int(rank) <= 300):
        raise ValidationError({f"rank_{subject}": [f"{subject}班级排名应为1至300的整数。"]})
    return {"score": score, "full_marks": full, "class_rank": int(rank) if rank else None}


@transaction.atomic
def term_results_save(*, student_id: int, term_id: int, by: Any, scores: Mapping[str, ScoreInput]) -> list[TermResult]:
    """Write a term's 学业成绩 of the student: each subject created, changed or (blank score) removed.
    Each posts the version it read (0 for a new subject); a subject saved by someone else since is
    refused, and nothing is written (optimistic locking: the second of two editors reloads)."""
    student = Student.objects.get(pk=student_id)
    if not may_enter(by, student):
        raise ValidationError(NOT_ALLOWED)
    ensure_term_open(student_id=student_id, term_id=term_id)
    term = Term.objects.select_related("school_year").get(pk=term_id)
    existing = {r.subject: r for r in TermResult.objects.filter(student=student, term=term)}
    summary: list[str] = []
    for subject, given in scores.items():
        subject = subject.strip()
        if not subject or len(subject) > MAX_SUBJECT_LENGTH:
            raise ValidationError(f"科目名称应为1至{MAX_SUBJECT_LENGTH}个字。")
        summary += _save_one(student, term, by, subject, given, existing.get(subject))
    if summary:
        audit.record(
            AuditAction.UPDATE,
            object_type="学业成绩",
            object_id=f"{student.pk}-{term.pk}",
            object_label=f"{student} {term} 学业成绩",
            student_id=student.pk,
            changes={"学业成绩": [None, ";".join(summary)]},
        )
    return list(TermResult.objects.filter(student=student, term=term).order_by("pk"))


def _save_one(
    student: Student, term: Term, by: Any, subject: str, given: ScoreInput, row: TermResult | None
) -> list[str]:
    if row is None and given.version:
        raise ValidationError(STALE)  # it was there when the form was read, and is gone
    if not str(given.score).strip():
        if row is None:
            return []
        if not TermResult.objects.filter(pk=row.pk, version=given.version).delete()[0]:
            raise ValidationError(STALE)
        return [f"删除{subject}"]
    values = _clean_score(subject, given)
    if row is None:
        try:
            with transaction.atomic():  # a second first save of the same subject: refused, not a 500
                TermResult.objects.create(student=student, term=term, subject=subject, entered_by=by, **values)
        except IntegrityError:
            raise ValidationError(STALE) from None
        return [f"{subject}{values['score']}"]
    if all(getattr(row, k) == v for k, v in values.items()) and row.version == given.version:
        return []
    stamp = {"updated_at": timezone.now(), "version": F("version") + 1, "entered_by": by}
    if not TermResult.objects.filter(pk=row.pk, version=given.version).update(**values, **stamp):
        raise ValidationError(STALE)
    return [f"{subject}{row.score}→{values['score']}"]


# --- Attachments ------------------------------------------------------------------------------------


@transaction.atomic
def attachment_create(
    *, student_id: int, term_id: int | None, kind: str, title: str, file: CleanFile, by: Any
) -> Attachment:
    """Keep a checked file (casefiles.attachments.clean_attachment) in the student's case file."""
    student = Student.objects.get(pk=student_id)
    if not may_enter(by, student):
        raise ValidationError(NOT_ALLOWED)
    if kind not in AttachmentKind.values:
        raise ValidationError({"kind": ["请选择附件类别。"]})
    title = title.strip()
    if not title or len(title) > 60:
        raise ValidationError({"title": ["标题应为1至60个字。"]})
    if term_id is not None:
        ensure_term_open(student_id=student_id, term_id=term_id)
    attachment = Attachment(
        student=student,
        term_id=term_id,
        kind=kind,
        title=title,
        content_type=file.content_type,
        size=file.size,
        uploaded_by=by,
    )
    # The file is written before the row commits; a rollback deletes it again (on_commit is not
    # called then, so the cleanup is registered as the transaction's own failure path below).
    attachment.file.save(f"upload{file.extension}", ContentFile(file.data), save=False)
    try:
        attachment.save()
    except Exception:
        attachment.file.delete(save=False)
        raise
    audit.record(
        AuditAction.CREATE,
        obj=attachment,
        student_id=student.pk,
        changes={"附件": [None, f"{attachment.get_kind_display()} {title}({file.size}字节)"]},
    )
    return attachment


@transaction.atomic
def attachment_delete(*, attachment_id: int, by: Any) -> None:
    """Remove an attachment (the school's 资助专干, or the teacher who 包保 the student now); its file
    goes once the deletion commits."""
    attachment = Attachment.objects.select_related("student").get(pk=attachment_id)
    if not may_enter(by, attachment.student):
        raise ValidationError(NOT_ALLOWED)
    if attachment.term_id is not None:
        ensure_term_open(student_id=attachment.student_id, term_id=attachment.term_id)
    name, owns = attachment.file.name, attachment.owns_file
    storage = attachment.file.storage
    audit.record(
        AuditAction.DELETE,
        obj=attachment,
        student_id=attachment.student_id,
        changes={"附件": [f"{attachment.get_kind_display()} {attachment.title}", None]},
    )
    attachment.delete()
    if owns and name:
        transaction.on_commit(lambda: storage.delete(name))


STALE = "这份档案的审核已被他人修改,请刷新页面后再操作。"
STALE_COMMENT = "这条审核意见已被他人答复或修改,请刷新页面后再操作。"
NOT_OFFICER = "只有本校的学校资助专干可以审核这份档案。"
NOT_PAIRED = "只有正在包保这名学生的教师可以答复审核意见。"
SIGNED_OFF = "这份档案本学期已签结,如需修改请由学校资助专干重新打开。"
NOT_SIGNED_OFF = "这份档案本学期尚未签结,无需重新打开。"
LOCKED = (
    "该生本学期的帮扶档案已由学校资助专干签结,记录已锁定,不能再新增、修改或删除;如需修改请联系资助专干重新打开审核。"
)
BODY_MAX = 1000
NOTE_MAX = 300


def review_lock_reason(student_id: int, term_id: int) -> str | None:
    """zaoyang_aid.locks' check: the term's records of the student are locked once signed off."""
    signed = CaseFileReview.objects.filter(student_id=student_id, term_id=term_id, status=ReviewStatus.SIGNED_OFF)
    if not signed.exists():
        return None
    return LOCKED


def _ensure_officer(by: Any, student: Student) -> None:
    scope = scope_of(by)
    if scope.role != Role.OFFICER or scope.school_id != student.school_id:
        raise ValidationError(NOT_OFFICER)


def _text(value: str, *, field: str, empty: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: empty})
    if len(value) > limit:
        raise ValidationError({field: f"最多{limit}字(现有{len(value)}字)。"})
    return value


def _review_claimed(*, student: Student, term: Term, version: int) -> CaseFileReview:
    """The review row as the form read it, its version bumped and the row locked until the end of the
    transaction; created (审核中) when the form read none (version 0). STALE otherwise."""
    if version == 0:
        try:
            with transaction.atomic():  # two first writes at once: the second is refused, not a 500
                review = CaseFileReview.objects.create(student=student, term=term, version=1)
        except IntegrityError:
            raise ValidationError(STALE) from None
        return review
    claimed = CaseFileReview.objects.filter(student=student, term=term, version=version).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    if not claimed:
        raise ValidationError(STALE)
    return CaseFileReview.objects.select_for_update(of=("self",)).get(student=student, term=term)


def _teachers_of(student: Student) -> list[int]:
    return list(Pairing.objects.active().filter(student=student).values_list("teacher__user_id", flat=True))


def _notify(*, recipients: list[int], title: str, body: str, link: str) -> None:
    Notification.objects.bulk_create(
        Notification(recipient_id=r, level=ReminderLevel.TEACHER, title=title[:100], body=body[:500], link=link)
        for r in recipients
    )


def _page(student: Student, term: Term) -> str:
    return f"{reverse('casefiles:review_detail', args=[student.pk])}?term={term.pk}"


@transaction.atomic
def review_comment_create(*, student: Student, term: Term, by: Any, body: str, version: int) -> ReviewComment:
    """The officer leaves a comment on the case file; the 包保 teacher is told in one notification."""
    _ensure_officer(by, student)
    body = _text(body, field="body", empty="请填写审核意见。", limit=BODY_MAX)
    review = _review_claimed(student=student, term=term, version=version)
    if review.is_signed_off:
        raise ValidationError(SIGNED_OFF)
    comment = ReviewComment.objects.create(review=review, author=by, body=body)
    _notify(
        recipients=_teachers_of(student),
        title=f"{student.name}:帮扶档案有新的审核意见",
        body=f"学校资助专干对{student.name}{term.name}的帮扶档案提出了审核意见,请查看并答复:{body}",
        link=_page(student, term),
    )
    audit.record(AuditAction.CREATE, obj=comment, student_id=student.pk, changes={"审核意见": [None, body]})
    return comment


@transaction.atomic
def review_comment_answer(*, comment: ReviewComment, by: Any, answer: str, version: int) -> ReviewComment:
    """The 包保 teacher answers a comment (once; the officer may comment again); the officer who
    wrote it is told."""
    review = CaseFileReview.objects.select_related("student", "term").get(pk=comment.review_id)
    teacher_id = scope_of(by).teacher_id
    if (
        teacher_id is None
        or not Pairing.objects.active().filter(student=review.student, teacher_id=teacher_id).exists()
    ):
        raise ValidationError(NOT_PAIRED)
    answer = _text(answer, field="answer", empty="请填写答复。", limit=BODY_MAX)
    if review.is_signed_off:
        raise ValidationError(SIGNED_OFF)
    now = timezone.now()
    updated = ReviewComment.objects.filter(pk=comment.pk, version=version, answered_at__isnull=True).update(
        answer=answer, answered_by=by, answered_at=now, version=F("version") + 1
    )
    if not updated:
        raise ValidationError(STALE_COMMENT)
    comment.refresh_from_db()
    _notify(
        recipients=[comment.author_id],
        title=f"{review.student.name}:教师已答复审核意见",
        body=f"{by.get_full_name() or by.get_username()}答复:{answer}",
        link=_page(review.student, review.term),
    )
    audit.record(AuditAction.UPDATE, obj=comment, student_id=review.student_id, changes={"答复": [None, answer]})
    return comment


@transaction.atomic
def review_sign_off(*, student: Student, term: Term, by: Any, version: int, note: str = "") -> CaseFileReview:
    """签结: the officer signs off the term's case file, which locks the term's records of the student.

    Refused, naming them, while checklist items fail or comments wait for an answer, unless the
    officer writes a 签结说明 saying why she signs off anyway (kept with the review and audited)."""
    _ensure_officer(by, student)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": f"签结说明最多{NOTE_MAX}字(现有{len(note)}字)。"})
    review = _review_claimed(student=student, term=term, version=version)
    if review.is_signed_off:
        raise ValidationError(STALE)
    # The talk writes (and a visit's edit) lock the student's pairing before they ask the term lock:
    # holding the same rows here, a talk saved at this moment is in the checklist or refused after.
    list(Pairing.objects.select_for_update().filter(student=student).values_list("pk", flat=True))
    today = timezone.localdate()
    checklist = checklists_for([student.pk], term=term, as_of=today)[student.pk]
    problems = [f"{i.label}({i.detail})" if i.detail else i.label for i in checklist.failing]
    waiting = review.comments.filter(answered_at__isnull=True).count()
    if waiting:
        problems.append(f"有{waiting}条审核意见教师尚未答复")
    if problems and not note:
        raise ValidationError(
            {"note": "以下项目未达标:" + ";".join(problems) + "。如确需签结,请在“签结说明”中写明原因。"},
            code="checklist_failing",
        )
    review.status = ReviewStatus.SIGNED_OFF
    review.signed_by, review.signed_at, review.sign_note = by, timezone.now(), note
    review.checklist = {**checklist.snapshot(today), "unanswered_comments": waiting}
    review.save(update_fields=["status", "signed_by", "signed_at", "sign_note", "checklist", "updated_at"])
    changes: dict[str, Any] = {"审核状态": [ReviewStatus.IN_PROGRESS.label, ReviewStatus.SIGNED_OFF.label]}
    if problems:
        changes["未达标项目"] = [None, ";".join(problems)]
        changes["签结说明"] = [None, note]
    audit.record(AuditAction.UPDATE, obj=review, student_id=student.pk, changes=changes)
    return review


@transaction.atomic
def review_reopen(*, review: CaseFileReview, by: Any, reason: str, version: int) -> ReviewReopening:
    """重新打开: the officer reopens a signed-off review with a reason (audited); the term's records
    of the student may change again and the 包保 teacher is told."""
    student = review.student
    _ensure_officer(by, student)
    reason = _text(reason, field="reason", empty="请填写重新打开的原因。", limit=NOTE_MAX)
    review = _review_claimed(student=student, term=review.term, version=version)
    if not review.is_signed_off:
        raise ValidationError(NOT_SIGNED_OFF)
    signed_by = review.signed_by
    review.status = ReviewStatus.IN_PROGRESS
    review.signed_by = review.signed_at = None
    review.save(update_fields=["status", "signed_by", "signed_at", "updated_at"])
    reopening = ReviewReopening.objects.create(review=review, by=by, reason=reason)
    _notify(
        recipients=_teachers_of(student),
        title=f"{student.name}:{review.term.name}帮扶档案已重新打开",
        body=f"学校资助专干重新打开了{student.name}{review.term.name}的帮扶档案审核,记录可以修改。原因:{reason}",
        link=_page(student, review.term),
    )
    audit.record(
        AuditAction.UPDATE,
        obj=review,
        student_id=student.pk,
        changes={
            "审核状态": [ReviewStatus.SIGNED_OFF.label, ReviewStatus.IN_PROGRESS.label],
            "重新打开原因": [None, reason],
            "原签结人": [str(signed_by) if signed_by else None, None],
        },
    )
    return reopening
