"""Pages of the ground floor. Thin: fetch through the viewer's scope (a selector), validate a form,
call a service, render. A record outside the viewer's scope answers 404."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from zaoyang_aid import audit, navigation
from zaoyang_aid.access import STAFF_ROLES_GIVEN_BY, Role, role_required, scope_of
from zaoyang_aid.fields import field_access
from zaoyang_aid.paging import page_of, query_without_page

from . import accounts, dynamics, selectors, services
from .forms import (
    AccountContactForm,
    AssessmentForm,
    ConsentRecordForm,
    ConsentWithdrawForm,
    PairingCreateForm,
    PairingEndForm,
    PairingReassignForm,
    StudentForms,
    StudentStatusForm,
    StudentTransferForm,
    TeacherForm,
)
from .models import (
    AidListExit,
    Closure,
    EnrollmentStatus,
    GuardianConsent,
    HardshipAssessment,
    Pairing,
    School,
    Student,
    Teacher,
)

EDITORS = (Role.OFFICER, Role.COUNTY)


@role_required(Role.OFFICER)
def school_overview(request: HttpRequest) -> HttpResponse:
    overview = selectors.school_overview(request.user)
    if overview is None:
        raise Http404("没有找到您所在的学校。")
    today = selectors.term_today(school_id=overview.school.pk)
    return render(
        request,
        "pairing/school_overview.html",
        {"overview": overview, "today": today, "unpaired_limit": selectors.UNPAIRED_SHOWN},
    )


@role_required(Role.COUNTY, Role.ADMIN)
def county_overview(request: HttpRequest) -> HttpResponse:
    towns = list(selectors.towns_with_counts(request.user))
    totals = {key: sum(getattr(t, key) for t in towns) for key in ("school_count", "student_count", "paired_count")}
    return render(
        request,
        "pairing/county_overview.html",
        {"towns": towns, "totals": totals, "today": selectors.term_today()},
    )


@role_required(Role.OFFICER, Role.COUNSELLOR, Role.COUNTY, Role.ADMIN)
def student_list(request: HttpRequest) -> HttpResponse:
    today = selectors.term_today(school_id=scope_of(request.user).school_id)
    students = selectors.students_for_list(request.user, request.GET, term=today.term)
    return render(
        request,
        "pairing/student_list.html",
        {
            "filter": students,
            "page": page_of(request, students.qs, groups=selectors.STUDENT_LIST_GROUPS),
            "query": query_without_page(request),
            "today": today,
            "can_edit": scope_of(request.user).role in EDITORS,
        },
    )


def student_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A student's full record. Every read is written to the audit log."""
    try:
        student = selectors.student_full_record(request.user, pk)
    except Student.DoesNotExist as exc:
        raise Http404("学生不存在或不在您的管理范围内。") from exc
    scope = scope_of(request.user)
    active_pairing = next((p for p in student.pairings.all() if p.is_active), None)  # prefetched
    access = field_access(
        scope,
        school_id=student.school_id,
        paired_teacher_id=active_pairing.teacher_id if active_pairing is not None else None,
    )
    audit.record_view(request, student, student_id=student.pk, detail="、".join(access.labels))
    return render(
        request,
        "pairing/student_detail.html",
        {
            "student": student,
            "scope": scope,
            "access": access,
            "can_edit": scope.role in EDITORS,
            "active_pairing": active_pairing,
            # The 知情同意 card, shown to whoever sees the guardians (the policy's CONTACT group).
            "consents": selectors.consent_state(student, on=timezone.localdate()) if access.contact else None,
            "can_record_consent": services.may_record_consent(request.user),
            # 动态管理: 认定 changes, list exits, transfers and 学籍变动 in one dated history.
            "history": dynamics.student_history(student, access=access),
        },
    )


