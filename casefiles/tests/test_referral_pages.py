"""部门联动's pages, each tried as every role: the list (scoped, filtered, 逾期), a new referral (from
the case file too), a referral with its timeline, the answer recorded, the 转介单 printed and as PDF
(the ID number whole for the officer, audited as an export); query counts pinned."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import openpyxl
import pytest
from django.urls import reverse
from pypdf import PdfReader

from casefiles.models import AidReceipt, Referral, ReferralDepartment
from zaoyang_aid.masking import mask_id_number
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import ReferralFactory

pytestmark = pytest.mark.django_db

ROLES = ("teacher_a1", "officer_a", "officer_b", "counsellor_a", "county", "admin")


@pytest.fixture
def referral(world: Any) -> Referral:
    """Student a1's referral (包保 by teacher_a1, at school A), sent by officer_a, overdue."""
    return ReferralFactory(
        student=world.student_a1, referred_by=world.officer_a, due_on=dt.date(2026, 11, 10), reason="申请临时救助"
    )


def _status(client: Any, user: Any, url: str) -> int:
    client.force_login(user) if user is not None else client.logout()
    return client.get(url).status_code


# role -> expected status of (list, create, detail, update, slip, slip pdf) for school A's referral
EXPECTED = {
    "teacher_a1": (200, 403, 200, 403, 403, 403),  # reads the referrals of the student she 包保
    "officer_a": (200, 200, 200, 200, 200, 200),
    "officer_b": (200, 200, 404, 404, 404, 404),  # another school's: not found
    "counsellor_a": (200, 403, 404, 403, 403, 403),  # 包保s no one here
    "county": (200, 403, 200, 403, 200, 200),  # reads and prints all, records nothing
    "admin": (403, 403, 403, 403, 403, 403),  # sees no help records
}


@pytest.mark.parametrize("who", [*ROLES, "anonymous"])
def test_each_referral_page_for_each_role(client, world, referral, who):
    urls = [
        reverse("casefiles:referral_list"),
        reverse("casefiles:referral_create"),
        *(
            reverse(f"casefiles:{name}", args=[referral.pk])
            for name in ("referral_detail", "referral_update", "referral_slip", "referral_slip_pdf")
        ),
    ]
    if who == "anonymous":
        for url in urls:
            response = client.get(url)
            assert response.status_code == 302 and response.url.startswith("/accounts/login/"), url
        return
    got = tuple(_status(client, getattr(world, who), url) for url in urls)
    assert got == EXPECTED[who]


def test_the_list_shows_only_the_readers_referrals(client, world, referral):
    other = ReferralFactory(student=world.student_b1, referred_by=world.officer_b)
    client.force_login(world.officer_b)
    page = client.get(reverse("casefiles:referral_list")).content.decode()
    assert f'data-referral="{other.pk}"' in page and f'data-referral="{referral.pk}"' not in page
    client.force_login(world.teacher_a2)  # 包保s a2, not a1
    page = client.get(reverse("casefiles:referral_list")).content.decode()
    assert f'data-referral="{referral.pk}"' not in page
    client.force_login(world.county)
    page = client.get(reverse("casefiles:referral_list")).content.decode()
    assert f'data-referral="{other.pk}"' in page and f'data-referral="{referral.pk}"' in page


def test_the_overdue_filter_and_banner(client, world, referral):
    later = ReferralFactory(student=world.student_a2, referred_by=world.officer_a, due_on=dt.date(2026, 12, 20))
    client.force_login(world.officer_a)
    page = client.get(reverse("casefiles:referral_list")).content.decode()
    assert "data-overdue-banner" in page and f'data-referral="{later.pk}"' in page
    page = client.get(reverse("casefiles:referral_list"), {"overdue": "1"}).content.decode()
    assert f'data-referral="{referral.pk}"' in page and f'data-referral="{later.pk}"' not in page


