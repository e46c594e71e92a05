"""Reminder digests by email: one per person, channel and day; claimed before sending; a failure is
pushed forward, never lost from the in-app notification centre."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from guidance.deliveries import MAX_ATTEMPTS, STALE_CLAIM, claim, deliveries_prepare, deliveries_send, retry_delay
from guidance.models import Delivery, DeliveryStatus, Notification, ReminderPreference
from guidance.reminders import sweep

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_week_sweeps")]
MONDAY = dt.date(2026, 11, 16)


class FailingBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("421 服务暂不可用")


@pytest.fixture
def swept(world, settings):
    settings.REMINDER_CHANNELS = ["email", "webhook"]
    settings.REMINDER_WEBHOOK_URL = ""  # webhook off here: see test_webhook.py
    settings.REMINDER_SITE_URL = "https://zizhu.example.cn"
    for user in (world.teacher_a1, world.teacher_a2, world.teacher_b1, world.officer_a, world.county):
        user.email = f"{user.username}@example.cn"
        user.save(update_fields=["email"])
    sweep(on=MONDAY)
    return world


def test_prepare_run_twice_creates_each_delivery_once(swept):
    first = deliveries_prepare(day=MONDAY)
    second = deliveries_prepare(day=MONDAY)
    assert first == Delivery.objects.count() > 0 and second == 0
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"email"}
    recipients = set(Delivery.objects.values_list("recipient", flat=True))
    assert swept.teacher_a1.pk in recipients
    assert swept.officer_b.pk not in recipients  # no email address: no email delivery


def test_the_email_digest_is_chinese_and_lists_each_item_with_its_link(swept):
    deliveries_prepare(day=MONDAY)
    result = deliveries_send(now=timezone.now())
    assert result.sent == Delivery.objects.count()
    message = next(m for m in mail.outbox if m.to == [swept.teacher_a1.email])
    assert message.subject.startswith("资助帮扶提醒") and "11月16日" in message.subject
    notices = Notification.objects.filter(recipient=swept.teacher_a1)
    assert notices.exists()
    for notice in notices:
        assert notice.title in message.body
        assert f"https://zizhu.example.cn{notice.link}" in message.body
    delivery = Delivery.objects.get(recipient=swept.teacher_a1)
    assert delivery.status == DeliveryStatus.SENT and delivery.sent_at is not None
    # Nothing more today: a second run sends nothing again.
    deliveries_prepare(day=MONDAY)
    assert deliveries_send(now=timezone.now()).sent == 0


def test_officers_and_county_get_a_weekly_digest_on_mondays_only(swept):
    deliveries_prepare(day=MONDAY + dt.timedelta(days=1))
    assert not Delivery.objects.filter(recipient__in=[swept.officer_a, swept.county]).exists()
    deliveries_prepare(day=MONDAY)
    weekly = Delivery.objects.get(recipient=swept.officer_a)
    assert "每周" in weekly.subject


def test_a_user_who_switched_email_off_gets_no_email(swept):
    ReminderPreference.objects.create(user=swept.teacher_a1, email=False)
    deliveries_prepare(day=MONDAY)
    assert not Delivery.objects.filter(recipient=swept.teacher_a1).exists()
    assert Delivery.objects.filter(recipient=swept.teacher_a2).exists()


def test_two_claimers_of_one_row_send_it_once(swept):
    deliveries_prepare(day=MONDAY)
    row = Delivery.objects.get(recipient=swept.teacher_a1)
    now = timezone.now()
    assert claim(row.pk, now=now) is not None
    assert claim(row.pk, now=now) is None
    deliveries_send(now=now)  # the claimed row is not sent again by a second worker
    assert [m.to for m in mail.outbox].count([swept.teacher_a1.email]) == 0


def test_a_failing_smtp_server_leaves_the_row_pending_for_later(swept, settings):
    settings.EMAIL_BACKEND = "guidance.tests.test_deliveries.FailingBackend"
    deliveries_prepare(day=MONDAY)
    now = timezone.now()
    result = deliveries_send(now=now)
    assert result.retried == Delivery.objects.count() and result.sent == 0
    row = Delivery.objects.get(recipient=swept.teacher_a1)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert "SMTPException" in row.last_error and "421" in row.last_error
    assert row.next_attempt_at == now + retry_delay(1) > now
    assert Notification.objects.filter(recipient=swept.teacher_a1, read_at__isnull=True).exists()
    # Not retried in a tight loop: nothing is due again until next_attempt_at.
    assert deliveries_send(now=now + dt.timedelta(minutes=1)).retried == 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliveries_send(now=row.next_attempt_at).sent == Delivery.objects.count()
    assert Delivery.objects.get(pk=row.pk).status == DeliveryStatus.SENT


def test_backoff_grows_and_is_capped():
    assert [retry_delay(n) for n in (1, 2, 3)] == [dt.timedelta(minutes=m) for m in (5, 10, 20)]
    assert retry_delay(20) == dt.timedelta(hours=6)


def test_after_max_attempts_the_row_is_failed(swept, settings):
    settings.EMAIL_BACKEND = "guidance.tests.test_deliveries.FailingBackend"
    deliveries_prepare(day=MONDAY)
    row = Delivery.objects.get(recipient=swept.teacher_a1)
    Delivery.objects.exclude(pk=row.pk).delete()
    Delivery.objects.filter(pk=row.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert deliveries_send(now=timezone.now()).failed == 1
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert deliveries_send(now=timezone.now() + dt.timedelta(days=2)).failed == 0  # never picked up again


def test_a_stale_claim_is_sent_again(swept):
    deliveries_prepare(day=MONDAY)
    row = Delivery.objects.get(recipient=swept.teacher_a1)
    Delivery.objects.exclude(pk=row.pk).delete()
    then = timezone.now()
    assert claim(row.pk, now=then) is not None  # this worker dies before it sends
    assert deliveries_send(now=then + dt.timedelta(minutes=5)).sent == 0  # a fresh claim is left alone
    assert deliveries_send(now=then + STALE_CLAIM + dt.timedelta(seconds=1)).sent == 1
    assert [m.to for m in mail.outbox] == [[swept.teacher_a1.email]]
    assert Delivery.objects.get(pk=row.pk).status == DeliveryStatus.SENT


def test_a_later_notification_goes_into_the_next_days_digest(swept, time_machine):
    deliveries_prepare(day=MONDAY)
    deliveries_send(now=timezone.now())
    time_machine.move_to(timezone.now() + dt.timedelta(hours=3), tick=False)
    assert deliveries_prepare(day=MONDAY + dt.timedelta(days=1)) == 0  # nothing new since
    Notification.objects.create(recipient=swept.teacher_a1, title="新的提醒", link="/x/")
    assert deliveries_prepare(day=MONDAY + dt.timedelta(days=1)) == 1
    assert "新的提醒" in Delivery.objects.get(day=MONDAY + dt.timedelta(days=1)).body


def test_the_morning_task_sweeps_prepares_and_sends(world, time_machine):
    from guidance.tasks import sweep_reminders

    for user in (world.teacher_a1, world.teacher_a2, world.teacher_b1):
        user.email = f"{user.username}@example.cn"
        user.save()
    sweep_reminders()  # the world stands on Monday 2026-11-16, a school week's first day
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(mail.outbox) > 0


def test_the_ten_minute_task_only_sends_what_is_due(swept):
    from guidance.tasks import deliver_reminders

    deliveries_prepare(day=MONDAY)
    deliver_reminders()
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == len(mail.outbox) > 0
