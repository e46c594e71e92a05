"""Forms of the case file: a term's 学业成绩 (one row per subject) and an attachment's upload."""

from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.core.files.uploadedfile import UploadedFile

from guidance.photos import MAX_PHOTO_BYTES, size_label
from pairing.models import Student, Term

from .attachments import CleanFile, clean_attachment
from .models import SUBJECTS, Attachment, AttachmentKind, TermResult
from .services import MAX_SUBJECT_LENGTH, ScoreInput

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
