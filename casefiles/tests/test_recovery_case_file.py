"""The 帮扶档案 of a student who dropped out shows the 劝返 cases with their attempts, on the page and
in the PDF, to whoever sees help records; other students' files read nothing more."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casefiles import recovery
from casefiles.build import case_file_document
from casefiles.selectors import case_file

from .recovery_world import drop_out, open_case
from .test_case_file_pdf import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)
    for day in (dt.date(2026, 10, 14), dt.date(2026, 11, 2)):
        recovery.recovery_attempt_create(
            case=case.pk, by=world.officer_a, date=day, with_whom="parents", method="visit", outcome=f"{day}家访劝返"
        )
    return case


def test_the_case_file_shows_the_plan_and_every_attempt(client, world, case):
    client.force_login(world.teacher_a1)
    html = client.get(reverse("casefiles:case_file", args=[world.student_a1.pk])).content.decode()
    assert "劝返(控辍保学)" in html and "2026-10-14家访劝返" in html and "王建国(村委会主任)" in html
    assert reverse("casefiles:recovery_detail", args=[case.pk]) in html  # where she records the next attempt


def test_the_pdf_holds_the_attempts_too(client, world, case):
    client.force_login(world.officer_a)
    text = pdf_text(client.get(reverse("casefiles:case_file_pdf", args=[world.student_a1.pk])).content)
    assert "劝返" in text and "2026-11-02" in text


def test_the_admin_role_sees_no_case(world, case):
    document = case_file_document(student_id=world.student_a1.pk, term_id=None, reader=world.admin)
    assert all(section.key != "recovery" for section in document.sections)


def test_a_dropouts_file_reads_two_queries_more_whatever_the_attempts(world, case):
    def queries(student):
        with CaptureQueriesContext(connection) as ctx:
            case_file(student=student.pk, reader=world.officer_a)
        return len(ctx.captured_queries)

    others = queries(world.student_a2)
    assert queries(world.student_a1) == others + 2  # the cases, their attempts
    for _ in range(5):
        recovery.recovery_attempt_create(
            case=case.pk,
            by=world.officer_a,
            date=dt.date(2026, 11, 3),
            with_whom="student",
            method="phone",
            outcome="x",
        )
    assert queries(world.student_a1) == others + 2
