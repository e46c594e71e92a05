"""动态管理 in the demo: at the demo school, this term's 认定 against the last shows each kind of
change, written through the services by the school's 资助专干 (so each has its reason and who): a
level raised and one lowered, a category added, a student newly assessed, one 脱贫退出 and one
re-entered after an earlier exit; the new and the raised are confirmed, the rest wait for her."""

from __future__ import annotations

import datetime as dt
from typing import Any

from zaoyang_aid.demo import DemoContext

from . import services
from .dynamics import ChangeKind, previous_term, term_changes
from .models import (
    AidExitReason,
    EnrollmentStatus,
    HardshipAssessment,
    HardshipLevel,
    Pairing,
    School,
    SpecialCategory,
    Student,
    Term,
)

RAISED_REASON = "父亲务工受伤,家庭收入骤减,经班级评议小组评议调整"
LOWERED_REASON = "母亲稳定就业,家庭经济状况有所好转"
CATEGORY_REASON = "家庭新纳入“{}”,相关部门已出具证明"
ADDED_REASON = "本学期新认定:母亲患重病,医疗支出大"
EXIT_NOTE = "家庭人均纯收入已超过当地脱贫标准,经村委会核实"
REENTRY_REASON = "家庭再次因病致贫,重新认定"


def write(ctx: DemoContext, *, school: School, term: Term, officer: Any) -> None:
    """Each kind of change at ``school`` in ``term`` (the current one) against the term before."""
    previous = previous_term(term)
    if previous is None:
        return
    enrolled = Student.objects.filter(school=school, enrollment_status=EnrollmentStatus.ENROLLED).order_by("pk")
    now = {a.student_id: a for a in HardshipAssessment.objects.filter(term=term, student__in=enrolled)}
    before = {a.student_id: a for a in HardshipAssessment.objects.filter(term=previous, student__in=enrolled)}
    levels = list(HardshipLevel.objects.for_stage(school.stage).order_by("order"))
    rank = {level.pk: i for i, level in enumerate(levels)}
    both = [
        s
        for s in enrolled
        if s.pk in now and s.pk in before and now[s.pk].level_id == before[s.pk].level_id and now[s.pk].level_id in rank
    ]
    raised = next((s for s in both if rank[now[s.pk].level_id] > 0), None)
    lowered = next((s for s in both if s != raised and rank[now[s.pk].level_id] < len(levels) - 1), None)
    if raised is None or lowered is None or len(both) < 6:
        return
    rest = [s for s in both if s not in (raised, lowered)]
    # Newly assessed this term and not yet paired (the officer's list of students to pair).
    paired = set(Pairing.objects.filter(student__in=rest, ended_on__isnull=True).values_list("student_id", flat=True))
    newcomer = next((s for s in rest if s.pk not in paired), rest[-1])
    recategorised, exited, reentered = [s for s in rest if s != newcomer][:3]
    _unassess(newcomer, [now[newcomer.pk], before[newcomer.pk]])
    day = min(ctx.today, term.end_date, term.start_date + dt.timedelta(days=20))
    _set_level(raised, term, levels[rank[now[raised.pk].level_id] - 1], day, officer)
    _set_level(lowered, term, levels[rank[now[lowered.pk].level_id] + 1], day, officer)
    _add_category(recategorised, now[recategorised.pk], day, officer)
    services.assessment_save(
        student=newcomer, term=term, level=levels[1], decided_on=day, reason=ADDED_REASON, by=officer
    )
    exit_on = max(term.start_date, min(ctx.today, term.end_date) - dt.timedelta(days=7))
    services.aid_list_exit(student=exited, on=exit_on, reason=AidExitReason.POVERTY_EXIT, note=EXIT_NOTE, by=officer)
    # Left the list last term, taken back this one (重新纳入).
    left_on = previous.start_date + dt.timedelta(days=30)
    services.aid_list_exit(student=reentered, on=left_on, reason=AidExitReason.BETTER_OFF, by=officer)
    services.assessment_save(
        student=reentered,
        term=term,
        level=now[reentered.pk].level,
        categories=list(now[reentered.pk].categories.all()),
        decided_on=day,
        reason=REENTRY_REASON,
        by=officer,
    )
    _confirm(officer, term, previous, [raised, newcomer])
    ctx.counts["认定变动"] = 6
    ctx.log(
        f"认定变动: 等级提高 {raised.name}; 等级降低 {lowered.name}; 类别变化 {recategorised.name}; "
        f"新增 {newcomer.name}; 脱贫退出 {exited.name}; 重新纳入 {reentered.name}"
    )


def _unassess(student: Student, assessments: list[HardshipAssessment]) -> None:
    """The bulk load assessed every demo student from the first term; the newcomer was not assessed
    before this term. Raw deletes of the bulk rows (no audit line: they were never a person's record
    edited, like the flush's)."""
    ids = [a.pk for a in assessments]
    through = HardshipAssessment.categories.through.objects.filter(hardshipassessment_id__in=ids)
    through._raw_delete(through.db)
    rows = HardshipAssessment.objects.filter(pk__in=ids)
    rows._raw_delete(rows.db)


def _set_level(student: Student, term: Term, level: HardshipLevel, day: dt.date, officer: Any) -> None:
    current = HardshipAssessment.objects.get(student=student, term=term)
    reason = RAISED_REASON if level.order < current.level.order else LOWERED_REASON
    services.assessment_save(
        student=student,
        term=term,
        level=level,
        categories=list(current.categories.all()),
        decided_on=day,
        reason=reason,
        by=officer,
    )


def _add_category(student: Student, current: HardshipAssessment, day: dt.date, officer: Any) -> None:
    held = list(current.categories.all())
    extra = SpecialCategory.objects.filter(is_active=True).exclude(pk__in=[c.pk for c in held]).order_by("order")
    services.assessment_save(
        student=student,
        term=current.term,
        level=current.level,
        categories=[*held, *extra[:1]],
        decided_on=day,
        reason=CATEGORY_REASON.format(extra[0].name) if extra else "特殊群体类别核实调整",
        by=officer,
    )


def _confirm(officer: Any, term: Term, previous: Term, students: list[Student]) -> None:
    lines = term_changes(officer, Student.objects.filter(pk__in=[s.pk for s in students]), term=term, previous=previous)
    for line in lines:
        if line.kind != ChangeKind.UNCHANGED:
            services.assessment_change_confirm(
                student=line.student.pk, term=term, fingerprint=line.fingerprint, by=officer
            )
