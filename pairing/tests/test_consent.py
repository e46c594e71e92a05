"""知情同意 (PIPL art. 31): the guardian's consent on the student's record, its withdrawal kept as
history, and the officer's list of students under 14 without it. World today is 2026-11-16."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from pairing import selectors, services
from pairing.models import (
    ConsentMethod,
    ConsentScope,
    EnrollmentStatus,
    GuardianConsent,
    born_under_14_since,
    fourteenth_birthday,
    is_under_14,
)
from pairing.selectors import may_publish_story, students_without_consent
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import GuardianConsentFactory, GuardianFactory, StudentFactory, make_id_number

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)
TURNS_14_TODAY = dt.date(2012, 11, 16)


def child(school, name, birth, seq, **kwargs):
    return StudentFactory(school=school, name=name, id_number=make_id_number(seq, birth), **kwargs)


def record(student, by, **kwargs):
    values = {
        "scope": ConsentScope.PROCESSING,
        "given_on": dt.date(2026, 9, 1),
        "given_by_name": "王建国",
        "relation": "父亲",
        "method": ConsentMethod.SIGNED,
        "note": "签字表存档",
    }
    return services.consent_record(student=student, by=by, **{**values, **kwargs})


# --- Under 14 ------------------------------------------------------------------------------------


def test_a_child_is_still_under_14_on_the_fourteenth_birthday_and_not_the_day_after():
    assert is_under_14(TURNS_14_TODAY, TODAY)
    assert not is_under_14(TURNS_14_TODAY, TODAY + dt.timedelta(days=1))
    assert is_under_14(TURNS_14_TODAY, TODAY - dt.timedelta(days=1))


def test_a_child_born_on_29_february_turns_14_on_1_march():
    assert fourteenth_birthday(dt.date(2012, 2, 29)) == dt.date(2026, 3, 1)
    assert is_under_14(dt.date(2012, 2, 29), dt.date(2026, 3, 1))
    assert not is_under_14(dt.date(2012, 2, 29), dt.date(2026, 3, 2))


def test_the_birth_date_filter_agrees_with_the_rule_day_by_day():
    births = [dt.date(2010, 12, 1) + dt.timedelta(days=n) for n in range(0, 1000, 3)]
    for on in (dt.date(2024, 2, 29), dt.date(2025, 3, 1), dt.date(2026, 2, 28), TODAY, dt.date(2026, 1, 1)):
        since = born_under_14_since(on)
        for birth in births:
            assert (birth >= since) == is_under_14(birth, on), (on, birth)


# --- The list of students without consent --------------------------------------------------------


def test_the_list_holds_the_schools_students_under_14_without_an_active_consent(world):
    school = world.school_a
    missing = child(school, "缺同意", TURNS_14_TODAY, 300)
    consented = child(school, "已同意", dt.date(2013, 5, 1), 301)
    record(consented, world.officer_a)
    withdrawn = child(school, "已撤回", dt.date(2013, 5, 2), 302)
    services.consent_withdraw(
        consent=record(withdrawn, world.officer_a), on=TODAY, note="家长来电撤回", by=world.officer_a, version=1
    )
    publication_only = child(school, "只同意宣传", dt.date(2013, 5, 3), 303)
    record(publication_only, world.officer_a, scope=ConsentScope.PUBLICATION)
    child(school, "已满14", TURNS_14_TODAY - dt.timedelta(days=1), 304)
    child(school, "已毕业", dt.date(2013, 5, 4), 305, enrollment_status=EnrollmentStatus.GRADUATED)
    child(world.school_b, "外校学生", dt.date(2013, 5, 5), 306)

    listed = students_without_consent(school.pk, on=TODAY)

    assert {s.name for s in listed} == {missing.name, withdrawn.name, publication_only.name}


def test_the_list_is_one_query_however_many_students_it_holds(world, django_assert_num_queries):
    for n in range(5):
        child(world.school_a, f"学生{n}", dt.date(2013, 1, 1 + n), 310 + n)
    with django_assert_num_queries(1):  # the students with their school, NOT EXISTS an active consent
        listed = students_without_consent(world.school_a.pk, on=TODAY)
        assert [s.class_label for s in listed]  # the school came along (select_related)


# --- Services ------------------------------------------------------------------------------------


def test_recording_a_consent_keeps_who_when_how_and_by_whom(world):
    guardian = GuardianFactory(student=world.student_a1, name="张大山", relation="祖父")
    consent = record(world.student_a1, world.officer_a, given_by_name="", relation="", guardian=guardian)
    assert (consent.given_by_name, consent.relation, consent.guardian) == ("张大山", "祖父", guardian)
    assert (consent.recorded_by, consent.method, consent.is_active) == (world.officer_a, "signed", True)


def test_a_future_date_is_refused_at_its_field(world):
    with pytest.raises(ValidationError) as exc:
        record(world.student_a1, world.officer_a, given_on=TODAY + dt.timedelta(days=1))
    assert exc.value.message_dict["given_on"] == ["同意日期不能晚于今天。"]


def test_a_date_before_the_birth_is_refused(world):
    before = world.student_a1.birth_date - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        record(world.student_a1, world.officer_a, given_on=before)
    assert "不能早于学生的出生日期" in exc.value.message_dict["given_on"][0]


def test_a_second_active_consent_of_the_same_scope_is_refused_and_nothing_is_written(world):
    record(world.student_a1, world.officer_a)
    with pytest.raises(ValidationError) as exc:
        record(world.student_a1, world.county, given_by_name="另一人")
    assert "已有有效的知情同意" in exc.value.message_dict["scope"][0]
    assert GuardianConsent.objects.filter(student=world.student_a1).count() == 1
    record(world.student_a1, world.officer_a, scope=ConsentScope.PUBLICATION)  # another scope is its own


def test_a_consent_without_the_guardians_name_or_relation_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        record(world.student_a1, world.officer_a, given_by_name=" ", relation="")
    assert set(exc.value.message_dict) == {"given_by_name", "relation"}


def test_a_guardian_of_another_student_is_refused(world):
    other = GuardianFactory(student=world.student_a2)
    with pytest.raises(ValidationError) as exc:
        record(world.student_a1, world.officer_a, guardian=other)
    assert exc.value.message_dict["guardian"] == ["所选监护人不是该学生的监护人。"]


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "officer_b", "admin"])
def test_only_the_schools_officer_and_county_staff_may_record(world, who):
    with pytest.raises(ValidationError, match="无权为该学生登记知情同意"):
        record(world.student_a1, getattr(world, who))
    assert not GuardianConsent.objects.exists()


def test_withdrawing_keeps_the_consent_as_history_and_allows_a_new_one(world):
    first = record(world.student_a1, world.officer_a)
    services.consent_withdraw(consent=first, on=TODAY, note="家长来电撤回", by=world.officer_a, version=1)
    first.refresh_from_db()
    assert (first.withdrawn_on, first.withdrawal_note, first.withdrawn_by) == (TODAY, "家长来电撤回", world.officer_a)
    assert first.version == 2 and not first.is_active
    second = record(world.student_a1, world.officer_a, given_on=TODAY)
    assert list(GuardianConsent.objects.filter(student=world.student_a1).order_by("pk")) == [first, second]


def test_a_withdrawal_before_the_consent_or_without_a_note_is_refused(world):
    consent = record(world.student_a1, world.officer_a)
    with pytest.raises(ValidationError) as exc:
        services.consent_withdraw(consent=consent, on=dt.date(2026, 8, 1), note="", by=world.officer_a, version=1)
    assert set(exc.value.message_dict) == {"on", "note"}
    consent.refresh_from_db()
    assert consent.is_active and consent.version == 1


def test_the_second_of_two_simultaneous_withdrawals_is_refused_and_writes_nothing(world):
    consent = record(world.student_a1, world.officer_a)
    services.consent_withdraw(consent=consent, on=TODAY, note="第一位登记", by=world.officer_a, version=1)
    lines = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.consent_withdraw(consent=consent, on=TODAY, note="第二位登记", by=world.county, version=1)
    assert "本次未保存" in exc.value.messages[0] and "已于2026-11-16登记撤回" in exc.value.messages[0]
    consent.refresh_from_db()
    assert (consent.withdrawal_note, consent.withdrawn_by, consent.version) == ("第一位登记", world.officer_a, 2)
    assert AuditEvent.objects.count() == lines


def test_a_save_at_an_old_version_is_refused(world):
    consent = GuardianConsentFactory(student=world.student_a1, recorded_by=world.officer_a, version=3)
    with pytest.raises(ValidationError, match="已被他人修改"):
        services.consent_withdraw(consent=consent, on=TODAY, note="撤回", by=world.officer_a, version=2)
    consent.refresh_from_db()
    assert consent.is_active


def test_recording_and_withdrawing_are_audited_against_the_student(world):
    consent = record(world.student_a1, world.officer_a)
    created = AuditEvent.objects.filter(object_type="知情同意", action=AuditAction.CREATE).get()
    assert created.student_id == world.student_a1.pk
    services.consent_withdraw(consent=consent, on=TODAY, note="家长来电撤回", by=world.officer_a, version=1)
    updated = AuditEvent.objects.filter(object_type="知情同意", action=AuditAction.UPDATE).get()
    assert updated.student_id == world.student_a1.pk
    assert "撤回说明" in updated.changes and "版本" not in updated.changes


# --- Pages, for every role -----------------------------------------------------------------------


def record_url(student):
    return reverse("pairing:consent_record", args=[student.pk])


def withdraw_url(consent):
    return reverse("pairing:consent_withdraw", args=[consent.pk])


# own pairing, own school (officer, counsellor), other school, county, admin, no role
EXPECTED = {
    "teacher_a1": 403,  # 包保 the student: sees the state, the officer records
    "counsellor_a": 403,
    "officer_a": 200,
    "officer_b": 404,  # another school's officer: not in scope
    "county": 200,
    "admin": 403,
    "nobody": 403,
}


@pytest.mark.parametrize(("who", "status"), sorted(EXPECTED.items()))
def test_each_role_on_the_consent_pages(client, world, who, status):
    consent = GuardianConsentFactory(student=world.student_a1, recorded_by=world.officer_a)
    client.force_login(getattr(world, who))
    assert client.get(record_url(world.student_a1)).status_code == status
    assert client.get(withdraw_url(consent)).status_code == status
    assert client.post(withdraw_url(consent), {"on": "2026-11-16", "note": "撤回", "version": 1}).status_code in {
        status,
        302,
    }
    consent.refresh_from_db()
    assert consent.is_active == (status != 200)


@pytest.mark.parametrize(
    ("who", "sees_card", "sees_buttons"),
    [
        ("teacher_a1", True, False),
        ("counsellor_a", True, False),
        ("officer_a", True, True),
        ("county", True, True),
        ("admin", False, False),  # the 系统管理员 sees no family's details
    ],
)
def test_the_student_page_shows_the_consent_card_by_the_field_policy(client, world, who, sees_card, sees_buttons):
    consent = GuardianConsentFactory(student=world.student_a1, recorded_by=world.officer_a, given_by_name="张父亲")
    client.force_login(getattr(world, who))
    html = client.get(reverse("pairing:student_detail", args=[world.student_a1.pk])).content.decode()
    assert ("知情同意" in html and "张父亲" in html) == sees_card
    assert (withdraw_url(consent) in html) == sees_buttons
    assert (record_url(world.student_a1) in html) == sees_buttons  # the 典型案例宣传 scope is open


def test_the_student_page_shows_a_withdrawn_consent_in_the_history(client, world):
    consent = record(world.student_a1, world.officer_a)
    services.consent_withdraw(consent=consent, on=TODAY, note="家长来电撤回", by=world.officer_a, version=1)
    client.force_login(world.officer_a)
    html = client.get(reverse("pairing:student_detail", args=[world.student_a1.pk])).content.decode()
    assert "2026-11-16撤回:家长来电撤回" in html


def test_the_officer_records_a_consent_through_the_page(client, world):
    client.force_login(world.officer_a)
    data = {
        "scope": "processing",
        "given_by_name": "王建国",
        "relation": "父亲",
        "given_on": "2026-11-10",
        "method": "home_visit",
        "note": "家访时签字",
    }
    response = client.post(record_url(world.student_a1), data)
    assert response.status_code == 302
    assert GuardianConsent.objects.get(student=world.student_a1).method == "home_visit"


def test_a_refused_consent_comes_back_with_the_message_at_its_field(client, world):
    client.force_login(world.officer_a)
    data = {"scope": "processing", "given_by_name": "王建国", "relation": "父亲", "given_on": "2026-12-01"}
    response = client.post(record_url(world.student_a1), {**data, "method": "signed"})
    assert response.status_code == 200
    assert response.context["form"].errors["given_on"] == ["同意日期不能晚于今天。"]
    assert not GuardianConsent.objects.exists()


def test_the_second_of_two_withdrawal_pages_saved_gets_a_clear_message_and_keeps_its_text(client, world):
    consent = record(world.student_a1, world.officer_a)
    client.force_login(world.officer_a)
    first = client.post(withdraw_url(consent), {"on": "2026-11-16", "note": "第一位", "version": 1})
    assert first.status_code == 302
    second = client.post(withdraw_url(consent), {"on": "2026-11-16", "note": "第二位的说明", "version": 1})
    html = second.content.decode()
    assert second.status_code == 200 and "本次未保存" in html and "第二位的说明" in html
    consent.refresh_from_db()
    assert consent.withdrawal_note == "第一位"


def test_a_student_is_found_by_the_selector_only_through_its_school(world):
    # the officer's dashboard asks with the officer's own school: another school's child never shows
    child(world.school_b, "外校", TURNS_14_TODAY, 340)
    assert students_without_consent(world.school_a.pk, on=TODAY) == []
    assert [s.name for s in students_without_consent(world.school_b.pk, on=TODAY)] == ["外校"]


def test_a_story_may_be_published_only_with_an_active_publication_consent(world):
    student = world.student_a1
    record(student, world.officer_a)
    assert not may_publish_story(student.pk)  # consent to the processing is not consent to publish
    consent = record(student, world.officer_a, scope=ConsentScope.PUBLICATION)
    assert may_publish_story(student.pk)
    services.consent_withdraw(consent=consent, on=TODAY, note="家长不再同意宣传", by=world.officer_a, version=1)
    assert not may_publish_story(student.pk)


def test_the_second_of_two_record_pages_saved_is_refused_at_the_scope_and_keeps_its_text(client, world):
    client.force_login(world.officer_a)
    data = {"scope": "processing", "relation": "父亲", "given_on": "2026-11-10", "method": "signed"}
    assert client.post(record_url(world.student_a1), {**data, "given_by_name": "第一位"}).status_code == 302
    second = client.post(record_url(world.student_a1), {**data, "given_by_name": "第二位填的名字"})
    assert second.status_code == 200
    assert "已有有效的知情同意" in second.context["form"].errors["scope"][0]
    assert "第二位填的名字" in second.content.decode()
    assert GuardianConsent.objects.get(student=world.student_a1).given_by_name == "第一位"


def test_the_history_lists_only_withdrawn_consents_not_the_active_ones_shown_above_it(world):
    withdrawn = record(world.student_a1, world.officer_a)
    services.consent_withdraw(consent=withdrawn, on=TODAY, note="家长来电撤回", by=world.officer_a, version=1)
    active = record(world.student_a1, world.officer_a, given_on=TODAY)
    state = selectors.consent_state(world.student_a1, on=TODAY)
    assert state.current["processing"] == active
    assert state.history == [withdrawn]
