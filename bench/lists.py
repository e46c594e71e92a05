"""Time the county's long lists (the student, pairing and staff lists) at page 1, page 150 and the
last page, as county staff read them, on an already-seeded database (county scale:
bench/seed_county.py, PostgreSQL). Issue 10, point 5: the last page should cost what the first does.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/lists.py
    ... bench/lists.py --requests 30 --runs 11
    ... bench/lists.py --offset     # the whole pages as they were before: Django's Paginator (OFFSET)

Two tables. First, whole pages through bench/pages.py's setup (DEBUG off, the test client, two
warm-up requests): status, queries, median and p95 ms, size. Then the page's rows alone, in the
same run, read both ways from the same selector and FilterSet: Django's Paginator (one OFFSET query
over every joined row) and zaoyang_aid.paging.DeferredJoinPaginator (OFFSET over the primary keys,
then the page's rows by key), each the median of ``--runs`` reads after the count is known.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pages import measure, setup_django  # bench/ is not a package: its folder is on the path

USER = "demo_county"
DEEP_PAGE = 150


def lists(user: Any) -> list[tuple[str, str, Any]]:
    """(url name, label, the list's queryset as the page reads it)."""
    from pairing import selectors

    term = selectors.term_today().term
    return [
        ("pairing:student_list", "students", selectors.students_for_list(user, {}, term=term).qs),
        ("pairing:pairing_list", "pairings", selectors.pairings_for_list(user, {}, term=term).qs),
        ("pairing:teacher_list", "teachers", selectors.teachers_for_list(user, {}).qs),
    ]


def read_page(paginator_class: Any, queryset: Any, number: int, runs: int) -> tuple[float, int]:
    """Median ms and queries to read one page's rows (with their prefetches), the count known."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from zaoyang_aid.paging import PAGE_SIZE

    times, queries = [], 0
    for _ in range(runs + 1):  # the first is a warm-up
        paginator = paginator_class(queryset.all(), PAGE_SIZE)
        paginator.count  # noqa: B018  # the count is the same either way: not what is compared
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            list(paginator.page(number).object_list)
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
    from django.db import connection
    from django.urls import reverse

    from zaoyang_aid.paging import PAGE_SIZE, DeferredJoinPaginator

    logging.getLogger("axes").setLevel(logging.WARNING)
    user = get_user_model()._default_manager.filter(username=USER).first()
    if user is None:
        raise SystemExit(f"no user {USER}: seed the demo first (bench/seed_county.py)")
    plan = []
    for name, label, queryset in lists(user):
        last = max(1, -(-queryset.count() // PAGE_SIZE))
        plan.append((name, label, queryset, sorted({1, min(DEEP_PAGE, last), last})))

    paging = "OFFSET paging (as before)" if options.offset else "deferred join"
    print(f"{connection.vendor}, DEBUG off, {paging}, as {USER}, {options.requests} requests a page after 2 warm-ups")
    print(f"{'page':<34} {'user':<13} {'code':>4} {'qs':>5} {'median ms':>9} {'p95 ms':>8} {'KB':>8}")
    for name, _label, _queryset, numbers in plan:
        for number in numbers:
            print(measure(f"{reverse(name)}?page={number}", USER, options.requests), flush=True)

    print(f"\nthe page's rows alone, median of {options.runs} reads (ms / queries)")
    print(f"{'list':<8} {'page':>9} {'OFFSET':>14} {'deferred join':>16}")
    for _name, label, queryset, numbers in plan:
        for number in numbers:
            offset_ms, offset_qs = read_page(Paginator, queryset, number, options.runs)
            deferred_ms, deferred_qs = read_page(DeferredJoinPaginator, queryset, number, options.runs)
            shown = f"{number}/{numbers[-1]}"
            print(
                f"{label:<8} {shown:>9} {offset_ms:>8.1f} / {offset_qs:<3} {deferred_ms:>10.1f} / {deferred_qs:<3}",
                flush=True,
            )


if __name__ == "__main__":
    main()
