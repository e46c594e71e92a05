"""The dashboards' compliance figures per school, cached under pairing.figures' versions.

The engine (compliance.compliance_for) recounting every pairing of the county on each request cost the
county dashboard about 330 ms and starved the teachers' pages under load (issue 12). Its answer only
changes when something it reads is written, and every such write changes its school's version token
(pairing.figures). So each school's figures are kept in the cache under a key holding the term, the
day, the county's token and the school's: a read takes what is there and recounts only the schools
whose key is missing, in one engine run, and the answer is the engine's, never patched by hand.

Two shapes, as the pages group pairings (PairingQuerySet.scope_filter):
- ``school_rows``: the engine's rows of the active pairings whose STUDENT is at the school (the
  officer's dashboard shows exactly these);
- ``school_summaries``: per school, the totals and week counts of the active pairings whose TEACHER is
  at it (the county dashboard's and town pages' lines, and the trend).

The figures also expire after FIGURES_TTL, which bounds what a write could leave stale if the cache was
unreachable when it changed the token. A cache that fails on read is skipped: the page recounts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sys
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass, field
from itertools import zip_longest
from operator import attrgetter
from typing import Any

from django.core.cache import cache

from pairing import figures as versions_of
from pairing.models import Pairing, Term
from zaoyang_aid import calendar

from .compliance import PairingCompliance, Totals, compliance_for

logger = logging.getLogger(__name__)

FIGURES_TTL = 15 * 60  # seconds
FORMAT = 1  # in every key: a release that changes what is stored changes it, and reads nothing older

_WEEK_BITS = ("owed_bits", "excused_bits", "talk_bits")


@dataclass
class WeekCounts:
    """A group's term week by week up to as_of's week: per calendar week i (bit i of the engine's
    masks), how many pairing-weeks were owed (excused ones left out) and how many had a talk."""

    owed_any: int = 0  # bit i set when some pairing of the group owed week i
    owed: list[int] = field(default_factory=list)
    done: list[int] = field(default_factory=list)

    def add(self, other: WeekCounts) -> None:
        """Add ``other``'s counts (new lists: ``other``'s, maybe a cached school's, are never shared)."""
        self.owed_any |= other.owed_any
        self.owed = [a + b for a, b in zip_longest(self.owed, other.owed, fillvalue=0)]
        self.done = [a + b for a, b in zip_longest(self.done, other.done, fillvalue=0)]


def weeks_so_far(term: Term, as_of: dt.date) -> tuple[int, int]:
    """(the index of as_of's week from the term's first Monday, the mask of the weeks up to it)."""
    this_index = (calendar.monday_of(as_of) - calendar.monday_of(term.start_date)).days // 7
    return this_index, (1 << (this_index + 1)) - 1 if this_index >= 0 else 0


def week_counts(rows: Iterable[PairingCompliance], *, so_far: int) -> WeekCounts:
    """The rows' week counts: no query, and no Python loop per pairing and week (_bit_counts)."""
    owed_masks: list[int] = []
    done_masks: list[int] = []
    for owed_bits, excused_bits, talk_bits in map(attrgetter(*_WEEK_BITS), rows):
        owed = owed_bits & ~excused_bits & so_far
        owed_masks.append(owed)
        done_masks.append(owed & talk_bits)
    owed_any = 0
    for mask in set(owed_masks):
        owed_any |= mask
    width = owed_any.bit_length()
    return WeekCounts(owed_any, _bit_counts(owed_masks, width), _bit_counts(done_masks, width))


def _bit_counts(masks: list[int], width: int) -> list[int]:
    """For each bit i < width, how many masks have it set. The masks are laid side by side in one
    big integer, 64 bits apart, so each bit is a shift, an AND and a popcount over all of them at
    once (done in C); a term has far fewer than 64 calendar weeks."""
    if not masks or width == 0:
        return [0] * width
    if width > 64:  # not a term: counted plainly rather than refused
        return [sum(mask >> i & 1 for mask in masks) for i in range(width)]
    packed = int.from_bytes(array("Q", masks).tobytes(), sys.byteorder)
    ones = int.from_bytes(array("Q", [1]).tobytes() * len(masks), sys.byteorder)
    return [(packed >> i & ones).bit_count() for i in range(width)]


