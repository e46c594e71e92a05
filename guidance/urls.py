from django.urls import path  # noqa: F401 - routes are added per section below

from . import views  # noqa: F401

app_name = "guidance"

urlpatterns: list = [
    # --- The teacher's week and talk records --------------------------------------------------
    # --- Home visits ----------------------------------------------------------------------------
    # --- Dashboards and excused weeks -----------------------------------------------------------
]
