"""A talk record's check constraints are validated in Python (zaoyang_aid.checks.PythonCheck), with
Django's own answer (a query per check) for the same records, and no query."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import models

from guidance.models import TalkRecord
from zaoyang_aid.checks import PythonCheck

pytestmark = pytest.mark.django_db

CASES = [
    {},  # one track, one form, 30 minutes: valid
    {"track_study": False},
    {"form_talk": False},
    {"track_study": False, "form_talk": False, "duration_minutes": 2},
    {"duration_minutes": 4},
    {"duration_minutes": 5},
    {"duration_minutes": 600},
    {"duration_minutes": 601},
    {"duration_minutes": None},  # NULL: left to the database (three-valued logic)
    {"duration_minutes": "45"},  # as a form leaves it before clean_fields
]


def record(**values: object) -> TalkRecord:
    talk = TalkRecord(duration_minutes=30, track_study=True, form_talk=True)
    for name, value in values.items():
        setattr(talk, name, value)
    return talk


def django_errors(talk: TalkRecord, exclude: set[str] | None = None) -> list[str]:
    messages = []
    for constraint in TalkRecord._meta.constraints:
        assert isinstance(constraint, PythonCheck)
        plain = models.CheckConstraint(
            condition=constraint.condition,
            name=constraint.name,
            violation_error_message=constraint.violation_error_message,
        )
        try:
            plain.validate(TalkRecord, talk, exclude=exclude)
        except ValidationError as exc:
            messages += exc.messages
    return messages


def python_errors(talk: TalkRecord, exclude: set[str] | None = None) -> list[str]:
    try:
        talk.validate_constraints(exclude=exclude)
    except ValidationError as exc:
        return exc.messages
    return []


@pytest.mark.parametrize("values", CASES)
def test_a_talks_checks_in_python_give_djangos_answer(values):
    talk = record(**values)
    assert python_errors(talk) == django_errors(talk)


@pytest.mark.parametrize("exclude", [{"duration_minutes"}, {"track_study"}, {"form_talk", "duration_minutes"}])
def test_a_check_on_an_excluded_field_is_skipped_as_django_skips_it(exclude):
    talk = record(track_study=False, form_talk=False, duration_minutes=2)
    assert python_errors(talk, exclude) == django_errors(talk, exclude)


def test_a_valid_or_invalid_talk_is_checked_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert python_errors(record()) == []
        assert python_errors(record(track_study=False, duration_minutes=700)) == [
            "请至少选择一项“五导”内容。",
            "时长应在5至600分钟之间。",
        ]


def test_migrations_see_the_databases_plain_check_constraint():
    constraint = TalkRecord._meta.constraints[0]
    path, _args, kwargs = constraint.deconstruct()
    assert path == "django.db.models.CheckConstraint"
    assert kwargs["name"] == "talk_has_a_track"
