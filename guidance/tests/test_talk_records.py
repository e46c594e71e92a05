"""谈心谈话与学业辅导记录: a teacher records a talk for a student they 包保 now, edits it for 7 days,
then only after an officer of the student's school unlocks it. Every refusal is a Chinese message at
its field, with nothing saved.

The world stands on Monday 2026-11-16 10:00, school week 12 of 2026-2027学年第一学期 (2026-09-01..2027-01-22).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from guidance import services
from guidance.forms import TalkRecordForm
from guidance.models import TalkRecord
from pairing.models import Closure
from pairing.tests import factories as pf
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import TalkRecordFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def pairing_of(student):
    return student.pairings.get()


def create_url(pairing):
    return reverse("guidance:talk_create", args=[pairing.pk])


def talk_data(**changes):
    data = {
        "date": "2026-11-16",
        "duration_minutes": "30",
        "help_forms": ["form_talk"],
        "tracks": ["track_thought", "track_study"],
        "content": "聊了期中考试的情况,一起分析数学错题。",
        "student_state": "情绪稳定,有点紧张。",
        "problems": "函数部分基础薄弱。",
        "measures": "每周二课后辅导半小时。",
        "next_steps": "下周检查错题本。",
    }
    data.update(changes)
    return data


def post(client, user, url, data):
    client.force_login(user)
    return client.post(url, data)


def errors_of(response):
    return response.context["form"].errors


# --- Recording -----------------------------------------------------------------------------------


def test_the_form_opens_on_today_and_names_this_school_week(client, world):
    client.force_login(world.teacher_a1)
    response = client.get(create_url(pairing_of(world.student_a1)))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="2026-11-16"' in html and 'max="2026-11-16"' in html
    assert "第12周(11.16-11.22)" in html
    for label in ("思想引导", "心理疏导", "生活指导", "学业辅导", "政策宣导", "交流谈心", "家长访谈"):
        assert label in html
    assert html.count('rows="3"') == 5


def test_teacher_records_a_talk_for_their_student(client, world):
    pairing = pairing_of(world.student_a1)
    response = post(client, world.teacher_a1, create_url(pairing), talk_data())
    assert response.status_code == 302 and response.url == reverse("guidance:my_students")
    talk = TalkRecord.objects.get()
    assert talk.pairing == pairing and talk.term == world.term and talk.recorded_by == world.teacher_a1
    assert talk.week_monday == dt.date(2026, 11, 16)
    assert talk.tracks == ["思想引导", "学业辅导"] and talk.help_forms == ["交流谈心"]
    assert talk.duration_minutes == 30 and talk.next_steps == "下周检查错题本。"


def test_a_talk_last_week_is_filed_in_its_week(client, world):
    post(client, world.teacher_a1, create_url(pairing_of(world.student_a1)), talk_data(date="2026-11-12"))
    assert TalkRecord.objects.get().week_monday == dt.date(2026, 11, 9)


def test_a_talk_on_the_national_day_make_up_saturday_is_accepted(client, world, time_machine):
    at(time_machine, 2026, 10, 12, 9, 0)  # the next Monday: the make-up week is the previous school week
    post(client, world.teacher_a1, create_url(pairing_of(world.student_a1)), talk_data(date="2026-10-10"))
    assert TalkRecord.objects.get().week_monday == dt.date(2026, 10, 5)


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2026-11-17", "日期不能晚于今天。"),
        ("2027-03-01", "日期不能晚于今天。"),
        ("2026-08-28", "不在任何学期的教学周内"),  # the summer vacation, before the term
        ("2026-05-11", "不在任何学期的教学周内"),  # no term was set up for the spring
        ("2026-04-30", "结对从2026年5月4日开始"),  # a date before the pairing started
    ],
)
def test_a_date_the_rules_refuse_is_answered_at_the_date_and_nothing_is_saved(client, world, day, message):
    pairing = pairing_of(world.student_a1)
    pairing.started_on = dt.date(2026, 5, 4)  # paired in the spring: only the dates decide
    pairing.save()
    response = post(client, world.teacher_a1, create_url(pairing), talk_data(date=day))
    assert response.status_code == 200
    assert message in " ".join(errors_of(response)["date"])
    assert not TalkRecord.objects.exists()


def test_a_week_without_school_cannot_hold_a_talk(client, world):
    Closure.objects.create(name="期中放假", start_date=dt.date(2026, 11, 9), end_date=dt.date(2026, 11, 13))
    response = post(client, world.teacher_a1, create_url(pairing_of(world.student_a1)), talk_data(date="2026-11-11"))
    assert "不在任何学期的教学周内" in errors_of(response)["date"][0]
    assert not TalkRecord.objects.exists()


def test_a_date_before_a_mid_term_pairing_started_is_refused(client, world):
    pairing = pf.PairingFactory(teacher=world.teacher_a1.teacher, started_on=dt.date(2026, 10, 14))
    response = post(client, world.teacher_a1, create_url(pairing), talk_data(date="2026-10-13"))
    assert errors_of(response)["date"] == ["结对从2026年10月14日开始,记录日期不能早于结对日期。"]
    assert not TalkRecord.objects.exists()


def test_an_empty_form_is_answered_at_each_field(client, world):
    response = post(client, world.teacher_a1, create_url(pairing_of(world.student_a1)), {})
    errors = errors_of(response)
    assert set(errors) == {"date", "duration_minutes", "tracks", "help_forms", "content", "student_state"}
    assert errors["tracks"] == ["请至少选择一项“五导”内容。"]
    assert errors["help_forms"] == ["请至少选择一种帮扶形式。"]
    assert "有信息需要修改" in response.content.decode()
    assert not TalkRecord.objects.exists()


def test_a_talk_without_a_track_is_refused_at_the_tracks(client, world):
    response = post(client, world.teacher_a1, create_url(pairing_of(world.student_a1)), talk_data(tracks=[]))
    assert errors_of(response) == {"tracks": ["请至少选择一项“五导”内容。"]}
    assert not TalkRecord.objects.exists()


@pytest.mark.parametrize(("minutes", "message"), [("3", "时长至少5分钟。"), ("601", "时长不能超过600分钟。")])
def test_an_implausible_duration_is_refused(client, world, minutes, message):
    response = post(
        client, world.teacher_a1, create_url(pairing_of(world.student_a1)), talk_data(duration_minutes=minutes)
    )
    assert message in errors_of(response)["duration_minutes"]
    assert not TalkRecord.objects.exists()


def end(pairing, on=dt.date(2026, 11, 13)):
    pairing.ended_on, pairing.end_reason = on, "transfer"
    pairing.save()


def test_an_ended_pairing_takes_no_talk_at_the_date_field(world):
    pairing = pairing_of(world.student_a1)
    end(pairing)
    form = TalkRecordForm(talk_data(date="2026-11-12"), instance=TalkRecord(pairing=pairing), pairing=pairing)
    assert not form.is_valid()
    assert form.errors["date"] == ["该结对已结束,不能再添加记录。"]


def test_the_teacher_of_an_ended_pairing_cannot_open_the_form(client, world):
    pairing = pairing_of(world.student_a1)
    end(pairing)
    client.force_login(world.teacher_a1)
    assert client.get(create_url(pairing)).status_code == 404
    assert post(client, world.teacher_a1, create_url(pairing), talk_data()).status_code == 404
    assert not TalkRecord.objects.exists()


def test_the_service_refuses_a_pairing_ended_after_the_form_was_checked(world):
    pairing = pairing_of(world.student_a1)
    form = TalkRecordForm(talk_data(), instance=TalkRecord(pairing=pairing), pairing=pairing)
    assert form.is_valid()
    end(pairing)  # ended meanwhile, by the officer
    with pytest.raises(ValidationError) as caught:
        services.talk_record_create(pairing=pairing, recorded_by=world.teacher_a1, **form.service_values())
    assert caught.value.message_dict == {"date": ["该结对已结束,不能再添加记录。"]}
    assert not TalkRecord.objects.exists()


# --- Who may record ------------------------------------------------------------------------------


def test_a_colleague_cannot_record_for_another_teachers_student(client, world):
    url = create_url(pairing_of(world.student_a1))
    client.force_login(world.teacher_a2)
    assert client.get(url).status_code == 404
    assert post(client, world.teacher_a2, url, talk_data()).status_code == 404
    assert not TalkRecord.objects.exists()


def test_a_teacher_of_another_school_cannot_record(client, world):
    assert post(client, world.teacher_b1, create_url(pairing_of(world.student_a1)), talk_data()).status_code == 404
    assert not TalkRecord.objects.exists()


@pytest.mark.parametrize("who", ["county", "nobody"])
def test_talk_records_are_the_schools_other_roles_review_them(client, world, who):
    response = post(client, getattr(world, who), create_url(pairing_of(world.student_a1)), talk_data())
    assert response.status_code == 403
    assert not TalkRecord.objects.exists()


@pytest.mark.parametrize("who", ["officer_a", "counsellor_a"])
def test_the_schools_officer_and_counsellor_cannot_record_for_a_student_they_do_not_pair(client, world, who):
    # They may 包保 students of their own (test_staff_who_pair.py), but not record for a colleague's.
    response = post(client, getattr(world, who), create_url(pairing_of(world.student_a1)), talk_data())
    assert response.status_code == 404
    assert not TalkRecord.objects.exists()


# --- Reading -------------------------------------------------------------------------------------


def detail_url(talk):
    return reverse("guidance:talk_detail", args=[talk.pk])


def test_a_record_is_read_by_its_teacher_the_schools_officer_and_the_county(client, world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    for user in (world.teacher_a1, world.officer_a, world.county):
        client.force_login(user)
        response = client.get(detail_url(talk))
        assert response.status_code == 200
        assert "交流本周学习情况" in response.content.decode()


@pytest.mark.parametrize("who", ["teacher_a2", "teacher_b1", "officer_b", "counsellor_a", "nobody"])
def test_a_record_is_hidden_from_colleagues_outsiders_and_counsellors(client, world, who):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    client.force_login(getattr(world, who))
    assert client.get(detail_url(talk)).status_code == 404


# --- Editing and the 7-day lock ------------------------------------------------------------------


def edit_url(talk):
    return reverse("guidance:talk_edit", args=[talk.pk])


def at(time_machine, *args):
    time_machine.move_to(dt.datetime(*args, tzinfo=SHANGHAI), tick=False)


def test_the_teacher_corrects_their_record_within_seven_days(client, world, time_machine):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1), date=dt.date(2026, 11, 16))
    at(time_machine, 2026, 11, 23, 9, 59)
    response = post(client, world.teacher_a1, edit_url(talk), talk_data(date="2026-11-20", content="改正后的内容"))
    assert response.status_code == 302 and response.url == detail_url(talk)
    talk.refresh_from_db()
    assert talk.content == "改正后的内容" and talk.date == dt.date(2026, 11, 20)
    assert talk.tracks == ["思想引导", "学业辅导"]


def test_the_edit_form_shows_the_record_and_its_week(client, world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1), date=dt.date(2026, 11, 12), track_psych=True)
    client.force_login(world.teacher_a1)
    html = client.get(edit_url(talk)).content.decode()
    assert 'value="2026-11-12"' in html and "第11周(11.09-11.15)" in html
    assert 'value="track_psych" id="id_tracks_1" checked' in html


def test_an_edit_is_checked_like_a_new_record(client, world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    response = post(client, world.teacher_a1, edit_url(talk), talk_data(date="2026-11-18"))
    assert errors_of(response)["date"] == ["日期不能晚于今天。"]
    talk.refresh_from_db()
    assert talk.date == dt.date(2026, 11, 16)


def test_a_record_locks_seven_days_after_it_was_saved(client, world, time_machine):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))  # saved 2026-11-16 10:00
    at(time_machine, 2026, 11, 23, 10, 0)
    client.force_login(world.teacher_a1)
    response = client.get(edit_url(talk))
    assert response.status_code == 403
    html = response.content.decode()
    assert "记录已锁定" in html and "请联系学校资助专干解锁" in html
    response = post(client, world.teacher_a1, edit_url(talk), talk_data(content="锁定后改的"))
    assert response.status_code == 403
    talk.refresh_from_db()
    assert talk.content != "锁定后改的"


def test_the_service_refuses_to_save_a_locked_record(world, time_machine):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    form = TalkRecordForm(talk_data(content="绕过页面"), instance=talk, pairing=talk.pairing)
    assert form.is_valid()
    at(time_machine, 2026, 11, 24, 8, 0)
    with pytest.raises(ValidationError):
        services.talk_record_update(record=talk, by=world.teacher_a1, **form.service_values())
    talk.refresh_from_db()
    assert talk.content != "绕过页面"


@pytest.mark.parametrize("who", ["teacher_a2", "teacher_b1"])
def test_colleagues_and_outsiders_cannot_edit_a_record(client, world, who):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    assert post(client, getattr(world, who), edit_url(talk), talk_data(content="别人改的")).status_code == 404
    talk.refresh_from_db()
    assert talk.content != "别人改的"


def test_the_officer_does_not_edit_a_record(client, world):
    # The officer reviews and unlocks; only the 包保 teacher edits (404: not a record of theirs to edit).
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    assert post(client, world.officer_a, edit_url(talk), talk_data(content="专干改的")).status_code == 404
    talk.refresh_from_db()
    assert talk.content != "专干改的"


def test_the_record_of_an_ended_pairing_is_no_longer_edited(client, world):
    pairing = pairing_of(world.student_a1)
    talk = TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 12))
    end(pairing)
    assert post(client, world.teacher_a1, edit_url(talk), talk_data(date="2026-11-12")).status_code == 404


# --- Unlocking -----------------------------------------------------------------------------------


def unlock_url(talk):
    return reverse("guidance:talk_unlock", args=[talk.pk])


def test_the_schools_officer_sees_the_lock_and_unlocks_for_seven_days(client, world, time_machine):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    at(time_machine, 2026, 11, 30, 15, 0)
    client.force_login(world.officer_a)
    assert "解锁7天" in client.get(detail_url(talk)).content.decode()

    response = client.post(unlock_url(talk), {"reason": "日期填错了,请改正。"})

    assert response.status_code == 302 and response.url == detail_url(talk)
    talk.refresh_from_db()
    assert talk.unlocked_until == dt.datetime(2026, 12, 7, 15, 0, tzinfo=SHANGHAI)
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(talk.pk))
    assert event.object_type == "谈心谈话与学业辅导记录"
    assert event.actor_id == world.officer_a.pk and event.student_id == world.student_a1.pk
    assert event.changes == {"解锁至": [None, "2026-12-07 15:00"], "解锁原因": [None, "日期填错了,请改正。"]}


def test_an_unlocked_record_is_editable_until_the_unlock_ends(client, world, time_machine):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    at(time_machine, 2026, 11, 30, 15, 0)
    post(client, world.officer_a, unlock_url(talk), {"reason": "内容需补充。"})
    at(time_machine, 2026, 12, 7, 14, 59)
    response = post(client, world.teacher_a1, edit_url(talk), talk_data(content="解锁后改正"))
    assert response.status_code == 302
    at(time_machine, 2026, 12, 7, 15, 0)
    client.force_login(world.teacher_a1)
    assert client.get(edit_url(talk)).status_code == 403
    talk.refresh_from_db()
    assert talk.content == "解锁后改正"


def test_the_teacher_sees_no_unlock_button_only_the_explanation(client, world, time_machine):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    at(time_machine, 2026, 11, 30, 15, 0)
    client.force_login(world.teacher_a1)
    html = client.get(detail_url(talk)).content.decode()
    assert "已锁定" in html and unlock_url(talk) not in html and edit_url(talk) not in html


def test_an_officer_of_another_school_cannot_unlock(client, world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    assert post(client, world.officer_b, unlock_url(talk), {}).status_code == 404
    talk.refresh_from_db()
    assert talk.unlocked_until is None


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "county"])
def test_only_the_schools_officer_unlocks(client, world, who):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    assert post(client, getattr(world, who), unlock_url(talk), {}).status_code == 403
    talk.refresh_from_db()
    assert talk.unlocked_until is None


def test_unlocking_takes_a_post(client, world):
    talk = TalkRecordFactory(pairing=pairing_of(world.student_a1))
    client.force_login(world.officer_a)
    assert client.get(unlock_url(talk)).status_code == 405


# --- What a teacher's week costs -------------------------------------------------------------


def more_students_with_talks(world, n):
    """n more students for teacher A1, each with talks in three weeks of the term."""
    for _ in range(n):
        pairing = pf.PairingFactory(teacher=world.teacher_a1.teacher)
        for day in (dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16)):
            TalkRecordFactory(pairing=pairing, date=day)


def test_the_talk_form_runs_the_same_queries_for_one_student_or_five(client, world, django_assert_num_queries):
    url = create_url(pairing_of(world.student_a1))
    client.force_login(world.teacher_a1)
    client.get(url)  # warm: the session
    # 1 session, 2 user with their staff row (scope: zaoyang_aid/backends.py), 3 the pairing with
    # student, school and teacher; 4 the navbar's unread notifications (the form's term of today's week
    # and its closures, for the week labels: the cached calendar, pairing/calendars.py); no session
    # save (the warm-up request stamped it, zaoyang_aid/sessions.py)
    with django_assert_num_queries(4):
        assert client.get(url).status_code == 200
    more_students_with_talks(world, 4)
    TalkRecordFactory.create_batch(3, pairing=pairing_of(world.student_a1), date=dt.date(2026, 11, 9))
    with django_assert_num_queries(4):
        assert client.get(url).status_code == 200


def test_saving_a_talk_runs_the_same_queries_for_one_student_or_five(client, world, django_assert_num_queries):
    pairing = pairing_of(world.student_a1)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 9))  # the term's tally exists: it is updated
    url = create_url(pairing)
    client.force_login(world.teacher_a1)
    client.get(url)  # warm: the session
    # 1 session, 2 user with their staff row (scope: zaoyang_aid/backends.py), 3 the pairing with
    # student, school and teacher; talk_record_create: 4 its savepoint, 5 the pairing locked (with its
    # student and teacher, whose schools' dashboard figures it touches: pairing.figures), 6 the
    # student's term signed off?, 7 the insert (its checks in Python: zaoyang_aid.checks), 8 the
    # pairing's talks of the term (the tally), 9 the tally updated (one UPDATE, what the engine reads
    # changed: guidance.tallies), 10 the missed-week reminder answered, 11 the audit line, 12 the
    # release. The terms and closures (the form's week labels, the date's term, week and first day,
    # the open window) come from the cached calendar (pairing/calendars.py); a date in the open window
    # reads no 补录 permission, neither in the form nor in the service. No session save (the warm-up
    # request stamped it)
    with django_assert_num_queries(12):
        assert client.post(url, talk_data()).status_code == 302
    more_students_with_talks(world, 4)
    TalkRecordFactory.create_batch(3, pairing=pairing, date=dt.date(2026, 11, 2))
    with django_assert_num_queries(12):  # a track new to the term: what the engine reads changed again
        assert client.post(url, talk_data(tracks=["track_policy"])).status_code == 302
    # A second talk like the first in a week already counted: the UPDATE of what the engine reads finds
    # nothing to change, 10 a second sets the record count alone (and no dashboard figure is touched)
    with django_assert_num_queries(13):
        assert client.post(url, talk_data(tracks=["track_policy"])).status_code == 302
    assert TalkRecord.objects.filter(pairing=pairing).count() == 7
