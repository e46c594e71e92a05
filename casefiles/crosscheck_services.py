"""部门名单比对, the writes: comparing a department's list (its ID numbers, read by crosscheck.py)
with the students of the uploader's scope, and deciding each proposed 认定 change.

Who may: whoever sees 认定 for every student of their scope (zaoyang_aid.fields, FieldGroup.ASSESSMENT
in broad_access: the school's 资助专干 and county staff), the rule the 认定 pages and admin ask too;
the rows they reach are DepartmentCheck/CheckProposal.visible_to. A confirmed proposal is written
through pairing.services.assessment_save, as the 认定 form writes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pairing import selectors as pairing_selectors
from pairing import services as pairing_services
from pairing.models import (
    AidListExit,
    EnrollmentStatus,
    HardshipAssessment,
    HardshipLevel,
    Pairing,
    SpecialCategory,
    Student,
    Term,
)
from zaoyang_aid import audit
from zaoyang_aid.access import Role, Scope, scope_of
from zaoyang_aid.fields import FieldGroup, broad_access
from zaoyang_aid.models import AuditAction

from .models import (
    DEPARTMENT_CATEGORY_NAMES,
    CheckMissed,
    CheckProposal,
    CheckStatus,
    DepartmentCheck,
    DepartmentList,
    ProposalAction,
    ProposalDecision,
)

_CHUNK = 500  # ID numbers per IN (...): SQLite's and PostgreSQL's parameter limits are far above
# Students no longer ours are not compared: they left for another school or finished school.
_GONE = (EnrollmentStatus.TRANSFERRED, EnrollmentStatus.GRADUATED)
LEVEL_NEEDED = "该学生本学期尚无困难认定,确认“增加类别”前请选择困难等级(并核对认定日期)。"


def may_cross_check(user: Any) -> bool:
    """The one rule (fields.py): who sees 认定 for every student of their scope."""
    return FieldGroup.ASSESSMENT in broad_access(user)


# The roles that may, for the navbar and the page guard: asked of the same rule, role by role.
CROSS_CHECK_ROLES = frozenset(r for r in Role if may_cross_check(Scope(role=r, user_id=None)))


def category_for(kind: str) -> SpecialCategory:
    """The list's SpecialCategory, by name; ValidationError when missing or switched off."""
    if kind not in DepartmentList.values:
        raise ValidationError({"kind": "请选择名单类别。"})
    name = DEPARTMENT_CATEGORY_NAMES[kind]
    category = SpecialCategory.objects.filter(name=name).first()
    if category is None or not category.is_active:
        state = "未设置" if category is None else "已停用"
        raise ValidationError(
            {
                "kind": f"特殊群体类别“{name}”{state},无法比对{DepartmentList(kind).label}名单。"
                "请联系系统管理员在“特殊群体类别”中添加或启用它。"
            }
        )
    return category


@dataclass(frozen=True)
class Comparison:
    on_list: set[int]  # our students (pk) whose ID number is on the list
    add: set[int]
    remove: set[int]
    missed: set[int]


@transaction.atomic
def department_check_create(
    *,
    by: Any,
    kind: str,
    complete: bool,
    file_name: str,
    ids: Collection[str],
    rows_read: int,
) -> DepartmentCheck:
    """Compare the list's ID numbers with the students of ``by``'s scope (an officer: her school's;
    county staff: all) in the term in progress, and keep only the comparison: the proposals and
    the possibly-missed students, never a row of the list. Removals only for a complete list."""
    scope = scope_of(by)
    if not may_cross_check(scope):
        raise ValidationError("您的角色无权进行部门名单比对。")
    category = category_for(kind)
    term = pairing_selectors.term_today(school_id=scope.school_id).term
    if term is None:
        raise ValidationError("尚未设置学期,无法比对。请联系系统管理员设置学期。")
    found = compare(scope=scope, term=term, category=category, ids=ids, complete=complete)
    check = DepartmentCheck.objects.create(
        kind=kind,
        school_id=None if scope.is_county_wide else scope.school_id,
        term=term,
        uploaded_by=by,
        file_name=file_name[:200],
        rows_read=rows_read,
        matched_count=len(found.on_list),
        complete=complete,
        status=CheckStatus.PENDING if found.add or found.remove else CheckStatus.DONE,
    )
    CheckProposal.objects.bulk_create(
        [
            CheckProposal(department_check=check, student_id=pk, category=category, action=action)
            for action, pks in ((ProposalAction.ADD, found.add), (ProposalAction.REMOVE, found.remove))
            for pk in sorted(pks)
        ]
    )
    CheckMissed.objects.bulk_create([CheckMissed(department_check=check, student_id=pk) for pk in sorted(found.missed)])
    _audit_upload(check, found)
    return check


