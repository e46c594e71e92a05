"""动态管理: how a student's 认定 moved from one term to the next, and the student's history.

One definition of a change (``change_kind``: 新增 / 退出 / 等级变化 / 类别变化 / 未变, from the two
terms' standings) serves the officer's 本学期认定变动 page, the county's per-school counts, the
认定变动 report (casefiles/reports.py) and the student's history. A student is on the list in a term
when she has that term's 认定 and no open exit (AidListExit) of that term.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q, QuerySet

from zaoyang_aid.fields import FieldAccess

from .filters import AssessmentChangeFilter, SchoolChangeFilter
from .models import (
    AidListExit,
    AssessmentChangeConfirmation,
    EnrollmentStatus,
    HardshipAssessment,
    HardshipLevel,
    PairingEndReason,
    School,
    Student,
    Term,
)


class ChangeKind(models.TextChoices):
    ADDED = "added", "新增"
    EXITED = "exited", "退出"
    LEVEL = "level", "等级变化"
    CATEGORY = "category", "类别变化"
    UNCHANGED = "unchanged", "未变"


CHANGED = (ChangeKind.ADDED, ChangeKind.EXITED, ChangeKind.LEVEL, ChangeKind.CATEGORY)


@dataclass(frozen=True)
class Standing:
    """A student's 认定 in one term, as the change compares it: the level and the categories."""

    level_id: int
    level_name: str
    level_order: int
    categories: tuple[tuple[int, str], ...]  # (pk, name) in the categories' order

    @property
    def category_ids(self) -> frozenset[int]:
        return frozenset(pk for pk, _name in self.categories)

    @property
    def words(self) -> str:
        names = "、".join(name for _pk, name in self.categories)
        return f"{self.level_name}({names})" if names else self.level_name

    @property
    def key(self) -> str:
        return f"{self.level_id}:{','.join(str(pk) for pk in sorted(self.category_ids))}"


def standing_of(assessment: HardshipAssessment, categories: Iterable[tuple[int, str, int]]) -> Standing:
    """``categories``: (pk, name, order) of the assessment's special categories."""
    ordered = sorted(categories, key=lambda c: (c[2], c[0]))
    level = assessment.level
    return Standing(level.pk, level.name, level.order, tuple((pk, name) for pk, name, _order in ordered))


def change_kind(before: Standing | None, after: Standing | None) -> ChangeKind:
    """The one definition: on the list in neither term or alike in both is 未变; a new level wins
    over new categories (the line shows both)."""
    if before is None and after is None:
        return ChangeKind.UNCHANGED
    if before is None:
        return ChangeKind.ADDED
    if after is None:
        return ChangeKind.EXITED
    if before.level_id != after.level_id:
        return ChangeKind.LEVEL
    if before.category_ids != after.category_ids:
        return ChangeKind.CATEGORY
    return ChangeKind.UNCHANGED


def level_direction(before: Standing | None, after: Standing | None) -> str:
    """提高 when the level is a harder one (a lower order: 特别困难 before 困难), 降低 the other way."""
    if before is None or after is None or before.level_id == after.level_id:
        return ""
    return "提高" if after.level_order < before.level_order else "降低"


def previous_term(term: Term) -> Term | None:
    earlier = Term.objects.select_related("school_year").filter(start_date__lt=term.start_date)
    return earlier.order_by("-start_date").first()


