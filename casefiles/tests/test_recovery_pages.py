"""辍学学生台账 and 劝返 一人一案's pages: every URL for every role (the officer of the school, the
officer of another school, the teacher who 包保 the student, a colleague, the counsellor, county
staff, the 系统管理员, anonymous); the ledger's rows, filters and pinned query count; the forms
through their services, their refusals at their fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from casefiles import recovery
from casefiles.models import RecoveryCase, RecoveryStatus
from pairing.models import EnrollmentStatus
from pairing.tests import factories as f
from zaoyang_aid.models import AuditAction, AuditEvent

from .recovery_world import drop_out, open_case

pytestmark = pytest.mark.django_db

LEDGER = reverse("casefiles:recovery_ledger")


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def dropouts(world: Any) -> Any:
    """student_a1 辍学 with an open case (teacher_a1 包保 her); student_a2 辍学 without a plan;
    student_b1 (school B) 辍学 without a plan."""
    for student in (world.student_a1, world.student_a2):
        drop_out(student, world.officer_a)
    drop_out(world.student_b1, world.officer_b)
    world.case = open_case(world, teacher=recovery.paired_teacher_id(world.student_a1.pk))
    return world


# --- Every URL for every role ------------------------------------------------------------------------

ROLES = ["teacher_a1", "teacher_a2", "officer_a", "officer_b", "counsellor_a", "county", "admin", None]
# Expected GET status per URL and role; 302 for anonymous everywhere (the login page).
EXPECTED = {
    "ledger": {"officer_a": 200, "officer_b": 200, "county": 200},
    "open": {"officer_a": 200, "officer_b": 404},
    "detail": {"teacher_a1": 200, "officer_a": 200, "county": 200, "officer_b": 404, "teacher_a2": 404},
    "edit": {"officer_a": 200, "officer_b": 404},
    "attempt": {"teacher_a1": 200, "officer_a": 200, "officer_b": 404, "teacher_a2": 404},
    "close": {"officer_a": 200, "officer_b": 404},
}
# The counsellor does not 包保 student_a1: the case is not hers (404 where her role may read cases).
COUNSELLOR = {"detail": 404, "attempt": 404}


def _urls(world: Any) -> dict[str, str]:
    case = world.case.pk
    return {
        "ledger": LEDGER,
        "open": reverse("casefiles:recovery_open", args=[world.student_a2.pk]),
        "detail": reverse("casefiles:recovery_detail", args=[case]),
        "edit": reverse("casefiles:recovery_edit", args=[case]),
        "attempt": reverse("casefiles:recovery_attempt", args=[case]),
        "close": reverse("casefiles:recovery_close", args=[case]),
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_its_scope_says(dropouts, role):
    user = getattr(dropouts, role) if role else None
    client = client_for(user)
    for page, url in _urls(dropouts).items():
        response = client.get(url)
        if role is None:
            assert response.status_code == 302 and "/login/" in response["Location"], page
            continue
        expected = EXPECTED[page].get(role, COUNSELLOR.get(page, 403) if role == "counsellor_a" else 403)
        assert response.status_code == expected, (page, role)


def test_a_counsellor_who_pairs_the_student_reads_the_case_and_adds_attempts(dropouts):
    counsellor = f.CounsellorFactory(school=dropouts.school_a)
    dropouts.student_a1.pairings.update(ended_on=dt.date(2026, 11, 1), end_reason="transfer")
    f.PairingFactory(teacher=counsellor, student=dropouts.student_a1, started_on=dt.date(2026, 11, 2))
    client = client_for(counsellor.user)
    assert client.get(reverse("casefiles:recovery_detail", args=[dropouts.case.pk])).status_code == 200
    assert client.get(reverse("casefiles:recovery_attempt", args=[dropouts.case.pk])).status_code == 200


def test_the_teacher_reads_her_students_case_without_the_staff_actions(dropouts):
    html = client_for(dropouts.teacher_a1).get(reverse("casefiles:recovery_detail", args=[dropouts.case.pk]))
    text = html.content.decode()
    assert "记录劝返" in text and "修改方案" not in text and "销号</a>" not in text
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, student_id=dropouts.student_a1.pk).exists()


def test_county_staff_read_a_case_without_any_action(dropouts):
    text = client_for(dropouts.county).get(reverse("casefiles:recovery_detail", args=[dropouts.case.pk])).content
    html = text.decode()
    assert "厌学" in html and "记录劝返" not in html and "修改方案" not in html


# --- The ledger ---------------------------------------------------------------------------------------


def test_the_officer_sees_her_schools_dropouts_with_their_case_or_a_plan_to_make(dropouts):
    html = client_for(dropouts.officer_a).get(LEDGER).content.decode()
    assert "张小明" in html and "李小红" in html and "王小刚" not in html
    assert "待建方案" in html and "劝返中" in html
    assert reverse("casefiles:recovery_open", args=[dropouts.student_a2.pk]) in html
    assert "逾期" in html  # opened 10-12 with no attempt since
    assert "本校2人:待建方案 1 · 劝返中 1 · 学籍已复学,待销号 0 · 已返校销号 0 · 其他销号 0 · " in html


def test_county_staff_see_every_schools_dropouts_and_filter_them(dropouts):
    client = client_for(dropouts.county)
    html = client.get(LEDGER).content.decode()
    assert all(name in html for name in ("张小明", "李小红", "王小刚"))
    assert "/recovery/new/" not in html and "待学校建立方案" in html  # the school opens the plan
    only_b = client.get(LEDGER, {"school": dropouts.school_b.pk}).content.decode()
    assert "王小刚" in only_b and "张小明" not in only_b
    no_plan = client.get(LEDGER, {"state": "no_plan"}).content.decode()
    assert "李小红" in no_plan and "张小明" not in no_plan
    overdue = client.get(LEDGER, {"overdue": "yes"}).content.decode()
    assert "张小明" in overdue and "李小红" not in overdue


def test_a_student_back_at_school_by_the_status_form_shows_as_to_close(dropouts):
    from pairing import services as pairing_services

    pairing_services.student_status_change(
        student=dropouts.student_a1.pk, status="enrolled", on=dt.date(2026, 11, 9), reason="返校", by=dropouts.officer_a
    )
    html = client_for(dropouts.officer_a).get(LEDGER, {"state": "to_close"}).content.decode()
    assert "学籍已复学,待销号" in html and "张小明" in html
    detail = client_for(dropouts.officer_a).get(reverse("casefiles:recovery_detail", args=[dropouts.case.pk]))
    assert "学籍已恢复“在校”,方案待销号" in detail.content.decode()
    form = client_for(dropouts.officer_a).get(reverse("casefiles:recovery_close", args=[dropouts.case.pk]))
    assert 'name="returned_on" value="2026-11-09"' in form.content.decode()  # the status form's date


def test_a_returned_student_stays_on_the_ledger_as_closed(dropouts):
    recovery.recovery_case_close_returned(
        case=dropouts.case.pk, by=dropouts.officer_a, returned_on=dt.date(2026, 11, 9), returned_class="3班"
    )
    html = client_for(dropouts.officer_a).get(LEDGER, {"state": "returned"}).content.decode()
    assert "张小明" in html and "已返校销号" in html and "3班" in html


def _more_dropouts(world: Any, n: int) -> None:
    for _ in range(n):
        pairing = f.PairingFactory(teacher__school=world.school_a)
        drop_out(pairing.student, world.officer_a)
        case = open_case(world, student=pairing.student, teacher=pairing.teacher_id)
        recovery.recovery_attempt_create(
            case=case.pk, by=world.officer_a, date=dt.date(2026, 11, 2), with_whom="both", method="visit", outcome="x"
        )


# The ledger's queries as the officer opens it: the session, the user with her staff row (scope,
# zaoyang_aid/backends.py); the
# page's own: COUNT of the filtered ledger, the page of students (annotated state, overdue, 辍学 date),
# their cases with the last attempt and attempt count (one prefetch), the counts per state (one
# GROUP BY); the navbar's unread notices. No session save: the warm-up request stamped the session
# (zaoyang_aid/sessions.py).
LEDGER_QUERIES = 7


def test_the_ledger_runs_the_same_queries_for_2_or_8_rows(dropouts, django_assert_num_queries):
    client = client_for(dropouts.officer_a)
    client.get(LEDGER)  # warm the session
    with django_assert_num_queries(LEDGER_QUERIES):
        assert client.get(LEDGER).status_code == 200
    _more_dropouts(dropouts, 6)
    with django_assert_num_queries(LEDGER_QUERIES):
        html = client.get(LEDGER).content.decode()
    assert html.count("data-student=") == 8


# --- The forms ----------------------------------------------------------------------------------------


def test_the_officer_opens_a_plan_prefilled_from_the_pairing_and_the_dropout_date(dropouts):
    client = client_for(dropouts.officer_a)
    url = reverse("casefiles:recovery_open", args=[dropouts.student_a2.pk])
    form = client.get(url).content.decode()
    assert 'value="2026-10-12"' in form  # the 辍学 date
    teacher = dropouts.student_a2.pairings.get().teacher_id
    assert f'value="{teacher}" selected' in form
    html = client.post(url, {"leave_reason": ""}).content.decode()
    assert "请填写辍学原因。" in html  # the form's
    html = client.post(url, {"leave_reason": "家庭困难", "next_step": "家访"}).content.decode()
    assert "请填写下一步措施的完成日期。" in html  # the service's, at its field
    response = client.post(
        url,
        {
            "opened_on": "2026-10-12",
            "leave_reason": "家庭困难",
            "teacher": teacher,
            "officer": dropouts.officer_a.pk,
            "village_cadre": "王建国(村委会主任)",
            "next_step": "联系村委会一同家访",
            "next_step_due": "2026-11-20",
        },
    )
    case = RecoveryCase.objects.get(student=dropouts.student_a2)
    assert response.status_code == 302 and response["Location"] == reverse("casefiles:recovery_detail", args=[case.pk])
    assert case.village_cadre == "王建国(村委会主任)" and case.next_step_due == dt.date(2026, 11, 20)


def test_a_second_plan_leads_to_the_open_one(dropouts):
    response = client_for(dropouts.officer_a).get(reverse("casefiles:recovery_open", args=[dropouts.student_a1.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("casefiles:recovery_detail", args=[dropouts.case.pk])


def test_the_teacher_records_an_attempt_from_her_phone(dropouts):
    client = client_for(dropouts.teacher_a1)
    url = reverse("casefiles:recovery_attempt", args=[dropouts.case.pk])
    bad = client.post(url, {"date": "2026-11-30", "outcome": ""}).content.decode()
    assert "劝返日期不能晚于今天。" in bad or "请选择劝返方式。" in bad
    assert "请填写劝返情况与结果。" in bad
    response = client.post(
        url,
        {
            "date": "2026-11-15",
            "method": "visit",
            "with_whom": "parents",
            "outcome": "家长答应劝说孩子回校",
            "next_step": "周一再打电话",
            "next_step_due": "2026-11-23",
        },
    )
    assert response.status_code == 302
    dropouts.case.refresh_from_db()
    assert dropouts.case.attempts.get().outcome == "家长答应劝说孩子回校"
    assert dropouts.case.next_step == "周一再打电话"


def test_the_officer_closes_on_return_and_the_student_is_back_at_school(dropouts):
    client = client_for(dropouts.officer_a)
    url = reverse("casefiles:recovery_close", args=[dropouts.case.pk])
    bad = client.post(url, {"kind": "returned", "returned_on": "", "returned_class": ""}).content.decode()
    assert "请填写返校日期。" in bad and "请填写返回的班级。" in bad
    response = client.post(url, {"kind": "returned", "returned_on": "2026-11-09", "returned_class": "七年级3班"})
    assert response.status_code == 302
    dropouts.case.refresh_from_db()
    dropouts.student_a1.refresh_from_db()
    assert dropouts.case.status == RecoveryStatus.RETURNED
    assert dropouts.student_a1.enrollment_status == EnrollmentStatus.ENROLLED
    # Closed: no more edits, attempts or closing.
    for name in ("recovery_edit", "recovery_attempt", "recovery_close"):
        assert client.get(reverse(f"casefiles:{name}", args=[dropouts.case.pk])).status_code == 302


def test_the_officer_closes_otherwise_with_a_reason(dropouts):
    client = client_for(dropouts.officer_a)
    url = reverse("casefiles:recovery_close", args=[dropouts.case.pk])
    bad = client.post(url, {"kind": "other", "closed_on": "2026-11-16"}).content.decode()
    assert "请写明销号原因" in bad
    assert client.post(url, {"kind": "other", "closed_on": "2026-11-16", "reason": "转学外县"}).status_code == 302
    dropouts.case.refresh_from_db()
    assert dropouts.case.status == RecoveryStatus.OTHER and dropouts.case.close_reason == "转学外县"


def test_the_officer_edits_the_plan(dropouts):
    client = client_for(dropouts.officer_a)
    url = reverse("casefiles:recovery_edit", args=[dropouts.case.pk])
    assert "厌学" in client.get(url).content.decode()
    response = client.post(
        url, {"leave_reason": "厌学,沉迷网络", "officer": dropouts.officer_a.pk, "head_teacher": "陈老师"}
    )
    assert response.status_code == 302
    dropouts.case.refresh_from_db()
    assert dropouts.case.leave_reason == "厌学,沉迷网络" and dropouts.case.head_teacher == "陈老师"


def test_the_ledger_is_in_the_navbar_of_officers_and_county_staff(dropouts):
    assert "辍学与劝返" in client_for(dropouts.officer_a).get(LEDGER).content.decode()
    html = client_for(dropouts.teacher_a1).get(reverse("guidance:my_students")).content.decode()
    assert "辍学与劝返" not in html


def test_the_ledger_links_to_its_report_with_its_filters(dropouts):
    html = client_for(dropouts.county).get(LEDGER, {"state": "open"}).content.decode()
    assert "report=dropouts" in html and "state=open" in html


def _attempts(world: Any, n: int) -> None:
    for i in range(n):
        recovery.recovery_attempt_create(
            case=world.case.pk,
            by=world.officer_a,
            date=dt.date(2026, 11, 1 + i),
            with_whom="parents",
            method="phone",
            outcome=f"第{i + 1}次电话",
        )


# The case page's queries: the session, the user with her staff row (zaoyang_aid/backends.py); the case (annotated due
# date) with its student, school, town, teacher, officer and opener; its attempts with their recorders (one prefetch);
# the audit line; the overdue check; whether the reader may add an attempt; the navbar's unread notices. No session
# save: the warm-up request stamped the session (zaoyang_aid/sessions.py).
DETAIL_QUERIES = 8


def test_the_case_page_runs_the_same_queries_for_1_or_6_attempts(dropouts, django_assert_num_queries):
    client = client_for(dropouts.officer_a)
    url = reverse("casefiles:recovery_detail", args=[dropouts.case.pk])
    _attempts(dropouts, 1)
    client.get(url)  # warm the session
    with django_assert_num_queries(DETAIL_QUERIES):
        client.get(url)
    _attempts(dropouts, 5)
    with django_assert_num_queries(DETAIL_QUERIES):
        html = client.get(url).content.decode()
    assert html.count("data-attempt=") == 6


def test_a_return_before_the_dropout_is_told_at_the_return_date(dropouts):
    client = client_for(dropouts.officer_a)
    url = reverse("casefiles:recovery_close", args=[dropouts.case.pk])
    response = client.post(url, {"kind": "returned", "returned_on": "2026-10-01", "returned_class": "3班"})
    assert response.status_code == 200
    assert "返校日期不能早于建案日期" in str(response.context["form"].errors["returned_on"])


@pytest.mark.parametrize("who", ["teacher_a1", "county", "officer_b", "admin"])
def test_only_the_schools_officer_writes_the_plan_and_closes_it(dropouts, who):
    client = client_for(getattr(dropouts, who))
    for name in ("recovery_edit", "recovery_close"):
        response = client.post(reverse(f"casefiles:{name}", args=[dropouts.case.pk]), {"kind": "other", "reason": "x"})
        assert response.status_code in (403, 404)
    response = client.post(reverse("casefiles:recovery_open", args=[dropouts.student_a2.pk]), {"leave_reason": "x"})
    assert response.status_code in (403, 404)
    dropouts.case.refresh_from_db()
    assert dropouts.case.status == RecoveryStatus.OPEN
    assert not RecoveryCase.objects.filter(student=dropouts.student_a2).exists()


def test_a_case_closed_otherwise_for_a_student_still_away_may_be_opened_again_from_the_ledger(dropouts):
    recovery.recovery_case_close_other(
        case=dropouts.case.pk, by=dropouts.officer_a, closed_on=dt.date(2026, 11, 16), reason="联系不上,暂时销号"
    )
    html = client_for(dropouts.officer_a).get(LEDGER, {"state": "other"}).content.decode()
    assert "其他销号" in html and reverse("casefiles:recovery_open", args=[dropouts.student_a1.pk]) in html
