"""PairingTermTally stays in step with the talk records, and the engine answers the same from the
tallies (live pages) as from the talk rows themselves (a past as_of)."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from guidance import compliance, services
from guidance.models import PairingTermTally, TalkRecord
from guidance.tallies import tally_rebuild, tally_refresh, week_bit
from pairing.models import Pairing
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db
D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")


def tally_of(pairing, term):
    return PairingTermTally.objects.get(pairing=pairing, term=term)


def test_saving_a_talk_sets_its_weeks_bit_and_tracks(world):
    pairing = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pairing, date=D(2026, 11, 11), track_study=True, track_psych=True)
    tally = tally_of(pairing, world.term)
    assert tally.week_bits == week_bit(world.term.start_date, D(2026, 11, 11)) == 1 << 10
    assert tally.track_bits == 0b01010  # 心理疏导 (1) and 学业辅导 (3)
    assert (tally.talks, tally.last_talk_on) == (1, D(2026, 11, 11))


def talk_values(**changes):
    return {
        "duration_minutes": 30,
        "content": "交流学习情况。",
        "student_state": "情绪稳定。",
        "tracks": ["track_study"],
        "help_forms": ["form_talk"],
        **changes,
    }


def test_a_refresh_says_whether_what_the_engine_reads_changed(world):
    """tally_refresh's answer decides whether the dashboards' figures are touched (guidance.services)."""
    pairing = world.student_a1.pairings.get()
    term = world.term

    def refresh() -> bool:
        return tally_refresh(pairing_id=pairing.pk, term_id=term.pk)

    def row(day: dt.date) -> TalkRecord:
        """A talk row written past the services (its tally left for refresh() to recount)."""
        record = TalkRecordFactory.build(pairing=pairing, date=day)
        record.save()
        return record

    assert refresh() is False  # no talk, no tally: nothing changed
    first = row(D(2026, 11, 10))
    assert refresh() is True  # the tally is created
    assert refresh() is False  # recounted again: the same
    same_week = row(D(2026, 11, 10))
    assert refresh() is False  # one more record, the same weeks, tracks and last talk
    assert tally_of(pairing, term).talks == 2  # but the count is kept
    later_day = row(D(2026, 11, 12))
    assert refresh() is True  # the last talk moved
    later_day.track_policy = True
    later_day.save()
    assert refresh() is True  # a track new to the term
    TalkRecord.objects.filter(pk=same_week.pk).delete()
    assert refresh() is False
    TalkRecord.objects.exclude(pk=first.pk).delete()
    assert refresh() is True  # back to one talk on the 10th, of 学业辅导 alone
    imported = row(D(2026, 11, 20))
    assert refresh() is True
    row(D(2026, 11, 16))
    # The same weeks, tracks and last talk, but that last talk is after today (2026-11-16): today's
    # engine counts this pairing from the rows, where this week now has a talk.
    assert refresh() is True
    imported.delete()
    TalkRecord.objects.filter(pairing=pairing).delete()
    assert refresh() is True  # the tally removed
    assert not PairingTermTally.objects.exists()


def test_moving_a_talks_date_moves_its_bit_and_deleting_the_last_talk_removes_the_tally(world):
    pairing = world.student_a1.pairings.get()
    talk = services.talk_record_create(
        pairing=pairing, recorded_by=world.teacher_a1, **talk_values(date=D(2026, 11, 16))
    )
    assert tally_of(pairing, world.term).week_bits == 1 << 11
    services.talk_record_update(record=talk, by=world.teacher_a1, date=D(2026, 11, 10))
    assert tally_of(pairing, world.term).week_bits == 1 << 10
    services.talk_record_delete(record=talk, by=world.admin)
    assert not PairingTermTally.objects.exists()


def test_a_talk_moved_into_another_term_refreshes_both_terms(world, time_machine):
    spring = pf.TermFactory(school_year__start_year=2025, number=2, start_date=D(2026, 3, 2), end_date=D(2026, 7, 10))
    time_machine.move_to(dt.datetime(2026, 9, 1, 9, 0, tzinfo=SHANGHAI), tick=False)
    pairing = world.student_a1.pairings.get()
    pairing.started_on = D(2026, 3, 2)
    pairing.save()
    talk = services.talk_record_create(pairing=pairing, recorded_by=world.teacher_a1, **talk_values(date=D(2026, 9, 1)))
    # The first day of the autumn term: the previous school week is the spring term's last.
    services.talk_record_update(record=talk, by=world.teacher_a1, date=D(2026, 7, 8))
    assert not PairingTermTally.objects.filter(term=world.term).exists()
    assert tally_of(pairing, spring).talks == 1


def test_rebuild_gives_what_the_signals_gave(world):
    pairing = world.student_a1.pairings.get()
    for day in (D(2026, 9, 2), D(2026, 9, 3), D(2026, 10, 12), D(2026, 11, 16)):
        TalkRecordFactory(pairing=pairing, date=day, track_life=True)
    before = list(
        PairingTermTally.objects.values_list("pairing", "term", "week_bits", "track_bits", "talks", "last_talk_on")
    )
    PairingTermTally.objects.all().delete()
    assert tally_rebuild() == 1
    after = list(
        PairingTermTally.objects.values_list("pairing", "term", "week_bits", "track_bits", "talks", "last_talk_on")
    )
    assert before == after


def test_the_engine_answers_the_same_from_tallies_as_from_the_talk_rows(world):
    rng = random.Random(7)
    pairings = [world.student_a1.pairings.get(), world.student_a2.pairings.get(), world.student_b1.pairings.get()]
    pairings += [pf.PairingFactory(teacher__school=world.school_a, started_on=D(2026, 10, 14)) for _ in range(5)]
    weeks = world.term.school_weeks()
    for pairing in pairings:
        for week in weeks[:12]:
            if rng.random() < 0.7:
                day = rng.choice(week.school_days)
                if day >= pairing.started_on and day <= D(2026, 11, 16):
                    flags = {
                        f: rng.random() < 0.4 for f in ("track_thought", "track_psych", "track_life", "track_policy")
                    }
                    TalkRecordFactory(pairing=pairing, date=day, **flags)
        if rng.random() < 0.5:
            ExcusedWeekFactory(pairing=pairing, week_monday=rng.choice(weeks[5:11]).monday, excused_by=world.officer_a)
    ids = Pairing.objects.filter(pk__in=[p.pk for p in pairings]).values("pk")
    first_monday = D(2026, 8, 31)
    from_tallies, later = compliance._talks_from_tallies(ids, world.term, D(2026, 11, 16), first_monday)
    from_rows = compliance._talks_from_rows(ids, world.term, D(2026, 11, 16), first_monday)
    assert later == []
    assert from_tallies == from_rows
