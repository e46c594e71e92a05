"""The sweep catches up: a morning when beat or the worker was down is made up by the next run, each
week as of its own first school day, exactly once, within REMINDER_CATCH_UP_WEEKS; and a run reports
the rows it wrote, week by week.

The world's term runs 2026-09-01..2027-01-22 and time stands on Monday 2026-11-16 (week 12).
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guidance.models import Notification, Reminder, ReminderKind, ReminderLevel, SweepOutcome, SweepRun
from guidance.reminders import find_due, sweep
from pairing.tests import factories as pf

from .factories import HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db
D = dt.date
MONDAY = D(2026, 11, 16)
TUESDAY = D(2026, 11, 17)


def swept_before(world, monday: dt.date) -> None:
    """The history of a deployment whose morning sweeps all ran until the week of ``monday``."""
    for week in world.term.school_weeks():
        if week.monday < monday:
            SweepRun.objects.create(
                week_monday=week.monday,
                term=world.term,
                first_school_day=week.school_days[0],
                swept_on=week.school_days[0],
                outcome=SweepOutcome.ON_TIME,
            )


def talk_every_week(world, pairing, until: dt.date, skip: set[dt.date] = frozenset()) -> None:
    for week in world.term.school_weeks():
        if week.monday < until and week.monday not in skip:
            TalkRecordFactory(pairing=pairing, date=week.school_days[0])


def keys(dues) -> list[tuple]:
    return [(d.pairing_id, d.kind, d.period, d.streak, d.level) for d in dues]


def test_a_morning_the_sweep_did_not_run_is_made_up_the_next_day_and_recorded_late(world, caplog):
    swept_before(world, MONDAY)  # the worker was down on Monday 11-16
    owed = find_due(on=MONDAY).due
    with caplog.at_level(logging.WARNING, logger="guidance.reminders"):
        result = sweep(on=TUESDAY)
    assert [(w.week.monday, w.outcome) for w in result.weeks] == [(MONDAY, SweepOutcome.LATE)]
    assert keys(result.due) == keys(owed) and len(owed) == 3  # every pairing missed 11-09
    assert set(Reminder.objects.values_list("period", flat=True)) == {D(2026, 11, 9)}
    run = SweepRun.objects.get(week_monday=MONDAY)
    assert (run.outcome, run.first_school_day, run.swept_on) == (SweepOutcome.LATE, MONDAY, TUESDAY)
    assert "done late" in caplog.text
    assert sweep(on=D(2026, 11, 18)).weeks == []  # and not again on Wednesday


def test_every_missed_week_is_swept_oldest_first_as_of_its_own_first_school_day(world):
    a1 = world.student_a1.pairings.get()
    for other in (world.student_a2, world.student_b1):
        talk_every_week(world, other.pairings.get(), MONDAY)
    talk_every_week(world, a1, MONDAY, skip={D(2026, 11, 2), D(2026, 11, 9)})
    swept_before(world, D(2026, 11, 9))  # down since Monday 11-09
    owed = {day: keys(find_due(on=day).due) for day in (D(2026, 11, 9), MONDAY)}
    result = sweep(on=MONDAY)
    assert [(w.week.monday, w.outcome) for w in result.weeks] == [
        (D(2026, 11, 9), SweepOutcome.LATE),
        (MONDAY, SweepOutcome.ON_TIME),
    ]
    assert [keys(w.due) for w in result.weeks] == [owed[D(2026, 11, 9)], owed[MONDAY]]
    # As of 11-09 a1 had missed one week; as of 11-16, two in a row: the officer is told too.
    assert list(Reminder.objects.filter(pairing=a1).order_by("period").values_list("period", "streak", "level")) == [
        (D(2026, 11, 2), 1, ReminderLevel.TEACHER),
        (D(2026, 11, 9), 2, ReminderLevel.OFFICER),
    ]
    assert [(w.reminders_created, w.notifications_created) for w in result.weeks] == [(1, 1), (1, 2)]
    assert (result.reminders_created, result.notifications_created) == (2, 3)


def test_a_run_killed_between_two_weeks_keeps_the_first_and_the_rerun_does_only_the_second(world, monkeypatch):
    import guidance.reminders as reminders

    swept_before(world, D(2026, 11, 9))
    real = reminders._notifications_for

    def dies_on_the_second_week(reminder, *args, **kwargs):
        if reminder.period == D(2026, 11, 9):
            raise RuntimeError("worker killed")
        return real(reminder, *args, **kwargs)

    monkeypatch.setattr(reminders, "_notifications_for", dies_on_the_second_week)
    with pytest.raises(RuntimeError):
        sweep(on=MONDAY)
    assert set(SweepRun.objects.filter(week_monday__gte=D(2026, 11, 9)).values_list("week_monday", flat=True)) == {
        D(2026, 11, 9)
    }
    assert set(Reminder.objects.values_list("period", flat=True)) == {D(2026, 11, 2)}  # the first week, whole
    first_week_notices = Notification.objects.count()
    monkeypatch.undo()
    rerun = sweep(on=MONDAY)
    assert [w.week.monday for w in rerun.weeks] == [MONDAY]
    assert rerun.reminders_created == 3 and Reminder.objects.count() == 6
    assert Notification.objects.count() == first_week_notices + rerun.notifications_created
    assert sweep(on=MONDAY).weeks == []  # a third run adds nothing


def test_on_first_deployment_weeks_older_than_the_catch_up_bound_are_skipped_with_a_warning(world, settings, caplog):
    assert settings.REMINDER_CATCH_UP_WEEKS == 2
    assert not SweepRun.objects.exists()  # never swept: as on the first deployment
    with caplog.at_level(logging.WARNING, logger="guidance.reminders"):
        result = sweep(on=MONDAY)
    swept = [w.week.monday for w in result.weeks if w.outcome != SweepOutcome.SKIPPED]
    assert swept == [D(2026, 11, 2), D(2026, 11, 9), MONDAY]  # this week and the two before
    skipped = set(SweepRun.objects.filter(outcome=SweepOutcome.SKIPPED).values_list("week_monday", flat=True))
    assert skipped == {w.monday for w in world.term.school_weeks() if w.monday < D(2026, 11, 2)}
    assert set(Reminder.objects.values_list("period", flat=True)) == {D(2026, 10, 26), D(2026, 11, 2), D(2026, 11, 9)}
    assert "skipped" in caplog.text and "2026-10-26" in caplog.text
    assert sweep(on=TUESDAY).weeks == []


def test_weeks_of_an_earlier_term_are_not_caught_up(world):
    spring = pf.TermFactory(
        school_year=world.term.school_year, number=2, start_date=D(2027, 2, 22), end_date=D(2027, 7, 9)
    )
    result = sweep(on=D(2027, 2, 23))
    assert [(w.term, w.week.monday, w.outcome) for w in result.weeks] == [(spring, D(2027, 2, 22), SweepOutcome.LATE)]
    assert not SweepRun.objects.filter(term=world.term).exists()


def test_a_day_with_nothing_due_still_records_its_week(world):
    for student in (world.student_a1, world.student_a2, world.student_b1):
        talk_every_week(world, student.pairings.get(), MONDAY)
    swept_before(world, MONDAY)
    result = sweep(on=MONDAY)
    assert result.due == [] and result.reason == "没有需要提醒的结对。"
    run = SweepRun.objects.get(week_monday=MONDAY)
    assert (run.outcome, run.reminders_created, run.notifications_created) == (SweepOutcome.ON_TIME, 0, 0)


def test_a_visit_made_since_the_missed_morning_is_not_reminded_about(world, time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 30, 8, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)
    fourth_last = world.term.school_weeks()[-4]  # the first week of visit reminders
    swept_before(world, fourth_last.monday)
    a1 = world.student_a1.pairings.get()
    HomeVisitFactory(pairing=a1, date=D(2026, 12, 29))  # after the week's first school day, before the run
    result = sweep(on=D(2026, 12, 30))
    assert [w.outcome for w in result.weeks] == [SweepOutcome.LATE]
    visit_due = {d.student_name for d in result.due if d.kind == ReminderKind.VISIT_DUE}
    assert visit_due == {"李小红", "王小刚"}
    assert not Reminder.objects.filter(pairing=a1, kind=ReminderKind.VISIT_DUE).exists()


def test_the_counts_are_the_rows_this_run_wrote_not_how_much_the_tables_grew(world, monkeypatch):
    """Another writer's rows landing between two table counts (a second worker on PostgreSQL, under
    READ COMMITTED) are not this run's: the wrapped bulk_create stands for that writer."""
    swept_before(world, MONDAY)
    a1 = world.student_a1.pairings.get()

    def meanwhile(manager, make):
        real = manager.bulk_create

        def bulk_create(objs, **kwargs):
            make()
            return real(objs, **kwargs)

        monkeypatch.setattr(manager, "bulk_create", bulk_create)

    meanwhile(
        Reminder.objects,
        lambda: Reminder.objects.create(
            pairing=a1, kind=ReminderKind.VISIT_DUE, period=D(2026, 10, 12), term=world.term
        ),
    )
    meanwhile(Notification.objects, lambda: Notification.objects.create(recipient=world.county, title="别处的通知"))
    result = sweep(on=MONDAY)
    assert result.reminders_created == 3 == Reminder.objects.filter(period=D(2026, 11, 9)).count()
    assert result.notifications_created == Notification.objects.filter(reminder__period=D(2026, 11, 9)).count()
    run = SweepRun.objects.get(week_monday=MONDAY)
    assert (run.reminders_created, run.notifications_created) == (3, result.notifications_created)


