from django.apps import AppConfig


class CasefilesConfig(AppConfig):
    """帮扶档案, status history, 控辍保学, referrals, review, reports and imports (later issues)."""

    name = "casefiles"
    verbose_name = "帮扶档案"
