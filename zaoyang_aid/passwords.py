"""Passwords chosen by someone else: the one-time password of a reset, and the middleware that holds
its user on the password change page until they have picked their own."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

# Read aloud over the phone or copied from a screen: no 0/o, 1/l/i, 2/z, 5/s, 8/b, 9/g/q, nor capitals.
ONE_TIME_ALPHABET = "acdefhjkmnprtuvwxy3467"
ONE_TIME_LENGTH = 10


def one_time_password() -> str:
    """A random password of ONE_TIME_LENGTH readable characters, with letters and digits both (so that
    it passes the project's validators); about 45 bits, for a login that django-axes throttles."""
    while True:
        candidate = "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_LENGTH))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


class PasswordChangeRequiredMiddleware:
    """A signed-in user whose ``must_change_password`` is set reaches only the password change page,
    logout and static files; every other URL redirects to the password change page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            change, allowed = reverse("password_change"), (reverse("logout"), reverse("healthz"))
            if (
                request.path != change
                and request.path not in allowed
                and not request.path.startswith(settings.STATIC_URL or "/static/")
            ):
                return redirect(change)
        return self.get_response(request)
