"""名单导入 between the pages and casefiles/imports: an upload is read and previewed at once (a file
that is refused is never stored), kept in private storage with its preview, committed by its
uploader only, and deleted at the commit or by the nightly cleanup after ROSTER_IMPORT_KEEP_HOURS."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from guidance.models import private_storage
from zaoyang_aid import audit
from zaoyang_aid.models import AuditAction
from zaoyang_aid.spreadsheets import SheetLimits, open_sheet

from .imports.commit import ImportResult
from .imports.kinds import ROSTER_KINDS, RosterKind
from .imports.rows import Roster
from .models import RosterImport, RosterImportStatus

IMPORT_DIR = "roster-imports"


def max_bytes() -> int:
    return int(settings.ROSTER_IMPORT_MAX_MB) * 1024 * 1024


def keep_for() -> dt.timedelta:
    return dt.timedelta(hours=int(settings.ROSTER_IMPORT_KEEP_HOURS))


def mine(user: Any) -> QuerySet[RosterImport]:
    """Only the uploader sees, previews and commits an upload: another user's is a 404."""
    return RosterImport.objects.filter(uploaded_by=user)


def read_roster(kind: RosterKind, source: Any) -> Roster:
    """The file opened safely (zaoyang_aid.spreadsheets: size, zip bomb, entities) and read as ``kind``."""
    limits = replace(SheetLimits(), max_bytes=max_bytes())
    return kind.read(open_sheet(source, limits=limits))


def _preview_of(result: ImportResult) -> dict[str, Any]:
    return {
        "counts": result.counts,
        "header_errors": result.header_errors,
        "errors": [[e.row_number, e.column, e.message] for e in result.errors],
        "flags": {key: dict(counter) for key, counter in result.flags.items()},
    }


def roster_import_upload(*, kind_name: str, upload: UploadedFile, user: Any) -> RosterImport:
    """Read and preview ``upload`` (ValidationError, nothing stored, when the file is refused), then
    keep it with its preview for the commit. Audited: who, which kind, the file's name, the counts."""
    kind = ROSTER_KINDS.get(kind_name)
    if kind is None:
        raise ValidationError({"kind": "请选择名单类型。"})
    roster = read_roster(kind, upload)
    preview = kind.commit(roster, user=user, dry_run=True)
    upload.seek(0)
    data = upload.read()
    name = (upload.name or "roster.xlsx")[-200:]
    with transaction.atomic():
        item = RosterImport.objects.create(
            kind=kind.name,
            uploaded_by=user,
            filename=name,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            preview=_preview_of(preview),
        )
        item.file.save(f"{IMPORT_DIR}/{item.pk}-{hashlib.sha256(data).hexdigest()[:16]}.bin", ContentFile(data))
        audit.record(
            AuditAction.CREATE,
            obj=item,
            object_label=f"{kind.label}:{name}",
            changes={"上传名单": [None, kind.label], "文件": [None, name], **_count_words(preview)},
        )
    return item


def _count_words(result: ImportResult) -> dict[str, list[Any]]:
    return {
        "新增": [None, result.created],
        "更新": [None, result.updated],
        "无变化": [None, result.unchanged],
        "错误行": [None, result.skipped],
    }


def already_committed(item: RosterImport) -> RosterImport | None:
    """An earlier commit of the same file (same kind, same bytes), by anyone."""
    same = RosterImport.objects.filter(kind=item.kind, sha256=item.sha256, status=RosterImportStatus.COMMITTED)
    return same.exclude(pk=item.pk).order_by("-committed_at").first()


def roster_import_commit(*, item: RosterImport, user: Any, skip_bad_rows: bool) -> ImportResult:
    """Read the kept file again and commit it (all or nothing; the bad rows skipped only when
    asked). Committed: the counts kept, the file deleted, an audit line. Not committed (a bad row
    and no skipping, or the data changed since the preview): the preview is refreshed and nothing
    is written."""
    with transaction.atomic():
        # Locked: a second click (or a second tab) waits here, then finds the upload committed.
        item = RosterImport.objects.select_for_update().get(pk=item.pk)
        if item.status != RosterImportStatus.UPLOADED or not item.file.name:
            raise ValidationError("该文件已导入或已清理,请重新上传。")
        kind = ROSTER_KINDS[item.kind]
        with private_storage.open(item.file.name, "rb") as handle:
            roster = read_roster(kind, UploadedFile(handle, name=item.filename, size=item.size))
        result = kind.commit(roster, user=user, skip_bad_rows=skip_bad_rows)
        if not result.committed:
            RosterImport.objects.filter(pk=item.pk).update(preview=_preview_of(result))
            return result
        item.status, item.committed_at = RosterImportStatus.COMMITTED, timezone.now()
        item.created, item.updated, item.unchanged, item.skipped = (
            result.created,
            result.updated,
            result.unchanged,
            result.skipped,
        )
        name = item.file.name
        item.file, item.preview = "", {}
        item.save()
        audit.record(
            AuditAction.UPDATE,
            obj=item,
            object_label=f"{kind.label}:{item.filename}",
            changes={"导入名单": [None, kind.label], "文件": [None, item.filename], **_count_words(result)},
        )
        transaction.on_commit(lambda: private_storage.delete(name))
    return result


def roster_imports_delete_old(*, now: dt.datetime | None = None) -> int:
    """Delete uploads not committed within ROSTER_IMPORT_KEEP_HOURS, with their files; returns how
    many. Idempotent: a file already gone is skipped, and the row goes after its file."""
    cutoff = (now or timezone.now()) - keep_for()
    deleted = 0
    for item in RosterImport.objects.filter(status=RosterImportStatus.UPLOADED, created_at__lt=cutoff):
        if item.file.name:
            private_storage.delete(item.file.name)
        item.delete()
        deleted += 1
    return deleted
