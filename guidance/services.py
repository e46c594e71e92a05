"""Writes of the guidance app, each inside one transaction; keyword-only arguments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from pairing.models import Pairing, Term
from zaoyang_aid import audit, calendar
from zaoyang_aid.models import AuditAction

from .forms import HomeVisitForm, TalkRecordForm
from .models import ExcusedWeek, HomeVisit, HomeVisitPhoto, TalkRecord
from .photos import CleanPhoto
from .rules import school_week_at, talk_date_problem, visit_date_problem
from .selectors import week_labels, weeks_with_talk

# --- Talk records ----------------------------------------------------------------------------

TALK_LOCKED = f"记录保存满{TalkRecord.EDIT_DAYS}天后已锁定,如需修改请联系学校资助专干解锁。"


def _pairing_locked(pairing: Pairing) -> Pairing:
    """The pairing row, locked until the end of the transaction: an end of the pairing saved at the
    same moment waits, and the date rules below see it."""
    return Pairing.objects.select_for_update(of=("self",)).select_related("student").get(pk=pairing.pk)


def _talk_term(*, pairing: Pairing, day: dt.date) -> Term:
    """The term a talk dated ``day`` belongs to; a ValidationError at the date for any date the
    rules refuse (future, before the pairing, outside school weeks, an ended pairing)."""
    problem = talk_date_problem(pairing=pairing, day=day, today=timezone.localdate())
    located = None if problem else school_week_at(school_id=pairing.student.school_id, day=day)
    if located is None:
        raise ValidationError({"date": problem or "这一天不在任何学期的教学周内。"})
    return located.term


@transaction.atomic
def talk_record_create(*, pairing: Pairing, recorded_by: Any, form: TalkRecordForm) -> TalkRecord:
    """Save a talk record from a valid form. The date rules are checked again here, with the pairing
    locked, so that no path (nor a pairing ended meanwhile) saves a record that breaks them."""
    locked = _pairing_locked(pairing)
    record = form.save(commit=False)
    record.pairing = locked
    record.term = _talk_term(pairing=locked, day=record.date)
    record.recorded_by = recorded_by
    record.save()
    return record


@transaction.atomic
def talk_record_update(*, form: TalkRecordForm) -> TalkRecord:
    """Save a teacher's changes to their record (``form.instance``): refused once it is locked
    (TalkRecord.locked_for_teacher) and for the same dates as a new record."""
    if form.instance.locked_for_teacher():
        raise ValidationError(TALK_LOCKED)
    locked = _pairing_locked(form.instance.pairing)
    record = form.save(commit=False)
    record.term = _talk_term(pairing=locked, day=record.date)
    record.save()
    return record


@transaction.atomic
def record_unlock(*, record: TalkRecord | HomeVisit) -> None:
    """An officer reopens a talk record or a visit for its teacher for another EDIT_DAYS days (audited)."""
    before = record.unlocked_until
    record.unlocked_until = timezone.now() + dt.timedelta(days=record.EDIT_DAYS)
    record.save(update_fields=["unlocked_until"])
    audit.record(
        AuditAction.UPDATE,
        obj=record,
        student_id=record.pairing.student_id,
        changes={"解锁至": [_moment(before), _moment(record.unlocked_until)]},
    )


def _moment(value: dt.datetime | None) -> str | None:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else None


# --- Home visits -----------------------------------------------------------------------------


def home_visit_create(
    *, pairing: Pairing, recorded_by: Any, form: HomeVisitForm, photos: Sequence[CleanPhoto]
) -> HomeVisit:
    """Save a home visit (a valid form) with its photos, already checked and re-encoded by
    photos.clean_photo. All or nothing: if the transaction rolls back after photo files were
    written, the files are deleted too, so no photo of a child's home is left on disk unreferenced.

    The transaction is durable (outermost): inside someone else's transaction a later rollback
    could not be seen here, and the files written would stay behind.
    """
    problem = visit_date_problem(pairing=pairing, day=form.cleaned_data["date"], today=timezone.localdate())
    if problem:
        raise ValidationError({"date": problem})
    if len(photos) > HomeVisitPhoto.MAX_PER_VISIT:
        raise ValidationError({"photos": f"每次家访最多上传{HomeVisitPhoto.MAX_PER_VISIT}张照片。"})
    written: list[HomeVisitPhoto] = []
    try:
        with transaction.atomic(durable=True):
            visit = form.save(commit=False)
            visit.pairing = pairing
            visit.term = Term.objects.containing(visit.date).get()
            visit.recorded_by = recorded_by
            visit.save()
            form.save_m2m()
            _photos_store(visit=visit, photos=photos, written=written)
            audit.record(
                AuditAction.CREATE,
                obj=visit,
                student_id=pairing.student_id,
                changes={"家访": [None, f"{visit.date:%Y-%m-%d} {visit.visitors} 照片{len(photos)}张"]},
            )
    except BaseException:
        _files_delete(written)
        raise
    return visit


VISIT_LOCKED = f"家访记录保存满{HomeVisit.EDIT_DAYS}天后已锁定,如需修改请联系学校资助专干解锁。"


def home_visit_update(
    *, form: HomeVisitForm, photos: Sequence[CleanPhoto], remove: Sequence[HomeVisitPhoto] = ()
) -> HomeVisit:
    """Save the teacher's changes to a visit (``form.instance``): its fields, photos added and photos
    removed. Refused once locked (HomeVisit.locked_for_teacher), for the dates a new visit refuses,
    and above MAX_PER_VISIT photos in all. Like create, all or nothing and durable: new files are
    deleted if it rolls back; removed photos' files are deleted only after it commits.
    """
    visit = form.instance
    if visit.locked_for_teacher():
        raise ValidationError(VISIT_LOCKED)
    written: list[HomeVisitPhoto] = []
    try:
        with transaction.atomic(durable=True):
            pairing = _pairing_locked(visit.pairing)
            problem = visit_date_problem(pairing=pairing, day=form.cleaned_data["date"], today=timezone.localdate())
            if problem:
                raise ValidationError({"date": problem})
            removed = list(HomeVisitPhoto.objects.filter(visit=visit, pk__in=[p.pk for p in remove]))
            kept = HomeVisitPhoto.objects.filter(visit=visit).count() - len(removed)
            if kept + len(photos) > HomeVisitPhoto.MAX_PER_VISIT:
                raise ValidationError({"photos": f"一次家访最多{HomeVisitPhoto.MAX_PER_VISIT}张照片。"})
            changed = [form.fields[name].label for name in form.changed_data if name not in ("photos", "remove_photos")]
            visit = form.save(commit=False)
            visit.term = Term.objects.containing(visit.date).get()
            visit.save()
            form.save_m2m()
            HomeVisitPhoto.objects.filter(pk__in=[p.pk for p in removed]).delete()
            _photos_store(visit=visit, photos=photos, written=written)
            transaction.on_commit(lambda: _files_delete(removed))
            audit.record(
                AuditAction.UPDATE,
                obj=visit,
                student_id=pairing.student_id,
                changes={
                    "修改的栏目": [None, "、".join(str(label) for label in changed) or "无"],
                    "照片": [None, f"新增{len(photos)}张,删除{len(removed)}张"],
                },
            )
    except BaseException:
        _files_delete(written)
        raise
    return visit


def _photos_store(*, visit: HomeVisit, photos: Sequence[CleanPhoto], written: list[HomeVisitPhoto]) -> None:
    for photo in photos:
        row = HomeVisitPhoto(
            visit=visit, content_type=photo.content_type, width=photo.width, height=photo.height, size=photo.size
        )
        written.append(row)  # before the file is written: a failure in save() still cleans up
        row.image.save(f"photo{photo.extension}", ContentFile(photo.data), save=False)
        row.save()


def _files_delete(rows: Sequence[HomeVisitPhoto]) -> None:
    for row in rows:
        if row.owns_file:
            row.image.storage.delete(row.image.name)


# --- Excused weeks ---------------------------------------------------------------------------


def excusable_weeks(*, pairing: Pairing, term: Term, as_of: dt.date) -> list[calendar.SchoolWeek]:
    """The term's school weeks up to this one while the pairing was active, not yet excused."""
    taken = set(ExcusedWeek.objects.filter(pairing=pairing).values_list("week_monday", flat=True))
    return [
        week
        for week in term.school_weeks(pairing.student.school_id)
        if week.monday <= as_of
        and week.school_days[-1] >= pairing.started_on
        and (pairing.ended_on is None or week.school_days[0] < pairing.ended_on)
        and week.monday not in taken
    ]


