"""控辍保学 ledgers' services: a town's list written and re-uploaded (keyed by ID number, never
duplicated), the 核实 of an unmatched child, a teacher's 缺勤登记 proposing a 疑似辍学 entry, the
officer's entries and decisions (确认辍学 through the 学籍 service), the 月报 and the 季度复核."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from casefiles import dropouts
from casefiles.dropout_selectors import children_for_list, days_without_leave_in_month, match_label
from casefiles.models import (
    AbsenceNote,
    ChildVerification,
    DropoutMonthlyReport,
    DropoutRecheck,
    DropoutSource,
    RecheckStatus,
    SchoolAgeChild,
    SuspectedDropout,
    SuspectedStatus,
)
from casefiles.tasks import propose_dropouts_from_talks
from casefiles.tests.factories import SchoolAgeChildFactory, SuspectedDropoutFactory
from guidance.models import Notification
from guidance.tests.factories import TalkRecordFactory
from pairing.models import EnrollmentChange, EnrollmentStatus, Student
from pairing.tests.factories import StudentFactory, make_id_number
from zaoyang_aid.models import AuditEvent

pytestmark = pytest.mark.django_db
D = dt.date
MONDAY = D(2026, 11, 16)  # the world's today


def _row(seq: int, **values: Any) -> dict[str, Any]:
    id_number = make_id_number(seq, birth=D(2016, 5, 6))
    row = {
        "id_number": id_number,
        "name": f"儿童{seq}",
        "gender": "M",
        "birth_date": D(2016, 5, 6),
        "village": "清河村",
        "guardian_name": "刘大山",
        "guardian_phone": "13800001111",
    }
    return row | values


# --- 适龄儿童台账 ------------------------------------------------------------------------------------


def test_a_reupload_of_a_town_updates_its_rows_and_never_duplicates(world):
    town = world.school_a.town
    first = dropouts.school_age_children_upload(by=world.county, town_id=town.pk, year=2026, rows=[_row(1), _row(2)])
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = dropouts.school_age_children_upload(
        by=world.county, town_id=town.pk, year=2026, rows=[_row(1), _row(2, village="河东村"), _row(3)]
    )
    assert (again.created, again.updated, again.unchanged) == (1, 1, 1)
    assert SchoolAgeChild.objects.count() == 3
    assert SchoolAgeChild.objects.get(id_number=_row(2)["id_number"]).village == "河东村"
    assert AuditEvent.objects.filter(object_type="适龄儿童名单").count() == 2


def test_only_county_staff_upload_a_towns_list(world):
    with pytest.raises(ValidationError):
        dropouts.school_age_children_upload(
            by=world.officer_a, town_id=world.school_a.town_id, year=2026, rows=[_row(1)]
        )
    assert not SchoolAgeChild.objects.exists()


def test_each_child_matches_the_student_of_the_same_id_number_live(world):
    suspended = StudentFactory(school=world.school_a, enrollment_status=EnrollmentStatus.SUSPENDED)
    for student in (world.student_a1, suspended):
        SchoolAgeChildFactory(id_number=student.id_number, name=student.name)
    SchoolAgeChildFactory(name="外出儿童")
    labels = {c.name: match_label(c) for c in children_for_list(world.county, {}).qs}
    assert labels == {world.student_a1.name: "在校", suspended.name: "休学", "外出儿童": "未匹配"}
    # A change of 学籍 shows at once: the match is read from the student, not stored.
    Student.objects.filter(pk=world.student_a1.pk).update(enrollment_status=EnrollmentStatus.DROPPED_OUT)
    unmatched = children_for_list(world.county, {"match": "dropped_out"}).qs
    assert [c.name for c in unmatched] == [world.student_a1.name]


def test_an_officer_sees_only_the_children_matched_to_her_school(world):
    SchoolAgeChildFactory(id_number=world.student_a1.id_number, name="张小明")
    SchoolAgeChildFactory(id_number=world.student_b1.id_number, name="王小刚")
    SchoolAgeChildFactory(name="外出儿童")
    assert [c.name for c in children_for_list(world.officer_a, {}).qs] == ["张小明"]
    assert not children_for_list(world.teacher_a1, {}).qs.exists()


def test_the_county_records_an_unmatched_childs_verification(world):
    child = SchoolAgeChildFactory()
    dropouts.school_age_child_verify(
        child_id=child.pk, by=world.county, verification=ChildVerification.OTHER_COUNTY, note="随父母在深圳就读"
    )
    child.refresh_from_db()
    assert (child.verification, child.verified_on, child.verified_by) == ("other_county", MONDAY, world.county)
    with pytest.raises(ValidationError) as caught:
        dropouts.school_age_child_verify(child_id=child.pk, by=world.county, verification=ChildVerification.OTHER)
    assert "请填写说明" in str(caught.value)
    dropouts.school_age_child_verify(child_id=child.pk, by=world.county, verification=ChildVerification.PENDING)
    child.refresh_from_db()
    assert child.verified_on is None and child.verification == "pending"


def test_a_child_in_school_needs_no_verification(world):
    child = SchoolAgeChildFactory(id_number=world.student_a1.id_number)
    with pytest.raises(ValidationError, match="无需核实"):
        dropouts.school_age_child_verify(
            child_id=child.pk, by=world.county, verification=ChildVerification.OTHER_COUNTY
        )


# --- 缺勤登记 proposes a 疑似辍学 entry ------------------------------------------------------------------


def _absence(world: Any, day: dt.date, days: int, *, with_leave: bool = False) -> Any:
    return dropouts.absence_note_create(
        by=world.teacher_a1, student_id=world.student_a1.pk, date_from=day, days=days, with_leave=with_leave
    )


def test_absences_without_leave_reaching_the_threshold_in_a_week_propose_an_entry(world):
    last_week = D(2026, 11, 12)
    _note, proposal = _absence(world, last_week, 2)  # last week: counted apart
    assert proposal is None
    _note, proposal = _absence(world, MONDAY, 1, with_leave=True)  # with leave: not counted
    assert proposal is None
    _note, proposal = _absence(world, MONDAY, 2)
    assert proposal is None
    note, proposal = _absence(world, D(2026, 11, 16), 1)
    assert proposal is not None
    assert (proposal.status, proposal.source, proposal.days_absent) == ("proposed", "attendance", 3)
    assert (proposal.first_absent_on, proposal.week_monday, proposal.absence_note) == (MONDAY, MONDAY, note)
    assert proposal.entered_on is None and proposal.entered_in_week is None
    # The school's officer is told once; a further absence that week proposes nothing more.
    assert Notification.objects.filter(recipient=world.officer_a, source_key__startswith="suspected:").count() == 1
    _note, again = _absence(world, MONDAY, 1)
    assert again is None
    assert SuspectedDropout.objects.count() == 1


def test_the_threshold_is_a_setting(world, settings):
    settings.DROPOUT_SUSPECT_DAYS = 5
    assert _absence(world, MONDAY, 4)[1] is None
    assert _absence(world, MONDAY, 1)[1] is not None


def test_only_the_paired_teacher_or_the_officer_notes_an_absence(world):
    for outsider in (world.teacher_a2, world.officer_b, world.county):
        with pytest.raises(ValidationError):
            dropouts.absence_note_create(
                by=outsider, student_id=world.student_a1.pk, date_from=MONDAY, days=1, with_leave=False
            )
    dropouts.absence_note_create(
        by=world.officer_a, student_id=world.student_a1.pk, date_from=MONDAY, days=1, with_leave=False
    )
    assert AbsenceNote.objects.count() == 1


def test_an_absence_in_the_future_is_refused_at_its_field(world):
    with pytest.raises(ValidationError) as caught:
        _absence(world, D(2026, 11, 17), 1)
    assert "不能晚于今天" in caught.value.message_dict["date_from"][0]


# --- The officer's entries and decisions ---------------------------------------------------------------


def test_an_entry_says_whether_it_was_made_in_the_week_of_the_first_absence(world):
    on_time = dropouts.suspected_dropout_create(
        by=world.officer_a,
        student_id=world.student_a1.pk,
        first_absent_on=MONDAY,
        days_absent=3,
        source=DropoutSource.SCHOOL,
    )
    late = dropouts.suspected_dropout_create(
        by=world.officer_a,
        student_id=world.student_a2.pk,
        first_absent_on=D(2026, 11, 11),
        days_absent=4,
        source=DropoutSource.TALK,
    )
    assert (on_time.entered_in_week, late.entered_in_week) == (True, False)
    assert on_time.status == late.status == SuspectedStatus.PENDING


def test_a_student_has_one_open_entry_and_only_her_schools_officer_enters_it(world):
    kwargs = {"first_absent_on": MONDAY, "days_absent": 3, "source": DropoutSource.SCHOOL}
    dropouts.suspected_dropout_create(by=world.officer_a, student_id=world.student_a1.pk, **kwargs)
    with pytest.raises(ValidationError, match="已在疑似辍学台账中"):
        dropouts.suspected_dropout_create(by=world.officer_a, student_id=world.student_a1.pk, **kwargs)
    with pytest.raises(ValidationError):
        dropouts.suspected_dropout_create(by=world.officer_b, student_id=world.student_a2.pk, **kwargs)


def test_the_officer_confirms_or_dismisses_a_proposal(world):
    proposal = SuspectedDropoutFactory(student=world.student_a1, first_absent_on=D(2026, 11, 11))
    entry = dropouts.suspected_dropout_confirm(entry_id=proposal.pk, by=world.officer_a)
    assert (entry.status, entry.entered_on, entry.entered_in_week) == ("pending", MONDAY, False)
    other = SuspectedDropoutFactory(student=world.student_a2)
    with pytest.raises(ValidationError):
        dropouts.suspected_dropout_dismiss(entry_id=other.pk, by=world.officer_a, note="")
    with pytest.raises(ValidationError):
        dropouts.suspected_dropout_confirm(entry_id=other.pk, by=world.officer_b)
    dismissed = dropouts.suspected_dropout_dismiss(entry_id=other.pk, by=world.officer_a, note="家长已补请病假")
    assert (dismissed.status, dismissed.resolved_on) == ("dismissed", MONDAY)


def _pending(world: Any, student: Any) -> SuspectedDropout:
    return dropouts.suspected_dropout_create(
        by=world.officer_a, student_id=student.pk, first_absent_on=D(2026, 11, 9), days_absent=5, source="school"
    )


def test_confirming_a_dropout_changes_the_students_enrollment_status(world):
    entry = _pending(world, world.student_a1)
    with pytest.raises(ValidationError) as caught:
        dropouts.suspected_dropout_resolve(entry_id=entry.pk, by=world.officer_a, status="dropped_out", on=MONDAY)
    assert "note" in caught.value.message_dict
    dropouts.suspected_dropout_resolve(
        entry_id=entry.pk, by=world.officer_a, status="dropped_out", on=D(2026, 11, 13), note="随父母外出打工"
    )
    world.student_a1.refresh_from_db()
    assert world.student_a1.enrollment_status == EnrollmentStatus.DROPPED_OUT
    change = EnrollmentChange.objects.get(student=world.student_a1)
    assert (change.status, change.effective_on, change.reason) == ("dropped_out", D(2026, 11, 13), "随父母外出打工")


def test_a_return_to_school_is_recorded_with_its_date(world):
    entry = _pending(world, world.student_a2)
    dropouts.suspected_dropout_resolve(entry_id=entry.pk, by=world.officer_a, status="returned", on=D(2026, 11, 12))
    entry.refresh_from_db()
    assert (entry.status, entry.resolved_on, entry.resolved_by) == ("returned", D(2026, 11, 12), world.officer_a)
    world.student_a2.refresh_from_db()
    assert world.student_a2.enrollment_status == EnrollmentStatus.ENROLLED
    with pytest.raises(ValidationError, match="状态已是"):
        dropouts.suspected_dropout_resolve(entry_id=entry.pk, by=world.officer_a, status="on_leave", on=MONDAY)


# --- 月报 and 季度复核 ---------------------------------------------------------------------------------


def test_a_monthly_report_freezes_the_counts_and_is_submitted_once(world):
    _pending(world, world.student_a1)
    returned = _pending(world, world.student_a2)
    dropouts.suspected_dropout_resolve(entry_id=returned.pk, by=world.officer_a, status="returned", on=MONDAY)
    report = dropouts.monthly_report_submit(by=world.officer_a, month=D(2026, 11, 1), note="无异常")
    assert (report.enrolled, report.suspected_open, report.dropouts_open, report.returned) == (2, 1, 0, 1)
    with pytest.raises(ValidationError, match="已报送"):
        dropouts.monthly_report_submit(by=world.officer_a, month=D(2026, 11, 1))
    with pytest.raises(ValidationError, match="尚未开始"):
        dropouts.monthly_report_submit(by=world.officer_a, month=D(2026, 12, 1))
    with pytest.raises(ValidationError):
        dropouts.monthly_report_submit(by=world.county, month=D(2026, 10, 1))
    late = dropouts.monthly_report_submit(by=world.officer_a, month=D(2026, 10, 1))
    status = dropouts.monthly_status(month=late.month, submitted_on=late.submitted_on, today=MONDAY)
    assert status == "late"
    assert DropoutMonthlyReport.objects.count() == 2


def test_the_county_records_and_corrects_a_quarterly_recheck(world):
    quarter = D(2026, 10, 1)
    kwargs = {"school_id": world.school_a.pk, "quarter": quarter, "checked_on": D(2026, 11, 10), "discrepancies": 2}
    dropouts.recheck_save(by=world.county, findings="两名学生缺勤未登记", status=RecheckStatus.NEEDS_FIX, **kwargs)
    with pytest.raises(ValidationError) as caught:
        dropouts.recheck_save(by=world.county, findings="已补登记", status=RecheckStatus.FIXED, **kwargs)
    assert "fixed_on" in caught.value.message_dict
    dropouts.recheck_save(
        by=world.county, findings="已补登记", status=RecheckStatus.FIXED, fixed_on=D(2026, 11, 14), **kwargs
    )
    recheck = DropoutRecheck.objects.get()
    assert (recheck.status, recheck.fixed_on) == ("fixed", D(2026, 11, 14))
    with pytest.raises(ValidationError):
        dropouts.recheck_save(by=world.officer_a, findings="", status=RecheckStatus.CHECKED, **kwargs)


def test_the_months_that_owe_a_report_are_those_touching_a_term(world):
    # The world's term (TermFactory) runs through the autumn; the summer before touches none.
    owed = dropouts.months_in_term(D(2026, 6, 1), D(2026, 12, 1))
    term = world.term
    assert all(term.start_date < dropouts.next_month(m) and term.end_date >= m for m in owed)
    assert D(2026, 11, 1) in owed and D(2026, 8, 1) not in owed


# --- A talk record speaking of absence proposes an entry ------------------------------------------------


def test_a_talk_record_speaking_of_absence_proposes_an_entry_once(world):
    a1, a2 = (s.pairings.get() for s in (world.student_a1, world.student_a2))
    talk = TalkRecordFactory(pairing=a1, date=D(2026, 11, 13), content="孩子说最近不想上学,周三旷课一天。")
    TalkRecordFactory(pairing=a2, date=D(2026, 11, 13), content="学习状态良好,按时到校。")
    TalkRecordFactory(pairing=world.student_b1.pairings.get(), date=D(2026, 11, 2), content="上月旷课")  # too old
    assert dropouts.talk_proposals_sweep(today=MONDAY) == 1
    entry = SuspectedDropout.objects.get()
    assert (entry.student, entry.talk, entry.source, entry.status) == (world.student_a1, talk, "talk", "proposed")
    assert "旷课、不想上学" in entry.note  # in TALK_ABSENCE_WORDS order
    assert Notification.objects.filter(recipient=world.officer_a, body__contains="谈心记录").exists()
    assert dropouts.talk_proposals_sweep(today=MONDAY) == 0  # run twice: nothing more
    # Dismissed, the same talk proposes nothing again.
    dropouts.suspected_dropout_dismiss(entry_id=entry.pk, by=world.officer_a, note="指上学期的事")
    assert dropouts.talk_proposals_sweep(today=MONDAY) == 0


def test_the_officer_confirms_a_proposal_with_the_dates_she_found(world):
    TalkRecordFactory(pairing=world.student_a1.pairings.get(), date=D(2026, 11, 13), problems="逃学")
    dropouts.talk_proposals_sweep(today=MONDAY)
    entry = SuspectedDropout.objects.get()
    dropouts.suspected_dropout_confirm(
        entry_id=entry.pk, by=world.officer_a, first_absent_on=D(2026, 11, 11), days_absent=3
    )
    entry.refresh_from_db()
    assert (entry.first_absent_on, entry.week_monday, entry.days_absent) == (D(2026, 11, 11), D(2026, 11, 9), 3)
    assert entry.entered_in_week is False  # entered on the 16th, the week after


def test_the_nightly_task_calls_the_sweep(world):
    TalkRecordFactory(pairing=world.student_a1.pairings.get(), date=D(2026, 11, 13), student_state="厌学情绪明显")
    propose_dropouts_from_talks()
    assert SuspectedDropout.objects.filter(source="talk").count() == 1


def test_the_talk_sweep_runs_every_night(settings):
    assert settings.CELERY_BEAT_SCHEDULE["dropout-talk-proposals"]["task"] == propose_dropouts_from_talks.name


def test_the_days_without_leave_of_a_month_add_up_per_student(world):
    _absence(world, D(2026, 10, 30), 2)  # last month
    _absence(world, D(2026, 11, 3), 2)
    _absence(world, D(2026, 11, 10), 1, with_leave=True)
    _absence(world, MONDAY, 1)
    assert days_without_leave_in_month(MONDAY) == {world.student_a1.pk: 3}
