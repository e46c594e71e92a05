from django.apps import AppConfig


class CasefilesConfig(AppConfig):
    """帮扶档案, status history, 控辍保学, referrals, review, reports and imports (later issues)."""

    name = "casefiles"
    verbose_name = "帮扶档案"

    def ready(self) -> None:
        from zaoyang_aid import navigation
        from zaoyang_aid.access import Role

        navigation.register("档案导出", "casefiles:export_list", {Role.OFFICER, Role.COUNTY}, order=50)
