"""Pages of the officer's term review of case files: thin, scoped through visible_to."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Prefetch
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pairing.models import Pairing, Student, Term
from pairing.selectors import term_today
from zaoyang_aid import audit
from zaoyang_aid.access import SCHOOL_ROLES, Role, role_required, scope_of
from zaoyang_aid.fields import FieldGroup, field_access
from zaoyang_aid.paging import page_of, query_without_page

from . import selectors, services
from .checklist import checklists_for
from .forms import AnswerForm, CommentForm, ReopenForm, ReviewFilterForm, SignOffForm
from .models import CaseFileReview, ReviewComment, ReviewReopening, ReviewStatus


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


FIX_LINKS = {
    "weekly": ("guidance:timeline", "查看谈话记录"),
    "problems": ("guidance:timeline", "查看谈话记录"),
    "card": ("guidance:card_current", "查看五三卡"),
    "visit": ("guidance:timeline", "查看家访记录"),
    "flags": ("guidance:timeline", "查看记录"),
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
    items = [
        (item, reverse(FIX_LINKS[item.key][0], args=[student.pk]), FIX_LINKS[item.key][1]) for item in checklist.items
    ]
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
    total, towns = selectors.county_progress(request.user, term=term, as_of=today)
    return render(
        request, "casefiles/review_county.html", {"term": term, "terms": _terms(), "total": total, "towns": towns}
    )
