"""Accounts of a school's staff, kept by the people who run the school: the 资助专干 for her school's
teachers, the 市资助中心 for officers, counsellors and teachers of every school (the rule is
``may_manage_account``; zaoyang_aid.access.ACCOUNT_MANAGERS says it by role for the texts that send
users to them). Each action writes one audit line of its own; the rows are written with
``QuerySet.update`` so that the audit tracker of User and Teacher does not add a second, generic
line. A one-time password is returned to the page that shows it and reaches no log nor audit line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from zaoyang_aid import audit
from zaoyang_aid.access import ACCOUNT_MANAGERS, Role, Scope, deactivation_blocked, scope_of
from zaoyang_aid.models import AuditAction
from zaoyang_aid.passwords import one_time_password

from .models import Pairing, Teacher
from .validators import validate_phone

NOT_YOURS = "您无权管理该账号。"


def may_manage_account(actor: Scope, target: Teacher) -> bool:
    """Whether ``actor`` may reset the password of, unlock, edit the contact of and deactivate the
    account of the staff member ``target``: a role in ACCOUNT_MANAGERS of the target's role, and
    an officer only at her own school. Nobody acts on their own account here, nor on an account
    of any other role (county, admin) or a superuser's: those are kept in the Django admin."""
    user = target.user
    if actor.user_id is None or user.pk == actor.user_id or user.is_superuser:
        return False
    role = Role(user.role) if user.role in Role.values else None
    if role is None or actor.role not in ACCOUNT_MANAGERS.get(role, frozenset()):
        return False
    return actor.role != Role.OFFICER or target.school_id == actor.school_id


def _locked_target(*, by: Any, teacher: Teacher) -> Teacher:
    locked = Teacher.objects.select_for_update().select_related("user").get(pk=teacher.pk)
    if not may_manage_account(scope_of(by), locked):
        raise PermissionDenied(NOT_YOURS)
    return locked


def _attempts(username: str) -> Any:
    # The login matches the 登录账号 as typed, so a lockout may sit under another spelling of it.
    return AccessAttempt.objects.filter(username__iexact=username)


def login_locked_until(username: str) -> dt.datetime | None:
    """When the login of ``username`` opens again, if django-axes holds it locked now."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    last = (
        _attempts(username)
        .filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since)
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    return last + settings.AXES_COOLOFF_TIME if last is not None else None


def _unlock(username: str) -> int:
    """Forget the failed logins of ``username`` (django-axes' reset, for each spelling on record)."""
    spellings = set(_attempts(username).values_list("username", flat=True))
    return sum(axes_reset(username=spelling) for spelling in spellings)


@transaction.atomic
def account_password_reset(*, by: Any, teacher: Teacher) -> str:
    """Give the account a one-time password, returned to be shown once, which its user must change
    at the next login; their failed logins are forgotten and their open sessions end (Django
    checks the password hash on every request)."""
    user = _locked_target(by=by, teacher=teacher).user
    password = one_time_password()
    user.set_password(password)
    get_user_model().objects.filter(pk=user.pk).update(password=user.password, must_change_password=True)
    changes: dict[str, list[Any]] = {"下次登录须修改密码": [None, "是"]}
    if _unlock(user.username):
        changes["登录锁定"] = ["已锁定", "已解除"]
    audit.record(AuditAction.PASSWORD_RESET, obj=user, changes=changes)
    return password


@transaction.atomic
def account_unlock(*, by: Any, teacher: Teacher) -> int:
    """Lift the lockout of django-axes from the account. Returns how many attempt rows it removed;
    an account that had none is left alone and writes no audit line."""
    user = _locked_target(by=by, teacher=teacher).user
    removed = _unlock(user.username)
    if removed:
        audit.record(AuditAction.ACCOUNT_UNLOCK, obj=user, changes={"登录锁定": ["已锁定", "已解除"]})
    return removed


@transaction.atomic
def account_contact_update(*, by: Any, teacher: Teacher, email: str, phone: str) -> Teacher:
    """Set the account's email (may be empty: no email reminders) and the staff member's phone
    (on the staff row and the account alike)."""
    locked = _locked_target(by=by, teacher=teacher)
    user = locked.user
    email, phone = email.strip(), phone.strip()
    errors: dict[str, list[str]] = {}
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = ["请填写有效的邮箱地址,例如 name@example.com。"]
    try:
        validate_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    changes = {
        label: [old, new]
        for label, old, new in (("邮箱", user.email, email), ("手机号", locked.phone, phone))
        if old != new
    }
    if changes:
        get_user_model().objects.filter(pk=user.pk).update(email=email, phone=phone)
        Teacher.objects.filter(pk=locked.pk).update(phone=phone)
        audit.record(AuditAction.UPDATE, obj=user, changes=changes)
    locked.phone, user.email, user.phone = phone, email, phone
    return locked


def active_pairings_of(teacher: Teacher) -> Any:
    """The pairings a staff member 包保 now, with their students: reassigned before they leave."""
    return (
        Pairing.objects.filter(teacher=teacher, ended_on__isnull=True)
        .select_related("student__school")
        .order_by("student__grade", "student__class_name", "student__name")
    )


@transaction.atomic
def account_deactivate(*, by: Any, teacher: Teacher) -> Teacher:
    """Close the account of a staff member who left: they can no longer log in and their sessions
    end. Refused while they 包保 a student, so that nobody is left without a teacher: their
    pairings are handed to colleagues first (pairing_reassign). The rows and history stay."""
    locked = _locked_target(by=by, teacher=teacher)
    user = locked.user
    if not user.is_active:
        raise ValidationError("该账号已停用。")
    if reason := deactivation_blocked(user):
        raise ValidationError(reason)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    audit.record(AuditAction.ACCOUNT_DEACTIVATE, obj=user, changes={"账号状态": ["启用", "停用"]})
    user.is_active = False
    return locked


@transaction.atomic
def account_reactivate(*, by: Any, teacher: Teacher) -> Teacher:
    """Open a deactivated account again (a staff member who came back)."""
    locked = _locked_target(by=by, teacher=teacher)
    user = locked.user
    if user.is_active:
        raise ValidationError("该账号正在使用中,无需启用。")
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    audit.record(AuditAction.ACCOUNT_REACTIVATE, obj=user, changes={"账号状态": ["停用", "启用"]})
    user.is_active = True
    return locked


def still_pairs_students(user: Any) -> str | None:
    """Registered with zaoyang_aid.access.deactivation_blocker_register (apps.ready): nobody is left
    without a teacher by closing an account, whichever page closes it."""
    teacher = Teacher.objects.filter(user=user).first()
    if teacher is None:
        return None
    count = active_pairings_of(teacher).count()
    if count:
        return f"{teacher.name}还在帮扶{count}名学生,请先为这些学生更换帮扶教师,再停用账号。"
    return None
