"""bench/load.py and gunicorn.conf.py: the bench loads 127.0.0.1 only and within its bounds, its loops
do what a teacher, an officer and the county do (a real talk saved, then deleted through the service
with the tally put back), gunicorn's settings come from the environment, and the county-scale demo
has several county accounts. The last test starts the real thing: gunicorn with the production settings."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import os
import random
import re
import runpy
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from guidance.models import PairingTermTally, TalkRecord
from guidance.rules import school_week_at
from pairing.tests import factories as f
from zaoyang_aid import demo
from zaoyang_aid.access import Role

BASE_DIR = Path(settings.BASE_DIR)


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", BASE_DIR / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


load = load_module()


# --- The target and the bounds -------------------------------------------------------------------------


@pytest.mark.parametrize("bind", ["10.0.0.5:8000", "localhost:8000", "0.0.0.0:8000", "[::1]:8000", "127.0.0.1"])
def test_the_bench_refuses_any_target_but_127_0_0_1(bind):
    with pytest.raises(SystemExit, match=r"only runs against 127\.0\.0\.1"):
        load.parse(["--bind", bind])


def test_the_bench_accepts_127_0_0_1_and_picks_a_free_port_itself():
    assert load.parse(["--bind", "127.0.0.1:18000"]).bind == "127.0.0.1:18000"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", load.parse([]).bind)


def test_the_bench_refuses_a_database_on_another_machine():
    with pytest.raises(SystemExit, match="only a database on this machine"):
        load.parse(["--database-url", "postgres://app@db.example.cn:5432/zaoyang"])
    assert load.parse(["--database-url", "postgres://postgres@127.0.0.1:5432/zaoyang_bench"]).database_url


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--duration", "0"], "--duration"),
        (["--duration", "121"], "--duration"),
        (["--requests", "0"], "--requests"),
        (["--requests", "200001"], "--requests"),
        (["--users", "0"], "--users"),
        (["--users", "10,201"], "--users"),
        (["--users", "ten"], "--users"),
        (["--scenario", "bare,everything"], "unknown scenario"),
    ],
)
def test_each_phase_is_bounded_in_time_requests_and_users(arguments, message):
    with pytest.raises(SystemExit, match=message):
        load.parse(arguments)


def test_the_defaults_are_within_the_bounds():
    options = load.parse([])
    assert options.users == [10, 50] and options.duration == 20 and options.requests == 5000
    assert options.scenario == list(load.SCENARIOS)


# --- gunicorn.conf.py -------------------------------------------------------------------------------


def gunicorn_config(monkeypatch, **env: str) -> dict[str, Any]:
    for name in list(os.environ):
        if name.startswith("GUNICORN_") or name == "WEB_CONCURRENCY":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))


def test_gunicorn_defaults_two_sync_workers_on_loopback_without_access_log(monkeypatch):
    config = gunicorn_config(monkeypatch)
    assert config["bind"] == ["127.0.0.1:8000"]
    assert config["workers"] == 2 and config["threads"] == 1 and config["worker_class"] == "sync"
    assert config["timeout"] == 60 and config["graceful_timeout"] == 30
    assert config["max_requests"] == 10000 and config["max_requests_jitter"] == 1000
    assert config["accesslog"] is None
    assert config["control_socket_disable"] is True
    assert config["wsgi_app"] == "zaoyang_aid.wsgi:application"


def test_gunicorn_reads_every_setting_from_the_environment(monkeypatch):
    config = gunicorn_config(
        monkeypatch,
        GUNICORN_BIND="0.0.0.0:8000,unix:/run/zaoyang.sock",
        WEB_CONCURRENCY="5",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="90",
        GUNICORN_GRACEFUL_TIMEOUT="20",
        GUNICORN_KEEPALIVE="10",
        GUNICORN_MAX_REQUESTS="0",
        GUNICORN_MAX_REQUESTS_JITTER="0",
        GUNICORN_ACCESS_LOG="-",
        GUNICORN_CONTROL_SOCKET="/run/zaoyang/gunicorn.ctl",
    )
    assert config["bind"] == ["0.0.0.0:8000", "unix:/run/zaoyang.sock"]
    assert config["workers"] == 5 and config["threads"] == 4 and config["worker_class"] == "gthread"
    assert (config["timeout"], config["graceful_timeout"], config["keepalive"]) == (90, 20, 10)
    assert (config["max_requests"], config["max_requests_jitter"]) == (0, 0)
    assert config["accesslog"] == "-"
    assert config["control_socket_disable"] is False and config["control_socket"] == "/run/zaoyang/gunicorn.ctl"


@pytest.mark.parametrize(
    ("name", "value"), [("WEB_CONCURRENCY", "two"), ("WEB_CONCURRENCY", "0"), ("GUNICORN_TIMEOUT", "1.5")]
)
def test_a_bad_gunicorn_value_stops_it_with_the_variables_name(monkeypatch, name, value):
    with pytest.raises(SystemExit, match=name):
        gunicorn_config(monkeypatch, **{name: value})


def test_gunicorn_is_pinned_in_requirements():
    assert re.search(r"^gunicorn==\d+\.\d+\.\d+$", (BASE_DIR / "requirements.txt").read_text(), re.MULTILINE)


# --- The county-scale demo's county accounts ------------------------------------------------------------


def demo_context(scale: str) -> demo.DemoContext:
    return demo.DemoContext(
        rng=random.Random(7),
        scale=scale,
        today=dt.date(2026, 11, 16),
        stdout=io.StringIO(),
        password_hash="unused",
        seed=7,
    )


@pytest.mark.django_db
def test_the_county_scale_demo_has_five_county_accounts_and_prints_them():
    ctx = demo_context("county")
    demo.seed(ctx)
    county = get_user_model().objects.filter(role=Role.COUNTY).order_by("username")
    assert list(county.values_list("username", flat=True)) == [
        "demo_county",
        "demo_county02",
        "demo_county03",
        "demo_county04",
        "demo_county05",
    ]
    assert {x.username for x in ctx.logins} >= set(county.values_list("username", flat=True))
    assert "demo_county05" in demo.logins_table(ctx.logins)


@pytest.mark.django_db
def test_the_extra_county_accounts_leave_the_existing_ones_and_the_random_stream_alone():
    small, county = demo_context("small"), demo_context("county")
    demo.seed(small)
    before = dict(get_user_model().objects.values_list("username", "full_name"))
    get_user_model().objects.all().delete()
    demo.seed(county)
    after = dict(get_user_model().objects.values_list("username", "full_name"))
    assert set(before) == {"demo_county", "demo_admin"}
    assert {name: after[name] for name in before} == before
    assert small.rng.random() == county.rng.random()  # every seeder after draws what it drew before


# --- The loops, through Django's test client ----------------------------------------------------------


class DjangoBrowser:
    """bench/load.py's User over Django's test client: the same loops, no server."""

    def __init__(self) -> None:
        self.client = Client(HTTP_HOST="localhost")

    @property
    def cookies(self) -> dict[str, str]:
        return {name: morsel.value for name, morsel in self.client.cookies.items() if morsel.value}

    def request(self, method: str, path: str, fields: dict[str, Any] | None = None) -> tuple[int, str]:
        response = self.client.post(path, fields or {}) if method == "POST" else self.client.get(path)
        return response.status_code, response.content.decode()


@pytest.fixture
def demo_world(world):
    """The world's people renamed as demo accounts, which are the ones the bench picks."""
    for user, username in [
        (world.teacher_a1, "demo_teacher"),
        (world.teacher_a2, "demo_t00001"),
        (world.officer_a, "demo_officer"),
        (world.county, "demo_county"),
    ]:
        user.username = username
        user.save(update_fields=["username"])
    return world


