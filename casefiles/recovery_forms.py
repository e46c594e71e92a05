"""劝返 一人一案's forms: the plan (open and edit), an attempt (fits a phone: the teacher records it
on her way back from the family), and the 销号. Each gives friendly messages; the rules are the
services' (casefiles/recovery.py), whose refusals land at these fields."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms

from pairing.models import Teacher

from .models import RecoveryMethod, RecoveryParty

DATE_ERRORS = {"invalid": "日期格式应为 2026-11-16。"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    return helper


class RecoveryPlanForm(forms.Form):
    opened_on = forms.DateField(
        label="建案日期",
        widget=DateInput(),
        required=False,
        help_text="默认为辍学日期。",
        error_messages=DATE_ERRORS,
    )
    leave_reason = forms.CharField(
        label="辍学原因",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写辍学原因。", "max_length": "辍学原因不能超过500字。"},
    )
    teacher = forms.TypedChoiceField(label="帮扶教师", coerce=int, required=False, empty_value=None)
    head_teacher = forms.CharField(label="班主任", max_length=50, required=False, help_text="姓名")
    village_cadre = forms.CharField(
        label="村(社区)干部", max_length=60, required=False, help_text="姓名及职务,如:王建国(村委会主任)"
    )
    officer = forms.TypedChoiceField(label="负责资助专干", coerce=int, required=False, empty_value=None)
    next_step = forms.CharField(label="下一步措施", max_length=200, required=False)
    next_step_due = forms.DateField(
        label="下一步完成日期", widget=DateInput(), required=False, error_messages=DATE_ERRORS
    )

    def __init__(self, *args: Any, school_id: int, officers: list[Any], editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teachers = Teacher.objects.filter(school_id=school_id, user__is_active=True).select_related("user")
        self.fields["teacher"].choices = [("", "(未指定)"), *((t.pk, t.name) for t in teachers)]  # type: ignore[attr-defined]
        self.fields["officer"].choices = [("", "(未指定)"), *((u.pk, u.get_full_name()) for u in officers)]  # type: ignore[attr-defined]
        if editing:
            del self.fields["opened_on"]
        self.helper = _helper()

    def service_values(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        if "opened_on" in values and values["opened_on"] is None:
            del values["opened_on"]
        return values


class RecoveryAttemptForm(forms.Form):
    date = forms.DateField(
        label="劝返日期", widget=DateInput(), error_messages={"required": "请填写劝返日期。", **DATE_ERRORS}
    )
    method = forms.ChoiceField(
        label="劝返方式",
        choices=RecoveryMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择劝返方式。", "invalid_choice": "请选择劝返方式。"},
    )
    with_whom = forms.ChoiceField(
        label="劝返对象",
        choices=RecoveryParty.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择劝返对象。", "invalid_choice": "请选择劝返对象。"},
    )
    who = forms.CharField(
        label="劝返人员", max_length=100, required=False, help_text="留空即为您本人;多人请用顿号分隔。"
    )
    outcome = forms.CharField(
        label="劝返情况与结果",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "请填写劝返情况与结果。", "max_length": "不能超过500字。"},
    )
    next_step = forms.CharField(
        label="下一步措施", max_length=200, required=False, help_text="填写后替换方案中的下一步措施。"
    )
    next_step_due = forms.DateField(
        label="下一步完成日期", widget=DateInput(), required=False, error_messages=DATE_ERRORS
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class CloseKind:
    RETURNED = "returned"
    OTHER = "other"


class RecoveryCloseForm(forms.Form):
    """销号: on return (the date and the class: the 学籍 goes back to 在校 from that day), or otherwise
    with its reason. One form: the fields of the other kind are ignored."""

    kind = forms.ChoiceField(
        label="销号方式",
        choices=((CloseKind.RETURNED, "已返校(动态销号)"), (CloseKind.OTHER, "其他销号(转学外县、超龄等)")),
        widget=forms.RadioSelect,
        initial=CloseKind.RETURNED,
        error_messages={"required": "请选择销号方式。", "invalid_choice": "请选择销号方式。"},
    )
    returned_on = forms.DateField(label="返校日期", widget=DateInput(), required=False, error_messages=DATE_ERRORS)
    returned_class = forms.CharField(label="返回班级", max_length=30, required=False, help_text="如:七年级3班")
    closed_on = forms.DateField(label="销号日期", widget=DateInput(), required=False, error_messages=DATE_ERRORS)
    reason = forms.CharField(label="说明", max_length=200, required=False, help_text="其他销号须写明原因。")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == CloseKind.RETURNED:
            if not data.get("returned_on") and "returned_on" not in self.errors:
                self.add_error("returned_on", "请填写返校日期。")
            if not data.get("returned_class"):
                self.add_error("returned_class", "请填写返回的班级。")
        elif data.get("kind") == CloseKind.OTHER:
            if not data.get("closed_on") and "closed_on" not in self.errors:
                self.add_error("closed_on", "请填写销号日期。")
            if not data.get("reason"):
                self.add_error("reason", "请写明销号原因(如转学外县、超龄)。")
        return data
