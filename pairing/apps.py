from django.apps import AppConfig


class PairingConfig(AppConfig):
    name = "pairing"
    verbose_name = "结对帮扶基础信息"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from zaoyang_aid import audit, navigation
        from zaoyang_aid.access import Role, deactivation_blocker_register

        from . import accounts, figures, models, selectors

        # The county's figure token is read once per request (pairing.figures.county_token).
        request_started.connect(figures.request_started, dispatch_uid="figures-request-started")
        request_finished.connect(figures.request_finished, dispatch_uid="figures-request-finished")

        deactivation_blocker_register(accounts.still_pairs_students)

        # Every change to a person's record is audited (pages, services and the admin alike).
        audit.track(models.Student, student_of=lambda s: s.pk, masked_fields={"id_number", "student_number"})
        audit.track(models.Guardian, student_of=lambda g: g.student_id)
        audit.track(models.HouseholdMember)
        audit.track(models.Household)
        audit.track(models.HardshipAssessment, student_of=lambda a: a.student_id)
        audit.track(models.Teacher)
        audit.track(models.Pairing, student_of=lambda p: p.student_id)
        audit.track(models.EnrollmentChange, student_of=lambda c: c.student_id)
        audit.track(models.AidListExit, student_of=lambda e: e.student_id)
        audit.track(models.AssessmentChangeConfirmation, student_of=lambda c: c.student_id)
        audit.track(models.GuardianConsent, student_of=lambda c: c.student_id, ignored_fields={"version"})
        # The audit page finds a student by name or 学籍号 tail, and names the students of its lines.
        audit.student_lookup_register(audit.StudentLookup(selectors.student_ids_matching, selectors.student_labels))

        everyone = set(Role)
        school_and_county = {Role.OFFICER, Role.COUNSELLOR, Role.COUNTY, Role.ADMIN}
        navigation.register("学生", "pairing:student_list", school_and_county, order=20)
        navigation.register("结对", "pairing:pairing_list", {Role.OFFICER, Role.COUNTY, Role.ADMIN}, order=25)
        navigation.register("教师", "pairing:teacher_list", {Role.OFFICER, Role.COUNTY, Role.ADMIN}, order=30)
        navigation.register("学校", "pairing:school_list", {Role.COUNTY, Role.ADMIN}, order=40)
        navigation.register("校历", "pairing:calendar", everyone, order=80)
        # 动态管理: the officer confirms her school's 认定 changes, the county reads them per school.
        navigation.register(
            "认定变动", "pairing:assessment_changes", {Role.OFFICER}, order=8, group=navigation.REVIEW_MENU
        )
        navigation.register(
            "认定变动", "pairing:assessment_changes_by_school", {Role.COUNTY}, order=8, group=navigation.REVIEW_MENU
        )
        for role, url_name in {
            Role.OFFICER: "pairing:school_overview",
            Role.COUNSELLOR: "pairing:student_list",
            Role.COUNTY: "pairing:county_overview",
            Role.ADMIN: "pairing:county_overview",
        }.items():
            navigation.set_role_home(role, url_name)
