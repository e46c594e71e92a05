"""Large Excel reports in the background (issue 10, point 3).

The download view counts the rows with the list's selector: up to REPORT_EXPORT_INLINE_ROWS the file
is written at once, as before; above, ``report_export_request`` writes the row and the audit line
(the filter and the row count) and, after the commit, queues ``casefiles.tasks.build_report_export``,
which calls ``report_export_build``: the report written by casefiles.reports.report_export (streaming,
write-only workbook) into a temporary ``.part`` file beside the final one, progress on the row every
PROGRESS_EVERY rows, renamed into place at the end. The file is served only to its requester (``mine``).
``report_exports_delete_old`` is the nightly clean-up (REPORT_EXPORT_KEEP_HOURS).

Same pattern as the case-file zip (casefiles/exports.py): claim by conditional UPDATE, heartbeat,
rerun-safe, one unfinished export per requester and filter (a partial unique index).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from guidance.models import private_storage

from . import claims
from .claims import STALE_AFTER, ClaimLost
from .models import UNFINISHED, ExportStatus, ReportExport
from .reports import PreparedReport, report_audit, report_export, report_filename

logger = logging.getLogger(__name__)

EXPORT_DIR = "report-exports"
# A queued export no worker started for this long no longer blocks a new request of the same filter.
QUEUED_STALE_AFTER = dt.timedelta(minutes=30)  # (a running one: claims.STALE_AFTER)


def keep_for() -> dt.timedelta:
    return dt.timedelta(hours=settings.REPORT_EXPORT_KEEP_HOURS)


def keep_for_hours() -> int:
    return int(settings.REPORT_EXPORT_KEEP_HOURS)


def inline_rows() -> int:
    return int(settings.REPORT_EXPORT_INLINE_ROWS)


def mine(user: Any) -> QuerySet[ReportExport]:
    """A requester's own report exports: no one else sees the row or downloads the file."""
    if not getattr(user, "is_authenticated", False):
        return ReportExport.objects.none()
    return ReportExport.objects.filter(requested_by=user)


def plain_filters(data: Any) -> dict[str, list[str]]:
    """The list's query parameters as plain JSON values ({name: [values]}), without ``report``;
    empty values dropped, names sorted (the same filter gives the same digest)."""
    lists = (
        data.lists() if hasattr(data, "lists") else ((k, v if isinstance(v, list) else [v]) for k, v in data.items())
    )
    plain = {str(k): [str(v) for v in values if str(v) != ""] for k, values in lists if k != "report"}
    return {k: v for k, v in sorted(plain.items()) if v}


