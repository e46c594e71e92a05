"""帮扶档案: what the case file gathers beyond the records kept by pairing and guidance: a term's
学业成绩 (to show what 学业辅导 did), attachments (认定材料, 证明材料 …), 转介 and 资助发放.

Who sees which of these follows the field policy (zaoyang_aid.fields): term results and referrals
are help records (RECORDS), aid received and the proofs of hardship go with the 认定 (ASSESSMENT).

帮扶档案: what the case file gathers beyond the records kept by pairing and guidance.

The officer's review of a student's case file for a term (issue 9, point 7): a row per (student,
term) once the review has begun (no row means 未开始), the officer's comments with the teacher's
answers, and every reopening of a signed-off review. A signed-off review locks the term's records of
the student (casefiles.apps registers the check with zaoyang_aid.locks).

帮扶档案: what the case file gathers beyond the records kept by pairing and guidance."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from guidance.models import private_storage
from pairing.models import Gender, Pairing, School, Stage, Student, Teacher, Term, Town
from zaoyang_aid.access import Role, Scope, ScopedQuerySet
from zaoyang_aid.fields import FieldGroup, broad_access, paired_access


def _student_scope(scope: Scope, group: FieldGroup) -> Q | None:
    """Rows about a student, as far as the field policy shows ``group``: the school's or the county's
    to whoever sees the group for every student of their scope (officer, county staff); to a teacher
    or counsellor, only those of the students they 包保 now; none to anyone else."""
    if group in broad_access(scope):
        if scope.is_county_wide:
            return Q()
        return Q(student__school_id=scope.school_id) if scope.school_id else None
    if group in paired_access(scope) and scope.teacher_id is not None:
        paired = Pairing.objects.filter(teacher_id=scope.teacher_id, ended_on__isnull=True).values("student_id")
        return Q(student_id__in=paired)
    return None


class RecordsQuerySet(ScopedQuerySet):
    group = FieldGroup.RECORDS

    def scope_filter(self, scope: Scope) -> Q | None:
        return _student_scope(scope, self.group)


class AssessmentQuerySet(RecordsQuerySet):
    group = FieldGroup.ASSESSMENT


# --- 学业成绩 ----------------------------------------------------------------------------------------

# The subjects a term-results form offers by stage (a school may add another by name).
SUBJECTS: dict[str, list[str]] = {
    Stage.PRESCHOOL: [],
    Stage.PRIMARY: ["语文", "数学", "英语", "道德与法治", "科学"],
    Stage.JUNIOR: ["语文", "数学", "英语", "物理", "化学", "道德与法治", "历史", "地理", "生物"],
    Stage.SENIOR: ["语文", "数学", "英语", "物理", "化学", "生物", "思想政治", "历史", "地理"],
    Stage.VOCATIONAL: ["语文", "数学", "英语", "思想政治", "专业课"],
}


class TermResult(models.Model):
    """学业成绩: one subject's end-of-term score, entered by the 包保 teacher or the school's 资助专干,
    so the case file shows the effect of 学业辅导 across terms. ``version`` is the optimistic lock."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="term_results")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    subject = models.CharField("科目", max_length=20)
    score = models.DecimalField("成绩", max_digits=5, decimal_places=1)
    full_marks = models.DecimalField("满分", max_digits=5, decimal_places=1, default=Decimal(100))
    class_rank = models.PositiveSmallIntegerField("班级排名", null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="录入人", on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField("录入时间", default=timezone.now)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    version = models.PositiveIntegerField("版本", default=1)

    objects = RecordsQuerySet.as_manager()

    class Meta:
        verbose_name = "学业成绩"
        verbose_name_plural = "学业成绩"
        ordering = ["term__start_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term", "subject"],
                name="one_term_result_per_subject",
                violation_error_message="这名学生本学期已有该科目的成绩。",
            ),
            models.CheckConstraint(
                condition=Q(full_marks__gt=0) & Q(score__gte=0) & Q(score__lte=models.F("full_marks")),
                name="term_result_score_within_full_marks",
                violation_error_message="成绩应在0与满分之间。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.term} {self.subject}"

    @property
    def percent(self) -> Decimal:
        """The score out of 100, so that terms with different full marks compare."""
        return (self.score * 100 / self.full_marks).quantize(Decimal("0.1"))


# --- 附件 -------------------------------------------------------------------------------------------


class AttachmentKind(models.TextChoices):
    ASSESSMENT = "assessment", "认定材料"
    PROOF = "proof", "证明材料"
    VISIT = "visit", "家访材料"
    OTHER = "other", "其他"


# Which field group an attachment of each kind belongs to: proofs of hardship go with the 认定,
# the rest with the help records (zaoyang_aid.fields decides who sees each group).
ATTACHMENT_GROUPS = {
    AttachmentKind.ASSESSMENT: FieldGroup.ASSESSMENT,
    AttachmentKind.PROOF: FieldGroup.ASSESSMENT,
    AttachmentKind.VISIT: FieldGroup.RECORDS,
    AttachmentKind.OTHER: FieldGroup.RECORDS,
}


class AttachmentQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        parts = []
        for group in (FieldGroup.ASSESSMENT, FieldGroup.RECORDS):
            where = _student_scope(scope, group)
            if where is not None:
                kinds = [k for k, g in ATTACHMENT_GROUPS.items() if g == group]
                parts.append(where & Q(kind__in=kinds))
        if not parts:
            return None
        condition = parts[0]
        for part in parts[1:]:
            condition |= part
        return condition


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name says nothing about the child: random, under the upload's month.
    today = timezone.localdate()
    return f"attachments/{today:%Y/%m}/{secrets.token_hex(16)}{Path(filename).suffix.lower()}"


class Attachment(models.Model):
    """A file kept in the case file (a scanned 认定 form, a certificate, a visit's signed sheet): a
    JPEG/PNG (re-encoded like a home-visit photo) or a PDF (checked by its header), in the private
    storage, served only by a scoped and audited view."""

    MAX_BYTES = 10 * 1024 * 1024
    # The demo's attachments share a few files under this folder (casefiles/demo.py).
    SHARED_DIR = "attachments/demo"

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="attachments")
    term = models.ForeignKey(
        Term, verbose_name="学期", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("类别", max_length=12, choices=AttachmentKind.choices)
    title = models.CharField("标题", max_length=60)
    file = models.FileField("文件", storage=private_storage, upload_to=attachment_path, max_length=200)
    content_type = models.CharField("类型", max_length=40)
    size = models.PositiveIntegerField("字节数")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("上传时间", default=timezone.now)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = "档案附件"
        verbose_name_plural = "档案附件"
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.student} {self.get_kind_display()} {self.title}"

    @property
    def group(self) -> FieldGroup:
        return ATTACHMENT_GROUPS[AttachmentKind(self.kind)]

    @property
    def extension(self) -> str:
        return {"application/pdf": ".pdf", "image/png": ".png"}.get(self.content_type, ".jpg")

    @property
    def owns_file(self) -> bool:
        return bool(self.file.name) and not self.file.name.startswith(self.SHARED_DIR + "/")


