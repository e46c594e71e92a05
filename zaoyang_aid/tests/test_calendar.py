"""The term calendar: school days, school weeks and their numbering, names, unknown years.

chinese-calendar 1.11 knows 2004-2026 (VERIFIED.md). In 2026 the Spring Festival holiday runs from
Sunday 15 to Monday 23 February with make-up working Saturdays on 14 and 28 February; National Day
runs from Thursday 1 to Wednesday 7 October with Saturday 10 October a make-up working day.
"""

from __future__ import annotations

import datetime as dt

import pytest

from zaoyang_aid import calendar
from zaoyang_aid.calendar import DateRange

D = dt.date
SPRING_2026 = DateRange(D(2026, 2, 9), D(2026, 3, 8))  # spans the whole Spring Festival holiday
AUTUMN_2026 = DateRange(D(2026, 9, 1), D(2027, 1, 22))


def test_spring_festival_monday_is_a_holiday_not_a_school_day() -> None:
    assert not calendar.is_working_day(D(2026, 2, 16))
    assert not calendar.is_school_day(D(2026, 2, 16), SPRING_2026)
    assert calendar.holiday_name(D(2026, 2, 16)) == "春节"


def test_make_up_working_saturday_is_a_school_day_inside_a_term() -> None:
    saturday = D(2026, 2, 28)
    assert saturday.weekday() == 5
    assert calendar.is_school_day(saturday, SPRING_2026)
    assert calendar.holiday_name(saturday) is None


def test_an_ordinary_saturday_is_not_a_school_day() -> None:
    assert not calendar.is_school_day(D(2026, 3, 7), SPRING_2026)


def test_a_week_of_holiday_is_not_a_school_week_and_numbering_skips_it() -> None:
    weeks = calendar.school_weeks(SPRING_2026)

    assert [w.monday for w in weeks] == [D(2026, 2, 9), D(2026, 2, 23), D(2026, 3, 2)]
    assert [w.number for w in weeks] == [1, 2, 3]
    assert calendar.week_containing(weeks, D(2026, 2, 18)) is None
    assert weeks[1].label == "第2周(02.23-03.01)"


def test_national_day_holiday_has_no_school_day() -> None:
    golden_week = list(calendar.days(D(2026, 10, 1), D(2026, 10, 7)))

    assert not any(calendar.is_school_day(d, AUTUMN_2026) for d in golden_week)
    assert {calendar.holiday_name(d) for d in golden_week} == {"国庆节"}


def test_weeks_around_national_day_keep_only_their_working_days() -> None:
    # 1 October 2026 is a Thursday: the holiday straddles two Monday-Sunday weeks, and each still
    # has working days (28-30 September; 8, 9 and the make-up Saturday 10 October).
    weeks = calendar.school_weeks(AUTUMN_2026)
    before = calendar.week_containing(weeks, D(2026, 10, 1))
    after = calendar.week_containing(weeks, D(2026, 10, 7))

    assert before is not None and before.school_days == (D(2026, 9, 28), D(2026, 9, 29), D(2026, 9, 30))
    assert after is not None and after.school_days == (D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 10))
    assert after.number == before.number + 1


def test_a_week_fully_closed_by_the_school_disappears_and_later_weeks_move_up() -> None:
    term = DateRange(D(2026, 3, 2), D(2026, 3, 29))
    closure = DateRange(D(2026, 3, 9), D(2026, 3, 13))  # Monday to Friday of the second week

    open_weeks = calendar.school_weeks(term)
    closed_weeks = calendar.school_weeks(term, [closure])

    assert len(open_weeks) == 4
    assert [w.monday for w in closed_weeks] == [D(2026, 3, 2), D(2026, 3, 16), D(2026, 3, 23)]
    assert [w.number for w in closed_weeks] == [1, 2, 3]


def test_a_closure_removes_its_days_from_a_week() -> None:
    term = DateRange(D(2026, 3, 2), D(2026, 3, 29))
    weeks = calendar.school_weeks(term, [DateRange(D(2026, 3, 4), D(2026, 3, 5))])

    assert weeks[0].school_days == (D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 6))
    assert not calendar.is_school_day(D(2026, 3, 4), term, [DateRange(D(2026, 3, 4), D(2026, 3, 5))])


def test_a_week_with_one_school_day_is_a_school_week() -> None:
    term = DateRange(D(2026, 3, 2), D(2026, 3, 15))
    closure = DateRange(D(2026, 3, 9), D(2026, 3, 12))  # leaves Friday 13 March

    weeks = calendar.school_weeks(term, [closure])

    assert len(weeks) == 2
    assert weeks[1].school_days == (D(2026, 3, 13),)


