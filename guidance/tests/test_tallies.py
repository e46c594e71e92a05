"""PairingTermTally stays in step with the talk records, and the engine answers the same from the
tallies (live pages) as from the talk rows themselves (a past as_of)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from guidance import compliance
from guidance.models import PairingTermTally, TalkRecord
from guidance.tallies import tally_rebuild, week_bit
from pairing.models import Pairing
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db
D = dt.date


def tally_of(pairing, term):
    return PairingTermTally.objects.get(pairing=pairing, term=term)


def test_saving_a_talk_sets_its_weeks_bit_and_tracks(world):
    pairing = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pairing, date=D(2026, 11, 11), track_study=True, track_psych=True)
    tally = tally_of(pairing, world.term)
    assert tally.week_bits == week_bit(world.term.start_date, D(2026, 11, 11)) == 1 << 10
    assert tally.track_bits == 0b01010  # 心理疏导 (1) and 学业辅导 (3)
    assert (tally.talks, tally.last_talk_on) == (1, D(2026, 11, 11))


def test_moving_a_talks_date_moves_its_bit_and_deleting_the_last_talk_removes_the_tally(world):
    pairing = world.student_a1.pairings.get()
    talk = TalkRecordFactory(pairing=pairing, date=D(2026, 11, 11))
    talk = TalkRecord.objects.get(pk=talk.pk)
    talk.date = D(2026, 11, 3)
    talk.save()
    assert tally_of(pairing, world.term).week_bits == 1 << 9
    talk.delete()
    assert not PairingTermTally.objects.exists()


def test_a_talk_moved_into_another_term_refreshes_both_terms(world):
    spring = pf.TermFactory(school_year__start_year=2025, number=2, start_date=D(2026, 3, 2), end_date=D(2026, 7, 10))
    pairing = world.student_a1.pairings.get()
    pairing.started_on = D(2026, 3, 2)
    pairing.save()
    talk = TalkRecordFactory(pairing=pairing, date=D(2026, 9, 8))
    talk = TalkRecord.objects.get(pk=talk.pk)
    talk.date, talk.term = D(2026, 6, 9), spring
    talk.save()
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
    this_monday = D(2026, 11, 16)
    excused = compliance._excused_weeks(ids, world.term, this_monday)
    from_tallies, late = compliance._talks_from_tallies(ids, world.term, this_monday, this_monday, excused)
    from_rows = compliance._talk_aggregates(ids, world.term, this_monday, this_monday)
    assert late == []
    expected = {
        pk: {
            **{k: v for k, v in row.items() if k != "pairing"},
            **{t.field: int(row[t.field]) for t in compliance.TRACKS},
        }
        for pk, row in from_rows.items()
    }
    assert from_tallies == expected
