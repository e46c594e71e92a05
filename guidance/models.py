"""五导: the help a teacher gives a paired student, week by week and term by term.

Every piece of help is tagged with the five guidance tracks (思想引导, 心理疏导, 生活指导, 学业辅导,
政策宣导) and its forms (专题讲座, 交流谈心, 榜样引领, 家长访谈, 活动助推). Tracks and forms are boolean
columns rather than a list: the compliance engine aggregates "tracks covered this term" with one
MAX per column on PostgreSQL and SQLite alike, and Excel reports read them as plain columns.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pairing.models import Pairing, School, Stage, Student, Term
from zaoyang_aid import calendar
from zaoyang_aid.access import Scope, ScopedQuerySet
from zaoyang_aid.checks import PythonCheck
from zaoyang_aid.fields import FieldGroup, broad_access, paired_access


@dataclass(frozen=True)
class Tag:
    field: str
    label: str


TRACKS = (
    Tag("track_thought", "思想引导"),
    Tag("track_psych", "心理疏导"),
    Tag("track_life", "生活指导"),
    Tag("track_study", "学业辅导"),
    Tag("track_policy", "政策宣导"),
)
HELP_FORMS = (
    Tag("form_lecture", "专题讲座"),
    Tag("form_talk", "交流谈心"),
    Tag("form_model", "榜样引领"),
    Tag("form_parent", "家长访谈"),
    Tag("form_activity", "活动助推"),
)
TRACK_FIELDS = tuple(t.field for t in TRACKS)
FORM_FIELDS = tuple(f.field for f in HELP_FORMS)


def _any_of(fields: tuple[str, ...]) -> Q:
    condition = Q(**{fields[0]: True})
    for name in fields[1:]:
        condition |= Q(**{name: True})
    return condition


class GuidanceTags(models.Model):
    """The five tracks and the five forms of help, as ten boolean columns."""

    track_thought = models.BooleanField("思想引导", default=False)
    track_psych = models.BooleanField("心理疏导", default=False)
    track_life = models.BooleanField("生活指导", default=False)
    track_study = models.BooleanField("学业辅导", default=False)
    track_policy = models.BooleanField("政策宣导", default=False)
    form_lecture = models.BooleanField("专题讲座", default=False)
    form_talk = models.BooleanField("交流谈心", default=False)
    form_model = models.BooleanField("榜样引领", default=False)
    form_parent = models.BooleanField("家长访谈", default=False)
    form_activity = models.BooleanField("活动助推", default=False)

    class Meta:
        abstract = True

    @property
    def tracks(self) -> list[str]:
        return [t.label for t in TRACKS if getattr(self, t.field)]

    @property
    def help_forms(self) -> list[str]:
        return [f.label for f in HELP_FORMS if getattr(self, f.field)]


def _pairing_scope(scope: Scope, prefix: str = "pairing__") -> Q | None:
    """Rows hanging off a pairing: the teacher sees their own pairings' rows (ended ones included,
    so their own history stays readable), the school sees its students', the county all."""
    if scope.is_county_wide:
        return Q()
    if scope.role in {"officer", "counsellor"}:
        return Q(**{f"{prefix}student__school_id": scope.school_id})
    if scope.role == "teacher":
        return Q(**{f"{prefix}teacher_id": scope.teacher_id})
    return None


class PairingRecordQuerySet(ScopedQuerySet):
    """Rows hanging off a pairing (talks, visits, excused weeks, reminders). Counsellors see only
    those of the pairings they 包保 themselves: counselling notes have their own file, and these
    records are the 包保 teacher's and the school's."""

    def scope_filter(self, scope: Scope) -> Q | None:
        """As far as the field policy shows help records (fields.FieldGroup.RECORDS): the school's or
        the county's to an officer or county staff; a teacher's or counsellor's own pairings' (ended
        ones included, so their own history stays readable); none to the 系统管理员 role."""
        if FieldGroup.RECORDS in broad_access(scope):
            return _pairing_scope(scope)
        if FieldGroup.RECORDS in paired_access(scope) and scope.teacher_id is not None:
            return Q(pairing__teacher_id=scope.teacher_id)
        return None


class StudentHistoryQuerySet(PairingRecordQuerySet):
    """The help a student has had (talks, visits, excused weeks): besides PairingRecordQuerySet's
    rows, whoever 包保 the student now reads those of the student's earlier pairings too, since they
    take over the student's help (a teacher who takes over mid-term sees the 14 talks before them)."""

    def scope_filter(self, scope: Scope) -> Q | None:
        own = super().scope_filter(scope)
        # Officers see their whole school already; the clause would only slow their queries.
        if own is None or scope.teacher_id is None or scope.role not in {"teacher", "counsellor"}:
            return own
        return own | Q(pairing__student_id__in=_students_paired_with(scope.teacher_id))


def _students_paired_with(teacher_id: int) -> models.QuerySet[Any]:
    return Pairing.objects.filter(teacher_id=teacher_id, ended_on__isnull=True).values("student_id")


TalkRecordQuerySet = HomeVisitQuerySet = ExcusedWeekQuerySet = StudentHistoryQuerySet


