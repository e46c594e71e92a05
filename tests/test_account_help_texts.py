"""The pages that send users to someone for their account name who can now do it: a teacher's
school 资助专干, and the 市资助中心 for officers and counsellors (issue 8)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_page_sends_teachers_to_the_officer_and_officers_and_counsellors_to_the_county(client):
    html = client.get(reverse("login")).content.decode()
    assert "教师请联系学校资助专干" in html and "资助专干和心理健康教师请联系市资助中心" in html


@override_settings(AXES_FAILURE_LIMIT=1)
def test_lockout_page_says_who_lifts_the_lock(client, world):
    response = client.post(reverse("login"), {"username": world.teacher_a1.username, "password": "x"})
    html = response.content.decode()
    assert response.status_code == 429
    assert "学校资助专干" in html and "市资助中心" in html and "解除锁定" in html


@pytest.mark.parametrize(
    ("who", "helper"), [("teacher_a1", "学校资助专干"), ("counsellor_a", "市资助中心"), ("officer_a", "市资助中心")]
)
def test_reminder_settings_page_names_who_records_the_email(client, world, who, helper):
    client.force_login(getattr(world, who))
    html = client.get(reverse("guidance:reminder_preferences")).content.decode()
    assert f"请联系{helper}登记" in html


def test_password_change_page_names_who_resets_a_forgotten_password(client, world):
    client.force_login(world.counsellor_a)
    assert "请联系市资助中心重置" in client.get(reverse("password_change")).content.decode()
