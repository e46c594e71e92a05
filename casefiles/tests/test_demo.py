"""The case file's demo rows: term results over the terms that rise with 学业辅导, attachments whose
files exist and are served, a referral and aid receipts; all gone with --flush.

The demo shows the review in each state at the demo school: the previous term signed off (its
records locked, one file reopened once), this term demo_teacher's first student 审核中 with one comment
answered and one not (and its notification), a colleague's student signed off, the rest 未开始."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from casefiles.models import (
    AidReceipt,
    Attachment,
    CaseFileReview,
    Referral,
    ReviewComment,
    ReviewReopening,
    ReviewStatus,
    TermResult,
)
from guidance.models import Notification
from pairing.models import Pairing, Term
from zaoyang_aid.locks import term_lock_reason

WEDNESDAY = dt.datetime(2026, 11, 18, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("casefile-demo-media")


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker, demo_media) -> Iterator[None]:
    with (
        django_db_blocker.unblock(),
        override_settings(DEBUG=True, MEDIA_ROOT=demo_media),
        time_machine.travel(WEDNESDAY, tick=False),
        transaction.atomic(),
    ):
        try:
            call_command("seed_demo", "--seed", "7", stdout=io.StringIO())
            yield
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_once, db, settings, demo_media, time_machine) -> None:
    settings.DEBUG = True
    settings.MEDIA_ROOT = demo_media
    time_machine.move_to(WEDNESDAY, tick=False)


def _demo_teachers_students() -> list[int]:
    mine = Pairing.objects.filter(teacher__user__username="demo_teacher", ended_on__isnull=True)
    return list(mine.values_list("student_id", flat=True))


def test_the_demo_teachers_students_have_term_results_that_rise_across_terms(seeded):
    for student_id in _demo_teachers_students():
        by_term: dict[int, list] = defaultdict(list)
        for r in TermResult.objects.filter(student_id=student_id).order_by("term__start_date"):
            by_term[r.term_id].append(r.percent)
        averages = [sum(v) / len(v) for v in by_term.values()]
        assert len(averages) >= 2
        assert averages[-1] > averages[0]


def test_the_demo_has_attachments_a_referral_and_aid_the_officer_reads_in_the_case_file(seeded, client):
    assert Referral.objects.exists() and AidReceipt.objects.exists()
    attachment = Attachment.objects.filter(student_id__in=_demo_teachers_students()).first()
    assert attachment is not None
    client.force_login(get_user_model().objects.get(username="demo_officer"))
    page = client.get(reverse("casefiles:case_file", args=[attachment.student_id])).content.decode()
    assert attachment.title in page and "转介" in page
    download = client.get(reverse("casefiles:attachment_download", args=[attachment.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content)[:4] in (b"%PDF", b"\x89PNG")


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


def test_the_demo_has_dropouts_returned_overdue_and_without_a_plan(seeded, client):
    from casefiles.models import RecoveryCase, RecoveryStatus
    from pairing.models import EnrollmentStatus, Student

    officer = get_user_model().objects.select_related("teacher").get(username="demo_officer")
    school = officer.teacher.school_id
    returned = RecoveryCase.objects.get(status=RecoveryStatus.RETURNED)
    assert returned.attempts.count() >= 2 and returned.student.enrollment_status == EnrollmentStatus.ENROLLED
    (open_case,) = RecoveryCase.objects.overdue(timezone.localdate())
    assert open_case.attempts.count() >= 3 and open_case.student.school_id == school
    assert (timezone.localdate() - open_case.opened_on).days > 30
    without = Student.objects.filter(enrollment_status=EnrollmentStatus.DROPPED_OUT, recovery_cases__isnull=True)
    # Two: the one the 劝返 demo leaves without a plan, and the 疑似辍学 entry the ledgers' demo confirms.
    assert without.filter(school_id=school).count() == 2
    notice = Notification.objects.get(source_key__startswith="recovery-overdue:")
    assert notice.recipient == officer
    client.force_login(officer)
    html = client.get(reverse("casefiles:recovery_ledger")).content.decode()
    assert all(label in html for label in ("已返校销号", "劝返中", "待建方案", "逾期"))


def test_the_demo_has_referrals_in_each_state_one_overdue_and_one_with_aid_in_the_aid_list(seeded, client):
    """部门联动 (issue 11, point 8): each status with its updates, one overdue (noticed to the officer),
    one whose aid shows in the case file's aid list."""
    today = WEDNESDAY.date()
    assert set(Referral.objects.values_list("status", flat=True)) == {"sent", "accepted", "resolved", "declined"}
    overdue = list(Referral.objects.overdue(today))
    assert len(overdue) == 1
    officer = get_user_model().objects.get(username="demo_officer")
    assert Notification.objects.filter(recipient=officer, source_key__startswith="referral-overdue:").count() == 1
    assert Referral.objects.filter(updates__isnull=False).distinct().count() == 4
    aid = AidReceipt.objects.get(referral__isnull=False)
    client.force_login(officer)
    page = client.get(reverse("casefiles:case_file", args=[aid.referral.student_id])).content.decode()
    assert aid.item in page and f"转介{aid.referral.department.name}" in page


def test_the_demo_has_students_past_each_early_warning_threshold_and_one_flag_handled(seeded):
    """预警 (issue 11, point 8): every sign at the demo school, each with its value in words."""
    from casefiles.models import WarningFlag, WarningSign

    flags = WarningFlag.objects.filter(ended_on__isnull=True)
    assert set(flags.values_list("sign", flat=True)) == set(WarningSign.values)
    assert flags.filter(handled_at__isnull=False).count() == 1
    assert all(
        "阈值" in v or "未家访" in v or "出现" in v or "天内" in v for v in flags.values_list("value", flat=True)
    )
