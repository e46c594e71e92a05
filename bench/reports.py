"""Time each report of the registry (casefiles.reports.REPORTS) beside the floor: bare openpyxl
write-only mode writing the same cells, in the same run.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/reports.py
    ... bench/reports.py --runs 5 --as demo_county --report pairings

Loads nothing itself: seed first (``manage.py seed_demo --scale county``; bench/seed_county.py leaves
its last database seeded). For each report: one warm-up, then ``--runs`` exports to a temporary file
as the account ``--as`` (default: the first active county account), printing the median wall time,
the number of queries, the peak of Python's allocations above the start (tracemalloc: the rows
and the workbook in memory, not the database driver's C buffers) and the process's peak resident
size (one extra traced run: tracemalloc slows the code it watches); then the time to read the same
rows alone (the selector, no file), and the floor: those cells, held in a list beforehand, written
by a bare openpyxl write-only workbook (no styles, no heading), timed alike (the issue's floor), and by
bare XlsxWriter constant-memory mode, the library zaoyang_aid/excel.py writes with. Ratios: report /
floor, report / (read + floor), and report / (read + bare XlsxWriter): what our layout, cell checks and
totals add over reading and the bare library. A report of more
than STREAMED_FLOOR_ROWS rows (the talk detail) is too large to hold: its floor streams the same
cells from the selector into the bare workbook, beside the read alone, so it prints read + floor
and the ratio to it.
Prints the machine first (bench/floor.py) and the bare page (the login page through the test client,
DEBUG off, in a fresh process, on the same database) with each report's ratio to it at the end of its
line. Each export runs in a transaction rolled back at its end, so the audit lines it writes are not
committed to the shared database (the audit log refuses a DELETE); the commit's cost is not in the times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor as bench_floor  # noqa: E402 - bench/ is not a package: its folder is on the path


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")
    import django

    django.setup()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def timed_export(
    name: str, user: Any, *, trace: bool = False, data: dict[str, str] | None = None
) -> tuple[float, int, float, int]:
    """(seconds, queries, traced peak MB or 0, rows) of one export to a temporary file. Timed runs
    are not traced: tracemalloc slows allocation-heavy code two- to threefold."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casefiles.reports import report_export

    with tempfile.TemporaryFile() as target, CaptureQueriesContext(connection) as queries, bench_floor.rolled_back():
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        result = report_export(name=name, user=user, data=data or {}, target=target)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        tracemalloc.stop()
    return seconds, len(queries), peak / 2**20, result.rows


def cells_of(name: str, user: Any, term_id: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """The header and the cells the report writes for ``user``, held in memory for the floor."""
    from casefiles.reports import REPORTS, _cell_values, columns_for, report_term
    from pairing.models import Term

    report = REPORTS[name]
    term: Term = report_term(user, term_id)
    columns = columns_for(report, user)
    values = _cell_values(columns, user)
    selected = report.selector(report.filter_of(user, {}, term), term)
    return [c.label for c in columns], [_plain(values(row)) for row in report.rows(selected, term)]


def timed_xlsxwriter_floor(header: list[str], rows: list[list[Any]]) -> float:
    """Seconds of bare XlsxWriter constant-memory mode (the writer zaoyang_aid/excel.py uses) writing
    the same cells: what the report's own layout, checks and totals add over the library it writes with."""
    import xlsxwriter

    with tempfile.TemporaryFile() as target:
        start = time.perf_counter()
        wb = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False})
        ws = wb.add_worksheet()
        ws.write_row(0, 0, header)
        for i, row in enumerate(rows, start=1):
            ws.write_row(i, 0, row)
        wb.close()
        return time.perf_counter() - start


def timed_floor(header: list[str], rows: list[list[Any]]) -> float:
    """Seconds of bare openpyxl write-only mode writing the same cells (held in memory already)."""
    from openpyxl import Workbook

    with tempfile.TemporaryFile() as target:
        start = time.perf_counter()
        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(header)
        for row in rows:
            ws.append(row)
        wb.save(target)
        return time.perf_counter() - start


# Above this many rows the floor is not held in memory (600,000 talks with their text would take
# gigabytes): the same cells are streamed from the selector into the bare workbook instead, and the
# read alone is timed apart, so the comparison is report / (read + bare write) all the same.
STREAMED_FLOOR_ROWS = 50_000


def _plain(row: list[Any]) -> list[Any]:
    """The cells as the writer writes them: an aware moment as Asia/Shanghai wall time (openpyxl
    refuses time zones)."""
    from django.utils import timezone

    return [timezone.localtime(v).replace(tzinfo=None) if isinstance(v, dt.datetime) and v.tzinfo else v for v in row]


def _streamed_cells(name: str, user: Any, term_id: str | None) -> tuple[list[str], Any]:
    from casefiles.reports import REPORTS, _cell_values, columns_for, report_term

    report = REPORTS[name]
    term = report_term(user, term_id)
    columns = columns_for(report, user)
    values = _cell_values(columns, user)
    selected = report.selector(report.filter_of(user, {}, term), term)
    return [c.label for c in columns], (_plain(values(row)) for row in report.rows(selected, term))


