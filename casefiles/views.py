"""Pages of the case file (帮扶档案): thin, scoped through visible_to, every read audited.

Pages of the officer's term review of case files: thin, scoped through visible_to."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Prefetch
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST

from pairing.models import Pairing, Student, Term
from pairing.selectors import term_today
from zaoyang_aid import audit, navigation
from zaoyang_aid.access import SCHOOL_ROLES, Role, role_required, scope_of
from zaoyang_aid.fields import FieldGroup, field_access
from zaoyang_aid.models import AuditAction
from zaoyang_aid.paging import page_of, query_without_page

from . import selectors, services
from .build import document_of
from .checklist import checklists_for
from .document import Block, Document, Section
from .forms import AnswerForm, AttachmentForm, CommentForm, ReopenForm, ReviewFilterForm, SignOffForm, TermResultsForm
from .models import Attachment, CaseFileReview, ReviewComment, ReviewReopening, ReviewStatus, TermResult
from .pdf import render_pdf
from .referral_services import may_refer
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
        # 部门联动: the officer refers the student from here (the student page has no extension point).
        "can_refer": may_refer(request.user, file.student),
        # The term review is about the help records: whoever reads them opens it (the officer signs).
        "can_review": FieldGroup.RECORDS in file.access,
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
        "recovery": [reverse("casefiles:recovery_detail", args=[c.pk]) for c in file.recovery or []],
        "referrals": [reverse("casefiles:referral_detail", args=[r.pk]) for r in file.referrals or []],
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


@role_required(*READERS)
def case_file_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The same document as the print view, as a PDF made on the server (Chinese embedded). A
    download leaves the system, so it is logged as an export, not a read."""
    file, _terms = _file(request, pk)
    document = document_of(file, reader=request.user)
    term = file.term.name if file.term is not None else "全部学期"
    audit.record(
        AuditAction.EXPORT,
        obj=file.student,
        student_id=file.student.pk,
        changes={"导出内容": [None, f"帮扶档案PDF({term}):{'、'.join(file.access.labels)}"]},
        context=audit.context_from_request(request),
    )
    response = HttpResponse(render_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{document.filename}.pdf") or "attachment"
    return response


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
    else:  # the confirmation names the file (its kind and title say something about the family)
        audit.record_view(request, attachment, student_id=attachment.student_id, detail="档案附件删除确认")
    return render(request, "casefiles/attachment_delete.html", {"attachment": attachment, "error": error})


def _term(request: HttpRequest, school_id: int | None = None) -> Term:
    """?term=N when it names a term, else the current (latest started) one."""
    raw = request.GET.get("term", "")
    term = Term.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 10 else None
    term = term or term_today(school_id=school_id).term
    if term is None:
        raise Http404("尚未设置学期。")
    return term


def _terms() -> list[Term]:
    return list(Term.objects.select_related("school_year").order_by("-start_date"))


@role_required(Role.OFFICER)
def review_list(request: HttpRequest) -> HttpResponse:
    """档案审核: the officer's students of a term with the review's status, checklist and comments."""
    school_id = scope_of(request.user).school_id
    term = _term(request, school_id)
    today = timezone.localdate()
    form = ReviewFilterForm(request.GET or None)
    chosen = form.cleaned_data if form.is_valid() else {}
    rows = selectors.review_rows(
        request.user, term=term, as_of=today, status=chosen.get("status", ""), failing=chosen.get("failing", "")
    )
    context = {
        "term": term,
        "terms": _terms(),
        "form": form,
        "page": page_of(request, rows),
        "query": query_without_page(request),
        "total": len(rows),
    }
    return render(request, "casefiles/review_list.html", context)


def _reviewable_student(request: HttpRequest, pk: int) -> tuple[Student, bool]:
    """A student whose help records the reader may see (the review is about them), else 404; and
    whether the reader 包保 the student now (she answers the comments)."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    scope = scope_of(request.user)
    paired = (
        scope.teacher_id is not None
        and Pairing.objects.active().filter(student=student, teacher_id=scope.teacher_id).exists()
    )
    access = field_access(scope, school_id=student.school_id, paired_teacher_id=scope.teacher_id if paired else None)
    if FieldGroup.RECORDS not in access:
        raise Http404("没有找到这名学生的档案审核。")
    return student, paired


# Where each failing checklist item is fixed or checked: the term's case file, at its section.
FIX_LINKS = {
    "weekly": ("casefiles:case_file", "talks", "查看谈话记录"),
    "problems": ("casefiles:case_file", "talks", "查看谈话记录"),
    "card": ("guidance:card_current", "", "查看五三卡"),
    "visit": ("casefiles:case_file", "visits", "查看家访记录"),
    "flags": ("guidance:quality_queue", "", "查看疑点记录"),
}


def _render_review(request: HttpRequest, student: Student, term: Term, *, paired: bool, **forms: Form) -> HttpResponse:
    today = timezone.localdate()
    checklist = checklists_for([student.pk], term=term, as_of=today)[student.pk]
    comments = ReviewComment.objects.select_related("author", "answered_by").order_by("created_at", "pk")
    review = (
        CaseFileReview.objects.filter(student=student, term=term)
        .select_related("signed_by")
        .prefetch_related(
            Prefetch("comments", queryset=comments),
            Prefetch("reopenings", queryset=ReviewReopening.objects.select_related("by")),
        )
        .first()
    )
    version = review.version if review else 0
    is_officer = scope_of(request.user).role == Role.OFFICER
    items = [(item, _fix_link(item.key, student, term), FIX_LINKS[item.key][2]) for item in checklist.items]
    answer_forms = {}
    if paired and review and not review.is_signed_off:
        for c in review.comments.all():
            if not c.is_answered:
                bound = forms.get(f"answer_{c.pk}")
                answer_forms[c.pk] = bound or AnswerForm(version=c.version, prefix=f"c{c.pk}")
    context: dict[str, Any] = {
        "student": student,
        "term": term,
        "terms": _terms(),
        "review": review,
        "status": ReviewStatus(review.status) if review else ReviewStatus.NOT_STARTED,
        "checklist": checklist,
        "items": items,
        "is_officer": is_officer,
        "paired": paired,
        "needs_note": bool(checklist.failing)
        or any(not c.is_answered for c in (review.comments.all() if review else [])),
        "comment_rows": [(c, answer_forms.get(c.pk)) for c in (review.comments.all() if review else [])],
        "comment_form": forms.get("comment") or CommentForm(version=version),
        "sign_off_form": forms.get("sign_off") or SignOffForm(version=version),
        "reopen_form": forms.get("reopen") or ReopenForm(version=version),
    }
    audit.record_view(request, student, student_id=student.pk, detail=f"{term.name}帮扶档案审核")
    return render(request, "casefiles/review_detail.html", context)


def _fix_link(key: str, student: Student, term: Term) -> str:
    name, section, _label = FIX_LINKS[key]
    if key == "flags":  # the officer's queue, this student's flags
        return f"{reverse(name)}?student={student.pk}"
    url = reverse(name, args=[student.pk])
    return f"{url}?term={term.pk}#{section}" if section else url


def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A student's review of a term: the checklist with what fails and where to fix it, the comments
    and answers, and the officer's sign-off or reopen (the 包保 teacher answers comments here)."""
    student, paired = _reviewable_student(request, pk)
    return _render_review(request, student, _term(request, student.school_id), paired=paired)


def _back(student: Student, term: Term) -> HttpResponse:
    return redirect(f"{reverse('casefiles:review_detail', args=[student.pk])}?term={term.pk}")


@require_POST
@role_required(Role.OFFICER)
def review_comment(request: HttpRequest, pk: int) -> HttpResponse:
    student, paired = _reviewable_student(request, pk)
    term = _term(request, student.school_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.review_comment_create(student=student, term=term, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已提交审核意见,包保教师会收到通知。")
            return _back(student, term)
    return _render_review(request, student, term, paired=paired, comment=form)


@require_POST
@role_required(Role.OFFICER)
def review_sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    student, paired = _reviewable_student(request, pk)
    term = _term(request, student.school_id)
    form = SignOffForm(request.POST)
    if form.is_valid():
        try:
            services.review_sign_off(student=student, term=term, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"已签结{student.name}{term.name}的帮扶档案,本学期记录已锁定。")
            return _back(student, term)
    return _render_review(request, student, term, paired=paired, sign_off=form)


@require_POST
@role_required(Role.OFFICER)
def review_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    student, paired = _reviewable_student(request, pk)
    term = _term(request, student.school_id)
    review = get_object_or_404(CaseFileReview.objects.visible_to(request.user), student=student, term=term)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.review_reopen(review=review, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已重新打开审核,本学期记录可以修改。")
            return _back(student, term)
    return _render_review(request, student, term, paired=paired, reopen=form)


@require_POST
@role_required(*SCHOOL_ROLES)
def review_comment_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """The 包保 teacher answers an officer's comment."""
    comment = get_object_or_404(
        ReviewComment.objects.visible_to(request.user).select_related("review__student", "review__term"), pk=pk
    )
    student, paired = _reviewable_student(request, comment.review.student_id)
    term = comment.review.term
    form = AnswerForm(request.POST, prefix=f"c{comment.pk}")
    if form.is_valid():
        try:
            services.review_comment_answer(comment=comment, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已答复审核意见。")
            return _back(student, term)
    return _render_review(request, student, term, paired=paired, **{f"answer_{comment.pk}": form})


@role_required(*SCHOOL_ROLES)
def my_review_comments(request: HttpRequest) -> HttpResponse:
    """审核意见: the comments on the case files of the students the reader 包保, unanswered first."""
    teacher_id = scope_of(request.user).teacher_id
    paired = Pairing.objects.active().filter(teacher_id=teacher_id).values("student_id")
    comments = (
        ReviewComment.objects.visible_to(request.user)
        .filter(review__student_id__in=paired)
        .select_related("review__student", "review__term", "author")
        .order_by(F("answered_at").desc(nulls_first=True), "-created_at", "-pk")
    )
    unanswered = comments.filter(answered_at__isnull=True).count()
    context = {"page": page_of(request, comments), "query": query_without_page(request), "unanswered": unanswered}
    return render(request, "casefiles/my_review_comments.html", context)


@role_required(Role.COUNTY, Role.ADMIN)
def review_county(request: HttpRequest) -> HttpResponse:
    """The county's review progress of a term: per town, and the schools of each."""
    term = _term(request)
    today = timezone.localdate()
    filterset = selectors.review_progress_filter(request.user, request.GET, term=term, as_of=today)
    total, towns = selectors.progress_of(filterset.qs, term=term)
    context = {
        "term": term,
        "terms": _terms(),
        "filter": filterset,
        "total": total,
        "towns": towns,
        "export_url": navigation.export_link(
            "casefiles:review_county", scope_of(request.user).role, request.GET.urlencode()
        ),
    }
    return render(request, "casefiles/review_county.html", context)
