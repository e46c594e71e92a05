"""/healthz: load balancers and the quick start probe it without a login; it answers 200 while the
database and the Celery broker answer, 503 with the failing check's error otherwise."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

# Port 1 on the loopback: nothing listens there, so a connection is refused at once.
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


def test_healthz_answers_ok_without_a_login(client: Client, db: Any) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


def test_healthz_is_never_cached(client: Client, db: Any) -> None:
    response = client.get("/healthz")

    assert "no-cache" in response["Cache-Control"]


def test_an_unreachable_broker_answers_503_with_the_brokers_error(client: Client, db: Any, settings: Any) -> None:
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert "refused" in body["broker"]["error"].lower()


@pytest.mark.redis
def test_with_redis_url_set_the_broker_check_talks_to_redis(client: Client, db: Any, settings: Any) -> None:
    assert os.environ["REDIS_URL"] == settings.CELERY_BROKER_URL

    response = client.get("/healthz")

    assert response.status_code == 200
    broker = response.json()["broker"]
    assert broker["ok"] is True
    assert broker["transport"] == "redis"
