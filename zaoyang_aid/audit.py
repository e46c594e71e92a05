"""The audit log: every change to a person's record and every read of a student's full record.

Changes are caught by model signals, so a write through a page, a service or the Django admin is
logged alike; bulk loads (seed_demo, imports) write their own summary line. Reads are logged by the
views that show a full record, through ``record_view``. Who and from where come from the request,
held in a context variable by ``AuditContextMiddleware`` (background jobs log as "系统").
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from .access import scope_of
from .masking import mask_id_number

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class AuditContext:
    actor_id: int | None
    actor_name: str
    actor_role: str
    ip_address: str | None
    user_agent: str
    path: str


SYSTEM = AuditContext(None, "系统", "", None, "", "")
# Set by code that acts for someone outside a request (a management command naming its operator).
_context: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, for the audit log and for django-axes (AXES_CLIENT_IP_CALLABLE).

    Directly connected (TRUSTED_PROXIES 0), REMOTE_ADDR. Behind N proxies of ours (nginx, a load
    balancer), REMOTE_ADDR is the nearest proxy and each proxy appended the address it saw to
    X-Forwarded-For, so the client is the N-th entry from the right: entries further left came from
    the client itself and prove nothing. A header too short for N proxies, or an entry that is not
    an address, falls back to REMOTE_ADDR. (django-ipware's proxy_count returns the leftmost entry,
    the client's own claim, when a client sends its own X-Forwarded-For; hence this function.)
    """
    proxies = int(getattr(settings, "TRUSTED_PROXIES", 0))
    remote = request.META.get("REMOTE_ADDR") or None
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < proxies:
        return remote
    candidate = hops[-proxies]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    return candidate


def context_from_request(request: HttpRequest) -> AuditContext:
    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None  # an anonymous visitor is recorded as no one
    return AuditContext(
        actor_id=user.pk if user is not None else None,
        actor_name=(user.get_full_name() if user is not None else ""),
        actor_role=(scope_of(user).role or "") if user is not None else "",
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        path=request.path[:300],
    )


# The request is kept (not its context) because the user is only known after authentication runs.
_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def current_context() -> AuditContext:
    explicit = _context.get()
    if explicit is not None:
        return explicit
    request = _current_request.get()
    return context_from_request(request) if request is not None else SYSTEM


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    student_id: int | None = None,
    changes: dict[str, Any] | None = None,
    context: AuditContext | None = None,
) -> Any:
    """Write one audit line. Returns the AuditEvent."""
    from .models import AuditEvent

    ctx = context or current_context()
    if obj is not None:
        object_type = object_type or str(obj._meta.verbose_name)
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:200]
    return AuditEvent.objects.create(
        actor_id=ctx.actor_id,
        actor_name=ctx.actor_name[:150],
        actor_role=ctx.actor_role,
        action=action,
        object_type=str(object_type)[:50],
        object_id=object_id[:40],
        object_label=object_label[:200],
        student_id=student_id,
        changes=changes or {},
        ip_address=ctx.ip_address,
        user_agent=ctx.user_agent,
        path=ctx.path,
    )


def record_view(request: HttpRequest, obj: models.Model, *, student_id: int | None, detail: str = "") -> Any:
    """Log a read of a full record (a student's page with household, 认定 and full ID)."""
    from .models import AuditAction

    return record(
        AuditAction.VIEW,
        obj=obj,
        student_id=student_id,
        changes={"查看内容": [None, detail]} if detail else {},
        context=context_from_request(request),
    )


# --- Change tracking for people's records ------------------------------------------------------


@dataclass(frozen=True)
class Tracked:
    model: type[models.Model]
    student_of: Callable[[Any], int | None]
    masked_fields: frozenset[str]
    ignored_fields: frozenset[str]


_tracked: dict[type[models.Model], Tracked] = {}


def _field_values(instance: models.Model, spec: Tracked) -> dict[str, str]:
    values: dict[str, str] = {}
    for field in instance._meta.concrete_fields:
        # Timestamps that Django maintains itself are not changes anyone made.
        if field.name in spec.ignored_fields or getattr(field, "auto_now", False):
            continue
        raw = getattr(instance, field.attname)
        text = "" if raw is None else str(raw)
        if field.name in spec.masked_fields:
            text = mask_id_number(text)
        values[str(field.verbose_name)] = text
    return values


def _pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **_: Any) -> None:
    spec = _tracked.get(sender)
    if spec is None or raw or instance.pk is None:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    # Stashed on the instance (any tracked model, so no declared attribute: the ignore) for _post_save.
    instance._audit_before = _field_values(old, spec) if old is not None else None  # type: ignore[attr-defined]


def _post_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **_: Any) -> None:
    from .models import AuditAction

    spec = _tracked.get(sender)
    if spec is None or raw:
        return
    after = _field_values(instance, spec)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        changes = {name: [None, value] for name, value in after.items() if value}
        action = AuditAction.CREATE
    else:
        changes = {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
        if not changes:
            return
        action = AuditAction.UPDATE
    record(action, obj=instance, student_id=spec.student_of(instance), changes=changes)


def _post_delete(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    from .models import AuditAction

    spec = _tracked.get(sender)
    if spec is None:
        return
    record(
        AuditAction.DELETE,
        obj=instance,
        student_id=spec.student_of(instance),
        changes={name: [value, None] for name, value in _field_values(instance, spec).items() if value},
    )


def track(
    model: type[models.Model],
    *,
    student_of: Callable[[Any], int | None] = lambda _obj: None,
    masked_fields: Iterable[str] = (),
    ignored_fields: Iterable[str] = (),
) -> None:
    """Log every create, update and delete of ``model``. Apps call this from ``AppConfig.ready``."""
    _tracked[model] = Tracked(
        model=model,
        student_of=student_of,
        masked_fields=frozenset(masked_fields),
        ignored_fields=frozenset(ignored_fields),
    )
    uid = f"audit-{model._meta.label_lower}"
    pre_save.connect(_pre_save, sender=model, dispatch_uid=f"{uid}-pre")
    post_save.connect(_post_save, sender=model, dispatch_uid=f"{uid}-post")
    post_delete.connect(_post_delete, sender=model, dispatch_uid=f"{uid}-delete")


class acting_as:
    """Attribute audit lines written inside the block to ``context`` (for commands and jobs)."""

    def __init__(self, context: AuditContext) -> None:
        self.context = context
        self._token: contextvars.Token[AuditContext | None] | None = None

    def __enter__(self) -> AuditContext:
        self._token = _context.set(self.context)
        return self.context

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _context.reset(self._token)
