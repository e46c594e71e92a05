"""Attachment files left without their record (a crash between the file and its row, or a rolled-back
outer transaction) are deleted by a nightly job, and nothing else is: not a file a record names, not
a file still being uploaded, not the demo's shared files."""

from __future__ import annotations

import datetime as dt
import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from casefiles import tasks
from casefiles.attachments import orphan_attachments_delete

from .factories import AttachmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def a_file(media, name, *, age=dt.timedelta(days=2)):
    path = media / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    moment = (timezone.now() - age).timestamp()
    os.utime(path, (moment, moment))
    return path


def test_only_old_attachment_files_without_a_record_are_deleted(media, world):
    kept = AttachmentFactory(student=world.student_a1)
    named = media / kept.file.name
    os.utime(named, (0, 0))  # old, but a record names it
    orphan = a_file(media, "attachments/2026/11/orphan.pdf")
    young = a_file(media, "attachments/2026/12/uploading.pdf", age=dt.timedelta(minutes=5))
    shared = a_file(media, "attachments/demo/demo-certificate.pdf")

    assert orphan_attachments_delete(now=timezone.now(), dry_run=True) == ["attachments/2026/11/orphan.pdf"]
    assert orphan.exists()
    tasks.delete_orphan_attachments()

    assert not orphan.exists()
    assert named.exists() and young.exists() and shared.exists()


def test_the_command_lists_what_it_would_delete_and_deletes_nothing_dry(media):
    orphan = a_file(media, "attachments/2026/10/left.png")
    out = StringIO()
    call_command("delete_orphan_attachments", "--dry-run", stdout=out)
    assert "attachments/2026/10/left.png" in out.getvalue() and "将删除1个" in out.getvalue()
    assert orphan.exists()
