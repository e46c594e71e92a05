"""The Django admin of the case file. 转介 and 资助发放 are entered here until issue 11 brings the
officer's pages (every change audited: casefiles.apps tracks both models); term results and
attachments are made on the case file's pages, where the scope checks, the optimistic lock, the file
checks and the term lock live, and are only looked up here.

The review in the Django admin: looked up read-only (the officer's pages write it, through the
services that keep the lock and the audit), its fields as the field policy shows them, each opened
review written to the audit log (the 系统管理员 role, who sees no help records, is not offered it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from zaoyang_aid.admin import AuditedReadAdminMixin, FieldPolicyAdminMixin, ReadOnlyAdminMixin

from .models import (
    AidReceipt,
    Attachment,
    CaseFileExport,
    CaseFileReview,
    CheckMissed,
    CheckProposal,
    DepartmentCheck,
    Referral,
    ReferralDepartment,
    ReviewComment,
    ReviewReopening,
    TermResult,
)

STUDENT_SEARCH = ["student__name", "student__student_number__iendswith"]


class StudentRowAdmin(FieldPolicyAdminMixin, AuditedReadAdminMixin, admin.ModelAdmin):
    raw_id_fields = ["student"]
    search_fields = STUDENT_SEARCH
    list_select_related = ["student__school"]

    def audit_student_of(self, obj: Any) -> int | None:
        return obj.student_id


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdminMixin, StudentRowAdmin):
    """Looked up only: referrals and their updates are written on the officer's pages, through
    casefiles.referral_services (the reference number, the dates, the aid paid)."""

    audit_detail = "转介"
    list_display = ["reference", "student", "department", "referred_on", "due_on", "status", "referred_by"]
    list_filter = ["department", "status"]
    list_select_related = ["student__school", "department", "referred_by"]
    raw_id_fields = ["student", "referred_by", "contact_teacher"]
    search_fields = [*STUDENT_SEARCH, "reference"]
    date_hierarchy = "referred_on"


@admin.register(ReferralDepartment)
class ReferralDepartmentAdmin(admin.ModelAdmin):
    """转介部门: the list the referral form offers, kept by county staff and the 系统管理员. A department
    with referrals is switched off (启用), not deleted (its referrals keep it)."""

    list_display = ["name", "code", "contact", "is_active", "order"]
    list_editable = ["is_active", "order"]
    search_fields = ["name", "code"]


@admin.register(AidReceipt)
class AidReceiptAdmin(StudentRowAdmin):
    audit_detail = "资助发放"
    raw_id_fields = ["student", "referral"]
    list_display = ["student", "term", "item", "amount", "paid_on", "source"]
    list_filter = ["source", "term"]
    list_select_related = ["student__school", "term__school_year"]
    date_hierarchy = "paid_on"


@admin.register(TermResult)
class TermResultAdmin(ReadOnlyAdminMixin, StudentRowAdmin):
    audit_detail = "学业成绩"
    list_display = ["student", "term", "subject", "score", "full_marks", "class_rank"]
    list_select_related = ["student__school", "term__school_year"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, StudentRowAdmin):
    audit_detail = "档案附件"
    list_display = ["student", "kind", "title", "term", "size", "uploaded_at"]
    list_filter = ["kind"]
    list_select_related = ["student__school", "term__school_year"]
    exclude = ["file"]


class _ReadOnlyInline(FieldPolicyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReviewCommentInline(_ReadOnlyInline):
    model = ReviewComment
    fields = readonly_fields = ("author", "created_at", "body", "answer", "answered_by", "answered_at")


class ReviewReopeningInline(_ReadOnlyInline):
    model = ReviewReopening
    fields = readonly_fields = ("by", "at", "reason")


@admin.register(CaseFileReview)
class CaseFileReviewAdmin(FieldPolicyAdminMixin, AuditedReadAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    audit_detail = "帮扶档案学期审核"
    list_display = ["student", "school", "term", "status", "signed_by", "signed_at"]
    list_filter = ["status", "student__school__stage"]
    search_fields = ["student__name", "student__student_number__iendswith"]
    list_select_related = ["student__school", "term__school_year", "signed_by"]
    inlines = [ReviewCommentInline, ReviewReopeningInline]

    def audit_student_of(self, obj: Any) -> int | None:
        return obj.student_id

    @admin.display(description="学校", ordering="student__school__name")
    def school(self, review: CaseFileReview) -> str:
        return review.student.school.name


@admin.register(CaseFileExport)
class CaseFileExportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: which zips of case files were asked for, by whom, how far they got and why one
    failed. They are asked for and downloaded on the 档案导出 page (scoped, audited); the zip itself
    is not offered here."""

    list_display = ["school", "term", "requested_by", "status", "done", "total", "created_at", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["school", "term__school_year", "requested_by"]
    date_hierarchy = "created_at"
    exclude = ["file", "claim"]


# --- 部门名单比对 -----------------------------------------------------------------------------------------


class CheckProposalInline(_ReadOnlyInline):
    model = CheckProposal
    fields = readonly_fields = ("student", "action", "category", "decision", "decided_by", "decided_at", "note")


class CheckMissedInline(_ReadOnlyInline):
    model = CheckMissed
    fields = readonly_fields = ("student",)


@admin.register(DepartmentCheck)
class DepartmentCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the comparisons made on the 部门名单比对 page (scoped, audited there), with their
    proposals and possibly-missed students, shown as far as the field policy shows 认定."""

    list_display = ["kind", "school", "term", "uploaded_by", "created_at", "rows_read", "matched_count", "status"]
    list_filter = ["kind", "status", "complete"]
    list_select_related = ["school", "term__school_year", "uploaded_by"]
    date_hierarchy = "created_at"
    inlines = [CheckProposalInline, CheckMissedInline]
