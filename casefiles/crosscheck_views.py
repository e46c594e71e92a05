"""部门名单比对's pages: the upload with the recent checks, a check's result (proposals to confirm or
reject, possibly-missed students), and the decisions. Thin: the list is read by the form
(crosscheck.py), compared and decided by crosscheck_services, shown through crosscheck_selectors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from zaoyang_aid import audit
from zaoyang_aid.access import AuthenticatedHttpRequest, role_required, scope_of
from zaoyang_aid.paging import PAGE_SIZE, page_of

from . import crosscheck_selectors as selectors
from . import crosscheck_services as services
from .crosscheck import describe_rows
from .crosscheck_forms import DecisionForm, DepartmentListForm
from .models import CheckProposal, DepartmentCheck

ROLES = services.CROSS_CHECK_ROLES


@role_required(*ROLES)
def crosscheck_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload a department's list (GET: the form and the recent checks)."""
    county_wide = scope_of(request.user).is_county_wide
    form = DepartmentListForm(request.POST or None, request.FILES or None, county_wide=county_wide)
    if request.method == "POST" and form.is_valid() and form.read is not None:
        try:
            check = services.department_check_create(
                by=request.user,
                kind=form.cleaned_data["kind"],
                complete=form.cleaned_data["complete"],
                file_name=form.cleaned_data["file"].name or "",
                ids=form.read.ids,
                rows_read=form.read.rows_read,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"已比对:读取{check.rows_read}行,匹配到{check.matched_count}名学生。")
            if form.read.rows_without_id:
                messages.warning(
                    request,
                    f"{describe_rows(form.read.rows_without_id)}没有有效的身份证号,未参与比对,请在原名单中核对。",
                )
            return redirect("casefiles:crosscheck_detail", pk=check.pk)
    if request.method == "POST" and not form.is_valid():
        messages.error(request, "未能比对,请查看标红的栏目。")
    return render(
        request,
        "casefiles/crosscheck/list.html",
        {"form": form, "checks": selectors.department_checks_recent(request.user), "county_wide": county_wide},
    )


def _add_errors(form: DepartmentListForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@role_required(*ROLES)
def crosscheck_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A check's result: proposals (pending first) and possibly-missed students, paged apart."""
    try:
        page = selectors.department_check_page(request.user, pk)
    except DepartmentCheck.DoesNotExist as exc:
        raise Http404("该比对不存在或不在您的管理范围内。") from exc
    proposals = page_of(request, page.proposals)
    selectors.with_level_choices(proposals)
    missed = Paginator(page.missed, PAGE_SIZE).get_page(request.GET.get("mpage"))  # its own ?mpage=
    audit.record_view(request, page.check, student_id=None, detail="部门名单比对结果(学生与认定调整建议)")
    return render(
        request,
        "casefiles/crosscheck/detail.html",
        {
            "check": page.check,
            "page": proposals,
            "missed": missed,
            "pending": page.proposals.filter(decision="pending").count(),
        },
    )


def _back(proposal_id: int | None, check_id: int) -> HttpResponse:
    url = reverse("casefiles:crosscheck_detail", args=[check_id])
    return redirect(f"{url}#p{proposal_id}" if proposal_id else url)


def _proposal_check(request: HttpRequest, pk: int) -> int:
    check_id = (
        CheckProposal.objects.visible_to(request.user)
        .filter(pk=pk)
        .values_list("department_check_id", flat=True)
        .first()
    )
    if check_id is None:
        raise Http404("该建议不存在或不在您的管理范围内。")
    return check_id


@role_required(*ROLES)
@require_POST
def proposal_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    check_id = _proposal_check(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(str(m) for errors in form.errors.values() for m in errors))
        return _back(pk, check_id)
    data = form.cleaned_data
    try:
        proposal = services.proposal_confirm(
            proposal_id=pk, by=request.user, level_id=data["level"], decided_on=data["decided_on"], note=data["note"]
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(
            request, f"已确认:{proposal.student.name}{proposal.get_action_display()}“{proposal.category.name}”。"
        )
    return _back(pk, check_id)


@role_required(*ROLES)
@require_POST
def proposal_reject(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    check_id = _proposal_check(request, pk)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        proposal = services.proposal_reject(proposal_id=pk, by=request.user, note=note)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(
            request, f"已驳回:{proposal.student.name}{proposal.get_action_display()}“{proposal.category.name}”。"
        )
    return _back(pk, check_id)


@role_required(*ROLES)
@require_POST
def crosscheck_confirm_all(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if not DepartmentCheck.objects.visible_to(request.user).filter(pk=pk).exists():
        raise Http404("该比对不存在或不在您的管理范围内。")
    try:
        confirmed, skipped = services.proposals_confirm_all(check_id=pk, by=request.user)
    except ValidationError as exc:
        messages.error(request, "未能全部确认,没有做任何修改:" + "；".join(exc.messages))
        return _back(None, pk)
    messages.success(request, f"已确认{confirmed}条建议。")
    if skipped:
        messages.warning(request, f"另有{skipped}名学生本学期尚无困难认定,请逐条选择困难等级后确认。")
    return _back(None, pk)
