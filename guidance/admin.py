"""The Django admin of the guidance app, used by the 系统管理员 (superuser).

The aid-policy checklist that home visits tick (政策宣导) is configured here. Talk records, home
visits and excused weeks are made on the app's own pages, where the date rules, the scope checks and
the audit lines live; the admin lists them read-only so that they can be looked up, never edited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from pairing.admin import SearchByNumberTailMixin
from pairing.models import Stage, Term
from zaoyang_aid.admin import AuditedReadAdminMixin, FieldPolicyAdminMixin, ReadOnlyAdminMixin
from zaoyang_aid.fields import FieldGroup

from .models import (
    AidPolicy,
    CounsellingRecord,
    CounsellingRequest,
    Delivery,
    ExcusedWeek,
    FiveThreeCard,
    HomeVisit,
    HomeVisitPhoto,
    PsychAssessment,
    PsychFile,
    ReminderPreference,
    RiskLevelChange,
    SweepRun,
    TalkRecord,
    TalkRecordFlag,
)

# --- Aid policies --------------------------------------------------------------------------------


class AidPolicyForm(forms.ModelForm):
    """The stages as checkboxes instead of a JSON list typed by hand."""

    stages = forms.MultipleChoiceField(
        label="适用学段",
        choices=Stage.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="不选表示适用于全部学段。家访表单只列出适用于学生所在学段的启用政策。",
    )

    class Meta:
        model = AidPolicy
        fields = ["name", "stages", "order", "is_active"]

    def clean_stages(self) -> list[str]:
        chosen = set(self.cleaned_data["stages"])
        return [stage for stage in Stage.values if stage in chosen]  # one spelling: the stages' own order


class PolicyStageFilter(admin.SimpleListFilter):
    title = "适用学段"
    parameter_name = "stage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Stage.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[AidPolicy]) -> QuerySet[AidPolicy]:
        stage = self.value()
        if stage not in Stage.values:
            return queryset
        # The stages are a JSON list (no portable "contains" on SQLite): choose over the short list.
        return queryset.filter(pk__in=[p.pk for p in queryset if p.applies_to(stage)])


@admin.register(AidPolicy)
class AidPolicyAdmin(admin.ModelAdmin):
    form = AidPolicyForm
    list_display = ["name", "stage_list", "order", "is_active"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active", PolicyStageFilter]
    search_fields = ["name"]

    @admin.display(description="适用学段")
    def stage_list(self, policy: AidPolicy) -> str:
        return policy.stage_labels

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Past home visits name the policies they explained: a policy no longer in use is switched off.
        return False


# --- Records made on the app's pages: read-only here -------------------------------------------


class TermFilter(admin.SimpleListFilter):
    """By term, with the terms' names in one query (the default filter asks once per term)."""

    title = "学期"
    parameter_name = "term"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(term.pk), term.name) for term in Term.objects.select_related("school_year")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(term_id=int(value)) if value and value.isdigit() else queryset


class PairingColumnsMixin:
    """The student, teacher and school of a row hanging off a pairing (select_related by each admin).
    Opening one is a read about its student (AuditedReadAdminMixin asks audit_student_of)."""

    def audit_student_of(self, obj: Any) -> int | None:
        return obj.pairing.student_id

    @admin.display(description="学生", ordering="pairing__student__name")
    def student(self, obj: Any) -> str:
        return obj.pairing.student.name

    @admin.display(description="帮扶教师", ordering="pairing__teacher__user__full_name")
    def teacher(self, obj: Any) -> str:
        return obj.pairing.teacher.name

    @admin.display(description="学校", ordering="pairing__student__school__name")
    def school(self, obj: Any) -> str:
        return obj.pairing.student.school.name


PAIRING_RELATED = ["pairing__student__school", "pairing__teacher__user"]
PAIRING_SEARCH = [
    "pairing__student__name",
    "pairing__student__student_number__iendswith",
    "pairing__teacher__user__full_name",
]


