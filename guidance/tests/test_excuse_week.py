"""免记: an officer excuses one school week of a pairing. The form starts at the current week, marks
the weeks that have a talk and refuses them unless the officer confirms (the talk is kept); messages
and the audit name the week; revoking asks first; only the school's officer may do any of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from guidance import selectors, services
from guidance.models import ExcusedWeek, TalkRecord
from pairing.tests import factories as pf
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import ExcusedWeekFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db

# The world stands on Monday 2026-11-16, 第12周 of its term; 第11周 began on 11-09.
THIS_MONDAY = dt.date(2026, 11, 16)
LAST_MONDAY = dt.date(2026, 11, 9)
LAST_WEEK_LABEL = "第11周(11.09-11.15)"
CONFIRM = "confirmed_has_talk"


def pairing_a1(world):
    return world.student_a1.pairings.get()


def excuse_url(pairing):
    return reverse("guidance:excuse_week", args=[pairing.pk])


def revoke_url(excused):
    return reverse("guidance:excuse_revoke", args=[excused.pk])


def excuse(world, pairing, monday, **kwargs):
    return ExcusedWeekFactory(pairing=pairing, week_monday=monday, excused_by=world.officer_a, **kwargs)


def flashed(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def create(world, pairing, monday, **kwargs):
    return services.excused_week_create(
        pairing=pairing,
        week_monday=monday,
        reason="illness",
        note="",
        excused_by=world.officer_a,
        term=world.term,
        as_of=THIS_MONDAY,
        **kwargs,
    )


# --- A week that already has a talk ---------------------------------------------------------------


def test_the_service_refuses_a_week_with_a_talk_unless_confirmed(world):
    pairing = pairing_a1(world)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 11))
    with pytest.raises(ValidationError) as caught:
        create(world, pairing, LAST_MONDAY)
    assert [e.code for e in caught.value.error_dict["week"]] == ["has_talk"]
    assert not ExcusedWeek.objects.exists()
    create(world, pairing, LAST_MONDAY, confirmed_has_talk=True)
    assert ExcusedWeek.objects.get().week_monday == LAST_MONDAY
    assert TalkRecord.objects.filter(pairing=pairing).count() == 1


def test_a_week_without_a_talk_needs_no_confirmation(world):
    TalkRecordFactory(pairing=pairing_a1(world), date=THIS_MONDAY)  # another week's talk
    assert create(world, pairing_a1(world), LAST_MONDAY).week_monday == LAST_MONDAY


# --- Messages and the list -------------------------------------------------------------------------


def test_a_week_of_another_term_is_labelled_with_its_term(world):
    spring = pf.TermFactory(
        school_year=pf.SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 3, 2),
        end_date=dt.date(2026, 7, 10),
    )
    labels = selectors.week_labels(
        school_id=world.school_a.pk, mondays={LAST_MONDAY, dt.date(2026, 3, 2), dt.date(2026, 8, 3)}, term=world.term
    )
    assert labels[LAST_MONDAY] == LAST_WEEK_LABEL
    assert labels[dt.date(2026, 3, 2)] == f"{spring.name}第1周(03.02-03.08)"
    assert labels[dt.date(2026, 8, 3)] == "2026年8月3日起的一周"  # summer: no school week


# --- Audit --------------------------------------------------------------------------------------------


def test_excusing_and_revoking_are_audited_with_the_week_named(client, world):
    pairing = pairing_a1(world)
    client.force_login(world.officer_a)
    client.post(excuse_url(pairing), {"week": "2026-11-09", "reason": "illness", "note": "住院"})
    excused = ExcusedWeek.objects.get()
    client.post(revoke_url(excused))
    events = list(AuditEvent.objects.filter(object_type="免记周").order_by("pk"))
    assert [e.action for e in events] == [AuditAction.CREATE, AuditAction.DELETE]
    assert {e.actor_id for e in events} == {world.officer_a.pk}
    assert {e.student_id for e in events} == {world.student_a1.pk}
    assert {e.object_id for e in events} == {str(excused.pk)}
    created, revoked = events[0].changes["免记周"], events[1].changes["免记周"]
    assert created[0] is None and LAST_WEEK_LABEL in created[1] and "学生生病" in created[1] and "住院" in created[1]
    assert revoked[1] is None and LAST_WEEK_LABEL in revoked[0]


def test_an_excuse_over_a_talk_is_audited_as_confirmed(world):
    TalkRecordFactory(pairing=pairing_a1(world), date=dt.date(2026, 11, 11))
    create(world, pairing_a1(world), LAST_MONDAY, confirmed_has_talk=True)
    event = AuditEvent.objects.get(object_type="免记周")
    assert event.changes["已有谈心谈话记录"] == [None, "仍然免记(记录保留)"]
