"""Time the reminder sweep's detection step (find_due) over the whole county, on a seeded database,
beside its floors measured in the same run.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench \
        .venv/bin/python bench/reminders.py [--date YYYY-MM-DD] [--runs N]

Prints the machine first (bench/floor.py), then the median and p95 wall time and the number of
queries (the issue's target: under 5 s and under 20 queries at 12,000 pairings), and beside them the
floors: the sweep's own SELECTs run again raw (every row fetched, nothing done with it: the bare
minimum of reading what it reads), the median of ``--runs`` as well, and the bare page (the login
page through the test client, DEBUG off, in a fresh process), each with the ratio. Writes nothing: it
runs the dry-run half of the sweep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")

import floor  # bench/ is not a package: its folder is on the path


def main() -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from guidance.reminders import find_due

    parser = argparse.ArgumentParser()
    parser.add_argument("--date", default=None)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(floor.machine(), flush=True)
    on = dt.date.fromisoformat(args.date) if args.date else timezone.localdate()
    with CaptureQueriesContext(connection) as queries:
        result = find_due(on=on)
    reads = floor.selects(queries.captured_queries)
    times, floors = [], []
    for _ in range(args.runs):  # the sweep and its floor interleaved: a busy moment slows both alike
        started = time.perf_counter()
        find_due(on=on)
        times.append((time.perf_counter() - started) * 1000)
        seconds, rows = floor.raw_reads(reads)
        floors.append(seconds * 1000)
    bare = floor.bare_page_apart()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    median, raw = statistics.median(times), statistics.median(floors)
    print(f"{connection.vendor}: find_due on {on} -> {len(result.due)} reminders due ({result.reason or 'ok'})")
    print(f"  median {median:.0f} ms, p95 {p95:.0f} ms over {args.runs} runs; {len(queries)} queries")
    print(
        f"  floor: its {len(reads)} SELECTs run raw ({rows:,} rows fetched) {raw:.0f} ms median -> "
        f"{floor.ratio(median, raw)}; the bare page {bare:.1f} ms -> {floor.ratio(median, bare)}"
    )


if __name__ == "__main__":
    main()
