from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import navigation
from .access import scope_of


def site(request: HttpRequest) -> dict[str, Any]:
    """The viewer's scope and the navbar entries of their role, for base.html."""
    scope = scope_of(getattr(request, "user", None))
    return {"nav_items": navigation.menu_for(scope.role, scope), "scope": scope}
