"""The officer's and the county's dashboards: overdue first, rates right, scoped, constant queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guidance.dashboards import county_dashboard, school_dashboard
from guidance.models import ExcusedWeek
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, FiveThreeCardFactory, HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db

# The world stands on Monday 2026-11-16 (week of 11-16); the previous school week is 11-09.
THIS_MONDAY = dt.date(2026, 11, 16)
LAST_WEEK = dt.date(2026, 11, 10)


def test_officer_sees_their_school_overdue_first(world):
    a1 = world.student_a1.pairings.get()
    a2 = world.student_a2.pairings.get()
    TalkRecordFactory(pairing=a1, date=LAST_WEEK)
    TalkRecordFactory(pairing=a1, date=THIS_MONDAY)
    board = school_dashboard(world.officer_a, term=world.term, as_of=THIS_MONDAY)
    assert [row.pairing.student.name for row in board.students] == ["李小红", "张小明"]
    assert board.students[0].compliance.week_state == "overdue"
    assert board.students[1].compliance.week_state == "done"
    assert {row.pairing.pk for row in board.students} == {a1.pk, a2.pk}  # not the other school's
    assert board.totals.this_week_done == 1 and board.totals.this_week_expected == 2
    assert [t.pairing.pk for t in board.recent_talks] == [a1.pk, a1.pk]


def test_an_excused_week_is_neither_done_nor_missed_on_the_dashboard(world):
    a2 = world.student_a2.pairings.get()
    ExcusedWeekFactory(pairing=a2, week_monday=dt.date(2026, 11, 9), excused_by=world.officer_a)
    row = next(
        r for r in school_dashboard(world.officer_a, term=world.term, as_of=THIS_MONDAY).students if r.pairing == a2
    )
    assert row.compliance.excused_weeks == 1
    assert row.compliance.week_state == "due"  # last week is excused, so not overdue


def test_county_dashboard_sums_towns_and_lists_weakest_schools_first(world):
    a1 = world.student_a1.pairings.get()
    for monday in (dt.date(2026, 11, 2), dt.date(2026, 11, 9)):
        TalkRecordFactory(pairing=a1, date=monday)
    HomeVisitFactory(pairing=a1)
    board = county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)
    assert board.totals.pairings == 3
    assert board.totals.visited == 1
    town = next(t for t in board.towns if t.totals.pairings)
    assert town.totals.pairings == 3
    assert board.schools[0].totals.term_rate < board.schools[-1].totals.term_rate


def test_county_dashboard_narrows_schools_to_one_town(world):
    other_town_school = pf.SchoolFactory(town=pf.TownFactory(code="420683109", name="吴店镇"))
    pf.PairingFactory(teacher__school=other_town_school)
    board = county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY, town_id=other_town_school.town_id)
    assert [s.pk for s in board.schools] == [other_town_school.pk]
    assert board.totals.pairings == 4


@pytest.mark.parametrize(
    ("who", "url_name", "status"),
    [
        ("officer_a", "guidance:school_dashboard", 200),
        ("teacher_a1", "guidance:school_dashboard", 403),
        ("county", "guidance:school_dashboard", 403),
        ("county", "guidance:county_dashboard", 200),
        ("admin", "guidance:county_dashboard", 200),
        ("officer_a", "guidance:county_dashboard", 403),
        ("counsellor_a", "guidance:county_dashboard", 403),
    ],
)
def test_dashboards_open_only_for_their_roles(client, world, who, url_name, status):
    client.force_login(getattr(world, who))
    assert client.get(reverse(url_name)).status_code == status


def _queries(client, user, url):
    client.force_login(user)
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _more_pairings(world, n):
    for _ in range(n):
        pairing = pf.PairingFactory(teacher=pf.TeacherFactory(school=world.school_a))
        TalkRecordFactory(pairing=pairing, date=LAST_WEEK)
        HomeVisitFactory(pairing=pairing)
        FiveThreeCardFactory(pairing=pairing)  # the officer's 五三卡 figures: one query for any number


@pytest.mark.parametrize(
    ("who", "url_name"), [("officer_a", "guidance:school_dashboard"), ("county", "guidance:county_dashboard")]
)
def test_dashboard_query_count_does_not_grow_with_pairings(client, world, who, url_name):
    _more_pairings(world, 5)
    few = _queries(client, getattr(world, who), reverse(url_name))
    _more_pairings(world, 45)
    many = _queries(client, getattr(world, who), reverse(url_name))
    assert few == many


def test_officer_excuses_a_week_and_can_revoke_it(client, world):
    a1 = world.student_a1.pairings.get()
    client.force_login(world.officer_a)
    url = reverse("guidance:excuse_week", args=[a1.pk])
    response = client.post(url, {"week": "2026-11-09", "reason": "illness", "note": "住院"})
    assert response.status_code == 302
    excused = ExcusedWeek.objects.get(pairing=a1)
    assert (excused.week_monday, excused.excused_by) == (dt.date(2026, 11, 9), world.officer_a)
    assert client.post(reverse("guidance:excuse_revoke", args=[excused.pk])).status_code == 302
    assert not ExcusedWeek.objects.exists()


@pytest.mark.parametrize("week", ["2026-10-04", "2026-11-23", "not-a-date"])
def test_a_week_that_is_not_an_elapsed_school_week_cannot_be_excused(client, world, week):
    """A Sunday (not any week's Monday), next week (not yet reached) and garbage are all refused."""
    client.force_login(world.officer_a)
    url = reverse("guidance:excuse_week", args=[world.student_a1.pairings.get().pk])
    response = client.post(url, {"week": week, "reason": "exam"})
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not ExcusedWeek.objects.exists()


def test_the_same_week_cannot_be_excused_twice(client, world):
    a1 = world.student_a1.pairings.get()
    ExcusedWeekFactory(pairing=a1, week_monday=dt.date(2026, 11, 9), excused_by=world.officer_a)
    client.force_login(world.officer_a)
    response = client.post(reverse("guidance:excuse_week", args=[a1.pk]), {"week": "2026-11-09", "reason": "exam"})
    assert response.status_code == 200
    assert ExcusedWeek.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "status"), [("officer_b", 404), ("teacher_a1", 403), ("county", 403), ("counsellor_a", 403)]
)
def test_only_the_students_school_officer_excuses_weeks(client, world, who, status):
    client.force_login(getattr(world, who))
    url = reverse("guidance:excuse_week", args=[world.student_a1.pairings.get().pk])
    assert client.get(url).status_code == status


def test_the_officers_students_come_thirty_a_page_the_most_behind_first(client, world):
    """Issue 12: the officer's dashboard costs the same at a school of 190 students as of 30."""
    _more_pairings(world, 33)  # 35 students at school A: the world's two have no talk last week
    client.force_login(world.officer_a)
    first = client.get(reverse("guidance:school_dashboard"))
    second = client.get(reverse("guidance:school_dashboard"), {"page": 2})
    firsts = [row.pairing.student.name for row in first.context["students"]]
    seconds = [row.pairing.student.name for row in second.context["students"]]
    assert (len(firsts), len(seconds)) == (30, 5)
    assert not set(firsts) & set(seconds)
    assert set(firsts[:2]) == {"张小明", "李小红"}  # behind this week: first on the first page
    assert "共 35 人" in first.content.decode() and "page=2" in first.content.decode()
    assert first.context["board"].totals.pairings == 35  # the figures count every student
