"""Officers and counsellors may 包保 a student too (the pairing form offers every school role): for
that student they do a teacher's work — 我的帮扶学生, talk records, home visits, the family's
situation — while the rest of their role's limits stay as they are."""

from __future__ import annotations

import pytest
from django.urls import reverse

from guidance.models import HomeVisit, TalkRecord
from pairing.models import HardshipAssessment, HardshipLevel, Pairing
from pairing.tests import factories as pf

from .factories import HomeVisitFactory, TalkRecordFactory
from .test_talk_records import talk_data

pytestmark = pytest.mark.django_db


def assess(student, term):
    level = HardshipLevel.objects.get(name="困难", stage="")
    return HardshipAssessment.objects.create(student=student, term=term, level=level, decided_on=term.start_date)


@pytest.fixture
def own_pairings(world):
    """The officer and the counsellor of school A each 包保 a student of their own."""
    return {
        who: pf.PairingFactory(teacher=getattr(world, who).teacher, student__name=name)
        for who, name in (("officer_a", "赵小燕"), ("counsellor_a", "周小军"))
    }


@pytest.mark.parametrize("who", ["officer_a", "counsellor_a"])
def test_the_navbar_offers_every_school_role_their_students(client, world, who):
    client.force_login(getattr(world, who))
    html = client.get(reverse("pairing:calendar")).content.decode()
    assert f'href="{reverse("guidance:my_students")}"' in html


@pytest.mark.parametrize(("who", "name"), [("officer_a", "赵小燕"), ("counsellor_a", "周小军")])
def test_staff_who_pair_see_their_student_on_their_page(client, world, own_pairings, who, name):
    client.force_login(getattr(world, who))
    rows = client.get(reverse("guidance:my_students")).context["rows"]
    assert [r.pairing.student.name for r in rows] == [name]


@pytest.mark.parametrize("who", ["officer_a", "counsellor_a"])
def test_staff_who_pair_record_and_edit_a_talk(client, world, own_pairings, who):
    user = getattr(world, who)
    pairing = own_pairings[who]
    client.force_login(user)

    response = client.post(reverse("guidance:talk_create", args=[pairing.pk]), talk_data())

    assert response.status_code == 302
    talk = TalkRecord.objects.get(pairing=pairing)
    assert talk.recorded_by == user
    detail = client.get(reverse("guidance:talk_detail", args=[talk.pk]))
    assert detail.status_code == 200 and detail.context["can_edit"]
    edited = client.post(reverse("guidance:talk_edit", args=[talk.pk]), talk_data(content="改过的内容"))
    assert edited.status_code == 302
    talk.refresh_from_db()
    assert talk.content == "改过的内容"


def test_a_counsellor_reads_the_records_of_her_own_pairing_only(client, world, own_pairings):
    own = TalkRecordFactory(pairing=own_pairings["counsellor_a"])
    visit = HomeVisitFactory(pairing=own_pairings["counsellor_a"])
    colleagues = TalkRecordFactory(pairing=Pairing.objects.get(student=world.student_a1))
    client.force_login(world.counsellor_a)

    assert client.get(reverse("guidance:talk_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("guidance:visit_detail", args=[visit.pk])).status_code == 200
    assert client.get(reverse("guidance:talk_detail", args=[colleagues.pk])).status_code == 404
    assert set(TalkRecord.objects.visible_to(world.counsellor_a)) == {own}
    assert set(HomeVisit.objects.visible_to(world.counsellor_a)) == {visit}


def test_a_counsellors_timeline_shows_her_own_students_records_and_a_note_for_others(client, world, own_pairings):
    own_student = own_pairings["counsellor_a"].student
    TalkRecordFactory(pairing=own_pairings["counsellor_a"])
    TalkRecordFactory(pairing=Pairing.objects.get(student=world.student_a1))
    client.force_login(world.counsellor_a)

    mine = client.get(reverse("guidance:timeline", args=[own_student.pk]))
    other = client.get(reverse("guidance:timeline", args=[world.student_a1.pk]))

    assert mine.context["timeline"].shown and len(mine.context["timeline"].terms[0].entries) == 1
    assert not other.context["timeline"].shown
    assert "心理健康教师不查看这些记录" in other.content.decode()


def test_a_counsellor_sees_the_family_of_the_student_she_pairs_and_no_other(client, world, own_pairings):
    own_student = own_pairings["counsellor_a"].student
    pf.HouseholdMemberFactory(household=own_student.household, annual_income=5432)
    assessment = assess(own_student, world.term)
    assess(world.student_a1, world.term)
    client.force_login(world.counsellor_a)

    mine = client.get(reverse("pairing:student_detail", args=[own_student.pk])).content.decode()
    other = client.get(reverse("pairing:student_detail", args=[world.student_a1.pk])).content.decode()

    assert "家庭成员" in mine and "5432" in mine
    assert "家庭成员" not in other and "8765" not in other
    assert list(HardshipAssessment.objects.visible_to(world.counsellor_a)) == [assessment]


def test_an_ended_pairing_takes_the_counsellors_view_of_the_family_away(client, world, own_pairings):
    pairing = own_pairings["counsellor_a"]
    Pairing.objects.filter(pk=pairing.pk).update(ended_on="2026-11-10", end_reason="other")
    pf.HouseholdMemberFactory(household=pairing.student.household, annual_income=5432)
    client.force_login(world.counsellor_a)

    html = client.get(reverse("pairing:student_detail", args=[pairing.student.pk])).content.decode()

    assert "5432" not in html
