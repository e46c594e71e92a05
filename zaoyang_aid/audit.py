"""The audit log: every change to a person's record and every read of a student's full record.

Changes are caught by model signals, so a write through a page, a service or the Django admin is
logged alike; bulk loads (seed_demo, imports) write their own summary line. Reads are logged by the
views that show a full record, through ``record_view``. Who and from where come from the request,
held in a context variable by ``AuditContextMiddleware`` (background jobs log as "系统").
"""

from __future__ import annotations

import contextvars
import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from .access import scope_of
from .fields import broad_access, group_of
from .masking import mask_id_number, mask_id_numbers_in_text

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
    actor_username: str = ""


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
        actor_username=user.get_username() if user is not None else "",
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
    """Write one audit line. Returns the AuditEvent. An ID number anywhere in its text (a username
    typed as an ID at the login, an ID in a free-text note) is masked: the log is no place for one."""
    event = _event(
        action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label,
        student_id=student_id,
        changes=changes,
        context=context,
    )
    event.save()
    return event


def _event(
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
    """An unsaved AuditEvent, as ``record`` writes it."""
    from .models import AuditEvent

    ctx = context or current_context()
    if obj is not None:
        object_type = object_type or str(obj._meta.verbose_name)
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:200]
    return AuditEvent(
        actor_id=ctx.actor_id,
        actor_username=ctx.actor_username[:150],
        actor_name=ctx.actor_name[:150],
        actor_role=ctx.actor_role,
        action=action,
        object_type=str(object_type)[:50],
        object_id=object_id[:40],
        object_label=mask_id_numbers_in_text(object_label)[:200],
        student_id=student_id,
        changes={
            str(name): [mask_id_numbers_in_text(v) if isinstance(v, str) else v for v in pair]
            if isinstance(pair, list | tuple)
            else pair
            for name, pair in (changes or {}).items()
        },
        ip_address=ctx.ip_address,
        user_agent=ctx.user_agent,
        path=ctx.path,
    )


def record_created(objs: Iterable[models.Model], *, batch_size: int = 1000) -> int:
    """The lines ``_post_save`` writes for a new row of a tracked model, for rows inserted with
    ``bulk_create`` (which sends no signals): a batch service calls this in its transaction so that
    its rows are logged as one by one. Returns how many lines were written."""
    from .models import AuditAction, AuditEvent

    context = current_context()
    events = []
    for obj in objs:
        spec = _tracked[type(obj)]
        changes = _changes(None, _field_values(obj, spec), obj, spec)
        events.append(
            _event(AuditAction.CREATE, obj=obj, student_id=spec.student_of(obj), changes=changes, context=context)
        )
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    return len(events)


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


def _field_values(instance: models.Model, spec: Tracked) -> dict[models.Field, Any]:
    """The raw value of each field a person changes, by field (compared before any is labelled)."""
    values: dict[models.Field, Any] = {}
    for field in instance._meta.concrete_fields:
        # Timestamps that Django maintains itself are not changes anyone made.
        if field.name in spec.ignored_fields or getattr(field, "auto_now", False):
            continue
        values[field] = getattr(instance, field.attname)
    return values


def _shown(instance: models.Model | None, field: models.Field, raw: Any, spec: Tracked) -> str:
    """A value as a person reads it: a choice's label, the related row's name, a local time, 是/否;
    an ID number masked."""
    if raw is None or raw == "":
        return ""
    if field.name in spec.masked_fields:
        return mask_id_number(str(raw))
    if field.choices:
        return str(dict(field.flatchoices).get(raw, raw))
    if field.many_to_one or field.one_to_one:
        return _related_name(instance, field, raw)
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, dt.datetime):
        return f"{timezone.localtime(raw) if timezone.is_aware(raw) else raw:%Y-%m-%d %H:%M}"
    return str(raw)


def _related_name(instance: models.Model | None, field: models.Field, pk: Any) -> str:
    """The related row's name: the one loaded on the instance if it is this row, else looked up."""
    cached = field.get_cached_value(instance, None) if instance is not None else None  # type: ignore[attr-defined]
    if cached is None or cached.pk != pk:
        related: Any = field.related_model  # a model class: a concrete foreign key's is resolved
        cached = related._base_manager.filter(pk=pk).first()
    return str(cached) if cached is not None else f"#{pk}(已删除)"


def _changes(
    before: dict[models.Field, Any] | None, after: dict[models.Field, Any], instance: models.Model, spec: Tracked
) -> dict[str, list[str | None]]:
    """{field's name: [before, after]} of the fields that changed, labelled; every non-empty field
    of a new row (before None)."""
    old = before or {}
    changed = [f for f, value in after.items() if (_text(old.get(f)) if before is not None else "") != _text(value)]
    return {
        str(f.verbose_name): [
            _shown(None, f, old.get(f), spec) if before is not None else None,
            _shown(instance, f, after[f], spec),
        ]
        for f in changed
    }


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw)


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
    before = None if created else getattr(instance, "_audit_before", None)
    changes = _changes(before, _field_values(instance, spec), instance, spec)
    if before is not None and not changes:
        return
    action = AuditAction.CREATE if before is None else AuditAction.UPDATE
    record(action, obj=instance, student_id=spec.student_of(instance), changes=changes)


