"""The engine equals the day-by-day reference (reference.py) on random calendars: term dates moved
after the talks were written (by the service, or behind its back), closures for the county and for
the school, a student handed from teacher to teacher, status changes (休学, 辍学, back), excused
weeks, talks on any day of the term (school day or not, in an owed week or not) and any ``as_of``,
counted both from the tallies and from the talk rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidance.compliance import compliance_for
from pairing.models import Closure, ClosureKind, EnrollmentChange, EnrollmentStatus, Pairing, Term
from pairing.services import term_dates_change
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory
from .reference import engine_as_expected, reference

pytestmark = pytest.mark.django_db

D = dt.date
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Scenario:
    start: dt.date
    length: int
    move: tuple[int, int]  # days the term's start and end move after the records exist
    move_by_service: bool
    closures: list[tuple[int, int, bool, str]]  # (offset from the start, length, this school only, kind)
    starts: list[int]  # the pairings' start offsets, one after another (a takeover chain)
    last_ends: int | None
    changes: list[tuple[int, str]]  # (offset, status)
    excused: list[tuple[int, int]]  # (week number from the term's first Monday, pairing index)
    talks: list[tuple[int, int]]  # (offset, pairing index)
    visits: list[tuple[int, int]]
    as_of: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    length = draw(st.integers(100, 150))
    starts = sorted(set(draw(st.lists(st.integers(-30, length - 5), min_size=1, max_size=3))))
    return Scenario(
        start=D(2025, 8, 25) + DAY * draw(st.integers(0, 14)),
        length=length,
        move=(draw(st.integers(-10, 10)), draw(st.integers(-10, 10))),
        move_by_service=draw(st.booleans()),
        closures=draw(
            st.lists(
                st.tuples(
                    st.integers(0, length),
                    st.integers(0, 12),
                    st.booleans(),
                    st.sampled_from([ClosureKind.CLOSURE, ClosureKind.MAKEUP]),  # 调休: school on a weekend
                ),
                max_size=3,
            )
        ),
        starts=starts,
        last_ends=draw(st.none() | st.integers(starts[-1], length + 10)),
        changes=draw(
            st.lists(st.tuples(st.integers(-20, length), st.sampled_from(EnrollmentStatus.values)), max_size=3)
        ),
        excused=draw(st.lists(st.tuples(st.integers(0, 22), st.integers(0, 2)), max_size=4)),
        talks=draw(st.lists(st.tuples(st.integers(0, length), st.integers(0, 2)), max_size=30)),
        visits=draw(st.lists(st.tuples(st.integers(0, length), st.integers(0, 2)), max_size=2)),
        as_of=draw(st.integers(0, length + 10)),
    )


class _Rollback(Exception):
    pass


def _build(s: Scenario) -> tuple[Term, list[Pairing]]:
    term = pf.TermFactory(school_year__start_year=2025, start_date=s.start, end_date=s.start + DAY * s.length)
    school = pf.SchoolFactory()
    student = pf.StudentFactory(school=school, birth_date=D(2012, 1, 1))
    pairings = []
    for i, offset in enumerate(s.starts):
        ends = s.starts[i + 1] if i + 1 < len(s.starts) else s.last_ends
        pairings.append(
            pf.PairingFactory(
                student=student,
                teacher__school=school,
                started_on=s.start + DAY * offset,
                ended_on=None if ends is None else s.start + DAY * ends,
                end_reason="" if ends is None else "transfer",
            )
        )
    for offset, length, own, kind in s.closures:
        first = s.start + DAY * offset
        Closure.objects.create(
            name="停课", kind=kind, school=school if own else None, start_date=first, end_date=first + DAY * length
        )
    for offset, status in s.changes:
        EnrollmentChange.objects.create(student=student, status=status, effective_on=s.start + DAY * offset, reason="x")
    # Records only on days inside the term both before and after its dates move, as the service requires.
    lo, hi = max(0, s.move[0]), min(s.length, s.length + s.move[1])
    first_monday = s.start - DAY * s.start.weekday()
    seen: set[tuple[int, dt.date]] = set()
    for week, index in s.excused:
        pairing = pairings[index % len(pairings)]
        monday = first_monday + dt.timedelta(weeks=week)
        if (pairing.pk, monday) not in seen:
            seen.add((pairing.pk, monday))
            ExcusedWeekFactory(pairing=pairing, week_monday=monday)
    for offset, index in s.talks:
        if lo <= offset <= hi:
            TalkRecordFactory(pairing=pairings[index % len(pairings)], date=s.start + DAY * offset)
    for offset, index in s.visits:
        if lo <= offset <= hi:
            HomeVisitFactory(pairing=pairings[index % len(pairings)], date=s.start + DAY * offset)
    new_start, new_end = s.start + DAY * s.move[0], s.start + DAY * (s.length + s.move[1])
    if s.move_by_service:
        term = term_dates_change(term=term, start_date=new_start, end_date=new_end)
    else:  # behind the service's back: the tallies keep their old base, the engine must still be right
        Term.objects.filter(pk=term.pk).update(start_date=new_start, end_date=new_end)
        term = Term.objects.select_related("school_year").get(pk=term.pk)
    return term, pairings


def _check(s: Scenario, *, today_offset: int) -> None:
    term, pairings = _build(s)
    as_of = s.start + DAY * s.as_of
    with mock.patch("guidance.compliance.timezone.localdate", return_value=as_of + DAY * today_offset):
        rows = compliance_for(Pairing.objects.filter(pk__in=[p.pk for p in pairings]), term=term, as_of=as_of)
    shown = {
        p.pk
        for p in pairings
        if p.started_on <= min(as_of, term.end_date) and (p.ended_on is None or p.ended_on > term.start_date)
    }
    assert set(rows) == shown
    for pairing in pairings:
        if pairing.pk in rows:
            assert engine_as_expected(rows[pairing.pk]) == reference(pairing, term, as_of), pairing


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _in_savepoint(s: Scenario, today_offset: int) -> None:
    try:
        with transaction.atomic():
            _check(s, today_offset=today_offset)
            raise _Rollback
    except _Rollback:
        pass


@PROPERTY
@given(s=scenarios())
def test_the_engine_from_the_tallies_equals_the_day_by_day_count(db: None, s: Scenario) -> None:
    _in_savepoint(s, today_offset=0)  # as_of is today: the live pages' path, through the tallies


@PROPERTY
@given(s=scenarios())
def test_the_engine_from_the_talk_rows_equals_the_day_by_day_count(db: None, s: Scenario) -> None:
    _in_savepoint(s, today_offset=1)  # as_of in the past: the talk rows' path