def as_query(filters: Mapping[str, list[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in filters.items():
        query.setlist(key, list(values))
    return query


def _digest(report: str, filters: Mapping[str, list[str]]) -> str:
    canonical = json.dumps([report, filters], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def report_export_request(
    *, prepared: PreparedReport, user: Any, filters: Mapping[str, list[str]], rows: int
) -> ReportExport:
    """Write the row of a background export of ``prepared`` for ``user`` and its audit line (the
    filter and the ``rows`` counted), and queue its task after the commit. An unfinished export of
    the same report and filter by the same requester is returned instead of a second one."""
    key = _digest(prepared.report.name, filters)
    with transaction.atomic():
        _give_up_stale(user_id=user.pk, filter_key=key)
        running = mine(user).filter(filter_key=key, status__in=UNFINISHED).first()
        if running is not None:
            return running
        try:
            with transaction.atomic():
                export = ReportExport.objects.create(
                    requested_by=user,
                    report=prepared.report.name,
                    label=f"{prepared.report.label}({prepared.term.name})",
                    filters=dict(filters),
                    filter_words=prepared.filters[:500],
                    filter_key=key,
                    total=rows,
                    filename=report_filename(prepared, timezone.now()),
                )
        except IntegrityError:  # a second request that raced past the check above
            return mine(user).get(filter_key=key, status__in=UNFINISHED)
        report_audit(prepared, user=user, rows=rows)
        transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _give_up_stale(*, user_id: int, filter_key: str) -> None:
    now = timezone.now()
    stale = Q(status=ExportStatus.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER) | Q(
        status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    )
    ReportExport.objects.filter(stale, requested_by_id=user_id, filter_key=filter_key).update(
        status=ExportStatus.FAILED, error="长时间未完成,已由新的导出取代。", finished_at=now, claim=None
    )


def _enqueue(export_id: int) -> None:
    from .tasks import build_report_export

    build_report_export.delay(export_id)


def report_export_build(export_id: int) -> bool:
    """Write the export's file; True when this run finished it (done or failed).

    At-least-once and safe to repeat, as case_file_export_build: the run claims the row with a
    conditional UPDATE (queued, or running with no progress for STALE_AFTER), writes its own .part
    file, heartbeats with each progress update and renames into place only while it holds the claim.
    The file is written for the requester as they are now (their role and scope, their columns): an
    account no longer allowed to export gets a failed export, not a file."""
    claim = uuid.uuid4()
    if not _claim(export_id, claim):
        return False
    export = ReportExport.objects.get(pk=export_id)
    user = get_user_model().objects.get(pk=export.requested_by_id)
    _discard_partials(export_id, keep=claim)
    tmp = Path(private_storage.path(_partial_name(export_id, claim)))
    tmp.parent.mkdir(parents=True, exist_ok=True)
    total = export.total

    def progress(done: int) -> None:
        nonlocal total
        total = max(total, done)  # rows added since the count: the bar ends full
        _progress(export_id, claim, done=done, total=total)

    try:
        report_export(
            name=export.report,
            user=user,
            data=as_query(export.filters),
            target=str(tmp),
            on_progress=progress,
            audited=False,
        )
        _finish(export_id, claim, tmp)
    except ClaimLost:
        tmp.unlink(missing_ok=True)
        return False
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        logger.exception("report export %s failed", export_id)
        _fail(export_id, claim, exc)
    return True


def _claim(export_id: int, claim: uuid.UUID) -> bool:
    return claims.claim_row(ReportExport, export_id, claim, done=0, error="")


def _progress(export_id: int, claim: uuid.UUID, **counts: int) -> None:
    claims.progress(ReportExport, export_id, claim, **counts)


def _finish(export_id: int, claim: uuid.UUID, tmp: Path) -> None:
    def rows_held(export: ReportExport) -> list[str]:
        export.total = export.done  # the rows the file holds (rows ended or added since the count)
        return ["total"]

    claims.finish(ReportExport, export_id, claim, tmp, f"{EXPORT_DIR}/{export_id}.xlsx", also=rows_held)


def _fail(export_id: int, claim: uuid.UUID, exc: Exception) -> None:
    # The message names the error's kind only: an exception's text may quote a record.
    # A ValidationError says in our words why the report cannot be written now (the role changed …).
    error = (
        ";".join(exc.messages) if isinstance(exc, ValidationError) else f"生成失败({type(exc).__name__}),请重新导出。"
    )
    ReportExport.objects.filter(pk=export_id, claim=claim).update(
        status=ExportStatus.FAILED, error=error[:300], finished_at=timezone.now()
    )


def _partial_name(export_id: int, claim: uuid.UUID) -> str:
    return f"{EXPORT_DIR}/{export_id}-{claim.hex}.part"


def _discard_partials(export_id: int, *, keep: uuid.UUID | None) -> None:
    folder = Path(private_storage.path(EXPORT_DIR))
    if folder.is_dir():
        for path in folder.glob(f"{export_id}-*.part"):
            if keep is None or path.name != Path(_partial_name(export_id, keep)).name:
                path.unlink(missing_ok=True)


def report_exports_delete_old(*, now: dt.datetime | None = None) -> int:
    """Delete exports requested more than REPORT_EXPORT_KEEP_HOURS ago with their files (an export
    still unfinished by then died: its .part files go too); returns how many. Idempotent: a file
    already gone is skipped, and the row goes after its file."""
    cutoff = (now or timezone.now()) - keep_for()
    deleted = 0
    for export in ReportExport.objects.filter(created_at__lt=cutoff):
        if export.file.name:
            private_storage.delete(export.file.name)
        _discard_partials(export.pk, keep=None)
        export.delete()
        deleted += 1
    return deleted


def report_export_path(export: ReportExport) -> str:
    return private_storage.path(export.file.name)