def _post_delete(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    from .models import AuditAction

    spec = _tracked.get(sender)
    if spec is None:
        return
    values = _field_values(instance, spec)
    record(
        AuditAction.DELETE,
        obj=instance,
        student_id=spec.student_of(instance),
        changes={
            str(f.verbose_name): [_shown(instance, f, value, spec), None] for f, value in values.items() if _text(value)
        },
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


# --- Reading the log: students by name, old lines in words ------------------------------------
# zaoyang_aid knows no app's models: the app that owns students tells the audit page how to find
# them by what a person types (a name, the 学籍号's last digits) and how to name them.


@dataclass(frozen=True)
class StudentLookup:
    find: Callable[[str], Any]  # typed text -> the matching students' ids (a queryset or a list)
    names: Callable[[Iterable[int]], dict[int, str]]  # ids -> "张小明(学籍号…0014)"


_student_lookup: list[StudentLookup] = []


def student_lookup_register(lookup: StudentLookup) -> None:
    """Called by the students' app from ``AppConfig.ready``; the last registration wins."""
    _student_lookup[:] = [lookup]


def students_matching(text: str) -> Any:
    return _student_lookup[0].find(text) if _student_lookup else []


def student_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return _student_lookup[0].names(wanted) if _student_lookup and wanted else {}


@dataclass(frozen=True)
class ShownChange:
    field: str
    before: str | None
    after: str | None


# A time written by str(datetime) before lines were labelled: "2026-12-07 07:00:00.123456+00:00".
_RAW_MOMENT_RE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)")


NOT_YOURS = "(无权查看)"


def shown_changes(events: Iterable[Any], reader: Any = None) -> dict[int, list[ShownChange]]:
    """Each line's changes as the audit page shows them. Lines written with labels are shown as
    they are; older lines (raw values) are translated: a choice's label, the related row's name
    (one query per related model for the whole page), a local time to the minute, 是/否.

    With a ``reader``, a value in a field group the reader does not see (zaoyang_aid.fields: the
    系统管理员 role reads the log but not a family's incomes) is shown as "(无权查看)"; the line still
    says which field changed, when and by whom."""
    events = list(events)
    models_of = {e.pk: _tracked_model(e.object_type) for e in events}
    fields = {e.pk: _tracked_fields(e.object_type) for e in events}
    names = _related_names(
        (fields[e.pk].get(name), value)
        for e in events
        if not e.values_labelled
        for name, pair in e.changes.items()
        for value in pair
    )
    shown = broad_access(reader).groups if reader is not None else None

    whole_line_hidden = {e.pk for e in events if reader is not None and label_hidden_from(e, reader)}

    def change(e: Any, name: str, pair: Any) -> ShownChange:
        field = fields[e.pk].get(name)
        model = models_of[e.pk]
        group = group_of(model._meta.label, field.name) if model is not None and field is not None else None
        if e.pk in whole_line_hidden or (shown is not None and group is not None and group not in shown):
            before, after = _pair(pair)
            return ShownChange(name, _withheld(before), _withheld(after))
        if e.values_labelled:
            return ShownChange(name, *_pair(pair))
        return ShownChange(name, *(_old_value(field, v, names) for v in _pair(pair)))

    return {e.pk: [change(e, name, pair) for name, pair in e.changes.items()] for e in events}


def _withheld(value: Any) -> Any:
    return value if value is None or value == "" else NOT_YOURS


def label_hidden_from(event: Any, reader: Any) -> bool:
    """Whether the line's object label names something the reader may not see: a row of a model
    whose every personal field is hidden from them (a household member, a 认定, for the 系统管理员)."""
    model = _tracked_model(event.object_type)
    if model is None:
        return False
    label = model._meta.label
    groups = {group_of(label, f.name) for f in model._meta.get_fields()} - {None}
    return bool(groups) and not (groups & broad_access(reader).groups)


def _tracked_model(object_type: str) -> type[models.Model] | None:
    """The model a line is about, by the verbose name the line was written with: tracked models,
    and the rows services log themselves (a 免记周, a 补录准许, a talk record)."""
    from django.apps import apps

    found = next((m for m in _tracked if str(m._meta.verbose_name) == object_type), None)
    return found or next((m for m in apps.get_models() if str(m._meta.verbose_name) == object_type), None)


def _pair(pair: Any) -> tuple[Any, Any]:
    return (pair[0], pair[1]) if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)


def _tracked_fields(object_type: str) -> dict[str, models.Field]:
    for model in _tracked:
        if str(model._meta.verbose_name) == object_type:
            return {str(f.verbose_name): f for f in model._meta.concrete_fields}
    return {}


def _is_foreign_key(field: models.Field | None) -> bool:
    return field is not None and bool(field.many_to_one or field.one_to_one)


def _related_names(pairs: Iterable[tuple[models.Field | None, Any]]) -> dict[tuple[Any, str], str]:
    wanted: dict[Any, set[str]] = {}
    for field, value in pairs:
        if _is_foreign_key(field) and isinstance(value, str) and value.isdigit():
            wanted.setdefault(field.related_model, set()).add(value)  # type: ignore[union-attr]
    names: dict[tuple[Any, str], str] = {}
    for model, pks in wanted.items():
        for row in model._base_manager.filter(pk__in=pks):
            names[(model, str(row.pk))] = str(row)
    return names


def _old_value(field: models.Field | None, value: Any, names: dict[tuple[Any, str], str]) -> str | None:
    if value is None or value == "":
        return value
    value = str(value)
    if _RAW_MOMENT_RE.fullmatch(value):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
    if value in ("True", "False"):
        return "是" if value == "True" else "否"
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if _is_foreign_key(field):
        return names.get((field.related_model, value), f"#{value}")  # type: ignore[union-attr]
    return value
