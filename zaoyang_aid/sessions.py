"""The idle hour without a session save on every page view.

Django renews a session's expiry only by saving it, and saving it on every request
(SESSION_SAVE_EVERY_REQUEST) costs a durable commit per page view. Instead the session carries the
time it was last seen, refreshed (and so saved) at most once a minute; a request that comes more than
SESSION_IDLE_TIMEOUT after it logs the user out and sends them to the login page with a message.
The stamp is at most a minute behind the user's last click, so an idle session ends after
SESSION_IDLE_TIMEOUT minus at most a minute, never later. The store keeps a session longer than that
(SESSION_COOKIE_AGE) only so that this middleware, not a silent expiry, is what ends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

# When the signed-in user was last seen, in whole seconds since the epoch (the session is JSON).
LAST_SEEN_KEY = "zaoyang_last_seen"
# The stamp is refreshed, and the session saved, at most this often while the user is active.
LAST_SEEN_REFRESH_SECONDS = 60
# Set on a request whose session the idle timeout ends (seconds idle): the logout's audit line says so.
IDLE_LOGOUT_ATTR = "zaoyang_idle_logout"


def idle_logout_reason(idle_seconds: int) -> str:
    """The audit line's reason for a logout by the idle timeout (the user did not click 退出登录)."""
    return f"超过 {settings.SESSION_IDLE_TIMEOUT // 60} 分钟没有操作,自动退出(闲置 {idle_seconds // 60} 分钟)"


def idle_logged_out_message() -> str:
    minutes = settings.SESSION_IDLE_TIMEOUT // 60
    return f"您已超过 {minutes} 分钟没有操作,为保护学生信息已自动退出登录,请重新登录。"


def _seconds_since_seen(session: SessionBase, now: int) -> int | None:
    seen = session.get(LAST_SEEN_KEY)
    return now - seen if isinstance(seen, int) else None


class IdleTimeoutMiddleware:
    """Logs out a session idle for more than SESSION_IDLE_TIMEOUT; stamps an active one once a minute.

    Placed after the session, auth and messages middleware (it logs out and leaves a message) and,
    like every middleware's request phase, before LoginRequiredMiddleware's process_view, which then
    sends the now anonymous request to the login page with its ?next=. A signed-in session without a
    stamp (logged in by an older release, or by force_login in a test) is stamped, not logged out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        now = int(timezone.now().timestamp())
        if SESSION_KEY in request.session:
            idle = _seconds_since_seen(request.session, now)
            if idle is not None and idle > settings.SESSION_IDLE_TIMEOUT:
                # Flushes the session; the audit log records the logout, as the timeout's (signals.py).
                setattr(request, IDLE_LOGOUT_ATTR, idle)
                logout(request)
                messages.warning(request, idle_logged_out_message())
        response = self.get_response(request)
        # After the view, so that a login on this very request is stamped too.
        if SESSION_KEY in request.session:
            idle = _seconds_since_seen(request.session, now)
            if idle is None or not 0 <= idle < LAST_SEEN_REFRESH_SECONDS:
                request.session[LAST_SEEN_KEY] = now  # SessionMiddleware saves the session
        return response


def expired_sessions_delete() -> int:
    """Delete the sessions whose store expiry has passed (what `manage.py clearsessions` does) and
    return how many went; beat runs it nightly (zaoyang_aid.tasks.clear_expired_sessions). Safe to run
    twice: a second run finds nothing to delete."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store, DbSessionStore):  # db and cached_db: counted
        deleted, _ = store.get_model_class().objects.filter(expire_date__lt=timezone.now()).delete()
        logger.info("clearsessions: %d expired sessions deleted", deleted)
        return deleted
    store.clear_expired()  # a cache expires its own keys; a file store is swept by its own code
    return 0
