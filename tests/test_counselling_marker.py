"""Issue 9, point 10: a marker written into every counselling text field appears on no page, PDF or
notification of a role that may not read it.

Every text field of a 心理健康档案 (a session's topic and notes, an assessment's result, a risk
level's reason, a teacher's request and the counsellor's note on it) holds MARKER. Then every page
that mentions the student is fetched as the 包保 teacher, the school's officer, undesignated county
staff and the 系统管理员 (with the Django admin's lists and change pages of every model), and the
emails and webhook payloads of the risk rise are read: MARKER is in none. As the school's counsellor
and designated county staff it is on the file page (so the test would see a leak).

To add a page (the case file, its PDF), append to PAGES: (label, function(world, objects) -> url).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from casefiles.exports import case_file_export_build, case_file_export_request
from guidance import counselling
from guidance.models import CounsellingRecord, CounsellingRequest, PsychFile, RiskLevel, SessionKind, SessionMode
from guidance.tasks import notify_risk_rise
from guidance.tests.factories import FiveThreeCardFactory, HomeVisitFactory, TalkRecordFactory
from guidance.tests.test_webhook import hook  # noqa: F401 - the local webhook receiver fixture
from pairing.tests import factories as f

pytestmark = pytest.mark.django_db

MARKER = "MRK7Q心理标记"


@dataclass
class Objects:
    session: CounsellingRecord
    request: CounsellingRequest


def of_term(w: Any, name: str) -> str:
    return reverse(name, args=[w.student_a1.pk]) + f"?term={w.term.pk}"


# (label, url of the page) for each page that mentions the student; extend here.
PAGES: list[tuple[str, Any]] = [
    ("student page", lambda w, o: reverse("pairing:student_detail", args=[w.student_a1.pk])),
    ("student list", lambda w, o: reverse("pairing:student_list")),
    ("my students", lambda w, o: reverse("guidance:my_students")),
    ("timeline", lambda w, o: reverse("guidance:timeline", args=[w.student_a1.pk])),
    ("school dashboard", lambda w, o: reverse("guidance:school_dashboard")),
    ("county dashboard", lambda w, o: reverse("guidance:county_dashboard")),
    ("county school", lambda w, o: reverse("guidance:county_school", args=[w.school_a.pk])),
    ("notifications", lambda w, o: reverse("guidance:notifications")),
    ("school reminders", lambda w, o: reverse("guidance:school_reminders")),
    ("audit log", lambda w, o: reverse("audit_log")),
    ("audit log of the student", lambda w, o: reverse("audit_log") + f"?student_id={w.student_a1.pk}"),
    ("request form", lambda w, o: reverse("guidance:counselling_request_create", args=[w.student_a1.pk])),
    ("counselling list", lambda w, o: reverse("guidance:counselling_list")),
    ("psych file", lambda w, o: reverse("guidance:psych_file", args=[w.student_a1.pk])),
    ("session edit", lambda w, o: reverse("guidance:counselling_edit", args=[o.session.pk])),
    ("request handling", lambda w, o: reverse("guidance:counselling_request_handle", args=[o.request.pk])),
    ("case file", lambda w, o: reverse("casefiles:case_file", args=[w.student_a1.pk])),
    (
        "case file of the term",
        lambda w, o: reverse("casefiles:case_file", args=[w.student_a1.pk]) + f"?term={w.term.pk}",
    ),
    ("case file print", lambda w, o: reverse("casefiles:case_file_print", args=[w.student_a1.pk])),
    ("case file PDF", lambda w, o: reverse("casefiles:case_file_pdf", args=[w.student_a1.pk])),
    (
        "case file PDF of the term",
        lambda w, o: reverse("casefiles:case_file_pdf", args=[w.student_a1.pk]) + f"?term={w.term.pk}",
    ),
    ("term review", lambda w, o: of_term(w, "casefiles:review_detail")),
    ("review list", lambda w, o: reverse("casefiles:review_list")),
]


def admin_pages() -> list[str]:
    """Every registered model's list, and the change pages of its newest rows."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{info}_changelist"))
        for pk in model._default_manager.order_by("-pk").values_list("pk", flat=True)[:5]:
            urls.append(reverse(f"{info}_change", args=[pk]))
    return urls


