"""Time the teacher and pairing roster imports at county scale: read + check + commit, as the import
page runs them (casefiles/imports/teachers.py, pairings.py), on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres zaoyang_h_rosters   # once; the script migrates it
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_h_rosters .venv/bin/python bench/import_rosters.py
    ... bench/import_rosters.py --teachers 300 --pairings 1500     # a quick run

Seeds its own county inside one transaction (30 schools, the students the pairings need, bulk
inserted, not timed), writes the two rosters as .xlsx in memory (not timed), then times each phase
of each import as an importing county user: reading the file, the database checks (with their
query count) and the commit of every row in one transaction.atomic through the services. The
teachers' commit hashes a one-time password per new account (Argon2, the project's first hasher),
which is most of its time. Everything is rolled back at the end: the database is left as it was.

The README (Measured at county scale) gives this script's latest figures with their floors; figures
quoted here went stale when the Argon2 parameters changed (issue 12), so none are kept in this file.

Prints the machine first (bench/floor.py) and, measured in the same run, the floors: for each
roster, openpyxl alone reading the same file (read-only mode, every value, nothing checked) beside
the read, with the ratio; and the bare page (the login page through the test client, DEBUG off, in
a fresh process), with each import's total as a multiple of it.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402 - bench/ is not a package: its folder is on the path

SCHOOLS = 30


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")
    import django

    django.setup()


def xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["枣阳市结对帮扶名单(测试)"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def seed(students: int) -> tuple[Any, list[Any]]:
    """A county user, SCHOOLS schools and ``students`` students spread over them; a term in progress."""
    import datetime as dt

    from django.utils import timezone

    from pairing.models import Household, School, SchoolYear, Stage, Student, Term, Town, TownKind
    from pairing.tests.factories import make_id_number
    from zaoyang_aid.access import Role
    from zaoyang_aid.models import User

    today = timezone.localdate()
    year = today.year if today.month >= 8 else today.year - 1
    school_year, _ = SchoolYear.objects.get_or_create(start_year=year)
    if not Term.objects.filter(start_date__lte=today, end_date__gte=today).exists():
        Term.objects.create(
            school_year=school_year, number=1, start_date=dt.date(year, 9, 1), end_date=dt.date(year + 1, 1, 22)
        )
    town, _ = Town.objects.get_or_create(code="420683999", defaults={"name": "测试镇", "kind": TownKind.TOWN})
    # Codes 9943…: bench/imports.py commits schools 9942… when it finds none, and the two may share a database.
    schools = School.objects.bulk_create(
        School(name=f"测试第{i + 1}中学", code=f"9943{i:06d}", stage=Stage.JUNIOR, town=town) for i in range(SCHOOLS)
    )
    homes = Household.objects.bulk_create(Household(town=town, village="测试村") for _ in range(students))
    rows = []
    for i, home in enumerate(homes):
        id_number = make_id_number(900_000 + i)
        rows.append(
            Student(
                name=f"学生{i}",
                gender="M",
                birth_date=dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
                id_number=id_number,
                student_number="G" + id_number,
                school=schools[i % SCHOOLS],
                grade=1,
                class_name="1班",
                hukou_type="rural",
                household=home,
            )
        )
    Student.objects.bulk_create(rows, batch_size=2000)
    county = User.objects.create(username="bench_import_county", full_name="基准测试", role=Role.COUNTY)
    return county, schools


def timed(run: Any) -> tuple[Any, float, int]:
    """(result, seconds, queries) of ``run()``."""
    from django.db import connection

    count = 0

    def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal count  # counted, not logged: Django keeps only the last 9,000 queries of a log
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        start = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - start
    return result, seconds, count


def show(label: str, rows: int, seconds: float, queries: int) -> None:
    print(f"  {label:<8} {seconds:8.2f} s  {rows / seconds:9.0f} rows/s  {queries:7d} queries")


def import_roster(name: str, data: bytes, by: Any, bare: float) -> None:
    """One kind of casefiles.imports.kinds.ROSTER_KINDS, as the page's commit runs it: read, check,
    then write the rows in one transaction (rolled back with the rest at the end)."""
    from django.db import transaction

    from casefiles.imports.kinds import ROSTER_KINDS
    from zaoyang_aid.spreadsheets import open_bytes

    kind = ROSTER_KINDS[name]
    roster, seconds, queries = timed(lambda: kind.read(open_bytes(data)))
    rows, total = len(roster.rows), seconds
    print(f"{name}: {rows} rows, file {len(data) / 2**20:.1f} MB")
    show("read", rows, seconds, queries)
    alone, _ = floor.xlsx_read(data)
    print(f"  floor    {alone:8.2f} s  openpyxl alone reading the file -> the read is {floor.ratio(seconds, alone)}")
    _, seconds, queries = timed(lambda: kind.check(roster.rows, by))
    total += seconds
    show("check", rows, seconds, queries)
    if roster.errors:
        raise SystemExit(f"{len(roster.errors)} errors, first: {roster.errors[0]}")

    def write_all() -> Any:
        with transaction.atomic():
            return kind.write(roster.rows, by)

    outcomes, seconds, queries = timed(write_all)
    show("commit", rows, seconds, queries)
    print(
        f"  total    {total + seconds:8.2f} s  ({outcomes['created']} created, {outcomes['bad']} refused);"
        f" {floor.ratio((total + seconds) * 1000, bare)} the bare page ({bare:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=3000)
    parser.add_argument("--pairings", type=int, default=15000)
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "1")
    setup_django()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from pairing.models import Teacher

    if connection.vendor != "postgresql":
        print(f"note: running on {connection.vendor}, not PostgreSQL")
    call_command("migrate", verbosity=0)
    from django.conf import settings

    print(floor.machine(), flush=True)
    print(f"{connection.vendor}, hasher {settings.PASSWORD_HASHERS[0]}")
    bare = floor.bare_page_apart()
    with transaction.atomic():
        county, schools = seed(args.pairings)
        teacher_rows = [
            [f"教师{i}", f"1370{i:07d}", schools[i % SCHOOLS].name, "教师", "一级教师", "否"]
            for i in range(args.teachers)
        ]
        data = xlsx(["姓名", "手机号", "学校名称", "角色", "职称", "是否班主任"], teacher_rows)
        import_roster("teachers", data, county, bare)
        by_school: dict[int, list[str]] = {}
        for school_id, phone in Teacher.objects.filter(school__in=schools).values_list("school_id", "phone"):
            by_school.setdefault(school_id, []).append(phone)
        from pairing.models import Student

        pairing_rows = []
        today = int(timezone.localdate().strftime("%Y%m%d"))
        for i, (number, name, school_id) in enumerate(
            Student.objects.filter(school__in=schools).values_list("student_number", "name", "school_id")
        ):
            phones = by_school[school_id]
            pairing_rows.append([number, name, phones[i // SCHOOLS % len(phones)], today, "", "是"])
        header = ["全国学籍号", "学生姓名", "教师手机号", "结对日期", "补录原因", "确认超出结对上限"]
        data = xlsx(header, pairing_rows)
        import_roster("pairings", data, county, bare)
        transaction.set_rollback(True)
    print("rolled back: the database is as it was")


if __name__ == "__main__":
    main()
