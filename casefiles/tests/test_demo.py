"""The demo shows the review in each state at the demo school: the previous term signed off (its
records locked, one file reopened once), this term demo_teacher's first student 审核中 with one comment
answered and one not (and its notification), a colleague's student signed off, the rest 未开始."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from casefiles.models import CaseFileReview, ReviewComment, ReviewReopening, ReviewStatus
from guidance.models import Notification
from pairing.models import Pairing, Term
from zaoyang_aid.locks import term_lock_reason

WEDNESDAY = dt.datetime(2026, 11, 18, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def seeded(db, settings, tmp_path, time_machine):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    time_machine.move_to(WEDNESDAY, tick=False)
    call_command("seed_demo", "--seed", "7", stdout=io.StringIO())


def test_the_demo_has_reviews_not_started_in_progress_and_signed_off(seeded):
    current, previous = Term.objects.order_by("-start_date")[:2]
    mine = Pairing.objects.active().filter(teacher__user__username="demo_teacher").order_by("started_on")
    first = mine[0].student

    assert CaseFileReview.objects.get(student=first, term=current).status == ReviewStatus.IN_PROGRESS
    comments = ReviewComment.objects.filter(review__student=first, review__term=current)
    assert sorted(c.is_answered for c in comments) == [False, True]
    assert all(c.answered_at is None or c.answered_at > c.created_at for c in comments)
    assert Notification.objects.filter(recipient__username="demo_teacher", title__contains="审核意见").exists()
    assert not CaseFileReview.objects.filter(student=mine[1].student, term=current).exists()  # 未开始
    assert CaseFileReview.objects.filter(term=current, status=ReviewStatus.SIGNED_OFF).count() == 1
    signed = CaseFileReview.objects.filter(term=previous, status=ReviewStatus.SIGNED_OFF)
    assert signed.count() > 5 and not CaseFileReview.objects.filter(term=previous).exclude(pk__in=signed).exists()
    assert term_lock_reason(student_id=signed[0].student_id, term_id=previous.pk)
    assert term_lock_reason(student_id=first.pk, term_id=current.pk) is None  # the teacher can still record
    assert ReviewReopening.objects.count() == 1
