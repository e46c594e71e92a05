from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def notifications(request: HttpRequest) -> dict[str, Any]:
    """The navbar's unread count (one indexed COUNT per page, only for signed-in users, and only when
    the page draws it: a view that has the number already, 我的帮扶学生, puts unread_notifications in
    its own context, which takes precedence over this one)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread() -> int:
        from .selectors import unread_notices

        return unread_notices(user).count()

    return {"unread_notifications": unread}
