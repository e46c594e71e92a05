"""Logins, failed logins and logouts go to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit
from .models import AuditAction
from .sessions import IDLE_LOGOUT_ATTR, idle_logout_reason


@receiver(user_logged_in, dispatch_uid="audit-login")
def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    audit.record(AuditAction.LOGIN, obj=user, context=audit.context_from_request(request))


@receiver(user_logged_out, dispatch_uid="audit-logout")
def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None and request is not None:
        idle = getattr(request, IDLE_LOGOUT_ATTR, None)
        changes = {"退出方式": [None, idle_logout_reason(idle)]} if idle is not None else None
        audit.record(AuditAction.LOGOUT, obj=user, changes=changes, context=audit.context_from_request(request))


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    # The username tried is kept (it may be mistyped); the password never is.
    ctx = audit.context_from_request(request) if request is not None else audit.SYSTEM
    audit.record(
        AuditAction.LOGIN_FAILED,
        object_type="账号",
        object_label=str(credentials.get("username", ""))[:150],
        context=ctx,
    )
