"""The teacher's 我的帮扶学生 (guidance:my_students): each student they 包保 with this week's state,
the weeks missed this term, the home visit, the last talk and one big button to record this week.

The world stands on Monday 2026-11-16, the first day of school week 12 of 2026-2027学年第一学期.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from guidance.models import TalkRecord
from pairing.models import HardshipAssessment, HardshipLevel, SpecialCategory
from pairing.tests import factories as pf

from .factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db

URL = "/my/students/"


def pairing_of(student):
    return student.pairings.get()


def talks_in_weeks(world, pairing, numbers):
    """One talk on the first school day of each of the term's school weeks ``numbers``."""
    weeks = {w.number: w for w in world.term.school_weeks()}
    for n in numbers:
        TalkRecordFactory(pairing=pairing, date=weeks[n].school_days[0])


def open_page(client, user):
    client.force_login(user)
    response = client.get(reverse("guidance:my_students"))
    assert response.status_code == 200
    return response


def row_for(response, pairing):
    return next(r for r in response.context["rows"] if r.pairing.pk == pairing.pk)


def test_the_teachers_page_keeps_the_old_address_and_is_their_home(client, world):
    assert reverse("guidance:my_students") == URL
    client.force_login(world.teacher_a1)
    assert client.get("/").url == URL


def test_the_navbar_offers_the_teacher_their_students(client, world):
    html = open_page(client, world.teacher_a1).content.decode()
    assert f'href="{URL}"' in html and "我的帮扶学生" in html


@pytest.mark.parametrize("who", ["county", "admin", "nobody"])
def test_roles_outside_a_school_cannot_open_the_teachers_page(client, world, who):
    client.force_login(getattr(world, who))
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("who", ["officer_a", "counsellor_a"])
def test_school_staff_who_pair_no_student_see_an_empty_page(client, world, who):
    # Officers and counsellors may 包保 too (test_staff_who_pair.py); with none, the page says so.
    response = open_page(client, getattr(world, who))
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "您目前没有结对帮扶的学生" in response.content.decode()


def test_the_page_lists_only_the_teachers_own_active_pairings(client, world):
    ended = pf.PairingFactory(
        teacher=world.teacher_a1.teacher,
        started_on=dt.date(2026, 9, 1),
        ended_on=dt.date(2026, 10, 12),
        end_reason="transfer",
    )
    rows = open_page(client, world.teacher_a1).context["rows"]
    assert [r.pairing.student.name for r in rows] == ["张小明"]
    assert ended.pk not in {r.pairing.pk for r in rows}


def test_the_page_shows_the_term_and_this_school_week(client, world):
    html = open_page(client, world.teacher_a1).content.decode()
    assert "2026-2027学年第一学期" in html and "第12周(11.16-11.22)" in html


def test_a_student_with_every_past_week_recorded_is_due_this_week(client, world):
    pairing = pairing_of(world.student_a1)
    talks_in_weeks(world, pairing, range(1, 12))
    row = row_for(open_page(client, world.teacher_a1), pairing)
    assert row.compliance.week_state == "due"
    assert row.compliance.week_state_label == "本周待记录"
    assert row.badge_class == "text-bg-warning"
    assert row.compliance.missed_weeks == 0


def test_a_talk_today_marks_the_week_done(client, world):
    pairing = pairing_of(world.student_a1)
    talks_in_weeks(world, pairing, range(1, 12))
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 16))
    response = open_page(client, world.teacher_a1)
    row = row_for(response, pairing)
    assert row.compliance.week_state == "done"
    assert row.badge_class == "text-bg-success"
    assert "本周已完成" in response.content.decode()


def test_a_missed_last_week_shows_overdue_and_counts_as_missed(client, world):
    pairing = pairing_of(world.student_a1)
    talks_in_weeks(world, pairing, [*range(1, 9), 10])  # weeks 9 and 11 missed
    response = open_page(client, world.teacher_a1)
    row = row_for(response, pairing)
    assert row.compliance.week_state == "overdue"
    assert row.badge_class == "text-bg-danger"
    assert row.compliance.missed_weeks == 2
    html = response.content.decode()
    assert "上周未记录" in html and "2周" in html


