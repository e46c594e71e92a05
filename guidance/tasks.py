"""Celery entry points: thin, each calls a function that tests and commands call directly."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.utils import timezone

from .counselling import risk_rise_deliver
from .deliveries import deliveries_prepare, deliveries_send
from .photos import orphan_photos_delete
from .quality import flags_detect
from .reminders import sweep
from .tallies import tally_verify


@shared_task(name="guidance.sweep_reminders", acks_late=True, ignore_result=True)
def sweep_reminders(on: str | None = None) -> None:
    """Beat runs this every morning: the sweep (each school week on its first school day, and any
    week a missed morning left undone, see guidance/reminders.py), then the day's digests, then their
    first sending.

    The digests are prepared here, after the sweep's transaction has committed, and nowhere else:
    a digest prepared while a sweep was still writing could miss that sweep's notifications for
    good. At-least-once delivery of this task is safe: the sweep and the preparation are idempotent
    (unique keys), and sending claims each digest before it goes.

    ``on`` (an ISO date) sweeps as of that day instead of today: for a by-hand run or a test.
    """
    sweep(on=date.fromisoformat(on) if on else None)
    deliveries_prepare(day=timezone.localdate())
    deliveries_send(now=timezone.now())


@shared_task(name="guidance.deliver_reminders", acks_late=True, ignore_result=True)
def deliver_reminders() -> None:
    """Beat runs this every 10 minutes: send the digests that are due, failed ones after their backoff.

    Running it twice at once is safe: each row is claimed by a conditional UPDATE before it is sent
    (see guidance/deliveries.py).
    """
    deliveries_send(now=timezone.now())


@shared_task(name="guidance.delete_orphan_photos", acks_late=True, ignore_result=True)
def delete_orphan_photos() -> None:
    """Beat runs this every night: photo files a crash left without a record are deleted, so no
    picture of a child's home stays on disk unaccounted for. Idempotent (see photos.py)."""
    orphan_photos_delete(now=timezone.now())


@shared_task(name="guidance.verify_tallies", acks_late=True, ignore_result=True)
def verify_tallies() -> None:
    """Beat runs this every night: recount the per-pairing term tallies from the talk records and
    repair any difference, logging how many (zero expected: the talk services keep them). Each
    term is repaired in its own transaction, so a run that dies halfway is simply run again."""
    tally_verify(repair=True)


@shared_task(name="guidance.notify_risk_rise", acks_late=True, ignore_result=True)
def notify_risk_rise(change_id: int) -> None:
    """Started after the commit of a rise of a student's risk level to 重点关注 or 危机: email and
    webhook to the school's officers at once. Safe to run twice: each Delivery is unique per
    (officer, channel, day, rise) and claimed before it is sent (see counselling.risk_rise_deliver)."""
    risk_rise_deliver(change_id)


@shared_task(name="guidance.detect_flags", acks_late=True, ignore_result=True)
def detect_flags() -> None:
    """Beat runs this every night: the record-quality check over the whole county (quality.py).
    At-least-once is safe: a second run finds the same flags and adds nothing (unique per record and
    kind)."""
    flags_detect()
