"""预警 (issue 11, point 5): the signs that precede dropping out, found for the whole county at once.

Each sign has its threshold in WarningSettings (the county edits them). The nightly task calls
``warnings_refresh(on=...)``, which finds every student's signs in a fixed number of queries (no
query per student) and keeps WarningFlag episodes: a new one the first day a sign reaches its
threshold, its value kept current while it lasts, ended the day it falls below. The officer's 处理
(``warning_handle``: what was done) clears the flag until the sign returns. Run twice on a day, or
again after dying halfway (one transaction), it changes nothing more and notifies no one twice.

The signs, each shown with its value and threshold in words, never as a bare score:
- 漏记谈心: the term's missed weeks by the compliance engine (the one rule of who owes a talk);
- 未按期家访: last term ended without the student's visit, or this term's is overdue by the
  reminders' own rule (guidance.reminders.visit_due_level) at the officer's level;
- 成绩下滑: the mean of the latest term's results against the term before, out of 100;
- 谈心记录显示厌学或情绪低落: a county keyword in the latest talks' 学生状态, 发现的问题 or content
  (talk records, which the paired teacher and the officer read; counselling records are never read
  here, so no reason shown to anyone carries a counsellor's note);
- 家庭变故: a FamilyEvent within the county's number of days;
- 本月缺勤: days absent without leave this month (the teachers' 缺勤登记, casefiles/dropouts.py).
Only students 在校 today are looked at: a dropout is the 劝返 ledger's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, DecimalField, ExpressionWrapper, F, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from guidance.compliance import compliance_for, school_weeks_by_school
from guidance.models import Notification, ReminderLevel, TalkRecord
from guidance.reminders import school_weeks_left, visit_due_level
from pairing.models import EnrollmentStatus, Pairing, Student, Term
from zaoyang_aid import audit, marks
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.models import AuditAction

from .dropout_selectors import days_without_leave_in_month
from .filters import WarningFlagFilter
from .models import FamilyEvent, TermResult, WarningFlag, WarningSettings, WarningSign

MOOD_LOOKBACK_DAYS = 60  # a talk older than this is not "the latest talks", however few there are
MOOD_FIELDS = ("student_state", "problems", "content")


def warning_settings() -> WarningSettings:
    """The county's thresholds (the row is made with the defaults the first time it is asked for)."""
    settings_row, _ = WarningSettings.objects.get_or_create(pk=1)
    return settings_row


def warning_settings_update(*, by: Any, **values: Any) -> WarningSettings:
    """Change the thresholds (the county's page): checked, saved, audited with what changed."""
    with transaction.atomic():
        row = WarningSettings.objects.select_for_update().get(pk=warning_settings().pk)
        before = {name: getattr(row, name) for name in values}
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_by = by
        row.full_clean()
        row.save()
        changes: dict[str, Any] = {
            str(WarningSettings._meta.get_field(name).verbose_name): [str(before[name]), str(value)]  # type: ignore[union-attr]
            for name, value in values.items()
            if before[name] != value
        }
        if changes:
            audit.record(AuditAction.UPDATE, obj=row, changes=changes)
    return row


# --- Finding the signs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sign:
    student_id: int
    sign: WarningSign
    value: str  # in words, with the threshold


def _missed_and_visits(on: dt.date, rules: WarningSettings) -> list[Sign]:
    """漏记谈心 and 未按期家访, from the compliance engine: this term's missed weeks and the visit the
    reminders' own rule says is overdue (the last school weeks and none yet), over the pairings
    owing today; and last term's visit that never happened (a term the student owed weeks in and
    ended without one), over the pairings active at its end."""
    term = Term.objects.select_related("school_year").containing(on).first()
    if term is None:  # a vacation: nothing is owed, nothing is missed
        return []
    rows = compliance_for(Pairing.objects.owing(on), term=term, as_of=on)
    weeks_of = school_weeks_by_school(term, {r.school_id for r in rows.values()})
    signs: list[Sign] = []
    for row in rows.values():
        if row.missed_weeks >= rules.missed_weeks:
            signs.append(
                Sign(
                    row.student_id,
                    WarningSign.MISSED_TALKS,
                    f"本学期漏记谈心{row.missed_weeks}周(阈值{rules.missed_weeks}周)",
                )
            )
        weeks = weeks_of[row.school_id].weeks
        if visit_due_level(row, weeks, on) == ReminderLevel.OFFICER:
            left = school_weeks_left(weeks, on)
            signs.append(Sign(row.student_id, WarningSign.MISSED_VISIT, f"本学期尚未家访,距学期结束仅剩{left}个教学周"))
    previous = (
        Term.objects.select_related("school_year").filter(end_date__lt=term.start_date).order_by("-start_date").first()
    )
    if previous is not None:
        owing_now = {row.student_id for row in rows.values()}
        last_term = compliance_for(Pairing.objects.active(previous.end_date), term=previous, as_of=previous.end_date)
        missed = {r.student_id for r in last_term.values() if r.expected_weeks and not r.home_visit_done}
        flagged = {s.student_id for s in signs if s.sign == WarningSign.MISSED_VISIT}
        signs += [
            Sign(student_id, WarningSign.MISSED_VISIT, f"{previous.name}未家访")
            for student_id in sorted((missed & owing_now) - flagged)
        ]
    return signs


