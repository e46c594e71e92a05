"""The compliance engine: for any set of pairings and a term, who has done the work.

Written once; the teacher's page, the officer's and county dashboards, the reminders and the Excel
reports all read it. It runs a constant number of queries whatever the number of pairings:

1. the pairings with their school (the teacher's, and its town), student and active span;
2. the students' enrollment history (休学, 辍学 … and back), a few rows;
3. the excused weeks of those pairings in the term (a few rows);
4. per pairing, the weeks with a talk, the last talk and the tracks covered: one PairingTermTally
   row per pairing when ``as_of`` is today or later (the live pages); for a past ``as_of``, the
   tallies for the weeks before as_of's week plus one aggregate per pairing of the talks dated up
   to as_of (a sixth query);
5. per student, the term's home visits (under any of the student's pairings).

The closures touching the term (county-wide and per school), which give each school its school
weeks, come from the cached term calendar (pairing.calendars: two queries when it changed, else none).

Counting rules, in the words of the mechanism (one definition: ``Pairing.objects.owing``):
- A pairing OWES a school week when, on at least one school day of that week (holidays, vacations
  and its school's closures removed), it was active ([started_on, ended_on)) and its student was
  在校 by the dated enrollment history. Weeks while the student was 休学 or 辍学 are not owed.
- An owed week is done when a talk record falls in it; excused when an officer excused it (then it
  counts neither as done nor as missed, even if a talk was also recorded); missed when it has
  ended without either. The current week is "due" until it ends, never missed.
- Only owed weeks count: a talk in a week that is not owed (closed, excused, outside the pairing's
  span, while the student was away) is kept and shown, and its tracks count, but it never stands in
  for a week that was owed and missed.
- The home visit is done when the student has at least one visit dated in the term, under this
  pairing or an earlier one: a teacher who takes a student over mid-term owes no second visit.

Weeks are bitmasks: bit n is the n-th calendar week from the Monday of the term's first day, so
owed, talked and excused weeks intersect with a few integer operations per pairing.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Count, IntegerField, Max, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone

from pairing import calendars
from pairing.models import (
    EnrollmentChange,
    EnrollmentStatus,
    Pairing,
    PairingQuerySet,
    Term,
    absences,
    present_spans,
)
from zaoyang_aid import calendar

from .models import TRACKS, ExcusedWeek, HomeVisit, PairingTermTally, TalkRecord

# The pairings to count, as a subquery of their ids or a list of them.
PairingIds = QuerySet[Pairing, Any] | list[int]
StudentIds = QuerySet[Pairing, Any] | list[int]  # a values("student_id") queryset, or the ids
# Up to this many pairings, compliance_for reads by their ids as literals, past it by subquery.
LITERAL_IDS = 1000


class WeekState(StrEnum):
    DONE = "done"  # 已完成
    DUE = "due"  # 本周待记录
    OVERDUE = "overdue"  # 上周未记录, and this week not yet either
    EXCUSED = "excused"  # 已免记
    NO_SCHOOL = "no_school"  # 本周不上课 / the pairing is not active this week / term over
    AWAY = "away"  # the student is not 在校 (休学, 辍学 …): nothing owed, the page says why


WEEK_STATE_LABELS = {
    WeekState.DONE: "本周已完成",
    WeekState.DUE: "本周待记录",
    WeekState.OVERDUE: "上周未记录",
    WeekState.EXCUSED: "本周已免记",
    WeekState.NO_SCHOOL: "本周无需记录",
    WeekState.AWAY: "暂停记录",
}


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass
class PairingCompliance:
    pairing_id: int
    school_id: int
    town_id: int
    student_id: int = 0
    expected_weeks: int = 0  # elapsed owed school weeks (before the current week), excused left out
    done_weeks: int = 0  # elapsed owed weeks with a talk (excused weeks left out)
    excused_weeks: int = 0  # elapsed owed weeks excused
    missed_weeks: int = 0
    this_week_expected: bool = False  # the current week is owed
    this_week_done: bool = False
    this_week_excused: bool = False
    last_week_missed: bool = False  # the school's previous school week was owed and ended with no talk, no excuse
    visits: int = 0  # the student's home visits this term, under any pairing
    last_talk_on: dt.date | None = None
    tracks: list[str] = field(default_factory=list)
    # Why nothing is owed now, when the student is not 在校: the status ("休学") and since when.
    away_status: str = ""
    away_since: dt.date | None = None
    # The weeks as bitmasks (see the module docstring), for the reminders' streaks and the tests.
    owed_bits: int = 0
    talk_bits: int = 0
    excused_bits: int = 0

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
            return WeekState.AWAY if self.away_status else WeekState.NO_SCHOOL
        return WeekState.OVERDUE if self.last_week_missed else WeekState.DUE

    @property
    def week_state_label(self) -> str:
        if self.week_state == WeekState.AWAY:
            return f"{self.away_status}·暂停记录"  # short: a badge on a phone
        return WEEK_STATE_LABELS[self.week_state]

    @property
    def away_reason(self) -> str:
        """The pages' sentence for a student who is not 在校, e.g. "休学(2026年11月2日起),暂停每周谈话"."""
        if not self.away_status or self.away_since is None:
            return ""
        return f"{self.away_status}({_day(self.away_since)}起),暂停每周谈话"

    @property
    def behind_this_week(self) -> bool:
        """本周未记录: the current week is owed, not excused and has no talk yet (the county's 本周
        completion counts the same weeks: owed and not excused)."""
        return self.this_week_expected and not self.this_week_excused and not self.this_week_done

    @property
    def behind_this_term(self) -> bool:
        """本学期有漏记: at least one elapsed owed week of the term ended with no talk and no excuse."""
        return self.missed_weeks > 0

    @property
    def completion_rate(self) -> float | None:
        """Share of the elapsed owed weeks that are done (None before the first week ends)."""
        return self.done_weeks / self.expected_weeks if self.expected_weeks else None


