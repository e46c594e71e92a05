"""The county dashboard's weekly completion trend per town (issue 10, point 9): read from the engine's
own week bits, so the weeks add up to the dashboard's term and week figures; vacations drop out; the
page's queries do not grow with towns or weeks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guidance.compliance import Totals, compliance_for, totals_by
from guidance.dashboards import county_dashboard, weekly_trend
from pairing.models import Closure, ClosureKind, Pairing
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db

THIS_MONDAY = dt.date(2026, 11, 16)  # the world's today


def _talks(pairing: Pairing, mondays: list[dt.date]) -> None:
    for monday in mondays:
        TalkRecordFactory(pairing=pairing, date=monday)


def test_each_town_week_is_owed_pairing_weeks_done_over_owed(world):
    a1, a2 = world.student_a1.pairings.get(), world.student_a2.pairings.get()
    _talks(a1, [dt.date(2026, 11, 2), dt.date(2026, 11, 9), THIS_MONDAY])
    _talks(a2, [dt.date(2026, 11, 9)])
    ExcusedWeekFactory(pairing=a2, week_monday=dt.date(2026, 11, 2), excused_by=world.officer_a)
    board = county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)
    town = world.school_a.town_id
    by_monday = dict(zip((w.monday for w in board.trend.weeks), board.trend.of(town), strict=True))
    # Both world schools are in one town: three pairings owe each week (one excused on 11-02).
    assert (by_monday[dt.date(2026, 11, 2)].owed, by_monday[dt.date(2026, 11, 2)].done) == (2, 1)
    assert (by_monday[dt.date(2026, 11, 9)].owed, by_monday[dt.date(2026, 11, 9)].done) == (3, 2)
    assert by_monday[dt.date(2026, 11, 9)].rate == pytest.approx(2 / 3)
    this_week = by_monday[THIS_MONDAY]
    assert this_week.current and (this_week.owed, this_week.done) == (3, 1)
    assert board.trend.weeks[-1].monday == THIS_MONDAY  # nothing after today


def test_the_weeks_add_up_to_the_towns_term_and_week_figures(world):
    """The trend is the engine's figures week by week: its elapsed weeks sum to the town's 应记/已记
    周次 (the county dashboard's and the 五导落实情况 report's), its current week to 本周."""
    a1, b1 = world.student_a1.pairings.get(), world.student_b1.pairings.get()
    _talks(a1, [dt.date(2026, 9, 7), dt.date(2026, 10, 12), dt.date(2026, 11, 9), THIS_MONDAY])
    _talks(b1, [dt.date(2026, 9, 14), dt.date(2026, 11, 2)])
    other = pf.SchoolFactory(town=pf.TownFactory(code="420683109", name="吴店镇"))
    _talks(pf.PairingFactory(teacher__school=other), [dt.date(2026, 11, 9)])
    board = county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)
    for line in board.towns:
        cells = board.trend.of(line.pk)
        elapsed = [c for c in cells if not c.current]
        current = [c for c in cells if c.current]
        assert sum(c.owed for c in elapsed) == line.totals.expected_weeks
        assert sum(c.done for c in elapsed) == line.totals.done_weeks
        assert sum(c.owed for c in current) == line.totals.this_week_expected
        assert sum(c.done for c in current) == line.totals.this_week_done


def test_a_vacation_week_is_not_a_week_of_the_trend(world):
    Closure.objects.create(
        name="停课一周", kind=ClosureKind.CLOSURE, start_date=dt.date(2026, 10, 19), end_date=dt.date(2026, 10, 25)
    )
    board = county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)
    mondays = [w.monday for w in board.trend.weeks]
    assert dt.date(2026, 10, 19) not in mondays
    assert dt.date(2026, 10, 12) in mondays and dt.date(2026, 10, 26) in mondays
    # 第N周 counts calendar weeks from the term's first, as the talk detail report does.
    assert next(w.number for w in board.trend.weeks if w.monday == dt.date(2026, 10, 26)) == 9


def test_the_trend_reads_the_engine_rows_it_is_given(world):
    """weekly_trend groups the engine's rows and queries nothing (the dashboard hands it the rows it
    already has); grouped by school it agrees with totals_by."""
    _talks(world.student_a1.pairings.get(), [dt.date(2026, 11, 9)])
    rows = list(compliance_for(Pairing.objects.active(), term=world.term, as_of=THIS_MONDAY).values())
    with CaptureQueriesContext(connection) as ctx:
        trend = weekly_trend(rows, term=world.term, as_of=THIS_MONDAY, key="school_id")
    assert not ctx.captured_queries
    for school_id, totals in totals_by(rows, "school_id").items():
        assert sum(c.done for c in trend.of(school_id) if not c.current) == totals.done_weeks


def test_the_page_shows_the_trend_table_and_sparklines(client, world):
    _talks(world.student_a1.pairings.get(), [dt.date(2026, 11, 9)])
    client.force_login(world.county)
    html = client.get(reverse("guidance:county_dashboard")).content.decode()
    assert "各乡镇每周记录完成率" in html and "data-trend" in html
    assert f'data-trend-town="{world.school_a.town_id}"' in html
    assert '<svg class="sparkline"' in html and "<polyline points=" in html
    assert "第12周" in html  # 2026-11-16 is the 12th calendar week from 2026-08-31
    assert "style=" not in html.split("data-trend", 1)[1].split("</table>", 1)[0]  # CSP: classes only


def _page_queries(client, user) -> int:
    client.get(reverse("guidance:county_dashboard"))
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("guidance:county_dashboard")).status_code == 200
    return len(ctx.captured_queries)


def test_the_page_queries_do_not_grow_with_towns_or_weeks(client, world, time_machine):
    client.force_login(world.county)
    few = _page_queries(client, world.county)
    for n in range(4):  # four more towns with pairings and talks
        school = pf.SchoolFactory(town=pf.TownFactory(code=f"42068311{n}", name=f"测试镇{n}"))
        _talks(pf.PairingFactory(teacher__school=school), [dt.date(2026, 11, 9)])
    time_machine.move_to(dt.datetime(2026, 12, 14, 10, 0, tzinfo=dt.UTC), tick=False)  # four weeks more
    client.force_login(world.county)  # the session ended while idle
    many = _page_queries(client, world.county)
    assert few == many


def test_the_county_totals_are_the_towns_added_up(world):
    """county_dashboard sums its towns rather than recounting every pairing: the same figures."""
    a1 = world.student_a1.pairings.get()
    _talks(a1, [dt.date(2026, 11, 2), THIS_MONDAY])
    HomeVisitFactory(pairing=a1)
    other = pf.SchoolFactory(town=pf.TownFactory(code="420683109", name="吴店镇"))
    _talks(pf.PairingFactory(teacher__school=other), [dt.date(2026, 11, 9)])
    board = county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)
    recounted = Totals()
    for row in compliance_for(Pairing.objects.active(), term=world.term, as_of=THIS_MONDAY).values():
        recounted.add(row)
    assert board.totals == recounted and board.totals.pairings == 4
