"""Excel reports (issue 10, points 1, 2 and 7): every workbook opened with openpyxl and checked
against the database and the web list it exports, for each role; the page and the command."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from casefiles.reports import PAIRINGS, REPORTS, SCHOOL_COMPLIANCE, _cell_values, columns_for, report_export
from guidance.dashboards import county_dashboard
from guidance.models import LateEntryPermission
from guidance.tests.factories import HomeVisitFactory, TalkRecordFactory
from pairing import calendars
from pairing.models import HardshipAssessment, HardshipLevel, SpecialCategory, Town
from pairing.tests import factories as f
from zaoyang_aid.excel import HEADER_ROW
from zaoyang_aid.masking import mask_id_number
from zaoyang_aid.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def export(name: str, user: Any, data: dict[str, Any] | None = None) -> tuple[Any, Any]:
    buffer = io.BytesIO()
    result = report_export(name=name, user=user, data=data or {}, target=buffer)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer).active, result


def table(ws: Any) -> list[dict[str, Any]]:
    """The data rows (without 合计) as dicts by header label."""
    header = [c.value for c in ws[HEADER_ROW]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=HEADER_ROW + 1)]
    return [r for r in rows if r[header[0]] != "合计"]


def totals(ws: Any) -> dict[str, Any]:
    header = [c.value for c in ws[HEADER_ROW]]
    return dict(zip(header, (c.value for c in ws[ws.max_row]), strict=True))


# --- 结对帮扶台账 -----------------------------------------------------------------------------------


def test_county_staff_get_every_pairing_with_whole_ids_dates_as_dates_and_the_heading(world):
    ws, result = export("pairings", world.county)

    assert ws["A1"].value == f"结对帮扶台账({world.term.name})"
    assert ws["A2"].value == "填报单位:枣阳市学生资助管理中心"
    assert ws["A3"].value == f"筛选条件:学期:{world.term.name};其他:全部"
    assert ws["A4"].value.startswith("导出时间:2026-11-16 10:00") and world.county.get_full_name() in ws["A4"].value
    rows = table(ws)
    assert result.rows == len(rows) == 3
    by_name = {r["学生姓名"]: r for r in rows}
    a1 = by_name["张小明"]
    assert a1["身份证号"] == world.student_a1.id_number  # county staff see FULL_ID (fields.py)
    assert a1["学籍号"] == world.student_a1.student_number
    assert a1["学校"] == world.school_a.name
    assert a1["帮扶教师"] == world.teacher_a1.get_full_name()
    assert a1["教师手机号"] == world.teacher_a1.teacher.phone
    assert a1["结对状态"] == "进行中"
    started = ws.cell(HEADER_ROW + 1, [c.value for c in ws[HEADER_ROW]].index("结对日期") + 1)
    assert started.is_date and started.value.date() == dt.date(2026, 9, 1)
    assert totals(ws)["学生姓名"] == 3


def test_the_officer_gets_her_schools_pairings_only(world):
    ws, _ = export("pairings", world.officer_a)

    assert ws["A2"].value == f"填报单位:{world.school_a.name}"
    rows = table(ws)
    assert {r["学生姓名"] for r in rows} == {"张小明", "李小红"}
    assert {r["身份证号"] for r in rows} == {world.student_a1.id_number, world.student_a2.id_number}


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "admin", "nobody"])
def test_no_other_role_may_export(world, who):
    with pytest.raises(ValidationError, match="无权导出"):
        export("pairings", getattr(world, who))
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_a_reader_without_full_id_gets_masked_ids_and_no_columns_of_groups_they_do_not_see(world):
    """No exporting role lacks FULL_ID today; the column rules are held for the 系统管理员's view
    (names and schools, no 认定), so a role given export later cannot widen what it sees."""
    columns = columns_for(PAIRINGS, world.admin)
    labels = [c.label for c in columns]
    assert "本学期困难等级" not in labels and "特殊群体类别" not in labels
    assert "教师手机号" in labels  # STAFF: the admin sees staff contacts
    row = {c.key: "x" for c in PAIRINGS.columns} | {"id_number": world.student_a1.id_number}
    values = dict(zip(labels, _cell_values(columns, world.admin)(row), strict=True))
    assert values["身份证号"] == mask_id_number(world.student_a1.id_number)
    assert world.student_a1.id_number[6:14] not in values["身份证号"]


def test_the_file_equals_the_web_lists_rows_for_the_same_filter(client, world):
    f.PairingFactory(
        teacher__school=world.school_b, student__name="赵小兵", ended_on=dt.date(2026, 10, 9), end_reason="transfer"
    )
    client.force_login(world.county)
    for query in ({}, {"school": world.school_b.pk}, {"status": "ended"}, {"teacher_name": "用户"}):
        page = client.get(reverse("pairing:pairing_list"), query)
        listed = [p.student.name for p in page.context["page"].object_list]
        ws, _ = export("pairings", world.county, {k: str(v) for k, v in query.items()})
        assert [r["学生姓名"] for r in table(ws)] == listed, query


def test_a_filter_outside_the_readers_scope_is_ignored_as_on_the_list(world):
    ws, result = export("pairings", world.officer_a, {"school": str(world.school_b.pk)})

    assert {r["学生姓名"] for r in table(ws)} == {"张小明", "李小红"}
    assert "学校" not in result.filters.split(";")[1:]


def test_the_filter_is_written_in_words(world):
    _ws, result = export("pairings", world.county, {"school": str(world.school_a.pk), "status": "active"})

    assert result.filters == f"学期:{world.term.name};学校:{world.school_a.name};结对状态:进行中"


def test_this_terms_assessment_is_in_the_file(world):
    level = HardshipLevel.objects.filter(is_active=True).first() or HardshipLevel.objects.create(name="特别困难")
    category = SpecialCategory.objects.filter(is_active=True).first() or SpecialCategory.objects.create(name="低保")
    assessment = HardshipAssessment.objects.create(
        student=world.student_a1, term=world.term, level=level, decided_on=dt.date(2026, 9, 10)
    )
    assessment.categories.add(category)
    rows = {r["学生姓名"]: r for r in table(export("pairings", world.county)[0])}

    assert rows["张小明"]["本学期困难等级"] == level.name and rows["张小明"]["特殊群体类别"] == category.name
    assert rows["李小红"]["本学期困难等级"] == "未认定"


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x.example","点我")', "+1", "@x", "-2", "\t=1"])
def test_a_student_named_like_a_formula_is_written_as_inert_text(world, name):
    f.PairingFactory(teacher__school=world.school_a, student__name=name)
    ws, _ = export("pairings", world.county)

    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    assert "'" + name in {r["学生姓名"] for r in table(ws)}


def test_each_export_is_one_audit_line_with_who_what_filter_and_row_count(world):
    _ws, result = export("pairings", world.officer_a, {"status": "active"})

    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor_id == world.officer_a.pk and event.actor_role == "officer"
    assert event.object_type == "报表" and event.object_id == "pairings"
    assert event.changes["报表"] == [None, "结对帮扶台账"]
    assert event.changes["筛选条件"] == [None, result.filters]
    assert event.changes["行数"] == [None, 2]


def _assess(student: Any, term: Any) -> None:
    level = HardshipLevel.objects.filter(is_active=True).first() or HardshipLevel.objects.create(name="一般困难")
    category = SpecialCategory.objects.filter(is_active=True).first() or SpecialCategory.objects.create(name="低保")
    HardshipAssessment.objects.create(
        student=student, term=term, level=level, decided_on=dt.date(2026, 9, 10)
    ).categories.add(category)


@pytest.mark.parametrize("more", [0, 18])
def test_the_pairing_ledger_runs_the_same_queries_for_2_and_20_pairings(world, django_assert_num_queries, more):
    for _ in range(more):
        _assess(f.PairingFactory(teacher__school=world.school_a).student, world.term)
    _assess(world.student_a1, world.term)
    # The current term (1) and its closures (1, term_today), the school's stage for the grade filter
    # (1), the pairings with teacher, student, school and town joined (1), this term's 认定 with its
    # level (1) and categories (1), the audit line (1).
    with django_assert_num_queries(7):
        ws, _ = export("pairings", world.officer_a)
    assert len(table(ws)) == 2 + more


# --- 五导落实情况(按学校) -----------------------------------------------------------------------


@pytest.fixture
def worked(world: Any) -> Any:
    """Talks, a 补录 talk and a home visit in school A; nothing in school B."""
    pa1 = world.student_a1.pairings.get()
    for day in (dt.date(2026, 9, 8), dt.date(2026, 9, 15), dt.date(2026, 11, 9)):
        TalkRecordFactory(pairing=pa1, date=day)
    permission = LateEntryPermission.objects.create(
        pairing=pa1, week_monday=dt.date(2026, 9, 21), reason="住院", granted_by=world.officer_a
    )
    TalkRecordFactory(pairing=pa1, date=dt.date(2026, 9, 22), late_permission=permission)
    HomeVisitFactory(pairing=pa1)
    return world


def test_the_compliance_report_agrees_with_the_county_dashboard_school_by_school(worked):
    world = worked
    ws, result = export("compliance_by_school", world.county)
    board = county_dashboard(world.county, term=world.term)
    rows = {r["学校"]: r for r in table(ws)}

    assert result.rows == len(board.schools) == 2
    for line in board.schools:
        row = rows[line.name]
        assert row["结对数"] == line.totals.pairings
        assert row["应记周次"] == line.totals.expected_weeks
        assert row["已记周次"] == line.totals.done_weeks
        assert row["漏记周次"] == line.totals.missed_weeks
        assert row["已家访学生数"] == line.totals.visited
        assert row["完成率"] == pytest.approx(line.totals.term_rate)
    assert rows[world.school_a.name]["补录条数"] == 1 and rows[world.school_b.name]["补录条数"] == 0
    total = totals(ws)
    assert total["结对数"] == board.totals.pairings == 3
    assert total["已记周次"] == board.totals.done_weeks == 4
    assert total["应记周次"] == board.totals.expected_weeks
    assert total["完成率"] == pytest.approx(board.totals.term_rate)
    assert total["已家访学生数"] == 1 and total["家访率"] == pytest.approx(1 / 3)


def test_the_rate_is_a_number_formatted_as_a_percentage(worked):
    ws, _ = export("compliance_by_school", worked.county)
    header = [c.value for c in ws[HEADER_ROW]]
    rate = ws.cell(HEADER_ROW + 1, header.index("完成率") + 1)

    assert rate.data_type == "n" and isinstance(rate.value, int | float) and rate.number_format == "0.0%"
    assert 0 <= rate.value <= 1


def test_the_officer_gets_her_school_and_a_town_filter_narrows_the_county(worked):
    world = worked
    ws, _ = export("compliance_by_school", world.officer_a)
    assert [r["学校"] for r in table(ws)] == [world.school_a.name]

    other_town = Town.objects.exclude(pk=world.school_b.town_id).order_by("code").first()
    world.school_b.town = other_town
    world.school_b.save()
    ws, result = export("compliance_by_school", world.county, {"town": str(other_town.pk)})
    assert [r["学校"] for r in table(ws)] == [world.school_b.name]
    assert f"乡镇:{other_town.name}" in result.filters


@pytest.mark.parametrize("more", [0, 18])
def test_the_compliance_report_runs_the_same_queries_for_2_and_20_pairings(world, django_assert_num_queries, more):
    for _ in range(more):
        TalkRecordFactory(pairing=f.PairingFactory(teacher__school=world.school_a), date=dt.date(2026, 9, 8))
    calendars.snapshot()  # the term calendar, read once per change (pairing/calendars.py)
    # The engine's five (pairings, enrollment history, excused weeks, tallies, home visits); the 补录
    # talks per school (1); the schools' names (1); the audit line (1).
    with django_assert_num_queries(8):
        ws, _ = export("compliance_by_school", world.county)
    assert totals(ws)["结对数"] == 3 + more


def test_an_unknown_report_or_term_is_refused_in_chinese(world):
    with pytest.raises(ValidationError, match="没有名为"):
        report_export(name="nope", user=world.county, data={}, target=io.BytesIO())
    with pytest.raises(ValidationError, match="学期不存在"):
        report_export(name="pairings", user=world.county, data={"term": "999999"}, target=io.BytesIO())


# --- The page, the pairing list's link ---------------------------------------------------------


@pytest.mark.parametrize("who", ["officer_a", "county"])
def test_officers_and_county_staff_open_the_page_and_download_each_report(client, world, who):
    client.force_login(getattr(world, who))
    for name, report in REPORTS.items():
        page = client.get(reverse("casefiles:report_list"), {"report": name})
        assert page.status_code == 200 and report.label in page.content.decode()
        response = client.get(reverse("casefiles:report_download"), {"report": name})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert "attachment" in response["Content-Disposition"] and "no-store" in response["Cache-Control"]
        ws = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
        assert ws["A1"].value.startswith(report.label)


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "admin", "nobody"])
def test_no_other_role_opens_the_page_or_downloads(client, world, who):
    client.force_login(getattr(world, who))

    assert client.get(reverse("casefiles:report_list")).status_code == 403
    assert client.get(reverse("casefiles:report_download"), {"report": "pairings"}).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_an_unknown_report_is_a_404_and_a_post_is_refused(client, world):
    client.force_login(world.county)

    assert client.get(reverse("casefiles:report_download"), {"report": "nope"}).status_code == 404
    assert client.post(reverse("casefiles:report_download"), {"report": "pairings"}).status_code == 405


def test_the_pairing_lists_export_link_carries_its_filters(client, world):
    client.force_login(world.county)
    page = client.get(reverse("pairing:pairing_list"), {"school": world.school_a.pk, "status": "active", "page": 1})
    url = page.context["export_url"]

    assert url.startswith(reverse("casefiles:report_download"))
    assert f"school={world.school_a.pk}" in url and "status=active" in url and "page=" not in url
    assert url.endswith("report=pairings") and "导出Excel" in page.content.decode()
    response = client.get(url)
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert {r["学生姓名"] for r in table(ws)} == {"张小明", "李小红"}


def test_the_admin_sees_no_export_link_on_the_pairing_list(client, world):
    client.force_login(world.admin)
    page = client.get(reverse("pairing:pairing_list"))

    assert page.context["export_url"] is None and "导出Excel" not in page.content.decode()


# --- The command --------------------------------------------------------------------------------


def test_the_command_lists_the_reports(world, capsys):
    call_command("export_report", "--list")

    out = capsys.readouterr().out
    assert all(name in out for name in REPORTS) and SCHOOL_COMPLIANCE.label in out


def test_the_command_writes_the_file_as_the_one_county_account_with_the_same_filters(world, tmp_path: Path, capsys):
    target = tmp_path / "台账.xlsx"
    call_command("export_report", "pairings", "--school", str(world.school_b.pk), "-o", str(target))

    ws = openpyxl.load_workbook(target).active
    assert [r["学生姓名"] for r in table(ws)] == ["王小刚"]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor_id == world.county.pk and event.path == "manage.py export_report pairings"
    assert "1行" in capsys.readouterr().out


def test_the_command_exports_as_the_named_officer(world, tmp_path: Path):
    target = tmp_path / "c.xlsx"
    call_command("export_report", "compliance_by_school", "--as", world.officer_a.username, "-o", str(target))

    assert [r["学校"] for r in table(openpyxl.load_workbook(target).active)] == [world.school_a.name]


def test_the_command_refuses_to_guess_among_county_accounts(world, tmp_path: Path):
    f.CountyUserFactory()
    with pytest.raises(CommandError, match="--as"):
        call_command("export_report", "pairings", "-o", str(tmp_path / "x.xlsx"))


@pytest.mark.parametrize(
    "args",
    [
        ["--as", "teacher"],  # a teacher may not export
        ["--as", "officer_a", "--school", "school_b"],  # another school: the list ignores it, the command refuses
        ["--term", "999999"],
    ],
)
def test_the_command_writes_nothing_when_refused(world, tmp_path: Path, args):
    names = {
        "town_a": str(world.school_a.town_id),
        "teacher": world.teacher_a1.username,
        "officer_a": world.officer_a.username,
        "school_b": str(world.school_b.pk),
    }
    target = tmp_path / "x.xlsx"
    with pytest.raises(CommandError):
        call_command("export_report", "pairings", *[names.get(a, a) for a in args], "-o", str(target))
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


FILTERS = ["report", "term", "town", "school", "stage", "grade", "category", "teacher", "teacher_name", "status"]


@pytest.mark.parametrize("url_name", ["casefiles:report_list", "casefiles:report_download"])
def test_hostile_filter_values_never_give_a_server_error(client, world, url_name):
    from tests.test_no_500_from_input import HOSTILE

    client.raise_request_exception = False
    failures = []
    # The file is written for each value: the county's only, to keep the test short (the officer's
    # filters are a subset of the county's, the page tries both).
    users = (world.county, world.officer_a) if url_name.endswith("list") else (world.county,)
    for user in users:
        client.force_login(user)
        for name in REPORTS:
            for param in FILTERS:
                for value in HOSTILE:
                    status = client.get(reverse(url_name), {"report": name, param: value}).status_code
                    if status >= 500:
                        failures.append((user.username, name, param, value, status))
    assert failures == []


def test_without_a_term_the_page_says_so_and_the_download_comes_back_with_the_reason(client, world):
    world.term.delete()
    client.force_login(world.county)

    page = client.get(reverse("casefiles:report_list"))
    assert page.status_code == 200 and "尚未设置学期" in page.content.decode()
    response = client.get(reverse("casefiles:report_download"), {"report": "pairings"}, follow=True)
    assert response.redirect_chain and "尚未设置学期" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


# --- 认定名册 ---------------------------------------------------------------------------------------


def test_the_roster_equals_the_student_lists_rows_with_this_terms_assessment(client, world):
    _assess(world.student_a1, world.term)
    assessment = HardshipAssessment.objects.get(student=world.student_a1)
    client.force_login(world.county)
    for query in ({}, {"school": world.school_a.pk}, {"level": assessment.level_id}, {"paired": "yes"}):
        page = client.get(reverse("pairing:student_list"), query)
        listed = [s.name for s in page.context["page"].object_list]
        ws, _ = export("assessment_roster", world.county, {k: str(v) for k, v in query.items()})
        assert [r["学生姓名"] for r in table(ws)] == listed, query
    rows = {r["学生姓名"]: r for r in table(export("assessment_roster", world.county)[0])}
    assert rows["张小明"]["困难等级"] == assessment.level.name
    assert rows["张小明"]["认定日期"].date() == dt.date(2026, 9, 10)
    assert rows["张小明"]["身份证号"] == world.student_a1.id_number
    assert rows["李小红"]["困难等级"] == "未认定" and rows["李小红"]["认定日期"] is None
    assert rows["王小刚"]["帮扶教师"] == world.teacher_b1.get_full_name()


@pytest.mark.parametrize("more", [0, 18])
def test_the_roster_runs_the_same_queries_for_2_and_20_students(world, django_assert_num_queries, more):
    for _ in range(more):
        _assess(f.PairingFactory(teacher__school=world.school_a).student, world.term)
    _assess(world.student_a1, world.term)
    # The current term (1) and its closures (1, term_today), the students with school and town
    # joined (1), their active pairing with the teacher (1), this term's 认定 with its level (1) and
    # categories (1), the audit line (1).
    with django_assert_num_queries(7):
        ws, _ = export("assessment_roster", world.officer_a)
    assert len(table(ws)) == 2 + more


def test_the_command_refuses_a_filter_the_report_does_not_offer_the_reader(world, tmp_path: Path):
    target = tmp_path / "x.xlsx"
    town = str(world.school_a.town_id)
    with pytest.raises(CommandError, match="不提供这些筛选:town"):  # the officer's report is her school's
        call_command(
            "export_report", "compliance_by_school", "--as", world.officer_a.username, "--town", town, "-o", str(target)
        )
    assert not target.exists()
