"""Pages of the guidance app: thin, scoped through visible_to, one section per concern."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from pairing.models import Pairing, School, Student, Town
from pairing.selectors import TermToday, term_today
from zaoyang_aid import audit, drawn, marks
from zaoyang_aid.access import SCHOOL_ROLES, AuthenticatedHttpRequest, Role, role_required, scope_of
from zaoyang_aid.locks import term_lock_reason
from zaoyang_aid.paging import page_of, query_without_page

from . import cards, counselling, dashboards, figures, quality, reminders, selectors, services
from .forms import (
    ExcuseWeekForm,
    FiveThreeCardForm,
    FiveThreeReviewForm,
    FlagClearForm,
    FlagReturnForm,
    HomeVisitForm,
    LateEntryForm,
    RecordUnlockForm,
    ReminderPreferenceForm,
    TalkRecordForm,
)
from .models import (
    ExcusedWeek,
    FiveThreeCard,
    FlagStatus,
    HomeVisit,
    HomeVisitPhoto,
    Notification,
    Reminder,
    ReminderPreference,
    TalkRecord,
    TalkRecordFlag,
    review_opens_on,
)

# --- The teacher's week ----------------------------------------------------------------------


@role_required(*SCHOOL_ROLES)
def my_students(request: HttpRequest) -> HttpResponse:
    """The teacher's home (我的帮扶学生): each student they 包保, this week's talk, the term's counts.

    Officers and counsellors may 包保 too (they have a staff row), so the page is every school role's."""
    today = term_today(school_id=scope_of(request.user).school_id)
    rows = selectors.teacher_week(request.user, term=today.term, as_of=today.today)
    notices = selectors.home_unread(request.user)
    unread = notices.by_pairing
    psych = counselling.teacher_psych_states(request.user, [row.pairing.student_id for row in rows], paired=True)
    signs = marks.student_marks(request.user, [row.pairing.student_id for row in rows])
    rows = [
        dataclasses.replace(
            row,
            unread=unread.get(row.pairing.pk, []),
            psych=psych.get(row.pairing.student_id),
            marks=signs.get(row.pairing.student_id, []),
        )
        for row in rows
    ]
    unread_count = sum(len(row.unread) for row in rows)
    context = {
        "rows": rows,
        "today": today,
        "unread_count": unread_count,
        "returned": quality.returned_to_teacher(request.user),  # records an officer returned for revision
    }
    if notices.count is not None:  # counted with the reminders: the navbar need not count them again
        context["unread_notifications"] = notices.count
    return render(request, "guidance/my_students.html", context)


def timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """A student's talks and home visits by term, for anyone who may see the student (counsellors
    see the student but not these records: the page says so)."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    entries = selectors.student_timeline(request.user, student.pk, page=request.GET.get("page"))
    audit.record_view(request, student, student_id=student.pk, detail="谈心谈话与家访时间线")
    # The student's 五三卡 of every term, as far as the reader sees them (the officer's way to a card).
    five_three = (
        FiveThreeCard.objects.visible_to(request.user).filter(student=student).select_related("term__school_year")
    )
    context = {"student": student, "timeline": entries, "five_three": list(five_three)}
    return render(request, "guidance/timeline.html", context)


# --- Talk records ----------------------------------------------------------------------------


def _own_active_pairing(request: HttpRequest, pk: int) -> Pairing:
    """Talks and visits are the 包保 teacher's (whatever their school role): recorded only for a
    student they 包保 now; anyone else gets 404."""
    pairings = Pairing.objects.visible_to(request.user).active().filter(teacher_id=scope_of(request.user).teacher_id)
    return get_object_or_404(pairings.select_related("student__school", "teacher__user"), pk=pk)


@role_required(*SCHOOL_ROLES)
def talk_create(request: HttpRequest, pk: int) -> HttpResponse:
    pairing = _own_active_pairing(request, pk)
    data = request.POST if request.method == "POST" else None  # an empty POST is still a POST
    # ?week=YYYY-MM-DD (a Monday): "去处理" on a missed-talk reminder, the form opens on that week.
    week = request.GET.get("week")
    form = TalkRecordForm(data, instance=TalkRecord(pairing=pairing), pairing=pairing, week=week)
    if request.method == "POST" and form.is_valid():
        try:
            services.talk_record_create(pairing=pairing, recorded_by=request.user, **form.service_values())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"已保存{pairing.student.name}的谈心谈话记录。")
            return redirect("guidance:my_students")
    return render(request, "guidance/talk_form.html", {"form": form, "pairing": pairing, "record": None})


def talk_detail(request: HttpRequest, pk: int) -> HttpResponse:
    records = TalkRecord.objects.visible_to(request.user).select_related(
        "pairing__student__school",
        "pairing__teacher__user",
        "term__school_year",
        "recorded_by",
        "late_permission__granted_by",
    )
    record = get_object_or_404(records, pk=pk)
    return _talk_detail_page(request, record, RecordUnlockForm())


def _talk_detail_page(request: HttpRequest, record: TalkRecord, unlock_form: RecordUnlockForm) -> HttpResponse:
    audit.record_view(request, record, student_id=record.pairing.student_id, detail="谈心谈话记录")
    flags = quality.flags_of_talk(request.user, record)
    returned = any(f.status == FlagStatus.RETURNED for f in flags)
    context = {
        "record": record,
        "unlock_form": unlock_form,
        "flags": flags,
        "returned": returned,
        **_edit_rights(request, record, returned=returned),
    }
    return render(request, "guidance/talk_detail.html", context)


def _own_records(request: HttpRequest, model: type[TalkRecord] | type[HomeVisit]) -> QuerySet:
    """The viewer's own talks or visits, of pairings still active: the only ones they may edit."""
    return (
        model.objects.visible_to(request.user)
        .filter(pairing__teacher_id=scope_of(request.user).teacher_id, pairing__ended_on__isnull=True)
        .select_related("pairing__student__school", "pairing__teacher__user")
    )


