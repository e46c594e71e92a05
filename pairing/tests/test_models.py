"""The ground floor's models: terms and their weeks, pairings, 困难等级 and the reference data."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from pairing.models import (
    Closure,
    ClosureKind,
    HardshipLevel,
    PairingEndReason,
    SpecialCategory,
    Stage,
    Term,
    Town,
    TownKind,
)

from .factories import PairingFactory, SchoolFactory, SchoolYearFactory, TeacherFactory, TermFactory

pytestmark = pytest.mark.django_db

D = dt.date
TOWNS_CSV = Path(__file__).resolve().parent.parent / "data" / "zaoyang_towns.csv"


@pytest.fixture
def spring() -> Term:
    """2025-2026学年第二学期."""
    return TermFactory(
        school_year=SchoolYearFactory(start_year=2025), number=2, start_date=D(2026, 3, 2), end_date=D(2026, 7, 3)
    )


@pytest.fixture
def autumn() -> Term:
    """2026-2027学年第一学期 (the factory's default dates)."""
    return TermFactory()


# --- Terms -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [(D(2026, 3, 2), "spring"), (D(2026, 7, 3), "spring"), (D(2026, 10, 1), "autumn"), (D(2027, 1, 22), "autumn")],
)
def test_the_current_term_is_the_one_containing_the_day(
    spring: Term, autumn: Term, day: dt.date, expected: str
) -> None:
    assert Term.objects.current(day) == {"spring": spring, "autumn": autumn}[expected]


@pytest.mark.parametrize("day", [D(2026, 7, 4), D(2026, 8, 15), D(2026, 8, 31), D(2026, 2, 1)])
def test_there_is_no_current_term_between_terms(spring: Term, autumn: Term, day: dt.date) -> None:
    assert Term.objects.current(day) is None


def test_the_current_term_defaults_to_today(monkeypatch: pytest.MonkeyPatch, autumn: Term) -> None:
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: D(2026, 11, 2))

    assert Term.objects.current() == autumn


def test_a_vacation_page_falls_back_to_the_last_term_that_started(spring: Term, autumn: Term) -> None:
    assert Term.objects.latest_started(D(2026, 8, 15)) == spring


def test_a_term_is_named_after_its_school_year_and_number(spring: Term, autumn: Term) -> None:
    assert str(autumn) == "2026-2027学年第一学期"
    assert spring.name == "2025-2026学年第二学期"
    assert str(spring.school_year) == "2025-2026学年"


def test_a_term_overlapping_another_is_refused_with_a_chinese_message(autumn: Term) -> None:
    second = Term(school_year=autumn.school_year, number=2, start_date=D(2027, 1, 20), end_date=D(2027, 7, 2))

    with pytest.raises(ValidationError) as caught:
        second.clean()

    assert caught.value.messages == ["与2026-2027学年第一学期(2026-09-01至2027-01-22)的日期重叠。"]


def test_a_term_does_not_overlap_itself(autumn: Term) -> None:
    autumn.end_date = D(2027, 1, 29)

    autumn.full_clean()


def test_a_term_ending_before_it_starts_is_refused() -> None:
    term = Term(school_year=SchoolYearFactory(), number=1, start_date=D(2026, 9, 1), end_date=D(2026, 8, 31))

    with pytest.raises(ValidationError) as caught:
        term.full_clean()

    assert caught.value.message_dict == {"end_date": ["结束日期必须晚于开学日期。"]}


def test_a_term_longer_than_200_days_is_refused() -> None:
    term = Term(school_year=SchoolYearFactory(), number=1, start_date=D(2026, 9, 1), end_date=D(2027, 7, 1))

    with pytest.raises(ValidationError) as caught:
        term.clean()

    assert caught.value.message_dict == {"end_date": ["一个学期不应超过200天,请检查日期。"]}


def test_the_database_refuses_a_term_that_does_not_end_after_it_starts() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Term.objects.create(school_year=SchoolYearFactory(), number=1, start_date=D(2026, 9, 1), end_date=D(2026, 9, 1))


def test_the_database_refuses_two_first_terms_in_one_school_year(autumn: Term) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Term.objects.create(school_year=autumn.school_year, number=1, start_date=D(2027, 9, 1), end_date=D(2028, 1, 20))


def test_school_weeks_use_county_closures_and_the_schools_own_but_not_other_schools(autumn: Term) -> None:
    school, other = SchoolFactory(), SchoolFactory()
    Closure.objects.create(
        name="秋季运动会", kind=ClosureKind.HOLIDAY, start_date=D(2026, 11, 2), end_date=D(2026, 11, 6)
    )
    Closure.objects.create(
        name="考场", kind=ClosureKind.CLOSURE, start_date=D(2026, 11, 9), end_date=D(2026, 11, 13), school=school
    )
    Closure.objects.create(
        name="停电", kind=ClosureKind.CLOSURE, start_date=D(2026, 11, 16), end_date=D(2026, 11, 20), school=other
    )
    mondays = [D(2026, 11, 2), D(2026, 11, 9), D(2026, 11, 16)]

    def open_mondays(school_id: int | None) -> list[bool]:
        weeks = autumn.school_weeks(school_id)
        return [any(w.monday == monday for w in weeks) for monday in mondays]

    assert open_mondays(None) == [False, True, True]
    assert open_mondays(school.pk) == [False, False, True]
    assert open_mondays(other.pk) == [False, True, False]
    assert len(autumn.school_weeks(school.pk)) == len(autumn.school_weeks()) - 1