class TeacherRecord(models.Model):
    """A record the 包保 teacher writes (a talk, a visit): who wrote it and when. Its teacher may change
    it for EDIT_DAYS after saving it; after that it is locked, so that the help recorded stays as it
    was written, until an officer of the school reopens it."""

    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    # Set by an officer to reopen a locked record for the teacher until this moment.
    unlocked_until = models.DateTimeField("解锁至", null=True, blank=True)
    # The officer's reason for the last unlock: shown to the teacher on the record and in her notice.
    unlock_reason = models.CharField("解锁原因", max_length=200, blank=True)

    EDIT_DAYS = 7

    class Meta:
        abstract = True

    def locked_for_teacher(self, now: dt.datetime | None = None) -> bool:
        """A teacher edits their own record for 7 days; after that only an officer's unlock reopens it."""
        now = now or timezone.now()
        if self.unlocked_until is not None and now < self.unlocked_until:
            return False
        return now >= self.created_at + dt.timedelta(days=self.EDIT_DAYS)


class TalkRecord(TeacherRecord, GuidanceTags):
    """谈心谈话与学业辅导记录: at least one a school week for every active pairing."""

    pairing = models.ForeignKey(Pairing, verbose_name="结对", on_delete=models.PROTECT, related_name="talks")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    date = models.DateField("日期")
    # The Monday of the date's week: the compliance engine counts distinct weeks with this column.
    week_monday = models.DateField("所在周", editable=False)
    duration_minutes = models.PositiveSmallIntegerField("时长(分钟)")
    content = models.TextField("谈心谈话与辅导内容")
    student_state = models.TextField("学生状态")
    problems = models.TextField("发现的问题", blank=True)
    measures = models.TextField("采取的措施", blank=True)
    next_steps = models.TextField("下一步打算", blank=True)
    # 补录: a week older than the open window (rules.open_weeks), entered with an officer's permission.
    late_permission = models.ForeignKey(
        "LateEntryPermission",
        verbose_name="补录准许",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="talks",
    )
    # The optimistic lock of the edit form (a revision after a return included): the form posts the
    # version it read and talk_record_update refuses to save over a newer one.
    version = models.PositiveIntegerField("版本", default=1)
    objects = TalkRecordQuerySet.as_manager()

    class Meta:
        verbose_name = "谈心谈话与学业辅导记录"
        verbose_name_plural = "谈心谈话与学业辅导记录"
        ordering = ["-date", "-pk"]
        # Checked in Python by full_clean (zaoyang_aid.checks): the talk form and talk_record_create
        # validate every teacher's save, and the database's SELECT per check cost ten queries a save.
        constraints = [
            PythonCheck(
                condition=_any_of(TRACK_FIELDS),
                name="talk_has_a_track",
                violation_error_message="请至少选择一项“五导”内容。",
            ),
            PythonCheck(
                condition=_any_of(FORM_FIELDS),
                name="talk_has_a_form",
                violation_error_message="请至少选择一种帮扶形式。",
            ),
            PythonCheck(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=600),
                name="talk_duration_plausible",
                violation_error_message="时长应在5至600分钟之间。",
            ),
        ]
        indexes = [
            # The compliance engine: a pairing's distinct weeks within a term (index-only on PostgreSQL).
            models.Index(fields=["pairing", "week_monday", "date"], name="talk_pairing_week"),
            # County dashboards and the weekly reminder sweep: everything recorded in one week.
            models.Index(fields=["week_monday", "pairing"], name="talk_week_pairing"),
        ]

    def __str__(self) -> str:
        return f"{self.pairing.student} {self.date:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.week_monday = calendar.monday_of(self.date)
        super().save(*args, **kwargs)

    @property
    def entered_late(self) -> bool:
        """补录: written after the open window with an officer's permission (shown on every page)."""
        return self.late_permission_id is not None


class AidPolicy(models.Model):
    """A student-aid policy explained on home visits; the checklist offered depends on the stage."""

    name = models.CharField("政策名称", max_length=60, unique=True)
    stages = models.JSONField("适用学段", default=list, help_text='学段代码列表,如 ["primary", "junior"]')
    order = models.PositiveSmallIntegerField("排序", default=100)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "资助政策"
        verbose_name_plural = "资助政策"
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name

    def applies_to(self, stage: str) -> bool:
        return not self.stages or stage in self.stages

    @property
    def stage_labels(self) -> str:
        return "、".join(Stage(s).label for s in self.stages) if self.stages else "全部学段"


class HomeVisit(TeacherRecord, GuidanceTags):
    """家访: at least one a term for every active pairing; more are welcome. Editable like a talk
    record: by its teacher for EDIT_DAYS, then after an officer's unlock."""

    pairing = models.ForeignKey(Pairing, verbose_name="结对", on_delete=models.PROTECT, related_name="visits")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    date = models.DateField("家访日期")
    visitors = models.CharField("走访人员", max_length=100)
    members_met = models.CharField("见到的家庭成员", max_length=100)
    living_conditions = models.TextField("生活条件")
    study_conditions = models.TextField("学习条件")
    policies = models.ManyToManyField(AidPolicy, verbose_name="宣讲的资助政策", blank=True, related_name="+")
    needs_found = models.TextField("发现的需求", blank=True)
    family_feedback = models.TextField("家庭反馈意见", blank=True)
    objects = HomeVisitQuerySet.as_manager()

    class Meta:
        verbose_name = "家访记录"
        verbose_name_plural = "家访记录"
        ordering = ["-date", "-pk"]
        indexes = [
            # The compliance engine: has this pairing been visited this term?
            models.Index(fields=["term", "pairing"], name="visit_term_pairing"),
            # A student's timeline.
            models.Index(fields=["pairing", "date"], name="visit_pairing_date"),
        ]

    def __str__(self) -> str:
        return f"{self.pairing.student} 家访 {self.date:%Y-%m-%d}"


