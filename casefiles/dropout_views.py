"""控辍保学 ledgers' pages: 适龄儿童台账 (list, upload, 核实), 疑似辍学学生台账 (list, entry, a teacher's
缺勤登记, the officer's decisions), 月报 (the county's grid, the officer's submission) and 季度复核.
Thin: rows through the selectors (dropout_selectors), writes through the services (dropouts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pairing.models import Student
from zaoyang_aid import audit, navigation
from zaoyang_aid.access import SCHOOL_ROLES, AuthenticatedHttpRequest, Role, role_required, scope_of
from zaoyang_aid.models import AuditAction
from zaoyang_aid.paging import page_of, query_without_page

from . import dropout_selectors as selectors
from . import dropouts as services
from .dropout_forms import (
    AbsenceNoteForm,
    ConfirmForm,
    DismissForm,
    MonthlySubmitForm,
    RecheckForm,
    ResolveForm,
    SchoolAgeListForm,
    SuspectedForm,
    VerifyForm,
    add_service_errors,
)
from .dropout_lists import row_values
from .models import MonthlyStatus, SchoolAgeChild, SuspectedDropout

LEDGER_ROLES = (Role.OFFICER, Role.COUNTY)
ERRORS_SHOWN = 100


def _export(list_url_name: str, request: AuthenticatedHttpRequest) -> str | None:
    return navigation.export_link(list_url_name, scope_of(request.user).role, query_without_page(request))


def _audit_list(request: AuthenticatedHttpRequest, label: str, rows: int) -> None:
    """A read of a ledger (names, ID numbers): one audit line per page shown."""
    audit.record(
        AuditAction.VIEW,
        object_type="控辍保学台账",
        object_label=label,
        changes={"筛选条件": [None, query_without_page(request) or "全部"], "本页行数": [None, rows]},
        context=audit.context_from_request(request),
    )


# --- 适龄儿童台账 ------------------------------------------------------------------------------------


@role_required(*LEDGER_ROLES)
def children_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    filterset = selectors.children_for_list(request.user, request.GET)
    page = page_of(request, filterset.qs, deferred_join=True)
    for child in page:
        child.match_label = selectors.match_label(child)
    _audit_list(request, "适龄儿童台账", len(page.object_list))
    context = {
        "filter": filterset,
        "page": page,
        "query": query_without_page(request),
        "towns": selectors.children_by_town(filterset),
        "county": scope_of(request.user).role == Role.COUNTY,
        "export_url": _export("casefiles:children_list", request),
    }
    return render(request, "casefiles/dropouts/children_list.html", context)


@role_required(Role.COUNTY)
def children_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SchoolAgeListForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid() and form.roster is not None:
        try:
            result = services.school_age_children_upload(
                by=request.user,
                town_id=form.cleaned_data["town"].pk,
                year=form.cleaned_data["year"],
                rows=[row_values(row) for row in form.roster.clean_rows],
                file_name=form.cleaned_data["file"].name or "",
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            skipped = len(form.roster.rows) - len(form.roster.clean_rows)
            messages.success(
                request,
                f"已导入{form.cleaned_data['town'].name}的名单:新增{result.created}人,更新{result.updated}人,"
                f"无变化{result.unchanged}人" + (f",跳过有错误的{skipped}行。" if skipped else "。"),
            )
            return redirect(f"{reverse('casefiles:children_list')}?town={form.cleaned_data['town'].pk}")
    errors = form.roster.errors if form.roster is not None else []
    return render(
        request,
        "casefiles/dropouts/children_upload.html",
        {"form": form, "row_errors": errors[:ERRORS_SHOWN], "more_errors": max(0, len(errors) - ERRORS_SHOWN)},
    )


@role_required(Role.COUNTY)
def child_verify(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    child = selectors.children_annotated(SchoolAgeChild.objects.visible_to(request.user)).filter(pk=pk).first()
    if child is None:
        raise Http404("该儿童不存在。")
    child.match_label = selectors.match_label(child)  # type: ignore[attr-defined]
    initial = {"verification": child.verification, "note": child.verification_note, "on": timezone.localdate()}
    form = VerifyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.school_age_child_verify(
                child_id=pk,
                by=request.user,
                verification=form.cleaned_data["verification"],
                note=form.cleaned_data["note"],
                on=form.cleaned_data["on"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已记录{child.name}的核实情况。")
            return redirect(f"{reverse('casefiles:children_list')}?town={child.town_id}")
    audit.record_view(request, child, student_id=None, detail="适龄儿童(身份证号、监护人)")
    return render(request, "casefiles/dropouts/child_verify.html", {"child": child, "form": form})


# --- 疑似辍学学生台账 ---------------------------------------------------------------------------------


@role_required(*LEDGER_ROLES)
def suspected_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    filterset = selectors.suspected_for_list(request.user, request.GET)
    page = page_of(request, filterset.qs, deferred_join=True)
    officer = scope_of(request.user).role == Role.OFFICER
    _audit_list(request, "疑似辍学学生台账", len(page.object_list))
    context = {
        "filter": filterset,
        "page": page,
        "query": query_without_page(request),
        "officer": officer,
        "proposals": list(selectors.proposals_waiting(request.user)) if officer else [],
        "export_url": _export("casefiles:suspected_list", request),
    }
    return render(request, "casefiles/dropouts/suspected_list.html", context)


@role_required(Role.OFFICER)
def suspected_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = SuspectedForm(request.POST or None, school_id=scope_of(request.user).school_id)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = services.suspected_dropout_create(
                by=request.user,
                student_id=data["student"].pk,
                first_absent_on=data["first_absent_on"],
                days_absent=data["days_absent"],
                source=data["source"],
                note=data["note"],
                entered_on=data["entered_on"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            late = "" if entry.entered_in_week else "(注意:未在首次缺勤当周登记)"
            messages.success(request, f"已将{entry.student.name}登记为疑似辍学,待核实。{late}")
            return redirect("casefiles:suspected_detail", pk=entry.pk)
    if request.method == "POST" and not form.is_valid():
        messages.error(request, "未能登记,请查看标红的栏目。")
    return render(request, "casefiles/dropouts/suspected_form.html", {"form": form})


@role_required(*LEDGER_ROLES)
def suspected_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    entry = (
        SuspectedDropout.objects.visible_to(request.user)
        .select_related(
            "student__school",
            "school__town",
            "entered_by",
            "resolved_by",
            "absence_note__teacher__user",
            "talk__pairing__teacher__user",
        )
        .filter(pk=pk)
        .first()
    )
    if entry is None:
        raise Http404("该登记不存在或不在您的管理范围内。")
    officer = scope_of(request.user).role == Role.OFFICER
    action = request.POST.get("action") if request.method == "POST" else None
    forms: dict[str, Any] = {
        "confirm": ConfirmForm(
            request.POST if action == "confirm" else None,
            initial={"first_absent_on": entry.first_absent_on, "days_absent": entry.days_absent},
        ),
        "resolve": ResolveForm(request.POST if action == "resolve" else None, initial={"on": timezone.localdate()}),
        "dismiss": DismissForm(request.POST if action == "dismiss" else None),
    }
    if request.method == "POST":
        if not officer:
            raise Http404("只有本校资助专干可以处理该登记。")
        done = _decide(request, entry, action, forms)
        if done:
            return redirect("casefiles:suspected_detail", pk=pk)
    audit.record_view(request, entry, student_id=entry.student_id, detail="疑似辍学登记")
    return render(
        request,
        "casefiles/dropouts/suspected_detail.html",
        {"entry": entry, "officer": officer, "forms": forms, "today": timezone.localdate()},
    )


def _decide(request: AuthenticatedHttpRequest, entry: SuspectedDropout, action: str | None, forms: dict) -> bool:
    """The officer's decision on an entry; True when it was made (the page then reloads)."""
    try:
        form = forms.get(action or "")
        if form is None:
            messages.error(request, "请选择要进行的处理。")
            return False
        if not form.is_valid():
            messages.error(request, "未能处理,请查看标红的栏目。")
            return False
        if action == "confirm":
            services.suspected_dropout_confirm(
                entry_id=entry.pk,
                by=request.user,
                first_absent_on=form.cleaned_data["first_absent_on"],
                days_absent=form.cleaned_data["days_absent"],
            )
        elif action == "dismiss":
            services.suspected_dropout_dismiss(entry_id=entry.pk, by=request.user, note=form.cleaned_data["note"])
        else:
            data = form.cleaned_data
            services.suspected_dropout_resolve(
                entry_id=entry.pk, by=request.user, status=data["status"], on=data["on"], note=data["note"]
            )
    except ValidationError as exc:
        if action in forms:
            add_service_errors(forms[action], exc)
        messages.error(request, "未能处理:" + ";".join(exc.messages))
        return False
    entry.refresh_from_db(fields=["status"])
    messages.success(request, f"已处理:{entry.student.name} {entry.get_status_display()}。")
    return True


