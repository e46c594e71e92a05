"""A school's case files of a term as one zip of PDFs: which students, progress, and runs that are
repeated, concurrent or follow a crash."""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from pypdf import PdfReader

from casefiles import exports
from casefiles.document import Block, Cover, Document, Row, Section
from casefiles.exports import (
    case_file_export_build,
    case_file_export_request,
    case_file_exports_delete_old,
)
from casefiles.models import CaseFileExport, ExportStatus
from casefiles.tasks import build_case_file_export
from pairing.models import PairingEndReason
from pairing.tests import factories as f
from zaoyang_aid.models import AuditAction, AuditEvent


def fake_document(*, student_id: int, term_id: int, reader: Any) -> Document:
    """What casefiles.build will give: here, the student's name and one talk."""
    from pairing.models import Student

    student = Student.objects.get(pk=student_id)
    talk = Block(title="谈心谈话", rows=[Row("内容", f"与{student.name}交流学习计划。")])
    return Document(
        cover=Cover(title="学生资助帮扶档案", rows=[Row("学生", student.name)]),
        sections=[Section(title="谈心谈话", blocks=[talk])],
    )


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _export(world: Any, **fields: Any) -> CaseFileExport:
    return CaseFileExport.objects.create(school=world.school_a, term=world.term, requested_by=world.officer_a, **fields)


def _zip_of(export: CaseFileExport) -> zipfile.ZipFile:
    export.refresh_from_db()
    return zipfile.ZipFile(exports.export_file_path(export))


def _export_files(media: Path) -> list[str]:
    folder = media / exports.EXPORT_DIR
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_zip_holds_one_pdf_per_paired_student_named_by_class_and_name(world: Any, media: Path) -> None:
    export = _export(world)

    assert case_file_export_build(export.pk, source=fake_document)

    export.refresh_from_db()
    assert (export.status, export.done, export.total) == (ExportStatus.DONE, 2, 2)
    assert export.finished_at is not None and export.size > 0
    archive = _zip_of(export)
    assert sorted(archive.namelist()) == ["七年级1班-张小明.pdf", "七年级1班-李小红.pdf"]
    text = PdfReader(io.BytesIO(archive.read("七年级1班-张小明.pdf"))).pages[1].extract_text()
    assert "与张小明交流学习计划" in text
    assert _export_files(media) == [f"{export.pk}.zip"]


def test_progress_is_written_after_each_pdf(world: Any, media: Path) -> None:
    export = _export(world)
    seen = []

    def watching(**kwargs: Any) -> Document:
        row = CaseFileExport.objects.get(pk=export.pk)
        seen.append((row.status, row.done, row.total))
        return fake_document(**kwargs)

    case_file_export_build(export.pk, source=watching)

    assert seen == [(ExportStatus.RUNNING, 0, 2), (ExportStatus.RUNNING, 1, 2)]


def test_students_without_a_pairing_in_the_term_are_left_out(world: Any, media: Path) -> None:
    f.StudentFactory(school=world.school_a, name="未结对")
    ended = f.PairingFactory(teacher__school=world.school_a, student__name="上学期结对", started_on=dt.date(2026, 3, 1))
    ended.ended_on, ended.end_reason = dt.date(2026, 6, 30), PairingEndReason.OTHER
    ended.save()
    f.PairingFactory(teacher__school=world.school_a, student__name="本学期结束", started_on=dt.date(2026, 9, 1))
    export = _export(world)

    case_file_export_build(export.pk, source=fake_document)

    names = _zip_of(export).namelist()
    assert len(names) == 3
    assert not any("未结对" in n or "上学期结对" in n for n in names)
    assert not any("王小刚" in n for n in names)  # school B's student


def test_two_students_of_one_class_and_name_get_two_files(world: Any, media: Path) -> None:
    f.PairingFactory(teacher__school=world.school_a, student__name="张小明")
    export = _export(world)

    case_file_export_build(export.pk, source=fake_document)

    assert "七年级1班-张小明-2.pdf" in _zip_of(export).namelist()


def test_the_celery_task_builds_the_export(world: Any, media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "document_source", lambda: fake_document)
    export = _export(world)

    build_case_file_export(export.pk)  # the task's function, called eagerly

    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and len(_zip_of(export).namelist()) == 2


def test_a_second_run_of_a_finished_export_changes_nothing(world: Any, media: Path) -> None:
    export = _export(world)
    case_file_export_build(export.pk, source=fake_document)
    export.refresh_from_db()
    finished = export.finished_at

    assert not case_file_export_build(export.pk, source=fake_document)

    export.refresh_from_db()
    assert export.finished_at == finished and _export_files(media) == [f"{export.pk}.zip"]


def test_a_run_while_another_is_alive_does_nothing(world: Any, media: Path) -> None:
    export = _export(world, status=ExportStatus.RUNNING, claim=uuid.uuid4(), heartbeat_at=timezone.now(), total=2)

    assert not case_file_export_build(export.pk, source=fake_document)

    export.refresh_from_db()
    assert export.status == ExportStatus.RUNNING and _export_files(media) == []


