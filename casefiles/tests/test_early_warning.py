"""预警 (issue 11, point 5): each sign against its county threshold, the flags kept night by night
(raised, updated, ended, handled until the sign returns), no counselling note in any reason, the
pages by role, the marks on the teacher's card and the officer's dashboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from casefiles.early_warning import family_event_record, signs_on, warning_handle, warning_settings, warnings_refresh
from casefiles.models import FamilyEvent, FamilyEventKind, WarningFlag, WarningSign
from casefiles.tests.factories import TermResultFactory
from guidance.models import Notification
from guidance.tests.factories import CounsellingRecordFactory, HomeVisitFactory, TalkRecordFactory
from pairing.models import EnrollmentStatus
from pairing.services import student_status_change
from pairing.tests import factories as f

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 11, 16)  # the world's day


def signs_of(student, on=MONDAY) -> dict[str, str]:
    return {sign: value for (student_id, sign), value in signs_on(on).items() if student_id == student.pk}


def talk_every_week(pairing, until=MONDAY) -> None:
    """A talk in each school week from the pairing's start up to ``until``: nothing missed."""
    day = dt.date(2026, 9, 1)
    while day <= until:
        TalkRecordFactory(pairing=pairing, date=day)
        day += dt.timedelta(days=7)


# --- The signs ----------------------------------------------------------------------------------


def test_missed_talks_are_a_sign_from_the_threshold_the_county_set(world):
    pairing = world.student_a1.pairings.get()
    talk_every_week(pairing)
    assert WarningSign.MISSED_TALKS not in signs_of(world.student_a1)
    # No talks at all at student_a2: every elapsed week missed, far past the default of 2.
    value = signs_of(world.student_a2)[WarningSign.MISSED_TALKS]
    assert value.startswith("本学期漏记谈心") and value.endswith("(阈值2周)")

    rules = warning_settings()
    rules.missed_weeks = 99
    rules.save()
    assert WarningSign.MISSED_TALKS not in signs_of(world.student_a2)


def test_a_missed_home_visit_is_the_reminders_own_rule_at_the_officers_level(world):
    last_weeks = dt.date(2027, 1, 11)  # the term ends 2027-01-22: two school weeks left
    assert WarningSign.MISSED_VISIT not in signs_of(world.student_a1)  # mid-term
    assert "仅剩2个教学周" in signs_of(world.student_a1, on=last_weeks)[WarningSign.MISSED_VISIT]
    HomeVisitFactory(pairing=world.student_a1.pairings.get(), date=dt.date(2026, 10, 10))
    assert WarningSign.MISSED_VISIT not in signs_of(world.student_a1, on=last_weeks)


def test_last_terms_visit_that_never_happened_is_a_missed_visit(world):
    spring = f.TermFactory(
        school_year=f.SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 3, 1),
        end_date=dt.date(2026, 7, 10),
    )
    from pairing.models import Pairing

    Pairing.objects.update(started_on=dt.date(2026, 3, 2))  # every world pairing began last spring
    HomeVisitFactory(pairing=world.student_a2.pairings.get(), date=dt.date(2026, 5, 20))
    assert signs_of(world.student_a1)[WarningSign.MISSED_VISIT] == f"{spring.name}未家访"
    assert WarningSign.MISSED_VISIT not in signs_of(world.student_a2)  # visited last term


def test_a_result_drop_compares_the_means_of_the_latest_two_terms_out_of_100(world):
    spring = f.TermFactory(
        school_year=f.SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 3, 1),
        end_date=dt.date(2026, 7, 10),
    )
    for subject, before, now in (("语文", "90", "78"), ("数学", "80", "70")):
        TermResultFactory(student=world.student_a1, term=spring, subject=subject, score=Decimal(before))
        TermResultFactory(student=world.student_a1, term=world.term, subject=subject, score=Decimal(now))
    # Out of 150 the same share as 80 of 100: no drop for student_a2.
    TermResultFactory(student=world.student_a2, term=spring, subject="数学", score=Decimal("80"))
    TermResultFactory(
        student=world.student_a2, term=world.term, subject="数学", score=Decimal("120"), full_marks=Decimal(150)
    )

    assert signs_of(world.student_a1)[WarningSign.RESULT_DROP] == "平均成绩由85.0降至74.0(下降11.0分,阈值10分)"
    assert WarningSign.RESULT_DROP not in signs_of(world.student_a2)
    rules = warning_settings()
    rules.result_drop_points = Decimal("12")
    rules.save()
    assert WarningSign.RESULT_DROP not in signs_of(world.student_a1)


