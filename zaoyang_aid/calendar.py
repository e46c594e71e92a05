"""The term calendar: which days are school days and which weeks are school weeks.

Pure functions over dates. Statutory holidays and 调休 make-up working days come from the maintained
``chinese_calendar`` package; vacations and school closures come from the admin (``pairing.Closure``
rows, passed in here as date ranges). A school week is a Monday-to-Sunday week that has at least one
school day. For a year the package does not know yet, the calendar falls back to "Monday to Friday
are school days" plus the admin's closures and 调休 make-up days (``DateRange.makes_up``), and
``year_is_known`` tells the admin pages to warn until the admin has entered that year's holidays.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar

logger = logging.getLogger(__name__)

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date  # inclusive
    # A 调休 make-up: these days are school days although the national calendar rests (a Saturday
    # worked for a holiday the package does not know yet, or a school's own make-up day). Otherwise
    # the range closes school.
    makes_up: bool = False

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


@lru_cache(maxsize=64)
def year_is_known(year: int) -> bool:
    """Whether chinese_calendar has the State Council's holiday arrangement for ``year``."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        logger.warning("chinese_calendar has no data for %s: falling back to weekends only", year)
        return False
    return True


@lru_cache(maxsize=4096)
def is_working_day(day: dt.date) -> bool:
    """A national working day: weekdays that are not holidays, plus 调休 make-up Saturdays/Sundays."""
    if year_is_known(day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def holiday_name(day: dt.date) -> str | None:
    """The statutory holiday's Chinese name for ``day``, or None."""
    if not year_is_known(day.year):
        return None
    on_holiday, holiday = chinese_calendar.get_holiday_detail(day)
    if not on_holiday or holiday is None:
        return None
    return HOLIDAY_NAMES.get(str(holiday), str(holiday))


HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def is_school_day(day: dt.date, term: DateRange, closures: Iterable[DateRange] = ()) -> bool:
    """In the term, not closed, and a working day: nationally, or by an admin's 调休 make-up range.
    A closure wins over a make-up day that it overlaps (the school is shut that day)."""
    if day not in term:
        return False
    closures = tuple(closures)
    if any(day in c for c in closures if not c.makes_up):
        return False
    return is_working_day(day) or any(day in c for c in closures if c.makes_up)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


@dataclass(frozen=True)
class SchoolWeek:
    """A week of a term: its number in the term (1-based, counting only school weeks) and its days."""

    number: int
    monday: dt.date
    school_days: tuple[dt.date, ...]

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.monday <= day <= self.sunday

    @property
    def label(self) -> str:
        return f"第{self.number}周({self.monday:%m.%d}-{self.sunday:%m.%d})"


def school_weeks(term: DateRange, closures: Iterable[DateRange] = ()) -> list[SchoolWeek]:
    """The term's school weeks in order. Weeks with no school day (holidays, vacations) are skipped."""
    closures = tuple(closures)
    weeks: list[SchoolWeek] = []
    monday = monday_of(term.start)
    while monday <= term.end:
        week_days = tuple(d for d in days(monday, monday + dt.timedelta(days=6)) if is_school_day(d, term, closures))
        if week_days:
            weeks.append(SchoolWeek(number=len(weeks) + 1, monday=monday, school_days=week_days))
        monday += dt.timedelta(days=7)
    return weeks


def week_containing(weeks: Iterable[SchoolWeek], day: dt.date) -> SchoolWeek | None:
    for week in weeks:
        if day in week:
            return week
    return None


def school_year_start(day: dt.date) -> int:
    """The first calendar year of the school year that ``day`` falls in (Sept-Aug years)."""
    return day.year if day.month >= 8 else day.year - 1


def school_year_name(start_year: int) -> str:
    return f"{start_year}-{start_year + 1}学年"


TERM_NUMBER_NAMES = {1: "第一学期", 2: "第二学期"}


def term_name(start_year: int, number: int) -> str:
    return f"{school_year_name(start_year)}{TERM_NUMBER_NAMES[number]}"
