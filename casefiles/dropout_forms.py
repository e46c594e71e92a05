"""控辍保学 ledgers' forms: they give the friendly message at the field; the rules are the services'
(casefiles/dropouts.py), whose ValidationErrors ``add_service_errors`` puts at the same fields."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from pairing.models import EnrollmentStatus, School, Student, Town
from zaoyang_aid import calendar

from .dropout_lists import read_school_age_list
from .dropouts import COMPULSORY_STAGES, RESOLUTIONS, quarter_label, quarter_of
from .imports.rows import Roster
from .models import ChildVerification, DropoutSource, RecheckStatus

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_ERRORS = {"invalid": "日期格式应为 2026-11-16。", "required": "请填写日期。"}


def add_service_errors(form: forms.Form, exc: ValidationError, names: dict[str, str] | None = None) -> None:
    """A service's ValidationError at the form's fields (``names`` maps the service's keys)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        name = (names or {}).get(key, key)
        form.add_error(name if name in form.fields else None, errors)


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


# --- 适龄儿童台账 ------------------------------------------------------------------------------------


class SchoolAgeListForm(_Form):
    town = forms.ModelChoiceField(
        label="乡镇(街道)",
        queryset=Town.objects.order_by("code"),
        empty_label="请选择",
        error_messages={"required": "请选择名单所属的乡镇。", "invalid_choice": "请选择名单所属的乡镇。"},
    )
    year = forms.IntegerField(
        label="适龄基准年度",
        min_value=2020,
        max_value=2100,
        help_text="按该年9月1日计算年龄,6至15周岁为义务教育适龄儿童。",
        error_messages={"required": "请填写年度。", "invalid": "请填写四位年份。"},
    )
    file = forms.FileField(
        label="名单文件",
        help_text="乡镇或公安提供的Excel(.xls或.xlsx):姓名、身份证号为必填列,可含出生日期、性别、村(社区)、监护人、"
        "联系电话。同一乡镇再次上传时按身份证号更新,不会重复。",
        widget=forms.ClearableFileInput(attrs={"accept": ".xls,.xlsx"}),
        error_messages={"required": "请选择名单文件。", "empty": "文件是空的,请重新选择文件。"},
    )
    skip_bad = forms.BooleanField(
        label="跳过有错误的行,只导入无误的行",
        required=False,
        help_text="不勾选时,只要有一行有错误就不导入任何一行。",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = calendar.school_year_start(timezone.localdate())
        self.roster: Roster | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload, town, year = data.get("file"), data.get("town"), data.get("year")
        if upload is None or town is None or year is None:
            return data
        try:
            self.roster = read_school_age_list(
                cast(UploadedFile, upload),
                year=year,
                town_name=town.name,
                max_bytes=settings.SCHOOL_AGE_LIST_MAX_MB * 1024 * 1024,
            )
        except ValidationError as exc:
            self.add_error("file", exc.messages)
            return data
        if self.roster.header.errors:
            self.add_error("file", [str(e) for e in self.roster.header.errors])
        elif not self.roster.rows:
            self.add_error("file", "名单中没有读到任何儿童。")
        elif self.roster.errors and not data.get("skip_bad"):
            self.add_error(
                None,
                f"名单中有{len(self.roster.errors)}处错误,未导入任何一行。请修改后重新上传,或勾选“跳过有错误的行”。",
            )
        elif not self.roster.clean_rows:
            self.add_error("file", "名单中没有无误的行可以导入。")
        return data


class VerifyForm(_Form):
    verification = forms.ChoiceField(
        label="核实情况", choices=ChildVerification.choices, error_messages={"required": "请选择核实情况。"}
    )
    on = forms.DateField(label="核实日期", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    note = forms.CharField(
        label="说明",
        required=False,
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": "说明不超过200字。"},
    )


# --- 疑似辍学 -----------------------------------------------------------------------------------------


class AbsenceNoteForm(_Form):
    date_from = forms.DateField(label="缺勤起始日", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    days = forms.IntegerField(
        label="缺勤天数(上学日)",
        min_value=1,
        max_value=30,
        initial=1,
        error_messages={
            "required": "请填写缺勤天数。",
            "min_value": "缺勤天数至少1天。",
            "max_value": "缺勤天数不超过30天。",
            "invalid": "请填写整数天数。",
        },
    )
    with_leave = forms.BooleanField(label="已请假", required=False)
    note = forms.CharField(
        label="情况说明",
        required=False,
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="如:电话联系家长,称外出打工;家长不知去向。",
        error_messages={"max_length": "情况说明不超过200字。"},
    )

    def clean_date_from(self) -> dt.date:
        day: dt.date = self.cleaned_data["date_from"]
        if day > timezone.localdate():
            raise ValidationError("缺勤起始日不能晚于今天。")
        return day


class SuspectedForm(_Form):
    student = forms.ModelChoiceField(
        label="学生",
        queryset=Student.objects.none(),
        empty_label="请选择",
        error_messages={"required": "请选择学生。", "invalid_choice": "请选择本校在校学生。"},
    )
    first_absent_on = forms.DateField(label="首次缺勤日期", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    days_absent = forms.IntegerField(
        label="无故缺勤天数",
        min_value=1,
        max_value=60,
        error_messages={
            "required": "请填写无故缺勤天数。",
            "min_value": "至少1天。",
            "max_value": "不超过60天。",
            "invalid": "请填写整数天数。",
        },
    )
    source = forms.ChoiceField(
        label="来源",
        choices=DropoutSource.choices,
        initial=DropoutSource.SCHOOL,
        error_messages={"required": "请选择来源。"},
    )
    entered_on = forms.DateField(label="登记日期", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    note = forms.CharField(
        label="情况说明",
        required=False,
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": "情况说明不超过200字。"},
    )

    def __init__(self, *args: Any, school_id: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["student"])
        students = Student.objects.filter(school_id=school_id) if school_id else Student.objects.none()
        field.queryset = students.filter(enrollment_status=EnrollmentStatus.ENROLLED).order_by(
            "grade", "class_name", "name"
        )
        field.label_from_instance = lambda s: f"{s.grade}年级{s.class_name} {s.name}"  # type: ignore[method-assign,assignment]
        self.fields["entered_on"].initial = timezone.localdate()


class ResolveForm(_Form):
    status = forms.ChoiceField(
        label="处理结果",
        choices=[(s.value, s.label) for s in RESOLUTIONS],
        widget=forms.RadioSelect,
        error_messages={"required": "请选择处理结果。"},
    )
    on = forms.DateField(label="日期(返校、补假或辍学之日)", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    note = forms.CharField(
        label="情况说明",
        required=False,
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="确认辍学时必填,记入学籍变动原因。",
        error_messages={"max_length": "情况说明不超过200字。"},
    )


class ConfirmForm(_Form):
    first_absent_on = forms.DateField(label="首次缺勤日期", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    days_absent = forms.IntegerField(
        label="无故缺勤天数",
        min_value=1,
        max_value=60,
        error_messages={
            "required": "请填写无故缺勤天数。",
            "min_value": "至少1天。",
            "max_value": "不超过60天。",
            "invalid": "请填写整数天数。",
        },
    )


class DismissForm(_Form):
    note = forms.CharField(
        label="不予登记的原因",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "请填写不予登记的原因。", "max_length": "说明不超过200字。"},
    )


# --- 月报 and 季度复核 ---------------------------------------------------------------------------------


class MonthlySubmitForm(_Form):
    month = forms.DateField(
        widget=forms.HiddenInput, error_messages={"required": "请选择月份。", "invalid": "请选择月份。"}
    )
    note = forms.CharField(
        label="说明",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": "说明不超过500字。"},
    )


def _quarters() -> list[tuple[str, str]]:
    quarter = quarter_of(timezone.localdate())
    choices = []
    for _ in range(4):
        choices.append((quarter.isoformat(), quarter_label(quarter)))
        quarter = quarter_of(quarter - dt.timedelta(days=1))
    return choices


class RecheckForm(_Form):
    school = forms.ModelChoiceField(
        label="学校",
        queryset=School.objects.filter(stage__in=COMPULSORY_STAGES).order_by("town__code", "name"),
        empty_label="请选择",
        error_messages={"required": "请选择学校。", "invalid_choice": "请选择学校(小学或初中)。"},
    )
    quarter = forms.TypedChoiceField(
        label="季度",
        choices=_quarters,
        coerce=dt.date.fromisoformat,
        error_messages={"required": "请选择季度。", "invalid_choice": "请选择季度。"},
    )
    checked_on = forms.DateField(label="复核日期", widget=DATE_INPUT, error_messages=DATE_ERRORS)
    status = forms.ChoiceField(
        label="复核结果", choices=RecheckStatus.choices, error_messages={"required": "请选择复核结果。"}
    )
    discrepancies = forms.IntegerField(
        label="台账不一致数",
        min_value=0,
        initial=0,
        error_messages={
            "required": "请填写不一致数(没有填0)。",
            "min_value": "不能为负数。",
            "invalid": "请填写整数。",
        },
    )
    findings = forms.CharField(
        label="复核发现",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "复核发现不超过500字。"},
    )
    fixed_on = forms.DateField(
        label="整改完成日期", required=False, widget=DATE_INPUT, error_messages=DATE_ERRORS, help_text="已整改时必填。"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["checked_on"].initial = timezone.localdate()
