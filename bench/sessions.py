"""What reading a signed-in session costs on each page view: the "db" store against "cached_db".

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/sessions.py [--sessions N] [--runs N]

Every page view of a signed-in user loads the session (one read); since zaoyang_aid/sessions.py it is
saved at most once a minute, so the read is what is left per view. The script writes N sessions into
each store, times loading each of them by key (a fresh SessionStore, as a request builds one) and
prints the median per load, beside a floor measured in the same run: ``SELECT 1`` on the same kept
database connection (one round trip to PostgreSQL). Its sessions are deleted at the end, from the
database and the cache, whatever happened.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")

ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.core.cache import cache
    from django.db import connection

    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    backend = str(settings.CACHES["default"]["BACKEND"])
    print(f"{connection.vendor}, cache {backend.rsplit('.', 1)[-1]}")
    keys: list[str] = []
    try:
        with connection.cursor() as cursor:
            floor = median_ms(lambda: cursor.execute("SELECT 1"), args.sessions * args.runs)
        print(f"  floor: SELECT 1 on the kept connection  {floor:.3f} ms")
        for engine in ENGINES:
            store = import_module(engine).SessionStore
            mine = []
            for n in range(args.sessions):
                session = store()
                session.update({"_auth_user_id": str(n), "zaoyang_last_seen": int(time.time())})
                session.create()
                mine.append(session.session_key)
            keys += mine
            loads = [median_ms(lambda key=key, store=store: store(key).load(), args.runs) for key in mine]  # type: ignore[misc]
            load = statistics.median(loads)
            print(f"  {engine.rsplit('.', 1)[-1]:10} load a session: {load:.3f} ms ({load / floor:.1f}x the floor)")
    finally:
        Session.objects.filter(session_key__in=keys).delete()
        cache_prefix = import_module(ENGINES[1]).KEY_PREFIX
        cache.delete_many([cache_prefix + key for key in keys])
        print(f"  cleaned up: {len(keys)} sessions deleted")


if __name__ == "__main__":
    main()
