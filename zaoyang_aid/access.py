"""Access scoping: who may see which rows. The one place where roles become filters.

Every page fetches its rows through a model's ``visible_to(user)`` (a ``ScopedQuerySet``), never
through ``objects.all()`` plus a check in the view. A row outside the viewer's scope is simply not in
the queryset, so the page answers 404 for it. Each model says how it is reached from a scope in
``scope_filter``; this module only knows roles and where a user stands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, Self

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import HttpRequest

if TYPE_CHECKING:
    from django.http import HttpResponse

    from .models import User


class Role(models.TextChoices):
    TEACHER = "teacher", "教师"
    OFFICER = "officer", "学校资助专干"
    COUNSELLOR = "counsellor", "心理健康教师"
    COUNTY = "county", "市资助中心"
    ADMIN = "admin", "系统管理员"


SCHOOL_ROLES = frozenset({Role.TEACHER, Role.OFFICER, Role.COUNSELLOR})
COUNTY_ROLES = frozenset({Role.COUNTY, Role.ADMIN})
# Which fields of a record each role sees is not here but in fields.py (the field-visibility policy).

# Who resets the password, unlocks the login and keeps the contact details of an account of each
# role, through the staff pages (pairing/accounts.py may_manage_account applies it, adding that an
# officer acts only at her own school). County and admin accounts are kept in the Django admin.
ACCOUNT_MANAGERS: dict[Role, frozenset[Role]] = {
    Role.TEACHER: frozenset({Role.OFFICER, Role.COUNTY}),
    Role.OFFICER: frozenset({Role.COUNTY}),
    Role.COUNSELLOR: frozenset({Role.COUNTY}),
}


# Which roles a member of staff may be given (added with, or changed to) by each role: officers add
# teachers and counsellors; county staff may also appoint a school's officer. Asked by the teacher
# form (pairing/views.py) and the 教师名单 import (casefiles/imports/teachers.py).
STAFF_ROLES_GIVEN_BY: dict[Role, tuple[Role, ...]] = {
    Role.OFFICER: (Role.TEACHER, Role.COUNSELLOR),
    Role.COUNTY: (Role.TEACHER, Role.COUNSELLOR, Role.OFFICER),
}


def account_helper(role: str | None) -> str:
    """Whom a user of ``role`` asks to reset a password, unlock the login or record an email: the
    nearest of ACCOUNT_MANAGERS, named as the texts of the login, lockout and settings pages need."""
    managers = ACCOUNT_MANAGERS.get(Role(role)) if role in Role.values else None
    if not managers:
        return "系统管理员"
    return "学校资助专干" if Role.OFFICER in managers else Role.COUNTY.label


@dataclass(frozen=True)
class Scope:
    """Where a signed-in user stands: their role, and for school roles their school and staff row."""

    role: Role | None
    user_id: int | None
    school_id: int | None = None
    teacher_id: int | None = None
    # County staff designated to read 心理健康档案 (User.reads_counselling); fields.py answers it.
    reads_counselling: bool = False

    @property
    def is_county_wide(self) -> bool:
        return self.role in COUNTY_ROLES


NO_SCOPE = Scope(role=None, user_id=None)


class AuthenticatedHttpRequest(HttpRequest):
    """For annotations: the request of a page behind LoginRequiredMiddleware (settings), whose user is
    signed in. Django passes a plain HttpRequest; this only tells the type checker what it holds."""

    user: User


def scope_of(user: Any) -> Scope:
    """The user's scope, computed once per user object.

    School roles take their school from their staff row (``pairing.Teacher``, reached as
    ``user.teacher``); a school role without one sees nothing rather than everything.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_zaoyang_scope", None)
    if cached is not None:
        return cached
    role = Role(user.role) if user.role else None
    school_id = teacher_id = None
    if role in SCHOOL_ROLES:
        staff = getattr(user, "teacher", None)  # reverse one-to-one; DoesNotExist -> None
        if staff is not None:
            school_id, teacher_id = staff.school_id, staff.pk
        else:
            role = None
    reads_counselling = role == Role.COUNTY and bool(getattr(user, "reads_counselling", False))
    scope = Scope(
        role=role,
        user_id=user.pk,
        school_id=school_id,
        teacher_id=teacher_id,
        reads_counselling=reads_counselling,
    )
    user._zaoyang_scope = scope
    return scope


class ScopedQuerySet(models.QuerySet[Any]):
    """A queryset that can narrow itself to what a user may see."""

    def scope_filter(self, scope: Scope) -> Q | None:
        """The condition for rows visible in ``scope``; None means nothing is visible."""
        raise NotImplementedError

    def visible_to(self, user: Any) -> Self:
        scope = user if isinstance(user, Scope) else scope_of(user)
        if scope.role is None:
            return self.none()
        condition = self.scope_filter(scope)
        if condition is None:
            return self.none()
        return self.filter(condition)


def role_required(*roles: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Guard a whole page by role (for pages, not rows: rows are scoped by ``visible_to``)."""

    allowed = frozenset(roles)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if scope_of(request.user).role not in allowed:
                raise PermissionDenied("您的角色无权访问此页面。")
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the access tests
        return wrapped

    return decorator


def roles_label(roles: Iterable[Role]) -> str:
    return "、".join(Role(r).label for r in roles)


# --- Deactivating an account ------------------------------------------------------------------------
# What must happen before an account may be closed, asked by every path that closes one (the
# officer's page in pairing.accounts, the Django admin's 停用 action and its change form). Apps
# above register their checks (pairing: "still 包保 students"); each returns a Chinese reason or None.
_deactivation_blockers: list[Callable[[Any], str | None]] = []


def deactivation_blocker_register(check: Callable[[Any], str | None]) -> None:
    if check not in _deactivation_blockers:
        _deactivation_blockers.append(check)


def deactivation_blocked(user: Any) -> str | None:
    """Why ``user`` may not be deactivated yet, or None."""
    for check in _deactivation_blockers:
        reason = check(user)
        if reason:
            return reason
    return None
