"""The audit log is complete for talks and visits: every write of a talk (create, edit, delete,
unlock) and every read of a student's full record, timeline, talk, visit or photo, on the app's
pages and in the admin, writes one line naming who, as what, and which student.

(Excusing and revoking a week: test_excuse_week.py; creating and editing a visit: test_home_visits.py
and test_home_visit_edit.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guidance import services
from guidance.models import HomeVisitPhoto, TalkRecord
from pairing.models import HardshipAssessment, HardshipLevel
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory
from .test_talk_records import create_url, pairing_of, post, talk_data

pytestmark = pytest.mark.django_db


def lines(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# --- Writes --------------------------------------------------------------------------------------


def test_recording_a_talk_on_its_page_writes_a_line_by_the_teacher(client, world):
    post(client, world.teacher_a1, create_url(pairing_of(world.student_a1)), talk_data())

    (line,) = [e for e in lines(AuditAction.CREATE) if e.object_type == "谈心谈话与学业辅导记录"]
    assert (line.actor_id, line.actor_username, line.actor_role) == (
        world.teacher_a1.pk,
        world.teacher_a1.username,
        "teacher",
    )
    assert line.student_id == world.student_a1.pk
    assert line.object_id == str(TalkRecord.objects.get().pk)
    assert line.changes == {"谈心谈话": [None, "2026-11-16 30分钟"]}


def test_editing_a_talk_on_its_page_writes_a_line_naming_what_changed(client, world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))

    response = post(client, world.teacher_a1, reverse("guidance:talk_edit", args=[talk.pk]), talk_data())

    assert response.status_code == 302
    (line,) = lines(AuditAction.UPDATE)
    assert (line.actor_id, line.student_id, line.object_id) == (world.teacher_a1.pk, world.student_a1.pk, str(talk.pk))
    assert "学生状态" in line.changes["修改的栏目"][1]


def test_deleting_a_talk_writes_a_line(world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))

    services.talk_record_delete(record=talk, by=world.admin)

    (line,) = lines(AuditAction.DELETE)
    assert (line.object_id, line.student_id) == (str(talk.pk), world.student_a1.pk)
    assert line.changes == {"谈心谈话": ["2026-11-16 30分钟", None]}


@pytest.mark.parametrize("kind", ["talk", "visit"])
def test_unlocking_a_talk_or_a_visit_writes_a_line_by_the_officer(client, world, kind):
    pairing = pairing_of(world.student_a1)
    record = TalkRecordFactory(pairing=pairing) if kind == "talk" else HomeVisitFactory(pairing=pairing)
    # Saved eight days ago: locked for its teacher, so there is something to unlock.
    type(record).objects.filter(pk=record.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    client.force_login(world.officer_a)

    client.post(reverse(f"guidance:{kind}_unlock", args=[record.pk]), {"reason": "日期填错了,请改正"})

    (line,) = lines(AuditAction.UPDATE)
    assert (line.actor_id, line.student_id, line.object_id) == (world.officer_a.pk, world.student_a1.pk, str(record.pk))
    assert "解锁至" in line.changes
    assert line.changes["解锁原因"] == [None, "日期填错了,请改正"]


# --- Reads on the app's pages --------------------------------------------------------------------


def test_reading_a_students_timeline_is_logged(client, world):
    client.force_login(world.teacher_a1)

    assert client.get(reverse("guidance:timeline", args=[world.student_a1.pk])).status_code == 200

    (line,) = lines(AuditAction.VIEW)
    assert (line.actor_id, line.student_id) == (world.teacher_a1.pk, world.student_a1.pk)
    assert line.changes == {"查看内容": [None, "谈心谈话与家访时间线"]}


def test_reading_a_talk_is_logged(client, world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    client.force_login(world.officer_a)

    assert client.get(reverse("guidance:talk_detail", args=[talk.pk])).status_code == 200

    (line,) = lines(AuditAction.VIEW)
    assert (line.actor_id, line.student_id, line.object_id) == (world.officer_a.pk, world.student_a1.pk, str(talk.pk))
    assert line.changes == {"查看内容": [None, "谈心谈话记录"]}


def test_a_refused_read_of_a_talk_or_a_timeline_writes_no_line(client, world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    client.force_login(world.officer_b)

    assert client.get(reverse("guidance:talk_detail", args=[talk.pk])).status_code == 404
    assert client.get(reverse("guidance:timeline", args=[world.student_a1.pk])).status_code == 404

    assert lines(AuditAction.VIEW) == []


def test_opening_a_photo_is_logged(client, world, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    visit = HomeVisitFactory(pairing=pairing_of(world.student_a1))
    (tmp_path / "home-visits").mkdir()
    (tmp_path / "home-visits" / "a.jpg").write_bytes(b"\xff\xd8\xff")
    photo = HomeVisitPhoto.objects.create(
        visit=visit, image="home-visits/a.jpg", content_type="image/jpeg", width=4, height=3, size=3
    )
    client.force_login(world.officer_a)

    assert client.get(reverse("guidance:visit_photo", args=[photo.pk])).status_code == 200

    (line,) = lines(AuditAction.VIEW)
    assert (line.object_type, line.object_id, line.student_id) == ("家访照片", str(photo.pk), world.student_a1.pk)


def test_opening_a_students_edit_form_is_logged(client, world):
    client.force_login(world.officer_a)

    assert client.get(reverse("pairing:student_edit", args=[world.student_a1.pk])).status_code == 200

    (line,) = lines(AuditAction.VIEW)
    assert (line.actor_id, line.student_id) == (world.officer_a.pk, world.student_a1.pk)
    assert "完整身份证号" in line.changes["查看内容"][1]


def test_the_empty_form_for_a_new_student_is_no_read(client, world):
    client.force_login(world.officer_a)

    assert client.get(reverse("pairing:student_create")).status_code == 200

    assert lines(AuditAction.VIEW) == []


# --- Reads in the admin --------------------------------------------------------------------------


def _admin_rows(world):
    pairing = pairing_of(world.student_a1)
    level = HardshipLevel.objects.filter(stage="").first()
    assessment = HardshipAssessment.objects.create(
        student=world.student_a1, term=world.term, level=level, decided_on=world.term.start_date
    )
    return {
        "pairing_student": world.student_a1,
        "pairing_household": world.student_a1.household,
        "pairing_hardshipassessment": assessment,
        "pairing_pairing": pairing,
        "guidance_talkrecord": TalkRecordFactory(pairing=pairing),
        "guidance_homevisit": HomeVisitFactory(pairing=pairing),
        "guidance_excusedweek": ExcusedWeekFactory(pairing=pairing),
    }


@pytest.mark.parametrize(
    "model",
    [
        "pairing_student",
        "pairing_household",
        "pairing_hardshipassessment",
        "pairing_pairing",
        "guidance_talkrecord",
        "guidance_homevisit",
        "guidance_excusedweek",
    ],
)
def test_opening_a_personal_record_in_the_admin_is_logged(client, world, model):
    obj = _admin_rows(world)[model]
    # County staff with admin access: the role that reads all of these there (zaoyang_aid.fields).
    world.county.is_staff = world.county.is_superuser = True
    world.county.save()
    client.force_login(world.county)
    admin_client = client

    assert admin_client.get(reverse(f"admin:{model}_change", args=[obj.pk])).status_code == 200

    (line,) = lines(AuditAction.VIEW)
    assert (line.actor_id, line.object_id, line.student_id) == (world.county.pk, str(obj.pk), world.student_a1.pk)
    assert line.changes["查看内容"][1].endswith("(系统管理)")
