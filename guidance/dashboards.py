"""Selectors of the officer's and the county's dashboards: the compliance engine, grouped.

Each runs a constant number of queries: the engine's five, plus a few for the names on the page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Count
from django.utils import timezone

from pairing.models import Pairing, PairingQuerySet, School, Student, Term, Town
from pairing.selectors import students_without_consent
from zaoyang_aid import calendar
from zaoyang_aid.access import scope_of

from . import figures
from .compliance import PairingCompliance, Totals, WeekState, compliance_for, totals_by
from .filters import SchoolComplianceFilter
from .models import FiveThreeCard, Reminder, ReminderLevel, TalkRecord, review_opens_on

# Overdue first: the officer's eye goes to who needs a nudge.
_STATE_ORDER = {
    WeekState.OVERDUE: 0,
    WeekState.DUE: 1,
    WeekState.DONE: 2,
    WeekState.EXCUSED: 3,
    WeekState.AWAY: 4,
    WeekState.NO_SCHOOL: 5,
}


@dataclass
class StudentRow:
    pairing: Pairing
    compliance: PairingCompliance
    marks: list[Any] = field(default_factory=list)  # other apps' marks (zaoyang_aid.marks), set by the page

    @property
    def sort_key(self) -> tuple[Any, ...]:
        c = self.compliance
        return (_STATE_ORDER[c.week_state], -c.missed_weeks, c.home_visit_done, self.pairing.student.name)


@dataclass
class TeacherRow:
    teacher_id: int
    name: str
    phone: str
    totals: Totals = field(default_factory=Totals)
    missed_weeks: int = 0
    overdue_now: int = 0

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (-self.overdue_now, -self.missed_weeks, self.totals.visited - self.totals.pairings, self.name)


@dataclass
class SchoolDashboard:
    school: School
    term: Term
    as_of: dt.date
    totals: Totals
    teachers: list[TeacherRow]
    students: list[StudentRow]
    recent_talks: list[TalkRecord]
    cards: CardBoard
    # Students under 14 without the guardian's 知情同意 (pairing.selectors.students_without_consent).
    consent_missing: list[Student] = field(default_factory=list)
    flagged: int = 0  # students with a mark (the early warning), counted by the page


@dataclass
class CardBoard:
    """The school's 五三卡 this term: the actively paired students whose card is missing, and from
    the term-end review's first day (models.review_opens_on) those whose card is not reviewed."""

    review_opens_on: dt.date
    review_open: bool = False
    missing: list[Pairing] = field(default_factory=list)
    not_reviewed: list[tuple[Pairing, int]] = field(default_factory=list)  # (pairing, card pk)
    filled: int = 0
    reviewed: int = 0


def _card_board(user: Any, pairings: list[Pairing], *, term: Term, as_of: dt.date) -> CardBoard:
    """One query: this term's cards of the school's students (reviewed or not), by student."""
    opens = review_opens_on(term)
    board = CardBoard(review_opens_on=opens, review_open=as_of >= opens)
    cards = {
        student_id: (pk, reviewed_at)
        for student_id, pk, reviewed_at in FiveThreeCard.objects.visible_to(user)
        .filter(term=term)
        .values_list("student_id", "pk", "reviewed_at")
    }
    for pairing in pairings:
        if pairing.student_id not in cards:
            board.missing.append(pairing)
        elif cards[pairing.student_id][1] is None:
            board.filled += 1
            if board.review_open:
                board.not_reviewed.append((pairing, cards[pairing.student_id][0]))
        else:
            board.filled += 1
            board.reviewed += 1
    return board


def _active_pairings(user: Any) -> PairingQuerySet:
    return Pairing.objects.visible_to(user).active()


def _school_rows(user: Any, *, term: Term, as_of: dt.date) -> dict[int, PairingCompliance]:
    """The engine's rows of the user's active pairings: an officer's (or counsellor's) are her school's
    students' pairings (PairingQuerySet.scope_filter), kept per school in the cache (figures)."""
    scope = scope_of(user)
    if scope.role in {"officer", "counsellor"} and scope.school_id is not None:
        return figures.school_rows(scope.school_id, term=term, as_of=as_of)
    return compliance_for(_active_pairings(user), term=term, as_of=as_of)


