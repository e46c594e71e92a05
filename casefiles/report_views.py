"""报表导出: the registry's reports with their filters, and the Excel file at once."""

from __future__ import annotations

import tempfile
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from pairing.models import Term
from zaoyang_aid.access import role_required

from .reports import REPORT_ROLES, REPORTS, columns_for, report_export, report_term

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
    """The .xlsx at once, written to a temporary file and streamed from it (the audit line is
    written by report_export). Large exports will go to a Celery task with a kept file and a
    progress page (issue 10, point 3): this view is where it will choose by the row count."""
    name = request.GET.get("report", "")
    if name not in REPORTS:
        raise Http404("没有这个报表。")
    spool = tempfile.TemporaryFile()  # noqa: SIM115  # FileResponse closes it once sent
    try:
        result = report_export(name=name, user=request.user, data=request.GET, target=spool)
    except ValidationError as exc:
        spool.close()
        messages.error(request, ";".join(exc.messages))
        return redirect(f"{reverse('casefiles:report_list')}?{urlencode({'report': name})}")
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=result.filename, content_type=XLSX)