def compare(*, scope: Scope, term: Term, category: SpecialCategory, ids: Collection[str], complete: bool) -> Comparison:
    students = Student.objects.visible_to(scope).exclude(enrollment_status__in=_GONE)
    on_list: set[int] = set()
    for chunk in _chunks(sorted(ids)):
        on_list.update(students.filter(id_number__in=chunk).values_list("pk", flat=True))
    with_category = set(
        HardshipAssessment.objects.filter(term=term, categories=category, student__in=students).values_list(
            "student_id", flat=True
        )
    )
    paired: set[int] = set()
    for chunk in _chunks(sorted(on_list)):
        paired.update(
            Pairing.objects.filter(ended_on__isnull=True, student_id__in=chunk).values_list("student_id", flat=True)
        )
    return Comparison(
        on_list=on_list,
        add=on_list - with_category,
        remove=(with_category - on_list) if complete else set(),
        missed=on_list - paired,
    )


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _audit_upload(check: DepartmentCheck, found: Comparison) -> None:
    audit.record(
        AuditAction.CREATE,
        obj=check,
        changes={
            "名单": [None, check.get_kind_display()],
            "文件名": [None, check.file_name],
            "完整名单": [None, "是" if check.complete else "否"],
            "读取行数": [None, check.rows_read],
            "匹配学生": [None, check.matched_count],
            "建议增加类别": [None, len(found.add)],
            "建议取消类别": [None, len(found.remove)],
            "可能漏帮扶": [None, len(found.missed)],
        },
    )


# --- Deciding a proposal ------------------------------------------------------------------------------


@transaction.atomic
def proposal_confirm(
    *,
    proposal_id: int,
    by: Any,
    level_id: int | None = None,
    decided_on: dt.date | None = None,
    note: str = "",
) -> CheckProposal:
    """Confirm: the student's 认定 of the check's term gains (or loses) the category, through
    assessment_save. A student without a 认定 of that term needs ``level_id`` (and ``decided_on``,
    today by default) for an added category. A proposal is decided once (row locked)."""
    proposal = _lock_pending(proposal_id, by)
    _apply(proposal, level_id=level_id, decided_on=decided_on, by=by)
    return _decide(proposal, by=by, decision=ProposalDecision.CONFIRMED, note=note)


@transaction.atomic
def proposal_reject(*, proposal_id: int, by: Any, note: str = "") -> CheckProposal:
    """Reject: the 认定 stays as it is; the decision is recorded and audited."""
    proposal = _lock_pending(proposal_id, by)
    return _decide(proposal, by=by, decision=ProposalDecision.REJECTED, note=note)


@transaction.atomic
def proposals_confirm_all(*, check_id: int, by: Any) -> tuple[int, int]:
    """Confirm every pending proposal of a check that needs no 困难等级 (a student with a 认定 of the
    term, or a removal), all or none. Returns (confirmed, left for a level to be chosen)."""
    check = DepartmentCheck.objects.visible_to(by).select_for_update().filter(pk=check_id).first()
    if check is None:
        raise ValidationError("该比对不存在或不在您的管理范围内。")
    pending = CheckProposal.objects.filter(department_check=check, decision=ProposalDecision.PENDING)
    assessed = set(
        HardshipAssessment.objects.filter(term_id=check.term_id, student__in=pending.values("student_id")).values_list(
            "student_id", flat=True
        )
    )
    confirmed = skipped = 0
    for proposal in pending.select_related("student", "category", "department_check__term").order_by("pk"):
        if proposal.action == ProposalAction.ADD and proposal.student_id not in assessed:
            skipped += 1
            continue
        try:
            _apply(proposal, level_id=None, decided_on=None, by=by)
        except ValidationError as exc:
            raise ValidationError(f"{proposal.student.name}:{'；'.join(exc.messages)}") from exc
        _decide(proposal, by=by, decision=ProposalDecision.CONFIRMED, note="批量确认", refresh=False)
        confirmed += 1
    _refresh_status(check)
    return confirmed, skipped


