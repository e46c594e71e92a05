"""The reminder sweep: who missed last school week's talk, who has not visited this term yet.

``sweep(on=day)`` is what Celery beat runs each morning and ``manage.py send_reminders`` runs by
hand. It finds who is due with the compliance engine (a constant number of queries, no per-pairing
loop) and writes Reminder rows and in-app Notifications in ONE transaction:

- exactly once: each reminder is keyed by (pairing, kind, period) and each notification by
  (recipient, reminder, level) under unique constraints, written with ``ignore_conflicts``; a sweep
  run twice, or by two workers at once, adds nothing the second time;
- nothing partial: a sweep killed halfway rolls back whole, and running it again writes it all.

Rules (the mechanism's, with the county's configurable delays):
- A sweep only works on the first school day of a school week, inside a term; vacation and holiday
  weeks produce nothing, nor do ended pairings or students not 在校.
- Missed talk: the pairing's previous school week ended with no talk and no excuse. The teacher is
  told; from REMINDER_OFFICER_AFTER consecutive missed weeks (default 2) the school's officers too;
  from REMINDER_COUNTY_AFTER (default 4) the county centre.
- Home visit: from the 4th-last school week of the term, a pairing with no visit this term reminds
  its teacher weekly; in the last 2 weeks the officers are told too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from pairing.models import EnrollmentStatus, Pairing, Teacher, Term
from zaoyang_aid import calendar
from zaoyang_aid.access import Role

from .compliance import PairingCompliance, _SchoolWeeks, compliance_for, school_weeks_by_school
from .models import ExcusedWeek, HomeVisit, Notification, Reminder, ReminderKind, ReminderLevel, TalkRecord

VISIT_REMINDER_WEEKS = 4  # from the 4th-last school week of a term
VISIT_OFFICER_WEEKS = 2  # the last 2 school weeks also tell the officers


def officer_after() -> int:
    return int(getattr(settings, "REMINDER_OFFICER_AFTER", 2))


def county_after() -> int:
    return int(getattr(settings, "REMINDER_COUNTY_AFTER", 4))


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

    @property
    def title(self) -> str:
        if self.kind == ReminderKind.MISSED_TALK:
            weeks = f"已连续{self.streak}周" if self.streak > 1 else "上周"
            return f"{self.student_name}:{weeks}未记录谈心谈话"
        return f"{self.student_name}:本学期尚未家访"

    @property
    def body(self) -> str:
        if self.kind == ReminderKind.MISSED_TALK:
            return (
                f"帮扶教师{self.teacher_name},{self.period:%m月%d日}起的一周没有谈心谈话与学业辅导记录。"
                "请尽快补记,或与学校资助专干说明情况。"
            )
        return f"帮扶教师{self.teacher_name},本学期即将结束,请尽快完成家访并录入家访记录。"

    @property
    def link(self) -> str:
        if self.kind == ReminderKind.MISSED_TALK:
            return reverse("guidance:talk_create", args=[self.pairing_id])
        return f"{reverse('guidance:visit_create')}?pairing={self.pairing_id}"


@dataclass
class SweepResult:
    on: dt.date
    term: Term | None
    reason: str  # why nothing was due, when nothing was
    due: list[Due]
    reminders_created: int = 0
    notifications_created: int = 0


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


def _pairings() -> Any:
    return Pairing.objects.active().filter(student__enrollment_status=EnrollmentStatus.ENROLLED)


def _missed_streaks(
    missed: list[PairingCompliance], weeks_of: dict[int, _SchoolWeeks], term: Term, on: dt.date
) -> dict[int, tuple[int, int]]:
    """Per pairing that missed last week: (streak, climb). The streak is how many school weeks in a
    row it has missed; the climb is the part of it since a reminder was last acknowledged, which is
    what escalates (an acknowledged reminder stops climbing). 4 queries."""
    ids = [row.pairing_id for row in missed]
    covered: dict[int, set[dt.date]] = defaultdict(set)
    talks = TalkRecord.objects.filter(pairing_id__in=ids, term=term, date__lt=on).values_list(
        "pairing_id", "week_monday"
    )
    excused = ExcusedWeek.objects.filter(pairing_id__in=ids, week_monday__lt=on).values_list(
        "pairing_id", "week_monday"
    )
    for pairing_id, monday in [*talks.distinct(), *excused]:
        covered[pairing_id].add(monday)
    acknowledged: dict[int, set[dt.date]] = defaultdict(set)
    for pairing_id, monday in Reminder.objects.filter(
        pairing_id__in=ids, kind=ReminderKind.MISSED_TALK, acknowledged_at__isnull=False
    ).values_list("pairing_id", "period"):
        acknowledged[pairing_id].add(monday)
    starts = dict(Pairing.objects.filter(pk__in=ids).values_list("pk", "started_on"))
    this_monday = calendar.monday_of(on)
    result: dict[int, tuple[int, int]] = {}
    for row in missed:
        streak, climb, climbing = 0, 0, True
        for week in reversed(weeks_of[row.school_id].weeks):
            if week.monday >= this_monday:
                continue
            if week.school_days[-1] < starts[row.pairing_id] or week.monday in covered[row.pairing_id]:
                break
            streak += 1
            # The week just missed always counts; an older acknowledged week ends the climb.
            if streak > 1 and week.monday in acknowledged[row.pairing_id]:
                climbing = False
            climb += int(climbing)
        result[row.pairing_id] = (max(streak, 1), max(climb, 1))
    return result


def find_due(*, on: dt.date) -> SweepResult:
    """What a sweep on ``on`` owes, without writing anything (the dry run shows this).

    Queries: the term and its weeks (2), the compliance engine (5), the missed pairings' streaks (4),
    the names and teachers of the due pairings (1): the same for 10 pairings or 12,000.
    """
    term, reason = _sweep_week(on)
    if term is None:
        return SweepResult(on=on, term=None, reason=reason, due=[])
    rows = compliance_for(_pairings(), term=term, as_of=on)
    weeks_of = school_weeks_by_school(term, {r.school_id for r in rows.values()})
    missed = [r for r in rows.values() if r.last_week_missed]
    streaks = _missed_streaks(missed, weeks_of, term, on)
    visit_due: dict[int, ReminderLevel] = {}  # pairing -> level
    for row in rows.values():
        weeks = weeks_of[row.school_id].weeks
        left = sum(1 for w in weeks if w.monday >= calendar.monday_of(on))  # this week and the rest
        if not row.home_visit_done and 0 < left <= VISIT_REMINDER_WEEKS:
            visit_due[row.pairing_id] = ReminderLevel.OFFICER if left <= VISIT_OFFICER_WEEKS else ReminderLevel.TEACHER
    wanted = set(streaks) | set(visit_due)
    info = {
        p[0]: p
        for p in Pairing.objects.filter(pk__in=wanted).values_list(
            "pk", "teacher__user_id", "student_id", "student__name", "teacher__user__full_name", "student__school_id"
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


def _due(info: tuple[Any, ...], kind: str, period: dt.date, term: Term, streak: int, level: int) -> Due:
    pairing_id, teacher_user_id, student_id, student_name, teacher_name, school_id = info
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
    """Find who is due on ``on`` (today by default) and, unless ``dry_run``, write their reminders
    and notifications once. Safe to run again at any time: it adds only what is missing."""
    on = on or timezone.localdate()
    result = find_due(on=on)
    if dry_run or not result.due:
        return result
    with transaction.atomic():
        before = Reminder.objects.count()
        Reminder.objects.bulk_create(
            [
                Reminder(
                    pairing_id=d.pairing_id,
                    kind=d.kind,
                    period=d.period,
                    term_id=d.term_id,
                    streak=d.streak,
                    level=d.level,
                )
                for d in result.due
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
        result.reminders_created = Reminder.objects.count() - before
        keys = {(d.pairing_id, d.kind, d.period): d for d in result.due}
        periods = {d.period for d in result.due}
        reminders = Reminder.objects.filter(pairing_id__in={d.pairing_id for d in result.due}, period__in=periods)
        officers, county = _recipients(result.due)
        notifications: list[Notification] = []
        for reminder in reminders:
            d = keys.get((reminder.pairing_id, reminder.kind, reminder.period))
            if d is None:
                continue
            notifications += _notifications_for(reminder, d, officers, county)
        before = Notification.objects.count()
        Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=2000)
        result.notifications_created = Notification.objects.count() - before
    return result


def _notifications_for(
    reminder: Reminder, d: Due, officers: dict[int, list[int]], county: list[int]
) -> list[Notification]:
    def notice(user_id: int, level: int, title: str, link: str) -> Notification:
        return Notification(
            recipient_id=user_id, reminder=reminder, level=level, title=title[:100], body=d.body[:500], link=link
        )

    items = [notice(d.teacher_user_id, ReminderLevel.TEACHER, d.title, d.link)]
    timeline = reverse("guidance:timeline", args=[d.student_id])
    if d.level >= ReminderLevel.OFFICER:
        items += [notice(u, ReminderLevel.OFFICER, d.title, timeline) for u in officers.get(d.school_id, [])]
    if d.level >= ReminderLevel.COUNTY:
        items += [notice(u, ReminderLevel.COUNTY, d.title, timeline) for u in county]
    return items


# --- Answering a reminder ------------------------------------------------------------------------


@receiver(post_save, sender=TalkRecord, dispatch_uid="reminders-talk-answers")
def _talk_answers_reminder(sender: Any, instance: TalkRecord, raw: bool = False, **_: Any) -> None:
    """Recording the missing week's talk answers its reminder."""
    if raw:
        return
    Reminder.objects.filter(
        pairing_id=instance.pairing_id, kind=ReminderKind.MISSED_TALK, period=instance.week_monday
    ).filter(Q(resolved_at__isnull=True)).update(resolved_at=timezone.now())


@receiver(post_save, sender=HomeVisit, dispatch_uid="reminders-visit-answers")
def _visit_answers_reminder(sender: Any, instance: HomeVisit, raw: bool = False, **_: Any) -> None:
    """A visit this term answers every visit reminder of the term."""
    if raw:
        return
    Reminder.objects.filter(
        pairing_id=instance.pairing_id, kind=ReminderKind.VISIT_DUE, term_id=instance.term_id, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())


@transaction.atomic
def reminder_acknowledge(*, reminder: Reminder, by: Any, note: str = "") -> Reminder:
    """The recipient says they have seen it (optionally why); it stops climbing."""
    locked = Reminder.objects.select_for_update().get(pk=reminder.pk)
    if locked.acknowledged_at is None:
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = by
        locked.acknowledgement = note[:200]
        locked.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement"])
    Notification.objects.filter(reminder=locked, recipient=by, read_at__isnull=True).update(read_at=timezone.now())
    return locked
