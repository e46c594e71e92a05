"""gunicorn's settings for 资助帮扶, each overridable from the environment (README: 生产部署).

    gunicorn -c gunicorn.conf.py zaoyang_aid.wsgi

bench/load.py starts the site with this file too, so that its figures are the production server's.
A bad value stops gunicorn at start with a message naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be {minimum} or more; got {value}")
    return value


def _str(name: str, default: str) -> str:
    raw = os.environ.get(name, "").strip()
    return raw or default


# Behind nginx on the same machine: loopback only. A container publishes 0.0.0.0:8000 explicitly.
bind = [address.strip() for address in _str("GUNICORN_BIND", "127.0.0.1:8000").split(",") if address.strip()]
# Worker processes. The pages are CPU-bound Python: about one per core (2 on the county's 2-core server);
# each costs 80-90 MB steady and up to about 190 MB while it checks a login's Argon2 hash.
workers = _int("WEB_CONCURRENCY", 2, minimum=1)
# 1: sync workers (one request at a time each, no keep-alive: nginx keeps the client connections).
# More than 1 switches gunicorn to its gthread worker, which also keeps client connections alive.
threads = _int("GUNICORN_THREADS", 1, minimum=1)
worker_class = _str("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
# A request taking longer than this is killed (the worker restarts): big Excel reports and case-file
# zips run on the Celery worker instead (REPORT_EXPORT_INLINE_ROWS), so no page should come near it.
timeout = _int("GUNICORN_TIMEOUT", 60, minimum=1)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
# Seconds an idle client connection is kept open (gthread only; sync workers close after each answer).
keepalive = _int("GUNICORN_KEEPALIVE", 5, minimum=0)
# Each worker is replaced after this many requests (0: never), the jitter spreading the restarts so that
# the workers are not all replaced at once: bounds the memory any slow leak can take. Not fewer: a new
# worker loads Django afresh (about a second of CPU), and at 1,000 a busy site replaced one every few seconds.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1000)
# The access log is off: nginx keeps one. GUNICORN_ACCESS_LOG=- writes it to stdout, or name a file.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "").strip() or None
errorlog = _str("GUNICORN_ERROR_LOG", "-")
loglevel = _str("GUNICORN_LOG_LEVEL", "info")
# gunicorn 27's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): two sites
# (or a site and bench/load.py) would fight over it. Off unless GUNICORN_CONTROL_SOCKET names a path.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"].strip()
# The workers' heartbeat files in memory, not on a disk that may stall under load.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - gunicorn's own heartbeat files
proc_name = "zaoyang-aid"
wsgi_app = "zaoyang_aid.wsgi:application"