def timed_streamed_floor(
    name: str, user: Any, term_id: str | None, *, trace: bool = True
) -> tuple[float, float, float]:
    """(read alone, read + bare write, peak MB traced of the bare streamed write) for a report too
    large to hold: the selector's rows, streamed, counted (read) or written by bare openpyxl."""
    from openpyxl import Workbook

    _, rows = _streamed_cells(name, user, term_id)
    start = time.perf_counter()
    for _row in rows:
        pass
    read = time.perf_counter() - start
    header, rows = _streamed_cells(name, user, term_id)
    with tempfile.TemporaryFile() as target:
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(header)
        for row in rows:
            ws.append(row)
        wb.save(target)
        both = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
        tracemalloc.stop()
    return read, both, peak


def _rss_now_mb() -> float:
    with Path("/proc/self/statm").open() as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def streamed(name: str, user: Any, data: dict[str, str], options: argparse.Namespace, bare: float) -> None:
    """A report too large to hold (the talk detail): each run's time with the resident memory at
    every 25,000 rows written (flat, or it is not streaming), then the read alone and the read +
    bare openpyxl write of the same cells, streamed. Not traced: tracemalloc slows 600,000 rows of
    openpyxl several-fold, and the resident size at each step says what it would."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casefiles.reports import report_export

    def sampling(marks: list[str]) -> Any:
        def on_progress(rows: int) -> None:
            if rows % 25_000 == 0:
                marks.append(f"{rows // 1000}k:{_rss_now_mb():.0f}")

        return on_progress

    times = []
    for _ in range(options.runs):
        marks: list[str] = []
        with (
            tempfile.TemporaryFile() as target,
            CaptureQueriesContext(connection) as queries,
            bench_floor.rolled_back(),
        ):
            start = time.perf_counter()
            result = report_export(name=name, user=user, data=data, target=target, on_progress=sampling(marks))
            times.append(time.perf_counter() - start)
        print(
            f"{name:22} {result.rows:>6} rows {times[-1] * 1000:7.0f} ms {len(queries):>3} queries"
            f" | resident MB at rows written {' '.join(marks)} | process peak RSS {peak_rss_mb():.0f} MB",
            flush=True,
        )
    if options.no_floor:
        return
    read, both, _peak = timed_streamed_floor(name, user, options.term, trace=False)
    seconds = statistics.median(times)
    print(
        f"{name:22} median {seconds * 1000:7.0f} ms | the rows read alone (streamed) {read * 1000:6.0f} ms |"
        f" read + floor (bare openpyxl write-only, streamed) {both * 1000:6.0f} ms"
        f" | ratio to read+floor {seconds / both:4.2f}x | {bench_floor.ratio(seconds * 1000, bare)} the bare page",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--as", dest="username", help="the account to export as (default: the first county account)")
    parser.add_argument("--report", action="append", help="a report's name (repeatable; default: every report)")
    parser.add_argument("--term", help="a term's id (default: the current term)")
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor (it holds every cell in memory first: at 200,000 talks with their text, gigabytes)",
    )
    options = parser.parse_args()
    setup_django()

    from django.contrib.auth import get_user_model
    from django.db import connection

    from casefiles.reports import REPORTS

    users = get_user_model().objects.filter(is_active=True)
    user = users.get(username=options.username) if options.username else users.filter(role="county").first()
    if user is None:
        sys.exit("no county account: seed the database first (manage.py seed_demo --scale county)")
    print(bench_floor.machine(), flush=True)
    bare = bench_floor.bare_page_apart()
    print(f"the bare page (login GET, test client, DEBUG off, a fresh process): {bare:.1f} ms, median of 20")
    print(
        f"{connection.vendor}, as {user.get_username()}, {options.runs} runs each, median;"
        f" RSS at start {peak_rss_mb():.0f} MB"
    )
    data = {"term": options.term} if options.term else {}
    for name in options.report or list(REPORTS):
        rss_before = peak_rss_mb()
        warm_up = timed_export(name, user, data=data)  # connection, caches, the first term lookup
        if options.no_floor or warm_up[3] > STREAMED_FLOOR_ROWS:
            streamed(name, user, data, options, bare)
            continue
        # Report, read, floors interleaved run by run, so that a machine busy for a moment slows
        # each of them alike rather than one of them only.
        runs, reads, floors, ours = [], [], [], []
        for _ in range(options.runs):
            runs.append(timed_export(name, user, data=data))
            start = time.perf_counter()
            header, rows = cells_of(name, user, options.term)
            reads.append(time.perf_counter() - start)
            floors.append(timed_floor(header, rows))
            ours.append(timed_xlsxwriter_floor(header, rows))
        seconds = statistics.median(r[0] for r in runs)
        read, floor, xw = statistics.median(reads), statistics.median(floors), statistics.median(ours)
        traced = timed_export(name, user, trace=True, data=data)[2]
        print(
            f"{name:22} {runs[-1][3]:>6} rows {seconds * 1000:7.0f} ms {runs[-1][1]:>3} queries"
            f" peak {traced:5.1f} MB traced, process peak RSS {peak_rss_mb():.0f} MB (before {rss_before:.0f})"
            f" | the rows read alone {read * 1000:6.0f} ms | floor (bare openpyxl write-only)"
            f" {floor * 1000:6.0f} ms | ratio {seconds / floor if floor else 0:4.2f}x, to read+floor"
            f" {seconds / (read + floor) if floor else 0:4.2f}x | bare XlsxWriter {xw * 1000:6.0f} ms,"
            f" to read+it {seconds / (read + xw) if xw else 0:4.2f}x"
            f" | {bench_floor.ratio(seconds * 1000, bare)} the bare page",
            flush=True,
        )
    print(f"process peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
