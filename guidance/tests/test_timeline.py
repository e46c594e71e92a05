"""A student's timeline (guidance:timeline): talks and home visits, newest first, grouped by term, for
anyone who may see the student; counsellors see the student but not these records."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from pairing.tests import factories as pf

from .factories import HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db


def url(student):
    return reverse("guidance:timeline", args=[student.pk])


def spring_term():
    """2025-2026学年第二学期, the term before the world's."""
    return pf.TermFactory(
        school_year__start_year=2025, number=2, start_date=dt.date(2026, 3, 2), end_date=dt.date(2026, 7, 10)
    )


@pytest.fixture
def history(world):
    """张小明's records: two talks and a visit this term, a talk last spring with an earlier teacher."""
    pairing = world.student_a1.pairings.get()
    spring_term()
    earlier = pf.PairingFactory(
        student=world.student_a1,
        teacher__school=world.school_a,
        started_on=dt.date(2026, 3, 2),
        ended_on=dt.date(2026, 7, 10),
        end_reason="transfer",
    )
    return {
        "spring": TalkRecordFactory(pairing=earlier, date=dt.date(2026, 5, 11), content="春季学期的谈话"),
        "sept": TalkRecordFactory(pairing=pairing, date=dt.date(2026, 9, 8), content="九月的谈话"),
        "visit": HomeVisitFactory(pairing=pairing, date=dt.date(2026, 10, 17)),
        "nov": TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 12), content="十一月的谈话"),
    }


def open_timeline(client, user, student, **params):
    client.force_login(user)
    return client.get(url(student), params)


def entries(response):
    return [(block.term.name, [e.record for e in block.entries]) for block in response.context["timeline"].terms]


def test_the_timeline_lists_talks_and_visits_newest_first_grouped_by_term(client, world, history):
    response = open_timeline(client, world.officer_a, world.student_a1)
    assert response.status_code == 200
    assert entries(response) == [
        ("2026-2027学年第一学期", [history["nov"], history["visit"], history["sept"]]),
        ("2025-2026学年第二学期", [history["spring"]]),
    ]
    html = response.content.decode()
    assert html.index("十一月的谈话") < html.index("九月的谈话") < html.index("春季学期的谈话")
    assert "谈话2次 · 家访1次" in html


def test_each_entry_shows_its_tracks_and_forms_and_links_to_the_record(client, world, history):
    html = open_timeline(client, world.officer_a, world.student_a1).content.decode()
    assert "学业辅导" in html and "交流谈心" in html and "政策宣导" in html and "家长访谈" in html
    assert reverse("guidance:talk_detail", args=[history["nov"].pk]) in html
    assert reverse("guidance:visit_detail", args=[history["visit"].pk]) in html


def test_the_timeline_pages_by_term(client, world, history, monkeypatch):
    monkeypatch.setattr("guidance.selectors.TIMELINE_TERMS_PER_PAGE", 1)
    first = open_timeline(client, world.county, world.student_a1)
    assert [name for name, _ in entries(first)] == ["2026-2027学年第一学期"]
    assert "更早的学期" in first.content.decode()
    second = open_timeline(client, world.county, world.student_a1, page=2)
    assert entries(second) == [("2025-2026学年第二学期", [history["spring"]])]


def test_the_teacher_who_took_the_student_over_sees_the_whole_history_each_with_its_teacher(client, world, history):
    # Issue 7: a teacher who takes a student over takes over their help, the earlier talks included.
    response = open_timeline(client, world.teacher_a1, world.student_a1)
    assert entries(response) == [
        ("2026-2027学年第一学期", [history["nov"], history["visit"], history["sept"]]),
        ("2025-2026学年第二学期", [history["spring"]]),
    ]
    html = response.content.decode()
    assert "春季学期的谈话" in html and history["spring"].pairing.teacher.name in html
    client.force_login(world.teacher_a1)
    assert client.get(reverse("guidance:talk_detail", args=[history["spring"].pk])).status_code == 200


