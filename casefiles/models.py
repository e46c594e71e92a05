"""帮扶档案: what the case file gathers beyond the records kept by pairing and guidance.

The officer's review of a student's case file for a term (issue 9, point 7): a row per (student,
term) once the review has begun (no row means 未开始), the officer's comments with the teacher's
answers, and every reopening of a signed-off review. A signed-off review locks the term's records of
the student (casefiles.apps registers the check with zaoyang_aid.locks).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from pairing.models import Pairing, Student, Term
from zaoyang_aid.access import Scope, ScopedQuerySet
from zaoyang_aid.fields import FieldGroup, broad_access, paired_access


class ReviewStatus(models.TextChoices):
    NOT_STARTED = "not_started", "未开始"
    IN_PROGRESS = "in_progress", "审核中"
    SIGNED_OFF = "signed_off", "已签结"


def _review_scope(scope: Scope, prefix: str) -> Q | None:
    """As far as the field policy shows help records (the review is about them): the school's to its
    officer, the county's to county staff, and to a teacher or counsellor the reviews of the students
    they 包保 now (to read and answer the comments); none to the 系统管理员 role."""
    if FieldGroup.RECORDS in broad_access(scope):
        if scope.is_county_wide:
            return Q()
        if scope.role == "officer":
            return Q(**{f"{prefix}student__school_id": scope.school_id})
    if FieldGroup.RECORDS in paired_access(scope) and scope.teacher_id is not None:
        paired = Pairing.objects.filter(teacher_id=scope.teacher_id, ended_on__isnull=True).values("student_id")
        return Q(**{f"{prefix}student_id__in": paired})
    return None


class CaseFileReviewQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        return _review_scope(scope, "")


class CaseFileReview(models.Model):
    """学期审核: the school's 资助专干 reviews a student's case file for a term against the checklist
    (casefiles.checklist), comments, and signs it off. ``checklist`` is the checklist as it stood at
    sign-off (kept, since the live one moves with later records). ``version`` is the optimistic lock:
    the sign-off, reopen and comment forms post the version they read."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="reviews")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    status = models.CharField("审核状态", max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.IN_PROGRESS)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="签结人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    signed_at = models.DateTimeField("签结时间", null=True, blank=True)
    # Why the officer signed off although the checklist had failing items (签结说明).
    sign_note = models.CharField("签结说明", max_length=300, blank=True)
    checklist = models.JSONField("签结时的审核清单", default=dict, blank=True)
    created_at = models.DateTimeField("开始审核时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    version = models.PositiveIntegerField("版本", default=1)

    objects = CaseFileReviewQuerySet.as_manager()

    class Meta:
        verbose_name = "帮扶档案学期审核"
        verbose_name_plural = "帮扶档案学期审核"
        ordering = ["-term__start_date", "student_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term"],
                name="one_review_per_student_term",
                violation_error_message="这名学生本学期的审核已经存在。",
            ),
            models.CheckConstraint(
                # No row means 未开始: a row is 审核中 or 已签结.
                condition=Q(status__in=[ReviewStatus.IN_PROGRESS, ReviewStatus.SIGNED_OFF]),
                name="review_row_is_started",
            ),
            models.CheckConstraint(
                condition=Q(status=ReviewStatus.SIGNED_OFF, signed_at__isnull=False, signed_by__isnull=False)
                | (~Q(status=ReviewStatus.SIGNED_OFF) & Q(signed_at__isnull=True, signed_by__isnull=True)),
                name="review_signed_off_has_signer",
            ),
        ]
        indexes = [
            # The county's progress: reviews of a term by status.
            models.Index(fields=["term", "status"], name="review_term_status"),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.term} 档案审核"

    @property
    def is_signed_off(self) -> bool:
        return self.status == ReviewStatus.SIGNED_OFF


class ReviewCommentQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        return _review_scope(scope, "review__")


class ReviewComment(models.Model):
    """审核意见: the officer's comment on a case file, which the 包保 teacher sees and answers once
    (答复). ``version`` guards the answer form (two answers at once: the second is refused)."""

    review = models.ForeignKey(CaseFileReview, verbose_name="审核", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="提出人", on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField("审核意见")
    created_at = models.DateTimeField("提出时间", auto_now_add=True)
    answer = models.TextField("教师答复", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="答复人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)
    version = models.PositiveIntegerField("版本", default=1)

    objects = ReviewCommentQuerySet.as_manager()

    class Meta:
        verbose_name = "审核意见"
        verbose_name_plural = "审核意见"
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True, answered_by__isnull=True, answer="")
                | Q(answered_at__isnull=False, answered_by__isnull=False) & ~Q(answer=""),
                name="review_comment_answer_has_author",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.review} 意见{self.pk}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class ReviewReopening(models.Model):
    """重新打开: an officer reopened a signed-off review, with the reason (also in the audit log)."""

    review = models.ForeignKey(CaseFileReview, verbose_name="审核", on_delete=models.CASCADE, related_name="reopenings")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField("时间", auto_now_add=True)
    reason = models.CharField("重新打开原因", max_length=300)

    objects = ReviewCommentQuerySet.as_manager()

    class Meta:
        verbose_name = "审核重新打开记录"
        verbose_name_plural = "审核重新打开记录"
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.review} 重新打开 {self.at:%Y-%m-%d}"