def test_days_outside_the_term_are_not_counted() -> None:
    # Starts on a Wednesday, ends on a Tuesday: the partial weeks keep only the term's days.
    term = DateRange(D(2026, 3, 4), D(2026, 3, 17))

    weeks = calendar.school_weeks(term)

    assert [w.monday for w in weeks] == [D(2026, 3, 2), D(2026, 3, 9), D(2026, 3, 16)]
    assert weeks[0].school_days == (D(2026, 3, 4), D(2026, 3, 5), D(2026, 3, 6))
    assert weeks[-1].school_days == (D(2026, 3, 16), D(2026, 3, 17))
    assert not calendar.is_school_day(D(2026, 3, 3), term)
    assert not calendar.is_school_day(D(2026, 3, 18), term)


def test_an_unknown_year_falls_back_to_weekdays_without_raising() -> None:
    assert calendar.year_is_known(2026)
    assert not calendar.year_is_known(2027)

    assert calendar.is_working_day(D(2027, 10, 1))  # a Friday: National Day is not known yet
    assert not calendar.is_working_day(D(2027, 10, 2))  # Saturday
    assert calendar.holiday_name(D(2027, 10, 1)) is None
    term = DateRange(D(2027, 3, 1), D(2027, 3, 14))
    assert [len(w.school_days) for w in calendar.school_weeks(term)] == [5, 5]


def test_an_admins_makeup_saturday_in_an_unknown_year_is_a_school_day() -> None:
    # 2027's 调休 is not in the package: the admin enters National Day and its make-up Saturday.
    term = DateRange(D(2027, 9, 1), D(2027, 10, 31))
    national_day = DateRange(D(2027, 10, 1), D(2027, 10, 7))
    makeup = DateRange(D(2027, 9, 25), D(2027, 9, 25), makes_up=True)

    assert D(2027, 9, 25).weekday() == 5
    assert not calendar.is_school_day(D(2027, 9, 25), term, [national_day])
    assert calendar.is_school_day(D(2027, 9, 25), term, [national_day, makeup])
    assert not calendar.is_school_day(D(2027, 10, 4), term, [national_day, makeup])
    week = calendar.week_containing(calendar.school_weeks(term, [national_day, makeup]), D(2027, 9, 25))
    assert week is not None and len(week.school_days) == 6


def test_a_closure_wins_over_a_makeup_day_it_overlaps() -> None:
    term = DateRange(D(2027, 9, 1), D(2027, 10, 31))
    makeup = DateRange(D(2027, 9, 25), D(2027, 9, 26), makes_up=True)
    closed = DateRange(D(2027, 9, 26), D(2027, 9, 26))

    assert calendar.is_school_day(D(2027, 9, 25), term, [makeup, closed])
    assert not calendar.is_school_day(D(2027, 9, 26), term, [makeup, closed])
    assert not calendar.is_school_day(D(2027, 8, 28), term, [DateRange(D(2027, 8, 28), D(2027, 8, 28), True)])


def test_a_term_across_new_year_into_an_unknown_year_still_has_weeks() -> None:
    weeks = calendar.school_weeks(AUTUMN_2026)

    assert weeks[-1].school_days[-1] == D(2027, 1, 22)
    assert calendar.week_containing(weeks, D(2026, 10, 4)) is not None


@pytest.mark.parametrize(
    ("day", "start_year"),
    [(D(2026, 9, 1), 2026), (D(2026, 8, 20), 2026), (D(2026, 7, 31), 2025), (D(2027, 1, 22), 2026)],
)
def test_school_year_starts_in_august(day: dt.date, start_year: int) -> None:
    assert calendar.school_year_start(day) == start_year


def test_term_and_school_year_names_read_as_schools_say_them() -> None:
    assert calendar.school_year_name(2025) == "2025-2026学年"
    assert calendar.term_name(2025, 1) == "2025-2026学年第一学期"
    assert calendar.term_name(2025, 2) == "2025-2026学年第二学期"


def test_holiday_names_are_chinese() -> None:
    assert calendar.holiday_name(D(2026, 10, 1)) == "国庆节"
    assert calendar.holiday_name(D(2026, 1, 1)) == "元旦"
    assert calendar.holiday_name(D(2026, 3, 7)) is None  # a plain weekend has no holiday name
