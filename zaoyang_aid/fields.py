"""Who sees which field: the one field-visibility policy.

Row scoping (access.py) decides which students a user may open at all; this module decides which
parts of a student's record they see there. A record's personal fields fall into groups (identity,
the whole ID number, contact, household economics, 认定, health, 学籍变动 reasons, help records,
counselling); what a reader sees depends on their role and their relation to the student: they
包保 the student now (PAIRED), the student is at their school (SCHOOL), or their role is county-wide
(COUNTY). Every page, filter, search, admin page and export asks ``field_access``; none restates it.

``FIELD_GROUPS`` places every model field that holds a person's data in its group, and
``NOT_PERSONAL`` names the rest with the reason; a test fails when a model field is in neither, so a
new column cannot slip past the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .access import Role, Scope, scope_of


class FieldGroup(StrEnum):
    IDENTITY = "identity"
    FULL_ID = "full_id"
    CONTACT = "contact"
    HOUSEHOLD = "household"
    ASSESSMENT = "assessment"
    HEALTH = "health"
    ENROLLMENT = "enrollment"
    RECORDS = "records"
    COUNSELLING = "counselling"
    STAFF = "staff"

    @property
    def label(self) -> str:
        return GROUP_LABELS[self]


GROUP_LABELS = {
    FieldGroup.IDENTITY: "基本信息(姓名、学校班级、脱敏证件号)",
    FieldGroup.FULL_ID: "完整身份证号与学籍号",
    FieldGroup.CONTACT: "监护人与家庭住址",
    FieldGroup.HOUSEHOLD: "家庭成员与经济状况",
    FieldGroup.ASSESSMENT: "困难认定与特殊群体类别",
    FieldGroup.HEALTH: "健康与残疾状况",
    FieldGroup.ENROLLMENT: "学籍变动与结对变动原因",
    FieldGroup.RECORDS: "帮扶记录(谈心谈话、家访及照片、五三卡)",
    FieldGroup.COUNSELLING: "心理辅导记录",
    FieldGroup.STAFF: "教职工联系方式",
}


class Relation(StrEnum):
    PAIRED = "paired"  # the reader 包保 the student now
    SCHOOL = "school"  # the student is at the reader's school
    COUNTY = "county"  # the reader's role is county-wide
    NONE = "none"


G = FieldGroup
_WHAT_THE_PAIRED_TEACHER_NEEDS = frozenset(
    {G.IDENTITY, G.CONTACT, G.HOUSEHOLD, G.ASSESSMENT, G.HEALTH, G.ENROLLMENT, G.RECORDS}
)
_THE_WHOLE_RECORD = _WHAT_THE_PAIRED_TEACHER_NEEDS | {G.FULL_ID}

# role -> relation -> groups. A relation not listed sees nothing. Reasons:
# - The teacher who 包保 a student needs the family's situation to help, not the whole ID number.
# - A counsellor reads the school's counselling notes and may call a guardian, but sees a family's
#   economics, 认定 and health only for a student she 包保 herself.
# - The school's 资助专干 and the county's staff 认定 and pay subsidies: the whole record with the ID.
# - The 系统管理员 keeps reference data and accounts: who is where, not the families' situation.
POLICY: dict[Role, dict[Relation, frozenset[FieldGroup]]] = {
    Role.TEACHER: {
        Relation.PAIRED: _WHAT_THE_PAIRED_TEACHER_NEEDS | {G.STAFF},
        Relation.SCHOOL: frozenset({G.IDENTITY, G.STAFF}),
    },
    Role.COUNSELLOR: {
        Relation.PAIRED: _WHAT_THE_PAIRED_TEACHER_NEEDS | {G.COUNSELLING, G.STAFF},
        Relation.SCHOOL: frozenset({G.IDENTITY, G.CONTACT, G.COUNSELLING, G.STAFF}),
    },
    Role.OFFICER: {
        Relation.PAIRED: _THE_WHOLE_RECORD | {G.STAFF},
        Relation.SCHOOL: _THE_WHOLE_RECORD | {G.STAFF},
    },
    Role.COUNTY: {Relation.COUNTY: _THE_WHOLE_RECORD | {G.STAFF}},
    Role.ADMIN: {Relation.COUNTY: frozenset({G.IDENTITY, G.STAFF})},
}
# - 心理健康档案 (COUNSELLING: session notes, assessments, risk levels and their reasons, a teacher's
#   request for counselling) are read by the school's counsellors (above) and, county-wide, only by
#   the county staff designated for it (User.reads_counselling, carried on Scope). Officers, teachers,
#   the 系统管理员 and undesignated county staff never read them.
DESIGNATED_COUNTY_EXTRA = frozenset({G.COUNSELLING})


def groups_for(role: Role | str | None, relation: Relation) -> frozenset[FieldGroup]:
    if not role:
        return frozenset()
    return POLICY.get(Role(role), {}).get(relation, frozenset())


def _scope_groups(scope: Scope, relation: Relation) -> frozenset[FieldGroup]:
    """groups_for, plus COUNSELLING for designated county staff (the one per-account exception)."""
    groups = groups_for(scope.role, relation)
    if scope.reads_counselling and scope.role == Role.COUNTY and relation == Relation.COUNTY:
        groups |= DESIGNATED_COUNTY_EXTRA
    return groups


@dataclass(frozen=True)
class FieldAccess:
    """What one reader sees of one student's record; templates read ``access.household`` and so on."""

    groups: frozenset[FieldGroup]
    relation: Relation

    def __contains__(self, group: object) -> bool:
        return group in self.groups

    def __getattr__(self, name: str) -> bool:
        try:
            return FieldGroup(name) in self.groups
        except ValueError:
            raise AttributeError(name) from None

    @property
    def labels(self) -> list[str]:
        return [g.label for g in FieldGroup if g in self.groups]


