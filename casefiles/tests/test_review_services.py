"""The review's writes: the officer comments (the 包保 teacher is notified and answers once), signs
off (refused, naming the failing items, unless she writes a 签结说明), and two people acting on the
same review or comment at once: the second is refused with a clear message and nothing is lost.

The world stands on Monday 2026-11-16 10:00 (Asia/Shanghai), in 2026-2027学年第一学期: its students
have missed weeks and no visit, so their checklists fail.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from casefiles import services
from casefiles.models import CaseFileReview, ReviewComment, ReviewStatus
from guidance.models import Notification
from guidance.tests.factories import FiveThreeCardFactory, HomeVisitFactory, TalkRecordFactory
from pairing.tests.factories import PairingFactory
from zaoyang_aid.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def comment(world, *, body="第10周没有谈话记录,请说明。", version=0, student=None, by=None):
    return services.review_comment_create(
        student=student or world.student_a1, term=world.term, by=by or world.officer_a, body=body, version=version
    )


def test_the_first_comment_starts_the_review_and_notifies_the_paired_teacher(world):
    made = comment(world)

    review = CaseFileReview.objects.get()
    assert (review.student, review.status, review.version) == (world.student_a1, ReviewStatus.IN_PROGRESS, 1)
    notice = Notification.objects.get(recipient=world.teacher_a1)
    assert notice.title == "张小明:帮扶档案有新的审核意见"
    assert notice.link == f"/students/{world.student_a1.pk}/review/?term={world.term.pk}"
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(made.pk)).exists()


def test_a_comment_from_a_form_read_before_another_comment_is_refused(world):
    comment(world)

    with pytest.raises(ValidationError) as caught:
        comment(world, body="第二位专干同时写的意见", version=0)

    assert caught.value.messages == [services.STALE]
    assert ReviewComment.objects.count() == 1


def test_only_the_students_schools_officer_comments(world):
    for outsider in (world.officer_b, world.teacher_a1, world.county):
        with pytest.raises(ValidationError) as caught:
            comment(world, by=outsider)
        assert caught.value.messages == [services.NOT_OFFICER]
    assert not CaseFileReview.objects.exists()


def test_the_paired_teacher_answers_and_the_officer_is_notified(world):
    made = comment(world)

    services.review_comment_answer(comment=made, by=world.teacher_a1, answer="那周学生请病假,已补充说明。", version=1)

    made.refresh_from_db()
    assert made.is_answered and made.answered_by == world.teacher_a1
    assert Notification.objects.get(recipient=world.officer_a).title == "张小明:教师已答复审核意见"


def test_a_colleague_cannot_answer(world):
    made = comment(world)

    with pytest.raises(ValidationError) as caught:
        services.review_comment_answer(comment=made, by=world.teacher_a2, answer="不是我的学生", version=1)

    assert caught.value.messages == [services.NOT_PAIRED]


def test_a_second_answer_to_the_same_comment_is_refused_and_the_first_kept(world):
    made = comment(world)
    services.review_comment_answer(comment=made, by=world.teacher_a1, answer="第一次答复", version=1)

    with pytest.raises(ValidationError) as caught:
        services.review_comment_answer(comment=made, by=world.teacher_a1, answer="第二个窗口的答复", version=1)

    assert caught.value.messages == [services.STALE_COMMENT]
    made.refresh_from_db()
    assert made.answer == "第一次答复"


def test_sign_off_is_refused_naming_the_failing_items_without_a_note(world):
    with pytest.raises(ValidationError) as caught:
        services.review_sign_off(student=world.student_a1, term=world.term, by=world.officer_a, version=0)

    message = caught.value.message_dict["note"][0]
    assert message.startswith("以下项目未达标:每周谈心谈话记录完整(有")
    assert "本学期已家访(本学期还没有家访记录)" in message and "五三卡已填写并期末评定" in message
    assert message.endswith("如确需签结,请在“签结说明”中写明原因。")
    assert not CaseFileReview.objects.exists()


def test_sign_off_with_a_note_keeps_the_checklist_and_the_note_and_is_audited(world):
    review = services.review_sign_off(
        student=world.student_a1, term=world.term, by=world.officer_a, version=0, note="学生10月休病假,已核实。"
    )

    assert review.status == ReviewStatus.SIGNED_OFF and review.signed_by == world.officer_a
    assert review.sign_note == "学生10月休病假,已核实。"
    assert [i["key"] for i in review.checklist["items"]] == ["weekly", "visit", "card", "problems", "flags"]
    assert review.checklist["as_of"] == "2026-11-16"
    event = AuditEvent.objects.filter(object_type="帮扶档案学期审核").latest("pk")
    assert event.changes["审核状态"] == ["审核中", "已签结"]
    assert event.changes["签结说明"] == [None, "学生10月休病假,已核实。"]


def test_a_file_that_passes_every_item_is_signed_off_without_a_note(world):
    pairing = PairingFactory(teacher__school=world.school_a, started_on=dt.date(2026, 11, 9))
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 10))
    HomeVisitFactory(pairing=pairing, date=dt.date(2026, 11, 12))
    FiveThreeCardFactory(pairing=pairing)

    review = services.review_sign_off(student=pairing.student, term=world.term, by=world.officer_a, version=0)

    assert review.is_signed_off and review.sign_note == ""


def test_an_unanswered_comment_also_needs_a_note(world):
    pairing = PairingFactory(teacher__school=world.school_a, started_on=dt.date(2026, 11, 9))
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 10))
    HomeVisitFactory(pairing=pairing, date=dt.date(2026, 11, 12))
    FiveThreeCardFactory(pairing=pairing)
    comment(world, student=pairing.student)

    with pytest.raises(ValidationError) as caught:
        services.review_sign_off(student=pairing.student, term=world.term, by=world.officer_a, version=1)

    assert "有1条审核意见教师尚未答复" in caught.value.message_dict["note"][0]


def test_two_officers_signing_off_at_once_the_second_is_refused(world):
    comment(world)  # the review exists, version 1; both officers' pages read version 1
    first = services.review_sign_off(
        student=world.student_a1, term=world.term, by=world.officer_a, version=1, note="已核实"
    )

    with pytest.raises(ValidationError) as caught:
        services.review_sign_off(
            student=world.student_a1, term=world.term, by=world.officer_a, version=1, note="另一页"
        )

    assert caught.value.messages == [services.STALE]
    first.refresh_from_db()
    assert first.sign_note == "已核实"


def test_two_first_sign_offs_of_a_review_not_started_the_second_is_refused(world):
    services.review_sign_off(student=world.student_a1, term=world.term, by=world.officer_a, version=0, note="已核实")

    with pytest.raises(ValidationError) as caught:
        services.review_sign_off(
            student=world.student_a1, term=world.term, by=world.officer_a, version=0, note="另一页"
        )

    assert caught.value.messages == [services.STALE]
    assert CaseFileReview.objects.get().sign_note == "已核实"


def test_a_reopen_from_a_stale_page_is_refused(world):
    review = services.review_sign_off(
        student=world.student_a1, term=world.term, by=world.officer_a, version=0, note="已核实"
    )
    services.review_reopen(review=review, by=world.officer_a, reason="需更正家访", version=review.version)

    with pytest.raises(ValidationError) as caught:
        services.review_reopen(review=review, by=world.officer_a, reason="再开一次", version=review.version)

    assert caught.value.messages == [services.STALE]


def test_no_comment_and_no_answer_on_a_signed_off_file(world):
    made = comment(world)
    review = services.review_sign_off(
        student=world.student_a1, term=world.term, by=world.officer_a, version=1, note="已核实"
    )

    with pytest.raises(ValidationError) as caught:
        comment(world, version=review.version)
    assert caught.value.messages == [services.SIGNED_OFF]
    with pytest.raises(ValidationError) as caught:
        services.review_comment_answer(comment=made, by=world.teacher_a1, answer="迟到的答复", version=1)
    assert caught.value.messages == [services.SIGNED_OFF]


def test_a_reopen_tells_the_paired_teacher_why(world):
    review = services.review_sign_off(
        student=world.student_a1, term=world.term, by=world.officer_a, version=0, note="已核实"
    )

    services.review_reopen(review=review, by=world.officer_a, reason="家访日期填错,需更正。", version=review.version)

    notice = Notification.objects.get(recipient=world.teacher_a1)
    assert "已重新打开" in notice.title and notice.body.endswith("原因:家访日期填错,需更正。")
