"""部门联动 (issue 11, point 4), the rules: who may refer, the reference number, the statuses and
their dates, overdue (one rule for the queryset and the row), help received in the case file's aid
list, and the daily notice to the officer (twice run, once notified)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from casefiles import referral_services as services
from casefiles.build import document_of
from casefiles.models import AidReceipt, Referral, ReferralDepartment, ReferralStatus, ReferralUpdate
from casefiles.selectors import case_file
from guidance.models import Notification

from .factories import ReferralFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 16)  # the world's day


def _refer(world, **overrides):
    values = {
        "by": world.officer_a,
        "student_id": world.student_a1.pk,
        "department_id": ReferralDepartment.objects.get(code="civil").pk,
        "referred_on": dt.date(2026, 11, 10),
        "reason": "父亲重病住院,申请临时救助。",
    } | overrides
    return services.referral_create(**values)


def test_the_departments_are_seeded_by_the_migration():
    names = set(ReferralDepartment.objects.values_list("name", flat=True))
    assert {"民政", "残联", "团委", "妇联", "工会", "乡村振兴"} <= names


def test_a_referral_gets_the_years_next_reference_and_is_due_after_the_default_days(world, settings):
    settings.REFERRAL_DUE_DAYS = 30
    first = _refer(world)
    second = _refer(world, student_id=world.student_a2.pk)
    assert (first.reference, second.reference) == ("ZY-2026-转-0001", "ZY-2026-转-0002")
    assert first.due_on == dt.date(2026, 12, 10)
    assert first.status == ReferralStatus.SENT
    # the 包保 teacher is the contact unless another is named
    assert first.contact_teacher.user == world.teacher_a1


def test_the_numbers_follow_on_past_four_digits(world):
    ReferralFactory(student=world.student_a1, referred_by=world.officer_a, reference="ZY-2026-转-9999")
    assert _refer(world).reference == "ZY-2026-转-10000"
    assert _refer(world, student_id=world.student_a2.pk).reference == "ZY-2026-转-10001"


def test_a_number_taken_meanwhile_by_another_officer_is_skipped(world, monkeypatch):
    taken = ReferralFactory(student=world.student_a2, referred_by=world.officer_a, reference="ZY-2026-转-0007")
    answers = iter([taken.reference, "ZY-2026-转-0008"])
    monkeypatch.setattr(services, "_next_reference", lambda year: next(answers))
    assert _refer(world).reference == "ZY-2026-转-0008"


def test_the_reference_is_unique_in_the_database(world):
    referral = ReferralFactory(student=world.student_a1, referred_by=world.officer_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralFactory(student=world.student_a2, referred_by=world.officer_a, reference=referral.reference)


def test_only_the_officer_of_the_students_school_refers(world):
    for user in (world.officer_b, world.teacher_a1, world.county, world.admin):
        with pytest.raises(ValidationError):
            _refer(world, by=user)


def test_bad_values_are_told_at_their_fields(world):
    with pytest.raises(ValidationError) as caught:
        _refer(
            world,
            department_id=None,
            referred_on=dt.date(2026, 11, 20),
            due_on=dt.date(2026, 11, 1),
            reason=" ",
        )
    assert set(caught.value.message_dict) == {"department", "referred_on", "due_on", "reason"}


def test_a_switched_off_department_is_refused(world):
    ReferralDepartment.objects.filter(code="union").update(is_active=False)
    with pytest.raises(ValidationError) as caught:
        _refer(world, department_id=ReferralDepartment.objects.get(code="union").pk)
    assert "department" in caught.value.message_dict


def test_each_answer_is_dated_with_who_recorded_it(world):
    referral = _refer(world)
    services.referral_update_record(
        by=world.officer_a, referral_id=referral.pk, on=dt.date(2026, 11, 12), status="accepted", note="已受理"
    )
    services.referral_update_record(
        by=world.officer_a, referral_id=referral.pk, on=dt.date(2026, 11, 14), status="resolved", note="已纳入低保"
    )
    referral.refresh_from_db()
    assert (referral.status, referral.accepted_on, referral.closed_on) == (
        "resolved",
        dt.date(2026, 11, 12),
        dt.date(2026, 11, 14),
    )
    assert referral.outcome == "已纳入低保"
    history = list(ReferralUpdate.objects.filter(referral=referral).values_list("on", "status", "recorded_by"))
    assert history == [
        (dt.date(2026, 11, 12), "accepted", world.officer_a.pk),
        (dt.date(2026, 11, 14), "resolved", world.officer_a.pk),
    ]


def test_a_declined_referral_takes_no_more_answers_and_needs_a_reason(world):
    referral = _refer(world)
    with pytest.raises(ValidationError) as caught:
        services.referral_update_record(by=world.officer_a, referral_id=referral.pk, on=TODAY, status="declined")
    assert "note" in caught.value.message_dict
    services.referral_update_record(
        by=world.officer_a, referral_id=referral.pk, on=TODAY, status="declined", note="不符合条件"
    )
    with pytest.raises(ValidationError) as caught:
        services.referral_update_record(by=world.officer_a, referral_id=referral.pk, on=TODAY, status="accepted")
    assert "status" in caught.value.message_dict


def test_an_accepted_referral_cannot_go_back_to_sent(world):
    referral = _refer(world)
    services.referral_update_record(by=world.officer_a, referral_id=referral.pk, on=TODAY, status="accepted")
    with pytest.raises(ValidationError):
        services.referral_update_record(by=world.officer_a, referral_id=referral.pk, on=TODAY, status="sent")


def test_the_database_refuses_a_closed_referral_without_its_date(world):
    referral = ReferralFactory(student=world.student_a1, referred_by=world.officer_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(status="resolved")


def test_overdue_is_one_rule_for_the_queryset_and_the_row(world):
    due_past = ReferralFactory(student=world.student_a1, referred_by=world.officer_a, due_on=dt.date(2026, 11, 15))
    due_today = ReferralFactory(student=world.student_a2, referred_by=world.officer_a, due_on=TODAY)
    accepted = ReferralFactory(
        student=world.student_b1, referred_by=world.officer_b, due_on=dt.date(2026, 11, 1), status="accepted"
    )
    resolved = ReferralFactory(
        student=world.student_b1,
        referred_by=world.officer_b,
        due_on=dt.date(2026, 11, 1),
        status="resolved",
        closed_on=dt.date(2026, 11, 2),
    )
    overdue = set(Referral.objects.overdue(TODAY))
    assert overdue == {due_past, accepted}
    for referral in (due_past, due_today, accepted, resolved):
        assert referral.is_overdue(TODAY) == (referral in overdue)


def test_help_received_appears_in_the_case_files_aid_list(world):
    referral = _refer(world)
    services.referral_update_record(
        by=world.officer_a,
        referral_id=referral.pk,
        on=dt.date(2026, 11, 13),
        status="resolved",
        note="已发放临时救助金",
        help_text="协助办理低保",
        aid_item="临时救助金",
        aid_amount=Decimal("800.00"),
        aid_source="local",
    )
    aid = AidReceipt.objects.get(referral=referral)
    assert (aid.student, aid.term, aid.amount, aid.paid_on) == (
        world.student_a1,
        world.term,
        Decimal("800.00"),
        dt.date(2026, 11, 13),
    )
    document = document_of(case_file(student=world.student_a1.pk, reader=world.officer_a), reader=world.officer_a)
    sections = {s.key: s for s in document.sections}
    aid_rows = sections["aid"].blocks[0].tables[0].rows
    assert ["2026-2027学年第一学期", "临时救助金", "800.00", "2026-11-13", "市级资助(转介民政)"] in aid_rows
    referral_rows = {r.label: r.value for r in sections["referrals"].blocks[0].rows}
    assert referral_rows["获得的帮扶"] == "协助办理低保"


def test_aid_needs_item_and_amount_together(world):
    referral = _refer(world)
    with pytest.raises(ValidationError) as caught:
        services.referral_update_record(
            by=world.officer_a, referral_id=referral.pk, on=TODAY, status="resolved", aid_item="临时救助金"
        )
    assert "aid_amount" in caught.value.message_dict
    assert not AidReceipt.objects.filter(referral=referral).exists()


def test_the_overdue_notice_goes_to_the_schools_officer_once_however_often_the_job_runs(world):
    overdue = ReferralFactory(student=world.student_a1, referred_by=world.officer_a, due_on=dt.date(2026, 11, 10))
    ReferralFactory(student=world.student_a2, referred_by=world.officer_a, due_on=dt.date(2026, 12, 10))
    assert services.overdue_referrals_notify(today=TODAY) == 1
    assert services.overdue_referrals_notify(today=TODAY) == 0
    notice = Notification.objects.get(source_key__startswith="referral-overdue:")
    assert notice.recipient == world.officer_a
    assert notice.source_key == f"referral-overdue:{overdue.pk}:2026-11-10"
    assert notice.link == reverse("casefiles:referral_detail", args=[overdue.pk])
    # A new due date that passes too is a new notice.
    Referral.objects.filter(pk=overdue.pk).update(due_on=dt.date(2026, 11, 14))
    assert services.overdue_referrals_notify(today=TODAY) == 1
    assert not Notification.objects.filter(recipient=world.officer_b).exists()


def test_the_overdue_notice_is_in_the_officers_email_digest(world, settings):
    from guidance.deliveries import deliveries_prepare
    from guidance.models import Delivery

    settings.REMINDER_CHANNELS = ["email"]
    world.officer_a.email = "officer_a@example.cn"
    world.officer_a.save(update_fields=["email"])
    overdue = ReferralFactory(student=world.student_a1, referred_by=world.officer_a, due_on=dt.date(2026, 11, 10))
    services.overdue_referrals_notify(today=TODAY)
    deliveries_prepare(day=TODAY)
    delivery = Delivery.objects.get(recipient=world.officer_a)
    assert "转介逾期未答复" in delivery.body and overdue.reference in delivery.body
