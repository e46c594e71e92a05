"""Writes of the guidance app, each inside one transaction; keyword-only arguments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from pairing.models import Pairing, Term
from zaoyang_aid import audit
from zaoyang_aid.models import AuditAction

from .forms import HomeVisitForm
from .models import HomeVisit, HomeVisitPhoto
from .photos import CleanPhoto
from .rules import visit_date_problem

# --- Talk records ----------------------------------------------------------------------------


# --- Home visits -----------------------------------------------------------------------------


def home_visit_create(
    *, pairing: Pairing, recorded_by: Any, form: HomeVisitForm, photos: Sequence[CleanPhoto]
) -> HomeVisit:
    """Save a home visit (a valid form) with its photos, already checked and re-encoded by
    photos.clean_photo. All or nothing: if the transaction rolls back after photo files were
    written, the files are deleted too, so no photo of a child's home is left on disk unreferenced.

    The transaction is durable (outermost): inside someone else's transaction a later rollback
    could not be seen here, and the files written would stay behind.
    """
    problem = visit_date_problem(pairing=pairing, day=form.cleaned_data["date"], today=timezone.localdate())
    if problem:
        raise ValidationError({"date": problem})
    if len(photos) > HomeVisitPhoto.MAX_PER_VISIT:
        raise ValidationError({"photos": f"每次家访最多上传{HomeVisitPhoto.MAX_PER_VISIT}张照片。"})
    written: list[HomeVisitPhoto] = []
    try:
        with transaction.atomic(durable=True):
            visit = form.save(commit=False)
            visit.pairing = pairing
            visit.term = Term.objects.containing(visit.date).get()
            visit.recorded_by = recorded_by
            visit.save()
            form.save_m2m()
            for photo in photos:
                row = HomeVisitPhoto(
                    visit=visit,
                    content_type=photo.content_type,
                    width=photo.width,
                    height=photo.height,
                    size=photo.size,
                )
                written.append(row)  # before the file is written: a failure in save() still cleans up
                row.image.save(f"photo{photo.extension}", ContentFile(photo.data), save=False)
                row.save()
            audit.record(
                AuditAction.CREATE,
                obj=visit,
                student_id=pairing.student_id,
                changes={"家访": [None, f"{visit.date:%Y-%m-%d} {visit.visitors} 照片{len(photos)}张"]},
            )
    except BaseException:
        for row in written:
            if row.image.name:
                row.image.storage.delete(row.image.name)
        raise
    return visit


# --- Excused weeks ---------------------------------------------------------------------------
