"""动态管理 (issue 11, point 1): a move to another school of the county ends the pairing and tells
the new school's 资助专干 in the app (guidance.notices, registered with pairing.services)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from guidance.models import Notification
from guidance.notices import transfer_in_notify
from pairing import services
from pairing.tests import factories as f

pytestmark = pytest.mark.django_db

D = dt.date


def test_a_transfer_ends_the_pairing_and_tells_the_new_schools_officers_once(world):
    pairing = world.student_a1.pairings.get()
    officer_b2 = f.OfficerFactory(school=world.school_b).user
    change = services.student_transfer(
        student=world.student_a1, to_school=world.school_b, on=D(2026, 11, 9), reason="随父母迁居", by=world.officer_a
    )
    pairing.refresh_from_db()
    assert pairing.ended_on == D(2026, 11, 9) and pairing.end_reason == "school_transfer"
    told = Notification.objects.filter(source_key__startswith=f"transfer-in:{change.pk}:")
    assert set(told.values_list("recipient", flat=True)) == {world.officer_b.pk, officer_b2.pk}
    notice = told.first()
    assert world.student_a1.name in notice.title and world.school_a.name in notice.body
    assert notice.link == reverse("pairing:student_detail", args=[world.student_a1.pk])
    transfer_in_notify(change)  # run again: nobody is told twice
    assert told.count() == 2
    assert not Notification.objects.filter(recipient=world.officer_a).exists()


def test_a_transfer_refused_tells_no_one(world):
    with pytest.raises(ValidationError):
        services.student_transfer(
            student=world.student_a1, to_school=world.school_a, on=D(2026, 11, 9), reason="", by=world.officer_a
        )
    assert not Notification.objects.filter(source_key__startswith="transfer-in:").exists()