def _result_drops(on: dt.date, rules: WarningSettings) -> list[Sign]:
    """成绩下滑: per student and term, the mean of the results out of 100 (one grouped query); the latest
    term with results, if it is this term or the one before, against the term before it."""
    recent = Term.objects.filter(start_date__lte=on).order_by("-start_date").values_list("pk", flat=True)[:2]
    percent = ExpressionWrapper(F("score") * 100 / F("full_marks"), output_field=DecimalField())
    means = (
        TermResult.objects.values("student_id", "term_id", "term__start_date")
        .annotate(mean=Avg(percent))
        .order_by("student_id", "term__start_date")
    )
    by_student: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for row in means:
        by_student[row["student_id"]].append((row["term_id"], Decimal(row["mean"])))
    latest_terms = set(recent)
    signs = []
    for student_id, terms in by_student.items():
        if len(terms) < 2 or terms[-1][0] not in latest_terms:
            continue
        before, now = terms[-2][1], terms[-1][1]
        drop = before - now
        if drop >= rules.result_drop_points:
            signs.append(
                Sign(
                    student_id,
                    WarningSign.RESULT_DROP,
                    f"平均成绩由{before:.1f}降至{now:.1f}(下降{drop:.1f}分,阈值{rules.result_drop_points:g}分)",
                )
            )
    return signs


def _mood(on: dt.date, rules: WarningSettings) -> list[Sign]:
    """A county keyword in one of the student's latest talks (at most ``mood_talks`` of them, none
    older than MOOD_LOOKBACK_DAYS): one query, ranked in the database."""
    keywords = rules.keywords
    if not keywords:
        return []
    ranked = (
        TalkRecord.objects.filter(date__lte=on, date__gt=on - dt.timedelta(days=MOOD_LOOKBACK_DAYS))
        .annotate(
            student_id=F("pairing__student_id"),
            recent=Window(
                RowNumber(), partition_by=[F("pairing__student_id")], order_by=[F("date").desc(), F("pk").desc()]
            ),
        )
        .filter(recent__lte=rules.mood_talks)
        .values_list("student_id", *MOOD_FIELDS)
    )
    found: dict[int, list[str]] = {}
    for student_id, *texts in ranked.iterator(chunk_size=5000):
        text = "\n".join(texts)
        hits = [k for k in keywords if k in text]
        if hits:
            seen = found.setdefault(student_id, [])
            seen.extend(k for k in hits if k not in seen)
    return [
        Sign(
            student_id,
            WarningSign.MOOD,
            f"最近{rules.mood_talks}次谈心记录出现:"
            + "、".join(f"“{k}”" for k in hits[:3])
            + ("等" if len(hits) > 3 else ""),
        )
        for student_id, hits in found.items()
    ]


def _family_events(on: dt.date, rules: WarningSettings) -> list[Sign]:
    since = on - dt.timedelta(days=rules.family_event_days)
    latest: dict[int, FamilyEvent] = {}
    for event in FamilyEvent.objects.filter(occurred_on__gt=since, occurred_on__lte=on).order_by("occurred_on", "pk"):
        latest[event.student_id] = event
    return [
        Sign(
            student_id,
            WarningSign.FAMILY_EVENT,
            f"{event.get_kind_display()}({event.occurred_on:%Y年%-m月%-d日},{rules.family_event_days}天内)",
        )
        for student_id, event in latest.items()
    ]


