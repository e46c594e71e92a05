"""The export pages as each role: the school's officer, another school's officer, a teacher, the
counsellor, county staff, the admin and an account without a role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from casefiles.exports import case_file_export_build
from casefiles.models import CaseFileExport, ExportStatus
from casefiles.tests.test_exports import fake_document
from zaoyang_aid.models import AuditAction, AuditEvent


@pytest.fixture
def export(world: Any, settings: Any, tmp_path: Path) -> CaseFileExport:
    settings.MEDIA_ROOT = tmp_path
    export = CaseFileExport.objects.create(school=world.school_a, term=world.term, requested_by=world.officer_a)
    case_file_export_build(export.pk, source=fake_document)
    export.refresh_from_db()
    return export


PAGES = ["casefiles:export_detail", "casefiles:export_download"]


@pytest.mark.parametrize("who", ["officer_a", "county"])
def test_the_schools_officer_and_county_staff_open_the_export_pages(
    client: Any, world: Any, export: CaseFileExport, who: str
) -> None:
    client.force_login(getattr(world, who))

    assert client.get(reverse("casefiles:export_list")).status_code == 200
    detail = client.get(reverse("casefiles:export_detail", args=[export.pk]))
    assert detail.status_code == 200 and "下载压缩包" in detail.content.decode()
    download = client.get(reverse("casefiles:export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert b"".join(download.streaming_content)[:2] == b"PK"


@pytest.mark.parametrize("page", PAGES)
def test_another_schools_officer_gets_404(client: Any, world: Any, export: CaseFileExport, page: str) -> None:
    client.force_login(world.officer_b)

    assert client.get(reverse(page, args=[export.pk])).status_code == 404


@pytest.mark.parametrize("who", ["teacher_a1", "teacher_a2", "teacher_b1", "counsellor_a", "admin", "nobody"])
def test_no_other_role_opens_an_export_page(client: Any, world: Any, export: CaseFileExport, who: str) -> None:
    client.force_login(getattr(world, who))

    assert client.get(reverse("casefiles:export_list")).status_code == 403
    for page in PAGES:
        assert client.get(reverse(page, args=[export.pk])).status_code == 403


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login(client: Any, export: CaseFileExport) -> None:
    response = client.get(reverse("casefiles:export_download", args=[export.pk]))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_each_download_is_an_audit_line(client: Any, world: Any, export: CaseFileExport) -> None:
    client.force_login(world.county)

    b"".join(client.get(reverse("casefiles:export_download", args=[export.pk])).streaming_content)

    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("pk")
    assert event.actor_id == world.county.pk and "下载" in event.changes


def test_an_unfinished_export_reloads_itself_and_offers_no_download(client: Any, world: Any) -> None:
    running = CaseFileExport.objects.create(
        school=world.school_a,
        term=world.term,
        requested_by=world.officer_a,
        status=ExportStatus.RUNNING,
        total=40,
        done=10,
    )
    client.force_login(world.officer_a)

    page = client.get(reverse("casefiles:export_detail", args=[running.pk])).content.decode()

    assert 'data-refresh-seconds="3"' in page and "js/auto-refresh.js" in page
    assert "10 / 40" in page and "pct-25" in page
    assert client.get(reverse("casefiles:export_download", args=[running.pk])).status_code == 404


def test_the_officer_requests_a_terms_export_for_her_own_school(
    client: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(world.officer_a)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("casefiles:export_list"), {"term": world.term.pk, "school": world.school_b.pk})

    export = CaseFileExport.objects.get()
    assert export.school == world.school_a  # the officer has no school field: hers is taken
    assert response.status_code == 302 and response["Location"] == reverse("casefiles:export_detail", args=[export.pk])
    assert len(queued) == 1


def test_county_staff_pick_the_school(client: Any, world: Any, django_capture_on_commit_callbacks: Any) -> None:
    client.force_login(world.county)

    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("casefiles:export_list"), {"term": world.term.pk, "school": world.school_b.pk})

    assert CaseFileExport.objects.get().school == world.school_b


def test_a_second_request_shows_why_it_is_refused(client: Any, world: Any) -> None:
    CaseFileExport.objects.create(school=world.school_a, term=world.term, requested_by=world.officer_a)
    client.force_login(world.officer_a)

    response = client.post(reverse("casefiles:export_list"), {"term": world.term.pk})

    assert response.status_code == 200 and "正在生成" in response.content.decode()
    assert CaseFileExport.objects.count() == 1


def test_the_list_of_recent_exports_runs_the_same_queries_for_many(
    client: Any, world: Any, django_assert_num_queries: Any
) -> None:
    for status in (ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.DONE, ExportStatus.QUEUED):
        CaseFileExport.objects.create(
            school=world.school_a, term=world.term, requested_by=world.officer_a, status=status
        )
    client.force_login(world.officer_a)
    client.get(reverse("casefiles:export_list"))  # warm: session, user

    # session, user with their staff row (scope: zaoyang_aid/backends.py), the exports' count (pages), unread
    # notifications (navbar), the form's terms (twice: the select widget asks the choices whether any exist, then
    # renders them), the page's exports with school, term and requester; no session save: the warm-up request stamped
    # the session's idle clock (zaoyang_aid/sessions.py)
    with django_assert_num_queries(7):
        client.get(reverse("casefiles:export_list"))