def test_mood_words_in_the_latest_talks_are_a_sign_and_only_the_word_is_shown(world):
    pairing = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 2), student_state="最近有些厌学,说家里让他去打工。")
    value = signs_of(world.student_a1)[WarningSign.MOOD]
    assert value == "最近3次谈心记录出现:“厌学”、“打工”"
    assert "家里" not in value  # the keyword, never the teacher's text

    # Three newer talks without the words push it out of "the latest three".
    for day in (dt.date(2026, 11, 5), dt.date(2026, 11, 9), dt.date(2026, 11, 12)):
        TalkRecordFactory(pairing=pairing, date=day)
    assert WarningSign.MOOD not in signs_of(world.student_a1)


def test_a_counsellors_notes_never_raise_or_word_a_sign(world):
    CounsellingRecordFactory(
        school=world.school_a,
        counsellor=world.counsellor_a,
        students=[world.student_a1],
        notes="学生说厌学,不想上学,情绪低落。",
    )
    warnings_refresh(on=MONDAY)
    assert WarningSign.MOOD not in signs_of(world.student_a1)
    assert not WarningFlag.objects.filter(value__contains="厌学").exists()


def test_a_family_event_is_a_sign_for_the_countys_number_of_days(world):
    family_event_record(
        student=world.student_a1,
        kind=FamilyEventKind.INCOME,
        occurred_on=dt.date(2026, 10, 1),
        note="父亲工地受伤,暂无收入",
        by=world.officer_a,
    )
    assert signs_of(world.student_a1)[WarningSign.FAMILY_EVENT] == "失业或收入骤减(2026年10月1日,90天内)"
    assert WarningSign.FAMILY_EVENT not in signs_of(world.student_a1, on=dt.date(2027, 1, 5))


