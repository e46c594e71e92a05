"""动态管理 pages: the officer's 本学期认定变动 (confirm or correct each change), the county's counts
per school, and 退出资助名单 on a student. Thin: the FilterSet and the change computation are
pairing/dynamics.py's, the writes pairing/services.py's."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from zaoyang_aid import navigation
from zaoyang_aid.access import Role, role_required, scope_of
from zaoyang_aid.paging import page_of, query_without_page

from . import dynamics, selectors, services
from .forms import AidListExitForm
from .models import Student, Term
from .views import EDITORS, _call_service


def _terms_of(request: HttpRequest) -> tuple[Term | None, Term | None]:
    """(?term=<id> among the terms begun, else the current one; the current one: the last begun in
    a vacation)."""
    current = selectors.term_today(school_id=scope_of(request.user).school_id).term
    raw = request.GET.get("term") or request.POST.get("term") or ""
    begun = Term.objects.select_related("school_year").filter(start_date__lte=timezone.localdate())
    if raw.isdigit() and (term := begun.filter(pk=int(raw)).first()) is not None:
        return term, current
    return current, current


def _terms() -> list[Term]:
    begun = Term.objects.select_related("school_year").filter(start_date__lte=timezone.localdate())
    return list(begun.order_by("-start_date")[:6])


@role_required(Role.OFFICER, Role.COUNTY)
def assessment_changes(request: HttpRequest) -> HttpResponse:
    """本学期认定变动: each student's change of 认定 against the term before (新增, 退出, 等级, 类别),
    with the date, the reason and who recorded it; the officer confirms each or corrects it."""
    term, current = _terms_of(request)
    previous = dynamics.previous_term(term) if term is not None else None
    filterset = dynamics.assessment_change_filter(request.user, request.GET)
    lines = dynamics.assessment_changes(filterset, term=term, previous=previous) if term is not None else []
    query = query_without_page(request)
    role = scope_of(request.user).role
    page = page_of(request, lines)
    return render(
        request,
        "pairing/assessment_changes.html",
        {
            "term": term,
            "previous": previous,
            "terms": _terms(),
            "filter": filterset,
            "page": page,
            "page_pending": [line for line in page if not line.confirmed],
            "pending": sum(1 for line in lines if not line.confirmed),
            "query": query,
            "can_confirm": role == Role.OFFICER,
            "current_term": current,
            "export_url": navigation.export_link("pairing:assessment_changes", role, query),
        },
    )


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if target and allowed else reverse("pairing:assessment_changes")


@role_required(Role.OFFICER)
@require_POST
def assessment_change_confirm(request: HttpRequest) -> HttpResponse:
    """确认 one change (student, fingerprint) or 全部确认 the page's pending ones (line=<id>:<fingerprint>
    each), as the officer read them; a change edited since is refused, and then none is confirmed."""
    term, _current = _terms_of(request)
    read: dict[int, str] = {}
    for item in request.POST.getlist("line"):
        pk, _sep, fingerprint = item.partition(":")
        if pk.isdigit():
            read[int(pk)] = fingerprint
    if (raw := request.POST.get("student", "")).isdigit():
        read[int(raw)] = request.POST.get("fingerprint", "")
    if term is None or not read:
        messages.error(request, "请选择要确认的变动。")
        return redirect(_back(request))
    try:
        done = services.assessment_changes_confirm(read=read, term=term, by=request.user)
    except ValidationError as exc:
        messages.error(request, "".join(exc.messages))
    else:
        if len(done) == 1:
            messages.success(request, f"已确认{done[0].student.name}的认定变动:{done[0].summary}")
        else:
            messages.success(request, f"已确认{len(done)}项认定变动。")
    return redirect(_back(request))


@role_required(Role.COUNTY)
def assessment_changes_by_school(request: HttpRequest) -> HttpResponse:
    """认定变动统计: per school (filter by town and stage) how many were added, left the list and
    changed level or category this term, how many the officers confirmed, with the total."""
    term, _current = _terms_of(request)
    previous = dynamics.previous_term(term) if term is not None else None
    filterset = dynamics.school_change_filter(request.user, request.GET)
    county = dynamics.school_changes(filterset, term=term, previous=previous) if term is not None else None
    query = query_without_page(request)
    return render(
        request,
        "pairing/assessment_changes_by_school.html",
        {
            "term": term,
            "previous": previous,
            "terms": _terms(),
            "filter": filterset,
            "county": county,
            "query": query,
            "export_url": navigation.export_link("pairing:assessment_changes_by_school", Role.COUNTY, query),
        },
    )


@role_required(*EDITORS)
def aid_list_exit(request: HttpRequest, pk: int) -> HttpResponse:
    """退出资助名单 (脱贫退出, 家庭经济好转, 毕业离校, 转出本县, 其他): date, reason, note."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    form = AidListExitForm(request.POST or None, initial={"on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        done = _call_service(form, services.aid_list_exit, student=student, by=request.user)
        if done is not None:
            messages.success(
                request, f"已登记{student.name}于{done.exited_on:%Y-%m-%d}退出资助名单({done.get_reason_display()})。"
            )
            return redirect("pairing:student_detail", pk=student.pk)
    return render(request, "pairing/aid_list_exit_form.html", {"form": form, "student": student})
