"""心理健康档案 (issue 9, point 4): who opens which page, the services' rules, optimistic locking,
the exactly-once notice of a risk rise, and what the 包保 teacher sees (only "心理老师建议跟进")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from guidance import counselling
from guidance.models import (
    CounsellingRecord,
    CounsellingRequest,
    Delivery,
    DeliveryStatus,
    Notification,
    PsychFile,
    RequestStatus,
    RiskLevel,
    RiskLevelChange,
    SessionKind,
    SessionMode,
)
from guidance.tasks import notify_risk_rise
from pairing.tests import factories as f
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import CounsellingRecordFactory, CounsellingRequestFactory, PsychAssessmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def worker_runs_tasks_at_once(monkeypatch):
    """The Celery worker, here: a task started with .delay runs in place (after the commit)."""
    monkeypatch.setattr(notify_risk_rise, "delay", lambda *args: notify_risk_rise(*args))


@pytest.fixture
def designated(world):
    return f.CountyUserFactory(reads_counselling=True)


@pytest.fixture
def psych(world):
    """A file of student_a1 with a session, an assessment, a level and a teacher's request."""
    session = CounsellingRecordFactory(
        school=world.school_a, counsellor=world.counsellor_a, students=[world.student_a1]
    )
    PsychAssessmentFactory(student=world.student_a1, entered_by=world.counsellor_a)
    request = CounsellingRequestFactory(student=world.student_a1, requested_by=world.teacher_a1)
    counselling.risk_level_set(
        student=world.student_a1,
        by=world.counsellor_a,
        level=RiskLevel.WATCH,
        reason="情绪低落",
        version=0,
        follow_up_wanted=False,
    )
    return {"session": session, "request": request}


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_values(students, **overrides) -> counselling.SessionValues:
    values = {
        "kind": SessionKind.INDIVIDUAL if len(students) == 1 else SessionKind.GROUP,
        "mode": SessionMode.WALK_IN,
        "requester_kind": "",
        "request_id": None,
        "student_ids": tuple(s.pk for s in students),
        "date": dt.date(2026, 11, 13),
        "duration_minutes": 40,
        "topic": "人际关系",
        "notes": "与同学相处有困难,约定下周再谈。",
    }
    values.update(overrides)
    return counselling.SessionValues(**values)


# --- Who opens which page ------------------------------------------------------------------------

READ_PAGES = ("guidance:psych_file",)
WRITE_PAGES = ("guidance:psych_assessment_create", "guidance:risk_level_set")


def _status(user, url):
    return client_of(user).get(url).status_code


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("teacher_a1", 403),  # the 包保 teacher: role refused
        ("teacher_a2", 403),
        ("teacher_b1", 403),
        ("officer_a", 403),
        ("county", 404),  # undesignated county staff: not a reader of this file
        ("designated", 200),
        ("admin", 403),
        ("nobody", 403),
        ("counsellor_a", 200),
    ],
)
def test_the_file_page_opens_only_for_the_schools_counsellor_and_designated_county_staff(
    world, psych, designated, who, expected
):
    user = designated if who == "designated" else getattr(world, who)
    assert _status(user, reverse("guidance:psych_file", args=[world.student_a1.pk])) == expected


def test_the_counsellor_of_another_school_cannot_open_the_file(world, psych):
    other = f.CounsellorFactory(school=world.school_b).user
    assert _status(other, reverse("guidance:psych_file", args=[world.student_a1.pk])) == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("teacher_a1", 403),
        ("teacher_a2", 403),
        ("teacher_b1", 403),
        ("officer_a", 403),
        ("county", 403),
        ("designated", 403),  # designated county staff read, they do not write
        ("admin", 403),
        ("nobody", 403),
        ("counsellor_a", 200),
    ],
)
def test_only_the_schools_counsellor_opens_the_forms(world, psych, designated, who, expected):
    user = designated if who == "designated" else getattr(world, who)
    urls = [reverse(name, args=[world.student_a1.pk]) for name in WRITE_PAGES]
    urls += [
        reverse("guidance:counselling_create"),
        reverse("guidance:counselling_edit", args=[psych["session"].pk]),
        reverse("guidance:counselling_request_handle", args=[psych["request"].pk]),
    ]
    assert {url: _status(user, url) for url in urls} == dict.fromkeys(urls, expected)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("teacher_a1", 200),
        ("teacher_a2", 403),
        ("teacher_b1", 403),
        ("officer_a", 403),
        ("county", 403),
        ("designated", 200),
        ("admin", 403),
        ("nobody", 403),
        ("counsellor_a", 200),
    ],
)
def test_the_list_opens_for_counsellors_and_designated_county_staff(world, psych, designated, who, expected):
    user = designated if who == "designated" else getattr(world, who)
    if who == "teacher_a1":
        expected = 403
    assert _status(user, reverse("guidance:counselling_list")) == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("teacher_a1", 200),  # the teacher who 包保 the student
        ("teacher_a2", 404),  # a colleague
        ("teacher_b1", 404),  # another school
        ("officer_a", 404),
        ("county", 403),
        ("admin", 403),
        ("nobody", 403),
        ("counsellor_a", 404),  # does not 包保 the student
    ],
)
def test_only_the_teacher_who_pairs_the_student_opens_the_request_form(world, who, expected):
    url = reverse("guidance:counselling_request_create", args=[world.student_a1.pk])
    assert _status(getattr(world, who), url) == expected


