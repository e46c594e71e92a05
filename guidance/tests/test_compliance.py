"""The compliance engine (guidance.compliance.compliance_for): which school weeks each pairing owed a
talk, which are done, excused or missed, this week's state, the tracks covered and the home visit.

The world's term is 2026-2027学年第一学期, 2026-09-01 (a Tuesday) to 2027-01-22, and the world stands
on Monday 2026-11-16, the first day of school week 12. National Day runs from Thursday 1 to Wednesday
7 October 2026 with Saturday 10 October a make-up working day, so both weeks around it keep school
days (28-30 September; 8, 9 and 10 October) and count. Weeks 1-11 have ended.
"""

from __future__ import annotations

import datetime as dt

import pytest

from guidance.compliance import compliance_for, compliance_of_rows, totals_by
from pairing import calendars
from pairing.models import Closure, Pairing
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 11, 16)


def week_days(world, school_id=None):
    """Week number -> that school week's first school day, in the world's term."""
    return {w.number: w.school_days[0] for w in world.term.school_weeks(school_id)}


def talk_in_weeks(world, pairing, numbers, **tags):
    days = week_days(world)
    for n in numbers:
        TalkRecordFactory(pairing=pairing, date=days[n], **tags)


def check(pairing, *, term, as_of=TODAY):
    return compliance_for(Pairing.objects.filter(pk=pairing.pk), term=term, as_of=as_of)[pairing.pk]


def pairing_a1(world):
    return world.student_a1.pairings.get()


def pairing_b1(world):
    return world.student_b1.pairings.get()


def excuse(world, pairing, monday):
    return ExcusedWeekFactory(pairing=pairing, week_monday=monday, excused_by=world.officer_a)


# --- Expected, done and missed weeks ---------------------------------------------------------------


def test_a_pairing_from_the_first_day_owes_every_ended_school_week(world):
    row = check(pairing_a1(world), term=world.term)
    assert (row.expected_weeks, row.done_weeks, row.excused_weeks, row.missed_weeks) == (11, 0, 0, 11)
    assert row.this_week_expected and not row.this_week_done
    assert row.completion_rate == 0


def test_both_national_day_weeks_count_and_a_talk_on_the_holiday_or_make_up_day_fills_its_week(world):
    pairing = pairing_a1(world)
    TalkRecordFactory(pairing=pairing, date=D(2026, 9, 29))  # week 5, before the holiday
    TalkRecordFactory(pairing=pairing, date=D(2026, 10, 3))  # week 5 again, a holiday Saturday
    TalkRecordFactory(pairing=pairing, date=D(2026, 10, 10))  # week 6, the make-up working Saturday
    row = check(pairing, term=world.term)
    assert row.expected_weeks == 11
    assert row.done_weeks == 2  # distinct weeks, not talks
    assert row.missed_weeks == 9


def test_a_week_that_is_all_holiday_is_not_owed(world):
    # 2025-2026学年第二学期 set to span the Spring Festival (15-23 February 2026, make-up Saturdays on
    # 14 and 28 February): the week of 16 February has no school day, the week of 23 February has
    # Tuesday to Saturday.
    spring = pf.TermFactory(school_year__start_year=2025, number=2, start_date=D(2026, 2, 9), end_date=D(2026, 3, 8))
    pairing = pf.PairingFactory(teacher__school=world.school_a, started_on=D(2026, 2, 9))
    TalkRecordFactory(pairing=pairing, date=D(2026, 2, 28), term=spring)
    row = check(pairing, term=spring)
    assert row.expected_weeks == 3
    assert (row.done_weeks, row.missed_weeks) == (1, 2)


def test_a_pairing_that_starts_mid_week_owes_that_week(world):
    pairing = pf.PairingFactory(teacher__school=world.school_a, started_on=D(2026, 10, 14))  # Wednesday, week 7
    assert check(pairing, term=world.term).expected_weeks == 5  # weeks 7 to 11


def test_a_pairing_that_starts_on_a_saturday_owes_from_the_next_week(world):
    pairing = pf.PairingFactory(teacher__school=world.school_a, started_on=D(2026, 10, 17))  # Saturday, week 7
    assert check(pairing, term=world.term).expected_weeks == 4  # weeks 8 to 11


