from django.urls import path

from . import export_views

app_name = "casefiles"

urlpatterns: list = [
    path("case-files/exports/", export_views.export_list, name="export_list"),
    path("case-files/exports/<int:pk>/", export_views.export_detail, name="export_detail"),
    path("case-files/exports/<int:pk>/download/", export_views.export_download, name="export_download"),
]
