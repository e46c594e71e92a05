"""The case file's demo rows: term results over the terms that rise with 学业辅导, attachments whose
files exist and are served, a referral and aid receipts; all gone with --flush."""

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

from casefiles.models import AidReceipt, Attachment, Referral, TermResult
from pairing.models import Pairing

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