# --- 转介 and 资助发放 -----------------------------------------------------------------------------
# 转介 (部门联动, issue 11 point 4): the departments, the update history and the rules are in the
# section "部门联动" at the end of this file; 资助发放 is entered in the admin, or by a referral's update.


class ReferralStatus(models.TextChoices):
    SENT = "sent", "已发送"
    ACCEPTED = "accepted", "已受理"
    RESOLVED = "resolved", "已办结"
    DECLINED = "declined", "未受理"


# A referral waits on its department while it is sent or accepted; resolved and declined close it.
REFERRAL_OPEN_STATUSES = (ReferralStatus.SENT, ReferralStatus.ACCEPTED)
REFERRAL_CLOSED_STATUSES = (ReferralStatus.RESOLVED, ReferralStatus.DECLINED)


class ReferralQuerySet(RecordsQuerySet):
    def overdue(self, on: Any) -> ReferralQuerySet:
        """逾期, the one rule (pages, filter, report, the daily notice): still waiting on the
        department (sent or accepted) and its answer due before ``on``."""
        return self.filter(status__in=REFERRAL_OPEN_STATUSES, due_on__lt=on)


class Referral(models.Model):
    """转介: the school hands a family's need to a department (民政 for 低保, 残联 for a disability …).
    The department has no account: the school prints a 转介单 and records its answers on its behalf
    (ReferralUpdate); ``accepted_on``/``closed_on`` are kept by casefiles.referrals with each update."""

    reference = models.CharField("转介单编号", max_length=24, unique=True)
    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="referrals")
    department = models.ForeignKey(
        "ReferralDepartment", verbose_name="转介部门", on_delete=models.PROTECT, related_name="referrals"
    )
    referred_on = models.DateField("转介日期")
    due_on = models.DateField("答复期限")
    reason = models.TextField("转介事由")
    status = models.CharField("办理状态", max_length=12, choices=ReferralStatus.choices, default=ReferralStatus.SENT)
    accepted_on = models.DateField("受理日期", null=True, blank=True)
    closed_on = models.DateField("办结日期", null=True, blank=True)
    outcome = models.TextField("办理结果", blank=True)
    help_text = models.TextField("获得的帮扶(非资金)", blank=True)
    contact_teacher = models.ForeignKey(
        "pairing.Teacher",
        verbose_name="联系教师",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="转介人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = "转介"
        verbose_name_plural = "转介"
        ordering = ["-referred_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=F("referred_on")),
                name="referral_due_after_referred",
                violation_error_message="答复期限不能早于转介日期。",
            ),
            models.CheckConstraint(
                condition=Q(status__in=REFERRAL_CLOSED_STATUSES, closed_on__isnull=False)
                | Q(status__in=REFERRAL_OPEN_STATUSES, closed_on__isnull=True),
                name="referral_closed_has_date",
                violation_error_message="已办结或未受理的转介应有办结日期。",
            ),
        ]
        indexes = [
            # The daily overdue notice and the 逾期 filter: open referrals by due date.
            models.Index(fields=["status", "due_on"], name="referral_open_due"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.student} 转介{self.department}"

    def is_overdue(self, on: Any) -> bool:
        """The row's side of ReferralQuerySet.overdue (the same two conditions)."""
        return self.status in REFERRAL_OPEN_STATUSES and self.due_on < on


class AidSource(models.TextChoices):
    NATIONAL = "national", "国家资助"
    PROVINCE = "province", "省级资助"
    LOCAL = "local", "市级资助"
    SCHOOL = "school", "学校资助"
    SOCIAL = "social", "社会捐助"


class AidReceipt(models.Model):
    """资助发放: an aid item paid to the student in a term (国家助学金, 营养餐补助, 免学费 …)."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="aid_receipts")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    item = models.CharField("资助项目", max_length=60)
    amount = models.DecimalField("金额(元)", max_digits=8, decimal_places=2)
    paid_on = models.DateField("发放日期")
    source = models.CharField("资金来源", max_length=12, choices=AidSource.choices)
    # Help a department gave on a referral (casefiles.referrals.referral_update_record writes both).
    referral = models.ForeignKey(
        Referral, verbose_name="转介", on_delete=models.PROTECT, related_name="aid_receipts", null=True, blank=True
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = "资助发放"
        verbose_name_plural = "资助发放"
        ordering = ["-paid_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="aid_receipt_amount_positive", violation_error_message="金额应大于0。"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.item} {self.amount}元"


def student_of(obj: Any) -> int | None:
    return obj.student_id


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


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "生成中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


UNFINISHED = (ExportStatus.QUEUED, ExportStatus.RUNNING)


class CaseFileExportQuerySet(ScopedQuerySet):
    """An export holds every case file of a school's term: its school's 资助专干 and county staff see
    it; no one else (the 系统管理员 reads no help records)."""

    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.role == Role.COUNTY:
            return Q()
        if scope.role == Role.OFFICER and scope.school_id is not None:
            return Q(school_id=scope.school_id)
        return None


class CaseFileExport(models.Model):
    """A school's case files of a term as one zip of PDFs, built in the background
    (casefiles/exports.py case_file_export_build) with its progress on the row.

    ``claim`` names the run that builds it now: a run writes its progress and its file only while
    the row still carries its claim, so a second delivery of the task, or a run after a crash, never
    leaves two zips; ``heartbeat_at`` tells a live run from one that died."""

    school = models.ForeignKey(School, verbose_name="学校", on_delete=models.PROTECT, related_name="+")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField("状态", max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    total = models.PositiveIntegerField("学生数", default=0)
    done = models.PositiveIntegerField("已生成", default=0)
    file = models.FileField("文件", storage=private_storage, max_length=200, blank=True)
    size = models.PositiveBigIntegerField("文件大小", default=0)
    error = models.CharField("错误", max_length=300, blank=True)
    claim = models.UUIDField("运行标识", null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField("最近进度时间", null=True, blank=True)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    objects = CaseFileExportQuerySet.as_manager()

    class Meta:
        verbose_name = "档案导出"
        verbose_name_plural = "档案导出"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "term"],
                condition=Q(status__in=["queued", "running"]),
                name="one_unfinished_case_file_export",
                violation_error_message="该校该学期的档案正在生成,请等待完成。",
            ),
            models.CheckConstraint(condition=Q(done__lte=models.F("total")), name="case_file_export_done_le_total"),
        ]
        indexes = [
            # The export page's list of recent exports of a school; the nightly clean-up by date.
            models.Index(fields=["school", "-created_at"], name="case_file_export_recent"),
            models.Index(fields=["created_at"], name="case_file_export_created"),
        ]

    def __str__(self) -> str:
        return f"{self.school.name} {self.term.name} 帮扶档案导出"

    @property
    def unfinished(self) -> bool:
        return self.status in UNFINISHED

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


class ReportExport(models.Model):
    """A large Excel report (casefiles/reports.py) written in the background
    (casefiles/report_exports.py report_export_build), progress on the row, its file kept
    REPORT_EXPORT_KEEP_HOURS and served only to ``requested_by``.

    ``filters`` holds the web list's query parameters as plain values ({name: [values]}), never a
    person: the file is written for its requester with their columns, as the page writes it.
    ``filter_key`` (a digest of report and filters) holds at most one unfinished export per
    requester and filter; ``claim`` and ``heartbeat_at`` as on CaseFileExport."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT, related_name="+"
    )
    report = models.CharField("报表", max_length=50)
    label = models.CharField("报表名称", max_length=200)
    filters = models.JSONField("筛选参数", default=dict, blank=True)
    filter_words = models.CharField("筛选条件", max_length=500, blank=True)
    filter_key = models.CharField("筛选摘要", max_length=64, editable=False)
    status = models.CharField("状态", max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    total = models.PositiveIntegerField("行数", default=0)
    done = models.PositiveIntegerField("已写行数", default=0)
    file = models.FileField("文件", storage=private_storage, max_length=200, blank=True)
    filename = models.CharField("下载文件名", max_length=200, blank=True)
    size = models.PositiveBigIntegerField("文件大小", default=0)
    error = models.CharField("错误", max_length=300, blank=True)
    claim = models.UUIDField("运行标识", null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField("最近进度时间", null=True, blank=True)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "报表导出"
        verbose_name_plural = "报表导出"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "filter_key"],
                condition=Q(status__in=["queued", "running"]),
                name="one_unfinished_report_export",
                violation_error_message="同一报表与筛选条件的导出正在生成,请等待完成。",
            ),
        ]
        indexes = [
            # "我的报表导出": a requester's recent exports; the nightly clean-up by date.
            models.Index(fields=["requested_by", "-created_at"], name="report_export_recent"),
            models.Index(fields=["created_at"], name="report_export_created"),
        ]

    def __str__(self) -> str:
        return f"{self.label} 报表导出"

    @property
    def unfinished(self) -> bool:
        return self.status in UNFINISHED

    @property
    def percent(self) -> int:
        return min(round(100 * self.done / self.total), 100) if self.total else 0


