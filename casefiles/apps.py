from django.apps import AppConfig


class CasefilesConfig(AppConfig):
    """帮扶档案, status history, 控辍保学, referrals, review, reports and imports (later issues)."""

    name = "casefiles"
    verbose_name = "帮扶档案"

    def ready(self) -> None:
        from zaoyang_aid import audit

        from . import models

        # 转介 and 资助发放 are entered in the Django admin for now (issue 11 brings the pages): every
        # change is audited there. Term results and attachments are audited by their services.
        audit.track(models.Referral, student_of=models.student_of)
        audit.track(models.AidReceipt, student_of=models.student_of)
