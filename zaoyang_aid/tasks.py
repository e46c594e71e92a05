"""Celery entry points: thin, each calls a function that tests and commands call directly."""

from __future__ import annotations

from celery import shared_task

from .sessions import expired_sessions_delete


@shared_task(name="zaoyang_aid.clear_expired_sessions", acks_late=True, ignore_result=True)
def clear_expired_sessions() -> None:
    """Beat runs this nightly: sessions past their store expiry are deleted (`manage.py clearsessions`)."""
    expired_sessions_delete()
