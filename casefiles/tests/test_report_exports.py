"""Large Excel reports in the background (issue 10, point 3): the view's choice by the row count,
the task's file and progress, runs repeated or after a crash, the pages as every role, the clean-up."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from casefiles import report_exports, reports
from casefiles.models import ExportStatus, ReportExport
from casefiles.report_exports import report_export_build, report_exports_delete_old
from casefiles.tests.test_reports import table
from guidance.models import TalkRecord
from guidance.tests.factories import TalkRecordFactory
from pairing.models import Pairing
from zaoyang_aid.excel import HEADER_ROW
from zaoyang_aid.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def small_threshold(settings: Any) -> None:
    """Every report of more than one row goes to the background."""
    settings.REPORT_EXPORT_INLINE_ROWS = 1


def _request(client: Any, user: Any, captured: Any, **query: str) -> tuple[Any, ReportExport]:
    client.force_login(user)
    with captured() as callbacks:
        response = client.get(reverse("casefiles:report_download"), {"report": "pairings", **query})
    assert len(callbacks) == 1  # the task, queued after the commit
    return response, ReportExport.objects.get()


def _files(media: Path) -> list[str]:
    folder = media / report_exports.EXPORT_DIR
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# --- The choice by the row count ------------------------------------------------------------------


def test_a_report_under_the_threshold_downloads_at_once_and_queues_nothing(client, world, media):
    client.force_login(world.county)

    response = client.get(reverse("casefiles:report_download"), {"report": "pairings"})

    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert not ReportExport.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 1


def test_a_large_report_becomes_a_queued_export_audited_with_filter_and_row_count(
    client, world, media, small_threshold, django_capture_on_commit_callbacks, monkeypatch
):
    queued: list[int] = []
    monkeypatch.setattr("casefiles.tasks.build_report_export.delay", queued.append)
    client.force_login(world.county)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("casefiles:report_download"), {"report": "pairings", "status": "active"})

    export = ReportExport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("casefiles:report_export_detail", args=[export.pk])
    assert queued == [export.pk]
    rows = Pairing.objects.filter(ended_on__isnull=True).count()
    assert (export.status, export.total, export.requested_by) == (ExportStatus.QUEUED, rows, world.county)
    assert export.filters == {"status": ["active"]}  # plain values, without "report"
    line = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert line.actor_id == world.county.pk
    assert line.changes["行数"] == [None, rows]
    assert line.changes["筛选条件"] == [None, export.filter_words]


def test_a_large_talk_detail_is_built_in_the_background_and_its_file_holds_every_talk(
    client, world, media, small_threshold, django_capture_on_commit_callbacks, monkeypatch
):
    """The record details (the county's 谈心谈话记录明细 runs to 240,000 rows a term) are counted by
    their selector like the lists, so a big one never runs inside the web request."""
    for pairing in Pairing.objects.filter(student__in=[world.student_a1, world.student_a2]):
        TalkRecordFactory(pairing=pairing)
    monkeypatch.setattr("casefiles.tasks.build_report_export.delay", lambda pk: None)
    client.force_login(world.county)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("casefiles:report_download"), {"report": "talk_detail"})

    export = ReportExport.objects.get()
    assert response.status_code == 302 and export.total == TalkRecord.objects.count() == 2
    report_export_build(export.pk)
    export.refresh_from_db()
    assert (export.status, export.done) == (ExportStatus.DONE, 2)


def test_the_compliance_report_one_row_per_school_always_downloads_at_once(client, world, media, small_threshold):
    client.force_login(world.county)

    response = client.get(reverse("casefiles:report_download"), {"report": "compliance_by_school"})

    assert response.status_code == 200 and not ReportExport.objects.exists()


def test_asking_again_while_it_runs_gives_the_same_export(
    client, world, media, small_threshold, django_capture_on_commit_callbacks
):
    _, first = _request(client, world.county, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks() as callbacks:
        again = client.get(reverse("casefiles:report_download"), {"report": "pairings"})

    assert again["Location"] == reverse("casefiles:report_export_detail", args=[first.pk])
    assert ReportExport.objects.count() == 1 and callbacks == []


def test_a_refused_filter_of_a_large_report_queues_nothing(client, world, media, small_threshold):
    client.force_login(world.county)

    response = client.get(reverse("casefiles:report_download"), {"report": "pairings", "term": "99999"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("casefiles:report_list"))
    assert not ReportExport.objects.exists()


# --- The task ---------------------------------------------------------------------------------------


def test_the_task_writes_the_requesters_file_with_progress_and_serves_it_to_them_only(
    client, world, media, small_threshold, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(reports, "PROGRESS_EVERY", 1)
    seen: list[tuple[int, int]] = []
    real = report_exports._progress

    def spy(export_id: int, claim: uuid.UUID, **counts: int) -> None:
        real(export_id, claim, **counts)
        seen.append((counts["done"], counts["total"]))

    monkeypatch.setattr(report_exports, "_progress", spy)
    _, export = _request(client, world.officer_a, django_capture_on_commit_callbacks)

    assert report_export_build(export.pk)

    export.refresh_from_db()
    rows = Pairing.objects.filter(student__school=world.school_a).count()
    assert (export.status, export.done, export.total) == (ExportStatus.DONE, rows, rows)
    assert [done for done, _ in seen] == [*range(1, rows + 1), rows]  # each row, then the end
    assert _files(media) == [f"{export.pk}.xlsx"]
    page = client.get(reverse("casefiles:report_export_detail", args=[export.pk])).content.decode()
    assert "下载Excel" in page and "data-refresh-seconds" not in page
    assert "auto-refresh.js" not in page

    download = client.get(reverse("casefiles:report_export_download", args=[export.pk]))

    assert download.status_code == 200 and download["Content-Type"] == XLSX
    Path(media / "got.xlsx").write_bytes(b"".join(download.streaming_content))
    ws = openpyxl.load_workbook(media / "got.xlsx").active
    assert ws["A2"].value == f"填报单位:{world.school_a.name}"
    assert len(table(ws)) == rows
    assert "身份证号" in [c.value for c in ws[HEADER_ROW]]
    lines = AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("pk")
    assert [line.changes.get("下载") is not None for line in lines] == [False, True]  # request, download
    assert lines.last().actor_id == world.officer_a.pk and lines.last().changes["行数"] == [None, rows]

    for other in (world.officer_b, world.county):
        client.force_login(other)
        for name in ("casefiles:report_export_detail", "casefiles:report_export_download"):
            assert client.get(reverse(name, args=[export.pk])).status_code == 404
        assert export.label not in client.get(reverse("casefiles:report_export_list")).content.decode()


def test_the_progress_page_reloads_itself_while_queued(
    client, world, media, small_threshold, django_capture_on_commit_callbacks
):
    _, export = _request(client, world.county, django_capture_on_commit_callbacks)

    page = client.get(reverse("casefiles:report_export_detail", args=[export.pk])).content.decode()

    assert "data-refresh-seconds" in page and "auto-refresh.js" in page and "0 / " in page
    assert client.get(reverse("casefiles:report_export_download", args=[export.pk])).status_code == 404
    listing = client.get(reverse("casefiles:report_export_list")).content.decode()
    assert export.label in listing and "排队中" in listing


def test_the_finished_export_counts_the_rows_its_file_holds_not_those_counted_at_the_request(world, media):
    export = ReportExport.objects.create(
        requested_by=world.county, report="pairings", label="x", filter_key="k", total=9
    )

    assert report_export_build(export.pk)

    export.refresh_from_db()
    assert export.done == export.total == Pairing.objects.count() != 9
    assert export.percent == 100


def test_a_second_delivery_does_nothing_while_running_or_after_done(world, media):
    export = ReportExport.objects.create(
        requested_by=world.county, report="pairings", label="x", filter_key="k", total=1
    )
    assert report_export_build(export.pk)
    export.refresh_from_db()
    finished = export.finished_at

    assert not report_export_build(export.pk)

    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.finished_at == finished
    assert _files(media) == [f"{export.pk}.xlsx"]


def test_a_run_silent_for_too_long_is_taken_over_and_its_partial_file_discarded(world, media):
    old = timezone.now() - report_exports.STALE_AFTER - dt.timedelta(seconds=1)
    dead = uuid.uuid4()
    export = ReportExport.objects.create(
        requested_by=world.county, report="pairings", label="x", filter_key="k",
        status=ExportStatus.RUNNING, claim=dead, heartbeat_at=old, done=3, total=5,
    )  # fmt: skip
    folder = media / report_exports.EXPORT_DIR
    folder.mkdir()
    (folder / f"{export.pk}-{dead.hex}.part").write_bytes(b"half")

    assert report_export_build(export.pk)

    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.claim != dead
    assert _files(media) == [f"{export.pk}.xlsx"]


def test_a_live_run_is_not_taken_over(world, media):
    export = ReportExport.objects.create(
        requested_by=world.county, report="pairings", label="x", filter_key="k",
        status=ExportStatus.RUNNING, claim=uuid.uuid4(), heartbeat_at=timezone.now(),
    )  # fmt: skip

    assert not report_export_build(export.pk)


def test_a_run_that_lost_its_claim_stops_and_leaves_no_file(world, media, monkeypatch):
    export = ReportExport.objects.create(requested_by=world.county, report="pairings", label="x", filter_key="k")
    monkeypatch.setattr(reports, "PROGRESS_EVERY", 1)
    real = report_exports._progress

    def taken_over(export_id: int, claim: uuid.UUID, **counts: int) -> None:
        ReportExport.objects.filter(pk=export_id).update(claim=uuid.uuid4())
        real(export_id, claim, **counts)

    monkeypatch.setattr(report_exports, "_progress", taken_over)

    assert not report_export_build(export.pk)
    assert _files(media) == []


def test_a_requester_who_may_no_longer_export_gets_a_failed_export_with_the_reason(world, media):
    export = ReportExport.objects.create(requested_by=world.teacher_a1, report="pairings", label="x", filter_key="k")

    assert report_export_build(export.pk)

    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and export.error == "您的角色无权导出报表。"
    assert _files(media) == []


def test_a_stale_queued_export_no_longer_blocks_a_new_request(
    client, world, media, small_threshold, django_capture_on_commit_callbacks, time_machine
):
    _, first = _request(client, world.county, django_capture_on_commit_callbacks)
    time_machine.shift(report_exports.QUEUED_STALE_AFTER + dt.timedelta(minutes=1))

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(reverse("casefiles:report_download"), {"report": "pairings"})

    first.refresh_from_db()
    second = ReportExport.objects.exclude(pk=first.pk).get()
    assert first.status == ExportStatus.FAILED and second.status == ExportStatus.QUEUED
    assert response["Location"] == reverse("casefiles:report_export_detail", args=[second.pk])
    assert len(callbacks) == 1


# --- Clean-up ---------------------------------------------------------------------------------------


def test_the_nightly_clean_up_deletes_files_older_than_the_keep_time(world, media, settings, time_machine):
    settings.REPORT_EXPORT_KEEP_HOURS = 72
    old = ReportExport.objects.create(requested_by=world.county, report="pairings", label="x", filter_key="a")
    report_export_build(old.pk)
    dead = ReportExport.objects.create(
        requested_by=world.county, report="pairings", label="x", filter_key="b",
        status=ExportStatus.RUNNING, claim=uuid.uuid4(), heartbeat_at=timezone.now(),
    )  # fmt: skip
    (media / report_exports.EXPORT_DIR / f"{dead.pk}-{uuid.uuid4().hex}.part").write_bytes(b"half")
    time_machine.shift(dt.timedelta(hours=71))
    recent = ReportExport.objects.create(requested_by=world.county, report="pairings", label="x", filter_key="c")
    report_export_build(recent.pk)

    assert report_exports_delete_old(now=timezone.now()) == 0
    time_machine.shift(dt.timedelta(hours=2))
    assert report_exports_delete_old(now=timezone.now()) == 2

    assert list(ReportExport.objects.values_list("pk", flat=True)) == [recent.pk]
    assert _files(media) == [f"{recent.pk}.xlsx"]
    assert report_exports_delete_old(now=timezone.now()) == 0  # again: nothing


def test_the_clean_up_runs_every_night(settings):
    from casefiles.tasks import delete_old_report_exports

    entry = settings.CELERY_BEAT_SCHEDULE["old-report-exports"]
    assert entry["task"] == delete_old_report_exports.name


# --- Every page as every role -------------------------------------------------------------------------


@pytest.fixture
def done_export(world: Any, media: Path) -> ReportExport:
    export = ReportExport.objects.create(requested_by=world.officer_a, report="pairings", label="台账", filter_key="k")
    report_export_build(export.pk)
    export.refresh_from_db()
    return export


@pytest.mark.parametrize(
    ("who", "listing", "pages"),
    [
        ("officer_a", 200, 200),
        ("officer_b", 200, 404),
        ("county", 200, 404),
        ("teacher_a1", 403, 403),
        ("teacher_b1", 403, 403),
        ("counsellor_a", 403, 403),
        ("admin", 403, 403),
        ("nobody", 403, 403),
    ],
)
def test_every_page_as_every_role(client, world, done_export, who, listing, pages):
    client.force_login(getattr(world, who))

    assert client.get(reverse("casefiles:report_export_list")).status_code == listing
    for name in ("casefiles:report_export_detail", "casefiles:report_export_download"):
        assert client.get(reverse(name, args=[done_export.pk])).status_code == pages


def test_a_stranger_is_sent_to_the_login(client, world, done_export):
    response = client.get(reverse("casefiles:report_export_download", args=[done_export.pk]))

    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_file_already_cleaned_up_is_a_404(client, world, done_export, media):
    (media / done_export.file.name).unlink()
    client.force_login(world.officer_a)

    assert client.get(reverse("casefiles:report_export_download", args=[done_export.pk])).status_code == 404


# --- Queries ------------------------------------------------------------------------------------------


def test_the_view_counts_once_and_writes_a_small_report_with_the_exports_queries(
    client, world, media, django_assert_num_queries
):
    client.force_login(world.officer_a)
    # The session, user with their staff row (2, zaoyang_aid/backends.py), the term calendar (2: the
    # terms and closures, read once per change, pairing/calendars.py; this is the first request), the
    # school's stage for the grade filter (1), the COUNT (1), then the export's own (the unit's school,
    # pairings, 认定: 3) and its audit line (1), the session saved (3, in a savepoint: the first page after
    # force_login stamps its idle clock, zaoyang_aid/sessions.py): the filter is prepared once.
    with django_assert_num_queries(13):
        response = client.get(reverse("casefiles:report_download"), {"report": "pairings"})
    assert response.status_code == 200


def test_a_large_report_is_queued_with_a_fixed_number_of_queries(
    client, world, media, small_threshold, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client.force_login(world.county)
    # The session and user (2), the term calendar (2: read once per change, pairing/calendars.py; this
    # is the first request), the COUNT (1); in a savepoint
    # (2): stale ones given up (1), an unfinished one looked for (1), the row in its own savepoint (3),
    # the audit line (1); the session saved (3: the first page after force_login stamps its idle clock).
    # No row is read.
    with django_assert_num_queries(16), django_capture_on_commit_callbacks():
        response = client.get(reverse("casefiles:report_download"), {"report": "pairings"})
    assert response.status_code == 302


@pytest.mark.parametrize("more", [0, 15])
def test_the_list_of_my_exports_runs_the_same_queries_for_1_and_16_exports(
    client, world, done_export, django_assert_num_queries, more
):
    for n in range(more):
        ReportExport.objects.create(requested_by=world.officer_a, report="pairings", label="台账", filter_key=str(n))
    client.force_login(world.officer_a)
    # The session, user with their staff row (2, zaoyang_aid/backends.py), the page's count and rows
    # (2), the menu's unread count (1), the session saved (3: the first page after force_login stamps
    # its idle clock).
    with django_assert_num_queries(8):
        assert client.get(reverse("casefiles:report_export_list")).status_code == 200


def test_the_database_holds_one_unfinished_export_per_requester_and_filter(world):
    from django.db import IntegrityError, transaction

    ReportExport.objects.create(requested_by=world.county, report="pairings", label="x", filter_key="k")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportExport.objects.create(requested_by=world.county, report="pairings", label="x", filter_key="k")
    # Another requester, or once the first is finished, may.
    ReportExport.objects.create(requested_by=world.officer_a, report="pairings", label="x", filter_key="k")
    ReportExport.objects.filter(requested_by=world.county).update(status=ExportStatus.DONE)
    ReportExport.objects.create(requested_by=world.county, report="pairings", label="x", filter_key="k")


def test_filters_are_kept_as_plain_values_and_read_back_as_the_list_reads_them():
    from django.http import QueryDict

    query = QueryDict("report=pairings&term=3&category=1&category=2&school=")
    plain = report_exports.plain_filters(query)

    assert plain == {"category": ["1", "2"], "term": ["3"]}
    assert report_exports.as_query(plain).getlist("category") == ["1", "2"]