@dataclass
class ChangeLine:
    """One student's change between the term before and ``term``."""

    student: Student
    kind: ChangeKind
    before: Standing | None
    after: Standing | None
    assessment: HardshipAssessment | None  # this term's 认定, if any
    exit: AidListExit | None  # this term's open exit, if any
    reentry: bool  # 新增 after an earlier exit: 重新纳入
    confirmation: AssessmentChangeConfirmation | None = None

    @property
    def fingerprint(self) -> str:
        before = self.before.key if self.before else "-"
        after = self.after.key if self.after else "-"
        exit_reason = self.exit.reason if self.exit else ""
        return f"{self.kind}|{before}|{after}|{exit_reason}"

    @property
    def confirmed(self) -> bool:
        return self.confirmation is not None and self.confirmation.fingerprint == self.fingerprint

    @property
    def kind_label(self) -> str:
        if self.kind == ChangeKind.ADDED and self.reentry:
            return "重新纳入"
        if self.kind == ChangeKind.LEVEL:
            return f"等级{level_direction(self.before, self.after)}"
        return str(self.kind.label)

    @property
    def before_words(self) -> str:
        return self.before.words if self.before else "未在名单"

    @property
    def after_words(self) -> str:
        if self.after is not None:
            return self.after.words
        return f"退出({self.exit.get_reason_display()})" if self.exit else "本学期未认定"

    @property
    def summary(self) -> str:
        return f"{self.kind_label}:{self.before_words} → {self.after_words}"[:300]

    @property
    def date(self) -> dt.date | None:
        if self.kind == ChangeKind.EXITED:
            return self.exit.exited_on if self.exit else None
        return self.assessment.decided_on if self.assessment else None

    @property
    def reason(self) -> str:
        if self.kind == ChangeKind.EXITED:
            if self.exit is None:
                return "未登记退出原因"
            return "。".join(x for x in (self.exit.get_reason_display(), self.exit.note) if x)
        if self.assessment is None:
            return ""
        return self.assessment.reason or self.assessment.note

    @property
    def recorded_by(self) -> Any:
        if self.kind == ChangeKind.EXITED:
            return self.exit.recorded_by if self.exit else None
        return self.assessment.recorded_by if self.assessment else None

    @property
    def recorded_by_name(self) -> str:
        who = self.recorded_by
        return who.get_full_name() if who is not None else ""


def _standings(
    assessments: list[HardshipAssessment], categories: dict[int, list[tuple[int, str, int]]]
) -> dict[tuple[int, int], tuple[HardshipAssessment, Standing]]:
    return {(a.student_id, a.term_id): (a, standing_of(a, categories.get(a.pk, []))) for a in assessments}


def term_changes(user: Any, students: QuerySet[Student], *, term: Term, previous: Term | None) -> list[ChangeLine]:
    """Every student of ``students`` on the list in ``previous`` or ``term``, with the change between
    the two, in school and class order; 未变 lines included (the callers keep what they show).

    Queries: the two terms' 认定 (1), the levels (1), the recorders (1), their categories (1), the
    students (1) and their schools with towns (1), the students' exits up to ``term`` (1), this
    term's confirmations (1). A county's two terms are some 25,000 认定: each row is one plain model
    instance, its level, recorder, student and school shared (not a joined copy per row)."""
    terms = [term.pk] + ([previous.pk] if previous is not None else [])
    selected = HardshipAssessment.objects.visible_to(user).filter(term_id__in=terms, student__in=students).order_by()
    assessments = list(
        selected.only(
            "pk", "student_id", "term_id", "level_id", "decided_on", "note", "reason", "recorded_by_id", "recorded_at"
        )
    )
    # A subquery, not a list of ids: a county's two terms hold more 认定 than SQLite takes parameters.
    through = HardshipAssessment.categories.through.objects.filter(
        hardshipassessment_id__in=selected.values("pk")
    ).values_list("hardshipassessment_id", "specialcategory_id", "specialcategory__name", "specialcategory__order")
    categories: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for assessment_id, pk, name, order in through:
        categories[assessment_id].append((pk, name, order))
    exits = list(
        AidListExit.objects.visible_to(user)
        .filter(student__in=students, term__start_date__lte=term.start_date)
        .select_related("recorded_by", "term")
    )
    confirmations = {
        c.student_id: c
        for c in AssessmentChangeConfirmation.objects.filter(term=term, student__in=students).select_related(
            "confirmed_by"
        )
    }
    _attach(assessments, exits, selected)
    return _lines(term, previous, _standings(assessments, categories), assessments, exits, confirmations)


