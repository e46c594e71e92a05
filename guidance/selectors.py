"""Reads that the guidance pages, reminders and reports share. Each function stands on its own
(others append theirs here), is scoped through ``visible_to`` and runs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from pairing.models import Closure, Pairing, Term
from pairing.selectors import pairings_for_teacher_home
from zaoyang_aid import calendar
from zaoyang_aid.access import Role, scope_of

from .compliance import PairingCompliance, WeekState, compliance_of_rows
from .models import AidPolicy, ExcusedWeek, HomeVisit, Notification, ReminderLevel, TalkRecord

# --- The teacher's week ----------------------------------------------------------------------

WEEK_STATE_BADGES = {
    WeekState.DONE: "text-bg-success",
    WeekState.DUE: "text-bg-warning",
    WeekState.OVERDUE: "text-bg-danger",
    WeekState.EXCUSED: "text-bg-info",
    WeekState.NO_SCHOOL: "text-bg-secondary",
    WeekState.AWAY: "text-bg-dark",
}


@dataclass(frozen=True)
class TeacherWeekRow:
    """One student on the teacher's 我的帮扶学生 page. ``pairing`` carries the student (school,
    household, guardians, this term's 认定) and ``last_talk_on`` / ``last_talk_pk`` (any term)."""

    pairing: Pairing
    compliance: PairingCompliance | None  # None without a term, or for a pairing not started yet
    unread: list[Notification] = field(default_factory=list)  # the teacher's unread reminders about it
    # What the teacher sees of the student's 心理健康档案 (counselling.TeacherPsychState), set by the page.
    psych: Any = None
    # Other apps' marks on the student (zaoyang_aid.marks: the early warning's signs), set by the page.
    marks: list[Any] = field(default_factory=list)

    @property
    def badge_class(self) -> str:
        return WEEK_STATE_BADGES[self.compliance.week_state] if self.compliance else "text-bg-secondary"


