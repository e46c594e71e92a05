"""Time the student roster import (issue 10, point 6): 15,000 rows must import in under 60 s on
PostgreSQL. Builds a 15,000-row .xlsx (and .xls) in the template's columns over the first schools
of the database, then prints the read, the check + preview (the commit's run rolled back), the
commit and the re-import of the same file (all unchanged), each with its query count.

    createdb -h 127.0.0.1 -U postgres zaoyang_h_imports
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_h_imports .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_h_imports .venv/bin/python bench/imports.py
    ... bench/imports.py --rows 2000 --xls

Measured on the 2-core machine while other benches and test suites ran (load average 13-15), so the
wall times are stretched about 5x; the CPU column is this process's own time (PostgreSQL's apart):
  PostgreSQL, .xlsx: read 26.4 s (CPU 5.6), preview 100.8 s (CPU 22.9, 142 queries), commit 117.9 s
  (CPU 24.2, 142 queries), re-import 56.7 s (CPU 8.7, 25 queries, 15,000 unchanged); .xls alike.
  SQLite, .xlsx: read 33.9 s (CPU 5.7), preview 138.9 s (CPU 35.3, 1,087 queries), commit 108.8 s
  (CPU 33.4), re-import 31.3 s (CPU 9.8, 25 queries).
Read + commit is about 30 s of CPU: under the 60 s target on an idle machine, not shown on a loaded one.

Students it created before (their ID numbers are its own range) are deleted first, so it can run
again; an empty database gets one town, five schools and a county account. Each file's import runs in
a transaction rolled back at its end (the re-import still finds the commit's students), so a shared
database is left as it was, audit lines included (the commit's own cost is not in the times).

Prints the machine first (bench/floor.py) and, measured in the same run, the floors: openpyxl alone
reading the same .xlsx (read-only mode, every value, nothing checked) beside the read, with the
ratio, and the bare page (the login page through the test client, DEBUG off, in this process as
bench/pages.py sets up), with each phase as a multiple of it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # bench/ is not a package: its folder is on the path
from pages import setup_django

FIRST_SEQ = 400_000  # make_id_number's sequence: far from the demo's and the tests' numbers


def world() -> tuple[Any, list[str], str]:
    from django.contrib.auth import get_user_model

    from pairing.models import School, Stage, Town
    from zaoyang_aid.access import Role

    town = Town.objects.order_by("code").first() or Town.objects.create(
        code="420683001", name="北城街道", kind="street"
    )
    schools = list(School.objects.filter(stage=Stage.JUNIOR).order_by("pk")[:5])
    for n in range(len(schools), 5):
        schools.append(
            School.objects.create(name=f"导入测试中学{n}", code=f"9942{n:06d}", stage=Stage.JUNIOR, town=town)
        )
    users = get_user_model().objects
    county = users.filter(role=Role.COUNTY, is_active=True).order_by("pk").first()
    county = county or users.create_user(username="bench-county", password=None, role=Role.COUNTY, full_name="测试")
    return county, [s.name for s in schools], town.name


def forget_previous(count: int) -> None:
    """The students of an earlier run, with their guardians and households, deleted in bulk (no
    signals: nothing else points at them, and the audit log keeps its lines)."""
    from pairing.models import Guardian, Household, HouseholdMember, Student
    from pairing.tests.factories import make_id_number

    ids = [make_id_number(FIRST_SEQ + n) for n in range(count)]
    for start in range(0, len(ids), 5000):
        students = Student.objects.filter(id_number__in=ids[start : start + 5000])
        households = list(students.values_list("household_id", flat=True))
        Guardian.objects.filter(student__in=students)._raw_delete(Guardian.objects.db)
        pks = list(students.values_list("pk", flat=True))
        Student.objects.filter(pk__in=pks)._raw_delete(Student.objects.db)
        HouseholdMember.objects.filter(household_id__in=households)._raw_delete(HouseholdMember.objects.db)
        Household.objects.filter(pk__in=households)._raw_delete(Household.objects.db)


def build(count: int, schools: list[str], town: str, writer: Callable[[list[dict[str, Any]]], bytes]) -> bytes:
    from casefiles.tests.roster_files import student_row

    rows = [
        student_row(
            FIRST_SEQ + n, school=schools[n % len(schools)], town=town, lifted_household=("是", "否", None)[n % 3]
        )
        for n in range(count)
    ]
    return writer(rows)


BARE_MS = 0.0  # the bare page, measured once in main()


def timed(label: str, work: Callable[[], Any]) -> Any:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started, cpu = time.perf_counter(), time.process_time()
        result = work()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    # CPU: this process's own time, which the machine's load does not stretch (the database's is apart).
    print(
        f"{label:<28} {seconds:7.2f} s  (CPU {cpu:6.2f} s)  {len(queries):>7} queries"
        f"  {floor.ratio(seconds * 1000, BARE_MS)} the bare page",
        flush=True,
    )
    return result


def run(data: bytes, kind_name: str, user: Any, name: str) -> None:
    from casefiles.imports import open_roster
    from casefiles.imports.kinds import ROSTER_KINDS

    kind = ROSTER_KINDS["students"]
    print(f"--- {name} ({len(data) / 1048576:.1f} MB)")
    size = 30 * 1024 * 1024
    alone = floor.xlsx_read(data)[0] if kind_name.endswith(".xlsx") else 0.0
    started = time.perf_counter()
    roster = timed("read (open + parse)", lambda: open_roster(_upload(data, kind_name), max_bytes=size))
    if alone:
        read = time.perf_counter() - started
        print(f"    floor: openpyxl alone reading the file {alone:.2f} s -> the read is {floor.ratio(read, alone)}")
    preview = timed("check + preview", lambda: kind.commit(roster, user=user, dry_run=True))
    print(f"    preview: {preview.counts}, errors {len(preview.errors)}", flush=True)
    started = time.perf_counter()
    roster = open_roster(_upload(data, kind_name), max_bytes=size)
    result = timed("commit (read again)", lambda: kind.commit(roster, user=user))
    print(f"    commit: {result.counts}, committed {result.committed}, total {time.perf_counter() - started:.2f} s")
    roster = open_roster(_upload(data, kind_name), max_bytes=size)
    again = timed("re-import (unchanged)", lambda: kind.commit(roster, user=user))
    print(f"    re-import: {again.counts}")


def _upload(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=15_000)
    parser.add_argument("--xls", action="store_true", help="also an .xls of the same rows (xlwt)")
    options = parser.parse_args()
    setup_django()
    from django.db import connection

    from casefiles.tests.roster_files import xls, xlsx

    global BARE_MS
    print(floor.machine(), flush=True)
    BARE_MS = floor.bare_page(20)
    print(f"the bare page (login GET, test client, DEBUG off): {BARE_MS:.1f} ms, median of 20")
    print(f"database: {connection.vendor}, rows: {options.rows}, load average: {os.getloadavg()[0]:.1f}", flush=True)
    user, schools, town = world()
    for writer, name in [(xlsx, "roster.xlsx"), *([(xls, "roster.xls")] if options.xls else [])]:
        forget_previous(options.rows)
        started = time.perf_counter()
        data = build(options.rows, schools, town, writer)
        print(f"built {name} in {time.perf_counter() - started:.1f} s", flush=True)
        with floor.rolled_back():
            run(data, name, user, name)


if __name__ == "__main__":
    main()
