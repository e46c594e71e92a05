"""Issue 8, point 7: the headers. Every page of the app (every URL of the URLconf, every admin page
of every registered model) is opened as every role, and each answer must carry

- a Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval', whose nonce every <script>
  and <style> of our pages carries; no inline event handler (on*=) and no style="" attribute;
- ``Cache-Control: no-store`` (every page shows a person) and a Permissions-Policy.

A new URL fails here until PAGE_ARGS names the object it is opened with. (In tests/: it drives every
app, and zaoyang_aid may import none.)
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from casefiles.models import (
    CaseFileExport,
    CheckMissed,
    CheckProposal,
    DepartmentCheck,
    DepartmentList,
    ProposalAction,
    RecoveryCase,
    ReportExport,
    RosterImport,
    WarningFlag,
    WarningSign,
)
from casefiles.tests.factories import (
    AttachmentFactory,
    ReferralFactory,
    ReviewCommentFactory,
    SchoolAgeChildFactory,
    SuspectedDropoutFactory,
)
from guidance.models import (
    FlagKind,
    HomeVisitPhoto,
    Notification,
    Reminder,
    ReminderKind,
    ReminderLevel,
    TalkRecordFlag,
)
from guidance.tests.factories import (
    CounsellingRecordFactory,
    CounsellingRequestFactory,
    ExcusedWeekFactory,
    FiveThreeCardFactory,
    HomeVisitFactory,
    TalkRecordFactory,
)
from guidance.tests.photo_files import jpeg_bytes
from pairing.models import SpecialCategory
from pairing.services import student_status_change
from pairing.tests.factories import GuardianConsentFactory, StudentFactory

pytestmark = pytest.mark.django_db

# The object each URL with a <pk> is opened with, by URL name: one the owner roles may see.
PAGE_ARGS = {
    "pairing:student_detail": "student",
    "pairing:student_edit": "student",
    "pairing:student_status": "student",
    "pairing:student_transfer": "student",
    "pairing:assessment_create": "student",
    "pairing:consent_record": "student",
    "pairing:consent_withdraw": "consent",
    "pairing:aid_list_exit": "student",
    "pairing:teacher_detail": "teacher",
    "pairing:teacher_edit": "teacher",
    "pairing:account_password_reset": "teacher",
    "pairing:account_unlock": "teacher",
    "pairing:account_contact": "teacher",
    "pairing:account_deactivate": "teacher",
    "pairing:account_reactivate": "teacher",
    "pairing:school_detail": "school",
    "pairing:pairing_end": "pairing",
    "pairing:pairing_reassign": "pairing",
    "guidance:timeline": "student",
    "guidance:county_town": "town",
    "guidance:county_school": "school",
    "guidance:talk_create": "pairing",
    "guidance:talk_detail": "talk",
    "guidance:talk_edit": "talk",
    "guidance:talk_unlock": "talk",
    "guidance:visit_detail": "visit",
    "guidance:visit_edit": "visit",
    "guidance:visit_unlock": "visit",
    "guidance:visit_photo": "photo",
    "guidance:excuse_week": "pairing",
    "guidance:excuse_revoke": "excused",
    "guidance:late_entry": "pairing",
    "guidance:notification_open": "notification",
    "guidance:reminder_acknowledge": "reminder",
    "guidance:card_current": "student",
    "guidance:card_edit": "student",
    "guidance:card_detail": "card",
    "guidance:card_review": "card",
    "casefiles:review_detail": "student",
    "casefiles:review_comment": "student",
    "casefiles:review_sign_off": "student",
    "casefiles:review_reopen": "student",
    "casefiles:review_comment_answer": "review_comment",
    "casefiles:case_file": "student",
    "casefiles:case_file_print": "student",
    "casefiles:case_file_pdf": "student",
    "casefiles:term_results": "student",
    "casefiles:attachment_upload": "student",
    "casefiles:attachment_download": "attachment",
    "casefiles:attachment_delete": "attachment",
    "casefiles:export_detail": "export",
    "casefiles:export_download": "export",
    "casefiles:report_export_detail": "report_export",
    "casefiles:report_export_download": "report_export",
    "casefiles:crosscheck_detail": "department_check",
    "casefiles:crosscheck_confirm_all": "department_check",
    "casefiles:proposal_confirm": "check_proposal",
    "casefiles:proposal_reject": "check_proposal",
    "casefiles:import_preview": "roster_import",
    "casefiles:import_commit": "roster_import",
    "casefiles:import_result": "roster_import",
    "casefiles:recovery_open": "dropout",
    "casefiles:recovery_detail": "recovery_case",
    "casefiles:recovery_edit": "recovery_case",
    "casefiles:recovery_attempt": "recovery_case",
    "casefiles:recovery_close": "recovery_case",
    "casefiles:referral_detail": "referral",
    "casefiles:referral_update": "referral",
    "casefiles:referral_slip": "referral",
    "casefiles:referral_slip_pdf": "referral",
    "casefiles:child_verify": "school_age_child",
    "casefiles:suspected_detail": "suspected_dropout",
    "casefiles:absence_create": "student",
    "guidance:psych_file": "student",
    "guidance:psych_assessment_create": "student",
    "guidance:risk_level_set": "student",
    "guidance:counselling_request_create": "student",
    "guidance:counselling_edit": "session",
    "guidance:counselling_request_handle": "counselling_request",
    "guidance:flag_detail": "flag",
    "guidance:flag_return": "flag",
    "guidance:flag_clear": "flag",
    "casefiles:warning_handle": "warning_flag",
    "casefiles:family_event_create": "student",
}
# Not pages: the health probe answers JSON to load balancers (it has its own no-cache test).
NOT_PAGES = {"healthz"}


def app_url_names(patterns: list[Any] | None = None, namespace: str = "") -> list[str]:
    """Every named URL of the URLconf outside the admin (walked below, model by model)."""
    names = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name != "admin":
                prefix = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                names += app_url_names(entry.url_patterns, prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            names.append(namespace + entry.name)
    return sorted(set(names) - NOT_PAGES)


@dataclass
class Objects:
    student: Any
    teacher: Any
    school: Any
    town: Any
    pairing: Any
    talk: Any
    visit: Any
    photo: Any
    excused: Any
    notification: Any
    reminder: Any
    card: Any
    consent: Any
    review_comment: Any
    attachment: Any
    export: Any
    report_export: Any
    department_check: Any
    check_proposal: Any
    roster_import: Any
    session: Any
    counselling_request: Any
    flag: Any
    dropout: Any
    recovery_case: Any
    warning_flag: Any
    referral: Any
    school_age_child: Any
    suspected_dropout: Any


@pytest.fixture
def objects(world: Any) -> Objects:
    """One of each thing a page is about, all in the world's school A (teacher_a1's student)."""
    pairing = world.student_a1.pairings.get()
    visit = HomeVisitFactory(pairing=pairing)
    photo = HomeVisitPhoto.objects.create(
        visit=visit,
        image=ContentFile(jpeg_bytes(), name="a.jpg"),
        content_type="image/jpeg",
        width=64,
        height=48,
        size=9,
    )
    reminder = Reminder.objects.create(
        pairing=pairing, kind=ReminderKind.MISSED_TALK, period=dt.date(2026, 11, 9), term=world.term
    )
    notification = Notification.objects.create(
        recipient=world.teacher_a1, reminder=reminder, level=ReminderLevel.TEACHER, title="上周未记录谈心谈话"
    )
    Notification.objects.create(
        recipient=world.officer_a, reminder=reminder, level=ReminderLevel.OFFICER, title="上周未记录谈心谈话"
    )
    talk = TalkRecordFactory(pairing=pairing)
    # A 低保 list compared at school A: one proposal (pending: its form shows), one possibly missed.
    check = DepartmentCheck.objects.create(
        kind=DepartmentList.DIBAO,
        school=world.school_a,
        term=world.term,
        uploaded_by=world.officer_a,
        file_name="低保.xlsx",
    )
    CheckMissed.objects.create(department_check=check, student=world.student_a2)
    return Objects(
        student=world.student_a1,
        teacher=pairing.teacher,
        school=world.school_a,
        town=world.school_a.town,
        pairing=pairing,
        talk=talk,
        visit=visit,
        photo=photo,
        excused=ExcusedWeekFactory(pairing=pairing, excused_by=world.officer_a),
        notification=notification,
        reminder=reminder,
        card=FiveThreeCardFactory(pairing=pairing),
        consent=GuardianConsentFactory(student=world.student_a1, recorded_by=world.officer_a),
        review_comment=ReviewCommentFactory(review__student=world.student_a1, author=world.officer_a),
        attachment=AttachmentFactory(student=world.student_a1, uploaded_by=world.officer_a),
        # Queued: its progress page loads the reloading script (with the nonce); no zip to download.
        export=CaseFileExport.objects.create(school=world.school_a, term=world.term, requested_by=world.officer_a),
        # Queued, asked by officer_a: its progress page reloads itself; only she sees it.
        report_export=ReportExport.objects.create(
            requested_by=world.officer_a, report="pairings", label="结对帮扶台账", filter_key="k"
        ),
        department_check=check,
        check_proposal=CheckProposal.objects.create(
            department_check=check,
            student=world.student_a1,
            category=SpecialCategory.objects.get(name="最低生活保障家庭"),
            action=ProposalAction.ADD,
        ),
        # Uploaded by officer_a, not yet committed: only she sees its preview.
        roster_import=RosterImport.objects.create(
            kind="students", uploaded_by=world.officer_a, filename="名单.xlsx", sha256="0" * 64
        ),
        session=CounsellingRecordFactory(
            school=world.school_a, counsellor=world.counsellor_a, students=[world.student_a1]
        ),
        counselling_request=CounsellingRequestFactory(student=world.student_a1, requested_by=world.teacher_a1),
        flag=TalkRecordFlag.objects.create(
            talk=talk, kind=FlagKind.SHORT, reason="全文 9 字,本校记录的中位数为 120 字"
        ),
        # 辍学 at school A without a plan (its 建立方案 form), and teacher_a1's student's open case.
        dropout=_dropout(world),
        recovery_case=RecoveryCase.objects.create(
            student=world.student_a1,
            opened_on=dt.date(2026, 10, 12),
            leave_reason="外出打工",
            opened_by=world.officer_a,
        ),
        # Open: its 处理 form shows to school A's officer.
        warning_flag=WarningFlag.objects.create(
            student=world.student_a1,
            sign=WarningSign.MISSED_TALKS,
            value="本学期漏记谈心3周(阈值2周)",
            raised_on=dt.date(2026, 11, 16),
            seen_on=dt.date(2026, 11, 16),
        ),
        # Sent by officer_a, still open: its update form shows.
        referral=ReferralFactory(student=world.student_a1, referred_by=world.officer_a),
        # Unmatched (its 核实 form shows); and a proposed 疑似辍学 entry (its confirm and dismiss forms).
        school_age_child=SchoolAgeChildFactory(town=world.school_a.town, uploaded_by=world.county),
        suspected_dropout=SuspectedDropoutFactory(student=world.student_a1),
    )


def _dropout(world: Any) -> Any:
    student = StudentFactory(school=world.school_a)
    student_status_change(student=student.pk, status="dropped_out", on=dt.date(2026, 10, 12), reason="辍学", by=None)
    return student


def app_urls(objects: Objects) -> list[str]:
    urls = []
    for name in app_url_names():
        kind = PAGE_ARGS.get(name)
        urls.append(reverse(name, args=[getattr(objects, kind).pk]) if kind else reverse(name))
    return urls


def admin_urls(objects: Objects) -> list[str]:
    """The admin's index, each app's list, and each registered model's list, add form, and (for its
    first row) change, history and delete pages."""
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for app_label in {model._meta.app_label for model in admin.site._registry}:
        urls.append(reverse("admin:app_list", args=[app_label]))
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls += [reverse(f"{info}_changelist"), reverse(f"{info}_add")]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls += [reverse(f"{info}_{page}", args=[first.pk]) for page in ("change", "history", "delete")]
    return urls


class Markup(HTMLParser):
    """What the Content-Security-Policy governs in a page: script and style elements, inline event
    handlers and style attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.styles: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.style_attributes: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style":
            self.styles.append(attributes)
        self.handlers += [f"<{tag} {name}=…>" for name in attributes if name.startswith("on")]
        if "style" in attributes:
            self.style_attributes.append(f'<{tag} style="{attributes["style"]}">')


