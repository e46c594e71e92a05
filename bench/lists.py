"""Time the county's long lists (students, pairings, staff, 预警 flags, the audit log) at page 1,
page 150 and the last page, as county staff read them, on an already-seeded database (county scale:
bench/seed_county.py, PostgreSQL). Issue 12, point 5: the last page costs what the first does.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/lists.py
    ... bench/lists.py --requests 30 --runs 11
    ... bench/lists.py --offset     # the whole pages as they were before: Django's Paginator (OFFSET)

Prints the machine first (absolute times vary with it and with its load). Then two tables. First,
whole pages through bench/pages.py's setup (DEBUG off, the test client): status, queries, median
and p95 ms, size, and beside each the floor measured in the same run, request by request: the bare
login page through an anonymous test client, one floor request after each timed page request; the
ratio is the page's median over the floor's. Then the page's rows alone, in the same run, read each
way from the same selector and FilterSet: Django's Paginator (one OFFSET query over every joined
row), zaoyang_aid.paging.DeferredJoinPaginator (OFFSET over the keys, then the rows by key) and,
for the lists sorted by school first, GroupedPaginator (the list's size per school, then the keys
sorted among the schools the page spans), each the median of ``--runs`` reads, count included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pages import p95, setup_django  # bench/ is not a package: its folder is on the path

USER = "demo_county"
DEEP_PAGE = 150


def lists(user: Any) -> list[tuple[str, str, Any, Any]]:
    """(url name, label, the list's queryset as the page reads it, its ListGroups or None)."""
    from casefiles import early_warning
    from pairing import selectors
    from zaoyang_aid.models import AuditEvent

    term = selectors.term_today().term
    students = selectors.students_for_list(user, {}, term=term).qs
    pairings = selectors.pairings_for_list(user, {}, term=term).qs
    return [
        ("pairing:student_list", "students", students, selectors.STUDENT_LIST_GROUPS),
        ("pairing:pairing_list", "pairings", pairings, selectors.PAIRING_LIST_GROUPS),
        ("pairing:teacher_list", "teachers", selectors.teachers_for_list(user, {}).qs, selectors.TEACHER_LIST_GROUPS),
        ("casefiles:warning_list", "warnings", early_warning.warning_flags_filter(user, None).qs, None),
        ("audit_log", "audit", AuditEvent.objects.order_by("-at", "-pk"), None),
    ]


def machine() -> str:
    import os
    import platform

    from django.db import connection

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "?",
    )
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version") if connection.vendor == "postgresql" else cursor.execute("SELECT 1")
        version = cursor.fetchone()[0]
    return f"{platform.node()}: {model}, {os.cpu_count()} cores, load average {load}; {connection.vendor} {version}"


def time_page(url: str, runs: int) -> tuple[int, int, list[float], list[float], float]:
    """(status, queries, the page's times, the floor's times, KB): one floor request after each page request."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    client, bare = Client(), Client()
    client.force_login(get_user_model()._default_manager.get(username=USER))
    login = reverse("login")
    for _ in range(2):
        client.get(url, secure=True)
        bare.get(login, secure=True)
    executed: list[str] = []  # counted by a wrapper: the request's start and end reset the query log

    def count(execute: Any, sql: str, *args: Any) -> Any:
        executed.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        response = client.get(url, secure=True)
    times, floor = [], []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, secure=True)
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
        bare.get(login, secure=True)
        floor.append(time.perf_counter() - started)
    return response.status_code, len(executed), times, floor, len(response.content) / 1024


def read_page(paginator: Any, number: int, runs: int) -> tuple[float, int]:
    """Median ms and queries to count a list and read one page's rows (with their prefetches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], 0
    for _ in range(runs + 1):  # the first is a warm-up
        fresh = paginator()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            list(fresh.page(number).object_list)
            times.append(time.perf_counter() - started)
        queries = len(captured)
    return statistics.median(times[1:]) * 1000, queries


def page_with_offset(request: Any, items: Any, size: int | None = None, **_ignored: Any) -> Any:
    """zaoyang_aid.paging.page_of as it was before the deferred join: Django's Paginator."""
    from zaoyang_aid import paging

    return paging.page_of(request, items, size or paging.PAGE_SIZE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument("--runs", type=int, default=11, help="timed reads of each page's rows (default 11)")
    parser.add_argument("--offset", action="store_true", help="time the whole pages with OFFSET paging, as before")
    options = parser.parse_args()
    setup_django()
    if options.offset:
        import pairing.views

        pairing.views.page_of = page_with_offset  # type: ignore[attr-defined]  # the bench's comparison only
    import logging

    from django.contrib.auth import get_user_model
    from django.core.paginator import Paginator
    from django.urls import reverse

    from zaoyang_aid.paging import PAGE_SIZE, DeferredJoinPaginator, GroupedPaginator

    logging.getLogger("axes").setLevel(logging.WARNING)
    user = get_user_model()._default_manager.filter(username=USER).first()
    if user is None:
        raise SystemExit(f"no user {USER}: seed the demo first (bench/seed_county.py)")
    plan = []
    for name, label, queryset, groups in lists(user):
        last = max(1, -(-queryset.count() // PAGE_SIZE))
        plan.append((name, label, queryset, groups, sorted({1, min(DEEP_PAGE, last), last})))

    print(machine())
    paging = "OFFSET paging (as before)" if options.offset else "the pages' own paging"
    print(f"DEBUG off, {paging}, as {USER}, {options.requests} requests a page after 2 warm-ups, each followed")
    print("by one request of the floor (the bare login page, anonymous, same test client and process)")
    print(f"{'page':<32} {'code':>4} {'qs':>3} {'median':>7} {'p95':>7} {'floor':>6} {'ratio':>6} {'KB':>5}")
    for name, _label, _queryset, _groups, numbers in plan:
        for number in numbers:
            url = f"{reverse(name)}?page={number}"
            status, queries, times, floor, size = time_page(url, options.requests)
            median, base = statistics.median(times) * 1000, statistics.median(floor) * 1000
            print(
                f"{url:<32} {status:>4} {queries:>3} {median:>7.1f} {p95(times) * 1000:>7.1f} {base:>6.1f} "
                f"{median / base:>5.1f}x {size:>5.0f}",
                flush=True,
            )

    print(f"\nthe count and the page's rows alone, median of {options.runs} reads (ms / queries)")
    print(f"{'list':<9} {'page':>9} {'OFFSET':>13} {'deferred join':>15} {'by school':>13}")
    for _name, label, queryset, groups, numbers in plan:
        for number in numbers:
            offset = read_page(lambda q=queryset: Paginator(q.all(), PAGE_SIZE), number, options.runs)
            deferred = read_page(lambda q=queryset: DeferredJoinPaginator(q.all(), PAGE_SIZE), number, options.runs)
            grouped = (
                read_page(
                    lambda q=queryset, g=groups: GroupedPaginator(q.all(), PAGE_SIZE, groups=g), number, options.runs
                )
                if groups is not None
                else None
            )
            cells = [f"{ms:>8.1f} / {qs:<2}" for ms, qs in (offset, deferred, *([grouped] if grouped else []))]
            print(f"{label:<9} {f'{number}/{numbers[-1]}':>9} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
