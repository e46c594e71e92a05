"""Celery entry points: thin, each calls a function that tests and commands call directly."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .deliveries import deliveries_prepare, deliveries_send
from .reminders import sweep


@shared_task(name="guidance.sweep_reminders", acks_late=True, ignore_result=True)
def sweep_reminders() -> None:
    """Beat runs this every morning; the sweep itself acts only on a school week's first school day.

    At-least-once delivery of the task is safe: the sweep is idempotent (unique keys, one transaction).
    """
    sweep()


@shared_task(name="guidance.deliver_reminders", acks_late=True, ignore_result=True)
def deliver_reminders() -> None:
    """Beat runs this every 10 minutes: write today's digest rows, then send what is due.

    Running it twice at once is safe: the rows are unique per (recipient, channel, day) and each is
    claimed by a conditional UPDATE before it is sent (see guidance/deliveries.py).
    """
    deliveries_prepare(day=timezone.localdate())
    deliveries_send(now=timezone.now())
