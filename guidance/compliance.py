"""The compliance engine: for any set of pairings and a term, who has done the work.

Written once; the teacher's page, the officer's and county dashboards, the reminders and the Excel
reports all read it. It runs a constant number of queries whatever the number of pairings:

1. the pairings with their school (and town) and active span;
2. the closures touching the term (county-wide and per school), to know each school's school weeks;
3. the excused weeks of those pairings in the term (a few rows);
4. per pairing, the weeks with a talk (elapsed, this week, the latest), the last talk and the tracks
   covered: one PairingTermTally row per pairing when ``as_of`` is today or later (the live pages);
   for a past ``as_of``, one GROUP BY over the talk records dated up to then;
5. per pairing, the term's home visits.

Counting rules, in the words of the mechanism:
- A pairing's expected weeks are the school weeks of its school in the term (weeks with at least one
  school day: holidays, vacations and closures removed) during which it was active on at least one
  school day. The pairing covers [started_on, ended_on).
- A week is done when a talk record falls in it; excused when an officer excused it (then it counts
  neither as done nor as missed, even if a talk was also recorded); missed when it has ended without
  either. The current week is "due" until it ends, never missed.
- The home visit is done when the pairing has at least one visit dated in the term.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from pairing.models import Closure, Pairing, Term
from zaoyang_aid import calendar

from .models import TRACKS, ExcusedWeek, HomeVisit, PairingTermTally, TalkRecord


class WeekState(StrEnum):
    DONE = "done"  # 已完成
    DUE = "due"  # 本周待记录
    OVERDUE = "overdue"  # 上周未记录, and this week not yet either
    EXCUSED = "excused"  # 已免记
    NO_SCHOOL = "no_school"  # 本周不上课 / the pairing is not active this week / term over


WEEK_STATE_LABELS = {
    WeekState.DONE: "本周已完成",
    WeekState.DUE: "本周待记录",
    WeekState.OVERDUE: "上周未记录",
    WeekState.EXCUSED: "本周已免记",
    WeekState.NO_SCHOOL: "本周无需记录",
}


@dataclass
class PairingCompliance:
    pairing_id: int
    school_id: int
    town_id: int
    expected_weeks: int = 0  # elapsed expected school weeks (before the current week), excused left out
    done_weeks: int = 0  # elapsed weeks with a talk (excused weeks left out)
    excused_weeks: int = 0  # elapsed weeks excused
    missed_weeks: int = 0
    this_week_expected: bool = False  # the current week is a school week while the pairing is active
    this_week_done: bool = False
    this_week_excused: bool = False
    last_week_missed: bool = False  # the previous expected school week ended with no talk and no excuse
    visits: int = 0
    last_talk_on: dt.date | None = None
    tracks: list[str] = field(default_factory=list)

    @property
    def home_visit_done(self) -> bool:
        return self.visits > 0

    @property
    def week_state(self) -> WeekState:
        if self.this_week_excused:
            return WeekState.EXCUSED
        if self.this_week_done:
            return WeekState.DONE
        if not self.this_week_expected:
            return WeekState.NO_SCHOOL
        return WeekState.OVERDUE if self.last_week_missed else WeekState.DUE

    @property
    def week_state_label(self) -> str:
        return WEEK_STATE_LABELS[self.week_state]

    @property
    def completion_rate(self) -> float | None:
        """Share of the elapsed expected weeks that are done (None before the first week ends)."""
        return self.done_weeks / self.expected_weeks if self.expected_weeks else None


@dataclass(frozen=True)
class _SchoolWeeks:
    weeks: list[calendar.SchoolWeek]
    firsts: list[dt.date]  # each week's first school day, ascending
    lasts: list[dt.date]  # each week's last school day, ascending
    mondays: list[dt.date]  # each week's Monday, ascending

    @classmethod
    def of(cls, weeks: list[calendar.SchoolWeek]) -> _SchoolWeeks:
        return cls(
            weeks, [w.school_days[0] for w in weeks], [w.school_days[-1] for w in weeks], [w.monday for w in weeks]
        )

    def active_span(self, started_on: dt.date, ended_on: dt.date | None) -> tuple[int, int]:
        """Indexes [lo, hi) of the weeks with a school day inside [started_on, ended_on)."""
        lo = bisect.bisect_left(self.lasts, started_on)
        hi = len(self.weeks) if ended_on is None else bisect.bisect_left(self.firsts, ended_on)
        return lo, max(lo, hi)


def school_weeks_by_school(term: Term, school_ids: Iterable[int]) -> dict[int, _SchoolWeeks]:
    """Each school's school weeks in the term: county closures plus its own (one query)."""
    county: list[calendar.DateRange] = []
    own: dict[int, list[calendar.DateRange]] = defaultdict(list)
    closures = Closure.objects.filter(
        Q(school__isnull=True) | Q(school_id__in=list(school_ids)),
        start_date__lte=term.end_date,
        end_date__gte=term.start_date,
    )
    for closure in closures:
        (own[closure.school_id] if closure.school_id else county).append(closure.date_range)
    plain = _SchoolWeeks.of(calendar.school_weeks(term.date_range, county))
    result: dict[int, _SchoolWeeks] = defaultdict(lambda: plain)
    for school_id, ranges in own.items():
        result[school_id] = _SchoolWeeks.of(calendar.school_weeks(term.date_range, county + ranges))
    return result


