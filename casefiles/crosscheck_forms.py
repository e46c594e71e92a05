"""部门名单比对's forms: the upload (the list is read while the form is cleaned, so that a refused
file or a list without ID numbers is told at the file field) and a proposal's decision."""

from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from .crosscheck import DepartmentListRead, read_department_list
from .models import DepartmentList


class DepartmentListForm(forms.Form):
    kind = forms.ChoiceField(
        label="名单类别",
        choices=[("", "请选择"), *DepartmentList.choices],
        error_messages={"required": "请选择名单类别。"},
    )
    complete = forms.BooleanField(
        label="这是该部门的完整名单",
        required=False,
        help_text="勾选:名单包含{scope}全部对象,本学期认定中有该类别而不在名单上的学生会被建议取消该类别。"
        "不勾选:只建议增加类别,不建议取消。",
    )
    file = forms.FileField(
        label="名单文件",
        help_text="部门导出的Excel文件(.xls或.xlsx),按身份证号比对;文件只在比对时读取,不保存。",
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xls,.xlsx,application/vnd.ms-excel,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
        error_messages={"required": "请选择要比对的名单文件。", "empty": "文件是空的,请重新选择文件。"},
    )

    def __init__(self, *args: Any, county_wide: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        complete = self.fields["complete"]
        complete.help_text = str(complete.help_text).format(scope="全市" if county_wide else "本校学生中的")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.read: DepartmentListRead | None = None

    def clean_file(self) -> UploadedFile:
        upload = cast(UploadedFile, self.cleaned_data["file"])
        try:
            self.read = read_department_list(upload, max_bytes=settings.DEPARTMENT_LIST_MAX_BYTES)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        return upload


class DecisionForm(forms.Form):
    """A proposal's decision: the note, and for a student without a 认定 of the term the level and
    date that confirming an added category needs (the service says when they are missing)."""

    level = forms.IntegerField(required=False, min_value=1, error_messages={"invalid": "请选择困难等级。"})
    decided_on = forms.DateField(required=False, error_messages={"invalid": "认定日期格式应为 2026-11-16。"})
    note = forms.CharField(required=False, max_length=200, error_messages={"max_length": "说明不超过200字。"})
