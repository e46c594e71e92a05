"""The mechanism's rules about dates, shared by forms (for the message at the field) and services
(so that no path can write a record that breaks them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pairing import calendars
from pairing.models import Pairing, Term
from zaoyang_aid import calendar


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class SchoolWeekAt:
    term: Term
    week: calendar.SchoolWeek
    weeks: list[calendar.SchoolWeek]  # all the term's school weeks for the school (the talk form's labels)


def school_week_at(*, school_id: int, day: dt.date, known: SchoolWeekAt | None = None) -> SchoolWeekAt | None:
    """The term and school week that ``day`` falls in for a school, or None outside school weeks.

    ``known``: the same school's term and weeks the caller already has (terms do not overlap: a day
    inside that term is in no other), used without a query when ``day`` falls in that term."""
    if known is not None and known.term.start_date <= day <= known.term.end_date:
        week = calendar.week_containing(known.weeks, day)
        return SchoolWeekAt(known.term, week, known.weeks) if week is not None else None
    held = calendars.snapshot()
    term = held.containing(day)
    if term is None:
        return None
    weeks = held.school_weeks(term, school_id)
    week = calendar.week_containing(weeks, day)
    return SchoolWeekAt(term, week, weeks) if week is not None else None


def school_week_of(*, school_id: int, monday: dt.date) -> SchoolWeekAt | None:
    """The school week beginning on ``monday`` for a school (its Monday may be a holiday or fall
    before the term's first day), or None when that week has no school day."""
    sunday = monday + dt.timedelta(days=6)
    held = calendars.snapshot()
    term = held.overlapping(monday, sunday)
    if term is None:
        return None
    weeks = held.school_weeks(term, school_id)
    week = next((w for w in weeks if w.monday == monday), None)
    return SchoolWeekAt(term, week, weeks) if week is not None else None


def _pairing_date_problem(*, pairing: Pairing, day: dt.date, today: dt.date, what: str) -> str | None:
    """The checks every record of a pairing shares: not in the future, a live pairing, not before it."""
    if day > today:
        return "日期不能晚于今天。"
    if not pairing.is_active:
        return "该结对已结束,不能再添加记录。"
    if day < pairing.started_on:
        return f"结对从{_day(pairing.started_on)}开始,{what}不能早于结对日期。"
    return None


def open_weeks(*, school_id: int, today: dt.date, known: SchoolWeekAt | None = None) -> list[calendar.SchoolWeek]:
    """The school weeks a teacher may date a talk in without anyone's permission: the school week
    of ``today`` (or, in a vacation, the last one before it) and the school week before that, in
    this term or across the break into the previous one. Older weeks need an officer's 补录.

    ``known``: a term's weeks the caller already has (school_week_at's), not computed again; the
    previous term's weeks are computed only when this term has fewer than two so far."""
    held = calendars.snapshot()
    weeks: list[calendar.SchoolWeek] = []
    for term in held.started_by(today, 2):  # newest first
        term_weeks = (
            known.weeks if known is not None and known.term.pk == term.pk else held.school_weeks(term, school_id)
        )
        weeks = [w for w in term_weeks if w.monday <= today] + weeks
        if len(weeks) >= 2:
            break
    return weeks[-2:]


def talk_date_check(
    *,
    pairing: Pairing,
    day: dt.date,
    today: dt.date,
    allowed_mondays: frozenset[dt.date] = frozenset(),
    known: SchoolWeekAt | None = None,
) -> tuple[str | None, SchoolWeekAt | None]:
    """talk_date_problem's answer, and the term and school week ``day`` falls in when it may be
    recorded (the talk services take its term from it, without locating it a second time).
    ``known``: as for school_week_at (the talk form's term of the day it opened on)."""
    problem = _pairing_date_problem(pairing=pairing, day=day, today=today, what="记录日期")
    if problem:
        return problem, None
    located = school_week_at(school_id=pairing.student.school_id, day=day, known=known)
    if located is None:
        return "这一天不在任何学期的教学周内(假期、法定节假日所在的整周或学期以外)。", None
    monday = calendar.monday_of(day)
    if monday in allowed_mondays:
        return None, located
    window = open_weeks(school_id=pairing.student.school_id, today=today, known=located)
    if window and monday < window[0].monday:
        return (
            f"只能记录本周或上一教学周的谈心谈话;{located.week.label}已过补记期限,如需补录请联系学校资助专干准许补录。",
            None,
        )
    return None, located


def talk_date_problem(
    *,
    pairing: Pairing,
    day: dt.date,
    today: dt.date,
    allowed_mondays: frozenset[dt.date] = frozenset(),
    known: SchoolWeekAt | None = None,
) -> str | None:
    """Why a talk cannot be recorded on ``day`` for ``pairing``, in Chinese; None when it can.

    ``allowed_mondays`` are weeks outside the open window that may be dated all the same: the
    officer's 补录 permissions, and a record's own week when it is edited."""
    return talk_date_check(pairing=pairing, day=day, today=today, allowed_mondays=allowed_mondays, known=known)[0]


def visit_date_problem(*, pairing: Pairing, day: dt.date, today: dt.date) -> str | None:
    """Why a home visit cannot be recorded on ``day``; visits may fall on any day of a term."""
    problem = _pairing_date_problem(pairing=pairing, day=day, today=today, what="家访日期")
    if problem:
        return problem
    if calendars.snapshot().containing(day) is None:
        return "这一天不在任何学期内。"
    return None
