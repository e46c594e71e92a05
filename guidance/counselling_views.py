"""Pages of the 心理健康档案 (guidance/counselling.py): thin, scoped through visible_to.

Counsellors and designated county staff read (every read of a file is audited); the school's
counsellors write; the 包保 teacher asks for a session and sees its status, nothing else."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pairing.models import School, Student
from zaoyang_aid import audit
from zaoyang_aid.access import SCHOOL_ROLES, AuthenticatedHttpRequest, Role, role_required, scope_of
from zaoyang_aid.models import AuditAction
from zaoyang_aid.paging import page_of, query_without_page

from . import counselling
from .counselling_forms import (
    CounsellingRecordForm,
    CounsellingRequestForm,
    CounsellingRequestHandleForm,
    PsychAssessmentForm,
    RiskLevelForm,
)
from .models import (
    OPEN_REQUEST_STATUSES,
    CounsellingRecord,
    CounsellingRequest,
    PsychFile,
    RiskLevel,
)

READERS = (Role.COUNSELLOR, Role.COUNTY)


def _ensure_reader(request: HttpRequest) -> None:
    if not counselling.may_read_any(request.user):
        raise PermissionDenied("您无权查阅心理健康档案。")


def _int_or_none(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@role_required(*READERS)
def counselling_list(request: HttpRequest) -> HttpResponse:
    """The counsellor's school list (or, for designated county staff, the county's): students with a
    file, their level, last session and open requests; filtered by level (and school)."""
    _ensure_reader(request)
    level = _int_or_none(request.GET.get("level"))
    level = level if level in RiskLevel.values else None
    scope = scope_of(request.user)
    school_id = _int_or_none(request.GET.get("school")) if scope.is_county_wide else None
    files = counselling.psych_files(request.user, level=level, school_id=school_id)
    open_requests = (
        CounsellingRequest.objects.visible_to(request.user)
        .filter(status__in=OPEN_REQUEST_STATUSES)
        .select_related("student__school", "requested_by")
    )
    if school_id is not None:
        open_requests = open_requests.filter(student__school_id=school_id)
    audit.record(
        AuditAction.VIEW,
        object_type="心理健康档案",
        object_label="心理健康档案列表",
        changes={"查看内容": [None, f"风险等级 {RiskLevel(level).label}" if level is not None else "全部"]},
        context=audit.context_from_request(request),
    )
    context = {
        "page": page_of(request, files),
        "query": query_without_page(request),
        "levels": RiskLevel.choices,
        "level": level,
        "schools": School.objects.order_by("name") if scope.is_county_wide else None,
        "school_id": school_id,
        "open_requests": list(open_requests[:20]),
        "may_write": scope.role == Role.COUNSELLOR,
    }
    return render(request, "guidance/counselling_list.html", context)


def _student_for_reader(request: HttpRequest, pk: int) -> Student:
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    if not counselling.may_read(request.user, student):
        raise Http404("学生不存在或您无权查阅其心理健康档案。")
    return student


def _student_for_counsellor(request: HttpRequest, pk: int) -> Student:
    student = _student_for_reader(request, pk)
    if not counselling.may_counsel(request.user, student.school_id):
        raise PermissionDenied(counselling.NOT_COUNSELLOR)
    return student


@role_required(*READERS)
def psych_file(request: HttpRequest, pk: int) -> HttpResponse:
    """A student's 心理健康档案: sessions, assessments, risk history, requests (the read is audited)."""
    student = _student_for_reader(request, pk)
    page = counselling.psych_file_page(request.user, student)
    audit.record_view(request, student, student_id=student.pk, detail="心理健康档案")
    context = {"file": page, "student": student, "may_write": counselling.may_counsel(request.user, student.school_id)}
    return render(request, "guidance/psych_file.html", context)


def _form_page(
    request: HttpRequest, form: Any, *, title: str, student: Student | None, back: str, search: bool = False
) -> HttpResponse:
    context = {"form": form, "title": title, "student": student, "back": back, "search": search}
    context["q"] = request.GET.get("q", "")
    return render(request, "guidance/counselling_form.html", context)


def students_offered(request: HttpRequest, school_id: int, ticked: list[int]) -> QuerySet[Student]:
    """The students a session form lists: those matching ?q= (a name or a class, e.g. 八年级4班 or
    4班), else the school's students with a file or an open request; and those already ticked."""
    students = counselling.enrolled_students(school_id)
    q = (request.GET.get("q") or "").strip()[:20]
    if q:
        wanted = Q(name__contains=q) | Q(class_name__contains=q)
        grade, _, rest = q.partition("年级")
        if rest and grade:
            wanted |= Q(class_name__contains=rest)
    else:
        wanted = Q(psych_file__isnull=False) | Q(counselling_requests__status__in=OPEN_REQUEST_STATUSES)
    return students.filter(wanted | Q(pk__in=ticked)).distinct()