def test_an_excused_week_shows_excused(client, world):
    pairing = pairing_of(world.student_a1)
    ExcusedWeekFactory(pairing=pairing, week_monday=dt.date(2026, 11, 16), excused_by=world.officer_a)
    row = row_for(open_page(client, world.teacher_a1), pairing)
    assert row.compliance.week_state == "excused"
    assert row.compliance.week_state_label == "本周已免记"


def test_the_home_visit_of_this_term_is_shown_done_or_not(client, world):
    visited = pairing_of(world.student_a1)
    other = pf.PairingFactory(teacher=world.teacher_a1.teacher, student__name="赵小燕")
    HomeVisitFactory(pairing=visited, date=dt.date(2026, 10, 17))
    response = open_page(client, world.teacher_a1)
    assert row_for(response, visited).compliance.home_visit_done
    assert not row_for(response, other).compliance.home_visit_done
    html = response.content.decode()
    assert "已家访" in html and "未家访" in html


def test_the_last_talk_is_shown_with_a_link_to_it(client, world):
    pairing = pairing_of(world.student_a1)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 3))
    latest = TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 12))
    response = open_page(client, world.teacher_a1)
    assert row_for(response, pairing).pairing.last_talk_on == dt.date(2026, 11, 12)
    html = response.content.decode()
    assert "11月12日" in html and reverse("guidance:talk_detail", args=[latest.pk]) in html


def test_each_student_has_a_button_to_record_this_weeks_talk_and_a_home_visit_link(client, world):
    pairing = pairing_of(world.student_a1)
    html = open_page(client, world.teacher_a1).content.decode()
    assert f'href="{reverse("guidance:talk_create", args=[pairing.pk])}"' in html
    assert "记录本周谈话" in html
    assert f'href="{reverse("guidance:visit_create")}?pairing={pairing.pk}"' in html
    assert f'href="{reverse("guidance:timeline", args=[pairing.student_id])}"' in html


def test_a_teacher_without_students_is_told_who_arranges_pairings(client, world):
    teacher = pf.TeacherFactory(school=world.school_a).user
    html = open_page(client, teacher).content.decode()
    assert "您目前没有结对帮扶的学生" in html


def assess(world, student):
    level = HardshipLevel.objects.get(name="困难", stage="")
    assessment = HardshipAssessment.objects.create(
        student=student, term=world.term, level=level, decided_on=world.term.start_date
    )
    assessment.categories.set(SpecialCategory.objects.all()[:2])


def add_pairings(world, n):
    """n more students for teacher A1, each with a guardian, an 认定, talks, an excused week and a visit."""
    for _ in range(n):
        pairing = pf.PairingFactory(teacher=world.teacher_a1.teacher)
        pf.GuardianFactory(student=pairing.student)
        assess(world, pairing.student)
        talks_in_weeks(world, pairing, [10, 11, 12])
        ExcusedWeekFactory(pairing=pairing, week_monday=dt.date(2026, 11, 2), excused_by=world.officer_a)
        HomeVisitFactory(pairing=pairing)


def test_the_page_runs_the_same_queries_for_one_student_or_five(client, world, django_assert_num_queries):
    assess(world, world.student_a1)
    client.force_login(world.teacher_a1)
    client.get(URL)  # warm: the session and the calendar caches
    # 1 session, 2 user with their staff row (scope: zaoyang_aid/backends.py; today's term and its
    # closures come from the cached calendar, pairing/calendars.py), 3 the pairings with student,
    # school, the student's latest talk, this term's talks under earlier pairings and the earlier
    # teacher, 4 guardians, 5 this term's 认定 with its level (the page shows no categories: they are
    # no longer read); the compliance engine on the pairings already read (compliance_of_rows, by
    # their ids): 6 enrollment history, 7 excused weeks, 8 the term tallies (talk weeks), 9 home
    # visits; 10 the user's unread notices (the teacher's reminders on the cards, and their number
    # for the navbar, which then does not count them again); 11-12 the 心理健康档案's follow-up
    # flags and the teacher's own counselling requests; 13 the early warning's open flags
    # (zaoyang_aid.marks); 14 the records returned for revision (quality.returned_to_teacher); no
    # session save (the warm-up request stamped it, zaoyang_aid/sessions.py)
    with django_assert_num_queries(14):
        assert len(client.get(URL).context["rows"]) == 1
    add_pairings(world, 4)
    with django_assert_num_queries(14):
        assert len(client.get(URL).context["rows"]) == 5
    assert TalkRecord.objects.count() == 12