def test_the_dry_run_previews_the_catch_up_and_writes_nothing_not_even_the_weeks(world, capsys):
    swept_before(world, MONDAY)
    call_command("send_reminders", "--dry-run", "--date", "2026-11-17")
    out = capsys.readouterr().out
    assert "第12周(11.16-11.22) 补发" in out and "张小明" in out and "未写入任何内容" in out
    assert not SweepRun.objects.filter(week_monday=MONDAY).exists()
    assert not Reminder.objects.exists() and not Notification.objects.exists()
    call_command("send_reminders", "--date", "2026-11-17")
    out = capsys.readouterr().out
    notices = Notification.objects.count()
    assert f"应提醒3条;新建提醒3条,站内通知{notices}条" in out
    assert f"合计:1个教学周,共3条应提醒;新建提醒3条,站内通知{notices}条。" in out
    call_command("send_reminders", "--date", "2026-11-17")
    assert "已发送过" in capsys.readouterr().out


def test_a_catch_up_runs_the_same_queries_for_few_or_many_pairings(world):
    def two_weeks() -> int:
        SweepRun.objects.all().delete()
        Reminder.objects.all().delete()
        swept_before(world, D(2026, 11, 9))
        with CaptureQueriesContext(connection) as ctx:
            assert len(sweep(on=MONDAY).weeks) == 2
        return len(ctx.captured_queries)

    few = two_weeks()
    for _ in range(20):
        pf.PairingFactory(teacher__school=world.school_b)
    # Once: the term, its closures, the weeks done (3). Per week (26 today): its transaction and the
    # claim in a savepoint (5 with the commit), what it owed (find_due: 13), the reminders that existed
    # and their insert (2), the recipients (2), the reminders again, the notifications that existed and
    # their insert (3), the week's counts (1). find_due's share belongs to the compliance engine.
    assert two_weeks() == few < 70


def test_the_admin_lists_each_weeks_sweep_with_late_ones_marked_and_changes_nothing(client, world):
    swept_before(world, MONDAY)
    sweep(on=TUESDAY)
    client.force_login(world.admin)
    changelist = client.get(reverse("admin:guidance_sweeprun_changelist"), {"outcome": SweepOutcome.LATE})
    assert changelist.status_code == 200
    assert [run.week_monday for run in changelist.context["cl"].result_list] == [MONDAY]
    assert "补发(迟于第一个上课日)" in changelist.content.decode()
    run = SweepRun.objects.get(week_monday=MONDAY)
    assert client.get(reverse("admin:guidance_sweeprun_add")).status_code == 403
    assert client.post(reverse("admin:guidance_sweeprun_delete", args=[run.pk]), {"post": "yes"}).status_code == 403
    client.post(reverse("admin:guidance_sweeprun_change", args=[run.pk]), {"outcome": SweepOutcome.ON_TIME})
    run.refresh_from_db()
    assert run.outcome == SweepOutcome.LATE
