"""The county dashboard's figures link to the report that lists their rows (issue 10, point 9): each
link's report, downloaded with the link's own filter, has as many rows, or the same totals, as the
figure says. Only those who may export get the links."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from django.urls import reverse

from guidance.models import Reminder, ReminderLevel
from guidance.tests.factories import HomeVisitFactory, TalkRecordFactory
from pairing.tests import factories as f
from zaoyang_aid.excel import HEADER_ROW

pytestmark = pytest.mark.django_db

FIGURE = re.compile(r'<a class="[^"]*" href="([^"]+)" title="[^"]*" data-figure="([^"]+)">([^<]+)</a>')
PLAIN = re.compile(r'<a href="([^"]+)" data-figure="([^"]+)">([^<]+)</a>')


@pytest.fixture
def county_world(world: Any) -> Any:
    """Two towns; talks, a visit, and reminders at each level (one of the county's acknowledged)."""
    far = f.SchoolFactory(town=f.TownFactory(code="420683109", name="吴店镇"), name="吴店镇第二中学")
    far_pairing = f.PairingFactory(teacher__school=far, student__school=far, student__name="赵小华")
    a1, b1 = world.student_a1.pairings.get(), world.student_b1.pairings.get()
    for monday in (dt.date(2026, 11, 2), dt.date(2026, 11, 9)):
        TalkRecordFactory(pairing=a1, date=monday)
    TalkRecordFactory(pairing=far_pairing, date=dt.date(2026, 11, 9))
    HomeVisitFactory(pairing=a1)
    for pairing, level, period in (
        (b1, ReminderLevel.COUNTY, dt.date(2026, 11, 9)),
        (b1, ReminderLevel.OFFICER, dt.date(2026, 11, 2)),
        (far_pairing, ReminderLevel.COUNTY, dt.date(2026, 11, 2)),
        (a1, ReminderLevel.COUNTY, dt.date(2026, 10, 26)),
    ):
        Reminder.objects.create(pairing=pairing, kind="missed_talk", period=period, term=world.term, level=level)
    Reminder.objects.filter(pairing=a1).update(acknowledged_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC))
    return world


def _figures(client: Any, user: Any, page: str = "guidance:county_dashboard") -> list[tuple[str, str, str]]:
    client.force_login(user)
    html = client.get(reverse(page)).content.decode()
    return [(href.replace("&amp;", "&"), kind, text) for href, kind, text in FIGURE.findall(html) + PLAIN.findall(html)]


def _report(client: Any, href: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The linked report downloaded with the link's filter: (data rows, the 合计 row), by header."""
    parts = urlsplit(href)
    assert parts.path == reverse("casefiles:report_list")
    response = client.get(f"{reverse('casefiles:report_download')}?{parts.query}")
    assert response.status_code == 200, parse_qs(parts.query)
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header = [c.value for c in ws[HEADER_ROW]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=HEADER_ROW + 1)]
    return [r for r in rows if r[header[0]] != "合计"], rows[-1]


def _percent(done: int, owed: int) -> str:
    return f"{done / owed * 100:.0f}%" if owed else "—"


def test_each_linked_figure_equals_the_rows_or_totals_of_its_report(client, county_world):
    figures = _figures(client, county_world.county)
    kinds = {kind for _, kind, _ in figures}
    assert kinds == {"pairings", "term-rate", "escalated", "town-pairings", "town-escalated", "town-rate"}
    for href, kind, text in figures:
        query = parse_qs(urlsplit(href).query)
        assert query["term"] == [str(county_world.term.pk)]
        rows, total = _report(client, href)
        if kind in ("pairings", "town-pairings", "escalated", "town-escalated"):
            assert int(text.replace(",", "").replace(" 条", "")) == len(rows), (kind, href)
        elif kind == "term-rate":  # 五导落实情况(按乡镇): the county's done over owed weeks
            assert text == _percent(total["已记周次"], total["应记周次"])
        else:  # town-rate: 五导落实情况(按学校) of that town adds up to the town's row on the dashboard
            town = int(query["town"][0])
            assert {r["乡镇"] for r in rows} <= {f.TownFactory._meta.model.objects.get(pk=town).name}
            html = client.get(reverse("guidance:county_dashboard")).content.decode()
            row_html = html.split(f'data-town="{town}"', 1)[1].split("</tr>", 1)[0]
            assert _percent(total["已记周次"], total["应记周次"]) in row_html


def test_the_escalated_figures_count_open_reminders_at_the_county_level(client, county_world):
    figures = {(kind, text) for _, kind, text in _figures(client, county_world.county)}
    assert ("escalated", "2 条") in figures  # b1's and the far town's; a1's was acknowledged
    assert ("town-escalated", "1") in figures


def test_a_reader_who_may_not_export_sees_the_figures_without_links(client, county_world):
    client.force_login(county_world.admin)  # the 系统管理员 opens the dashboard but exports nothing
    html = client.get(reverse("guidance:county_dashboard")).content.decode()
    assert "data-figure" not in html and reverse("casefiles:report_list") not in html
    assert "各乡镇每周记录完成率" in html


def test_the_officers_dashboard_links_its_figures_to_her_schools_reports(client, county_world):
    figures = _figures(client, county_world.officer_a, "guidance:school_dashboard")
    assert {kind for _, kind, _ in figures} == {"pairings", "term-rate"}
    for href, kind, text in figures:
        rows, total = _report(client, href)
        if kind == "pairings":
            assert int(text) == len(rows) == 2  # her school's two pairings
        else:  # 五导落实情况(按教师) of her school: its totals are the dashboard's term rate
            assert text == _percent(total["已记周次"], total["应记周次"])