@role_required(*EDITORS)
def student_status(request: HttpRequest, pk: int) -> HttpResponse:
    """学籍变动: 休学, 辍学, 转出, 毕业 or back to 在校, dated, with the reason (kept as history)."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    form = StudentStatusForm(request.POST or None, student=student, initial={"on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        change = _call_service(form, services.student_status_change, student=student, by=request.user)
        if change is not None:
            messages.success(request, _status_message(student, change))
            return redirect("pairing:student_detail", pk=student.pk)
    return render(request, "pairing/student_status_form.html", {"form": form, "student": student, "action": "status"})


def _status_message(student: Student, change: Any) -> str:
    label = change.get_status_display()
    if change.status == EnrollmentStatus.ENROLLED:
        return f"{student.name}已于{change.effective_on:%Y-%m-%d}复学,结对自当日起恢复每周谈话。"
    if change.status in services.ENDS_PAIRING:
        return f"{student.name}的学籍状态已改为“{label}”,进行中的结对已于{change.effective_on:%Y-%m-%d}结束。"
    return f"{student.name}的学籍状态已改为“{label}”,自{change.effective_on:%Y-%m-%d}起暂停每周谈话(结对保留)。"


@role_required(*EDITORS)
def student_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """A move to another school of the county: the pairing ends with reason 转学 and the student waits
    on the new school's list of students without a pairing."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    form = StudentTransferForm(request.POST or None, student=student, initial={"on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        change = _call_service(form, services.student_transfer, student=student, by=request.user)
        if change is not None:
            messages.success(
                request, f"{student.name}已转入{change.to_school.name},原结对已结束,请转入学校的资助专干安排结对。"
            )
            if Student.objects.visible_to(request.user).filter(pk=student.pk).exists():
                return redirect("pairing:student_detail", pk=student.pk)
            return redirect("pairing:student_list")
    return render(request, "pairing/student_status_form.html", {"form": form, "student": student, "action": "transfer"})


def _editable_schools(request: HttpRequest) -> Any:
    return School.objects.visible_to(request.user).order_by("town__code", "name")


def _save_student(request: HttpRequest, student: Student | None) -> HttpResponse:
    page = StudentForms(
        request.POST if request.method == "POST" else None, student=student, schools=_editable_schools(request)
    )
    if request.method == "POST":
        if page.is_valid():
            try:
                if student is None:
                    saved = services.student_create(by=request.user, **page.service_values())
                else:
                    saved = services.student_update(student=student, by=request.user, **page.service_values())
            except ValidationError as exc:
                page.add_service_errors(exc)
            else:
                messages.success(request, f"已保存{saved.name}的信息。")
                return redirect("pairing:student_detail", pk=saved.pk)
        messages.error(request, "有信息需要修改,请查看标红的栏目。")
    if student is not None:  # the edit form shows the whole record: the full ID, the household's incomes
        audit.record_view(request, student, student_id=student.pk, detail="编辑表单(完整身份证号、家庭成员与收入)")
    return render(request, "pairing/student_form.html", {**page.context(), "student": student})


@role_required(*EDITORS)
def student_create(request: HttpRequest) -> HttpResponse:
    return _save_student(request, None)


@role_required(*EDITORS)
def student_edit(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("household", "school"), pk=pk)
    return _save_student(request, student)


@role_required(Role.OFFICER)
def assessment_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record (or adjust) this term's 家庭经济困难认定 for a student of the officer's school."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    today = selectors.term_today(school_id=student.school_id)
    if today.term is None:
        messages.error(request, "尚未设置学期,无法录入认定。请联系系统管理员设置学期。")
        return redirect("pairing:student_detail", pk=pk)
    existing = HardshipAssessment.objects.filter(student=student, term=today.term).first()
    form = AssessmentForm(
        request.POST or None,
        instance=existing,
        student=student,
        term=today.term,
        initial={"decided_on": today.today} if existing is None else None,
    )
    valid = request.method == "POST" and form.is_valid()
    saved = valid and _call_service(form, services.assessment_save, student=student, term=today.term, by=request.user)
    if saved:
        messages.success(request, f"已保存{student.name}在{today.term.name}的困难认定。")
        return redirect("pairing:student_detail", pk=pk)
    return render(
        request,
        "pairing/assessment_form.html",
        {
            "form": form,
            "student": student,
            "term": today.term,
            "existing": existing,
            "open_exit": AidListExit.objects.filter(student=student, term=today.term, reentered_on__isnull=True).last(),
        },
    )


@role_required(Role.OFFICER, Role.COUNTY, Role.ADMIN)
def teacher_list(request: HttpRequest) -> HttpResponse:
    teachers = selectors.teachers_for_list(request.user, request.GET)
    return render(
        request,
        "pairing/teacher_list.html",
        {
            "filter": teachers,
            "page": page_of(request, teachers.qs, groups=selectors.TEACHER_LIST_GROUPS),
            "query": query_without_page(request),
            "can_edit": scope_of(request.user).role in EDITORS,
        },
    )


@role_required(Role.OFFICER, Role.COUNTY, Role.ADMIN)
def teacher_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        teacher = selectors.teacher_detail(request.user, pk)
    except Teacher.DoesNotExist as exc:
        raise Http404("教师不存在或不在您的管理范围内。") from exc
    scope = scope_of(request.user)
    can_manage = accounts.may_manage_account(scope, teacher)
    return render(
        request,
        "pairing/teacher_detail.html",
        {
            "teacher": teacher,
            "can_edit": scope.role in EDITORS,
            "can_manage": can_manage,
            "locked_until": accounts.login_locked_until(teacher.user.username) if can_manage else None,
        },
    )


