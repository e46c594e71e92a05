"""Celery entry points: thin, each calls a function that tests and commands call directly."""

from __future__ import annotations

from celery import shared_task

from .reminders import sweep


@shared_task(name="guidance.sweep_reminders", acks_late=True, ignore_result=True)
def sweep_reminders() -> None:
    """Beat runs this every morning; the sweep itself acts only on a school week's first school day.

    At-least-once delivery of the task is safe: the sweep is idempotent (unique keys, one transaction).
    """
    sweep()
