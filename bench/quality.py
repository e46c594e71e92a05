"""Time the nightly record-quality check (guidance.quality.flags_detect) at county scale.

    createdb -h 127.0.0.1 -U postgres zaoyang_quality
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_quality .venv/bin/python bench/quality.py

Seeds the county demo (``seed_demo --scale county``: some 600,000 talk records over three terms,
texts from the phrase banks, realistic gaps and 补录) when the database holds fewer than --min-talks
records, else reuses it. Then runs the check --runs times and prints, per run, the wall time, the
number of queries (constant: no per-record query), the records read and the flags found, created,
updated and withdrawn. The first run on a fresh database creates the flags; the later runs show the
idempotent nightly case (nothing new). Target: under 60 s a run.

Prints the machine first (bench/floor.py) and, measured in the same run, the floors with each run's
ratio to them: the check's own SELECTs run again raw (every row fetched, nothing done with it: the
bare minimum of reading the 600,000 records it reads), and the bare page (the login page through the
test client, DEBUG off, in a fresh process). The runs share one transaction rolled back at the end
(the later runs see the earlier runs' flags), so a shared database is left as it was; ``--keep``
commits them instead (as the nightly task would).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402 - bench/ is not a package: its folder is on the path


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--min-talks", type=int, default=500_000, help="seed the county demo below this many records")
    parser.add_argument("--fresh", action="store_true", help="delete every flag before the first run")
    parser.add_argument("--keep", action="store_true", help="commit the flags (default: roll the runs back)")
    options = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from guidance.models import TalkRecord, TalkRecordFlag

    print(floor.machine(), flush=True)
    talks = TalkRecord.objects.count()
    if talks < options.min_talks:
        print(f"{talks:,} talk records: seeding the county demo (seed_demo --scale county) ...", flush=True)
        started = time.perf_counter()
        call_command("seed_demo", "--scale", "county", "--seed", "2026", "--flush")
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
        talks = TalkRecord.objects.count()
    bare = floor.bare_page_apart()
    with contextlib.nullcontext() if options.keep else floor.rolled_back():
        if options.fresh:
            TalkRecordFlag.objects.all().delete()
        print(f"{connection.vendor}: {talks:,} talk records, {TalkRecordFlag.objects.count():,} flags before")
        runs(options.runs, bare)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB")


def runs(count: int, bare: float) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guidance.quality import flags_detect

    raw = 0.0
    for run in range(1, count + 1):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = flags_detect()
            seconds = time.perf_counter() - started
        reads = sum(1 for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT"))
        print(
            f"run {run}: {seconds:.1f} s, {len(queries.captured_queries)} queries ({reads} reads), "
            f"{result.records:,} records, found {dict(sorted(result.found.items()))}, created {result.created}, "
            f"updated {result.updated}, reopened {result.reopened}, withdrawn {result.removed}",
            flush=True,
        )
        if run == 1:  # the floor: the first run's reads again, raw (the later runs read the same)
            raw, raw_rows = floor.raw_reads(floor.selects(queries.captured_queries))
            print(f"  floor: its {reads} SELECTs run raw ({raw_rows:,} rows fetched) {raw:.1f} s", flush=True)
        print(
            f"  run {run}: {floor.ratio(seconds, raw)} the raw reads, {floor.ratio(seconds * 1000, bare)} the bare page"
            f" ({bare:.1f} ms)",
            flush=True,
        )


if __name__ == "__main__":
    main()
