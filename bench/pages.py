"""Time pages on the server side (Django's test client: middleware, view, queries, template), on an
already-seeded database, logged in as the demo accounts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/pages.py
    ... bench/pages.py --requests 20 demo_county:/students/?page=150 demo_teacher:/my/students/

With no pages named it times the default list: the teacher's, the officer's and the county's pages
that exist (url names resolved with reverse; missing ones are skipped), each as the account that uses
it. Runs with DEBUG off as production does (a random SECRET_KEY unless one is set, manifest-less
static files, ``testserver`` allowed, requests marked https so the SSL redirect stays out of the way).
Prints, per page: the status, the number of queries (captured on one request), the median and p95
of ``--requests`` timed requests after two warm-up requests, the response size, and the median as a
multiple of the floor: the login page as an anonymous visitor sees it (a bare page: middleware, a
small template, no query), timed in the same run before and after the pages (its median over both);
then the same for this process's CPU time per request (the Python side, steadier on a busy machine).

    ... bench/pages.py --teacher        # the teacher's round: 我的帮扶学生, the talk form, the talk POST
    ... bench/pages.py --county-redraw demo_county:/county/dashboard/   # and drawn again after a talk

``--teacher`` times demo_teacher's three requests of a week's talk; the POST saves a talk dated today
for her first pairing each time, inside a transaction rolled back at the end (the database stays as
seeded; the POST's figure leaves out its COMMIT).
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# (url name, query string, the demo account that uses the page, what the URL takes: None, "pairing" or
# "student", meaning demo_teacher's first active pairing or its student). Names not (yet) in the
# URLconf are skipped, so the list can name pages before they exist.
DEFAULT_PAGES = [
    ("pairing:my_students", "", "demo_teacher", None),
    ("guidance:my_students", "", "demo_teacher", None),
    ("guidance:talk_create", "", "demo_teacher", "pairing"),
    ("guidance:timeline", "", "demo_teacher", "student"),
    ("pairing:school_overview", "", "demo_officer", None),
    ("guidance:school_dashboard", "", "demo_officer", None),
    ("pairing:student_list", "", "demo_officer", None),
    ("pairing:student_detail", "", "demo_officer", "student"),
    ("pairing:teacher_list", "", "demo_officer", None),
    ("pairing:pairing_list", "", "demo_officer", None),
    ("pairing:county_overview", "", "demo_county", None),
    ("guidance:county_dashboard", "", "demo_county", None),
    ("pairing:student_list", "", "demo_county", None),
    ("pairing:student_list", "page=150", "demo_county", None),
    ("pairing:teacher_list", "", "demo_county", None),
    ("pairing:school_list", "", "demo_county", None),
    ("pairing:pairing_list", "", "demo_county", None),
    ("pairing:pairing_list", "page=150", "demo_county", None),
]


def setup_django() -> None:
    """DEBUG off, as production; what a production deployment sets otherwise is filled in here."""
    sys.path.insert(0, str(ROOT))
    os.environ["DEBUG"] = "0"
    if os.environ.get("SECRET_KEY", "").startswith("django-insecure") or len(os.environ.get("SECRET_KEY", "")) < 32:
        os.environ["SECRET_KEY"] = "bench-" + secrets.token_urlsafe(48)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("STATIC_MANIFEST", "0")  # no collectstatic needed to render {% static %}
    os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")
    import warnings

    import django

    warnings.filterwarnings("ignore", "No directory at", UserWarning)  # WhiteNoise: no collectstatic here
    django.setup()
    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def default_pages() -> list[tuple[str, str]]:
    """(url, username) for the default pages that exist in the URLconf."""
    from django.urls import NoReverseMatch, reverse

    from pairing.models import Pairing

    mine = Pairing.objects.filter(teacher__user__username="demo_teacher", ended_on__isnull=True).order_by("pk")
    first = mine.values("pk", "student_id").first() or {"pk": 0, "student_id": 0}
    pks = {"pairing": first["pk"], "student": first["student_id"]}
    pages = []
    for name, query, username, takes in DEFAULT_PAGES:
        try:
            url = reverse(name, args=[pks[takes]] if takes else None)
        except NoReverseMatch:
            continue
        url += f"?{query}" if query else ""
        if (url, username) not in pages:
            pages.append((url, username))
    return pages


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


FLOOR_URL = "/accounts/login/"


def _timed(send: Any, requests: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock seconds of each request; with ``cpu``, this process's CPU seconds of each too (the
    Python side alone, steadier than the wall clock on a busy machine)."""
    times = []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.thread_time()
        send()
        times.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(time.thread_time() - started_cpu)
    return times


