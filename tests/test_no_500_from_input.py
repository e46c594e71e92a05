"""Issue 8, point 6: no 500 from input. Every list page's filters and searches are fed hostile values
(NUL bytes, non-IP addresses, huge numbers, bad dates, SQL and markup fragments, full-width digits)
as each role that can open the page; every answer is below 500. (In tests/: it drives every app, and
zaoyang_aid may import none.)"""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

HOSTILE = [
    "\x00",
    "张\x00三",
    "999999999999999999999999999",
    "-1",
    "1e309",
    "2026-13-45",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "１２３",
    "🙂" * 40,
    "0x7f",
    "1,2",
]

LISTS = {
    "pairing:student_list": [
        "q",
        "town",
        "school",
        "stage",
        "grade",
        "enrollment_status",
        "hukou_type",
        "category",
        "level",
        "paired",
        "page",
    ],
    "pairing:pairing_list": [
        "q",
        "town",
        "school",
        "stage",
        "grade",
        "category",
        "teacher",
        "teacher_name",
        "status",
        "page",
    ],
    "pairing:teacher_list": ["q", "school", "page"],
    "pairing:school_list": ["q", "town", "stage", "page"],
    "audit_log": ["q", "action", "actor_role", "student", "student_id", "ip_address", "since", "until", "page"],
    "guidance:county_dashboard": ["town", "page"],
    "guidance:school_reminders": ["page"],
    "guidance:notifications": ["page"],
    "casefiles:review_county": ["term", "town", "school", "stage"],
    "casefiles:report_list": ["report", "term", "town", "school", "stage"],
    "casefiles:recovery_ledger": ["town", "school", "state", "overdue", "page"],
    "casefiles:referral_list": ["town", "school", "department", "status", "overdue", "q", "page"],
}
ADMIN_LISTS = [
    "admin:pairing_student_changelist",
    "admin:pairing_pairing_changelist",
    "admin:pairing_teacher_changelist",
    "admin:pairing_school_changelist",
    "admin:zaoyang_aid_auditevent_changelist",
    "admin:guidance_talkrecord_changelist",
]


def answers(client, url, params):
    client.raise_request_exception = False  # a 500 is counted, not raised, so every failure is listed
    return client.get(url, params).status_code


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_filter_of_every_list_page_answers_hostile_values_without_a_server_error(client, world, name):
    url = reverse(name)
    failures = []
    for user in (world.county, world.officer_a, world.admin):
        client.force_login(user)
        for param in LISTS[name]:
            for value in HOSTILE:
                status = answers(client, url, {param: value})
                if status >= 500:
                    failures.append((user.username, param, value, status))
    assert failures == []


@pytest.mark.parametrize("name", ADMIN_LISTS)
def test_admin_searches_and_filters_answer_hostile_values_without_a_server_error(client, world, name):
    client.force_login(world.admin)
    url = reverse(name)
    failures = []
    for param in ("q", "o", "p", "e", "ended_on__isnull", "id__exact", "active", "term"):
        for value in HOSTILE:
            status = answers(client, url, {param: value})
            if status >= 500:
                failures.append((param, value, status))
    assert failures == []


def test_the_pages_with_a_query_parameter_answer_hostile_values_without_a_server_error(client, world):
    pairing = world.student_a1.pairings.get()
    pages = {
        reverse("guidance:talk_create", args=[pairing.pk]): ["week"],
        reverse("guidance:visit_create"): ["pairing"],
        reverse("guidance:timeline", args=[world.student_a1.pk]): ["page"],
        reverse("pairing:pairing_create"): ["student", "school"],
        reverse("casefiles:referral_create"): ["student"],
    }
    failures = []
    for user in (world.teacher_a1, world.officer_a, world.county):
        client.force_login(user)
        for url, params in pages.items():
            for param in params:
                for value in HOSTILE:
                    status = answers(client, url, {param: value})
                    if status >= 500:
                        failures.append((user.username, url, param, value, status))
    assert failures == []


def test_a_nul_byte_in_a_form_is_refused_with_a_chinese_400_and_nothing_is_saved(client, world):
    from guidance.models import TalkRecord

    pairing = world.student_a1.pairings.get()
    client.force_login(world.teacher_a1)
    data = {"date": "2026-11-16", "duration_minutes": "30", "content": "谈话\x00", "student_state": "稳定"}
    data |= {"tracks": ["track_study"], "help_forms": ["form_talk"]}
    response = client.post(reverse("guidance:talk_create", args=[pairing.pk]), data)
    assert response.status_code == 400
    assert "无效的输入" in response.content.decode()
    assert not TalkRecord.objects.exists()


def test_a_wrong_address_in_the_audit_filter_is_a_message_at_the_field(client, world):
    client.force_login(world.county)
    response = client.get(reverse("audit_log"), {"ip_address": "not-an-ip"})
    assert response.status_code == 200
    assert "IP" in " ".join(response.context["filter"].form.errors["ip_address"])


FILTERED_LISTS = [
    "pairing:student_list",
    "pairing:pairing_list",
    "pairing:teacher_list",
    "pairing:school_list",
    "audit_log",
    "casefiles:recovery_ledger",
]


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("name", FILTERED_LISTS)
def test_a_bad_value_in_any_typed_filter_is_a_chinese_message_at_its_field(client, world, name):
    """Every filter that is not free text validates its value: a wrong one is not used and the page
    says why, in Chinese, at that field (not a 500, not a silently different list)."""
    from django import forms

    client.force_login(world.county)
    fields = client.get(reverse(name)).context["filter"].form.fields
    silent = []
    for field_name, field in fields.items():
        if type(field) is forms.CharField:  # free text: any value is a search
            continue
        response = client.get(reverse(name), {field_name: "' OR 1=1 --"})
        errors = response.context["filter"].form.errors.get(field_name, [])
        if not errors or not all(_has_chinese(e) for e in errors):
            silent.append((field_name, errors))
    assert silent == []
