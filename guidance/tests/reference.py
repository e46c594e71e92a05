"""A reference for the compliance engine, written the slow, obvious way: day by day, week by week,
from the raw rows. Tests compare the engine (bitmasks, tallies, bisection) against it.

The rule it spells out (README, guidance/compliance.py): a pairing owes a school week when, on at
least one school day of it, the pairing was active and its student 在校; an owed week that has ended
is done with a talk in it, excused by an officer, or missed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pairing.models import Closure, ClosureKind, EnrollmentChange, EnrollmentStatus, Pairing, Term
from zaoyang_aid import calendar

from ..models import ExcusedWeek, HomeVisit, TalkRecord


@dataclass(frozen=True)
class Expected:
    expected_weeks: int
    done_weeks: int
    excused_weeks: int
    missed_weeks: int
    this_week_expected: bool
    this_week_done: bool
    this_week_excused: bool
    last_week_missed: bool
    visits: int


def _enrolled(changes: list[EnrollmentChange], day: dt.date) -> bool:
    status = EnrollmentStatus.ENROLLED
    for change in changes:  # in (effective_on, pk) order
        if change.effective_on <= day:
            status = change.status
    return status == EnrollmentStatus.ENROLLED


def reference(pairing: Pairing, term: Term, as_of: dt.date) -> Expected:
    school_id = pairing.teacher.school_id
    rows = [
        c
        for c in Closure.objects.filter(start_date__lte=term.end_date, end_date__gte=term.start_date)
        if c.school_id in (None, school_id)
    ]
    closed = [c for c in rows if c.kind != ClosureKind.MAKEUP]
    made_up = [c for c in rows if c.kind == ClosureKind.MAKEUP]  # 调休: school on a day of rest

    def school_day(day: dt.date) -> bool:
        if any(c.start_date <= day <= c.end_date for c in closed):
            return False
        return calendar.is_working_day(day) or any(c.start_date <= day <= c.end_date for c in made_up)

    weeks: dict[dt.date, list[dt.date]] = {}
    day = term.start_date
    while day <= term.end_date:
        if school_day(day):
            weeks.setdefault(calendar.monday_of(day), []).append(day)
        day += dt.timedelta(days=1)
    changes = list(EnrollmentChange.objects.filter(student=pairing.student).order_by("effective_on", "pk"))

    def owed(days: list[dt.date]) -> bool:
        return any(pairing.active_on(d) and _enrolled(changes, d) for d in days)

    talked = {
        calendar.monday_of(t.date) for t in TalkRecord.objects.filter(pairing=pairing, term=term, date__lte=as_of)
    }
    excused = set(ExcusedWeek.objects.filter(pairing=pairing).values_list("week_monday", flat=True))
    this_monday = calendar.monday_of(as_of)
    owed_elapsed = [m for m, days in weeks.items() if m < this_monday and owed(days)]
    expected = [m for m in owed_elapsed if m not in excused]
    done = [m for m in expected if m in talked]
    this_owed = this_monday in weeks and owed(weeks[this_monday])
    previous = max((m for m in weeks if m < this_monday), default=None)
    last_missed = previous is not None and owed(weeks[previous]) and previous not in talked and previous not in excused
    return Expected(
        expected_weeks=len(expected),
        done_weeks=len(done),
        excused_weeks=len(owed_elapsed) - len(expected),
        missed_weeks=len(expected) - len(done),
        this_week_expected=this_owed,
        this_week_done=this_monday in talked and this_monday not in excused,
        this_week_excused=this_owed and this_monday in excused,
        last_week_missed=last_missed,
        visits=HomeVisit.objects.filter(pairing__student=pairing.student, term=term, date__lte=as_of).count(),
    )


def engine_as_expected(row: object) -> Expected:
    return Expected(**{name: getattr(row, name) for name in Expected.__dataclass_fields__})
