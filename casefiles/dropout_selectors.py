"""控辍保学 ledgers, the reads their pages and reports share: each a FilterSet applied inside the
selector (a page and its Excel file cannot disagree), shaped so that a page runs the same number of
queries for 5 rows or 5,000 (casefiles/tests/test_dropout_pages.py pins them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from pairing.models import School, Student

from .dropouts import (
    COMPULSORY_STAGES,
    ChildMatch,
    first_of_month,
    match_of,
    monthly_status,
    months_in_term,
    next_month,
    quarter_of,
)
from .filters import DropoutSchoolFilter, SchoolAgeChildFilter, SuspectedDropoutFilter
from .models import (
    AbsenceNote,
    DropoutMonthlyReport,
    DropoutRecheck,
    MonthlyStatus,
    SchoolAgeChild,
    SuspectedDropout,
)

GRID_MONTHS = 6


# --- 适龄儿童台账 ------------------------------------------------------------------------------------


def children_annotated(queryset: QuerySet[SchoolAgeChild]) -> QuerySet[SchoolAgeChild]:
    """Each child with the student of the same ID number, read live: 学籍状态, school, stage, grade."""
    student = Student.objects.filter(id_number=OuterRef("id_number"))
    return queryset.select_related("town", "verified_by").annotate(
        student_status=Subquery(student.values("enrollment_status")[:1]),
        student_school=Subquery(student.values("school__name")[:1]),
        student_stage=Subquery(student.values("school__stage")[:1]),
        student_grade=Subquery(student.values("grade")[:1]),
    )


def children_for_list(user: Any, params: Any) -> SchoolAgeChildFilter:
    children = children_annotated(SchoolAgeChild.objects.visible_to(user)).order_by(
        "town__code", "village", "name", "pk"
    )
    return SchoolAgeChildFilter(params or None, queryset=children)


def match_label(child: Any) -> str:
    return ChildMatch.labels[match_of(child.student_status)]


@dataclass
class TownCount:
    town: str
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # ChildMatch -> children
    pending: int = 0  # 未匹配 and 待核实

    def of(self, match: str) -> int:
        return self.counts.get(match, 0)


def children_by_town(filterset: SchoolAgeChildFilter) -> list[TownCount]:
    """Counts per town of the filtered children, by match and the unmatched still 待核实 (one query)."""
    rows = (
        filterset.qs.order_by()
        .values("town__code", "town__name", "student_status", "verification")
        .annotate(n=Count("pk"))
        .order_by("town__code")
    )
    towns: dict[str, TownCount] = {}
    for row in rows:
        line = towns.setdefault(row["town__code"], TownCount(town=row["town__name"]))
        match = match_of(row["student_status"])
        line.total += row["n"]
        line.counts[match] = line.counts.get(match, 0) + row["n"]
        if match == ChildMatch.UNMATCHED and row["verification"] == "pending":
            line.pending += row["n"]
    return list(towns.values())


# --- 疑似辍学学生台账 ---------------------------------------------------------------------------------


def suspected_for_list(user: Any, params: Any) -> SuspectedDropoutFilter:
    entries = (
        SuspectedDropout.objects.visible_to(user)
        .select_related("student__school", "school__town", "entered_by", "resolved_by")
        .order_by("-first_absent_on", "-pk")
    )
    return SuspectedDropoutFilter(params or None, queryset=entries, request_user=user)


def proposals_waiting(user: Any) -> QuerySet[SuspectedDropout]:
    return (
        SuspectedDropout.objects.visible_to(user)
        .filter(status="proposed")
        .select_related("student__school", "absence_note__teacher__user")
        .order_by("proposed_at", "pk")
    )


# --- 月报 -----------------------------------------------------------------------------------------------


@dataclass
class MonthCell:
    month: dt.date
    status: str
    report: DropoutMonthlyReport | None

    @property
    def label(self) -> str:
        return str(MonthlyStatus(self.status).label)


@dataclass
class SchoolMonths:
    school: School
    cells: list[MonthCell]


@dataclass
class MonthlyGrid:
    months: list[dt.date]
    rows: list[SchoolMonths]


def dropout_schools(user: Any, params: Any) -> DropoutSchoolFilter:
    schools = (
        School.objects.visible_to(user)
        .filter(stage__in=COMPULSORY_STAGES)
        .select_related("town")
        .order_by("town__code", "stage", "name", "pk")
    )
    return DropoutSchoolFilter(params or None, queryset=schools, request_user=user)


def chosen_month(filterset: DropoutSchoolFilter, today: dt.date) -> dt.date:
    value = filterset.form.cleaned_data.get("month") if filterset.is_valid() else None
    if value:
        year, month = value.split("-")
        return dt.date(int(year), int(month), 1)
    return first_of_month(today)


def monthly_grid(
    filterset: DropoutSchoolFilter, *, schools: Iterable[School] | None = None, today: dt.date | None = None
) -> MonthlyGrid:
    """``schools`` (a page of the filter's; all of them by default) x the GRID_MONTHS months ending at
    the chosen one, each cell's status (three queries: the schools, their reports, the terms)."""
    today = today or timezone.localdate()
    last = chosen_month(filterset, today)
    months = [last]
    while len(months) < GRID_MONTHS:
        months.insert(0, (months[0] - dt.timedelta(days=1)).replace(day=1))
    schools = list(filterset.qs if schools is None else schools)
    reports = {
        (r.school_id, r.month): r
        for r in DropoutMonthlyReport.objects.filter(
            school__in=[s.pk for s in schools], month__gte=months[0], month__lt=next_month(last)
        ).select_related("submitted_by")
    }
    required = months_in_term(months[0], last)
    rows = []
    for school in schools:
        cells = []
        for month in months:
            report = reports.get((school.pk, month))
            submitted_on = report.submitted_on if report else None
            status = monthly_status(month=month, submitted_on=submitted_on, today=today, required=month in required)
            cells.append(MonthCell(month=month, status=status, report=report))
        rows.append(SchoolMonths(school=school, cells=cells))
    return MonthlyGrid(months=months, rows=rows)


def month_summary(filterset: DropoutSchoolFilter, *, today: dt.date | None = None) -> dict[str, int]:
    """The chosen month's statuses counted over every school of the filter (not only the page's):
    status label -> schools (three queries: the schools, the month's reports, the terms)."""
    today = today or timezone.localdate()
    month = chosen_month(filterset, today)
    schools = filterset.qs.order_by().values("pk")
    total = schools.count()
    submitted = list(
        DropoutMonthlyReport.objects.filter(school__in=schools, month=month).values_list("submitted_on", flat=True)
    )
    required = month in months_in_term(month, month)
    found: dict[str, int] = {}
    for submitted_on in [*submitted, *[None] * (total - len(submitted))]:
        label = MonthlyStatus(
            monthly_status(month=month, submitted_on=submitted_on, today=today, required=required)
        ).label
        found[label] = found.get(label, 0) + 1
    return found


@dataclass(frozen=True)
class MonthLine:
    """One school's month: a row of the 月报 report."""

    school: School
    cell: MonthCell


def monthly_lines(filterset: DropoutSchoolFilter) -> list[MonthLine]:
    return [MonthLine(row.school, cell) for row in monthly_grid(filterset).rows for cell in row.cells]


# --- 季度复核 --------------------------------------------------------------------------------------------


@dataclass
class SchoolRecheck:
    school: School
    recheck: DropoutRecheck | None


def chosen_quarter(filterset: DropoutSchoolFilter, today: dt.date) -> dt.date:
    value = filterset.form.cleaned_data.get("quarter") if filterset.is_valid() else None
    if value:
        year, number = value.split("-Q")
        return dt.date(int(year), (int(number) - 1) * 3 + 1, 1)
    return quarter_of(today)


def schools_by_recheck(filterset: DropoutSchoolFilter, quarter: dt.date) -> QuerySet[School]:
    """The filter's schools, those not yet re-checked for ``quarter`` first (for the page's paginator)."""
    done = DropoutRecheck.objects.filter(school=OuterRef("pk"), quarter=quarter)
    return filterset.qs.annotate(rechecked=Exists(done)).order_by("rechecked", "town__code", "stage", "name", "pk")


def rechecks_of_quarter(schools: Iterable[School], quarter: dt.date) -> list[SchoolRecheck]:
    """Each school with its re-check of ``quarter`` (None: 未复核), in the order given."""
    schools = list(schools)
    rechecks = {
        r.school_id: r
        for r in DropoutRecheck.objects.filter(school__in=[s.pk for s in schools], quarter=quarter).select_related(
            "checked_by"
        )
    }
    return [SchoolRecheck(school=s, recheck=rechecks.get(s.pk)) for s in schools]


def rechecks_missing(filterset: DropoutSchoolFilter, quarter: dt.date) -> int:
    return filterset.qs.exclude(pk__in=DropoutRecheck.objects.filter(quarter=quarter).values("school_id")).count()


def days_without_leave_in_month(on: dt.date) -> dict[int, int]:
    """Each student's days absent without leave in ``on``'s month, from the teachers' 缺勤登记 (a note
    counts in the month it starts): student id -> days, one query. For 预警's 本月缺勤 sign."""
    month = first_of_month(on)
    rows = (
        AbsenceNote.objects.filter(with_leave=False, date_from__gte=month, date_from__lt=next_month(month))
        .values("student_id")
        .annotate(days=Sum("days"))
    )
    return {row["student_id"]: row["days"] for row in rows}
