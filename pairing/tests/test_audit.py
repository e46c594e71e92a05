"""The audit log: who, when, what, from where; searchable by county staff; never editable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from pairing.models import PairingEndReason, Student
from pairing.tests.factories import CountyUserFactory, StudentFactory, TeacherFactory
from zaoyang_aid import audit
from zaoyang_aid.masking import mask_id_number
from zaoyang_aid.models import AuditAction, AuditEvent, User

pytestmark = pytest.mark.django_db


def test_reading_a_students_full_record_is_logged_with_who_and_from_where(client, world):
    client.force_login(world.officer_a)
    client.get(reverse("pairing:student_detail", args=[world.student_a1.pk]), REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert event.actor_id == world.officer_a.pk
    assert event.actor_role == "officer"
    assert event.student_id == world.student_a1.pk
    assert event.ip_address == "10.1.2.3"
    assert event.path == f"/students/{world.student_a1.pk}/"
    assert "完整身份证号" in str(event.changes)


def test_a_refused_read_is_not_logged_as_a_read(client, world):
    client.force_login(world.teacher_a1)
    client.get(reverse("pairing:student_detail", args=[world.student_b1.pk]))
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW).exists()


def test_creating_updating_and_deleting_a_student_is_logged_with_masked_id(world):
    student = StudentFactory(school=world.school_a, name="赵小花")
    created = AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="学生").latest("pk")
    assert created.student_id == student.pk
    assert student.id_number not in str(created.changes)
    assert student.masked_id_number in str(created.changes)

    student.class_name = "5班"
    student.save()
    updated = AuditEvent.objects.filter(action=AuditAction.UPDATE).latest("pk")
    assert updated.changes == {"班级": ["1班", "5班"]}

    student.guardians.all().delete()
    pk = student.pk
    Student.objects.filter(pk=pk).get().delete()
    deleted = AuditEvent.objects.filter(action=AuditAction.DELETE, object_type="学生").latest("pk")
    assert deleted.student_id == pk
    assert deleted.changes["姓名"] == ["赵小花", None]


def test_saving_without_a_change_writes_no_line(world):
    before = AuditEvent.objects.count()
    world.student_a1.save()
    assert AuditEvent.objects.count() == before


def test_the_actor_of_a_change_made_through_a_page_is_the_signed_in_user(client, world):
    client.force_login(world.officer_a)
    url = reverse("pairing:assessment_create", args=[world.student_a1.pk])
    from pairing.models import HardshipLevel

    level = HardshipLevel.objects.get(name="困难", stage="")
    response = client.post(url, {"level": level.pk, "decided_on": "2026-09-10", "note": ""})
    assert response.status_code == 302
    event = AuditEvent.objects.filter(object_type="家庭经济困难认定").latest("pk")
    assert (event.actor_id, event.action) == (world.officer_a.pk, AuditAction.CREATE)


def test_audit_lines_cannot_be_changed_or_deleted(world):
    event = audit.record(AuditAction.EXPORT, object_type="报表", object_label="测试")
    event.object_label = "改过"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(object_label="改过")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).object_label == "测试"


def test_the_admin_offers_no_way_to_add_change_or_delete_audit_lines(client, world):
    event = audit.record(AuditAction.EXPORT, object_type="报表", object_label="测试")
    client.force_login(world.admin)
    assert client.get(reverse("admin:zaoyang_aid_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:zaoyang_aid_auditevent_add")).status_code == 403
    assert (
        client.post(reverse("admin:zaoyang_aid_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_county_staff_search_the_log_by_student(client, world):
    client.force_login(world.officer_a)
    client.get(reverse("pairing:student_detail", args=[world.student_a1.pk]))
    client.get(reverse("pairing:student_detail", args=[world.student_a2.pk]))
    client.force_login(world.county)
    response = client.get(reverse("audit_log"), {"student_id": world.student_a1.pk, "action": "view"})
    assert [e.student_id for e in response.context["page"]] == [world.student_a1.pk]


def test_only_county_staff_and_admins_open_the_audit_log(client, world):
    for user, status in [(world.county, 200), (world.admin, 200), (world.officer_a, 403), (world.teacher_a1, 403)]:
        client.force_login(user)
        assert client.get(reverse("audit_log")).status_code == status


def test_logins_and_failed_logins_are_logged_without_the_password(client, world):
    client.post(reverse("login"), {"username": world.officer_a.username, "password": "wrong-password"})
    client.post(reverse("login"), {"username": world.officer_a.username, "password": "zaoyang2026"})
    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failed.object_label == world.officer_a.username
    assert "wrong-password" not in str(failed.changes)
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, actor_id=world.officer_a.pk).exists()


# --- Who acted stays on the line ---------------------------------------------------------------


def test_a_line_keeps_the_actors_username_and_role_after_the_account_is_deleted(client, world):
    county = CountyUserFactory(username="county_zhang", full_name="张科长")
    client.force_login(county)
    client.get(reverse("pairing:student_detail", args=[world.student_a1.pk]))
    client.logout()

    User.objects.filter(pk=county.pk).delete()  # by hand: the admin offers no delete (below)

    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (event.actor_id, event.actor_username, event.actor_name, event.actor_role) == (
        county.pk,
        "county_zhang",
        "张科长",
        "county",
    )


def test_the_admin_deactivates_accounts_and_offers_no_delete(client, world):
    # A teacher who 包保 no one (one who does is refused: tests/test_field_policy.py).
    left = TeacherFactory(school=world.school_a).user
    client.force_login(world.admin)
    changelist = reverse("admin:zaoyang_aid_user_changelist")

    assert client.get(reverse("admin:zaoyang_aid_user_delete", args=[left.pk])).status_code == 403
    assert "delete_selected" not in client.get(changelist).content.decode()
    response = client.post(
        changelist, {"action": "deactivate", "_selected_action": [left.pk, world.admin.pk]}, follow=True
    )

    assert response.status_code == 200
    left.refresh_from_db()
    world.admin.refresh_from_db()
    assert (left.is_active, world.admin.is_active) == (False, True)
    line = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="用户").get()
    assert (line.actor_username, line.object_id) == (world.admin.username, str(left.pk))
    assert line.changes == {"有效": ["是", "否"]}


# --- Lines in words --------------------------------------------------------------------------------


def test_a_change_is_written_with_choice_labels_and_names_not_raw_values(world):
    pairing = world.student_a1.pairings.get()
    newcomer = TeacherFactory(school=world.school_a, user__full_name="王老师")

    pairing.teacher = newcomer
    pairing.save()
    pairing.end_reason, pairing.ended_on = PairingEndReason.OTHER, dt.date(2026, 11, 16)
    pairing.save()

    reassigned, ended = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="结对").order_by("pk")
    assert reassigned.changes == {"帮扶教师": [world.teacher_a1.get_full_name(), "王老师"]}
    assert ended.changes == {"结束日期": ["", "2026-11-16"], "结束原因": ["", "其他"]}


def test_a_time_is_written_in_local_time_to_the_minute(world):
    pairing = world.student_a1.pairings.get()
    pairing.created_at = dt.datetime(2026, 9, 1, 0, 30, 15, 123456, tzinfo=dt.UTC)
    pairing.save()

    changed = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="结对").get()
    assert changed.changes["创建时间"][1] == "2026-09-01 08:30"


def test_the_audit_page_shows_lines_in_words_and_local_time(client, world):
    pairing = world.student_a1.pairings.get()
    pairing.end_reason, pairing.ended_on = PairingEndReason.OTHER, dt.date(2026, 11, 16)
    pairing.save()
    client.force_login(world.county)

    html = client.get(reverse("audit_log"), {"student": "张小明"}).content.decode()

    assert "结束原因</span>: (空) → 其他" in html
    assert "→ other" not in html


def test_the_audit_page_translates_lines_written_before_labels(client, world):
    teacher = world.teacher_a1.teacher
    AuditEvent.objects.create(  # as written before migration 0002 (raw values)
        action=AuditAction.UPDATE,
        object_type="结对",
        object_label="旧的一行",
        student_id=world.student_a1.pk,
        changes={
            "结束原因": ["", "other"],
            "帮扶教师": ["999999", str(teacher.pk)],
            "创建时间": [None, "2026-09-01 00:30:15.123456+00:00"],
            "解锁至": [None, "2026-12-07 15:00"],
        },
        values_labelled=False,
    )
    client.force_login(world.county)

    (_event, changes, _student) = client.get(reverse("audit_log"), {"q": "旧的一行"}).context["rows"][0]

    assert sorted((c.field, c.before, c.after) for c in changes) == sorted(
        [
            ("结束原因", "", "其他"),
            ("帮扶教师", "#999999", world.teacher_a1.get_full_name()),
            ("创建时间", None, "2026-09-01 08:30"),
            ("解锁至", None, "2026-12-07 15:00"),
        ]
    )  # sorted: PostgreSQL's jsonb keeps its own key order


@pytest.mark.parametrize("typed", ["张小明", "小明", "TAIL"])
def test_county_staff_find_a_students_lines_by_name_or_student_number_tail(client, world, typed):
    client.force_login(world.officer_a)
    client.get(reverse("pairing:student_detail", args=[world.student_a1.pk]))
    client.get(reverse("pairing:student_detail", args=[world.student_a2.pk]))
    client.force_login(world.county)
    typed = world.student_a1.student_number[-6:] if typed == "TAIL" else typed

    response = client.get(reverse("audit_log"), {"student": typed, "action": "view"})

    assert [e.student_id for e, _changes, _student in response.context["rows"]] == [world.student_a1.pk]
    assert f"张小明(学籍号…{world.student_a1.student_number[-4:]})" in response.content.decode()


def test_following_a_lines_student_link_names_the_student_and_keeps_the_id_out_of_the_form(client, world):
    client.force_login(world.officer_a)
    client.get(reverse("pairing:student_detail", args=[world.student_a1.pk]))
    client.force_login(world.county)

    response = client.get(reverse("audit_log"), {"student_id": world.student_a1.pk})

    html = response.content.decode()
    assert f"正在查看<strong>张小明(学籍号…{world.student_a1.student_number[-4:]})</strong>的全部记录" in html
    assert f'<input type="hidden" name="student_id" value="{world.student_a1.pk}"' in html


def test_an_id_number_typed_as_a_username_or_into_a_note_is_masked_in_the_log(client, world):
    id_number = world.student_a1.id_number
    client.post(reverse("login"), {"username": id_number, "password": "wrong-password"})
    pairing = world.student_a1.pairings.get()
    pairing.end_note = f"身份证号{id_number}待核实"
    pairing.save()

    failed = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    noted = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="结对").latest("pk")
    assert id_number not in failed.object_label and failed.object_label == mask_id_number(id_number)
    assert id_number not in str(noted.changes)
    assert mask_id_number(id_number) in str(noted.changes)