def _active_in(pairings: QuerySet[Pairing], term: Term, as_of: dt.date) -> QuerySet[Pairing]:
    end = min(as_of, term.end_date)
    return pairings.filter(started_on__lte=end).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=term.start_date))


def compliance_for(pairings: QuerySet[Pairing], *, term: Term, as_of: dt.date) -> dict[int, PairingCompliance]:
    """Per pairing id, its compliance in ``term`` as it stands on ``as_of``.

    ``pairings`` is any queryset (already scoped to the viewer); pairings not active at any time
    between the term's start and ``as_of`` are left out.
    """
    scoped = _active_in(pairings, term, as_of)
    rows = list(
        scoped.order_by().values_list("pk", "student__school_id", "student__school__town_id", "started_on", "ended_on")
    )
    if not rows:
        return {}
    weeks_of = school_weeks_by_school(term, {r[1] for r in rows})
    this_monday = calendar.monday_of(as_of)
    ids = scoped.order_by().values("pk")
    excused_weeks = _excused_weeks(ids, term, as_of)
    excused = _excused_aggregates(excused_weeks, this_monday)
    if as_of >= timezone.localdate():
        # Live pages: talks cannot be dated after today, so the tallies are exact (see tallies.py).
        talks, late = _talks_from_tallies(ids, term, as_of, this_monday, excused_weeks)
        if late:  # a talk dated after as_of after all (imported data): count those pairings exactly
            talks.update(_talk_aggregates(late, term, as_of, this_monday))
    else:
        talks = _talk_aggregates(ids, term, as_of, this_monday)
    visits = dict(
        HomeVisit.objects.filter(pairing__in=ids, term=term, date__lte=as_of)
        .order_by()
        .values("pairing")
        .annotate(n=Count("pk"))
        .values_list("pairing", "n")
    )
    result: dict[int, PairingCompliance] = {}
    for pk, school_id, town_id, started_on, ended_on in rows:
        row = PairingCompliance(pairing_id=pk, school_id=school_id, town_id=town_id, visits=visits.get(pk, 0))
        _count_weeks(row, weeks_of[school_id], started_on, ended_on, this_monday, talks.get(pk), excused.get(pk))
        result[pk] = row
    return result


def _talk_aggregates(
    ids: QuerySet[Pairing, Any] | list[int], term: Term, as_of: dt.date, this_monday: dt.date
) -> dict[int, dict]:
    # Week counts leave out excused weeks (neither done nor missed); the tracks covered and the last
    # talk date keep every talk, since the help was given all the same.
    not_excused = ~Exists(ExcusedWeek.objects.filter(pairing=OuterRef("pairing"), week_monday=OuterRef("week_monday")))
    tracks = {t.field: Max(Cast(t.field, IntegerField())) for t in TRACKS}
    qs = (
        TalkRecord.objects.filter(pairing__in=ids, date__gte=term.start_date, date__lte=min(as_of, term.end_date))
        .order_by()
        .values("pairing")
        .annotate(
            elapsed_weeks=Count("week_monday", distinct=True, filter=Q(not_excused, week_monday__lt=this_monday)),
            this_week=Count("pk", filter=Q(not_excused, week_monday=this_monday)),
            latest_elapsed_week=Max("week_monday", filter=Q(not_excused, week_monday__lt=this_monday)),
            last_talk_on=Max("date"),
            **tracks,
        )
    )
    return {row["pairing"]: row for row in qs}


def _excused_weeks(ids: QuerySet[Pairing, Any], term: Term, as_of: dt.date) -> dict[int, set[dt.date]]:
    """Per pairing, the Mondays of its excused weeks in the term up to ``as_of`` (a few rows)."""
    weeks: dict[int, set[dt.date]] = defaultdict(set)
    rows = ExcusedWeek.objects.filter(
        pairing__in=ids,
        week_monday__gte=calendar.monday_of(term.start_date),
        week_monday__lte=min(as_of, term.end_date),
    ).values_list("pairing_id", "week_monday")
    for pairing_id, monday in rows:
        weeks[pairing_id].add(monday)
    return weeks


