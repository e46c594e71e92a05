"""预警's pages: the list of flagged students (officer: her school; county: all) with their signs'
values, the officer's 处理, a family event from the student's card, and the county's thresholds.
Thin: the flags are kept by early_warning.warnings_refresh, written by its services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pairing.models import Student
from zaoyang_aid import navigation
from zaoyang_aid.access import AuthenticatedHttpRequest, Role, role_required, scope_of
from zaoyang_aid.paging import page_of, query_without_page

from . import early_warning
from .dropouts import may_note_absence
from .models import WarningFlag
from .warning_forms import FamilyEventForm, WarningHandleForm, WarningSettingsForm

WARNING_ROLES = (Role.OFFICER, Role.COUNTY)


@role_required(*WARNING_ROLES)
def warning_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    flags = early_warning.warning_flags_filter(request.user, request.GET or None)
    page = page_of(request, flags.qs, deferred_join=True)  # 3,700 flags county-wide
    return render(
        request,
        "casefiles/warnings/list.html",
        {
            "filter": flags,
            "page": page,
            "query": query_without_page(request),
            "county_wide": scope_of(request.user).is_county_wide,
            "rules": early_warning.warning_settings(),
            "export_url": navigation.export_link(
                "casefiles:warning_list", scope_of(request.user).role, request.GET.urlencode()
            ),
        },
    )


@role_required(Role.OFFICER)
def warning_handle(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The officer records what was done about one sign of one student."""
    flag = get_object_or_404(WarningFlag.objects.visible_to(request.user).select_related("student__school"), pk=pk)
    form = WarningHandleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            early_warning.warning_handle(flag=flag, by=request.user, action=form.cleaned_data["action"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                form.add_error(None, exc)
            else:
                messages.error(request, ";".join(exc.messages))
                return redirect("casefiles:warning_list")
        else:
            messages.success(request, f"已登记{flag.student.name}的预警处理情况。")
            return redirect("casefiles:warning_list")
    others = WarningFlag.objects.open().filter(student=flag.student).exclude(pk=flag.pk)
    return render(request, "casefiles/warnings/handle.html", {"flag": flag, "form": form, "others": others})


def _may_record_family_event(user: object, student: Student) -> bool:
    """The people who note a student's absences (dropouts.may_note_absence: whoever 包保 the student
    now, or the school's 资助专干), both of whom the field policy shows the family to. County staff
    read the events; the school records them."""
    return may_note_absence(user, student)


def family_event_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    if not _may_record_family_event(request.user, student):
        raise PermissionDenied("只有包保教师和本校资助专干可以记录家庭变故。")
    form = FamilyEventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            early_warning.family_event_record(student=student, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"已记录{student.name}的家庭变故,将纳入今晚的预警检查。")
            return redirect("home")
    return render(request, "casefiles/warnings/family_event_form.html", {"student": student, "form": form})


@role_required(Role.COUNTY)
def warning_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    rules = early_warning.warning_settings()
    form = WarningSettingsForm(request.POST or None, instance=rules)
    if request.method == "POST" and form.is_valid():
        try:
            early_warning.warning_settings_update(by=request.user, **{n: form.cleaned_data[n] for n in form.fields})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已保存预警阈值,今晚的预警检查起按新阈值计算。")
            return redirect("casefiles:warning_list")
    return render(request, "casefiles/warnings/settings.html", {"form": form})
