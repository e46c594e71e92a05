from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from . import audit
from .access import deactivation_blocked
from .fields import FieldGroup, broad_access, group_of
from .models import AuditEvent, User


class FieldPolicyAdminMixin:
    """The field-visibility policy (fields.py) in the Django admin: a field the reader does not see for
    every row of their scope is left out of the list's columns, filters and search, and out of the
    change form (so it is neither shown nor edited); a model or inline of which the reader sees no
    personal field at all is not offered. ``policy_columns`` places computed columns in their group,
    and a field the admin shows only masked (the 身份证号) in IDENTITY.

    Used by every ModelAdmin and inline of a model with personal fields (a test checks that)."""

    model: Any
    policy_columns: dict[str, FieldGroup] = {}

    def _policy_group(self, name: str) -> FieldGroup | None:
        return self.policy_columns.get(name) or group_of(self.model._meta.label, name)

    def _policy_hidden(self, request: HttpRequest) -> set[str]:
        shown = broad_access(request.user).groups
        names = {f.name for f in self.model._meta.get_fields() if f.concrete or f.many_to_many} | set(
            self.policy_columns
        )
        return {name for name in names if (group := self._policy_group(name)) is not None and group not in shown}

    def _policy_hides_all(self, request: HttpRequest) -> bool:
        personal = {f.name for f in self.model._meta.get_fields() if self._policy_group(f.name) is not None}
        return bool(personal) and personal <= self._policy_hidden(request)

    def _policy_keep(self, request: HttpRequest, names: Any) -> list[Any]:
        hidden = self._policy_hidden(request)
        return [n for n in names if not (isinstance(n, str) and n.split("__")[0] in hidden)]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._policy_keep(request, super().get_fields(request, obj))  # type: ignore[misc]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        hidden = self._policy_hidden(request)
        kept = []
        for name, options in super().get_fieldsets(request, obj):  # type: ignore[misc]
            fields = [f for f in options.get("fields", ()) if not (isinstance(f, str) and f in hidden)]
            if fields:
                kept.append((name, {**options, "fields": fields}))
        return kept

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._policy_keep(request, super().get_readonly_fields(request, obj))  # type: ignore[misc]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._policy_keep(request, super().get_list_display(request))  # type: ignore[misc]

    def get_list_filter(self, request: HttpRequest) -> Any:
        return self._policy_keep(request, super().get_list_filter(request))  # type: ignore[misc]

    def get_search_fields(self, request: HttpRequest) -> Any:
        return self._policy_keep(request, super().get_search_fields(request))  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._policy_hides_all(request) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._policy_hides_all(request) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # A new row needs its required fields: a reader who may not see one of them cannot add.
        hidden = self._policy_hidden(request)
        required_hidden = any(
            f.name in hidden and not f.blank and not f.has_default()
            for f in self.model._meta.concrete_fields
            if not f.auto_created
        )
        return not required_hidden and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._policy_hides_all(request) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class UserChangeForm(BaseUserChangeForm):
    def clean_is_active(self) -> bool:
        active = bool(self.cleaned_data.get("is_active"))
        if not active and self.instance.is_active and (reason := deactivation_blocked(self.instance)):
            raise forms.ValidationError(reason)
        return active


@admin.register(User)
class UserAdmin(FieldPolicyAdminMixin, BaseUserAdmin):
    """Accounts are deactivated (停用), never deleted: talks, visits, pairings and the audit log name
    the people who made them, and a deleted account would leave those rows pointing at no one."""

    form = UserChangeForm
    list_display = ["username", "full_name", "role", "phone", "is_active", "last_login"]
    actions = ["deactivate"]
    list_filter = ["role", "is_active", "is_staff", "reads_counselling"]
    search_fields = ["username", "full_name", "phone"]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("资助帮扶", {"fields": ("full_name", "phone", "role", "reads_counselling")}),
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
            if reason := deactivation_blocked(user):
                messages.warning(request, f"{user}:{reason}")
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
