"""Demo data for the officer's term review (called by ``manage.py seed_demo`` after guidance's
seeder; zaoyang_aid/demo.py explains the protocol). At the demo school:

- the previous term: every case file signed off by demo_officer after the term ended (its records
  locked), with the checklist as it stood and, where an item failed, the officer's 签结说明; one of
  them was reopened once (a date to correct) and signed off again;
- this term: demo_teacher's first student 审核中, with one comment the teacher answered and one she
  has not yet (with its notification); a colleague's student 审核中 with a comment; another
  colleague's student already 已签结 (his term is locked); everyone else 未开始 (no row).

Rows are written in bulk (a few dozen), from a generator of their own, so the demo stays
deterministic and the seeders after this one draw what they drew before.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse

from guidance.models import Notification, ReminderLevel
from pairing.demo import GroundFloor
from pairing.models import Pairing, Term
from zaoyang_aid.access import Role
from zaoyang_aid.demo import DemoContext, raw_delete

from .checklist import checklists_for
from .models import CaseFileReview, ReviewComment, ReviewReopening, ReviewStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTES = (
    "期末已逐项核对,漏记周次系学生病假,已与包保教师当面核实。",
    "家访安排在寒假初,已电话确认家庭情况,同意签结。",
    "五三卡期末评定由班主任补做,纸质版已归档。",
)


def holds_records() -> bool:
    return CaseFileReview.objects.exists()


def flush(ctx: DemoContext) -> None:
    for model in (ReviewReopening, ReviewComment, CaseFileReview):
        raw_delete(ctx, model.objects.all())


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI)


def _school_pairings(ground: GroundFloor, term: Term, today: dt.date) -> list[Pairing]:
    """The demo school's pairings active at some time in the term, one per student (the latest)."""
    end = min(term.end_date, today)
    by_student: dict[int, Pairing] = {}
    for p in sorted(ground.pairings, key=lambda p: p.started_on):
        if p.student.school_id != ground.demo_school.pk or p.started_on > end:
            continue
        if p.ended_on is not None and p.ended_on <= term.start_date:
            continue
        by_student[p.student_id] = p
    return list(by_student.values())


def seed(ctx: DemoContext) -> None:
    ground: GroundFloor = ctx.shared["pairing"]
    rng = random.Random(f"reviews-{ctx.seed}")
    officer = next(
        t.user for t in ground.teachers if t.school_id == ground.demo_school.pk and t.user.role == Role.OFFICER
    )
    reviews: list[CaseFileReview] = []
    if len(ground.terms) >= 2:
        reviews += _signed_off_term(ctx, rng, ground, ground.terms[-2], officer)
    current, comments = _current_term(ctx, ground, ground.terms[-1], officer)
    reviews += current
    ctx.insert(CaseFileReview, reviews)
    stored = {
        (r.student_id, r.term_id): r
        for r in CaseFileReview.objects.filter(student_id__in=[r.student_id for r in reviews])
    }
    rows = []
    for (student_id, term_id), body, answer in comments:
        review = stored[(student_id, term_id)]
        answered = bool(answer)
        teacher = _teacher_user(ground, student_id)
        rows.append(
            ReviewComment(
                review=review,
                author=officer,
                body=body,
                answer=answer,
                answered_by=teacher if answered else None,
                answered_at=_at(ctx.today, 9) - dt.timedelta(days=1) if answered else None,
            )
        )
    ctx.insert(ReviewComment, rows)
    # auto_now_add stamped them now: dated a few days back, before their answers.
    ReviewComment.objects.filter(pk__in=[c.pk for c in rows]).update(
        created_at=_at(ctx.today, 16) - dt.timedelta(days=5)
    )
    _reopening(ctx, ground, stored, officer)
    _notify(ctx, ground, rows)


def _teacher_user(ground: GroundFloor, student_id: int) -> Any:
    pairing = next(p for p in ground.pairings if p.student_id == student_id and p.ended_on is None)
    return next(t.user for t in ground.teachers if t.pk == pairing.teacher_id)