def test_the_county_filters_by_school_and_department(client, world, referral):
    other = ReferralFactory(
        student=world.student_b1,
        referred_by=world.officer_b,
        department=ReferralDepartment.objects.get(code="disabled"),
    )
    client.force_login(world.county)
    url = reverse("casefiles:referral_list")
    page = client.get(url, {"school": world.school_b.pk}).content.decode()
    assert f'data-referral="{other.pk}"' in page and f'data-referral="{referral.pk}"' not in page
    page = client.get(url, {"department": other.department_id}).content.decode()
    assert f'data-referral="{other.pk}"' in page and f'data-referral="{referral.pk}"' not in page


def test_the_officer_refers_from_the_case_file(client, world):
    client.force_login(world.officer_a)
    case_file = client.get(reverse("casefiles:case_file", args=[world.student_a1.pk])).content.decode()
    assert f"{reverse('casefiles:referral_create')}?student={world.student_a1.pk}" in case_file
    form = client.get(reverse("casefiles:referral_create"), {"student": world.student_a1.pk}).content.decode()
    assert f'<option value="{world.student_a1.pk}" selected>' in form
    response = client.post(
        reverse("casefiles:referral_create"),
        {
            "student": world.student_a1.pk,
            "department": ReferralDepartment.objects.get(code="women").pk,
            "referred_on": "2026-11-16",
            "reason": "母亲重病,申请春蕾计划。",
        },
    )
    referral = Referral.objects.get()
    assert response.status_code == 302 and response.url == reverse("casefiles:referral_detail", args=[referral.pk])
    assert referral.reference == "ZY-2026-转-0001" and referral.due_on == dt.date(2026, 12, 16)


def test_bad_input_is_told_in_chinese_at_its_field(client, world):
    client.force_login(world.officer_a)
    page = client.post(
        reverse("casefiles:referral_create"),
        {
            "student": world.student_a1.pk,
            "department": "",
            "referred_on": "2026-11-30",
            "due_on": "2026-11-01",
            "reason": "",
        },
    ).content.decode()
    assert "请选择转介部门。" in page and "请写明需要部门帮助解决的问题。" in page
    assert not Referral.objects.exists()
    page = client.post(
        reverse("casefiles:referral_create"),
        {
            "student": world.student_a1.pk,
            "department": ReferralDepartment.objects.get(code="civil").pk,
            "referred_on": "2026-11-30",
            "reason": "申请临时救助",
        },
    ).content.decode()
    assert "转介日期不能晚于今天。" in page


def test_the_officer_records_an_answer_with_aid_and_the_timeline_shows_it(client, world, referral):
    client.force_login(world.officer_a)
    response = client.post(
        reverse("casefiles:referral_update", args=[referral.pk]),
        {
            "on": "2026-11-14",
            "status": "resolved",
            "note": "已发放临时救助金",
            "help_text": "",
            "aid_item": "临时救助金",
            "aid_amount": "600",
            "aid_source": "local",
            "due_on": "2026-11-10",
        },
    )
    assert response.status_code == 302
    assert AidReceipt.objects.get(referral=referral).amount == 600
    page = client.get(reverse("casefiles:referral_detail", args=[referral.pk])).content.decode()
    assert "2026-11-14 已办结" in page and "临时救助金 600.00 元" in page


def test_a_bad_answer_is_told_at_its_field(client, world, referral):
    client.force_login(world.officer_a)
    page = client.post(
        reverse("casefiles:referral_update", args=[referral.pk]),
        {
            "on": "2026-11-14",
            "status": "declined",
            "note": "",
            "aid_item": "临时救助金",
            "aid_amount": "",
            "aid_source": "local",
            "due_on": "2026-11-10",
        },
    ).content.decode()
    assert "请写明部门未受理的原因。" in page and "资助项目与金额应同时填写。" in page