@dataclass
class SchoolSummary:
    """One school's line on the county's pages: its teachers' active pairings, summed."""

    school_id: int
    town_id: int
    totals: Totals
    weeks: WeekCounts


def summarize(rows: Iterable[PairingCompliance], *, term: Term, as_of: dt.date) -> dict[int, SchoolSummary]:
    """The engine's rows summed per school (the teacher's, as the rows carry it)."""
    by_school: dict[int, list[PairingCompliance]] = defaultdict(list)
    for row in rows:
        by_school[row.school_id].append(row)
    _, so_far = weeks_so_far(term, as_of)
    summaries = {}
    for school_id, school_rows in by_school.items():
        totals = Totals()
        for row in school_rows:
            totals.add(row)
        summaries[school_id] = SchoolSummary(
            school_id, school_rows[0].town_id, totals, week_counts(school_rows, so_far=so_far)
        )
    return summaries


# A summary travels to and from the cache as plain ints and tuples, which unpickle several times
# faster than the dataclasses (300 schools on every county page).
_Packed = tuple[int, tuple[int, ...], int, tuple[int, ...], tuple[int, ...]]


def _pack(summary: SchoolSummary) -> _Packed:
    weeks = summary.weeks
    return summary.town_id, astuple(summary.totals), weeks.owed_any, tuple(weeks.owed), tuple(weeks.done)


def _unpack(school_id: int, packed: _Packed) -> SchoolSummary:
    town_id, totals, owed_any, owed, done = packed
    return SchoolSummary(school_id, town_id, Totals(*totals), WeekCounts(owed_any, list(owed), list(done)))


def _key(shape: str, school_id: int, *, term: Term, as_of: dt.date, county: str, school: str) -> str:
    return f"figures:{FORMAT}:{shape}:{school_id}:{term.pk}:{as_of.isoformat()}:{county}:{school}"


def school_rows(school_id: int, *, term: Term, as_of: dt.date) -> dict[int, PairingCompliance]:
    """The engine's rows of the active pairings whose student is at the school, by pairing id."""
    try:
        county, tokens = versions_of.versions([school_id])
        key = _key("rows", school_id, term=term, as_of=as_of, county=county, school=tokens[school_id])
        rows = cache.get(key)
    except Exception:
        logger.exception("figures: the cache did not answer; recounting school %s", school_id)
        key, rows = "", None
    if rows is None:
        rows = compliance_for(Pairing.objects.active().filter(student__school_id=school_id), term=term, as_of=as_of)
        _store({key: rows} if key else {})
    return rows


def school_summaries(school_ids: list[int], *, term: Term, as_of: dt.date) -> dict[int, SchoolSummary]:
    """Each school's summary (a school with no active pairing has none). The engine runs once, over the
    schools whose figures are not in the cache."""
    try:
        county, tokens = versions_of.versions(school_ids)
        keys = {pk: _key("summary", pk, term=term, as_of=as_of, county=county, school=tokens[pk]) for pk in school_ids}
        found = _held_summaries(list(keys.values())) if county else {}
        if len(found) < len(keys):
            fetched = cache.get_many([key for key in keys.values() if key not in found])
            _hold_summaries(fetched if county else {})
            found.update(fetched)
    except Exception:
        logger.exception("figures: the cache did not answer; recounting the county")
        keys, found = {}, {}
    summaries: dict[int, SchoolSummary] = {}
    missing = []
    for pk in school_ids:
        value = found.get(keys[pk]) if keys else None
        if value is None:
            missing.append(pk)
        elif value:  # False: cached as having no active pairing
            summaries[pk] = _unpack(pk, value)
    if missing:
        pairings = Pairing.objects.active().filter(teacher__school_id__in=missing)
        counted = summarize(compliance_for(pairings, term=term, as_of=as_of).values(), term=term, as_of=as_of)
        summaries.update({pk: counted[pk] for pk in missing if pk in counted})
        if keys:
            packed = {keys[pk]: _pack(counted[pk]) if pk in counted else False for pk in missing}
            _store(packed)
            _hold_summaries(packed if county else {})
    return summaries


