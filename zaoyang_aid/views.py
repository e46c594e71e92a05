from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import audit, health, navigation
from .access import Role, role_required, scope_of
from .filters import AuditEventFilter
from .models import AuditEvent
from .paging import query_without_page


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


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        messages.success(self.request, "密码已修改。")
        return super().form_valid(form)


@role_required(Role.COUNTY, Role.ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    """County staff search the audit log. Read-only: there is no page that changes a line."""
    events = AuditEventFilter(request.GET, queryset=AuditEvent.objects.all())
    page = Paginator(events.qs, 50).get_page(request.GET.get("page"))
    lines = list(page.object_list)
    changes = audit.shown_changes(lines)
    students = audit.student_names(e.student_id for e in lines)
    rows = [(e, changes[e.pk], students.get(e.student_id, "") if e.student_id else "") for e in lines]
    context = {"filter": events, "page": page, "rows": rows, "query": query_without_page(request)}
    # "该学生的全部记录" followed: the page names the student.
    one = events.form.cleaned_data.get("student_id") if events.is_valid() else None
    the_student = audit.student_names([int(one)]).get(int(one)) if one else None
    return render(request, "zaoyang_aid/audit_log.html", {**context, "the_student": the_student})
