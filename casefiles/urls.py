from django.urls import path  # noqa: F401 - the helpers' pages are added below

app_name = "casefiles"

urlpatterns: list = []