# --- 部门名单比对 (issue 10, point 8) ------------------------------------------------------------------
# A department's list (低保, 特困, …) is read in the request and never kept: only the comparison with
# our students is (casefiles/crosscheck.py reads, crosscheck_services.py compares and decides).


class DepartmentList(models.TextChoices):
    DIBAO = "dibao", "低保(民政)"
    TEKUN = "tekun", "特困(民政)"
    DISABLED = "disabled", "持证残疾人(残联)"
    MONITORED = "monitored", "防返贫监测对象(乡村振兴)"
    ORPHAN = "orphan", "孤儿及事实无人抚养儿童(民政)"
    LIFTED = "lifted", "脱贫户(乡村振兴)"


# Each list's SpecialCategory (pairing/migrations/0002_reference_data.py), looked up by name.
DEPARTMENT_CATEGORY_NAMES: dict[str, str] = {
    DepartmentList.DIBAO: "最低生活保障家庭",
    DepartmentList.TEKUN: "特困供养",
    DepartmentList.DISABLED: "残疾学生及残疾人子女",
    DepartmentList.MONITORED: "防止返贫监测对象",
    DepartmentList.ORPHAN: "孤儿及事实无人抚养儿童",
    DepartmentList.LIFTED: "脱贫家庭学生(原建档立卡)",
}


class CheckStatus(models.TextChoices):
    PENDING = "pending", "待处理"
    DONE = "done", "已处理完毕"


class DepartmentCheckQuerySet(ScopedQuerySet):
    """A comparison shows which students are on a department's list and proposes 认定 changes: seen
    by whoever sees 认定 for every student of their scope (fields.py: the school's 资助专干 her
    school's checks, county staff all); a county-wide check (no school) only by county staff."""

    def scope_filter(self, scope: Scope) -> Q | None:
        if FieldGroup.ASSESSMENT not in broad_access(scope):
            return None
        if scope.is_county_wide:
            return Q()
        return Q(school_id=scope.school_id) if scope.school_id else None


