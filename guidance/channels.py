"""Channels that carry a reminder digest beyond the in-app notification centre.

A channel has a ``name`` (what Delivery.channel stores), says whether it is ``enabled_for`` a user,
and ``send``s one digest, raising on any failure (the caller records it and retries later). The
channels in use are listed by name in settings.REMINDER_CHANNELS; SMS or 企业微信 are one more class
here and one more name in REGISTRY.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import send_mail


class Channel(Protocol):
    name: str

    def enabled_for(self, user: Any) -> bool: ...

    def send(self, user: Any, subject: str, body: str, items: list[dict[str, str]]) -> None: ...


class ChannelError(Exception):
    pass


def wants_email(user: Any) -> bool:
    """The user's preference (no ReminderPreference row = the default, on)."""
    preference = getattr(user, "reminder_preference", None)  # RelatedObjectDoesNotExist is an AttributeError
    return preference is None or preference.email


class EmailChannel:
    name = "email"

    def enabled_for(self, user: Any) -> bool:
        return bool(user.email) and user.is_active and wants_email(user)

    def send(self, user: Any, subject: str, body: str, items: list[dict[str, str]]) -> None:
        send_mail(subject, body, None, [user.email], fail_silently=False)


class WebhookChannel:
    """POSTs the digest as JSON to settings.REMINDER_WEBHOOK_URL (empty = off); non-2xx raises."""

    name = "webhook"

    def enabled_for(self, user: Any) -> bool:
        return bool(settings.REMINDER_WEBHOOK_URL) and user.is_active

    def send(self, user: Any, subject: str, body: str, items: list[dict[str, str]]) -> None:
        url = settings.REMINDER_WEBHOOK_URL
        if not url.startswith(("http://", "https://")):
            raise ChannelError(f"REMINDER_WEBHOOK_URL must be http(s): {url!r}")
        payload = {
            "recipient": {
                "username": user.username,
                "full_name": user.full_name,
                "role": user.role,
            },
            "subject": subject,
            "body": body,
            "items": [{"title": item["title"], "link": item["link"]} for item in items],
        }
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        # urlopen raises HTTPError for 4xx/5xx; anything else that is not 2xx is refused here.
        with urllib.request.urlopen(request, timeout=settings.REMINDER_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise ChannelError(f"webhook answered HTTP {response.status}")


REGISTRY: dict[str, type] = {"email": EmailChannel, "webhook": WebhookChannel}


def channels() -> list[Channel]:
    """The channels named in settings.REMINDER_CHANNELS, in that order (unknown names are skipped)."""
    return [REGISTRY[name]() for name in settings.REMINDER_CHANNELS if name in REGISTRY]


def channel_named(name: str) -> Channel | None:
    cls = REGISTRY.get(name)
    return cls() if cls else None
