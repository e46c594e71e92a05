"""Issue 8, point 4: behind the proxy, axes and the audit log take the client's address from
X-Forwarded-For (the entry our proxies appended, not what the client wrote), so one stranger's
failed logins never lock a colleague out, and every audit line names the real address."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from pairing.tests.factories import OfficerFactory
from zaoyang_aid.audit import client_ip
from zaoyang_aid.models import AuditEvent

pytestmark = pytest.mark.django_db

PROXY = "127.0.0.1"


def request_from(xff: str | None) -> object:
    extra = {"REMOTE_ADDR": PROXY}
    if xff is not None:
        extra["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("xff", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),  # nginx appended the client
        ("1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the client forged an entry: the appended one wins
        (None, PROXY),  # no header: the proxy itself
        ("not-an-address", PROXY),
    ],
)
def test_behind_one_proxy_the_client_is_the_entry_the_proxy_appended(settings, xff, expected):
    settings.TRUSTED_PROXIES = 1
    assert client_ip(request_from(xff)) == expected


def test_directly_connected_a_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = 0
    assert client_ip(request_from("203.0.113.7")) == PROXY


def test_behind_two_proxies_the_second_entry_from_the_right(settings):
    settings.TRUSTED_PROXIES = 2
    assert client_ip(request_from("1.2.3.4, 203.0.113.7, 10.0.0.2")) == "203.0.113.7"


def login(client, username, password, address):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address
    )


def test_a_strangers_failed_logins_do_not_lock_out_the_colleague_behind_the_same_proxy(client, settings):
    settings.TRUSTED_PROXIES = 1
    user = OfficerFactory().user
    for _ in range(5):
        login(client, user.username, "not-the-password", "198.51.100.9")
    assert login(client, user.username, "zaoyang2026", "198.51.100.9").status_code == 429
    response = login(client, user.username, "zaoyang2026", "203.0.113.7")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(ip_address="203.0.113.7").exists()
    assert AuditEvent.objects.filter(ip_address="198.51.100.9").exists()
    assert not AuditEvent.objects.filter(ip_address=PROXY).exists()
