from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig


class ZaoyangAidConfig(AppConfig):
    """Shared pieces every app may use: users and roles, access scoping, audit, calendar, masking."""

    name = "zaoyang_aid"
    verbose_name = "系统与审计"
    default = True  # this module holds AxesConfig too: Django takes this one for "zaoyang_aid"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from . import audit, navigation, signals  # noqa: F401 - connects the login/logout audit
        from .access import Role

        # Accounts are people's records too; the password hash and last login are not "changes", nor
        # the must-change flag that goes with a password (a reset writes its own line).
        audit.track(get_user_model(), ignored_fields={"password", "last_login", "must_change_password"})
        navigation.register("审计日志", "audit_log", {Role.COUNTY, Role.ADMIN}, order=90)


class AxesConfig(AxesAppConfig):  # type: ignore[misc]  # axes has no type information
    """django-axes (login throttling) as the admin shows it: in Chinese. Its models' and fields' names
    come from locale/zh_Hans (axes ships no Chinese); the app's title and the two columns axes leaves
    unnamed are set here."""

    verbose_name = "登录保护"
    default = False  # named in INSTALLED_APPS by its path

    def ready(self) -> None:
        super().ready()
        from axes import admin as axes_admin

        columns = axes_admin.AccessAttemptAdmin
        columns.status.short_description = "状态"
        columns.expiration.short_description = "到期时间"
