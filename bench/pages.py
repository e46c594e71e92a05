"""Time pages on the server side (Django's test client: middleware, view, queries, template), on an
already-seeded database, logged in as the demo accounts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/pages.py
    ... bench/pages.py --requests 20 demo_county:/students/?page=150 demo_teacher:/my/students/

With no pages named it times the default list: the teacher's, the officer's and the county's pages
that exist (url names resolved with reverse; missing ones are skipped), each as the account that uses
it. Runs with DEBUG off as production does (a random SECRET_KEY unless one is set, manifest-less
static files, ``testserver`` allowed, requests marked https so the SSL redirect stays out of the way).
Prints, per page: the status, the number of queries (captured on one request), the median and p95
of ``--requests`` timed requests after two warm-up requests, and the response size.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

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


def measure(url: str, username: str, requests: int) -> str:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model()._default_manager.filter(username=username).first()
    if user is None:
        return f"{url:<34} {username:<13} no such user: seed the demo first"
    client = Client()
    client.force_login(user)
    for _ in range(2):
        client.get(url, secure=True)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, secure=True)
    queries = len(captured)  # now: each request's start clears the log the context reads from
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url, secure=True)
        times.append(time.perf_counter() - started)
    size = len(response.content) / 1024
    return (
        f"{url:<34} {username:<13} {response.status_code:>4} {queries:>5} "
        f"{statistics.median(times) * 1000:>9.1f} {p95(times) * 1000:>8.1f} {size:>8.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="username:/url/ (default: the pages that exist, as their users)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page (default 20)")
    options = parser.parse_args()
    setup_django()
    import logging

    from django.db import connection

    logging.getLogger("axes").setLevel(logging.WARNING)  # a login line per page would bury the table

    pages = [tuple(reversed(p.split(":", 1))) for p in options.pages] if options.pages else default_pages()
    print(f"{connection.vendor}, DEBUG off, {options.requests} requests a page after 2 warm-up requests")
    print(f"{'page':<34} {'user':<13} {'code':>4} {'qs':>5} {'median ms':>9} {'p95 ms':>8} {'KB':>8}")
    for url, username in pages:
        print(measure(url, username, options.requests), flush=True)


if __name__ == "__main__":
    main()
