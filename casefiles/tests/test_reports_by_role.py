"""Every report of the registry, for every role (issue 10, point 10): the roles that may export get a
workbook that openpyxl opens, with the reader's columns, real types, ID numbers as the field policy
lets the reader see them, no live formula, and totals that agree with the database; the others are
refused, on the page and in the service. Parametrised over REPORTS: a new entry is covered at once."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import reverse

from casefiles.early_warning import warnings_refresh
from casefiles.models import DropoutMonthlyReport, SchoolAgeChild
from casefiles.recovery import recovery_attempt_create, recovery_case_open
from casefiles.referral_services import referral_update_record
from casefiles.reports import REPORT_ROLES, REPORTS, columns_for, report_export, report_prepare
from casefiles.tests.factories import ReferralFactory, SchoolAgeChildFactory, SuspectedDropoutFactory
from guidance.models import Reminder, ReminderLevel
from guidance.tests.factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory
from pairing import services as pairing_services
from pairing.models import HardshipLevel, Student, Town
from pairing.services import student_status_change
from pairing.tests.factories import StudentFactory
from zaoyang_aid.access import Role
from zaoyang_aid.excel import FORMULA_TRIGGERS, HEADER_ROW, CellKind, Total
from zaoyang_aid.fields import broad_access
from zaoyang_aid.masking import mask_id_number

pytestmark = pytest.mark.django_db

# Each role's account in the world.
ROLES = {
    Role.TEACHER: "teacher_a1",
    Role.OFFICER: "officer_a",
    Role.COUNSELLOR: "counsellor_a",
    Role.COUNTY: "county",
    Role.ADMIN: "admin",
}
# Text an office's spreadsheet would run as a formula, planted in names every report carries.
HOSTILE_TOWN = "@SUM(1+1)镇"
HOSTILE_STUDENT = '=HYPERLINK("http://x","点")'
HOSTILE_TEACHER = "+1-2老师"
HOSTILE_CONTENT = "-2+3 谈话"


@pytest.fixture
def filled(world: Any) -> Any:
    """The world with a record of every kind at school_a (and a talk at school_b), hostile names."""
    a1, a2, b1 = (s.pairings.get() for s in (world.student_a1, world.student_a2, world.student_b1))
    Town.objects.filter(pk=world.school_a.town_id).update(name=HOSTILE_TOWN)
    Student.objects.filter(pk=world.student_a2.pk).update(name=HOSTILE_STUDENT)
    world.teacher_a1.full_name = HOSTILE_TEACHER
    world.teacher_a1.save(update_fields=["full_name"])
    TalkRecordFactory(pairing=a1, date=dt.date(2026, 11, 9), content=HOSTILE_CONTENT)
    TalkRecordFactory(pairing=a2, date=dt.date(2026, 11, 2))
    TalkRecordFactory(pairing=b1, date=dt.date(2026, 11, 9))
    HomeVisitFactory(pairing=a1)
    ExcusedWeekFactory(pairing=a2, week_monday=dt.date(2026, 11, 9), excused_by=world.officer_a)
    # A dropout at school_a with a 劝返 case and an attempt (辍学学生台账).
    dropout = StudentFactory(school=world.school_a, name="赵辍学")
    student_status_change(student=dropout.pk, status="dropped_out", on=dt.date(2026, 10, 12), reason="外出", by=None)
    case = recovery_case_open(student=dropout.pk, by=world.officer_a, leave_reason="厌学")
    recovery_attempt_create(
        case=case.pk, by=world.officer_a, date=dt.date(2026, 11, 2), with_whom="parents", method="visit", outcome="家访"
    )
    Reminder.objects.create(
        pairing=a2, kind="missed_talk", period=dt.date(2026, 10, 26), term=world.term, level=ReminderLevel.OFFICER
    )
    warnings_refresh(on=dt.date(2026, 11, 16))  # 预警: the weeks missed so far, at both schools
    # 转介台账: one referral resolved with aid paid, one overdue.
    paid = ReferralFactory(student=world.student_a2, referred_by=world.officer_a)
    referral_update_record(
        by=world.officer_a,
        referral_id=paid.pk,
        on=dt.date(2026, 11, 10),
        status="resolved",
        note="已发放临时救助金。",
        aid_item="临时救助金",
        aid_amount=Decimal("800.00"),
    )
    ReferralFactory(student=world.student_a1, referred_by=world.officer_a, due_on=dt.date(2026, 11, 1))
    # 控辍保学: a town's list with a child matched to school_a's student and one not in our rolls, an
    # entry in the 疑似辍学 ledger, and a 月报 of school_a (its grid has a row per school and month).
    SchoolAgeChildFactory(town=world.school_a.town, id_number=world.student_a1.id_number, name="张小明")
    SchoolAgeChildFactory(town=world.school_a.town)
    SuspectedDropoutFactory(student=world.student_a2)
    DropoutMonthlyReport.objects.create(
        school=world.school_a,
        month=dt.date(2026, 10, 1),
        submitted_on=dt.date(2026, 11, 4),
        submitted_by=world.officer_a,
        enrolled=2,
        suspected_open=0,
        dropouts_open=0,
        returned=0,
    )
    # A 认定 of the term (新增: the world has no term before it), for the 认定变动 reports.
    pairing_services.assessment_save(
        student=world.student_a2,
        term=world.term,
        level=HardshipLevel.objects.get(name="困难", stage=""),
        decided_on=dt.date(2026, 9, 10),
        reason="新认定",
        by=world.officer_a,
    )
    return world


def _workbook(name: str, user: Any) -> tuple[Any, int]:
    buffer = io.BytesIO()
    result = report_export(name=name, user=user, data={}, target=buffer)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer).active, result.rows


def _database_rows(name: str, user: Any, term: Any) -> int:
    """The rows the report's own selector selects, counted by the database (a COUNT for a queryset)."""
    report = REPORTS[name]
    selected = report.selector(report.filter_of(user, {}, term), term)
    return selected.count() if isinstance(selected, QuerySet) else len(list(selected))


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("name", list(REPORTS))
def test_each_report_for_each_role(client, filled, name, role):
    user = getattr(filled, ROLES[role])
    client.force_login(user)
    page = client.get(reverse("casefiles:report_download"), {"report": name})
    if role not in REPORT_ROLES:
        assert page.status_code == 403
        with pytest.raises(ValidationError):
            report_prepare(name=name, user=user, data={})
        return
    assert page.status_code == 200 and page["Content-Type"].startswith("application/vnd.openxmlformats")

    ws, rows_written = _workbook(name, user)
    report, columns = REPORTS[name], columns_for(REPORTS[name], user)
    assert ws["A1"].value == f"{report.label}({filled.term.name})"
    assert [c.value for c in ws[HEADER_ROW]] == [c.label for c in columns]
    sheet = list(ws.iter_rows(min_row=HEADER_ROW + 1))
    has_totals = any(c.total or c.ratio_of for c in columns)
    data, total = (sheet[:-1], sheet[-1]) if has_totals else (sheet, None)
    assert rows_written == len(data) == _database_rows(name, user, filled.term)
    assert data, "the world holds at least one row of every report"

    shown = broad_access(user).groups
    for i, column in enumerate(columns):
        cells = [row[i] for row in data if row[i].value is not None]
        _check_types(column.kind, cells)
        if column.masked_without is not None:
            ids = _ids(column.key)
            expected = ids if column.masked_without in shown else {mask_id_number(v) for v in ids}
            assert {c.value for c in cells} <= expected, column.key
        if total is not None:
            _check_total(
                column, [row[i].value for row in data], total[i].value, {c.key: j for j, c in enumerate(columns)}, data
            )

    texts = [c.value for row in sheet for c in row if isinstance(c.value, str)]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)  # no formula anywhere
    assert not any(t.startswith(FORMULA_TRIGGERS) for t in texts)
    assert any(t.startswith("'") and t[1:] in _hostile() for t in texts)  # planted, and neutralised


