"""The 控辍保学 demo (casefiles/dropout_demo.py): the demo town's 适龄儿童 list with matched, unmatched
and verified children; a 疑似辍学 entry in each status, one proposed by demo_teacher's 缺勤登记; the demo
school's 月报 on time, late and missing; one 季度复核; all gone with --flush."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from casefiles.dropout_selectors import children_for_list, dropout_schools, monthly_grid
from casefiles.models import DropoutRecheck, SchoolAgeChild, SuspectedDropout, SuspectedStatus
from pairing.models import EnrollmentStatus
from zaoyang_aid.models import User

# A Wednesday after the 5th: last month's report is overdue.
WEDNESDAY = dt.datetime(2026, 11, 18, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[None]:
    with (
        django_db_blocker.unblock(),
        override_settings(DEBUG=True, MEDIA_ROOT=tmp_path_factory.mktemp("dropout-demo-media")),
        time_machine.travel(WEDNESDAY, tick=False),
        transaction.atomic(),
    ):
        try:
            call_command("seed_demo", "--seed", "7", stdout=io.StringIO())
            yield
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_once, db, time_machine) -> None:
    time_machine.move_to(WEDNESDAY, tick=False)


def test_the_demo_has_a_suspected_dropout_in_each_status(seeded):
    statuses = set(SuspectedDropout.objects.values_list("status", flat=True))
    assert statuses == set(SuspectedStatus.values)
    proposed = SuspectedDropout.objects.get(status=SuspectedStatus.PROPOSED)
    assert proposed.absence_note is not None and proposed.absence_note.teacher.user.username == "demo_teacher"
    assert {True, False} <= set(SuspectedDropout.objects.values_list("entered_in_week", flat=True))
    dropped = SuspectedDropout.objects.get(status=SuspectedStatus.DROPPED_OUT)
    assert dropped.student.enrollment_status == EnrollmentStatus.DROPPED_OUT


def test_the_demo_town_list_has_matched_unmatched_and_verified_children(seeded):
    county = User.objects.get(username="demo_county")
    labels = [c.student_status for c in children_for_list(county, {}).qs]
    assert "enrolled" in labels and None in labels
    verified = SchoolAgeChild.objects.exclude(verification="pending")
    assert verified.count() == 2 and all(c.verified_on for c in verified)


def test_the_demo_schools_monthly_reports_are_on_time_late_and_missing(seeded):
    officer = User.objects.get(username="demo_officer")
    grid = monthly_grid(dropout_schools(officer, {}))
    (row,) = grid.rows
    # September late, October missing (overdue since November 5th), November not due yet.
    assert [c.label for c in row.cells[-3:]] == ["逾期补报", "逾期未报", "未到期"]
    assert {c.label for c in row.cells[:-3]} <= {"已报", "无需报送"}
    assert DropoutRecheck.objects.filter(school=row.school, status="needs_fix").exists()
