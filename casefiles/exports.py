"""A school's case files of a term as one zip of PDFs: requested on a page, built by a Celery task.

``case_file_export_request`` (the page, a test or a command) writes the row and the audit line and,
after the commit, queues ``casefiles.tasks.build_case_file_export``, which calls
``case_file_export_build``: one PDF at a time into a temporary zip beside the final one, progress on
the row after each, renamed into place at the end. ``case_file_exports_delete_old`` is the nightly
clean-up (KEEP_FOR).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from guidance.models import private_storage
from pairing.models import Pairing, School, Student, Term
from zaoyang_aid import audit
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.models import AuditAction

from . import claims
from .claims import STALE_AFTER, ClaimLost
from .document import Document
from .models import UNFINISHED, CaseFileExport, ExportStatus
from .pdf import render_pdf

logger = logging.getLogger(__name__)

EXPORT_DIR = "case-file-exports"
# A queued export no worker has started for this long (its message lost, no worker running) no longer
# blocks a new request for its school and term: the request marks it failed and queues anew.
QUEUED_STALE_AFTER = dt.timedelta(minutes=30)  # (a running one: claims.STALE_AFTER)
KEEP_FOR = dt.timedelta(days=7)
RUNNING_MESSAGE = "该校该学期的档案正在生成,请等待完成后再导出。"

DocumentSource = Callable[..., Document]


def document_source() -> DocumentSource:
    """``casefiles.build.case_file_document(*, student_id, term_id, reader) -> Document``: the case
    file as its reader may see it. Imported when an export runs (tests replace this function)."""
    from .build import case_file_document  # type: ignore[import-not-found,unused-ignore]

    return case_file_document  # type: ignore[no-any-return,unused-ignore]


def export_students(*, school_id: int, term: Term) -> QuerySet[Student]:
    """The school's students who had a pairing at some time in the term, in class order."""
    paired = Pairing.objects.filter(student__school_id=school_id).in_term(term, as_of=term.end_date)
    return (
        Student.objects.filter(school_id=school_id, pk__in=paired.values("student_id"))
        .select_related("school")
        .order_by("grade", "class_name", "name", "pk")
    )


def may_export(user: Any, school_id: int) -> bool:
    scope = scope_of(user)
    return scope.role == Role.COUNTY or (scope.role == Role.OFFICER and scope.school_id == school_id)


def case_file_export_request(*, school_id: int, term_id: int, by: Any) -> CaseFileExport:
    """Queue the zip of the school's case files of the term (the school's 资助专干 or county staff).
    One unfinished export per school and term, held by a partial unique index."""
    if not may_export(by, school_id):
        raise ValidationError("只有本校资助专干或市资助中心可以导出本校档案。", code="forbidden")
    school = School.objects.filter(pk=school_id).first()
    term = Term.objects.select_related("school_year").filter(pk=term_id).first()
    if school is None or term is None:
        raise ValidationError("学校或学期不存在。", code="invalid")
    if term.start_date > timezone.localdate():
        raise ValidationError("该学期尚未开始,没有可导出的档案。", code="invalid")
    with transaction.atomic():
        _give_up_stale(school_id=school.pk, term_id=term.pk)
        if CaseFileExport.objects.filter(school=school, term=term, status__in=UNFINISHED).exists():
            raise ValidationError(RUNNING_MESSAGE, code="running")
        try:
            with transaction.atomic():
                export = CaseFileExport.objects.create(school=school, term=term, requested_by=by)
        except IntegrityError:  # a second request that raced past the check above
            raise ValidationError(RUNNING_MESSAGE, code="running") from None
        audit.record(
            AuditAction.EXPORT,
            obj=export,
            object_label=f"{school.name} {term.name} 帮扶档案",
            changes={"导出内容": [None, f"{school.name} {term.name} 全部学生帮扶档案(PDF压缩包)"]},
        )
        transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _give_up_stale(*, school_id: int, term_id: int) -> None:
    """Fail the school's unfinished export of the term that nothing is building: queued long ago and
    never started, or started and silent since STALE_AFTER. Should its task still come, its claim
    finds the row failed and it does nothing."""
    now = timezone.now()
    stale = Q(status=ExportStatus.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER) | Q(
        status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    )
    CaseFileExport.objects.filter(stale, school_id=school_id, term_id=term_id).update(
        status=ExportStatus.FAILED, error="长时间未完成,已由新的导出取代。", finished_at=now, claim=None
    )


