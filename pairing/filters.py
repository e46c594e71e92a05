"""FilterSets applied inside selectors, so a list page and its Excel export share one queryset."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, cast

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from zaoyang_aid.access import scope_of
from zaoyang_aid.fields import FieldGroup, broad_access

from .models import (
    EnrollmentStatus,
    HardshipAssessment,
    HardshipLevel,
    HukouType,
    Pairing,
    School,
    SpecialCategory,
    Stage,
    Student,
    Teacher,
    Term,
    Town,
    stage_grades,
)

SEARCH_TAIL_RE = re.compile(r"[0-9]{3,5}[0-9X]")
WHOLE_NUMBER_RE = re.compile(r"[GJL]?[0-9A-Z]{17}[0-9X]|[0-9]{7,}")


def drop_assessment_filters(filterset: django_filters.FilterSet, user: Any, names: tuple[str, ...]) -> None:
    """A reader who does not see 认定 for every student of the list (fields.py) may not filter by it
    either: a filter would tell which students are 低保 or 残疾 as surely as a column."""
    if FieldGroup.ASSESSMENT not in broad_access(user):
        for name in names:
            del filterset.filters[name]


def offer_schools(filterset: django_filters.FilterSet, user: Any, data: Any) -> None:
    """The school select of a list's filters, as cheap to draw for the county as for one school.

    Any school the reader may see is a valid choice (the field checks the one chosen: one query, and
    only when one is chosen), but the select offers only the chosen town's schools, or the chosen
    school's town's: some 15 options, read as (pk, name) pairs in one query, instead of the county's
    300 schools drawn as 300 option templates on every page (issue 12, point 5: half of page 1 was
    the filter form). With no town chosen the select offers none and says to pick a town first. The
    FilterSet's town filter is named ``town``; an officer's select offers her one school."""
    if "school" not in filterset.filters:
        return
    schools = School.objects.visible_to(user)
    school_filter = cast(django_filters.ModelChoiceFilter, filterset.filters["school"])
    school_filter.queryset = schools
    field = cast(forms.ModelChoiceField, filterset.form.fields["school"])
    field.queryset = schools  # validation; the choices drawn are set below (the setter resets them)
    if scope_of(user).is_county_wide:
        field.help_text = "请先选择乡镇,再选学校"
    blank = ("", field.empty_label or "")

    @cache  # read when the select is drawn (once), not when a report or a count builds the FilterSet
    def choices() -> list[tuple[Any, Any]]:
        return [blank, *_schools_shown(schools, user, data)]

    cast(Any, field.widget).choices = choices


def _schools_shown(schools: QuerySet[School], user: Any, data: Any) -> list[tuple[Any, str]]:
    """(pk, name) of the schools the select offers (offer_schools): one query, or none."""
    town_id, school_id = _digits(data, "town"), _digits(data, "school")
    if not scope_of(user).is_county_wide:
        wanted = Q()  # the reader's own school
    elif town_id is not None:
        wanted = Q(town_id=town_id) | Q(pk=school_id or 0)
    elif school_id is not None:
        wanted = Q(town_id__in=School.objects.filter(pk=school_id).values("town_id"))
    else:
        return []
    return list(schools.filter(wanted).order_by("name").values_list("pk", "name"))


def _digits(data: Any, name: str) -> int | None:
    raw = str((data or {}).get(name) or "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


class StudentSearchForm(forms.Form):
    """Refuses a whole ID number or 学籍号 in the search box, and does not echo it back."""

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        self.refused_whole_number = False
        if data is not None and WHOLE_NUMBER_RE.fullmatch((data.get("q") or "").strip().upper()):
            data = data.copy()
            data["q"] = ""
            self.refused_whole_number = True
        super().__init__(data, *args, **kwargs)

    def clean_q(self) -> str:
        if self.refused_whole_number:
            raise forms.ValidationError("为保护学生隐私,请勿输入完整的身份证号或学籍号,输入后4至6位即可。")
        return (self.cleaned_data.get("q") or "").strip()


class StudentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="姓名或学籍号后几位",
        method="search",
        help_text="可输入姓名,或学籍号的后4至6位",
    )
    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="school__town", queryset=Town.objects.all(), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(label="学校", queryset=School.objects.none(), empty_label="全部学校")
    stage = django_filters.ChoiceFilter(
        label="学段", field_name="school__stage", choices=Stage.choices, empty_label="全部学段"
    )
    grade = django_filters.NumberFilter(label="年级(数字)", min_value=1, max_value=6)
    enrollment_status = django_filters.ChoiceFilter(
        label="学籍状态", choices=EnrollmentStatus.choices, empty_label="全部状态"
    )
    hukou_type = django_filters.ChoiceFilter(label="户口性质", choices=HukouType.choices, empty_label="全部")
    category = django_filters.ModelChoiceFilter(
        label="特殊群体(本学期认定)",
        queryset=SpecialCategory.objects.filter(is_active=True),
        method="by_category",
        empty_label="全部类别",
    )
    level = django_filters.ModelChoiceFilter(
        label="困难等级(本学期认定)",
        queryset=HardshipLevel.objects.filter(is_active=True),
        method="by_level",
        empty_label="全部等级",
    )
    paired = django_filters.ChoiceFilter(
        label="结对情况", choices=[("yes", "已结对"), ("no", "未结对")], method="by_paired", empty_label="全部"
    )

    class Meta:
        model = Student
        fields: list[str] = []
        form = StudentSearchForm

    def __init__(self, data: Any = None, *args: Any, request_user: Any = None, term: Term | None = None, **kwargs: Any):
        super().__init__(data, *args, **kwargs)
        self.term = term
        drop_assessment_filters(self, request_user, ("category", "level"))
        offer_schools(self, request_user, data)  # only the schools the viewer may see (an officer: her own)

    def search(self, queryset: QuerySet[Student], name: str, value: str) -> QuerySet[Student]:
        """By name, or by the last 4-6 characters of the 学籍号. A whole number is refused: a search
        travels in the URL, and an ID number must never appear in a URL (clean_q says so)."""
        value = value.strip().upper()
        if SEARCH_TAIL_RE.fullmatch(value):
            return queryset.filter(student_number__endswith=value)
        return queryset.filter(name__icontains=value)

    def by_category(self, queryset: QuerySet[Student], name: str, value: SpecialCategory) -> QuerySet[Student]:
        return queryset.filter(assessments__term=self.term, assessments__categories=value)

    def by_level(self, queryset: QuerySet[Student], name: str, value: HardshipLevel) -> QuerySet[Student]:
        return queryset.filter(assessments__term=self.term, assessments__level=value)

    def by_paired(self, queryset: QuerySet[Student], name: str, value: str) -> QuerySet[Student]:
        active = Q(pk__in=Pairing.objects.filter(ended_on__isnull=True).values("student_id"))
        return queryset.filter(active) if value == "yes" else queryset.exclude(active)


class PairingStatus:
    ACTIVE = "active"
    ENDED = "ended"
    CHOICES = [(ACTIVE, "进行中"), (ENDED, "已结束")]


class PairingFilter(django_filters.FilterSet):
    """The pairing list's filters. School and teacher choices are the viewer's own; a school or
    teacher outside them is not a valid choice and is ignored, so a URL cannot widen the list."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="student__school__town", queryset=Town.objects.all(), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="student__school", queryset=School.objects.none(), empty_label="全部学校"
    )
    stage = django_filters.ChoiceFilter(
        label="学段", field_name="student__school__stage", choices=Stage.choices, empty_label="全部学段"
    )
    grade = django_filters.NumberFilter(label="年级(数字)", field_name="student__grade", min_value=1, max_value=6)
    category = django_filters.ModelChoiceFilter(
        label="特殊群体(本学期认定)",
        queryset=SpecialCategory.objects.filter(is_active=True),
        method="by_category",
        empty_label="全部类别",
    )
    teacher = django_filters.ModelChoiceFilter(
        label="帮扶教师", queryset=Teacher.objects.none(), empty_label="全部教师"
    )
    teacher_name = django_filters.CharFilter(
        label="教师姓名", field_name="teacher__user__full_name", lookup_expr="icontains"
    )
    status = django_filters.ChoiceFilter(
        label="结对状态", choices=PairingStatus.CHOICES, method="by_status", empty_label="全部"
    )

    class Meta:
        model = Pairing
        fields: list[str] = []

    def __init__(self, data: Any = None, *args: Any, request_user: Any = None, term: Term | None = None, **kwargs: Any):
        super().__init__(data, *args, **kwargs)
        self.term = term
        self._teachers: QuerySet[Teacher] | None = None  # one school's staff to choose from, if any
        drop_assessment_filters(self, request_user, ("category",))
        schools = School.objects.visible_to(request_user)
        scope = scope_of(request_user)
        if scope.school_id is not None:
            # One school: its teachers to choose from, and its grades by the names the school uses.
            self._offer_teachers_of(scope.school_id)
            stage = schools.values_list("stage", flat=True).first()
            self.filters["grade"] = django_filters.ChoiceFilter(
                label="年级", field_name="student__grade", choices=stage_grades(stage or ""), empty_label="全部年级"
            )
        elif (school_id := self._chosen_school_id(data)) is not None and schools.filter(pk=school_id).exists():
            self._offer_teachers_of(school_id)
        else:
            # County-wide there are thousands of staff: choose a school first, or search by name.
            del self.filters["teacher"]
        offer_schools(self, request_user, data)
        self._draw_teachers()

    @staticmethod
    def _chosen_school_id(data: Any) -> int | None:
        raw = str((data or {}).get("school") or "")
        return int(raw) if raw.isdigit() else None

    def _offer_teachers_of(self, school_id: int) -> None:
        """One school's staff, drawn from (pk, name) pairs in one query (a 高中 has a few hundred);
        the field checks the one chosen among them."""
        teachers = Teacher.objects.filter(school_id=school_id)
        cast(django_filters.ModelChoiceFilter, self.filters["teacher"]).queryset = teachers
        self._teachers = teachers

    def _draw_teachers(self) -> None:
        """Once the filters are final (the form is built from them): the teachers' select's options."""
        teachers = self._teachers
        if teachers is None:
            return
        field = cast(forms.ModelChoiceField, self.form.fields["teacher"])
        field.queryset = teachers
        names = teachers.order_by("user__full_name", "pk").values_list("pk", "user__full_name", "user__username")
        blank = ("", field.empty_label or "")

        @cache  # read when the select is drawn, once
        def choices() -> list[tuple[Any, Any]]:
            return [blank, *((pk, name or login) for pk, name, login in names)]

        cast(Any, field.widget).choices = choices

    def by_category(self, queryset: QuerySet[Pairing], name: str, value: SpecialCategory) -> QuerySet[Pairing]:
        assessed = HardshipAssessment.objects.filter(student=OuterRef("student"), term=self.term, categories=value)
        return queryset.filter(Exists(assessed))

    def by_status(self, queryset: QuerySet[Pairing], name: str, value: str) -> QuerySet[Pairing]:
        return queryset.filter(ended_on__isnull=(value == PairingStatus.ACTIVE))