class PrivateStorage(FileSystemStorage):
    """Uploaded photos live under MEDIA_ROOT, outside the web root, with no public URL: a view that
    checks the viewer's scope streams them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(location=None, base_url=None, **kwargs)

    @property
    def base_location(self) -> str:  # read at call time so tests can move MEDIA_ROOT
        return str(settings.MEDIA_ROOT)

    @property
    def location(self) -> str:
        return str(Path(settings.MEDIA_ROOT).resolve())

    def url(self, name: str | None) -> str:
        raise ValueError("家访照片没有公开地址,请通过带权限检查的页面访问。")


private_storage = PrivateStorage()


def photo_path(instance: HomeVisitPhoto, filename: str) -> str:
    # The stored name says nothing about the child: random, under the upload's month.
    today = timezone.localdate()
    return f"home-visits/{today:%Y/%m}/{secrets.token_hex(16)}{Path(filename).suffix.lower()}"


class HomeVisitPhoto(models.Model):
    MAX_PER_VISIT = 6
    # The demo's photo rows share a small pool of files under this folder (guidance/demo.py), so a
    # file there is never deleted with one of its rows.
    SHARED_DIR = "home-visits/demo"

    visit = models.ForeignKey(HomeVisit, verbose_name="家访", on_delete=models.CASCADE, related_name="photos")
    image = models.FileField("照片", storage=private_storage, upload_to=photo_path, max_length=200)
    content_type = models.CharField("类型", max_length=20)
    width = models.PositiveIntegerField("宽")
    height = models.PositiveIntegerField("高")
    size = models.PositiveIntegerField("字节数")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "家访照片"
        verbose_name_plural = "家访照片"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.visit} 照片{self.pk}"

    @property
    def owns_file(self) -> bool:
        return bool(self.image.name) and not self.image.name.startswith(self.SHARED_DIR + "/")


class ExcuseReason(models.TextChoices):
    ILLNESS = "illness", "学生生病"
    EXAM = "exam", "考试周"
    EVENT = "event", "学校活动"
    TRAINING = "training", "教师外出培训"
    OTHER = "other", "其他"


class ExcusedWeek(models.Model):
    """A school week an officer has excused for one pairing: counted neither as done nor as missed."""

    pairing = models.ForeignKey(Pairing, verbose_name="结对", on_delete=models.CASCADE, related_name="excused_weeks")
    week_monday = models.DateField("周一日期")
    reason = models.CharField("原因", max_length=20, choices=ExcuseReason.choices)
    note = models.CharField("说明", max_length=200, blank=True)
    excused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="批准人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("时间", auto_now_add=True)

    objects = ExcusedWeekQuerySet.as_manager()

    class Meta:
        verbose_name = "免记周"
        verbose_name_plural = "免记周"
        ordering = ["-week_monday"]
        constraints = [
            models.UniqueConstraint(
                fields=["pairing", "week_monday"],
                name="one_excuse_per_pairing_week",
                violation_error_message="这一周已经免记过了。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pairing} {self.week_monday} {self.get_reason_display()}"


class LateEntryPermission(models.Model):
    """An officer lets the 包保 teacher record a talk for a school week older than the open window
    (this school week and the one before): 补录, with the reason. Talks written under it are marked
    as entered late on every page and in the figures."""

    pairing = models.ForeignKey(Pairing, verbose_name="结对", on_delete=models.CASCADE, related_name="late_permissions")
    week_monday = models.DateField("补录周(周一)")
    reason = models.CharField("补录原因", max_length=200)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="准许人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("准许时间", auto_now_add=True)

    objects = PairingRecordQuerySet.as_manager()

    class Meta:
        verbose_name = "补录准许"
        verbose_name_plural = "补录准许"
        ordering = ["-week_monday"]
        constraints = [
            models.UniqueConstraint(
                fields=["pairing", "week_monday"],
                name="one_late_permission_per_pairing_week",
                violation_error_message="这一周已经准许补录了。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pairing} 补录 {self.week_monday}"


class PairingTermTally(models.Model):
    """Per pairing and term: the weeks that have a talk, the tracks covered, the last talk.

    Kept up to date from TalkRecord because the county dashboard needs a whole term's figures for 12,000 pairings at
    once: aggregating ~150,000 talk rows per request took 350-900 ms on PostgreSQL
    (bench/compliance.py), reading one narrow row per pairing takes a few milliseconds.

    ``week_bits`` has bit n set when the n-th calendar week from ``week_base`` has at least one
    talk; ``track_bits`` has bit i set when TRACKS[i] was covered. The base Monday is stored with the
    row (the Monday of the term's first day, or of an earlier talk, when it was counted), so an
    admin moving the term's dates later does not shift the bits: the engine re-bases them.

    Kept by the services that write talk records (guidance.services, through tallies.tally_refresh),
    never by signal receivers; ``verify_tallies`` (nightly, and by hand) recounts and repairs.
    """

    pairing = models.ForeignKey(Pairing, verbose_name="结对", on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.CASCADE, related_name="+")
    week_base = models.DateField("起算周一")
    week_bits = models.BigIntegerField("有记录的周", default=0)
    track_bits = models.PositiveSmallIntegerField("覆盖的五导", default=0)
    talks = models.PositiveIntegerField("记录数", default=0)
    last_talk_on = models.DateField("最近记录日期", null=True, blank=True)

    class Meta:
        verbose_name = "结对学期统计"
        verbose_name_plural = "结对学期统计"
        constraints = [
            models.UniqueConstraint(fields=["term", "pairing"], name="one_tally_per_pairing_term"),
        ]

    def __str__(self) -> str:
        return f"{self.pairing_id}@{self.term_id}: {self.talks}"


# --- Reminders -------------------------------------------------------------------------------------


class ReminderKind(models.TextChoices):
    MISSED_TALK = "missed_talk", "上周未记录谈心谈话"
    VISIT_DUE = "visit_due", "本学期尚未家访"


class ReminderLevel(models.IntegerChoices):
    TEACHER = 1, "提醒教师"
    OFFICER = 2, "告知学校资助专干"
    COUNTY = 3, "上报市资助中心"


class ReminderQuerySet(PairingRecordQuerySet):
    def open(self) -> ReminderQuerySet:
        """Neither answered (the missing record made) nor acknowledged."""
        return self.filter(resolved_at__isnull=True, acknowledged_at__isnull=True)


class Reminder(models.Model):
    """One thing a pairing owes, found by a sweep: keyed by (pairing, kind, period) under a unique
    constraint, so a sweep run twice, or by two workers at once, makes each reminder once.

    ``period`` is the Monday of the school week the reminder is about: the missed week for a missed
    talk, the sweep's week for a home visit still due. ``level`` is how far it has climbed.
    """

    pairing = models.ForeignKey(Pairing, verbose_name="结对", on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField("类型", max_length=20, choices=ReminderKind.choices)
    period = models.DateField("所属周(周一)")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField("级别", choices=ReminderLevel.choices, default=ReminderLevel.TEACHER)
    # For a missed talk: how many school weeks in a row were missed up to and including ``period``.
    streak = models.PositiveSmallIntegerField("连续周数", default=1)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    acknowledged_at = models.DateTimeField("确认时间", null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="确认人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledgement = models.CharField("确认说明", max_length=200, blank=True)
    resolved_at = models.DateTimeField("已补记时间", null=True, blank=True)

    objects = ReminderQuerySet.as_manager()

    class Meta:
        verbose_name = "提醒"
        verbose_name_plural = "提醒"
        ordering = ["-period", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["pairing", "kind", "period"],
                name="one_reminder_per_pairing_kind_period",
                violation_error_message="这条提醒已经存在。",
            ),
        ]
        indexes = [
            # The escalation and digest steps: this period's open reminders by level.
            models.Index(fields=["period", "kind", "level"], name="reminder_period_kind_level"),
        ]

    def __str__(self) -> str:
        return f"{self.pairing} {self.get_kind_display()} {self.period}"


class Notification(models.Model):
    """An item in someone's in-app notification centre. Written in the sweep's transaction together
    with its reminder, so it is never lost, whatever later happens to email or webhooks."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="接收人", on_delete=models.CASCADE, related_name="notifications"
    )
    reminder = models.ForeignKey(
        Reminder, verbose_name="提醒", on_delete=models.CASCADE, related_name="notifications", null=True, blank=True
    )
    # A rise of a student's 心理 risk level to 重点关注 or 危机 (guidance/counselling.py): one notice per
    # officer per rise, whose text names the student, the level and the counsellor, never the reason.
    risk_change = models.ForeignKey(
        "RiskLevelChange",
        verbose_name="风险等级变更",
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    level = models.PositiveSmallIntegerField("级别", choices=ReminderLevel.choices, default=ReminderLevel.TEACHER)
    title = models.CharField("标题", max_length=100)
    body = models.CharField("内容", max_length=500, blank=True)
    link = models.CharField("链接", max_length=200, blank=True)
    # A talk record returned for revision (guidance/quality.py): one notice per teacher and flag.
    flag = models.ForeignKey(
        "TalkRecordFlag",
        verbose_name="退回修改的记录",
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    # A notice from outside the sweep (an overdue 劝返 step, an overdue 转介 …): its writer's key, such
    # as "referral-overdue:17:2026-12-01", so that a job run twice notifies each person once.
    source_key = models.CharField("来源标识", max_length=100, blank=True, default="")
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = "站内通知"
        verbose_name_plural = "站内通知"
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One notice per person per reminder and level: re-running a sweep adds nothing.
            models.UniqueConstraint(
                fields=["recipient", "reminder", "level"], name="one_notification_per_recipient_reminder_level"
            ),
            # One notice per officer per risk rise: the service and a second run add nothing.
            models.UniqueConstraint(fields=["recipient", "risk_change"], name="one_notification_per_recipient_risk"),
            # One notice per teacher per returned flag: a second return updates it (quality.py).
            models.UniqueConstraint(
                fields=["recipient", "flag"], condition=Q(flag__isnull=False), name="one_notification_per_flag"
            ),
            # One notice per person per source key: a job that dies halfway and runs again sends none twice.
            models.UniqueConstraint(
                fields=["recipient", "source_key"],
                condition=~Q(source_key=""),
                name="one_notification_per_source_key",
            ),
        ]
        indexes = [
            # The navbar's unread count and the notification centre, on every page.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.title}"


class SweepOutcome(models.TextChoices):
    ON_TIME = "on_time", "按时发送"
    LATE = "late", "补发(迟于第一个上课日)"
    SKIPPED = "skipped", "过期未补发"


class SweepRun(models.Model):
    """The morning sweep of one school week (county calendar), done once: the unique week makes a
    second run of the same week impossible, so a catch-up run skips it. Written in the same
    transaction as the week's reminders and notifications (see guidance/reminders.py), so a row here
    means they are all written; a week too old to catch up is recorded as skipped instead.
    """

    week_monday = models.DateField("教学周(周一)")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    first_school_day = models.DateField("应发送日期(第一个上课日)")
    swept_on = models.DateField("执行日期")  # the run's day (the command's --date, else today)
    done_at = models.DateTimeField("完成时间", default=timezone.now)
    outcome = models.CharField("结果", max_length=10, choices=SweepOutcome.choices)
    reminders_created = models.PositiveIntegerField("新建提醒数", default=0)
    notifications_created = models.PositiveIntegerField("新建站内通知数", default=0)

    class Meta:
        verbose_name = "提醒发送记录"
        verbose_name_plural = "提醒发送记录"
        ordering = ["-week_monday"]
        constraints = [
            models.UniqueConstraint(fields=["week_monday"], name="one_sweep_run_per_school_week"),
        ]

    def __str__(self) -> str:
        return f"{self.week_monday} {self.get_outcome_display()}"


# --- Deliveries ------------------------------------------------------------------------------------


class ReminderPreference(models.Model):
    """A person's choice of reminder channels beyond the in-app notification centre (which is always
    on). No row means the defaults: email on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="reminder_preference"
    )
    email = models.BooleanField("接收邮件提醒", default=True)

    class Meta:
        verbose_name = "提醒偏好"
        verbose_name_plural = "提醒偏好"

    def __str__(self) -> str:
        return f"{self.user} {'邮件' if self.email else '不发邮件'}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"


class Delivery(models.Model):
    """One digest message to one person over one channel (email, webhook, ...) for one day: the
    unique constraint makes a second for the same (recipient, channel, day) impossible. See
    guidance/deliveries.py for how it is claimed, sent and retried."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="接收人", on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField("渠道", max_length=20)
    day = models.DateField("日期")
    # Which message of the day: "" for the reminder digest; "risk-<RiskLevelChange pk>" for an urgent
    # notice sent at once (counselling.risk_rise_deliver), one per officer, channel and rise.
    key = models.CharField("投递类别", max_length=40, default="", blank=True)
    status = models.CharField("状态", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试时间", default=timezone.now)
    claimed_at = models.DateTimeField("认领时间", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("内容")
    # The digest's items, [{"title": ..., "link": ...}], for channels that want structure (webhook).
    items = models.JSONField("条目", default=list, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "提醒投递"
        verbose_name_plural = "提醒投递"
        ordering = ["-day", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "channel", "day", "key"], name="one_delivery_per_recipient_channel_day_key"
            ),
        ]
        indexes = [
            # deliveries_send's due-rows query: status='pending' AND next_attempt_at <= now.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.channel} {self.day}"


# --- 五三卡 ------------------------------------------------------------------------------------------


class CardSection(models.TextChoices):
    """The five parts of a 五三卡, three items each, in the card's order."""

    HIGHLIGHTS = "highlights", "闪光点"
    BREAKTHROUGHS = "breakthroughs", "突破口"
    MOTTOS = "mottos", "警示格言"
    ROLE_MODELS = "role_models", "学习榜样"
    PROMISES = "promises", "承诺"


# The parts that are marked at term end (已做到 / 在努力 / 未做到, with a note).
REVIEWED_SECTIONS = (CardSection.BREAKTHROUGHS, CardSection.PROMISES)
ITEMS_PER_SECTION = 3
ITEM_MAX_LENGTH = 100
MARK_NOTE_MAX_LENGTH = 200


class CardMark(models.TextChoices):
    DONE = "done", "已做到"
    TRYING = "trying", "在努力"
    NOT_DONE = "not_done", "未做到"


# The term-end review is offered from this many weeks before the term's last day (and after it, in
# the vacation, until the next term starts): the last three weeks hold the review lessons and the
# final exams, when the teacher sits with the student once more; earlier would mark promises half
# way through the term. The officer's dashboard lists cards not reviewed from the same day.
REVIEW_WEEKS_BEFORE_TERM_END = 3


def review_opens_on(term: Term) -> dt.date:
    """The first day of ``term``'s term-end review of 五三卡 (one definition, asked by every page)."""
    return term.end_date - dt.timedelta(weeks=REVIEW_WEEKS_BEFORE_TERM_END)


class FiveThreeCardQuerySet(ScopedQuerySet):
    """As far as the field policy shows help records (FieldGroup.RECORDS): the school's or the
    county's cards to an officer or county staff; to a teacher or counsellor, the cards of the
    students they 包保 now and those they filled themselves; none to the 系统管理员 role."""

    def scope_filter(self, scope: Scope) -> Q | None:
        if FieldGroup.RECORDS in broad_access(scope):
            return _pairing_scope(scope, prefix="")
        if FieldGroup.RECORDS in paired_access(scope) and scope.teacher_id is not None:
            return Q(student_id__in=_students_paired_with(scope.teacher_id)) | Q(recorded_by_id=scope.user_id)
        return None


class FiveThreeCard(models.Model):
    """五三卡: per student and term, filled in by the 包保 teacher with the student: three 闪光点,
    three 突破口, three 警示格言, three 学习榜样 and three 承诺. At term end each 突破口 and 承诺 is
    marked 已做到 / 在努力 / 未做到 with a note.

    Each part is a JSON list of three strings and each mark list one {"mark", "note"} per item:
    the card is read and written whole (cards.five_three_card_save / _review check them), never
    queried by item. ``version`` is the optimistic lock: a form posts the version it read and the
    service refuses to save over a newer one."""

    student = models.ForeignKey(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="five_three_cards")
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="填写教师", on_delete=models.PROTECT, related_name="+"
    )
    highlights = models.JSONField("闪光点", default=list)
    breakthroughs = models.JSONField("突破口", default=list)
    mottos = models.JSONField("警示格言", default=list)
    role_models = models.JSONField("学习榜样", default=list)
    promises = models.JSONField("承诺", default=list)
    breakthrough_marks = models.JSONField("突破口期末评定", default=list, blank=True)
    promise_marks = models.JSONField("承诺期末评定", default=list, blank=True)
    filled_at = models.DateTimeField("填写时间", default=timezone.now)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    reviewed_at = models.DateTimeField("期末评定时间", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="评定教师",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField("版本", default=1)

    objects = FiveThreeCardQuerySet.as_manager()

    class Meta:
        verbose_name = "五三卡"
        verbose_name_plural = "五三卡"
        ordering = ["-term__start_date", "student_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term"],
                name="one_five_three_card_per_student_term",
                violation_error_message="这名学生本学期已有五三卡。",
            ),
            models.CheckConstraint(
                condition=Q(reviewed_at__isnull=True, reviewed_by__isnull=True)
                | Q(reviewed_at__isnull=False, reviewed_by__isnull=False),
                name="five_three_card_review_has_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.term} 五三卡"

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None

    def sections(self) -> list[tuple[str, list[str], list[dict[str, str]] | None]]:
        """(label, items, marks or None) per part, in the card's order, for the detail page."""
        marks = {CardSection.BREAKTHROUGHS: self.breakthrough_marks, CardSection.PROMISES: self.promise_marks}
        out = []
        for section in CardSection:
            items = list(getattr(self, section.value))
            shown = None
            if marks.get(section):
                shown = [{**m, "label": CardMark(m["mark"]).label} for m in marks[section]]
            out.append((str(section.label), items, shown))
        return out


# --- 心理健康档案 --------------------------------------------------------------------------------
# Read by the school's counsellors and the county's designated staff only (zaoyang_aid.fields,
# FieldGroup.COUNSELLING); written through guidance/counselling.py.


class RiskLevel(models.IntegerChoices):
    NORMAL = 0, "一般"
    WATCH = 1, "关注"
    CLOSE = 2, "重点关注"
    CRISIS = 3, "危机"


# A rise from below to one of these notifies the school's officers at once.
URGENT_RISK_LEVELS = frozenset({RiskLevel.CLOSE, RiskLevel.CRISIS})


def _counselling_scope(scope: Scope, school_field: str) -> Q | None:
    """Rows of 心理健康档案: a counsellor's school's, every school's to designated county staff."""
    if FieldGroup.COUNSELLING not in broad_access(scope):
        return None
    if scope.is_county_wide:
        return Q()
    return Q(**{school_field: scope.school_id})


class PsychFileQuerySet(ScopedQuerySet):
    def scope_filter(self, scope: Scope) -> Q | None:
        return _counselling_scope(scope, "student__school_id")


class PsychFile(models.Model):
    """心理健康档案: one per student who has one, holding the current risk level (its history is in
    RiskLevelChange) and whether the counsellor wants the 包保 teacher to follow up. Kept by the
    services that write sessions, assessments and levels; ``version`` is the optimistic lock of the
    level form."""

    student = models.OneToOneField(Student, verbose_name="学生", on_delete=models.PROTECT, related_name="psych_file")
    risk_level = models.PositiveSmallIntegerField("风险等级", choices=RiskLevel.choices, default=RiskLevel.NORMAL)
    risk_set_at = models.DateTimeField("等级设定时间", null=True, blank=True)
    risk_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="等级设定人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    follow_up_wanted = models.BooleanField("需要跟进", default=False)
    opened_at = models.DateTimeField("建档时间", default=timezone.now)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    version = models.PositiveIntegerField("版本", default=1)

    objects = PsychFileQuerySet.as_manager()

    class Meta:
        verbose_name = "心理健康档案"
        verbose_name_plural = "心理健康档案"
        ordering = ["-risk_level", "student_id"]
        indexes = [
            # The counsellor's school list and the county list: files by level.
            models.Index(fields=["risk_level", "student"], name="psych_file_level"),
        ]

    def __str__(self) -> str:
        return f"心理健康档案 #{self.pk}"


class CounsellingScopedQuerySet(ScopedQuerySet):
    school_field = "student__school_id"

    def scope_filter(self, scope: Scope) -> Q | None:
        return _counselling_scope(scope, self.school_field)


class CounsellingRecordQuerySet(CounsellingScopedQuerySet):
    school_field = "school_id"


class SessionKind(models.TextChoices):
    INDIVIDUAL = "individual", "个体辅导"
    GROUP = "group", "团体辅导"


class SessionMode(models.TextChoices):
    ORDERED = "ordered", "定单式(预约)"
    WALK_IN = "walk_in", "门诊式(来访)"


class RequesterKind(models.TextChoices):
    TEACHER = "teacher", "教师"
    PARENT = "parent", "家长"
    STUDENT = "student", "学生"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "待安排"
    SCHEDULED = "scheduled", "已安排"
    DONE = "done", "已完成"
    DECLINED = "declined", "已婉拒"


OPEN_REQUEST_STATUSES = (RequestStatus.PENDING, RequestStatus.SCHEDULED)


class CounsellingRequest(models.Model):
    """定单式: a teacher asks the school's counsellors to see a student (from the student's card).
    The teacher sees only its status afterwards; the reason is the counsellors' to read."""

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.PROTECT, related_name="counselling_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField("申请原因")
    status = models.CharField("状态", max_length=12, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    handled_at = models.DateTimeField("处理时间", null=True, blank=True)
    handling_note = models.CharField("处理说明", max_length=200, blank=True)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    version = models.PositiveIntegerField("版本", default=1)

    objects = CounsellingScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "心理辅导申请"
        verbose_name_plural = "心理辅导申请"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=RequestStatus.PENDING) | Q(handled_by__isnull=False, handled_at__isnull=False),
                name="counselling_request_handled_has_handler",
            ),
        ]
        indexes = [
            # The school list's "open requests" count per student.
            models.Index(fields=["student", "status"], name="counselling_request_open"),
        ]

    def __str__(self) -> str:
        return f"心理辅导申请 #{self.pk}"


class CounsellingRecord(models.Model):
    """心理辅导记录: one session, individual or group (several students of the school), 定单式 (asked
    for by a teacher, a parent or the student) or 门诊式 (walk-in). ``version`` is the optimistic
    lock of the edit form."""

    school = models.ForeignKey(School, verbose_name="学校", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("辅导形式", max_length=12, choices=SessionKind.choices)
    mode = models.CharField("辅导方式", max_length=12, choices=SessionMode.choices)
    requester_kind = models.CharField("申请人类别", max_length=12, choices=RequesterKind.choices, blank=True)
    request = models.ForeignKey(
        CounsellingRequest,
        verbose_name="对应申请",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
    )
    students = models.ManyToManyField(Student, verbose_name="学生", related_name="+")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="心理老师", on_delete=models.PROTECT, related_name="+"
    )
    term = models.ForeignKey(Term, verbose_name="学期", on_delete=models.PROTECT, related_name="+")
    date = models.DateField("辅导日期")
    duration_minutes = models.PositiveSmallIntegerField("时长(分钟)")
    topic = models.CharField("主题", max_length=100)
    notes = models.TextField("辅导记录")
    created_at = models.DateTimeField("记录时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)
    version = models.PositiveIntegerField("版本", default=1)

    objects = CounsellingRecordQuerySet.as_manager()

    class Meta:
        verbose_name = "心理辅导记录"
        verbose_name_plural = "心理辅导记录"
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mode=SessionMode.ORDERED, requester_kind__in=RequesterKind.values)
                | Q(mode=SessionMode.WALK_IN, requester_kind=""),
                name="counselling_ordered_names_requester",
                violation_error_message="定单式辅导须注明申请人类别;门诊式不填。",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=600),
                name="counselling_duration_plausible",
                violation_error_message="时长应在5至600分钟之间。",
            ),
        ]
        indexes = [models.Index(fields=["school", "-date"], name="counselling_school_date")]

    def __str__(self) -> str:
        return f"心理辅导记录 #{self.pk}"


