"""Photo files a crash left without their record are deleted by a nightly job, and nothing else is:
not a file a record names, not a file still being uploaded, not the demo's shared pool."""

from __future__ import annotations

import datetime as dt
import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from guidance import tasks
from guidance.models import HomeVisitPhoto
from guidance.photos import ORPHAN_MIN_AGE, orphan_photos_delete

from .factories import HomeVisitFactory
from .photo_files import jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def a_file(media, name, *, age=dt.timedelta(days=2)):
    path = media / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes())
    moment = (timezone.now() - age).timestamp()
    os.utime(path, (moment, moment))
    return path


def test_only_old_files_without_a_record_are_deleted(media, world):
    visit = HomeVisitFactory(pairing=world.student_a1.pairings.get())
    named = a_file(media, "home-visits/2026/11/named.jpg")
    HomeVisitPhoto.objects.create(
        visit=visit, image="home-visits/2026/11/named.jpg", content_type="image/jpeg", width=64, height=48, size=1
    )
    orphan = a_file(media, "home-visits/2026/11/orphan.jpg")
    in_flight = a_file(media, "home-visits/2026/11/uploading.jpg", age=ORPHAN_MIN_AGE - dt.timedelta(minutes=5))
    pool = a_file(media, f"{HomeVisitPhoto.SHARED_DIR}/pool-01.jpg")

    deleted = orphan_photos_delete(now=timezone.now())

    assert deleted == ["home-visits/2026/11/orphan.jpg"]
    assert not orphan.exists()
    assert named.exists() and in_flight.exists() and pool.exists()


def test_a_dry_run_names_the_files_and_deletes_none(media):
    orphan = a_file(media, "home-visits/2026/10/orphan.png")

    assert orphan_photos_delete(now=timezone.now(), dry_run=True) == ["home-visits/2026/10/orphan.png"]
    assert orphan.exists()


def test_running_twice_deletes_nothing_more_and_no_folder_is_no_error(media):
    assert orphan_photos_delete(now=timezone.now()) == []
    a_file(media, "home-visits/2026/10/orphan.jpg")
    assert len(orphan_photos_delete(now=timezone.now())) == 1
    assert orphan_photos_delete(now=timezone.now()) == []


def test_the_query_count_does_not_grow_with_the_files(media, django_assert_num_queries):
    for n in range(30):
        a_file(media, f"home-visits/2026/09/{n:02}.jpg")
    with django_assert_num_queries(1):  # the records naming any of the batch's files
        assert len(orphan_photos_delete(now=timezone.now())) == 30


def test_the_nightly_task_runs_the_job(media, settings):
    orphan = a_file(media, "home-visits/2026/10/orphan.jpg")
    assert "guidance.delete_orphan_photos" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}

    tasks.delete_orphan_photos.apply()

    assert not orphan.exists()


def test_the_command_lists_then_deletes(media):
    orphan = a_file(media, "home-visits/2026/10/orphan.jpg")
    out = StringIO()
    call_command("delete_orphan_photos", "--dry-run", stdout=out)
    assert "home-visits/2026/10/orphan.jpg" in out.getvalue() and "将删除1个" in out.getvalue()
    assert orphan.exists()

    call_command("delete_orphan_photos", stdout=out)
    assert not orphan.exists() and "已删除1个" in out.getvalue()
