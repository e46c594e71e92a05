"""A signed-off case file locks the student's records of its term (issue 9, point 7): talk records
(create, edit, delete), home visits (create, edit), excused weeks and the 五三卡 are refused with the
Chinese reason, at the form too; after the officer reopens the review (with a reason, audited) they
are allowed again. Other students and other terms are not locked.

The world stands on Monday 2026-11-16 10:00 (Asia/Shanghai), in 2026-2027学年第一学期.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from casefiles import services as review_services
from casefiles.models import ReviewReopening, ReviewStatus
from guidance import cards, services
from guidance.models import ExcusedWeek, ExcuseReason, FiveThreeCard, HomeVisit, TalkRecord
from guidance.tests.factories import (
    ExcusedWeekFactory,
    FiveThreeCardFactory,
    HomeVisitFactory,
    TalkRecordFactory,
    card_items,
)
from pairing.tests.factories import SchoolYearFactory, TermFactory
from zaoyang_aid.locks import term_lock_reason
from zaoyang_aid.models import AuditAction, AuditEvent

from .helpers import sign_off, talk_values

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def pairing_of(student):
    return student.pairings.get()


def assert_locked(caught):
    assert caught.value.messages == [review_services.LOCKED]


def test_a_signed_off_review_locks_the_students_term_and_nothing_else(world):
    sign_off(world)

    assert term_lock_reason(student_id=world.student_a1.pk, term_id=world.term.pk) == review_services.LOCKED
    assert term_lock_reason(student_id=world.student_a2.pk, term_id=world.term.pk) is None


def test_a_review_in_progress_locks_nothing(world):
    review_services.review_comment_create(
        student=world.student_a1, term=world.term, by=world.officer_a, body="请补充家访。", version=0
    )

    assert term_lock_reason(student_id=world.student_a1.pk, term_id=world.term.pk) is None


def test_a_talk_cannot_be_recorded_edited_or_deleted_in_a_signed_off_term(world):
    pairing = pairing_of(world.student_a1)
    talk = TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 16))
    sign_off(world)

    with pytest.raises(ValidationError) as caught:
        services.talk_record_create(pairing=pairing, recorded_by=world.teacher_a1, **talk_values())
    assert_locked(caught)
    with pytest.raises(ValidationError) as caught:
        services.talk_record_update(record=talk, by=world.teacher_a1, content="改过的内容")
    assert_locked(caught)
    with pytest.raises(ValidationError) as caught:
        services.talk_record_delete(record=talk, by=world.admin)
    assert_locked(caught)
    assert TalkRecord.objects.get().content == talk.content


def test_the_talk_form_shows_the_lock_reason_and_saves_nothing(client, world):
    pairing = pairing_of(world.student_a1)
    sign_off(world)
    client.force_login(world.teacher_a1)

    response = client.post(
        reverse("guidance:talk_create", args=[pairing.pk]),
        {
            "date": "2026-11-16",
            "duration_minutes": 30,
            "content": "交流本周学习情况。",
            "student_state": "情绪稳定。",
            "tracks": ["track_study"],
            "help_forms": ["form_talk"],
        },
    )

    assert response.status_code == 200
    assert review_services.LOCKED in response.content.decode()
    assert not TalkRecord.objects.exists()


def test_the_edit_forms_say_the_term_is_locked_before_the_teacher_types(client, world):
    """Opening the edit form of a talk or a visit of a signed-off term: the reason, not a form."""
    pairing = pairing_of(world.student_a1)
    talk = TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 16), recorded_by=world.teacher_a1)
    visit = HomeVisitFactory(pairing=pairing, date=dt.date(2026, 11, 14), recorded_by=world.teacher_a1)
    client.force_login(world.teacher_a1)
    assert client.get(reverse("guidance:talk_edit", args=[talk.pk])).status_code == 200
    sign_off(world)

    for url in (reverse("guidance:talk_edit", args=[talk.pk]), reverse("guidance:visit_edit", args=[visit.pk])):
        response = client.get(url)
        assert response.status_code == 403
        assert review_services.LOCKED in response.content.decode()
        assert "<form" not in response.content.decode().split("</nav>", 1)[-1]


def visit_values(**overrides):
    return {
        "date": dt.date(2026, 11, 14),
        "visitors": "帮扶教师",
        "members_met": "父亲",
        "living_conditions": "砖混平房两间。",
        "study_conditions": "有书桌。",
        "tracks": ["track_policy"],
        "help_forms": ["form_parent"],
    } | overrides


def test_a_home_visit_cannot_be_recorded_or_edited_in_a_signed_off_term(world):
    pairing = pairing_of(world.student_a1)
    visit = HomeVisitFactory(pairing=pairing, date=dt.date(2026, 11, 13))
    sign_off(world)

    with pytest.raises(ValidationError) as caught:
        services.home_visit_create(pairing=pairing, recorded_by=world.teacher_a1, **visit_values())
    assert_locked(caught)
    with pytest.raises(ValidationError) as caught:
        services.home_visit_update(visit=visit, visitors="班主任")
    assert_locked(caught)
    assert HomeVisit.objects.get().visitors == visit.visitors


def test_a_week_cannot_be_excused_in_a_signed_off_term(world):
    sign_off(world)

    with pytest.raises(ValidationError) as caught:
        services.excused_week_create(
            pairing=pairing_of(world.student_a1),
            week_monday=dt.date(2026, 11, 9),
            reason=ExcuseReason.ILLNESS,
            note="",
            excused_by=world.officer_a,
            term=world.term,
            as_of=dt.date(2026, 11, 16),
        )
    assert_locked(caught)


def test_an_excuse_cannot_be_revoked_in_a_signed_off_term(world):
    excused = ExcusedWeekFactory(pairing=pairing_of(world.student_a1), excused_by=world.officer_a)
    sign_off(world)

    with pytest.raises(ValidationError) as caught:
        services.excused_week_delete(excused=excused)
    assert_locked(caught)
    assert ExcusedWeek.objects.filter(pk=excused.pk).exists()


def test_a_signed_off_previous_term_leaves_this_terms_records_open(world):
    previous = TermFactory(
        school_year=SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 2, 24),
        end_date=dt.date(2026, 7, 3),
    )
    review_services.review_sign_off(
        student=world.student_a1, term=previous, by=world.officer_a, version=0, note="上学期已核实"
    )

    services.talk_record_create(pairing=pairing_of(world.student_a1), recorded_by=world.teacher_a1, **talk_values())

    assert term_lock_reason(student_id=world.student_a1.pk, term_id=previous.pk) == review_services.LOCKED
    assert TalkRecord.objects.count() == 1


def test_the_five_three_card_cannot_be_filled_or_changed_in_a_signed_off_term(world):
    sign_off(world)

    with pytest.raises(ValidationError) as caught:
        cards.five_three_card_save(
            student=world.student_a1, term=world.term, by=world.teacher_a1, items=card_items(), version=0
        )
    assert_locked(caught)
    assert not FiveThreeCard.objects.exists()


def test_the_five_three_card_review_is_refused_in_a_signed_off_term(world, time_machine):
    card = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    sign_off(world)
    time_machine.move_to(dt.datetime(2027, 1, 4, 10, 0), tick=False)
    marks = {s: [{"mark": "done", "note": ""}] * 3 for s in ("breakthroughs", "promises")}

    with pytest.raises(ValidationError) as caught:
        cards.five_three_card_review(card=card, by=world.teacher_a1, marks=marks, version=card.version)
    assert_locked(caught)


def test_after_the_officer_reopens_the_review_records_may_change_again_and_the_reopening_is_audited(world):
    pairing = pairing_of(world.student_a1)
    review = sign_off(world)

    review_services.review_reopen(
        review=review, by=world.officer_a, reason="家访日期填错,需更正。", version=review.version
    )

    review.refresh_from_db()
    assert review.status == ReviewStatus.IN_PROGRESS and review.signed_at is None
    services.talk_record_create(pairing=pairing, recorded_by=world.teacher_a1, **talk_values())
    cards.five_three_card_save(
        student=world.student_a1, term=world.term, by=world.teacher_a1, items=card_items(), version=0
    )
    reopening = ReviewReopening.objects.get()
    assert (reopening.by, reopening.reason) == (world.officer_a, "家访日期填错,需更正。")
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="帮扶档案学期审核").latest("pk")
    assert event.changes["重新打开原因"] == [None, "家访日期填错,需更正。"]
    assert event.student_id == world.student_a1.pk


def test_a_reopen_needs_a_reason(world):
    review = sign_off(world)

    with pytest.raises(ValidationError) as caught:
        review_services.review_reopen(review=review, by=world.officer_a, reason="  ", version=review.version)

    assert caught.value.message_dict == {"reason": ["请填写重新打开的原因。"]}
    review.refresh_from_db()
    assert review.is_signed_off
