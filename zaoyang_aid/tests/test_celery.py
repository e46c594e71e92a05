"""A real Celery worker consumes what the app sends it: over kombu's filesystem broker (the quick
start, no Redis) and over Redis (production and CI).

The task is Celery's builtin ``celery.accumulate`` (it returns its arguments), which every worker
registers, so the app needs no task of the test's own. Each test sends to a queue of its own and the
worker listens only there, so a developer's running worker (start.py) cannot take the message, and
consumption is read from the worker's log line ``Task celery.accumulate[<id>] succeeded``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings

pytestmark = pytest.mark.slow

WORKER_READY_TIMEOUT = 20  # seconds; the worker imports Django and the apps first
TASK_TIMEOUT = 15
STOP_TIMEOUT = 10


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    queue: str

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if self.process.poll() is not None:
                return text in self.output()
            time.sleep(0.2)
        return False


def start_worker(tmp_path: Path, env: dict[str, str]) -> Worker:
    queue = f"test-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "worker.log"
    command = [
        *(sys.executable, "-m", "celery", "-A", "zaoyang_aid", "worker", "--pool", "solo", "--loglevel", "info"),
        *("--hostname", f"{queue}@%h", "--queues", queue, "--without-mingle", "--without-gossip"),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - a fixed command line, no shell
            command,
            cwd=settings.BASE_DIR,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the finalizer stops all of it
        )
    return Worker(process=process, log=log, queue=queue)


def stop_worker(worker: Worker) -> None:
    # A warm shutdown takes a few seconds: the solo pool notices the signal between broker polls.
    for signum, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5)):
        if worker.process.poll() is not None:
            break
        os.killpg(worker.process.pid, signum)
        try:
            worker.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # Anything left in the group (there should be nothing with the solo pool) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_worker(tmp_path: Path, env: dict[str, str]) -> Iterator[Worker]:
    """A ready worker, stopped (its whole process group) when the block ends, whatever happened."""
    worker = start_worker(tmp_path, env)
    try:
        if not worker.wait_for(" ready.", WORKER_READY_TIMEOUT):
            pytest.fail(f"the worker did not become ready in {WORKER_READY_TIMEOUT}s:\n{worker.output()}")
        yield worker
    finally:
        stop_worker(worker)


def assert_worker_runs_a_sent_task(sender: Celery, worker: Worker) -> None:
    task_id = str(uuid.uuid4())
    sender.send_task("celery.accumulate", args=(2026, "资助"), task_id=task_id, queue=worker.queue)

    succeeded = f"Task celery.accumulate[{task_id}] succeeded"
    assert worker.wait_for(succeeded, TASK_TIMEOUT), f"no '{succeeded}' within {TASK_TIMEOUT}s:\n{worker.output()}"
    assert "(2026, '资助')" in worker.output()


@pytest.fixture
def filesystem_broker(tmp_path: Path) -> dict[str, object]:
    """The embedded broker's options, as settings.py builds them, in a folder of this test's own."""
    var = tmp_path / "var"
    folder, processed, control = var / "celery-broker", var / "celery-processed", var / "celery-control"
    for each in (folder, processed, control):
        each.mkdir(parents=True)
    return {
        "var": var,
        "options": {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(processed),
            # Without it kombu writes the sender's exchange files to ./control in the working directory.
            "control_folder": str(control),
            "store_processed": False,
        },
    }


@pytest.fixture
def filesystem_worker(tmp_path: Path, filesystem_broker: dict[str, object]) -> Iterator[Worker]:
    # REDIS_URL empty: settings.py picks the filesystem broker under ZAOYANG_VAR_DIR.
    env = {**os.environ, "REDIS_URL": "", "ZAOYANG_VAR_DIR": str(filesystem_broker["var"])}
    with running_worker(tmp_path, env) as worker:
        yield worker


@pytest.fixture
def redis_worker(tmp_path: Path) -> Iterator[Worker]:
    with running_worker(tmp_path, {**os.environ, "ZAOYANG_VAR_DIR": str(tmp_path / "var")}) as worker:
        yield worker
        # Kombu leaves the test queue's bindings behind in Redis; the queue's list is gone once consumed.
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        leftovers = list(client.scan_iter(match=f"*{worker.queue}*"))
        if leftovers:
            client.delete(*leftovers)


def test_a_worker_on_the_filesystem_broker_runs_a_task_sent_to_it(
    filesystem_worker: Worker, filesystem_broker: dict[str, object]
) -> None:
    sender = Celery("sender", broker="filesystem://", broker_transport_options=filesystem_broker["options"])

    assert_worker_runs_a_sent_task(sender, filesystem_worker)


@pytest.mark.redis
def test_a_worker_on_redis_runs_a_task_sent_to_it(redis_worker: Worker) -> None:
    sender = Celery("sender", broker=os.environ["REDIS_URL"])

    assert_worker_runs_a_sent_task(sender, redis_worker)
