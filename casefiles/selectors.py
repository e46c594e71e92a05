"""Reads of the review pages: the officer's list of a term, one student's review, the county's
progress. Each runs a constant number of queries whatever the number of students."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from pairing.models import Pairing, School, Student, Term, Town

from .checklist import Checklist, checklists_for
from .models import CaseFileReview, ReviewStatus


def students_in_term(user: Any, *, term: Term, as_of: dt.date) -> QuerySet[Student]:
    """The reader's students with a pairing at some time in the term (up to ``as_of``)."""
    paired = Pairing.objects.in_term(term, as_of).values("student_id")
    return Student.objects.visible_to(user).filter(pk__in=paired)


@dataclass
class ReviewRow:
    student: Student
    checklist: Checklist
    review: CaseFileReview | None = None

    @property
    def status(self) -> ReviewStatus:
        return ReviewStatus(self.review.status) if self.review else ReviewStatus.NOT_STARTED

    @property
    def comments(self) -> int:
        return getattr(self.review, "n_comments", 0) if self.review else 0

    @property
    def unanswered(self) -> int:
        return getattr(self.review, "n_unanswered", 0) if self.review else 0


def reviews_with_counts(term: Term) -> QuerySet[CaseFileReview]:
    return CaseFileReview.objects.filter(term=term).annotate(
        n_comments=Count("comments"), n_unanswered=Count("comments", filter=Q(comments__answered_at__isnull=True))
    )


def review_rows(user: Any, *, term: Term, as_of: dt.date, status: str = "", failing: str = "") -> list[ReviewRow]:
    """The officer's list: each student of her school with a pairing in the term, the review's status,
    the live checklist and the comment counts; narrowed by status and by a failing checklist item
    ("any" for any). Queries: the students, the reviews, the checklist's."""
    students = list(
        students_in_term(user, term=term, as_of=as_of)
        .select_related("school")  # class_label reads the school's stage
        .order_by("grade", "class_name", "name", "pk")
    )
    ids = [s.pk for s in students]
    reviews = {r.student_id: r for r in reviews_with_counts(term).filter(student_id__in=ids)}
    checklists = checklists_for(ids, term=term, as_of=as_of)
    rows = [ReviewRow(s, checklists[s.pk], reviews.get(s.pk)) for s in students]
    if status:
        rows = [r for r in rows if r.status == status]
    if failing == "any":
        rows = [r for r in rows if not r.checklist.ok]
    elif failing:
        rows = [r for r in rows if not r.checklist.item(failing).ok]
    return rows


@dataclass
class Progress:
    """Review progress of a group (a school, a town, the county)."""

    pk: int = 0
    name: str = ""
    students: int = 0
    in_progress: int = 0
    signed_off: int = 0
    schools: list[Progress] = field(default_factory=list)

    @property
    def not_started(self) -> int:
        return self.students - self.in_progress - self.signed_off

    @property
    def rate(self) -> float | None:
        return self.signed_off / self.students if self.students else None

    def add(self, other: Progress) -> None:
        self.students += other.students
        self.in_progress += other.in_progress
        self.signed_off += other.signed_off


def county_progress(user: Any, *, term: Term, as_of: dt.date) -> tuple[Progress, list[Progress]]:
    """The county's total and, per town, its schools' counts of 未开始 / 审核中 / 已签结 among the
    students with a pairing in the term. Three queries: students per school, reviews per school and
    status, the schools with their towns."""
    students = students_in_term(user, term=term, as_of=as_of)
    counts = dict(students.order_by().values("school_id").annotate(n=Count("pk")).values_list("school_id", "n"))
    by_status: dict[int, dict[str, int]] = defaultdict(dict)
    reviews = (
        CaseFileReview.objects.filter(term=term, student__in=students)
        .order_by()
        .values("student__school_id", "status")
        .annotate(n=Count("pk"))
        .values_list("student__school_id", "status", "n")
    )
    for school_id, status, n in reviews:
        by_status[school_id][status] = n
    towns: dict[int, Progress] = {}
    total = Progress(name="全市")
    schools = School.objects.filter(pk__in=list(counts)).select_related("town").order_by("town__code", "name")
    for school in schools:
        row = Progress(
            school.pk,
            school.name,
            counts[school.pk],
            by_status[school.pk].get(ReviewStatus.IN_PROGRESS, 0),
            by_status[school.pk].get(ReviewStatus.SIGNED_OFF, 0),
        )
        town: Town = school.town
        group = towns.setdefault(town.pk, Progress(town.pk, town.name))
        group.add(row)
        group.schools.append(row)
        total.add(row)
    return total, list(towns.values())
