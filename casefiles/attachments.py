"""Attachment uploads checked by what the bytes are: a JPEG or PNG goes through the home-visit photo
checks (decoded, size-capped, re-encoded without EXIF: guidance.photos.clean_photo); a PDF is
recognised by its header and refused when it carries scripts or launch actions; nothing else passes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from guidance.models import private_storage
from guidance.photos import clean_photo, display_name, size_label
from zaoyang_aid import orphans

from .models import Attachment

PDF_HEADER = b"%PDF-"
# Active content a case file's scan never needs: a PDF that would run something when opened.
PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|OpenAction|AA)\b")


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    content_type: str
    extension: str

    @property
    def size(self) -> int:
        return len(self.data)


def clean_attachment(upload: UploadedFile) -> CleanFile:
    """Check one upload; ValidationError (naming the file) when refused."""
    name = display_name(upload)
    if upload.size is not None and upload.size > Attachment.MAX_BYTES:
        raise _too_large(name)
    upload.seek(0)
    raw = upload.read(Attachment.MAX_BYTES + 1)  # never trust the declared size alone
    if len(raw) > Attachment.MAX_BYTES:
        raise _too_large(name)
    if raw.startswith(PDF_HEADER):
        if PDF_ACTIVE.search(raw):
            raise ValidationError(f"文件 {name} 含有脚本或自动操作,不能作为档案附件。", code="pdf_active")
        if b"%%EOF" not in raw[-2048:]:
            raise ValidationError(f"文件 {name} 不是完整的PDF文件。", code="pdf_broken")
        return CleanFile(data=raw, content_type="application/pdf", extension=".pdf")
    try:
        photo = clean_photo(upload)
    except ValidationError as exc:
        if exc.code == "photo_format":
            raise ValidationError(f"文件 {name} 不是PDF、JPEG或PNG文件。", code="attachment_format") from None
        raise
    return CleanFile(data=photo.data, content_type=photo.content_type, extension=photo.extension)


def _too_large(name: str) -> ValidationError:
    return ValidationError(
        f"文件 {name} 超过{size_label(Attachment.MAX_BYTES)},请压缩后再上传。", code="attachment_too_large"
    )


def orphan_attachments_delete(*, now: dt.datetime, dry_run: bool = False) -> list[str]:
    """Delete attachment files under MEDIA_ROOT/attachments/ that no Attachment names and that are
    older than a day (a file is written before its row commits: a crash, or a rollback of an outer
    transaction, leaves it behind); the demo's shared files are never touched (zaoyang_aid.orphans)."""
    return orphans.orphan_files_delete(
        storage=private_storage,
        folder="attachments",
        shared=Attachment.SHARED_DIR,
        named=lambda batch: Attachment.objects.filter(file__in=batch).values_list("file", flat=True),
        now=now,
        dry_run=dry_run,
        what="case-file attachment",
    )
