from django.urls import path

from . import views

app_name = "casefiles"

urlpatterns = [
    path("students/<int:pk>/case-file/", views.case_file_page, name="case_file"),
    path("students/<int:pk>/case-file/print/", views.case_file_print, name="case_file_print"),
    path("students/<int:pk>/term-results/", views.term_results, name="term_results"),
    path("students/<int:pk>/attachments/new/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="attachment_delete"),
]
