"""pairings_create (the pairing roster's batch entry) asks pairing_create's rules (pairing_problems,
one definition) on facts found for all pairings at once: the same errors with the same messages, the
batch's own earlier pairings counted, the clean pairings written and logged as pairing_create's
signals would, in a constant number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pairing import services
from pairing.models import EnrollmentStatus, Pairing
from pairing.tests import factories as f
from pairing.tests.world import World
from zaoyang_aid.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def _not_enrolled(world: World) -> dict[str, Any]:
    return {"student": f.StudentFactory(school=world.school_a, enrollment_status=EnrollmentStatus.DROPPED_OUT)}


def _paired(world: World) -> dict[str, Any]:
    return {"student": world.student_a1}


def _other_school(world: World) -> dict[str, Any]:
    return {"teacher": f.TeacherFactory(school=world.school_b)}


def _future(world: World) -> dict[str, Any]:
    return {"started_on": dt.date(2026, 12, 1)}


def _backdated(world: World) -> dict[str, Any]:
    return {"started_on": world.term.start_date - dt.timedelta(days=3)}


def _over_limit(world: World) -> dict[str, Any]:
    teacher = f.TeacherFactory(school=world.school_a)
    f.PairingFactory(teacher=teacher, student=f.StudentFactory(school=world.school_a))
    return {"teacher": teacher}


def _long_reason(world: World) -> dict[str, Any]:
    return {"started_on": world.term.start_date - dt.timedelta(days=3), "backdated_reason": "补" * 201}


CASES = [_not_enrolled, _paired, _other_school, _future, _backdated, _over_limit, _long_reason]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_a_bad_pairing_gets_the_same_errors_as_from_pairing_create(
    world: World, case: Callable[[World], dict[str, Any]]
) -> None:
    call = {
        "teacher": f.TeacherFactory(school=world.school_a),
        "student": f.StudentFactory(school=world.school_a),
        "started_on": dt.date(2026, 11, 10),
        **case(world),
    }
    with pytest.raises(ValidationError) as single:
        services.pairing_create(**call)

    batch = services.pairings_create(new=[services.NewPairing(**call)])

    assert {k: [v] for k, v in batch[0].items()} == single.value.message_dict
    assert not Pairing.objects.filter(teacher=call["teacher"], student=call["student"], ended_on__isnull=True).exists()


def test_the_batch_counts_its_own_earlier_pairings_and_logs_each_as_one_by_one(world: World) -> None:
    teacher = f.TeacherFactory(school=world.school_a)
    first, second = (f.StudentFactory(school=world.school_a) for _ in range(2))
    day = dt.date(2026, 11, 10)
    new = [
        services.NewPairing(teacher=teacher, student=first, started_on=day),
        services.NewPairing(teacher=f.TeacherFactory(school=world.school_a), student=first, started_on=day),
        services.NewPairing(teacher=teacher, student=second, started_on=day),  # the limit is 1 a teacher
        services.NewPairing(teacher=teacher, student=second, started_on=day, confirmed_over_limit=True),
    ]

    results = services.pairings_create(new=new)

    assert results[0] == {} and results[3] == {}
    assert results[1] == {"student": services.ACTIVE_PAIRING_EXISTS}
    assert list(results[2]) == ["confirmed_over_limit"]
    made = Pairing.objects.filter(teacher=teacher).order_by("pk")
    assert [p.student for p in made] == [first, second]
    lines = AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="结对", student_id__in=[first.pk, second.pk]
    )
    assert lines.count() == 2


def test_a_backdated_pairing_keeps_its_reason_as_pairing_create_does(world: World) -> None:
    student = f.StudentFactory(school=world.school_a)
    new = services.NewPairing(
        teacher=f.TeacherFactory(school=world.school_a),
        student=student,
        started_on=world.term.start_date - dt.timedelta(days=3),
        backdated_reason="暑期已结对",
    )

    assert services.pairings_create(new=[new]) == [{}]
    assert Pairing.objects.get(student=student).backdated_reason == "暑期已结对"


def test_the_queries_do_not_grow_with_the_pairings(world: World) -> None:
    def batch(n: int) -> list[services.NewPairing]:
        return [
            services.NewPairing(
                teacher=f.TeacherFactory(school=world.school_a),
                student=f.StudentFactory(school=world.school_a),
                started_on=dt.date(2026, 11, 10),
            )
            for _ in range(n)
        ]

    few, many = batch(2), batch(20)
    with CaptureQueriesContext(connection) as two:
        services.pairings_create(new=few)
    with CaptureQueriesContext(connection) as twenty:
        services.pairings_create(new=many)
    assert len(twenty) == len(two)
