"""Reads of the case file (帮扶档案): one student's whole file, as far as the reader may see it, in a
constant number of queries however many records it holds.

Reads of the review pages: the officer's list of a term, one student's review, the county's
progress. Each runs a constant number of queries whatever the number of students."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from guidance.counselling import psych_summary
from guidance.models import FiveThreeCard, HomeVisit, TalkRecord
from pairing.models import EnrollmentChange, EnrollmentStatus, HardshipAssessment, Pairing, School, Student, Term, Town
from zaoyang_aid.fields import FieldAccess, FieldGroup, Relation, field_access

from .checklist import Checklist, checklists_for
from .filters import ReviewProgressFilter
from .models import (
    ATTACHMENT_GROUPS,
    AidReceipt,
    Attachment,
    CaseFileReview,
    RecoveryAttempt,
    RecoveryCase,
    Referral,
    ReviewStatus,
    TermResult,
)

G = FieldGroup


@dataclass(frozen=True)
class TermResults:
    """One term's 学业成绩, by subject, with the change against the term before (in points out of 100)."""

    term: Term
    results: list[TermResult]
    change: dict[str, Decimal | None] = field(default_factory=dict)

    @property
    def average(self) -> Decimal | None:
        if not self.results:
            return None
        return (sum((r.percent for r in self.results), Decimal(0)) / len(self.results)).quantize(Decimal("0.1"))


@dataclass
class CaseFile:
    """What the reader sees of one student's case file. A part the reader may not see is None (not
    an empty list): ``withheld`` names it, so the page can say what is not shown and why."""

    student: Student
    access: FieldAccess
    term: Term | None
    pairings: list[Pairing]
    status_changes: list[EnrollmentChange]
    guardians: list[Any] | None = None
    members: list[Any] | None = None
    assessments: list[HardshipAssessment] | None = None
    talks: list[TalkRecord] | None = None
    visits: list[HomeVisit] | None = None
    cards: list[FiveThreeCard] | None = None
    results: list[TermResults] | None = None
    referrals: list[Referral] | None = None
    aid: list[AidReceipt] | None = None
    # 劝返 一人一案 (casefiles/recovery.py): the cases of a student who dropped out, with their attempts.
    recovery: list[RecoveryCase] | None = None
    attachments: list[Attachment] | None = None
    # 心理健康档案: guidance.counselling.psych_summary's answer (None: the reader sees none of it).
    psych: Any = None
    withheld: list[str] = field(default_factory=list)

    @property
    def active_pairing(self) -> Pairing | None:
        return next((p for p in self.pairings if p.ended_on is None), None)

    def teacher_in(self, term: Term | None) -> str:
        """Who 包保 the student in ``term`` (all terms: now), names joined when several did."""
        if term is None:
            active = self.active_pairing
            return active.teacher.name if active is not None else "(当前无包保教师)"
        names = [p.teacher.name for p in reversed(self.pairings) if _overlaps(p, term)]
        return "、".join(dict.fromkeys(names)) or "(该学期无包保教师)"


def _overlaps(pairing: Pairing, term: Term) -> bool:
    return pairing.started_on <= term.end_date and (pairing.ended_on is None or pairing.ended_on >= term.start_date)


def case_file(*, student: Student | int, reader: Any, term: Term | None = None) -> CaseFile:
    """The student's case file as ``reader`` may see it (all terms, or ``term``'s records only).

    Raises Student.DoesNotExist when the student is outside the reader's scope. Queries, whatever
    the number of records: the student with school and household (1), pairings with teacher (1),
    status changes (1); then, each only when the policy shows it to the reader: guardians (1),
    household members (1), 认定 (1) with categories (1), talks (1), visits with photo counts (1) and
    their policies (1), 五三卡 (1), term results (1), referrals (1), aid (1), attachments (1).
    """
    pk = student.pk if isinstance(student, Student) else student
    loaded = (
        Student.objects.visible_to(reader)
        .select_related("school__town", "household__town")
        .prefetch_related(
            Prefetch(
                "pairings",
                queryset=Pairing.objects.select_related("teacher__user").order_by("-started_on", "-pk"),
            ),
            Prefetch(
                "status_changes",
                queryset=EnrollmentChange.objects.select_related("from_school", "to_school").order_by(
                    "-effective_on", "-pk"
                ),
            ),
        )
        .get(pk=pk)
    )
    pairings = list(loaded.pairings.all())
    active = next((p for p in pairings if p.ended_on is None), None)
    access = field_access(
        reader, school_id=loaded.school_id, paired_teacher_id=active.teacher_id if active is not None else None
    )
    changes = list(loaded.status_changes.all())
    if term is not None:
        pairings = [p for p in pairings if _overlaps(p, term)]
        changes = [c for c in changes if c.effective_on <= term.end_date]
    file = CaseFile(student=loaded, access=access, term=term, pairings=pairings, status_changes=changes)
    _family(file, reader)
    _records(file, reader)
    _extras(file, reader)
    file.psych = _psych_summary(file, reader)
    return file


