"""The reminder sweep: who missed last school week's talk, who has not visited this term yet.

``sweep(on=day)`` is what Celery beat runs each morning and ``manage.py send_reminders`` runs by
hand. It finds who is due with the compliance engine (a constant number of queries, no per-pairing
loop) and writes Reminder rows and in-app Notifications:

- exactly once: each reminder is keyed by (pairing, kind, period) and each notification by
  (recipient, reminder, level) under unique constraints, written with ``ignore_conflicts``; a sweep
  run twice, or by two workers at once, adds nothing the second time;
- week by week, nothing partial: each school week's sweep is recorded by a SweepRun row (unique per
  week), claimed first and written in ONE transaction with that week's reminders and notifications.
  A run killed halfway keeps the weeks it finished and loses the rest whole; running it again does
  exactly the rest.

Catching up: a school week's sweep is due on its first school day (county calendar; a week starting
on a Tuesday after a holiday is due on the Tuesday). A run on any day sweeps every week of the
current term whose sweep is due and not yet done, oldest first, each "as of" its first school day
(``find_due(on=first_school_day)``), so a morning when beat or the worker was down is made up the
next time the sweep runs, and a sweep done late is logged and recorded as late. Visits made since
that first school day are not reminded about (see ``_still_owed``).

The catch-up is bounded: weeks whose Monday is more than REMINDER_CATCH_UP_WEEKS (default 2) weeks
before the run's week, and weeks of an earlier term, are not swept. The former are recorded as
skipped with a logged warning: reminders about weeks that old would reach teachers long after they
could act on them, and a first deployment (no SweepRun rows at all) would otherwise flood everyone
with the whole term's history. Those weeks still count as missed on every page and figure; only
the reminders are not sent.

Rules (the mechanism's, with the county's configurable delays):
- Vacation and holiday weeks produce nothing, nor do ended pairings or students not 在校.
- Missed talk: the pairing's previous school week ended with no talk and no excuse. The teacher is
  told; from REMINDER_OFFICER_AFTER consecutive missed weeks (default 2) the school's officers too;
  from REMINDER_COUNTY_AFTER (default 4) the county centre.
- Home visit: from the 4th-last school week of the term, a pairing with no visit this term reminds
  its teacher weekly; in the last 2 weeks the officers are told too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from pairing import figures
from pairing.models import Pairing, Teacher, Term
from zaoyang_aid import calendar
from zaoyang_aid.access import Role

from .compliance import PairingCompliance, compliance_for, school_weeks_by_school
from .models import (
    HomeVisit,
    Notification,
    Reminder,
    ReminderKind,
    ReminderLevel,
    SweepOutcome,
    SweepRun,
    TalkRecord,
)

logger = logging.getLogger(__name__)

VISIT_REMINDER_WEEKS = 4  # from the 4th-last school week of a term
VISIT_OFFICER_WEEKS = 2  # the last 2 school weeks also tell the officers


def officer_after() -> int:
    return int(getattr(settings, "REMINDER_OFFICER_AFTER", 2))


def county_after() -> int:
    return int(getattr(settings, "REMINDER_COUNTY_AFTER", 4))


def catch_up_weeks() -> int:
    return int(getattr(settings, "REMINDER_CATCH_UP_WEEKS", 2))


@dataclass(frozen=True)
class Due:
    """One reminder a sweep owes (before it is written)."""

    pairing_id: int
    school_id: int
    teacher_user_id: int
    student_id: int
    student_name: str
    teacher_name: str
    kind: str
    period: dt.date
    term_id: int
    streak: int
    level: int

    school_name: str = ""
    teacher_is_officer: bool = False  # a 资助专干 who 包保 a student is not told to report to herself

    def _weeks(self) -> str:
        return f"已连续{self.streak}周" if self.streak > 1 else "上周"

    def text_for(self, level: int) -> tuple[str, str]:
        """The notice's title and body as its reader should read them: the teacher is spoken to
        ("您…"), the officer is told which of her teachers and students, the county which school too."""
        if level == ReminderLevel.TEACHER:
            return self._for_teacher()
        who = f"{self.teacher_name}老师"
        if level == ReminderLevel.COUNTY:
            who = f"{self.school_name}{who}"
        if self.kind == ReminderKind.MISSED_TALK:
            title = f"{who}·{self.student_name}:{self._weeks()}未记录谈心谈话"
            body = f"{who}{self.period:%m月%d日}起的一周没有{self.student_name}的谈心谈话与学业辅导记录"
            body += f"(已连续{self.streak}周)。" if self.streak > 1 else "。"
        else:
            title = f"{who}·{self.student_name}:本学期尚未家访"
            body = f"本学期即将结束,{who}尚未对{self.student_name}家访。"
        if level == ReminderLevel.COUNTY:
            body += "请联系学校资助专干督促落实。"
        else:
            body += "请督促其尽快完成。"
            if self.kind == ReminderKind.MISSED_TALK:
                body += "确有原因的周可办理免记。"
        return title, body

    def _for_teacher(self) -> tuple[str, str]:
        if self.kind == ReminderKind.MISSED_TALK:
            title = f"{self.student_name}:您{self._weeks()}未记录谈心谈话"
            body = f"您{self.period:%m月%d日}起的一周没有为{self.student_name}记录谈心谈话与学业辅导。请尽快补记"
            body += "。" if self.teacher_is_officer else ",或与学校资助专干说明情况。"
            return title, body
        return (
            f"{self.student_name}:您本学期尚未家访",
            f"本学期即将结束,请您尽快完成对{self.student_name}的家访并录入家访记录。",
        )

    @property
    def link(self) -> str:
        if self.kind == ReminderKind.MISSED_TALK:  # the talk form for the missed week, not this one
            return f"{reverse('guidance:talk_create', args=[self.pairing_id])}?week={self.period.isoformat()}"
        return f"{reverse('guidance:visit_create')}?pairing={self.pairing_id}"


@dataclass
class WeekSweep:
    """One school week in a sweep: what it owed as of its first school day, and what this run wrote
    for it (nothing for a dry run or a skipped week)."""

    term: Term
    week: calendar.SchoolWeek
    outcome: str  # a SweepOutcome
    due: list[Due] = field(default_factory=list)
    reminders_created: int = 0
    notifications_created: int = 0

    @property
    def first_school_day(self) -> dt.date:
        return self.week.school_days[0]


@dataclass
class SweepResult:
    """``find_due``: what one day owes. ``sweep``: every week it swept or skipped, oldest first, with
    ``due`` and the two counts totalled over them; the counts are the rows this run wrote."""

    on: dt.date
    term: Term | None
    reason: str  # why nothing was due, when nothing was
    due: list[Due]
    reminders_created: int = 0
    notifications_created: int = 0
    weeks: list[WeekSweep] = field(default_factory=list)


def _sweep_week(on: dt.date) -> tuple[Term | None, str]:
    term = Term.objects.select_related("school_year").containing(on).first()
    if term is None:
        return None, "不在学期内(假期),不发送提醒。"
    week = calendar.week_containing(term.school_weeks(), on)
    if week is None:
        return None, "本周不上课(法定节假日或假期),不发送提醒。"
    if on != week.school_days[0]:
        return None, f"提醒在每个教学周的第一个上课日({week.school_days[0]:%m月%d日})发送。"
    return term, ""


def _pairings(on: dt.date) -> Any:
    """The pairings a sweep on ``on`` looks at: those that owe a talk that day (the one rule)."""
    return Pairing.objects.owing(on)


def _missed_streaks(missed: list[PairingCompliance], term: Term, on: dt.date) -> dict[int, tuple[int, int]]:
    """Per pairing that missed last week: (streak, climb). The streak is how many owed school weeks
    in a row it has missed (weeks it did not owe, like a 休学 spell, are passed over); the climb is
    the part of it since a reminder was last acknowledged, which is what escalates (an acknowledged
    reminder stops climbing). Read off the engine's week bits: 1 query, for the acknowledgements."""
    acknowledged: dict[int, set[dt.date]] = defaultdict(set)
    for pairing_id, monday in Reminder.objects.filter(
        pairing_id__in=[row.pairing_id for row in missed], kind=ReminderKind.MISSED_TALK, acknowledged_at__isnull=False
    ).values_list("pairing_id", "period"):
        acknowledged[pairing_id].add(monday)
    first_monday = calendar.monday_of(term.start_date)
    elapsed = (1 << ((calendar.monday_of(on) - first_monday).days // 7)) - 1
    result: dict[int, tuple[int, int]] = {}
    for row in missed:
        streak, climb, climbing = 0, 0, True
        owed = row.owed_bits & elapsed
        while owed:
            index = owed.bit_length() - 1
            owed &= ~(1 << index)
            if (row.talk_bits | row.excused_bits) >> index & 1:
                break
            streak += 1
            # The week just missed always counts; an older acknowledged week ends the climb.
            if streak > 1 and first_monday + dt.timedelta(weeks=index) in acknowledged[row.pairing_id]:
                climbing = False
            climb += int(climbing)
        result[row.pairing_id] = (max(streak, 1), max(climb, 1))
    return result


def find_due(*, on: dt.date) -> SweepResult:
    """What a sweep on ``on`` owes, without writing anything (the dry run shows this).

    Queries: the term and its weeks (2), the compliance engine (6), the missed pairings' acknowledgements (1),
    the names and teachers of the due pairings (1): the same for 10 pairings or 12,000.
    """
    term, reason = _sweep_week(on)
    if term is None:
        return SweepResult(on=on, term=None, reason=reason, due=[])
    rows = compliance_for(_pairings(on), term=term, as_of=on)
    weeks_of = school_weeks_by_school(term, {r.school_id for r in rows.values()})
    missed = [r for r in rows.values() if r.last_week_missed]
    streaks = _missed_streaks(missed, term, on)
    visit_due: dict[int, ReminderLevel] = {}  # pairing -> level
    for row in rows.values():
        if (level := visit_due_level(row, weeks_of[row.school_id].weeks, on)) is not None:
            visit_due[row.pairing_id] = level
    wanted = set(streaks) | set(visit_due)
    info = {
        p[0]: p
        for p in Pairing.objects.filter(pk__in=wanted).values_list(
            # The teacher's school: after a 转学 a late sweep tells the old school's officers, not the new.
            "pk",
            "teacher__user_id",
            "student_id",
            "student__name",
            "teacher__user__full_name",
            "teacher__school_id",
            "teacher__school__name",
            "teacher__user__role",
        )
    }
    this_monday = calendar.monday_of(on)
    due: list[Due] = []
    for pairing_id, (streak, climb) in streaks.items():
        row = rows[pairing_id]
        previous = max(w.monday for w in weeks_of[row.school_id].weeks if w.monday < this_monday)
        level = (
            ReminderLevel.COUNTY
            if climb >= county_after()
            else ReminderLevel.OFFICER
            if climb >= officer_after()
            else ReminderLevel.TEACHER
        )
        due.append(_due(info[pairing_id], ReminderKind.MISSED_TALK, previous, term, streak, level))
    for pairing_id, level in visit_due.items():
        due.append(_due(info[pairing_id], ReminderKind.VISIT_DUE, this_monday, term, 1, level))
    due.sort(key=lambda d: (d.school_id, d.teacher_name, d.student_name, d.kind))
    return SweepResult(on=on, term=term, reason="" if due else "没有需要提醒的结对。", due=due)


def school_weeks_left(weeks: list[calendar.SchoolWeek], on: dt.date) -> int:
    """The term's school weeks from ``on``'s week to the end, this week included."""
    return sum(1 for w in weeks if w.monday >= calendar.monday_of(on))


def visit_due_level(row: PairingCompliance, weeks: list[calendar.SchoolWeek], on: dt.date) -> ReminderLevel | None:
    """THE rule of a home visit falling due: none yet this term, and VISIT_REMINDER_WEEKS school weeks
    or fewer left (the teacher is told); VISIT_OFFICER_WEEKS or fewer, the officer too. The reminders
    and the early warning (a missed visit, casefiles/early_warning.py) both ask it."""
    left = school_weeks_left(weeks, on)
    if row.home_visit_done or not 0 < left <= VISIT_REMINDER_WEEKS:
        return None
    return ReminderLevel.OFFICER if left <= VISIT_OFFICER_WEEKS else ReminderLevel.TEACHER


def _due(info: tuple[Any, ...], kind: str, period: dt.date, term: Term, streak: int, level: int) -> Due:
    pairing_id, teacher_user_id, student_id, student_name, teacher_name, school_id, school_name, role = info
    return Due(
        pairing_id=pairing_id,
        school_id=school_id,
        teacher_user_id=teacher_user_id,
        student_id=student_id,
        student_name=student_name,
        teacher_name=teacher_name or "",
        kind=kind,
        period=period,
        term_id=term.pk,
        streak=streak,
        level=level,
        school_name=school_name,
        teacher_is_officer=role == Role.OFFICER,
    )


def _recipients(due: list[Due]) -> tuple[dict[int, list[int]], list[int]]:
    """The officers of each school concerned, and the county centre's staff (2 queries)."""
    officers: dict[int, list[int]] = defaultdict(list)
    schools = {d.school_id for d in due if d.level >= ReminderLevel.OFFICER}
    for school_id, user_id in Teacher.objects.filter(
        school_id__in=schools, user__role=Role.OFFICER, user__is_active=True
    ).values_list("school_id", "user_id"):
        officers[school_id].append(user_id)
    county: list[int] = []
    if any(d.level >= ReminderLevel.COUNTY for d in due):
        county = list(get_user_model().objects.filter(role=Role.COUNTY, is_active=True).values_list("pk", flat=True))
    return officers, county


def sweep(*, on: dt.date | None = None, dry_run: bool = False) -> SweepResult:
    """Sweep every school week due by ``on`` (today by default) and not yet done, oldest first, each
    as of its first school day, and, unless ``dry_run``, write their reminders and notifications once
    (see the module's docstring for the catch-up and its bound). Safe to run again at any time: a
    week already done is not swept again."""
    on = on or timezone.localdate()
    term, pending, reason = _pending_weeks(on)
    result = SweepResult(on=on, term=term, reason=reason, due=[])
    if term is None:
        return result
    oldest = calendar.monday_of(on) - dt.timedelta(weeks=catch_up_weeks())
    stale = [w for w in pending if w.monday < oldest]
    if stale:
        result.weeks += _skip_weeks(term, stale, on=on, dry_run=dry_run)
    for week in pending:
        if week.monday >= oldest and (done := _sweep_one_week(term, week, on=on, dry_run=dry_run)):
            result.weeks.append(done)
    result.due = [d for w in result.weeks for d in w.due]
    result.reminders_created = sum(w.reminders_created for w in result.weeks)
    result.notifications_created = sum(w.notifications_created for w in result.weeks)
    if not result.due and not result.reason:
        result.reason = "没有需要提醒的结对。"
    return result


def _pending_weeks(on: dt.date) -> tuple[Term | None, list[calendar.SchoolWeek], str]:
    """The term around ``on`` and its school weeks (county calendar) whose first school day is on or
    before ``on`` and that have no SweepRun yet, oldest first; or why there are none (2 queries and
    the term's closures)."""
    term = Term.objects.select_related("school_year").containing(on).first()
    if term is None:
        return None, [], "不在学期内(假期),不发送提醒。"
    weeks = term.school_weeks()
    due = [w for w in weeks if w.school_days[0] <= on]
    done = set(SweepRun.objects.filter(week_monday__in=[w.monday for w in due]).values_list("week_monday", flat=True))
    pending = [w for w in due if w.monday not in done]
    if pending:
        return term, pending, ""
    current = calendar.week_containing(weeks, on)
    if current is None:
        return term, [], "本周不上课(法定节假日或假期),不发送提醒。"
    if current.school_days[0] > on:
        return term, [], f"提醒在每个教学周的第一个上课日({current.school_days[0]:%m月%d日})发送。"
    return term, [], "本周及以前各周的提醒都已发送过,没有需要补发的。"


def _skip_weeks(term: Term, weeks: list[calendar.SchoolWeek], *, on: dt.date, dry_run: bool) -> list[WeekSweep]:
    """Weeks too old to catch up: recorded as skipped (so no later run tries them), never swept."""
    skipped = [WeekSweep(term=term, week=w, outcome=SweepOutcome.SKIPPED) for w in weeks]
    if dry_run:
        return skipped
    SweepRun.objects.bulk_create(
        [
            SweepRun(
                week_monday=w.monday,
                term=term,
                first_school_day=w.school_days[0],
                swept_on=on,
                outcome=SweepOutcome.SKIPPED,
            )
            for w in weeks
        ],
        ignore_conflicts=True,  # another run may have recorded some meanwhile
    )
    logger.warning(
        "reminder sweep on %s: %d school week(s) older than REMINDER_CATCH_UP_WEEKS=%d were never swept and are "
        "skipped, their reminders not sent: %s",
        on,
        len(weeks),
        catch_up_weeks(),
        ", ".join(w.monday.isoformat() for w in weeks),
    )
    return skipped


def _sweep_one_week(term: Term, week: calendar.SchoolWeek, *, on: dt.date, dry_run: bool) -> WeekSweep | None:
    """One week's sweep as of its first school day, in one transaction with its SweepRun; None when
    another run claimed the week first."""
    first = week.school_days[0]
    outcome = SweepOutcome.LATE if on > first else SweepOutcome.ON_TIME
    if dry_run:
        return WeekSweep(term=term, week=week, outcome=outcome, due=_still_owed(first, on=on))
    with transaction.atomic():
        run = _claim_week(term, week, on=on, outcome=outcome)
        if run is None:
            return None
        done = WeekSweep(term=term, week=week, outcome=outcome, due=_still_owed(first, on=on))
        done.reminders_created, done.notifications_created = _write(done.due)
        SweepRun.objects.filter(pk=run.pk).update(
            reminders_created=done.reminders_created,
            notifications_created=done.notifications_created,
            done_at=timezone.now(),
        )
    if outcome == SweepOutcome.LATE:
        logger.warning(
            "reminder sweep for the school week of %s was due on %s and done late on %s: %d reminder(s) written",
            week.monday,
            first,
            on,
            done.reminders_created,
        )
    return done


def _claim_week(term: Term, week: calendar.SchoolWeek, *, on: dt.date, outcome: str) -> SweepRun | None:
    """The week's SweepRun, inserted first inside the week's transaction: a second run of the same
    week (a redelivery, a second worker) waits on the unique key until this one commits, then gets
    None and skips the week; so only one run writes a week's rows, and its counts are its own."""
    try:
        with transaction.atomic():  # a savepoint: the outer transaction survives the conflict
            return SweepRun.objects.create(
                week_monday=week.monday, term=term, first_school_day=week.school_days[0], swept_on=on, outcome=outcome
            )
    except IntegrityError:
        return None


def _still_owed(first_school_day: dt.date, *, on: dt.date) -> list[Due]:
    """What the week owed as of its first school day, less the home visits made since (a late sweep
    only: the visit's service answered the reminders that existed then, not this one, which would stay open).
    A talk recorded since for the missed week needs no such care: the engine counts talks by date."""
    due = find_due(on=first_school_day).due
    visit_due = {d.student_id for d in due if d.kind == ReminderKind.VISIT_DUE}
    if on == first_school_day or not visit_due:
        return due
    # Visits count per student (under any pairing), as in the engine.
    visited = set(
        HomeVisit.objects.filter(pairing__student_id__in=visit_due, date__gte=first_school_day, date__lte=on)
        .values_list("pairing__student_id", flat=True)
        .distinct()
    )
    return [d for d in due if not (d.kind == ReminderKind.VISIT_DUE and d.student_id in visited)]


def _write(due: list[Due]) -> tuple[int, int]:
    """Write the reminders and notifications of ``due`` that are not there yet; return how many of
    each this call wrote. bulk_create(ignore_conflicts=True) does not say which rows it inserted on
    every database, so the rows that existed are read first, in the same transaction (the week's
    claim keeps any other sweep of the week out of it): exact on SQLite and PostgreSQL alike."""
    if not due:
        return 0, 0
    wanted = {(d.pairing_id, d.kind, d.period): d for d in due}
    reminders = Reminder.objects.filter(pairing_id__in={d.pairing_id for d in due}, period__in={d.period for d in due})
    existed = set(reminders.values_list("pairing_id", "kind", "period"))
    Reminder.objects.bulk_create(
        [
            Reminder(pairing_id=p, kind=k, period=period, term_id=d.term_id, streak=d.streak, level=d.level)
            for (p, k, period), d in wanted.items()
            if (p, k, period) not in existed
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    officers, county = _recipients(due)
    notices: dict[tuple[int, int, int], Notification] = {}
    for reminder in reminders.all():  # a fresh query: now with the rows just written
        d = wanted.get((reminder.pairing_id, reminder.kind, reminder.period))
        for notice in _notifications_for(reminder, d, officers, county) if d else []:
            notices[(notice.recipient_id, reminder.pk, notice.level)] = notice
    known = set(Notification.objects.filter(reminder__in=reminders).values_list("recipient_id", "reminder_id", "level"))
    fresh = [notice for key, notice in notices.items() if key not in known]
    Notification.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=2000)
    if wanted.keys() - existed:
        figures.touch_reminders()  # the county page counts the escalated ones (guidance.figures)
    return len(wanted.keys() - existed), len(fresh)


def _notifications_for(
    reminder: Reminder, d: Due, officers: dict[int, list[int]], county: list[int]
) -> list[Notification]:
    def notice(user_id: int, level: int, link: str) -> Notification:
        title, body = d.text_for(level)  # each reader reads it in their own words
        return Notification(
            recipient_id=user_id, reminder=reminder, level=level, title=title[:100], body=body[:500], link=link
        )

    items = [notice(d.teacher_user_id, ReminderLevel.TEACHER, d.link)]
    timeline = reverse("guidance:timeline", args=[d.student_id])
    if d.level >= ReminderLevel.OFFICER:
        # An officer who 包保 the student herself has her teacher's notice: not told to urge herself.
        items += [
            notice(u, ReminderLevel.OFFICER, timeline) for u in officers.get(d.school_id, []) if u != d.teacher_user_id
        ]
    if d.level >= ReminderLevel.COUNTY:
        items += [notice(u, ReminderLevel.COUNTY, timeline) for u in county]
    return items


# --- Telling a teacher her record was unlocked ------------------------------------------------------


def notify_record_unlocked(*, record: TalkRecord | HomeVisit) -> Notification:
    """One in-app notice to the record's teacher, in record_unlock's transaction: her record is open
    again until ``unlocked_until``, and why. The daily digest (deliveries.py) carries it by mail or
    webhook like any unread notice."""
    pairing = record.pairing
    is_talk = isinstance(record, TalkRecord)
    kind = "谈心谈话记录" if is_talk else "家访记录"
    until = timezone.localtime(record.unlocked_until or timezone.now())
    detail = "guidance:talk_detail" if is_talk else "guidance:visit_detail"
    return Notification.objects.create(
        recipient_id=pairing.teacher.user_id,
        level=ReminderLevel.TEACHER,
        title=f"{pairing.student.name}:您{record.date:%m月%d日}的{kind}已解锁,可以修改"[:100],
        body=(
            f"学校资助专干已解锁您{record.date:%m月%d日}为{pairing.student.name}写的{kind},"
            f"{until:%m月%d日 %H:%M}前可以修改。解锁原因:{record.unlock_reason}"
        )[:500],
        link=reverse(detail, args=[record.pk]),
    )


# --- Answering a reminder ------------------------------------------------------------------------


def reminders_answer_talk(*, pairing_id: int, week_monday: dt.date) -> int:
    """Recording the missing week's talk answers its reminder. Called by the talk services in their
    transaction (never a signal: an import or a bulk write must answer it too)."""
    answered = Reminder.objects.filter(
        pairing_id=pairing_id, kind=ReminderKind.MISSED_TALK, period=week_monday, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    if answered:
        figures.touch_reminders()
    return answered


def reminders_answer_visit(*, student_id: int, term_id: int) -> int:
    """A visit to the student this term answers every visit reminder of the term, for any of the
    student's pairings (a teacher who took the student over owes no second visit)."""
    answered = Reminder.objects.filter(
        pairing__student_id=student_id, kind=ReminderKind.VISIT_DUE, term_id=term_id, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    if answered:
        figures.touch_reminders()
    return answered


@transaction.atomic
def reminder_acknowledge(*, reminder: Reminder, by: Any, note: str = "") -> Reminder:
    """The recipient says they have seen it (optionally why); it stops climbing."""
    locked = Reminder.objects.select_for_update().get(pk=reminder.pk)
    if locked.acknowledged_at is None:
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = by
        locked.acknowledgement = note[:200]
        locked.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement"])
        figures.touch_reminders()  # no longer open: the county page's escalated counts
    Notification.objects.filter(reminder=locked, recipient=by, read_at__isnull=True).update(read_at=timezone.now())
    return locked
