from django.urls import path

from . import (
    crosscheck_views,
    dropout_views,
    export_views,
    import_views,
    recovery_views,
    referral_views,
    report_views,
    views,
    warning_views,
)

app_name = "casefiles"

urlpatterns: list = [
    # --- The officer's term review (issue 9, point 7) -------------------------------------------
    path("school/reviews/", views.review_list, name="review_list"),
    path("students/<int:pk>/review/", views.review_detail, name="review_detail"),
    path("students/<int:pk>/review/comment/", views.review_comment, name="review_comment"),
    path("students/<int:pk>/review/sign-off/", views.review_sign_off, name="review_sign_off"),
    path("students/<int:pk>/review/reopen/", views.review_reopen, name="review_reopen"),
    path("review-comments/<int:pk>/answer/", views.review_comment_answer, name="review_comment_answer"),
    path("my/review-comments/", views.my_review_comments, name="my_review_comments"),
    path("county/reviews/", views.review_county, name="review_county"),
    # --- The case file (issue 9, points 1 and 2) --------------------------------------------------
    path("students/<int:pk>/case-file/", views.case_file_page, name="case_file"),
    path("students/<int:pk>/case-file/print/", views.case_file_print, name="case_file_print"),
    path("students/<int:pk>/case-file/pdf/", views.case_file_pdf, name="case_file_pdf"),
    path("students/<int:pk>/term-results/", views.term_results, name="term_results"),
    path("students/<int:pk>/attachments/new/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="attachment_delete"),
    # --- The school's case files as a zip of PDFs (issue 9, point 2) ------------------------------
    path("case-files/exports/", export_views.export_list, name="export_list"),
    path("case-files/exports/<int:pk>/", export_views.export_detail, name="export_detail"),
    path("case-files/exports/<int:pk>/download/", export_views.export_download, name="export_download"),
    # --- Excel reports (issue 10, points 1, 2 and 7) --------------------------------------------------
    path("reports/", report_views.report_list, name="report_list"),
    path("reports/download/", report_views.report_download, name="report_download"),
    # --- Large reports written in the background (issue 10, point 3) ------------------------------
    path("reports/exports/", report_views.report_export_list, name="report_export_list"),
    path("reports/exports/<int:pk>/", report_views.report_export_detail, name="report_export_detail"),
    path("reports/exports/<int:pk>/download/", report_views.report_export_download, name="report_export_download"),
    # --- 部门名单比对 (issue 10, point 8) ---------------------------------------------------------------
    path("department-checks/", crosscheck_views.crosscheck_list, name="crosscheck_list"),
    path("department-checks/<int:pk>/", crosscheck_views.crosscheck_detail, name="crosscheck_detail"),
    path(
        "department-checks/<int:pk>/confirm-all/",
        crosscheck_views.crosscheck_confirm_all,
        name="crosscheck_confirm_all",
    ),
    path("department-checks/proposals/<int:pk>/confirm/", crosscheck_views.proposal_confirm, name="proposal_confirm"),
    path("department-checks/proposals/<int:pk>/reject/", crosscheck_views.proposal_reject, name="proposal_reject"),
    # --- 辍学学生台账 and 劝返 一人一案 (issue 11, point 3) ---------------------------------------------
    path("recovery/", recovery_views.recovery_ledger, name="recovery_ledger"),
    path("students/<int:pk>/recovery/new/", recovery_views.recovery_case_open, name="recovery_open"),
    path("recovery/<int:pk>/", recovery_views.recovery_detail, name="recovery_detail"),
    path("recovery/<int:pk>/edit/", recovery_views.recovery_edit, name="recovery_edit"),
    path("recovery/<int:pk>/attempts/new/", recovery_views.recovery_attempt, name="recovery_attempt"),
    path("recovery/<int:pk>/close/", recovery_views.recovery_close, name="recovery_close"),
    # --- 部门联动 referrals (issue 11, point 4) ------------------------------------------------------
    path("referrals/", referral_views.referral_list, name="referral_list"),
    path("referrals/new/", referral_views.referral_create, name="referral_create"),
    path("referrals/<int:pk>/", referral_views.referral_detail, name="referral_detail"),
    path("referrals/<int:pk>/update/", referral_views.referral_update, name="referral_update"),
    path("referrals/<int:pk>/slip/", referral_views.referral_slip, name="referral_slip"),
    path("referrals/<int:pk>/slip/pdf/", referral_views.referral_slip_pdf, name="referral_slip_pdf"),
    # --- Roster imports (issue 10, point 6) --------------------------------------------------------
    path("imports/", import_views.import_upload, name="import_upload"),
    path("imports/template/", import_views.import_template, name="import_template"),
    path("imports/<int:pk>/", import_views.import_preview, name="import_preview"),
    path("imports/<int:pk>/commit/", import_views.import_commit, name="import_commit"),
    path("imports/<int:pk>/result/", import_views.import_result, name="import_result"),
    # --- 预警 (issue 11, point 5) ------------------------------------------------------------------------
    path("warnings/", warning_views.warning_list, name="warning_list"),
    path("warnings/<int:pk>/handle/", warning_views.warning_handle, name="warning_handle"),
    path("warnings/settings/", warning_views.warning_settings, name="warning_settings"),
    path("students/<int:pk>/family-events/new/", warning_views.family_event_create, name="family_event_create"),
    # --- 控辍保学 ledgers (issue 11, point 2) -------------------------------------------------------
    path("dropouts/children/", dropout_views.children_list, name="children_list"),
    path("dropouts/children/upload/", dropout_views.children_upload, name="children_upload"),
    path("dropouts/children/<int:pk>/verify/", dropout_views.child_verify, name="child_verify"),
    path("dropouts/suspected/", dropout_views.suspected_list, name="suspected_list"),
    path("dropouts/suspected/new/", dropout_views.suspected_create, name="suspected_create"),
    path("dropouts/suspected/<int:pk>/", dropout_views.suspected_detail, name="suspected_detail"),
    path("students/<int:pk>/absence/", dropout_views.absence_create, name="absence_create"),
    path("dropouts/monthly/", dropout_views.monthly_reports, name="monthly_reports"),
    path("dropouts/monthly/submit/", dropout_views.monthly_submit, name="monthly_submit"),
    path("dropouts/rechecks/", dropout_views.rechecks, name="rechecks"),
]