@role_required(Role.COUNSELLOR)
def counselling_create(request: HttpRequest) -> HttpResponse:
    """Record a session (?student=<pk> preselects a student, ?request=<pk> a teacher's request)."""
    school_id = scope_of(request.user).school_id
    if school_id is None:
        raise PermissionDenied(counselling.NOT_COUNSELLOR)
    open_requests = (
        CounsellingRequest.objects.visible_to(request.user)
        .filter(status__in=OPEN_REQUEST_STATUSES, student__school_id=school_id)
        .select_related("student", "requested_by")
    )
    initial: dict[str, Any] = {}
    if (student_id := _int_or_none(request.GET.get("student"))) is not None:
        initial["students"] = [student_id]
    if (request_id := _int_or_none(request.GET.get("request"))) is not None:
        chosen = open_requests.filter(pk=request_id).first()
        if chosen is not None:
            initial.update(request=chosen.pk, students=[chosen.student_id], mode="ordered", requester_kind="teacher")
    form = CounsellingRecordForm(
        request.POST if request.method == "POST" else None,
        school_id=school_id,
        open_requests=open_requests,
        initial=initial,
        offered=students_offered(request, school_id, initial.get("students", [])),
    )
    if request.method == "POST" and form.is_valid():
        try:
            record = counselling.counselling_record_create(
                by=request.user, school_id=school_id, values=form.service_values()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已保存心理辅导记录。")
            first = record.students.order_by("pk").first()
            return redirect("guidance:psych_file", pk=first.pk) if first else redirect("guidance:counselling_list")
    return _form_page(
        request, form, title="新增心理辅导记录", student=None, back="guidance:counselling_list", search=True
    )


@role_required(Role.COUNSELLOR)
def counselling_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(CounsellingRecord.objects.visible_to(request.user), pk=pk)
    if not counselling.may_counsel(request.user, record.school_id):
        raise PermissionDenied(counselling.NOT_COUNSELLOR)
    open_requests = (
        CounsellingRequest.objects.visible_to(request.user)
        .filter(student__in=record.students.all())
        .select_related("student", "requested_by")
    )
    if request.method == "GET":  # the form shows the session's notes: a read of the file
        for student_id in record.students.values_list("pk", flat=True):
            audit.record_view(request, record, student_id=student_id, detail="心理辅导记录(修改)")
    form = CounsellingRecordForm(
        request.POST if request.method == "POST" else None,
        school_id=record.school_id,
        record=record,
        open_requests=open_requests,
        offered=students_offered(request, record.school_id, list(record.students.values_list("pk", flat=True))),
    )
    if request.method == "POST" and form.is_valid():
        try:
            counselling.counselling_record_update(
                record=record, by=request.user, values=form.service_values(), version=form.cleaned_data["version"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已修改心理辅导记录。")
            first = record.students.order_by("pk").first()
            return redirect("guidance:psych_file", pk=first.pk) if first else redirect("guidance:counselling_list")
    return _form_page(
        request, form, title="修改心理辅导记录", student=None, back="guidance:counselling_list", search=True
    )


@role_required(Role.COUNSELLOR)
def psych_assessment_create(request: HttpRequest, pk: int) -> HttpResponse:
    student = _student_for_counsellor(request, pk)
    form = PsychAssessmentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            counselling.psych_assessment_create(student=student, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已录入心理测评结果。")
            return redirect("guidance:psych_file", pk=student.pk)
    return _form_page(request, form, title="录入心理测评结果", student=student, back="guidance:psych_file")


@role_required(Role.COUNSELLOR)
def risk_level_set(request: HttpRequest, pk: int) -> HttpResponse:
    student = _student_for_counsellor(request, pk)
    current = PsychFile.objects.visible_to(request.user).filter(student=student).first()
    form = RiskLevelForm(request.POST if request.method == "POST" else None, psych_file=current)
    if request.method == "POST" and form.is_valid():
        try:
            counselling.risk_level_set(student=student, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已保存风险等级。")
            return redirect("guidance:psych_file", pk=student.pk)
    return _form_page(request, form, title="设定风险等级", student=student, back="guidance:psych_file")


@role_required(Role.COUNSELLOR)
def counselling_request_handle(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(
        CounsellingRequest.objects.visible_to(request.user).select_related("student__school"), pk=pk
    )
    if not counselling.may_counsel(request.user, row.student.school_id):
        raise PermissionDenied(counselling.NOT_COUNSELLOR)
    form = CounsellingRequestHandleForm(request.POST if request.method == "POST" else None, request_row=row)
    if request.method == "POST" and form.is_valid():
        try:
            counselling.counselling_request_handle(request=row, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已处理心理辅导申请。")
            return redirect("guidance:psych_file", pk=row.student_id)
    audit.record_view(request, row, student_id=row.student_id, detail="心理辅导申请")
    return render(request, "guidance/counselling_request_handle.html", {"form": form, "row": row})


@role_required(*SCHOOL_ROLES)
def counselling_request_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """申请心理辅导 (定单式), from the student's card: by the teacher who 包保 the student now. The page
    lists her earlier requests' status (never their reasons, which are the counsellors' to read)."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    if not counselling.pairs_now(request.user, student.pk):
        raise Http404(counselling.NOT_PAIRED)
    form = CounsellingRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            counselling.counselling_request_create(student=student, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"已向心理健康教师提交{student.name}的辅导申请,处理后您会在此看到状态。")
            return redirect("guidance:counselling_request_create", pk=student.pk)
    mine = CounsellingRequest.objects.filter(student=student, requested_by=request.user).only(
        "pk", "status", "created_at", "handled_at"
    )
    context = {
        "form": form,
        "student": student,
        "mine": list(mine),
        "counsellors": counselling.counsellor_contact(student.school_id),
        "state": counselling.teacher_psych_states(request.user, [student.pk]).get(student.pk),
    }
    return render(request, "guidance/counselling_request_form.html", context)
