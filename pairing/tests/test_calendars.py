"""The cached term calendar (pairing.calendars) answers as the querysets it stands for, reads the
database only when the calendar changed, and sees every change made through save and delete."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pairing import calendars, figures
from pairing.models import Closure, ClosureKind, Term
from pairing.selectors import term_today
from zaoyang_aid import calendar

from .factories import SchoolFactory, SchoolYearFactory, TermFactory

D = dt.date


@pytest.fixture
def county(db):
    """Three terms (one in a later school year) and closures: county-wide, one school's, a make-up day."""
    first = TermFactory()  # 2026-09-01 .. 2027-01-22
    second = TermFactory(number=2, start_date=D(2027, 2, 22), end_date=D(2027, 7, 9))
    earlier = TermFactory(
        school_year=SchoolYearFactory(start_year=2025), number=2, start_date=D(2026, 2, 23), end_date=D(2026, 7, 10)
    )
    school, other = SchoolFactory(), SchoolFactory()
    Closure.objects.create(name="国庆", kind=ClosureKind.HOLIDAY, start_date=D(2026, 10, 1), end_date=D(2026, 10, 8))
    Closure.objects.create(
        name="停电", kind=ClosureKind.CLOSURE, start_date=D(2026, 11, 9), end_date=D(2026, 11, 13), school=school
    )
    Closure.objects.create(
        name="补课", kind=ClosureKind.MAKEUP, start_date=D(2026, 11, 14), end_date=D(2026, 11, 14), school=other
    )
    return {"terms": [first, second, earlier], "school": school, "other": other}


DAYS = [
    D(2026, 1, 5),
    D(2026, 3, 2),
    D(2026, 7, 10),
    D(2026, 8, 1),
    D(2026, 9, 1),
    D(2026, 11, 11),
    D(2027, 2, 1),
    D(2027, 3, 1),
    D(2027, 9, 1),
]


def test_the_snapshot_answers_as_the_querysets(county):
    held = calendars.snapshot()
    for day in DAYS:
        assert held.latest_started(day) == Term.objects.latest_started(day), day
        assert held.containing(day) == Term.objects.containing(day).first(), day
        monday, sunday = calendar.monday_of(day), calendar.monday_of(day) + dt.timedelta(days=6)
        assert (
            held.overlapping(monday, sunday)
            == Term.objects.filter(start_date__lte=sunday, end_date__gte=monday).first()
        )
        assert held.started_by(day, 2) == list(Term.objects.filter(start_date__lte=day).order_by("-start_date")[:2])
    for term in county["terms"]:
        both = {county["school"].pk, county["other"].pk}
        own = Closure.objects.filter(school_id__in=both, start_date__lte=term.end_date, end_date__gte=term.start_date)
        assert held.schools_with_closures(term.start_date, term.end_date, both) == {c.school_id for c in own}
        for school_id in (None, county["school"].pk, county["other"].pk):
            expected = list(Closure.objects.overlapping(term.start_date, term.end_date, school_id))
            assert sorted(
                held.closures_touching(term.start_date, term.end_date, school_id), key=lambda c: c.pk
            ) == sorted(expected, key=lambda c: c.pk)
            weeks = calendar.school_weeks(term.date_range, [c.date_range for c in expected])
            assert held.school_weeks(term, school_id) == weeks
            assert term.school_weeks(school_id) == weeks


def test_an_unchanged_calendar_is_read_without_a_query(county):
    calendars.snapshot()
    with CaptureQueriesContext(connection) as captured:
        today = term_today(school_id=county["school"].pk, today=D(2026, 11, 11))
        calendars.snapshot().school_weeks(today.term, county["school"].pk)
    assert len(captured) == 0
    assert today.term == county["terms"][0]
    assert today.week is None  # the school's own closure takes that whole week


def test_another_process_reads_the_cached_calendar_without_a_query(county):
    calendars.snapshot()
    calendars.forget()  # a process that has not read it yet: the cache answers
    with CaptureQueriesContext(connection) as captured:
        held = calendars.snapshot()
    assert len(captured) == 0
    assert held.containing(D(2026, 11, 11)) == county["terms"][0]


