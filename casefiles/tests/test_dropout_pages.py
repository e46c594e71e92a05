"""控辍保学 ledgers' pages: every URL for every role (the owner, the officer of another school, the
roles that may not, anonymous), the town list's upload (bad rows refused with nothing written unless
skipped), the officer's decisions and the teacher's 缺勤登记 through the pages, and each list's query
count, the same for few rows as for many."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casefiles.models import AbsenceNote, DropoutMonthlyReport, SchoolAgeChild, SuspectedDropout
from casefiles.tests.factories import SchoolAgeChildFactory, SuspectedDropoutFactory
from pairing.tests.factories import SchoolFactory, StudentFactory, make_id_number

pytestmark = pytest.mark.django_db
D = dt.date

ALL = ("teacher_a1", "teacher_a2", "officer_a", "officer_b", "counsellor_a", "county", "admin", None)
# URL name, the object it takes, the answer for each account (any not named: 403; anonymous: login).
PAGES: list[tuple[str, str | None, dict[str, int]]] = [
    ("casefiles:children_list", None, {"officer_a": 200, "officer_b": 200, "county": 200}),
    ("casefiles:children_upload", None, {"county": 200}),
    ("casefiles:child_verify", "child", {"county": 200}),
    ("casefiles:suspected_list", None, {"officer_a": 200, "officer_b": 200, "county": 200}),
    ("casefiles:suspected_create", None, {"officer_a": 200, "officer_b": 200}),
    ("casefiles:suspected_detail", "entry", {"officer_a": 200, "officer_b": 404, "county": 200}),
    (
        "casefiles:absence_create",
        "student",
        {"teacher_a1": 200, "teacher_a2": 404, "officer_a": 200, "officer_b": 404, "counsellor_a": 404},
    ),
    ("casefiles:monthly_reports", None, {"officer_a": 200, "officer_b": 200, "county": 200}),
    ("casefiles:monthly_submit", None, {"officer_a": 405, "officer_b": 405}),
    ("casefiles:rechecks", None, {"county": 200}),
]


@pytest.fixture
def ledger(world: Any) -> Any:
    world.child = SchoolAgeChildFactory(town=world.school_a.town)
    world.entry = SuspectedDropoutFactory(student=world.student_a1)
    return world


@pytest.mark.parametrize(("name", "kind", "answers"), PAGES, ids=[p[0] for p in PAGES])
@pytest.mark.parametrize("account", ALL)
def test_each_page_answers_each_role(client, ledger, name, kind, answers, account):
    args = {"child": [ledger.child.pk], "entry": [ledger.entry.pk], "student": [ledger.student_a1.pk]}.get(kind or "")
    if account is not None:
        client.force_login(getattr(ledger, account))
    response = client.get(reverse(name, args=args))
    if account is None:
        assert response.status_code == 302 and "/login/" in response["Location"]
    else:
        assert response.status_code == answers.get(account, 403)


def test_the_navbar_offers_the_ledgers_to_the_officer_and_the_county(client, world):
    client.force_login(world.officer_a)
    page = client.get(reverse("casefiles:suspected_list")).content.decode()
    assert "控辍保学" in page and reverse("casefiles:monthly_reports") in page
    assert reverse("casefiles:rechecks") not in page
    client.force_login(world.county)
    page = client.get(reverse("casefiles:suspected_list")).content.decode()
    assert reverse("casefiles:rechecks") in page and reverse("casefiles:children_list") in page


# --- The town list's upload -----------------------------------------------------------------------------


def _list_file(rows: list[list[Any]]) -> io.BytesIO:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["琚湾镇2026年义务教育适龄儿童花名册"])
    sheet.append(["序号", "姓名", "性别", "公民身份号码", "所在村", "监护人姓名", "监护人联系电话"])
    for number, row in enumerate(rows, start=1):
        sheet.append([number, *row])
    sheet.append(["填表人:张三"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "琚湾镇适龄儿童.xlsx"
    return buffer


def _bad_checksum(seq: int) -> str:
    good = make_id_number(seq, birth=D(2016, 5, 6))
    return good[:-1] + ("1" if good[-1] != "1" else "2")


def _child(seq: int, **kw: Any) -> list[Any]:
    id_number = kw.get("id_number") or make_id_number(seq, birth=D(2016, 5, 6))
    return [f"儿童{seq}", "男", id_number, "清河村", "刘大山", "13800001111"]


def _upload(client: Any, world: Any, rows: list[list[Any]], **extra: Any) -> Any:
    client.force_login(world.county)
    data = {"town": world.school_a.town_id, "year": 2026, "file": _list_file(rows), **extra}
    return client.post(reverse("casefiles:children_upload"), data)


def test_a_list_with_a_bad_row_is_refused_whole_with_the_rows_number_and_why(client, world):
    bad_checksum = _bad_checksum(2)
    too_old = make_id_number(3, birth=D(2008, 1, 1))
    response = _upload(client, world, [_child(1), _child(2, id_number=bad_checksum), _child(3, id_number=too_old)])
    page = response.content.decode()
    assert response.status_code == 200
    assert "第4行" in page and "第5行" in page and "未导入任何一行" in page
    assert "不在义务教育适龄范围" in page
    assert not SchoolAgeChild.objects.exists()


def test_skipping_the_bad_rows_imports_the_rest_and_a_reupload_updates(client, world):
    bad = _bad_checksum(2)
    response = _upload(client, world, [_child(1), _child(2, id_number=bad)], skip_bad="on")
    assert response.status_code == 302
    assert SchoolAgeChild.objects.count() == 1
    response = _upload(client, world, [_child(1), _child(4)])
    assert response.status_code == 302
    assert SchoolAgeChild.objects.count() == 2
    assert SchoolAgeChild.objects.filter(town=world.school_a.town).count() == 2


def test_a_file_without_the_columns_is_refused_at_the_file_field(client, world):
    client.force_login(world.county)
    workbook = openpyxl.Workbook()
    workbook.active.append(["甲", "乙", "丙"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "x.xlsx"
    response = client.post(
        reverse("casefiles:children_upload"), {"town": world.school_a.town_id, "year": 2026, "file": buffer}
    )
    assert "没有找到表头" in response.content.decode()
    assert not SchoolAgeChild.objects.exists()


# --- Decisions and 缺勤登记 through the pages -----------------------------------------------------------


def test_the_officer_confirms_a_proposal_and_records_a_dropout_from_the_entry_page(client, world):
    entry = SuspectedDropoutFactory(student=world.student_a1)
    client.force_login(world.officer_a)
    url = reverse("casefiles:suspected_detail", args=[entry.pk])
    response = client.post(url, {"action": "confirm", "first_absent_on": "", "days_absent": "3"})
    assert "请填写日期" in response.content.decode()  # at its field; nothing confirmed
    confirm = {"action": "confirm", "first_absent_on": "2026-11-16", "days_absent": "3"}
    assert client.post(url, confirm).status_code == 302
    response = client.post(url, {"action": "resolve", "status": "dropped_out", "on": "2026-11-16", "note": ""})
    assert "确认辍学请填写情况说明" in response.content.decode()
    client.post(url, {"action": "resolve", "status": "dropped_out", "on": "2026-11-16", "note": "外出打工"})
    entry.refresh_from_db()
    world.student_a1.refresh_from_db()
    assert entry.status == "dropped_out" and world.student_a1.enrollment_status == "dropped_out"


def test_county_staff_read_an_entry_but_do_not_decide_it(client, world):
    entry = SuspectedDropoutFactory(student=world.student_a1)
    client.force_login(world.county)
    confirm = {"action": "confirm", "first_absent_on": "2026-11-16", "days_absent": "3"}
    assert client.post(reverse("casefiles:suspected_detail", args=[entry.pk]), confirm).status_code == 404
    entry.refresh_from_db()
    assert entry.status == "proposed"


def test_the_teacher_notes_an_absence_from_her_students_card(client, world):
    client.force_login(world.teacher_a1)
    page = client.get(reverse("guidance:my_students")).content.decode()
    url = reverse("casefiles:absence_create", args=[world.student_a1.pk])
    assert url in page
    response = client.post(url, {"date_from": "2026-11-16", "days": "3", "note": "电话未接通"}, follow=True)
    assert "已提示学校资助专干" in response.content.decode()
    assert AbsenceNote.objects.count() == 1 and SuspectedDropout.objects.get().status == "proposed"
    response = client.post(url, {"date_from": "2026-11-20", "days": "0"})
    page = response.content.decode()
    assert "不能晚于今天" in page and "缺勤天数至少1天" in page


def test_the_officer_submits_her_schools_monthly_report(client, world):
    entry = SuspectedDropoutFactory(student=world.student_a2, first_absent_on=D(2026, 11, 2))
    entry.status, entry.resolved_on, entry.resolved_by = "returned", D(2026, 11, 6), world.officer_a
    entry.entered_on, entry.entered_in_week = D(2026, 11, 3), True
    entry.save()
    client.force_login(world.officer_a)
    page = client.get(reverse("casefiles:monthly_reports")).content.decode()
    assert "本月返校 1 人" in page  # the counts her report will hold
    assert 'data-submit="2026-10"' in page and "逾期未报" in page
    client.post(reverse("casefiles:monthly_submit"), {"month": "2026-10-01", "note": "补报"})
    report = DropoutMonthlyReport.objects.get()
    assert (report.school, report.submitted_on) == (world.school_a, D(2026, 11, 16))
    page = client.get(reverse("casefiles:monthly_reports")).content.decode()
    assert 'data-submit="2026-10"' not in page and "逾期补报" in page


def test_the_recheck_page_lists_the_schools_not_yet_rechecked(client, world):
    client.force_login(world.county)
    page = client.get(reverse("casefiles:rechecks")).content.decode()
    assert "2 所学校尚未复核" in page
    response = client.post(
        reverse("casefiles:rechecks"),
        {
            "school": world.school_a.pk,
            "quarter": "2026-10-01",
            "checked_on": "2026-11-16",
            "status": "checked",
            "discrepancies": "0",
        },
    )
    assert response.status_code == 302
    assert "1 所学校尚未复核" in client.get(reverse("casefiles:rechecks")).content.decode()


# --- Query counts: the same for few rows as for many ------------------------------------------------------


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _more_rows(world: Any, n: int) -> None:
    for _ in range(n):
        student = StudentFactory(school=world.school_a)
        SchoolAgeChildFactory(town=world.school_a.town, id_number=student.id_number)
        SchoolAgeChildFactory(town=SchoolFactory().town)
        SuspectedDropoutFactory(student=student)
        school = SchoolFactory()
        DropoutMonthlyReport.objects.create(
            school=school,
            month=D(2026, 10, 1),
            submitted_on=D(2026, 11, 3),
            submitted_by=world.officer_a,
            enrolled=1,
            suspected_open=0,
            dropouts_open=0,
            returned=0,
        )


@pytest.mark.parametrize(
    ("account", "name", "exactly"),
    [
        # Each: the session, the user (with a school role's staff row: zaoyang_aid/backends.py), the
        # navbar's notices (base template); no session
        # save (the warm-up request stamped it, zaoyang_aid/sessions.py); then the page's own: the
        # paginator's count, the page's keys and its rows by key (the deferred join,
        # zaoyang_aid/paging.py: issue 12), the per-town counts, the audit line.
        ("county", "casefiles:children_list", 9),
        ("officer_a", "casefiles:children_list", 9),  # and her school (the scope's subquery of IDs)
        # the count, the page's keys and its entries by key, the officer's waiting proposals, the audit
        # line. The county's filter form reads no school until a town is chosen (issue 12: the select
        # offers the chosen town's schools).
        ("county", "casefiles:suspected_list", 8),
        ("officer_a", "casefiles:suspected_list", 8),
        # the page of schools and its count, their reports of the six months, the terms (which months
        # owe a report); the county's summary of the month over every school (schools, reports, terms)
        ("county", "casefiles:monthly_reports", 11),
        ("officer_a", "casefiles:monthly_reports", 9),  # her counts (two aggregates) instead of the summary
        # the page of schools (not re-checked first) and its count, their re-checks, the count of those
        # not re-checked (the form's school list: none until a town is chosen)
        ("county", "casefiles:rechecks", 9),
    ],
)
def test_each_list_runs_the_same_queries_for_few_rows_and_many(client, world, account, name, exactly):
    client.force_login(getattr(world, account))
    url = reverse(name)
    _more_rows(world, 2)
    client.get(url)  # warm: the session's stamp
    few = _queries(client, url)
    _more_rows(world, 12)
    many = _queries(client, url)
    assert few == many == exactly, (few, many)