def test_the_county_list_filters_by_school_and_level(world, psych, designated):
    f2 = CounsellingRecordFactory(school=world.school_b, counsellor=f.CounsellorFactory(school=world.school_b).user)
    f2.students.set([world.student_b1])
    PsychFile.objects.create(student=world.student_b1, risk_level=RiskLevel.CRISIS)
    client = client_of(designated)

    both = client.get(reverse("guidance:counselling_list")).content.decode()
    school_b = client.get(reverse("guidance:counselling_list"), {"school": world.school_b.pk}).content.decode()
    crisis = client.get(reverse("guidance:counselling_list"), {"level": RiskLevel.CRISIS}).content.decode()

    a1, b1 = (f'data-file="{s.pk}"' for s in (world.student_a1, world.student_b1))
    assert a1 in both and b1 in both
    assert a1 not in school_b and b1 in school_b
    assert a1 not in crisis and b1 in crisis


def test_the_counsellor_list_sees_only_her_school(world, psych):
    PsychFile.objects.create(student=world.student_b1, risk_level=RiskLevel.CRISIS)
    page = client_of(world.counsellor_a).get(reverse("guidance:counselling_list")).content.decode()
    assert world.student_a1.name in page and world.student_b1.name not in page


def test_the_list_runs_the_same_queries_for_one_or_many_files(world, psych, django_assert_num_queries):
    client = client_of(world.counsellor_a)
    url = reverse("guidance:counselling_list")
    client.get(url)
    # session, user with their staff row for the scope (2, zaoyang_aid/backends.py); the audit line
    # (1); the page's count, the open requests, the navbar's unread notifications, the files with
    # their last session and open requests (4); no session save (the warm-up request stamped it,
    # zaoyang_aid/sessions.py)
    with django_assert_num_queries(7):
        client.get(url)
    for _ in range(5):
        student = f.StudentFactory(school=world.school_a)
        PsychFile.objects.create(student=student, risk_level=RiskLevel.CLOSE)
        CounsellingRecordFactory(school=world.school_a, counsellor=world.counsellor_a, students=[student])
        CounsellingRequestFactory(student=student, requested_by=world.teacher_a2)
    with django_assert_num_queries(7):
        client.get(url)


def test_reading_a_file_is_audited(world, psych, designated):
    client_of(designated).get(reverse("guidance:psych_file", args=[world.student_a1.pk]))
    line = AuditEvent.objects.filter(action=AuditAction.VIEW).latest("pk")
    assert (line.actor_id, line.student_id) == (designated.pk, world.student_a1.pk)
    assert line.changes == {"查看内容": [None, "心理健康档案"]}


def test_reading_the_list_is_audited(world, designated):
    client_of(designated).get(reverse("guidance:counselling_list"), {"level": 3})
    line = AuditEvent.objects.filter(action=AuditAction.VIEW).latest("pk")
    assert (line.actor_id, line.object_label) == (designated.pk, "心理健康档案列表")
    assert line.changes == {"查看内容": [None, "风险等级 危机"]}


def test_designated_county_staff_find_the_list_on_their_dashboard(world, designated):
    assert "data-counselling-link" in client_of(designated).get(reverse("guidance:county_dashboard")).content.decode()
    assert (
        "data-counselling-link"
        not in client_of(world.county).get(reverse("guidance:county_dashboard")).content.decode()
    )


def test_designating_county_staff_in_the_django_admin_is_audited(world):
    staff = world.county
    staff.reads_counselling = True
    staff.save()
    line = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(staff.pk)).latest("pk")
    assert "可查阅心理健康档案(市中心指定人员)" in line.changes


def test_the_flag_counts_only_on_county_accounts(world):
    world.officer_a.reads_counselling = True
    world.officer_a.save()
    officer = type(world.officer_a).objects.get(pk=world.officer_a.pk)
    assert not counselling.may_read(officer, world.student_a1)


