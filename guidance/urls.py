from django.urls import path

from . import counselling_views, views

app_name = "guidance"

urlpatterns: list = [
    # --- The teacher's week and talk records --------------------------------------------------
    path("my/students/", views.my_students, name="my_students"),
    path("students/<int:pk>/timeline/", views.timeline, name="timeline"),
    path("pairings/<int:pk>/talks/new/", views.talk_create, name="talk_create"),
    path("talks/<int:pk>/", views.talk_detail, name="talk_detail"),
    path("talks/<int:pk>/edit/", views.talk_edit, name="talk_edit"),
    path("talks/<int:pk>/unlock/", views.talk_unlock, name="talk_unlock"),
    # --- Record quality -----------------------------------------------------------------------
    path("school/quality/", views.quality_queue, name="quality_queue"),
    path("quality/flags/<int:pk>/", views.flag_detail, name="flag_detail"),
    path("quality/flags/<int:pk>/return/", views.flag_return, name="flag_return"),
    path("quality/flags/<int:pk>/clear/", views.flag_clear, name="flag_clear"),
    # --- Home visits ----------------------------------------------------------------------------
    path("visits/new/", views.visit_create, name="visit_create"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<int:pk>/unlock/", views.visit_unlock, name="visit_unlock"),
    path("visits/photos/<int:pk>/", views.visit_photo, name="visit_photo"),
    # --- 五三卡 ------------------------------------------------------------------------------------
    path("students/<int:pk>/five-three/", views.card_current, name="card_current"),
    path("students/<int:pk>/five-three/edit/", views.card_edit, name="card_edit"),
    path("five-three/<int:pk>/", views.card_detail, name="card_detail"),
    path("five-three/<int:pk>/review/", views.card_review, name="card_review"),
    # --- Dashboards and excused weeks -----------------------------------------------------------
    path("school/dashboard/", views.school_dashboard, name="school_dashboard"),
    path("county/dashboard/", views.county_dashboard, name="county_dashboard"),
    path("county/towns/<int:pk>/", views.county_town, name="county_town"),
    path("county/schools/<int:pk>/", views.county_school, name="county_school"),
    path("pairings/<int:pk>/excuse/", views.excuse_week, name="excuse_week"),
    path("excused/<int:pk>/revoke/", views.excuse_revoke, name="excuse_revoke"),
    path("pairings/<int:pk>/late/", views.late_entry, name="late_entry"),
    # --- Notifications and reminders ---------------------------------------------------------
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/preferences/", views.reminder_preferences, name="reminder_preferences"),
    path("reminders/<int:pk>/acknowledge/", views.reminder_acknowledge, name="reminder_acknowledge"),
    path("school/reminders/", views.school_reminders, name="school_reminders"),
    # --- 心理健康档案 ------------------------------------------------------------------------------
    path("counselling/", counselling_views.counselling_list, name="counselling_list"),
    path("counselling/sessions/new/", counselling_views.counselling_create, name="counselling_create"),
    path("counselling/sessions/<int:pk>/edit/", counselling_views.counselling_edit, name="counselling_edit"),
    path(
        "counselling/requests/<int:pk>/",
        counselling_views.counselling_request_handle,
        name="counselling_request_handle",
    ),
    path("students/<int:pk>/psych/", counselling_views.psych_file, name="psych_file"),
    path(
        "students/<int:pk>/psych/assessments/new/",
        counselling_views.psych_assessment_create,
        name="psych_assessment_create",
    ),
    path("students/<int:pk>/psych/risk/", counselling_views.risk_level_set, name="risk_level_set"),
    path(
        "students/<int:pk>/counselling-request/",
        counselling_views.counselling_request_create,
        name="counselling_request_create",
    ),
]