def test_a_family_event_in_the_future_is_refused_at_its_field(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        family_event_record(
            student=world.student_a1,
            kind=FamilyEventKind.ILLNESS,
            occurred_on=MONDAY + dt.timedelta(days=1),
            note="",
            by=world.officer_a,
        )
    assert refused.value.message_dict == {"occurred_on": ["发生日期不能晚于今天。"]}
    assert not FamilyEvent.objects.exists()


def test_days_absent_without_leave_this_month_are_a_sign_from_the_threshold(world):
    from casefiles.dropouts import absence_note_create

    absence_note_create(
        by=world.teacher_a1, student_id=world.student_a1.pk, date_from=dt.date(2026, 11, 3), days=2, with_leave=False
    )
    absence_note_create(
        by=world.teacher_a1, student_id=world.student_a1.pk, date_from=dt.date(2026, 11, 10), days=4, with_leave=True
    )
    assert WarningSign.ABSENCE not in signs_of(world.student_a1)  # 2 days without leave; the 4 had leave
    absence_note_create(
        by=world.teacher_a1, student_id=world.student_a1.pk, date_from=dt.date(2026, 10, 27), days=3, with_leave=False
    )
    assert WarningSign.ABSENCE not in signs_of(world.student_a1)  # October's are not this month's
    absence_note_create(
        by=world.teacher_a1, student_id=world.student_a1.pk, date_from=dt.date(2026, 11, 13), days=1, with_leave=False
    )
    assert signs_of(world.student_a1)[WarningSign.ABSENCE] == "本月无故缺勤3天(阈值3天)"
    assert WarningSign.ABSENCE not in signs_of(world.student_a1, on=dt.date(2026, 12, 1))  # a new month


def test_only_students_at_school_are_looked_at(world):
    student_status_change(
        student=world.student_a2,
        status=EnrollmentStatus.DROPPED_OUT,
        on=dt.date(2026, 11, 2),
        reason="外出打工",
        by=world.officer_a,
    )
    assert signs_of(world.student_a2) == {}


# --- The flags, night by night --------------------------------------------------------------------


def test_a_refresh_raises_once_and_run_again_changes_nothing_nor_notifies_twice(world):
    first = warnings_refresh(on=MONDAY)
    flags = set(WarningFlag.objects.values_list("student_id", "sign"))
    assert first.raised == len(flags) > 0
    notices = Notification.objects.filter(source_key="warning-new:2026-11-16")
    assert set(notices.values_list("recipient_id", flat=True)) == {world.officer_a.pk, world.officer_b.pk}

    again = warnings_refresh(on=MONDAY)
    assert (again.raised, again.ended) == (0, 0)
    assert set(WarningFlag.objects.values_list("student_id", "sign")) == flags
    assert notices.count() == 2


def test_each_paired_teacher_is_told_once_which_of_her_students_were_flagged(world):
    warnings_refresh(on=MONDAY)
    warnings_refresh(on=MONDAY)
    notice = Notification.objects.get(recipient=world.teacher_a1, source_key="warning-new-paired:2026-11-16")
    assert notice.title == "预警:您包保的1名学生出现辍学前兆"
    assert notice.body.startswith("张小明(漏记谈心)")
    assert not Notification.objects.filter(recipient=world.counsellor_a).exists()


def test_handling_clears_the_flag_until_the_sign_returns(world):
    family_event_record(
        student=world.student_a1,
        kind=FamilyEventKind.ILLNESS,
        occurred_on=dt.date(2026, 11, 1),
        note="",
        by=world.officer_a,
    )
    warnings_refresh(on=MONDAY)
    flag = WarningFlag.objects.get(student=world.student_a1, sign=WarningSign.FAMILY_EVENT)
    warning_handle(flag=flag, by=world.officer_a, action="已家访,申请临时救助")
    assert not WarningFlag.objects.open().filter(pk=flag.pk).exists()

    warnings_refresh(on=MONDAY + dt.timedelta(days=7))  # the sign is still there: no new flag
    assert WarningFlag.objects.filter(student=world.student_a1, sign=WarningSign.FAMILY_EVENT).count() == 1

    warnings_refresh(on=dt.date(2027, 2, 5))  # 96 days on: the sign has gone, the episode ends
    flag.refresh_from_db()
    assert flag.ended_on == dt.date(2027, 2, 5)

    family_event_record(
        student=world.student_a1,
        kind=FamilyEventKind.DEATH,
        occurred_on=dt.date(2027, 2, 6),
        note="",
        by=world.officer_a,
        today=dt.date(2027, 2, 8),
    )
    warnings_refresh(on=dt.date(2027, 2, 8))  # it returns: a new flag, open
    again = WarningFlag.objects.open().get(student=world.student_a1, sign=WarningSign.FAMILY_EVENT)
    assert again.pk != flag.pk and again.raised_on == dt.date(2027, 2, 8)


def test_a_handled_or_ended_flag_is_refused_a_second_handling(world):
    from django.core.exceptions import ValidationError

    warnings_refresh(on=MONDAY)
    flag = WarningFlag.objects.filter(student=world.student_a2).first()
    warning_handle(flag=flag, by=world.officer_a, action="已提醒包保教师")
    with pytest.raises(ValidationError, match="已由他人登记处理"):
        warning_handle(flag=flag, by=world.officer_a, action="再次")
    with pytest.raises(ValidationError) as empty:
        warning_handle(flag=WarningFlag.objects.open().first() or flag, by=world.officer_a, action="  ")
    assert "请填写采取的措施。" in str(empty.value)


# --- Pages ----------------------------------------------------------------------------------------


@pytest.fixture
def flagged(world):
    warnings_refresh(on=MONDAY)  # every world student has missed every week so far
    return world


def test_the_officer_sees_her_schools_flags_and_the_county_all(client, flagged):
    client.force_login(flagged.officer_a)
    page = client.get(reverse("casefiles:warning_list")).context["page"]
    assert {flag.student.school_id for flag in page} == {flagged.school_a.pk}
    client.force_login(flagged.county)
    page = client.get(reverse("casefiles:warning_list")).context["page"]
    assert {flag.student.school_id for flag in page} == {flagged.school_a.pk, flagged.school_b.pk}


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "admin", "nobody"])
def test_the_list_is_refused_to_other_roles(client, flagged, who):
    client.force_login(getattr(flagged, who))
    assert client.get(reverse("casefiles:warning_list")).status_code in (302, 403)


def test_the_list_runs_the_same_queries_for_1_or_30_flags(client, flagged, django_assert_max_num_queries):
    client.force_login(flagged.county)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("casefiles:warning_list"))
    for _ in range(10):
        pairing = f.PairingFactory(teacher__school=flagged.school_b)
        WarningFlag.objects.create(
            student=pairing.student, sign=WarningSign.MISSED_TALKS, value="x", raised_on=MONDAY, seen_on=MONDAY
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("casefiles:warning_list"))