def test_a_run_after_a_crash_starts_over_and_leaves_one_zip(world: Any, media: Path) -> None:
    dead = uuid.uuid4()
    long_ago = timezone.now() - exports.STALE_AFTER - dt.timedelta(minutes=1)
    export = _export(world, status=ExportStatus.RUNNING, claim=dead, heartbeat_at=long_ago, done=1, total=2)
    folder = media / exports.EXPORT_DIR
    folder.mkdir()
    (folder / f"{export.pk}-{dead.hex}.part").write_bytes(b"half a zip")
    (folder / f"{export.pk}.zip").write_bytes(b"a zip renamed before the crash could record it")

    assert case_file_export_build(export.pk, source=fake_document)

    export.refresh_from_db()
    assert (export.status, export.done, export.total) == (ExportStatus.DONE, 2, 2)
    assert export.claim != dead
    assert _export_files(media) == [f"{export.pk}.zip"]
    assert len(_zip_of(export).namelist()) == 2


def test_a_run_that_lost_its_claim_stops_and_leaves_no_file(world: Any, media: Path) -> None:
    export = _export(world)

    def taken_over(**kwargs: Any) -> Document:
        # Meanwhile another run took the row over (this one was thought dead).
        CaseFileExport.objects.filter(pk=export.pk).update(claim=uuid.uuid4())
        return fake_document(**kwargs)

    assert not case_file_export_build(export.pk, source=taken_over)

    assert _export_files(media) == []
    export.refresh_from_db()
    assert export.status == ExportStatus.RUNNING  # the other run's to finish


def test_an_error_marks_the_export_failed_without_a_file(world: Any, media: Path) -> None:
    export = _export(world)

    def broken(**kwargs: Any) -> Document:
        raise RuntimeError("王小刚 的档案读不出")  # an error's text may quote a record

    assert case_file_export_build(export.pk, source=broken)

    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and export.finished_at is not None
    assert "RuntimeError" in export.error and "王小刚" not in export.error
    assert _export_files(media) == []


def test_an_officer_requests_her_schools_export_audited_and_queued_after_the_commit(
    world: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = []
    monkeypatch.setattr(build_case_file_export, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        export = case_file_export_request(school_id=world.school_a.pk, term_id=world.term.pk, by=world.officer_a)

    assert queued == [export.pk]
    assert export.status == ExportStatus.QUEUED and export.requested_by == world.officer_a
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert world.school_a.name in event.object_label


def test_county_staff_may_request_any_schools_export(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        export = case_file_export_request(school_id=world.school_b.pk, term_id=world.term.pk, by=world.county)

    assert export.school == world.school_b


@pytest.mark.parametrize("who", ["officer_b", "teacher_a1", "counsellor_a", "admin", "nobody"])
def test_no_one_else_may_request_a_schools_export(world: Any, who: str) -> None:
    with pytest.raises(ValidationError, match="只有本校资助专干或市资助中心"):
        case_file_export_request(school_id=world.school_a.pk, term_id=world.term.pk, by=getattr(world, who))

    assert not CaseFileExport.objects.exists()


def test_a_second_request_while_one_is_unfinished_is_refused(world: Any) -> None:
    _export(world)

    with pytest.raises(ValidationError, match="正在生成"):
        case_file_export_request(school_id=world.school_a.pk, term_id=world.term.pk, by=world.county)


def test_the_database_holds_one_unfinished_export_per_school_and_term(world: Any) -> None:
    _export(world, status=ExportStatus.RUNNING)
    _export(world, status=ExportStatus.DONE)  # finished ones may be many

    with pytest.raises(IntegrityError), transaction.atomic():
        _export(world)


def test_exports_older_than_a_week_are_deleted_with_their_files(world: Any, media: Path) -> None:
    old = _export(world)
    case_file_export_build(old.pk, source=fake_document)
    CaseFileExport.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    recent = _export(world)

    assert case_file_exports_delete_old(now=timezone.now()) == 1

    assert list(CaseFileExport.objects.all()) == [recent]
    assert _export_files(media) == []


def test_a_demo_flush_removes_the_exports_and_their_zips(
    world: Any, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    import random

    from casefiles import demo
    from zaoyang_aid.demo import DemoContext

    export = _export(world)
    case_file_export_build(export.pk, source=fake_document)
    ctx = DemoContext(rng=random.Random(1), scale="small", today=dt.date(2026, 11, 16), stdout=None, password_hash="")

    with django_capture_on_commit_callbacks(execute=True):
        demo.flush(ctx)

    assert not CaseFileExport.objects.exists()
    assert _export_files(media) == []


def test_an_export_nothing_is_building_gives_way_to_a_new_request(
    world: Any, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    lost = _export(world)  # its task's message was lost: queued for good
    CaseFileExport.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - exports.QUEUED_STALE_AFTER - dt.timedelta(minutes=1)
    )

    with django_capture_on_commit_callbacks(execute=False):
        new = case_file_export_request(school_id=world.school_a.pk, term_id=world.term.pk, by=world.officer_a)

    lost.refresh_from_db()
    assert lost.status == ExportStatus.FAILED and "取代" in lost.error
    assert not case_file_export_build(lost.pk, source=fake_document)  # its task, should it come after all
    assert new.status == ExportStatus.QUEUED


def test_a_recently_queued_export_still_blocks_a_new_request(world: Any) -> None:
    _export(world)

    with pytest.raises(ValidationError, match="正在生成"):
        case_file_export_request(school_id=world.school_a.pk, term_id=world.term.pk, by=world.officer_a)
