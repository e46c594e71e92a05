"""Attachments: checked by their bytes (images like photos, PDFs by header), size-capped, kept in the
private storage, served only through the scoped and audited view, deleted with their file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from PIL import Image

from casefiles.attachments import clean_attachment
from casefiles.models import Attachment
from casefiles.services import attachment_create, attachment_delete
from guidance.tests.photo_files import jpeg_bytes

from .factories import PDF_BYTES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(data: bytes, name: str = "f.pdf", content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_pdf_is_recognised_by_its_header_whatever_its_name():
    cleaned = clean_attachment(upload(PDF_BYTES, name="证明.jpg", content_type="image/jpeg"))
    assert cleaned.content_type == "application/pdf" and cleaned.data == PDF_BYTES


def test_a_phone_photo_is_re_encoded_without_its_gps():
    cleaned = clean_attachment(upload(jpeg_bytes(gps=True), name="scan.jpg", content_type="image/jpeg"))
    assert cleaned.content_type == "image/jpeg"
    assert not Image.open(io.BytesIO(cleaned.data)).getexif()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a" + b"\0" * 20, "不是PDF、JPEG或PNG"),
        (b"MZ\x90\0 an executable", "不是PDF、JPEG或PNG"),
        (b"%PDF-1.4\n/OpenAction << /S /JavaScript /JS (app.alert(1)) >>\n%%EOF", "含有脚本"),
        (b"%PDF-1.4\n1 0 obj << >> endobj\n", "不是完整的PDF"),
    ],
)
def test_files_that_are_not_a_clean_pdf_or_image_are_refused(data, message):
    with pytest.raises(ValidationError, match=message):
        clean_attachment(upload(data, name="x.pdf"))


def test_a_file_over_the_size_cap_is_refused_even_when_it_claims_to_be_small(settings):
    big = PDF_BYTES + b"0" * Attachment.MAX_BYTES
    lying = upload(big)
    lying.size = 100
    with pytest.raises(ValidationError, match="超过10MB"):
        clean_attachment(lying)


def test_the_paired_teacher_uploads_a_file_that_only_the_scoped_view_serves(client, world, media):
    client.force_login(world.teacher_a1)
    url = reverse("casefiles:attachment_upload", args=[world.student_a1.pk])
    response = client.post(url, {"kind": "proof", "title": "低保证明", "file": upload(PDF_BYTES)})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.file.name.startswith("attachments/") and "低保" not in attachment.file.name
    assert (media / attachment.file.name).read_bytes() == PDF_BYTES
    download = client.get(reverse("casefiles:attachment_download", args=[attachment.pk]))
    assert download["Content-Type"] == "application/pdf" and download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == PDF_BYTES


def test_the_upload_page_says_why_a_file_is_refused(client, world):
    client.force_login(world.officer_a)
    url = reverse("casefiles:attachment_upload", args=[world.student_a1.pk])
    response = client.post(url, {"kind": "proof", "title": "证明", "file": upload(b"hello", name="a.txt")})
    assert response.status_code == 200 and "不是PDF、JPEG或PNG" in response.content.decode()
    assert not Attachment.objects.exists()


def test_deleting_an_attachment_removes_its_file_once_committed(world, media, django_capture_on_commit_callbacks):
    with transaction.atomic():
        attachment = attachment_create(
            student_id=world.student_a1.pk,
            term_id=None,
            kind="visit",
            title="家访签字表",
            file=clean_attachment(upload(PDF_BYTES)),
            by=world.officer_a,
        )
    path = media / attachment.file.name
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        attachment_delete(attachment_id=attachment.pk, by=world.teacher_a1)
    assert not path.exists() and not Attachment.objects.exists()


def test_a_teacher_at_another_school_may_not_upload(world):
    with pytest.raises(ValidationError, match="包保"):
        attachment_create(
            student_id=world.student_a1.pk,
            term_id=None,
            kind="other",
            title="x",
            file=clean_attachment(upload(PDF_BYTES)),
            by=world.teacher_b1,
        )
