"""The county's term calendar as one cached snapshot: every term and every closure, read from the
database once per change instead of on every request.

A teacher's three requests of a week's talk (我的帮扶学生, the form, the POST) asked the database
which term today is in, and for the school's closures, ten times between them (issue 12): each answer
is a few rows, but each question cost a query's round trip and the ORM's compiling. The terms and
closures of a county are a few dozen rows that change when an admin edits the calendar; so they are
read whole, kept in the cache under the county's figure token (pairing.figures), which every such
write changes (``Term``, ``SchoolYear`` and ``Closure`` touch it in ``save`` and ``delete``, and
``term_dates_change`` does), and each process keeps the last snapshot it read with the school weeks
it computed from it. A request then asks the cache for the token (one round trip) and answers from
memory.

The lookups here give the same answers as the querysets they stand for (``TermQuerySet.containing``
and ``latest_started``, ``Closure.objects.overlapping``); ``pairing/tests/test_calendars.py`` compares
them. The Term instances are shared between requests: read them, never change or save them.

A raw ``UPDATE`` of a term's dates (no ``save``) is not seen until the token changes; the engine is
not misled by one, because it takes the term it counts as an argument and computes the weeks from
that term's own dates.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from django.core.cache import cache

from zaoyang_aid import calendar

from . import figures
from .models import Closure, Term

logger = logging.getLogger(__name__)

FORMAT = 1  # in the key: a release that changes what is stored reads nothing older
TTL = 24 * 60 * 60  # seconds; the token, not the expiry, is what keeps it true


@dataclass
class Snapshot:
    token: str
    terms: tuple[Term, ...]  # newest start first (Term's ordering), with their school year
    closures: tuple[Closure, ...]  # every closure: county-wide (no school) and each school's
    _weeks: dict[tuple[dt.date, dt.date, int | None], list[calendar.SchoolWeek]] = field(default_factory=dict)

    def latest_started(self, day: dt.date) -> Term | None:
        """Term.objects.latest_started(day): the term in progress, else the last one that ended."""
        return next((t for t in self.terms if t.start_date <= day), None)

    def containing(self, day: dt.date) -> Term | None:
        """Term.objects.containing(day).first()."""
        return next((t for t in self.terms if t.start_date <= day <= t.end_date), None)

    def overlapping(self, start: dt.date, end: dt.date) -> Term | None:
        """The newest term with a day in [start, end]."""
        return next((t for t in self.terms if t.start_date <= end and t.end_date >= start), None)

    def started_by(self, day: dt.date, count: int) -> list[Term]:
        """The ``count`` latest terms that started on or before ``day``, newest first."""
        return [t for t in self.terms if t.start_date <= day][:count]

    def closures_touching(
        self, start: dt.date, end: dt.date, school_id: int | None = None, *, schools: AbstractSet[int] = frozenset()
    ) -> list[Closure]:
        """Closure.objects.overlapping(start, end, school_id): the county's, and the school's own
        (and those of ``schools``)."""
        return [
            c
            for c in self.closures
            if (c.school_id is None or c.school_id == school_id or c.school_id in schools)
            and c.start_date <= end
            and c.end_date >= start
        ]

    def schools_with_closures(self, start: dt.date, end: dt.date, school_ids: AbstractSet[int]) -> set[int]:
        """Which of these schools have closures of their own touching [start, end] (the others share
        the county's school weeks)."""
        return {c.school_id for c in self.closures_touching(start, end, None, schools=school_ids) if c.school_id}

    def school_weeks(self, term: Term, school_id: int | None = None) -> list[calendar.SchoolWeek]:
        """Term.school_weeks(school_id), computed once per process and snapshot. ``term``'s own dates
        are used (a term read elsewhere, even one whose dates were moved behind the token's back)."""
        key = (term.start_date, term.end_date, school_id)
        weeks = self._weeks.get(key)
        if weeks is None:
            ranges = [c.date_range for c in self.closures_touching(term.start_date, term.end_date, school_id)]
            weeks = self._weeks[key] = calendar.school_weeks(term.date_range, ranges)
        return list(weeks)


_local = threading.local()  # the snapshot this process (thread) read last


def snapshot() -> Snapshot:
    """The calendar as of the county's current token: from this process's memory when the token has
    not changed, else from the cache, else from the database (two queries), stored for the others.
    A cache that fails is skipped: the database answers."""
    try:
        token = figures.county_token()
    except Exception:
        logger.exception("the calendar's token could not be read: reading the calendar from the database")
        return _read("")
    if not token:  # a cache that keeps nothing (DummyCache): no token to tell a change by
        return _read("")
    held: Snapshot | None = getattr(_local, "snapshot", None)
    if held is not None and held.token == token:
        return held
    key = f"calendar:{FORMAT}:{token}"
    try:
        stored = cache.get(key)
    except Exception:
        logger.exception("the calendar could not be read from the cache")
        stored = None
    if stored is not None:
        terms, closures = stored
        held = Snapshot(token, terms, closures)
    else:
        held = _read(token)
        try:
            cache.set(key, (held.terms, held.closures), timeout=TTL)
        except Exception:
            logger.exception("the calendar could not be stored in the cache")
    _local.snapshot = held
    return held


def forget() -> None:
    """Drop this process's snapshot and the school weeks computed from it. The weeks also depend on
    the national calendar (chinese_calendar's holidays), which changes only with a new release of the
    package, that is with a restart; a test that stands in new holiday data calls this."""
    _local.snapshot = None


def _read(token: str) -> Snapshot:
    terms = tuple(Term.objects.select_related("school_year").order_by("-start_date", "-pk"))
    closures = tuple(Closure.objects.order_by("-start_date", "pk"))
    return Snapshot(token, terms, closures)
