"""In-app notices written for the ground floor's services, which may not import Notification.

A student moved to another school of the county (pairing.services.student_transfer) arrives without
a pairing: the new school's 资助专干 is told at once, in her notification centre and so in her digest,
besides finding the student on her list of students without a pairing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse

from pairing.models import EnrollmentChange
from zaoyang_aid.access import Role

from .models import Notification, ReminderLevel


def transfer_in_notify(change: EnrollmentChange) -> int:
    """One notice per active officer of the new school, keyed by the move ("transfer-in:<id>:<date>",
    unique per recipient): called twice, it notifies no one twice. Runs inside the transfer's
    transaction (registered with pairing.services.transfer_listener_register), so a move rolled back
    tells no one. Returns the number of officers offered a notice."""
    if change.to_school_id is None:
        return 0
    student = change.student
    users = get_user_model().objects.filter(is_active=True, role=Role.OFFICER)
    officers = users.filter(teacher__school_id=change.to_school_id)
    from_name = change.from_school.name if change.from_school is not None else "外校"
    title = f"转入学生待结对:{student.name}"
    body = (
        f"{student.name}({student.class_label})于{change.effective_on:%Y-%m-%d}由{from_name}转入本校,"
        "原结对已结束。请为其安排帮扶教师结对,并核对本学期困难认定。"
    )
    key = f"transfer-in:{change.pk}:{change.effective_on:%Y-%m-%d}"
    rows = [
        Notification(
            recipient=officer,
            level=ReminderLevel.OFFICER,
            title=title[:100],
            body=body[:500],
            link=reverse("pairing:student_detail", args=[student.pk]),
            source_key=key,
        )
        for officer in officers
    ]
    return len(Notification.objects.bulk_create(rows, ignore_conflicts=True))