def _withhold(file: CaseFile, group: FieldGroup) -> bool:
    """Whether the reader does not see ``group``; noted once in ``file.withheld``."""
    if group in file.access:
        return False
    if group.label not in file.withheld:
        file.withheld.append(group.label)
    return True


def _family(file: CaseFile, reader: Any) -> None:
    student = file.student
    if not _withhold(file, G.CONTACT):
        prefetch_related_objects([student], "guardians")
        file.guardians = list(student.guardians.all())
    if not _withhold(file, G.HOUSEHOLD):
        prefetch_related_objects([student.household], "members")
        file.members = list(student.household.members.all())
    if not _withhold(file, G.ASSESSMENT):
        assessments = (
            HardshipAssessment.objects.filter(student=student)
            .select_related("term__school_year", "level")
            .prefetch_related("categories")
            .order_by("-term__start_date")
        )
        if file.term is not None:
            assessments = assessments.filter(term=file.term)
        file.assessments = list(assessments)


def _in_term(queryset: Any, term: Term | None, **dates: str) -> Any:
    if term is None:
        return queryset
    if dates:
        (name,) = dates.values()
        return queryset.filter(**{f"{name}__gte": term.start_date, f"{name}__lte": term.end_date})
    return queryset.filter(term=term)


def _records(file: CaseFile, reader: Any) -> None:
    """Talks, visits, 五三卡 and term results: the help records (RECORDS)."""
    if _withhold(file, G.RECORDS):
        return
    student, term = file.student, file.term
    who = ("pairing__teacher__user", "recorded_by", "term__school_year", "late_permission")
    talks = TalkRecord.objects.visible_to(reader).filter(pairing__student=student).select_related(*who)
    file.talks = list(_in_term(talks, term).order_by("date", "pk"))
    visits = (
        HomeVisit.objects.visible_to(reader)
        .filter(pairing__student=student)
        .select_related("pairing__teacher__user", "recorded_by", "term__school_year")
        .annotate(photo_count=Count("photos"))
        .prefetch_related("policies")
    )
    file.visits = list(_in_term(visits, term).order_by("date", "pk"))
    cards = (
        FiveThreeCard.objects.visible_to(reader)
        .filter(student=student)
        .select_related("term__school_year", "recorded_by", "reviewed_by")
    )
    file.cards = list(_in_term(cards, term).order_by("term__start_date"))
    # The trend needs the term before: with a term, its results and those of the terms before it.
    results = TermResult.objects.visible_to(reader).filter(student=student).select_related("term__school_year")
    if term is not None:
        results = results.filter(term__start_date__lte=term.start_date)
    file.results = results_by_term(results.order_by("term__start_date", "pk"), only=term)
    referrals = Referral.objects.visible_to(reader).filter(student=student).select_related("referred_by", "department")
    file.referrals = list(_in_term(referrals, term, on="referred_on").order_by("referred_on", "pk"))
    file.recovery = _recovery_cases(file, reader)


def _recovery_cases(file: CaseFile, reader: Any) -> list[RecoveryCase]:
    """The student's 劝返 cases with their attempts (2 queries), of the term when one is chosen; asked
    only of a student whose history holds a 辍学 (a case is opened for no one else), so the case
    file of every other student reads nothing more."""
    if not any(c.status == EnrollmentStatus.DROPPED_OUT for c in file.status_changes):
        return []
    cases = (
        RecoveryCase.objects.visible_to(reader)
        .filter(student=file.student)
        .select_related("teacher__user", "officer")
        .prefetch_related(Prefetch("attempts", queryset=RecoveryAttempt.objects.order_by("date", "pk")))
        .order_by("opened_on", "pk")
    )
    term = file.term
    if term is not None:
        cases = cases.filter(opened_on__lte=term.end_date).filter(
            Q(closed_on__isnull=True) | Q(closed_on__gte=term.start_date)
        )
    return list(cases)


