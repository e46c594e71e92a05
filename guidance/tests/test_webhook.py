"""The webhook channel against a local HTTP server: the JSON it posts, and a 500 retried later."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from guidance.deliveries import deliveries_prepare, deliveries_send
from guidance.models import Delivery, DeliveryStatus, Notification
from guidance.reminders import sweep

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_week_sweeps")]
MONDAY = dt.date(2026, 11, 16)


class Hook:
    def __init__(self) -> None:
        self.received: list[tuple[dict, dict]] = []
        self.status = 200


@pytest.fixture
def hook():
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            state.received.append((dict(self.headers), json.loads(self.rfile.read(length).decode("utf-8"))))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def swept(world, settings, hook):
    settings.REMINDER_CHANNELS = ["email", "webhook"]
    settings.REMINDER_WEBHOOK_URL = hook.url
    settings.REMINDER_SITE_URL = ""
    sweep(on=MONDAY)  # nobody in the world has an email address: webhook only
    return world


def test_the_webhook_receives_the_digest_as_json(swept, hook):
    deliveries_prepare(day=MONDAY)
    assert set(Delivery.objects.values_list("channel", flat=True)) == {"webhook"}
    result = deliveries_send(now=timezone.now())
    assert result.sent == Delivery.objects.count() == len(hook.received)
    teacher = swept.teacher_a1
    headers, body = next(b for b in hook.received if b[1]["recipient"]["username"] == teacher.username)
    assert headers["Content-Type"].startswith("application/json")
    assert body["recipient"] == {"username": teacher.username, "full_name": teacher.full_name, "role": "teacher"}
    assert body["subject"].startswith("资助帮扶提醒")
    notice = Notification.objects.filter(recipient=teacher).first()
    assert {"title": notice.title, "link": notice.link} in body["items"]
    assert "张小明" in json.dumps(body, ensure_ascii=False)


def test_a_500_is_retried_later(swept, hook):
    hook.status = 500
    deliveries_prepare(day=MONDAY)
    now = timezone.now()
    result = deliveries_send(now=now)
    assert result.retried == Delivery.objects.count() > 0 and result.sent == 0
    row = Delivery.objects.get(recipient=swept.teacher_a1)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert "500" in row.last_error and row.next_attempt_at > now
    hook.status = 200
    assert deliveries_send(now=row.next_attempt_at).sent == Delivery.objects.count()


def test_an_empty_url_turns_the_webhook_off(world, settings):
    settings.REMINDER_WEBHOOK_URL = ""
    sweep(on=MONDAY)
    assert deliveries_prepare(day=MONDAY) == 0
