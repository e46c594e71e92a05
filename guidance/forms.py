"""Forms of the guidance app. One file, one section per record kind; each form gives the Chinese
message at its field, and the database constraints stay the last word."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from pairing.models import Pairing
from zaoyang_aid import calendar

from .cards import MARK_FIELDS, item_field, mark_field, note_field
from .models import (
    FORM_FIELDS,
    HELP_FORMS,
    ITEM_MAX_LENGTH,
    ITEMS_PER_SECTION,
    MARK_NOTE_MAX_LENGTH,
    REVIEWED_SECTIONS,
    TRACK_FIELDS,
    TRACKS,
    CardMark,
    CardSection,
    ExcuseReason,
    FiveThreeCard,
    HomeVisit,
    HomeVisitPhoto,
    LateEntryPermission,
    ReminderPreference,
    TalkRecord,
)
from .photos import MAX_PHOTO_BYTES, CleanPhoto, clean_photo, size_label
from .rules import SchoolWeekAt, open_weeks, school_week_at, talk_date_problem, visit_date_problem
from .selectors import policies_for_stage


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
        super()._post_clean()  # type: ignore[misc]  # django-stubs leaves out this private hook of Django's forms


# --- Talk records ----------------------------------------------------------------------------

# The five tracks and the forms of help as rows of big toggle buttons (phones, 360 px).
TAG_BUTTONS = "guidance/talk_tag_buttons.html"


class TalkRecordForm(TagsMixin):
    """谈心谈话与学业辅导记录: one phone-sized form. The date must fall in a school week of a term,
    not in the future and not before the pairing started (rules.talk_date_problem)."""

    class Meta:
        model = TalkRecord
        fields = ["date", "duration_minutes", "content", "student_state", "problems", "measures", "next_steps"]
        # The classes crispy's bootstrap5 pack would add: the page draws this form by hand
        # (templates/guidance/includes/talk_fields.html), every teacher opens it every week.
        widgets = {
            "date": forms.DateInput(attrs={"type": "date", "class": "dateinput form-control"}, format="%Y-%m-%d"),
            "duration_minutes": forms.NumberInput(attrs={"inputmode": "numeric", "class": "numberinput form-control"}),
            "content": forms.Textarea(attrs={"rows": 3, "class": "textarea form-control"}),
            "student_state": forms.Textarea(attrs={"rows": 3, "class": "textarea form-control"}),
            "problems": forms.Textarea(attrs={"rows": 3, "class": "textarea form-control"}),
            "measures": forms.Textarea(attrs={"rows": 3, "class": "textarea form-control"}),
            "next_steps": forms.Textarea(attrs={"rows": 3, "class": "textarea form-control"}),
        }

    # The version the page read (optimistic lock): a save made meanwhile wins, this one is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    catch_up_refused = False  # the missed week is past the open window and not permitted (the page says so)
    shown_term_weeks: SchoolWeekAt | None = None  # the term and weeks of the day the form opened on

    def __init__(self, *args: Any, pairing: Pairing, week: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pairing = pairing
        self.initial["version"] = self.instance.version
        self.today = timezone.localdate()
        # "去处理" on a missed-talk reminder opens the form for the missed week (?week=its Monday).
        self.catch_up_week = self._catch_up_week(week) if self.instance.pk is None else None
        self.catch_up_note = self._catch_up_note()
        self.fields["date"].widget.attrs["max"] = self.today.isoformat()
        duration = self.fields["duration_minutes"]
        duration.widget.attrs.update({"min": 5, "max": 600, "placeholder": "如:30"})
        duration.validators += [
            MinValueValidator(5, "时长至少5分钟。"),
            MaxValueValidator(600, "时长不能超过600分钟。"),
        ]
        self.fields["student_state"].widget.attrs["placeholder"] = "情绪、学习、身体、家庭等方面的表现"
        if self.instance.pk is None:
            # This week (or the missed week's last school day so far), pre-selected.
            self.initial["date"] = self.initial.get("date") or self._first_shown_day()
            self.initial.setdefault("help_forms", ["form_talk"])
        self.week_labels = self._week_labels()
        day = self.instance.date if self.instance.pk else self._first_shown_day()
        self.fields["date"].help_text = self.week_labels.get(
            calendar.monday_of(day).isoformat(), "这一天不在教学周内,请选择教学周内的日期。"
        )

    @property
    def text_fields(self) -> list[forms.BoundField]:
        """The five text boxes, in the order the page shows them (under the date and the tags)."""
        return [self[name] for name in ("content", "student_state", "problems", "measures", "next_steps")]

    def _catch_up_note(self) -> str:
        """What the teacher reads above the form for a missed week: that week, and whether it can
        still be recorded (past the open window only with the officer's 补录 permission)."""
        week = self.catch_up_week
        if week is None:
            return ""
        window = {w.monday for w in open_weeks(school_id=self.pairing.student.school_id, today=self.today)}
        permitted = LateEntryPermission.objects.filter(pairing=self.pairing, week_monday=week.monday).exists()
        if week.monday in window:
            return f"补记{week.label}的谈心谈话"
        if permitted:
            return f"补录{week.label}的谈心谈话(学校资助专干已准许,保存后标为“补录”)"
        self.catch_up_refused = True
        return f"{week.label}已过补记期限(只能记录本周和上一教学周)。如确已谈话,请联系学校资助专干准许补录后再记录。"

    def _catch_up_week(self, raw: str | None) -> calendar.SchoolWeek | None:
        """The earlier school week of the student's school whose Monday ``raw`` (YYYY-MM-DD) is, with
        a school day on or after the pairing began; None for anything else (malformed, not such a
        Monday, this week or later), and the form then opens on today as usual. Pre-filling only:
        which dates may be saved is clean_date's business."""
        try:
            monday = dt.date.fromisoformat(raw or "")
        except ValueError:
            return None
        if monday >= calendar.monday_of(self.today):
            return None
        school_id = self.pairing.student.school_id
        # By its Sunday too: a term that starts midweek does not contain its first week's Monday.
        located = school_week_at(school_id=school_id, day=monday) or school_week_at(
            school_id=school_id, day=monday + dt.timedelta(days=6)
        )
        if located is None or located.week.monday != monday:
            return None
        if not any(self.pairing.started_on <= d <= self.today for d in located.week.school_days):
            return None
        return located.week

    def _first_shown_day(self) -> dt.date:
        """The date a new record opens on: today, or the catch-up week's last school day so far."""
        if self.catch_up_week is None:
            return self.today
        return max(d for d in self.catch_up_week.school_days if d <= self.today)

    def _week_labels(self) -> dict[str, str]:
        """Monday (ISO) -> week label of the term around the shown date, for the hint under the
        date field (the page's script updates it when the teacher picks another day)."""
        day = self.instance.date if self.instance.pk else self._first_shown_day()
        located = school_week_at(school_id=self.pairing.student.school_id, day=day)
        self.shown_term_weeks = located  # clean_date's date usually falls in the same term
        if located is None:
            return {}
        return {w.monday.isoformat(): w.label for w in located.weeks}

    def clean_date(self) -> Any:
        day = self.cleaned_data["date"]
        # Weeks past the open window that may be dated all the same: the record's own week when it is
        # edited, and the officer's 补录 permissions, read only for a date the window refuses (more
        # allowed weeks never turn an accepted date into a refused one).
        allowed = {self.instance.week_monday} if self.instance.pk else set()
        problem = self._date_problem(day, allowed)
        if problem:
            permits = LateEntryPermission.objects.filter(pairing=self.pairing).values_list("week_monday", flat=True)
            if permitted := set(permits) - allowed:
                problem = self._date_problem(day, allowed | permitted)
        if problem:
            raise forms.ValidationError(problem)
        return day

    def _date_problem(self, day: dt.date, allowed: set[dt.date]) -> str | None:
        return talk_date_problem(
            pairing=self.pairing,
            day=day,
            today=self.today,
            allowed_mondays=frozenset(allowed),
            known=self.shown_term_weeks,
        )

    def service_values(self) -> dict[str, Any]:
        """The cleaned form as the plain values talk_record_create and talk_record_update take."""
        data = self.cleaned_data
        values = {
            **{name: data[name] for name in self.Meta.fields},
            "tracks": list(data["tracks"]),
            "help_forms": list(data["help_forms"]),
        }
        if self.instance.pk and data.get("version") is not None:
            values["version"] = data["version"]
        return values


# --- Home visits -----------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input (Django's "Uploading multiple files"); cleans to a list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(one, initial) for one in files]


def _photo_help(stored: int = 0) -> str:
    limit = HomeVisitPhoto.MAX_PER_VISIT
    count = f"已有{stored}张,一次家访最多{limit}张" if stored else f"最多{limit}张"
    return (
        f"可拍照或从相册选择,{count},每张不超过{size_label(MAX_PHOTO_BYTES)},仅限JPEG或PNG。"
        "照片中的位置等信息会被去除。"
    )


class HomeVisitForm(TagsMixin):
    """家访: one phone-sized form. ``photos`` cleans to a list of photos.CleanPhoto, re-encoded."""

    photos = MultipleFileField(
        label="照片",
        required=False,
        help_text=_photo_help(),
    )

    class Meta:
        model = HomeVisit
        fields = [
            "date",
            "visitors",
            "members_met",
            "living_conditions",
            "study_conditions",
            "policies",
            "needs_found",
            "family_feedback",
        ]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "living_conditions": forms.Textarea(attrs={"rows": 3}),
            "study_conditions": forms.Textarea(attrs={"rows": 3}),
            "policies": forms.CheckboxSelectMultiple,
            "needs_found": forms.Textarea(attrs={"rows": 3}),
            "family_feedback": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, pairing: Pairing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pairing = pairing
        self.today = timezone.localdate()
        self.fields["date"].widget.attrs["max"] = self.today.isoformat()
        cast(forms.ModelMultipleChoiceField, self.fields["policies"]).queryset = policies_for_stage(
            pairing.student.school.stage
        )
        self.fields["policies"].help_text = "勾选本次向家庭讲解的政策(按学生所在学段列出)。"
        self.fields["members_met"].widget.attrs["placeholder"] = "如:父亲、祖母"
        # No capture attribute: it would open the camera only and allow one shot; without it a phone
        # offers both the camera and the album. iOS turns HEIC photos into JPEG for this accept list.
        self.fields["photos"].widget.attrs["accept"] = "image/jpeg,image/png"
        if self.instance.pk is None:
            self.initial.setdefault("date", self.today)
            self.initial.setdefault("visitors", pairing.teacher.name)
            self.initial.setdefault("tracks", ["track_policy"])
            self.initial.setdefault("help_forms", ["form_parent"])
        else:
            self._offer_photo_removal()
        self.helper = bare_helper()
        self.helper.disable_csrf = True  # the page's <form> carries the token
        # The same big toggle buttons as the talk form, in the model's order of fields.
        self.helper.layout = Layout(*[self._layout_of(name) for name in self.fields])

    @staticmethod
    def _layout_of(name: str) -> Any:
        if name in ("help_forms", "tracks"):
            return Field(name, template=TAG_BUTTONS)
        if name == "remove_photos":  # the stored photos, shown right above their boxes
            return Div(HTML('{% include "guidance/includes/stored_photos.html" %}'), Field(name))
        return name

    def _offer_photo_removal(self) -> None:
        """Editing: the photos already stored, each with a box to remove it (a wrong photo of a
        family's home should not have to stay), placed just before the upload field."""
        kept = list(self.instance.photos.order_by("pk"))
        self.existing_photos = kept
        if not kept:
            return
        field = forms.ModelMultipleChoiceField(
            label="删除已上传的照片",
            queryset=self.instance.photos.all(),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text="勾选要删除的照片,保存后删除。",
        )
        # A per-field label function, as Django allows; mypy takes it for patching a method (the ignore).
        field.label_from_instance = lambda obj: f"照片{kept.index(obj) + 1}"  # type: ignore[method-assign]
        photos = self.fields.pop("photos")
        self.fields["remove_photos"] = field
        self.fields["photos"] = photos
        photos.help_text = _photo_help(len(kept))

    def clean_date(self) -> Any:
        day = self.cleaned_data["date"]
        problem = visit_date_problem(pairing=self.pairing, day=day, today=self.today)
        if problem:
            raise forms.ValidationError(problem)
        return day

    def clean_photos(self) -> list[CleanPhoto]:
        uploads = self.cleaned_data.get("photos") or []
        limit = HomeVisitPhoto.MAX_PER_VISIT
        if len(uploads) > limit:
            raise forms.ValidationError(f"每次家访最多上传{limit}张照片,您选择了{len(uploads)}张。")
        cleaned: list[CleanPhoto] = []
        errors: list[forms.ValidationError] = []
        for upload in uploads:  # every bad file is named, not only the first
            try:
                cleaned.append(clean_photo(upload))
            except forms.ValidationError as exc:
                errors.append(exc)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned

    def service_values(self) -> dict[str, Any]:
        """The cleaned form as the plain values home_visit_create takes, and home_visit_update with
        the ids of the photos to remove."""
        data = self.cleaned_data
        values = {name: data[name] for name in self.Meta.fields if name != "policies"}
        values |= {"policies": [p.pk for p in data["policies"]], "photos": data["photos"]}
        values |= {"tracks": list(data["tracks"]), "help_forms": list(data["help_forms"])}
        if self.instance.pk:
            values["remove"] = [p.pk for p in data.get("remove_photos") or []]
        return values

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what ModelForm.clean returns; its stub allows None
        kept = len(getattr(self, "existing_photos", [])) - len(data.get("remove_photos") or [])
        added = len(data.get("photos") or [])
        limit = HomeVisitPhoto.MAX_PER_VISIT
        if "photos" not in self.errors and kept + added > limit:
            self.add_error("photos", f"一次家访最多{limit}张照片:已有{kept}张,最多还能添加{max(limit - kept, 0)}张。")
        return data


# --- Excused weeks ---------------------------------------------------------------------------


class ExcuseWeekForm(forms.Form):
    """An officer excuses one school week of a pairing: the week is then neither done nor missed.

    The week starts at the current school week (or the last one offered before it); weeks that
    already have a talk are marked, and the service refuses them until ``confirmed_has_talk`` is
    ticked. The box is shown (by excuse_week.html) only once that refusal has come back."""

    week = forms.TypedChoiceField(label="免记的教学周", coerce=dt.date.fromisoformat)
    reason = forms.ChoiceField(label="原因", choices=ExcuseReason.choices)
    note = forms.CharField(label="说明", max_length=200, required=False)
    confirmed_has_talk = forms.BooleanField(
        label="该周已有谈心谈话记录,仍然免记(记录保留)",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(
        self,
        *args: Any,
        weeks: list[calendar.SchoolWeek],
        talk_mondays: set[dt.date],
        as_of: dt.date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.weeks = {w.monday: w for w in weeks}
        cast(forms.ChoiceField, self.fields["week"]).choices = [
            (w.monday.isoformat(), f"{w.label}(已有记录)" if w.monday in talk_mondays else w.label) for w in weeks
        ]
        reached = [w for w in weeks if w.monday <= as_of]
        if reached:
            self.fields["week"].initial = max(reached, key=lambda w: w.monday).monday.isoformat()
        else:
            self.fields["week"].help_text = "本学期没有可以免记的教学周。"
        self.helper = bare_helper()
        self.helper.layout = Layout("week", "reason", "note")  # the confirmation box is the template's

    @property
    def chosen_week(self) -> calendar.SchoolWeek:
        """The SchoolWeek picked, once the form is valid (for the message naming it)."""
        return self.weeks[self.cleaned_data["week"]]

    @property
    def asks_talk_confirmation(self) -> bool:
        return self.has_error("week", "has_talk") or bool(self["confirmed_has_talk"].value())


class LateEntryForm(forms.Form):
    """An officer lets the teacher record an old school week's talk (补录), with the reason."""

    week = forms.TypedChoiceField(label="补录的教学周", coerce=dt.date.fromisoformat)
    reason = forms.CharField(
        label="补录原因",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="如:教师外出培训期间线下已谈话,返校后补录。",
    )

    def __init__(self, *args: Any, weeks: list[calendar.SchoolWeek], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        week = cast(forms.TypedChoiceField, self.fields["week"])
        week.choices = [(w.monday.isoformat(), w.label) for w in reversed(weeks)]
        if not weeks:
            week.help_text = "本学期没有需要准许补录的教学周(本周和上一教学周教师可直接记录)。"
        self.helper = bare_helper()


class RecordUnlockForm(forms.Form):
    """An officer reopens a locked talk record or visit for its teacher, saying why (the teacher is told)."""

    reason = forms.CharField(
        label="解锁原因",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="教师会在通知中看到这段说明,如:日期填错了,请改正。",
        error_messages={"required": "请填写解锁原因,教师会在通知中看到。", "max_length": "解锁原因最多200字。"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = bare_helper()


# --- Reminder preferences --------------------------------------------------------------------


class ReminderPreferenceForm(forms.ModelForm):
    """A person switches email reminders on or off (the notification centre is always on)."""

    class Meta:
        model = ReminderPreference
        fields = ["email"]
        help_texts = {"email": "站内通知始终保留;关闭后不再收到每日提醒邮件。"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = bare_helper()


# --- 五三卡 ------------------------------------------------------------------------------------------


class FiveThreeCardForm(forms.Form):
    """The card's fifteen items, three per part, one text box each (phones, 360 px). The service
    checks them again and gives its messages at these fields; ``version`` is the optimistic lock."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, card: FiveThreeCard | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("version", card.version if card else 0)
        layout: list[Any] = ["version"]
        for section in CardSection:
            names = []
            for i in range(ITEMS_PER_SECTION):
                name = item_field(section, i)
                self.fields[name] = forms.CharField(
                    label=f"{section.label}{i + 1}",
                    max_length=ITEM_MAX_LENGTH,
                    error_messages={
                        "required": f"请填写第{i + 1}条{section.label}。",
                        "max_length": f"每条{section.label}不超过{ITEM_MAX_LENGTH}字。",
                    },
                )
                if card is not None:
                    self.initial.setdefault(name, getattr(card, section.value)[i])
                names.append(name)
            layout.append(Fieldset(f"三个{section.label}", *names))
        self.helper = bare_helper()
        self.helper.layout = Layout(*layout)

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        items = {s.value: [data[item_field(s, i)] for i in range(ITEMS_PER_SECTION)] for s in CardSection}
        return {"items": items, "version": data["version"]}


class FiveThreeReviewForm(forms.Form):
    """Term end: each 突破口 and 承诺 marked 已做到 / 在努力 / 未做到, with a note."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, card: FiveThreeCard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("version", card.version)
        layout: list[Any] = ["version"]
        for section in REVIEWED_SECTIONS:
            earlier = getattr(card, MARK_FIELDS[section])
            names = []
            for i, text in enumerate(getattr(card, section.value)):
                mark, note = mark_field(section, i), note_field(section, i)
                self.fields[mark] = forms.ChoiceField(
                    label=f"{section.label}{i + 1}:{text}",
                    choices=CardMark.choices,
                    widget=forms.RadioSelect,
                    error_messages={"required": f"请评定第{i + 1}条{section.label}:已做到、在努力或未做到。"},
                )
                self.fields[note] = forms.CharField(
                    label="说明", required=False, max_length=MARK_NOTE_MAX_LENGTH, widget=forms.TextInput
                )
                if earlier:
                    self.initial.setdefault(mark, earlier[i]["mark"])
                    self.initial.setdefault(note, earlier[i]["note"])
                names += [Field(mark, wrapper_class="mb-1"), note]
            layout.append(Fieldset(f"{section.label}完成情况", *names))
        self.helper = bare_helper()
        self.helper.layout = Layout(*layout)

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        marks = {
            s.value: [
                {"mark": data[mark_field(s, i)], "note": data[note_field(s, i)]} for i in range(ITEMS_PER_SECTION)
            ]
            for s in REVIEWED_SECTIONS
        }
        return {"marks": marks, "version": data["version"]}


# --- Record quality --------------------------------------------------------------------------------


class FlagReturnForm(forms.Form):
    """退回修改: the officer's comment (the teacher reads it) and the flag's version as read."""

    comment = forms.CharField(
        label="退回意见",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "请写明需要修改或补充的内容,教师会看到"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = bare_helper()
        self.helper.disable_csrf = True


class FlagClearForm(forms.Form):
    """通过: only the flag's version as read."""

    version = forms.IntegerField(widget=forms.HiddenInput)
