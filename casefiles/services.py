"""Writes of the officer's term review: comments, answers, sign-off and reopening.

Each takes the ``version`` its form read and refuses, writing nothing, when someone saved since
(optimistic locking: two officers signing off the same file at once, the second is told to reload;
two answers to one comment, likewise). No row of a (student, term) means 未开始: the first comment
or the sign-off creates it, and the unique (student, term) turns a second first write into the
same refusal.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from guidance.models import Notification, ReminderLevel
from pairing.models import Pairing, Student, Term
from zaoyang_aid import audit
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.models import AuditAction

from .checklist import checklists_for
from .models import CaseFileReview, ReviewComment, ReviewReopening, ReviewStatus

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