def _absences(on: dt.date, rules: WarningSettings) -> list[Sign]:
    """本月缺勤: the days absent without leave in ``on``'s month, from the teachers' 缺勤登记 (the
    疑似辍学 ledger's own count, one query)."""
    return [
        Sign(student_id, WarningSign.ABSENCE, f"本月无故缺勤{days}天(阈值{rules.absence_days}天)")
        for student_id, days in days_without_leave_in_month(on).items()
        if days >= rules.absence_days
    ]


SIGN_FINDERS = (_missed_and_visits, _result_drops, _mood, _family_events, _absences)


def signs_on(on: dt.date, rules: WarningSettings | None = None) -> dict[tuple[int, str], str]:
    """(student id, sign) -> value in words, for every student 在校 today past a threshold."""
    rules = rules or warning_settings()
    found: dict[tuple[int, str], str] = {}
    for finder in SIGN_FINDERS:
        for sign in finder(on, rules):
            found[(sign.student_id, sign.sign)] = sign.value
    enrolled = set(
        Student.objects.filter(pk__in={s for s, _ in found}, enrollment_status=EnrollmentStatus.ENROLLED).values_list(
            "pk", flat=True
        )
    )
    return {key: value for key, value in found.items() if key[0] in enrolled}


# --- Keeping the flags -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshResult:
    on: dt.date
    raised: int
    updated: int
    ended: int
    notified: int


def warnings_refresh(*, on: dt.date | None = None) -> RefreshResult:
    """The nightly check: raise, update and end the flags for ``on`` (default today), and tell each
    school's officers how many students were newly flagged and each 包保 teacher which of hers, once
    a day (Notification.source_key); ``notified`` counts both."""
    on = on or timezone.localdate()
    present = signs_on(on)
    with transaction.atomic():
        current = {(f.student_id, f.sign): f for f in WarningFlag.objects.current().select_for_update()}
        new = [
            WarningFlag(student_id=student_id, sign=sign, value=value[:100], raised_on=on, seen_on=on)
            for (student_id, sign), value in present.items()
            if (student_id, sign) not in current
        ]
        WarningFlag.objects.bulk_create(new, batch_size=2000)
        changed = []
        for key, flag in current.items():
            if key in present and (flag.value != present[key][:100] or flag.seen_on != on):
                flag.value, flag.seen_on = present[key][:100], on
                changed.append(flag)
        WarningFlag.objects.bulk_update(changed, ["value", "seen_on"], batch_size=2000)
        gone = [flag.pk for key, flag in current.items() if key not in present]
        WarningFlag.objects.filter(pk__in=gone).update(ended_on=on)
        notified = _notify_officers({f.student_id for f in new}, on) + _notify_teachers(new, on)
    return RefreshResult(on=on, raised=len(new), updated=len(changed), ended=len(gone), notified=notified)


def _notify_officers(student_ids: Iterable[int], on: dt.date) -> int:
    """One notice per officer of each school with newly flagged students: 2 queries."""
    per_school: dict[int, int] = defaultdict(int)
    for school_id in Student.objects.filter(pk__in=set(student_ids)).values_list("school_id", flat=True):
        per_school[school_id] += 1
    if not per_school:
        return 0
    from django.contrib.auth import get_user_model

    officers = (
        get_user_model()
        .objects.filter(role=Role.OFFICER, is_active=True, teacher__school_id__in=per_school)
        .values_list("pk", "teacher__school_id")
    )
    link = reverse("casefiles:warning_list")
    notices = [
        Notification(
            recipient_id=user_id,
            level=ReminderLevel.OFFICER,
            title=f"预警:新增{per_school[school_id]}名学生出现辍学前兆",
            body="请查看各项预警信号及其数值,与包保教师商定措施并登记处理情况。",
            link=link,
            source_key=f"warning-new:{on:%Y-%m-%d}",
        )
        for user_id, school_id in officers
    ]
    Notification.objects.bulk_create(notices, ignore_conflicts=True)
    return len(notices)


