"""辍学学生台账 and 劝返 cases, the reads: the ledger's students (every dropout of the reader's scope,
and every student with a case, so a case returned and closed stays in sight), shaped so that the
page and its report run the same number of queries for 5 rows or 5,000
(casefiles/tests/test_recovery_pages.py pins them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from pairing.models import EnrollmentChange, EnrollmentStatus, Student

from .filters import LedgerState, RecoveryLedgerFilter
from .models import RecoveryAttempt, RecoveryCase, RecoveryStatus

# The ledger's order: overdue first, then what needs doing (no plan yet, open, to close), then the closed.
STATE_RANK = {
    LedgerState.NO_PLAN: 0,
    LedgerState.OPEN: 1,
    LedgerState.TO_CLOSE: 2,
    LedgerState.RETURNED: 3,
    LedgerState.OTHER: 4,
}


def cases_for_ledger() -> QuerySet[RecoveryCase]:
    """Cases with what a ledger row shows: the responsible people, the attempt count and the last
    attempt (date, how, outcome), the due date of the overdue rule; open first, then the latest."""
    last = RecoveryAttempt.objects.filter(case_id=OuterRef("pk")).order_by("-date", "-pk")
    count = (
        RecoveryAttempt.objects.filter(case_id=OuterRef("pk"))
        .order_by()
        .values("case_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        RecoveryCase.objects.with_due()
        .select_related("teacher__user", "officer")
        .annotate(
            last_method=Subquery(last.values("method")[:1]),
            last_outcome=Subquery(last.values("outcome")[:1]),
            attempt_count=Subquery(count, output_field=IntegerField()),
            open_first=Case(When(status=RecoveryStatus.OPEN, then=Value(0)), default=Value(1)),
        )
        .order_by("open_first", "-opened_on", "-pk")
    )


def ledger_students(user: Any, *, today: dt.date) -> QuerySet[Student]:
    """The reader's dropouts and students with a case, each annotated ``recovery_state`` (LedgerState),
    ``recovery_overdue`` and ``dropped_on``, with ``ledger_cases`` (cases_for_ledger) prefetched."""
    any_case = RecoveryCase.objects.filter(student_id=OuterRef("pk"))
    open_case = any_case.filter(status=RecoveryStatus.OPEN)
    latest_status = Subquery(any_case.order_by("-opened_on", "-pk").values("status")[:1])
    dropped = Q(enrollment_status=EnrollmentStatus.DROPPED_OUT)
    state = Case(
        When(Exists(open_case) & Q(enrollment_status=EnrollmentStatus.ENROLLED), then=Value(LedgerState.TO_CLOSE)),
        When(Exists(open_case), then=Value(LedgerState.OPEN)),
        When(dropped & Q(latest_case_status=RecoveryStatus.OTHER), then=Value(LedgerState.OTHER)),
        When(dropped, then=Value(LedgerState.NO_PLAN)),
        default="latest_case_status",
    )
    rank = Case(*(When(recovery_state=s, then=Value(r)) for s, r in STATE_RANK.items()), default=Value(9))
    dropped_on = (
        EnrollmentChange.objects.filter(student_id=OuterRef("pk"), status=EnrollmentStatus.DROPPED_OUT)
        .order_by("-effective_on", "-pk")
        .values("effective_on")[:1]
    )
    overdue = RecoveryCase.objects.overdue(today).filter(student_id=OuterRef("pk"))
    return (
        Student.objects.visible_to(user)
        .filter(dropped | Exists(any_case))
        .select_related("school__town")
        .annotate(latest_case_status=latest_status)
        .annotate(
            recovery_state=state,
            recovery_overdue=Exists(overdue),
            dropped_on=Subquery(dropped_on),
        )
        .annotate(state_rank=rank)
        .prefetch_related(Prefetch("recovery_cases", queryset=cases_for_ledger(), to_attr="ledger_cases"))
        .order_by("-recovery_overdue", "state_rank", "school__town__code", "school__name", "grade", "class_name", "pk")
    )


def recovery_ledger_filter(user: Any, params: Any, *, today: dt.date) -> RecoveryLedgerFilter:
    """The ledger's bound FilterSet (nothing read until its .qs is): the page and the report start here."""
    return RecoveryLedgerFilter(params, queryset=ledger_students(user, today=today), request_user=user)


@dataclass(frozen=True)
class LedgerCounts:
    by_state: dict[str, int]
    overdue: int

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def states(self) -> list[tuple[str, str, int]]:
        """(state, label, count) in the ledger's order, for the page's summary line."""
        return [(s.value, s.label, self.by_state.get(s.value, 0)) for s in STATE_RANK]


def ledger_counts(students: QuerySet[Any]) -> LedgerCounts:  # annotated by ledger_students
    """The filtered ledger's rows per state and how many are overdue (one query)."""
    rows = (
        students.prefetch_related(None)
        .order_by()
        .values("recovery_state")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(recovery_overdue=True)))
    )
    by_state, overdue = {}, 0
    for row in rows:
        by_state[row["recovery_state"]] = row["n"]
        overdue += row["late"]
    return LedgerCounts(by_state=by_state, overdue=overdue)


@dataclass(frozen=True)
class LedgerLine:
    """One row of the ledger, as the page and the report show it."""

    student: Student
    state: str
    state_label: str
    overdue: bool
    dropped_on: dt.date | None
    case: RecoveryCase | None  # the open case, else the latest; None: no plan yet
    days_open: int | None  # open: until today; closed: until its 销号

    @property
    def last_method_label(self) -> str:
        method = getattr(self.case, "last_method", None)
        return dict(RecoveryAttempt._meta.get_field("method").choices or []).get(method, "") if method else ""


def ledger_line(student: Student, *, today: dt.date) -> LedgerLine:
    cases: list[RecoveryCase] = getattr(student, "ledger_cases", [])
    case = cases[0] if cases else None
    state = student.recovery_state  # type: ignore[attr-defined]
    if state == LedgerState.NO_PLAN:
        case = None  # a closed case of an earlier dropout is not this one's plan
    days = None
    if case is not None:
        days = ((case.closed_on or today) - case.opened_on).days
    return LedgerLine(
        student=student,
        state=state,
        state_label=LedgerState(state).label,
        overdue=bool(student.recovery_overdue),  # type: ignore[attr-defined]
        dropped_on=student.dropped_on,  # type: ignore[attr-defined]
        case=case,
        days_open=days,
    )


def case_page(user: Any, pk: int) -> RecoveryCase:
    """A case for its detail page, with its attempts (newest first); DoesNotExist outside the scope."""
    return (
        RecoveryCase.objects.visible_to(user)
        .with_due()
        .select_related("student__school__town", "teacher__user", "officer", "opened_by")
        .prefetch_related(
            Prefetch(
                "attempts", queryset=RecoveryAttempt.objects.select_related("recorded_by").order_by("-date", "-pk")
            )
        )
        .get(pk=pk)
    )


def student_cases(student_id: int) -> list[RecoveryCase]:
    """A student's cases with their attempts (the 帮扶档案 shows them), newest first."""
    return list(
        RecoveryCase.objects.filter(student_id=student_id)
        .select_related("teacher__user", "officer")
        .prefetch_related(Prefetch("attempts", queryset=RecoveryAttempt.objects.order_by("date", "pk")))
        .order_by("-opened_on", "-pk")
    )
