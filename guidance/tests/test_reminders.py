"""The reminder sweep: who is told what, exactly once, and nothing in vacations.

The world's term runs 2026-09-01..2027-01-22; 2026-11-16 and 2026-11-23 are Mondays of school weeks.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guidance.models import Notification, Reminder, ReminderKind, ReminderLevel, SweepRun
from guidance.reminders import find_due, reminder_acknowledge, sweep
from guidance.services import talk_record_create, talk_record_delete
from pairing.models import EnrollmentStatus
from pairing.services import student_status_change
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_week_sweeps")]
D = dt.date
MONDAY = D(2026, 11, 16)


def weeks(world):
    return world.term.school_weeks()


def talk_every_week(world, pairing, until: dt.date, skip: set[dt.date] = frozenset()) -> None:
    for week in weeks(world):
        if week.monday < until and week.monday not in skip:
            TalkRecordFactory(pairing=pairing, date=week.school_days[0])


def visit(pairing):
    HomeVisitFactory(pairing=pairing, date=D(2026, 10, 16))


def test_a_teacher_who_missed_last_week_is_reminded_and_nobody_else(world):
    a1, a2, b1 = (s.pairings.get() for s in (world.student_a1, world.student_a2, world.student_b1))
    talk_every_week(world, a1, MONDAY, skip={D(2026, 11, 9)})  # a1 missed only last week
    talk_every_week(world, a2, MONDAY)
    talk_every_week(world, b1, MONDAY)
    result = sweep(on=MONDAY)
    assert [(d.pairing_id, d.kind, d.period, d.streak, d.level) for d in result.due] == [
        (a1.pk, ReminderKind.MISSED_TALK, D(2026, 11, 9), 1, ReminderLevel.TEACHER)
    ]
    notice = Notification.objects.get()
    assert notice.recipient == world.teacher_a1
    # "去处理" opens the talk form for the missed week (11-09), not this one.
    assert "张小明" in notice.title and notice.link.endswith(f"/pairings/{a1.pk}/talks/new/?week=2026-11-09")


def test_a_second_missed_week_also_tells_the_schools_officer_and_the_fourth_the_county(world):
    a1 = world.student_a1.pairings.get()
    talk_every_week(world, a1, D(2026, 11, 2))  # missed 11-02 and 11-09: two in a row
    sweep(on=MONDAY)
    reminder = Reminder.objects.get(pairing=a1)
    assert (reminder.streak, reminder.level) == (2, ReminderLevel.OFFICER)
    assert set(Notification.objects.filter(reminder=reminder).values_list("recipient", "level")) == {
        (world.teacher_a1.pk, ReminderLevel.TEACHER),
        (world.officer_a.pk, ReminderLevel.OFFICER),
    }
    Reminder.objects.all().delete()
    SweepRun.objects.all().delete()  # forget the week's sweep, so that it runs again
    for talk in a1.talks.filter(date__gte=D(2026, 10, 19)):  # now 10-19 to 11-09 missed: four in a row
        talk_record_delete(record=talk, by=world.admin)
    sweep(on=MONDAY)
    assert Reminder.objects.get(pairing=a1).level == ReminderLevel.COUNTY
    assert Notification.objects.filter(recipient=world.county, level=ReminderLevel.COUNTY).exists()


def test_an_acknowledged_reminder_stops_the_climb(world):
    a1 = world.student_a1.pairings.get()
    talk_every_week(world, a1, D(2026, 11, 9))  # missed 11-09
    sweep(on=MONDAY)
    reminder_acknowledge(reminder=Reminder.objects.get(pairing=a1), by=world.teacher_a1, note="学生生病请假")
    sweep(on=D(2026, 11, 23))  # missed 11-16 too: two in a row, but the first was acknowledged
    newest = Reminder.objects.get(pairing=a1, period=MONDAY)
    assert (newest.streak, newest.level) == (2, ReminderLevel.TEACHER)


def test_running_the_sweep_twice_sends_each_reminder_once(world):
    a1 = world.student_a1.pairings.get()
    first = sweep(on=MONDAY)
    second = sweep(on=MONDAY)
    assert first.reminders_created == 3 and first.notifications_created >= 3
    assert (second.reminders_created, second.notifications_created) == (0, 0)
    assert Reminder.objects.filter(pairing=a1).count() == 1


def test_a_sweep_killed_halfway_leaves_nothing_and_the_rerun_writes_it_all(world, monkeypatch):
    import guidance.reminders as reminders

    def dies(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(reminders, "_notifications_for", dies)
    with pytest.raises(RuntimeError):
        sweep(on=MONDAY)
    assert not Reminder.objects.exists() and not Notification.objects.exists()
    monkeypatch.undo()
    result = sweep(on=MONDAY)
    assert result.reminders_created == 3
    assert Notification.objects.count() == result.notifications_created


def test_nothing_is_sent_in_a_vacation_or_a_holiday_week(world):
    assert sweep(on=D(2027, 2, 1)).due == []  # winter vacation: outside any term
    assert sweep(on=D(2026, 10, 5)).due == []  # National Day: the week's first school day is 10-08
    assert "第一个上课日" in sweep(on=D(2026, 10, 5)).reason
    assert not Reminder.objects.exists()


def test_a_week_swept_on_its_first_school_day_sends_nothing_more_midweek(world):
    sweep(on=MONDAY)
    again = sweep(on=D(2026, 11, 18))  # a Wednesday
    assert (again.due, again.weeks, again.reminders_created) == ([], [], 0)
    assert "已发送过" in again.reason


def test_the_week_after_national_day_is_swept_on_its_first_school_day(world):
    result = sweep(on=D(2026, 10, 8))  # Thursday after the holiday: the week of 10-05's first school day
    assert {d.period for d in result.due} == {D(2026, 9, 28)}


def test_ended_pairings_and_students_not_at_school_are_not_reminded(world):
    a1 = world.student_a1.pairings.get()
    a1.ended_on, a1.end_reason = D(2026, 11, 10), "transfer"
    a1.save()
    student_status_change(
        student=world.student_a2,
        status=EnrollmentStatus.SUSPENDED,
        on=D(2026, 11, 2),
        reason="病休",
        by=world.officer_a,
    )
    assert {d.student_name for d in find_due(on=MONDAY).due} == {"王小刚"}


def test_an_excused_week_is_not_a_missed_week(world):
    a1 = world.student_a1.pairings.get()
    talk_every_week(world, a1, D(2026, 11, 9))
    ExcusedWeekFactory(pairing=a1, week_monday=D(2026, 11, 9), excused_by=world.officer_a)
    assert a1.pk not in {d.pairing_id for d in find_due(on=MONDAY).due}


def test_a_pairing_that_started_mid_last_week_owes_it(world):
    pairing = pf.PairingFactory(teacher__school=world.school_a, started_on=D(2026, 11, 12))
    assert (pairing.pk, 1) in {(d.pairing_id, d.streak) for d in find_due(on=MONDAY).due}
    late = pf.PairingFactory(teacher__school=world.school_a, started_on=D(2026, 11, 14))  # a Saturday
    assert late.pk not in {d.pairing_id for d in find_due(on=MONDAY).due}


def test_recording_the_missing_talk_answers_the_reminder(world):
    a1 = world.student_a1.pairings.get()
    sweep(on=MONDAY)
    talk_record_create(
        pairing=a1,
        recorded_by=world.teacher_a1,
        date=D(2026, 11, 12),
        duration_minutes=30,
        content="补记上周谈话。",
        student_state="情绪稳定。",
        tracks=["track_study"],
        help_forms=["form_talk"],
    )
    assert Reminder.objects.get(pairing=a1).resolved_at is not None


def test_visits_are_reminded_in_the_last_four_weeks_and_officers_told_in_the_last_two(world):
    term_weeks = weeks(world)
    a1, a2 = world.student_a1.pairings.get(), world.student_a2.pairings.get()
    visit(a2)
    fourth_last, last = term_weeks[-4], term_weeks[-1]
    early = find_due(on=term_weeks[-5].school_days[0])
    assert ReminderKind.VISIT_DUE not in {d.kind for d in early.due}
    due = {
        (d.pairing_id, d.level) for d in find_due(on=fourth_last.school_days[0]).due if d.kind == ReminderKind.VISIT_DUE
    }
    assert (a1.pk, ReminderLevel.TEACHER) in due and a2.pk not in {p for p, _ in due}
    due = {(d.pairing_id, d.level) for d in find_due(on=last.school_days[0]).due if d.kind == ReminderKind.VISIT_DUE}
    assert (a1.pk, ReminderLevel.OFFICER) in due


def test_detection_runs_a_fixed_number_of_queries(world):
    for _ in range(3):
        pf.PairingFactory(teacher__school=world.school_a)
    find_due(on=MONDAY)  # warm: the term calendar is read once per change (pairing/calendars.py)
    with CaptureQueriesContext(connection) as few:
        find_due(on=MONDAY)
    for _ in range(20):
        pf.PairingFactory(teacher__school=world.school_b)
    with CaptureQueriesContext(connection) as many:
        find_due(on=MONDAY)
    assert len(few) == len(many) < 20


def test_the_dry_run_lists_who_would_be_told_and_changes_nothing(world, capsys):
    call_command("send_reminders", "--dry-run", "--date", "2026-11-16")
    out = capsys.readouterr().out
    assert "张小明" in out and "未写入任何内容" in out
    assert not Reminder.objects.exists() and not Notification.objects.exists()
    call_command("send_reminders", "--date", "2026-11-16")
    assert Reminder.objects.count() == 3


def test_a_bad_date_is_refused_in_chinese(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_reminders", "--date", "16/11/2026")