class TeacherFilter(django_filters.FilterSet):
    """The staff list: by name, phone or school name, and by school (only the viewer's own schools are
    offered; another is refused at the field)."""

    q = django_filters.CharFilter(label="姓名/手机号/学校", method="search")
    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(label="学校", queryset=School.objects.none(), empty_label="全部学校")

    class Meta:
        model = Teacher
        fields: list[str] = []

    def __init__(self, data: Any = None, *args: Any, request_user: Any = None, **kwargs: Any):
        super().__init__(data, *args, **kwargs)
        if scope_of(request_user).school_id is not None:
            del self.filters["town"], self.filters["school"]  # one school: nothing to choose
        else:
            offer_schools(self, request_user, data)

    def search(self, queryset: QuerySet[Teacher], name: str, value: str) -> QuerySet[Teacher]:
        value = value.strip()
        return queryset.filter(
            Q(user__full_name__icontains=value) | Q(phone__icontains=value) | Q(school__name__icontains=value)
        )


class SchoolFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="学校名称/标识码", method="search")
    town = django_filters.ModelChoiceFilter(label="乡镇", queryset=Town.objects.all(), empty_label="全部乡镇")
    stage = django_filters.ChoiceFilter(label="学段", choices=Stage.choices, empty_label="全部学段")

    class Meta:
        model = School
        fields: list[str] = []

    def search(self, queryset: QuerySet[School], name: str, value: str) -> QuerySet[School]:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


