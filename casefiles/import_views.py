"""名单导入 (issue 10, point 6): upload a roster, read its preview (every bad row with its row number,
column and message), commit it, see the counts. For 资助专干 (their school) and county staff (any
school); an upload is seen only by its uploader. The work is in casefiles/import_services.py."""

from __future__ import annotations

import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zaoyang_aid.access import Role, role_required

from . import import_services
from .forms import RosterCommitForm, RosterUploadForm
from .imports.kinds import ROSTER_KINDS
from .imports.template import template_filename, template_write
from .models import RosterImportStatus

IMPORT_ROLES = (Role.OFFICER, Role.COUNTY)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS_PER_PAGE = 100


def _kinds() -> list[tuple[str, str]]:
    return [(kind.name, kind.label) for kind in ROSTER_KINDS.values()]


@role_required(*IMPORT_ROLES)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """The kind and the file; a refused file is said at the file field and nothing is stored."""
    form = RosterUploadForm(request.POST or None, request.FILES or None, kinds=_kinds())
    if request.method == "POST" and form.is_valid():
        try:
            item = import_services.roster_import_upload(
                kind_name=form.cleaned_data["kind"], upload=form.cleaned_data["file"], user=request.user
            )
        except ValidationError as exc:
            form.add_error("kind" if hasattr(exc, "error_dict") else "file", exc)
        else:
            return redirect("casefiles:import_preview", item.pk)
    recent = import_services.mine(request.user)[:10]
    return render(
        request,
        "casefiles/import_upload.html",
        {
            "form": form,
            "kinds": ROSTER_KINDS.values(),
            "recent": recent,
            "max_mb": import_services.max_bytes() // 1048576,
            "keep_hours": int(import_services.keep_for().total_seconds() // 3600),
        },
    )


@role_required(*IMPORT_ROLES)  # type: ignore[arg-type]  # a FileResponse streams
@require_GET
def import_template(request: HttpRequest) -> FileResponse:
    """The empty template of a kind (?kind=students): title, a note row, the header, drop-down lists."""
    roster_kind = ROSTER_KINDS.get(request.GET.get("kind", ""))
    if roster_kind is None:
        raise Http404("没有这种名单。")
    out = io.BytesIO()
    template_write(roster_kind, out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=template_filename(roster_kind), content_type=XLSX)


@role_required(*IMPORT_ROLES)
@require_GET
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Summary counts, a file already committed, then the bad rows 100 a page; the commit button
    when clean, or with the "skip bad rows" box."""
    item = get_object_or_404(import_services.mine(request.user), pk=pk)
    if item.status == RosterImportStatus.COMMITTED:
        return redirect("casefiles:import_result", item.pk)
    preview = item.preview
    errors = Paginator(preview.get("errors", []), ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    counts = preview.get("counts", {})
    kind = ROSTER_KINDS.get(item.kind)
    flag_labels = {c.key: c.label for c in kind.columns} if kind else {}
    return render(
        request,
        "casefiles/import_preview.html",
        {
            "item": item,
            "kind": kind,
            "counts": counts,
            "clean": sum(counts.get(k, 0) for k in ("created", "updated", "unchanged")),
            "header_errors": preview.get("header_errors", 0),
            "page": errors,
            "flags": [(flag_labels.get(k, k), v) for k, v in preview.get("flags", {}).items()],
            "earlier": import_services.already_committed(item),
            "form": RosterCommitForm(),
        },
    )


@role_required(*IMPORT_ROLES)
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(import_services.mine(request.user), pk=pk)
    form = RosterCommitForm(request.POST)
    skip = form.is_valid() and form.cleaned_data["skip_bad_rows"]
    try:
        result = import_services.roster_import_commit(item=item, user=request.user, skip_bad_rows=skip)
    except ValidationError as exc:
        messages.error(request, ";".join(exc.messages))
        return redirect("casefiles:import_upload")
    if not result.committed:
        messages.error(request, "名单中有错误行,未导入任何数据。请改正后重新上传,或勾选“跳过错误行”。")
        return redirect("casefiles:import_preview", item.pk)
    if result.accounts:
        # New accounts' one-time passwords: shown in this answer only (no redirect, nothing stored;
        # every page is Cache-Control: no-store), as the account page shows a reset password.
        item.refresh_from_db()
        context = {"item": item, "kind": ROSTER_KINDS.get(item.kind), "accounts": result.accounts}
        return render(request, "casefiles/import_result.html", context)
    return redirect("casefiles:import_result", item.pk)


@role_required(*IMPORT_ROLES)
@require_GET
def import_result(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(import_services.mine(request.user), pk=pk, status=RosterImportStatus.COMMITTED)
    return render(request, "casefiles/import_result.html", {"item": item, "kind": ROSTER_KINDS.get(item.kind)})