@pytest.fixture
def marked(world, settings, hook, monkeypatch, django_capture_on_commit_callbacks):  # noqa: F811
    """A file of student_a1 with MARKER in every text field, a rise to 危机 sent by email and webhook,
    and the everyday records of the student (a talk, a visit, a 五三卡) so that their pages show."""
    settings.REMINDER_CHANNELS = ["email", "webhook"]
    settings.REMINDER_WEBHOOK_URL = hook.url
    monkeypatch.setattr(notify_risk_rise, "delay", lambda *args: notify_risk_rise(*args))
    world.officer_a.email = "officer@example.cn"
    world.officer_a.save()
    pairing = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pairing)
    HomeVisitFactory(pairing=pairing)
    FiveThreeCardFactory(pairing=pairing)

    request = counselling.counselling_request_create(
        student=world.student_a1, by=world.teacher_a1, reason=f"申请原因{MARKER}"
    )
    counselling.counselling_request_handle(
        request=request, by=world.counsellor_a, status="scheduled", note=f"处理{MARKER}", version=1
    )
    session = counselling.counselling_record_create(
        by=world.counsellor_a,
        school_id=world.school_a.pk,
        values=counselling.SessionValues(
            kind=SessionKind.GROUP,
            mode=SessionMode.ORDERED,
            requester_kind="teacher",
            request_id=None,
            student_ids=(world.student_a1.pk, world.student_a2.pk),
            date=dt.date(2026, 11, 12),
            duration_minutes=45,
            topic=f"主题{MARKER}",
            notes=f"记录{MARKER}",
        ),
    )
    counselling.psych_assessment_create(
        student=world.student_a1,
        by=world.counsellor_a,
        scale="SCL-90",
        taken_on=dt.date(2026, 11, 3),
        score=180,
        result=f"结果{MARKER}",
    )
    with django_capture_on_commit_callbacks(execute=True):
        counselling.risk_level_set(
            student=world.student_a1,
            by=world.counsellor_a,
            level=RiskLevel.CRISIS,
            reason=f"理由{MARKER}",
            follow_up_wanted=True,
            version=PsychFile.objects.get(student=world.student_a1).version,
        )
    return Objects(session=session, request=request)


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def fetch(user: Any, url: str) -> str:
    """The page's text as its reader gets it (a PDF's extracted text); "" when refused."""
    client = Client()
    client.force_login(user)
    response = client.get(url)
    if response.status_code != 200:
        return ""
    if response["Content-Type"] == "application/pdf":
        return pdf_text(response.content)
    return response.content.decode("utf-8", errors="replace")


@pytest.mark.parametrize("who", ["teacher_a1", "teacher_a2", "officer_a", "county", "admin"])
def test_no_page_shows_the_counselling_marker_to_a_role_that_may_not_read_it(world, marked, who):
    user = getattr(world, who)
    if who in ("county", "admin"):  # the Django admin, with every permission: only the policy stands
        user.is_staff = user.is_superuser = True
        user.save()
    urls = [(label, page(world, marked)) for label, page in PAGES] + [("admin", url) for url in admin_pages()]
    leaks = [f"{label}: {url}" for label, url in urls if MARKER in fetch(user, url)]
    assert leaks == []


@pytest.mark.parametrize("who", ["counsellor_a", "designated"])
def test_the_file_page_shows_the_marker_to_its_readers(world, marked, who):
    user = f.CountyUserFactory(reads_counselling=True) if who == "designated" else getattr(world, who)
    page = fetch(user, reverse("guidance:psych_file", args=[world.student_a1.pk]))
    # the topic, the notes, the result, the reason and the request with its note
    assert page.count(MARKER) == 6


@pytest.mark.parametrize("who", ["counsellor_a", "designated"])
def test_the_case_file_and_its_pdf_show_the_marker_to_its_readers(world, marked, who):
    """The positive control of the case file's rows above: its readers find the notes there."""
    user = f.CountyUserFactory(reads_counselling=True) if who == "designated" else getattr(world, who)
    assert MARKER in fetch(user, reverse("casefiles:case_file", args=[world.student_a1.pk]))
    assert MARKER in fetch(user, reverse("casefiles:case_file_pdf", args=[world.student_a1.pk]))


def test_the_officers_zip_of_the_schools_case_files_holds_no_marker(world, marked):
    """The school's zip is built for the officer who asked: her view of each file, never the notes."""
    with mock.patch("casefiles.tasks.build_case_file_export.delay"):
        export = case_file_export_request(school_id=world.school_a.pk, term_id=world.term.pk, by=world.officer_a)
    assert case_file_export_build(export.pk)
    export.refresh_from_db()
    with zipfile.ZipFile(export.file.path) as archive:
        texts = {name: pdf_text(archive.read(name)) for name in archive.namelist()}
    assert any(world.student_a1.name in text for text in texts.values())
    assert [name for name, text in texts.items() if MARKER in text] == []


def test_the_designated_county_reader_sees_the_marker_in_the_django_admin(world, marked):
    user = f.CountyUserFactory(reads_counselling=True, is_staff=True, is_superuser=True)
    page = fetch(user, reverse("admin:guidance_counsellingrecord_change", args=[marked.session.pk]))
    assert MARKER in page


def test_no_email_or_webhook_carries_the_marker(world, marked, hook):  # noqa: F811
    assert len(mail.outbox) == 1 and hook.received, "the rise went out by email and webhook"
    sent = [m.subject + m.body for m in mail.outbox] + [str(payload) for _, payload in hook.received]
    assert [text for text in sent if MARKER in text] == []
    assert all(world.student_a1.name in text and "危机" in text for text in sent)
