from django.apps import AppConfig

# The county office's files in and out, one dropdown in the navbar (the officer has fifteen entries).
DATA_MENU = "报表与名单"


class CasefilesConfig(AppConfig):
    """帮扶档案, status history, 控辍保学, referrals, review, reports and imports (later issues)."""

    name = "casefiles"
    verbose_name = "帮扶档案"

    def ready(self) -> None:
        from zaoyang_aid import audit, navigation
        from zaoyang_aid.access import SCHOOL_ROLES, Role
        from zaoyang_aid.locks import term_lock_register

        from . import models
        from .reports import REPORT_ROLES
        from .services import review_lock_reason

        # A signed-off review locks the student's records of its term (every guidance write asks).
        term_lock_register(review_lock_reason)
        navigation.register("档案审核", "casefiles:review_list", {Role.OFFICER}, order=7)
        navigation.register("档案审核进度", "casefiles:review_county", {Role.COUNTY, Role.ADMIN}, order=7)
        # The 包保 teacher's list of the officer's comments (also linked from 我的帮扶学生).
        navigation.register("审核意见", "casefiles:my_review_comments", SCHOOL_ROLES - {Role.OFFICER}, order=12)

        # 转介 and 资助发放 are entered in the Django admin for now (issue 11 brings the pages): every
        # change is audited there. Term results and attachments are audited by their services.
        audit.track(models.Referral, student_of=models.student_of)
        audit.track(models.AidReceipt, student_of=models.student_of)
        navigation.register("档案导出", "casefiles:export_list", {Role.OFFICER, Role.COUNTY}, order=50, group=DATA_MENU)
        # Excel reports (issue 10): the page, and the pairing list's 导出Excel with its own filters.
        navigation.register("报表导出", "casefiles:report_list", set(REPORT_ROLES), order=49, group=DATA_MENU)
        # 部门名单比对 (issue 10, point 8): whoever sees 认定 for every student of their scope (fields.py).
        from .crosscheck_services import CROSS_CHECK_ROLES

        navigation.register("名单比对", "casefiles:crosscheck_list", set(CROSS_CHECK_ROLES), order=48, group=DATA_MENU)
        navigation.register(
            "名单导入", "casefiles:import_upload", {Role.OFFICER, Role.COUNTY}, order=48, group=DATA_MENU
        )
        navigation.register_export(
            "pairing:pairing_list", url_name="casefiles:report_download", report="pairings", roles=set(REPORT_ROLES)
        )
        navigation.register_export(
            "casefiles:review_county",
            url_name="casefiles:report_download",
            report="review_progress",
            roles={Role.COUNTY},
        )
        # 动态管理's pages (pairing) export as the 认定变动 reports, with their filters.
        navigation.register_export(
            "pairing:assessment_changes",
            url_name="casefiles:report_download",
            report="assessment_changes",
            roles=set(REPORT_ROLES),
        )
        navigation.register_export(
            "pairing:assessment_changes_by_school",
            url_name="casefiles:report_download",
            report="assessment_changes_by_school",
            roles={Role.COUNTY},
        )
        # The dashboards' figures link to the report listing their rows (zaoyang_aid.navigation.report_link).
        navigation.register_reports_page("casefiles:report_list", roles=set(REPORT_ROLES))