def _signed_off_term(
    ctx: DemoContext, rng: random.Random, ground: GroundFloor, term: Term, officer: Any
) -> list[CaseFileReview]:
    pairings = _school_pairings(ground, term, ctx.today)
    as_of = min(term.end_date, ctx.today)
    checklists = checklists_for([p.student_id for p in pairings], term=term, as_of=as_of)
    signed_on = min(term.end_date + dt.timedelta(days=3), ctx.today)
    out = []
    for p in pairings:
        checklist = checklists[p.student_id]
        out.append(
            CaseFileReview(
                student_id=p.student_id,
                term=term,
                status=ReviewStatus.SIGNED_OFF,
                signed_by=officer,
                signed_at=_at(signed_on, 10) + dt.timedelta(minutes=rng.randrange(0, 300)),
                sign_note="" if checklist.ok else rng.choice(NOTES),
                checklist={**checklist.snapshot(min(signed_on, as_of)), "unanswered_comments": 0},
                version=2,
            )
        )
    return out


def _current_term(
    ctx: DemoContext, ground: GroundFloor, term: Term, officer: Any
) -> tuple[list[CaseFileReview], list[tuple[tuple[int, int], str, str]]]:
    mine = sorted(
        (p for p in ground.pairings if p.teacher_id == ground.demo_teacher.pk and p.ended_on is None),
        key=lambda p: p.started_on,
    )
    others = [
        p
        for p in _school_pairings(ground, term, ctx.today)
        if p.teacher_id != ground.demo_teacher.pk and p.ended_on is None
    ]
    reviews: list[CaseFileReview] = []
    comments: list[tuple[tuple[int, int], str, str]] = []
    if mine:
        first = mine[0].student_id
        reviews.append(CaseFileReview(student_id=first, term=term, status=ReviewStatus.IN_PROGRESS, version=3))
        comments += [
            (
                (first, term.pk),
                "9月份有一周谈话记录只写了“正常”,请补充谈话的具体内容和学生状态。",
                "已在下次谈话中补充记录,今后会写具体。",
            ),
            ((first, term.pk), "家访记录“发现的需求”一栏没有填写,请补充家访时了解到的需求。", ""),
        ]
    if others:
        second = others[0].student_id
        reviews.append(CaseFileReview(student_id=second, term=term, status=ReviewStatus.IN_PROGRESS, version=2))
        comments.append(((second, term.pk), "五三卡的“承诺”三条内容相同,请与学生重新商量填写。", ""))
    if len(others) > 1:
        third = others[1].student_id
        checklist = checklists_for([third], term=term, as_of=ctx.today)[third]
        signed_on = ctx.today - dt.timedelta(days=2)
        reviews.append(
            CaseFileReview(
                student_id=third,
                term=term,
                status=ReviewStatus.SIGNED_OFF,
                signed_by=officer,
                signed_at=_at(signed_on, 8),
                sign_note="" if checklist.ok else "经与包保教师核实,未达标项目已有书面说明,同意签结。",
                checklist={**checklist.snapshot(signed_on), "unanswered_comments": 0},
                version=2,
            )
        )
    return reviews, comments


def _reopening(ctx: DemoContext, ground: GroundFloor, stored: dict, officer: Any) -> None:
    """One previous-term file was reopened once (a visit date to correct) and signed off again."""
    if len(ground.terms) < 2:
        return
    previous = sorted((r for r in stored.values() if r.term_id == ground.terms[-2].pk), key=lambda r: r.student_id)
    if previous:
        ctx.insert(
            ReviewReopening,
            [ReviewReopening(review=previous[0], by=officer, reason="家访日期录入有误,重新打开供教师更正。")],
        )


def _notify(ctx: DemoContext, ground: GroundFloor, comments: list[ReviewComment]) -> None:
    notices = []
    for c in comments:
        if c.answer:
            continue
        review = c.review
        student = next(s for s in ground.students if s.pk == review.student_id)
        link = f"{reverse('casefiles:review_detail', args=[student.pk])}?term={review.term_id}"
        notices.append(
            Notification(
                recipient=_teacher_user(ground, student.pk),
                level=ReminderLevel.TEACHER,
                title=f"{student.name}:帮扶档案有新的审核意见",
                body=f"学校资助专干对{student.name}的帮扶档案提出了审核意见,请查看并答复:{c.body}"[:500],
                link=link,
            )
        )
    ctx.insert(Notification, notices, label="档案审核通知")
