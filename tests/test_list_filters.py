"""Issue 12, point 5: a list's filter form is as cheap for the county (300 schools, 10,000 staff)
as for one school. The school select offers the chosen town's schools only, read as (pk, name) in
one query; no query per choice; the queries of a page do not grow with the schools or the staff.
Any school the reader may see is still a valid choice (a link from a dashboard carries ?school=)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pairing.tests import factories as f

pytestmark = pytest.mark.django_db

# Every list page county staff filter by school (url name).
COUNTY_LISTS = [
    "pairing:student_list",
    "pairing:pairing_list",
    "pairing:teacher_list",
    "pairing:assessment_changes",
    "guidance:quality_queue",
    "casefiles:review_county",
    "casefiles:recovery_ledger",
    "casefiles:referral_list",
    "casefiles:suspected_list",
    "casefiles:monthly_reports",
    "casefiles:rechecks",
    "casefiles:warning_list",
    "casefiles:report_list",
]


def more_schools(n, *, town_code="420683099"):
    """n schools in a town of their own, each with two staff (the selects' long tail)."""
    town = f.TownFactory(code=town_code, name=f"乡镇{town_code[-3:]}")
    for _ in range(n):
        school = f.SchoolFactory(town=town)
        f.TeacherFactory(school=school)
        f.TeacherFactory(school=school)
    return town


def queries_and_page(client, url, params):
    client.get(url, params)  # warm: the session and the calendar caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def school_options(html):
    select = re.search(r'<select name="school"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None
    return re.findall(r'<option value="(\d+)"', select.group(1))


@pytest.mark.parametrize("url_name", COUNTY_LISTS)
def test_a_county_lists_queries_do_not_grow_with_the_schools_and_staff(client, world, url_name):
    client.force_login(world.county)
    url = reverse(url_name)
    town = str(world.school_a.town_id)
    few = [queries_and_page(client, url, params)[0] for params in ({}, {"town": town})]
    more_schools(30)
    many = [queries_and_page(client, url, params)[0] for params in ({}, {"town": town})]
    assert few == many, f"{url_name}: {few} queries with 2 schools, {many} with 32"


@pytest.mark.parametrize("url_name", COUNTY_LISTS)
def test_the_school_select_offers_the_chosen_towns_schools_only(client, world, url_name):
    other = more_schools(30)
    client.force_login(world.county)
    url = reverse(url_name)
    _, unchosen = queries_and_page(client, url, {})
    assert school_options(unchosen) == []  # no town: the form says to pick one first
    assert "请先选择乡镇" in unchosen
    _, home = queries_and_page(client, url, {"town": world.school_a.town_id})
    assert sorted(school_options(home)) == sorted(str(s.pk) for s in (world.school_a, world.school_b))
    _, far = queries_and_page(client, url, {"town": other.pk})
    assert len(school_options(far)) == 30


def test_a_school_from_a_link_is_chosen_and_offered_with_its_towns_schools(client, world):
    more_schools(30)
    client.force_login(world.county)
    response = client.get(reverse("pairing:pairing_list"), {"school": world.school_b.pk})
    html = response.content.decode()
    assert sorted(school_options(html)) == sorted(str(s.pk) for s in (world.school_a, world.school_b))
    assert f'<option value="{world.school_b.pk}" selected>' in html
    assert {p.student.school_id for p in response.context["page"]} == {world.school_b.pk}


def test_an_officer_is_offered_her_own_school_and_no_other(client, world):
    more_schools(3)
    client.force_login(world.officer_a)
    html = client.get(reverse("pairing:student_list")).content.decode()
    assert school_options(html) == [str(world.school_a.pk)]
    response = client.get(reverse("pairing:student_list"), {"school": world.school_b.pk})
    assert {s.school_id for s in response.context["page"]} == {world.school_a.pk}  # another is refused


def test_the_teacher_select_offers_one_schools_staff_by_name(client, world):
    for n in range(30):
        f.TeacherFactory(school=world.school_b, user__full_name=f"教师{n:02d}")
    client.force_login(world.county)
    html = client.get(reverse("pairing:pairing_list"), {"school": world.school_a.pk}).content.decode()
    offered = re.search(r'<select name="teacher"[^>]*>(.*?)</select>', html, re.S)
    assert offered is not None
    assert "教师00" not in offered.group(1)  # school B's staff are not school A's choices
    assert str(world.teacher_a1.teacher.pk) in offered.group(1)