def test_saving_and_deleting_a_closure_or_a_term_is_seen_at_once(county):
    school = county["school"]
    day = D(2026, 12, 2)
    assert term_today(school_id=school.pk, today=day).week is not None
    closure = Closure.objects.create(
        name="流感停课", kind=ClosureKind.CLOSURE, start_date=D(2026, 11, 30), end_date=D(2026, 12, 4), school=school
    )
    assert term_today(school_id=school.pk, today=day).week is None
    closure.end_date = D(2026, 11, 30)
    closure.save()
    assert term_today(school_id=school.pk, today=day).week is not None
    closure.delete()
    assert calendars.snapshot().closures_touching(D(2026, 11, 30), D(2026, 11, 30), school.pk) == []
    term = county["terms"][0]
    term.end_date = D(2026, 11, 27)
    term.save()
    assert term_today(today=day).in_term is False
    assert calendars.snapshot().containing(day) is None


def test_a_new_county_token_reads_the_calendar_again(county):
    calendars.snapshot()
    Term.objects.filter(pk=county["terms"][0].pk).update(end_date=D(2026, 11, 27))  # behind save's back
    figures.touch_county()  # what such a write must do
    assert calendars.snapshot().containing(D(2026, 12, 2)) is None


def test_a_failing_cache_falls_back_to_the_database(county):
    # pairing.figures and pairing.calendars share django.core.cache.cache: one patch fails both.
    with mock.patch("pairing.calendars.cache.get", side_effect=ConnectionError("redis down")):
        calendars.forget()
        held = calendars.snapshot()
    assert held.containing(D(2026, 11, 11)) == county["terms"][0]


# --- The county's token, once per request ---------------------------------------------------------


def test_a_request_reads_the_county_token_once_and_sees_its_own_write(db, monkeypatch):
    reads: list[list[str]] = []
    real = figures._tokens
    monkeypatch.setattr(figures, "_tokens", lambda keys: reads.append(keys) or real(keys))
    figures.request_started()
    try:
        first = figures.county_token()
        assert figures.county_token() == first
        assert len(reads) == 1  # the talk POST asked four times, a round trip each
        figures.touch_county()  # a calendar row saved in this request: its next read is the new token
        assert figures.county_token() != first
        assert len(reads) == 2
    finally:
        figures.request_finished()
    figures.county_token()
    figures.county_token()
    assert len(reads) == 4  # outside a request (a job, the shell), every read asks the cache


def test_the_next_request_sees_a_token_another_process_changed(db):
    from django.core.cache import cache

    figures.request_started()
    first = figures.county_token()
    cache.set(figures.COUNTY_KEY, "changed-elsewhere", timeout=None)  # another process's touch_county
    assert figures.county_token() == first  # this request keeps what it read
    figures.request_finished()
    figures.request_started()
    try:
        assert figures.county_token() == "changed-elsewhere"
    finally:
        figures.request_finished()


def test_every_reader_in_a_request_keeps_the_county_token_it_drew_its_calendar_with(db):
    """A page recounting a school draws its calendar from the snapshot of the request's county token;
    its figures must be kept under that same token, not under one an admin's save (in another
    process) made meanwhile, or they would stand under the new token counted with the old calendar."""
    from django.core.cache import cache

    figures.request_started()
    try:
        first = figures.county_token()
        cache.set(figures.COUNTY_KEY, "changed-elsewhere", timeout=None)
        assert figures.versions([1])[0] == first
        assert figures.generation()[0] == first
        assert figures.reminders_generation()[0] == first
    finally:
        figures.request_finished()
    assert figures.versions([1])[0] == "changed-elsewhere"


def test_a_request_that_reads_versions_first_holds_that_county_token(db):
    from django.core.cache import cache

    figures.request_started()
    try:
        county, _ = figures.versions([1])
        cache.set(figures.COUNTY_KEY, "changed-elsewhere", timeout=None)
        assert figures.county_token() == county
    finally:
        figures.request_finished()
