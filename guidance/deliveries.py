"""Reminder digests over email, webhook, ...: at most one message per person, channel and day.

The in-app Notifications are written by the sweep (guidance/reminders.py) in its own transaction, so
a channel that fails never loses a reminder: it only delays the copy that goes out by mail or webhook.

Two steps, both run by the ``deliver_reminders`` task every 10 minutes and safe to run again:

- ``deliveries_prepare(day=...)`` writes one Delivery row per (recipient, channel, day) for whoever
  has unread notifications since their last delivery on that channel, under a unique constraint
  with ``ignore_conflicts``: run twice, it adds nothing. Teachers get a daily digest; officers and
  county staff a weekly one, on Mondays, of the notifications about their overdue teachers.
- ``deliveries_send(now=...)`` claims due rows one at a time, sends outside any transaction, and
  marks them sent; a failure is pushed forward with exponential backoff, never retried in a loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Q
from django.utils import timezone

from zaoyang_aid.access import Role

from .channels import channel_named, channels
from .models import Delivery, DeliveryStatus, Notification

log = logging.getLogger(__name__)

RETRY_BASE = dt.timedelta(minutes=5)
RETRY_CAP = dt.timedelta(hours=6)
MAX_ATTEMPTS = 8
STALE_CLAIM = dt.timedelta(minutes=15)
WEEKLY_ROLES = frozenset({Role.OFFICER, Role.COUNTY})
SEND_BATCH = 500


def retry_delay(attempts: int) -> dt.timedelta:
    """After the ``attempts``-th failure: 5 min, 10, 20, ... capped at 6 h."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def absolute_link(link: str) -> str:
    return f"{settings.REMINDER_SITE_URL}{link}" if link.startswith("/") else link


def digest(user: Any, notices: list[Notification], *, day: dt.date) -> tuple[str, str, list[dict[str, str]]]:
    """The subject, plain-text body and items of one person's digest."""
    weekly = user.role in WEEKLY_ROLES
    subject = f"资助帮扶{'每周' if weekly else ''}提醒:{len(notices)}项待办({day:%m月%d日})"
    name = user.full_name or user.username
    items = [{"title": n.title, "link": absolute_link(n.link)} for n in notices]
    lines = [f"{name},您好:", "", "以下事项需要您关注:" if weekly else "以下事项需要您处理:", ""]
    for number, (notice, item) in enumerate(zip(notices, items, strict=True), start=1):
        lines.append(f"{number}. {notice.title}")
        if notice.body:
            lines.append(f"   {notice.body}")
        if item["link"]:
            lines.append(f"   链接:{item['link']}")
        lines.append("")
    lines.append("站内通知中心可查看全部提醒。此邮件由资助帮扶系统自动发送,请勿回复。")
    return subject, "\n".join(lines), items


def deliveries_prepare(*, day: dt.date | None = None) -> int:
    """Write the day's Delivery rows (pending); returns how many were new. A fixed number of queries.

    Window per (person, channel): unread notifications created after that person's last delivery on
    that channel (or, for a first delivery, that day; a week back for weekly roles), up to the day's end.
    """
    day = day or timezone.localdate()
    active = channels()
    if not active:
        return 0
    day_start, day_end = _day_bounds(day)
    week_start = day_start - dt.timedelta(days=6)
    monday = day.weekday() == 0
    notices = list(
        # A risk rise's notice went out at once (counselling.risk_rise_deliver): not again in a digest.
        Notification.objects.filter(read_at__isnull=True, created_at__gte=week_start, created_at__lt=day_end)
        .filter(risk_change__isnull=True)
        .order_by("recipient_id", "created_at", "pk")
        .only("pk", "recipient_id", "title", "body", "link", "created_at")
    )
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for notice in notices:
        by_user[notice.recipient_id].append(notice)
    if not by_user:
        return 0
    users = get_user_model().objects.filter(pk__in=by_user, is_active=True).select_related("reminder_preference")
    last: dict[tuple[int, str], dt.datetime] = {
        (row["recipient_id"], row["channel"]): row["last"]
        for row in Delivery.objects.filter(recipient_id__in=by_user, day__lt=day, key="")
        .values("recipient_id", "channel")
        .annotate(last=Max("created_at"))
    }
    rows: list[Delivery] = []
    for user in users:
        weekly = user.role in WEEKLY_ROLES
        if weekly and not monday:
            continue
        for channel in active:
            if not channel.enabled_for(user):
                continue
            previous = last.get((user.pk, channel.name))
            if previous is not None:  # what the last digest did not carry
                mine = [n for n in by_user[user.pk] if n.created_at > previous]
            else:
                since = week_start if weekly else day_start
                mine = [n for n in by_user[user.pk] if n.created_at >= since]
            if not mine:
                continue
            subject, body, items = digest(user, mine, day=day)
            rows.append(
                Delivery(
                    recipient=user,
                    channel=channel.name,
                    day=day,
                    subject=subject[:200],
                    body=body,
                    items=items,
                    next_attempt_at=timezone.now(),
                )
            )
    before = Delivery.objects.filter(day=day, key="").count()
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return Delivery.objects.filter(day=day, key="").count() - before


def _claimable(now: dt.datetime) -> Q:
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    stale = Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - STALE_CLAIM)
    return due | stale


def claim(pk: int, *, now: dt.datetime) -> Delivery | None:
    """Take one due row for this worker: a conditional UPDATE that must change exactly one row.

    A second claimer of the same row (another worker, the same beat tick twice) changes nothing and
    gets None. A 'sending' row claimed more than 15 minutes ago is claimable again: its worker died
    mid-send. That makes delivery AT-LEAST-ONCE in that crash window (the message may have left just
    before the worker died and goes again). Chosen over at-most-once because the digest is a nudge
    about work that is still due: a rare duplicate mail costs nothing, a silently lost one means a
    teacher who is never told (the in-app notification stays regardless).
    """
    changed = Delivery.objects.filter(_claimable(now), pk=pk).update(status=DeliveryStatus.SENDING, claimed_at=now)
    if changed != 1:
        return None
    return Delivery.objects.select_related("recipient").get(pk=pk)


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def send_one(delivery: Delivery, now: dt.datetime) -> str:
    """Send one claimed row; mark it sent, or push it forward (also used by counselling's urgent notices)."""
    channel = channel_named(delivery.channel)
    try:
        if channel is None:
            raise LookupError(f"未知的提醒渠道 {delivery.channel!r}(不在 guidance.channels.REGISTRY 中)")
        channel.send(delivery.recipient, delivery.subject, delivery.body, delivery.items)
    except Exception as exc:  # any failure of a channel is recorded and retried later
        attempts = delivery.attempts + 1
        final = attempts >= MAX_ATTEMPTS
        log.warning("delivery %s (%s) failed, attempt %s: %s", delivery.pk, delivery.channel, attempts, exc)
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at).update(
            status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=now + retry_delay(attempts),
            claimed_at=None,
        )
        return "failed" if final else "retried"
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=delivery.attempts + 1, last_error=""
    )
    return "sent"


def deliveries_send(*, now: dt.datetime | None = None) -> SendResult:
    """Send what is due: each row claimed (see ``claim``), sent outside any transaction, then marked
    sent, or pushed forward (5 min * 2**(attempts-1), capped at 6 h; failed after 8 attempts)."""
    now = now or timezone.now()
    result = SendResult()
    due = list(
        Delivery.objects.filter(_claimable(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SEND_BATCH]
    )
    for pk in due:
        delivery = claim(pk, now=now)
        if delivery is None:
            continue  # another worker has it
        outcome = send_one(delivery, now)
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result
