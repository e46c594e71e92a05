"""部门名单比对 and 动态管理: a confirmed proposal changes the 认定 through assessment_save, so the
change carries its why and who into the student's history and the term's 认定变动; a removal for a
student who left the list this term does not take her back onto it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from casefiles import crosscheck_services as services
from casefiles.models import CheckProposal, DepartmentList, ProposalDecision
from pairing import services as pairing_services
from pairing.dynamics import ChangeKind, term_changes
from pairing.models import AidListExit, HardshipAssessment, HardshipLevel, SpecialCategory, Student

pytestmark = pytest.mark.django_db


def _assess(world: Any, *categories: SpecialCategory) -> HardshipAssessment:
    return pairing_services.assessment_save(
        student=world.student_a1,
        term=world.term,
        level=HardshipLevel.objects.get(name="困难", stage=""),
        categories=categories,
        decided_on=dt.date(2026, 9, 10),
    )


def _upload(world: Any, *students: Any, complete: bool = False) -> CheckProposal:
    check = services.department_check_create(
        by=world.officer_a,
        kind=DepartmentList.DIBAO,
        complete=complete,
        file_name="低保名单.xlsx",
        ids={s.id_number for s in students} | {"000"},
        rows_read=len(students) + 1,
    )
    return CheckProposal.objects.get(department_check=check)


def test_a_confirmed_proposal_is_a_change_with_its_reason_and_who(world):
    _assess(world)
    proposal = _upload(world, world.student_a1)
    services.proposal_confirm(proposal_id=proposal.pk, by=world.officer_a)
    assessment = HardshipAssessment.objects.get(student=world.student_a1, term=world.term)
    assert assessment.recorded_by == world.officer_a
    assert assessment.reason.startswith("部门名单比对") and "最低生活保障家庭" in assessment.reason
    line = term_changes(
        world.officer_a, Student.objects.filter(pk=world.student_a1.pk), term=world.term, previous=None
    )[0]
    assert line.kind == ChangeKind.ADDED and line.reason == assessment.reason


def test_a_removal_leaves_a_student_who_left_the_list_off_it(world):
    dibao = SpecialCategory.objects.get(name="最低生活保障家庭")
    _assess(world, dibao)
    pairing_services.aid_list_exit(
        student=world.student_a1, on=dt.date(2026, 10, 9), reason="poverty_exit", by=world.officer_a
    )
    proposal = _upload(world, complete=True)
    services.proposal_confirm(proposal_id=proposal.pk, by=world.officer_a)
    assert CheckProposal.objects.get(pk=proposal.pk).decision == ProposalDecision.CONFIRMED
    assert AidListExit.objects.get().reentered_on is None
    assert list(HardshipAssessment.objects.get().categories.all()) == [dibao]  # nothing written