def test_a_pairing_that_ends_mid_week_owes_that_week_and_none_after(world):
    pairing = pairing_a1(world)
    pairing.ended_on, pairing.end_reason = D(2026, 10, 21), "transfer"  # Wednesday of week 8
    pairing.save()
    talk_in_weeks(world, pairing, range(1, 8))
    row = check(pairing, term=world.term)
    assert (row.expected_weeks, row.done_weeks, row.missed_weeks) == (8, 7, 1)
    assert not row.this_week_expected
    assert row.week_state == "no_school"


def test_a_pairing_that_ends_on_a_monday_does_not_owe_that_week(world):
    # A pairing covers [started_on, ended_on): ended on the Monday of week 8, it was never active in it.
    pairing = pf.PairingFactory(
        teacher__school=world.school_a, started_on=D(2026, 9, 1), ended_on=D(2026, 10, 19), end_reason="transfer"
    )
    assert check(pairing, term=world.term).expected_weeks == 7


def test_pairings_outside_the_term_or_not_yet_started_are_left_out(world):
    before = pf.PairingFactory(
        teacher__school=world.school_a, started_on=D(2026, 3, 2), ended_on=D(2026, 7, 10), end_reason="graduation"
    )
    later = pf.PairingFactory(teacher__school=world.school_a, started_on=D(2026, 11, 23))
    rows = compliance_for(Pairing.objects.filter(pk__in=[before.pk, later.pk]), term=world.term, as_of=TODAY)
    assert rows == {}


def test_talks_of_another_term_do_not_count(world):
    pairing = pairing_a1(world)
    pf.TermFactory(school_year__start_year=2025, number=2, start_date=D(2026, 3, 2), end_date=D(2026, 7, 10))
    TalkRecordFactory(pairing=pairing, date=D(2026, 6, 1))
    row = check(pairing, term=world.term)
    assert row.done_weeks == 0 and row.last_talk_on is None


# --- Excused weeks ---------------------------------------------------------------------------------


def test_an_excused_week_is_neither_done_nor_missed_even_with_a_talk_in_it(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 12))
    excuse(world, pairing, D(2026, 11, 9))  # week 11, which also has a talk
    row = check(pairing, term=world.term)
    assert (row.expected_weeks, row.done_weeks, row.excused_weeks, row.missed_weeks) == (10, 10, 1, 0)
    assert not row.last_week_missed
    assert row.completion_rate == 1


def test_an_excused_week_without_a_talk_is_not_missed(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, [*range(1, 9), 10, 11])
    excuse(world, pairing, D(2026, 10, 26))  # week 9
    row = check(pairing, term=world.term)
    assert (row.expected_weeks, row.done_weeks, row.excused_weeks, row.missed_weeks) == (10, 10, 1, 0)


def test_an_excused_last_week_is_not_overdue(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 11))
    excuse(world, pairing, D(2026, 11, 9))
    assert check(pairing, term=world.term).week_state == "due"


def test_this_week_excused_shows_excused_even_with_a_talk(world):
    pairing = pairing_a1(world)
    TalkRecordFactory(pairing=pairing, date=TODAY)
    excuse(world, pairing, TODAY)
    row = check(pairing, term=world.term)
    assert row.week_state == "excused" and row.week_state_label == "本周已免记"
    assert row.this_week_excused and not row.this_week_done
    assert row.excused_weeks == 0  # this week has not ended: it is not among the elapsed weeks


def test_an_excuse_for_a_week_still_ahead_changes_nothing_yet(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 12))
    excuse(world, pairing, D(2026, 11, 30))
    row = check(pairing, term=world.term)
    assert (row.expected_weeks, row.excused_weeks, row.this_week_excused) == (11, 0, False)


# --- School weeks of one school ------------------------------------------------------------------


def test_a_schools_own_closure_removes_the_week_for_that_school_only(world):
    Closure.objects.create(
        name="校运会停课", school=world.school_a, start_date=D(2026, 11, 9), end_date=D(2026, 11, 13)
    )
    a1, b1 = pairing_a1(world), pairing_b1(world)
    rows = compliance_for(Pairing.objects.filter(pk__in=[a1.pk, b1.pk]), term=world.term, as_of=TODAY)
    assert rows[a1.pk].expected_weeks == 10
    assert rows[b1.pk].expected_weeks == 11