class AssessmentScale(models.TextChoices):
    MHT = "MHT", "MHT 心理健康诊断测验"
    SCL90 = "SCL-90", "SCL-90 症状自评量表"
    SDS = "SDS", "SDS 抑郁自评量表"
    SAS = "SAS", "SAS 焦虑自评量表"
    OTHER = "other", "其他"


class PsychAssessment(models.Model):
    """A 心理测评 result of one student."""

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.PROTECT, related_name="psych_assessments"
    )
    scale = models.CharField("量表", max_length=12, choices=AssessmentScale.choices)
    taken_on = models.DateField("测评日期")
    score = models.DecimalField("得分", max_digits=6, decimal_places=1)
    result = models.TextField("结果解读")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="录入人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    objects = CounsellingScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "心理测评结果"
        verbose_name_plural = "心理测评结果"
        ordering = ["-taken_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0),
                name="psych_assessment_score_not_negative",
                violation_error_message="得分不能为负数。",
            ),
        ]

    def __str__(self) -> str:
        return f"心理测评结果 #{self.pk}"


class RiskLevelChange(models.Model):
    """One setting of a student's risk level: by whom, when and why (the reason is the counsellors'
    to read; a notification about it names the level only)."""

    student = models.ForeignKey(
        Student, verbose_name="学生", on_delete=models.PROTECT, related_name="risk_level_changes"
    )
    level = models.PositiveSmallIntegerField("风险等级", choices=RiskLevel.choices)
    previous_level = models.PositiveSmallIntegerField("原风险等级", choices=RiskLevel.choices)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="设定人", on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField("设定时间", default=timezone.now)
    reason = models.TextField("设定理由")

    objects = CounsellingScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "风险等级变更"
        verbose_name_plural = "风险等级变更"
        ordering = ["-set_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="risk_change_has_reason"),
        ]

    def __str__(self) -> str:
        return f"风险等级变更 #{self.pk}"

    @property
    def is_urgent_rise(self) -> bool:
        return self.level in URGENT_RISK_LEVELS and self.level > self.previous_level


