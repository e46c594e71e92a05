"""The 资助专干 and the 市资助中心 keep their staff's accounts: reset a password (a one-time password,
changed at the next login), lift a lockout, set the email and phone, deactivate a staff member who
left once their students have another teacher. One rule decides who may act on whom; each action
writes one audit line, which never holds the one-time password."""

from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from pairing import accounts
from pairing.models import Pairing
from pairing.tests import factories as f
from zaoyang_aid.access import ACCOUNT_MANAGERS, Role, account_helper, scope_of
from zaoyang_aid.models import AuditAction, AuditEvent
from zaoyang_aid.passwords import ONE_TIME_ALPHABET, ONE_TIME_LENGTH, one_time_password

pytestmark = pytest.mark.django_db

ACCOUNT_PAGES = [
    "pairing:account_password_reset",
    "pairing:account_unlock",
    "pairing:account_contact",
    "pairing:account_deactivate",
    "pairing:account_reactivate",
]


def may(actor, target_user):
    return accounts.may_manage_account(scope_of(actor), target_user.teacher)


def login(client, username, password, ip="10.0.0.9"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def url(name, user):
    return reverse(name, args=[user.teacher.pk])


# --- Who may act on whom -------------------------------------------------------------------------


def test_officer_manages_the_teachers_of_her_own_school(world):
    assert may(world.officer_a, world.teacher_a1) and may(world.officer_a, world.teacher_a2)


def test_officer_cannot_manage_another_schools_teacher(world):
    assert not may(world.officer_a, world.teacher_b1)


def test_officer_leaves_counsellors_and_officers_to_the_county(world):
    assert not may(world.officer_a, world.counsellor_a)
    assert not may(world.officer_a, world.officer_b)


def test_county_staff_manage_officers_counsellors_and_teachers_of_every_school(world):
    for target in (world.officer_a, world.officer_b, world.counsellor_a, world.teacher_a1, world.teacher_b1):
        assert may(world.county, target)


def test_nobody_manages_their_own_account_here(world):
    assert not may(world.officer_a, world.officer_a)
    county_teacher = f.TeacherFactory(user=world.county, school=world.school_a)  # a staff row, oddly
    assert not accounts.may_manage_account(scope_of(world.county), county_teacher)


def test_nobody_manages_an_admin_or_superuser_account_here(world):
    admin_with_row = f.TeacherFactory(user=world.admin, school=world.school_a)
    superuser = f.TeacherFactory(school=world.school_a, user__is_superuser=True)
    for actor in (world.county, world.officer_a):
        assert not accounts.may_manage_account(scope_of(actor), admin_with_row)
        assert not accounts.may_manage_account(scope_of(actor), superuser)


def test_teachers_counsellors_admins_and_roleless_accounts_manage_no_one(world):
    for actor in (world.teacher_a1, world.counsellor_a, world.admin, world.nobody):
        for target in (world.teacher_a2, world.counsellor_a, world.officer_a):
            assert not may(actor, target)


def test_the_texts_name_the_nearest_of_the_people_the_rule_lets_act(world):
    assert account_helper(Role.TEACHER) == "学校资助专干"
    assert account_helper(Role.OFFICER) == account_helper(Role.COUNSELLOR) == "市资助中心"
    assert account_helper(Role.COUNTY) == account_helper("") == "系统管理员"
    assert may(world.officer_a, world.teacher_a1) and Role.OFFICER in ACCOUNT_MANAGERS[Role.TEACHER]
    assert not may(world.officer_a, world.counsellor_a) and Role.OFFICER not in ACCOUNT_MANAGERS[Role.COUNSELLOR]


# --- The pages: owner, colleague, another school, outsider ---------------------------------------


@pytest.mark.parametrize("name", ACCOUNT_PAGES)
def test_account_pages_open_for_the_officer_and_the_county_only(client, world, name):
    expected = {
        world.officer_a: 200,  # her school's teacher
        world.county: 200,
        world.officer_b: 404,  # another school: not in her scope at all
        world.teacher_a2: 403,  # a colleague at the same school
        world.counsellor_a: 403,
        world.admin: 403,  # the admin keeps accounts in the Django admin
        world.nobody: 403,
    }
    for actor, status in expected.items():
        client.force_login(actor)
        assert client.get(url(name, world.teacher_a1)).status_code == status, (actor.role, name)


@pytest.mark.parametrize("name", ACCOUNT_PAGES)
def test_officer_cannot_open_the_account_pages_of_a_counsellor_or_her_own(client, world, name):
    client.force_login(world.officer_a)
    assert client.get(url(name, world.counsellor_a)).status_code == 403
    assert client.get(url(name, world.officer_a)).status_code == 403


def test_a_refused_post_changes_nothing(client, world):
    client.force_login(world.officer_b)
    assert client.post(url("pairing:account_deactivate", world.teacher_a2)).status_code == 404
    client.force_login(world.teacher_a1)
    assert client.post(url("pairing:account_password_reset", world.teacher_a2)).status_code == 403
    world.teacher_a2.refresh_from_db()
    assert world.teacher_a2.is_active and world.teacher_a2.check_password("zaoyang2026")
    assert not AuditEvent.objects.filter(action__startswith="account").exists()


def test_service_refuses_an_actor_the_rule_refuses(world):
    with pytest.raises(PermissionDenied):
        accounts.account_password_reset(by=world.officer_a, teacher=world.counsellor_a.teacher)


def test_teacher_page_offers_the_account_buttons_only_to_who_may_use_them(client, world):
    client.force_login(world.officer_a)
    html = client.get(reverse("pairing:teacher_detail", args=[world.teacher_a1.teacher.pk])).content.decode()
    assert url("pairing:account_password_reset", world.teacher_a1) in html
    html = client.get(reverse("pairing:teacher_detail", args=[world.counsellor_a.teacher.pk])).content.decode()
    assert "/account/" not in html and "由市资助中心办理" in html
    client.force_login(world.county)
    html = client.get(reverse("pairing:teacher_detail", args=[world.counsellor_a.teacher.pk])).content.decode()
    assert url("pairing:account_password_reset", world.counsellor_a) in html


# --- Reset password ------------------------------------------------------------------------------


def test_one_time_passwords_are_random_readable_and_mix_letters_and_digits():
    seen = {one_time_password() for _ in range(200)}
    assert len(seen) == 200
    for password in seen:
        assert len(password) == ONE_TIME_LENGTH and set(password) <= set(ONE_TIME_ALPHABET)
        assert any(c.isdigit() for c in password) and any(c.isalpha() for c in password)
    assert not set(ONE_TIME_ALPHABET) & set("0Oo1lIi2Zz5Ss8B")


def test_officer_resets_a_teachers_password_shown_once_and_never_logged(client, world, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(world.officer_a)
    before = AuditEvent.objects.count()
    response = client.post(url("pairing:account_password_reset", world.teacher_a1))
    assert response.status_code == 200
    password = response.context["password"]
    assert password in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    world.teacher_a1.refresh_from_db()
    assert world.teacher_a1.check_password(password) and world.teacher_a1.must_change_password
    # Not in the session (nor a URL: the answer is the page itself, no redirect).
    assert all(password not in str(value) for value in client.session.values())
    assert password not in caplog.text
    [line] = AuditEvent.objects.order_by("pk")[before:]
    assert line.action == AuditAction.PASSWORD_RESET and line.object_id == str(world.teacher_a1.pk)
    assert line.actor_id == world.officer_a.pk
    assert password not in f"{line.changes} {line.object_label} {line.path}"


def test_reset_password_page_asks_first(client, world):
    client.force_login(world.officer_a)
    response = client.get(url("pairing:account_password_reset", world.teacher_a1))
    assert "生成临时密码" in response.content.decode()
    world.teacher_a1.refresh_from_db()
    assert world.teacher_a1.check_password("zaoyang2026") and not world.teacher_a1.must_change_password


def test_the_teacher_logs_in_with_the_one_time_password_and_must_change_it_first(client, world):
    password = accounts.account_password_reset(by=world.officer_a, teacher=world.teacher_a1.teacher)
    assert login(client, world.teacher_a1.username, password).status_code == 302
    change = reverse("password_change")
    for page in (reverse("home"), reverse("guidance:my_students"), reverse("pairing:calendar")):
        assert client.get(page).url == change
    assert client.get(change).status_code == 200
    assert "已被重置为临时密码" in client.get(change).content.decode()
    same = {"old_password": password, "new_password1": password, "new_password2": password}
    assert "不要沿用临时密码" in client.post(change, same).content.decode()
    new = {"old_password": password, "new_password1": "Chun-tian-2027", "new_password2": "Chun-tian-2027"}
    assert client.post(change, new).status_code == 302
    world.teacher_a1.refresh_from_db()
    assert not world.teacher_a1.must_change_password
    assert client.get(reverse("guidance:my_students")).status_code == 200


def test_a_user_held_on_the_password_page_may_still_log_out_and_load_static_files(client, world):
    world.teacher_a1.must_change_password = True
    world.teacher_a1.save()
    client.force_login(world.teacher_a1)
    assert client.get("/static/css/app.css").status_code in (200, 404)  # not redirected
    assert client.post(reverse("logout")).url == reverse("login")


def test_reset_ends_the_teachers_open_sessions(client, world):
    client.force_login(world.teacher_a1)
    accounts.account_password_reset(by=world.officer_a, teacher=world.teacher_a1.teacher)
    assert client.get(reverse("guidance:my_students")).url.startswith(reverse("login"))


# --- Unlock --------------------------------------------------------------------------------------


def test_officer_unlocks_a_teacher_locked_out_by_five_bad_passwords(client, world):
    for _ in range(5):
        login(client, world.teacher_a1.username, "wrong-password")
    assert login(client, world.teacher_a1.username, "zaoyang2026").status_code == 429
    officer = client.__class__()
    officer.force_login(world.officer_a)
    page = officer.get(reverse("pairing:teacher_detail", args=[world.teacher_a1.teacher.pk])).content.decode()
    assert "登录已锁定" in page and url("pairing:account_unlock", world.teacher_a1) in page
    before = AuditEvent.objects.count()
    assert officer.post(url("pairing:account_unlock", world.teacher_a1)).status_code == 302
    assert not AccessAttempt.objects.filter(username=world.teacher_a1.username).exists()
    [line] = AuditEvent.objects.order_by("pk")[before:]
    assert line.action == AuditAction.ACCOUNT_UNLOCK and line.object_id == str(world.teacher_a1.pk)
    assert login(client, world.teacher_a1.username, "zaoyang2026").status_code == 302


def test_unlocking_an_account_that_is_not_locked_writes_nothing(client, world):
    client.force_login(world.officer_a)
    client.post(url("pairing:account_unlock", world.teacher_a1))
    assert not AuditEvent.objects.filter(action=AuditAction.ACCOUNT_UNLOCK).exists()


def test_reset_also_lifts_a_lockout(client, world):
    for _ in range(5):
        login(client, world.teacher_a1.username, "wrong-password")
    password = accounts.account_password_reset(by=world.officer_a, teacher=world.teacher_a1.teacher)
    assert login(client, world.teacher_a1.username, password).status_code == 302


# --- Email and phone -----------------------------------------------------------------------------


def test_officer_sets_a_teachers_email_and_phone_with_one_audit_line(client, world):
    client.force_login(world.officer_a)
    before = AuditEvent.objects.count()
    response = client.post(
        url("pairing:account_contact", world.teacher_a1), {"email": "li@example.com", "phone": "13900001111"}
    )
    assert response.status_code == 302
    world.teacher_a1.refresh_from_db()
    assert world.teacher_a1.email == "li@example.com" and world.teacher_a1.phone == "13900001111"
    assert world.teacher_a1.teacher.phone == "13900001111"
    [line] = AuditEvent.objects.order_by("pk")[before:]
    assert line.action == AuditAction.UPDATE and line.changes["邮箱"] == ["", "li@example.com"]


def test_a_bad_email_or_phone_is_refused_at_its_field_and_nothing_is_written(client, world):
    client.force_login(world.county)
    response = client.post(url("pairing:account_contact", world.counsellor_a), {"email": "li@", "phone": "123"})
    form = response.context["form"]
    assert "有效的邮箱" in form.errors["email"][0] and "11位手机号" in form.errors["phone"][0]
    world.counsellor_a.refresh_from_db()
    assert world.counsellor_a.email == ""


# --- Deactivate ----------------------------------------------------------------------------------


def test_deactivation_lists_the_pairings_and_is_refused_while_a_student_would_be_left_alone(client, world):
    pairing = Pairing.objects.get(teacher__user=world.teacher_a1)
    client.force_login(world.officer_a)
    page = client.get(url("pairing:account_deactivate", world.teacher_a1)).content.decode()
    assert "张小明" in page and reverse("pairing:pairing_reassign", args=[pairing.pk]) in page
    client.post(url("pairing:account_deactivate", world.teacher_a1))
    world.teacher_a1.refresh_from_db()
    assert world.teacher_a1.is_active
    assert Pairing.objects.filter(student=world.student_a1, ended_on__isnull=True).exists()


def test_officer_reassigns_the_pairings_then_deactivates_the_teacher_who_left(client, world):
    pairing = Pairing.objects.get(teacher__user=world.teacher_a1)
    back = url("pairing:account_deactivate", world.teacher_a1)
    client.force_login(world.officer_a)
    response = client.post(
        reverse("pairing:pairing_reassign", args=[pairing.pk]) + f"?next={back}",
        {
            "new_teacher": world.teacher_a2.teacher.pk,
            "on": "2026-11-16",
            "reason": "other",
            "note": "原教师调离",
            "confirmed_over_limit": "on",
        },
    )
    assert response.status_code == 302 and response.url == back
    before = AuditEvent.objects.count()
    assert client.post(back).status_code == 302
    world.teacher_a1.refresh_from_db()
    assert not world.teacher_a1.is_active
    assert Pairing.objects.get(student=world.student_a1, ended_on__isnull=True).teacher.user == world.teacher_a2
    [line] = AuditEvent.objects.order_by("pk")[before:]
    assert line.action == AuditAction.ACCOUNT_DEACTIVATE
    assert login(client.__class__(), world.teacher_a1.username, "zaoyang2026").status_code == 200  # refused


def test_reassign_ignores_a_next_address_off_the_site(client, world):
    pairing = Pairing.objects.get(teacher__user=world.teacher_a1)
    client.force_login(world.officer_a)
    response = client.post(
        reverse("pairing:pairing_reassign", args=[pairing.pk]) + "?next=https://evil.example/",
        {
            "new_teacher": world.teacher_a2.teacher.pk,
            "on": "2026-11-16",
            "reason": "other",
            "confirmed_over_limit": "on",
        },
    )
    assert response.url == reverse("pairing:student_detail", args=[world.student_a1.pk])


def test_a_deactivated_teachers_open_session_ends_and_the_county_can_reactivate(client, world):
    Pairing.objects.filter(teacher__user=world.counsellor_a).delete()
    client.force_login(world.counsellor_a)
    accounts.account_deactivate(by=world.county, teacher=world.counsellor_a.teacher)
    assert client.get(reverse("pairing:student_list")).url.startswith(reverse("login"))
    accounts.account_reactivate(by=world.county, teacher=world.counsellor_a.teacher)
    world.counsellor_a.refresh_from_db()
    assert world.counsellor_a.is_active
    actions = list(AuditEvent.objects.filter(object_id=str(world.counsellor_a.pk)).values_list("action", flat=True))
    assert actions.count(AuditAction.ACCOUNT_DEACTIVATE) == 1 and actions.count(AuditAction.ACCOUNT_REACTIVATE) == 1
    assert AuditAction.UPDATE not in actions  # one line per action, not a second generic one


def test_teacher_list_marks_deactivated_staff(client, world):
    accounts.account_deactivate(by=world.county, teacher=world.counsellor_a.teacher)
    client.force_login(world.officer_a)
    assert "已停用" in client.get(reverse("pairing:teacher_list")).content.decode()
