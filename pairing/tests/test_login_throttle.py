"""Failed logins are throttled by django-axes: after 5 failures in 15 minutes the next try is
refused even with the right password, with a Chinese message."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pairing.tests.factories import OfficerFactory

pytestmark = pytest.mark.django_db


def attempt(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR="10.0.0.7")


def test_five_failures_lock_the_account_even_against_the_right_password(client):
    user = OfficerFactory().user
    for _ in range(4):
        response = attempt(client, user.username, "not-the-password")
        assert response.status_code == 200
        assert "用户名和密码" in response.content.decode()
    # The fifth failure already answers with the lockout page...
    assert attempt(client, user.username, "not-the-password").status_code == 429
    # ...and the next try is refused although the password is right.
    response = attempt(client, user.username, "zaoyang2026")
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_four_failures_then_the_right_password_logs_in(client):
    user = OfficerFactory().user
    for _ in range(4):
        attempt(client, user.username, "not-the-password")
    response = attempt(client, user.username, "zaoyang2026")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_passwords_are_hashed_with_argon2():
    user = OfficerFactory().user
    assert user.password.startswith("argon2$")


def test_session_ends_after_an_idle_hour_kept_by_the_middleware_not_by_saving_every_view(client, settings):
    # The idle hour is zaoyang_aid.sessions' (tested in test_idle_sessions.py); the store keeps the
    # session a day longer so that the middleware, which says why, is what ends it.
    user = OfficerFactory().user
    client.force_login(user)
    client.get(reverse("pairing:school_overview"))
    assert settings.SESSION_IDLE_TIMEOUT == 3600
    assert client.session.get_expiry_age() == 3600 + 24 * 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