def _teacher_roles(request: HttpRequest) -> list[tuple[str, str]]:
    """The roles the editor may give (zaoyang_aid.access.STAFF_ROLES_GIVEN_BY)."""
    role = scope_of(request.user).role
    roles = STAFF_ROLES_GIVEN_BY.get(role, ()) if role is not None else ()
    return [(r.value, r.label) for r in roles]


def _save_teacher(request: HttpRequest, teacher: Teacher | None) -> HttpResponse:
    form = TeacherForm(
        request.POST or None, instance=teacher, schools=_editable_schools(request), roles=_teacher_roles(request)
    )
    if request.method == "POST" and form.is_valid():
        if teacher is None:
            saved = _call_service(form, services.teacher_create)
        else:
            saved = _call_service(form, services.teacher_update, teacher=teacher)
        if saved is not None:
            messages.success(request, f"已保存教师{saved.name}的信息。")
            return redirect("pairing:teacher_detail", pk=saved.pk)
    return render(request, "pairing/teacher_form.html", {"form": form, "teacher": teacher})


@role_required(*EDITORS)
def teacher_create(request: HttpRequest) -> HttpResponse:
    return _save_teacher(request, None)


@role_required(*EDITORS)
def teacher_edit(request: HttpRequest, pk: int) -> HttpResponse:
    teacher = get_object_or_404(Teacher.objects.visible_to(request.user).with_user(), pk=pk)
    if teacher.user.role not in dict(_teacher_roles(request)):
        raise Http404("无权修改该账号。")
    return _save_teacher(request, teacher)


@role_required(Role.COUNTY, Role.ADMIN)
def school_list(request: HttpRequest) -> HttpResponse:
    schools = selectors.schools_for_list(request.user, request.GET)
    return render(
        request,
        "pairing/school_list.html",
        {"filter": schools, "page": page_of(request, schools.qs), "query": query_without_page(request)},
    )


@role_required(Role.COUNTY, Role.ADMIN)
def school_detail(request: HttpRequest, pk: int) -> HttpResponse:
    school = get_object_or_404(selectors.schools_with_counts(request.user), pk=pk)
    closures = Closure.objects.filter(school=school).order_by("-start_date")[:20]
    return render(request, "pairing/school_detail.html", {"school": school, "closures": closures})


def calendar_view(request: HttpRequest) -> HttpResponse:
    """The current term's school weeks, with holidays and closures: the calendar every rule counts by."""
    school_id = scope_of(request.user).school_id
    today = selectors.term_today(school_id=school_id)
    closures = (
        Closure.objects.overlapping(today.term.start_date, today.term.end_date, school_id).select_related("school")
        if today.term
        else Closure.objects.none()
    )
    return render(request, "pairing/calendar.html", {"today": today, "closures": closures})


# --- 结对 ------------------------------------------------------------------------------------------


@role_required(Role.OFFICER, Role.COUNTY, Role.ADMIN)
def pairing_list(request: HttpRequest) -> HttpResponse:
    today = selectors.term_today(school_id=scope_of(request.user).school_id)
    pairings = selectors.pairings_for_list(request.user, request.GET, term=today.term)
    query = query_without_page(request)
    return render(
        request,
        "pairing/pairing_list.html",
        {
            "filter": pairings,
            "page": page_of(request, pairings.qs, groups=selectors.PAIRING_LIST_GROUPS),
            "query": query,
            "today": today,
            "can_edit": scope_of(request.user).role in EDITORS,
            # 导出Excel with this list's filters (casefiles registers it; admin staff may not export).
            "export_url": navigation.export_link("pairing:pairing_list", scope_of(request.user).role, query),
        },
    )


def _call_service(form: Any, service: Any, **context: Any) -> Any:
    """Run a service on a valid form (its service_values(), or its cleaned_data when its fields are
    named as the service's arguments); a refusal becomes errors at the form's fields."""
    values = form.service_values() if hasattr(form, "service_values") else form.cleaned_data
    try:
        return service(**context, **values)
    except ValidationError as exc:
        errors = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
        for field, messages_ in errors.items():  # a key that is no field of the form goes on top
            form.add_error(field if field in form.fields else None, messages_)
        return None


def _school_to_pair_in(request: HttpRequest, student: Student | None) -> School | None:
    """The officer's own school; for county staff the chosen student's school or ?school=."""
    if student is not None:
        return student.school
    scope = scope_of(request.user)
    chosen = scope.school_id if scope.school_id is not None else request.GET.get("school")
    if chosen is None or not str(chosen).isdigit():
        return None
    return get_object_or_404(School.objects.visible_to(request.user), pk=int(chosen))