def policy_of(response: Any) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def nonce_of(policy: dict[str, list[str]]) -> str | None:
    nonces = {s[len("'nonce-") : -1] for s in policy.get("script-src", []) if s.startswith("'nonce-")}
    return nonces.pop() if len(nonces) == 1 else None


def problems_of(url: str, response: Any) -> list[str]:
    """Everything wrong with one answer's headers and, for a page, its markup."""
    problems = []
    if "no-store" not in response.headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control: {response.headers.get('Cache-Control')!r}")
    if "camera=()" not in response.headers.get("Permissions-Policy", ""):
        problems.append("no Permissions-Policy denying the camera")
    policy = policy_of(response)
    if not policy:
        return [*problems, "no Content-Security-Policy"]
    sources = [source for sources in policy.values() for source in sources]
    problems += [f"the policy allows {unsafe}" for unsafe in ("'unsafe-inline'", "'unsafe-eval'") if unsafe in sources]
    if not response.headers.get("Content-Type", "").startswith("text/html") or not response.content:
        return problems
    nonce, ours = nonce_of(policy), not url.startswith("/admin/")
    if ours and (nonce is None or f"'nonce-{nonce}'" not in policy.get("style-src", [])):
        problems.append("our page's policy has no nonce for scripts and styles")
    markup = Markup(response.content.decode())
    for script in markup.scripts:
        if script.get("type") == "application/json":
            continue  # a data block ({{ …|json_script }}): never executed, not governed by the policy
        has_nonce = nonce is not None and script.get("nonce") == nonce
        # Our pages give every script the nonce; Django's admin loads only files from our origin.
        if not (has_nonce or (not ours and (script.get("src") or "").startswith("/"))):
            problems.append(f"<script {script}> without the page's nonce")
    for style in markup.styles:
        if nonce is None or style.get("nonce") != nonce:
            problems.append(f"<style {style}> without the page's nonce")
    return problems + markup.handlers + markup.style_attributes