def results_by_term(results: Any, *, only: Term | None = None) -> list[TermResults]:
    """Term results grouped by term (oldest first), each with the change per subject against the
    last earlier term that had the subject; with ``only``, that term's group alone."""
    grouped: dict[int, list[TermResult]] = defaultdict(list)
    terms: dict[int, Term] = {}
    for result in results:
        grouped[result.term_id].append(result)
        terms[result.term_id] = result.term
    last: dict[str, Decimal] = {}
    out = []
    for term_id, rows in grouped.items():
        change = {r.subject: (r.percent - last[r.subject]) if r.subject in last else None for r in rows}
        last.update({r.subject: r.percent for r in rows})
        out.append(TermResults(term=terms[term_id], results=rows, change=change))
    return [t for t in out if only is None or t.term.pk == only.pk]


def _extras(file: CaseFile, reader: Any) -> None:
    """Aid received (ASSESSMENT) and attachments (each kind by its group)."""
    student, term = file.student, file.term
    if not _withhold(file, G.ASSESSMENT):
        aid = (
            AidReceipt.objects.visible_to(reader)
            .filter(student=student)
            .select_related("term__school_year", "referral__department")
        )
        file.aid = list(_in_term(aid, term).order_by("paid_on", "pk"))
    if any(group in file.access for group in ATTACHMENT_GROUPS.values()):
        attachments = (
            Attachment.objects.visible_to(reader)
            .filter(student=student)
            .select_related("term__school_year", "uploaded_by")
        )
        if term is not None:
            attachments = attachments.filter(Q(term=term) | Q(term__isnull=True))
        shown_kinds = [k for k, g in ATTACHMENT_GROUPS.items() if g in file.access]
        file.attachments = list(attachments.filter(kind__in=shown_kinds).order_by("uploaded_at", "pk"))


# --- 心理健康档案 -------------------------------------------------------------------------------------


def _psych_summary(file: CaseFile, reader: Any) -> Any:
    """What the reader may see of the student's 心理健康档案, through guidance.counselling's one
    answer (psych_summary): the whole file to the school's counsellors and designated county staff,
    whether a follow-up is wanted to the 包保 teacher, nothing to anyone else (no query for them).
    With a term, only that term's sessions, assessments and level changes."""
    if FieldGroup.COUNSELLING not in file.access and file.access.relation != Relation.PAIRED:
        return None
    summary = psych_summary(student_id=file.student.pk, reader=reader)
    if summary is None or file.term is None or "sessions" not in summary:
        return summary
    term = file.term
    return {
        **summary,
        "sessions": [s for s in summary["sessions"] if s.term_id == term.pk],
        "assessments": [a for a in summary["assessments"] if term.start_date <= a.taken_on <= term.end_date],
        "changes": [c for c in summary["changes"] if term.start_date <= timezone.localdate(c.set_at) <= term.end_date],
    }


def case_file_terms(*, today: dt.date) -> list[Term]:
    """The terms a case file can be shown for: those begun by ``today`` (1 query), newest first."""
    return list(Term.objects.select_related("school_year").filter(start_date__lte=today).order_by("-start_date"))


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
    town: str = ""  # a school's
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


def review_progress_filter(user: Any, params: Any, *, term: Term, as_of: dt.date) -> ReviewProgressFilter:
    """档案审核进度's bound FilterSet over the reader's students with a pairing in the term (nothing is
    read until its .qs is): the page and its report both start here."""
    return ReviewProgressFilter(params, queryset=students_in_term(user, term=term, as_of=as_of), request_user=user)


def county_progress(user: Any, *, term: Term, as_of: dt.date) -> tuple[Progress, list[Progress]]:
    """The county's total and, per town, its schools' counts of 未开始 / 审核中 / 已签结 among the
    reader's students with a pairing in the term."""
    return progress_of(students_in_term(user, term=term, as_of=as_of), term=term)


def progress_of(students: QuerySet[Student], *, term: Term) -> tuple[Progress, list[Progress]]:
    """The review progress of ``students`` (the reader's students of the term, as filtered by
    review_progress_filter): the total and, per town, its schools. Three queries: students per
    school, reviews per school and status, the schools with their towns."""
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
            town=school.town.name,
        )
        town: Town = school.town
        group = towns.setdefault(town.pk, Progress(town.pk, town.name))
        group.add(row)
        group.schools.append(row)
        total.add(row)
    return total, list(towns.values())
