"""The claim on a background file's row: a school's zip of case files (exports.py) and a large Excel
report (report_exports.py) are each built by a Celery task that may be delivered twice or die
halfway. A run first claims its row with a conditional UPDATE (a queued row, or a running one whose
run has sent no progress for STALE_AFTER: a crash), keeps the claim alive with each progress update,
and renames its finished file into place only while it still holds the claim, under the row's lock.
A run that finds its claim taken (it was thought dead) stops and leaves no file: ClaimLost."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from guidance.models import private_storage

from .models import ExportStatus

# A running build sends progress far more often than this; silent this long, it is taken for dead.
STALE_AFTER = dt.timedelta(minutes=10)


class ClaimLost(Exception):
    """Another run claimed the row (this one was taken for dead): stop, leave no file."""


def claim_row(model: type[models.Model], export_id: int, claim: uuid.UUID, **reset: Any) -> bool:
    """Claim the row for this run; False when another run holds it or it is finished. ``reset``: the
    fields a fresh start sets (progress counters, the error)."""
    now = timezone.now()
    claimable = Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    changed = model._default_manager.filter(claimable, pk=export_id).update(
        status=ExportStatus.RUNNING, claim=claim, heartbeat_at=now, started_at=now, **reset
    )
    return changed == 1


def progress(model: type[models.Model], export_id: int, claim: uuid.UUID, **counts: int) -> None:
    """Write the counts and keep the claim alive; ClaimLost when the row is no longer this run's."""
    if not model._default_manager.filter(pk=export_id, claim=claim).update(heartbeat_at=timezone.now(), **counts):
        raise ClaimLost


def finish(
    model: type[models.Model],
    export_id: int,
    claim: uuid.UUID,
    tmp: Path,
    name: str,
    *,
    also: Callable[[Any], list[str]] | None = None,
) -> None:
    """Rename ``tmp`` to ``name`` in the private storage and mark the row done, while this run still
    holds the claim. ``also`` sets more fields on the locked row and returns their names."""
    with transaction.atomic():
        # Locked so that no other run claims the row between the check and the rename.
        export: Any = model._default_manager.select_for_update().filter(pk=export_id, claim=claim).first()
        if export is None:
            raise ClaimLost
        final = Path(private_storage.path(name))
        tmp.replace(final)
        export.status, export.file.name, export.size = ExportStatus.DONE, name, final.stat().st_size
        export.finished_at = export.heartbeat_at = timezone.now()
        extra = also(export) if also is not None else []
        export.save(update_fields=["status", "file", "size", "finished_at", "heartbeat_at", *extra])