def _attach(assessments: list[HardshipAssessment], exits: list[AidListExit], selected: QuerySet[Any]) -> None:
    """Each 认定's level, recorder and student, and each exit's student, from one read of each."""
    levels = {level.pk: level for level in HardshipLevel.objects.all()}
    user_ids = {a.recorded_by_id for a in assessments if a.recorded_by_id is not None}
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids)}
    involved = Student.objects.filter(
        Q(pk__in=selected.values("student_id")) | Q(pk__in={e.student_id for e in exits})
    ).order_by()
    people = {s.pk: s for s in involved}
    schools = {
        s.pk: s for s in School.objects.select_related("town").filter(pk__in={p.school_id for p in people.values()})
    }
    for student in people.values():
        student.school = schools[student.school_id]
    for assessment in assessments:
        assessment.level = levels[assessment.level_id]
        assessment.recorded_by = users.get(assessment.recorded_by_id) if assessment.recorded_by_id else None
        assessment.student = people[assessment.student_id]
    for exit_ in exits:
        exit_.student = people[exit_.student_id]


def _lines(
    term: Term,
    previous: Term | None,
    standings: dict[tuple[int, int], tuple[HardshipAssessment, Standing]],
    assessments: list[HardshipAssessment],
    exits: list[AidListExit],
    confirmations: dict[int, AssessmentChangeConfirmation],
) -> list[ChangeLine]:
    open_exits = {(e.student_id, e.term_id): e for e in exits if e.is_open}
    exited_before = {e.student_id for e in exits if e.term_id != term.pk}
    students: dict[int, Student] = {a.student_id: a.student for a in assessments}
    students.update({e.student_id: e.student for e in exits if e.term_id == term.pk})

    def on_list(student_id: int, term_id: int | None) -> tuple[HardshipAssessment | None, Standing | None]:
        found = standings.get((student_id, term_id)) if term_id is not None else None
        if found is None:
            return None, None
        return found[0], (None if (student_id, term_id) in open_exits else found[1])

    lines = []
    for student_id, student in students.items():
        _prev, before = on_list(student_id, previous.pk if previous else None)
        assessment, after = on_list(student_id, term.pk)
        kind = change_kind(before, after)
        exit_ = open_exits.get((student_id, term.pk))
        if kind == ChangeKind.UNCHANGED and before is None and assessment is None:
            continue  # on the list in neither term: not this page's business
        lines.append(
            ChangeLine(
                student=student,
                kind=kind,
                before=before,
                after=after,
                assessment=(found[0] if (found := standings.get((student_id, term.pk))) else None),
                exit=exit_,
                reentry=kind == ChangeKind.ADDED and student_id in exited_before,
                confirmation=confirmations.get(student_id),
            )
        )
    lines.sort(
        key=lambda line: (
            line.student.school.town.code,
            line.student.school.name,
            line.student.grade,
            line.student.class_name,
            line.student.name,
            line.student.pk,
        )
    )
    return lines


def lines_shown(lines: list[ChangeLine], *, kind: str = "", state: str = "") -> list[ChangeLine]:
    """The lines a page or report shows: changes only unless 未变 is asked for, by kind and by
    confirmation state (confirmed / pending)."""
    shown = [line for line in lines if (line.kind == kind if kind else line.kind in CHANGED)]
    if state == "confirmed":
        return [line for line in shown if line.confirmed]
    if state == "pending":
        return [line for line in shown if not line.confirmed]
    return shown


def assessment_change_filter(user: Any, params: Any) -> AssessmentChangeFilter:
    """本学期认定变动's bound FilterSet over the reader's students (nothing is read until its .qs is):
    the page and the 认定变动 report both start here."""
    return AssessmentChangeFilter(params, queryset=Student.objects.visible_to(user), request_user=user)


def assessment_changes(filterset: AssessmentChangeFilter, *, term: Term, previous: Term | None) -> list[ChangeLine]:
    """The filtered students' changes of ``term`` against ``previous`` (previous_term: the term
    before), as the page and the report list them."""
    students = filterset.qs
    data = filterset.form.cleaned_data if filterset.is_valid() else {}
    lines = term_changes(filterset.request_user, students, term=term, previous=previous)
    return lines_shown(lines, kind=data.get("kind") or "", state=data.get("state") or "")


# --- The county's counts per school -----------------------------------------------------------------