def test_the_officer_handles_a_flag_of_her_school_and_not_another(client, flagged):
    mine = WarningFlag.objects.filter(student=flagged.student_a1).first()
    theirs = WarningFlag.objects.filter(student=flagged.student_b1).first()
    client.force_login(flagged.officer_a)
    assert client.get(reverse("casefiles:warning_handle", args=[theirs.pk])).status_code == 404
    empty = client.post(reverse("casefiles:warning_handle", args=[mine.pk]), {"action": ""})
    assert "这个字段是必填项。" in empty.content.decode() or "请填写" in empty.content.decode()
    done = client.post(reverse("casefiles:warning_handle", args=[mine.pk]), {"action": "已与家长沟通"})
    assert done.status_code == 302
    mine.refresh_from_db()
    assert mine.action == "已与家长沟通" and mine.handled_by == flagged.officer_a
    client.force_login(flagged.county)  # county staff read, the school acts
    assert client.get(reverse("casefiles:warning_handle", args=[mine.pk])).status_code in (302, 403)


def test_the_paired_teacher_and_the_officer_record_a_family_event_others_may_not(client, flagged):
    url = reverse("casefiles:family_event_create", args=[flagged.student_a1.pk])
    data = {"kind": FamilyEventKind.ILLNESS, "occurred_on": "2026-11-10", "note": "母亲住院"}
    for who, status in (
        ("teacher_a2", (403, 404)),
        ("county", (403,)),
        ("officer_b", (404,)),
        ("counsellor_a", (403,)),
    ):
        client.force_login(getattr(flagged, who))
        assert client.post(url, data).status_code in status, who
    assert not FamilyEvent.objects.exists()
    client.force_login(flagged.teacher_a1)
    assert client.post(url, data).status_code == 302
    client.force_login(flagged.officer_a)
    assert client.post(url, data | {"occurred_on": "2026-11-30"}).status_code == 200  # refused at the field
    assert FamilyEvent.objects.count() == 1


def test_the_county_sets_the_thresholds_with_errors_at_the_field(client, flagged):
    url = reverse("casefiles:warning_settings")
    client.force_login(flagged.officer_a)
    assert client.get(url).status_code in (302, 403)
    client.force_login(flagged.county)
    form = {
        "absence_days": "0",
        "result_drop_points": "10",
        "mood_keywords": "厌学",
        "mood_talks": "3",
        "missed_weeks": "2",
        "family_event_days": "90",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200 and refused.context["form"].errors
    assert client.post(url, form | {"absence_days": "5"}).status_code == 302
    assert warning_settings().absence_days == 5 and warning_settings().keywords == ["厌学"]


def test_the_teachers_card_and_the_officers_dashboard_show_each_sign_with_its_value(client, flagged):
    client.force_login(flagged.teacher_a1)
    html = client.get(reverse("guidance:my_students")).content.decode()
    assert "预警·漏记谈心" in html and "(阈值2周)" in html
    client.force_login(flagged.officer_a)
    html = client.get(reverse("guidance:school_dashboard")).content.decode()
    assert "名学生有待处理的辍学预警" in html and "预警·漏记谈心" in html
    flag = WarningFlag.objects.get(student=flagged.student_a1, sign=WarningSign.MISSED_TALKS)
    assert reverse("casefiles:warning_handle", args=[flag.pk]) in html


# Every 预警 URL for every role: who may open it (200), who is refused (403, or 404 for a row outside
# the reader's scope) and the anonymous visitor sent to the login page (302).
WALK = {
    "list": {"officer_a": 200, "officer_b": 200, "county": 200, "teacher_a1": 403, "counsellor_a": 403, "admin": 403},
    "handle": {"officer_a": 200, "officer_b": 404, "county": 403, "teacher_a1": 403, "counsellor_a": 403, "admin": 403},
    "settings": {
        "officer_a": 403,
        "officer_b": 403,
        "county": 200,
        "teacher_a1": 403,
        "counsellor_a": 403,
        "admin": 403,
    },
    "family_event": {
        "officer_a": 200,
        "officer_b": 404,
        "county": 403,
        "teacher_a1": 200,
        "teacher_a2": 404,
        "counsellor_a": 403,
        "admin": 403,
    },
}


def _walk_url(kind, world):
    flag = WarningFlag.objects.filter(student=world.student_a1).first()
    return {
        "list": reverse("casefiles:warning_list"),
        "handle": reverse("casefiles:warning_handle", args=[flag.pk]),
        "settings": reverse("casefiles:warning_settings"),
        "family_event": reverse("casefiles:family_event_create", args=[world.student_a1.pk]),
    }[kind]


@pytest.mark.parametrize("kind", list(WALK))
def test_every_url_for_every_role(client, flagged, kind):
    url = _walk_url(kind, flagged)
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for who, status in WALK[kind].items():
        client.force_login(getattr(flagged, who))
        assert client.get(url).status_code == status, (kind, who)
