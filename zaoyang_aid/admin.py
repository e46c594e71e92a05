from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from . import audit
from .models import AuditEvent, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Accounts are deactivated (停用), never deleted: talks, visits, pairings and the audit log name
    the people who made them, and a deleted account would leave those rows pointing at no one."""

    list_display = ["username", "full_name", "role", "phone", "is_active", "last_login"]
    actions = ["deactivate"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "full_name", "phone"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("资助帮扶", {"fields": ("full_name", "phone", "role")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("资助帮扶", {"fields": ("full_name", "phone", "role")}),
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="停用所选账号")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """One save per account (not a bulk update), so that each is written to the audit log."""
        stopped = 0
        for user in queryset.filter(is_active=True):
            if user.pk == request.user.pk:
                messages.warning(request, "不能停用自己正在使用的账号。")
                continue
            user.is_active = False
            user.save(update_fields=["is_active"])
            stopped += 1
        messages.success(request, f"已停用{stopped}个账号。停用的账号不能登录,其记录与审计日志保持不变。")


class ReadOnlyAdminMixin:
    """For rows the app never edits by hand: reference data loaded by migrations, the audit log."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedReadAdminMixin:
    """For people's records (a student, a household, a talk, a visit): opening one in the admin is
    a read of the full record, written to the audit log as the app's own pages write theirs.
    ``audit_detail`` names what was read; ``audit_student_of`` the student it is about (a mixin
    placed before this one in the bases may supply it)."""

    audit_detail = ""

    def audit_student_of(self, obj: Any) -> int | None:
        return None

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response: HttpResponse = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]  # a mixin: admin.ModelAdmin comes after it in each admin's bases
        if response.status_code == 200:  # shown (a save redirects and is logged as the change it made)
            obj = self.get_object(request, object_id)  # type: ignore[attr-defined]  # ModelAdmin's
            if obj is not None:
                detail = self.audit_detail or str(obj._meta.verbose_name)
                audit.record_view(request, obj, student_id=self.audit_student_of(obj), detail=f"{detail}(系统管理)")
        return response


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the audit log cannot be edited through the app."""

    list_display = [
        "at",
        "actor_name",
        "actor_username",
        "actor_role",
        "action",
        "object_type",
        "object_label",
        "ip_address",
    ]
    list_filter = ["action", "actor_role"]
    search_fields = ["actor_name", "actor_username", "object_label"]
    date_hierarchy = "at"
