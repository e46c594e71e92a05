"""Time the compliance engine over every pairing of the current term, on an already-seeded database.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/compliance.py
    ... bench/compliance.py --runs 11 --explain      # also EXPLAIN ANALYZE the engine's queries

Loads nothing itself: seed first (``manage.py seed_demo --scale county``; bench/seed_county.py leaves
its last database seeded). Runs ``guidance.compliance.compliance_for(Pairing.objects.all(), term=…,
as_of=today)`` once to warm up, then ``--runs`` times, and prints the machine first (bench/floor.py),
the median and p95 wall time, the number of queries and each query's share of the time; beside them
the floors measured in the same run: the engine's own SELECTs run again raw (every row fetched,
nothing done with it: the bare minimum of reading the rows it reads), interleaved with its runs, and
the bare page (the login page through the test client, DEBUG off, in a fresh process), each with the
ratio. ``--explain`` prints the plan of the talk
aggregate (when the engine runs it) with real timings, and whether it used the
(pairing, week_monday, date) index ``talk_pairing_week``; ``--jit on|off`` overrides PostgreSQL's JIT
setting for the session, to compare. With ``as_of`` today the engine reads the per-pairing tallies;
``--as-of`` a past day makes it aggregate the talk records themselves.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402 - bench/ is not a package: its folder is on the path

TALK_INDEX = "talk_pairing_week"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")
    import django

    django.setup()


def p95(times: list[float]) -> float:
    """Nearest-rank 95th percentile (the slowest run when there are fewer than 20)."""
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--as-of", help="the day to measure as of (YYYY-MM-DD; default: today)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the talk aggregate and the rest")
    parser.add_argument("--jit", choices=["on", "off"], help="PostgreSQL: SET jit for this session (default: settings)")
    options = parser.parse_args()
    setup_django()

    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from guidance.compliance import compliance_for
    from pairing.models import Pairing, Term

    print(floor.machine(), flush=True)
    if options.jit and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET jit = {options.jit}")
    as_of = dt.date.fromisoformat(options.as_of) if options.as_of else timezone.localdate()
    term = Term.objects.current(as_of) or Term.objects.latest_started(as_of)
    if term is None:
        sys.exit("no term: seed the database first (manage.py seed_demo --scale county)")

    def run() -> dict:
        return compliance_for(Pairing.objects.all(), term=term, as_of=as_of)

    with CaptureQueriesContext(connection) as captured:
        rows = run()  # also warms the calendar's caches
    reads = floor.selects(captured.captured_queries)
    times, floors, raw_rows = [], [], 0
    for _ in range(options.runs):  # the engine and its floor interleaved: a busy moment slows both alike
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
        seconds, raw_rows = floor.raw_reads(reads)
        floors.append(seconds)
    bare = floor.bare_page_apart()

    jit = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            jit = f" (jit {cursor.fetchone()[0]})"
    print(f"{connection.vendor}{jit}: compliance_for over {len(rows):,} pairings, {term.name}, as of {as_of}")
    print(
        f"  median {statistics.median(times) * 1000:.0f} ms, p95 {p95(times) * 1000:.0f} ms over {options.runs} runs "
        f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)} ms)"
    )
    median, raw = statistics.median(times) * 1000, statistics.median(floors) * 1000
    print(
        f"  floor: its {len(reads)} SELECTs run raw ({raw_rows:,} rows fetched) {raw:.0f} ms median -> "
        f"{floor.ratio(median, raw)}; the bare page {bare:.1f} ms -> {floor.ratio(median, bare)}"
    )
    print(f"  {len(captured)} queries (warm-up run):")
    for n, query in enumerate(captured.captured_queries, start=1):
        print(f"    {n}. {float(query['time']) * 1000:7.0f} ms  {query['sql'][:110]}")
    if options.explain:
        for n, query in enumerate(captured.captured_queries, start=1):
            plan = explain(query["sql"])
            if "guidance_talkrecord" in query["sql"] and "GROUP BY" in query["sql"]:
                used = "USES" if TALK_INDEX in plan else "does NOT use"
                print(f"\n--- query {n}: the talk aggregate ({used} index {TALK_INDEX})\n{query['sql']}\n\n{plan}")
            else:
                print(f"\n--- query {n}\n{plan}")


if __name__ == "__main__":
    main()