def test_with_its_week_11_closed_a_schools_last_week_is_week_10(world):
    Closure.objects.create(name="停课", school=world.school_a, start_date=D(2026, 11, 9), end_date=D(2026, 11, 13))
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 11))
    row = check(pairing, term=world.term)
    assert (row.missed_weeks, row.last_week_missed, row.week_state) == (0, False, "due")


def test_a_county_closure_removes_the_week_for_every_school(world):
    Closure.objects.create(name="期中放假", start_date=D(2026, 11, 9), end_date=D(2026, 11, 13))
    a1, b1 = pairing_a1(world), pairing_b1(world)
    rows = compliance_for(Pairing.objects.filter(pk__in=[a1.pk, b1.pk]), term=world.term, as_of=TODAY)
    assert rows[a1.pk].expected_weeks == rows[b1.pk].expected_weeks == 10


def test_a_closure_that_leaves_one_school_day_keeps_the_week(world):
    Closure.objects.create(name="停课", school=world.school_a, start_date=D(2026, 11, 9), end_date=D(2026, 11, 12))
    assert check(pairing_a1(world), term=world.term).expected_weeks == 11


# --- This week ---------------------------------------------------------------------------------------


def test_this_week_is_due_while_last_week_was_done(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 12))
    row = check(pairing, term=world.term)
    assert (row.week_state, row.week_state_label) == ("due", "本周待记录")
    assert row.missed_weeks == 0


def test_a_talk_this_week_makes_it_done(world):
    pairing = pairing_a1(world)
    TalkRecordFactory(pairing=pairing, date=TODAY)
    row = check(pairing, term=world.term)
    assert (row.week_state, row.week_state_label) == ("done", "本周已完成")
    assert row.done_weeks == 0  # this week is not among the ended weeks yet


def test_a_missed_last_week_makes_this_week_overdue(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 11))
    row = check(pairing, term=world.term)
    assert (row.week_state, row.week_state_label) == ("overdue", "上周未记录")
    assert row.last_week_missed and row.missed_weeks == 1


def test_overdue_turns_done_once_this_weeks_talk_is_in(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 11))
    TalkRecordFactory(pairing=pairing, date=TODAY)
    row = check(pairing, term=world.term)
    assert row.week_state == "done" and row.missed_weeks == 1


def test_a_talk_dated_after_as_of_is_not_counted(world):
    pairing = pairing_a1(world)
    TalkRecordFactory(pairing=pairing, date=D(2026, 11, 19))
    assert not check(pairing, term=world.term, as_of=D(2026, 11, 18)).this_week_done
    assert check(pairing, term=world.term, as_of=D(2026, 11, 19)).this_week_done


def test_a_pairing_that_starts_this_week_is_due_not_overdue(world):
    pairing = pf.PairingFactory(teacher__school=world.school_a, started_on=TODAY)
    row = check(pairing, term=world.term)
    assert (row.expected_weeks, row.week_state) == (0, "due")
    assert row.completion_rate is None


def test_a_week_without_school_needs_no_talk(world):
    Closure.objects.create(name="停课", school=world.school_a, start_date=D(2026, 11, 16), end_date=D(2026, 11, 20))
    row = check(pairing_a1(world), term=world.term)
    assert not row.this_week_expected
    assert (row.week_state, row.week_state_label) == ("no_school", "本周无需记录")


# --- Tracks, last talk, home visits ---------------------------------------------------------------


def test_the_tracks_covered_are_every_track_of_the_terms_talks(world):
    pairing = pairing_a1(world)
    TalkRecordFactory(pairing=pairing, date=D(2026, 9, 8), track_study=True)
    TalkRecordFactory(pairing=pairing, date=D(2026, 10, 13), track_study=False, track_thought=True, track_policy=True)
    row = check(pairing, term=world.term)
    assert row.tracks == ["思想引导", "学业辅导", "政策宣导"]
    assert row.last_talk_on == D(2026, 10, 13)


def test_no_talk_means_no_tracks(world):
    row = check(pairing_a1(world), term=world.term)
    assert row.tracks == [] and row.last_talk_on is None


