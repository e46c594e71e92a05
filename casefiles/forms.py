"""The review's forms: each posts the version it read (the optimistic lock); the services check."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms

from .checklist import ITEMS
from .models import ReviewStatus
from .services import BODY_MAX, NOTE_MAX


def bare_helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    return helper


class _Versioned(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, version: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("version", version)
        self.helper = bare_helper()


class CommentForm(_Versioned):
    body = forms.CharField(
        label="审核意见",
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="包保教师会收到通知,并在这里答复。",
        error_messages={"required": "请填写审核意见。"},
    )


class AnswerForm(_Versioned):
    answer = forms.CharField(
        label="答复",
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "请填写答复。"},
    )


class SignOffForm(_Versioned):
    note = forms.CharField(
        label="签结说明",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="清单全部达标时可不填;有未达标项目时,须写明仍然签结的原因。",
    )


class ReopenForm(_Versioned):
    reason = forms.CharField(
        label="重新打开原因",
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="会写入审计日志,包保教师也会收到通知。",
        error_messages={"required": "请填写重新打开的原因。"},
    )


class ReviewFilterForm(forms.Form):
    """The officer's list: by status and by a failing checklist item."""

    status = forms.ChoiceField(label="审核状态", required=False, choices=[("", "全部状态"), *ReviewStatus.choices])
    failing = forms.ChoiceField(
        label="未达标项目", required=False, choices=[("", "全部"), ("any", "任一项未达标"), *ITEMS]
    )
