from django.apps import AppConfig

# 控辍保学: 预警, 辍学与劝返 and the ledgers (疑似辍学, 适龄儿童, 月报, 季度复核), one dropdown.
DROPOUT_MENU = "控辍保学"
# The county office's files in and out, one dropdown in the navbar (the officer has fifteen entries).
DATA_MENU = "报表与名单"


class CasefilesConfig(AppConfig):
    """帮扶档案, status history, 控辍保学, referrals, review, reports and imports (later issues)."""

    name = "casefiles"
    verbose_name = "帮扶档案"

    def ready(self) -> None:
        from zaoyang_aid import audit, marks, navigation
        from zaoyang_aid.access import SCHOOL_ROLES, Role
        from zaoyang_aid.locks import term_lock_register

        from . import models
        from .reports import REPORT_ROLES
        from .services import review_lock_reason

        # A signed-off review locks the student's records of its term (every guidance write asks).
        term_lock_register(review_lock_reason)
        navigation.register("档案审核", "casefiles:review_list", {Role.OFFICER}, order=7, group=navigation.REVIEW_MENU)
        navigation.register(
            "档案审核进度", "casefiles:review_county", {Role.COUNTY, Role.ADMIN}, order=7, group=navigation.REVIEW_MENU
        )
        # The 包保 teacher's list of the officer's comments (also linked from 我的帮扶学生).
        navigation.register("审核意见", "casefiles:my_review_comments", SCHOOL_ROLES - {Role.OFFICER}, order=12)

        # 转介 (with its updates) is written by casefiles.referral_services, 资助发放 there or in the
        # Django admin: every change is audited. Term results and attachments by their services.
        audit.track(models.Referral, student_of=models.student_of)
        audit.track(models.ReferralUpdate, student_of=lambda update: update.referral.student_id)
        audit.track(models.AidReceipt, student_of=models.student_of)
        # 部门联动 (issue 11, point 4): the officer's referrals, the county's view of all of them. A
        # teacher reads those of her students from their case files (the list opens for her too).
        navigation.register("部门联动", "casefiles:referral_list", {Role.OFFICER, Role.COUNTY}, order=8)
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
        # 辍学学生台账 and 劝返 一人一案 (issue 11, point 3): every create, change and 销号 audited.
        audit.track(models.RecoveryCase, student_of=models.student_of)
        audit.track(models.RecoveryAttempt, student_of=lambda attempt: attempt.case.student_id)
        navigation.register(
            "辍学与劝返", "casefiles:recovery_ledger", {Role.OFFICER, Role.COUNTY}, order=27, group=DROPOUT_MENU
        )
        navigation.register_export(
            "casefiles:recovery_ledger",
            url_name="casefiles:report_download",
            report="dropouts",
            roles=set(REPORT_ROLES),
        )
        # 预警 (issue 11, point 5): the officer's and the county's list, its report, the marks on the
        # teacher's cards and the officer's dashboard rows (zaoyang_aid.marks).
        from . import early_warning

        navigation.register(
            "预警学生", "casefiles:warning_list", {Role.OFFICER, Role.COUNTY}, order=26, group=DROPOUT_MENU
        )
        navigation.register_export(
            "casefiles:warning_list",
            url_name="casefiles:report_download",
            report="warnings",
            roles={Role.OFFICER, Role.COUNTY},
        )
        marks.register(early_warning.student_marks)
        navigation.register_export(
            "casefiles:referral_list", url_name="casefiles:report_download", report="referrals", roles=set(REPORT_ROLES)
        )
        # 控辍保学 ledgers (issue 11, point 2): one dropdown for the officer and the county.
        for label, url_name, roles, order in (
            ("适龄儿童台账", "casefiles:children_list", {Role.COUNTY}, 60),
            ("疑似辍学学生台账", "casefiles:suspected_list", {Role.OFFICER, Role.COUNTY}, 61),
            ("控辍保学月报", "casefiles:monthly_reports", {Role.OFFICER, Role.COUNTY}, 62),
            ("季度复核", "casefiles:rechecks", {Role.COUNTY}, 63),
        ):
            navigation.register(label, url_name, roles, order=order, group=DROPOUT_MENU)
        for list_url_name, report in (
            ("casefiles:children_list", "school_age_children"),
            ("casefiles:suspected_list", "suspected_dropouts"),
            ("casefiles:monthly_reports", "dropout_monthly"),
        ):
            navigation.register_export(
                list_url_name, url_name="casefiles:report_download", report=report, roles=set(REPORT_ROLES)
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
