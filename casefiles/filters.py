"""The case-file pages' FilterSets, shared by a page and its report so that the two cannot disagree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, cast

import django_filters
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from guidance.filters import CountyPlacesFilterSet
from pairing.models import EnrollmentStatus, School, Stage, Student, Town

from .dropouts import ChildMatch
from .models import (
    ChildVerification,
    DropoutSource,
    Referral,
    ReferralDepartment,
    ReferralQuerySet,
    ReferralStatus,
    SchoolAgeChild,
    SuspectedDropout,
    SuspectedStatus,
    WarningFlag,
    WarningSign,
)


class ReviewProgressFilter(CountyPlacesFilterSet):
    """档案审核进度's filters: the students' town, school and stage (a student belongs to her school,
    as her officer reviews her file). Only the viewer's schools are offered; an officer's report is
    her school's already, so the place filters are dropped for her."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="school", queryset=School.objects.none(), empty_label="全部学校"
    )
    stage = django_filters.ChoiceFilter(
        label="学段", field_name="school__stage", choices=Stage.choices, empty_label="全部学段"
    )

    class Meta:
        model = Student
        fields: list[str] = []

    county_only = ("town", "school", "stage")


class LedgerState(models.TextChoices):
    """A row of the 辍学学生台账 (casefiles/recovery_selectors.py annotates it as ``recovery_state``)."""

    NO_PLAN = "no_plan", "待建方案"
    OPEN = "open", "劝返中"
    TO_CLOSE = "to_close", "学籍已复学,待销号"
    RETURNED = "returned", "已返校销号"
    OTHER = "other", "其他销号"


class RecoveryLedgerFilter(CountyPlacesFilterSet):
    """辍学学生台账's filters (the page and its report): town and school for county staff, the row's
    state, overdue or not (RecoveryCaseQuerySet.overdue, annotated ``recovery_overdue``)."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="school", queryset=School.objects.none(), empty_label="全部学校"
    )
    state = django_filters.ChoiceFilter(
        label="状态", field_name="recovery_state", choices=LedgerState.choices, empty_label="全部状态"
    )
    overdue = django_filters.ChoiceFilter(
        label="是否逾期", choices=(("yes", "已逾期"), ("no", "未逾期")), empty_label="全部", method="filter_overdue"
    )

    class Meta:
        model = Student
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet[Student], name: str, value: str) -> QuerySet[Student]:
        return queryset.filter(Q(recovery_overdue=value == "yes"))  # annotated by recovery_selectors.ledger_students


class ReferralFilter(CountyPlacesFilterSet):
    """转介's list and its ledger (转介台账): the student's town and school (county staff only), the
    department, the status, 逾期 (ReferralQuerySet.overdue) and a student's name."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="student__school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="student__school", queryset=School.objects.none(), empty_label="全部学校"
    )
    department = django_filters.ModelChoiceFilter(
        label="部门", queryset=ReferralDepartment.objects.order_by("order", "name"), empty_label="全部部门"
    )
    status = django_filters.ChoiceFilter(label="状态", choices=ReferralStatus.choices, empty_label="全部状态")
    overdue = django_filters.ChoiceFilter(
        label="逾期", choices=(("1", "仅逾期未答复"),), empty_label="全部", method="filter_overdue"
    )
    q = django_filters.CharFilter(label="学生姓名", field_name="student__name", lookup_expr="contains", max_length=30)

    class Meta:
        model = Referral
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == "1":
            return cast(ReferralQuerySet, queryset).overdue(timezone.localdate())
        return queryset


# --- 控辍保学 ledgers (casefiles/dropout_selectors.py) ----------------------------------------------------


