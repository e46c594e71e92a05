"""The officer's term checklist of a case file, computed live for many students at once.

Five items, each read from the one place that defines it (nothing here restates who owes a talk):

1. 每周记录完整 (``weekly``): no owed week of the term ended unanswered, under any of the student's
   pairings in the term, as the compliance engine (guidance.compliance) counts them: excused weeks
   and weeks while the student was away are not owed; the current week is never missed.
2. 本学期已家访 (``visit``): the engine's home visit, under any pairing of the student.
3. 五三卡已填写并评定 (``card``): the term's 五三卡 exists; from guidance.models.review_opens_on(term)
   it must also have its term-end review.
4. 发现的问题已跟进 (``problems``): every talk of the term that wrote down 发现的问题 has a later
   talk or home visit of the student in the term (a later date, under any pairing). Enough to check
   the latest such talk: a record after it is after every earlier one.
5. 标记的记录已答复 (``flags``): no record of the term the officer flagged for quality is left
   unanswered (guidance.quality.unanswered_flags: every flag of the term's records passed).

``checklists_for`` runs a constant number of queries whatever the number of students: the engine's
(about six), one for the 五三卡, one for the talks with problems, one for the last talk and visit,
one for the flags.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Q
from django.utils import timezone

from guidance import quality
from guidance.compliance import compliance_for
from guidance.models import FiveThreeCard, HomeVisit, TalkRecord, review_opens_on
from pairing.models import Pairing, Term

ITEMS = (
    ("weekly", "每周谈心谈话记录完整"),
    ("visit", "本学期已家访"),
    ("card", "五三卡已填写并期末评定"),
    ("problems", "发现的问题已跟进"),
    ("flags", "被标记的记录已答复"),
)
ITEM_LABELS = dict(ITEMS)


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    ok: bool
    detail: str = ""  # what fails, in the officer's words; or what was found


@dataclass
class Checklist:
    student_id: int
    items: list[Item] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def failing(self) -> list[Item]:
        return [item for item in self.items if not item.ok]

    def item(self, key: str) -> Item:
        return next(i for i in self.items if i.key == key)

    def snapshot(self, as_of: dt.date) -> dict[str, Any]:
        """What the review keeps at sign-off (CaseFileReview.checklist)."""
        return {
            "as_of": as_of.isoformat(),
            "items": [{"key": i.key, "label": i.label, "ok": i.ok, "detail": i.detail} for i in self.items],
        }


def unanswered_flags(*, student_ids: list[int], term_id: int) -> dict[int, int]:
    """Per student, the records of the term flagged for quality and not passed yet (待处理, returned
    to the teacher, or revised and waiting for the officer): guidance.quality's one answer (1 query)."""
    return quality.unanswered_flags(student_ids=student_ids, term_id=term_id)


def _day(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def checklists_for(student_ids: Iterable[int], *, term: Term, as_of: dt.date | None = None) -> dict[int, Checklist]:
    """Per student id, the term's checklist as it stands on ``as_of`` (today by default)."""
    ids = list(student_ids)
    if not ids:
        return {}
    as_of = as_of or timezone.localdate()
    missed: dict[int, int] = defaultdict(int)
    visited: dict[int, int] = {}
    pairings = Pairing.objects.filter(student_id__in=ids)
    for row in compliance_for(pairings, term=term, as_of=as_of).values():
        missed[row.student_id] += row.missed_weeks
        visited[row.student_id] = row.visits
    cards = dict(
        FiveThreeCard.objects.filter(student_id__in=ids, term=term).order_by().values_list("student_id", "reviewed_at")
    )
    problems, last_record = _problems_and_last_records(ids, term, as_of)
    flags = unanswered_flags(student_ids=ids, term_id=term.pk)
    card_review_due = as_of >= review_opens_on(term)
    result = {}
    for student_id in ids:
        items = [
            _weekly(missed.get(student_id, 0)),
            Item(
                "visit",
                ITEM_LABELS["visit"],
                visited.get(student_id, 0) > 0,
                "" if visited.get(student_id) else "本学期还没有家访记录",
            ),
            _card(student_id in cards, cards.get(student_id) is not None, card_review_due, term),
            _problems(problems.get(student_id), last_record.get(student_id)),
            _flags(flags.get(student_id, 0)),
        ]
        result[student_id] = Checklist(student_id, items)
    return result


def _weekly(missed: int) -> Item:
    return Item("weekly", ITEM_LABELS["weekly"], missed == 0, f"有{missed}个应记录的教学周没有记录" if missed else "")


def _card(filled: bool, reviewed: bool, review_due: bool, term: Term) -> Item:
    label = ITEM_LABELS["card"]
    if not filled:
        return Item("card", label, False, "本学期还没有填写五三卡")
    if not review_due:
        return Item("card", label, True, f"已填写;期末评定从{review_opens_on(term):%Y年%-m月%-d日}开始")
    return Item("card", label, reviewed, "" if reviewed else "五三卡尚未期末评定")


def _problems(last_problem: dt.date | None, last_record: dt.date | None) -> Item:
    label = ITEM_LABELS["problems"]
    if last_problem is None:
        return Item("problems", label, True, "本学期记录中没有写明发现的问题")
    if last_record is not None and last_record > last_problem:
        return Item("problems", label, True)
    return Item("problems", label, False, f"{_day(last_problem)}谈话发现的问题之后还没有跟进的谈话或家访")


def _flags(unanswered: int) -> Item:
    return Item(
        "flags", ITEM_LABELS["flags"], unanswered == 0, f"有{unanswered}条被标记的记录未答复" if unanswered else ""
    )


def _problems_and_last_records(
    ids: list[int], term: Term, as_of: dt.date
) -> tuple[dict[int, dt.date], dict[int, dt.date]]:
    """Per student: the date of the term's last talk with 发现的问题, and of the last talk or visit."""
    talks = (
        TalkRecord.objects.filter(pairing__student_id__in=ids, term=term, date__lte=as_of)
        .order_by()
        .values("pairing__student_id")
        .annotate(last=Max("date"), last_problem=Max("date", filter=~Q(problems="")))
        .values_list("pairing__student_id", "last", "last_problem")
    )
    problems: dict[int, dt.date] = {}
    last: dict[int, dt.date] = {}
    for student_id, last_talk, last_problem in talks:
        last[student_id] = last_talk
        if last_problem is not None:
            problems[student_id] = last_problem
    visits = (
        HomeVisit.objects.filter(pairing__student_id__in=ids, term=term, date__lte=as_of)
        .order_by()
        .values("pairing__student_id")
        .annotate(last=Max("date"))
        .values_list("pairing__student_id", "last")
    )
    for student_id, last_visit in visits:
        if student_id not in last or last_visit > last[student_id]:
            last[student_id] = last_visit
    return problems, last
