"""The case file as a PDF made on the server (issue 9, point 2): the same document as the print view,
with its Chinese text embedded (pypdf reads the student's name and a talk's content back), downloaded
as an audited export, and showing the reader no more than the page does."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from guidance.tests.factories import TalkRecordFactory
from zaoyang_aid.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def talk(world):
    pairing = world.student_a1.pairings.get()
    return TalkRecordFactory(pairing=pairing, content="和小明谈了期中考试的数学错题,约定每天订正两道。")


def test_the_officer_downloads_the_case_file_as_a_pdf_with_the_name_and_a_talk_in_its_text(client, world, talk):
    client.force_login(world.officer_a)

    response = client.get(reverse("casefiles:case_file_pdf", args=[world.student_a1.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment;" in response["Content-Disposition"] and ".pdf" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert world.student_a1.name in text
    assert "约定每天订正两道" in text


def test_the_paired_teachers_pdf_shows_the_id_number_masked(client, world, talk):
    client.force_login(world.teacher_a1)
    text = pdf_text(client.get(reverse("casefiles:case_file_pdf", args=[world.student_a1.pk])).content)
    number = world.student_a1.id_number
    assert "约定每天订正两道" in text
    assert number not in text and f"{number[:6]}********{number[-4:]}" in text


def test_a_pdf_download_is_written_to_the_audit_log_as_an_export(client, world, talk):
    client.force_login(world.officer_a)
    client.get(reverse("casefiles:case_file_pdf", args=[world.student_a1.pk]) + f"?term={world.term.pk}")
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert (event.actor_id, event.student_id) == (world.officer_a.pk, world.student_a1.pk)
    assert world.term.name in str(event.changes)


def test_the_counsellor_who_does_not_see_help_records_gets_none_in_the_pdf(client, world, talk):
    client.force_login(world.counsellor_a)
    text = pdf_text(client.get(reverse("casefiles:case_file_pdf", args=[world.student_a1.pk])).content)
    assert world.student_a1.name in text
    assert "约定每天订正两道" not in text
    assert "无权查看" in text
