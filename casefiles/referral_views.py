"""部门联动's pages: the list (逾期 first in the banner, filters shared with the ledger), a new
referral (from the list or the case file), a referral with its timeline, the department's answer
recorded on its behalf, and the 转介单 printed or as PDF. Thin: rows through Referral.visible_to,
writes through casefiles.referral_services, every read of a student's referral audited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from pairing.models import Student
from zaoyang_aid import audit
from zaoyang_aid.access import AuthenticatedHttpRequest, Role, role_required, scope_of
from zaoyang_aid.models import AuditAction
from zaoyang_aid.paging import page_of, query_without_page

from . import referral_selectors as selectors
from . import referral_services as services
from .models import Referral
from .referral_forms import ReferralForm, ReferralUpdateForm
from .referral_slip import slip_of, slip_pdf

# Who reads referrals: the school's staff (a teacher or counsellor those of the students they 包保)
# and the county; the 系统管理员 sees no help records. Who prints a slip: whoever sends or oversees it.
READERS = (Role.TEACHER, Role.OFFICER, Role.COUNSELLOR, Role.COUNTY)
WRITERS = tuple(services.REFERRAL_WRITERS)
PRINTERS = (Role.OFFICER, Role.COUNTY)


def _referral(request: AuthenticatedHttpRequest, pk: int) -> Referral:
    try:
        return selectors.referral_page(request.user, pk)
    except Referral.DoesNotExist as exc:
        raise Http404("该转介不存在或不在您的管理范围内。") from exc


def _put_errors(form: Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@role_required(*READERS)
def referral_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    filterset = selectors.referrals_for_list(request.user, request.GET)
    page = page_of(request, selectors.referral_rows(filterset))
    return render(
        request,
        "casefiles/referrals/list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query_without_page(request),
            "overdue": selectors.overdue_count(request.user),
            "today": timezone.localdate(),
            "can_refer": services.may_refer(request.user),
            "can_export": scope_of(request.user).role in PRINTERS,
        },
    )


@role_required(*WRITERS)
@require_http_methods(["GET", "POST"])
def referral_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A new referral; ?student=<pk> (from the case file) chooses the student."""
    school_id = scope_of(request.user).school_id
    if school_id is None:
        raise Http404("您的账号未关联学校。")
    initial: dict[str, Any] = {}
    wanted = request.GET.get("student", "")
    if wanted.isdigit() and Student.objects.visible_to(request.user).filter(pk=int(wanted)).exists():
        initial["student"] = int(wanted)
    form = ReferralForm(request.POST or None, school_id=school_id, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            referral = services.referral_create(
                by=request.user,
                student_id=data["student"].pk,
                department_id=data["department"].pk,
                referred_on=data["referred_on"],
                due_on=data["due_on"],
                reason=data["reason"],
                contact_teacher_id=data["contact_teacher"].pk if data["contact_teacher"] else None,
            )
        except ValidationError as exc:
            _put_errors(form, exc)
        else:
            messages.success(request, f"已登记转介 {referral.reference},请打印转介单送交{referral.department}。")
            return redirect("casefiles:referral_detail", pk=referral.pk)
    if request.method == "POST":
        messages.error(request, "未能保存,请查看标红的栏目。")
    return render(request, "casefiles/referrals/form.html", {"form": form})


@role_required(*READERS)
def referral_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    referral = _referral(request, pk)
    audit.record_view(request, referral, student_id=referral.student_id, detail="转介及办理记录")
    today = timezone.localdate()
    return render(
        request,
        "casefiles/referrals/detail.html",
        {
            "referral": referral,
            "timeline": selectors.timeline_of(referral),
            "overdue": referral.is_overdue(today),
            "today": today,
            "can_update": services.may_refer(request.user, referral.student)
            and bool(services.NEXT_STATUSES.get(referral.status)),
            "can_print": scope_of(request.user).role in PRINTERS,
        },
    )


@role_required(*WRITERS)
@require_http_methods(["GET", "POST"])
def referral_update(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The department's answer, recorded on its behalf by the officer."""
    referral = _referral(request, pk)
    if not services.may_refer(request.user, referral.student):
        raise Http404("该转介不存在或不在您的管理范围内。")
    if not services.NEXT_STATUSES.get(referral.status):
        messages.info(request, f"该转介已{referral.get_status_display()},不再登记办理情况。")
        return redirect("casefiles:referral_detail", pk=referral.pk)
    form = ReferralUpdateForm(request.POST or None, referral=referral)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.referral_update_record(
                by=request.user,
                referral_id=referral.pk,
                on=data["on"],
                status=data["status"],
                note=data["note"],
                help_text=data["help_text"],
                aid_item=data["aid_item"],
                aid_amount=data["aid_amount"],
                aid_source=data["aid_source"],
                due_on=data["due_on"],
            )
        except ValidationError as exc:
            _put_errors(form, exc)
        else:
            messages.success(request, "已登记办理情况。")
            return redirect("casefiles:referral_detail", pk=referral.pk)
    if request.method == "POST":
        messages.error(request, "未能保存,请查看标红的栏目。")
    return render(request, "casefiles/referrals/update_form.html", {"form": form, "referral": referral})


def _audit_slip(request: AuthenticatedHttpRequest, referral: Referral, what: str, full_id: bool) -> None:
    shown = "身份证号(完整)" if full_id else "身份证号(隐去中间)"
    audit.record(
        AuditAction.EXPORT,
        obj=referral,
        student_id=referral.student_id,
        changes={"导出内容": [None, f"{what} {referral.reference}:学生身份信息、{shown}、转介事由、联系教师"]},
        context=audit.context_from_request(request),
    )


@role_required(*PRINTERS)
def referral_slip(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The 转介单 for A4 paper (print CSS): it leaves the system on paper, so it is audited as an export."""
    referral = _referral(request, pk)
    slip = slip_of(referral, reader=request.user)
    _audit_slip(request, referral, "转介单打印版", slip.full_id)
    return render(request, "casefiles/referrals/slip.html", {"slip": slip, "referral": referral})


@role_required(*PRINTERS)
def referral_slip_pdf(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    referral = _referral(request, pk)
    slip = slip_of(referral, reader=request.user)
    _audit_slip(request, referral, "转介单PDF", slip.full_id)
    body = slip_pdf(slip, printed_at=timezone.localtime())
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{slip.filename}.pdf") or "attachment"
    return response