class PairingRecordAdmin(
    FieldPolicyAdminMixin,
    SearchByNumberTailMixin,
    PairingColumnsMixin,
    AuditedReadAdminMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    """A record hanging off a pairing (a talk, a visit, an excused week): made on the pages, only looked
    up here, by the student's name or 学籍号 tail; its fields as the field policy shows them, and every
    opened record written to the audit log."""


@admin.register(TalkRecord)
class TalkRecordAdmin(PairingRecordAdmin):
    policy_columns = {"track_list": FieldGroup.RECORDS}
    audit_detail = "谈心谈话记录"
    list_display = ["student", "teacher", "school", "date", "duration_minutes", "track_list", "created_at"]
    list_filter = [TermFilter, "pairing__student__school__stage"]
    search_fields = PAIRING_SEARCH
    list_select_related = [*PAIRING_RELATED, "term__school_year"]
    date_hierarchy = "date"

    @admin.display(description="“五导”内容")
    def track_list(self, record: TalkRecord) -> str:
        return "、".join(record.tracks)


class HomeVisitPhotoInline(FieldPolicyAdminMixin, admin.TabularInline):
    """The photos' facts and a link to the scoped photo page (the file has no public URL, so the
    image field itself is never shown: its .url raises)."""

    model = HomeVisitPhoto
    policy_columns = {"link": FieldGroup.RECORDS}
    fields = readonly_fields = ("link", "content_type", "width", "height", "size", "uploaded_at")
    extra = 0
    can_delete = False

    @admin.display(description="照片")
    def link(self, photo: HomeVisitPhoto) -> str:
        url = reverse("guidance:visit_photo", args=[photo.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">查看照片{}</a>', url, photo.pk)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HomeVisit)
class HomeVisitAdmin(PairingRecordAdmin):
    policy_columns = {"photo_count": FieldGroup.RECORDS}
    audit_detail = "家访记录"
    list_display = ["student", "teacher", "school", "date", "visitors", "photo_count", "created_at"]
    list_filter = [TermFilter, "pairing__student__school__stage"]
    search_fields = PAIRING_SEARCH
    list_select_related = [*PAIRING_RELATED, "term__school_year"]
    date_hierarchy = "date"
    inlines = [HomeVisitPhotoInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[HomeVisit]:
        return super().get_queryset(request).annotate(photo_count=Count("photos"))

    @admin.display(description="照片", ordering="photo_count")
    def photo_count(self, visit: HomeVisit) -> int:
        return visit.photo_count  # type: ignore[attr-defined]  # annotated by get_queryset


@admin.register(ExcusedWeek)
class ExcusedWeekAdmin(PairingRecordAdmin):
    list_display = ["student", "teacher", "school", "week_monday", "reason", "note", "excused_by_name", "created_at"]
    list_filter = ["reason", "pairing__student__school__stage"]
    search_fields = PAIRING_SEARCH
    list_select_related = [*PAIRING_RELATED, "excused_by"]
    date_hierarchy = "week_monday"

    @admin.display(description="批准人", ordering="excused_by__full_name")
    def excused_by_name(self, excused: ExcusedWeek) -> str:
        return excused.excused_by.get_full_name()


@admin.register(FiveThreeCard)
class FiveThreeCardAdmin(
    FieldPolicyAdminMixin, SearchByNumberTailMixin, AuditedReadAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    """五三卡 are filled and reviewed on the app's pages (cards.five_three_card_save / _review keep the
    three-items rule and the optimistic lock); here they are looked up read-only, each opened card
    written to the audit log."""

    audit_detail = "五三卡"
    list_display = ["student", "school", "term", "recorded_by", "filled_at", "reviewed_at"]
    list_filter = [TermFilter, "student__school__stage"]
    search_fields = ["student__name", "student__student_number__iendswith", "recorded_by__full_name"]
    list_select_related = ["student__school", "term__school_year", "recorded_by"]
    date_hierarchy = "filled_at"

    def audit_student_of(self, obj: Any) -> int | None:
        return obj.student_id

    @admin.display(description="学校", ordering="student__school__name")
    def school(self, card: FiveThreeCard) -> str:
        return card.student.school.name


# --- Reminder deliveries -------------------------------------------------------------------------


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the email/webhook digests, so that the admin sees which failed and why. The in-app
    notifications are unaffected by a failed delivery; a pending row is retried by itself."""

    list_display = ["day", "recipient", "channel", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = ["status", "channel", "day"]
    search_fields = ["recipient__username", "recipient__full_name", "last_error"]
    date_hierarchy = "day"
    list_select_related = ["recipient"]


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: which school weeks' reminder sweeps ran, which ran late (beat or the worker was
    down that morning) and which were too old to catch up and were skipped."""

    list_display = [
        "week_monday",
        "term",
        "first_school_day",
        "swept_on",
        "outcome",
        "reminders_created",
        "notifications_created",
        "done_at",
    ]
    list_filter = ["outcome", "term"]
    date_hierarchy = "week_monday"
    list_select_related = ["term__school_year"]


@admin.register(ReminderPreference)
class ReminderPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email"]
    list_filter = ["email"]
    search_fields = ["user__username", "user__full_name"]
    raw_id_fields = ["user"]


# --- 心理健康档案 --------------------------------------------------------------------------------


class CounsellingAdmin(FieldPolicyAdminMixin, AuditedReadAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """心理健康档案 rows, only looked up here (written on the pages through guidance.counselling):
    offered only to readers of FieldGroup.COUNSELLING (designated county staff; never the 系统管理员
    role), scoped like the pages, every opened row written to the audit log."""

    audit_detail = "心理健康档案"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: Any = super().get_queryset(request)  # a ScopedQuerySet: each model's manager
        return queryset.visible_to(request.user)

    def audit_student_of(self, obj: Any) -> int | None:
        return getattr(obj, "student_id", None)


@admin.register(PsychFile)
class PsychFileAdmin(CounsellingAdmin):
    list_display = ["student", "risk_level", "risk_set_at", "follow_up_wanted"]
    list_filter = ["risk_level", "follow_up_wanted"]
    list_select_related = ["student"]


@admin.register(CounsellingRecord)
class CounsellingRecordAdmin(CounsellingAdmin):
    list_display = ["date", "school", "kind", "mode", "counsellor", "duration_minutes"]
    list_filter = ["kind", "mode"]
    list_select_related = ["school", "counsellor"]


@admin.register(CounsellingRequest)
class CounsellingRequestAdmin(CounsellingAdmin):
    list_display = ["student", "requested_by", "status", "created_at", "handled_at"]
    list_filter = ["status"]
    list_select_related = ["student", "requested_by"]


@admin.register(PsychAssessment)
class PsychAssessmentAdmin(CounsellingAdmin):
    list_display = ["student", "scale", "taken_on", "score"]
    list_filter = ["scale"]
    list_select_related = ["student"]


@admin.register(RiskLevelChange)
class RiskLevelChangeAdmin(CounsellingAdmin):
    list_display = ["student", "previous_level", "level", "set_by", "set_at"]
    list_filter = ["level"]
    list_select_related = ["student", "set_by"]


@admin.register(TalkRecordFlag)
class TalkRecordFlagAdmin(FieldPolicyAdminMixin, AuditedReadAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Record-quality flags: found by the nightly check and handled on the officer's review page
    (quality.flag_return / flag_clear), only looked up here."""

    audit_detail = "记录质量疑点"
    list_display = ["talk", "kind", "status", "detected_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["talk__pairing__student"]
    search_fields = ["talk__pairing__student__name"]

    def audit_student_of(self, obj: Any) -> int | None:
        return obj.talk.pairing.student_id
