"""The officer's term checklist (casefiles.checklist) against hand-made records, and its constant
number of queries whatever the number of students.

The world stands on Monday 2026-11-16 10:00 (Asia/Shanghai), in 2026-2027学年第一学期 (its 五三卡
review opens on 2027-01-01). The students here are paired from Monday 2026-11-09: the only elapsed
school week they owe is the week of 11月9日.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casefiles.checklist import checklists_for
from guidance import quality
from guidance.models import FlagKind, TalkRecordFlag
from guidance.tests.factories import ExcusedWeekFactory, FiveThreeCardFactory, HomeVisitFactory, TalkRecordFactory
from pairing.tests.factories import PairingFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)


def new_pairing(world):
    return PairingFactory(teacher__school=world.school_a, started_on=dt.date(2026, 11, 9))


def oks(checklist):
    return {item.key: item.ok for item in checklist.items}


def test_a_student_with_every_record_passes_every_item(world):
    pairing = new_pairing(world)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 10), problems="作业常拖欠。")
    HomeVisitFactory(pairing=pairing, date=dt.date(2026, 11, 12))
    FiveThreeCardFactory(pairing=pairing)

    checklist = checklists_for([pairing.student_id], term=world.term, as_of=TODAY)[pairing.student_id]

    assert oks(checklist) == {"weekly": True, "visit": True, "card": True, "problems": True, "flags": True}
    assert checklist.ok


def test_a_student_with_no_record_fails_the_week_the_visit_and_the_card(world):
    pairing = new_pairing(world)

    checklist = checklists_for([pairing.student_id], term=world.term, as_of=TODAY)[pairing.student_id]

    assert oks(checklist) == {"weekly": False, "visit": False, "card": False, "problems": True, "flags": True}
    assert checklist.item("weekly").detail == "有1个应记录的教学周没有记录"
    assert checklist.item("visit").detail == "本学期还没有家访记录"
    assert checklist.item("card").detail == "本学期还没有填写五三卡"


def test_an_excused_week_is_not_owed(world):
    pairing = new_pairing(world)
    ExcusedWeekFactory(pairing=pairing, week_monday=dt.date(2026, 11, 9), excused_by=world.officer_a)

    checklist = checklists_for([pairing.student_id], term=world.term, as_of=TODAY)[pairing.student_id]

    assert checklist.item("weekly").ok


def test_a_problem_found_in_the_last_talk_is_not_yet_followed_up(world):
    pairing = new_pairing(world)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 9))
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 13), problems="与同学发生矛盾。")

    item = checklists_for([pairing.student_id], term=world.term, as_of=TODAY)[pairing.student_id].item("problems")

    assert not item.ok
    assert item.detail == "11月13日谈话发现的问题之后还没有跟进的谈话或家访"


def test_a_later_talk_follows_a_problem_up(world):
    pairing = new_pairing(world)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 10), problems="与同学发生矛盾。")
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 16))

    item = checklists_for([pairing.student_id], term=world.term, as_of=TODAY)[pairing.student_id].item("problems")

    assert item.ok


def test_the_card_must_be_reviewed_once_its_review_has_opened(world):
    pairing = new_pairing(world)
    FiveThreeCardFactory(pairing=pairing)

    before = checklists_for([pairing.student_id], term=world.term, as_of=TODAY)[pairing.student_id].item("card")
    after = checklists_for([pairing.student_id], term=world.term, as_of=dt.date(2027, 1, 4))[pairing.student_id]

    assert before.ok and "期末评定从2027年1月1日开始" in before.detail
    assert not after.item("card").ok and after.item("card").detail == "五三卡尚未期末评定"


def test_a_reviewed_card_passes_at_term_end(world):
    pairing = new_pairing(world)
    FiveThreeCardFactory(
        pairing=pairing, reviewed_at=dt.datetime(2027, 1, 4, 2, 0, tzinfo=dt.UTC), reviewed_by=world.teacher_a1
    )

    after = checklists_for([pairing.student_id], term=world.term, as_of=dt.date(2027, 1, 4))[pairing.student_id]

    assert after.item("card").ok


def test_a_visit_under_the_students_earlier_pairing_counts(world):
    earlier = PairingFactory(
        teacher__school=world.school_a,
        started_on=dt.date(2026, 9, 1),
        ended_on=dt.date(2026, 10, 30),
        end_reason="transfer",
    )
    HomeVisitFactory(pairing=earlier, date=dt.date(2026, 10, 17))
    PairingFactory(teacher__school=world.school_a, student=earlier.student, started_on=dt.date(2026, 11, 2))

    checklist = checklists_for([earlier.student_id], term=world.term, as_of=TODAY)[earlier.student_id]

    assert checklist.item("visit").ok


def test_the_checklist_runs_the_same_queries_for_one_student_or_many(world):
    pairings = [new_pairing(world) for _ in range(4)]
    for p in pairings[1:]:
        TalkRecordFactory(pairing=p, date=dt.date(2026, 11, 10), problems="作业常拖欠。")
        HomeVisitFactory(pairing=p, date=dt.date(2026, 11, 12))
        FiveThreeCardFactory(pairing=p)

    checklists_for([pairings[0].student_id], term=world.term, as_of=TODAY)  # warm: the term calendar
    with CaptureQueriesContext(connection) as one:
        checklists_for([pairings[0].student_id], term=world.term, as_of=TODAY)
    with CaptureQueriesContext(connection) as many:
        checklists_for([p.student_id for p in pairings], term=world.term, as_of=TODAY)

    assert len(one) == len(many)


def items_of(student, term):
    return {i.key: i for i in checklists_for([student.pk], term=term, as_of=TODAY)[student.pk].items}


def test_a_flag_not_yet_passed_fails_the_flags_item_and_passing_it_ticks_it(world):
    """The checklist asks guidance.quality for the term's flags (5. 标记的记录已答复)."""
    talk = TalkRecordFactory(pairing=world.student_a1.pairings.get())
    flag = TalkRecordFlag.objects.create(talk=talk, kind=FlagKind.SHORT, reason="篇幅过短")
    item = {
        i.key: i for i in checklists_for([world.student_a1.pk], term=talk.term, as_of=TODAY)[world.student_a1.pk].items
    }
    assert not item["flags"].ok

    quality.flag_clear(flag=flag, by=world.officer_a, version=flag.version)
    item = {
        i.key: i for i in checklists_for([world.student_a1.pk], term=talk.term, as_of=TODAY)[world.student_a1.pk].items
    }
    assert item["flags"].ok
