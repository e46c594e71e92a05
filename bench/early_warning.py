"""Time the nightly early-warning check (casefiles.early_warning.warnings_refresh) over the whole
county, as the Celery beat runs it.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/early_warning.py
    ... bench/early_warning.py --runs 5 --on 2026-11-23

Seed first (``manage.py seed_demo --scale county``). Each run is one refresh on the same day, timed
by the wall clock with its queries counted: the first raises the day's flags, the others find them
all current (what a second run of the same night does). The runs share one transaction, rolled back
at the end: the flags and notices they write are read back by the later runs, then dropped, so the
shared database is left as it was (the commit's own cost is not in the times). Also prints the signs
found per kind and the time of finding them alone (no writing), the median of ``--runs``. Target:
under 60 s, no query per student. Prints the machine first (bench/floor.py) and, measured in the
same run, the floors: the finding's own SELECTs run again raw (every row fetched, nothing done with
it: the bare minimum of reading what it reads; median of ``--runs``, interleaved with the finding's
runs) and the bare page (the login page through the test client, DEBUG off, in a fresh process),
with each time's ratio to them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402 - bench/ is not a package: its folder is on the path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--on", type=dt.date.fromisoformat, help="the day checked (default: today)")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from casefiles.early_warning import signs_on
    from pairing.models import Student

    print(floor.machine(), flush=True)
    on = options.on or timezone.localdate()
    students = Student.objects.count()
    print(f"{connection.vendor}, {students} students, the check of {on}, {options.runs} runs")
    finding, floors, raw_rows = [], [], 0
    for _ in range(options.runs):  # the finding and its floor interleaved: a busy moment slows both alike
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            found = signs_on(on)
            finding.append(time.perf_counter() - start)
        seconds, raw_rows = floor.raw_reads(floor.selects(queries.captured_queries))
        floors.append(seconds)
    raw = statistics.median(floors) * 1000
    bare = floor.bare_page_apart()
    kinds = Counter(sign for _student, sign in found)
    print(
        f"finding the signs: {statistics.median(finding) * 1000:.0f} ms median, {len(queries)} queries,"
        f" {len(found)} signs of {len({s for s, _ in found})} students: {dict(sorted(kinds.items()))}"
    )
    median = statistics.median(finding) * 1000
    print(
        f"floor: its SELECTs run raw ({raw_rows:,} rows fetched) {raw:.0f} ms median -> finding"
        f" {floor.ratio(median, raw)}; the bare page {bare:.1f} ms -> finding {floor.ratio(median, bare)}"
    )
    with floor.rolled_back():
        refreshes(options.runs, on, raw, bare)
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def refreshes(runs: int, on: dt.date, raw: float, bare: float) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casefiles.early_warning import warnings_refresh

    for run in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            result = warnings_refresh(on=on)
            seconds = time.perf_counter() - start
        print(
            f"refresh {run + 1}: {seconds * 1000:.0f} ms, {len(queries)} queries; raised {result.raised},"
            f" updated {result.updated}, ended {result.ended}, officers notified {result.notified};"
            f" {floor.ratio(seconds * 1000, raw)} the raw reads, {floor.ratio(seconds * 1000, bare)} the bare page"
        )


if __name__ == "__main__":
    main()
