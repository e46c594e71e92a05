"""部门联动's forms: a referral, and a department's answer recorded on its behalf. They give the
fields and their Chinese messages; the rules are casefiles.referral_services' (the view puts a
service's ValidationError at its field)."""

from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.utils import timezone

from pairing.models import EnrollmentStatus, Student, Teacher

from .models import AidSource, Referral, ReferralDepartment
from .referral_services import NEXT_STATUSES

DATE_MESSAGES = {"invalid": "日期格式应为 2026-11-16。"}


class DateInput(forms.DateInput):
    """The browser's date picker, which reads and writes 2026-11-16 whatever the locale."""

    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ReferralForm(forms.Form):
    student = forms.ModelChoiceField(
        label="学生", queryset=Student.objects.none(), error_messages={"required": "请选择学生。"}
    )
    department = forms.ModelChoiceField(
        label="转介部门",
        queryset=ReferralDepartment.objects.filter(is_active=True).order_by("order", "name"),
        empty_label="请选择",
        error_messages={"required": "请选择转介部门。", "invalid_choice": "请选择转介部门。"},
    )
    referred_on = forms.DateField(
        label="转介日期", widget=DateInput, error_messages={"required": "请填写转介日期。", **DATE_MESSAGES}
    )
    due_on = forms.DateField(
        label="答复期限", required=False, widget=DateInput, error_messages=DATE_MESSAGES, help_text=""
    )
    reason = forms.CharField(
        label="需要帮助解决的问题",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "请写明需要部门帮助解决的问题。", "max_length": "不超过1000字。"},
    )
    contact_teacher = forms.ModelChoiceField(
        label="联系教师",
        queryset=Teacher.objects.none(),
        required=False,
        empty_label="包保教师(默认)",
        help_text="印在转介单上,部门可与其联系。",
    )

    def __init__(self, *args: Any, school_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("referred_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        students = Student.objects.filter(school_id=school_id).exclude(
            enrollment_status__in=(EnrollmentStatus.TRANSFERRED, EnrollmentStatus.GRADUATED)
        )
        student = cast(forms.ModelChoiceField, self.fields["student"])
        student.queryset = students.order_by("grade", "class_name", "name")
        student.label_from_instance = lambda s: f"{s.name}({s.class_label})"  # type: ignore[method-assign,assignment]
        self.fields["contact_teacher"].queryset = (  # type: ignore[attr-defined]
            Teacher.objects.filter(school_id=school_id, user__is_active=True)
            .select_related("user")
            .order_by("user__full_name")
        )
        self.fields["due_on"].help_text = f"不填则为转介日期后{settings.REFERRAL_DUE_DAYS}天。"
        self.helper = FormHelper()
        self.helper.form_tag = False


class ReferralUpdateForm(forms.Form):
    on = forms.DateField(label="日期", widget=DateInput, error_messages={"required": "请填写日期。", **DATE_MESSAGES})
    status = forms.ChoiceField(label="办理状态", error_messages={"required": "请选择办理状态。"})
    note = forms.CharField(
        label="办理情况/结果",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "不超过1000字。"},
    )
    help_text = forms.CharField(
        label="获得的帮扶(非资金)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="如:办理残疾证、安排志愿者辅导、赠送学习用品。",
        error_messages={"max_length": "不超过500字。"},
    )
    aid_item = forms.CharField(
        label="资助项目",
        required=False,
        max_length=60,
        help_text="部门发放的资金(如临时救助金),记入帮扶档案的资助发放。",
        error_messages={"max_length": "不超过60字。"},
    )
    aid_amount = forms.DecimalField(
        label="金额(元)",
        required=False,
        max_digits=8,
        decimal_places=2,
        min_value=0.01,
        error_messages={
            "invalid": "请填写金额,如 500 或 500.00。",
            "min_value": "金额应大于0。",
            "max_digits": "金额过大。",
            "max_decimal_places": "金额最多两位小数。",
        },
    )
    aid_source = forms.ChoiceField(label="资金来源", choices=AidSource.choices, initial=AidSource.LOCAL)
    due_on = forms.DateField(
        label="答复期限", widget=DateInput, error_messages={"required": "请填写答复期限。", **DATE_MESSAGES}
    )

    def __init__(self, *args: Any, referral: Referral, **kwargs: Any) -> None:
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("on", timezone.localdate())
        initial.setdefault("due_on", referral.due_on)
        nexts = NEXT_STATUSES.get(referral.status, ())
        initial.setdefault("status", next((s for s in nexts if s != referral.status), referral.status))
        super().__init__(*args, **kwargs)
        labels = dict(Referral._meta.get_field("status").choices or ())
        self.fields["status"].choices = [(s, labels[s]) for s in nexts]  # type: ignore[attr-defined]
        self.helper = FormHelper()
        self.helper.form_tag = False
