"""Reads shared by pages, reminders and reports. Each is shaped (select_related, prefetch_related,
annotate) so that a page runs the same number of queries for 5 rows or 5,000."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from zaoyang_aid import calendar
from zaoyang_aid.access import Scope, scope_of
from zaoyang_aid.paging import ListGroups

from . import calendars
from .filters import SEARCH_TAIL_RE, PairingFilter, SchoolFilter, StudentFilter, TeacherFilter
from .models import (
    AidListExit,
    ConsentScope,
    EnrollmentChange,
    EnrollmentStatus,
    GuardianConsent,
    HardshipAssessment,
    Pairing,
    PairingQuerySet,
    School,
    Student,
    Teacher,
    Term,
    Town,
    born_under_14_since,
    grade_name,
    is_under_14,
)

UNPAIRED_SHOWN = 200


@dataclass(frozen=True)
class TermToday:
    """Where today stands in the school calendar, for page headers and the calendar page."""

    today: dt.date
    term: Term | None  # the term containing today, or the last one that started (in a vacation)
    in_term: bool
    week: calendar.SchoolWeek | None
    weeks: list[calendar.SchoolWeek]
    # Years of the term whose holidays are neither in chinese_calendar nor entered by the admin.
    years_without_holidays: tuple[int, ...] = ()

    @property
    def calendar_known(self) -> bool:
        return not self.years_without_holidays


def term_today(*, school_id: int | None = None, today: dt.date | None = None) -> TermToday:
    """Where ``today`` stands for a school (the county's calendar without one), from the cached
    calendar (pairing.calendars): no query while the calendar is unchanged."""
    today = today or timezone.localdate()
    held = calendars.snapshot()
    term = held.latest_started(today)
    if term is None:
        return TermToday(today, None, False, None, [])
    closures = held.closures_touching(term.start_date, term.end_date, school_id)
    weeks = held.school_weeks(term, school_id)
    in_term = term.start_date <= today <= term.end_date
    return TermToday(
        today=today,
        term=term,
        in_term=in_term,
        week=calendar.week_containing(weeks, today) if in_term else None,
        weeks=weeks,
        years_without_holidays=tuple(term.years_without_holidays(closures)),
    )


def _assessment_in(term: Term | None, user: Any) -> QuerySet[HardshipAssessment]:
    """This term's 认定 of the students on a page, as far as the reader may see 认定 (fields.py): a
    counsellor's school list carries only those of the students she 包保."""
    qs = HardshipAssessment.objects.visible_to(user).select_related("level").prefetch_related("categories")
    return qs.filter(term=term) if term is not None else qs.none()


def _active_pairings() -> Prefetch:
    return Prefetch(
        "pairings",
        queryset=Pairing.objects.active().select_related("teacher__user"),
        to_attr="active_pairings",
    )


def school_positions() -> dict[int, int]:
    """Each school's place in the county lists' order, by town code then name, as the database
    collates them: one query of some 300 rows (zaoyang_aid.paging.ListGroups)."""
    ordered = School.objects.order_by("town__code", "name", "pk").values_list("pk", flat=True)
    return {pk: place for place, pk in enumerate(ordered)}


def _by_school() -> Callable[[dict[str, Any]], int]:
    places = school_positions()
    return lambda group: places.get(group["school_id"], len(places))  # no school: last, as NULLs sort


def _by_end_then_school() -> Callable[[dict[str, Any]], tuple[bool, int, int]]:
    places = school_positions()

    def key(group: dict[str, Any]) -> tuple[bool, int, int]:
        ended = group["ended_on"]  # active first (NULLS FIRST), then the latest end
        return (
            ended is not None,
            -ended.toordinal() if ended else 0,
            places.get(group["student__school_id"], len(places)),
        )

    return key


# The long lists sorted by town and school first page by those groups (zaoyang_aid.paging):
# students_for_list and teachers_for_list by school, pairings_for_list by end date then school.
STUDENT_LIST_GROUPS = TEACHER_LIST_GROUPS = ListGroups(("school_id",), _by_school)
PAIRING_LIST_GROUPS = ListGroups(("ended_on", "student__school_id"), _by_end_then_school)


def students_for_list(user: Any, params: Any, *, term: Term | None) -> StudentFilter:
    """The student list page (and, later, its Excel export): filtered, scoped, shaped.

    Queries: the page of students with school/town/household joined (1), their active pairing
    with the teacher (1), this term's assessment with its level (1) and categories (1).
    """
    base = (
        Student.objects.visible_to(user)
        .for_list()
        .prefetch_related(
            _active_pairings(),
            Prefetch("assessments", queryset=_assessment_in(term, user), to_attr="term_assessments"),
        )
        .order_by("school__town__code", "school__name", "grade", "class_name", "name", "pk")
    )
    return StudentFilter(params, queryset=base, request_user=user, term=term)


def student_full_record(user: Any, pk: int) -> Student:
    """One student with everything the detail page shows; raises Student.DoesNotExist outside scope."""
    return (
        Student.objects.visible_to(user)
        .select_related("school__town", "household__town")
        .prefetch_related(
            "guardians",
            "household__members",
            Prefetch(
                "assessments",
                queryset=HardshipAssessment.objects.visible_to(user)
                .select_related("term__school_year", "level", "recorded_by")
                .prefetch_related("categories")
                .order_by("-term__start_date"),
            ),
            # 动态管理: the history's list exits and re-entries (dynamics.student_history).
            Prefetch(
                "aid_exits",
                queryset=AidListExit.objects.visible_to(user).select_related(
                    "term__school_year", "recorded_by", "reentered_by"
                ),
            ),
            Prefetch(
                "pairings",
                queryset=Pairing.objects.select_related("teacher__user", "teacher__school").order_by(
                    "-started_on", "-pk"
                ),
            ),
            Prefetch(
                "status_changes",
                queryset=EnrollmentChange.objects.select_related("from_school", "to_school", "recorded_by").order_by(
                    "-effective_on", "-pk"
                ),
            ),
        )
        .get(pk=pk)
    )


def pairings_for_teacher_home(user: Any, *, term: Term | None) -> PairingQuerySet:
    """The teacher's 我的帮扶学生: their active pairings with the student, family contact and 认定.

    Queries: pairings with student and school (1), guardians (1), this term's assessment with its
    level (1). The page shows the 认定's level only: no household, no categories (each was a join
    or a query on every teacher's every visit).
    """
    scope = scope_of(user)
    assessments = HardshipAssessment.objects.visible_to(user).select_related("level")
    return (
        Pairing.objects.visible_to(user)
        .active()
        .filter(teacher_id=scope.teacher_id)
        .select_related("student__school")
        .prefetch_related(
            "student__guardians",
            Prefetch(
                "student__assessments",
                queryset=assessments.filter(term=term) if term is not None else assessments.none(),
                to_attr="term_assessments",
            ),
        )
        .order_by("student__grade", "student__class_name", "student__name")
    )


def teachers_for_list(user: Any, params: Any) -> TeacherFilter:
    """Teachers with their count of active pairings (one aggregate subquery, not a join+group)."""
    active = (
        Pairing.objects.filter(teacher=OuterRef("pk"), ended_on__isnull=True)
        .order_by()
        .values("teacher")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = Teacher.objects.visible_to(user).with_user().annotate(active_count=Coalesce(Subquery(active), 0))
    qs = qs.order_by("school__town__code", "school__name", "user__full_name", "pk")
    return TeacherFilter(params, queryset=qs, request_user=user)


def teacher_detail(user: Any, pk: int) -> Teacher:
    return (
        Teacher.objects.visible_to(user)
        .with_user()
        .prefetch_related(
            Prefetch(
                "pairings",
                queryset=Pairing.objects.select_related("student__school").order_by("ended_on", "-started_on"),
            )
        )
        .get(pk=pk)
    )


def _count(model_qs: QuerySet[Any], group: str) -> Coalesce:
    return Coalesce(Subquery(model_qs.order_by().values(group).annotate(n=Count("pk")).values("n")), 0)


def schools_with_counts(user: Any) -> QuerySet[School]:
    """Schools with their students, paired students and teachers: per-school subqueries, which
    PostgreSQL plans far better than one join grouped by every column (../shared/PERFORMANCE.md)."""
    students = Student.objects.filter(school=OuterRef("pk"), enrollment_status=EnrollmentStatus.ENROLLED)
    paired = Pairing.objects.filter(student__school=OuterRef("pk"), ended_on__isnull=True)
    teachers = Teacher.objects.filter(school=OuterRef("pk"))
    qs = (
        School.objects.visible_to(user)
        .select_related("town")
        .annotate(
            student_count=_count(students, "school"),
            paired_count=_count(paired, "student__school"),
            teacher_count=_count(teachers, "school"),
        )
    )
    return qs.order_by("town__code", "stage", "name")


def schools_for_list(user: Any, params: Any) -> SchoolFilter:
    return SchoolFilter(params, queryset=schools_with_counts(user))


def towns_with_counts(user: Any) -> QuerySet[Town]:
    """The county overview: per town, its schools, enrolled students and active pairings."""
    scope: Scope = scope_of(user)
    if not scope.is_county_wide:
        return Town.objects.none()
    schools = School.objects.filter(town=OuterRef("pk"))
    students = Student.objects.filter(school__town=OuterRef("pk"), enrollment_status=EnrollmentStatus.ENROLLED)
    paired = Pairing.objects.filter(student__school__town=OuterRef("pk"), ended_on__isnull=True)
    return Town.objects.annotate(
        school_count=_count(schools, "town"),
        student_count=_count(students, "school__town"),
        paired_count=_count(paired, "student__school__town"),
    ).order_by("code")


@dataclass(frozen=True)
class SchoolOverview:
    school: School
    student_count: int
    paired_count: int
    unpaired: list[Student]
    teacher_count: int
    by_grade: list[dict[str, Any]]

    @property
    def unpaired_count(self) -> int:
        return self.student_count - self.paired_count


def school_overview(user: Any) -> SchoolOverview | None:
    """The officer's first page: their school's students, who is paired and who is not yet."""
    scope = scope_of(user)
    school = School.objects.visible_to(user).select_related("town").filter(pk=scope.school_id).first()
    if school is None:
        return None
    active = Pairing.objects.filter(student=OuterRef("pk"), ended_on__isnull=True)
    students = Student.objects.filter(school=school, enrollment_status=EnrollmentStatus.ENROLLED).annotate(
        is_paired=Exists(active)
    )
    by_grade = list(
        students.order_by()
        .values("grade")
        .annotate(total=Count("pk"), paired=Count("pk", filter=Q(is_paired=True)))
        .order_by("grade")
    )
    for row in by_grade:
        row["name"] = grade_name(school.stage, row["grade"])
    unpaired = list(
        students.filter(is_paired=False)
        .select_related("household__town")
        .order_by("grade", "class_name", "name")[:UNPAIRED_SHOWN]
    )
    return SchoolOverview(
        school=school,
        student_count=sum(r["total"] for r in by_grade),
        paired_count=sum(r["paired"] for r in by_grade),
        unpaired=unpaired,
        teacher_count=Teacher.objects.filter(school=school).count(),
        by_grade=by_grade,
    )


# --- 结对 management -------------------------------------------------------------------------------


def pairings_for_list(user: Any, params: Any, *, term: Term | None) -> PairingFilter:
    """The pairing list (and, later, its Excel export): filtered, scoped, shaped; active ones first.

    Queries: the page of pairings with teacher, student, school and town joined (1), this term's
    assessment of each student with its level (1) and categories (1).
    """
    base = (
        Pairing.objects.visible_to(user)
        .select_related("teacher__user", "student__school__town")
        .prefetch_related(
            Prefetch("student__assessments", queryset=_assessment_in(term, user), to_attr="term_assessments")
        )
        .order_by(
            F("ended_on").desc(nulls_first=True),
            "student__school__town__code",
            "student__school__name",
            "student__grade",
            "student__class_name",
            "student__name",
            "pk",
        )
    )
    return PairingFilter(params, queryset=base, request_user=user, term=term)


def teachers_for_pairing(school_id: int) -> QuerySet[Teacher]:
    """A school's staff who may 包保 a student (any school role with an active account), each with
    their count of active pairings so that the form shows who is already at the limit."""
    active = Pairing.objects.filter(teacher=OuterRef("pk"), ended_on__isnull=True)
    return (
        Teacher.objects.filter(school_id=school_id, user__is_active=True)
        .select_related("user")
        .annotate(active_count=_count(active, "teacher"))
        .order_by("user__full_name", "pk")
    )


def students_to_pair(school_id: int, *, also: int | None = None) -> QuerySet[Student]:
    """A school's enrolled students without an active pairing (and the student ``also``, one the
    officer came to pair), by grade, class and name."""
    active = Pairing.objects.filter(student=OuterRef("pk"), ended_on__isnull=True)
    waiting = Q(enrollment_status=EnrollmentStatus.ENROLLED) & ~Exists(active)
    return (
        Student.objects.filter(waiting | Q(pk=also) if also is not None else waiting, school_id=school_id)
        .select_related("school")
        .order_by("grade", "class_name", "name", "pk")
    )


def teacher_active_load(teacher_id: int) -> int:
    """How many students a teacher 包保 now (the one-to-one rule counts these)."""
    return Pairing.objects.filter(teacher_id=teacher_id, ended_on__isnull=True).count()


def student_ids_matching(text: str) -> QuerySet[Student, dict[str, Any]]:
    """The audit page's student search (zaoyang_aid.audit.students_matching): by name, or by the
    last 4-6 characters of the 学籍号, as on the student list. Every student, even one since
    deleted from the list's scope: county staff read the log of the whole county."""
    value = text.strip().upper()
    if SEARCH_TAIL_RE.fullmatch(value):
        return Student.objects.filter(student_number__endswith=value).values("pk")
    return Student.objects.filter(name__icontains=value).values("pk")


def student_labels(ids: Iterable[int]) -> dict[int, str]:
    """How the audit page names a student: 张小明(学籍号…0014), the tail only (one query)."""
    rows = Student.objects.filter(pk__in=list(ids)).values_list("pk", "name", "student_number")
    return {pk: f"{name}(学籍号…{number[-4:]})" for pk, name, number in rows}


# --- 知情同意 ----------------------------------------------------------------------------------

# A student the school no longer holds as its own (graduated, moved away) is not chased for consent.
_CONSENT_NOT_CHASED = (EnrollmentStatus.GRADUATED, EnrollmentStatus.TRANSFERRED)


def students_without_consent(school_id: int, *, on: dt.date) -> list[Student]:
    """THE list of a school's students under 14 on ``on`` without an active consent to the
    processing of their data (PIPL art. 31), youngest last, for the officer's dashboard.

    One query (NOT EXISTS over the active consents); the dashboard and the tests use it alike.
    """
    active = GuardianConsent.objects.active().filter(student_id=OuterRef("pk"), scope=ConsentScope.PROCESSING)
    return list(
        Student.objects.filter(school_id=school_id, birth_date__gte=born_under_14_since(on))
        .select_related("school")
        .exclude(enrollment_status__in=_CONSENT_NOT_CHASED)
        .filter(~Exists(active))
        .order_by("grade", "class_name", "name", "pk")
    )


def may_publish_story(student_id: int) -> bool:
    """Whether the guardian's 典型案例宣传 consent is on record and not withdrawn: the campaigns ask
    this before a student's story is published (PIPL: publishing is a use of its own)."""
    return GuardianConsent.objects.active().filter(student_id=student_id, scope=ConsentScope.PUBLICATION).exists()


@dataclass(frozen=True)
class ConsentState:
    """The student page's 知情同意 card: the active consent per scope, the history, whether missing."""

    current: dict[str, GuardianConsent | None]
    history: list[GuardianConsent]
    under_14: bool

    @property
    def processing_missing(self) -> bool:
        return self.under_14 and self.current[ConsentScope.PROCESSING] is None

    @property
    def rows(self) -> list[tuple[str, str, GuardianConsent | None]]:
        return [(value, label, self.current[value]) for value, label in ConsentScope.choices]


def consent_state(student: Student, *, on: dt.date) -> ConsentState:
    """One query: every consent of the student, newest first. The active one per scope is shown in
    its row; the history is the rest (withdrawn ones), so nothing is listed twice."""
    consents = list(
        GuardianConsent.objects.filter(student=student)
        .select_related("recorded_by", "withdrawn_by")
        .order_by("-given_on", "-pk")
    )
    current: dict[str, GuardianConsent | None] = dict.fromkeys(ConsentScope.values)
    for consent in consents:
        if consent.is_active and current[consent.scope] is None:
            current[consent.scope] = consent
    shown = {c.pk for c in current.values() if c is not None}
    history = [c for c in consents if c.pk not in shown]
    return ConsentState(current=current, history=history, under_14=is_under_14(student.birth_date, on))