def _notify_teachers(new: list[WarningFlag], on: dt.date) -> int:
    """One notice a night to each teacher who 包保 a newly flagged student, naming the students and
    their signs (the words shown on her card; never a counsellor's note). 1 query and 1 insert."""
    if not new:
        return 0
    signs: dict[int, list[str]] = defaultdict(list)
    for flag in new:
        signs[flag.student_id].append(WarningSign(flag.sign).label)
    paired: dict[int, list[str]] = defaultdict(list)
    for user_id, student_id, name in Pairing.objects.filter(
        student_id__in=signs, ended_on__isnull=True, teacher__user__is_active=True
    ).values_list("teacher__user_id", "student_id", "student__name"):
        paired[user_id].append(f"{name}({'、'.join(signs[student_id])})")
    notices = [
        Notification(
            recipient_id=user_id,
            level=ReminderLevel.TEACHER,
            title=f"预警:您包保的{len(students)}名学生出现辍学前兆"[:100],
            body=("、".join(students) + "。请留意并与资助专干商定帮扶措施。")[:500],
            link=reverse("guidance:my_students"),
            source_key=f"warning-new-paired:{on:%Y-%m-%d}",
        )
        for user_id, students in paired.items()
    ]
    Notification.objects.bulk_create(notices, ignore_conflicts=True)
    return len(notices)


def warning_handle(*, flag: WarningFlag, by: Any, action: str) -> WarningFlag:
    """The officer records what was done: the flag is cleared until its sign returns. Audited."""
    action = action.strip()
    if not action:
        raise ValidationError({"action": "请填写采取的措施。"})
    with transaction.atomic():
        flag = WarningFlag.objects.select_for_update().get(pk=flag.pk)
        if flag.handled_at is not None:
            raise ValidationError("该预警已由他人登记处理,请刷新页面。", code="stale")
        if flag.ended_on is not None:
            raise ValidationError("该预警信号已消失,无需处理。", code="ended")
        flag.handled_at, flag.handled_by, flag.action = timezone.now(), by, action[:500]
        flag.save(update_fields=["handled_at", "handled_by", "action"])
        audit.record(
            AuditAction.UPDATE,
            obj=flag,
            student_id=flag.student_id,
            changes={"预警处理": [None, f"{flag.get_sign_display()}:{flag.action}"]},
        )
    return flag


def family_event_record(
    *, student: Student, kind: str, occurred_on: dt.date, note: str, by: Any, today: dt.date | None = None
) -> FamilyEvent:
    """A family event (家庭变故), from the teacher's or the officer's form. Audited as created."""
    today = today or timezone.localdate()
    if occurred_on > today:
        raise ValidationError({"occurred_on": "发生日期不能晚于今天。"})
    event = FamilyEvent(student=student, kind=kind, occurred_on=occurred_on, note=note.strip(), recorded_by=by)
    event.full_clean()
    with transaction.atomic():
        event.save()
        audit.record(
            AuditAction.CREATE,
            obj=event,
            student_id=student.pk,
            changes={"家庭变故": [None, f"{event.get_kind_display()} {occurred_on}"]},
        )
    return event


def student_marks(reader: Any, student_ids: Collection[int]) -> dict[int, list[marks.Mark]]:
    """The open flags of these students that the reader may see (one query), as marks for the teacher's
    card and the officer's dashboard (zaoyang_aid.marks). The officer's mark links to its 处理."""
    officer = scope_of(reader).role == Role.OFFICER
    found: dict[int, list[marks.Mark]] = defaultdict(list)
    flags = WarningFlag.objects.visible_to(reader).open().filter(student_id__in=set(student_ids)).order_by("sign", "pk")
    for flag in flags:
        link = reverse("casefiles:warning_handle", args=[flag.pk]) if officer else ""
        found[flag.student_id].append(marks.Mark(f"预警·{flag.get_sign_display()}", flag.value, link))
    return found


def warning_flags_filter(user: Any, data: Any) -> WarningFlagFilter:
    """预警学生's FilterSet over the flags the reader sees: the page and the report alike. Ordered
    unhandled first, newest first; one query a page (student, school, handler joined)."""
    flags = WarningFlag.objects.visible_to(user).select_related("student__school", "handled_by")
    ordered = flags.order_by(F("handled_at").asc(nulls_first=True), "-raised_on", "student__name", "pk")
    return WarningFlagFilter(data, queryset=ordered, request_user=user)