def test_the_bench_picks_demo_teachers_with_their_talk_form_the_fixed_account_first(demo_world):
    teachers = load.accounts("teacher", 5)
    pairing = demo_world.student_a1.pairings.get()
    assert [a.username for a in teachers] == ["demo_teacher", "demo_t00001"]
    assert teachers[0].talk_form == f"/pairings/{pairing.pk}/talks/new/"
    assert [a.username for a in load.accounts("officer", 5)] == ["demo_officer"]
    assert [a.username for a in load.accounts("county", 5)] == ["demo_county"]


def test_a_teachers_loop_saves_a_real_talk_that_cleanup_deletes_with_its_tally(demo_world):
    urls = load.urls_of_site()
    teacher = load.accounts("teacher", 1)[0]
    browser = DjangoBrowser()
    saved = load.snapshot([teacher.username])
    assert load.login_form(browser, urls["login"], teacher.username, demo.DEMO_PASSWORD) >= 0
    pairing = demo_world.student_a1.pairings.get()
    tallies = PairingTermTally.objects.filter(pairing=pairing).values()
    tally_before = list(tallies.all())

    samples = load.loop_teacher(browser, {**urls, "talk_form": teacher.talk_form})

    assert [(page, ok, problem) for page, ok, _, problem, _ in samples] == [
        ("teachers: my students", True, ""),
        ("teachers: talk form", True, ""),
        ("teachers: talk POST", True, ""),
    ]
    talk = TalkRecord.objects.get()
    assert list(tallies.all()) != tally_before  # the service counted it
    assert talk.content.startswith("压测:") and talk.recorded_by == demo_world.teacher_a1
    assert talk.date == timezone.localdate()
    report = load.cleanup([browser.cookies["sessionid"]], saved)
    assert "1 bench talks deleted" in report and "1 sessions, 1 axes login rows" in report
    assert not TalkRecord.objects.exists()
    assert list(tallies.all()) == tally_before
    assert browser.request("GET", urls["my_students"])[0] == 302  # the session is gone: back to the login


