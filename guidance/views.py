"""Pages of the guidance app: thin, scoped through visible_to, one section per concern."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pairing.models import Pairing
from zaoyang_aid import audit
from zaoyang_aid.access import scope_of

from . import services
from .forms import HomeVisitForm
from .models import HomeVisit, HomeVisitPhoto

# --- The teacher's week ----------------------------------------------------------------------


# --- Talk records ----------------------------------------------------------------------------


# --- Home visits -----------------------------------------------------------------------------

# Photos are immutable once stored: the browser may keep them for an hour, never a shared cache.
PHOTO_CACHE_CONTROL = "private, max-age=3600"


def _own_active_pairing(request: HttpRequest) -> Pairing:
    """A teacher records visits only for a student they 包保 now; anyone else gets 404."""
    teacher_id = scope_of(request.user).teacher_id
    raw = request.GET.get("pairing", "")
    if teacher_id is None or not raw.isdigit():
        raise Http404("没有找到这个结对。")
    pairings = Pairing.objects.visible_to(request.user).active().filter(teacher_id=teacher_id)
    return get_object_or_404(pairings.select_related("student__school", "teacher__user"), pk=int(raw))


def visit_create(request: HttpRequest) -> HttpResponse:
    pairing = _own_active_pairing(request)
    form = HomeVisitForm(request.POST or None, request.FILES or None, pairing=pairing)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.home_visit_create(
                pairing=pairing, recorded_by=request.user, form=form, photos=form.cleaned_data["photos"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"已保存{pairing.student.name}的家访记录。")
            return redirect("guidance:visit_detail", pk=visit.pk)
    return render(request, "guidance/visit_form.html", {"form": form, "pairing": pairing})


def _visits_for_detail(user: object) -> QuerySet[HomeVisit]:
    """The visit with its people, its policies, its photos: three queries for 1 photo or 6."""
    return (
        HomeVisit.objects.visible_to(user)
        .select_related("pairing__student__school", "pairing__teacher__user", "term__school_year", "recorded_by")
        .prefetch_related("policies", "photos")
    )


def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Family conditions and photos of a minor's home: every read is written to the audit log."""
    visit = get_object_or_404(_visits_for_detail(request.user), pk=pk)
    audit.record_view(request, visit, student_id=visit.pairing.student_id, detail="家访记录")
    return render(request, "guidance/visit_detail.html", {"visit": visit})


def visit_photo(request: HttpRequest, pk: int) -> FileResponse:
    """Stream a photo to a viewer who may see its visit; 404 for everyone else (no public URL)."""
    visible = HomeVisit.objects.visible_to(request.user)
    photo = get_object_or_404(HomeVisitPhoto.objects.filter(visit__in=visible), pk=pk)
    try:
        handle = photo.image.storage.open(photo.image.name, "rb")
    except FileNotFoundError as exc:
        raise Http404("照片文件不存在。") from exc
    extension = ".png" if photo.content_type == "image/png" else ".jpg"
    # FileResponse says "inline; filename=…" (as_attachment is off): shown in the page, not downloaded.
    response = FileResponse(handle, content_type=photo.content_type, filename=f"home-visit-{photo.pk}{extension}")
    response["Cache-Control"] = PHOTO_CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Dashboards and excused weeks ------------------------------------------------------------