def school_dashboard(user: Any, *, term: Term, as_of: dt.date | None = None, recent: int = 20) -> SchoolDashboard:
    """The officer's dashboard: per teacher and per student, overdue first, and the latest records."""
    as_of = as_of or timezone.localdate()
    scope = scope_of(user)
    school = School.objects.select_related("town").get(pk=scope.school_id)
    pairings = list(
        _active_pairings(user).select_related("teacher__user", "student").order_by("student__grade", "student__name")
    )
    rows = _school_rows(user, term=term, as_of=as_of)
    students: list[StudentRow] = []
    teachers: dict[int, TeacherRow] = {}
    totals = Totals()
    for pairing in pairings:
        compliance = rows.get(pairing.pk)
        if compliance is None:  # paired after as_of
            continue
        students.append(StudentRow(pairing, compliance))
        teacher = teachers.setdefault(
            pairing.teacher_id, TeacherRow(pairing.teacher_id, pairing.teacher.name, pairing.teacher.phone)
        )
        teacher.totals.add(compliance)
        teacher.missed_weeks += compliance.missed_weeks
        teacher.overdue_now += int(compliance.week_state == WeekState.OVERDUE)
        totals.add(compliance)
    recent_talks = list(
        TalkRecord.objects.visible_to(user)
        .filter(term=term)
        .select_related("pairing__student", "pairing__teacher__user")
        .order_by("-created_at", "-pk")[:recent]
    )
    return SchoolDashboard(
        school=school,
        term=term,
        as_of=as_of,
        totals=totals,
        teachers=sorted(teachers.values(), key=lambda t: t.sort_key),
        students=sorted(students, key=lambda s: s.sort_key),
        recent_talks=recent_talks,
        cards=_card_board(user, pairings, term=term, as_of=as_of),
        consent_missing=students_without_consent(school.pk, on=as_of),
    )


@dataclass
class Line:
    """One town or school on the county dashboard."""

    pk: int
    name: str
    totals: Totals
    extra: str = ""
    escalated: int = 0  # the county dashboard's towns: open reminders escalated to the county


@dataclass(frozen=True)
class TrendWeek:
    """A school week of the term's trend: its Monday and 第N周 (counted from the term's first week,
    as the talk detail report counts them)."""

    monday: dt.date
    number: int
    current: bool  # this week: still running, its figure grows until Sunday


@dataclass
class TrendCell:
    """One group's owed pairing-weeks in one school week (excused ones left out) and those done."""

    owed: int = 0
    done: int = 0
    current: bool = False  # this week's cell

    @property
    def rate(self) -> float | None:
        return self.done / self.owed if self.owed else None


@dataclass
class Trend:
    weeks: list[TrendWeek]
    cells: dict[int, list[TrendCell]]  # group id -> one cell per week of ``weeks``

    def of(self, group_id: int) -> list[TrendCell]:
        return self.cells.get(group_id) or [TrendCell(current=week.current) for week in self.weeks]


