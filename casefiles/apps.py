from django.apps import AppConfig


class CasefilesConfig(AppConfig):
    """帮扶档案, status history, 控辍保学, referrals, review, reports and imports (later issues)."""

    name = "casefiles"
    verbose_name = "帮扶档案"

    def ready(self) -> None:
        from zaoyang_aid.locks import term_lock_register

        from .services import review_lock_reason

        # A signed-off review locks the student's records of its term (every guidance write asks).
        term_lock_register(review_lock_reason)
