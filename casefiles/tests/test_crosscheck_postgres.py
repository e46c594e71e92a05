"""部门名单比对's decisions under concurrency, on PostgreSQL: the school's 资助专干 and county staff
deciding the same proposal at the same moment: exactly one decision is recorded, the other refused
with the Chinese message; the check's status is left right."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from casefiles import crosscheck_services as services
from casefiles.models import CheckProposal, CheckStatus, DepartmentCheck, ProposalDecision
from pairing import services as pairing_services
from pairing.models import HardshipAssessment, HardshipLevel, SpecialCategory
from pairing.tests import factories as pf

from .test_review_postgres import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def proposal(time_machine: Any) -> tuple[CheckProposal, Any, Any]:
    time_machine.move_to(dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False)
    # A transactional test flushes the tables after it: the reference rows of migration 0002 again.
    HardshipLevel.objects.get_or_create(stage="", name="困难")
    SpecialCategory.objects.get_or_create(name="最低生活保障家庭")
    term = pf.TermFactory()
    pairing = pf.PairingFactory(started_on=term.start_date)
    student = pairing.student
    pairing_services.assessment_save(
        student=student,
        term=term,
        level=HardshipLevel.objects.get(stage="", name="困难"),
        decided_on=dt.date(2026, 9, 10),
    )
    officer = pf.OfficerFactory(school=student.school).user
    county = pf.CountyUserFactory()
    check = services.department_check_create(
        by=officer, kind="dibao", complete=False, file_name="低保.xlsx", ids={student.id_number}, rows_read=1
    )
    return CheckProposal.objects.get(department_check=check), officer, county


def test_two_concurrent_decisions_of_one_proposal_one_wins_the_other_is_refused(
    proposal: tuple[CheckProposal, Any, Any],
) -> None:
    item, officer, county = proposal

    def confirm() -> Callable[[], object]:
        return lambda: services.proposal_confirm(proposal_id=item.pk, by=officer, note="专干确认")

    def reject() -> Callable[[], object]:
        return lambda: services.proposal_reject(proposal_id=item.pk, by=county, note="中心驳回")

    errors = race(confirm(), reject())

    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert "不能重复处理" in errors[0].messages[0]
    item.refresh_from_db()
    assert item.decision in {ProposalDecision.CONFIRMED, ProposalDecision.REJECTED}
    has_category = HardshipAssessment.objects.get().categories.filter(pk=item.category_id).exists()
    assert has_category == (item.decision == ProposalDecision.CONFIRMED)
    assert DepartmentCheck.objects.get().status == CheckStatus.DONE


def test_confirm_all_and_a_single_decision_at_once_decide_each_proposal_once(
    proposal: tuple[CheckProposal, Any, Any],
) -> None:
    item, officer, county = proposal
    errors = race(
        lambda: services.proposals_confirm_all(check_id=item.department_check_id, by=officer),
        lambda: services.proposal_reject(proposal_id=item.pk, by=county),
    )
    item.refresh_from_db()
    assert item.decision != ProposalDecision.PENDING
    assert len(errors) <= 1
    assert all("不能重复处理" in e.messages[0] for e in errors if isinstance(e, ValidationError))