@dataclass(frozen=True)
class _SchoolWeeks:
    weeks: list[calendar.SchoolWeek]
    firsts: list[dt.date]  # each week's first school day, ascending
    lasts: list[dt.date]  # each week's last school day, ascending
    mondays: list[dt.date]  # each week's Monday, ascending
    bits: list[int]  # each week's bit (1 << calendar weeks since the term's first Monday)
    prefix: list[int]  # prefix[i]: the bits of weeks[0:i] together

    @classmethod
    def of(cls, weeks: list[calendar.SchoolWeek], first_monday: dt.date) -> _SchoolWeeks:
        bits = [1 << ((w.monday - first_monday).days // 7) for w in weeks]
        prefix = [0]
        for bit in bits:
            prefix.append(prefix[-1] | bit)
        return cls(
            weeks,
            [w.school_days[0] for w in weeks],
            [w.school_days[-1] for w in weeks],
            [w.monday for w in weeks],
            bits,
            prefix,
        )

    @property
    def all_bits(self) -> int:
        return self.prefix[-1]

    def active_span(self, start: dt.date, end: dt.date | None) -> tuple[int, int]:
        """Indexes [lo, hi) of the weeks with a school day d, start <= d < end (end None: open)."""
        lo = bisect.bisect_left(self.lasts, start)  # first week with a school day >= start
        hi = len(self.weeks) if end is None else bisect.bisect_left(self.firsts, end)  # weeks starting before end
        if hi - lo == 1 and end is not None and not any(start <= d < end for d in self.weeks[lo].school_days):
            return lo, lo  # the span falls between two school days of one week
        return lo, max(lo, hi)

    def span_bits(self, start: dt.date, end: dt.date | None) -> int:
        """The bits of the weeks with a school day d, start <= d < end."""
        lo, hi = self.active_span(start, end)
        return self.prefix[hi] & ~self.prefix[lo]


def school_weeks_by_school(term: Term, school_ids: Iterable[int]) -> dict[int, _SchoolWeeks]:
    """Each school's school weeks in the term: county closures plus its own (from the cached
    calendar, pairing.calendars: no query while it is unchanged; the weeks from ``term``'s own dates)."""
    held = calendars.snapshot()
    own = held.schools_with_closures(term.start_date, term.end_date, set(school_ids))
    first_monday = calendar.monday_of(term.start_date)
    plain = _SchoolWeeks.of(held.school_weeks(term), first_monday)
    result: dict[int, _SchoolWeeks] = defaultdict(lambda: plain)
    for school_id in own:
        result[school_id] = _SchoolWeeks.of(held.school_weeks(term, school_id), first_monday)
    return result


@dataclass
class _Talks:
    """A pairing's talks in the term: week bits (from the term's first Monday), tracks, the last."""

    week_bits: int = 0
    track_bits: int = 0
    last_talk_on: dt.date | None = None


# One pairing as the engine reads it: (pk, school_id, town_id, student_id, started_on, ended_on), the
# school and town being its teacher's (a pairing ended by a 转学 stays with the old school).
PairingRow = tuple[int, int, int, int, dt.date, dt.date | None]


def compliance_for(pairings: PairingQuerySet, *, term: Term, as_of: dt.date) -> dict[int, PairingCompliance]:
    """Per pairing id, its compliance in ``term`` as it stands on ``as_of``.

    ``pairings`` is any queryset (already scoped to the viewer); pairings not active at any time
    between the term's start and ``as_of`` are left out.
    """
    scoped = pairings.in_term(term, as_of)
    rows: list[PairingRow] = list(
        scoped.order_by().values_list(
            "pk",
            "teacher__school_id",
            "teacher__school__town_id",
            "student_id",
            "started_on",
            "ended_on",
        )
    )
    if len(rows) > LITERAL_IDS:
        return _compliance(rows, term, as_of, scoped.order_by().values("pk"), scoped.order_by().values("student_id"))
    return compliance_of_rows(rows, term=term, as_of=as_of)


def compliance_of_rows(rows: Iterable[PairingRow], *, term: Term, as_of: dt.date) -> dict[int, PairingCompliance]:
    """compliance_for for pairings the caller has already read (a teacher's few, on 我的帮扶学生):
    the same answer without reading the pairings again. Rows of pairings not active in the term up
    to ``as_of`` (Pairing.was_active_in, the twin of PairingQuerySet.in_term) are left out."""
    kept = [r for r in rows if Pairing.was_active_in(r[4], r[5], term=term, as_of=as_of)]
    if len(kept) > LITERAL_IDS:
        raise ValueError(f"compliance_of_rows takes at most {LITERAL_IDS} pairings; use compliance_for")
    # Their ids as literals: cheaper to compile and to plan than a queryset as a subquery in each read.
    return _compliance(kept, term, as_of, [r[0] for r in kept], sorted({r[3] for r in kept}))


def _compliance(
    rows: list[PairingRow], term: Term, as_of: dt.date, ids: PairingIds, students: StudentIds
) -> dict[int, PairingCompliance]:
    if not rows:
        return {}
    weeks_of = school_weeks_by_school(term, {r[1] for r in rows})
    first_monday = calendar.monday_of(term.start_date)
    this_index = (calendar.monday_of(as_of) - first_monday).days // 7
    history = _enrollment_history(students, term)
    excused = _excused_bits(ids, term, as_of, first_monday)
    talks = _talks(ids, term, as_of, first_monday)
    visits = _visits(students, term, as_of)
    result: dict[int, PairingCompliance] = {}
    spans: dict[tuple[int, dt.date, dt.date | None], int] = {}  # most pairings share their dates
    no_talks = _Talks()
    for pk, school_id, town_id, student_id, started_on, ended_on in rows:
        row = PairingCompliance(
            pairing_id=pk, school_id=school_id, town_id=town_id, student_id=student_id, visits=visits.get(student_id, 0)
        )
        changes = history.get(student_id, [])
        school = weeks_of[school_id]
        if changes:
            owed = 0
            for start, end in present_spans(started_on, ended_on, absences(changes)):
                owed |= school.span_bits(start, end)
        else:  # the common case: 在校 all along, the pairing's own span
            key = (school_id, started_on, ended_on)
            owed = spans.get(key, -1)
            if owed < 0:
                owed = spans[key] = school.span_bits(started_on, ended_on)
        _count(row, school, owed, this_index, talks.get(pk, no_talks), excused.get(pk, 0))
        if not row.this_week_expected:
            row.away_status, row.away_since = _away(changes, as_of)
        result[pk] = row
    return result


# The labels of the tracks covered, for each of the 32 values of a tally's track bits.
_TRACK_LABELS = [tuple(t.label for i, t in enumerate(TRACKS) if bits >> i & 1) for bits in range(1 << len(TRACKS))]


def _count(
    row: PairingCompliance, school: _SchoolWeeks, owed: int, this_index: int, talks: _Talks, excused: int
) -> None:
    elapsed = (1 << this_index) - 1 if this_index > 0 else 0
    this_bit = 1 << this_index if this_index >= 0 else 0
    owed_elapsed = owed & elapsed
    row.owed_bits, row.talk_bits, row.excused_bits = owed, talks.week_bits, excused & owed
    row.excused_weeks = (owed_elapsed & excused).bit_count()
    row.expected_weeks = (owed_elapsed & ~excused).bit_count()
    row.done_weeks = (owed_elapsed & ~excused & talks.week_bits).bit_count()
    row.missed_weeks = row.expected_weeks - row.done_weeks
    row.this_week_expected = bool(owed & this_bit)
    row.this_week_excused = bool(owed & excused & this_bit)
    row.this_week_done = bool(talks.week_bits & this_bit & ~excused)  # an excused week is never done
    row.last_talk_on = talks.last_talk_on
    row.tracks = list(_TRACK_LABELS[talks.track_bits & 0b11111])
    school_elapsed = school.all_bits & elapsed
    if school_elapsed:
        previous = 1 << (school_elapsed.bit_length() - 1)  # the school's last school week before this one
        row.last_week_missed = bool(owed & previous) and not (talks.week_bits | excused) & previous


def _enrollment_history(students: StudentIds, term: Term) -> dict[int, list[tuple[dt.date, str]]]:
    """Per student, their status changes up to the term's end, in order (few rows: most have none)."""
    history: dict[int, list[tuple[dt.date, str]]] = defaultdict(list)
    changes = (
        EnrollmentChange.objects.filter(student_id__in=students, effective_on__lte=term.end_date)
        .order_by("student_id", "effective_on", "pk")
        .values_list("student_id", "effective_on", "status")
    )
    for student_id, day, status in changes:
        history[student_id].append((day, status))
    return history


def _away(changes: list[tuple[dt.date, str]], as_of: dt.date) -> tuple[str, dt.date | None]:
    """The student's status on ``as_of`` and since when, when it is not 在校 (else "", None)."""
    current = [(day, status) for day, status in changes if day <= as_of]
    if not current or current[-1][1] == EnrollmentStatus.ENROLLED:
        return "", None
    day, status = current[-1]
    return str(EnrollmentStatus(status).label), day


def _excused_bits(ids: PairingIds, term: Term, as_of: dt.date, first_monday: dt.date) -> dict[int, int]:
    """Per pairing, the bits of its excused weeks in the term up to ``as_of`` (a few rows)."""
    bits: dict[int, int] = defaultdict(int)
    rows = ExcusedWeek.objects.filter(
        pairing__in=ids, week_monday__gte=first_monday, week_monday__lte=min(as_of, term.end_date)
    ).values_list("pairing_id", "week_monday")
    for pairing_id, monday in rows:
        bits[pairing_id] |= 1 << ((monday - first_monday).days // 7)
    return bits


def _talks(ids: PairingIds, term: Term, as_of: dt.date, first_monday: dt.date) -> dict[int, _Talks]:
    """Per pairing, its talks in the term dated up to ``as_of``: from the tallies on the live pages
    (talks cannot be dated after today, so a tally is exact for today and later), else from the
    talk rows."""
    if as_of < timezone.localdate():
        return _talks_as_of_past(ids, term, as_of, first_monday)
    talks, later = _talks_from_tallies(ids, term, as_of, first_monday)
    if later:  # a talk dated after as_of after all (imported data): count those pairings exactly
        talks.update(_talks_from_rows(later, term, as_of, first_monday))
    return talks


# What the engine reads of a tally: a tally refresh that leaves these as they were changes none of
# its answers for today (guidance.tallies.tally_refresh, and the dashboards' figures it keeps).
TALLY_READS = ("week_base", "week_bits", "track_bits", "last_talk_on")


def _talks_from_tallies(
    ids: PairingIds, term: Term, as_of: dt.date, first_monday: dt.date
) -> tuple[dict[int, _Talks], list[int]]:
    """One PairingTermTally row per pairing; also the pairings with a talk dated after ``as_of``,
    which their tally cannot answer for."""
    result: dict[int, _Talks] = {}
    later: list[int] = []
    rows = PairingTermTally.objects.filter(term=term, pairing__in=ids).values_list("pairing_id", *TALLY_READS)
    for pairing_id, base, week_bits, track_bits, last_talk_on in rows:
        if last_talk_on is not None and last_talk_on > as_of:
            later.append(pairing_id)
            continue
        # The tally's bits count from its own base Monday (stored with it), so a term whose dates
        # an admin moved since does not shift them: re-based here onto the term's first Monday.
        shift = (base - first_monday).days // 7
        bits = week_bits << shift if shift >= 0 else week_bits >> -shift
        result[pairing_id] = _Talks(bits, track_bits, last_talk_on)
    return result, later


# The tracks a group of talks covered, as one bit mask computed by the database (TRACKS[i] is bit i).
_TRACK_MASK = sum((Max(Cast(t.field, IntegerField())) * (1 << i) for i, t in enumerate(TRACKS)), start=Value(0))


def _talks_as_of_past(ids: PairingIds, term: Term, as_of: dt.date, first_monday: dt.date) -> dict[int, _Talks]:
    """For a past ``as_of`` (a catch-up sweep, a report): the weeks before as_of's week from the
    tallies (every talk in them is dated before as_of), and as_of's own week, the tracks and the
    last talk up to as_of from one aggregate per pairing. Two queries of one row per pairing, where
    the rows path returns one per pairing and week (ten times as many)."""
    this_index = (calendar.monday_of(as_of) - first_monday).days // 7
    elapsed = (1 << this_index) - 1 if this_index > 0 else 0
    tallies, _ = _talks_from_tallies(ids, term, dt.date.max, first_monday)
    this_week = Count("pk", filter=Q(week_monday=calendar.monday_of(as_of)))
    rows = (
        TalkRecord.objects.filter(pairing__in=ids, term=term, date__lte=as_of)
        .order_by()
        .values("pairing")
        .annotate(last=Max("date"), tracks=_TRACK_MASK, this_week=this_week)
        .values_list("pairing", "last", "tracks", "this_week")
    )
    result: dict[int, _Talks] = {}
    for pairing_id, last, tracks, in_this_week in rows:
        tally = tallies.get(pairing_id)
        bits = (tally.week_bits & elapsed if tally else 0) | (
            1 << this_index if in_this_week and this_index >= 0 else 0
        )
        result[pairing_id] = _Talks(bits, tracks, last)
    return result


def _talks_from_rows(ids: PairingIds, term: Term, as_of: dt.date, first_monday: dt.date) -> dict[int, _Talks]:
    """The same from the talk rows dated up to ``as_of`` alone (no tally): one row per pairing and
    week, for the few pairings whose tally cannot answer (a talk dated after ``as_of``)."""
    rows = (
        TalkRecord.objects.filter(pairing__in=ids, term=term, date__lte=as_of)
        .order_by()
        .values("pairing", "week_monday")
        .annotate(last=Max("date"), tracks=_TRACK_MASK)
        .values_list("pairing", "week_monday", "last", "tracks")
    )
    result: dict[int, _Talks] = {}
    for pairing_id, monday, last, tracks in rows:
        talks = result.get(pairing_id)
        if talks is None:
            talks = result[pairing_id] = _Talks()
        talks.week_bits |= 1 << ((monday - first_monday).days // 7)
        talks.track_bits |= tracks
        if talks.last_talk_on is None or last > talks.last_talk_on:
            talks.last_talk_on = last
    return result


def _visits(students: StudentIds, term: Term, as_of: dt.date) -> dict[int, int]:
    """Per student, the term's home visits dated up to ``as_of``, under any of their pairings."""
    return dict(
        HomeVisit.objects.filter(pairing__student_id__in=students, term=term, date__lte=as_of)
        .order_by()
        .values("pairing__student_id")
        .annotate(n=Count("pk"))
        .values_list("pairing__student_id", "n")
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
    behind_this_week: int = 0  # pairings 本周未记录 (= this_week_expected - this_week_done)
    behind_this_term: int = 0  # pairings with a missed week this term

    def add(self, row: PairingCompliance) -> None:
        self.pairings += 1
        self.expected_weeks += row.expected_weeks
        self.done_weeks += row.done_weeks
        if row.this_week_expected and not row.this_week_excused:
            self.this_week_expected += 1
            self.this_week_done += int(row.this_week_done)
        self.visited += int(row.home_visit_done)
        self.behind_this_week += int(row.behind_this_week)
        self.behind_this_term += int(row.behind_this_term)

    @property
    def missed_weeks(self) -> int:
        """Owed weeks of the term that ended with no talk and no excuse, summed."""
        return self.expected_weeks - self.done_weeks

    @property
    def behind(self) -> int:
        """For sorting: who needs a call first."""
        return self.behind_this_week + self.behind_this_term

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