# The summaries this process read or counted last, by their cache key (which holds the county's and
# the school's tokens, so a write is a new key, never a stale value), kept for FIGURES_TTL after this
# process read them: a county page redrawn after one talk fetches only that school's summary, not all
# 300. (If the cache was down when a write changed a token, the staleness the TTL bounds can last up to
# twice FIGURES_TTL here.) Never with an empty token (a cache that keeps nothing: no token to tell a
# change by).
_HELD_LIMIT = 5_000
_held: dict[str, tuple[float, Any]] = {}


def _held_summaries(keys: list[str]) -> dict[str, Any]:
    now = time.monotonic()
    found = {}
    for key in keys:
        held = _held.get(key)
        if held is not None and held[0] > now:
            found[key] = held[1]
    return found


def _hold_summaries(values: dict[str, Any]) -> None:
    if len(_held) + len(values) > _HELD_LIMIT:
        _held.clear()
    expires = time.monotonic() + FIGURES_TTL
    _held.update({key: (expires, value) for key, value in values.items()})


def forget() -> None:
    """Drop this process's summaries (a test that empties the cache to see a recount)."""
    _held.clear()


def _store(values: dict[str, Any]) -> None:
    if not values:
        return
    try:
        cache.set_many(values, timeout=FIGURES_TTL)
    except Exception:
        logger.exception("figures: could not keep %d figures in the cache", len(values))


# --- The county's escalated reminders --------------------------------------------------------------


def county_escalations(term: Term, role: str, count: Callable[[], dict[int, int]]) -> dict[int, int]:
    """The term's open reminders at the county's level per town, as ``count`` gives them to a reader
    of ``role``, kept under the county's and the reminders' tokens (a sweep raising them, an
    acknowledgement or a talk or visit answering one changes the latter): the county page no longer
    runs that join on every request. Per role: the roles that read the whole county do not all read
    reminders (an admin reads none), and one role's count must never be another's."""
    try:
        county, reminders = versions_of.reminders_generation()
        key = f"figures:{FORMAT}:escalated:{term.pk}:{role}:{county}:{reminders}"
        found = cache.get(key)
    except Exception:
        logger.exception("figures: the cache did not answer; counting the escalated reminders")
        return count()
    if isinstance(found, dict):
        return found
    counted = count()
    _store({key: counted})
    return counted


# --- The county page as drawn ------------------------------------------------------------------


def county_page_key(*, term: Term, as_of: dt.date, role: str, query: str) -> str:
    """The key of the county dashboard's figures as drawn for a role and a query string (town,
    page): under the county's and the any-write tokens, which every write the page counts changes
    (talks, visits, excused weeks, pairings, the calendar; reminders raised or acknowledged: the
    escalated counts). An empty key when the cache does not answer (the page is drawn every time)."""
    try:
        county, any_write = versions_of.generation()
    except Exception:
        logger.exception("figures: the cache did not answer; drawing the county page")
        return ""
    digest = hashlib.sha256(query.encode()).hexdigest()[:16]
    return f"figures:{FORMAT}:county-page:{term.pk}:{as_of.isoformat()}:{role}:{digest}:{county}:{any_write}"


def cached_page(key: str) -> str | None:
    if not key:
        return None
    try:
        found = cache.get(key)
    except Exception:
        logger.exception("figures: the cache did not answer; drawing the county page")
        return None
    return found if isinstance(found, str) else None


def keep_page(key: str, html: str) -> None:
    if key:
        _store({key: html})
