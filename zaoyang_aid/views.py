from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import audit, health, navigation
from .access import Role, role_required, scope_of
from .filters import AuditEventFilter
from .models import AuditEvent
from .paging import page_of, query_without_page


def home(request: HttpRequest) -> HttpResponse:
    """Send each role to the first page of its daily work."""
    scope = scope_of(request.user)
    target = navigation.role_home(scope.role)
    if target is None:
        return render(request, "no_role.html", status=403)
    return redirect(target)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class OwnPasswordForm(PasswordChangeForm):
    """The password change; after a reset the new password must differ from the one-time one."""

    def clean_new_password1(self) -> str:
        new = self.cleaned_data.get("new_password1") or ""
        if new and self.user.must_change_password and self.user.check_password(new):
            raise ValidationError("请设置一个新的密码,不要沿用临时密码。")
        return new


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = OwnPasswordForm
    success_url = reverse_lazy("home")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        forced = getattr(self.request.user, "must_change_password", False)  # signed in: LoginRequiredMiddleware
        return {**super().get_context_data(**kwargs), "forced": forced}

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        # Saved with the new password by form.save(): the user chose it, the middleware lets go.
        form.user.must_change_password = False
        messages.success(self.request, "密码已修改。")
        return super().form_valid(form)


@role_required(Role.COUNTY, Role.ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    """County staff search the audit log. Read-only: there is no page that changes a line."""
    # Newest first, the pk breaking ties: a total order, so the deferred join reads the last page
    # (the oldest lines of a log that only grows) from the index's other end.
    events = AuditEventFilter(request.GET, queryset=AuditEvent.objects.order_by("-at", "-pk"))
    page = page_of(request, events.qs, deferred_join=True)
    lines = list(page.object_list)
    changes = audit.shown_changes(lines, reader=request.user)
    students = audit.student_names(e.student_id for e in lines)
    for e in lines:
        if audit.label_hidden_from(e, request.user):
            e.object_label = audit.NOT_YOURS
    rows = [(e, changes[e.pk], students.get(e.student_id, "") if e.student_id else "") for e in lines]
    context = {"filter": events, "page": page, "rows": rows, "query": query_without_page(request)}
    # "该学生的全部记录" followed: the page names the student.
    one = events.form.cleaned_data.get("student_id") if events.is_valid() else None
    the_student = audit.student_names([int(one)]).get(int(one)) if one else None
    return render(request, "zaoyang_aid/audit_log.html", {**context, "the_student": the_student})