# --- 动态管理 ---------------------------------------------------------------------------------------


def _in_python(queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
    """Kind and confirmation state are of the computed change (pairing/dynamics.lines_shown), read
    from the form's cleaned data by the selector: the queryset is left as it is."""
    return queryset


CHANGE_KIND_CHOICES = [
    ("added", "新增"),
    ("exited", "退出"),
    ("level", "等级变化"),
    ("category", "类别变化"),
    ("unchanged", "未变"),
]
CHANGE_STATE_CHOICES = [("pending", "待确认"), ("confirmed", "已确认")]


class _PlacesForCounty(django_filters.FilterSet):
    """County staff pick a town, school or stage; an officer's list is her school's already, so the
    place filters named in ``county_only`` are dropped for her."""

    county_only: tuple[str, ...] = ()

    def __init__(self, data: Any = None, *args: Any, request_user: Any = None, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        self.request_user = request_user  # the selector reads the changes as this reader may
        if scope_of(request_user).is_county_wide:
            offer_schools(self, request_user, data)
        else:
            for name in self.county_only:
                del self.filters[name]


class AssessmentChangeFilter(_PlacesForCounty):
    """本学期认定变动 (and its report): the students' town, school, stage and grade, the kind of
    change and whether it is confirmed."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="school", queryset=School.objects.none(), empty_label="全部学校"
    )
    stage = django_filters.ChoiceFilter(
        label="学段", field_name="school__stage", choices=Stage.choices, empty_label="全部学段"
    )
    kind = django_filters.ChoiceFilter(
        label="变动类型", choices=CHANGE_KIND_CHOICES, empty_label="全部变动", method=_in_python
    )
    state = django_filters.ChoiceFilter(
        label="确认状态", choices=CHANGE_STATE_CHOICES, empty_label="全部", method=_in_python
    )

    county_only = ("town", "school", "stage")

    class Meta:
        model = Student
        fields: list[str] = []


class SchoolChangeFilter(_PlacesForCounty):
    """认定变动统计 (per school, county staff): the schools' town and stage."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    stage = django_filters.ChoiceFilter(label="学段", field_name="stage", choices=Stage.choices, empty_label="全部学段")

    county_only = ("town", "stage")

    class Meta:
        model = School
        fields: list[str] = []
