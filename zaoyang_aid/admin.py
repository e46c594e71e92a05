from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from .models import AuditEvent, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "full_name", "role", "phone", "is_active", "last_login"]
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


class ReadOnlyAdminMixin:
    """For rows the app never edits by hand: reference data loaded by migrations, the audit log."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the audit log cannot be edited through the app."""

    list_display = ["at", "actor_name", "actor_role", "action", "object_type", "object_label", "ip_address"]
    list_filter = ["action", "actor_role"]
    search_fields = ["actor_name", "object_label"]
    date_hierarchy = "at"
