"""The case-file pages' FilterSets, shared by a page and its report so that the two cannot disagree."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from guidance.filters import CountyPlacesFilterSet
from pairing.models import School, Stage, Student, Town

from .models import Referral, ReferralDepartment, ReferralQuerySet, ReferralStatus


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