# --- Record quality --------------------------------------------------------------------------------
# The nightly check (guidance/quality.py) flags talk records that look written for the count rather
# than for the child; the school's officer reviews each flag, returns the record for revision or
# passes it.


class FlagKind(models.TextChoices):
    SIMILAR = "similar", "内容雷同"
    BATCH = "batch", "集中补录"
    LATE = "late", "逾期补录"
    SHORT = "short", "篇幅过短"


class FlagStatus(models.TextChoices):
    OPEN = "open", "待处理"
    RETURNED = "returned", "已退回"
    REVISED = "revised", "已修改"
    CLEARED = "cleared", "已通过"


class TalkRecordFlagQuerySet(ScopedQuerySet):
    """As far as the field policy shows the flagged record (PairingRecordQuerySet's rule): the
    school's or the county's flags to an officer or county staff, a teacher's own records' flags."""

    def scope_filter(self, scope: Scope) -> Q | None:
        if FieldGroup.RECORDS in broad_access(scope):
            return _pairing_scope(scope, prefix="talk__pairing__")
        if FieldGroup.RECORDS in paired_access(scope) and scope.teacher_id is not None:
            return Q(talk__pairing__teacher_id=scope.teacher_id)
        return None


class TalkRecordFlag(models.Model):
    """One reason to doubt one talk record, found by quality.flags_detect (unique per record and
    kind, so a second run adds nothing). ``text_hash`` is the fingerprint of the record's text when
    the flag was last looked at: a passed flag is reopened only when the text has changed since.
    ``version`` is the optimistic lock of the officer's return and pass forms."""

    talk = models.ForeignKey(TalkRecord, verbose_name="谈心谈话记录", on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField("疑点", max_length=10, choices=FlagKind.choices)
    reason = models.CharField("原因", max_length=200)
    # For 内容雷同: the earlier record of the same teacher it resembles, and how much (percent).
    related_talk = models.ForeignKey(
        TalkRecord, verbose_name="相似的记录", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.PositiveSmallIntegerField("相似度(%)", null=True, blank=True)
    text_hash = models.BigIntegerField("文本指纹", default=0)
    detected_at = models.DateTimeField("发现时间", default=timezone.now)
    status = models.CharField("状态", max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="退回人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    returned_at = models.DateTimeField("退回时间", null=True, blank=True)
    return_comment = models.CharField("退回意见", max_length=500, blank=True)
    revised_at = models.DateTimeField("修改时间", null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="通过人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cleared_at = models.DateTimeField("通过时间", null=True, blank=True)
    version = models.PositiveIntegerField("版本", default=1)

    objects = TalkRecordFlagQuerySet.as_manager()

    class Meta:
        verbose_name = "记录质量疑点"
        verbose_name_plural = "记录质量疑点"
        ordering = ["-detected_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["talk", "kind"], name="one_flag_per_talk_kind", violation_error_message="这条记录已有此类疑点。"
            ),
            models.CheckConstraint(
                condition=~Q(status=FlagStatus.RETURNED) | Q(returned_at__isnull=False, returned_by__isnull=False),
                name="returned_flag_has_returner",
            ),
            models.CheckConstraint(
                condition=~Q(status=FlagStatus.CLEARED) | Q(cleared_at__isnull=False, cleared_by__isnull=False),
                name="cleared_flag_has_clearer",
            ),
        ]
        indexes = [
            # The officer's review queue: a status, newest first (the school is joined through the talk).
            models.Index(fields=["status", "-detected_at"], name="flag_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.talk_id} {self.get_kind_display()} {self.get_status_display()}"


class TalkRecordRevision(models.Model):
    """The text of a talk record as it was before its teacher revised it after a return: kept so
    that the officer compares before and after, and nothing written is lost."""

    talk = models.ForeignKey(
        TalkRecord, verbose_name="谈心谈话记录", on_delete=models.CASCADE, related_name="revisions"
    )
    duration_minutes = models.PositiveSmallIntegerField("时长(分钟)")
    content = models.TextField("谈心谈话与辅导内容")
    student_state = models.TextField("学生状态")
    problems = models.TextField("发现的问题", blank=True)
    measures = models.TextField("采取的措施", blank=True)
    next_steps = models.TextField("下一步打算", blank=True)
    revised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="修改人", on_delete=models.PROTECT, related_name="+"
    )
    revised_at = models.DateTimeField("修改时间", default=timezone.now)

    class Meta:
        verbose_name = "谈心谈话记录修改前文本"
        verbose_name_plural = "谈心谈话记录修改前文本"
        ordering = ["-revised_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.talk_id} {self.revised_at:%Y-%m-%d %H:%M}"
