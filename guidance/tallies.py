"""Keeping PairingTermTally in step with TalkRecord (see the model for why it exists).

Every save or delete of a talk record refreshes its pairing's tally for the term, in the same
transaction, from the talk rows themselves (a handful per pairing and term), so a tally is never
patched incrementally and cannot drift. Writes that bypass signals (bulk_create in seed_demo, a
QuerySet.update) must call tally_rebuild afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from pairing.models import Term
from zaoyang_aid import calendar

from .models import TRACK_FIELDS, PairingTermTally, TalkRecord

_TALLY_COLUMNS = ("pairing_id", "term_id", "date", *TRACK_FIELDS)


def week_bit(term_start: dt.date, day: dt.date) -> int:
    """The bit of ``day``'s week in a tally of a term starting on ``term_start``."""
    return 1 << ((calendar.monday_of(day) - calendar.monday_of(term_start)).days // 7)


def track_bit(index: int) -> int:
    return 1 << index


class _Accumulator:
    __slots__ = ("last", "talks", "tracks", "weeks")

    def __init__(self) -> None:
        self.weeks = self.tracks = self.talks = 0
        self.last: dt.date | None = None

    def add(self, term_start: dt.date, day: dt.date, flags: Iterable[bool]) -> None:
        self.weeks |= week_bit(term_start, day)
        for index, flag in enumerate(flags):
            if flag:
                self.tracks |= track_bit(index)
        self.talks += 1
        self.last = day if self.last is None or day > self.last else self.last


def tally_refresh(*, pairing_id: int, term_id: int) -> None:
    """Recompute one pairing's tally for one term from its talk records."""
    term_start = Term.objects.values_list("start_date", flat=True).get(pk=term_id)
    acc = _Accumulator()
    for row in TalkRecord.objects.filter(pairing_id=pairing_id, term_id=term_id).values_list(*_TALLY_COLUMNS):
        acc.add(term_start, row[2], row[3:])
    if acc.talks == 0:
        PairingTermTally.objects.filter(pairing_id=pairing_id, term_id=term_id).delete()
        return
    PairingTermTally.objects.update_or_create(
        pairing_id=pairing_id,
        term_id=term_id,
        defaults={"week_bits": acc.weeks, "track_bits": acc.tracks, "talks": acc.talks, "last_talk_on": acc.last},
    )


@transaction.atomic
def tally_rebuild(*, terms: Iterable[Term] | None = None, batch_size: int = 5000) -> int:
    """Recompute every tally of ``terms`` (all terms by default) with one pass over the talk rows.

    For bulk loads and repairs; returns the number of tallies written.
    """
    terms = list(terms) if terms is not None else list(Term.objects.all())
    written = 0
    for term in terms:
        accumulators: dict[int, _Accumulator] = {}
        rows = TalkRecord.objects.filter(term=term).order_by().values_list(*_TALLY_COLUMNS)
        for row in rows.iterator(chunk_size=10_000):
            accumulators.setdefault(row[0], _Accumulator()).add(term.start_date, row[2], row[3:])
        PairingTermTally.objects.filter(term=term).delete()
        PairingTermTally.objects.bulk_create(
            (
                PairingTermTally(
                    pairing_id=pairing_id,
                    term=term,
                    week_bits=acc.weeks,
                    track_bits=acc.tracks,
                    talks=acc.talks,
                    last_talk_on=acc.last,
                )
                for pairing_id, acc in accumulators.items()
            ),
            batch_size=batch_size,
        )
        written += len(accumulators)
    return written


@receiver(post_save, sender=TalkRecord, dispatch_uid="tally-on-talk-save")
def _talk_saved(sender: Any, instance: TalkRecord, raw: bool = False, **_: Any) -> None:
    if raw:
        return
    tally_refresh(pairing_id=instance.pairing_id, term_id=instance.term_id)
    # A date moved to another term leaves the old term's tally to refresh too.
    previous = instance.__dict__.get("_loaded_term_id")
    if previous is not None and previous != instance.term_id:
        tally_refresh(pairing_id=instance.pairing_id, term_id=previous)
    instance._loaded_term_id = instance.term_id


@receiver(post_delete, sender=TalkRecord, dispatch_uid="tally-on-talk-delete")
def _talk_deleted(sender: Any, instance: TalkRecord, **_: Any) -> None:
    tally_refresh(pairing_id=instance.pairing_id, term_id=instance.term_id)
