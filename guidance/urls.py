from django.urls import path

from . import views

app_name = "guidance"

urlpatterns: list = [
    # --- The teacher's week and talk records --------------------------------------------------
    # --- Home visits ----------------------------------------------------------------------------
    path("visits/new/", views.visit_create, name="visit_create"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/photos/<int:pk>/", views.visit_photo, name="visit_photo"),
    # --- Dashboards and excused weeks -----------------------------------------------------------
]
