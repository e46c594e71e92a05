"""五三卡: filling a student's card for a term, its term-end review, and the reads the pages share.

Both writes take the ``version`` the form read and refuse, writing nothing, when someone saved the
card since (optimistic locking: two people may open the same card, only the first save wins and the
second is told to reload, so that neither silently overwrites the other).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from pairing.models import Pairing, Student, Term
from zaoyang_aid import audit
from zaoyang_aid.access import scope_of
from zaoyang_aid.locks import ensure_term_open
from zaoyang_aid.models import AuditAction

from .models import (
    ITEM_MAX_LENGTH,
    ITEMS_PER_SECTION,
    MARK_NOTE_MAX_LENGTH,
    REVIEW_WEEKS_BEFORE_TERM_END,
    REVIEWED_SECTIONS,
    CardMark,
    CardSection,
    FiveThreeCard,
    review_opens_on,
)

STALE = "这张五三卡已被他人修改,请刷新后再改。"
NOT_PAIRED = "只有正在包保这名学生的教师可以填写五三卡。"
REVIEW_NOT_OPEN = "期末评定从{day:%Y年%-m月%-d日}(学期结束前{weeks}周)开始。"
MARK_FIELDS = {CardSection.BREAKTHROUGHS: "breakthrough_marks", CardSection.PROMISES: "promise_marks"}


def item_field(section: str, index: int) -> str:
    """The form field of one item (``highlights_1``); errors are raised at these names."""
    return f"{section}_{index + 1}"


def mark_field(section: str, index: int) -> str:
    return f"{section}_{index + 1}_mark"


def note_field(section: str, index: int) -> str:
    return f"{section}_{index + 1}_note"


def may_edit(user: Any, student: Student) -> bool:
    """Whoever 包保 the student now fills in and reviews the card (any school role with a staff row)."""
    teacher_id = scope_of(user).teacher_id
    return teacher_id is not None and Pairing.objects.active().filter(student=student, teacher_id=teacher_id).exists()


def review_open(term: Term, today: dt.date | None = None) -> bool:
    return (today or timezone.localdate()) >= review_opens_on(term)


def _clean_items(items: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, list[str]] = {}
    for section in CardSection:
        given = list(items.get(section.value, ()))[:ITEMS_PER_SECTION]
        given += [""] * (ITEMS_PER_SECTION - len(given))
        cleaned[section.value] = [str(v).strip() for v in given]
        for i, value in enumerate(cleaned[section.value]):
            if not value:
                errors[item_field(section, i)] = [f"请填写第{i + 1}条{section.label}。"]
            elif len(value) > ITEM_MAX_LENGTH:
                errors[item_field(section, i)] = [f"每条{section.label}不超过{ITEM_MAX_LENGTH}字(现有{len(value)}字)。"]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def five_three_card_save(
    *, student: Student, term: Term, by: Any, items: Mapping[str, Sequence[str]], version: int
) -> FiveThreeCard:
    """Create or change ``student``'s card for ``term``. ``items`` maps each CardSection value to its
    three strings; ``version`` is the card's version as read (0 when there was no card yet)."""
    if not may_edit(by, student):
        raise ValidationError(NOT_PAIRED)
    ensure_term_open(student_id=student.pk, term_id=term.pk)
    cleaned = _clean_items(items)
    card = FiveThreeCard.objects.filter(student=student, term=term).first()
    if card is None:
        if version != 0:
            raise ValidationError(STALE)
        try:
            with transaction.atomic():  # a second first save of the same card: refused, not a 500
                card = FiveThreeCard.objects.create(student=student, term=term, recorded_by=by, **cleaned)
        except IntegrityError:
            raise ValidationError(STALE) from None
        audit.record(AuditAction.CREATE, obj=card, student_id=student.pk, changes={"五三卡": [None, str(term)]})
        return card
    before = {s.value: getattr(card, s.value) for s in CardSection}
    # QuerySet.update skips auto_now: the moment of the change is written with it.
    stamp = {"updated_at": timezone.now(), "version": F("version") + 1}
    if not FiveThreeCard.objects.filter(pk=card.pk, version=version).update(**cleaned, **stamp):
        raise ValidationError(STALE)
    card.refresh_from_db()
    changed = [str(s.label) for s in CardSection if before[s.value] != cleaned[s.value]]
    audit.record(
        AuditAction.UPDATE, obj=card, student_id=student.pk, changes={"修改的栏目": [None, "、".join(changed) or "无"]}
    )
    return card


def _clean_marks(marks: Mapping[str, Sequence[Mapping[str, str]]]) -> dict[str, list[dict[str, str]]]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, list[dict[str, str]]] = {}
    for section in REVIEWED_SECTIONS:
        given = list(marks.get(section.value, ()))[:ITEMS_PER_SECTION]
        given += [{}] * (ITEMS_PER_SECTION - len(given))
        rows = []
        for i, entry in enumerate(given):
            mark, note = str(entry.get("mark", "")), str(entry.get("note", "")).strip()
            if mark not in CardMark.values:
                errors[mark_field(section, i)] = [f"请评定第{i + 1}条{section.label}:已做到、在努力或未做到。"]
            if len(note) > MARK_NOTE_MAX_LENGTH:
                errors[note_field(section, i)] = [f"说明不超过{MARK_NOTE_MAX_LENGTH}字(现有{len(note)}字)。"]
            rows.append({"mark": mark, "note": note})
        cleaned[MARK_FIELDS[section]] = rows
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def five_three_card_review(
    *, card: FiveThreeCard, by: Any, marks: Mapping[str, Sequence[Mapping[str, str]]], version: int
) -> FiveThreeCard:
    """Mark each 突破口 and 承诺 at term end. ``marks`` maps ``breakthroughs`` and ``promises`` to three
    {"mark": CardMark value, "note": text}; a second review changes the marks (audited)."""
    if not may_edit(by, card.student):
        raise ValidationError(NOT_PAIRED)
    if not review_open(card.term):
        opens = review_opens_on(card.term)
        raise ValidationError(REVIEW_NOT_OPEN.format(day=opens, weeks=REVIEW_WEEKS_BEFORE_TERM_END))
    ensure_term_open(student_id=card.student_id, term_id=card.term_id)
    cleaned = _clean_marks(marks)
    first = card.reviewed_at is None
    updated = FiveThreeCard.objects.filter(pk=card.pk, version=version).update(
        **cleaned, reviewed_at=timezone.now(), reviewed_by=by, updated_at=timezone.now(), version=F("version") + 1
    )
    if not updated:
        raise ValidationError(STALE)
    card.refresh_from_db()
    summary = "、".join(
        f"{s.label}{i + 1}{CardMark(m['mark']).label}"
        for s in REVIEWED_SECTIONS
        for i, m in enumerate(cleaned[MARK_FIELDS[s]])
    )
    audit.record(
        AuditAction.UPDATE,
        obj=card,
        student_id=card.student_id,
        changes={"期末评定" if first else "修改期末评定": [None, summary]},
    )
    return card
