"""The county drills down: county -> a town's schools -> a school's teachers and students behind this
week and this term, each a page of its own. "Behind" is the compliance engine's; the figures of each
level agree with the others and with the county dashboard; queries do not grow with rows; scoped.

The world stands on Monday 2026-11-16 (school week of 11-16; the previous one is 11-09).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from guidance.compliance import compliance_for
from guidance.dashboards import county_dashboard
from pairing.models import EnrollmentStatus, Pairing
from pairing.services import student_status_change
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db
THIS_MONDAY = dt.date(2026, 11, 16)


def town_url(pk):
    return reverse("guidance:county_town", args=[pk])


def school_url(pk):
    return reverse("guidance:county_school", args=[pk])


def open_as(client, user, url):
    client.force_login(user)
    return client.get(url)


def talks(world, pairing, skip=frozenset()):
    """A talk on the first school day of every school week up to this one, but the ``skip`` Mondays."""
    for week in world.term.school_weeks():
        if week.monday <= THIS_MONDAY and week.monday not in skip:
            TalkRecordFactory(pairing=pairing, date=week.school_days[0])


@pytest.fixture
def county(world):
    """Two towns: 北城街道 (the world's two schools and a third) and 吴店镇 (two schools), with
    pairings up to date, missing this week, missing earlier weeks, excused, 休学 and without a visit."""
    a1, a2, b1 = (s.pairings.get() for s in (world.student_a1, world.student_a2, world.student_b1))
    talks(world, a1)  # up to date
    talks(world, a2, skip={THIS_MONDAY, dt.date(2026, 11, 2)})  # behind this week and this term
    talks(world, b1, skip={THIS_MONDAY})  # behind this week only
    HomeVisitFactory(pairing=a1)
    wudian = pf.TownFactory(code="420683109", name="吴店镇")
    school_c = pf.SchoolFactory(name="吴店镇第一小学", town=wudian)
    school_d = pf.SchoolFactory(name="吴店镇中心小学", town=wudian)
    pf.SchoolFactory(name="北城第三小学", town=world.school_a.town)  # a school without pairings
    teacher_c = pf.TeacherFactory(school=school_c)
    c1 = pf.PairingFactory(teacher=teacher_c)
    c2 = pf.PairingFactory(teacher=teacher_c)
    d1 = pf.PairingFactory(teacher__school=school_d)
    talks(world, c1, skip={dt.date(2026, 10, 12), dt.date(2026, 10, 19)})  # two weeks missed, this week done
    ExcusedWeekFactory(pairing=c2, week_monday=THIS_MONDAY, excused_by=world.officer_a)  # excused this week
    talks(world, c2, skip={THIS_MONDAY})
    talks(world, d1, skip={dt.date(2026, 11, 9)})
    student_status_change(
        student=d1.student, status=EnrollmentStatus.SUSPENDED, on=THIS_MONDAY, reason="生病", by=world.admin
    )
    return {
        "wudian": wudian,
        "school_c": school_c,
        "school_d": school_d,
        "a1": a1,
        "a2": a2,
        "b1": b1,
        "c1": c1,
        "c2": c2,
        "d1": d1,
    }


def test_the_county_dashboards_town_link_opens_the_towns_page_not_the_county_page_again(client, world, county):
    html = open_as(client, world.county, reverse("guidance:county_dashboard")).content.decode()
    assert f'href="{town_url(county["wudian"].pk)}"' in html and 'href="?town=' not in html
    assert f'href="{school_url(county["school_c"].pk)}"' in html
    page = open_as(client, world.county, town_url(county["wudian"].pk))
    assert page.status_code == 200 and page.templates[0].name == "guidance/county_town.html"
    assert [line.name for line in page.context["board"].schools] == ["吴店镇第一小学", "吴店镇中心小学"]
    assert f'href="{school_url(county["school_c"].pk)}"' in page.content.decode()


def test_a_school_page_names_the_teachers_and_students_behind(client, world, county):
    board = open_as(client, world.county, school_url(world.school_a.pk)).context["board"]
    assert [t.name for t in board.teachers] == [county["a2"].teacher.name]  # a1's teacher is up to date
    assert board.on_track == 1
    assert [r.pairing.student.name for r in board.behind_this_week] == ["李小红"]
    assert [r.pairing.student.name for r in board.behind_this_term] == ["李小红"]
    board = open_as(client, world.county, school_url(county["school_c"].pk)).context["board"]
    assert [r.pairing.pk for r in board.behind_this_term] == [county["c1"].pk]
    assert board.behind_this_week == []  # c1 recorded this week, c2's week is excused
    html = open_as(client, world.county, school_url(county["school_c"].pk)).content.decode()
    assert "漏记 2 周" in html and county["c1"].student.name in html


def test_behind_is_the_engines_word_on_every_row(client, world, county):
    rows = compliance_for(Pairing.objects.active(), term=world.term, as_of=THIS_MONDAY)
    for school in (world.school_a, world.school_b, county["school_c"], county["school_d"]):
        board = open_as(client, world.county, school_url(school.pk)).context["board"]
        mine = [r for r in rows.values() if r.school_id == school.pk]
        assert {r.pairing.pk for r in board.behind_this_week} == {r.pairing_id for r in mine if r.behind_this_week}
        assert {r.pairing.pk for r in board.behind_this_term} == {r.pairing_id for r in mine if r.behind_this_term}


FIGURES = ("pairings", "behind_this_week", "behind_this_term", "missed_weeks", "this_week_done", "this_week_expected")


def figures(totals):
    return {name: getattr(totals, name) for name in FIGURES}


def test_the_school_pages_add_up_to_their_town_and_the_towns_to_the_county(client, world, county):
    dashboard = open_as(client, world.county, reverse("guidance:county_dashboard")).context["board"]
    county_sum = dict.fromkeys(FIGURES, 0)
    for town_line in dashboard.towns:
        town = open_as(client, world.county, town_url(town_line.pk)).context["board"]
        assert figures(town.totals) == figures(town_line.totals), town_line.name
        school_sum = dict.fromkeys(FIGURES, 0)
        for school_line in town.schools:
            school = open_as(client, world.county, school_url(school_line.pk)).context["board"]
            assert figures(school.totals) == figures(school_line.totals), school_line.name
            assert school.totals.behind_this_week == len(school.behind_this_week)
            assert school.totals.behind_this_term == len(school.behind_this_term)
            assert sum(t.totals.behind_this_week for t in school.teachers) == len(school.behind_this_week)
            for name in FIGURES:
                school_sum[name] += getattr(school.totals, name)
        assert school_sum == figures(town.totals), town_line.name
        for name in FIGURES:
            county_sum[name] += school_sum[name]
    assert county_sum == figures(dashboard.totals)
    # The county dashboard's school lines say the same as the school pages.
    for line in county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY).schools:
        school = open_as(client, world.county, school_url(line.pk)).context["board"]
        assert figures(school.totals) == figures(line.totals)
    assert (dashboard.totals.behind_this_week, dashboard.totals.behind_this_term) == (2, 3)  # a2, b1 / a2, c1, d1


def _more(world, school, n):
    for _ in range(n):
        pairing = pf.PairingFactory(teacher=pf.TeacherFactory(school=school))
        TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 10))


def test_the_town_page_runs_the_same_queries_for_few_schools_or_many(client, world, django_assert_num_queries):
    client.force_login(world.county)
    url = town_url(world.school_a.town_id)
    client.get(url)  # warm: the session, the calendar caches and the schools' figures (guidance.figures)
    # 1 session, 2 user, 3 the town; 4 the town's schools; 5 the navbar's unread notifications (today's
    # term and its closures: the cached calendar, pairing/calendars.py); no session save (the warm-up
    # request stamped it, zaoyang_aid/sessions.py). The schools' figures are cached.
    with django_assert_num_queries(5):
        assert client.get(url).status_code == 200
    for _ in range(4):
        _more(world, pf.SchoolFactory(town=world.school_a.town), 3)
    # The four new schools have no figures yet: one engine run counts them all (5 pairings, 6
    # enrollment history, 7 excused weeks, 8 tallies, 9 visits), then 10 as before.
    with django_assert_num_queries(10):
        assert len(client.get(url).context["board"].schools) == 6
    with django_assert_num_queries(5):
        assert len(client.get(url).context["board"].schools) == 6


def test_the_school_page_runs_the_same_queries_for_few_pairings_or_many(client, world, django_assert_num_queries):
    client.force_login(world.county)
    url = school_url(world.school_a.pk)
    client.get(url)
    # 1 session, 2 user, 3 the school with its town (today's term and the closures: the cached
    # calendar, pairing/calendars.py); the engine: 4 pairings, 5 enrollment history, 6 excused weeks,
    # 7 tallies, 8 visits; 9 the pairings with teacher and student; 10 the navbar's unread
    # notifications; no session save (the warm-up request stamped it, zaoyang_aid/sessions.py)
    with django_assert_num_queries(10):
        assert client.get(url).status_code == 200
    _more(world, world.school_a, 30)
    with django_assert_num_queries(10):
        assert client.get(url).context["board"].totals.pairings == 32


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("county", 200),
        ("admin", 200),
        ("officer_a", 403),
        ("teacher_a1", 403),
        ("counsellor_a", 403),
        ("nobody", 403),
    ],
)
def test_only_county_roles_open_a_towns_page(client, world, who, status):
    assert open_as(client, getattr(world, who), town_url(world.school_a.town_id)).status_code == status


@pytest.mark.parametrize(
    ("who", "school", "status"),
    [
        ("county", "school_a", 200),
        ("admin", "school_b", 200),
        ("officer_a", "school_a", 200),  # her own school's page
        ("officer_a", "school_b", 404),  # another school's
        ("officer_b", "school_a", 404),
        ("teacher_a1", "school_a", 403),
        ("counsellor_a", "school_a", 403),
        ("nobody", "school_a", 403),
    ],
)
def test_a_schools_page_opens_for_the_county_and_its_own_officer_only(client, world, who, school, status):
    assert open_as(client, getattr(world, who), school_url(getattr(world, school).pk)).status_code == status


def test_an_officer_sees_only_her_own_schools_rows_and_no_county_breadcrumb(client, world):
    response = open_as(client, world.officer_a, school_url(world.school_a.pk))
    names = {r.pairing.student.name for r in response.context["board"].behind_this_week}
    assert names == {"张小明", "李小红"}  # nobody recorded this week yet; not 王小刚 of school B
    assert reverse("guidance:county_dashboard") not in response.content.decode()


def test_an_unknown_town_or_school_is_404(client, world):
    assert open_as(client, world.county, town_url(999)).status_code == 404
    assert open_as(client, world.county, school_url(999)).status_code == 404
