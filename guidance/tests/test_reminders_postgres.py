"""Two workers sweeping the same morning at once, on PostgreSQL: each reminder and each notification
is written once (the unique keys hold across concurrent transactions)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections

from guidance.models import Notification, Reminder
from guidance.reminders import sweep
from pairing.tests import factories as pf

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_sweeps_write_each_reminder_once():
    term = pf.TermFactory()
    school = pf.SchoolFactory()
    pf.OfficerFactory(school=school)
    for _ in range(30):
        pf.PairingFactory(teacher__school=school, started_on=term.start_date)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            sweep(on=dt.date(2026, 11, 16))
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
