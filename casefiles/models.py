"""帮扶档案: what the case file gathers beyond the records kept by pairing and guidance."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from guidance.models import private_storage
from pairing.models import School, Term
from zaoyang_aid.access import Role, Scope, ScopedQuerySet

# --- 档案批量导出 ----------------------------------------------------------------------------------


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