class DepartmentCheck(models.Model):
    """One upload of a department's list compared with our students. Holds no row of the list: only
    counts, and (in its proposals and possibly-missed rows) our own students."""

    kind = models.CharField("名单", max_length=12, choices=DepartmentList.choices)
    school = models.ForeignKey(
        School,
        verbose_name="学校",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="留空表示全市",
    )
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    file_name = models.CharField("文件名", max_length=200)
    rows_read = models.PositiveIntegerField("读取行数", default=0)
    matched_count = models.PositiveIntegerField("匹配学生数", default=0)
    complete = models.BooleanField("完整名单", default=False)
    status = models.CharField("状态", max_length=10, choices=CheckStatus.choices, default=CheckStatus.PENDING)

    objects = DepartmentCheckQuerySet.as_manager()

    class Meta:
        verbose_name = "部门名单比对"
        verbose_name_plural = "部门名单比对"
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The upload page's list of recent checks of a school (county staff: all, by date).
            models.Index(fields=["school", "-created_at"], name="department_check_recent"),
        ]

    def __str__(self) -> str:
        where = self.school.name if self.school_id and self.school else "全市"
        return f"{where} {self.get_kind_display()} 名单比对"


class ProposalAction(models.TextChoices):
    ADD = "add", "增加类别"
    REMOVE = "remove", "取消类别"


class ProposalDecision(models.TextChoices):
    PENDING = "pending", "待处理"
    CONFIRMED = "confirmed", "已确认"
    REJECTED = "rejected", "已驳回"


class CheckRowQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        condition = DepartmentCheck.objects.scope_filter(scope)
        if condition is None:
            return None
        return Q() if scope.is_county_wide else Q(department_check__school_id=scope.school_id)


