"""Time the case file page (帮扶档案) of the student with the most records, on an already-seeded database
(county scale: bench/seed_county.py, PostgreSQL), as the school's officer reads it: all terms, and
the latest term alone; then the print view. Target (issue 9, point 8): p95 under 300 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/casefile.py
    ... bench/casefile.py --requests 50

Uses bench/pages.py's setup (DEBUG off as production, the test client, two warm-up requests) and
prints, per page: the status, the queries of one request, the median and p95 of ``--requests`` timed
requests, and the response size; first, who the student is and how many records their file holds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pages import measure, setup_django  # bench/ is not a package: its folder is on the path


def busiest_student() -> tuple[int, str, dict[str, int]]:
    """The student with the most talks and visits (ties: the lowest pk), with the counts of each part
    of their file, and the username of an officer of their school (one is made if the school has none)."""
    from django.db.models import Count

    from casefiles.models import AidReceipt, Attachment, Referral, TermResult
    from guidance.models import FiveThreeCard, HomeVisit, TalkRecord
    from pairing.models import Student, Teacher
    from zaoyang_aid.access import Role

    top = (
        TalkRecord.objects.values("pairing__student_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "pairing__student_id")
        .first()
    )
    if top is None:
        raise SystemExit("no talk records: seed the demo first (bench/seed_county.py)")
    student = Student.objects.select_related("school").get(pk=top["pairing__student_id"])
    counts = {
        "谈心谈话": top["n"],
        "家访": HomeVisit.objects.filter(pairing__student=student).count(),
        "五三卡": FiveThreeCard.objects.filter(student=student).count(),
        "学业成绩": TermResult.objects.filter(student=student).count(),
        "附件": Attachment.objects.filter(student=student).count(),
        "转介": Referral.objects.filter(student=student).count(),
        "资助发放": AidReceipt.objects.filter(student=student).count(),
    }
    officer = Teacher.objects.filter(school=student.school, user__role=Role.OFFICER).select_related("user").first()
    if officer is None:
        raise SystemExit(f"{student.school} has no officer account")
    return student.pk, officer.user.username, counts


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
    print(f"{connection.vendor}, DEBUG off, {options.requests} requests a page after 2 warm-up requests")
    print(
        f"student #{student_id} (the most talk records), read as {officer}: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    pages = [
        reverse("casefiles:case_file", args=[student_id]),
        reverse("casefiles:case_file", args=[student_id]) + (f"?term={latest.pk}" if latest else ""),
        reverse("casefiles:case_file_print", args=[student_id]),
    ]
    print(f"{'page':<34} {'user':<13} {'code':>4} {'qs':>5} {'median ms':>9} {'p95 ms':>8} {'KB':>8}")
    for url in pages:
        print(measure(url, officer, options.requests), flush=True)


if __name__ == "__main__":
    main()
