"""Forms of the 心理健康档案 pages (guidance/counselling.py holds the rules; these give the friendly
messages). Every edit form posts the ``version`` it read (optimistic locking)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from pairing.models import Student

from .counselling import REASON_MAX, TEXT_MAX, SessionValues, enrolled_students
from .forms import bare_helper
from .models import (
    AssessmentScale,
    CounsellingRecord,
    CounsellingRequest,
    PsychFile,
    RequesterKind,
    RequestStatus,
    RiskLevel,
    SessionKind,
    SessionMode,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StudentChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}({obj.class_label})"


class CounsellingRecordForm(forms.Form):
    """A session: individual or group (tick the school's students), 定单式 or 门诊式."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, initial=0)
    kind = forms.ChoiceField(label="辅导形式", choices=SessionKind.choices, widget=forms.RadioSelect)
    mode = forms.ChoiceField(label="辅导方式", choices=SessionMode.choices, widget=forms.RadioSelect)
    requester_kind = forms.ChoiceField(
        label="申请人(定单式)", choices=[("", "—"), *RequesterKind.choices], required=False
    )
    request = forms.ModelChoiceField(
        label="对应的教师申请", queryset=CounsellingRequest.objects.none(), required=False, empty_label="无"
    )
    students = StudentChoices(
        label="学生", queryset=Student.objects.none(), widget=forms.CheckboxSelectMultiple, required=True
    )
    date = forms.DateField(label="辅导日期", widget=DATE_INPUT)
    duration_minutes = forms.IntegerField(label="时长(分钟)", min_value=5, max_value=600, initial=40)
    topic = forms.CharField(label="主题", max_length=100)
    notes = forms.CharField(label="辅导记录", widget=forms.Textarea(attrs={"rows": 6}), max_length=TEXT_MAX)

    def __init__(
        self,
        *args: Any,
        school_id: int,
        record: CounsellingRecord | None = None,
        open_requests: Any = None,
        offered: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields  # ModelChoiceFields: their querysets are set per school
        # Posted: any enrolled student of the school. Shown: those the page offers (a school has
        # a thousand students; see counselling_views.students_offered), and the ones already ticked.
        fields["students"].queryset = enrolled_students(school_id) if self.is_bound or offered is None else offered
        fields["request"].queryset = open_requests if open_requests is not None else CounsellingRequest.objects.none()
        fields["request"].label_from_instance = lambda r: (
            f"{r.student.name}({r.created_at:%m月%d日} {r.requested_by.get_full_name()}申请)"
        )
        if record is not None:
            self.initial.update(
                version=record.version,
                kind=record.kind,
                mode=record.mode,
                requester_kind=record.requester_kind,
                request=record.request_id,
                students=[s.pk for s in record.students.all()],
                date=record.date,
                duration_minutes=record.duration_minutes,
                topic=record.topic,
                notes=record.notes,
            )
        else:
            self.initial.setdefault("date", timezone.localdate())
            self.initial.setdefault("kind", SessionKind.INDIVIDUAL)
            self.initial.setdefault("mode", SessionMode.WALK_IN)
        self.helper = bare_helper()

    def service_values(self) -> SessionValues:
        data = self.cleaned_data
        return SessionValues(
            kind=data["kind"],
            mode=data["mode"],
            requester_kind=data.get("requester_kind") or "",
            request_id=data["request"].pk if data.get("request") else None,
            student_ids=tuple(s.pk for s in data["students"]),
            date=data["date"],
            duration_minutes=data["duration_minutes"],
            topic=data["topic"],
            notes=data["notes"],
        )


class PsychAssessmentForm(forms.Form):
    scale = forms.ChoiceField(label="量表", choices=AssessmentScale.choices)
    taken_on = forms.DateField(label="测评日期", widget=DATE_INPUT)
    score = forms.DecimalField(label="得分", min_value=0, max_digits=6, decimal_places=1)
    result = forms.CharField(label="结果解读", widget=forms.Textarea(attrs={"rows": 4}), max_length=TEXT_MAX)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("taken_on", timezone.localdate())
        self.helper = bare_helper()


class RiskLevelForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    level = forms.TypedChoiceField(label="风险等级", choices=RiskLevel.choices, coerce=int, widget=forms.RadioSelect)
    reason = forms.CharField(
        label="设定理由",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REASON_MAX,
        error_messages={"required": "请写明设定理由。"},
    )
    follow_up_wanted = forms.BooleanField(
        label="建议包保教师跟进(教师只看到“心理老师建议跟进”,看不到等级与理由)", required=False
    )

    def __init__(self, *args: Any, psych_file: PsychFile | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("version", psych_file.version if psych_file else 0)
        self.initial.setdefault("level", psych_file.risk_level if psych_file else RiskLevel.NORMAL)
        self.initial.setdefault("follow_up_wanted", psych_file.follow_up_wanted if psych_file else False)
        self.helper = bare_helper()


class CounsellingRequestForm(forms.Form):
    reason = forms.CharField(
        label="申请原因",
        help_text="简要说明您观察到的情况。提交后只有本校心理健康教师能看到。",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=REASON_MAX,
        error_messages={"required": "请简要说明申请原因。"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = bare_helper()


class CounsellingRequestHandleForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    status = forms.ChoiceField(
        label="处理结果",
        choices=[(s.value, s.label) for s in RequestStatus if s != RequestStatus.PENDING],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label="处理说明(教师不可见)", max_length=200, required=False)

    def __init__(self, *args: Any, request_row: CounsellingRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("version", request_row.version)
        self.helper = bare_helper()
