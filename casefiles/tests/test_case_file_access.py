"""Every case-file URL tried as each reader of the world: the teacher who 包保 the student, a colleague
at the same school, a teacher at another school, the officer (own school and another), the
counsellor, county staff, the 系统管理员 and an account without a role."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import AttachmentFactory

pytestmark = pytest.mark.django_db

READERS = [
    *("teacher_a1", "teacher_a2", "teacher_b1", "officer_a", "officer_b"),
    *("counsellor_a", "county", "admin", "nobody"),
]

# url name -> (object, expected status per reader, in READERS order)
EXPECTED = {
    "casefiles:case_file": ("student", [200, 404, 404, 200, 404, 200, 200, 403, 403]),
    "casefiles:case_file_print": ("student", [200, 404, 404, 200, 404, 200, 200, 403, 403]),
    "casefiles:case_file_pdf": ("student", [200, 404, 404, 200, 404, 200, 200, 403, 403]),
    "casefiles:term_results": ("student", [200, 404, 404, 200, 404, 404, 403, 403, 403]),
    "casefiles:attachment_upload": ("student", [200, 404, 404, 200, 404, 404, 403, 403, 403]),
    "casefiles:attachment_download": ("attachment", [200, 404, 404, 200, 404, 404, 200, 403, 403]),
    "casefiles:attachment_delete": ("attachment", [200, 404, 404, 200, 404, 404, 403, 403, 403]),
}


@pytest.fixture
def things(world: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    return {"student": world.student_a1, "attachment": AttachmentFactory(student=world.student_a1)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_case_file_url_answers_each_reader_as_their_scope_allows(client, world, things, name):
    kind, statuses = EXPECTED[name]
    url = reverse(name, args=[things[kind].pk])
    got = {}
    for reader in READERS:
        client.force_login(getattr(world, reader))
        response = client.get(url)
        got[reader] = response.status_code
        # Not response.close(): outside a request it sends request_finished, which closes the test's
        # database connection on PostgreSQL. A streamed file is read to its end instead.
        if response.streaming:
            b"".join(response.streaming_content)
    assert got == dict(zip(READERS, statuses, strict=True))


def test_every_read_of_a_case_file_is_written_to_the_audit_log(client, world, things):
    client.force_login(world.officer_a)
    before = AuditEvent.objects.filter(action=AuditAction.VIEW).count()
    client.get(reverse("casefiles:case_file", args=[world.student_a1.pk]))
    client.get(reverse("casefiles:case_file_print", args=[world.student_a1.pk]))
    b"".join(client.get(reverse("casefiles:attachment_download", args=[things["attachment"].pk])).streaming_content)
    client.get(reverse("casefiles:attachment_delete", args=[things["attachment"].pk]))  # names the file
    views = AuditEvent.objects.filter(action=AuditAction.VIEW).order_by("pk")[before:]
    assert [v.student_id for v in views] == [world.student_a1.pk] * 4
    assert "帮扶档案" in str(views[0].changes)


def test_a_reader_refused_the_page_leaves_no_audit_line_about_the_student(client, world, things):
    client.force_login(world.teacher_b1)
    client.get(reverse("casefiles:case_file", args=[world.student_a1.pk]))
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW, student_id=world.student_a1.pk).exists()
