from django.apps import AppConfig


class ZaoyangAidConfig(AppConfig):
    """Shared pieces every app may use: users and roles, access scoping, audit, calendar, masking."""

    name = "zaoyang_aid"
    verbose_name = "系统与审计"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from . import audit, navigation, signals  # noqa: F401 - connects the login/logout audit
        from .access import Role

        # Accounts are people's records too; the password hash and last login are not "changes", nor
        # the must-change flag that goes with a password (a reset writes its own line).
        audit.track(get_user_model(), ignored_fields={"password", "last_login", "must_change_password"})
        navigation.register("审计日志", "audit_log", {Role.COUNTY, Role.ADMIN}, order=90)
