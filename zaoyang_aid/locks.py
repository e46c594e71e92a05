"""Whether a student's records of a term may still change: one question, asked by every write.

When the school's 资助专干 signs off a student's case file for a term (casefiles' review), the term's
records of that student are locked: talk records, home visits, the 五三卡, term results,
attachments and counselling follow-ups of that term can no longer be added, edited or deleted until
the officer reopens the review (audited). The apps that write those records sit below casefiles and
may not import it, so casefiles registers its check here and every service asks ``term_lock_reason``
(or ``ensure_term_open``) before it writes, inside its transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError

# (student_id, term_id) -> a Chinese reason, or None when the term is open for that student.
TermLockCheck = Callable[[int, int], str | None]
_checks: list[TermLockCheck] = []


def term_lock_register(check: TermLockCheck) -> None:
    if check not in _checks:
        _checks.append(check)


def term_lock_reason(*, student_id: int, term_id: int) -> str | None:
    """Why the student's records of the term may not change now, or None."""
    for check in _checks:
        reason = check(student_id, term_id)
        if reason:
            return reason
    return None


def ensure_term_open(*, student_id: int, term_id: int) -> None:
    """Raise a ValidationError with the Chinese reason when the term is locked for the student."""
    reason = term_lock_reason(student_id=student_id, term_id=term_id)
    if reason:
        raise ValidationError(reason, code="term_locked")