def _lock_pending(proposal_id: int, by: Any) -> CheckProposal:
    """The proposal, locked with its check (check first, then proposal: one order for every writer,
    so that two officers deciding the last two proposals leave the check's status right)."""
    found = CheckProposal.objects.visible_to(by).filter(pk=proposal_id).values_list("department_check_id", flat=True)
    check_id = found.first()
    if check_id is None:
        raise ValidationError("该建议不存在或不在您的管理范围内。")
    DepartmentCheck.objects.select_for_update().filter(pk=check_id).values_list("pk").get()
    proposal = (
        CheckProposal.objects.select_for_update(of=("self",))
        .select_related("student__school", "category", "department_check__term__school_year", "decided_by")
        .get(pk=proposal_id)
    )
    if proposal.decision != ProposalDecision.PENDING:
        who = proposal.decided_by.get_full_name() if proposal.decided_by else "他人"
        when = timezone.localtime(proposal.decided_at).strftime("%Y-%m-%d %H:%M") if proposal.decided_at else ""
        raise ValidationError(
            f"该建议已由{who}于{when}{proposal.get_decision_display()},不能重复处理。", code="decided"
        )
    return proposal


def _apply(proposal: CheckProposal, *, level_id: int | None, decided_on: dt.date | None, by: Any) -> None:
    """The 认定 change itself, through assessment_save."""
    student, term, category = proposal.student, proposal.department_check.term, proposal.category
    assessment = (
        HardshipAssessment.objects.filter(student=student, term=term)
        .select_related("level")
        .prefetch_related("categories")
        .first()
    )
    current = list(assessment.categories.all()) if assessment else []
    if proposal.action == ProposalAction.REMOVE:
        if assessment is None or category not in current:
            return  # already without it: nothing to write
        if AidListExit.objects.filter(student=student, term=term, reentered_on__isnull=True).exists():
            return  # off the list this term (动态管理): a removal must not take her back onto it
        categories = [c for c in current if c.pk != category.pk]
    else:
        if assessment is not None and category in current:
            return
        categories = [*current, category]
    if assessment is not None:
        level, day, kept_note = assessment.level, assessment.decided_on, assessment.note
    else:
        level = HardshipLevel.objects.filter(pk=level_id).first() if level_id else None
        if level is None:
            raise ValidationError({"level": LEVEL_NEEDED}, code="level_needed")
        day, kept_note = decided_on or timezone.localdate(), ""
    pairing_services.assessment_save(
        student=student,
        term=term,
        level=level,
        categories=categories,
        decided_on=day,
        note=kept_note,
        reason=f"部门名单比对({proposal.department_check.get_kind_display()}):{proposal.get_action_display()}“{category.name}”",
        by=by,
    )


def _decide(proposal: CheckProposal, *, by: Any, decision: str, note: str, refresh: bool = True) -> CheckProposal:
    proposal.decision = decision
    proposal.decided_by = by
    proposal.decided_at = timezone.now()
    proposal.note = (note or "").strip()[:200]
    proposal.save(update_fields=["decision", "decided_by", "decided_at", "note"])
    audit.record(
        AuditAction.UPDATE,
        obj=proposal,
        student_id=proposal.student_id,
        changes={
            "处理结果": [ProposalDecision.PENDING.label, proposal.get_decision_display()],
            "建议": [None, f"{proposal.get_action_display()}“{proposal.category.name}”"],
            "名单": [None, proposal.department_check.get_kind_display()],
            **({"处理说明": [None, proposal.note]} if proposal.note else {}),
        },
    )
    if refresh:
        _refresh_status(proposal.department_check)
    return proposal


def _refresh_status(check: DepartmentCheck) -> None:
    """The check's status, kept by the services that decide its proposals (under the check's lock)."""
    pending = CheckProposal.objects.filter(department_check=check, decision=ProposalDecision.PENDING).exists()
    status = CheckStatus.PENDING if pending else CheckStatus.DONE
    if check.status != status:
        check.status = status
        check.save(update_fields=["status"])