def weekly_trend(rows: Iterable[PairingCompliance], *, term: Term, as_of: dt.date, key: str = "town_id") -> Trend:
    """The term's completion week by week per group (``town_id`` or ``school_id``), from the engine's
    own week bits: a pairing-week is owed when the engine says the pairing owed it (its school's
    school weeks, its span, the student 在校) and it was not excused; done when it had a talk. The
    elapsed weeks of a group add up to its Totals' expected and done weeks, the current week to its
    this-week figures. The weeks shown are those some pairing owed (vacations drop out).

    No query, and no Python loop per pairing and week (figures.week_counts)."""
    grouped: dict[int, list[PairingCompliance]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    _, so_far = figures.weeks_so_far(term, as_of)
    return trend_of(
        {group: figures.week_counts(members, so_far=so_far) for group, members in grouped.items()},
        term=term,
        as_of=as_of,
    )


def trend_of(counts: dict[int, figures.WeekCounts], *, term: Term, as_of: dt.date) -> Trend:
    """The trend of groups' week counts: the weeks some group owed, each group's cell in each."""
    this_index, _ = figures.weeks_so_far(term, as_of)
    owed_any = 0
    for group in counts.values():
        owed_any |= group.owed_any
    indexes = [i for i in range(owed_any.bit_length()) if owed_any >> i & 1]
    cells = {
        group: [
            TrendCell(c.owed[i] if i < len(c.owed) else 0, c.done[i] if i < len(c.done) else 0, i == this_index)
            for i in indexes
        ]
        for group, c in counts.items()
    }
    first_monday = calendar.monday_of(term.start_date)
    weeks = [TrendWeek(first_monday + dt.timedelta(weeks=i), i + 1, i == this_index) for i in indexes]
    return Trend(weeks=weeks, cells=cells)


@dataclass
class CountyDashboard:
    term: Term
    as_of: dt.date
    totals: Totals
    towns: list[Line]
    schools: list[Line]
    trend: Trend = field(default_factory=lambda: Trend([], {}))
    # Reminders of the term escalated to the county (上报市资助中心) and still open, per town of the
    # student's school (as the 提醒与上报记录 report files and filters them).
    escalated: dict[int, int] = field(default_factory=dict)

    @property
    def escalated_total(self) -> int:
        return sum(self.escalated.values())

    @property
    def town_trends(self) -> list[TownTrend]:
        """Each town with its week cells, in the towns' order (the trend table's rows)."""
        return [TownTrend(line, self.trend.of(line.pk)) for line in self.towns]


# The sparkline's box in SVG user units (the page scales it with a class).
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 100, 24, 2
SPARK_FLOOR = 0.5  # the sparkline's bottom: rates below it are drawn at it


@dataclass
class TownTrend:
    line: Line
    cells: list[TrendCell]

    @property
    def points(self) -> str:
        """The sparkline's polyline points: x by ended week, y by rate (100% at the top, 50% at the
        bottom); weeks the town owed nothing are left out."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self._xy())

    @property
    def last(self) -> tuple[str, str] | None:
        """The latest week's point (a dot: a line of one week draws nothing)."""
        xy = self._xy()
        return (f"{xy[-1][0]:.1f}", f"{xy[-1][1]:.1f}") if xy else None

    def _xy(self) -> list[tuple[float, float]]:
        """The ended weeks only (this week's rate climbs until Sunday: it would end every line in a
        drop), on a 50%-100% scale (the weeks that matter differ by a few points; lower is clamped)."""
        ended = [cell for cell in self.cells if not cell.current]
        step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(len(ended) - 1, 1)
        span = SPARK_HEIGHT - 2 * SPARK_PAD
        return [
            (SPARK_PAD + i * step, SPARK_PAD + (1 - max(rate, SPARK_FLOOR)) / (1 - SPARK_FLOOR) * span)
            for i, cell in enumerate(ended)
            if (rate := cell.rate) is not None
        ]


def county_dashboard(
    user: Any, *, term: Term, as_of: dt.date | None = None, town_id: int | None = None
) -> CountyDashboard:
    """Per town and per school: pairings, this week's and this term's completion, home visits.

    Schools are listed lowest term completion first (those that need a call), within one town when
    ``town_id`` is given.
    """
    as_of = as_of or timezone.localdate()
    scope = scope_of(user)
    if scope.is_county_wide:  # every county reader of one role counts the same reminders
        escalated = figures.county_escalations(term, str(scope.role), lambda: _escalated_by_town(user, term))
    else:
        escalated = _escalated_by_town(user, term)
    towns_in_order = list(Town.objects.order_by("code").values_list("pk", "name"))
    if not scope.is_county_wide:  # every pairing is the county's; anyone else's are counted as scoped
        rows = list(compliance_for(_active_pairings(user), term=term, as_of=as_of).values())
        summaries = figures.summarize(rows, term=term, as_of=as_of)
        names = School.objects.filter(pk__in=list(summaries)).values_list("pk", "name", "town__name")
    else:
        names = School.objects.values_list("pk", "name", "town__name")
        summaries = figures.school_summaries([pk for pk, _, _ in names], term=term, as_of=as_of)
    by_town: dict[int, Totals] = defaultdict(Totals)
    weeks_by_town: dict[int, figures.WeekCounts] = defaultdict(figures.WeekCounts)
    for summary in summaries.values():
        _add(by_town[summary.town_id], summary.totals)
        weeks_by_town[summary.town_id].add(summary.weeks)
    towns = [Line(pk, name, by_town.get(pk, Totals()), escalated=escalated.get(pk, 0)) for pk, name in towns_in_order]
    schools = [
        Line(pk, name, summaries[pk].totals, extra=town)
        for pk, name, town in names
        if pk in summaries and (town_id is None or summaries[pk].town_id == town_id)
    ]
    schools.sort(key=lambda line: (line.totals.term_rate if line.totals.term_rate is not None else 2, line.name))
    return CountyDashboard(
        term=term,
        as_of=as_of,
        totals=_summed(by_town.values()),
        towns=towns,
        schools=schools,
        trend=trend_of(dict(weeks_by_town), term=term, as_of=as_of),
        escalated=escalated,
    )


def _add(total: Totals, group: Totals) -> None:
    """Add a group's totals to ``total`` (every figure of Totals is a count; through the instances'
    dicts: the county page adds 300 schools' on each redraw)."""
    mine, theirs = total.__dict__, group.__dict__
    for name in _TOTALS_FIELDS:
        mine[name] += theirs[name]


_TOTALS_FIELDS = [f.name for f in dataclasses.fields(Totals)]


def _summed(groups: Iterable[Totals]) -> Totals:
    """Groups' totals added up."""
    total = Totals()
    for group in groups:
        _add(total, group)
    return total


def _escalated_by_town(user: Any, term: Term) -> dict[int, int]:
    """One query: the term's open reminders at the county's level, per town."""
    town = "pairing__student__school__town"
    reminders = Reminder.objects.visible_to(user).filter(term=term, level=ReminderLevel.COUNTY).open()
    return dict(reminders.order_by().values(town).annotate(n=Count("pk")).values_list(town, "n"))


# --- The county's drill-down: town -> its schools -> a school's teachers and students behind ------
# "Behind" is the engine's (PairingCompliance.behind_this_week / behind_this_term, summed by Totals);
# these pages only group it. A pairing belongs to its teacher's school and that school's town, as on
# the county dashboard, so the school pages of a town add up to the town's line there.


@dataclass
class TownBoard:
    town: Town
    term: Term
    as_of: dt.date
    totals: Totals
    schools: list[Line]  # every school of the town, most behind first


def county_town(user: Any, *, town: Town, term: Term, as_of: dt.date | None = None) -> TownBoard:
    """One town's schools with their figures, most behind first. Queries: the town's schools (1)
    and the engine's five."""
    as_of = as_of or timezone.localdate()
    names = list(School.objects.filter(town=town).order_by("code").values_list("pk", "name"))
    if scope_of(user).is_county_wide:
        summaries = figures.school_summaries([pk for pk, _ in names], term=term, as_of=as_of)
    else:  # anyone else's pairings are counted as scoped
        pairings = _active_pairings(user).filter(teacher__school__town=town)
        summaries = figures.summarize(compliance_for(pairings, term=term, as_of=as_of).values(), term=term, as_of=as_of)
    totals = _summed(summary.totals for summary in summaries.values())
    schools = [Line(pk, name, summaries[pk].totals if pk in summaries else Totals()) for pk, name in names]
    schools.sort(key=lambda line: (-line.totals.behind, -line.totals.missed_weeks, line.name))
    return TownBoard(town=town, term=term, as_of=as_of, totals=totals, schools=schools)


@dataclass
class SchoolBoard:
    """One school as the county sees it: who is behind this week and this term."""

    school: School
    term: Term
    as_of: dt.date
    totals: Totals
    teachers: list[TeacherRow]  # the teachers with a student behind, most behind first
    on_track: int  # the teachers with nobody behind
    behind_this_week: list[StudentRow]
    behind_this_term: list[StudentRow]


def county_school(user: Any, *, school: School, term: Term, as_of: dt.date | None = None) -> SchoolBoard:
    """A school's teachers and students behind this week and this term. Queries: the school's
    active pairings with teacher and student (1) and the engine's five."""
    as_of = as_of or timezone.localdate()
    pairings = _active_pairings(user).filter(teacher__school=school)
    rows = compliance_for(pairings, term=term, as_of=as_of)
    teachers: dict[int, TeacherRow] = {}
    students: list[StudentRow] = []
    totals = Totals()
    for pairing in pairings.select_related("teacher__user", "student").order_by("student__grade", "student__name"):
        compliance = rows.get(pairing.pk)
        if compliance is None:  # paired after as_of
            continue
        totals.add(compliance)
        teacher = teachers.setdefault(
            pairing.teacher_id, TeacherRow(pairing.teacher_id, pairing.teacher.name, pairing.teacher.phone)
        )
        teacher.totals.add(compliance)
        teacher.missed_weeks += compliance.missed_weeks
        students.append(StudentRow(pairing, compliance))
    behind = [t for t in teachers.values() if t.totals.behind]
    students.sort(key=lambda s: s.sort_key)
    return SchoolBoard(
        school=school,
        term=term,
        as_of=as_of,
        totals=totals,
        teachers=sorted(behind, key=lambda t: (-t.totals.behind, -t.missed_weeks, t.name)),
        on_track=len(teachers) - len(behind),
        behind_this_week=[s for s in students if s.compliance.behind_this_week],
        behind_this_term=[s for s in students if s.compliance.behind_this_term],
    )


# --- The 五导 compliance report per school (casefiles.reports reads it) ----------------------------


@dataclass
class SchoolComplianceLine:
    school_id: int
    school: str
    town: str
    totals: Totals
    late_talks: int = 0  # talks entered as 补录 (an officer's 准许补录) in the term up to as_of


def report_pairings(user: Any, *, term: Term, current: bool) -> PairingQuerySet:
    """The pairings a compliance report counts: in the current term the active ones, as the county
    dashboard counts them (its lines and the report's agree); in a past term every pairing, the
    engine keeps those active in it."""
    pairings = Pairing.objects.visible_to(user)
    return pairings.active() if current else pairings


def school_compliance_filter(user: Any, params: Any, *, term: Term, as_of: dt.date) -> SchoolComplianceFilter:
    """The report's bound FilterSet over the pairings it counts (nothing is read until its .qs is)."""
    current = as_of >= timezone.localdate()  # the term runs today (as_of: today, or a past term's end)
    return SchoolComplianceFilter(params, queryset=report_pairings(user, term=term, current=current), request_user=user)


def compliance_by_school(
    filterset: SchoolComplianceFilter, *, term: Term, as_of: dt.date
) -> list[SchoolComplianceLine]:
    """Per school: the engine's totals and the term's 补录 talks, schools in town and name order.

    Queries: the engine's five, the 补录 talks per school (1), the schools' names (1)."""
    pairings = cast(PairingQuerySet, filterset.qs)
    rows = compliance_for(pairings, term=term, as_of=as_of)
    by_school = totals_by(rows.values(), "school_id")
    late = dict(
        TalkRecord.objects.filter(
            pairing__in=pairings.order_by().values("pk"), term=term, date__lte=as_of, late_permission__isnull=False
        )
        .order_by()
        .values("pairing__teacher__school")
        .annotate(n=Count("pk"))
        .values_list("pairing__teacher__school", "n")
    )
    names = School.objects.filter(pk__in=list(by_school)).order_by("town__code", "name")
    return [
        SchoolComplianceLine(pk, name, town, by_school[pk], late.get(pk, 0))
        for pk, name, town in names.values_list("pk", "name", "town__name")
    ]


# --- The 五导 compliance report per town and per teacher (casefiles.reports reads them) -------------


@dataclass
class TownComplianceLine:
    town_id: int
    town: str
    schools: int  # schools with a counted pairing
    totals: Totals


def compliance_by_town(filterset: SchoolComplianceFilter, *, term: Term, as_of: dt.date) -> list[TownComplianceLine]:
    """Per town (its teachers' schools, as on the county dashboard and its town pages): the engine's
    totals, towns in code order. Queries: the engine's five, the towns' names (1)."""
    rows = list(compliance_for(cast(PairingQuerySet, filterset.qs), term=term, as_of=as_of).values())
    by_town = totals_by(rows, "town_id")
    schools: dict[int, set[int]] = {}
    for row in rows:
        schools.setdefault(row.town_id, set()).add(row.school_id)
    names = Town.objects.filter(pk__in=list(by_town)).order_by("code").values_list("pk", "name")
    return [TownComplianceLine(pk, name, len(schools[pk]), by_town[pk]) for pk, name in names]


@dataclass
class TeacherComplianceLine:
    teacher_id: int
    teacher: str
    school: str
    town: str
    totals: Totals
    town_code: str = ""


def compliance_by_teacher(
    filterset: SchoolComplianceFilter, *, term: Term, as_of: dt.date
) -> list[TeacherComplianceLine]:
    """Per 包保 teacher (the figures of the school page's teacher rows): the engine's totals over
    their pairings, in town, school and name order. Queries: the engine's five, the pairings'
    teachers with school and town (1)."""
    pairings = cast(PairingQuerySet, filterset.qs)
    rows = compliance_for(pairings, term=term, as_of=as_of)
    lines: dict[int, TeacherComplianceLine] = {}
    teachers = pairings.order_by().values_list(
        "pk",
        "teacher_id",
        "teacher__user__full_name",
        "teacher__school__name",
        "teacher__school__town__name",
        "teacher__school__town__code",
    )
    for pairing_id, teacher_id, name, school, town, town_code in teachers:
        compliance = rows.get(pairing_id)
        if compliance is None:  # paired after as_of
            continue
        line = lines.get(teacher_id)
        if line is None:
            line = lines[teacher_id] = TeacherComplianceLine(teacher_id, name, school, town, Totals(), town_code)
        line.totals.add(compliance)
    return sorted(lines.values(), key=lambda line: (line.town_code, line.school, line.teacher, line.teacher_id))
