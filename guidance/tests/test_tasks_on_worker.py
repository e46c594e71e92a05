"""The morning sweep runs on a real Celery worker, exactly once across real deliveries: over kombu's
filesystem broker (the quick start, no Redis) and over Redis (production and CI).

The worker is a subprocess (zaoyang_aid/tests/test_celery.py starts it), so it sees neither the
test's frozen time nor its open transactions: the rows are committed (``transactional_db``), the
task is sent with ``on`` (the school day to sweep for), and the worker's DATABASE_URL points at the
test database. On PostgreSQL that is ``test_<name>``. On SQLite the test database is in memory,
which another process cannot open: it is copied to a file for the worker (sqlite3's backup API) and
copied back before each look, so the checks read what the worker wrote through the ORM as usual.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery import Celery
from django.db import connection

from guidance.models import Notification, Reminder, ReminderKind, SweepOutcome, SweepRun
from pairing.tests import factories as pf
from zaoyang_aid.tests.test_celery import Worker, running_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCHOOL_DAY = "2026-11-16"  # a Monday of a school week in TermFactory's term (2026-09-01..2027-01-22)
ROWS_TIMEOUT = 30  # seconds, from sending the task to its rows in the database
TASK_TIMEOUT = 30


class WorkerDatabase:
    """The test database as the worker reaches it: its DATABASE_URL, and ``refresh()`` to see its writes."""

    def __init__(self, tmp_path: Path) -> None:
        connection.ensure_connection()
        self.copy: Path | None = None
        settings = connection.settings_dict
        if connection.vendor == "sqlite":
            if connection.creation.is_in_memory_db(settings["NAME"]):
                self.copy = tmp_path / "worker.sqlite3"
                with contextlib.closing(sqlite3.connect(self.copy)) as file:
                    connection.connection.backup(file)
                self.url = f"sqlite:///{self.copy}"
            else:
                self.url = f"sqlite:///{Path(settings['NAME']).resolve()}"
        elif connection.vendor == "postgresql":
            user = quote(settings["USER"] or "", safe="")
            password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
            host = settings["HOST"] or "localhost"
            port = f":{settings['PORT']}" if settings["PORT"] else ""
            self.url = f"postgres://{user}{password}@{host}{port}/{quote(settings['NAME'], safe='')}"
        else:  # pragma: no cover - the project runs on SQLite and PostgreSQL only
            pytest.skip(f"no worker DATABASE_URL for a {connection.vendor} test database")

    def refresh(self) -> None:
        """On in-memory SQLite, copy the worker's file back over the test database; else nothing to do."""
        if self.copy is not None:
            with contextlib.closing(sqlite3.connect(self.copy)) as file:
                file.backup(connection.connection)


def small_world():
    """A school in term on SCHOOL_DAY with one teacher 包保 one student since the Monday before and
    no talk recorded: the sweep (catching up the two weeks before SCHOOL_DAY's, which owe nothing)
    owes that teacher one missed-talk reminder (for the week before) and one notification."""
    pf.TermFactory()
    pairing = pf.PairingFactory(started_on=dt.date(2026, 11, 9))
    return pairing


def counts() -> tuple[int, int]:
    return Reminder.objects.count(), Notification.objects.count()


def send_sweep(sender: Celery, worker: Worker) -> str:
    task_id = str(uuid.uuid4())
    sender.send_task("guidance.sweep_reminders", kwargs={"on": SCHOOL_DAY}, task_id=task_id, queue=worker.queue)
    return task_id


def wait_succeeded(worker: Worker, task_id: str) -> None:
    succeeded = f"Task guidance.sweep_reminders[{task_id}] succeeded"
    assert worker.wait_for(succeeded, TASK_TIMEOUT), f"no '{succeeded}' within {TASK_TIMEOUT}s:\n{worker.output()}"


def assert_sweep_runs_once_on_the_worker(sender: Celery, worker: Worker, database: WorkerDatabase, pairing) -> None:
    assert counts() == (0, 0)
    first = send_sweep(sender, worker)

    deadline = time.monotonic() + ROWS_TIMEOUT
    while True:
        database.refresh()
        if Reminder.objects.exists() and Notification.objects.exists():
            break
        if time.monotonic() > deadline or worker.process.poll() is not None:
            pytest.fail(f"no reminder and notification within {ROWS_TIMEOUT}s:\n{worker.output()}")
        time.sleep(0.3)
    wait_succeeded(worker, first)
    database.refresh()

    reminder = Reminder.objects.get()
    assert (reminder.pairing_id, reminder.kind, str(reminder.period)) == (
        pairing.pk,
        ReminderKind.MISSED_TALK,
        "2026-11-09",
    )
    notice = Notification.objects.get()
    assert (notice.recipient_id, notice.reminder_id) == (pairing.teacher.user_id, reminder.pk)
    run = SweepRun.objects.get(week_monday=dt.date(2026, 11, 16))
    assert (run.outcome, run.reminders_created, run.notifications_created) == (SweepOutcome.ON_TIME, 1, 1)

    # Delivered again (a redelivery, a second beat): the worker runs it and adds nothing.
    second = send_sweep(sender, worker)
    wait_succeeded(worker, second)
    database.refresh()
    assert counts() == (1, 1)


def worker_env(database: WorkerDatabase, var: Path, redis_url: str) -> dict[str, str]:
    # SECRET_KEY and DJANGO_SETTINGS_MODULE (settings_test, so DEBUG stays off) come from this test run.
    return {**os.environ, "DATABASE_URL": database.url, "ZAOYANG_VAR_DIR": str(var), "REDIS_URL": redis_url}


@pytest.fixture
def filesystem_options(tmp_path: Path) -> dict[str, object]:
    """The embedded broker's options, as settings.py builds them under ZAOYANG_VAR_DIR=tmp_path/var."""
    var = tmp_path / "var"
    folder, processed, control = var / "celery-broker", var / "celery-processed", var / "celery-control"
    for each in (folder, processed, control):
        each.mkdir(parents=True)
    return {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(processed),
        "control_folder": str(control),
        "store_processed": False,
    }


def test_the_sweep_runs_once_on_a_worker_over_the_filesystem_broker(
    tmp_path: Path, filesystem_options: dict[str, object]
) -> None:
    pairing = small_world()
    database = WorkerDatabase(tmp_path)
    sender = Celery("sender", broker="filesystem://", broker_transport_options=filesystem_options)

    # REDIS_URL empty: settings.py picks the filesystem broker under ZAOYANG_VAR_DIR.
    with running_worker(tmp_path, worker_env(database, tmp_path / "var", "")) as worker:
        assert_sweep_runs_once_on_the_worker(sender, worker, database, pairing)


@pytest.mark.redis
def test_the_sweep_runs_once_on_a_worker_over_redis(tmp_path: Path) -> None:
    pairing = small_world()
    database = WorkerDatabase(tmp_path)
    redis_url = os.environ["REDIS_URL"]
    sender = Celery("sender", broker=redis_url)

    with running_worker(tmp_path, worker_env(database, tmp_path / "var", redis_url)) as worker:
        try:
            assert_sweep_runs_once_on_the_worker(sender, worker, database, pairing)
        finally:
            # Kombu leaves the test queue's bindings behind in Redis.
            client = redis.Redis.from_url(redis_url)
            leftovers = list(client.scan_iter(match=f"*{worker.queue}*"))
            if leftovers:
                client.delete(*leftovers)