WEEK_HAS_TALK = "该周已有谈心谈话记录,免记后这一周不再计为已完成。确需免记请勾选“仍然免记”,谈话记录会保留。"


@transaction.atomic
def excused_week_create(
    *,
    pairing: Pairing,
    week_monday: dt.date,
    reason: str,
    note: str,
    excused_by: Any,
    term: Term,
    as_of: dt.date,
    confirmed_has_talk: bool = False,
) -> ExcusedWeek:
    """Excuse one school week of a pairing. Refuses a week that is not excusable (the form offers
    only those), and a week that already has a talk unless the officer confirmed: the excuse takes
    that week's credit away (the talk itself is kept). The pairing is locked first, so that a second
    excuse of the same week, saved at the same moment, waits and is refused here."""
    Pairing.objects.select_for_update().filter(pk=pairing.pk).values_list("pk").get()
    week = next((w for w in excusable_weeks(pairing=pairing, term=term, as_of=as_of) if w.monday == week_monday), None)
    if week is None:
        raise ValidationError({"week": "这一周不能免记(不是该结对本学期已到的教学周,或已免记)。"})
    has_talk = bool(weeks_with_talk(pairing=pairing, mondays=[week_monday]))
    if has_talk and not confirmed_has_talk:
        raise ValidationError({"week": ValidationError(WEEK_HAS_TALK, code="has_talk")})
    excused = ExcusedWeek.objects.create(
        pairing=pairing, week_monday=week_monday, reason=reason, note=note, excused_by=excused_by
    )
    # The audit names the week with its term (第11周 alone does not say which year).
    changes = {"免记周": [None, f"{term.name}{week.label} {excused.get_reason_display()} {note}".strip()]}
    if has_talk:
        changes["已有谈心谈话记录"] = [None, "仍然免记(记录保留)"]
    audit.record(AuditAction.CREATE, obj=excused, student_id=pairing.student_id, changes=changes)
    return excused


@transaction.atomic
def excused_week_delete(*, excused: ExcusedWeek) -> None:
    """Revoke an excuse: the week counts again, as done or as missed."""
    pairing = Pairing.objects.filter(pk=excused.pairing_id)
    student_id, school_id = pairing.values_list("student_id", "student__school_id").get()
    label = week_labels(school_id=school_id, mondays=[excused.week_monday])[excused.week_monday]  # with its term
    audit.record(
        AuditAction.DELETE,
        obj=excused,
        student_id=student_id,
        changes={"免记周": [f"{label} {excused.get_reason_display()} {excused.note}".strip(), None]},
    )
    excused.delete()
