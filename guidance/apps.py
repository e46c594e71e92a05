from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    """五导: talk records, home visits, 五三卡, counselling and reminders."""

    name = "guidance"
    verbose_name = "五导护航"

    def ready(self) -> None:
        from zaoyang_aid import navigation
        from zaoyang_aid.access import SCHOOL_ROLES, Role

        # The dashboards replace the ground floor's overviews as the officer's and county's homes.
        navigation.register("本校帮扶情况", "guidance:school_dashboard", {Role.OFFICER}, order=5)
        navigation.register("全市帮扶情况", "guidance:county_dashboard", {Role.COUNTY, Role.ADMIN}, order=5)
        navigation.register("提醒记录", "guidance:school_reminders", {Role.OFFICER}, order=6)
        navigation.set_role_home(Role.OFFICER, "guidance:school_dashboard")
        navigation.set_role_home(Role.COUNTY, "guidance:county_dashboard")
        navigation.set_role_home(Role.ADMIN, "guidance:county_dashboard")
        # The teacher's week replaces the ground floor's list of their students (same /my/students/).
        # Officers and counsellors may 包保 students too, so every school role has the page.
        navigation.register("我的帮扶学生", "guidance:my_students", SCHOOL_ROLES, order=10)
        navigation.set_role_home(Role.TEACHER, "guidance:my_students")