def measure_floor(requests: int, cpu: list[float]) -> list[float]:
    """The bare page: the login form for an anonymous visitor (no session, no query)."""
    from django.test import Client

    client = Client()
    for _ in range(2):
        client.get(FLOOR_URL, secure=True)
    return _timed(lambda: client.get(FLOOR_URL, secure=True), requests, cpu)


def measure(url: str, username: str, requests: int) -> Row:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model()._default_manager.filter(username=username).first()
    if user is None:
        return Row(url, username, error="no such user: seed the demo first")
    client = Client()
    client.force_login(user)
    for _ in range(2):
        client.get(url, secure=True)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, secure=True)
    queries = len(captured)  # now: each request's start clears the log the context reads from
    cpu: list[float] = []
    times = _timed(lambda: client.get(url, secure=True), requests, cpu)
    return Row(url, username, response.status_code, queries, times, len(response.content), cpu)


def measure_talk_post(requests: int) -> Row:
    """demo_teacher saves a talk dated today for her first pairing, ``requests`` times (after two
    warm-up saves), as the talk form posts it. All of it inside one transaction rolled back at the
    end, so the bench database keeps nothing (the audit log could not be cleaned after): each save's
    own transaction is then a savepoint, and the figure leaves out its COMMIT."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from pairing.models import Pairing

    username = "demo_teacher"
    pairing = Pairing.objects.filter(teacher__user__username=username, ended_on__isnull=True).order_by("pk").first()
    user = get_user_model()._default_manager.filter(username=username).first()
    if pairing is None or user is None:
        return Row("POST talk", username, error="no such user: seed the demo first")
    url = reverse("guidance:talk_create", args=[pairing.pk])
    data = {
        "date": timezone.localdate().isoformat(),
        "duration_minutes": "30",
        "content": "谈了本周的学习计划和家里的近况,约定下周继续。",
        "student_state": "情绪稳定,学习积极",
        "tracks": ["track_study", "track_life"],
        "help_forms": ["form_talk"],
        "version": "",
    }
    client = Client()
    client.force_login(user)
    with transaction.atomic():
        for _ in range(2):
            client.post(url, data, secure=True)
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, data, secure=True)
        queries = len(captured)
        cpu: list[float] = []
        times = _timed(lambda: client.post(url, data, secure=True), requests, cpu)
        transaction.set_rollback(True)
    return Row(f"POST {url}", username, response.status_code, queries, times, len(response.content), cpu)


def measure_county_redraw(requests: int) -> Row:
    """The county dashboard as county staff open it after a talk was written: before each timed
    request (outside its time) the school of demo_teacher's first pairing gets a new figure token, as
    a talk saved there gives it (pairing.figures.touch_schools), so the page recounts that school and
    is drawn again; under the load bench's mixed loop nearly every county request is one of these."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from pairing import figures
    from pairing.models import Pairing

    url, username = reverse("guidance:county_dashboard"), "demo_county"
    user = get_user_model()._default_manager.filter(username=username).first()
    school = (
        Pairing.objects.filter(teacher__user__username="demo_teacher", ended_on__isnull=True)
        .values_list("teacher__school_id", flat=True)
        .first()
    )
    if user is None or school is None:
        return Row(f"{url} (after a talk)", username, error="no such user: seed the demo first")
    client = Client()
    client.force_login(user)
    for _ in range(2):
        figures.touch_schools([school])
        client.get(url, secure=True)
    figures.touch_schools([school])
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, secure=True)
    queries = len(captured)
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(requests):
        figures.touch_schools([school])
        times += _timed(lambda: client.get(url, secure=True), 1, cpu)
    return Row(f"{url} (after a talk)", username, response.status_code, queries, times, len(response.content), cpu)