@dataclass
class SchoolChanges:
    school_id: int | None
    name: str
    town: str = ""
    added: int = 0
    exited: int = 0
    level: int = 0
    category: int = 0
    confirmed: int = 0

    @property
    def changed(self) -> int:
        return self.level + self.category

    @property
    def total(self) -> int:
        return self.added + self.exited + self.changed

    @property
    def pending(self) -> int:
        return self.total - self.confirmed

    def count(self, line: ChangeLine) -> None:
        if line.kind == ChangeKind.UNCHANGED:
            return
        setattr(self, str(line.kind), getattr(self, str(line.kind)) + 1)
        self.confirmed += int(line.confirmed)

    def add(self, other: SchoolChanges) -> None:
        for name in ("added", "exited", "level", "category", "confirmed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class CountyChanges:
    total: SchoolChanges
    schools: list[SchoolChanges] = field(default_factory=list)


def changes_by_school(user: Any, schools: QuerySet[School], *, term: Term, previous: Term | None) -> CountyChanges:
    """Per school of ``schools`` (every one, a school without changes shows zeros) the term's 新增,
    退出, 等级变化, 类别变化, 已确认 and 待确认, with the total: term_changes' five queries plus the
    schools (1), whatever the number of schools."""
    school_list = list(schools.select_related("town").order_by("town__code", "name", "pk"))
    rows = {s.pk: SchoolChanges(s.pk, s.name, town=s.town.name) for s in school_list}
    students = Student.objects.filter(school__in=schools)
    for line in term_changes(user, students, term=term, previous=previous):
        row = rows.get(line.student.school_id)
        if row is not None:
            row.count(line)
    total = SchoolChanges(None, "合计")
    for row in rows.values():
        total.add(row)
    return CountyChanges(total=total, schools=list(rows.values()))


# --- The student's history ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the student's history: what happened, when, why and who recorded it."""

    on: dt.date
    kind: str  # 认定 / 退出资助名单 / 转学 / 休学 …
    text: str
    reason: str
    recorded_by: str
    at: dt.datetime | None  # when it was written, to order a day's entries
    tone: str = "secondary"  # the badge's colour


def _assessment_entries(student: Student) -> list[HistoryEntry]:
    """认定 changes from term to term (student.assessments and student.aid_exits prefetched)."""
    assessments = sorted(student.assessments.all(), key=lambda a: a.term.start_date)
    exits = {e.term_id: e for e in student.aid_exits.all()}
    terms = sorted({a.term for a in assessments} | {e.term for e in exits.values()}, key=lambda t: t.start_date)
    by_term = {a.term_id: a for a in assessments}
    entries: list[HistoryEntry] = []
    current: Standing | None = None
    exited_ever = False
    for term in terms:
        assessment, exit_ = by_term.get(term.pk), exits.get(term.pk)
        after = _standing_read(assessment) if assessment is not None else None
        # A 认定 saved after the term's exit is the re-entry's: the re-entry line shows it.
        reentry_row = (
            exit_ is not None
            and exit_.reentered_on is not None
            and assessment is not None
            and assessment.decided_on >= exit_.exited_on
        )
        if assessment is not None and after is not None and not reentry_row:
            kind = change_kind(current, after)
            if kind != ChangeKind.UNCHANGED:
                entries.append(_assessment_entry(term, assessment, kind, current, after, exited_ever))
            current = after
        if exit_ is not None:
            entries.append(_exit_entry(term, exit_))
            exited_ever, current = True, None
            if exit_.reentered_on is not None:
                who = exit_.reentered_by.get_full_name() if exit_.reentered_by else ""
                text = f"{term.name}重新纳入资助名单" + (f":{after.words}" if after else "")
                entries.append(
                    HistoryEntry(exit_.reentered_on, "重新纳入", text, exit_.reentry_reason, who, None, "success")
                )
                current = after
    return entries


def _standing_read(assessment: HardshipAssessment) -> Standing:
    return standing_of(assessment, [(c.pk, c.name, c.order) for c in assessment.categories.all()])


def _assessment_entry(
    term: Term,
    assessment: HardshipAssessment,
    kind: ChangeKind,
    before: Standing | None,
    after: Standing,
    exited_ever: bool,
) -> HistoryEntry:
    if kind == ChangeKind.ADDED:
        label, text, tone = ("重新纳入" if exited_ever else "纳入资助名单"), f"{term.name}认定:{after.words}", "success"
    elif kind == ChangeKind.LEVEL:
        label, tone = f"认定等级{level_direction(before, after)}", "warning"
        text = f"{term.name}:{before.words if before else ''} → {after.words}"
    else:
        label, tone = "认定类别变化", "info"
        text = f"{term.name}:{before.words if before else ''} → {after.words}"
    who = assessment.recorded_by.get_full_name() if assessment.recorded_by else ""
    reason = assessment.reason or assessment.note
    return HistoryEntry(assessment.decided_on, label, text, reason, who, assessment.recorded_at, tone)


def _exit_entry(term: Term, exit_: AidListExit) -> HistoryEntry:
    who = exit_.recorded_by.get_full_name() if exit_.recorded_by else ""
    text = f"{term.name}起退出资助名单:{exit_.get_reason_display()}"
    return HistoryEntry(exit_.exited_on, "退出资助名单", text, exit_.note, who, exit_.created_at, "danger")


STATUS_WORDS = {
    EnrollmentStatus.SUSPENDED: "休学",
    EnrollmentStatus.DROPPED_OUT: "辍学",
    EnrollmentStatus.TRANSFERRED: "转出",
    EnrollmentStatus.GRADUATED: "毕业",
    EnrollmentStatus.ENROLLED: "复学",
}


def _enrollment_entries(student: Student, *, reasons: bool) -> list[HistoryEntry]:
    """学籍变动 and transfers, each with the pairing it ended (student.status_changes and
    student.pairings prefetched)."""
    ended = {(p.ended_on, p.end_reason): p for p in student.pairings.all() if p.ended_on is not None}
    entries = []
    for change in student.status_changes.all():
        who = change.recorded_by.get_full_name() if change.recorded_by else ""
        if change.to_school_id is not None:
            kind, tone = "转学", "primary"
            text = f"{change.from_school.name if change.from_school else ''} → {change.to_school.name}"
            pairing = ended.get((change.effective_on, PairingEndReason.SCHOOL_TRANSFER))
        else:
            kind = STATUS_WORDS.get(EnrollmentStatus(change.status), change.get_status_display())
            tone = "success" if change.status == EnrollmentStatus.ENROLLED else "dark"
            text = f"学籍状态:{change.get_status_display()}"
            end_reason = {
                EnrollmentStatus.GRADUATED: PairingEndReason.GRADUATION,
                EnrollmentStatus.TRANSFERRED: PairingEndReason.SCHOOL_TRANSFER,
            }.get(EnrollmentStatus(change.status))
            pairing = ended.get((change.effective_on, end_reason)) if end_reason else None
        if pairing is not None:
            text += f";与{pairing.teacher.name}老师的结对同日结束"
        reason = change.reason if reasons else ""
        entries.append(HistoryEntry(change.effective_on, kind, text, reason, who, change.created_at, tone))
    return entries


def student_history(student: Student, *, access: FieldAccess) -> list[HistoryEntry]:
    """The student's history in date order: 认定 changes and list exits (for a reader who sees 认定),
    学籍变动 and transfers (their reasons for a reader who sees ENROLLMENT). Reads only what
    selectors.student_full_record prefetched: no query of its own."""
    entries = _enrollment_entries(student, reasons=bool(access.enrollment))
    if access.assessment:
        entries += _assessment_entries(student)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(entries, key=lambda e: (e.on, e.at or far))


def school_change_filter(user: Any, params: Any) -> SchoolChangeFilter:
    """认定变动统计's bound FilterSet over the reader's schools (the page and its report)."""
    return SchoolChangeFilter(params, queryset=School.objects.visible_to(user), request_user=user)


def school_changes(filterset: SchoolChangeFilter, *, term: Term, previous: Term | None) -> CountyChanges:
    return changes_by_school(filterset.request_user, filterset.qs, term=term, previous=previous)
