"""辍学学生台账 and 劝返 一人一案's pages. Thin: rows through the reader's scope
(recovery_selectors), the rules and writes in casefiles/recovery.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from pairing.models import Student
from zaoyang_aid import audit, navigation
from zaoyang_aid.access import AuthenticatedHttpRequest, Role, role_required, scope_of
from zaoyang_aid.paging import page_of, query_without_page

from . import recovery
from . import recovery_selectors as selectors
from .models import RecoveryCase
from .recovery_forms import CloseKind, RecoveryAttemptForm, RecoveryCloseForm, RecoveryPlanForm

READERS = (Role.OFFICER, Role.COUNTY, Role.TEACHER, Role.COUNSELLOR)


@role_required(*recovery.LEDGER_ROLES)
def recovery_ledger(request: AuthenticatedHttpRequest) -> HttpResponse:
    """辍学学生台账: every dropout of the reader's scope with their case (or 待建方案)."""
    today = timezone.localdate()
    filterset = selectors.recovery_ledger_filter(request.user, request.GET, today=today)
    page = page_of(request, filterset.qs)
    lines = [selectors.ledger_line(s, today=today) for s in page]
    scope = scope_of(request.user)
    context = {
        "filter": filterset,
        "page": page,
        "query": query_without_page(request),
        "lines": lines,
        "counts": selectors.ledger_counts(filterset.qs),
        "county_wide": scope.is_county_wide,
        "may_open": scope.role == Role.OFFICER,
        "overdue_days": settings.RECOVERY_OVERDUE_DAYS,
        "export_url": navigation.export_link("casefiles:recovery_ledger", scope.role, request.GET.urlencode()),
    }
    return render(request, "casefiles/recovery/ledger.html", context)


def _service_errors(form: Any, exc: ValidationError, renamed: dict[str, str] | None = None) -> None:
    """A service's refusal at the form's fields (``renamed``: a service argument named otherwise here)."""
    errors = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
    for field, found in errors.items():
        field = (renamed or {}).get(field, field)
        form.add_error(field if field in form.fields else None, found)


@role_required(Role.OFFICER)
def recovery_case_open(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """建立劝返方案 for a dropout of the officer's school (from the ledger's 待建方案)."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    existing = student.recovery_cases.filter(status="open").first()
    if existing is not None:
        messages.info(request, f"{student.name}已有进行中的劝返方案。")
        return redirect("casefiles:recovery_detail", pk=existing.pk)
    if not recovery.may_open_case(request.user, student):
        messages.error(request, f"{student.name}的学籍状态不是“辍学”,无需建立劝返方案。")
        return redirect("casefiles:recovery_ledger")
    officers = recovery.school_officers(student.school_id)
    initial = {
        "opened_on": recovery.dropped_out_on(student.pk),
        "teacher": recovery.paired_teacher_id(student.pk),
        "officer": request.user.pk,
    }
    form = RecoveryPlanForm(request.POST or None, school_id=student.school_id, officers=officers, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            case = recovery.recovery_case_open(student=student.pk, by=request.user, **form.service_values())
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, f"已为{student.name}建立劝返方案。")
            return redirect("casefiles:recovery_detail", pk=case.pk)
    return render(request, "casefiles/recovery/plan_form.html", {"form": form, "student": student, "case": None})


def _case(request: AuthenticatedHttpRequest, pk: int) -> RecoveryCase:
    try:
        return selectors.case_page(request.user, pk)
    except RecoveryCase.DoesNotExist as exc:
        raise Http404("该劝返方案不存在或不在您的管理范围内。") from exc


@role_required(*READERS)
def recovery_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A case: the plan, the people responsible, the attempts (newest first) and the actions."""
    case = _case(request, pk)
    audit.record_view(request, case, student_id=case.student_id, detail="劝返方案与劝返记录")
    today = timezone.localdate()
    overdue = RecoveryCase.objects.overdue(today).filter(pk=case.pk).exists()
    context = {
        "case": case,
        "student": case.student,
        "attempts": list(case.attempts.all()),
        "overdue": overdue,
        "days_open": ((case.closed_on or today) - case.opened_on).days,
        "may_manage": recovery.may_manage(request.user, case),
        "may_add_attempt": recovery.may_add_attempt(request.user, case),
        "ledger": scope_of(request.user).role in recovery.LEDGER_ROLES,
        "status_returned": case.is_open and case.student.enrollment_status == "enrolled",
    }
    return render(request, "casefiles/recovery/detail.html", context)


@role_required(Role.OFFICER)
def recovery_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    if not recovery.may_manage(request.user, case):
        messages.error(request, "该劝返方案已销号,不能再修改。")
        return redirect("casefiles:recovery_detail", pk=case.pk)
    initial = {
        name: getattr(case, name)
        for name in ("leave_reason", "head_teacher", "village_cadre", "next_step", "next_step_due")
    } | {"teacher": case.teacher_id, "officer": case.officer_id}
    officers = recovery.school_officers(case.student.school_id)
    form = RecoveryPlanForm(
        request.POST or None, school_id=case.student.school_id, officers=officers, editing=True, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            recovery.recovery_case_update(case=case.pk, by=request.user, **form.service_values())
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, "劝返方案已保存。")
            return redirect("casefiles:recovery_detail", pk=case.pk)
    return render(request, "casefiles/recovery/plan_form.html", {"form": form, "student": case.student, "case": case})


@role_required(*recovery.ATTEMPT_ROLES)
def recovery_attempt(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """记录一次劝返 (a phone-sized form)."""
    case = _case(request, pk)
    if not recovery.may_add_attempt(request.user, case):
        messages.error(request, "该劝返方案已销号,不能再记录劝返。")
        return redirect("casefiles:recovery_detail", pk=case.pk)
    form = RecoveryAttemptForm(request.POST or None, initial={"date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            recovery.recovery_attempt_create(case=case.pk, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, "已记录本次劝返。")
            return redirect(reverse("casefiles:recovery_detail", args=[case.pk]) + "#attempts")
    return render(request, "casefiles/recovery/attempt_form.html", {"form": form, "case": case})


@role_required(Role.OFFICER)
def recovery_close(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """销号: on return (the 学籍 back to 在校 from that day, the pairing owes again) or otherwise."""
    case = _case(request, pk)
    if not recovery.may_manage(request.user, case):
        messages.error(request, "该劝返方案已销号。")
        return redirect("casefiles:recovery_detail", pk=case.pk)
    today = timezone.localdate()
    # A student already set back 在校 on the status form: her return is that change's date.
    back_on = recovery.returned_on(case.student_id) if case.student.enrollment_status == "enrolled" else None
    initial = {"returned_on": back_on or today, "closed_on": today, "returned_class": case.student.class_label}
    form = RecoveryCloseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == CloseKind.RETURNED:
                recovery.recovery_case_close_returned(
                    case=case.pk,
                    by=request.user,
                    returned_on=data["returned_on"],
                    returned_class=data["returned_class"],
                    note=data["reason"],
                )
                messages.success(
                    request,
                    f"{case.student.name}已返校销号,自{data['returned_on']:%Y-%m-%d}起恢复在校,结对恢复每周谈话。",
                )
            else:
                recovery.recovery_case_close_other(
                    case=case.pk, by=request.user, closed_on=data["closed_on"], reason=data["reason"]
                )
                messages.success(request, f"{case.student.name}的劝返方案已销号。")
        except ValidationError as exc:
            _service_errors(form, exc, renamed={"note": "reason"})
        else:
            return redirect("casefiles:recovery_detail", pk=case.pk)
    return render(request, "casefiles/recovery/close_form.html", {"form": form, "case": case})
