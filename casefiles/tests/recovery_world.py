"""Dropouts for the 劝返 tests: world.student_a1 drops out on DROPPED_ON (a Monday), through the
service every page uses, so the dated history is what the compliance engine reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from casefiles import recovery
from casefiles.models import RecoveryCase
from pairing import services as pairing_services
from pairing.models import EnrollmentStatus

DROPPED_ON = dt.date(2026, 10, 12)


def drop_out(student: Any, by: Any, on: dt.date = DROPPED_ON) -> None:
    pairing_services.student_status_change(
        student=student.pk, status=EnrollmentStatus.DROPPED_OUT, on=on, reason="外出打工", by=by
    )
    student.refresh_from_db()


def open_case(world: Any, student: Any = None, **overrides: Any) -> RecoveryCase:
    student = student or world.student_a1
    values: dict[str, Any] = {
        "student": student.pk,
        "by": world.officer_a,
        "leave_reason": "厌学,随亲戚外出打工",
        "village_cadre": "王建国(村委会主任)",
        "head_teacher": "刘老师",
    } | overrides
    return recovery.recovery_case_open(**values)