def _enqueue(export_id: int) -> None:
    from .tasks import build_case_file_export

    build_case_file_export.delay(export_id)


def case_file_export_build(export_id: int, *, source: DocumentSource | None = None) -> bool:
    """Build the export's zip; True when this run finished it (done or failed).

    At-least-once and safe to repeat: the run first claims the row with a conditional UPDATE (a
    queued row, or a running one whose run stopped sending progress STALE_AFTER ago: a crash), so a
    second delivery of the task while the first runs, or one after the zip is done, does nothing.
    A run after a crash starts over: it writes its own temporary file and deletes those of earlier
    runs; it writes progress and renames its zip into place only while it still holds the claim (the
    rename under the row's lock), and the zip's name is the export's own, so there are never two.
    Memory stays bounded: one student's document and PDF at a time, streamed into the zip on disk.
    """
    claim = uuid.uuid4()
    if not _claim(export_id, claim):
        return False
    export = CaseFileExport.objects.select_related("term__school_year", "requested_by").get(pk=export_id)
    students = list(export_students(school_id=export.school_id, term=export.term))
    _discard_partials(export_id, keep=claim)
    tmp = Path(private_storage.path(_partial_name(export_id, claim)))
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        _progress(export_id, claim, done=0, total=len(students))
        build = source or document_source()
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            names: set[str] = set()
            for done, student in enumerate(students, start=1):
                document = build(student_id=student.pk, term_id=export.term_id, reader=export.requested_by)
                archive.writestr(_entry_name(student, names), render_pdf(document))
                _progress(export_id, claim, done=done)
        _finish(export_id, claim, tmp)
    except ClaimLost:
        tmp.unlink(missing_ok=True)
        return False
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        logger.exception("case file export %s failed", export_id)
        _fail(export_id, claim, exc)
    return True


def _claim(export_id: int, claim: uuid.UUID) -> bool:
    return claims.claim_row(CaseFileExport, export_id, claim, done=0, total=0, error="")


def _progress(export_id: int, claim: uuid.UUID, **counts: int) -> None:
    claims.progress(CaseFileExport, export_id, claim, **counts)


def _finish(export_id: int, claim: uuid.UUID, tmp: Path) -> None:
    claims.finish(CaseFileExport, export_id, claim, tmp, f"{EXPORT_DIR}/{export_id}.zip")


def _fail(export_id: int, claim: uuid.UUID, exc: Exception) -> None:
    # The message names the error's kind only: an exception's text may quote a record.
    CaseFileExport.objects.filter(pk=export_id, claim=claim).update(
        status=ExportStatus.FAILED, error=f"生成失败({type(exc).__name__}),请重新导出。", finished_at=timezone.now()
    )


def _partial_name(export_id: int, claim: uuid.UUID) -> str:
    return f"{EXPORT_DIR}/{export_id}-{claim.hex}.part"


def _discard_partials(export_id: int, *, keep: uuid.UUID) -> None:
    folder = Path(private_storage.path(EXPORT_DIR))
    if folder.is_dir():
        for path in folder.glob(f"{export_id}-*.part"):
            if path.name != Path(_partial_name(export_id, keep)).name:
                path.unlink(missing_ok=True)


def _entry_name(student: Student, taken: set[str]) -> str:
    """班级-姓名.pdf (no ID number in a file name); a second student of the same name gets "-2"."""
    base = f"{student.class_label}-{student.name}".replace("/", "_").replace("\\", "_")
    name, n = f"{base}.pdf", 1
    while name in taken:
        n += 1
        name = f"{base}-{n}.pdf"
    taken.add(name)
    return name


def case_file_exports_delete_old(*, now: dt.datetime | None = None) -> int:
    """Delete finished exports older than KEEP_FOR with their files; returns how many. Idempotent:
    a file already gone is skipped, and the row goes after its file."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted = 0
    for export in CaseFileExport.objects.filter(created_at__lt=cutoff).exclude(status__in=UNFINISHED):
        if export.file.name:
            private_storage.delete(export.file.name)
        export.delete()
        deleted += 1
    return deleted


def export_file_path(export: CaseFileExport) -> str:
    return private_storage.path(export.file.name)
