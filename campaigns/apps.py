from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """典型案例 campaigns, submissions, reviews (a later issue)."""

    name = "campaigns"
    verbose_name = "典型案例征集"