def relation_to(scope: Scope, *, school_id: int | None, paired_teacher_id: int | None) -> Relation:
    """How the reader stands to a student at ``school_id`` whom ``paired_teacher_id`` 包保 now."""
    if scope.role is None:
        return Relation.NONE
    if scope.teacher_id is not None and paired_teacher_id == scope.teacher_id:
        return Relation.PAIRED
    if scope.is_county_wide:
        return Relation.COUNTY
    if scope.school_id is not None and school_id == scope.school_id:
        return Relation.SCHOOL
    return Relation.NONE


def field_access(user: Any, *, school_id: int | None, paired_teacher_id: int | None) -> FieldAccess:
    scope = user if isinstance(user, Scope) else scope_of(user)
    relation = relation_to(scope, school_id=school_id, paired_teacher_id=paired_teacher_id)
    return FieldAccess(_scope_groups(scope, relation), relation)


def broad_access(user: Any) -> FieldAccess:
    """What the reader sees of every student in their scope, paired with them or not: the columns and
    filters a list may offer (a counsellor's school list has no 认定 filter)."""
    scope = user if isinstance(user, Scope) else scope_of(user)
    relation = Relation.COUNTY if scope.is_county_wide else Relation.SCHOOL
    return FieldAccess(_scope_groups(scope, relation), relation)


def paired_access(user: Any) -> FieldAccess:
    """What the reader sees of the students they 包保 themselves."""
    scope = user if isinstance(user, Scope) else scope_of(user)
    return FieldAccess(_scope_groups(scope, Relation.PAIRED), Relation.PAIRED)


def sees_anywhere(user: Any, group: FieldGroup) -> bool:
    """Whether the reader sees ``group`` for any student at all (for whole pages and admin models)."""
    return group in broad_access(user) or group in paired_access(user)


# --- Which field is in which group -------------------------------------------------------------
# "app_label.Model.field" -> group. Fields of the same model that are not personal are in
# NOT_PERSONAL; models with nothing personal are named whole in NOT_PERSONAL_MODELS.