@dataclass
class Row:
    url: str
    username: str
    status: int = 0
    queries: int = 0
    times: list[float] = field(default_factory=list)
    size: int = 0
    cpu: list[float] = field(default_factory=list)
    error: str = ""

    def line(self, floor_ms: float, floor_cpu_ms: float) -> str:
        if self.error:
            return f"{self.url:<40} {self.username:<13} {self.error}"
        median, cpu = statistics.median(self.times) * 1000, statistics.median(self.cpu) * 1000
        return (
            f"{self.url:<40} {self.username:<13} {self.status:>4} {self.queries:>5} "
            f"{median:>9.1f} {p95(self.times) * 1000:>8.1f} {self.size / 1024:>8.0f} {median / floor_ms:>7.1f}x"
            f" {cpu:>7.1f} {cpu / floor_cpu_ms:>7.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="username:/url/ (default: the pages that exist, as their users)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument(
        "--teacher", action="store_true", help="the teacher's round only: home, talk form, talk POST (rolled back)"
    )
    parser.add_argument(
        "--county-redraw",
        action="store_true",
        help="also the county dashboard drawn again after a talk (its school's figures recounted)",
    )
    options = parser.parse_args()
    setup_django()
    import logging

    from django.db import connection

    logging.getLogger("axes").setLevel(logging.WARNING)  # a login line per page would bury the table

    if options.teacher:
        pages = teacher_pages()
    elif options.pages:
        pages = [tuple(reversed(p.split(":", 1))) for p in options.pages]
    else:
        pages = default_pages()
    print(f"{connection.vendor}, DEBUG off, {options.requests} requests a page after 2 warm-up requests")
    floor_cpu: list[float] = []
    floor = measure_floor(options.requests, floor_cpu)
    rows = []
    for url, username in pages:
        rows.append(measure(url, username, options.requests))
    if options.teacher:
        rows.append(measure_talk_post(options.requests))
    if options.county_redraw:
        rows.append(measure_county_redraw(options.requests))
    floor += measure_floor(options.requests, floor_cpu)
    floor_ms, floor_cpu_ms = statistics.median(floor) * 1000, statistics.median(floor_cpu) * 1000
    print(
        f"{'page':<40} {'user':<13} {'code':>4} {'qs':>5} {'median ms':>9} {'p95 ms':>8} {'KB':>8} {'floor':>8}"
        f" {'cpu ms':>7} {'floor':>8}"
    )
    print(
        f"{FLOOR_URL + ' (floor)':<40} {'anonymous':<13} {200:>4} {0:>5} {floor_ms:>9.1f} {p95(floor) * 1000:>8.1f}"
        f" {'':>8} {'':>8} {floor_cpu_ms:>7.1f}"
    )
    for row in rows:
        print(row.line(floor_ms, floor_cpu_ms), flush=True)


def teacher_pages() -> list[tuple[str, str]]:
    """demo_teacher's home and the talk form of her first pairing (the POST is timed apart)."""
    from django.urls import reverse

    from pairing.models import Pairing

    first = Pairing.objects.filter(teacher__user__username="demo_teacher", ended_on__isnull=True).order_by("pk")
    pk = first.values_list("pk", flat=True).first() or 0
    return [
        (reverse("guidance:my_students"), "demo_teacher"),
        (reverse("guidance:talk_create", args=[pk]), "demo_teacher"),
    ]


if __name__ == "__main__":
    main()
