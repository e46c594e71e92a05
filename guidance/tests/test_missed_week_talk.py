""" "去处理" on a missed-talk reminder opens the talk form for the missed week, not this one: the date
is pre-filled with that week's last school day so far and a note says which week is being made up.

The world stands on Monday 2026-11-16 10:00, school week 12; week 11 (11-09..11-15) was missed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from guidance.models import Notification, Reminder, ReminderKind
from guidance.reminders import sweep

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_week_sweeps")]
MONDAY = dt.date(2026, 11, 16)


def talk_data(day: str) -> dict:
    return {
        "date": day,
        "duration_minutes": "30",
        "help_forms": ["form_talk"],
        "tracks": ["track_study"],
        "content": "补记上周的谈话:一起分析数学错题。",
        "student_state": "情绪稳定。",
        "problems": "函数部分基础薄弱。",
        "measures": "每周二课后辅导半小时。",
        "next_steps": "下周检查错题本。",
    }


@pytest.fixture
def reminded(world):
    sweep(on=MONDAY)  # nobody recorded anything: every pairing missed week 11
    return world


def test_the_missed_week_reminder_opens_the_talk_form_on_that_week(client, reminded):
    a1 = reminded.student_a1.pairings.get()
    notice = Notification.objects.get(recipient=reminded.teacher_a1)
    assert notice.link == f"{reverse('guidance:talk_create', args=[a1.pk])}?week=2026-11-09"
    client.force_login(reminded.teacher_a1)
    response = client.get(notice.link)
    assert response.status_code == 200
    assert response.context["form"].initial["date"] == dt.date(2026, 11, 13)  # its Friday
    assert "补记第11周(11.09-11.15)的谈心谈话" in response.content.decode()


def test_the_first_week_of_a_term_that_starts_midweek_is_found_too(client, world):
    a1 = world.student_a1.pairings.get()
    client.force_login(world.teacher_a1)
    form = client.get(reverse("guidance:talk_create", args=[a1.pk]), {"week": "2026-08-31"}).context["form"]
    assert form.initial["date"] == dt.date(2026, 9, 4)  # the term starts on Tuesday 09-01
    # Week 1 is long past the open window (this and last school week): the note says so (issue 7).
    assert form.catch_up_note.startswith("第1周(08.31-09.06)已过补记期限")


@pytest.mark.parametrize(
    "week",
    [
        "nonsense",
        "2026-11-10",  # a Tuesday
        "2026-11-16",  # this week: nothing to make up
        "2026-11-23",  # next week
        "2026-07-06",  # the summer vacation
        "2027-03-01",  # a term that does not exist yet
        "2026-08-24",  # before the term and the pairing
        "2026-11-09' OR 1=1",
    ],
)
def test_a_bad_week_is_ignored_and_the_form_opens_on_today(client, world, week):
    a1 = world.student_a1.pairings.get()
    client.force_login(world.teacher_a1)
    response = client.get(reverse("guidance:talk_create", args=[a1.pk]), {"week": week})
    assert response.status_code == 200
    assert response.context["form"].initial["date"] == MONDAY
    assert "补记" not in response.content.decode()


def test_saving_the_missed_weeks_talk_through_the_form_answers_its_reminder(client, reminded):
    a1 = reminded.student_a1.pairings.get()
    reminder = Reminder.objects.get(pairing=a1, kind=ReminderKind.MISSED_TALK)
    client.force_login(reminded.teacher_a1)
    response = client.post(Notification.objects.get(recipient=reminded.teacher_a1).link, talk_data("2026-11-13"))
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert reminder.resolved_at is not None


@pytest.mark.parametrize(("who", "status"), [("teacher_a2", 404), ("teacher_b1", 404), ("county", 403)])
def test_only_the_pairings_teacher_opens_the_missed_weeks_form(client, reminded, who, status):
    a1 = reminded.student_a1.pairings.get()
    client.force_login(getattr(reminded, who))
    assert client.get(f"{reverse('guidance:talk_create', args=[a1.pk])}?week=2026-11-09").status_code == status