FIELD_GROUPS: dict[str, FieldGroup] = {
    # The student
    "pairing.Student.name": G.IDENTITY,
    "pairing.Student.gender": G.IDENTITY,
    "pairing.Student.birth_date": G.IDENTITY,
    "pairing.Student.school": G.IDENTITY,
    "pairing.Student.grade": G.IDENTITY,
    "pairing.Student.class_name": G.IDENTITY,
    "pairing.Student.hukou_type": G.IDENTITY,
    "pairing.Student.enrollment_status": G.IDENTITY,
    "pairing.Student.household": G.CONTACT,
    # shown masked as identity; whole only with FULL_ID
    "pairing.Student.id_number": G.FULL_ID,
    "pairing.Student.student_number": G.FULL_ID,
    # Family and contact
    "pairing.Household.town": G.CONTACT,
    "pairing.Household.village": G.CONTACT,
    "pairing.Household.address_detail": G.CONTACT,
    "pairing.Guardian.student": G.CONTACT,
    "pairing.Guardian.name": G.CONTACT,
    "pairing.Guardian.relation": G.CONTACT,
    "pairing.Guardian.phone": G.CONTACT,
    "pairing.HouseholdMember.household": G.HOUSEHOLD,
    "pairing.HouseholdMember.name": G.HOUSEHOLD,
    "pairing.HouseholdMember.age": G.HOUSEHOLD,
    "pairing.HouseholdMember.relation": G.HOUSEHOLD,
    "pairing.HouseholdMember.occupation": G.HOUSEHOLD,
    "pairing.HouseholdMember.annual_income": G.HOUSEHOLD,
    "pairing.HouseholdMember.health": G.HEALTH,
    # 认定
    "pairing.HardshipAssessment.student": G.ASSESSMENT,
    "pairing.HardshipAssessment.term": G.ASSESSMENT,
    "pairing.HardshipAssessment.level": G.ASSESSMENT,
    "pairing.HardshipAssessment.categories": G.ASSESSMENT,
    "pairing.HardshipAssessment.decided_on": G.ASSESSMENT,
    "pairing.HardshipAssessment.note": G.ASSESSMENT,
    "pairing.HardshipAssessment.reason": G.ASSESSMENT,
    # 动态管理: that a family left the list (脱贫退出 …) and why, and the officer's confirmation of a
    # 认定 change (its summary and fingerprint name the levels and categories), go with the 认定.
    **{
        f"pairing.AidListExit.{f}": G.ASSESSMENT
        for f in ("student", "term", "exited_on", "reason", "note", "reentered_on", "reentry_reason")
    },
    **{f"pairing.AssessmentChangeConfirmation.{f}": G.ASSESSMENT for f in ("student", "fingerprint", "summary")},
    # 学籍变动 and pairing changes
    "pairing.EnrollmentChange.student": G.IDENTITY,
    "pairing.EnrollmentChange.status": G.IDENTITY,
    "pairing.EnrollmentChange.effective_on": G.IDENTITY,
    "pairing.EnrollmentChange.from_school": G.IDENTITY,
    "pairing.EnrollmentChange.to_school": G.IDENTITY,
    "pairing.EnrollmentChange.reason": G.ENROLLMENT,
    "pairing.Pairing.teacher": G.IDENTITY,
    "pairing.Pairing.student": G.IDENTITY,
    "pairing.Pairing.started_on": G.IDENTITY,
    "pairing.Pairing.ended_on": G.IDENTITY,
    "pairing.Pairing.end_reason": G.IDENTITY,
    "pairing.Pairing.end_note": G.ENROLLMENT,
    "pairing.Pairing.backdated_reason": G.RECORDS,
    # 知情同意 (PIPL): it names a guardian and how the school reached them, so it is CONTACT, seen by
    # whoever sees the guardians (the paired teacher collects the signature on a home visit; the
    # counsellor may call a guardian); not by the 系统管理员, who sees no family's details.
    **{
        f"pairing.GuardianConsent.{field}": G.CONTACT
        for field in (
            "student",
            "scope",
            "given_on",
            "given_by_name",
            "relation",
            "guardian",
            "method",
            "note",
            "withdrawn_on",
            "withdrawal_note",
        )
    },
    # The help given
    **{
        f"guidance.{model}.{field}": G.RECORDS
        for model in ("TalkRecord", "HomeVisit")
        for field in (
            "track_thought",
            "track_psych",
            "track_life",
            "track_study",
            "track_policy",
            "form_lecture",
            "form_talk",
            "form_model",
            "form_parent",
            "form_activity",
        )
    },
    "guidance.TalkRecord.duration_minutes": G.RECORDS,
    "guidance.TalkRecord.unlock_reason": G.RECORDS,
    "guidance.HomeVisit.unlock_reason": G.RECORDS,
    "guidance.TalkRecord.content": G.RECORDS,
    "guidance.TalkRecord.student_state": G.RECORDS,
    "guidance.TalkRecord.problems": G.RECORDS,
    "guidance.TalkRecord.measures": G.RECORDS,
    "guidance.TalkRecord.next_steps": G.RECORDS,
    "guidance.HomeVisit.visitors": G.RECORDS,
    "guidance.HomeVisit.members_met": G.RECORDS,
    "guidance.HomeVisit.living_conditions": G.RECORDS,
    "guidance.HomeVisit.study_conditions": G.RECORDS,
    "guidance.HomeVisit.needs_found": G.RECORDS,
    "guidance.HomeVisit.family_feedback": G.RECORDS,
    "guidance.HomeVisit.policies": G.RECORDS,
    "guidance.HomeVisitPhoto.image": G.RECORDS,
    "guidance.ExcusedWeek.reason": G.RECORDS,
    "guidance.ExcusedWeek.note": G.RECORDS,
    "guidance.LateEntryPermission.reason": G.RECORDS,
    "guidance.Reminder.acknowledgement": G.RECORDS,
    # Record quality: the flag's reason quotes the records' dates and likeness, the officer's comment
    # is about the record, and a revision keeps the record's earlier text.
    "guidance.TalkRecordFlag.reason": G.RECORDS,
    "guidance.TalkRecordFlag.return_comment": G.RECORDS,
    **{
        f"guidance.TalkRecordRevision.{field}": G.RECORDS
        for field in ("duration_minutes", "content", "student_state", "problems", "measures", "next_steps")
    },
    # 五三卡: what the teacher and the student wrote, and how it went at term end
    **{
        f"guidance.FiveThreeCard.{field}": G.RECORDS
        for field in (
            "highlights",
            "breakthroughs",
            "mottos",
            "role_models",
            "promises",
            "breakthrough_marks",
            "promise_marks",
        )
    },
    # The officer's term review of a case file (casefiles): what she and the teacher wrote about the
    # records, and the checklist of the records as it stood at sign-off.
    "casefiles.CaseFileReview.sign_note": G.RECORDS,
    "casefiles.CaseFileReview.checklist": G.RECORDS,
    "casefiles.ReviewComment.body": G.RECORDS,
    "casefiles.ReviewComment.answer": G.RECORDS,
    "casefiles.ReviewReopening.reason": G.RECORDS,
    # 帮扶档案 (casefiles): a term's 学业成绩 and 转介 are help records; aid paid and the proofs of
    # hardship go with the 认定. An attachment's kind decides its group (casefiles.models
    # ATTACHMENT_GROUPS: 认定材料 and 证明材料 ASSESSMENT, 家访材料 and 其他 RECORDS); its fields are
    # placed under the stricter of the two here.
    **{f"casefiles.TermResult.{f}": G.RECORDS for f in ("subject", "score", "full_marks", "class_rank")},
    **{
        f"casefiles.Referral.{f}": G.RECORDS
        for f in (
            "student",
            "department",
            "referred_on",
            "due_on",
            "reason",
            "status",
            "accepted_on",
            "closed_on",
            "outcome",
            "help_text",
        )
    },
    # 部门联动: a department's answer recorded on its behalf is a help record; the aid it paid goes
    # with the 认定, as all aid does (AidReceipt).
    **{f"casefiles.ReferralUpdate.{f}": G.RECORDS for f in ("on", "status", "note", "help_text")},
    "casefiles.ReferralUpdate.aid": G.ASSESSMENT,
    "casefiles.AidReceipt.referral": G.ASSESSMENT,
    **{f"casefiles.AidReceipt.{f}": G.ASSESSMENT for f in ("student", "term", "item", "amount", "paid_on", "source")},
    **{f"casefiles.Attachment.{f}": G.ASSESSMENT for f in ("student", "kind", "title", "file")},
    # 部门名单比对 (casefiles): that one of our students is on a department's list (低保, 残疾 …) and the
    # 认定 change proposed for it go with the 认定.
    **{f"casefiles.CheckProposal.{f}": G.ASSESSMENT for f in ("student", "category", "action", "note")},
    # 预警 (issue 11, point 5): a family's misfortune is its situation; a sign and what was done about
    # it are records of the help, read as the talk records are (never a counsellor's note).
    **{f"casefiles.FamilyEvent.{f}": G.HOUSEHOLD for f in ("student", "kind", "occurred_on", "note")},
    **{f"casefiles.WarningFlag.{f}": G.RECORDS for f in ("student", "sign", "value", "action")},
    "casefiles.CheckMissed.student": G.ASSESSMENT,
    # 控辍保学 (casefiles/dropouts.py): a town's list of children (who, where, whom to call), whether and
    # why a child is out of school; a teacher's 缺勤登记 is a help record; a 疑似辍学 entry is about the
    # student's 学籍.
    "casefiles.SchoolAgeChild.id_number": G.FULL_ID,
    **{f"casefiles.SchoolAgeChild.{f}": G.IDENTITY for f in ("name", "gender", "birth_date")},
    **{f"casefiles.SchoolAgeChild.{f}": G.CONTACT for f in ("town", "village", "guardian_name", "guardian_phone")},
    **{f"casefiles.SchoolAgeChild.{f}": G.ENROLLMENT for f in ("verification", "verification_note", "verified_on")},
    **{f"casefiles.AbsenceNote.{f}": G.RECORDS for f in ("student", "date_from", "days", "with_leave", "note")},
    "casefiles.SuspectedDropout.student": G.IDENTITY,
    **{
        f"casefiles.SuspectedDropout.{f}": G.ENROLLMENT
        for f in (
            "first_absent_on",
            "days_absent",
            "source",
            "absence_note",
            "talk",
            "note",
            "status",
            "resolved_on",
            "resolution_note",
        )
    },
    # 劝返 一人一案 (casefiles/recovery.py): why the child left goes with the 学籍变动 reasons; the plan,
    # the people named in it (a 班主任, a village cadre) and every attempt are help records.
    "casefiles.RecoveryCase.student": G.IDENTITY,
    "casefiles.RecoveryCase.leave_reason": G.ENROLLMENT,
    **{
        f"casefiles.RecoveryCase.{f}": G.RECORDS
        for f in ("head_teacher", "village_cadre", "next_step", "next_step_due", "close_reason")
    },
    **{f"casefiles.RecoveryAttempt.{f}": G.RECORDS for f in ("date", "who", "with_whom", "method", "outcome")},
    # 心理健康档案 (guidance/counselling.py): every word a counsellor, a designated county reader or a
    # requesting teacher wrote about a child's mind, and the risk level with its history.
    **{
        f"guidance.CounsellingRecord.{field}": G.COUNSELLING
        for field in (
            "school",
            "kind",
            "mode",
            "requester_kind",
            "request",
            "students",
            "counsellor",
            "term",
            "date",
            "duration_minutes",
            "topic",
            "notes",
        )
    },
    **{
        f"guidance.CounsellingRequest.{field}": G.COUNSELLING
        for field in ("student", "reason", "handled_by", "handled_at", "handling_note")
    },
    **{
        f"guidance.PsychAssessment.{field}": G.COUNSELLING
        for field in ("student", "scale", "taken_on", "score", "result", "entered_by")
    },
    **{
        f"guidance.RiskLevelChange.{field}": G.COUNSELLING
        for field in ("student", "level", "previous_level", "set_by", "set_at", "reason")
    },
    **{
        f"guidance.PsychFile.{field}": G.COUNSELLING
        for field in ("student", "risk_level", "risk_set_at", "risk_set_by", "opened_at")
    },
    # The one part of a 心理健康档案 the paired teacher sees: "心理老师建议跟进", so that she keeps an
    # eye on the child and talks with the counsellor; never why, the level or any note (RECORDS is
    # what the 包保 teacher sees of her student, and so are the officer and county staff, who see
    # only the same yes/no).
    "guidance.PsychFile.follow_up_wanted": G.RECORDS,
    # Staff
    "zaoyang_aid.User.email": G.STAFF,
    "zaoyang_aid.User.phone": G.STAFF,
    "pairing.Teacher.phone": G.STAFF,
}

