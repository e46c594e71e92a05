"""Forms of 预警: the officer's 处理, a family event, the county's thresholds."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from .models import FamilyEvent, WarningSettings


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