def test_the_home_visit_is_done_with_a_visit_in_the_term(world):
    a1, b1 = pairing_a1(world), pairing_b1(world)
    HomeVisitFactory(pairing=a1, date=D(2026, 10, 17))
    HomeVisitFactory(pairing=a1, date=D(2026, 11, 14))
    rows = compliance_for(Pairing.objects.filter(pk__in=[a1.pk, b1.pk]), term=world.term, as_of=TODAY)
    assert rows[a1.pk].home_visit_done and rows[a1.pk].visits == 2
    assert not rows[b1.pk].home_visit_done


def test_a_visit_of_another_term_or_after_as_of_does_not_count(world):
    pairing = pairing_a1(world)
    pf.TermFactory(school_year__start_year=2025, number=2, start_date=D(2026, 3, 2), end_date=D(2026, 7, 10))
    HomeVisitFactory(pairing=pairing, date=D(2026, 6, 6))
    HomeVisitFactory(pairing=pairing, date=D(2026, 11, 14))
    assert not check(pairing, term=world.term, as_of=D(2026, 11, 13)).home_visit_done


# --- A term in the past ----------------------------------------------------------------------------


def test_a_past_term_is_counted_to_its_end_with_no_current_week(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 21))  # all but the last week, 18-22 January 2027
    HomeVisitFactory(pairing=pairing, date=D(2026, 10, 17))
    row = check(pairing, term=world.term, as_of=D(2027, 3, 1))
    assert (row.expected_weeks, row.done_weeks, row.missed_weeks) == (21, 20, 1)
    assert not row.this_week_expected and row.week_state == "no_school"
    assert row.home_visit_done


def test_the_spring_term_seen_from_the_autumn(world):
    spring = pf.TermFactory(school_year__start_year=2025, number=2, start_date=D(2026, 3, 2), end_date=D(2026, 7, 10))
    pairing = pf.PairingFactory(
        teacher__school=world.school_a, started_on=D(2026, 3, 2), ended_on=D(2026, 7, 10), end_reason="graduation"
    )
    days = {w.number: w.school_days[0] for w in spring.school_weeks()}
    for n in list(days)[:5]:
        TalkRecordFactory(pairing=pairing, date=days[n], term=spring)
    row = check(pairing, term=spring)
    assert row.expected_weeks == len(days) and row.done_weeks == 5
    assert row.missed_weeks == len(days) - 5
    assert row.week_state == "no_school"


# --- Totals and query counts ------------------------------------------------------------------------


def test_totals_by_school_add_up_the_rows(world):
    a1, b1 = pairing_a1(world), pairing_b1(world)
    a2 = world.student_a2.pairings.get()
    talk_in_weeks(world, a1, range(1, 12))
    TalkRecordFactory(pairing=a1, date=TODAY)
    HomeVisitFactory(pairing=a2)
    rows = compliance_for(Pairing.objects.filter(pk__in=[a1.pk, a2.pk, b1.pk]), term=world.term, as_of=TODAY)
    school_a = totals_by(rows.values(), "school_id")[world.school_a.pk]
    assert (school_a.pairings, school_a.expected_weeks, school_a.done_weeks) == (2, 22, 11)
    assert (school_a.this_week_expected, school_a.this_week_done, school_a.visited) == (2, 1, 1)
    assert school_a.term_rate == 0.5 and school_a.week_rate == 0.5 and school_a.visit_rate == 0.5


def populate(world, n):
    """n pairings over the two schools, each with talks, an excused week and a home visit; school A
    has its own closure."""
    Closure.objects.get_or_create(
        name="校运会停课", school=world.school_a, start_date=D(2026, 10, 26), end_date=D(2026, 10, 30)
    )
    for i in range(n):
        pairing = pf.PairingFactory(teacher__school=world.school_a if i % 2 else world.school_b)
        talk_in_weeks(world, pairing, [2, 3, 11], track_life=True)
        excuse(world, pairing, D(2026, 11, 2))
        HomeVisitFactory(pairing=pairing)