NOT_PERSONAL: dict[str, str] = {
    "guidance.TalkRecord.version": "the edit form's optimistic lock",
    **{
        f"guidance.TalkRecordFlag.{f}": "the flag's bookkeeping: which record, what kind, who handled it when"
        for f in (
            "talk",
            "kind",
            "related_talk",
            "score",
            "text_hash",
            "detected_at",
            "status",
            "returned_by",
            "returned_at",
            "revised_at",
            "cleared_by",
            "cleared_at",
            "version",
        )
    },
    **{
        f"guidance.TalkRecordRevision.{f}": "which record was revised, by whom and when"
        for f in ("talk", "revised_by", "revised_at")
    },
    "guidance.Notification.flag": "the returned record a notice is about",
    **{
        f"guidance.{model}.{field}": "who wrote the record and when, the week it counts for, its lock"
        for model in ("TalkRecord", "HomeVisit")
        for field in ("recorded_by", "created_at", "updated_at", "unlocked_until", "pairing", "term", "date")
    },
    "guidance.TalkRecord.week_monday": "the school week the talk counts for",
    "guidance.TalkRecord.late_permission": "which 补录 permission allowed it",
    "guidance.HomeVisitPhoto.visit": "the visit it belongs to",
    **{
        f"guidance.HomeVisitPhoto.{f}": "file metadata"
        for f in ("content_type", "width", "height", "size", "uploaded_at")
    },
    **{
        f"guidance.ExcusedWeek.{f}": "which week was excused, by whom and when"
        for f in ("pairing", "week_monday", "excused_by", "created_at")
    },
    **{
        f"guidance.LateEntryPermission.{f}": "which week may be entered late, by whose leave"
        for f in ("pairing", "week_monday", "granted_by", "created_at")
    },
    **{
        f"guidance.Reminder.{f}": "the reminder's bookkeeping (who owes which week)"
        for f in (
            "pairing",
            "kind",
            "period",
            "term",
            "level",
            "streak",
            "created_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
        )
    },
    **{
        f"guidance.FiveThreeCard.{f}": "whose card of which term, who filled and reviewed it when, its edit version"
        for f in (
            "student",
            "term",
            "recorded_by",
            "filled_at",
            "updated_at",
            "reviewed_at",
            "reviewed_by",
            "version",
        )
    },
    **{
        f"casefiles.CaseFileReview.{f}": "whose review of which term, its status, who signed off when, its version"
        for f in ("student", "term", "status", "signed_by", "signed_at", "created_at", "updated_at", "version")
    },
    **{
        f"casefiles.ReviewComment.{f}": "which review, who wrote and answered when, its edit version"
        for f in ("review", "author", "created_at", "answered_by", "answered_at", "version")
    },
    **{f"casefiles.ReviewReopening.{f}": "which review was reopened, by whom and when" for f in ("review", "by", "at")},
    **{
        f"casefiles.TermResult.{f}": "whose result of which term, who entered it when, its edit version"
        for f in ("student", "term", "entered_by", "entered_at", "updated_at", "version")
    },
    **{
        f"casefiles.Attachment.{f}": "which term the file belongs to, its file metadata, who uploaded it when"
        for f in ("term", "content_type", "size", "uploaded_by", "uploaded_at")
    },
    **{
        f"casefiles.CheckProposal.{f}": "which comparison, the decision's bookkeeping (who, when)"
        for f in ("department_check", "decision", "decided_by", "decided_at")
    },
    "casefiles.CheckMissed.department_check": "which comparison",
    **{
        f"casefiles.SchoolAgeChild.{f}": "the ledger's bookkeeping: its reference year, who uploaded or verified, when"
        for f in ("reference_year", "uploaded_by", "verified_by", "created_at", "updated_at")
    },
    **{f"casefiles.AbsenceNote.{f}": "who noted the absence, when" for f in ("teacher", "created_at")},
    **{
        f"casefiles.SuspectedDropout.{f}": "the entry's bookkeeping: the school, the week, who entered or "
        "resolved it when, whether in the week"
        for f in (
            "school",
            "week_monday",
            "proposed_at",
            "entered_on",
            "entered_by",
            "entered_in_week",
            "resolved_by",
            "created_at",
        )
    },
    **{f"casefiles.FamilyEvent.{f}": "who recorded the event when" for f in ("recorded_by", "created_at")},
    **{
        f"casefiles.WarningFlag.{f}": "the episode's dates, who recorded the action when"
        for f in ("raised_on", "seen_on", "ended_on", "handled_at", "handled_by")
    },
    "casefiles.Referral.referred_by": "which staff member made the referral",
    "casefiles.Referral.reference": "the 转介单's number (ZY-2026-转-0001), assigned by the service",
    "casefiles.Referral.contact_teacher": "which staff member the department may call (a colleague's name)",
    **{
        f"casefiles.ReferralUpdate.{f}": "which referral, who recorded the answer when"
        for f in ("referral", "recorded_by", "created_at")
    },
    "casefiles.Referral.created_at": "bookkeeping",
    "casefiles.AidReceipt.created_at": "bookkeeping",
    **{
        f"casefiles.RecoveryCase.{f}": "the case's bookkeeping: its dates and status (a 销号 and the return "
        "date and class are what the 学籍 history says too), the staff responsible, who opened it when"
        for f in (
            "opened_on",
            "teacher",
            "officer",
            "status",
            "closed_on",
            "returned_on",
            "returned_class",
            "opened_by",
            "created_at",
            "updated_at",
        )
    },
    **{
        f"casefiles.RecoveryAttempt.{f}": "which case, who recorded it when"
        for f in ("case", "recorded_by", "created_at")
    },
    **{
        f"guidance.CounsellingRecord.{f}": "who saved the session when, its edit version"
        for f in ("created_at", "updated_at", "version")
    },
    **{
        f"guidance.CounsellingRequest.{f}": "the request's bookkeeping: who asked, when, where it stands"
        for f in ("requested_by", "created_at", "status", "version")
    },
    "guidance.PsychAssessment.created_at": "bookkeeping",
    "guidance.PsychFile.version": "the optimistic lock's counter",
    "guidance.PsychFile.updated_at": "bookkeeping",
    "pairing.Student.created_at": "bookkeeping",
    "pairing.Student.updated_at": "bookkeeping",
    "pairing.HardshipAssessment.recorded_by": "who recorded the 认定 last",
    "pairing.HardshipAssessment.recorded_at": "bookkeeping",
    **{
        f"pairing.AidListExit.{f}": "who recorded the exit or the re-entry, and when"
        for f in ("recorded_by", "created_at", "reentered_by")
    },
    **{
        f"pairing.AssessmentChangeConfirmation.{f}": "which term's change, who confirmed it when"
        for f in ("term", "confirmed_by", "confirmed_at")
    },
    "pairing.EnrollmentChange.recorded_by": "who recorded the change",
    "pairing.EnrollmentChange.created_at": "bookkeeping",
    "pairing.Pairing.created_at": "bookkeeping",
    "pairing.GuardianConsent.recorded_by": "which staff member recorded the consent",
    "pairing.GuardianConsent.withdrawn_by": "which staff member recorded the withdrawal",
    "pairing.GuardianConsent.created_at": "bookkeeping",
    "pairing.GuardianConsent.version": "the optimistic lock's counter",
    "pairing.Teacher.user": "the staff member's account",
    "pairing.Teacher.school": "where the staff member works",
    "pairing.Teacher.title": "a staff member's job title",
    "pairing.Teacher.is_head_teacher": "a staff member's duty",
    **{
        f"zaoyang_aid.User.{f}": "the account itself (name and role are what colleagues see of each other)"
        for f in (
            "password",
            "last_login",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "is_staff",
            "is_active",
            "date_joined",
            "full_name",
            "role",
            "must_change_password",
            "reads_counselling",
            "groups",
            "user_permissions",
        )
    },
}