class CheckProposal(models.Model):
    """A proposed 认定 change for one of our students: add the list's category (newly on the list)
    or remove it (left a complete list). Decided once, by whom and when, with a note."""

    department_check = models.ForeignKey(
        DepartmentCheck, verbose_name="比对", on_delete=models.CASCADE, related_name="proposals"
    )
    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(
        "pairing.SpecialCategory", verbose_name="特殊群体类别", on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField("建议", max_length=8, choices=ProposalAction.choices)
    decision = models.CharField(
        "处理结果", max_length=10, choices=ProposalDecision.choices, default=ProposalDecision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    note = models.CharField("处理说明", max_length=200, blank=True)

    objects = CheckRowQuerySet.as_manager()

    class Meta:
        verbose_name = "认定调整建议"
        verbose_name_plural = "认定调整建议"
        ordering = ["department_check", "action", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["department_check", "student"], name="one_proposal_per_check_student"),
            models.CheckConstraint(
                condition=Q(decision="pending", decided_at__isnull=True)
                | (~Q(decision="pending") & Q(decided_at__isnull=False)),
                name="proposal_decided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.get_action_display()} {self.category}"


class CheckMissed(models.Model):
    """One of our students on the list and in no active pairing: possibly missed (可能漏帮扶)."""

    department_check = models.ForeignKey(
        DepartmentCheck, verbose_name="比对", on_delete=models.CASCADE, related_name="missed"
    )
    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="+")

    objects = CheckRowQuerySet.as_manager()

    class Meta:
        verbose_name = "可能漏帮扶学生"
        verbose_name_plural = "可能漏帮扶学生"
        ordering = ["department_check", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["department_check", "student"], name="one_missed_per_check_student")
        ]

    def __str__(self) -> str:
        return f"{self.student} 可能漏帮扶"


class RosterImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "待确认导入"
    COMMITTED = "committed", "已导入"


class RosterImport(models.Model):
    """An uploaded roster (casefiles/imports/kinds.py ROSTER_KINDS) between its preview and its
    commit (casefiles/import_services.py). The file is in private storage, served to no one and read
    only by the uploader's pages (import_services.mine); it is deleted at the commit, or with the row
    after ROSTER_IMPORT_KEEP_HOURS (the nightly cleanup). ``preview`` holds the dry run's counts and
    every bad row's (row number, column, message) so that the preview page pages through them
    without reading the file again; ``sha256`` tells a file already committed."""

    kind = models.CharField("名单类型", max_length=20)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField("文件", storage=private_storage, max_length=200, blank=True)
    filename = models.CharField("文件名", max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64)
    size = models.PositiveBigIntegerField("文件大小", default=0)
    status = models.CharField(
        "状态", max_length=10, choices=RosterImportStatus.choices, default=RosterImportStatus.UPLOADED
    )
    preview = models.JSONField("预检结果", default=dict, blank=True)
    created = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("无变化", default=0)
    skipped = models.PositiveIntegerField("跳过的错误行", default=0)
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    committed_at = models.DateTimeField("导入时间", null=True, blank=True)

    class Meta:
        verbose_name = "名单导入"
        verbose_name_plural = "名单导入"
        ordering = ["-created_at", "-pk"]
        indexes = [
            # "This file was already imported": the preview asks for a committed row of the same file.
            models.Index(fields=["kind", "sha256", "status"], name="roster_import_same_file"),
        ]

    def __str__(self) -> str:
        return f"{self.filename}({self.get_status_display()})"


# --- 预警 (issue 11, point 5) ------------------------------------------------------------------------


class FamilyEventKind(models.TextChoices):
    ILLNESS = "illness", "家庭成员重病"
    DEATH = "death", "家庭成员亡故"
    INCOME = "income", "失业或收入骤减"
    DISASTER = "disaster", "灾害或意外"
    SEPARATION = "separation", "父母离异或离家"
    OTHER = "other", "其他变故"


class FamilyEventQuerySet(ScopedQuerySet):
    group = FieldGroup.HOUSEHOLD

    def scope_filter(self, scope: Scope) -> Q | None:
        return _student_scope(scope, self.group)


class FamilyEvent(models.Model):
    """家庭变故: an event in the student's family that often precedes dropping out (an illness, a death,
    a lost income …), recorded by the 包保 teacher or the officer. An early-warning sign for
    WarningSettings.family_event_days after it happened."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="family_events")
    kind = models.CharField("变故类型", max_length=12, choices=FamilyEventKind.choices)
    occurred_on = models.DateField("发生日期")
    note = models.CharField("情况说明", max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    objects = FamilyEventQuerySet.as_manager()

    class Meta:
        verbose_name = "家庭变故"
        verbose_name_plural = "家庭变故"
        ordering = ["-occurred_on", "-pk"]
        indexes = [models.Index(fields=["occurred_on", "student"], name="family_event_day")]

    def __str__(self) -> str:
        return f"{self.student} {self.get_kind_display()} {self.occurred_on}"


class WarningSign(models.TextChoices):
    """The signs that precede dropping out (issue 11, point 5), each with its county threshold."""

    ABSENCE = "absence", "本月缺勤"
    RESULT_DROP = "result_drop", "成绩下滑"
    MOOD = "mood", "谈心记录显示厌学或情绪低落"
    MISSED_TALKS = "missed_talks", "漏记谈心"
    MISSED_VISIT = "missed_visit", "未按期家访"
    FAMILY_EVENT = "family_event", "家庭变故"


DEFAULT_MOOD_KEYWORDS = (
    "厌学\n不想上学\n不想读书\n逃学\n辍学\n打工\n情绪低落\n心情低落\n闷闷不乐\n孤僻\n自卑\n失眠\n哭泣"
)


class WarningSettings(models.Model):
    """The county's thresholds for early warning: one row (pk 1), edited by county staff. A sign is
    raised when its value reaches its threshold."""

    absence_days = models.PositiveSmallIntegerField("本月无故缺勤天数达到", default=3)
    result_drop_points = models.DecimalField(
        "平均成绩较上学期下降(分,百分制)达到", max_digits=4, decimal_places=1, default=Decimal(10)
    )
    mood_keywords = models.TextField(
        "厌学、情绪低落关键词(每行一个)",
        default=DEFAULT_MOOD_KEYWORDS,
        help_text="在最近几次谈心谈话记录的“学生状态”“发现的问题”“谈话内容”中查找;不读取心理辅导记录。",
    )
    mood_talks = models.PositiveSmallIntegerField("查找最近几次谈心记录", default=3)
    missed_weeks = models.PositiveSmallIntegerField("本学期漏记谈心周数达到", default=2)
    family_event_days = models.PositiveSmallIntegerField("家庭变故后多少天内预警", default=90)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="修改人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "预警阈值"
        verbose_name_plural = "预警阈值"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="warning_settings_single_row"),
            models.CheckConstraint(
                condition=Q(absence_days__gte=1) & Q(mood_talks__gte=1) & Q(missed_weeks__gte=1),
                name="warning_settings_thresholds_positive",
                violation_error_message="阈值应至少为1。",
            ),
            models.CheckConstraint(
                condition=Q(result_drop_points__gt=0),
                name="warning_settings_drop_positive",
                violation_error_message="成绩下降分数应大于0。",
            ),
        ]

    def __str__(self) -> str:
        return "预警阈值"

    @property
    def keywords(self) -> list[str]:
        return [k.strip() for k in self.mood_keywords.splitlines() if k.strip()]


class WarningFlagQuerySet(RecordsQuerySet):
    def current(self) -> WarningFlagQuerySet:
        return self.filter(ended_on__isnull=True)

    def open(self) -> WarningFlagQuerySet:
        """Shown as a flag: the sign is present and nobody has recorded what was done."""
        return self.filter(ended_on__isnull=True, handled_at__isnull=True)


class WarningFlag(models.Model):
    """One episode of an early-warning sign for a student: raised by the nightly check the first day
    the sign reaches its threshold, its value kept current while it lasts, ended the day it falls
    below. The officer's 处理 (what was done) clears the flag for the rest of the episode; the sign
    coming back after it ended is a new episode, a new flag."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.CASCADE, related_name="warning_flags")
    sign = models.CharField("预警信号", max_length=14, choices=WarningSign.choices)
    value = models.CharField("当前值", max_length=100)  # in words: "本月无故缺勤4天(阈值3天)"
    raised_on = models.DateField("预警日期")
    seen_on = models.DateField("最近检出日期")
    ended_on = models.DateField("信号消失日期", null=True, blank=True)
    handled_at = models.DateTimeField("处理时间", null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField("采取的措施", max_length=500, blank=True)

    objects = WarningFlagQuerySet.as_manager()

    class Meta:
        verbose_name = "预警"
        verbose_name_plural = "预警"
        ordering = ["-raised_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "sign"], condition=Q(ended_on__isnull=True), name="one_current_warning_per_sign"
            ),
        ]
        indexes = [models.Index(fields=["ended_on", "handled_at", "student"], name="warning_open")]

    def __str__(self) -> str:
        return f"{self.student} {self.get_sign_display()}"


# --- 部门联动: the departments a school refers to, and their answers (issue 11, point 4) -------------


class ReferralDepartment(models.Model):
    """A department a school refers a family's need to (民政, 残联, 团委 …): reference data kept by the
    county or the 系统管理员 in the Django admin; the referral form offers the active ones in order."""

    name = models.CharField("部门名称", max_length=30, unique=True)
    code = models.SlugField("代码", max_length=20, unique=True)
    contact = models.CharField("联系方式", max_length=200, blank=True, help_text="地址、电话等,印在转介单上")
    is_active = models.BooleanField("启用", default=True)
    order = models.PositiveSmallIntegerField("排序", default=100)

    class Meta:
        verbose_name = "转介部门"
        verbose_name_plural = "转介部门"
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class ReferralUpdate(models.Model):
    """One answer of the department, recorded by school staff on its behalf: the status it moved the
    referral to (or the same status with a note), on which day, what it said, and the help given."""

    referral = models.ForeignKey(Referral, verbose_name="转介", on_delete=models.PROTECT, related_name="updates")
    on = models.DateField("日期")
    status = models.CharField("办理状态", max_length=12, choices=ReferralStatus.choices)
    note = models.TextField("办理情况", blank=True)
    help_text = models.TextField("获得的帮扶(非资金)", blank=True)
    aid = models.OneToOneField(
        AidReceipt,
        verbose_name="资助发放",
        on_delete=models.PROTECT,
        related_name="referral_update",
        null=True,
        blank=True,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "转介办理记录"
        verbose_name_plural = "转介办理记录"
        ordering = ["on", "pk"]

    def __str__(self) -> str:
        return f"{self.referral.reference} {self.on:%Y-%m-%d} {self.get_status_display()}"


# --- 劝返 一人一案 (issue 11, point 3) -----------------------------------------------------------------
# A dropout's plan for bringing them back: who is responsible, each attempt, the next step and its
# date; closed (动态销号) when the student returns (casefiles/recovery.py writes both, through
# pairing.services.student_status_change, so the pairing owes again from the return date).


class RecoveryStatus(models.TextChoices):
    OPEN = "open", "劝返中"
    RETURNED = "returned", "已返校销号"
    OTHER = "other", "其他销号"


class RecoveryCaseQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        """As far as the field policy shows help records (RECORDS): the school's cases to its officer,
        the county's to county staff, a student's to whoever 包保 them now; and the case to the teacher
        named responsible in it (she adds attempts from her phone). None to the 系统管理员 role."""
        condition = _student_scope(scope, FieldGroup.RECORDS)
        if scope.teacher_id is not None and scope.role != Role.ADMIN:
            mine = Q(teacher_id=scope.teacher_id)
            return mine if condition is None else condition | mine
        return condition

    def with_due(self) -> RecoveryCaseQuerySet:
        """Each case's ``last_attempt_on`` and ``due_on``: the next step's date, or with none set the
        last attempt, or with none yet the day the case was opened (the overdue rule's date)."""
        last = RecoveryAttempt.objects.filter(case_id=OuterRef("pk")).order_by("-date", "-pk").values("date")[:1]
        return self.annotate(last_attempt_on=Subquery(last)).annotate(
            due_on=Coalesce("next_step_due", "last_attempt_on", "opened_on")
        )

    def overdue(self, today: dt.date) -> RecoveryCaseQuerySet:
        """THE overdue rule: an open case whose ``due_on`` is more than RECOVERY_OVERDUE_DAYS days past.
        The ledger's filter, its report and the reminder job all ask this."""
        limit = today - dt.timedelta(days=settings.RECOVERY_OVERDUE_DAYS)
        return self.filter(status=RecoveryStatus.OPEN).with_due().filter(due_on__lt=limit)


class RecoveryCase(models.Model):
    """劝返方案 (一人一案): one dropout's plan. One open case per student, held by the database; a
    closed case is kept (a student may drop out again: a new case is opened then)."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="recovery_cases")
    opened_on = models.DateField("建案日期")
    leave_reason = models.CharField("辍学原因", max_length=500)
    teacher = models.ForeignKey(
        Teacher,
        verbose_name="帮扶教师",
        on_delete=models.PROTECT,
        related_name="recovery_cases",
        null=True,
        blank=True,
    )
    head_teacher = models.CharField("班主任", max_length=50, blank=True)
    village_cadre = models.CharField(
        "村(社区)干部", max_length=60, blank=True, help_text="姓名及职务,如:王建国(村委会主任)"
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="负责资助专干",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    next_step = models.CharField("下一步措施", max_length=200, blank=True)
    next_step_due = models.DateField("下一步完成日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=RecoveryStatus.choices, default=RecoveryStatus.OPEN)
    closed_on = models.DateField("销号日期", null=True, blank=True)
    returned_on = models.DateField("返校日期", null=True, blank=True)
    returned_class = models.CharField("返回班级", max_length=30, blank=True)
    close_reason = models.CharField("销号说明", max_length=200, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="建案人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = RecoveryCaseQuerySet.as_manager()

    class Meta:
        verbose_name = "劝返方案"
        verbose_name_plural = "劝返方案"
        ordering = ["-opened_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(status="open"),
                name="one_open_recovery_case_per_student",
                violation_error_message="该学生已有进行中的劝返方案。",
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_on__isnull=True))
                | (~Q(status="open") & Q(closed_on__isnull=False) & Q(closed_on__gte=models.F("opened_on"))),
                name="recovery_case_closed_on_when_closed",
                violation_error_message="销号的方案须有销号日期(不早于建案日期);劝返中的方案不能有销号日期。",
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | (Q(returned_on__isnull=False) & ~Q(returned_class="")),
                name="recovery_case_return_has_date_and_class",
                violation_error_message="返校销号须填写返校日期和返回班级。",
            ),
            models.CheckConstraint(
                condition=~Q(status="other") | ~Q(close_reason=""),
                name="recovery_case_other_close_has_reason",
                violation_error_message="其他销号须填写说明。",
            ),
        ]
        indexes = [
            # The overdue job (casefiles/recovery.py recovery_overdue_notify): the open cases by due date.
            models.Index(fields=["status", "next_step_due"], name="recovery_case_open_due"),
        ]

    def __str__(self) -> str:
        return f"{self.student} 劝返方案({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == RecoveryStatus.OPEN


class RecoveryMethod(models.TextChoices):
    VISIT = "visit", "上门家访"
    PHONE = "phone", "电话"
    VIDEO = "video", "视频"
    INTERVIEW = "interview", "约谈"
    OTHER = "other", "其他"


class RecoveryParty(models.TextChoices):
    PARENTS = "parents", "家长(监护人)"
    STUDENT = "student", "学生本人"
    BOTH = "both", "学生及家长"
    RELATIVES = "relatives", "其他亲属"
    OTHER = "other", "其他"


class RecoveryAttempt(models.Model):
    """One 劝返 attempt of a case: when, who went, with whom they spoke, how, and what came of it."""

    case = models.ForeignKey(RecoveryCase, verbose_name="劝返方案", on_delete=models.CASCADE, related_name="attempts")
    date = models.DateField("劝返日期")
    who = models.CharField("劝返人员", max_length=100)
    with_whom = models.CharField("劝返对象", max_length=12, choices=RecoveryParty.choices)
    method = models.CharField("劝返方式", max_length=12, choices=RecoveryMethod.choices)
    outcome = models.CharField("劝返情况与结果", max_length=500)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "劝返记录"
        verbose_name_plural = "劝返记录"
        ordering = ["-date", "-pk"]
        indexes = [
            # A case's timeline and the ledger's "last attempt" (RecoveryCaseQuerySet.with_due).
            models.Index(fields=["case", "date"], name="recovery_attempt_case_date"),
        ]

    def __str__(self) -> str:
        return f"{self.case.student} {self.date:%Y-%m-%d} {self.get_method_display()}"


# --- 控辍保学 ledgers (issue 11, point 2) ----------------------------------------------------------------
# The 2024 national notice's ledgers as the county keeps them: 适龄儿童台账 (the towns' lists of children
# of compulsory-education age, each matched by ID number to our rolls), 疑似辍学学生台账 (entered by the
# school in the week of the absence, or proposed by a teacher's 缺勤登记), the schools' 月报 and the
# county's 季度复核. The rules and writes are in casefiles/dropouts.py. (辍学学生台账 and 劝返 are
# another part: they read the students whose 学籍状态 is 辍学.)


class ChildVerification(models.TextChoices):
    PENDING = "pending", "待核实"
    OTHER_COUNTY = "other_county", "外县就读"
    SPECIAL_SCHOOL = "special_school", "特殊教育学校"
    HOME_TEACHING = "home_teaching", "送教上门"
    OVER_AGE = "over_age", "已超龄"
    DECEASED = "deceased", "死亡"
    OTHER = "other", "其他"


class SchoolAgeChildQuerySet(ScopedQuerySet):
    """The towns' lists of children are the county centre's: its staff see them all; a school's
    资助专干 sees the children matched (by ID number) to her school's students; no one else."""

    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.role == Role.COUNTY:
            return Q()
        if scope.role == Role.OFFICER and scope.school_id:
            return Q(id_number__in=Student.objects.filter(school_id=scope.school_id).values("id_number"))
        return None


class SchoolAgeChild(models.Model):
    """One child of a town's list of compulsory-education age, keyed by ID number (a re-upload of a
    town updates the row). Whether the child is in our rolls is read live from pairing.Student by ID
    number (dropouts.children_for_list), so a later 辍学 or new enrolment shows at once."""

    id_number = models.CharField("身份证号", max_length=18, unique=True)
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices)
    birth_date = models.DateField("出生日期")
    town = models.ForeignKey(Town, verbose_name="乡镇(街道)", on_delete=models.PROTECT, related_name="+")
    village = models.CharField("村(社区)", max_length=50, blank=True)
    guardian_name = models.CharField("监护人", max_length=50, blank=True)
    guardian_phone = models.CharField("联系电话", max_length=20, blank=True)
    reference_year = models.PositiveSmallIntegerField("适龄基准年度", help_text="按该年9月1日计算年龄")
    verification = models.CharField(
        "核实情况", max_length=16, choices=ChildVerification.choices, default=ChildVerification.PENDING
    )
    verification_note = models.CharField("核实说明", max_length=200, blank=True)
    verified_on = models.DateField("核实日期", null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="核实人",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = SchoolAgeChildQuerySet.as_manager()

    class Meta:
        verbose_name = "适龄儿童"
        verbose_name_plural = "适龄儿童台账"
        ordering = ["town__code", "village", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(verification="pending") | Q(verified_on__isnull=False),
                name="school_age_child_verified_has_date",
                violation_error_message="核实情况需填写核实日期。",
            ),
        ]
        indexes = [
            # The ledger's list and counts per town (dropouts.children_for_list, children_by_town).
            models.Index(fields=["town", "village", "name"], name="school_age_child_town"),
        ]

    def __str__(self) -> str:
        return f"{self.town.name} {self.name}"


class AbsenceNoteQuerySet(ScopedQuerySet):
    """A teacher's 缺勤登记: read by the school's 资助专干 and county staff, and by whoever 包保 the
    student now (the note's writer, or the teacher who takes over)."""

    def scope_filter(self, scope: Scope) -> Q | None:
        return _student_scope(scope, FieldGroup.RECORDS)


class AbsenceNote(models.Model):
    """缺勤登记: a teacher notes a student's absence (from a day, how many school days, with leave or
    not). Absences without leave adding up to DROPOUT_SUSPECT_DAYS in one school week propose a
    疑似辍学 entry for the officer to confirm (dropouts.absence_note_create)."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="+")
    teacher = models.ForeignKey("pairing.Teacher", verbose_name="登记教师", on_delete=models.PROTECT, related_name="+")
    date_from = models.DateField("缺勤起始日")
    days = models.PositiveSmallIntegerField("缺勤天数")
    with_leave = models.BooleanField("已请假", default=False)
    note = models.CharField("情况说明", max_length=200, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = AbsenceNoteQuerySet.as_manager()

    class Meta:
        verbose_name = "缺勤登记"
        verbose_name_plural = "缺勤登记"
        ordering = ["-date_from", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(days__gte=1) & Q(days__lte=30),
                name="absence_note_days_in_range",
                violation_error_message="缺勤天数应在1至30天之间。",
            ),
        ]
        indexes = [
            # The proposal rule's sum of a student's absences in a week (dropouts.absence_note_create).
            models.Index(fields=["student", "date_from"], name="absence_note_student_day"),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.date_from} 缺勤{self.days}天"


class DropoutSource(models.TextChoices):
    SCHOOL = "school", "学校登记"
    TALK = "talk", "教师谈心记录"
    ATTENDANCE = "attendance", "考勤记录"


class SuspectedStatus(models.TextChoices):
    PROPOSED = "proposed", "待确认"
    PENDING = "pending", "待核实"
    RETURNED = "returned", "已返校"
    ON_LEAVE = "on_leave", "已补假"
    DROPPED_OUT = "dropped_out", "确认辍学"
    DISMISSED = "dismissed", "不予登记"


# Open entries: the ledger's 在册 rows (one per student at a time, a partial unique index).
OPEN_SUSPECTED = (SuspectedStatus.PROPOSED, SuspectedStatus.PENDING)
RESOLVED_SUSPECTED = (SuspectedStatus.RETURNED, SuspectedStatus.ON_LEAVE, SuspectedStatus.DROPPED_OUT)


class SuspectedDropoutQuerySet(ScopedQuerySet):
    """The school's 资助专干 her school's entries, county staff all."""

    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.is_county_wide:
            return Q() if scope.role == Role.COUNTY else None
        if scope.role == Role.OFFICER and scope.school_id:
            return Q(school_id=scope.school_id)
        return None


class SuspectedDropout(models.Model):
    """疑似辍学学生台账: a student absent for days without leave, entered by the school (or proposed by
    a teacher's 缺勤登记, then confirmed by the officer). ``entered_in_week``: entered within the
    school week (Monday to Sunday) of the first day absent, as the notice asks; kept by the services."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(School, verbose_name="学校", on_delete=models.PROTECT, related_name="+")
    first_absent_on = models.DateField("首次缺勤日期")
    week_monday = models.DateField("缺勤所在周(周一)")
    days_absent = models.PositiveSmallIntegerField("无故缺勤天数")
    source = models.CharField("来源", max_length=12, choices=DropoutSource.choices)
    absence_note = models.ForeignKey(
        AbsenceNote, verbose_name="缺勤登记", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The talk record whose words proposed the entry (dropouts.talk_proposals_sweep): one proposal per talk.
    talk = models.ForeignKey(
        "guidance.TalkRecord",
        verbose_name="谈心记录",
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    note = models.CharField("情况说明", max_length=200, blank=True)
    status = models.CharField("状态", max_length=12, choices=SuspectedStatus.choices)
    proposed_at = models.DateTimeField("系统提示时间", null=True, blank=True)
    entered_on = models.DateField("登记日期", null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    entered_in_week = models.BooleanField("是否当周登记", null=True, blank=True)
    resolved_on = models.DateField("处理日期", null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolution_note = models.CharField("处理说明", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = SuspectedDropoutQuerySet.as_manager()

    class Meta:
        verbose_name = "疑似辍学学生"
        verbose_name_plural = "疑似辍学学生台账"
        ordering = ["-first_absent_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(status__in=["proposed", "pending"]),
                name="one_open_suspected_dropout_per_student",
                violation_error_message="该学生已在疑似辍学台账中(待确认或待核实)。",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["proposed", "dismissed"])
                | (Q(entered_on__isnull=False) & Q(entered_in_week__isnull=False)),
                name="suspected_dropout_entered_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["returned", "on_leave", "dropped_out", "dismissed"])
                | Q(resolved_on__isnull=False),
                name="suspected_dropout_resolved_has_date",
            ),
            models.CheckConstraint(condition=Q(days_absent__gte=1), name="suspected_dropout_days_positive"),
            models.UniqueConstraint(
                fields=["talk"], condition=Q(talk__isnull=False), name="one_suspected_dropout_per_talk"
            ),
        ]
        indexes = [
            # The ledger page: a school's entries, newest absence first (dropouts.suspected_for_list).
            models.Index(fields=["school", "-first_absent_on"], name="suspected_dropout_school"),
        ]

    def __str__(self) -> str:
        return f"{self.student} 疑似辍学({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SUSPECTED


class MonthlyStatus(models.TextChoices):
    NOT_DUE = "not_due", "未到期"
    DUE = "due", "待报"
    SUBMITTED = "submitted", "已报"
    OVERDUE = "overdue", "逾期未报"
    LATE = "late", "逾期补报"
    NOT_REQUIRED = "not_required", "无需报送"  # a month without a school day of any term (暑假)


class SchoolRowQuerySet(ScopedQuerySet):
    """A school's report or re-check: its 资助专干 reads her school's, county staff all."""

    def scope_filter(self, scope: Scope) -> Q | None:
        if scope.is_county_wide:
            return Q() if scope.role == Role.COUNTY else None
        if scope.role == Role.OFFICER and scope.school_id:
            return Q(school_id=scope.school_id)
        return None


class DropoutMonthlyReport(models.Model):
    """控辍保学月报: a school's month, submitted by its 资助专干 with the counts as they stood then
    (frozen: later changes of the ledgers do not rewrite a report)."""

    school = models.ForeignKey(School, verbose_name="学校", on_delete=models.PROTECT, related_name="+")
    month = models.DateField("月份", help_text="该月1日")
    submitted_on = models.DateField("报送日期")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="报送人", on_delete=models.PROTECT, related_name="+"
    )
    enrolled = models.PositiveIntegerField("在校资助学生数")
    suspected_open = models.PositiveIntegerField("疑似辍学在册")
    dropouts_open = models.PositiveIntegerField("辍学在册")
    returned = models.PositiveIntegerField("本月返校")
    note = models.CharField("说明", max_length=500, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = SchoolRowQuerySet.as_manager()

    class Meta:
        verbose_name = "控辍保学月报"
        verbose_name_plural = "控辍保学月报"
        ordering = ["-month", "school"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "month"],
                name="one_dropout_report_per_school_month",
                violation_error_message="该校本月的月报已报送。",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="dropout_report_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.month:%Y年%m月} 控辍保学月报"


class RecheckStatus(models.TextChoices):
    CHECKED = "checked", "已复核"
    NEEDS_FIX = "needs_fix", "需整改"
    FIXED = "fixed", "已整改"


class DropoutRecheck(models.Model):
    """季度复核: the county's re-check of a school's ledgers for a quarter, with what it found and,
    when something was to be put right, the date it was."""

    school = models.ForeignKey(School, verbose_name="学校", on_delete=models.PROTECT, related_name="+")
    quarter = models.DateField("季度", help_text="季度首日")
    checked_on = models.DateField("复核日期")
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="复核人", on_delete=models.PROTECT, related_name="+"
    )
    findings = models.CharField("复核发现", max_length=500, blank=True)
    discrepancies = models.PositiveIntegerField("不一致数", default=0)
    status = models.CharField("状态", max_length=10, choices=RecheckStatus.choices)
    fixed_on = models.DateField("整改完成日期", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = SchoolRowQuerySet.as_manager()

    class Meta:
        verbose_name = "控辍保学季度复核"
        verbose_name_plural = "控辍保学季度复核"
        ordering = ["-quarter", "school"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "quarter"],
                name="one_dropout_recheck_per_school_quarter",
                violation_error_message="该校本季度已有复核记录。",
            ),
            models.CheckConstraint(
                condition=Q(quarter__day=1) & Q(quarter__month__in=[1, 4, 7, 10]),
                name="dropout_recheck_quarter_first_day",
            ),
            models.CheckConstraint(
                condition=~Q(status="fixed") | Q(fixed_on__isnull=False),
                name="dropout_recheck_fixed_has_date",
                violation_error_message="已整改需填写整改完成日期。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.quarter.year}年第{(self.quarter.month - 1) // 3 + 1}季度复核"