def test_the_dashboards_and_the_bare_page_answer_their_loops(demo_world):
    urls = load.urls_of_site()
    anonymous = DjangoBrowser()
    assert load.loop_bare(anonymous, urls)[0][1]
    for username, loop in [("demo_officer", load.loop_officer), ("demo_county", load.loop_county)]:
        browser = DjangoBrowser()
        load.login_form(browser, urls["login"], username, demo.DEMO_PASSWORD)
        [(page, ok, _, problem, _)] = loop(browser, urls)
        assert ok, f"{page}: {problem}"


def test_a_refused_talk_counts_as_an_error(demo_world):
    urls = load.urls_of_site()
    browser = DjangoBrowser()
    load.login_form(browser, urls["login"], "demo_teacher", demo.DEMO_PASSWORD)
    sample, _ = load.timed(browser, "teachers: talk POST", "POST", load.accounts("teacher", 1)[0].talk_form, 302, {})
    assert sample[1] is False and sample[3] == "HTTP 200 (form refused)"


def test_the_figures_are_per_page_with_percentiles_and_errors():
    samples = [("p", True, t / 1000, "", 100.0 + t / 10) for t in range(1, 101)] + [
        ("p", False, 0.5, "HTTP 500", 105.0)
    ]
    figures = load.figures(samples, window=8.0, until=108.0)
    assert (figures.requests, figures.errors) == (101, 1)
    assert figures.rps == 81 / 8  # those ended by the deadline (80 and the error), not the tail
    assert (figures.p50, figures.p95, figures.p99) == (50, 95, 99)  # the tail's times all count


# --- A tiny real run: gunicorn with the production settings --------------------------------------------


def bench_database(tmp_path: Path) -> str:
    """A DATABASE_URL the bench's gunicorn can open holding this test's committed rows: the test
    database itself on PostgreSQL; on SQLite (in memory) a copy in a file."""
    if connection.vendor == "postgresql":
        params = connection.settings_dict
        return f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
    path = tmp_path / "bench.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(path) as copy:
        connection.connection.backup(copy)
    return f"sqlite:///{path}"


def bench_talks(url: str) -> int:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return db.execute("select count(*) from guidance_talkrecord").fetchone()[0]
    return TalkRecord.objects.count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_tiny_real_run_under_gunicorn_with_the_production_settings(tmp_path):
    today = timezone.localdate()
    year = f.SchoolYearFactory(start_year=today.year if today.month >= 8 else today.year - 1)
    f.TermFactory(school_year=year, start_date=today - dt.timedelta(days=35), end_date=today + dt.timedelta(days=60))
    school = f.SchoolFactory()
    pairing = f.PairingFactory(
        teacher__school=school, teacher__user__username="demo_teacher", started_on=today - dt.timedelta(days=30)
    )
    if school_week_at(school_id=school.pk, day=today) is None:
        pytest.skip("today is in no school week (a holiday week): no talk can be dated today")
    f.OfficerFactory(school=school, user__username="demo_officer")
    f.CountyUserFactory(username="demo_county")
    url = bench_database(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "SECRET_KEY"}}
    env["ZAOYANG_VAR_DIR"] = str(tmp_path / "var")
    started = time.monotonic()
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "bench/load.py", "--database-url", url, "--redis-url", "", "--users", "1", "--duration", "0.3",
         "--requests", "6", "--workers", "1", "--clients", "1"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert time.monotonic() - started < 300
    for page in ("bare: login page", "teachers: my students", "teachers: talk form", "teachers: talk POST",
                 "officer: school dashboard", "county: county dashboard"):  # fmt: skip
        assert re.search(rf"^{re.escape(page)}\s+\d+\s+0\s", output, re.MULTILINE), output
    assert "error:" not in output and "teachers with county users" in output
    assert "workers 1, threads 1, worker_class sync" in output and "site: DEBUG off" in output
    assert re.search(r"cleanup: [1-9]\d* bench talks deleted", output), output
    assert bench_talks(url) == 0
    assert pairing.pk
