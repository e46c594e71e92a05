"""Officers add the teachers of their school (with an account); county staff may also appoint officers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pairing.models import Teacher

pytestmark = pytest.mark.django_db


def data(**overrides):
    values = {
        "full_name": "陈老师",
        "username": "13900001111",
        "role": "teacher",
        "phone": "13900001111",
        "title": "一级教师",
        "is_head_teacher": "on",
        "password": "Zaoyang-2026x",
    }
    values.update(overrides)
    return values


def test_officer_adds_a_teacher_to_their_school_who_can_then_log_in(client, world):
    client.force_login(world.officer_a)
    response = client.post(reverse("pairing:teacher_create"), data(school=world.school_b.pk))
    assert response.status_code == 302
    teacher = Teacher.objects.get(user__username="13900001111")
    assert teacher.school == world.school_a  # an officer's school is fixed, whatever is posted
    assert teacher.user.role == "teacher" and teacher.is_head_teacher
    assert teacher.user.check_password("Zaoyang-2026x")


def test_officer_cannot_appoint_another_officer(client, world):
    client.force_login(world.officer_a)
    response = client.post(reverse("pairing:teacher_create"), data(role="officer"))
    assert response.status_code == 200
    assert not Teacher.objects.filter(user__username="13900001111").exists()


def test_county_staff_appoint_a_schools_officer(client, world):
    client.force_login(world.county)
    response = client.post(reverse("pairing:teacher_create"), data(role="officer", school=world.school_b.pk))
    assert response.status_code == 302
    assert Teacher.objects.get(user__username="13900001111").school == world.school_b


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "1390000", "请输入11位手机号码"),
        ("password", "12345678", "密码只包含数字"),
        ("username", "陈 老师", "登录账号只能包含"),
        ("full_name", "", "这个字段是必填项"),
    ],
)
def test_bad_input_is_answered_at_its_field_and_no_account_is_made(client, world, field, value, message):
    client.force_login(world.officer_a)
    response = client.post(reverse("pairing:teacher_create"), data(**{field: value}))
    assert message in response.content.decode()
    assert not Teacher.objects.filter(user__full_name="陈老师").exists()


def test_a_taken_username_is_refused(client, world):
    client.force_login(world.officer_a)
    response = client.post(reverse("pairing:teacher_create"), data(username=world.teacher_a1.username))
    assert "该登录账号已被使用" in response.content.decode()


def test_officer_edits_their_teachers_title_but_not_another_schools(client, world):
    client.force_login(world.officer_a)
    mine = world.teacher_a1.teacher
    response = client.post(
        reverse("pairing:teacher_edit", args=[mine.pk]),
        {"full_name": "张老师", "role": "teacher", "phone": mine.phone, "title": "高级教师"},
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.title, mine.user.full_name) == ("高级教师", "张老师")
    other = world.teacher_b1.teacher
    assert client.get(reverse("pairing:teacher_edit", args=[other.pk])).status_code == 404


def test_teachers_cannot_add_teachers(client, world):
    client.force_login(world.teacher_a1)
    assert client.get(reverse("pairing:teacher_create")).status_code == 403