def walk(client: Any, user: Any, urls: list[str], method: str = "get") -> dict[str, list[str]]:
    client.raise_request_exception = False  # a 500 page is checked too
    if user is not None:
        client.force_login(user)
    found = {}
    for url in urls:
        response = getattr(client, method)(url)
        if problems := problems_of(url, response):
            found[f"{method.upper()} {url} ({response.status_code})"] = problems
    client.logout()
    return found


ROLES = ["teacher_a1", "officer_a", "counsellor_a", "county", "admin", "nobody"]


def test_the_walk_knows_every_url_of_the_app() -> None:
    # A URL with a <pk> that PAGE_ARGS does not name fails app_urls() with NoReverseMatch.
    assert set(PAGE_ARGS) <= set(app_url_names()), "PAGE_ARGS names a URL that no longer exists"
    assert {"home", "login", "guidance:my_students", "pairing:student_list"} <= set(app_url_names())


@pytest.mark.parametrize("role", ROLES)
def test_every_page_as_each_role_has_a_strict_policy_no_inline_code_and_no_store(client, world, objects, role):
    user = getattr(world, role)
    found = walk(client, user, app_urls(objects))
    # Forms sent back empty: each page's error messages are markup of their own.
    # (Not logout, which would end the walk, nor the notification buttons, which only redirect.)
    unsent = (reverse("logout"), "/notifications/")
    found |= walk(client, user, [url for url in app_urls(objects) if not url.startswith(unsent)], method="post")
    assert found == {}


