"""The mechanism's rules about dates, shared by forms (for the message at the field) and services
(so that no path can write a record that breaks them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pairing.models import Pairing, Term
from zaoyang_aid import calendar


def _day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class SchoolWeekAt:
    term: Term
    week: calendar.SchoolWeek


def school_week_at(*, school_id: int, day: dt.date) -> SchoolWeekAt | None:
    """The term and school week that ``day`` falls in for a school, or None outside school weeks."""
    term = Term.objects.select_related("school_year").containing(day).first()
    if term is None:
        return None
    week = calendar.week_containing(term.school_weeks(school_id), day)
    return SchoolWeekAt(term, week) if week is not None else None


def _pairing_date_problem(*, pairing: Pairing, day: dt.date, today: dt.date, what: str) -> str | None:
    """The checks every record of a pairing shares: not in the future, a live pairing, not before it."""
    if day > today:
        return "日期不能晚于今天。"
    if not pairing.is_active:
        return "该结对已结束,不能再添加记录。"
    if day < pairing.started_on:
        return f"结对从{_day(pairing.started_on)}开始,{what}不能早于结对日期。"
    return None


def talk_date_problem(*, pairing: Pairing, day: dt.date, today: dt.date) -> str | None:
    """Why a talk cannot be recorded on ``day`` for ``pairing``, in Chinese; None when it can."""
    problem = _pairing_date_problem(pairing=pairing, day=day, today=today, what="记录日期")
    if problem:
        return problem
    located = school_week_at(school_id=pairing.student.school_id, day=day)
    if located is None:
        return "这一天不在任何学期的教学周内(假期、法定节假日所在的整周或学期以外)。"
    return None


def visit_date_problem(*, pairing: Pairing, day: dt.date, today: dt.date) -> str | None:
    """Why a home visit cannot be recorded on ``day``; visits may fall on any day of a term."""
    problem = _pairing_date_problem(pairing=pairing, day=day, today=today, what="家访日期")
    if problem:
        return problem
    if Term.objects.containing(day).first() is None:
        return "这一天不在任何学期内。"
    return None