def test_the_earlier_teacher_no_longer_reads_the_student(client, world, history):
    earlier = history["spring"].pairing.teacher.user
    assert open_timeline(client, earlier, world.student_a1).status_code == 404
    client.force_login(earlier)  # their own record of the ended pairing stays theirs to read
    assert client.get(reverse("guidance:talk_detail", args=[history["spring"].pk])).status_code == 200
    assert client.get(reverse("guidance:talk_detail", args=[history["nov"].pk])).status_code == 404


def test_the_officer_and_the_county_see_every_pairings_records(client, world, history):
    for user in (world.officer_a, world.county):
        records = [r for _, rs in entries(open_timeline(client, user, world.student_a1)) for r in rs]
        assert len(records) == 4


def test_the_admin_role_sees_a_note_instead_of_the_records(client, world, history):
    # The 系统管理员 role reads no help records (zaoyang_aid.fields).
    response = open_timeline(client, world.admin, world.student_a1)
    assert entries(response) == []
    assert "系统管理员不查看这些记录" in response.content.decode()


def test_the_counsellor_sees_a_note_instead_of_talk_records(client, world, history):
    response = open_timeline(client, world.counsellor_a, world.student_a1)
    assert response.status_code == 200
    assert entries(response) == []
    html = response.content.decode()
    assert "心理健康教师不查看这些记录" in html and "十一月的谈话" not in html


@pytest.mark.parametrize("who", ["teacher_a2", "teacher_b1", "officer_b", "nobody"])
def test_colleagues_and_outsiders_cannot_open_the_timeline(client, world, history, who):
    assert open_timeline(client, getattr(world, who), world.student_a1).status_code == 404


def test_a_student_without_records_says_so(client, world):
    html = open_timeline(client, world.officer_a, world.student_a2).content.decode()
    assert "暂无谈心谈话或家访记录" in html


def test_the_student_record_links_to_the_timeline(client, world):
    client.force_login(world.officer_a)
    html = client.get(reverse("pairing:student_detail", args=[world.student_a1.pk])).content.decode()
    assert f'href="{url(world.student_a1)}"' in html


def test_the_timeline_runs_the_same_queries_for_few_or_many_records(client, world, django_assert_max_num_queries):
    pairing = world.student_a1.pairings.get()
    client.force_login(world.officer_a)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 9, 8))
    HomeVisitFactory(pairing=pairing)
    client.get(url(world.student_a1))
    # 1 session, 2 user with their staff row (zaoyang_aid/backends.py), 3 the student, 4 the terms with
    # records, 5 the talks with teachers, 6 the visits with teachers, 7 the excused weeks in those
    # terms, 8 the audit line (a read of the student's timeline), 9 the student's 五三卡 with their
    # terms, 10 the navbar's unread notifications; no session save (the warm-up request stamped it,
    # zaoyang_aid/sessions.py)
    with django_assert_max_num_queries(10) as few:
        client.get(url(world.student_a1))
    weeks = world.term.school_weeks()
    for week in weeks[1:11]:
        TalkRecordFactory(pairing=pairing, date=week.school_days[0])
    HomeVisitFactory(pairing=pairing, date=dt.date(2026, 11, 14))
    with django_assert_max_num_queries(10) as many:
        client.get(url(world.student_a1))
    assert len(few) == len(many) == 10


def test_an_excused_week_shows_on_the_timeline_as_excused(client, world):
    from guidance.tests.factories import ExcusedWeekFactory

    pairing = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 2))
    ExcusedWeekFactory(pairing=pairing, week_monday=dt.date(2026, 11, 9), excused_by=world.officer_a)
    client.force_login(world.officer_a)
    html = client.get(reverse("guidance:timeline", args=[world.student_a1.pk])).content.decode()
    assert 'data-kind="excused"' in html and "已免记" in html and "学生生病" in html