@pytest.mark.parametrize("n", [5, 50])
def test_the_engine_runs_five_queries_for_any_number_of_pairings(world, django_assert_num_queries, n):
    populate(world, n)
    calendars.snapshot()  # the term calendar, read once per change (pairing/calendars.py)
    # 1 the pairings with school and town, 2 the students' enrollment history, 3 the excused weeks
    # per pairing, 4 the talk weeks per pairing (tallies), 5 the home visits per student (the
    # closures touching the term come from the cached calendar)
    with django_assert_num_queries(5):
        rows = compliance_for(Pairing.objects.all(), term=world.term, as_of=TODAY)
    assert len(rows) == n + 3
    assert {r.done_weeks for r in rows.values() if r.visits} == {3}


# --- Edge cases found in review ---------------------------------------------------------------------


def test_a_talk_in_a_week_later_closed_never_pushes_done_past_owed(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, range(1, 12))  # every week, including 11-09's
    Closure.objects.create(name="停课", school=world.school_a, start_date=D(2026, 11, 9), end_date=D(2026, 11, 13))
    row = check(pairing, term=world.term)
    assert (row.expected_weeks, row.done_weeks, row.missed_weeks) == (10, 10, 0)
    assert row.completion_rate == 1


def test_a_talk_in_an_excused_week_still_counts_for_tracks_and_the_last_talk_date(world):
    pairing = pairing_a1(world)
    TalkRecordFactory(pairing=pairing, date=D(2026, 11, 11), track_study=False, track_psych=True)
    excuse(world, pairing, D(2026, 11, 9))
    row = check(pairing, term=world.term)
    assert row.done_weeks == 0 and row.excused_weeks == 1
    assert row.tracks == ["心理疏导"]
    assert row.last_talk_on == D(2026, 11, 11)


# --- The engine on pairings already read (我的帮扶学生) -------------------------------------------


def test_was_active_in_is_in_term_for_rows_already_read(world):
    """Pairing.was_active_in, the Python twin of PairingQuerySet.in_term, keeps the same pairings,
    on the edges: starting on the as-of day or after it, ending on the term's first day or after."""
    term = world.term
    spans = [
        (D(2026, 3, 1), D(2026, 6, 30)),  # ended before the term
        (D(2026, 3, 1), term.start_date),  # ended on the term's first day: no day in it
        (D(2026, 3, 1), term.start_date + dt.timedelta(days=1)),
        (term.start_date, None),
        (TODAY, None),  # starts on the as-of day
        (TODAY + dt.timedelta(days=1), None),  # starts after it
        (D(2026, 10, 12), D(2026, 10, 30)),
        (term.end_date + dt.timedelta(days=1), None),
    ]
    made = [
        pf.PairingFactory(
            teacher=world.teacher_a1.teacher,
            started_on=start,
            ended_on=end,
            end_reason="graduation" if end else "",
        )
        for start, end in spans
    ]
    for as_of in (TODAY, term.start_date, term.end_date + dt.timedelta(days=30)):
        in_sql = set(
            Pairing.objects.filter(pk__in=[p.pk for p in made]).in_term(term, as_of).values_list("pk", flat=True)
        )
        in_python = {p.pk for p in made if Pairing.was_active_in(p.started_on, p.ended_on, term=term, as_of=as_of)}
        assert in_python == in_sql, as_of


def test_the_engine_on_rows_already_read_answers_as_on_the_queryset(world):
    pairing = pairing_a1(world)
    talk_in_weeks(world, pairing, [1, 2, 5, 9])
    excuse(world, pairing, week_days(world)[3] - dt.timedelta(days=week_days(world)[3].weekday()))
    HomeVisitFactory(pairing=pairing)
    ended = pf.PairingFactory(
        teacher=world.teacher_a1.teacher, started_on=D(2026, 9, 1), ended_on=D(2026, 10, 15), end_reason="graduation"
    )
    pairings = Pairing.objects.filter(pk__in=[pairing.pk, ended.pk, pairing_b1(world).pk])
    rows = pairings.values_list(
        "pk", "teacher__school_id", "teacher__school__town_id", "student_id", "started_on", "ended_on"
    )
    for as_of in (TODAY, D(2026, 10, 1)):
        assert compliance_of_rows(list(rows), term=world.term, as_of=as_of) == compliance_for(
            pairings, term=world.term, as_of=as_of
        )
