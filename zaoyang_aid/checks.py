"""A CheckConstraint whose model validation is done in Python when it can be.

Django validates a CheckConstraint (``full_clean``, a ModelForm) by asking the database: one
``SELECT 1 WHERE <condition>`` per constraint, and inside a transaction a savepoint and its release
around each, three queries per check. A talk record has three checks and is validated twice per save
(the form, then the service), so a teacher's talk POST spent ten of its queries there.

``PythonCheck`` evaluates the condition on the instance's own values when the condition is made of
plain comparisons (exact, gt, gte, lt, lte) of the row's non-relational fields with constants, joined
by AND / OR / NOT. Anything else (an F() or a function, a relation, a NULL value with SQL's
three-valued logic) falls back to Django's query, so the outcome is Django's either way. The
database constraint itself is unchanged (migrations see a plain CheckConstraint), and stays the last
word on every path that skips validation.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Q

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


class _CannotTell(Exception):
    """The condition needs the database (or refers to an excluded field: Django then skips it)."""


class _Excluded(Exception):
    pass


def _value(instance: models.Model, name: str, exclude: Collection[str]) -> Any:
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist:
        raise _CannotTell from None
    if not isinstance(field, models.Field) or field.is_relation:
        raise _CannotTell
    if field.name in exclude:
        raise _Excluded
    try:
        value = field.to_python(getattr(instance, field.attname))
    except ValidationError:
        raise _CannotTell from None
    if value is None:  # SQL's NULL: COALESCE(condition, true), three-valued; leave it to the database
        raise _CannotTell
    return value


def _holds(condition: Q, instance: models.Model, exclude: Collection[str]) -> bool:
    results = []
    for child in condition.children:
        if isinstance(child, Q):
            results.append(_holds(child, instance, exclude))
            continue
        if not isinstance(child, tuple) or len(child) != 2:
            raise _CannotTell
        key, expected = child
        name, _, lookup = key.partition("__")
        compare = _OPERATORS.get(lookup or "exact")
        if compare is None or hasattr(expected, "resolve_expression"):
            raise _CannotTell
        results.append(compare(_value(instance, name, exclude), expected))
    held = all(results) if condition.connector == Q.AND else any(results)
    return not held if condition.negated else held


class PythonCheck(models.CheckConstraint):
    def validate(
        self, model: type[models.Model], instance: models.Model, exclude: Any = None, using: str = DEFAULT_DB_ALIAS
    ) -> None:
        try:
            held = _holds(Q(self.condition), instance, set(exclude or ()))
        except _Excluded:
            return  # as Django does for a condition on an excluded field
        except (_CannotTell, TypeError):
            super().validate(model, instance, exclude=exclude, using=using)  # type: ignore[misc]  # django-stubs 5.2 leaves out CheckConstraint.validate
            return
        if not held:
            raise ValidationError(self.get_violation_error_message(), code=self.violation_error_code)

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        # Migrations see the database's constraint, which is a plain CheckConstraint's.
        _path, args, kwargs = super().deconstruct()
        return "django.db.models.CheckConstraint", args, kwargs