def test_the_slip_carries_the_whole_id_for_the_officer_and_is_audited(client, world, referral):
    client.force_login(world.officer_a)
    page = client.get(reverse("casefiles:referral_slip", args=[referral.pk])).content.decode()
    assert referral.reference in page and world.student_a1.id_number in page
    assert "学校(盖章)" in page and "转介回执" in page
    line = AuditEvent.objects.get(action=AuditAction.EXPORT, student_id=world.student_a1.pk)
    assert "转介单打印版" in str(line.changes)
    assert mask_id_number(world.student_a1.id_number) != world.student_a1.id_number


def test_the_slip_pdf_opens_on_one_page_with_its_text(client, world, referral):
    client.force_login(world.county)
    response = client.get(reverse("casefiles:referral_slip_pdf", args=[referral.pk]))
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in (referral.reference, world.student_a1.name, "申请临时救助", "盖章", "转介回执", "民政"):
        assert expected in text, expected
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, student_id=world.student_a1.pk).count() == 1


def _many(world: Any, n: int) -> None:
    for i in range(n):
        ReferralFactory(
            student=world.student_a1 if i % 2 else world.student_a2,
            referred_by=world.officer_a,
            department=ReferralDepartment.objects.order_by("pk")[i % 5],
        )


def test_the_list_runs_the_same_number_of_queries_for_2_or_20_referrals(client, world, django_assert_num_queries):
    client.force_login(world.officer_a)
    url = reverse("casefiles:referral_list")
    _many(world, 2)
    client.get(url)  # warm the session
    # session, user with their staff row (scope: zaoyang_aid/backends.py); the pager's count, the overdue count, the
    # navbar's unread count, the department filter's choices, the page's rows (one join, aid as a subquery); no
    # session save (the warm-up stamped it); and the school filter's choices / messages where the page asks them.
    with django_assert_num_queries(7) as first:
        assert client.get(url).status_code == 200
    _many(world, 18)
    with django_assert_num_queries(len(first.captured_queries)):
        assert client.get(url).status_code == 200


def test_the_referral_page_runs_the_same_number_of_queries_for_1_or_8_updates(client, world, referral):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casefiles import referral_services as services

    client.force_login(world.officer_a)
    url = reverse("casefiles:referral_detail", args=[referral.pk])
    services.referral_update_record(
        by=world.officer_a, referral_id=referral.pk, on=dt.date(2026, 11, 1), status="sent", note="电话催办"
    )
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for day in range(2, 9):
        services.referral_update_record(
            by=world.officer_a,
            referral_id=referral.pk,
            on=dt.date(2026, 11, day),
            status="accepted",
            note="跟进",
            aid_item="临时救助金",
            aid_amount=100,
        )
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_declined_referral_sends_the_officer_back_to_its_page(client, world, referral):
    Referral.objects.filter(pk=referral.pk).update(status="declined", closed_on=dt.date(2026, 11, 12))
    client.force_login(world.officer_a)
    response = client.get(reverse("casefiles:referral_update", args=[referral.pk]))
    assert response.status_code == 302 and response.url == reverse("casefiles:referral_detail", args=[referral.pk])


def test_the_lists_export_link_writes_the_ledger_with_the_lists_filters(client, world, referral):
    ReferralFactory(student=world.student_a2, referred_by=world.officer_a, due_on=dt.date(2026, 12, 20))
    client.force_login(world.officer_a)
    page = client.get(reverse("casefiles:referral_list"), {"overdue": "1"}).content.decode()
    link = re.search(r'href="([^"]+)" data-export', page).group(1).replace("&amp;", "&")
    assert "overdue=1" in link and "report=referrals" in link
    response = client.get(link)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    references = [c.value for c in sheet["A"] if isinstance(c.value, str) and c.value.startswith("ZY-")]
    assert references == [referral.reference]
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_id="referrals").exists()


def test_the_navbar_offers_referrals_to_the_officer_and_the_county(client, world):
    url = reverse("casefiles:referral_list")
    for user, shown in ((world.officer_a, True), (world.county, True), (world.teacher_a1, False), (world.admin, False)):
        client.force_login(user)
        home = client.get("/", follow=True).content.decode()  # the role's home page, with the navbar
        assert (f'href="{url}"' in home) == shown, user.username
