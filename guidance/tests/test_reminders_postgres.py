"""Two workers sweeping the same morning at once, on PostgreSQL: each reminder and each notification
is written once (the unique keys hold across concurrent transactions), and each run reports only the
rows it wrote."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections

from guidance.models import Notification, Reminder, SweepRun
from guidance.reminders import sweep
from pairing.tests import factories as pf

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("one_week_sweeps")]


def test_two_concurrent_sweeps_write_each_reminder_once():
    term = pf.TermFactory()
    school = pf.SchoolFactory()
    pf.OfficerFactory(school=school)
    for _ in range(30):
        pf.PairingFactory(teacher__school=school, started_on=term.start_date)
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    results = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            results.append(sweep(on=dt.date(2026, 11, 16)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Reminder.objects.count() == 30
    # Eleven weeks missed: each teacher, the school's officer and (no county user here) are told once.
    assert Notification.objects.filter(level=1).count() == 30
    assert Notification.objects.filter(level=2).count() == 30
    # The week was claimed by one of them; the other waited, then skipped it: the counts are exact.
    assert sorted(r.reminders_created for r in results) == [0, 30]
    assert sum(r.notifications_created for r in results) == Notification.objects.count()
    assert SweepRun.objects.get(week_monday=dt.date(2026, 11, 16)).reminders_created == 30
