"""部门联动's migrations keep the referrals made before them: the department codes become rows of
ReferralDepartment, the statuses take their new names, each gets a due date, a closing date when
closed and a reference number; and the migrations go back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from casefiles.models import Referral

from .factories import ReferralFactory

BEFORE = [("casefiles", "0004_department_checks")]


def _migrate(target: list[tuple[str, str]] | None = None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(target or executor.loader.graph.leaf_nodes())


def _as_before(older: int, newer: int) -> str:
    """At 0004: give the rows the old codes a referral could have had; the older one's department."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE casefiles_referral SET department = %s, status = %s WHERE id = %s", ["disabled", "done", newer]
        )
        cursor.execute("UPDATE casefiles_referral SET status = %s WHERE id = %s", ["in_progress", older])
        cursor.execute("SELECT department FROM casefiles_referral WHERE id = %s", [older])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_referrals_made_before_keep_their_department_status_and_get_a_number(world, settings):
    settings.REFERRAL_DUE_DAYS = 30
    older = ReferralFactory(student=world.student_a1, referred_by=world.officer_a, referred_on=dt.date(2026, 9, 1))
    newer = ReferralFactory(student=world.student_a2, referred_by=world.officer_a, referred_on=dt.date(2026, 10, 1))
    _migrate(BEFORE)
    try:
        department_before = _as_before(older.pk, newer.pk)
    finally:
        _migrate()  # the schema the other tests need, whatever happened above
    assert department_before == "civil"  # going back gave the code back
    rows = Referral.objects.select_related("department").in_bulk([older.pk, newer.pk])
    assert (rows[older.pk].department.name, rows[older.pk].status, rows[older.pk].accepted_on) == (
        "民政",
        "accepted",
        dt.date(2026, 9, 1),
    )
    assert (rows[newer.pk].department.name, rows[newer.pk].status, rows[newer.pk].closed_on) == (
        "残联",
        "resolved",
        dt.date(2026, 10, 1),
    )
    assert (rows[older.pk].reference, rows[newer.pk].reference) == ("ZY-2026-转-0001", "ZY-2026-转-0002")
    assert rows[older.pk].due_on == dt.date(2026, 10, 1)
