"""报表导出: the registry's reports with their filters; the Excel file at once, or (many rows) written
in the background with a progress page and kept for its requester (casefiles/report_exports.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from pairing.models import Term
from zaoyang_aid import audit
from zaoyang_aid.access import role_required
from zaoyang_aid.models import AuditAction
from zaoyang_aid.paging import page_of

from . import report_exports
from .export_views import REFRESH_SECONDS
from .models import ExportStatus
from .reports import (
    REPORT_ROLES,
    REPORTS,
    columns_for,
    report_export,
    report_prepare,
    report_row_count,
    report_term,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@role_required(*REPORT_ROLES)
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    """Each report of the registry; the chosen one (?report=) with its term and filters, whose
    "导出Excel" button asks report_download with the same query."""
    report = REPORTS.get(request.GET.get("report", "")) or next(iter(REPORTS.values()))
    try:
        term = report_term(request.user, request.GET.get("term"))
    except ValidationError as exc:
        return render(
            request,
            "casefiles/report_list.html",
            {"reports": REPORTS.values(), "report": report, "problem": exc.messages[0]},
        )
    filterset = report.filter_of(request.user, request.GET, term)  # the form only: no rows are read
    terms = Term.objects.select_related("school_year").filter(start_date__lte=timezone.localdate())
    return render(
        request,
        "casefiles/report_list.html",
        {
            "reports": REPORTS.values(),
            "report": report,
            "term": term,
            "terms": terms.order_by("-start_date"),
            "filter": filterset,
            "columns": columns_for(report, request.user),
        },
    )


@role_required(*REPORT_ROLES)  # type: ignore[arg-type]  # a FileResponse streams
@require_GET
def report_download(request: HttpRequest) -> FileResponse | HttpResponse:
    """The rows are counted with the list's selector: up to REPORT_EXPORT_INLINE_ROWS the .xlsx is
    written to a temporary file and streamed from it at once (the audit line is written by
    report_export); above, a background export is queued and its progress page shown."""
    name = request.GET.get("report", "")
    if name not in REPORTS:
        raise Http404("没有这个报表。")
    try:
        prepared = report_prepare(name=name, user=request.user, data=request.GET)
        rows = report_row_count(prepared)
        if rows is not None and rows > report_exports.inline_rows():
            export = report_exports.report_export_request(
                prepared=prepared, user=request.user, filters=report_exports.plain_filters(request.GET), rows=rows
            )
            return redirect("casefiles:report_export_detail", export.pk)
        spool = tempfile.TemporaryFile()  # noqa: SIM115  # FileResponse closes it once sent
        try:
            result = report_export(name=name, user=request.user, data=request.GET, target=spool, prepared=prepared)
        except BaseException:
            spool.close()
            raise
    except ValidationError as exc:
        messages.error(request, ";".join(exc.messages))
        return redirect(f"{reverse('casefiles:report_list')}?{urlencode({'report': name})}")
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=result.filename, content_type=XLSX)


@role_required(*REPORT_ROLES)
@require_GET
def report_export_list(request: HttpRequest) -> HttpResponse:
    """我的报表导出: the requester's own background exports, newest first."""
    return render(
        request,
        "casefiles/report_export_list.html",
        {"page": page_of(request, report_exports.mine(request.user)), "keep_hours": report_exports.keep_for_hours()},
    )


@role_required(*REPORT_ROLES)
@require_GET
def report_export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress (rows written / rows counted), reloading itself while the file is written; the
    download when ready. Another reader's export is a 404."""
    export = get_object_or_404(report_exports.mine(request.user), pk=pk)
    return render(
        request,
        "casefiles/report_export_detail.html",
        {"export": export, "refresh_seconds": REFRESH_SECONDS, "keep_hours": report_exports.keep_for_hours()},
    )


@role_required(*REPORT_ROLES)  # type: ignore[arg-type]  # a FileResponse streams
@require_GET
def report_export_download(request: HttpRequest, pk: int) -> FileResponse:
    """The kept file, streamed to its requester only; each download is an audit line."""
    export = get_object_or_404(report_exports.mine(request.user), pk=pk, status=ExportStatus.DONE)
    path = Path(report_exports.report_export_path(export))
    if not path.is_file():
        raise Http404("文件已清理,请重新导出。")
    audit.record(
        AuditAction.EXPORT,
        obj=export,
        object_label=export.label,
        changes={
            "下载": [None, export.label],
            "筛选条件": [None, export.filter_words],
            "行数": [None, export.done],
        },
        context=audit.context_from_request(request),
    )
    return FileResponse(path.open("rb"), as_attachment=True, filename=export.filename, content_type=XLSX)