def teacher_week(user: Any, *, term: Term | None, as_of: dt.date) -> list[TeacherWeekRow]:
    """The teacher's active pairings, each with this week's state and the term's counts.

    Queries: the pairings with student and school, the student's latest talk, the talks under earlier
    pairings and the previous teacher (1), guardians (1), this term's 认定 with its level (1); then
    the engine's four for pairings already read (compliance_of_rows: enrollment history, excused
    weeks, talk weeks, visits).
    """
    base = pairings_for_teacher_home(user, term=term)
    # The student's latest talk and this term's talks under earlier pairings: a teacher who took the
    # student over sees the help already given (the timeline shows it all).
    latest = TalkRecord.objects.filter(pairing__student_id=OuterRef("student_id")).order_by("-date", "-pk")
    before = (
        TalkRecord.objects.filter(pairing__student_id=OuterRef("student_id"), term=term)
        .exclude(pairing_id=OuterRef("pk"))
        .order_by()
        .values("pairing__student_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    previous = Pairing.objects.filter(student_id=OuterRef("student_id"), ended_on__isnull=False).order_by(
        "-ended_on", "-pk"
    )
    pairings = list(
        base.annotate(
            last_talk_on=Subquery(latest.values("date")[:1]),
            last_talk_pk=Subquery(latest.values("pk")[:1]),
            earlier_talks_this_term=Coalesce(Subquery(before[:1]), 0),
            previous_teacher=Subquery(previous.values("teacher__user__full_name")[:1]),
            # The engine's pairing row: the school and town are the teacher's.
            teacher_school_id=F("teacher__school_id"),
            teacher_town_id=F("teacher__school__town_id"),
        )
    )
    rows: dict[int, PairingCompliance] = {}
    if term is not None and pairings:
        read = [
            (p.pk, p.teacher_school_id, p.teacher_town_id, p.student_id, p.started_on, p.ended_on) for p in pairings
        ]
        rows = compliance_of_rows(read, term=term, as_of=as_of)
    return [TeacherWeekRow(pairing=p, compliance=rows.get(p.pk)) for p in pairings]


# 我的帮扶学生 reads the teacher's unread notices in one query and counts them for the navbar too,
# when there are no more than this many (a teacher has a few); beyond it the navbar counts them apart.
UNREAD_READ_AT_ONCE = 100


@dataclass(frozen=True)
class UnreadNotices:
    by_pairing: dict[int, list[Notification]]  # the teacher's unread reminders, per pairing
    count: int | None  # all the user's unread notices (the navbar's badge); None: too many, not counted


def unread_notices(user: Any) -> QuerySet[Notification]:
    """The user's own unread notices: the navbar counts them (guidance.context_processors),
    我的帮扶学生 reads them (home_unread), the services mark them read (notification_read, notifications_read_all)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True)


def home_unread(user: Any) -> UnreadNotices:
    """The teacher's unread reminders, per pairing, for 我的帮扶学生: on a phone the navbar's menu is
    folded away, so each student's card says it itself. Only the user's own notices. One query: all
    their unread notices, up to UNREAD_READ_AT_ONCE, whose number is then the navbar's count as well
    (guidance.context_processors would count them again); with more (an officer who also 包保), a
    second reads the teacher's reminders alone and the navbar counts."""
    unread = (
        unread_notices(user)
        .only("pk", "title", "link", "created_at", "level", "reminder__pairing_id")
        .select_related("reminder")
        .order_by("-created_at", "-pk")
    )
    notices = list(unread[: UNREAD_READ_AT_ONCE + 1])
    count: int | None = len(notices)
    if len(notices) > UNREAD_READ_AT_ONCE:
        notices, count = list(unread.filter(level=ReminderLevel.TEACHER, reminder__isnull=False)), None
    result: dict[int, list[Notification]] = defaultdict(list)
    for notice in notices:
        if notice.level == ReminderLevel.TEACHER and notice.reminder is not None:
            result[notice.reminder.pairing_id].append(notice)
    return UnreadNotices(dict(result), count)


# --- A student's timeline --------------------------------------------------------------------

TIMELINE_TERMS_PER_PAGE = 2


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "talk", "visit" or "excused" (a week an officer excused: shown, never counted)
    record: TalkRecord | HomeVisit | ExcusedWeek

    @property
    def date(self) -> dt.date:
        return self.record.week_monday if isinstance(self.record, ExcusedWeek) else self.record.date

    @property
    def sort_key(self) -> tuple[dt.date, dt.datetime]:
        return (self.date, self.record.created_at)


@dataclass(frozen=True)
class TermTimeline:
    term: Term
    entries: list[TimelineEntry]

    @property
    def talk_count(self) -> int:
        return sum(1 for e in self.entries if e.kind == "talk")

    @property
    def visit_count(self) -> int:
        return sum(1 for e in self.entries if e.kind == "visit")


@dataclass(frozen=True)
class Timeline:
    shown: bool  # False for a role that does not read talk records and home visits (counsellors)
    page: Page[Term] | None
    terms: list[TermTimeline]


def _has_paired(teacher_id: int | None, student_id: int) -> bool:
    if teacher_id is None:  # a scope without a staff row has paired with no one
        return False
    return Pairing.objects.filter(teacher_id=teacher_id, student_id=student_id).exists()


def student_timeline(user: Any, student_id: int, *, page: Any = None) -> Timeline:
    """A student's talk records and home visits that ``user`` may read, newest first, grouped by
    term, a page of TIMELINE_TERMS_PER_PAGE terms at a time (a term holds about one talk a week).

    Queries: the terms with records (1), the page's talks with teacher (1), its visits (1), the
    excused weeks in those terms (1).
    """
    talks = TalkRecord.objects.visible_to(user).filter(pairing__student_id=student_id)
    visits = HomeVisit.objects.visible_to(user).filter(pairing__student_id=student_id)
    if talks.query.is_empty() and visits.query.is_empty():
        return Timeline(shown=False, page=None, terms=[])
    scope = scope_of(user)
    if scope.role == Role.COUNSELLOR and not _has_paired(scope.teacher_id, student_id):
        # A counsellor reads these records only for a student she 包保 herself (one more query).
        return Timeline(shown=False, page=None, terms=[])
    terms = list(
        Term.objects.filter(Q(pk__in=talks.values("term")) | Q(pk__in=visits.values("term")))
        .select_related("school_year")
        .order_by("-start_date")
    )
    term_page = Paginator(terms, TIMELINE_TERMS_PER_PAGE).get_page(page)
    shown_ids = [t.pk for t in term_page]
    by_term: dict[int, list[TimelineEntry]] = defaultdict(list)
    related = ("pairing__teacher__user", "recorded_by")
    for talk in talks.filter(term_id__in=shown_ids).select_related(*related):
        by_term[talk.term_id].append(TimelineEntry("talk", talk))
    for visit in visits.filter(term_id__in=shown_ids).select_related(*related):
        by_term[visit.term_id].append(TimelineEntry("visit", visit))
    shown_terms = list(term_page)
    if shown_terms:
        excused = ExcusedWeek.objects.visible_to(user).filter(
            pairing__student_id=student_id,
            week_monday__gte=min(t.start_date for t in shown_terms) - dt.timedelta(days=6),
            week_monday__lte=max(t.end_date for t in shown_terms),
        )
        for week in excused.select_related("excused_by"):
            term = next(
                (t for t in shown_terms if t.start_date - dt.timedelta(days=6) <= week.week_monday <= t.end_date), None
            )
            if term is not None:
                by_term[term.pk].append(TimelineEntry("excused", week))
    return Timeline(
        shown=True,
        page=term_page,
        terms=[
            TermTimeline(term=t, entries=sorted(by_term[t.pk], key=lambda e: e.sort_key, reverse=True))
            for t in term_page
        ],
    )


# --- Excused weeks ---------------------------------------------------------------------------


def weeks_with_talk(*, pairing: Pairing, mondays: Iterable[dt.date]) -> set[dt.date]:
    """Which of these weeks (by Monday) already have a talk record of the pairing (one query). The
    excuse form marks them and excused_week_create asks for a confirmation before excusing one."""
    mondays = set(mondays)
    if not mondays:
        return set()
    talks = TalkRecord.objects.filter(pairing=pairing, week_monday__in=mondays)
    return set(talks.order_by().values_list("week_monday", flat=True).distinct())  # order_by(): no ordering columns


def week_labels(*, school_id: int, mondays: Iterable[dt.date], term: Term | None = None) -> dict[dt.date, str]:
    """Each Monday's school week as people name it, 第11周(11.09-11.15), with the term's name in
    front for a week of a term other than ``term``; a week that is no school week (a closure added
    since) is named by its date. Two queries however many weeks: the terms they touch, and the
    closures within those terms."""
    mondays = set(mondays)
    if not mondays:
        return {}
    first, last = min(mondays), max(mondays) + dt.timedelta(days=6)
    terms = list(Term.objects.select_related("school_year").filter(start_date__lte=last, end_date__gte=first))
    names: dict[dt.date, str] = {}
    if terms:
        start, end = min(t.start_date for t in terms), max(t.end_date for t in terms)
        closures = [c.date_range for c in Closure.objects.overlapping(start, end, school_id)]
        for t in terms:
            prefix = "" if term is not None and t.pk == term.pk else t.name
            # calendar.school_weeks keeps to the term's own dates, so the other terms' closures do no harm.
            names.update({w.monday: prefix + w.label for w in calendar.school_weeks(t.date_range, closures)})
    return {m: names.get(m, f"{m.year}年{m.month}月{m.day}日起的一周") for m in mondays}


@dataclass(frozen=True)
class ExcusedWeekRow:
    excused: ExcusedWeek
    label: str  # 第11周(11.09-11.15)


def excused_weeks_of(pairing: Pairing, *, term: Term | None) -> list[ExcusedWeekRow]:
    """The excuse page's list: every excused week of the pairing, newest first, with who excused it
    and its week's label. Queries: the weeks with who (1), then week_labels' two when there are any."""
    rows = list(ExcusedWeek.objects.filter(pairing=pairing).select_related("excused_by").order_by("-week_monday"))
    labels = week_labels(school_id=pairing.student.school_id, mondays={r.week_monday for r in rows}, term=term)
    return [ExcusedWeekRow(excused=r, label=labels[r.week_monday]) for r in rows]


def excused_week_label(excused: ExcusedWeek) -> str:
    """One excused week's label for the revoke page and message, the term's name left out for the
    term in progress (three queries: that term, then week_labels' two)."""
    term = Term.objects.latest_started(timezone.localdate())
    school_id = excused.pairing.student.school_id
    return week_labels(school_id=school_id, mondays=[excused.week_monday], term=term)[excused.week_monday]


# --- Home visits -----------------------------------------------------------------------------


def policies_for_stage(stage: str) -> QuerySet[AidPolicy]:
    """The active policies that apply to a stage (AidPolicy.applies_to reads a JSON list, so the
    choice is made in Python over the short list and handed back as a queryset)."""
    active = AidPolicy.objects.filter(is_active=True)
    return active.filter(pk__in=[p.pk for p in active if p.applies_to(stage)])