def test_every_admin_page_has_a_strict_policy_no_inline_code_and_no_store(client, world, objects):
    found = walk(client, world.admin, admin_urls(objects))
    assert found == {}


def test_the_login_and_error_pages_of_a_stranger_have_the_headers_too(client, world, objects):
    urls = [reverse("login"), reverse("admin:login"), "/no-such-page/"]
    assert walk(client, None, urls) == {}
    assert walk(client, world.teacher_a1, ["/no-such-page/", reverse("pairing:student_list")]) == {}


def test_a_form_sent_without_its_csrf_token_is_refused_on_a_page_of_ours(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.teacher_a1)
    response = client.post(reverse("password_change"), {})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()
    assert problems_of(reverse("password_change"), response) == []


def test_a_home_visit_photo_is_never_stored_by_the_browser(client, world, objects):
    client.force_login(world.teacher_a1)
    response = client.get(reverse("guidance:visit_photo", args=[objects.photo.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "max-age=3600" not in response["Cache-Control"]


def test_static_files_keep_their_cache_and_carry_no_page_headers(client, world):
    response = client.get(settings.STATIC_URL + "css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Content-Security-Policy" not in response.headers


def test_each_page_gets_a_fresh_nonce(client, world):
    client.force_login(world.teacher_a1)
    first, second = (nonce_of(policy_of(client.get(reverse("guidance:my_students")))) for _ in range(2))
    assert first and second and first != second


def test_the_permissions_policy_denies_camera_microphone_geolocation_and_payment(client, world):
    client.force_login(world.teacher_a1)
    header = client.get(reverse("guidance:my_students"))["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in header


# What zaoyang_aid.testing_env or the developer's shell may have set for the test run: not production's.
TEST_RUN_VARIABLES = {
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "STATIC_MANIFEST",
    "WHITENOISE_USE_FINDERS",
    "DATABASE_URL",
    "REDIS_URL",
}


@pytest.mark.slow
def test_check_deploy_is_clean_with_the_production_environment(tmp_path: Path) -> None:
    """``manage.py check --deploy --fail-level WARNING`` in a fresh process with the environment that
    README.md gives production: settings.py reads it as it would on the server. (Inside pytest the
    settings are the test run's, with SSL redirects off for the test client.)"""
    environment = {key: value for key, value in os.environ.items() if key not in TEST_RUN_VARIABLES}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "zaoyang_aid.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "aid.example.cn",
        "CSRF_TRUSTED_ORIGINS": "https://aid.example.cn",
        "BEHIND_TLS_PROXY": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ZAOYANG_VAR_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
