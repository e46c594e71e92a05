"""Forms of the guidance app. One file, one section per record kind; each form gives the Chinese
message at its field, and the database constraints stay the last word."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms

from .models import FORM_FIELDS, HELP_FORMS, TRACK_FIELDS, TRACKS


def bare_helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    return helper


class TagsMixin(forms.ModelForm):
    """The five tracks and the five forms as two groups of checkboxes (each needs one ticked)."""

    tracks = forms.MultipleChoiceField(
        label="“五导”内容",
        choices=[(t.field, t.label) for t in TRACKS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一项“五导”内容。"},
    )
    help_forms = forms.MultipleChoiceField(
        label="帮扶形式",
        choices=[(f.field, f.label) for f in HELP_FORMS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一种帮扶形式。"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tracks"] = [f for f in TRACK_FIELDS if getattr(self.instance, f)]
            self.initial["help_forms"] = [f for f in FORM_FIELDS if getattr(self.instance, f)]

    def _post_clean(self) -> None:
        for name in TRACK_FIELDS:
            setattr(self.instance, name, name in self.cleaned_data.get("tracks", []))
        for name in FORM_FIELDS:
            setattr(self.instance, name, name in self.cleaned_data.get("help_forms", []))
        super()._post_clean()


# --- Talk records ----------------------------------------------------------------------------


# --- Home visits -----------------------------------------------------------------------------


# --- Excused weeks ---------------------------------------------------------------------------
