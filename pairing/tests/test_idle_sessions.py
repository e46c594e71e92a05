"""An idle hour logs the user out, without saving the session on every page view
(zaoyang_aid/sessions.py): a "last seen" stamp refreshed at most once a minute."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pairing.tests.factories import OfficerFactory
from zaoyang_aid.models import AuditAction, AuditEvent, User
from zaoyang_aid.sessions import LAST_SEEN_KEY, expired_sessions_delete
from zaoyang_aid.tasks import clear_expired_sessions

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PAGE = "pairing:school_overview"


def stored(client) -> Session:
    return Session.objects.get(session_key=client.cookies["sessionid"].value)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return lambda seconds: time_machine.move_to(START + dt.timedelta(seconds=seconds), tick=False)


@pytest.fixture
def officer_client(client, clock):
    client.force_login(OfficerFactory().user)
    assert client.get(reverse(PAGE)).status_code == 200  # the first page stamps the session
    return client


def test_the_first_page_after_login_stamps_the_session(officer_client):
    assert officer_client.session[LAST_SEEN_KEY] == int(START.timestamp())


def test_a_page_inside_the_minute_does_not_save_the_session(officer_client, clock):
    saved = stored(officer_client).expire_date
    clock(59)
    with CaptureQueriesContext(connection) as queries:
        assert officer_client.get(reverse(PAGE)).status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    assert stored(officer_client).expire_date == saved
    assert officer_client.session[LAST_SEEN_KEY] == int(START.timestamp())


def test_a_page_after_the_minute_refreshes_the_stamp_and_the_stores_expiry(officer_client, clock):
    clock(61)
    assert officer_client.get(reverse(PAGE)).status_code == 200
    assert officer_client.session[LAST_SEEN_KEY] == int(START.timestamp()) + 61
    assert stored(officer_client).expire_date == timezone.now() + dt.timedelta(seconds=3600 + 24 * 3600)


def test_an_active_user_is_not_logged_out(officer_client, clock):
    # A click every 50 minutes for over three hours: never an idle hour, so never logged out.
    for step in range(1, 5):
        clock(50 * 60 * step)
        assert officer_client.get(reverse(PAGE)).status_code == 200


def test_an_idle_hour_logs_out_to_the_login_page_with_a_message(officer_client, clock):
    url = reverse(PAGE)
    clock(3601)
    response = officer_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert "_auth_user_id" not in officer_client.session
    page = officer_client.get(response["Location"]).content.decode()
    assert "您已超过 60 分钟没有操作" in page
    assert "已自动退出登录" in page


def test_the_audit_log_tells_an_idle_logout_from_the_users_own(officer_client, clock):
    user_id = int(officer_client.session["_auth_user_id"])
    clock(3601)
    officer_client.get(reverse(PAGE))
    idle = AuditEvent.objects.get(action=AuditAction.LOGOUT, object_id=str(user_id))
    assert idle.changes == {"退出方式": [None, "超过 60 分钟没有操作,自动退出(闲置 60 分钟)"]}
    officer_client.force_login(User.objects.get(pk=user_id))
    officer_client.post(reverse("logout"))
    own = AuditEvent.objects.filter(action=AuditAction.LOGOUT, object_id=str(user_id)).exclude(pk=idle.pk).get()
    assert not own.changes


def test_an_idle_session_ends_within_the_hour_when_the_last_clicks_saved_nothing(officer_client, clock):
    # Clicks at 0:00:30 and 0:00:59 saved nothing (inside the stamp's minute); an hour and a second after
    # the stamp the session ends: idle sessions last an hour at most, a minute less at worst.
    for seconds in (30, 59):
        clock(seconds)
        officer_client.get(reverse(PAGE))
    clock(3601)
    assert officer_client.get(reverse(PAGE)).status_code == 302


def test_the_idle_hour_holds_with_the_cached_db_store_too(client, clock, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # SESSION_STORE=cached_db
    client.force_login(OfficerFactory().user)
    assert client.get(reverse(PAGE)).status_code == 200
    clock(59)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(PAGE)).status_code == 200
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]  # read from the cache
    clock(3601)
    assert client.get(reverse(PAGE)).status_code == 302


def test_at_the_idle_limit_the_user_is_still_logged_in(officer_client, clock):
    clock(3600)
    assert officer_client.get(reverse(PAGE)).status_code == 200


def test_a_login_through_the_form_is_stamped(client, clock):
    user = OfficerFactory().user
    response = client.post(reverse("login"), {"username": user.username, "password": "zaoyang2026"})
    assert response.status_code == 302
    assert client.session[LAST_SEEN_KEY] == int(START.timestamp())


def test_a_session_from_before_the_stamp_is_stamped_not_logged_out(client, clock):
    client.force_login(OfficerFactory().user)  # no stamp, as a session from the previous release
    clock(1800)
    assert client.get(reverse(PAGE)).status_code == 200
    assert client.session[LAST_SEEN_KEY] == int(START.timestamp()) + 1800


def test_the_nightly_job_deletes_expired_sessions_only(officer_client, clock):
    clock(2 * 24 * 3600)
    assert timezone.now() > stored(officer_client).expire_date
    assert expired_sessions_delete() == 1
    assert not Session.objects.exists()
    clear_expired_sessions()  # the Celery entry point; a second run finds nothing
    assert expired_sessions_delete() == 0


def test_the_nightly_job_keeps_a_live_session(officer_client, clock):
    clock(2 * 3600)
    assert expired_sessions_delete() == 0
    assert Session.objects.count() == 1


def test_the_clearsessions_job_is_on_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["clear-sessions"]["task"] == clear_expired_sessions.name
