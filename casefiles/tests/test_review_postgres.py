"""The review's concurrency contract, on PostgreSQL: two officers' sessions signing off the same
file at the same moment, from pages that read the same version: exactly one signs off, the other is
refused with the Chinese message, and the one sign-off's note is kept. The same for two first
comments on a review not started (no row yet): the unique (student, term) refuses the second."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from casefiles import services
from casefiles.models import CaseFileReview, ReviewComment
from pairing.tests import factories as pf

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*calls: Callable[[], object]) -> list[BaseException]:
    start = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=10)
            call()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.fixture
def file(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    term = pf.TermFactory()
    pairing = pf.PairingFactory(started_on=term.start_date)
    officer = pf.OfficerFactory(school=pairing.student.school).user
    return pairing.student, term, officer


def test_two_concurrent_sign_offs_of_one_file_one_wins_the_other_is_refused(file):
    student, term, officer = file
    services.review_comment_create(student=student, term=term, by=officer, body="请补充记录", version=0)

    def sign(note: str) -> Callable[[], object]:
        return lambda: services.review_sign_off(student=student, term=term, by=officer, version=1, note=note)

    errors = race(sign("甲页面"), sign("乙页面"))

    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert errors[0].messages == [services.STALE]
    review = CaseFileReview.objects.get()
    assert review.is_signed_off and review.sign_note in {"甲页面", "乙页面"} and review.version == 2


def test_two_concurrent_first_comments_one_is_kept_the_other_refused(file):
    student, term, officer = file

    def comment(body: str) -> Callable[[], object]:
        return lambda: services.review_comment_create(student=student, term=term, by=officer, body=body, version=0)

    errors = race(comment("甲的意见"), comment("乙的意见"))

    assert len(errors) == 1 and errors[0].messages == [services.STALE]  # type: ignore[attr-defined]
    assert ReviewComment.objects.count() == 1 and CaseFileReview.objects.count() == 1
