"""The detail reports of issue 10, point 1 (谈心谈话记录明细, ...): each workbook opened and checked
against the database, per role, with pinned query counts and the audit line."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zoneinfo
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from openpyxl.chart import BarChart
from openpyxl.utils import get_column_letter

from casefiles.reports import TALK_DETAIL, columns_for, report_export
from casefiles.tests.test_reports import export, table, totals
from guidance.dashboards import county_dashboard, county_school, county_town
from guidance.models import AidPolicy, LateEntryPermission, Reminder, ReminderKind, ReminderLevel, TalkRecord
from guidance.tests.factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory
from pairing import calendars
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
    assert first["周次"] == 2  # the term began on Tuesday 2026-09-01: its first week is that of 08-31
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
    past = _past_term()
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


# --- 五导落实情况(按乡镇、按教师) ----------------------------------------------------------------


@pytest.fixture
def worked(world: Any) -> Any:
    """Talks and a home visit under 张小明 in school A; school B moved to a town of its own."""
    pa1 = world.student_a1.pairings.get()
    for day in (dt.date(2026, 9, 8), dt.date(2026, 9, 15), dt.date(2026, 11, 9)):
        TalkRecordFactory(pairing=pa1, date=day)
    HomeVisitFactory(pairing=pa1)
    world.school_b.town = Town.objects.exclude(pk=world.school_a.town_id).order_by("code").first()
    world.school_b.save()
    return world


def test_the_town_report_agrees_with_the_county_town_pages_and_carries_a_bar_chart(worked):
    world = worked
    buffer = io.BytesIO()
    result = report_export(name="compliance_by_town", user=world.county, data={}, target=buffer)
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    rows = {r["乡镇"]: r for r in table(ws)}

    towns = Town.objects.filter(pk__in=[world.school_a.town_id, world.school_b.town_id])
    assert result.rows == len(rows) == towns.count()
    for town in towns:
        board = county_town(world.county, town=town, term=world.term)
        row = rows[town.name]
        assert row["结对数"] == board.totals.pairings
        assert row["应记周次"] == board.totals.expected_weeks and row["已记周次"] == board.totals.done_weeks
        assert row["漏记周次"] == board.totals.missed_weeks
        assert row["本周未记录结对数"] == board.totals.behind_this_week
        assert row["本学期有漏记的结对数"] == board.totals.behind_this_term
        assert row["已家访学生数"] == board.totals.visited
        assert row["学校数"] == sum(1 for line in board.schools if line.totals.pairings)
        assert row["完成率"] == pytest.approx(board.totals.term_rate)
    dashboard = county_dashboard(world.county, term=world.term)
    assert totals(ws)["结对数"] == dashboard.totals.pairings == 3
    assert totals(ws)["完成率"] == pytest.approx(dashboard.totals.term_rate)

    (chart,) = ws._charts
    assert isinstance(chart, BarChart)
    rate_column = get_column_letter([c.value for c in ws[HEADER_ROW]].index("完成率") + 1)
    last = HEADER_ROW + len(rows)
    assert chart.series[0].val.numRef.f.endswith(f"!${rate_column}${HEADER_ROW + 1}:${rate_column}${last}")
    # The towns are text: the categories refer to them as text, with their names cached for viewers
    # that do not recalculate charts.
    categories = chart.series[0].cat.strRef
    assert categories.f.endswith(f"!$A${HEADER_ROW + 1}:$A${last}")
    assert [p.v for p in categories.strCache.pt] == [c.value for c in ws["A"][HEADER_ROW:last]]
    assert "xl/charts/chart1.xml" in zipfile.ZipFile(io.BytesIO(buffer.getvalue())).namelist()


def test_the_teacher_report_agrees_with_the_county_school_pages(worked):
    world = worked
    ws, result = export("compliance_by_teacher", world.county)
    rows = table(ws)

    assert result.rows == len(rows) == 3  # one pairing per teacher in the world
    by_teacher = {r["帮扶教师"]: r for r in rows}
    for school in (world.school_a, world.school_b):
        board = county_school(world.county, school=school, term=world.term)
        mine = [r for r in rows if r["学校"] == school.name]
        assert sum(r["结对数"] for r in mine) == board.totals.pairings
        assert sum(r["已记周次"] for r in mine) == board.totals.done_weeks
        assert sum(r["应记周次"] for r in mine) == board.totals.expected_weeks
        assert sum(r["本周未记录结对数"] for r in mine) == board.totals.behind_this_week
        for teacher in board.teachers:  # the page lists the teachers with someone behind
            row = by_teacher[teacher.name]
            assert row["漏记周次"] == teacher.missed_weeks and row["结对数"] == teacher.totals.pairings
            assert row["本学期有漏记的结对数"] == teacher.totals.behind_this_term
    a1 = by_teacher[world.teacher_a1.get_full_name()]
    assert a1["已记周次"] >= 3 and a1["已家访学生数"] == 1
    assert totals(ws)["帮扶教师"] == 3 and totals(ws)["结对数"] == 3


def test_the_officer_gets_her_schools_teachers_and_town_only(worked):
    world = worked
    ws, _ = export("compliance_by_teacher", world.officer_a)
    assert {r["学校"] for r in table(ws)} == {world.school_a.name}
    ws, _ = export("compliance_by_town", world.officer_a)
    assert [(r["乡镇"], r["结对数"]) for r in table(ws)] == [(world.school_a.town.name, 2)]


@pytest.mark.parametrize("name", ["compliance_by_town", "compliance_by_teacher"])
@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "admin", "nobody"])
def test_no_other_role_may_export_the_compliance_reports(world, name, who):
    with pytest.raises(ValidationError, match="无权导出"):
        export(name, getattr(world, who))


@pytest.mark.parametrize("more", [0, 18])
@pytest.mark.parametrize("name", ["compliance_by_town", "compliance_by_teacher"])
def test_the_town_and_teacher_reports_run_the_same_queries_for_3_and_21_pairings(
    world, django_assert_num_queries, name, more
):
    for _ in range(more):
        TalkRecordFactory(pairing=f.PairingFactory(teacher__school=world.school_a), date=dt.date(2026, 9, 8))
    calendars.snapshot()  # the term calendar, read once per change (pairing/calendars.py)
    # The engine's five; the towns' names or the pairings' teachers (1); the audit line (1).
    with django_assert_num_queries(7):
        ws, _ = export(name, world.county)
    assert totals(ws)["结对数"] == 3 + more


# --- 家访记录明细, 免记周明细, 提醒与上报记录 ---------------------------------------------------------


def test_the_visit_detail_lists_each_visit_of_the_term_with_its_policies(world):
    policy = AidPolicy.objects.create(name="国家助学金")
    visit = HomeVisitFactory(pairing=world.student_a1.pairings.get(), needs_found="需要冬衣")
    visit.policies.add(policy, AidPolicy.objects.create(name="营养改善计划"))
    HomeVisitFactory(pairing=world.student_b1.pairings.get())
    HomeVisitFactory(pairing=world.student_a2.pairings.get(), date=dt.date(2026, 3, 10), term=_past_term())

    ws, result = export("visit_detail", world.county)
    rows = {r["学生姓名"]: r for r in table(ws)}
    assert result.rows == 2 and set(rows) == {world.student_a1.name, world.student_b1.name}
    a1 = rows[world.student_a1.name]
    assert a1["家访日期"].date() == visit.date and a1["走访人员"] == visit.visitors
    assert a1["宣讲的资助政策"] == "国家助学金、营养改善计划" and a1["发现的需求"] == "需要冬衣"
    assert a1["五导内容"] == "政策宣导" and a1["帮扶教师"] == world.teacher_a1.get_full_name()
    assert rows[world.student_b1.name]["宣讲的资助政策"] is None

    ws, _ = export("visit_detail", world.officer_a)
    assert [r["学生姓名"] for r in table(ws)] == [world.student_a1.name]


def test_the_excused_weeks_of_the_term_with_reason_and_who_excused(world):
    week = ExcusedWeekFactory(pairing=world.student_a1.pairings.get(), excused_by=world.officer_a, note="住院")
    ExcusedWeekFactory(pairing=world.student_b1.pairings.get(), week_monday=dt.date(2026, 3, 9))  # last term

    ws, result = export("excused_weeks", world.county)
    (row,) = table(ws)
    assert result.rows == 1 and row["周一日期"].date() == week.week_monday
    assert row["原因"] == "学生生病" and row["说明"] == "住院" and row["批准人"] == world.officer_a.get_full_name()
    assert row["学生姓名"] == world.student_a1.name
    assert table(export("excused_weeks", world.officer_b)[0]) == []


def _reminder(world: Any, student: Any, **kwargs: Any) -> Reminder:
    values = {"kind": ReminderKind.MISSED_TALK, "period": dt.date(2026, 11, 9), "term": world.term} | kwargs
    return Reminder.objects.create(pairing=student.pairings.get(), **values)


def test_the_reminder_record_shows_levels_and_how_each_was_handled(world):
    now = dt.datetime(2026, 11, 12, 9, 30, tzinfo=SHANGHAI)
    _reminder(world, world.student_a1, level=ReminderLevel.COUNTY, streak=3)
    _reminder(
        world,
        world.student_a2,
        acknowledged_at=now,
        acknowledged_by=world.teacher_a2,
        acknowledgement="学生请假",
    )
    _reminder(world, world.student_b1, kind=ReminderKind.VISIT_DUE, resolved_at=now)

    ws, result = export("reminders", world.county)
    rows = {r["学生姓名"]: r for r in table(ws)}
    assert result.rows == 3
    a1, a2, b1 = rows[world.student_a1.name], rows[world.student_a2.name], rows[world.student_b1.name]
    assert a1["级别"] == "上报市资助中心" and a1["连续周数"] == 3 and a1["处理情况"] == "未处理"
    assert a1["类型"] == "上周未记录谈心谈话" and a1["所属周(周一)"].date() == dt.date(2026, 11, 9)
    assert a2["处理情况"] == "已确认" and a2["确认说明"] == "学生请假"
    assert a2["确认人"] == world.teacher_a2.get_full_name() and a2["确认时间"] == dt.datetime(2026, 11, 12, 9, 30)
    assert (
        b1["处理情况"] == "已补记"
        and b1["类型"] == "本学期尚未家访"
        and b1["补记时间"] == dt.datetime(2026, 11, 12, 9, 30)
    )

    ws, result = export("reminders", world.county, {"level": "3"})
    assert [r["学生姓名"] for r in table(ws)] == [world.student_a1.name] and "级别:上报市资助中心" in result.filters
    ws, _ = export("reminders", world.county, {"state": "open"})
    assert [r["学生姓名"] for r in table(ws)] == [world.student_a1.name]
    ws, _ = export("reminders", world.officer_b)
    assert [r["学生姓名"] for r in table(ws)] == [world.student_b1.name]


@pytest.mark.parametrize("name", ["visit_detail", "excused_weeks", "reminders"])
@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "admin", "nobody"])
def test_no_other_role_may_export_the_records(world, name, who):
    with pytest.raises(ValidationError, match="无权导出"):
        export(name, getattr(world, who))


@pytest.mark.parametrize("more", [0, 10])
@pytest.mark.parametrize(("name", "queries"), [("visit_detail", 5), ("excused_weeks", 4), ("reminders", 4)])
def test_the_record_reports_run_the_same_queries_for_few_and_many(
    world, django_assert_num_queries, name, queries, more
):
    for i in range(1 + more):
        pairing = f.PairingFactory(teacher__school=world.school_a)
        HomeVisitFactory(pairing=pairing).policies.add(AidPolicy.objects.get_or_create(name=f"政策{i % 3}")[0])
        ExcusedWeekFactory(pairing=pairing)
        Reminder.objects.create(pairing=pairing, kind="missed_talk", period=dt.date(2026, 11, 9), term=world.term)
    # The current term (1) and its closures (1); the records as values (1); a visit's policies (1);
    # the audit line (1).
    with django_assert_num_queries(queries):
        ws, _ = export(name, world.county)
    assert len(table(ws)) == 1 + more


def _past_term() -> Any:
    return f.TermFactory(
        school_year=f.SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 2, 23),
        end_date=dt.date(2026, 7, 3),
    )


def test_the_command_writes_the_talk_detail_of_a_school(talked, tmp_path):
    target = tmp_path / "谈话.xlsx"
    call_command("export_report", "talk_detail", "--school", str(talked.school_b.pk), "-o", str(target))

    rows = table(openpyxl.load_workbook(target).active)
    assert [r["学生姓名"] for r in rows] == [talked.student_b1.name]
    assert AuditEvent.objects.get(action=AuditAction.EXPORT).object_id == "talk_detail"


def test_the_record_columns_follow_the_field_policy(world):
    """Officers and county staff see RECORDS, so the content columns are theirs; a reader without it
    (the 系统管理员's view, should a role without RECORDS be given export) would get none of them."""
    for who in (world.officer_a, world.county):
        labels = [c.label for c in columns_for(TALK_DETAIL, who)]
        assert {"谈心谈话与辅导内容", "学生状态", "发现的问题", "采取的措施", "下一步打算"} <= set(labels)
    labels = [c.label for c in columns_for(TALK_DETAIL, world.admin)]
    assert "谈心谈话与辅导内容" not in labels and "五导内容" not in labels and "时长(分钟)" not in labels