@role_required(*SCHOOL_ROLES)
def absence_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """缺勤登记 from the teacher's student card (a phone's one-screen form)."""
    student = Student.objects.visible_to(request.user).select_related("school").filter(pk=pk).first()
    if student is None or not services.may_note_absence(request.user, student):
        raise Http404("该学生不存在或您不是其包保教师。")
    form = AbsenceNoteForm(request.POST or None, initial={"date_from": timezone.localdate(), "days": 1})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _note, proposal = services.absence_note_create(
                by=request.user,
                student_id=student.pk,
                date_from=data["date_from"],
                days=data["days"],
                with_leave=data["with_leave"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已登记{student.name}的缺勤。")
            if proposal is not None:
                messages.warning(
                    request,
                    f"{student.name}本周无故缺勤已累计{proposal.days_absent}天,已提示学校资助专干确认是否疑似辍学。",
                )
            return redirect("guidance:my_students")
    return render(request, "casefiles/dropouts/absence_form.html", {"student": student, "form": form})


# --- 月报 -----------------------------------------------------------------------------------------------


@role_required(*LEDGER_ROLES)
def monthly_reports(request: AuthenticatedHttpRequest) -> HttpResponse:
    filterset = selectors.dropout_schools(request.user, request.GET)
    page = page_of(request, filterset.qs)
    grid = selectors.monthly_grid(filterset, schools=page.object_list)
    scope = scope_of(request.user)
    officer = scope.role == Role.OFFICER and scope.school_id is not None
    this_month = services.first_of_month(timezone.localdate())
    counts = services.monthly_counts(scope.school_id, this_month) if officer and scope.school_id else None
    open_statuses = {MonthlyStatus.NOT_DUE, MonthlyStatus.DUE, MonthlyStatus.OVERDUE}
    to_submit = [c for row in grid.rows for c in row.cells if c.status in open_statuses] if officer else []
    context = {
        "filter": filterset,
        "grid": grid,
        "summary": selectors.month_summary(filterset) if not officer else {},
        "page": page,
        "query": query_without_page(request),
        "officer": officer,
        "counts": counts,
        "to_submit": to_submit,
        "form": MonthlySubmitForm(),
        "due_day": services.monthly_due_on(timezone.localdate().replace(day=1)).day,
        "export_url": _export("casefiles:monthly_reports", request),
    }
    return render(request, "casefiles/dropouts/monthly.html", context)


@role_required(Role.OFFICER)
@require_POST
def monthly_submit(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = MonthlySubmitForm(request.POST)
    if not form.is_valid():
        messages.error(request, "未能报送:" + ";".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect("casefiles:monthly_reports")
    month: dt.date = form.cleaned_data["month"]
    try:
        report = services.monthly_report_submit(by=request.user, month=month, note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, "未能报送:" + ";".join(exc.messages))
    else:
        status = services.monthly_status(
            month=report.month, submitted_on=report.submitted_on, today=report.submitted_on
        )
        messages.success(request, f"已报送{report.month:%Y年%m月}控辍保学月报({MonthlyStatus(status).label})。")
    return redirect("casefiles:monthly_reports")


# --- 季度复核 --------------------------------------------------------------------------------------------


@role_required(Role.COUNTY)
def rechecks(request: AuthenticatedHttpRequest) -> HttpResponse:
    filterset = selectors.dropout_schools(request.user, request.GET)
    quarter = selectors.chosen_quarter(filterset, timezone.localdate())
    form = RecheckForm(request.POST or None, initial={"quarter": quarter.isoformat()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            recheck = services.recheck_save(
                by=request.user,
                school_id=data["school"].pk,
                quarter=data["quarter"],
                checked_on=data["checked_on"],
                findings=data["findings"],
                discrepancies=data["discrepancies"],
                status=data["status"],
                fixed_on=data["fixed_on"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已记录{recheck.school.name}的季度复核({recheck.get_status_display()})。")
            return redirect(
                f"{reverse('casefiles:rechecks')}?quarter={data['quarter']:%Y}-Q{(data['quarter'].month - 1) // 3 + 1}"
            )
    if request.method == "POST" and not form.is_valid():
        messages.error(request, "未能保存,请查看标红的栏目。")
    page = page_of(request, selectors.schools_by_recheck(filterset, quarter))
    context = {
        "filter": filterset,
        "form": form,
        "quarter": quarter,
        "quarter_label": services.quarter_label(quarter),
        "lines": selectors.rechecks_of_quarter(page.object_list, quarter),
        "page": page,
        "query": query_without_page(request),
        "missing": selectors.rechecks_missing(filterset, quarter),
    }
    return render(request, "casefiles/dropouts/rechecks.html", context)
