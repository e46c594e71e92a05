"""控辍保学 ledgers, each rule in its one function: the age of compulsory education, how a child of a
town's list matches our rolls, whether an entry was made in the week of the first absence, when
absences propose an entry, and the status of a school's 月报."""

from __future__ import annotations

import datetime as dt

import pytest

from casefiles.dropout_lists import age_on_reference, is_compulsory_age
from casefiles.dropouts import (
    ChildMatch,
    absence_proposes,
    entered_in_week,
    match_of,
    monthly_due_on,
    monthly_status,
    quarter_of,
)
from casefiles.models import MonthlyStatus
from pairing.models import EnrollmentStatus

D = dt.date


@pytest.mark.parametrize(
    ("born", "year", "compulsory"),
    [
        (D(2020, 9, 1), 2026, True),  # six on the reference day itself
        (D(2020, 9, 2), 2026, False),  # six the day after: not yet
        (D(2010, 9, 2), 2026, True),  # fifteen, sixteen the day after
        (D(2010, 9, 1), 2026, False),  # sixteen on the reference day
        (D(2016, 2, 29), 2026, True),
        (D(2020, 9, 1), 2025, False),  # the same child a year earlier
    ],
)
def test_compulsory_age_is_six_to_fifteen_on_the_first_of_september(born, year, compulsory):
    assert is_compulsory_age(born, year) is compulsory


def test_the_age_counts_whole_years_on_the_reference_day():
    assert age_on_reference(D(2020, 9, 1), 2026) == 6
    assert age_on_reference(D(2020, 9, 2), 2026) == 5
    assert age_on_reference(D(2012, 2, 29), 2026) == 14


@pytest.mark.parametrize(
    ("status", "match"),
    [
        (EnrollmentStatus.ENROLLED, ChildMatch.ENROLLED),
        (EnrollmentStatus.SUSPENDED, ChildMatch.SUSPENDED),
        (EnrollmentStatus.DROPPED_OUT, ChildMatch.DROPPED_OUT),
        (EnrollmentStatus.TRANSFERRED, ChildMatch.LEFT),
        (EnrollmentStatus.GRADUATED, ChildMatch.LEFT),
        (None, ChildMatch.UNMATCHED),
    ],
)
def test_a_child_matches_by_the_students_enrollment_status_or_is_unmatched(status, match):
    assert match_of(status) == match


@pytest.mark.parametrize(
    ("entered", "in_week"),
    [
        (D(2026, 11, 18), True),  # the Wednesday of the first absence
        (D(2026, 11, 22), True),  # its Sunday
        (D(2026, 11, 23), False),  # the next Monday: late
    ],
)
def test_an_entry_is_in_the_week_until_the_sunday_of_the_first_absence(entered, in_week):
    assert entered_in_week(D(2026, 11, 18), entered) is in_week


def test_absences_propose_an_entry_from_the_setting_days(settings):
    assert not absence_proposes(2)
    assert absence_proposes(3)
    settings.DROPOUT_SUSPECT_DAYS = 5
    assert not absence_proposes(4)
    assert absence_proposes(5)


OCTOBER = D(2026, 10, 1)


@pytest.mark.parametrize(
    ("submitted", "today", "status"),
    [
        (None, D(2026, 10, 20), MonthlyStatus.NOT_DUE),  # the month is not over
        (None, D(2026, 11, 1), MonthlyStatus.DUE),
        (None, D(2026, 11, 5), MonthlyStatus.DUE),  # the due day itself
        (None, D(2026, 11, 6), MonthlyStatus.OVERDUE),
        (D(2026, 10, 31), D(2026, 11, 16), MonthlyStatus.SUBMITTED),
        (D(2026, 11, 5), D(2026, 11, 16), MonthlyStatus.SUBMITTED),
        (D(2026, 11, 6), D(2026, 11, 16), MonthlyStatus.LATE),
    ],
)
def test_a_monthly_report_is_due_by_the_fifth_of_the_next_month(submitted, today, status):
    assert monthly_status(month=OCTOBER, submitted_on=submitted, today=today) == status


def test_a_month_without_a_term_day_owes_no_report_but_may_have_one():
    august = D(2026, 8, 1)
    assert monthly_status(month=august, submitted_on=None, today=D(2026, 11, 16), required=False) == "not_required"
    assert (
        monthly_status(month=august, submitted_on=D(2026, 9, 2), today=D(2026, 11, 16), required=False) == "submitted"
    )


def test_the_due_day_is_a_setting(settings):
    settings.DROPOUT_REPORT_DUE_DAY = 10
    assert monthly_due_on(D(2026, 12, 1)) == D(2027, 1, 10)
    assert monthly_status(month=OCTOBER, submitted_on=D(2026, 11, 8), today=D(2026, 11, 16)) == MonthlyStatus.SUBMITTED
    assert monthly_status(month=OCTOBER, submitted_on=None, today=D(2026, 11, 9)) == MonthlyStatus.DUE


def test_a_quarter_starts_in_january_april_july_or_october():
    assert quarter_of(D(2026, 11, 16)) == D(2026, 10, 1)
    assert quarter_of(D(2026, 3, 31)) == D(2026, 1, 1)
    assert quarter_of(D(2026, 4, 1)) == D(2026, 4, 1)
