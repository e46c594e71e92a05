"""Time the case file page (帮扶档案) of the student with the most records, on an already-seeded database
(county scale: bench/seed_county.py, PostgreSQL), as the school's officer reads it: all terms, and
the latest term alone; then the print view. Target (issue 9, point 8): p95 under 300 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/casefile.py
    ... bench/casefile.py --requests 50

Uses bench/pages.py's setup (DEBUG off as production, the test client, two warm-up requests) and
prints, per page: the status, the queries of one request, the median and p95 of ``--requests`` timed
requests, and the response size; first, the machine (bench/floor.py) and who the student is and how
many records their file holds. Beside each page, its median's ratio to the bare page (the login page
through the same test client, DEBUG off, median of ``--requests``: bench/floor.py), measured in the
same run before and after the pages (the line gives both and the ratio uses their median).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # bench/ is not a package: its folder is on the path
from pages import measure, p95, setup_django


def busiest_student() -> tuple[int, str, dict[str, int]]:
    """The student whose file holds the most records (talks, visits, 五三卡, term results,
    attachments, referrals, aid; ties: the lowest pk), among the 500 with the most talks and every
    student with a record of the case file's own, with the counts of each part, and the username of
    an officer of their school."""
    from django.db.models import Count

    from casefiles.models import AidReceipt, Attachment, Referral, TermResult
    from guidance.models import FiveThreeCard, HomeVisit, TalkRecord
    from pairing.models import Student, Teacher
    from zaoyang_aid.access import Role

    def per_student(queryset: Any, key: str = "student_id") -> dict[int, int]:
        return dict(queryset.values_list(key).annotate(n=Count("pk")).order_by().values_list(key, "n"))

    talks = per_student(TalkRecord.objects.all(), "pairing__student_id")
    if not talks:
        raise SystemExit("no talk records: seed the demo first (bench/seed_county.py)")
    parts = {
        "家访": per_student(HomeVisit.objects.all(), "pairing__student_id"),
        "五三卡": per_student(FiveThreeCard.objects.all()),
        "学业成绩": per_student(TermResult.objects.all()),
        "附件": per_student(Attachment.objects.all()),
        "转介": per_student(Referral.objects.all()),
        "资助发放": per_student(AidReceipt.objects.all()),
    }
    counts = {"谈心谈话": talks, **parts}
    students = set(talks) | {s for part in parts.values() for s in part}
    best = min(students, key=lambda s: (-sum(c.get(s, 0) for c in counts.values()), s))
    student = Student.objects.select_related("school").get(pk=best)
    officer = Teacher.objects.filter(school=student.school, user__role=Role.OFFICER).select_related("user").first()
    if officer is None:
        raise SystemExit(f"{student.school} has no officer account")
    return student.pk, officer.user.username, {k: c.get(best, 0) for k, c in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    options = parser.parse_args()
    setup_django()
    import logging

    from django.db import connection
    from django.urls import reverse

    from pairing.models import Term

    logging.getLogger("axes").setLevel(logging.WARNING)
    student_id, officer, counts = busiest_student()
    latest = Term.objects.latest_started()
    print(floor.machine(), flush=True)
    before = floor.bare_page(options.requests)
    print(f"{connection.vendor}, DEBUG off, {options.requests} requests a page after 2 warm-up requests")
    print(
        f"student #{student_id} (the most records), read as {officer}: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    pages = [
        reverse("casefiles:case_file", args=[student_id]),
        reverse("casefiles:case_file", args=[student_id]) + (f"?term={latest.pk}" if latest else ""),
        reverse("casefiles:case_file_print", args=[student_id]),
    ]
    rows = [measure(url, officer, options.requests) for url in pages]
    after = floor.bare_page(options.requests)
    bare = (before + after) / 2
    print(f"the bare page (login GET, same client): {before:.1f} ms before, {after:.1f} ms after the pages")
    print(f"{'page':<40} {'user':<13} {'code':>4} {'qs':>5} {'median ms':>9} {'p95 ms':>8} {'KB':>8} {'floor':>8}")
    for row in rows:
        if row.error:
            print(f"{row.url:<40} {row.username:<13} {row.error}")
            continue
        median = statistics.median(row.times) * 1000
        print(
            f"{row.url:<40} {row.username:<13} {row.status:>4} {row.queries:>5} {median:>9.1f} "
            f"{p95(row.times) * 1000:>8.1f} {row.size / 1024:>8.0f} {floor.ratio(median, bare):>8}"
        )


if __name__ == "__main__":
    main()