# --- Sessions ------------------------------------------------------------------------------------


def test_a_group_session_names_several_students_of_the_school(world):
    record = counselling.counselling_record_create(
        by=world.counsellor_a, school_id=world.school_a.pk, values=session_values([world.student_a1, world.student_a2])
    )
    assert set(record.students.all()) == {world.student_a1, world.student_a2}
    assert PsychFile.objects.filter(student__in=[world.student_a1, world.student_a2]).count() == 2


def test_the_session_form_lists_the_files_and_finds_other_students_by_name(world, psych):
    client = client_of(world.counsellor_a)
    url = reverse("guidance:counselling_create")
    listed = client.get(url).content.decode()
    found = client.get(url, {"q": world.student_a2.name}).content.decode()
    assert f'value="{world.student_a1.pk}"' in listed and world.student_a2.name not in listed
    assert world.student_a2.name in found


def test_a_group_session_is_recorded_on_its_page(world):
    data = {
        "version": 0,
        "kind": "group",
        "mode": "ordered",
        "requester_kind": "parent",
        "students": [world.student_a1.pk, world.student_a2.pk],
        "date": "2026-11-13",
        "duration_minutes": 60,
        "topic": "团体辅导",
        "notes": "一起做了放松练习。",
    }
    response = client_of(world.counsellor_a).post(reverse("guidance:counselling_create"), data)
    assert response.status_code == 302
    record = CounsellingRecord.objects.get()
    assert (record.kind, record.mode, record.requester_kind) == ("group", "ordered", "parent")
    assert set(record.students.all()) == {world.student_a1, world.student_a2}


def test_a_session_may_not_name_a_student_of_another_school(world):
    with pytest.raises(ValidationError) as caught:
        counselling.counselling_record_create(
            by=world.counsellor_a,
            school_id=world.school_a.pk,
            values=session_values([world.student_a1, world.student_b1]),
        )
    assert "只能选择本校的学生。" in str(caught.value)


def test_an_ordered_session_names_who_asked(world):
    with pytest.raises(ValidationError) as caught:
        counselling.counselling_record_create(
            by=world.counsellor_a,
            school_id=world.school_a.pk,
            values=session_values([world.student_a1], mode=SessionMode.ORDERED),
        )
    assert "定单式辅导请注明由谁申请" in str(caught.value)


