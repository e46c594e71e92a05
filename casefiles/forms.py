"""Forms of the case file: a term's 学业成绩 (one row per subject) and an attachment's upload.

The review's forms: each posts the version it read (the optimistic lock); the services check.

Forms of the case file pages."""

from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from guidance.photos import MAX_PHOTO_BYTES, size_label
from pairing.models import School, Student, Term

from .attachments import CleanFile, clean_attachment
from .checklist import ITEMS
from .models import SUBJECTS, Attachment, AttachmentKind, ReviewStatus, TermResult
from .services import BODY_MAX, MAX_SUBJECT_LENGTH, NOTE_MAX, ScoreInput

EXTRA = "extra"


def _number_input(placeholder: str) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "form-control", "inputmode": "decimal", "placeholder": placeholder})


class TermResultsForm(forms.Form):
    """One row per subject (the stage's subjects, then any other already entered) and a blank row for
    another subject: score, full marks, class rank, and the version read (the optimistic lock)."""

    def __init__(self, *args: Any, student: Student, results: list[TermResult], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        by_subject = {r.subject: r for r in results}
        self.subjects = list(dict.fromkeys([*SUBJECTS.get(student.school.stage, []), *by_subject]))
        for subject in self.subjects:
            row = by_subject.get(subject)
            self._row(subject, row)
        self.fields["extra_subject"] = forms.CharField(
            label="其他科目",
            required=False,
            max_length=MAX_SUBJECT_LENGTH,
            widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "科目名称"}),
        )
        self._row(EXTRA, None)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def _row(self, subject: str, row: TermResult | None) -> None:
        self.fields[f"score_{subject}"] = forms.CharField(
            label=subject, required=False, max_length=8, widget=_number_input("成绩")
        )
        self.fields[f"full_{subject}"] = forms.CharField(
            label="满分", required=False, max_length=8, widget=_number_input("100")
        )
        self.fields[f"rank_{subject}"] = forms.CharField(
            label="班级排名", required=False, max_length=4, widget=_number_input("排名")
        )
        self.fields[f"version_{subject}"] = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)
        if row is not None:
            self.initial.update(
                {
                    f"score_{subject}": f"{row.score:f}".removesuffix(".0"),
                    f"full_{subject}": f"{row.full_marks:f}".removesuffix(".0"),
                    f"rank_{subject}": row.class_rank or "",
                    f"version_{subject}": row.version,
                }
            )
        else:
            self.initial.update({f"full_{subject}": "100", f"version_{subject}": 0})

    def rows(self) -> list[dict[str, Any]]:
        """The bound fields of each row, for the template."""
        return [
            {
                "subject": s,
                "score": self[f"score_{s}"],
                "full": self[f"full_{s}"],
                "rank": self[f"rank_{s}"],
                "version": self[f"version_{s}"],
            }
            for s in self.subjects
        ]

    def extra_row(self) -> dict[str, Any]:
        return {
            "name": self["extra_subject"],
            "score": self[f"score_{EXTRA}"],
            "full": self[f"full_{EXTRA}"],
            "rank": self[f"rank_{EXTRA}"],
            "version": self[f"version_{EXTRA}"],
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = (data.get("extra_subject") or "").strip()
        if data.get(f"score_{EXTRA}") and not name:
            self.add_error("extra_subject", "请填写科目名称。")
        if name and name in self.subjects:
            self.add_error("extra_subject", f"“{name}”已在上面列出,请直接填写。")
        return data

    def scores(self) -> dict[str, ScoreInput]:
        data = self.cleaned_data
        out = {
            s: ScoreInput(
                score=data.get(f"score_{s}") or "",
                full_marks=data.get(f"full_{s}") or "100",
                class_rank=data.get(f"rank_{s}") or "",
                version=data.get(f"version_{s}") or 0,
            )
            for s in self.subjects
        }
        name = (data.get("extra_subject") or "").strip()
        if name and data.get(f"score_{EXTRA}"):
            out[name] = ScoreInput(
                score=data[f"score_{EXTRA}"],
                full_marks=data.get(f"full_{EXTRA}") or "100",
                class_rank=data.get(f"rank_{EXTRA}") or "",
                version=0,
            )
        return out


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(label="类别", choices=AttachmentKind.choices)
    title = forms.CharField(label="标题", max_length=60, help_text="如:2026年低保证明、家访签字表")
    term = forms.ModelChoiceField(
        label="所属学期", queryset=Term.objects.none(), required=False, empty_label="不限学期"
    )
    file = forms.FileField(
        label="文件",
        help_text=f"PDF(不超过{size_label(Attachment.MAX_BYTES)})、JPEG或PNG图片(不超过{size_label(MAX_PHOTO_BYTES)});"
        "图片会去除拍摄位置等隐私信息。",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )

    def __init__(self, *args: Any, terms: list[Term], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["term"])
        field.queryset = Term.objects.filter(pk__in=[t.pk for t in terms]).select_related("school_year")
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_file(self) -> CleanFile:
        upload = cast(UploadedFile, self.cleaned_data["file"])
        return clean_attachment(upload)


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


class TermChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class CaseFileExportForm(forms.Form):
    """Which term's case files to zip; county staff pick the school too (an officer exports her own)."""

    term = TermChoiceField(label="学期", queryset=Term.objects.none(), empty_label=None)
    school = forms.ModelChoiceField(label="学校", queryset=School.objects.none(), empty_label="请选择学校")

    def __init__(self, *args: Any, pick_school: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        terms = Term.objects.filter(start_date__lte=timezone.localdate()).select_related("school_year")
        cast(forms.ModelChoiceField, self.fields["term"]).queryset = terms.order_by("-start_date")
        if pick_school:
            cast(forms.ModelChoiceField, self.fields["school"]).queryset = School.objects.select_related("town")
        else:
            del self.fields["school"]


class RosterUploadForm(forms.Form):
    """名单导入: the kind (casefiles/imports/kinds.py ROSTER_KINDS) and the .xls/.xlsx file."""

    kind = forms.ChoiceField(label="名单类型")
    file = forms.FileField(
        label="名单文件",
        help_text="Excel 文件(.xls 或 .xlsx),可直接上传全国学生资助管理信息系统导出的名单。",
        widget=forms.ClearableFileInput(attrs={"accept": ".xls,.xlsx"}),
    )

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kind"]).choices = kinds
        self.helper = bare_helper()


class RosterCommitForm(forms.Form):
    skip_bad_rows = forms.BooleanField(label="跳过错误行,只导入无误的行", required=False)
