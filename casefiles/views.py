"""Pages of the case file (帮扶档案): thin, scoped through visible_to, every read audited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from pairing.models import Student, Term
from zaoyang_aid import audit
from zaoyang_aid.access import Role, role_required, scope_of

from . import services
from .build import document_of
from .document import Block, Document, Section
from .forms import AttachmentForm, TermResultsForm
from .models import Attachment, TermResult
from .selectors import CaseFile, case_file, case_file_terms

# Who reads case files: the school's staff and the county (the 系统管理员 keeps accounts, not files).
READERS = (Role.TEACHER, Role.OFFICER, Role.COUNSELLOR, Role.COUNTY)
ENTERERS = (Role.TEACHER, Role.OFFICER, Role.COUNSELLOR)


def _student(request: HttpRequest, pk: int) -> Student:
    return get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)


def _chosen_term(request: HttpRequest, terms: list[Term]) -> Term | None:
    """?term=<pk> among the offered terms; absent or unknown: all terms."""
    wanted = request.GET.get("term", "")
    return next((t for t in terms if str(t.pk) == wanted), None)


def _file(request: HttpRequest, pk: int) -> tuple[CaseFile, list[Term]]:
    terms = case_file_terms(today=timezone.localdate())
    try:
        file = case_file(student=pk, reader=request.user, term=_chosen_term(request, terms))
    except Student.DoesNotExist as exc:
        raise Http404("学生不存在或不在您的管理范围内。") from exc
    return file, terms


def _audit_read(request: HttpRequest, file: CaseFile, what: str) -> None:
    term = file.term.name if file.term is not None else "全部学期"
    shown = "、".join(file.access.labels)
    audit.record_view(request, file.student, student_id=file.student.pk, detail=f"{what}({term}):{shown}")


@role_required(*READERS)
def case_file_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The student's 帮扶档案 in one place, a term or all terms, as far as the reader may see it."""
    file, terms = _file(request, pk)
    _audit_read(request, file, "帮扶档案")
    document = document_of(file, reader=request.user)
    context = {
        "file": file,
        "student": file.student,
        "document": document,
        "sections": _with_links(document, file),
        "terms": terms,
        "can_enter": services.may_enter(request.user, file.student),
        "attachments": file.attachments or [],
    }
    return render(request, "casefiles/case_file.html", context)


def _with_links(document: Document, file: CaseFile) -> list[tuple[Section, list[tuple[Block, str]]]]:
    """Each section's blocks with the page of the record each stands for, where it has one (a talk,
    a visit, a 五三卡 opens on its own page with its photos and history); "" otherwise."""
    pages = {
        "talks": [reverse("guidance:talk_detail", args=[t.pk]) for t in file.talks or []],
        "visits": [reverse("guidance:visit_detail", args=[v.pk]) for v in file.visits or []],
        "cards": [reverse("guidance:card_detail", args=[c.pk]) for c in file.cards or []],
    }
    out = []
    for section in document.sections:
        urls = pages.get(section.key, [])
        out.append((section, [(block, urls[i] if i < len(urls) else "") for i, block in enumerate(section.blocks)]))
    return out


@role_required(*READERS)
def case_file_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The case file laid out for A4 (the office's paper file): a cover, then the sections."""
    file, _terms = _file(request, pk)
    _audit_read(request, file, "帮扶档案打印版")
    return render(request, "casefiles/case_file_print.html", {"document": document_of(file, reader=request.user)})


@role_required(*ENTERERS)
@require_http_methods(["GET", "POST"])
def term_results(request: HttpRequest, pk: int) -> HttpResponse:
    """A term's 学业成绩 (?term=, the current term by default): the 包保 teacher or the officer."""
    student = _student(request, pk)
    if not services.may_enter(request.user, student):
        raise Http404("只有包保这名学生的教师或本校资助专干可以录入成绩。")
    terms = case_file_terms(today=timezone.localdate())
    term = _chosen_term(request, terms) or (terms[0] if terms else None)
    if term is None:
        raise Http404("尚未设置学期。")
    results = list(TermResult.objects.filter(student=student, term=term).order_by("pk"))
    form = TermResultsForm(request.POST if request.method == "POST" else None, student=student, results=results)
    if request.method == "POST" and form.is_valid():
        try:
            services.term_results_save(student_id=student.pk, term_id=term.pk, by=request.user, scores=form.scores())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"已保存{student.name}{term.name}的学业成绩。")
            return redirect(f"{reverse('casefiles:case_file', args=[student.pk])}#results")
    if request.method == "GET":
        audit.record_view(request, student, student_id=student.pk, detail=f"学业成绩录入({term.name})")
    context = {"student": student, "term": term, "terms": terms, "form": form}
    return render(request, "casefiles/term_results_form.html", context)


def _add_errors(form: Any, exc: ValidationError) -> None:
    """The service's errors at the form's fields where it has them, otherwise above the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@role_required(*ENTERERS)
@require_http_methods(["GET", "POST"])
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    student = _student(request, pk)
    if not services.may_enter(request.user, student):
        raise Http404("只有包保这名学生的教师或本校资助专干可以上传附件。")
    terms = case_file_terms(today=timezone.localdate())[:6]
    form = AttachmentForm(request.POST or None, request.FILES or None, terms=terms)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.attachment_create(
                student_id=student.pk,
                term_id=data["term"].pk if data["term"] else None,
                kind=data["kind"],
                title=data["title"],
                file=data["file"],
                by=request.user,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"已上传附件“{data['title']}”。")
            return redirect(f"{reverse('casefiles:case_file', args=[student.pk])}#attachments")
    return render(request, "casefiles/attachment_form.html", {"student": student, "form": form})


def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """Stream an attachment to a reader who may see its kind for the student; 404 for everyone else."""
    if scope_of(request.user).role not in READERS:  # role_required, for a streamed response
        raise PermissionDenied("您的角色无权访问此页面。")
    attachment = get_object_or_404(Attachment.objects.visible_to(request.user).select_related("student"), pk=pk)
    try:
        handle = attachment.file.storage.open(attachment.file.name, "rb")
    except FileNotFoundError as exc:
        raise Http404("附件文件不存在。") from exc
    audit.record_view(request, attachment, student_id=attachment.student_id, detail="档案附件")
    response = FileResponse(
        handle, content_type=attachment.content_type, filename=f"attachment-{attachment.pk}{attachment.extension}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(*ENTERERS)
@require_http_methods(["GET", "POST"])
def attachment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_or_404(
        Attachment.objects.visible_to(request.user).select_related("student__school", "uploaded_by"), pk=pk
    )
    if not services.may_enter(request.user, attachment.student):
        raise Http404("只有包保这名学生的教师或本校资助专干可以删除附件。")
    error = ""
    if request.method == "POST":
        try:
            services.attachment_delete(attachment_id=attachment.pk, by=request.user)
        except ValidationError as exc:
            error = "".join(exc.messages)
        else:
            messages.success(request, f"已删除附件“{attachment.title}”。")
            return redirect(f"{reverse('casefiles:case_file', args=[attachment.student_id])}#attachments")
    return render(request, "casefiles/attachment_delete.html", {"attachment": attachment, "error": error})
