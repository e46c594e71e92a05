"""FilterSets applied inside selectors (a list page and any export share one queryset)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from pairing.filters import offer_schools
from pairing.models import Pairing, School, Stage, Town
from zaoyang_aid.access import scope_of

from .models import FlagKind, FlagStatus, ReminderKind, ReminderLevel, TalkRecord, TalkRecordFlag


class TalkRecordFlagFilter(django_filters.FilterSet):
    """The review queue's filters: kind and status; county staff also pick a town and school (an
    officer's queue is their school's already, so the place filters are dropped for them)."""

    kind = django_filters.ChoiceFilter(label="疑点", choices=FlagKind.choices, empty_label="全部疑点")
    status = django_filters.ChoiceFilter(label="状态", choices=FlagStatus.choices, empty_label="全部状态")
    town = django_filters.ModelChoiceFilter(
        label="乡镇",
        field_name="talk__pairing__student__school__town",
        queryset=Town.objects.order_by("code"),
        empty_label="全部乡镇",
    )
    school = django_filters.ModelChoiceFilter(
        label="学校",
        field_name="talk__pairing__student__school",
        queryset=School.objects.none(),
        empty_label="全部学校",
    )
    # One student's flags: the link from a case file's term review ("标记的记录已答复" failing).
    student = django_filters.NumberFilter(
        label="学生", field_name="talk__pairing__student_id", widget=forms.HiddenInput, min_value=1
    )

    class Meta:
        model = TalkRecordFlag
        fields = ["kind", "status", "town", "school", "student"]

    def __init__(self, data: Any = None, queryset: QuerySet[TalkRecordFlag] | None = None, *, user: Any) -> None:
        super().__init__(data, queryset=queryset)
        if scope_of(user).is_county_wide:
            offer_schools(self, user, data)
        else:
            del self.filters["town"], self.filters["school"]


class CountyPlacesFilterSet(django_filters.FilterSet):
    """Reports' place filters: county staff pick among the schools they may see; for an officer, whose
    file is her school's already, the filters named in ``county_only`` are dropped."""

    county_only: tuple[str, ...] = ("town", "school")

    def __init__(self, data: Any = None, *args: Any, request_user: Any = None, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        if scope_of(request_user).is_county_wide:
            offer_schools(self, request_user, data)  # the chosen town's schools (pairing/filters.py)
        else:
            for name in self.county_only:
                del self.filters[name]


class SchoolComplianceFilter(CountyPlacesFilterSet):
    """The 五导 compliance report's filters (per school): by town, school and stage. A pairing
    belongs to its teacher's school and that school's town, as on the county dashboard, so the
    report's lines add up to the dashboard's. Only the viewer's schools are offered; an officer's
    report is her school's already, so the school filter is dropped for her."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="teacher__school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="teacher__school", queryset=School.objects.none(), empty_label="全部学校"
    )
    stage = django_filters.ChoiceFilter(
        label="学段", field_name="teacher__school__stage", choices=Stage.choices, empty_label="全部学段"
    )

    class Meta:
        model = Pairing
        fields: list[str] = []

    county_only = ("town", "school", "stage")


class PairingRecordReportFilter(CountyPlacesFilterSet):
    """The detail reports' filters (talks, home visits, excused weeks, reminders: rows hanging off a
    pairing): by the student's town and school (a record belongs to its student's school, as a
    school's officer reads it). The term is the report's own. Only the viewer's schools are offered;
    an officer's file is her school's already, so the town and school filters are dropped for her."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇",
        field_name="pairing__student__school__town",
        queryset=Town.objects.order_by("code"),
        empty_label="全部乡镇",
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="pairing__student__school", queryset=School.objects.none(), empty_label="全部学校"
    )

    class Meta:
        model = TalkRecord  # the filters' paths are alike on HomeVisit, ExcusedWeek and Reminder
        fields: list[str] = []

    county_only = ("town", "school")


class ReminderReportFilter(PairingRecordReportFilter):
    """The reminder record's filters: besides town and school, the kind, the level reached and
    whether it is still open."""

    kind = django_filters.ChoiceFilter(label="类型", choices=ReminderKind.choices, empty_label="全部类型")
    level = django_filters.ChoiceFilter(  # keys as the query string carries them, so the file names the level
        label="级别", choices=[(str(value), label) for value, label in ReminderLevel.choices], empty_label="全部级别"
    )
    state = django_filters.ChoiceFilter(
        label="处理情况",
        choices=(("open", "未处理"), ("acknowledged", "已确认"), ("resolved", "已补记")),
        empty_label="全部",
        method="filter_state",
    )

    def filter_state(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value == "open":
            return queryset.filter(resolved_at__isnull=True, acknowledged_at__isnull=True)
        if value == "acknowledged":
            return queryset.filter(resolved_at__isnull=True, acknowledged_at__isnull=False)
        return queryset.filter(resolved_at__isnull=False)
