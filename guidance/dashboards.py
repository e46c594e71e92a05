"""Selectors of the officer's and the county's dashboards: the compliance engine, grouped.

Each runs a constant number of queries: the engine's six, plus a few for the names on the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from pairing.models import Pairing, PairingQuerySet, School, Term, Town
from zaoyang_aid.access import scope_of

from .compliance import PairingCompliance, Totals, WeekState, compliance_for, totals_by
from .models import TalkRecord

# Overdue first: the officer's eye goes to who needs a nudge.
_STATE_ORDER = {
    WeekState.OVERDUE: 0,
    WeekState.DUE: 1,
    WeekState.DONE: 2,
    WeekState.EXCUSED: 3,
    WeekState.AWAY: 4,
    WeekState.NO_SCHOOL: 5,
}


@dataclass
class StudentRow:
    pairing: Pairing
    compliance: PairingCompliance

    @property
    def sort_key(self) -> tuple[Any, ...]:
        c = self.compliance
        return (_STATE_ORDER[c.week_state], -c.missed_weeks, c.home_visit_done, self.pairing.student.name)


@dataclass
class TeacherRow:
    teacher_id: int
    name: str
    phone: str
    totals: Totals = field(default_factory=Totals)
    missed_weeks: int = 0
    overdue_now: int = 0

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (-self.overdue_now, -self.missed_weeks, self.totals.visited - self.totals.pairings, self.name)


@dataclass
class SchoolDashboard:
    school: School
    term: Term
    as_of: dt.date
    totals: Totals
    teachers: list[TeacherRow]
    students: list[StudentRow]
    recent_talks: list[TalkRecord]


def _active_pairings(user: Any) -> PairingQuerySet:
    return Pairing.objects.visible_to(user).active()


def school_dashboard(user: Any, *, term: Term, as_of: dt.date | None = None, recent: int = 20) -> SchoolDashboard:
    """The officer's dashboard: per teacher and per student, overdue first, and the latest records."""
    as_of = as_of or timezone.localdate()
    scope = scope_of(user)
    school = School.objects.select_related("town").get(pk=scope.school_id)
    pairings = list(
        _active_pairings(user).select_related("teacher__user", "student").order_by("student__grade", "student__name")
    )
    rows = compliance_for(_active_pairings(user), term=term, as_of=as_of)
    students: list[StudentRow] = []
    teachers: dict[int, TeacherRow] = {}
    totals = Totals()
    for pairing in pairings:
        compliance = rows.get(pairing.pk)
        if compliance is None:  # paired after as_of
            continue
        students.append(StudentRow(pairing, compliance))
        teacher = teachers.setdefault(
            pairing.teacher_id, TeacherRow(pairing.teacher_id, pairing.teacher.name, pairing.teacher.phone)
        )
        teacher.totals.add(compliance)
        teacher.missed_weeks += compliance.missed_weeks
        teacher.overdue_now += int(compliance.week_state == WeekState.OVERDUE)
        totals.add(compliance)
    recent_talks = list(
        TalkRecord.objects.visible_to(user)
        .filter(term=term)
        .select_related("pairing__student", "pairing__teacher__user")
        .order_by("-created_at", "-pk")[:recent]
    )
    return SchoolDashboard(
        school=school,
        term=term,
        as_of=as_of,
        totals=totals,
        teachers=sorted(teachers.values(), key=lambda t: t.sort_key),
        students=sorted(students, key=lambda s: s.sort_key),
        recent_talks=recent_talks,
    )


@dataclass
class Line:
    """One town or school on the county dashboard."""

    pk: int
    name: str
    totals: Totals
    extra: str = ""


@dataclass
class CountyDashboard:
    term: Term
    as_of: dt.date
    totals: Totals
    towns: list[Line]
    schools: list[Line]


def county_dashboard(
    user: Any, *, term: Term, as_of: dt.date | None = None, town_id: int | None = None
) -> CountyDashboard:
    """Per town and per school: pairings, this week's and this term's completion, home visits.

    Schools are listed lowest term completion first (those that need a call), within one town when
    ``town_id`` is given.
    """
    as_of = as_of or timezone.localdate()
    rows = list(compliance_for(_active_pairings(user), term=term, as_of=as_of).values())
    totals = Totals()
    for row in rows:
        totals.add(row)
    by_town = totals_by(rows, "town_id")
    by_school = totals_by((r for r in rows if town_id is None or r.town_id == town_id), "school_id")
    towns = [Line(t.pk, t.name, by_town.get(t.pk, Totals())) for t in Town.objects.order_by("code")]
    school_names = School.objects.filter(pk__in=list(by_school)).values_list("pk", "name", "town__name")
    schools = [Line(pk, name, by_school[pk], extra=town) for pk, name, town in school_names]
    schools.sort(key=lambda line: (line.totals.term_rate if line.totals.term_rate is not None else 2, line.name))
    return CountyDashboard(term=term, as_of=as_of, totals=totals, towns=towns, schools=schools)
