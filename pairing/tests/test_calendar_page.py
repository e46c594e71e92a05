"""The calendar page and the term banner: the notice that a year's holidays are not known yet goes to
the admin and county staff only, in their words, and goes away once the admin has entered them; the
admin enters 调休 make-up working days as well as closures.

The world's term runs 2026-09-01 to 2027-01-22; chinese-calendar does not know 2027."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from pairing.models import Closure, ClosureKind

D = dt.date
NOTICE = "2027年的法定节假日和调休安排尚未收录"
BADGE = "2027年节假日待录入"


def page_as(user, name: str = "pairing:calendar") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who", ["teacher_a1", "officer_a", "counsellor_a"])
def test_school_staff_are_not_told_about_the_unknown_year(world, who):
    html = page_as(getattr(world, who))

    assert NOTICE not in html
    assert BADGE not in html
    assert "chinese" not in html.lower()


def test_county_staff_are_told_in_their_words_and_pointed_to_the_admin(world):
    html = page_as(world.county)

    assert NOTICE in html
    assert BADGE in html
    assert "请系统管理员" in html
    assert "chinese" not in html.lower()
    assert reverse("admin:pairing_closure_add") not in html


def test_the_admin_is_told_what_to_enter_and_where(world):
    html = page_as(world.admin)

    assert NOTICE in html
    assert reverse("admin:pairing_closure_add") in html
    assert "调休上课" in html


def test_the_notice_goes_away_once_the_admin_has_entered_the_years_holidays(world):
    Closure.objects.create(name="元旦", kind=ClosureKind.HOLIDAY, start_date=D(2027, 1, 1), end_date=D(2027, 1, 1))

    assert NOTICE not in page_as(world.admin)
    assert BADGE not in page_as(world.county, "pairing:county_overview")


def test_one_schools_closure_or_a_makeup_day_does_not_count_as_the_years_holidays(world):
    Closure.objects.create(name="停课", school=world.school_a, start_date=D(2027, 1, 4), end_date=D(2027, 1, 5))
    Closure.objects.create(name="调休", kind=ClosureKind.MAKEUP, start_date=D(2027, 1, 9), end_date=D(2027, 1, 9))

    assert NOTICE in page_as(world.admin)


def test_the_admin_enters_a_makeup_saturday_and_the_calendar_counts_it(world, admin_client):
    before = {w.monday: w.school_days for w in world.term.school_weeks()}
    assert D(2026, 11, 21) not in before[D(2026, 11, 16)]  # a Saturday: no school

    response = admin_client.post(
        reverse("admin:pairing_closure_add"),
        {"name": "运动会调休", "kind": "makeup", "start_date": "2026-11-21", "end_date": "2026-11-21", "school": ""},
    )

    assert response.status_code == 302, response.content.decode()
    week = {w.monday: w.school_days for w in world.term.school_weeks()}[D(2026, 11, 16)]
    assert week[-1] == D(2026, 11, 21)
    html = page_as(world.admin)
    assert "运动会调休" in html and "调休上课" in html
