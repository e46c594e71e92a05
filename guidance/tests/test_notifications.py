"""The in-app notification centre: unread count in the navbar, list, open, read all, acknowledge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from guidance import services
from guidance.models import Notification, Reminder, SweepRun
from guidance.reminders import sweep

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_week_sweeps")]
MONDAY = dt.date(2026, 11, 16)


@pytest.fixture
def swept(world):
    sweep(on=MONDAY)  # nobody has recorded anything: every pairing missed last week
    return world


def test_the_navbar_shows_the_unread_count(client, swept):
    client.force_login(swept.teacher_a1)
    html = client.get(reverse("guidance:my_students")).content.decode()
    assert 'aria-label="1条未读"' in html


def test_a_teacher_sees_only_their_own_notifications(client, swept):
    client.force_login(swept.teacher_a1)
    page = client.get(reverse("guidance:notifications")).context["page"]
    assert [n.recipient_id for n in page] == [swept.teacher_a1.pk]


def test_opening_a_notification_marks_it_read_and_goes_to_the_form(client, swept):
    notice = Notification.objects.get(recipient=swept.teacher_a1)
    client.force_login(swept.teacher_a1)
    response = client.post(reverse("guidance:notification_open", args=[notice.pk]))
    assert response.url == notice.link
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_nobody_opens_someone_elses_notification(client, swept):
    notice = Notification.objects.get(recipient=swept.teacher_a1)
    client.force_login(swept.teacher_a2)
    assert client.post(reverse("guidance:notification_open", args=[notice.pk])).status_code == 404


def test_read_all_clears_the_count(client, swept):
    client.force_login(swept.teacher_a1)
    client.post(reverse("guidance:notifications_read_all"))
    assert not Notification.objects.filter(recipient=swept.teacher_a1, read_at__isnull=True).exists()


def test_marking_read_is_the_recipients_alone_and_keeps_the_first_reading(swept):
    mine = Notification.objects.get(recipient=swept.teacher_a1)
    theirs = Notification.objects.exclude(recipient=swept.teacher_a1).first()
    assert services.notification_read(notice_id=theirs.pk, recipient=swept.teacher_a1) is False
    assert services.notification_read(notice_id=mine.pk, recipient=swept.teacher_a1) is True
    first = Notification.objects.get(pk=mine.pk).read_at
    assert services.notification_read(notice_id=mine.pk, recipient=swept.teacher_a1) is False
    assert Notification.objects.get(pk=mine.pk).read_at == first
    unread_elsewhere = Notification.objects.filter(read_at__isnull=True).exclude(recipient=swept.teacher_a1).count()
    assert services.notifications_read_all(recipient=swept.teacher_a1) == 0  # hers were all read
    assert Notification.objects.filter(read_at__isnull=True).count() == unread_elsewhere > 0


def test_the_teacher_acknowledges_their_reminder_with_a_note(client, swept):
    reminder = Reminder.objects.get(pairing__student=swept.student_a1)
    client.force_login(swept.teacher_a1)
    client.post(reverse("guidance:reminder_acknowledge", args=[reminder.pk]), {"note": "学生请病假一周"})
    reminder.refresh_from_db()
    assert reminder.acknowledged_by == swept.teacher_a1 and reminder.acknowledgement == "学生请病假一周"


@pytest.mark.parametrize("who", ["teacher_a2", "teacher_b1", "officer_b", "counsellor_a"])
def test_only_a_recipient_acknowledges(client, swept, who):
    reminder = Reminder.objects.get(pairing__student=swept.student_a1)
    client.force_login(getattr(swept, who))
    assert client.post(reverse("guidance:reminder_acknowledge", args=[reminder.pk])).status_code == 404
    reminder.refresh_from_db()
    assert reminder.acknowledged_at is None


def test_the_officer_sees_which_teachers_were_reminded_this_term(client, swept):
    client.force_login(swept.officer_a)
    page = client.get(reverse("guidance:school_reminders")).context["page"]
    assert {r.pairing.student.name for r in page} == {"张小明", "李小红"}


@pytest.mark.parametrize(("who", "status"), [("teacher_a1", 403), ("county", 403), ("counsellor_a", 403)])
def test_the_reminder_record_is_the_officers_page(client, swept, who, status):
    client.force_login(getattr(swept, who))
    assert client.get(reverse("guidance:school_reminders")).status_code == status


def test_a_teacher_switches_email_reminders_off_and_on(client, swept):
    from guidance.models import ReminderPreference

    client.force_login(swept.teacher_a1)
    assert client.get(reverse("guidance:reminder_preferences")).status_code == 200
    client.post(reverse("guidance:reminder_preferences"), {})  # the unticked box
    assert ReminderPreference.objects.get(user=swept.teacher_a1).email is False
    client.post(reverse("guidance:reminder_preferences"), {"email": "on"})
    assert ReminderPreference.objects.get(user=swept.teacher_a1).email is True


def _queries(client, user, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user)
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    ("who", "url_name"), [("officer_a", "guidance:notifications"), ("officer_a", "guidance:school_reminders")]
)
def test_the_notification_pages_run_the_same_queries_for_few_or_many_items(client, world, who, url_name):
    from pairing.tests import factories as pf

    sweep(on=MONDAY)
    few = _queries(client, getattr(world, who), reverse(url_name))
    for _ in range(10):
        pf.PairingFactory(teacher__school=world.school_a, started_on=world.term.start_date)
    Reminder.objects.all().delete()
    SweepRun.objects.all().delete()  # forget the week's sweep, so that it runs again
    sweep(on=MONDAY)
    many = _queries(client, getattr(world, who), reverse(url_name))
    assert Notification.objects.filter(recipient=getattr(world, who)).count() > 10
    assert few == many


def test_a_reminder_already_answered_offers_to_look_not_to_act(client, swept):
    from django.utils import timezone

    Reminder.objects.filter(pairing__teacher__user=swept.teacher_a1).update(resolved_at=timezone.now())
    client.force_login(swept.teacher_a1)
    html = client.get(reverse("guidance:notifications")).content.decode()
    assert "已补记" in html and "查看" in html and "去处理" not in html


def test_a_source_key_notifies_each_person_once(world):
    """Notices written outside the sweep (an overdue 劝返 step, an overdue 转介) carry their writer's
    key: written again by a job run twice, the database refuses the second."""
    from django.db import IntegrityError, transaction

    Notification.objects.create(recipient=world.officer_a, title="转介逾期", source_key="referral-overdue:1")
    Notification.objects.create(recipient=world.teacher_a1, title="转介逾期", source_key="referral-overdue:2")
    Notification.objects.create(recipient=world.teacher_a1, title="无来源")
    Notification.objects.create(recipient=world.teacher_a1, title="无来源")  # no key: no limit
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=world.officer_a, title="再次", source_key="referral-overdue:1")
