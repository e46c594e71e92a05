"""The officer's dashboard lists the school's students under 14 without the guardian's 知情同意
(pairing.selectors.students_without_consent, shown by guidance's dashboard: two apps, so here)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guidance.dashboards import school_dashboard
from pairing import figures
from pairing.tests.factories import StudentFactory, make_id_number

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)  # the world's day
TURNS_14_TODAY = dt.date(2012, 11, 16)  # still under 14 today


def child(school, name, birth, seq):
    return StudentFactory(school=school, name=name, id_number=make_id_number(seq, birth))


def test_the_officers_dashboard_lists_students_under_14_without_consent(client, world):
    child(world.school_a, "缺同意的孩子", TURNS_14_TODAY, 320)
    client.force_login(world.officer_a)
    html = client.get(reverse("guidance:school_dashboard")).content.decode()
    assert "缺少监护人知情同意的不满14周岁学生" in html and "缺同意的孩子" in html


def test_the_dashboard_section_costs_one_query_whatever_its_length(world):
    child(world.school_a, "一", TURNS_14_TODAY, 330)
    figures.touch_county()  # both counts with the engine's figures recounted (the factories pass no service)
    with CaptureQueriesContext(connection) as one:
        board = school_dashboard(world.officer_a, term=world.term, as_of=TODAY)
    assert [s.name for s in board.consent_missing] == ["一"]
    for n in range(4):
        child(world.school_a, f"多{n}", TURNS_14_TODAY, 331 + n)
    figures.touch_county()
    with CaptureQueriesContext(connection) as many:
        board = school_dashboard(world.officer_a, term=world.term, as_of=TODAY)
    assert len(board.consent_missing) == 5
    # students_without_consent added exactly one query to the dashboard; its count does not grow.
    assert len(many) == len(one)
    assert sum("pairing_guardianconsent" in q["sql"] for q in many.captured_queries) == 1
