"""The audit log: who, when, what, from where; searchable by county staff; never editable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pairing.models import Student
from pairing.tests.factories import StudentFactory
from zaoyang_aid import audit
from zaoyang_aid.models import AuditAction, AuditEvent

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
