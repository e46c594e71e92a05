"""Writes of the guidance app, each inside one transaction; keyword-only arguments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils import timezone

from pairing import figures
from pairing.models import Pairing, Term
from zaoyang_aid import audit, calendar
from zaoyang_aid.locks import ensure_term_open
from zaoyang_aid.models import AuditAction

from . import quality, reminders
from .models import (
    FORM_FIELDS,
    TRACK_FIELDS,
    AidPolicy,
    ExcusedWeek,
    HomeVisit,
    HomeVisitPhoto,
    LateEntryPermission,
    TalkRecord,
)
from .photos import CleanPhoto
from .rules import open_weeks, school_week_of, talk_date_check, visit_date_problem
from .selectors import policies_for_stage, unread_notices, week_labels, weeks_with_talk
from .tallies import tally_rebuild, tally_refresh

# --- Talk records ----------------------------------------------------------------------------
# Concurrency: every talk write locks its pairing's row first (select_for_update), then writes the
# talk, recounts the pairing's tally and answers the week's reminder, all in one transaction. A
# pairing ended at the same moment, or a second talk of the same pairing, waits for the lock, so
# the date rules and the recount each see the other's committed rows (tested on PostgreSQL).

TALK_LOCKED = f"记录保存满{TalkRecord.EDIT_DAYS}天后已锁定,如需修改请联系学校资助专干解锁。"
TALK_STALE = "这条记录已被修改(可能在另一个窗口),请刷新后再改。"
TALK_TEXT_FIELDS = ("content", "student_state", "problems", "measures", "next_steps")


def _pairing_locked(pairing: Pairing | int) -> Pairing:
    """The pairing row, locked until the end of the transaction: an end of the pairing saved at the
    same moment waits, and the date rules below see it."""
    pk = pairing if isinstance(pairing, int) else pairing.pk
    return Pairing.objects.select_for_update(of=("self",)).select_related("student", "teacher").get(pk=pk)


def _late_permission(*, pairing: Pairing, day: dt.date) -> LateEntryPermission | None:
    return LateEntryPermission.objects.filter(pairing=pairing, week_monday=calendar.monday_of(day)).first()


def _talk_term(*, pairing: Pairing, day: dt.date, allowed: frozenset[dt.date] = frozenset()) -> Term:
    """The term a talk dated ``day`` belongs to; a ValidationError at the date for any date the
    rules refuse (future, before the pairing, outside school weeks, past the open window without
    an officer's 补录, an ended pairing)."""
    problem, located = talk_date_check(pairing=pairing, day=day, today=timezone.localdate(), allowed_mondays=allowed)
    if located is None:
        raise ValidationError({"date": problem or "这一天不在任何学期的教学周内。"})
    return located.term


def _talk_values(record: TalkRecord, values: dict[str, Any]) -> None:
    """Put plain values on a record: text, duration, and the tracks and forms as field names."""
    for key, names in (("tracks", TRACK_FIELDS), ("help_forms", FORM_FIELDS)):
        if key not in values:  # an update may leave them as they are
            continue
        chosen = set(values.pop(key))
        if chosen - set(names):
            raise ValidationError(f"未知的五导内容或帮扶形式:{'、'.join(sorted(chosen - set(names)))}。")
        for name in names:
            setattr(record, name, name in chosen)
    for name, value in values.items():
        setattr(record, name, value.strip() if isinstance(value, str) else value)


def _talk_save(record: TalkRecord) -> None:
    record.week_monday = calendar.monday_of(record.date)
    # Field checks and the database constraints' Chinese messages, keyed by field.
    record.full_clean(exclude=["pairing", "term", "recorded_by", "late_permission"])
    record.save()


def _talk_written(*, pairing: Pairing, terms: Iterable[Term | int], week_monday: dt.date) -> None:
    """What a talk write keeps in step, in its transaction: the tallies of the terms touched (a Term
    in hand spares the read of its first day), the missed-week reminder the talk answers, and the
    dashboards' figures (pairing.figures.touch_pairing: the schools of the pairing's teacher and
    student, read with the lock) when a tally changed what the engine reads of it: a second talk in a
    week already counted, or a corrected text, leaves every figure, and every cached dashboard, as
    it was."""
    starts: dict[int, dt.date | None] = {}
    for term in terms:
        if isinstance(term, Term):
            starts[term.pk] = term.start_date
        else:
            starts.setdefault(term, None)
    # A list, not any() over a generator: every term's tally is refreshed, whichever changed first.
    changed = [
        tally_refresh(pairing_id=pairing.pk, term_id=term_id, term_start=start) for term_id, start in starts.items()
    ]
    if any(changed):
        figures.touch_pairing(pairing)
    reminders.reminders_answer_talk(pairing_id=pairing.pk, week_monday=week_monday)


@transaction.atomic
def talk_record_create(
    *,
    pairing: Pairing | int,
    recorded_by: Any,
    date: dt.date,
    duration_minutes: int,
    content: str,
    student_state: str,
    tracks: Sequence[str],
    help_forms: Sequence[str],
    problems: str = "",
    measures: str = "",
    next_steps: str = "",
) -> TalkRecord:
    """Record a talk. The date rules are checked here, with the pairing locked, so that no path (a
    page, an import, a command, nor a pairing ended meanwhile) saves a record that breaks them. A
    week older than the open window needs the officer's 补录 permission and is then marked late."""
    locked = _pairing_locked(pairing)
    # An officer's 补录 permission matters only for a week outside the open window (read only then:
    # the open window comes from the cached calendar, the permission from the database).
    late = calendar.monday_of(date) not in _open_mondays(locked)
    permission = _late_permission(pairing=locked, day=date) if late else None
    allowed = frozenset({permission.week_monday}) if permission else frozenset()
    record = TalkRecord(pairing=locked, recorded_by=recorded_by, date=date)
    record.term = _talk_term(pairing=locked, day=date, allowed=allowed)
    ensure_term_open(student_id=locked.student_id, term_id=record.term.pk)
    record.late_permission = permission
    _talk_values(
        record,
        {
            "duration_minutes": duration_minutes,
            "content": content,
            "student_state": student_state,
            "problems": problems,
            "measures": measures,
            "next_steps": next_steps,
            "tracks": tracks,
            "help_forms": help_forms,
        },
    )
    _talk_save(record)
    _talk_written(pairing=locked, terms=[record.term], week_monday=record.week_monday)
    audit.record(
        AuditAction.CREATE,
        obj=record,
        student_id=locked.student_id,
        changes={
            "谈心谈话": [None, f"{date:%Y-%m-%d} {duration_minutes}分钟" + (" 补录" if record.entered_late else "")]
        },
    )
    return record


def _open_mondays(pairing: Pairing) -> set[dt.date]:
    """The Mondays of the weeks its teacher may date a talk in today without a permission."""
    return {w.monday for w in open_weeks(school_id=pairing.student.school_id, today=timezone.localdate())}


@transaction.atomic
def talk_record_update(*, record: TalkRecord, by: Any, version: int | None = None, **values: Any) -> TalkRecord:
    """Change a teacher's record: refused once it is locked (TalkRecord.locked_for_teacher), unless
    an officer returned it for revision (quality.py: its earlier text is then kept), and for the same
    dates as a new record, except that it may stay in its own week. ``values`` are
    talk_record_create's (any subset); ``version`` is the record's version as the form read it: a
    save made meanwhile (another window, another device) wins and this one is refused."""
    record = TalkRecord.objects.select_for_update().get(pk=record.pk)
    if version is not None and version != record.version:
        raise ValidationError(TALK_STALE, code="stale")
    returned = quality.returned_flags_locked(record)
    if record.locked_for_teacher() and not returned:
        raise ValidationError(TALK_LOCKED)
    locked = _pairing_locked(record.pairing_id)
    before = {name: getattr(record, name) for name in ("date", "duration_minutes", *TALK_TEXT_FIELDS)}
    old_term_id, old_week = record.term_id, record.week_monday
    day = values.get("date", record.date)
    permission = _late_permission(pairing=locked, day=day)
    allowed = {record.week_monday} | ({permission.week_monday} if permission else set())
    record.term = _talk_term(pairing=locked, day=day, allowed=frozenset(allowed))
    for term_id in {old_term_id, record.term.pk}:  # neither the term it leaves nor the one it joins
        ensure_term_open(student_id=locked.student_id, term_id=term_id)
    if calendar.monday_of(day) != old_week:
        open_now = _open_mondays(locked)
        record.late_permission = permission if calendar.monday_of(day) not in open_now else None
    _talk_values(record, dict(values))
    record.version += 1
    _talk_save(record)
    quality.talk_revised(record=record, before=before, flags=returned, by=by)
    _talk_written(pairing=locked, terms=[old_term_id, record.term], week_monday=record.week_monday)
    changed = [_talk_field_label(n) for n, v in before.items() if getattr(record, n) != v]
    audit.record(
        AuditAction.UPDATE,
        obj=record,
        student_id=locked.student_id,
        changes={"修改的栏目": [None, "、".join(str(c) for c in changed) or "五导内容或帮扶形式"]},
    )
    return record


def _talk_field_label(name: str) -> str:
    return str(cast(models.Field, TalkRecord._meta.get_field(name)).verbose_name)


@transaction.atomic
def talk_record_delete(*, record: TalkRecord, by: Any) -> None:
    """Delete a talk record (an admin's correction of a duplicate): its tally is recounted."""
    locked = _pairing_locked(record.pairing_id)
    record = TalkRecord.objects.get(pk=record.pk)
    ensure_term_open(student_id=locked.student_id, term_id=record.term_id)
    audit.record(
        AuditAction.DELETE,
        obj=record,
        student_id=locked.student_id,
        changes={"谈心谈话": [f"{record.date:%Y-%m-%d} {record.duration_minutes}分钟", None]},
    )
    term_id = record.term_id
    record.delete()
    if tally_refresh(pairing_id=locked.pk, term_id=term_id):
        figures.touch_pairing(locked)


def late_entry_weeks(*, pairing: Pairing, term: Term, today: dt.date) -> list[calendar.SchoolWeek]:
    """The term's school weeks before the open window, while the pairing was active, with no talk
    and no permission yet: the weeks an officer may let the teacher record late (补录)."""
    open_now = {w.monday for w in open_weeks(school_id=pairing.student.school_id, today=today)}
    first_open = min(open_now, default=today)
    taken = set(TalkRecord.objects.filter(pairing=pairing, term=term).values_list("week_monday", flat=True))
    taken |= set(LateEntryPermission.objects.filter(pairing=pairing).values_list("week_monday", flat=True))
    return [
        week
        for week in term.school_weeks(pairing.student.school_id)
        if week.monday < first_open
        and week.school_days[-1] >= pairing.started_on
        and (pairing.ended_on is None or week.school_days[0] < pairing.ended_on)
        and week.monday not in taken
    ]


@transaction.atomic
def late_entry_permit(*, pairing: Pairing, week_monday: dt.date, reason: str, granted_by: Any) -> LateEntryPermission:
    """An officer lets the 包保 teacher record a talk for an old school week (补录), with a reason.
    Only a week the pairing owed that has no talk yet, before the open window."""
    locked = _pairing_locked(pairing)
    reason = reason.strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "请填写补录原因。"
    elif len(reason) > 200:
        errors["reason"] = "补录原因不能超过200字。"
    located = school_week_of(school_id=locked.student.school_id, monday=week_monday)
    if week_monday != calendar.monday_of(week_monday) or located is None:
        errors["week"] = "请选择一个教学周。"
    elif week_monday in _open_mondays(locked):
        errors["week"] = "本周和上一教学周教师可以直接记录,无需准许补录。"
    elif TalkRecord.objects.filter(pairing=locked, week_monday=week_monday).exists():
        errors["week"] = "这一周已有谈心谈话记录。"
    elif LateEntryPermission.objects.filter(pairing=locked, week_monday=week_monday).exists():
        errors["week"] = "这一周已经准许补录了。"
    if errors:
        raise ValidationError(errors)
    permission = LateEntryPermission.objects.create(
        pairing=locked, week_monday=week_monday, reason=reason, granted_by=granted_by
    )
    audit.record(
        AuditAction.CREATE,
        obj=permission,
        student_id=locked.student_id,
        changes={"补录准许": [None, f"{week_monday:%Y-%m-%d}起的一周 {reason}"]},
    )
    return permission


UNLOCK_NOT_LOCKED = "这条记录现在没有锁定,教师可以直接修改,无需解锁。"


@transaction.atomic
def record_unlock(*, record: TalkRecord | HomeVisit, reason: str) -> None:
    """An officer reopens a talk record or a visit for its teacher for another EDIT_DAYS days, saying
    why (audited); the teacher is told in one notification. The row is locked first, so a second
    click of the same button finds it unlocked and is refused: one unlock, one notice."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "请填写解锁原因,教师会在通知中看到。"})
    if len(reason) > 200:
        raise ValidationError({"reason": "解锁原因最多200字。"})
    fresh = type(record).objects.select_for_update().only("pk", "created_at", "unlocked_until").get(pk=record.pk)
    if not fresh.locked_for_teacher():
        raise ValidationError(UNLOCK_NOT_LOCKED)
    before = fresh.unlocked_until
    record.unlocked_until = timezone.now() + dt.timedelta(days=record.EDIT_DAYS)
    record.unlock_reason = reason
    record.save(update_fields=["unlocked_until", "unlock_reason"])
    reminders.notify_record_unlocked(record=record)
    audit.record(
        AuditAction.UPDATE,
        obj=record,
        student_id=record.pairing.student_id,
        changes={"解锁至": [_moment(before), _moment(record.unlocked_until)], "解锁原因": [None, reason]},
    )


def _moment(value: dt.datetime | None) -> str | None:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else None


# --- Home visits -----------------------------------------------------------------------------
# Plain values, like the talk services: the page's form (HomeVisitForm.service_values), a command
# and a test call the same functions. Errors are keyed by the argument names, which are the form's
# field names. Both are all or nothing and durable (outermost): photo files are written during the
# transaction, and only an outermost transaction knows that a rollback happened, so that the files
# written can be deleted and no photo of a child's home stays on disk unreferenced.

VISIT_TEXT_FIELDS = (
    "visitors",
    "members_met",
    "living_conditions",
    "study_conditions",
    "needs_found",
    "family_feedback",
)
VISIT_VALUES = frozenset({"date", *VISIT_TEXT_FIELDS, "policies", "tracks", "help_forms"})
# The audit's names for what changed, in the order the form shows them.
VISIT_LABELS = {
    "date": "家访日期",
    "visitors": "走访人员",
    "members_met": "见到的家庭成员",
    "living_conditions": "生活条件",
    "study_conditions": "学习条件",
    "policies": "宣讲的资助政策",
    "needs_found": "发现的需求",
    "family_feedback": "家庭反馈意见",
    "tracks": "“五导”内容",
    "help_forms": "帮扶形式",
}
VISIT_TAGS = (
    ("tracks", TRACK_FIELDS, "请至少选择一项“五导”内容。"),
    ("help_forms", FORM_FIELDS, "请至少选择一种帮扶形式。"),
)

Errors = dict[str, list[str]]


def _visit_put(visit: HomeVisit, values: Mapping[str, Any]) -> Errors:
    """Put plain values on a visit (those given: an update may leave the others) and check its
    fields with the model's messages. The policies and the date rules are checked apart."""
    errors: Errors = {}
    for key, names, none_chosen in VISIT_TAGS:
        if key not in values:
            continue
        chosen = set(values[key])
        if chosen - set(names):
            errors[key] = [f"未知的五导内容或帮扶形式:{'、'.join(sorted(chosen - set(names)))}。"]
        elif not chosen:
            errors[key] = [none_chosen]
        for name in names:
            setattr(visit, name, name in chosen)
    for name in ("date", *VISIT_TEXT_FIELDS):
        if name in values:
            value = values[name]
            setattr(visit, name, value.strip() if isinstance(value, str) else value)
    try:
        visit.full_clean(exclude=["pairing", "term", "recorded_by"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    return errors


def _policy_ids(policies: Sequence[AidPolicy | int], *, stage: str, kept: frozenset[int] = frozenset()) -> list[int]:
    """The policies' ids; a ValidationError unless each is one offered for the student's stage (or
    one the visit already names, though it has been switched off since)."""
    ids = [p if isinstance(p, int) else p.pk for p in policies]
    offered = set(policies_for_stage(stage).values_list("pk", flat=True)) | kept
    if set(ids) - offered:
        raise ValidationError({"policies": "请只勾选适用于该学生学段、正在使用的资助政策。"})
    return ids


def _visit_date_errors(visit: HomeVisit, *, pairing: Pairing, errors: Errors) -> None:
    if "date" in errors:  # no date, or not a date: the field's own message says so
        return
    problem = visit_date_problem(pairing=pairing, day=visit.date, today=timezone.localdate())
    if problem:
        errors["date"] = [problem]


def _errors_with(errors: Errors, exc: ValidationError) -> Errors:
    return {**errors, **exc.message_dict}


def home_visit_create(
    *,
    pairing: Pairing,
    recorded_by: Any,
    date: dt.date,
    visitors: str,
    members_met: str,
    living_conditions: str,
    study_conditions: str,
    tracks: Sequence[str],
    help_forms: Sequence[str],
    policies: Sequence[AidPolicy | int] = (),
    needs_found: str = "",
    family_feedback: str = "",
    photos: Sequence[CleanPhoto] = (),
) -> HomeVisit:
    """Save a home visit with its photos, already checked and re-encoded by photos.clean_photo.
    The date rules (rules.visit_date_problem) are checked here, so that no path saves a visit on a
    day they refuse. All or nothing, durable: see the section's note."""
    visit = HomeVisit(pairing=pairing, recorded_by=recorded_by)
    values = {"date": date, "tracks": tracks, "help_forms": help_forms, "needs_found": needs_found}
    values |= {"visitors": visitors, "members_met": members_met, "family_feedback": family_feedback}
    values |= {"living_conditions": living_conditions, "study_conditions": study_conditions}
    errors = _visit_put(visit, values)
    _visit_date_errors(visit, pairing=pairing, errors=errors)
    try:
        policy_ids = _policy_ids(policies, stage=pairing.student.school.stage)
    except ValidationError as exc:
        errors = _errors_with(errors, exc)
    if len(photos) > HomeVisitPhoto.MAX_PER_VISIT:
        errors["photos"] = [f"每次家访最多上传{HomeVisitPhoto.MAX_PER_VISIT}张照片。"]
    if errors:
        raise ValidationError(errors)
    written: list[HomeVisitPhoto] = []
    try:
        with transaction.atomic(durable=True):
            # Held like a talk's: an officer's sign-off of the term at the same moment (which locks the
            # student's pairings) either counts this visit in its checklist or refuses it after.
            _pairing_locked(pairing)
            visit.term = Term.objects.containing(visit.date).get()
            ensure_term_open(student_id=pairing.student_id, term_id=visit.term.pk)
            visit.save()
            visit.policies.set(policy_ids)
            _photos_store(visit=visit, photos=photos, written=written)
            reminders.reminders_answer_visit(student_id=pairing.student_id, term_id=visit.term_id)
            figures.touch_students([pairing.student_id])  # a visit counts under each of her pairings
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


def _visit_state(visit: HomeVisit) -> dict[str, Any]:
    """What the audit compares, by the names of VISIT_LABELS."""
    state = {name: getattr(visit, name) for name in ("date", *VISIT_TEXT_FIELDS)}
    state["policies"] = set(visit.policies.values_list("pk", flat=True))
    for key, names, _ in VISIT_TAGS:
        state[key] = {name for name in names if getattr(visit, name)}
    return state


def home_visit_update(
    *,
    visit: HomeVisit,
    photos: Sequence[CleanPhoto] = (),
    remove: Sequence[int] = (),
    **values: Any,
) -> HomeVisit:
    """Save the teacher's changes to a visit: ``values`` are home_visit_create's (any subset; those
    left out stay as they are), ``photos`` are added and the photos whose ids are in ``remove``
    deleted. Refused once locked (HomeVisit.locked_for_teacher), for the dates a new visit refuses,
    and above MAX_PER_VISIT photos in all. Like create, all or nothing and durable: new files are
    deleted if it rolls back; removed photos' files are deleted only after it commits.
    """
    if set(values) - VISIT_VALUES:
        raise TypeError(f"home_visit_update() got unexpected values: {', '.join(sorted(set(values) - VISIT_VALUES))}")
    if visit.locked_for_teacher():
        raise ValidationError(VISIT_LOCKED)
    written: list[HomeVisitPhoto] = []
    try:
        with transaction.atomic(durable=True):
            pairing = _pairing_locked(visit.pairing_id)
            visit = HomeVisit.objects.get(pk=visit.pk)  # as stored: a form may have changed the one given
            ensure_term_open(student_id=pairing.student_id, term_id=visit.term_id)
            before = _visit_state(visit)
            errors = _visit_put(visit, values)
            _visit_date_errors(visit, pairing=pairing, errors=errors)
            policy_ids = None
            if "policies" in values:
                try:
                    policy_ids = _policy_ids(
                        values["policies"], stage=pairing.student.school.stage, kept=frozenset(before["policies"])
                    )
                except ValidationError as exc:
                    errors = _errors_with(errors, exc)
            removed = list(HomeVisitPhoto.objects.filter(visit=visit, pk__in=list(remove)))
            kept = HomeVisitPhoto.objects.filter(visit=visit).count() - len(removed)
            if kept + len(photos) > HomeVisitPhoto.MAX_PER_VISIT:
                errors["photos"] = [f"一次家访最多{HomeVisitPhoto.MAX_PER_VISIT}张照片。"]
            if errors:
                raise ValidationError(errors)
            visit.term = Term.objects.containing(visit.date).get()
            ensure_term_open(student_id=pairing.student_id, term_id=visit.term.pk)
            visit.save()
            if policy_ids is not None:
                visit.policies.set(policy_ids)
            after = _visit_state(visit)
            changed = [label for name, label in VISIT_LABELS.items() if before[name] != after[name]]
            HomeVisitPhoto.objects.filter(pk__in=[p.pk for p in removed]).delete()
            _photos_store(visit=visit, photos=photos, written=written)
            reminders.reminders_answer_visit(student_id=pairing.student_id, term_id=visit.term_id)
            figures.touch_students([pairing.student_id])  # its date may have moved it in or out of a term
            transaction.on_commit(lambda: _files_delete(removed))
            audit.record(
                AuditAction.UPDATE,
                obj=visit,
                student_id=pairing.student_id,
                changes={
                    "修改的栏目": [None, "、".join(changed) or "无"],
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
    ensure_term_open(student_id=pairing.student_id, term_id=term.pk)
    week = next((w for w in excusable_weeks(pairing=pairing, term=term, as_of=as_of) if w.monday == week_monday), None)
    if week is None:
        raise ValidationError({"week": "这一周不能免记(不是该结对本学期已到的教学周,或已免记)。"})
    has_talk = bool(weeks_with_talk(pairing=pairing, mondays=[week_monday]))
    if has_talk and not confirmed_has_talk:
        raise ValidationError({"week": ValidationError(WEEK_HAS_TALK, code="has_talk")})
    excused = ExcusedWeek.objects.create(
        pairing=pairing, week_monday=week_monday, reason=reason, note=note, excused_by=excused_by
    )
    figures.touch_pairings([pairing.pk])
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
    week_end = excused.week_monday + dt.timedelta(days=6)  # a term may start mid-week
    terms = Term.objects.filter(start_date__lte=week_end, end_date__gte=excused.week_monday)
    for term_id in terms.values_list("pk", flat=True):
        ensure_term_open(student_id=student_id, term_id=term_id)
    label = week_labels(school_id=school_id, mondays=[excused.week_monday])[excused.week_monday]  # with its term
    audit.record(
        AuditAction.DELETE,
        obj=excused,
        student_id=student_id,
        changes={"免记周": [f"{label} {excused.get_reason_display()} {excused.note}".strip(), None]},
    )
    excused.delete()
    figures.touch_pairings([excused.pairing_id])


# --- Terms moved -------------------------------------------------------------------------------
# Registered with pairing.services.term_dependent_register (GuidanceConfig.ready): a term's dates
# may move only if no talk or visit would fall outside it, and the tallies are recounted with it.


def term_talks_outside(term: Term, start: dt.date, end: dt.date) -> int:
    return TalkRecord.objects.filter(term=term).exclude(date__gte=start, date__lte=end).count()


def term_visits_outside(term: Term, start: dt.date, end: dt.date) -> int:
    return HomeVisit.objects.filter(term=term).exclude(date__gte=start, date__lte=end).count()


def term_tallies_rederive(term: Term) -> None:
    tally_rebuild(terms=[term])


def term_nothing_to_rederive(term: Term) -> None:
    """A visit's term is its date's; the engine counts visits live."""


# --- Notifications ---------------------------------------------------------------------------------


def notification_read(*, notice_id: int, recipient: Any) -> bool:
    """Mark one of the recipient's notifications read; a second reading keeps the first time. Returns
    whether it was unread."""
    return bool(unread_notices(recipient).filter(pk=notice_id).update(read_at=timezone.now()))


def notifications_read_all(*, recipient: Any) -> int:
    """Mark every unread notification of the recipient read; returns how many were."""
    return unread_notices(recipient).update(read_at=timezone.now())