NOT_PERSONAL_MODELS: dict[str, str] = {
    "casefiles.WarningSettings": "the county's early-warning thresholds and keywords",
    "zaoyang_aid.AuditEvent": "the audit log: read on the audit page by county staff only, never edited",
    "pairing.Town": "reference data",
    "pairing.School": "reference data",
    "pairing.SchoolYear": "reference data",
    "pairing.Term": "reference data",
    "pairing.Closure": "reference data",
    "pairing.SpecialCategory": "reference list",
    "pairing.HardshipLevel": "reference list",
    "guidance.AidPolicy": "reference list",
    "casefiles.ReferralDepartment": "reference list (the departments a school refers to)",
    "guidance.PairingTermTally": "derived counts, recomputed from the records",
    "guidance.SweepRun": "the reminder job's bookkeeping",
    "guidance.Notification": "a message read only by its recipient (Notification.visible_to)",
    "guidance.Delivery": "a message sent only to its recipient",
    "guidance.ReminderPreference": "a user's own setting, read only by that user",
    "casefiles.CaseFileExport": "an export's bookkeeping (school, term, who asked, progress); its zip is "
    "streamed only to the school's 资助专干 and county staff (CaseFileExport.visible_to), audited",
    "casefiles.DepartmentCheck": "a comparison's bookkeeping (which department's list, whose scope, who "
    "uploaded it, counts): no row of the list is kept; its students are in CheckProposal/CheckMissed",
    "casefiles.ReportExport": "a report export's bookkeeping (who asked, which report, the list's filter as "
    "plain values, progress): row, filter (a search word the requester typed, at most) and file are read "
    "only by the requester (report_exports.mine), each request and download audited",
    "casefiles.DropoutMonthlyReport": "a school's 控辍保学月报: counts per school and month, no child named",
    "casefiles.DropoutRecheck": "the county's re-check of a school's ledgers: dates, counts and findings about "
    "the school's bookkeeping, no child named",
    "casefiles.RosterImport": "an uploaded roster between preview and commit: its file and preview (the bad "
    "rows' messages) are read only by the uploader (import_services.mine), deleted at the commit or after "
    "ROSTER_IMPORT_KEEP_HOURS; upload and commit audited",
}


def group_of(label: str, field_name: str) -> FieldGroup | None:
    """The group of ``app_label.Model``'s field, None if it holds nothing personal."""
    return FIELD_GROUPS.get(f"{label}.{field_name}")


def hidden_fields(user: Any, model_label: str, field_names: list[str] | tuple[str, ...]) -> set[str]:
    """Of ``field_names`` of ``model_label``, those the reader does not see for every row of their
    scope (the admin's columns, filters and forms, an export's columns)."""
    shown = broad_access(user).groups
    return {name for name in field_names if (group := group_of(model_label, name)) is not None and group not in shown}
