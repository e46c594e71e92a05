"""The detail reports of issue 10, point 1 (谈心谈话记录明细, ...): each workbook opened and checked
against the database, per role, with pinned query counts and the audit line."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from casefiles.reports import TALK_DETAIL, columns_for, report_export
from casefiles.tests.test_reports import export, table, totals
from guidance.models import LateEntryPermission, TalkRecord
from guidance.tests.factories import TalkRecordFactory
from pairing.models import Town
from pairing.tests import factories as f
from zaoyang_aid.excel import HEADER_ROW
from zaoyang_aid.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def talked(world: Any) -> Any:
    """Three talks in school A (one of them 补录, one under 李小红), one in school B."""
    pa1 = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pa1, date=dt.date(2026, 9, 8), track_psych=True, form_parent=True, duration_minutes=45)
    permission = LateEntryPermission.objects.create(
        pairing=pa1, week_monday=dt.date(2026, 9, 21), reason="住院", granted_by=world.officer_a
    )
    TalkRecordFactory(pairing=pa1, date=dt.date(2026, 9, 22), late_permission=permission, problems="=1+1")
    TalkRecordFactory(pairing=world.student_a2.pairings.get(), date=dt.date(2026, 10, 13))
    TalkRecordFactory(pairing=world.student_b1.pairings.get(), date=dt.date(2026, 11, 9))
    return world


def _column(ws: Any, label: str) -> int:
    return [c.value for c in ws[HEADER_ROW]].index(label) + 1


def test_county_staff_get_every_talk_of_the_term_with_its_content_and_marks(talked):
    world = talked
    ws, result = export("talk_detail", world.county)

    rows = table(ws)
    talks = TalkRecord.objects.filter(term=world.term)
    assert result.rows == len(rows) == talks.count() == 4
    assert ws["A1"].value == f"谈心谈话记录明细({world.term.name})"
    # Town (by code), school, date order.
    expected = sorted(talks, key=lambda t: (t.pairing.student.school.town.code, t.pairing.student.school.name, t.date))
    assert [(r["学校"], r["日期"].date()) for r in rows] == [(t.pairing.student.school.name, t.date) for t in expected]
    rows = [r for r in rows if r["学校"] == world.school_a.name]
    first = rows[0]
    talk = talks.get(date=dt.date(2026, 9, 8))
    assert first["日期"].date() == talk.date and first["所在周(周一)"].date() == dt.date(2026, 9, 7)
    assert first["学生姓名"] == world.student_a1.name == "张小明"
    assert first["年级班级"] == world.student_a1.class_label
    assert first["帮扶教师"] == world.teacher_a1.get_full_name()
    assert first["五导内容"] == "心理疏导、学业辅导" and first["帮扶形式"] == "交流谈心、家长访谈"
    assert first["时长(分钟)"] == 45 and first["补录"] is None
    assert first["谈心谈话与辅导内容"] == talk.content and first["学生状态"] == talk.student_state
    assert first["记录时间"] == talk.created_at.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    assert ws.cell(HEADER_ROW + 1, _column(ws, "记录时间")).number_format == "yyyy-mm-dd hh:mm"
    late = rows[1]
    assert late["补录"] == "补录" and late["发现的问题"] == "'=1+1"  # inert, not a formula
    assert totals(ws)["学生姓名"] == 4 and totals(ws)["时长(分钟)"] == 45 + 30 * 3


def test_the_officer_gets_her_schools_talks_with_their_content(talked):
    world = talked
    ws, result = export("talk_detail", world.officer_a)

    rows = table(ws)
    assert {r["学校"] for r in rows} == {world.school_a.name} and len(rows) == 3
    assert "谈心谈话与辅导内容" in [c.label for c in columns_for(TALK_DETAIL, world.officer_a)]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor_id == world.officer_a.pk and event.object_id == "talk_detail"
    assert event.changes["行数"] == [None, 3] and event.changes["筛选条件"] == [None, result.filters]


def test_the_county_filters_by_town_and_school(talked):
    world = talked
    ws, result = export("talk_detail", world.county, {"school": str(world.school_b.pk)})
    assert [r["学生姓名"] for r in table(ws)] == [world.student_b1.name]
    assert f"学校:{world.school_b.name}" in result.filters

    other_town = Town.objects.exclude(pk=world.school_a.town_id).order_by("code").first()
    world.school_b.town = other_town
    world.school_b.save()
    ws, _ = export("talk_detail", world.county, {"town": str(other_town.pk)})
    assert [r["学校"] for r in table(ws)] == [world.school_b.name]


def test_an_officers_town_or_school_filter_is_ignored_or_refused_when_strict(talked):
    world = talked
    ws, _ = export("talk_detail", world.officer_a, {"school": str(world.school_b.pk)})
    assert {r["学校"] for r in table(ws)} == {world.school_a.name}
    with pytest.raises(ValidationError, match="不提供这些筛选"):
        report_export(
            name="talk_detail",
            user=world.officer_a,
            data={"school": str(world.school_b.pk)},
            target=io.BytesIO(),
            strict=True,
        )


def test_a_term_is_exported_alone_and_the_past_one_on_request(talked):
    world = talked
    past = f.TermFactory(
        school_year=f.SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 2, 23),
        end_date=dt.date(2026, 7, 3),
    )
    TalkRecordFactory(pairing=world.student_a1.pairings.get(), date=dt.date(2026, 3, 10))

    assert len(table(export("talk_detail", world.county)[0])) == 4
    ws, _ = export("talk_detail", world.county, {"term": str(past.pk)})
    assert [r["日期"].date() for r in table(ws)] == [dt.date(2026, 3, 10)]
    assert ws["A1"].value == f"谈心谈话记录明细({past.name})"


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "admin", "nobody"])
def test_no_other_role_may_export_the_talks(world, who):
    with pytest.raises(ValidationError, match="无权导出"):
        export("talk_detail", getattr(world, who))


@pytest.mark.parametrize("more", [0, 20])
def test_the_talk_detail_runs_the_same_queries_for_4_and_24_talks(talked, django_assert_num_queries, more):
    for _ in range(more):
        TalkRecordFactory(pairing=f.PairingFactory(teacher__school=talked.school_a), date=dt.date(2026, 9, 8))
    # The current term (1) and its closures (1, term_today); the talks as tuples (1); the audit line (1).
    with django_assert_num_queries(4):
        ws, _ = export("talk_detail", talked.county)
    assert len(table(ws)) == 4 + more
