"""What the casefiles tests share: a review signed off in the world's term, a talk's plain values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from casefiles import services
from casefiles.models import CaseFileReview


def sign_off(world: Any, student: Any = None, *, note: str = "清单之外已当面核实。") -> CaseFileReview:
    """The officer signs off the student's file (a note, since the world's checklist fails)."""
    student = student or world.student_a1
    officer = world.officer_a if student.school_id == world.school_a.pk else world.officer_b
    review = CaseFileReview.objects.filter(student=student, term=world.term).first()
    return services.review_sign_off(
        student=student, term=world.term, by=officer, version=review.version if review else 0, note=note
    )


def talk_values(**overrides: Any) -> dict[str, Any]:
    return {
        "date": dt.date(2026, 11, 16),
        "duration_minutes": 30,
        "content": "交流本周学习情况。",
        "student_state": "情绪稳定。",
        "tracks": ["track_study"],
        "help_forms": ["form_talk"],
    } | overrides
