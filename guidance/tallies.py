"""Keeping PairingTermTally in step with TalkRecord (see the model for why it exists).

The services that write talk records (guidance.services: create, update, delete) call
``tally_refresh`` in their own transaction, which recounts the pairing's tally for the term from the
talk rows themselves (a handful per pairing and term): a tally is never patched incrementally. No
signal receiver keeps it: a ``QuerySet.update``, a ``bulk_create`` or an import would skip one.
Bulk loads call ``tally_rebuild``; ``tally_verify`` recounts every tally and repairs differences
(nightly, and ``manage.py verify_tallies [--repair]`` by hand).

Concurrency: a refresh runs while its caller holds the pairing's row lock
(``Pairing.objects.select_for_update``), so two writers to one pairing's talks recount one after the
other and the second sees the first's row; the tally's unique (term, pairing) constraint is the last
word against two inserts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from pairing import figures
from pairing.models import Term
from zaoyang_aid import calendar

from .compliance import TALLY_READS
from .models import TRACK_FIELDS, PairingTermTally, TalkRecord

logger = logging.getLogger(__name__)

_TALLY_COLUMNS = ("pairing_id", "term_id", "date", *TRACK_FIELDS)
MAX_WEEKS = 62  # week_bits is a signed 64-bit column; a term is at most 200 days (29 weeks)


def week_bit(base: dt.date, day: dt.date) -> int:
    """The bit of ``day``'s week in a tally whose bit 0 is the week of ``base``."""
    return 1 << ((calendar.monday_of(day) - calendar.monday_of(base)).days // 7)


@dataclass
class Counted:
    """A tally as recounted from the talk rows."""

    week_base: dt.date
    week_bits: int = 0
    track_bits: int = 0
    talks: int = 0
    last_talk_on: dt.date | None = None

    def as_fields(self) -> dict[str, object]:
        return {
            "week_base": self.week_base,
            "week_bits": self.week_bits,
            "track_bits": self.track_bits,
            "talks": self.talks,
            "last_talk_on": self.last_talk_on,
        }


def _count(term_start: dt.date, rows: Iterable[tuple]) -> dict[int, Counted]:
    """Per pairing, its tally from (pairing_id, term_id, date, *tracks) rows of one term."""
    rows = list(rows)
    by_pairing: dict[int, list[tuple]] = {}
    for row in rows:
        by_pairing.setdefault(row[0], []).append(row)
    result: dict[int, Counted] = {}
    for pairing_id, talks in by_pairing.items():
        # Bit 0 is the term's first week, or an earlier talk's week (never a negative shift).
        base = calendar.monday_of(min(term_start, *(t[2] for t in talks)))
        counted = Counted(week_base=base)
        for _, _, day, *flags in talks:
            offset = (calendar.monday_of(day) - base).days // 7
            if offset > MAX_WEEKS:
                logger.error("talk of pairing %s on %s lies %s weeks after its term began", pairing_id, day, offset)
                continue
            counted.week_bits |= 1 << offset
            for index, flag in enumerate(flags):
                if flag:
                    counted.track_bits |= 1 << index
            counted.talks += 1
            if counted.last_talk_on is None or day > counted.last_talk_on:
                counted.last_talk_on = day
        result[pairing_id] = counted
    return result


def tally_refresh(*, pairing_id: int, term_id: int, term_start: dt.date | None = None) -> bool:
    """Recount one pairing's tally for one term from its talk records (callers hold the pairing's lock).
    ``term_start``: the term's first day when the caller has the term in hand (read here otherwise).

    Returns whether what the compliance engine reads of the tally changed (TALLY_READS), or may read
    otherwise: the dashboards' figures of the pairing's schools are then out of date
    (pairing.figures), and only then. A second talk in a week already counted, or a record's text
    corrected, changes the record count alone: no figure. A last talk dated after today (an import)
    makes today's engine count that pairing from the talk rows, not the tally: always a change."""
    if term_start is None:
        term_start = Term.objects.values_list("start_date", flat=True).get(pk=term_id)
    rows = TalkRecord.objects.filter(pairing_id=pairing_id, term_id=term_id).values_list(*_TALLY_COLUMNS)
    counted = _count(term_start, rows).get(pairing_id)
    tallies = PairingTermTally.objects.filter(pairing_id=pairing_id, term_id=term_id)
    if counted is None:
        deleted, _ = tallies.delete()
        return bool(deleted)
    # One UPDATE when what the engine reads changed (the common case: a week's first talk), a second
    # for the record count alone when it did not, an INSERT only for the pairing's first talk of the
    # term (update_or_create spent a savepoint, a locking SELECT and its release on every talk
    # saved); the caller's pairing lock keeps two writers apart, the unique constraint has the last word.
    fields = counted.as_fields()
    if tallies.exclude(**{name: fields[name] for name in TALLY_READS}).update(**fields):
        return True
    if tallies.update(talks=counted.talks):
        return counted.last_talk_on is not None and counted.last_talk_on > timezone.localdate()
    PairingTermTally.objects.create(pairing_id=pairing_id, term_id=term_id, **fields)
    return True


def _recount(term: Term) -> dict[int, Counted]:
    rows = TalkRecord.objects.filter(term=term).order_by().values_list(*_TALLY_COLUMNS)
    return _count(term.start_date, rows.iterator(chunk_size=10_000))


@transaction.atomic
def tally_rebuild(*, terms: Iterable[Term] | None = None, batch_size: int = 5000) -> int:
    """Recompute every tally of ``terms`` (all terms by default) with one pass over the talk rows.

    For bulk loads (the demo) and a term whose dates changed; returns the number of tallies written.
    """
    written = 0
    for term in list(terms) if terms is not None else list(Term.objects.all()):
        counted = _recount(term)
        PairingTermTally.objects.filter(term=term).delete()
        PairingTermTally.objects.bulk_create(
            (PairingTermTally(pairing_id=pk, term=term, **c.as_fields()) for pk, c in counted.items()),
            batch_size=batch_size,
        )
        written += len(counted)
    figures.touch_county()  # every school's figures read these tallies
    return written


@dataclass
class VerifyReport:
    checked: int = 0  # tallies that should exist
    wrong: int = 0  # existing tallies that differ from the recount
    missing: int = 0  # pairings with talks but no tally
    stale: int = 0  # tallies of pairings with no talk left
    repaired: bool = False

    @property
    def differences(self) -> int:
        return self.wrong + self.missing + self.stale


def _equivalent(stored: PairingTermTally, counted: Counted) -> bool:
    """Same weeks (whatever their bases), tracks, count and last talk."""
    shift = (stored.week_base - counted.week_base).days // 7
    bits = stored.week_bits << shift if shift >= 0 else stored.week_bits >> -shift
    return (bits, stored.track_bits, stored.talks, stored.last_talk_on) == (
        counted.week_bits,
        counted.track_bits,
        counted.talks,
        counted.last_talk_on,
    )


def tally_verify(*, repair: bool = False, terms: Iterable[Term] | None = None) -> VerifyReport:
    """Recount every tally from the talk rows and compare; with ``repair``, fix each difference.

    The nightly job's safety net (zero differences expected: the services keep the tallies). Each
    term is checked and repaired in its own transaction, so it is safe to run again after a crash.
    """
    report = VerifyReport(repaired=repair)
    for term in list(terms) if terms is not None else list(Term.objects.all()):
        with transaction.atomic():
            counted = _recount(term)
            stored = {t.pairing_id: t for t in PairingTermTally.objects.filter(term=term)}
            report.checked += len(counted)
            fix: dict[int, Counted] = {}
            for pairing_id, c in counted.items():
                tally = stored.pop(pairing_id, None)
                if tally is None:
                    report.missing += 1
                    fix[pairing_id] = c
                elif not _equivalent(tally, c):
                    report.wrong += 1
                    fix[pairing_id] = c
            report.stale += len(stored)
            if repair:
                PairingTermTally.objects.filter(term=term, pairing_id__in=[*fix, *stored]).delete()
                PairingTermTally.objects.bulk_create(
                    [PairingTermTally(pairing_id=pk, term=term, **c.as_fields()) for pk, c in fix.items()],
                    batch_size=5000,
                )
                if fix or stored:
                    figures.touch_pairings([*fix, *stored])
    if report.differences:
        logger.warning(
            "tally_verify: %s differences (%s wrong, %s missing, %s stale)%s",
            report.differences,
            report.wrong,
            report.missing,
            report.stale,
            ", repaired" if repair else "",
        )
    return report
