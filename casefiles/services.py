"""Writes of the case file: a term's 学业成绩 and attachments. Keyword-only plain values, one
transaction each, Chinese ValidationErrors; every write of a term's records asks whether the term is
still open for the student (zaoyang_aid.locks) inside its transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from pairing.models import Pairing, Student, Term
from zaoyang_aid import audit
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.locks import ensure_term_open
from zaoyang_aid.models import AuditAction

from .attachments import CleanFile
from .models import Attachment, AttachmentKind, TermResult

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