def test_a_term_in_a_year_the_package_does_not_know_says_so(spring: Term, autumn: Term) -> None:
    assert spring.calendar_years_known
    assert not autumn.calendar_years_known  # ends in January 2027


def test_the_database_refuses_a_closure_ending_before_it_starts() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Closure.objects.create(name="寒假", kind=ClosureKind.WINTER, start_date=D(2027, 1, 23), end_date=D(2027, 1, 22))


# --- Pairings --------------------------------------------------------------------------------------


def test_the_database_refuses_a_second_active_pairing_for_a_student() -> None:
    first = PairingFactory()
    colleague = TeacherFactory(school=first.teacher.school)

    with pytest.raises(IntegrityError), transaction.atomic():
        PairingFactory(student=first.student, teacher=colleague)


def test_an_ended_pairing_and_a_new_active_one_can_stand_together() -> None:
    first = PairingFactory(ended_on=D(2026, 12, 31), end_reason=PairingEndReason.TRANSFER)
    colleague = TeacherFactory(school=first.teacher.school)

    second = PairingFactory(student=first.student, teacher=colleague, started_on=D(2027, 1, 1))

    assert list(first.student.pairings.active()) == [second]
    assert not first.is_active and second.is_active


def test_the_database_refuses_an_ended_pairing_without_a_reason() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PairingFactory(ended_on=D(2026, 12, 31), end_reason="")


def test_the_database_refuses_a_pairing_ending_before_it_started() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PairingFactory(started_on=D(2026, 9, 1), ended_on=D(2026, 8, 31), end_reason=PairingEndReason.OTHER)


def test_a_pairing_is_active_up_to_the_day_before_it_ends() -> None:
    pairing = PairingFactory(started_on=D(2026, 9, 1), ended_on=D(2026, 12, 31), end_reason=PairingEndReason.GRADUATION)

    assert not pairing.active_on(D(2026, 8, 31))
    assert pairing.active_on(D(2026, 12, 30))
    assert not pairing.active_on(D(2026, 12, 31))


# --- 困难等级 --------------------------------------------------------------------------------------


def test_a_stage_without_its_own_levels_uses_the_defaults() -> None:
    names = list(HardshipLevel.objects.for_stage(Stage.JUNIOR).values_list("name", flat=True))

    assert names == ["特别困难", "困难", "一般困难"]


def test_a_stage_with_its_own_levels_uses_only_those() -> None:
    HardshipLevel.objects.create(name="一档", stage=Stage.SENIOR, order=10)
    HardshipLevel.objects.create(name="二档", stage=Stage.SENIOR, order=20)

    assert list(HardshipLevel.objects.for_stage(Stage.SENIOR).values_list("name", flat=True)) == ["一档", "二档"]
    assert HardshipLevel.objects.for_stage(Stage.JUNIOR).count() == 3


def test_a_stage_whose_own_levels_are_all_switched_off_falls_back_to_the_defaults() -> None:
    HardshipLevel.objects.create(name="一档", stage=Stage.SENIOR, is_active=False)

    assert HardshipLevel.objects.for_stage(Stage.SENIOR).count() == 3


# --- Reference data (migration 0002) ---------------------------------------------------------------


def test_the_migration_loaded_every_town_in_the_csv() -> None:
    with TOWNS_CSV.open(encoding="utf-8") as handle:
        expected = [(row["code"], row["name"]) for row in csv.DictReader(handle)]

    assert len(expected) == 18
    assert list(Town.objects.order_by("code").values_list("code", "name")) == sorted(expected)


def test_town_kinds_follow_their_names() -> None:
    kinds = dict(Town.objects.values_list("name", "kind"))

    assert kinds["北城街道"] == TownKind.STREET
    assert kinds["吴店镇"] == TownKind.TOWN
    assert kinds["枣阳经济开发区"] == TownKind.ZONE
    assert kinds["车河农场"] == TownKind.FARM


def test_the_migration_loaded_the_special_categories_and_default_levels() -> None:
    assert SpecialCategory.objects.count() == 7
    assert SpecialCategory.objects.first().name == "脱贫家庭学生(原建档立卡)"  # type: ignore[union-attr]
    assert list(HardshipLevel.objects.filter(stage="").values_list("name", flat=True)) == [
        "特别困难",
        "困难",
        "一般困难",
    ]
