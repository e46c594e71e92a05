from django.urls import path

from . import dynamics_views, views

app_name = "pairing"

urlpatterns = [
    path("school/", views.school_overview, name="school_overview"),
    path("county/", views.county_overview, name="county_overview"),
    path("students/", views.student_list, name="student_list"),
    path("students/new/", views.student_create, name="student_create"),
    path("students/<int:pk>/", views.student_detail, name="student_detail"),
    path("students/<int:pk>/edit/", views.student_edit, name="student_edit"),
    path("students/<int:pk>/status/", views.student_status, name="student_status"),
    path("students/<int:pk>/transfer/", views.student_transfer, name="student_transfer"),
    path("students/<int:pk>/assessments/new/", views.assessment_create, name="assessment_create"),
    path("students/<int:pk>/consents/new/", views.consent_record, name="consent_record"),
    path("consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("teachers/", views.teacher_list, name="teacher_list"),
    path("teachers/new/", views.teacher_create, name="teacher_create"),
    path("teachers/<int:pk>/", views.teacher_detail, name="teacher_detail"),
    path("teachers/<int:pk>/edit/", views.teacher_edit, name="teacher_edit"),
    path("teachers/<int:pk>/account/password/", views.account_password_reset, name="account_password_reset"),
    path("teachers/<int:pk>/account/unlock/", views.account_unlock, name="account_unlock"),
    path("teachers/<int:pk>/account/contact/", views.account_contact, name="account_contact"),
    path("teachers/<int:pk>/account/deactivate/", views.account_deactivate, name="account_deactivate"),
    path("teachers/<int:pk>/account/reactivate/", views.account_reactivate, name="account_reactivate"),
    path("schools/", views.school_list, name="school_list"),
    path("schools/<int:pk>/", views.school_detail, name="school_detail"),
    path("pairings/", views.pairing_list, name="pairing_list"),
    path("pairings/new/", views.pairing_create, name="pairing_create"),
    path("pairings/<int:pk>/end/", views.pairing_end, name="pairing_end"),
    path("pairings/<int:pk>/reassign/", views.pairing_reassign, name="pairing_reassign"),
    path("calendar/", views.calendar_view, name="calendar"),
    # 动态管理
    path("assessment-changes/", dynamics_views.assessment_changes, name="assessment_changes"),
    path("assessment-changes/confirm/", dynamics_views.assessment_change_confirm, name="assessment_change_confirm"),
    path(
        "assessment-changes/schools/",
        dynamics_views.assessment_changes_by_school,
        name="assessment_changes_by_school",
    ),
    path("students/<int:pk>/aid-exit/", dynamics_views.aid_list_exit, name="aid_list_exit"),
]
