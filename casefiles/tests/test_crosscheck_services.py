"""部门名单比对, the comparison and the decisions: students newly on a list (add the category),
students who left a complete list (remove it), students on a list in no pairing (possibly missed);
each proposal confirmed through assessment_save or rejected, once, recorded and audited; an
officer's upload sees only her school's students."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from casefiles import crosscheck_services as services
from casefiles.models import (
    DEPARTMENT_CATEGORY_NAMES,
    CheckMissed,
    CheckProposal,
    CheckStatus,
    DepartmentCheck,
    DepartmentList,
    ProposalAction,
    ProposalDecision,
)
from pairing import services as pairing_services
from pairing.models import EnrollmentStatus, HardshipAssessment, HardshipLevel, SpecialCategory
from pairing.tests import factories as f
from zaoyang_aid.access import Role
from zaoyang_aid.models import AuditAction, AuditEvent

DIBAO = DepartmentList.DIBAO


def dibao() -> SpecialCategory:
    return SpecialCategory.objects.get(name="最低生活保障家庭")


def level(student: Any, name: str = "困难") -> HardshipLevel:
    return HardshipLevel.objects.for_stage(student.school.stage).get(name=name)


def assess(world: Any, student: Any, *categories: SpecialCategory) -> HardshipAssessment:
    return pairing_services.assessment_save(
        student=student, term=world.term, level=level(student), categories=categories, decided_on=dt.date(2026, 9, 10)
    )


def upload(
    by: Any, *students: Any, kind: str = DIBAO, complete: bool = False, extra: tuple[str, ...] = ()
) -> DepartmentCheck:
    return services.department_check_create(
        by=by,
        kind=kind,
        complete=complete,
        file_name="低保名单.xlsx",
        ids={s.id_number for s in students} | set(extra),
        rows_read=len(students) + len(extra),
    )


def proposals(check: DepartmentCheck) -> dict[str, str]:
    return {p.student.name: p.action for p in CheckProposal.objects.filter(department_check=check)}


@pytest.mark.django_db
def test_every_list_maps_to_a_seeded_special_category() -> None:
    names = set(SpecialCategory.objects.values_list("name", flat=True))
    assert set(DEPARTMENT_CATEGORY_NAMES.values()) <= names
    assert set(DEPARTMENT_CATEGORY_NAMES) == set(DepartmentList.values)


def test_only_the_roles_that_see_assessments_may_cross_check() -> None:
    assert {Role.OFFICER, Role.COUNTY} == services.CROSS_CHECK_ROLES


# --- a) newly on the list ---------------------------------------------------------------------------


def test_a_student_newly_on_the_list_is_proposed_for_the_category(world: Any) -> None:
    assess(world, world.student_a1)
    assess(world, world.student_a2, dibao())
    check = upload(world.officer_a, world.student_a1, world.student_a2)
    assert proposals(check) == {"张小明": ProposalAction.ADD}
    assert check.matched_count == 2
    assert check.status == CheckStatus.PENDING


def test_a_student_without_an_assessment_this_term_is_proposed_too(world: Any) -> None:
    check = upload(world.officer_a, world.student_a1)
    assert proposals(check) == {"张小明": ProposalAction.ADD}


# --- b) left the list ---------------------------------------------------------------------------------


def test_a_student_who_left_a_complete_list_is_proposed_for_removal(world: Any) -> None:
    assess(world, world.student_a1, dibao())
    assess(world, world.student_a2, dibao())
    check = upload(world.officer_a, world.student_a2, complete=True)
    assert proposals(check) == {"张小明": ProposalAction.REMOVE}


def test_a_partial_list_proposes_no_removal(world: Any) -> None:
    assess(world, world.student_a1, dibao())
    check = upload(world.officer_a, world.student_a2, complete=False)
    assert proposals(check) == {"李小红": ProposalAction.ADD}


def test_another_categorys_list_leaves_this_category_alone(world: Any) -> None:
    assess(world, world.student_a1, dibao())
    check = upload(world.officer_a, world.student_a2, kind=DepartmentList.TEKUN, complete=True)
    assert proposals(check) == {"李小红": ProposalAction.ADD}
    assert CheckProposal.objects.get(department_check=check).category.name == "特困供养"


# --- c) possibly missed --------------------------------------------------------------------------------


def test_a_student_on_the_list_in_no_active_pairing_is_possibly_missed(world: Any) -> None:
    alone = f.StudentFactory(school=world.school_a, name="孙无结对")
    ended = f.PairingFactory(teacher__school=world.school_a, student__name="周已结束")
    ended.ended_on, ended.end_reason = dt.date(2026, 10, 1), "other"
    ended.save()
    check = upload(world.officer_a, world.student_a1, alone, ended.student)
    assert set(CheckMissed.objects.filter(department_check=check).values_list("student__name", flat=True)) == {
        "孙无结对",
        "周已结束",
    }


def test_students_who_graduated_or_transferred_out_are_not_compared(world: Any) -> None:
    gone = f.StudentFactory(school=world.school_a, enrollment_status=EnrollmentStatus.GRADUATED)
    check = upload(world.officer_a, gone)
    assert check.matched_count == 0
    assert not CheckMissed.objects.exists()


# --- Scope --------------------------------------------------------------------------------------------


def test_an_officers_upload_matches_only_her_schools_students(world: Any) -> None:
    check = upload(world.officer_a, world.student_a1, world.student_b1, complete=True)
    assert check.school == world.school_a
    assert check.matched_count == 1
    assert proposals(check) == {"张小明": ProposalAction.ADD}
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="部门名单比对", object_id=str(check.pk))
    assert event.changes["匹配学生"] == [None, 1]
    assert world.student_b1.name not in str(event.changes)


def test_county_staff_compare_the_whole_county(world: Any) -> None:
    check = upload(world.county, world.student_a1, world.student_b1)
    assert check.school is None
    assert proposals(check) == {"张小明": ProposalAction.ADD, "王小刚": ProposalAction.ADD}


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "admin", "nobody"])
def test_other_roles_may_not_compare(world: Any, who: str) -> None:
    with pytest.raises(ValidationError, match="无权"):
        upload(getattr(world, who), world.student_a1)


def test_a_missing_or_inactive_category_is_a_clear_error(world: Any) -> None:
    SpecialCategory.objects.filter(name="特困供养").update(is_active=False)
    with pytest.raises(ValidationError) as caught:
        upload(world.officer_a, world.student_a1, kind=DepartmentList.TEKUN)
    assert "特困供养" in caught.value.message_dict["kind"][0] and "已停用" in caught.value.message_dict["kind"][0]
    SpecialCategory.objects.filter(name="特困供养").delete()
    with pytest.raises(ValidationError, match="未设置"):
        upload(world.officer_a, world.student_a1, kind=DepartmentList.TEKUN)
    assert not DepartmentCheck.objects.exists()


# --- Deciding ----------------------------------------------------------------------------------------


def only_proposal(check: DepartmentCheck) -> CheckProposal:
    return CheckProposal.objects.get(department_check=check)


@pytest.fixture
def saved_through_service(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    real = pairing_services.assessment_save

    def spy(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(pairing_services, "assessment_save", spy)
    return calls


def test_confirming_an_addition_adds_the_category_through_assessment_save(
    world: Any, saved_through_service: list[dict[str, Any]]
) -> None:
    assess(world, world.student_a1, SpecialCategory.objects.get(name="特困供养"))
    proposal = only_proposal(upload(world.officer_a, world.student_a1))
    services.proposal_confirm(proposal_id=proposal.pk, by=world.officer_a, note="民政名单已核实")
    assessment = HardshipAssessment.objects.get(student=world.student_a1, term=world.term)
    assert set(assessment.categories.values_list("name", flat=True)) == {"特困供养", "最低生活保障家庭"}
    assert assessment.level.name == "困难" and assessment.decided_on == dt.date(2026, 9, 10)
    assert [c.name for c in saved_through_service[-1]["categories"]] == ["特困供养", "最低生活保障家庭"]
    proposal.refresh_from_db()
    assert (proposal.decision, proposal.decided_by, proposal.note) == (
        ProposalDecision.CONFIRMED,
        world.officer_a,
        "民政名单已核实",
    )
    assert proposal.decided_at is not None
    assert proposal.department_check.status == CheckStatus.DONE


def test_confirming_an_addition_without_an_assessment_needs_a_level(world: Any) -> None:
    proposal = only_proposal(upload(world.officer_a, world.student_a1))
    with pytest.raises(ValidationError) as caught:
        services.proposal_confirm(proposal_id=proposal.pk, by=world.officer_a)
    assert caught.value.message_dict["level"] == [services.LEVEL_NEEDED]
    assert not HardshipAssessment.objects.exists()
    assert only_proposal(proposal.department_check).decision == ProposalDecision.PENDING
    services.proposal_confirm(
        proposal_id=proposal.pk, by=world.officer_a, level_id=level(world.student_a1, "特别困难").pk
    )
    assessment = HardshipAssessment.objects.get(student=world.student_a1, term=world.term)
    assert assessment.level.name == "特别困难"
    assert assessment.decided_on == dt.date(2026, 11, 16)  # today, by default
    assert list(assessment.categories.values_list("name", flat=True)) == ["最低生活保障家庭"]


def test_confirming_a_removal_removes_the_category(world: Any, saved_through_service: list[dict[str, Any]]) -> None:
    assess(world, world.student_a1, dibao(), SpecialCategory.objects.get(name="特困供养"))
    proposal = only_proposal(upload(world.officer_a, complete=True, extra=("000",)))
    assert proposal.action == ProposalAction.REMOVE
    services.proposal_confirm(proposal_id=proposal.pk, by=world.officer_a)
    assessment = HardshipAssessment.objects.get(student=world.student_a1)
    assert list(assessment.categories.values_list("name", flat=True)) == ["特困供养"]
    assert [c.name for c in saved_through_service[-1]["categories"]] == ["特困供养"]


def test_rejecting_records_the_decision_and_leaves_the_assessment(world: Any) -> None:
    assess(world, world.student_a1, dibao())
    proposal = only_proposal(upload(world.officer_a, complete=True, extra=("000",)))
    services.proposal_reject(proposal_id=proposal.pk, by=world.officer_a, note="名单遗漏,已联系民政")
    proposal.refresh_from_db()
    assert (proposal.decision, proposal.decided_by, proposal.note) == (
        ProposalDecision.REJECTED,
        world.officer_a,
        "名单遗漏,已联系民政",
    )
    assert list(HardshipAssessment.objects.get().categories.values_list("name", flat=True)) == ["最低生活保障家庭"]
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(proposal.pk), object_type="认定调整建议")
    assert event.student_id == world.student_a1.pk
    assert event.actor_id == world.officer_a.pk or event.actor_name  # who: the request's or the system's
    assert event.changes["处理结果"] == ["待处理", "已驳回"]
    assert event.changes["处理说明"] == [None, "名单遗漏,已联系民政"]


def test_a_second_decision_of_the_same_proposal_is_refused(world: Any) -> None:
    assess(world, world.student_a1)
    proposal = only_proposal(upload(world.officer_a, world.student_a1))
    services.proposal_confirm(proposal_id=proposal.pk, by=world.officer_a)
    with pytest.raises(ValidationError, match="不能重复处理"):
        services.proposal_reject(proposal_id=proposal.pk, by=world.county)
    with pytest.raises(ValidationError, match="不能重复处理"):
        services.proposal_confirm(proposal_id=proposal.pk, by=world.officer_a)
    assert CheckProposal.objects.get().decided_by == world.officer_a


def test_another_schools_officer_cannot_decide(world: Any) -> None:
    proposal = only_proposal(upload(world.officer_a, world.student_a1))
    with pytest.raises(ValidationError, match="不在您的管理范围内"):
        services.proposal_reject(proposal_id=proposal.pk, by=world.officer_b)
    with pytest.raises(ValidationError, match="不在您的管理范围内"):
        services.proposal_reject(proposal_id=proposal.pk, by=world.teacher_a1)


def test_an_officer_cannot_decide_a_county_checks_proposal(world: Any) -> None:
    proposal = only_proposal(upload(world.county, world.student_a1))
    with pytest.raises(ValidationError, match="不在您的管理范围内"):
        services.proposal_reject(proposal_id=proposal.pk, by=world.officer_a)


def test_confirm_all_confirms_what_needs_no_level_all_or_nothing(world: Any) -> None:
    assess(world, world.student_a1)  # add: has a 认定
    extra = f.StudentFactory(school=world.school_a, name="吴有类别")
    assess(world, extra, dibao())  # remove: left the complete list
    check = upload(world.officer_a, world.student_a1, world.student_a2, complete=True)  # a2: no 认定
    confirmed, skipped = services.proposals_confirm_all(check_id=check.pk, by=world.officer_a)
    assert (confirmed, skipped) == (2, 1)
    decided = dict(CheckProposal.objects.values_list("student__name", "decision"))
    assert decided == {"张小明": "confirmed", "吴有类别": "confirmed", "李小红": "pending"}
    assert dibao() in HardshipAssessment.objects.get(student=world.student_a1).categories.all()
    assert dibao() not in HardshipAssessment.objects.get(student=extra).categories.all()
    check.refresh_from_db()
    assert check.status == CheckStatus.PENDING
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="认定调整建议").count() == 2


def test_confirm_all_writes_nothing_when_one_confirm_fails(world: Any) -> None:
    assess(world, world.student_a1)
    assess(world, world.student_a2)
    check = upload(world.officer_a, world.student_a1, world.student_a2)
    # 李小红's level is switched off since: assessment_save refuses it, so nothing is confirmed.
    other = HardshipLevel.objects.create(name="临时等级", stage="", order=99)
    HardshipAssessment.objects.filter(student=world.student_a2).update(level=other)
    other.is_active = False
    other.save()
    with pytest.raises(ValidationError, match="李小红"):
        services.proposals_confirm_all(check_id=check.pk, by=world.officer_a)
    assert set(CheckProposal.objects.values_list("decision", flat=True)) == {"pending"}
    assert dibao() not in HardshipAssessment.objects.get(student=world.student_a1).categories.all()


def test_the_upload_is_audited_with_its_counts(world: Any) -> None:
    check = upload(world.officer_a, world.student_a1)
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="部门名单比对")
    assert event.object_id == str(check.pk)
    assert event.changes["名单"] == [None, "低保(民政)"]
    assert event.changes["建议增加类别"] == [None, 1]
    assert event.changes["可能漏帮扶"] == [None, 0]
