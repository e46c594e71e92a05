"""The talk services' concurrency contract, on PostgreSQL: two teachers' sessions writing talks of one
pairing at the same moment both land in its tally, because each write locks the pairing's row
before it recounts (guidance/services.py, guidance/tallies.py)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections

from guidance import services
from guidance.models import PairingTermTally
from guidance.tallies import tally_verify
from pairing.tests import factories as pf

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_talk_writes_of_one_pairing_both_count(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    term = pf.TermFactory()
    pairing = pf.PairingFactory(started_on=term.start_date)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(day: dt.date) -> None:
        try:
            start.wait(timeout=10)
            services.talk_record_create(
                pairing=pairing.pk,
                recorded_by=pairing.teacher.user,
                date=day,
                duration_minutes=30,
                content="谈话",
                student_state="稳定",
                tracks=["track_study"],
                help_forms=["form_talk"],
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(day,)) for day in (dt.date(2026, 11, 11), dt.date(2026, 11, 16))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    tally = PairingTermTally.objects.get(pairing=pairing)
    assert tally.talks == 2
    assert tally.week_bits == (1 << 10) | (1 << 11)
    assert tally_verify().differences == 0
