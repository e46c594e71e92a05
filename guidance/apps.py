from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    """五导: talk records, home visits, 五三卡, counselling and reminders (next issues)."""

    name = "guidance"
    verbose_name = "五导护航"