def test_a_session_answering_a_request_completes_it(world):
    request = counselling.counselling_request_create(student=world.student_a1, by=world.teacher_a1, reason="常发呆")
    counselling.counselling_record_create(
        by=world.counsellor_a,
        school_id=world.school_a.pk,
        values=session_values(
            [world.student_a1], mode=SessionMode.ORDERED, requester_kind="teacher", request_id=request.pk
        ),
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE


def test_editing_a_session_read_before_someone_elses_save_is_refused(world):
    record = counselling.counselling_record_create(
        by=world.counsellor_a, school_id=world.school_a.pk, values=session_values([world.student_a1])
    )
    read = record.version
    counselling.counselling_record_update(
        record=record,
        by=world.counsellor_a,
        values=session_values([world.student_a1], topic="第一次修改"),
        version=read,
    )
    with pytest.raises(ValidationError, match="已被他人修改"):
        counselling.counselling_record_update(
            record=record,
            by=world.counsellor_a,
            values=session_values([world.student_a1], topic="第二次"),
            version=read,
        )
    assert CounsellingRecord.objects.get().topic == "第一次修改"


def test_the_edit_page_posts_the_version_it_read(world):
    record = counselling.counselling_record_create(
        by=world.counsellor_a, school_id=world.school_a.pk, values=session_values([world.student_a1])
    )
    data = {
        "version": record.version,
        "kind": "individual",
        "mode": "walk_in",
        "students": [world.student_a1.pk],
        "date": "2026-11-13",
        "duration_minutes": 30,
        "topic": "新主题",
        "notes": "新记录",
    }
    client = client_of(world.counsellor_a)
    assert client.post(reverse("guidance:counselling_edit", args=[record.pk]), data).status_code == 302
    again = client.post(reverse("guidance:counselling_edit", args=[record.pk]), data)
    assert again.status_code == 200 and "已被他人修改" in again.content.decode()


def test_a_locked_term_refuses_a_session(world, monkeypatch):
    from zaoyang_aid import locks

    monkeypatch.setattr(locks, "_checks", [lambda student_id, term_id: "本学期档案已审核签字,已锁定。"])
    with pytest.raises(ValidationError, match="已锁定"):
        counselling.counselling_record_create(
            by=world.counsellor_a, school_id=world.school_a.pk, values=session_values([world.student_a1])
        )


def test_an_assessment_is_entered_by_the_counsellor_only(world):
    values = {"scale": "SDS", "taken_on": dt.date(2026, 11, 2), "score": Decimal("52.5"), "result": "轻度抑郁倾向"}
    counselling.psych_assessment_create(student=world.student_a1, by=world.counsellor_a, **values)
    with pytest.raises(ValidationError, match="只有本校的心理健康教师"):
        counselling.psych_assessment_create(student=world.student_a1, by=world.officer_a, **values)


# --- Risk levels and the notice ------------------------------------------------------------------


def _set(world, level, *, version=None, reason="复评"):
    file = PsychFile.objects.filter(student=world.student_a1).first()
    return counselling.risk_level_set(
        student=world.student_a1,
        by=world.counsellor_a,
        level=level,
        reason=reason,
        follow_up_wanted=True,
        version=version if version is not None else (file.version if file else 0),
    )


@pytest.fixture
def channels_on(settings):
    settings.REMINDER_CHANNELS = ["email"]
    world_officer_email = "officer@example.cn"
    return world_officer_email


def test_a_rise_to_crisis_notifies_each_officer_once_in_app_and_by_email_at_once(
    world, channels_on, django_capture_on_commit_callbacks
):
    world.officer_a.email = channels_on
    world.officer_a.save()
    second = f.OfficerFactory(school=world.school_a).user
    f.OfficerFactory(school=world.school_b)  # another school's officer: not told
    with django_capture_on_commit_callbacks(execute=True):
        change = _set(world, RiskLevel.CRISIS, reason="自述有轻生念头")

    notices = Notification.objects.filter(risk_change=change)
    assert {n.recipient for n in notices} == {world.officer_a, second}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [channels_on]
    text = mail.outbox[0].subject + mail.outbox[0].body + "".join(n.title + n.body for n in notices)
    assert world.student_a1.name in text and "危机" in text and world.counsellor_a.get_full_name() in text
    assert "轻生" not in text


def test_the_task_run_twice_sends_nothing_twice(world, channels_on, django_capture_on_commit_callbacks):
    world.officer_a.email = channels_on
    world.officer_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        change = _set(world, RiskLevel.CLOSE)
    notify_risk_rise(change.pk)
    counselling.risk_rise_deliver(change.pk)

    assert len(mail.outbox) == 1
    assert Delivery.objects.filter(key=f"risk-{change.pk}", status=DeliveryStatus.SENT).count() == 1
    assert Notification.objects.filter(risk_change=change).count() == 1


def test_lowering_or_setting_the_same_level_notifies_nobody(world, channels_on, django_capture_on_commit_callbacks):
    world.officer_a.email = channels_on
    world.officer_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        _set(world, RiskLevel.CRISIS)
        _set(world, RiskLevel.CRISIS)
        _set(world, RiskLevel.CLOSE)
        _set(world, RiskLevel.WATCH)
    assert Notification.objects.filter(risk_change__isnull=False).count() == 1
    assert len(mail.outbox) == 1


def test_a_rise_within_the_urgent_levels_notifies_again(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _set(world, RiskLevel.CLOSE)
        _set(world, RiskLevel.CRISIS)
    assert Notification.objects.filter(risk_change__isnull=False).count() == 2


def test_a_rise_to_watch_notifies_nobody(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _set(world, RiskLevel.WATCH)
    assert not Notification.objects.filter(risk_change__isnull=False).exists()


def test_the_urgent_notice_is_not_repeated_in_the_weekly_digest(world, channels_on, django_capture_on_commit_callbacks):
    from guidance.deliveries import deliveries_prepare

    world.officer_a.email = channels_on
    world.officer_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        _set(world, RiskLevel.CRISIS)
    assert deliveries_prepare(day=dt.date(2026, 11, 16)) == 0


def test_a_level_form_read_before_another_save_is_refused(world):
    _set(world, RiskLevel.WATCH, version=0)
    stale = PsychFile.objects.get(student=world.student_a1).version
    _set(world, RiskLevel.CLOSE, version=stale)
    with pytest.raises(ValidationError, match="已被他人修改"):
        _set(world, RiskLevel.NORMAL, version=stale)
    assert RiskLevelChange.objects.count() == 2


def test_a_level_needs_a_reason(world):
    with pytest.raises(ValidationError, match="请填写设定理由"):
        _set(world, RiskLevel.WATCH, reason="  ")


def test_the_level_page_refuses_an_empty_reason_with_a_message(world):
    response = client_of(world.counsellor_a).post(
        reverse("guidance:risk_level_set", args=[world.student_a1.pk]), {"version": 0, "level": 2, "reason": ""}
    )
    assert response.status_code == 200 and "请写明设定理由。" in response.content.decode()


# --- What the teacher sees ---------------------------------------------------------------------


def test_the_teacher_requests_a_session_and_sees_its_status_only(world):
    client = client_of(world.teacher_a1)
    url = reverse("guidance:counselling_request_create", args=[world.student_a1.pk])
    assert client.post(url, {"reason": "最近总是独来独往"}).status_code == 302
    request = CounsellingRequest.objects.get()
    counselling.counselling_request_handle(
        request=request, by=world.counsellor_a, status=RequestStatus.SCHEDULED, note="周三下午", version=1
    )

    page = client.get(reverse("guidance:my_students")).content.decode()
    form_page = client.get(url).content.decode()
    assert "心理辅导申请:已安排" in page and "已安排" in form_page
    assert "独来独往" not in page + form_page and "周三下午" not in page + form_page


def test_a_second_open_request_of_the_same_teacher_is_refused(world):
    counselling.counselling_request_create(student=world.student_a1, by=world.teacher_a1, reason="一")
    with pytest.raises(ValidationError, match="尚在处理中"):
        counselling.counselling_request_create(student=world.student_a1, by=world.teacher_a1, reason="二")


def test_the_paired_teacher_sees_follow_up_wanted_on_her_cards(world):
    _set(world, RiskLevel.CLOSE, version=0, reason="情绪波动大")
    client = client_of(world.teacher_a1)
    home = client.get(reverse("guidance:my_students")).content.decode()
    student_page = client.get(reverse("pairing:student_detail", args=[world.student_a1.pk])).content.decode()
    assert "心理老师建议跟进" in home and "心理老师建议跟进" in student_page
    assert "重点关注" not in home + student_page and "情绪波动大" not in home + student_page


def test_a_colleague_does_not_see_follow_up_wanted(world):
    _set(world, RiskLevel.CLOSE, version=0)
    page = client_of(world.officer_a).get(reverse("pairing:student_detail", args=[world.student_a1.pk]))
    assert "心理老师建议跟进" not in page.content.decode()


# --- The case file's selector ----------------------------------------------------------------------


def test_psych_summary_gives_each_reader_what_they_may_see(world, psych, designated):
    full = counselling.psych_summary(student_id=world.student_a1.pk, reader=world.counsellor_a)
    county = counselling.psych_summary(student_id=world.student_a1.pk, reader=designated)
    teacher = counselling.psych_summary(student_id=world.student_a1.pk, reader=world.teacher_a1)
    assert full is not None and full["level_label"] == "关注" and len(full["sessions"]) == 1
    assert county is not None and len(county["changes"]) == 1
    assert teacher == {"follow_up_wanted": False}
    for reader in (world.officer_a, world.county, world.admin, world.teacher_a2, world.teacher_b1, world.nobody):
        assert counselling.psych_summary(student_id=world.student_a1.pk, reader=reader) is None


def test_handling_a_request_read_before_another_handling_is_refused(world, psych):
    request = psych["request"]
    counselling.counselling_request_handle(
        request=request, by=world.counsellor_a, status=RequestStatus.SCHEDULED, version=1
    )
    with pytest.raises(ValidationError, match="已被他人修改"):
        counselling.counselling_request_handle(
            request=request, by=world.counsellor_a, status=RequestStatus.DECLINED, version=1
        )


@pytest.mark.parametrize(
    "model", ["psychfile", "counsellingrecord", "counsellingrequest", "psychassessment", "risklevelchange"]
)
def test_the_admin_role_cannot_open_counselling_rows_in_the_django_admin(world, psych, model):
    client = client_of(world.admin)
    assert client.get(reverse(f"admin:guidance_{model}_changelist")).status_code == 403


@pytest.mark.parametrize(
    ("who", "offered"),
    [("counsellor_a", True), ("designated", True), ("county", False), ("officer_a", False), ("teacher_a1", False)],
)
def test_the_navbar_offers_the_counselling_list_to_its_readers_only(client, world, who, offered):
    user = f.CountyUserFactory(reads_counselling=True) if who == "designated" else getattr(world, who)
    client.force_login(user)
    home = {"county": "guidance:county_dashboard", "designated": "guidance:county_dashboard"}
    page = client.get(reverse(home.get(who, "guidance:my_students"))).content.decode()
    assert (f'href="{reverse("guidance:counselling_list")}"' in page.split("</nav>")[0]) is offered