@role_required(*EDITORS)
def pairing_create(request: HttpRequest) -> HttpResponse:
    """New pairing; ?student=<pk> comes from the school overview or the student's page."""
    student = None
    if (raw := request.GET.get("student", "")).isdigit():
        student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=int(raw))
        active = student.pairings.active().first()
        if active is not None and request.method == "GET":
            messages.info(request, f"{student.name}已有进行中的结对,如需更换帮扶教师请在此操作。")
            return redirect("pairing:pairing_reassign", pk=active.pk)
    school = _school_to_pair_in(request, student)
    if school is None:
        schools = School.objects.visible_to(request.user).select_related("town").order_by("town__code", "name")
        return render(request, "pairing/pairing_pick_school.html", {"schools": schools})
    form = PairingCreateForm(
        request.POST or None,
        school=school,
        student=student,
        initial={"student": student, "started_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        pairing = _call_service(form, services.pairing_create)
        if pairing is not None:
            messages.success(request, f"已为{pairing.student.name}结对帮扶教师{pairing.teacher.name}。")
            return redirect("pairing:student_detail", pk=pairing.student_id)
    return render(
        request,
        "pairing/pairing_form.html",
        {"form": form, "school": school, "student": student, "load_limit": settings.PAIRING_TEACHER_LOAD_LIMIT},
    )


def _pairing_in_scope(request: HttpRequest, pk: int) -> Pairing:
    qs = Pairing.objects.visible_to(request.user).select_related("teacher__user", "student__school")
    return get_object_or_404(qs, pk=pk)


def _already_ended(request: HttpRequest, pairing: Pairing) -> HttpResponse:
    messages.info(request, f"该结对已于{pairing.ended_on:%Y-%m-%d}结束。")
    return redirect("pairing:student_detail", pk=pairing.student_id)


@role_required(*EDITORS)
def pairing_end(request: HttpRequest, pk: int) -> HttpResponse:
    pairing = _pairing_in_scope(request, pk)
    if not pairing.is_active:
        return _already_ended(request, pairing)
    form = PairingEndForm(request.POST or None, initial={"ended_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid() and _call_service(form, services.pairing_end, pairing=pairing):
        messages.success(request, f"已结束{pairing.teacher.name}与{pairing.student.name}的结对,记录已保留。")
        return redirect("pairing:student_detail", pk=pairing.student_id)
    return render(request, "pairing/pairing_form.html", {"form": form, "pairing": pairing, "action": "end"})


@role_required(*EDITORS)
def pairing_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    pairing = _pairing_in_scope(request, pk)
    if not pairing.is_active:
        return _already_ended(request, pairing)
    form = PairingReassignForm(request.POST or None, pairing=pairing, initial={"on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        new = _call_service(form, services.pairing_reassign, pairing=pairing)
        if new is not None:
            messages.success(
                request, f"{pairing.student.name}的帮扶教师已由{pairing.teacher.name}更换为{new.teacher.name}。"
            )
            return redirect(_safe_next(request) or reverse("pairing:student_detail", args=[pairing.student_id]))
    return render(request, "pairing/pairing_form.html", {"form": form, "pairing": pairing, "action": "reassign"})


def _safe_next(request: HttpRequest) -> str | None:
    """?next= when it points into this site (the deactivation page sends the officer back to itself)."""
    target = request.GET.get("next", "")
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if target and allowed else None


# --- 账号: the accounts of a school's staff ----------------------------------------------------------
# Every page here asks accounts.may_manage_account; a staff member outside the viewer's scope is 404
# as on the teacher pages, one inside it whom the viewer may not manage (a colleague officer, a
# counsellor for an officer) is 403.


def _account_target(request: HttpRequest, pk: int) -> Teacher:
    teacher = get_object_or_404(Teacher.objects.visible_to(request.user).with_user(), pk=pk)
    if not accounts.may_manage_account(scope_of(request.user), teacher):
        raise PermissionDenied(accounts.NOT_YOURS)
    return teacher


def _account_page(request: HttpRequest, teacher: Teacher, action: str, **context: Any) -> HttpResponse:
    return render(request, "pairing/account_action.html", {"teacher": teacher, "action": action, **context})


@never_cache
@role_required(*EDITORS)
def account_password_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """A one-time password, shown once in the answer to the POST itself: it is in no session, URL or
    redirect, and the page is not cached (a reload asks to reset again, which makes a new one)."""
    teacher = _account_target(request, pk)
    if request.method != "POST":
        return _account_page(request, teacher, "reset")
    password = accounts.account_password_reset(by=request.user, teacher=teacher)
    return render(request, "pairing/account_password_done.html", {"teacher": teacher, "password": password})


@role_required(*EDITORS)
def account_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    teacher = _account_target(request, pk)
    if request.method != "POST":
        locked_until = accounts.login_locked_until(teacher.user.username)
        return _account_page(request, teacher, "unlock", locked_until=locked_until)
    if accounts.account_unlock(by=request.user, teacher=teacher):
        messages.success(request, f"已解除{teacher.name}的登录锁定,现在可以重新登录。")
    else:
        messages.info(request, f"{teacher.name}的账号没有登录失败记录,无需解锁。")
    return redirect("pairing:teacher_detail", pk=teacher.pk)


@role_required(*EDITORS)
def account_contact(request: HttpRequest, pk: int) -> HttpResponse:
    teacher = _account_target(request, pk)
    form = AccountContactForm(request.POST or None, initial={"email": teacher.user.email, "phone": teacher.phone})
    valid = request.method == "POST" and form.is_valid()
    if valid and _call_service(form, accounts.account_contact_update, by=request.user, teacher=teacher) is not None:
        messages.success(request, f"已保存{teacher.name}的邮箱和手机号。")
        return redirect("pairing:teacher_detail", pk=teacher.pk)
    return _account_page(request, teacher, "contact", form=form)


@role_required(*EDITORS)
def account_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """A staff member who left: their pairings are listed, each with the reassign page (which comes
    back here), and the account closes only when none is left."""
    teacher = _account_target(request, pk)
    pairings = list(accounts.active_pairings_of(teacher))
    if request.method == "POST":
        try:
            accounts.account_deactivate(by=request.user, teacher=teacher)
        except ValidationError as exc:
            messages.error(request, "".join(exc.messages))
            return redirect("pairing:account_deactivate", pk=teacher.pk)
        messages.success(request, f"已停用{teacher.name}的账号,其结对记录和谈话记录保留。")
        return redirect("pairing:teacher_detail", pk=teacher.pk)
    return _account_page(request, teacher, "deactivate", pairings=pairings)


@role_required(*EDITORS)
def account_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    teacher = _account_target(request, pk)
    if request.method != "POST":
        return _account_page(request, teacher, "reactivate")
    try:
        accounts.account_reactivate(by=request.user, teacher=teacher)
    except ValidationError as exc:
        messages.info(request, "".join(exc.messages))
    else:
        messages.success(request, f"已重新启用{teacher.name}的账号。")
    return redirect("pairing:teacher_detail", pk=teacher.pk)


# --- 知情同意 ------------------------------------------------------------------------------------


@role_required(*services.CONSENT_RECORDERS)
def consent_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a guardian's 知情同意 for a student in the recorder's scope."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    initial = {"given_on": timezone.localdate(), "scope": request.GET.get("scope", "")}
    form = ConsentRecordForm(request.POST or None, student=student, initial=initial)
    if request.method == "POST" and form.is_valid():
        consent = _call_service(form, services.consent_record, student=student, by=request.user)
        if consent is not None:
            messages.success(request, f"已登记{student.name}的监护人知情同意({consent.get_scope_display()})。")
            return redirect("pairing:student_detail", pk=student.pk)
    return render(request, "pairing/consent_form.html", {"form": form, "student": student, "action": "record"})


@role_required(*services.CONSENT_RECORDERS)
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Record that the guardian withdrew a consent; the consent stays in the history."""
    consent = get_object_or_404(
        GuardianConsent.objects.visible_to(request.user).select_related("student__school"), pk=pk
    )
    student = consent.student
    if not consent.is_active and request.method == "GET":  # a POST goes on to the service's refusal
        messages.info(request, f"这项同意已于{consent.withdrawn_on:%Y-%m-%d}撤回。")
        return redirect("pairing:student_detail", pk=student.pk)
    initial = {"on": timezone.localdate(), "version": consent.version}
    form = ConsentWithdrawForm(request.POST or None, initial=initial)
    done = request.method == "POST" and form.is_valid()
    if done and _call_service(form, services.consent_withdraw, consent=consent, by=request.user) is not None:
        messages.success(request, f"已登记{student.name}的监护人撤回同意({consent.get_scope_display()}),记录已保留。")
        return redirect("pairing:student_detail", pk=student.pk)
    context = {"form": form, "student": student, "consent": consent, "action": "withdraw"}
    return render(request, "pairing/consent_form.html", context)
