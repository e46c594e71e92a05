"""Forms of the case file pages."""

from __future__ import annotations

from typing import Any, cast

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone

from pairing.models import School, Term


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
