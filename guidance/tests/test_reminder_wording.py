"""Each reader reads a reminder in their own words: the teacher is spoken to ("您…"), the officer is
told which teacher and student (and never to report to the 资助专干, herself), the county which school.

The world's Monday 2026-11-16; the sweep is about the school week of 2026-11-09.
"""

from __future__ import annotations

import datetime as dt

import pytest

from guidance.models import Notification, ReminderLevel
from guidance.reminders import sweep
from pairing.tests import factories as pf
from zaoyang_aid.access import Role

from .factories import TalkRecordFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_week_sweeps")]
D = dt.date
MONDAY = D(2026, 11, 16)


def talk_every_week_until(world, pairing, until: dt.date) -> None:
    for week in world.term.school_weeks():
        if week.monday < until:
            TalkRecordFactory(pairing=pairing, date=week.school_days[0])


def notices_of(world, until: dt.date) -> dict[int, Notification]:
    """Sweep with 张小明's talks stopping before ``until`` (every other pairing up to date)."""
    a1, a2, b1 = (s.pairings.get() for s in (world.student_a1, world.student_a2, world.student_b1))
    talk_every_week_until(world, a1, until)
    talk_every_week_until(world, a2, MONDAY)
    talk_every_week_until(world, b1, MONDAY)
    sweep(on=MONDAY)
    return {n.level: n for n in Notification.objects.filter(reminder__pairing=a1)}


def test_the_teacher_reads_about_herself_in_the_second_person(world):
    notice = notices_of(world, D(2026, 11, 9))[ReminderLevel.TEACHER]
    assert notice.recipient == world.teacher_a1
    assert notice.title == "张小明:您上周未记录谈心谈话"
    assert notice.body.startswith("您11月09日起的一周没有为张小明记录")
    assert "帮扶教师" not in notice.body and world.teacher_a1.full_name not in notice.body


def test_the_officer_is_told_which_teacher_and_student_and_not_to_report_to_herself(world):
    notice = notices_of(world, D(2026, 11, 2))[ReminderLevel.OFFICER]  # two weeks missed
    teacher = world.teacher_a1.full_name
    assert notice.recipient == world.officer_a
    assert notice.title == f"{teacher}老师·张小明:已连续2周未记录谈心谈话"
    assert teacher in notice.body and "张小明" in notice.body
    assert "资助专干" not in notice.title + notice.body and "您" not in notice.body


def test_the_county_is_told_the_school_the_teacher_and_the_student(world):
    notice = notices_of(world, D(2026, 10, 19))[ReminderLevel.COUNTY]  # four weeks missed
    teacher = world.teacher_a1.full_name
    assert notice.recipient == world.county
    assert notice.title == f"枣阳市第一中学{teacher}老师·张小明:已连续4周未记录谈心谈话"
    assert "枣阳市第一中学" in notice.body and "已连续4周" in notice.body


def test_an_officer_who_pairs_is_not_told_to_explain_herself_to_the_officer(world):
    a1 = world.student_a1.pairings.get()
    officer = pf.OfficerFactory(school=world.school_a)
    a1.teacher = officer
    a1.save(update_fields=["teacher"])
    assert officer.user.role == Role.OFFICER
    notice = notices_of(world, D(2026, 11, 9))[ReminderLevel.TEACHER]
    assert notice.recipient == officer.user and notice.title == "张小明:您上周未记录谈心谈话"
    assert "资助专干" not in notice.body


def test_a_visit_reminder_speaks_to_the_teacher_and_names_her_to_the_officer(world, time_machine):
    # The term's last school weeks: 2027-01-11 is the second-last; nobody has visited.
    day = D(2027, 1, 11)
    time_machine.move_to(dt.datetime(2027, 1, 11, 8, 0, tzinfo=dt.UTC), tick=False)
    a1 = world.student_a1.pairings.get()
    for pairing in (a1, world.student_a2.pairings.get(), world.student_b1.pairings.get()):
        talk_every_week_until(world, pairing, day)
    sweep(on=day)
    by_level = {n.level: n for n in Notification.objects.filter(reminder__pairing=a1, reminder__kind="visit_due")}
    assert by_level[ReminderLevel.TEACHER].title == "张小明:您本学期尚未家访"
    assert "请您尽快完成对张小明的家访" in by_level[ReminderLevel.TEACHER].body
    officer = by_level[ReminderLevel.OFFICER]
    assert officer.title == f"{world.teacher_a1.full_name}老师·张小明:本学期尚未家访"
    assert "资助专干" not in officer.body


def test_an_officer_who_pairs_is_not_asked_to_urge_herself(world):
    a1 = world.student_a1.pairings.get()
    officer = pf.OfficerFactory(school=world.school_a)
    a1.teacher = officer
    a1.save(update_fields=["teacher"])
    notices = notices_of(world, D(2026, 11, 2))  # two weeks missed: the school's officers are told
    assert notices[ReminderLevel.TEACHER].recipient == officer.user
    assert notices[ReminderLevel.OFFICER].recipient == world.officer_a  # the other officer only
    assert Notification.objects.filter(recipient=officer.user).count() == 1
