"""Response headers for everything Django renders: nothing is kept in a cache, no powerful features.

Every page of the app shows a person (a student, a family, a teacher), and the few that do not (login,
/healthz) gain nothing from a cache either; so the rule is simply: whatever reaches Django is sent with
``Cache-Control: no-store``, which keeps it out of the browser's disk cache and the back/forward cache
of a shared school computer after logout, and out of any proxy. Static files never get here: WhiteNoise,
above this middleware, answers them with their long cache.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


def permissions_policy() -> str:
    """``camera=(), geolocation=(), ...``: each feature in settings.PERMISSIONS_POLICY denied to all."""
    return ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY)


class PrivatePagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.policy = permissions_policy()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # Overrides what a view set (a photo's "private, max-age" would otherwise stay on disk).
        add_never_cache_headers(response)
        response.headers.setdefault("Permissions-Policy", self.policy)
        return response
