"""劝返 一人一案's rules (casefiles/recovery.py): a case only for a dropout, one open case per student
(in the database), attempts set the next step, closing on return puts the student back 在校 from
that day so the pairing owes again (read by the compliance engine), the overdue rule and its notice
written once per due date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from casefiles import recovery
from casefiles.models import RecoveryCase, RecoveryStatus
from guidance.compliance import compliance_for
from guidance.models import Notification
from pairing import services as pairing_services
from pairing.models import EnrollmentChange, EnrollmentStatus, Pairing
from zaoyang_aid.models import AuditAction, AuditEvent

from .recovery_world import DROPPED_ON, drop_out, open_case

pytestmark = pytest.mark.django_db


def test_a_case_opens_for_a_dropout_with_the_dropout_date_the_paired_teacher_and_the_officer(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world, teacher=recovery.paired_teacher_id(world.student_a1.pk))
    assert case.status == RecoveryStatus.OPEN
    assert case.opened_on == DROPPED_ON
    assert case.teacher.user == world.teacher_a1
    assert case.officer == world.officer_a
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, student_id=world.student_a1.pk).exists()


def test_the_teacher_named_in_the_plan_is_told_once_with_the_link(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world, teacher=recovery.paired_teacher_id(world.student_a1.pk))
    notice = Notification.objects.get(recipient=world.teacher_a1)
    assert notice.title == "张小明:请参与劝返" and notice.link.endswith(f"/recovery/{case.pk}/")
    recovery.recovery_case_update(
        case=case.pk,
        by=world.officer_a,
        leave_reason="厌学",
        teacher=case.teacher_id,
        head_teacher="",
        village_cadre="",
        officer=world.officer_a.pk,
        next_step="",
        next_step_due=None,
    )
    assert Notification.objects.filter(recipient=world.teacher_a1).count() == 1


def test_a_student_at_school_gets_no_case(world):
    with pytest.raises(ValidationError, match="不是“辍学”"):
        open_case(world)


def test_only_the_officer_of_the_students_school_opens_a_case(world):
    drop_out(world.student_a1, world.officer_a)
    for user in (world.officer_b, world.teacher_a1, world.county):
        with pytest.raises(ValidationError, match="资助专干"):
            open_case(world, by=user)


def test_a_student_has_one_open_case_told_kindly_and_held_by_the_database(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)
    with pytest.raises(ValidationError, match="已有进行中的劝返方案"):
        open_case(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        RecoveryCase.objects.create(
            student=world.student_a1, opened_on=DROPPED_ON, leave_reason="x", opened_by=world.officer_a
        )
    assert RecoveryCase.objects.get() == case


def test_bad_plan_values_are_told_at_their_fields(world):
    drop_out(world.student_a1, world.officer_a)
    with pytest.raises(ValidationError) as caught:
        open_case(
            world,
            leave_reason=" ",
            opened_on=DROPPED_ON - dt.timedelta(days=1),
            teacher=world.student_b1.pairings.get().teacher_id,
            officer=world.officer_b.pk,
            next_step="再次家访",
        )
    errors = caught.value.message_dict
    assert set(errors) == {"leave_reason", "opened_on", "teacher", "officer", "next_step_due"}
    assert "早于辍学日期" in errors["opened_on"][0]


def test_an_attempt_is_recorded_and_may_set_the_next_step(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)
    recovery.recovery_attempt_create(
        case=case.pk,
        by=world.teacher_a1,
        date=dt.date(2026, 11, 14),
        with_whom="parents",
        method="visit",
        outcome="家长同意下周送孩子回校",
        next_step="周一到校接学生",
        next_step_due=dt.date(2026, 11, 23),
    )
    case.refresh_from_db()
    assert case.next_step == "周一到校接学生" and case.next_step_due == dt.date(2026, 11, 23)
    attempt = case.attempts.get()
    assert attempt.who == world.teacher_a1.get_full_name() and attempt.recorded_by == world.teacher_a1


def test_an_attempt_is_refused_to_a_teacher_of_another_student_and_told_at_its_fields(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)
    with pytest.raises(ValidationError, match="不在您的管理范围"):
        recovery.recovery_attempt_create(
            case=case.pk,
            by=world.teacher_a2,
            date=dt.date(2026, 11, 14),
            with_whom="parents",
            method="visit",
            outcome="x",
        )
    with pytest.raises(ValidationError) as caught:
        recovery.recovery_attempt_create(
            case=case.pk, by=world.officer_a, date=dt.date(2026, 11, 17), with_whom="?", method="?", outcome=""
        )
    assert set(caught.value.message_dict) == {"date", "with_whom", "method", "outcome"}


def test_a_teacher_named_in_the_plan_adds_attempts_though_she_does_not_pair_the_student(world):
    drop_out(world.student_a1, world.officer_a)
    colleague = world.student_a2.pairings.get().teacher_id
    case = open_case(world, teacher=colleague)
    recovery.recovery_attempt_create(
        case=case.pk,
        by=world.teacher_a2,
        date=dt.date(2026, 11, 14),
        with_whom="student",
        method="phone",
        outcome="通话",
    )
    assert case.attempts.count() == 1


def test_closing_on_return_puts_the_student_back_at_school_and_the_pairing_owes_from_that_day(world):
    """The compliance engine: the weeks away are not owed, the weeks from the return are."""
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)
    returned_on = dt.date(2026, 11, 2)
    recovery.recovery_case_close_returned(
        case=case.pk, by=world.officer_a, returned_on=returned_on, returned_class="3班"
    )
    case.refresh_from_db()
    assert case.status == RecoveryStatus.RETURNED and case.returned_on == returned_on
    assert case.returned_class == "3班" and case.closed_on == dt.date(2026, 11, 16)
    world.student_a1.refresh_from_db()
    assert world.student_a1.enrollment_status == EnrollmentStatus.ENROLLED
    back = EnrollmentChange.objects.filter(student=world.student_a1).latest("effective_on")
    assert back.status == EnrollmentStatus.ENROLLED and back.effective_on == returned_on

    pairing = world.student_a1.pairings.get()
    assert not Pairing.objects.owing(dt.date(2026, 10, 28)).filter(pk=pairing.pk).exists()
    assert Pairing.objects.owing(returned_on).filter(pk=pairing.pk).exists()
    figures = compliance_for(
        Pairing.objects.filter(student__in=[world.student_a1, world.student_a2]),
        term=world.term,
        as_of=dt.date(2026, 11, 16),
    )
    returned, stayed = figures[pairing.pk], figures[world.student_a2.pairings.get().pk]
    # Three weeks away (from 10-12, 10-19, 10-26) not owed; the weeks of 11-02 and 11-09 owed again.
    assert stayed.expected_weeks - returned.expected_weeks == 3
    assert returned.this_week_expected


def test_a_student_set_back_at_school_on_the_status_form_is_closed_without_a_second_change(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)
    pairing_services.student_status_change(
        student=world.student_a1.pk, status="enrolled", on=dt.date(2026, 11, 9), reason="返校", by=world.officer_a
    )
    recovery.recovery_case_close_returned(
        case=case.pk, by=world.officer_a, returned_on=dt.date(2026, 11, 9), returned_class="3班"
    )
    assert EnrollmentChange.objects.filter(student=world.student_a1).count() == 2
    assert RecoveryCase.objects.get().status == RecoveryStatus.RETURNED


def test_a_return_dated_before_the_last_change_is_refused_at_the_return_date_and_nothing_changes(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world, opened_on=DROPPED_ON)
    with pytest.raises(ValidationError) as caught:
        recovery.recovery_case_close_returned(
            case=case.pk, by=world.officer_a, returned_on=dt.date(2026, 10, 1), returned_class="3班"
        )
    assert "returned_on" in caught.value.message_dict
    assert RecoveryCase.objects.get().status == RecoveryStatus.OPEN


def test_a_closed_case_takes_no_more_attempts_and_other_closing_needs_a_reason(world):
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)
    with pytest.raises(ValidationError) as caught:
        recovery.recovery_case_close_other(case=case.pk, by=world.officer_a, closed_on=dt.date(2026, 11, 16), reason="")
    assert "reason" in caught.value.message_dict
    recovery.recovery_case_close_other(
        case=case.pk, by=world.officer_a, closed_on=dt.date(2026, 11, 16), reason="转学外县"
    )
    with pytest.raises(ValidationError, match="已其他销号"):
        recovery.recovery_attempt_create(
            case=case.pk,
            by=world.officer_a,
            date=dt.date(2026, 11, 16),
            with_whom="parents",
            method="phone",
            outcome="x",
        )
    # Closed, the student may have a new case.
    assert open_case(world).status == RecoveryStatus.OPEN


# --- Overdue ----------------------------------------------------------------------------------------


def test_the_overdue_rule_reads_the_next_step_else_the_last_attempt_else_the_opening(world, settings):
    settings.RECOVERY_OVERDUE_DAYS = 7
    today = dt.date(2026, 11, 16)
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)  # opened 10-12, nothing since: overdue
    assert list(RecoveryCase.objects.overdue(today)) == [case]
    recovery.recovery_attempt_create(
        case=case.pk, by=world.officer_a, date=dt.date(2026, 11, 9), with_whom="parents", method="phone", outcome="x"
    )
    assert not RecoveryCase.objects.overdue(today).exists()  # 7 days since the attempt: not more than 7
    assert RecoveryCase.objects.overdue(today + dt.timedelta(days=1)).exists()
    recovery.recovery_case_update(
        case=case.pk,
        by=world.officer_a,
        leave_reason="厌学",
        teacher=None,
        head_teacher="",
        village_cadre="",
        officer=world.officer_a.pk,
        next_step="再次家访",
        next_step_due=dt.date(2026, 11, 20),
    )
    assert not RecoveryCase.objects.overdue(dt.date(2026, 11, 27)).exists()
    assert RecoveryCase.objects.overdue(dt.date(2026, 11, 28)).exists()


def test_an_overdue_case_reminds_its_officer_once_per_due_date(world, settings):
    settings.RECOVERY_OVERDUE_DAYS = 7
    drop_out(world.student_a1, world.officer_a)
    case = open_case(world)
    today = dt.date(2026, 11, 16)
    assert recovery.recovery_overdue_notify(today=today) == 1
    assert recovery.recovery_overdue_notify(today=today) == 0  # the job run twice: one notice
    notice = Notification.objects.get()
    assert notice.recipient == world.officer_a
    assert notice.source_key == f"recovery-overdue:{case.pk}:{DROPPED_ON:%Y-%m-%d}"
    assert "张小明" in notice.title and notice.link.endswith(f"/recovery/{case.pk}/")
    # A new attempt moves the date; overdue again later, it notifies again.
    recovery.recovery_attempt_create(
        case=case.pk, by=world.officer_a, date=today, with_whom="parents", method="phone", outcome="未接通"
    )
    assert recovery.recovery_overdue_notify(today=today) == 0
    assert recovery.recovery_overdue_notify(today=today + dt.timedelta(days=8)) == 1
    assert Notification.objects.count() == 2


def test_a_case_whose_officer_left_reminds_the_schools_officers(world, settings):
    drop_out(world.student_a1, world.officer_a)
    open_case(world)
    world.officer_a.is_active = False
    world.officer_a.save(update_fields=["is_active"])
    assert recovery.recovery_overdue_notify(today=dt.date(2026, 11, 16)) == 0  # no active officer left
    from pairing.tests import factories as f

    other = f.OfficerFactory(school=world.school_a).user
    assert recovery.recovery_overdue_notify(today=dt.date(2026, 11, 16)) == 1
    assert Notification.objects.get().recipient == other


def test_the_beat_runs_the_overdue_job(settings):
    from casefiles import tasks

    assert settings.CELERY_BEAT_SCHEDULE["recovery-overdue"]["task"] == tasks.notify_overdue_recovery.name


def test_an_overdue_case_of_a_student_already_back_asks_for_the_closing_not_for_persuasion(world, settings):
    """The student was set back 在校 on the status form and the plan was left open: the notice asks
    the officer to close it (销号), not to go on persuading a child who is at school."""
    settings.RECOVERY_OVERDUE_DAYS = 7
    drop_out(world.student_a1, world.officer_a)
    open_case(world)
    pairing_services.student_status_change(
        student=world.student_a1,
        status=EnrollmentStatus.ENROLLED,
        on=dt.date(2026, 11, 2),
        reason="已返校",
        by=world.officer_a,
    )
    assert recovery.recovery_overdue_notify(today=dt.date(2026, 11, 16)) == 1
    notice = Notification.objects.get()
    assert notice.title == "劝返待销号:张小明"
    assert "已恢复在校" in notice.body and "请核实后办理销号" in notice.body
    assert "请尽快开展劝返" not in notice.body
