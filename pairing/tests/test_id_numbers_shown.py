"""ID numbers are masked (420683********1234) for every role that does not need them, and never
appear in a URL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from zaoyang_aid.masking import mask_id_number

pytestmark = pytest.mark.django_db


def html_of(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a"])
def test_roles_without_need_see_the_id_number_masked(client, world, who):
    html = html_of(client, getattr(world, who), reverse("pairing:student_detail", args=[world.student_a1.pk]))
    assert world.student_a1.id_number not in html
    assert mask_id_number(world.student_a1.id_number) in html


@pytest.mark.parametrize("who", ["officer_a", "county"])
def test_officer_and_county_see_the_full_id_number_on_the_record(client, world, who):
    html = html_of(client, getattr(world, who), reverse("pairing:student_detail", args=[world.student_a1.pk]))
    assert world.student_a1.id_number in html


@pytest.mark.parametrize("who", ["officer_a", "counsellor_a", "county", "admin"])
def test_student_list_never_shows_a_full_id_number(client, world, who):
    html = html_of(client, getattr(world, who), reverse("pairing:student_list"))
    for student in (world.student_a1, world.student_a2, world.student_b1):
        assert student.id_number not in html


def test_no_url_carries_an_id_number(client, world):
    client.force_login(world.county)
    html = client.get(reverse("pairing:student_list")).content.decode()
    assert f"/students/{world.student_a1.pk}/" in html
    assert world.student_a1.id_number not in reverse("pairing:student_detail", args=[world.student_a1.pk])


def test_search_finds_a_student_by_the_last_digits_of_the_student_number(client, world):
    client.force_login(world.officer_a)
    response = client.get(reverse("pairing:student_list"), {"q": world.student_a1.student_number[-6:]})
    assert [s.name for s in response.context["page"]] == ["张小明"]


def test_search_refuses_a_whole_id_number_because_a_search_travels_in_the_url(client, world):
    client.force_login(world.officer_a)
    response = client.get(reverse("pairing:student_list"), {"q": world.student_a1.student_number})
    html = response.content.decode()
    assert "请勿输入完整的身份证号或学籍号" in html
    assert world.student_a1.id_number not in html
