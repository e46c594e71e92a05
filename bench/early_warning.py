"""Time the nightly early-warning check (casefiles.early_warning.warnings_refresh) over the whole
county, as the Celery beat runs it.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/early_warning.py
    ... bench/early_warning.py --runs 5 --on 2026-11-23

Seed first (``manage.py seed_demo --scale county``). Each run is one refresh on the same day, timed
by the wall clock with its queries counted: the first raises the day's flags, the others find them
all current (what a second run of the same night does). The flags the runs write are left in the
database (they are what the nightly task would write). Also prints the signs found per kind and the
time of finding them alone (no writing), the median of ``--runs``. Target: under 60 s, no query per
student.
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

    from casefiles.early_warning import signs_on, warnings_refresh
    from pairing.models import Student

    on = options.on or timezone.localdate()
    students = Student.objects.count()
    print(f"{connection.vendor}, {students} students, the check of {on}, {options.runs} runs")
    finding = []
    for _ in range(options.runs):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            found = signs_on(on)
            finding.append(time.perf_counter() - start)
    kinds = Counter(sign for _student, sign in found)
    print(
        f"finding the signs: {statistics.median(finding) * 1000:.0f} ms median, {len(queries)} queries,"
        f" {len(found)} signs of {len({s for s, _ in found})} students: {dict(sorted(kinds.items()))}"
    )
    for run in range(options.runs):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            result = warnings_refresh(on=on)
            seconds = time.perf_counter() - start
        print(
            f"refresh {run + 1}: {seconds * 1000:.0f} ms, {len(queries)} queries; raised {result.raised},"
            f" updated {result.updated}, ended {result.ended}, officers notified {result.notified}"
        )
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
