"""资助发放 is entered in the Django admin (or by a referral's update): by a staff account whose role
sees it (the field policy hides it from the 系统管理员), every change audited; referrals (written on
the officer's pages since issue 11), term results and attachments are only looked up there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from casefiles.models import CaseFileExport, ReferralDepartment
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import ReferralFactory

pytestmark = pytest.mark.django_db


def test_the_system_administrator_is_not_offered_referrals_or_aid(client, world):
    client.force_login(world.admin)
    for name in ("admin:casefiles_referral_changelist", "admin:casefiles_aidreceipt_changelist"):
        assert client.get(reverse(name)).status_code == 403


def test_county_staff_with_admin_access_record_aid_and_it_is_audited(client, world):
    world.county.is_staff = True
    world.county.is_superuser = True
    world.county.save()
    client.force_login(world.county)
    response = client.post(
        reverse("admin:casefiles_aidreceipt_add"),
        {
            "student": world.student_a1.pk,
            "term": world.term.pk,
            "item": "临时救助金",
            "amount": "500.00",
            "paid_on": "2026-11-10",
            "source": "local",
            "referral": "",
        },
    )
    assert response.status_code == 302
    line = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="资助发放")
    assert line.student_id == world.student_a1.pk


def test_referrals_are_only_looked_up_in_the_admin_and_the_departments_are_kept_there(client, world):
    """Issue 11: referrals are written on the officer's pages (the reference number, the dates and
    the aid paid are kept by casefiles.referral_services); the department list is edited here."""
    referral = ReferralFactory(student=world.student_a1, referred_by=world.officer_a)
    world.county.is_staff = True
    world.county.is_superuser = True
    world.county.save()
    client.force_login(world.county)
    assert client.get(reverse("admin:casefiles_referral_add")).status_code == 403
    assert client.get(reverse("admin:casefiles_referral_change", args=[referral.pk])).status_code == 200
    response = client.post(
        reverse("admin:casefiles_referraldepartment_add"),
        {"name": "教育基金会", "code": "foundation", "contact": "电话 6221234", "is_active": "on", "order": "80"},
    )
    assert response.status_code == 302
    assert ReferralDepartment.objects.filter(code="foundation", is_active=True).exists()


def test_term_results_and_attachments_are_read_only_in_the_admin(client, world):
    ReferralFactory(student=world.student_a1, referred_by=world.officer_a)
    world.county.is_staff = True
    world.county.is_superuser = True
    world.county.save()
    client.force_login(world.county)
    assert client.get(reverse("admin:casefiles_termresult_add")).status_code == 403
    assert client.get(reverse("admin:casefiles_attachment_add")).status_code == 403
    assert client.get(reverse("admin:casefiles_termresult_changelist")).status_code == 200


def test_the_admin_lists_the_zip_exports_read_only_without_the_file(client, world):
    export = CaseFileExport.objects.create(school=world.school_a, term=world.term, requested_by=world.officer_a)
    client.force_login(world.admin)
    assert client.get(reverse("admin:casefiles_casefileexport_changelist")).status_code == 200
    page = client.get(reverse("admin:casefiles_casefileexport_change", args=[export.pk]))
    assert page.status_code == 200 and 'name="file"' not in page.content.decode()
    assert client.get(reverse("admin:casefiles_casefileexport_add")).status_code == 403
