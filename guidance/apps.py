from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    """五导: talk records, home visits, 五三卡, counselling and reminders."""

    name = "guidance"
    verbose_name = "五导护航"

    def ready(self) -> None:
        from pairing.services import TermDependent, term_dependent_register, transfer_listener_register
        from zaoyang_aid import navigation
        from zaoyang_aid.access import SCHOOL_ROLES, Role
        from zaoyang_aid.fields import FieldGroup, sees_anywhere

        from . import notices, services

        # A student moved to another school: its officers are told (pairing.services.student_transfer).
        transfer_listener_register(notices.transfer_in_notify)
        # Talks and visits hang off a term's dates: a term's dates move only through
        # pairing.services.term_dates_change, which asks these.
        term_dependent_register(
            TermDependent("谈心谈话记录", services.term_talks_outside, services.term_tallies_rederive)
        )
        term_dependent_register(
            TermDependent("家访记录", services.term_visits_outside, services.term_nothing_to_rederive)
        )
        # The dashboards replace the ground floor's overviews as the officer's and county's homes.
        navigation.register("本校帮扶情况", "guidance:school_dashboard", {Role.OFFICER}, order=5)
        navigation.register("全市帮扶情况", "guidance:county_dashboard", {Role.COUNTY, Role.ADMIN}, order=5)
        navigation.register("提醒记录", "guidance:school_reminders", {Role.OFFICER}, order=6)
        # 心理健康档案: the school's counsellors, and county staff designated to read the files (the
        # field policy's answer, so the undesignated are not offered a page that refuses them).
        navigation.register(
            "心理健康档案",
            "guidance:counselling_list",
            {Role.COUNSELLOR, Role.COUNTY},
            order=7,
            shown=lambda scope: sees_anywhere(scope, FieldGroup.COUNSELLING),
        )
        navigation.register(
            "记录质量审核", "guidance:quality_queue", {Role.OFFICER, Role.COUNTY}, order=7, group=navigation.REVIEW_MENU
        )
        navigation.set_role_home(Role.OFFICER, "guidance:school_dashboard")
        navigation.set_role_home(Role.COUNTY, "guidance:county_dashboard")
        navigation.set_role_home(Role.ADMIN, "guidance:county_dashboard")
        # The teacher's week replaces the ground floor's list of their students (same /my/students/).
        # Officers and counsellors may 包保 students too, so every school role has the page.
        navigation.register("我的帮扶学生", "guidance:my_students", SCHOOL_ROLES, order=10)
        navigation.set_role_home(Role.TEACHER, "guidance:my_students")