class SchoolAgeChildFilter(django_filters.FilterSet):
    """适龄儿童台账's filters: the town (a town's view), how the child matched our rolls, the 核实."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    match = django_filters.ChoiceFilter(
        label="匹配情况", choices=ChildMatch.choices, method="filter_match", empty_label="全部"
    )
    verification = django_filters.ChoiceFilter(
        label="核实情况", field_name="verification", choices=ChildVerification.choices, empty_label="全部"
    )
    name = django_filters.CharFilter(label="姓名", field_name="name", lookup_expr="contains", max_length=20)

    class Meta:
        model = SchoolAgeChild
        fields: list[str] = []

    def filter_match(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == ChildMatch.UNMATCHED:
            return queryset.filter(student_status__isnull=True)
        if value == ChildMatch.LEFT:
            return queryset.filter(student_status__in=[EnrollmentStatus.TRANSFERRED, EnrollmentStatus.GRADUATED])
        return queryset.filter(student_status=value)


IN_WEEK_CHOICES = (("yes", "当周登记"), ("no", "逾期登记"))


class SuspectedDropoutFilter(CountyPlacesFilterSet):
    """疑似辍学学生台账's filters; county staff also pick the town and school (and see late entries)."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="school", queryset=School.objects.none(), empty_label="全部学校"
    )
    status = django_filters.ChoiceFilter(label="状态", choices=SuspectedStatus.choices, empty_label="全部状态")
    source = django_filters.ChoiceFilter(label="来源", choices=DropoutSource.choices, empty_label="全部来源")
    in_week = django_filters.ChoiceFilter(
        label="是否当周登记", choices=IN_WEEK_CHOICES, method="filter_in_week", empty_label="全部"
    )

    class Meta:
        model = SuspectedDropout
        fields: list[str] = []

    def filter_in_week(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(entered_in_week=(value == "yes"))


def _recent_months() -> list[tuple[str, str]]:
    month = timezone.localdate().replace(day=1)
    choices = []
    for _ in range(18):
        choices.append((f"{month:%Y-%m}", f"{month:%Y年%m月}"))
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return choices


def _recent_quarters() -> list[tuple[str, str]]:
    today = timezone.localdate()
    year, number = today.year, (today.month - 1) // 3 + 1
    choices = []
    for _ in range(8):
        choices.append((f"{year}-Q{number}", f"{year}年第{number}季度"))
        year, number = (year, number - 1) if number > 1 else (year - 1, 4)
    return choices


class DatedChoices(Sequence[tuple[str, str]]):
    """Choices that depend on today (the last months or quarters), computed at each read: the page's
    select, and ``export_report --list`` which prints a filter's choices."""

    def __init__(self, make: Callable[[], list[tuple[str, str]]]) -> None:
        self.make = make

    def __getitem__(self, index: Any) -> Any:
        return self.make()[index]

    def __len__(self) -> int:
        return len(self.make())


class DropoutSchoolFilter(CountyPlacesFilterSet):
    """月报 and 季度复核's filters, over the compulsory-education schools: town, school, the month (the
    grid's last column) or the quarter."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", queryset=School.objects.none(), method="filter_school", empty_label="全部学校"
    )
    month = django_filters.ChoiceFilter(
        label="截至月份", choices=DatedChoices(_recent_months), method="keep", empty_label="本月"
    )
    quarter = django_filters.ChoiceFilter(
        label="季度", choices=DatedChoices(_recent_quarters), method="keep", empty_label="本季度"
    )

    class Meta:
        model = School
        fields: list[str] = []

    def filter_school(self, queryset: QuerySet[Any], name: str, value: School) -> QuerySet[Any]:
        return queryset.filter(pk=value.pk)

    def keep(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset  # read by the selector, not a condition on the schools


# --- 预警学生 (casefiles/early_warning.py) ------------------------------------------------------------


class WarningFlagFilter(CountyPlacesFilterSet):
    """预警学生's filters, the page's and the report's: the sign, the state, the student's name, and
    for county staff the student's town, school and stage."""

    STATES = (("open", "待处理"), ("handled", "已处理(信号仍在)"), ("ended", "信号已消失"))

    sign = django_filters.ChoiceFilter(label="预警信号", choices=WarningSign.choices, empty_label="全部信号")
    state = django_filters.ChoiceFilter(
        label="状态", choices=STATES, method="filter_state", empty_label="当前预警(待处理与已处理)"
    )
    name = django_filters.CharFilter(label="学生姓名", field_name="student__name", lookup_expr="contains")
    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="student__school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="student__school", queryset=School.objects.none(), empty_label="全部学校"
    )
    stage = django_filters.ChoiceFilter(
        label="学段", field_name="student__school__stage", choices=Stage.choices, empty_label="全部学段"
    )

    class Meta:
        model = WarningFlag
        fields: list[str] = []

    county_only = ("town", "school", "stage")

    def filter_state(self, queryset: Any, name: str, value: str) -> Any:
        if value == "open":
            return queryset.filter(ended_on__isnull=True, handled_at__isnull=True)
        if value == "handled":
            return queryset.filter(ended_on__isnull=True, handled_at__isnull=False)
        return queryset.filter(ended_on__isnull=False)

    @property
    def qs(self) -> Any:
        """Without a state chosen: the current flags (an ended episode is history)."""
        queryset = super().qs
        if not (self.form.is_valid() and self.form.cleaned_data.get("state")):
            queryset = queryset.filter(ended_on__isnull=True)
        return queryset
