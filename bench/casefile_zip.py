"""Time the zip of the largest school's case files for a term, with peak memory, on a seeded database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench MEDIA_ROOT=/tmp/bench-media \\
        .venv/bin/python bench/casefile_zip.py [--term-id N] [--school-id N] [--limit N]

Seeds nothing: run it on the county demo (bench/seed_county.py, or ``seed_demo --scale county``).
By default: the current term and the school with the most students paired in it. It writes a
CaseFileExport row and calls ``case_file_export_build`` as the Celery task does (the zip lands under
MEDIA_ROOT; point that at a scratch folder), then prints the students, wall time, ms per PDF, the
zip's size, the queries and the process's peak resident memory (of which Django is ~60 MB).

The documents come from ``casefiles.build.case_file_document``, as the task's do, read by the first
county account (which sees the whole record).

Prints the machine first (bench/floor.py) and, measured in the same run, the floors with the ratio of
the ms per PDF to each: fpdf2 writing one empty page with the case file's font (casefiles/pdf.py's
Noto Sans SC subset, embedded; the median of 20), the bare minimum of a PDF, and the bare page (the
login page through the test client, DEBUG off, in a fresh process). The CaseFileExport row (and
whatever the build writes beside it) is written in a transaction rolled back at the end, and the zip
is deleted, so the shared database and MEDIA_ROOT are left as they were.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402 - bench/ is not a package: its folder is on the path


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def empty_pdf_ms(n: int = 20) -> float:
    """fpdf2 writing one empty page with the case file's font embedded, median ms of ``n``."""
    import io

    from fpdf import FPDF

    from casefiles.pdf import FONT, FONT_PATH

    def write() -> None:
        pdf = FPDF()
        pdf.add_font(FONT, fname=str(FONT_PATH))
        pdf.set_font(FONT, size=10)
        pdf.add_page()
        pdf.output(io.BytesIO())

    return floor.median_ms(write, n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--term-id", type=int)
    parser.add_argument("--school-id", type=int)
    parser.add_argument("--limit", type=int, help="stop after N students (a quick look)")
    args = parser.parse_args()
    setup_django()
    print(floor.machine(), flush=True)

    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from casefiles import exports
    from casefiles.models import CaseFileExport
    from pairing.models import Pairing, Term
    from zaoyang_aid.models import User

    term = Term.objects.get(pk=args.term_id) if args.term_id else Term.objects.containing(timezone.localdate()).get()
    if args.school_id:
        school_id = args.school_id
    else:
        busiest = (
            Pairing.objects.in_term(term, as_of=term.end_date)
            .values("student__school_id")
            .annotate(n=Count("student_id", distinct=True))
            .order_by("-n")
            .first()
        )
        if busiest is None:
            sys.exit("no pairing in the term: seed the county demo first")
        school_id = busiest["student__school_id"]
    from casefiles.build import case_file_document

    source: Any = case_file_document
    source_name = "casefiles.build.case_file_document (what the Celery task uses)"
    if args.limit:
        students = list(exports.export_students(school_id=school_id, term=term).values_list("pk", flat=True))
        keep = set(students[: args.limit])
        original = exports.export_students

        def limited(**kwargs: Any) -> Any:
            return original(**kwargs).filter(pk__in=keep)

        exports.export_students = limited

    officer = User.objects.filter(role="county").order_by("pk").first()
    if officer is None:
        sys.exit("no county account: seed the demo first")
    with floor.rolled_back():
        CaseFileExport.objects.filter(school_id=school_id, term=term, status__in=["queued", "running"]).delete()
        export = CaseFileExport.objects.create(school_id=school_id, term=term, requested_by=officer)
        started, cpu_started = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as queries:
            exports.case_file_export_build(export.pk, source=source)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        export.refresh_from_db()
        if export.file:
            export.file.delete(save=False)
    empty, bare = empty_pdf_ms(), floor.bare_page_apart()
    per_pdf = 1000 / max(export.done, 1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database        {connection.vendor}")
    print(f"document source {source_name}")
    print(f"school          {export.school.name} (id {school_id}), {term.name}")
    print(f"status          {export.get_status_display()} {export.error}")
    print(f"students/PDFs   {export.done} of {export.total}")
    print(f"wall time       {elapsed:.1f} s, {elapsed * per_pdf:.0f} ms per PDF (read + render + zip)")
    print(f"CPU time        {cpu:.1f} s, {cpu * per_pdf:.0f} ms per PDF (this process; the database's apart)")
    print(f"zip             {export.size / 1e6:.1f} MB, {export.size / max(export.done, 1) / 1e3:.0f} KB per PDF")
    print(f"queries         {len(queries)}")
    print(f"peak RSS        {peak_mb:.0f} MB")
    print(
        f"floor           fpdf2 empty page with the font {empty:.1f} ms"
        f" -> {floor.ratio(elapsed * per_pdf, empty)} per PDF;"
        f" the bare page {bare:.1f} ms -> {floor.ratio(elapsed * per_pdf, bare)} per PDF"
    )


if __name__ == "__main__":
    main()
