from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    """五导: talk records, home visits, 五三卡, counselling and reminders (next issues)."""

    name = "guidance"
    verbose_name = "五导护航"

    def ready(self) -> None:
        from zaoyang_aid import navigation
        from zaoyang_aid.access import Role

        # The teacher's week replaces the ground floor's list of their students (same /my/students/).
        navigation.register("我的帮扶学生", "guidance:my_students", {Role.TEACHER}, order=10)
        navigation.set_role_home(Role.TEACHER, "guidance:my_students")
