"""Forms of 预警: the officer's 处理, a family event, the county's thresholds."""

from __future__ import annotations

from typing import Any

import django_filters
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from guidance.filters import CountyPlacesFilterSet
from pairing.models import School, Stage, Town

from .models import FamilyEvent, WarningFlag, WarningSettings, WarningSign


class WarningHandleForm(forms.Form):
    action = forms.CharField(
        label="采取的措施",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "如:已与家长电话沟通,包保教师本周家访并加强学业辅导"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "登记处理", css_class="btn-primary w-100"))


class FamilyEventForm(forms.ModelForm):
    class Meta:
        model = FamilyEvent
        fields = ["kind", "occurred_on", "note"]
        widgets = {
            "occurred_on": forms.DateInput(attrs={"type": "date"}),
            "note": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "保存", css_class="btn-primary w-100"))


class WarningSettingsForm(forms.ModelForm):
    class Meta:
        model = WarningSettings
        fields = [
            "absence_days",
            "result_drop_points",
            "mood_keywords",
            "mood_talks",
            "missed_weeks",
            "family_event_days",
        ]
        widgets = {"mood_keywords": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "保存阈值", css_class="btn-primary"))


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
