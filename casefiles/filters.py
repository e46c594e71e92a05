"""The case-file pages' FilterSets, shared by a page and its report so that the two cannot disagree."""

from __future__ import annotations

import django_filters

from guidance.filters import CountyPlacesFilterSet
from pairing.models import School, Stage, Student, Town


class ReviewProgressFilter(CountyPlacesFilterSet):
    """档案审核进度's filters: the students' town, school and stage (a student belongs to her school,
    as her officer reviews her file). Only the viewer's schools are offered; an officer's report is
    her school's already, so the place filters are dropped for her."""

    town = django_filters.ModelChoiceFilter(
        label="乡镇", field_name="school__town", queryset=Town.objects.order_by("code"), empty_label="全部乡镇"
    )
    school = django_filters.ModelChoiceFilter(
        label="学校", field_name="school", queryset=School.objects.none(), empty_label="全部学校"
    )
    stage = django_filters.ChoiceFilter(
        label="学段", field_name="school__stage", choices=Stage.choices, empty_label="全部学段"
    )

    class Meta:
        model = Student
        fields: list[str] = []

    county_only = ("town", "school", "stage")
