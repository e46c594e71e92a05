"""Issue 7, as observed by an aid officer and a county administrator against a week-by-week recount:
each observation is a test here (the engine's figures are checked against reference.py).

The world's term is 2026-09-01 (a Tuesday) to 2027-01-22; the world stands on Monday 2026-11-16,
the first day of school week 12. Weeks 1-11 have ended.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from guidance import services
from guidance.compliance import WeekState, compliance_for
from guidance.dashboards import school_dashboard
from guidance.models import PairingTermTally, Reminder, ReminderKind, TalkRecord
from guidance.reminders import find_due
from guidance.tallies import tally_rebuild, tally_verify
from pairing import calendars
from pairing import selectors as pairing_selectors
from pairing import services as pairing_services
from pairing.models import Closure, ClosureKind, EnrollmentStatus, Pairing, PairingEndReason, Term
from pairing.tests import factories as pf

from .factories import HomeVisitFactory, TalkRecordFactory, talk_values
from .reference import engine_as_expected, reference

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 11, 16)


def weeks(world):
    return world.term.school_weeks()


def talk_in_weeks(pairing, week_list):
    for week in week_list:
        TalkRecordFactory(pairing=pairing, date=week.school_days[0])


def figures(pairings, term, as_of=TODAY):
    rows = compliance_for(Pairing.objects.filter(pk__in=[p.pk for p in pairings]), term=term, as_of=as_of)
    return {pk: engine_as_expected(row) for pk, row in rows.items()}


def recount(pairings, term, as_of=TODAY):
    return {p.pk: reference(p, term, as_of) for p in pairings}


@pytest.fixture
def school_pairings(world):
    """Ten pairings at school A from the first day: most talk every week, some miss a few."""
    pairings = [world.student_a1.pairings.get(), world.student_a2.pairings.get()]
    pairings += [pf.PairingFactory(teacher__school=world.school_a, started_on=world.term.start_date) for _ in range(8)]
    school_weeks = weeks(world)[:11]
    for i, pairing in enumerate(pairings):
        talk_in_weeks(pairing, [w for n, w in enumerate(school_weeks) if (n + i) % 4])
    return pairings


# --- Term edits ------------------------------------------------------------------------------------


def test_moving_the_terms_start_four_days_earlier_leaves_every_figure_and_reminder_true(world, school_pairings):
    before = figures(school_pairings, world.term)
    due_before = find_due(on=TODAY).due
    term = pairing_services.term_dates_change(term=world.term, start_date=D(2026, 8, 28), end_date=D(2027, 1, 22))
    after = figures(school_pairings, term)
    assert after == recount(school_pairings, term)
    # The pairings started on 09-01: the new Friday 08-28 is not theirs, so nothing of theirs changes.
    assert after == before
    assert find_due(on=TODAY).due == due_before


def test_the_figures_stay_true_when_the_dates_are_moved_behind_the_services_back(world, school_pairings):
    Term.objects.filter(pk=world.term.pk).update(start_date=D(2026, 8, 27))  # an old admin path, a raw UPDATE
    term = Term.objects.select_related("school_year").get(pk=world.term.pk)
    assert figures(school_pairings, term) == recount(school_pairings, term)


def test_moving_the_start_a_week_later_keeps_talks_saving_and_tallies_rebuilding(client, world):
    pairing = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pairing, date=D(2026, 9, 9))
    term = pairing_services.term_dates_change(term=world.term, start_date=D(2026, 9, 7), end_date=D(2027, 1, 22))
    client.force_login(world.teacher_a1)
    data = {"date": "2026-11-16", "duration_minutes": "30", "content": "谈话", "student_state": "稳定"}
    data |= {"tracks": ["track_study"], "help_forms": ["form_talk"]}
    response = client.post(reverse("guidance:talk_create", args=[pairing.pk]), data)
    assert response.status_code == 302  # saved: no "negative shift count"
    assert tally_rebuild(terms=[term]) == 1
    assert figures([pairing], term) == recount([pairing], term)


def test_moving_a_terms_dates_past_its_records_is_refused_with_a_message(world):
    TalkRecordFactory(pairing=world.student_a1.pairings.get(), date=D(2026, 9, 2))
    with pytest.raises(ValidationError) as caught:
        pairing_services.term_dates_change(term=world.term, start_date=D(2026, 9, 7), end_date=D(2027, 1, 22))
    assert "1条谈心谈话记录的日期在新的学期日期之外" in str(caught.value.message_dict)
    world.term.refresh_from_db()
    assert world.term.start_date == D(2026, 9, 1)


def test_the_admin_moves_a_term_through_the_service_and_shows_its_refusal_at_the_field(client, world):
    TalkRecordFactory(pairing=world.student_a1.pairings.get(), date=D(2026, 9, 2))
    client.force_login(world.admin)
    url = reverse("admin:pairing_term_change", args=[world.term.pk])
    data = {"school_year": world.term.school_year_id, "number": 1, "start_date": "2026-09-07", "end_date": "2027-01-22"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "新的学期日期之外" in str(response.context["adminform"].form.errors)
    data["start_date"] = "2026-08-31"
    assert client.post(url, data).status_code == 302
    world.term.refresh_from_db()
    assert world.term.start_date == D(2026, 8, 31)
    assert PairingTermTally.objects.get().week_base == D(2026, 8, 31)


# --- Closures ---------------------------------------------------------------------------------------


def test_a_closure_added_after_the_talks_never_hides_a_missed_week(world):
    pairing = world.student_a1.pairings.get()
    school_weeks = weeks(world)
    talk_in_weeks(pairing, [*school_weeks[:9], school_weeks[10]])  # week 10 missed, week 11 talked
    Closure.objects.create(name="停课", school=world.school_a, start_date=D(2026, 11, 9), end_date=D(2026, 11, 13))
    row = figures([pairing], world.term)[pairing.pk]
    assert (row.expected_weeks, row.done_weeks, row.missed_weeks) == (10, 9, 1)
    assert row == recount([pairing], world.term)[pairing.pk]


def test_a_makeup_saturday_in_a_closed_week_makes_it_a_school_week_the_engine_counts(world):
    # The county rests Mon-Fri 11-09..13 and works Saturday 11-14 instead (调休, entered by the admin
    # as for a year chinese_calendar does not know): the week has one school day and is owed.
    pairing = world.student_a1.pairings.get()
    talk_in_weeks(pairing, weeks(world)[:10])
    Closure.objects.create(name="放假", kind=ClosureKind.HOLIDAY, start_date=D(2026, 11, 9), end_date=D(2026, 11, 13))
    Closure.objects.create(name="调休", kind=ClosureKind.MAKEUP, start_date=D(2026, 11, 14), end_date=D(2026, 11, 14))

    week_11 = weeks(world)[10]
    row = figures([pairing], world.term)[pairing.pk]

    assert (week_11.monday, week_11.school_days) == (D(2026, 11, 9), (D(2026, 11, 14),))
    assert (row.expected_weeks, row.done_weeks, row.missed_weeks) == (11, 10, 1)
    assert row == recount([pairing], world.term)[pairing.pk]


def test_a_schools_closure_wins_over_a_county_makeup_day_it_overlaps(world):
    pairing = world.student_a1.pairings.get()
    talk_in_weeks(pairing, weeks(world)[:10])
    Closure.objects.create(name="放假", kind=ClosureKind.HOLIDAY, start_date=D(2026, 11, 9), end_date=D(2026, 11, 13))
    Closure.objects.create(name="调休", kind=ClosureKind.MAKEUP, start_date=D(2026, 11, 14), end_date=D(2026, 11, 14))
    Closure.objects.create(name="停课", school=world.school_a, start_date=D(2026, 11, 14), end_date=D(2026, 11, 15))

    row = figures([pairing], world.term)[pairing.pk]

    assert (row.expected_weeks, row.done_weeks, row.missed_weeks) == (10, 10, 0)
    assert row == recount([pairing], world.term)[pairing.pk]


# --- Derived state ------------------------------------------------------------------------------


def test_a_queryset_update_drifts_the_tally_and_the_nightly_check_repairs_it(world):
    pairing = world.student_a1.pairings.get()
    talk_in_weeks(pairing, weeks(world)[:11])
    TalkRecord.objects.filter(pairing=pairing, date__lt=D(2026, 9, 20)).update(date=D(2026, 11, 10))  # skips services
    assert figures([pairing], world.term) != recount([pairing], world.term)
    report = tally_verify(repair=True)
    assert (report.wrong, report.missing, report.stale) == (1, 0, 0)
    assert figures([pairing], world.term) == recount([pairing], world.term)
    assert tally_verify().differences == 0


def test_bulk_created_talks_are_found_by_verify_tallies_and_repaired(world):
    pairing = world.student_a1.pairings.get()
    TalkRecord.objects.bulk_create(
        [
            TalkRecord(
                pairing=pairing,
                term=world.term,
                recorded_by=world.teacher_a1,
                date=week.school_days[0],
                week_monday=week.monday,
                duration_minutes=30,
                content="导入",
                student_state="稳定",
                track_study=True,
                form_talk=True,
            )
            for week in weeks(world)[:5]
        ]
    )
    call_command("verify_tallies")
    assert not PairingTermTally.objects.exists()  # without --repair nothing is written
    call_command("verify_tallies", "--repair")
    assert figures([pairing], world.term)[pairing.pk].done_weeks == 5


def test_the_talk_services_keep_the_tally_and_answer_the_reminder(world):
    pairing = world.student_a1.pairings.get()
    Reminder.objects.create(pairing=pairing, kind=ReminderKind.MISSED_TALK, period=D(2026, 11, 9), term=world.term)
    talk = services.talk_record_create(
        pairing=pairing, recorded_by=world.teacher_a1, **talk_values(date=D(2026, 11, 12))
    )
    assert Reminder.objects.get().resolved_at is not None
    assert tally_verify().differences == 0
    services.talk_record_update(record=talk, by=world.teacher_a1, date=D(2026, 11, 16))
    assert tally_verify().differences == 0
    services.talk_record_delete(record=talk, by=world.admin)
    assert tally_verify().differences == 0 and not PairingTermTally.objects.exists()


# --- Enrollment status ------------------------------------------------------------------------------


def test_a_suspended_student_is_not_overdue_and_the_dashboard_says_why(world):
    pairing = world.student_a1.pairings.get()
    talk_in_weeks(pairing, weeks(world)[:8])  # 10-26 on nothing: weeks 9, 10, 11 missed before
    pairing_services.student_status_change(
        student=world.student_a1,
        status=EnrollmentStatus.SUSPENDED,
        on=D(2026, 11, 2),
        reason="病休",
        by=world.officer_a,
    )
    board = school_dashboard(world.officer_a, term=world.term, as_of=TODAY)
    row = next(s for s in board.students if s.pairing.pk == pairing.pk).compliance
    assert row.week_state == WeekState.AWAY
    assert row.week_state_label == "休学·暂停记录"
    assert row.away_reason == "休学(2026年11月2日起),暂停每周谈话"
    assert row.missed_weeks == 1  # week 9 only: weeks 10 and 11 were not owed
    assert pairing.pk not in {d.pairing_id for d in find_due(on=TODAY).due}
    assert Pairing.objects.get(pk=pairing.pk).is_active  # suspended, not ended
    assert figures([pairing], world.term) == recount([pairing], world.term)


def test_a_student_back_at_school_owes_again_from_the_return(world):
    pairing = world.student_a1.pairings.get()
    for status, day in ((EnrollmentStatus.DROPPED_OUT, D(2026, 10, 12)), (EnrollmentStatus.ENROLLED, D(2026, 11, 16))):
        pairing_services.student_status_change(
            student=world.student_a1, status=status, on=day, reason="劝返", by=world.officer_a
        )
    row = figures([pairing], world.term)[pairing.pk]
    assert row.this_week_expected and row.expected_weeks == 6  # weeks 1-6 before 10-12, then back on 11-16
    assert Pairing.objects.owing(TODAY).filter(pk=pairing.pk).exists()
    assert not Pairing.objects.owing(D(2026, 11, 2)).filter(pk=pairing.pk).exists()


def test_the_one_rule_owing_a_day_agrees_with_the_engines_owed_weeks(world):
    pairing = world.student_a1.pairings.get()
    pairing_services.student_status_change(
        student=world.student_a1,
        status=EnrollmentStatus.SUSPENDED,
        on=D(2026, 10, 14),
        reason="病休",
        by=world.officer_a,
    )
    pairing_services.student_status_change(
        student=world.student_a1,
        status=EnrollmentStatus.ENROLLED,
        on=D(2026, 10, 28),
        reason="复学",
        by=world.officer_a,
    )
    row = compliance_for(Pairing.objects.filter(pk=pairing.pk), term=world.term, as_of=TODAY)[pairing.pk]
    first_monday = D(2026, 8, 31)
    for week in weeks(world)[:11]:
        by_day = any(Pairing.objects.owing(day).filter(pk=pairing.pk).exists() for day in week.school_days)
        bit = 1 << ((week.monday - first_monday).days // 7)
        assert bool(row.owed_bits & bit) == by_day, week.label


def test_graduation_ends_the_pairing_with_its_reason(world):
    pairing = world.student_a1.pairings.get()
    pairing_services.student_status_change(
        student=world.student_a1,
        status=EnrollmentStatus.GRADUATED,
        on=D(2026, 11, 13),
        reason="提前毕业",
        by=world.county,
    )
    pairing.refresh_from_db()
    assert (pairing.ended_on, pairing.end_reason) == (D(2026, 11, 13), PairingEndReason.GRADUATION)


def test_a_county_transfer_ends_the_pairing_and_puts_the_student_on_the_new_schools_list(world):
    pairing = world.student_a1.pairings.get()
    pairing_services.student_transfer(
        student=world.student_a1, to_school=world.school_b, on=D(2026, 11, 16), reason="随父母迁居", by=world.county
    )
    pairing.refresh_from_db()
    assert (pairing.ended_on, pairing.end_reason) == (D(2026, 11, 16), PairingEndReason.SCHOOL_TRANSFER)
    assert world.student_a1 in pairing_selectors.students_to_pair(world.school_b.pk)
    assert world.student_a1 not in pairing_selectors.students_to_pair(world.school_a.pk)
    assert pairing.teacher.school_id == world.school_a.pk  # the old school's teacher no longer 包保 them


def test_status_changes_are_refused_with_messages_at_their_fields(world):
    with pytest.raises(ValidationError) as caught:
        pairing_services.student_status_change(
            student=world.student_a1, status=EnrollmentStatus.ENROLLED, on=D(2026, 12, 1), reason="", by=world.officer_a
        )
    assert set(caught.value.message_dict) == {"status", "on", "reason"}


def test_the_officer_changes_a_status_on_the_students_page(client, world):
    client.force_login(world.officer_a)
    url = reverse("pairing:student_status", args=[world.student_a1.pk])
    response = client.post(url, {"status": "suspended", "on": "2026-11-09", "reason": "病休"})
    assert response.status_code == 302
    page = client.get(reverse("pairing:student_detail", args=[world.student_a1.pk])).content.decode()
    assert "学籍变动记录" in page and "病休" in page
    client.force_login(world.officer_b)
    assert client.get(url).status_code == 404
    client.force_login(world.teacher_a1)
    assert client.get(url).status_code == 403


# --- Takeover -----------------------------------------------------------------------------------


def test_a_teacher_who_takes_over_sees_the_students_help_so_far_and_owes_no_second_visit(client, world):
    first = world.student_a1.pairings.get()
    talk_in_weeks(first, weeks(world)[:10])
    HomeVisitFactory(pairing=first, date=D(2026, 10, 17))
    newcomer = pf.TeacherFactory(school=world.school_a)
    pairing_services.pairing_reassign(pairing=first, new_teacher=newcomer, on=D(2026, 11, 9), reason="transfer")
    client.force_login(newcomer.user)
    response = client.get(reverse("guidance:my_students"))
    html = response.content.decode()
    assert "此前本学期已有10次记录" in html and "已家访" in html and "尚无记录" not in html
    timeline = client.get(reverse("guidance:timeline", args=[world.student_a1.pk]))
    assert len(timeline.context["timeline"].terms[0].entries) == 11  # ten talks and the visit
    assert not [
        d
        for d in find_due(on=weeks(world)[-3].school_days[0]).due
        if d.student_id == world.student_a1.pk and d.kind == ReminderKind.VISIT_DUE
    ]


# --- Backdating -----------------------------------------------------------------------------------


def test_a_talk_five_weeks_back_needs_the_officers_permission_and_is_marked_late(client, world):
    pairing = world.student_a1.pairings.get()
    client.force_login(world.teacher_a1)
    data = {"date": "2026-10-14", "duration_minutes": "30", "content": "补记", "student_state": "稳定"}
    data |= {"tracks": ["track_study"], "help_forms": ["form_talk"]}
    url = reverse("guidance:talk_create", args=[pairing.pk])
    response = client.post(url, data)
    assert response.status_code == 200
    assert "请联系学校资助专干准许补录" in " ".join(response.context["form"].errors["date"])
    services.late_entry_permit(
        pairing=pairing, week_monday=D(2026, 10, 12), reason="教师外出培训", granted_by=world.officer_a
    )
    assert client.post(url, data).status_code == 302
    talk = TalkRecord.objects.get()
    assert talk.entered_late and talk.late_permission.reason == "教师外出培训"
    assert "补录" in client.get(reverse("guidance:timeline", args=[world.student_a1.pk])).content.decode()
    assert "教师外出培训" in client.get(reverse("guidance:talk_detail", args=[talk.pk])).content.decode()


def test_last_school_weeks_talk_needs_no_permission(world):
    pairing = world.student_a1.pairings.get()
    talk = services.talk_record_create(
        pairing=pairing, recorded_by=world.teacher_a1, **talk_values(date=D(2026, 11, 11))
    )
    assert not talk.entered_late


def test_a_permission_only_for_an_old_week_without_a_talk(world):
    pairing = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pairing, date=D(2026, 10, 14))
    for monday, key in ((D(2026, 11, 9), "week"), (D(2026, 10, 12), "week"), (D(2026, 10, 14), "week")):
        with pytest.raises(ValidationError) as caught:
            services.late_entry_permit(pairing=pairing, week_monday=monday, reason="原因", granted_by=world.officer_a)
        assert key in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.late_entry_permit(pairing=pairing, week_monday=D(2026, 10, 19), reason=" ", granted_by=world.officer_a)
    assert caught.value.message_dict == {"reason": ["请填写补录原因。"]}


def test_a_pairing_cannot_start_before_the_student_was_born_or_before_the_term_without_a_reason(world):
    student = pf.StudentFactory(school=world.school_a)  # born in 2014 (the factory's ID numbers)
    teacher = pf.TeacherFactory(school=world.school_a)
    with pytest.raises(ValidationError) as caught:
        pairing_services.pairing_create(teacher=teacher, student=student, started_on=D(2019, 3, 1))
    assert caught.value.message_dict == {"backdated_reason": [pairing_services.BACKDATE_NEEDS_REASON]}
    with pytest.raises(ValidationError) as caught:
        pairing_services.pairing_create(
            teacher=teacher,
            student=student,
            started_on=student.birth_date - dt.timedelta(days=1),
            backdated_reason="补录",
        )
    assert "出生日期" in caught.value.message_dict["started_on"][0]
    pairing = pairing_services.pairing_create(
        teacher=teacher, student=student, started_on=D(2026, 6, 1), backdated_reason="上学期已结对,补录系统"
    )
    assert pairing.backdated_reason == "上学期已结对,补录系统"


def test_the_officer_permits_a_late_entry_on_its_page_and_others_cannot(client, world):
    pairing = world.student_a1.pairings.get()
    url = reverse("guidance:late_entry", args=[pairing.pk])
    client.force_login(world.officer_a)
    page = client.get(url)
    offered = [value for value, _ in page.context["form"].fields["week"].choices]
    assert "2026-11-09" not in offered and "2026-11-16" not in offered  # the open window needs none
    assert offered[0] == "2026-11-02"  # newest first
    response = client.post(url, {"week": "2026-10-12", "reason": "教师外出培训"}, follow=True)
    assert "已准许" in response.content.decode() and "第7周" in response.content.decode()
    assert pairing.late_permissions.get().reason == "教师外出培训"
    for user, status in ((world.teacher_a1, 403), (world.officer_b, 404), (world.county, 403)):
        client.force_login(user)
        assert client.post(url, {"week": "2026-10-19", "reason": "x"}).status_code == status
    assert pairing.late_permissions.count() == 1


def test_new_holiday_data_that_closes_a_talked_week_never_hides_a_missed_one(world, monkeypatch):
    # A newer chinese-calendar release declaring 2026-11-09..13 holidays acts like a county closure.
    pairing = world.student_a1.pairings.get()
    school_weeks = weeks(world)
    talk_in_weeks(pairing, [*school_weeks[:9], school_weeks[10]])  # week 10 missed, week 11 talked
    from zaoyang_aid import calendar as term_calendar

    real = term_calendar.chinese_calendar.is_workday
    monkeypatch.setattr(
        term_calendar.chinese_calendar,
        "is_workday",
        lambda day: False if D(2026, 11, 9) <= day <= D(2026, 11, 13) else real(day),
    )
    term_calendar.is_working_day.cache_clear()
    calendars.forget()  # the school weeks this process computed with the old holidays
    try:
        row = figures([pairing], world.term)[pairing.pk]
        assert (row.expected_weeks, row.done_weeks, row.missed_weeks) == (10, 9, 1)
        assert row == recount([pairing], world.term)[pairing.pk]
    finally:
        term_calendar.is_working_day.cache_clear()
        calendars.forget()


def test_the_student_form_no_longer_edits_the_school_or_the_status_in_place(world):
    from pairing.forms import StudentForm
    from pairing.models import School

    form = StudentForm(instance=world.student_a1, schools=School.objects.all())
    assert form.fields["school"].disabled
    assert "enrollment_status" not in form.fields


def test_a_late_sweep_after_a_transfer_tells_the_old_schools_officer(world):
    pairing_services.student_transfer(
        student=world.student_a1, to_school=world.school_b, on=D(2026, 11, 16), reason="随父母迁居", by=world.county
    )
    due = [d for d in find_due(on=D(2026, 11, 9)).due if d.student_id == world.student_a1.pk]
    assert due and {d.school_id for d in due} == {world.school_a.pk}


def test_the_missed_week_link_says_when_the_week_needs_the_officers_permission(client, world):
    pairing = world.student_a1.pairings.get()
    client.force_login(world.teacher_a1)
    url = reverse("guidance:talk_create", args=[pairing.pk])
    assert "补记第11周" in client.get(url, {"week": "2026-11-09"}).content.decode()
    old = client.get(url, {"week": "2026-10-12"}).content.decode()
    assert "第7周(10.12-10.18)已过补记期限" in old and "准许补录" in old
    services.late_entry_permit(pairing=pairing, week_monday=D(2026, 10, 12), reason="培训", granted_by=world.officer_a)
    assert "学校资助专干已准许" in client.get(url, {"week": "2026-10-12"}).content.decode()


def test_the_transfer_page_is_the_schools_and_the_countys_only(client, world):
    url = reverse("pairing:student_transfer", args=[world.student_a1.pk])
    data = {"to_school": world.school_b.pk, "on": "2026-11-16", "reason": "随父母迁居"}
    for user, status in ((world.teacher_a1, 403), (world.counsellor_a, 403), (world.officer_b, 404)):
        client.force_login(user)
        assert client.get(url).status_code == status
        assert client.post(url, data).status_code == status
    world.student_a1.refresh_from_db()
    assert world.student_a1.school_id == world.school_a.pk
    client.force_login(world.officer_a)
    assert client.get(url).status_code == 200
    assert client.post(url, data).status_code == 302  # then out of her scope: back to her list
    world.student_a1.refresh_from_db()
    assert world.student_a1.school_id == world.school_b.pk


def test_the_late_entry_page_runs_the_same_queries_for_one_permission_or_three(
    client, world, django_assert_num_queries
):
    pairing = world.student_a1.pairings.get()
    url = reverse("guidance:late_entry", args=[pairing.pk])
    client.force_login(world.officer_a)
    services.late_entry_permit(pairing=pairing, week_monday=D(2026, 10, 12), reason="培训", granted_by=world.officer_a)
    client.get(url)
    # 1 session, 2 user with their staff row (zaoyang_aid/backends.py), 3 the pairing, 4 the talks'
    # weeks and 5 the permissions' weeks (taken), 6 the navbar's unread count, 7 the permissions with
    # their officer, 8 their talks (the terms and closures of today, of the open window and of the
    # weeks offered: the cached calendar, pairing/calendars.py);
    # no session save (the warm-up request stamped it, zaoyang_aid/sessions.py).
    with django_assert_num_queries(8) as one:
        client.get(url)
    for monday in (D(2026, 10, 19), D(2026, 10, 26)):
        services.late_entry_permit(pairing=pairing, week_monday=monday, reason="培训", granted_by=world.officer_a)
    with django_assert_num_queries(len(one.captured_queries)):
        client.get(url)