def _excused_aggregates(excused_weeks: dict[int, set[dt.date]], this_monday: dt.date) -> dict[int, dict]:
    result: dict[int, dict] = {}
    for pairing_id, mondays in excused_weeks.items():
        elapsed = [m for m in mondays if m < this_monday]
        result[pairing_id] = {
            "elapsed": len(elapsed),
            "this_week": int(this_monday in mondays),
            "latest_elapsed_week": max(elapsed) if elapsed else None,
        }
    return result


def _talks_from_tallies(
    ids: QuerySet[Pairing, Any],
    term: Term,
    as_of: dt.date,
    this_monday: dt.date,
    excused_weeks: dict[int, set[dt.date]],
) -> tuple[dict[int, dict], list[int]]:
    """The same figures as _talk_aggregates, read from one PairingTermTally row per pairing; also the
    pairings whose last talk is dated after ``as_of``, which the tally cannot answer for."""
    first_monday = calendar.monday_of(term.start_date)
    this_index = (this_monday - first_monday).days // 7
    elapsed_mask = (1 << max(this_index, 0)) - 1
    result: dict[int, dict] = {}
    late: list[int] = []
    rows = PairingTermTally.objects.filter(term=term, pairing__in=ids).values_list(
        "pairing_id", "week_bits", "track_bits", "last_talk_on"
    )
    for pairing_id, week_bits, track_bits, last_talk_on in rows:
        if last_talk_on is not None and last_talk_on > as_of:
            late.append(pairing_id)
            continue
        for monday in excused_weeks.get(pairing_id, ()):
            week_bits &= ~(1 << ((monday - first_monday).days // 7))
        elapsed = week_bits & elapsed_mask
        latest = elapsed.bit_length() - 1
        result[pairing_id] = {
            "elapsed_weeks": elapsed.bit_count(),
            "this_week": (week_bits >> this_index) & 1 if this_index >= 0 else 0,
            "latest_elapsed_week": first_monday + dt.timedelta(weeks=latest) if latest >= 0 else None,
            "last_talk_on": last_talk_on,
            **{t.field: (track_bits >> i) & 1 for i, t in enumerate(TRACKS)},
        }
    return result, late


def _count_weeks(
    row: PairingCompliance,
    school: _SchoolWeeks,
    started_on: dt.date,
    ended_on: dt.date | None,
    this_monday: dt.date,
    talks: dict | None,
    excused: dict | None,
) -> None:
    # Bisection over the school's sorted weeks: this runs once per pairing, 12,000 times a county page.
    lo, hi = school.active_span(started_on, ended_on)
    current = bisect.bisect_left(school.mondays, this_monday, lo, hi)  # first active week not elapsed
    elapsed = current - lo
    row.this_week_expected = current < hi and school.mondays[current] == this_monday
    row.excused_weeks = excused["elapsed"] if excused else 0
    row.this_week_excused = bool(excused and excused["this_week"])
    row.expected_weeks = max(0, elapsed - row.excused_weeks)
    if talks:
        # A talk in a week that a closure later removed is not a week owed: never count past the owed.
        row.done_weeks = min(talks["elapsed_weeks"], row.expected_weeks)
        row.this_week_done = talks["this_week"] > 0
        row.last_talk_on = talks["last_talk_on"]
        row.tracks = [t.label for t in TRACKS if talks[t.field]]
    row.missed_weeks = max(0, row.expected_weeks - row.done_weeks)
    if elapsed:
        previous = school.mondays[current - 1]
        row.last_week_missed = previous != (talks and talks["latest_elapsed_week"]) and previous != (
            excused and excused["latest_elapsed_week"]
        )


@dataclass
class Totals:
    """Compliance summed over a group (a school, a town, the county)."""

    pairings: int = 0
    expected_weeks: int = 0
    done_weeks: int = 0
    this_week_expected: int = 0
    this_week_done: int = 0
    visited: int = 0

    def add(self, row: PairingCompliance) -> None:
        self.pairings += 1
        self.expected_weeks += row.expected_weeks
        self.done_weeks += row.done_weeks
        if row.this_week_expected and not row.this_week_excused:
            self.this_week_expected += 1
            self.this_week_done += int(row.this_week_done)
        self.visited += int(row.home_visit_done)

    @property
    def term_rate(self) -> float | None:
        return self.done_weeks / self.expected_weeks if self.expected_weeks else None

    @property
    def week_rate(self) -> float | None:
        return self.this_week_done / self.this_week_expected if self.this_week_expected else None

    @property
    def visit_rate(self) -> float | None:
        return self.visited / self.pairings if self.pairings else None


def totals_by(rows: Iterable[PairingCompliance], key: str) -> dict[int, Totals]:
    """Sum rows by ``school_id`` or ``town_id``."""
    groups: dict[int, Totals] = defaultdict(Totals)
    for row in rows:
        groups[getattr(row, key)].add(row)
    return dict(groups)
