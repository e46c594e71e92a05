"""Floors for the benches: what the machine is, and the bare minimum of a job measured in the same run,
so that a figure is read as a ratio to its floor rather than as an absolute time (issue 12, point 6).

    .venv/bin/python bench/floor.py                 # the machine line and the bare page, as the benches print them
    .venv/bin/python bench/floor.py --bare-page 20  # the bare page alone: its median ms (what bare_page_apart reads)

bench/ is not a package: a script puts its own folder on sys.path and imports this module.

- ``machine()``: one line (CPU model, cores, load average now, database and its version, Python) that
  every bench prints first.
- ``bare_page(n)``: the login page GET through Django's test client, with the production-like set-up
  bench/pages.py uses (DEBUG off, ``pages.setup_django``), the median ms of ``n`` after two warm-ups:
  "the bare page", the floor the issue compares pages with. In this process (Django set up already,
  or set up here as pages.py does). ``bare_page_apart(n)`` measures it in a fresh process with that
  set-up, for a bench that runs with DEBUG on.
- ``raw_reads(queries)``: the job's own SELECTs (captured with CaptureQueriesContext) run again raw
  through a cursor, every row fetched and nothing done with it: the floor of a job that reads rows and
  works on them in Python (the compliance engine, the reminder sweep, the nightly checks).
- ``ratio(x, floor)``: "12.3x".
- ``rolled_back()``: a transaction rolled back at its end, for a bench that writes into the shared
  county database (flags, notifications, audit lines: the audit log refuses a DELETE, so what a bench
  writes there is never committed).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BARE_PAGE = "login"  # the url name of the bare page
# A server-side cursor's query as psycopg2 logs it: the SELECT behind a DECLARE.
_DECLARE = re.compile(r'^\s*DECLARE\s+"?[\w$]+"?\s+(?:NO\s+SCROLL\s+)?CURSOR\s+WITH(?:OUT)?\s+HOLD\s+FOR\s+', re.I)


def ratio(x: float, floor: float) -> str:
    """``x`` as a multiple of ``floor``, one decimal ("12.3x"); "n/a" when the floor is not positive."""
    if floor <= 0:
        return "n/a"
    value = x / floor
    return f"{value:.1f}x" if value >= 0.95 else f"{value:.2f}x"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _database() -> str:
    """The database Django is set up with and its server's version; "no database" if Django is not set up."""
    from django.apps import apps

    if not apps.ready:
        return "no database"
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = str(cursor.fetchone()[0]).split()[0]
        return f"PostgreSQL {version} ({connection.settings_dict['NAME']})"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor


def machine(*, database: bool = True) -> str:
    """One line: what ran the bench and how busy the machine was when it started."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    db = _database() if database else "no database"
    return (
        f"machine: {_cpu_model()}, {os.cpu_count()} cores, load average {load} at start; {db}; "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def median_ms(work: Callable[[], Any], n: int, *, warm_ups: int = 2) -> float:
    """The median wall time of ``n`` calls of ``work`` after ``warm_ups`` untimed ones, in ms."""
    for _ in range(warm_ups):
        work()
    times = []
    for _ in range(max(1, n)):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bare_page(n: int = 20) -> float:
    """The login page GET (anonymous) through the test client, median ms of ``n`` after two warm-ups."""
    from django.apps import apps

    if not apps.ready:
        sys.path.insert(0, str(HERE))
        from pages import setup_django  # bench/ is not a package: its folder is on the path

        setup_django()
    from django.test import Client
    from django.urls import reverse

    client = Client()
    url = reverse(BARE_PAGE)

    def get() -> None:
        response = client.get(url, secure=True)
        if response.status_code != 200:
            raise RuntimeError(f"the bare page {url} answered {response.status_code}")

    return median_ms(get, n)


def bare_page_apart(n: int = 20, env: Mapping[str, str] | None = None) -> float:
    """``bare_page(n)`` in a fresh process set up as bench/pages.py sets up (DEBUG off), on the same
    database: for a bench that itself runs with DEBUG on. Its median ms."""
    command = [sys.executable, str(Path(__file__).resolve()), "--bare-page", str(n)]
    done = subprocess.run(  # noqa: S603 - this module, with a number
        command, env=dict(env or os.environ), cwd=ROOT, check=True, capture_output=True, text=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def selects(captured: Iterable[Mapping[str, Any]]) -> list[str]:
    """The SELECTs among captured queries (``CaptureQueriesContext.captured_queries``), as SQL to run again."""
    found = []
    for query in captured:
        sql = _DECLARE.sub("", str(query["sql"]))
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            found.append(sql)
    return found


def raw_reads(statements: Iterable[str]) -> tuple[float, int]:
    """(seconds, rows) of running ``statements`` again raw: a cursor, every row fetched in batches of
    2,000 and dropped, no model or Python work on them. On PostgreSQL a server-side cursor, so that
    600,000 rows do not sit in memory at once (as the jobs' own ``iterator()`` reads do)."""
    from django.db import connection, transaction

    rows = 0
    started = time.perf_counter()
    for n, sql in enumerate(statements):
        if connection.vendor == "postgresql":
            with transaction.atomic():
                connection.ensure_connection()
                with connection.connection.cursor(name=f"bench_floor_{n}") as cursor:
                    cursor.itersize = 2000
                    cursor.execute(sql)
                    while batch := cursor.fetchmany(2000):
                        rows += len(batch)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                while batch := cursor.fetchmany(2000):
                    rows += len(batch)
    return time.perf_counter() - started, rows


def xlsx_read(data: bytes) -> tuple[float, int]:
    """(seconds, rows) of openpyxl alone reading an .xlsx (read-only mode, every cell's value, nothing
    checked): the floor of an import's read."""
    import io

    from openpyxl import load_workbook

    started = time.perf_counter()
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = sum(1 for sheet in workbook.worksheets for _ in sheet.iter_rows(values_only=True))
    workbook.close()
    return time.perf_counter() - started, rows


@contextmanager
def rolled_back() -> Iterator[None]:
    """Everything inside is written and read back as usual, then rolled back (on_commit hooks never run)."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bare-page", type=int, metavar="N", help="print only the bare page's median ms of N")
    options = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from pages import setup_django

    setup_django()
    import logging

    logging.getLogger("axes").setLevel(logging.WARNING)
    if options.bare_page:
        print(f"{bare_page(options.bare_page):.3f}")
        return
    print(machine())
    print(f"the bare page (login GET, test client, DEBUG off): {bare_page(20):.1f} ms, median of 20")


if __name__ == "__main__":
    main()
