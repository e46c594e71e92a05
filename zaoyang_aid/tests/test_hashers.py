"""Passwords are hashed with Argon2id at OWASP's m=19 MiB, t=2, p=1 (zaoyang_aid/hashers.py); hashes
made with Django's default Argon2 parameters still log in and are rehashed with ours at that login."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, identify_hasher, make_password
from django.urls import reverse

from zaoyang_aid.hashers import Argon2idWorkerHasher

pytestmark = pytest.mark.django_db

PASSWORD = "zaoyang2026"


def test_a_new_password_is_argon2id_with_the_chosen_parameters() -> None:
    encoded = make_password(PASSWORD)

    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert isinstance(identify_hasher(encoded), Argon2idWorkerHasher)
    assert check_password(PASSWORD, encoded)
    assert not check_password("not-the-password", encoded)


def test_a_hash_with_djangos_default_parameters_logs_in_and_is_rehashed_with_ours(client) -> None:
    legacy = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    assert "$m=102400,t=2,p=8$" in legacy
    user = get_user_model().objects.create(username="laoshi", password=legacy)

    response = client.post(reverse("login"), {"username": "laoshi", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert check_password(PASSWORD, user.password)


def test_a_wrong_password_against_a_default_parameter_hash_neither_logs_in_nor_rehashes(client) -> None:
    legacy = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    get_user_model().objects.create(username="laoshi", password=legacy)

    response = client.post(reverse("login"), {"username": "laoshi", "password": "not-the-password"})

    assert response.status_code == 200
    assert get_user_model().objects.get(username="laoshi").password == legacy
