"""部门名单比对, the reads of its pages: each shaped so that the page runs the same number of queries
for 5 rows or 5,000 (casefiles/tests/test_crosscheck_pages.py pins them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Value, When

from pairing.models import HardshipAssessment, HardshipLevel

from .models import CheckMissed, CheckProposal, DepartmentCheck, ProposalDecision

RECENT_CHECKS = 30


def department_checks_recent(user: Any) -> list[DepartmentCheck]:
    """The upload page's list: the latest checks the reader may open, with their pending counts."""
    checks = (
        DepartmentCheck.objects.visible_to(user)
        .select_related("school", "uploaded_by", "term__school_year")
        .annotate(pending=Count("proposals", filter=Q(proposals__decision=ProposalDecision.PENDING)))
        .order_by("-created_at", "-pk")
    )
    return list(checks[:RECENT_CHECKS])


@dataclass
class CheckPage:
    check: DepartmentCheck
    proposals: QuerySet[CheckProposal]  # pending first; each with ``has_assessment``
    missed: QuerySet[CheckMissed]


def department_check_page(user: Any, pk: int) -> CheckPage:
    """One check with its proposals (each annotated ``has_assessment``: the student has a 认定 of the
    check's term, so a confirm needs no level) and its possibly-missed students, as querysets for
    the page's paginators. DoesNotExist when the reader may not open it."""
    check = (
        DepartmentCheck.objects.visible_to(user).select_related("school", "uploaded_by", "term__school_year").get(pk=pk)
    )
    assessed = HardshipAssessment.objects.filter(student_id=OuterRef("student_id"), term_id=check.term_id)
    pending_first = Case(When(decision=ProposalDecision.PENDING, then=Value(0)), default=Value(1))
    proposals = (
        CheckProposal.objects.filter(department_check=check)
        .select_related("student__school", "category", "decided_by")
        .annotate(has_assessment=Exists(assessed), done=pending_first)
        .order_by("done", "action", "student__school__name", "student__grade", "student__class_name", "pk")
    )
    missed = (
        CheckMissed.objects.filter(department_check=check)
        .select_related("student__school")
        .order_by("student__school__name", "student__grade", "student__class_name", "pk")
    )
    return CheckPage(check=check, proposals=proposals, missed=missed)


def with_level_choices(proposals: Iterable[CheckProposal]) -> None:
    """Each proposal's ``level_choices``: the levels its confirm form offers a student without a 认定
    of the term (one query for the page, whatever its rows)."""
    levels = levels_by_stage()
    for proposal in proposals:
        proposal.level_choices = levels.get(proposal.student.school.stage) or levels.get("", [])  # type: ignore[attr-defined]


def levels_by_stage() -> dict[str, list[HardshipLevel]]:
    """HardshipLevel.objects.for_stage for every stage, in one query: a stage's own levels when it
    has any, else the default ones (keyed "" for the stages without their own)."""
    by_stage: dict[str, list[HardshipLevel]] = defaultdict(list)
    for level in HardshipLevel.objects.filter(is_active=True).order_by("stage", "order"):
        by_stage[level.stage].append(level)
    return dict(by_stage)
