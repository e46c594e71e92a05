"""The pages of a school's zip of case files: request it, watch it being built, download it."""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from zaoyang_aid import audit
from zaoyang_aid.access import Role, role_required, scope_of
from zaoyang_aid.models import AuditAction
from zaoyang_aid.paging import page_of

from .exports import case_file_export_request, export_file_path
from .forms import CaseFileExportForm
from .models import CaseFileExport, ExportStatus

# Seconds between two reloads of the progress page while the zip is being built (static/js/auto-refresh.js).
REFRESH_SECONDS = 3


@role_required(Role.OFFICER, Role.COUNTY)
def export_list(request: HttpRequest) -> HttpResponse:
    """档案导出: pick a term (county staff: and a school), queue the zip; the recent exports below."""
    scope = scope_of(request.user)
    form = CaseFileExportForm(request.POST or None, pick_school=scope.role == Role.COUNTY)
    if form.is_valid():
        school = form.cleaned_data.get("school")  # county staff pick it; an officer exports her own
        school_id = school.pk if school is not None else scope.school_id or 0
        try:
            export = case_file_export_request(
                school_id=school_id, term_id=form.cleaned_data["term"].pk, by=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已开始生成,完成后可在此页下载。")
            return redirect("casefiles:export_detail", export.pk)
    exports = CaseFileExport.objects.visible_to(request.user).select_related(
        "school", "term__school_year", "requested_by"
    )
    return render(request, "casefiles/export_list.html", {"form": form, "page": page_of(request, exports)})


@role_required(Role.OFFICER, Role.COUNTY)
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress (done/total), reloading itself while the zip is built; the download when ready."""
    export = get_object_or_404(
        CaseFileExport.objects.visible_to(request.user).select_related("school", "term__school_year", "requested_by"),
        pk=pk,
    )
    return render(request, "casefiles/export_detail.html", {"export": export, "refresh_seconds": REFRESH_SECONDS})


@role_required(Role.OFFICER, Role.COUNTY)  # type: ignore[arg-type]  # a FileResponse streams
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    """The zip, streamed to the school's officer or county staff; each download is an audit line."""
    export = get_object_or_404(
        CaseFileExport.objects.visible_to(request.user).select_related("school", "term__school_year"),
        pk=pk,
        status=ExportStatus.DONE,
    )
    path = Path(export_file_path(export))
    if not path.is_file():
        raise Http404("文件已清理,请重新导出。")
    audit.record(
        AuditAction.EXPORT,
        obj=export,
        object_label=f"{export.school.name} {export.term.name} 帮扶档案",
        changes={"下载": [None, f"{export.school.name} {export.term.name} 帮扶档案压缩包"]},
        context=audit.context_from_request(request),
    )
    name = f"帮扶档案-{export.school.name}-{export.term.name}.zip"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="application/zip")