def _hostile() -> set[str]:
    return {HOSTILE_TOWN, HOSTILE_STUDENT, HOSTILE_TEACHER, HOSTILE_CONTENT}


def _ids(key: str) -> set[str]:
    field = {"id_number": "id_number", "student_number": "student_number"}[key]
    known = set(Student.objects.values_list(field, flat=True))
    if key == "id_number":  # the 适龄儿童台账 also lists children who are not (yet) our students
        known |= set(SchoolAgeChild.objects.values_list("id_number", flat=True))
    return known


def _check_types(kind: CellKind, cells: list[Any]) -> None:
    for cell in cells:
        if kind in (CellKind.DATE, CellKind.DATETIME):
            assert cell.is_date and isinstance(cell.value, dt.datetime), cell.coordinate
        elif kind == CellKind.PERCENT:
            # a share (openpyxl reads a whole 0 or 1 back as an int)
            assert isinstance(cell.value, int | float) and "%" in cell.number_format, cell.coordinate
        elif kind == CellKind.INTEGER:
            assert isinstance(cell.value, int), cell.coordinate


def _check_total(column: Any, values: list[Any], total: Any, at: dict[str, int], data: list[Any]) -> None:
    present = [v for v in values if v is not None]
    if column.ratio_of is not None:
        num, den = (sum(row[at[k]].value or 0 for row in data) for k in column.ratio_of)
        assert total == pytest.approx(num / den) if den else total is None
    elif column.total == Total.SUM:
        assert total == sum(present)
    elif column.total == Total.COUNT:
        assert total == len(present)