def _edit_rights(request: HttpRequest, record: TalkRecord | HomeVisit, *, returned: bool = False) -> dict[str, bool]:
    """Whether the viewer may edit the record (its 包保 teacher, while the pairing lasts and the
    7-day window or an unlock is open, or the record was returned for revision) or unlock it (an
    officer, once it is locked)."""
    scope = scope_of(request.user)
    locked = record.locked_for_teacher() and not returned
    owner = scope.teacher_id is not None and scope.teacher_id == record.pairing.teacher_id and record.pairing.is_active
    return {"locked": locked, "can_edit": owner and not locked, "can_unlock": locked and scope.role == Role.OFFICER}


@role_required(*SCHOOL_ROLES)
def talk_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The teacher edits their own record for 7 days after saving it (or while an officer's unlock lasts)."""
    record = get_object_or_404(_own_records(request, TalkRecord), pk=pk)
    returned = [f for f in quality.flags_of_talk(request.user, record) if f.status == FlagStatus.RETURNED]
    if record.locked_for_teacher() and not returned:
        return _locked_page(request, record, kind="谈心谈话记录", detail="guidance:talk_detail")
    if term_lock := _term_locked(record):
        return _locked_page(request, record, kind="谈心谈话记录", detail="guidance:talk_detail", term_lock=term_lock)
    data = request.POST if request.method == "POST" else None
    form = TalkRecordForm(data, instance=record, pairing=record.pairing)
    if request.method == "POST" and form.is_valid():
        try:
            services.talk_record_update(record=record, by=request.user, **form.service_values())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已保存修改,等待资助专干审核。" if returned else "已保存修改。")
            return redirect("guidance:talk_detail", pk=record.pk)
    context = {"form": form, "pairing": record.pairing, "record": record, "returned": returned}
    return render(request, "guidance/talk_form.html", context)


def _locked_page(
    request: HttpRequest, record: TalkRecord | HomeVisit, *, kind: str, detail: str, term_lock: str = ""
) -> HttpResponse:
    """Why the teacher cannot edit any more, and who can reopen the record (403): the 7-day window, or
    the officer's sign-off of the student's term (zaoyang_aid.locks), said before she types."""
    context = {"record": record, "kind": kind, "detail_url": reverse(detail, args=[record.pk]), "term_lock": term_lock}
    return render(request, "guidance/record_locked.html", context, status=403)


def _term_locked(record: TalkRecord | HomeVisit) -> str:
    return term_lock_reason(student_id=record.pairing.student_id, term_id=record.term_id) or ""


@role_required(Role.OFFICER)
@require_POST
def talk_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    """An officer of the student's school reopens a locked record for its teacher for 7 days."""
    records = TalkRecord.objects.visible_to(request.user).select_related("pairing__student", "pairing__teacher__user")
    record = get_object_or_404(records, pk=pk)
    return _unlock_answer(request, record, detail="guidance:talk_detail", page=_talk_detail_page, what="记录")


def _unlock_answer(
    request: HttpRequest,
    record: TalkRecord | HomeVisit,
    *,
    detail: str,
    page: Callable[[HttpRequest, Any, RecordUnlockForm], HttpResponse],
    what: str,
) -> HttpResponse:
    """The answer to an unlock, for a talk or a visit: the record's page with the message at the
    reason, a message that it is not locked (a second click), or done and the teacher told."""
    form = _unlocked(request, record)
    if form is not None and form.has_error("reason"):
        return page(request, record, form)
    if form is not None:
        messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
        return redirect(detail, pk=record.pk)
    teacher = record.pairing.teacher.name
    messages.success(request, f"已解锁并通知{teacher}老师,{record.EDIT_DAYS}天内可修改这条{what}。")
    return redirect(detail, pk=record.pk)


def _unlocked(request: HttpRequest, record: TalkRecord | HomeVisit) -> RecordUnlockForm | None:
    """Unlock with the officer's reason (the service tells the teacher); None when done, else the
    form with its Chinese message at the field."""
    form = RecordUnlockForm(request.POST)
    if form.is_valid():
        try:
            services.record_unlock(record=record, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return None
    return form


# --- Record quality ----------------------------------------------------------------------------


@role_required(Role.OFFICER, Role.COUNTY)
def quality_queue(request: HttpRequest) -> HttpResponse:
    """记录质量审核: the flagged records of the officer's school (county staff: of the county, with a
    school filter), newest first, with each flag's reason."""
    flags = quality.review_queue(request.user, request.GET)
    page = page_of(request, flags.qs, deferred_join=True)
    return render(
        request, "guidance/quality_queue.html", {"filter": flags, "page": page, "query": query_without_page(request)}
    )


def _queue_flag(request: HttpRequest, pk: int) -> TalkRecordFlag:
    return get_object_or_404(quality.queue_flags(request.user).select_related("talk__term"), pk=pk)


@role_required(Role.OFFICER, Role.COUNTY)
def flag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _flag_page(request, _queue_flag(request, pk), FlagReturnForm())


def _flag_page(request: HttpRequest, flag: TalkRecordFlag, return_form: FlagReturnForm) -> HttpResponse:
    """One flag: the record (and the earlier record it resembles), its earlier texts if revised, and
    the officer's return and pass forms, each carrying the version read."""
    audit.record_view(request, flag.talk, student_id=flag.talk.pairing.student_id, detail="记录质量疑点")
    version = {"version": flag.version}
    return_form.initial.update(version)
    context = {
        "flag": flag,
        "talk": flag.talk,
        "revisions": list(flag.talk.revisions.select_related("revised_by")),
        "return_form": return_form,
        "clear_form": FlagClearForm(initial=version),
        "can_act": scope_of(request.user).role == Role.OFFICER,
    }
    return render(request, "guidance/flag_detail.html", context)


@role_required(Role.OFFICER)
@require_POST
def flag_return(request: HttpRequest, pk: int) -> HttpResponse:
    """退回修改, with a comment the teacher reads (she is told in one notification)."""
    flag = _queue_flag(request, pk)
    form = FlagReturnForm(request.POST)
    if form.is_valid():
        try:
            quality.flag_return(flag=flag, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                messages.error(request, " ".join(exc.messages))
                return redirect("guidance:flag_detail", pk=flag.pk)
            form.add_error(None, exc)
        else:
            messages.success(request, f"已退回{flag.talk.pairing.teacher.name}老师修改。")
            return redirect("guidance:flag_detail", pk=flag.pk)
    return _flag_page(request, flag, form)


@role_required(Role.OFFICER)
@require_POST
def flag_clear(request: HttpRequest, pk: int) -> HttpResponse:
    """通过: the record stands (as written, or as revised)."""
    flag = _queue_flag(request, pk)
    form = FlagClearForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(quality.STALE)
        quality.flag_clear(flag=flag, by=request.user, version=form.cleaned_data["version"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("guidance:flag_detail", pk=flag.pk)
    messages.success(request, "已通过这条记录。")
    return redirect("guidance:quality_queue")


# --- Home visits -----------------------------------------------------------------------------


def visit_create(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("pairing", "")  # ?pairing=N: the 家访 button of 我的帮扶学生
    if scope_of(request.user).teacher_id is None or not raw.isdigit():
        raise Http404("没有找到这个结对。")
    pairing = _own_active_pairing(request, int(raw))
    form = HomeVisitForm(request.POST or None, request.FILES or None, pairing=pairing)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.home_visit_create(pairing=pairing, recorded_by=request.user, **form.service_values())
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
    return _visit_detail_page(request, visit, RecordUnlockForm())


def _visit_detail_page(request: HttpRequest, visit: HomeVisit, unlock_form: RecordUnlockForm) -> HttpResponse:
    audit.record_view(request, visit, student_id=visit.pairing.student_id, detail="家访记录")
    context = {"visit": visit, "unlock_form": unlock_form, **_edit_rights(request, visit)}
    return render(request, "guidance/visit_detail.html", context)


@role_required(*SCHOOL_ROLES)
def visit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The 包保 teacher edits their visit for 7 days after saving it (or while an officer's unlock
    lasts): its fields, and photos added or removed."""
    visit = get_object_or_404(_own_records(request, HomeVisit), pk=pk)
    if visit.locked_for_teacher():
        return _locked_page(request, visit, kind="家访记录", detail="guidance:visit_detail")
    if term_lock := _term_locked(visit):
        return _locked_page(request, visit, kind="家访记录", detail="guidance:visit_detail", term_lock=term_lock)
    form = HomeVisitForm(request.POST or None, request.FILES or None, instance=visit, pairing=visit.pairing)
    if request.method == "POST" and form.is_valid():
        try:
            services.home_visit_update(visit=visit, **form.service_values())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已保存修改。")
            return redirect("guidance:visit_detail", pk=visit.pk)
    return render(request, "guidance/visit_form.html", {"form": form, "pairing": visit.pairing, "visit": visit})


@role_required(Role.OFFICER)
@require_POST
def visit_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    """An officer of the student's school reopens a locked visit for its teacher for 7 days."""
    visit = get_object_or_404(_visits_for_detail(request.user), pk=pk)
    return _unlock_answer(request, visit, detail="guidance:visit_detail", page=_visit_detail_page, what="家访记录")


def visit_photo(request: HttpRequest, pk: int) -> FileResponse:
    """Stream a photo to a viewer who may see its visit; 404 for everyone else (no public URL)."""
    visible = HomeVisit.objects.visible_to(request.user)
    photo = get_object_or_404(HomeVisitPhoto.objects.filter(visit__in=visible).select_related("visit__pairing"), pk=pk)
    try:
        handle = photo.image.storage.open(photo.image.name, "rb")
    except FileNotFoundError as exc:
        raise Http404("照片文件不存在。") from exc
    audit.record_view(request, photo, student_id=photo.visit.pairing.student_id, detail="家访照片")
    extension = ".png" if photo.content_type == "image/png" else ".jpg"
    # FileResponse says "inline; filename=…" (as_attachment is off): shown in the page, not downloaded.
    response = FileResponse(handle, content_type=photo.content_type, filename=f"home-visit-{photo.pk}{extension}")
    # Sent with "no-store" like every page (zaoyang_aid/headers.py): a family's home stays off the disk.
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Dashboards and excused weeks ------------------------------------------------------------


@role_required(Role.OFFICER)
def school_dashboard(request: HttpRequest) -> HttpResponse:
    """The officer's first page: per teacher and per student compliance, overdue first."""
    scope = scope_of(request.user)
    today = term_today(school_id=scope.school_id)
    board = dashboards.school_dashboard(request.user, term=today.term, as_of=today.today) if today.term else None
    if board is not None:
        signs = marks.student_marks(request.user, [row.pairing.student_id for row in board.students])
        for row in board.students:
            row.marks = signs.get(row.pairing.student_id, [])
        board.flagged = sum(1 for row in board.students if row.marks)
    # The students a page at a time, the most behind first: the page costs the same at a school of 190.
    students = page_of(request, board.students if board else [], STUDENTS_PER_PAGE)
    return render(
        request,
        "guidance/school_dashboard.html",
        {"today": today, "board": board, "students": students, "query": query_without_page(request)},
    )


STUDENTS_PER_PAGE = 30


@role_required(Role.COUNTY, Role.ADMIN)
def county_dashboard(request: HttpRequest) -> HttpResponse:
    """The county's first page: per town and per school, this week and this term, home visits."""
    today = term_today()
    town = Town.objects.filter(pk=request.GET["town"]).first() if request.GET.get("town", "").isdigit() else None
    board_html = _county_board_html(request, today=today, town=town) if today.term else ""
    return render(request, "guidance/county_dashboard.html", {"today": today, "board_html": board_html})


def _county_board_html(request: HttpRequest, *, today: TermToday, town: Town | None) -> SafeString:
    """The county page's figures as drawn: the same for every county reader of one role (the report
    links follow the role), so drawn once per change of the figures (figures.county_page_key: the
    county's and the any-write tokens, which every write of what the page counts changes) and kept
    in the cache. Drawing them was two thirds of the page and starved the teachers under load."""
    term = today.term
    if term is None:
        return SafeString("")
    role = str(scope_of(request.user).role)
    key = figures.county_page_key(term=term, as_of=today.today, role=role, query=request.GET.urlencode())
    html = figures.cached_page(key)
    if html is None:
        board = dashboards.county_dashboard(
            request.user, term=term, as_of=today.today, town_id=town.pk if town else None
        )
        schools = page_of(request, board.schools)
        context = {
            "board": board,
            "town": town,
            "schools": schools,
            "query": query_without_page(request),
            **_county_rows(request, board, schools, role=role),
        }
        html = render_to_string("guidance/includes/county_board.html", context, request)
        figures.keep_page(key, html)
    return mark_safe(html)  # drawn by our own template, which escaped it


def _county_rows(
    request: HttpRequest, board: dashboards.CountyDashboard, schools: Any, *, role: str
) -> dict[str, SafeString]:
    """The county page's table rows, each drawn once per distinct content (zaoyang_aid.drawn): a talk
    changes one school's line, one town's line and one trend row, and only those are drawn again. Each
    key holds what its row template reads."""
    term = board.term.pk
    towns = [
        drawn.row(
            "guidance/includes/county_town_row.html",
            (role, term, line.pk, line.name, dataclasses.astuple(line.totals), line.escalated),
            {"line": line, "term": term},
            request,
        )
        for line in board.towns
    ]
    trend = [
        drawn.row(
            "guidance/includes/county_trend_row.html",
            (row.line.pk, row.line.name, tuple((cell.owed, cell.done, cell.current) for cell in row.cells)),
            {"row": row},
            request,
        )
        for row in board.town_trends
    ]
    lines = [
        drawn.row(
            "guidance/includes/county_school_row.html",
            (line.pk, line.name, line.extra, dataclasses.astuple(line.totals)),
            {"line": line},
            request,
        )
        for line in schools
    ]
    return {"town_rows": drawn.rows(towns), "trend_rows": drawn.rows(trend), "school_rows": drawn.rows(lines)}


@role_required(Role.COUNTY, Role.ADMIN)
def county_town(request: HttpRequest, pk: int) -> HttpResponse:
    """A town's schools, most behind first: the county's step between the county and a school."""
    town = get_object_or_404(Town, pk=pk)
    today = term_today()
    board = dashboards.county_town(request.user, town=town, term=today.term, as_of=today.today) if today.term else None
    return render(request, "guidance/county_town.html", {"today": today, "town": town, "board": board})


@role_required(Role.COUNTY, Role.ADMIN, Role.OFFICER)
def county_school(request: HttpRequest, pk: int) -> HttpResponse:
    """A school's teachers and students behind this week and this term (the county's last step;
    an officer may open her own school's page, any other answers 404)."""
    school = get_object_or_404(School.objects.visible_to(request.user).select_related("town"), pk=pk)
    today = term_today(school_id=school.pk)
    board = (
        dashboards.county_school(request.user, school=school, term=today.term, as_of=today.today)
        if today.term
        else None
    )
    return render(request, "guidance/county_school.html", {"today": today, "school": school, "board": board})


@role_required(Role.OFFICER)
def excuse_week(request: HttpRequest, pk: int) -> HttpResponse:
    """Excuse a school week of a pairing of the officer's school (学生生病, 考试周 …)."""
    pairing = get_object_or_404(
        Pairing.objects.visible_to(request.user).select_related("student", "teacher__user"), pk=pk
    )
    today = term_today(school_id=pairing.student.school_id)
    if today.term is None:
        raise Http404("尚未设置学期。")
    weeks = services.excusable_weeks(pairing=pairing, term=today.term, as_of=today.today)
    talk_mondays = selectors.weeks_with_talk(pairing=pairing, mondays=[w.monday for w in weeks])
    data = request.POST if request.method == "POST" else None  # an empty POST is still a POST
    form = ExcuseWeekForm(data, weeks=weeks, talk_mondays=talk_mondays, as_of=today.today)
    if form.is_valid():
        try:
            services.excused_week_create(
                pairing=pairing,
                week_monday=form.cleaned_data["week"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                excused_by=request.user,
                term=today.term,
                as_of=today.today,
                confirmed_has_talk=form.cleaned_data["confirmed_has_talk"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"已为{pairing.student.name}免记{form.chosen_week.label}。")
            return redirect("guidance:school_dashboard")
    excused = selectors.excused_weeks_of(pairing, term=today.term)
    return render(
        request, "guidance/excuse_week.html", {"pairing": pairing, "form": form, "excused": excused, "today": today}
    )


@role_required(Role.OFFICER)
def late_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """An officer lets the 包保 teacher record a talk for an old school week (补录), with a reason."""
    pairing = get_object_or_404(
        Pairing.objects.visible_to(request.user).active().select_related("student", "teacher__user"), pk=pk
    )
    today = term_today(school_id=pairing.student.school_id)
    if today.term is None:
        raise Http404("尚未设置学期。")
    weeks = services.late_entry_weeks(pairing=pairing, term=today.term, today=today.today)
    form = LateEntryForm(request.POST if request.method == "POST" else None, weeks=weeks)
    if form.is_valid():
        try:
            services.late_entry_permit(
                pairing=pairing,
                week_monday=form.cleaned_data["week"],
                reason=form.cleaned_data["reason"],
                granted_by=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            label = next(w.label for w in weeks if w.monday == form.cleaned_data["week"])
            messages.success(request, f"已准许{pairing.teacher.name}老师补录{pairing.student.name}{label}的谈心谈话。")
            return redirect("guidance:late_entry", pk=pairing.pk)
    permissions = (
        pairing.late_permissions.select_related("granted_by").prefetch_related("talks").order_by("-week_monday")
    )
    return render(request, "guidance/late_entry.html", {"pairing": pairing, "form": form, "permissions": permissions})


@role_required(Role.OFFICER)
@require_http_methods(["GET", "POST"])
def excuse_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks 确认撤销…? (a page of its own: no script, so it works under any CSP); POST revokes."""
    excused = get_object_or_404(
        ExcusedWeek.objects.visible_to(request.user).select_related("pairing__student", "excused_by"), pk=pk
    )
    label = selectors.excused_week_label(excused)
    if request.method == "POST":
        services.excused_week_delete(excused=excused)
        messages.success(request, f"已撤销{excused.pairing.student.name}{label}的免记。")
        return redirect("guidance:excuse_week", pk=excused.pairing_id)
    return render(request, "guidance/excuse_revoke.html", {"excused": excused, "label": label})


# --- Notifications and reminders -------------------------------------------------------------


def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Everyone's notification centre: newest first, unread marked; each links to the form to act on."""
    items = Notification.objects.filter(recipient=request.user).select_related("reminder").order_by("read_at", "-pk")
    page = page_of(request, items, size=30)
    return render(request, "guidance/notifications.html", {"page": page})


@require_POST
def notification_open(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go where it points."""
    notice = get_object_or_404(Notification.objects.filter(recipient=request.user), pk=pk)
    if notice.read_at is None:
        services.notification_read(notice_id=notice.pk, recipient=request.user)
    if notice.link and url_has_allowed_host_and_scheme(notice.link, allowed_hosts={request.get_host()}):
        return redirect(notice.link)
    return redirect("guidance:notifications")


@require_POST
def notifications_read_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.notifications_read_all(recipient=request.user)
    messages.success(request, "已全部标为已读。")
    return redirect("guidance:notifications")


@require_POST
def reminder_acknowledge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The teacher (or an officer above them) acknowledges a reminder, with an optional note."""
    reminder = get_object_or_404(Reminder.objects.visible_to(request.user), pk=pk)
    if not Notification.objects.filter(reminder=reminder, recipient=request.user).exists():
        raise Http404("这条提醒不是发给您的。")
    reminders.reminder_acknowledge(reminder=reminder, by=request.user, note=request.POST.get("note", "").strip())
    messages.success(request, "已确认这条提醒。")
    return redirect("guidance:notifications")


@role_required(Role.OFFICER)
def school_reminders(request: HttpRequest) -> HttpResponse:
    """Which of the school's teachers were reminded and escalated this term."""
    today = term_today(school_id=scope_of(request.user).school_id)
    items = (
        Reminder.objects.visible_to(request.user)
        .filter(term=today.term)
        .select_related("pairing__student", "pairing__teacher__user", "acknowledged_by")
        .order_by("-period", "-level", "pairing__teacher__user__full_name")
        if today.term
        else Reminder.objects.none()
    )
    page = page_of(request, items)
    return render(request, "guidance/school_reminders.html", {"page": page, "today": today})


def reminder_preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Email reminders on or off, for the signed-in person."""
    preference, _ = ReminderPreference.objects.get_or_create(user=request.user)
    form = ReminderPreferenceForm(request.POST if request.method == "POST" else None, instance=preference)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "已保存提醒设置。")
        return redirect("guidance:notifications")
    return render(request, "guidance/reminder_preferences.html", {"form": form, "has_email": bool(request.user.email)})


# --- 五三卡 ------------------------------------------------------------------------------------------


def _card_student(request: HttpRequest, pk: int) -> Student:
    """A student whose card the viewer fills in: one they 包保 now (whatever their school role)."""
    student = get_object_or_404(Student.objects.visible_to(request.user).select_related("school"), pk=pk)
    if not cards.may_edit(request.user, student):
        raise Http404("只有正在包保这名学生的教师可以填写五三卡。")
    return student


def _cards_of(request: HttpRequest) -> QuerySet[FiveThreeCard]:
    return FiveThreeCard.objects.visible_to(request.user).select_related(
        "student__school", "term__school_year", "recorded_by", "reviewed_by"
    )


@role_required(*SCHOOL_ROLES)
def card_current(request: HttpRequest, pk: int) -> HttpResponse:
    """The 五三卡 button of 我的帮扶学生: this term's card of the student, or its form if not filled."""
    student = _card_student(request, pk)
    term = term_today(school_id=student.school_id).term
    card = _cards_of(request).filter(student=student, term=term).first() if term else None
    if card is not None:
        return redirect("guidance:card_detail", pk=card.pk)
    return redirect("guidance:card_edit", pk=student.pk)


@role_required(*SCHOOL_ROLES)
def card_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Fill in or change this term's card of a student the viewer 包保 (with the student)."""
    student = _card_student(request, pk)
    term = term_today(school_id=student.school_id).term
    if term is None:
        raise Http404("尚未设置学期。")
    card = _cards_of(request).filter(student=student, term=term).first()
    form = FiveThreeCardForm(request.POST if request.method == "POST" else None, card=card)
    if request.method == "POST" and form.is_valid():
        try:
            card = cards.five_three_card_save(student=student, term=term, by=request.user, **form.service_values())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"已保存{student.name}的五三卡。")
            return redirect("guidance:card_detail", pk=card.pk)
    return render(request, "guidance/card_form.html", {"form": form, "student": student, "term": term, "card": card})


def card_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A card, read by its teacher, the school's officer, the county (the read is audited)."""
    card = get_object_or_404(_cards_of(request), pk=pk)
    audit.record_view(request, card, student_id=card.student_id, detail="五三卡")
    can_edit = cards.may_edit(request.user, card.student)
    context = {
        "card": card,
        "can_edit": can_edit,
        "review_open": cards.review_open(card.term),
        "review_opens_on": review_opens_on(card.term),
    }
    return render(request, "guidance/card_detail.html", context)


@role_required(*SCHOOL_ROLES)
def card_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Term end: the teacher marks each 突破口 and 承诺 with the student (from REVIEW_WEEKS before
    the term's last day)."""
    card = get_object_or_404(_cards_of(request), pk=pk)
    if not cards.may_edit(request.user, card.student):
        raise Http404("只有正在包保这名学生的教师可以评定五三卡。")
    if not cards.review_open(card.term):
        messages.error(request, f"期末评定从{review_opens_on(card.term):%Y年%m月%d日}开始。")
        return redirect("guidance:card_detail", pk=card.pk)
    form = FiveThreeReviewForm(request.POST if request.method == "POST" else None, card=card)
    if request.method == "POST" and form.is_valid():
        try:
            cards.five_three_card_review(card=card, by=request.user, **form.service_values())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"已保存{card.student.name}五三卡的期末评定。")
            return redirect("guidance:card_detail", pk=card.pk)
    return render(request, "guidance/card_review.html", {"form": form, "card": card})
