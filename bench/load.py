"""Load bench: the site under gunicorn with the production settings, closed loops of logged-in users.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/zaoyang_bench .venv/bin/python bench/load.py
    ... bench/load.py --users 10,50 --duration 20 --requests 5000 --workers 2 --scenario bare,teachers,mixed

It collects the static files into a temporary STATIC_ROOT, starts ``gunicorn -c gunicorn.conf.py`` on
127.0.0.1 (nothing else is accepted) with DEBUG off, a random SECRET_KEY, DATABASE_URL and REDIS_URL
(default redis://127.0.0.1:6379/3); cookies are not marked secure and there is no SSL redirect, only
because it is plain http on loopback. It logs in distinct demo accounts through the login form (teachers,
officers, county users: one session per county account, shared when there are more county users than
accounts, like browser tabs), then times, at
each number of users, closed loops without think time, one keep-alive connection per user:

- bare: the login page, anonymous: the floor every other figure is divided by, measured in each run;
- teachers: 我的帮扶学生, the talk form of one of her pairings, a talk POST (marked "压测:");
- officer: the school dashboard; county: the county dashboard;
- mixed: the teachers alone (the teachers phase), straight after it the same teachers while 5 county
  users refresh the county dashboard; it prints how many county pages were drawn meanwhile (with
  Redis: the others were read as drawn, guidance.figures.county_page_key).

Each phase is bounded by --duration seconds and --requests requests; requests under way at the deadline
finish (their times count, not in requests/s). The default run (10 and 50 users, 20 s a phase) takes
some ten minutes on a busy 2-core machine. At the end (also after Ctrl-C or
an error) gunicorn is stopped, the "压测:" talks are deleted through guidance.services (so the tallies
stay true), the bench's sessions and axes' login log rows are deleted and last_login restored. The
audit log keeps its lines (it is append-only by design).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import math
import multiprocessing
import os
import platform
import re
import resource
import runpy
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MARK = "压测:"  # every talk the bench writes starts with it; cleanup deletes exactly those
MAX_DURATION = 120.0  # seconds, per phase
MAX_REQUESTS = 200_000  # per phase
MAX_USERS = 200
MIXED_COUNTY_USERS = 5
SCENARIOS = ("bare", "teachers", "officer", "county", "mixed")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zaoyang_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
LOCAL_DB_HOSTS = {"", "127.0.0.1", "localhost", "::1"}

# --- The client: standard library only, run in several processes, one thread per user ----------------

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
DATE_INPUT = re.compile(r'<input[^>]*name="date"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')
CHOICE = re.compile(r'name="(tracks|help_forms)" value="([^"]+)"')


class Browser(Protocol):
    """What a loop needs of a user: bench/load.py's User, or a test's Django test client."""

    cookies: dict[str, str]

    def request(self, method: str, path: str, fields: dict[str, Any] | None = None) -> tuple[int, str]: ...


class Connection(http.client.HTTPConnection):
    """http.client's keep-alive connection, counting how often it had to connect (a server that closes
    after each answer, as gunicorn's sync worker does, makes one connection per request)."""

    connects = 0

    def connect(self) -> None:
        self.connects += 1
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class User:
    """One logged-in browser: its cookies and its connection."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None) -> None:
        self.port = port
        self.cookies = dict(cookies or {})
        self.conn = Connection(HOST, port, timeout=120)

    def request(self, method: str, path: str, fields: dict[str, Any] | None = None) -> tuple[int, str]:
        headers = {"Host": f"{HOST}:{self.port}", "Accept-Encoding": "identity", "User-Agent": "bench/load.py"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{HOST}:{self.port}{path}"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()  # a kept-alive connection the server had closed: once more, afresh
                if attempt == 2:
                    raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in cookie.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return response.status, data.decode("utf-8", "replace")

    def close(self) -> None:
        self.conn.close()


def talk_fields(form_html: str) -> dict[str, Any]:
    """A valid 谈心 record from the form as the teacher sees it: its date, the first track, the ticked
    form of help, its token; marked so that cleanup finds it."""
    token = CSRF_INPUT.search(form_html)
    date_input = DATE_INPUT.search(form_html)
    date_value = VALUE.search(date_input.group(0)) if date_input else None
    choices: dict[str, list[str]] = {}
    for name, value in CHOICE.findall(form_html):
        choices.setdefault(name, []).append(value)
    return {
        "csrfmiddlewaretoken": token.group(1) if token else "",
        "date": date_value.group(1) if date_value else "",
        "duration_minutes": "30",
        "tracks": choices.get("tracks", [""])[:1],
        "help_forms": ["form_talk"]
        if "form_talk" in choices.get("help_forms", [])
        else choices.get("help_forms", [""])[:1],
        "content": f"{MARK} bench/load.py 的模拟谈心记录,运行结束后删除。与学生谈学习计划和作息安排。",
        "student_state": "情绪稳定,学习态度认真,按时完成作业。",
        "problems": "",
        "measures": "",
        "next_steps": "",
        "version": "0",
    }


Sample = tuple[str, bool, float, str, float]  # page, ok, seconds, what went wrong, when it ended (monotonic)


def timed(
    user: Browser, page: str, method: str, path: str, expect: int, fields: dict[str, Any] | None = None
) -> tuple[Sample, str]:
    started = time.perf_counter()
    try:
        status, body = user.request(method, path, fields)
    except (OSError, http.client.HTTPException) as exc:
        return (page, False, time.perf_counter() - started, type(exc).__name__, time.monotonic()), ""
    elapsed = time.perf_counter() - started
    problem = (
        "" if status == expect else f"HTTP {status}" + (" (form refused)" if method == "POST" and status == 200 else "")
    )
    return (page, not problem, elapsed, problem, time.monotonic()), body


def loop_bare(user: Browser, urls: dict[str, str]) -> list[Sample]:
    return [timed(user, "bare: login page", "GET", urls["login"], 200)[0]]


def loop_officer(user: Browser, urls: dict[str, str]) -> list[Sample]:
    return [timed(user, "officer: school dashboard", "GET", urls["school_dashboard"], 200)[0]]


def loop_county(user: Browser, urls: dict[str, str]) -> list[Sample]:
    return [timed(user, "county: county dashboard", "GET", urls["county_dashboard"], 200)[0]]


def loop_teacher(user: Browser, urls: dict[str, str]) -> list[Sample]:
    """我的帮扶学生, the talk form, the talk saved (a redirect back to 我的帮扶学生, not followed:
    the loop opens it next anyway)."""
    home = timed(user, "teachers: my students", "GET", urls["my_students"], 200)[0]
    form, html = timed(user, "teachers: talk form", "GET", urls["talk_form"], 200)
    if not form[1]:
        return [home, form]
    post = timed(user, "teachers: talk POST", "POST", urls["talk_form"], 302, talk_fields(html))[0]
    return [home, form, post]


LOOPS: dict[str, Callable[[Browser, dict[str, str]], list[Sample]]] = {
    "bare": loop_bare,
    "teachers": loop_teacher,
    "officer": loop_officer,
    "county": loop_county,
}


@dataclass
class Player:
    """One simulated user of a phase: which loop, its session cookies (none: anonymous), its URLs."""

    kind: str
    cookies: dict[str, str]
    urls: dict[str, str]


@dataclass
class ClientResult:
    samples: list[Sample] = field(default_factory=list)
    cpu: float = 0.0  # this client process's CPU seconds while timing
    started: float = 0.0  # monotonic, system-wide: comparable between the processes
    wall: float = 0.0
    connects: int = 0
    requests: int = 0


def client_process(
    port: int, players: list[Player], duration: float, budget: int, ready: Any, start: Any, out: Any
) -> None:
    """One client process: a thread per player, a warm-up loop each (not timed), then timed loops until
    the deadline or until this process's share of the request budget is spent."""
    users = [User(port, p.cookies) for p in players]
    for user, player in zip(users, players, strict=True):
        LOOPS[player.kind](user, player.urls)
    ready.put(os.getpid())
    start.wait()
    lock, spent = threading.Lock(), [0]
    deadline = time.monotonic() + duration
    results: list[list[Sample]] = [[] for _ in players]
    connects_before = sum(u.conn.connects for u in users)

    def run(i: int) -> None:
        user, player = users[i], players[i]
        while time.monotonic() < deadline:
            samples = LOOPS[player.kind](user, player.urls)
            results[i].extend(samples)
            with lock:
                spent[0] += len(samples)
                if spent[0] >= budget:
                    return

    cpu_before, wall_before = _cpu_self(), time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(players))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = ClientResult(
        samples=[s for r in results for s in r],
        cpu=_cpu_self() - cpu_before,
        started=wall_before,
        wall=time.monotonic() - wall_before,
        connects=sum(u.conn.connects for u in users) - connects_before,
    )
    result.requests = len(result.samples)
    for user in users:
        user.close()
    out.put(result)


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- CPU accounting: the server's processes and the whole machine --------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its reaped children (gunicorn's replaced workers) and live children."""
    total = 0.0
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15]) / CLOCK_TICKS  # utime stime cutime cstime
    for child in _children(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:13]) / CLOCK_TICKS
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


# --- A phase: players spread over client processes, started together ----------------------------------


@dataclass
class PhaseResult:
    label: str
    users: int
    samples: list[Sample]
    wall: float  # until the last request ended, the ones under way at the deadline included
    window: float  # the measuring window: until the deadline, or until the budget was spent if sooner
    until: float  # its end (monotonic): requests per second count the requests ended by then
    client_cpu: float
    busiest_client: float  # the busiest client process's share of one core
    server_cpu: float
    machine_busy: float  # share of all cores
    connects: int


def run_phase(
    label: str, port: int, players: list[Player], options: argparse.Namespace, server_pid: int
) -> PhaseResult:
    context = multiprocessing.get_context("spawn")
    processes = max(1, min(options.clients, len(players)))
    groups = [players[i::processes] for i in range(processes)]
    ready, out, start = context.Queue(), context.Queue(), context.Event()
    budgets = [max(1, options.requests * len(g) // len(players)) for g in groups]
    workers = [
        context.Process(target=client_process, args=(port, g, options.duration, b, ready, start, out), daemon=True)
        for g, b in zip(groups, budgets, strict=True)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=120 + len(players))
        server_before, machine_before = process_tree_cpu(server_pid), machine_cpu()
        start.set()
        results = [out.get(timeout=options.duration + 180) for _ in workers]
        server_after, machine_after = process_tree_cpu(server_pid), machine_cpu()
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
    wall = max(r.wall for r in results)
    started = min(r.started for r in results)
    ends = [s[4] for r in results for s in r.samples]
    until = min(started + options.duration, max(ends, default=started))
    busy, total = (a - b for a, b in zip(machine_after, machine_before, strict=True))
    return PhaseResult(
        label=label,
        users=len(players),
        samples=[s for r in results for s in r.samples],
        wall=wall,
        window=until - started,
        until=until,
        client_cpu=sum(r.cpu for r in results),
        busiest_client=max(r.cpu / r.wall for r in results if r.wall) if results else 0.0,
        server_cpu=server_after - server_before,
        machine_busy=busy / total if total else 0.0,
        connects=sum(r.connects for r in results),
    )


# --- Figures ---------------------------------------------------------------------------------------


def percentile(ordered: Sequence[float], share: float) -> float:
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Figures:
    requests: int
    errors: int
    rps: float
    p50: float
    p95: float
    p99: float


def figures(samples: Sequence[Sample], window: float, until: float) -> Figures:
    """Percentiles of every request, the ones still under way at the deadline too; requests per second
    of those ended in the window (a closed loop's tail, fewer users at a time, would flatter it)."""
    times = sorted(s[2] * 1000 for s in samples if s[1])
    return Figures(
        requests=len(samples),
        errors=sum(1 for s in samples if not s[1]),
        rps=sum(1 for s in samples if s[4] <= until) / window if window > 0 else 0.0,
        p50=percentile(times, 0.50),
        p95=percentile(times, 0.95),
        p99=percentile(times, 0.99),
    )


HEADER = (
    f"{'page':<28} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
    f"{'cost x bare':>11} {'p50 x bare':>10}"
)


def row(name: str, f: Figures, bare: Figures | None, *, cost: bool) -> str:
    cost_ratio = f"{bare.rps / f.rps:>10.1f}x" if bare and cost and f.rps else f"{'':>11}"
    p50_ratio = f"{f.p50 / bare.p50:>9.1f}x" if bare and bare.p50 and not math.isnan(f.p50) else f"{'':>10}"
    return (
        f"{name:<28} {f.requests:>8} {f.errors:>6} {f.rps:>8.1f} {f.p50:>8.1f} {f.p95:>8.1f} {f.p99:>8.1f} "
        f"{cost_ratio} {p50_ratio}"
    )


def report(phase: PhaseResult, bare: Figures | None, cores: int) -> Figures:
    """The phase's table: a row per page, then all its requests together (the throughput ratio is the
    phase's: a teacher loop is three pages, so one page's requests/s is not its cost)."""
    print(f"-- {phase.label}: {phase.users} users, {phase.window:.1f} s window, {phase.wall:.1f} s with the tail")
    pages = list(dict.fromkeys(s[0] for s in phase.samples))  # in the loop's order
    for page in pages:
        mine = [s for s in phase.samples if s[0] == page]
        print(row(page, figures(mine, phase.window, phase.until), bare, cost=len(pages) == 1))
    total = figures(phase.samples, phase.window, phase.until)
    if len(pages) > 1:
        print(row("  all requests", total, bare, cost=True))
    problems: dict[str, int] = {}
    for s in phase.samples:
        if not s[1]:
            problems[f"{s[0]} {s[3]}"] = problems.get(f"{s[0]} {s[3]}", 0) + 1
    for problem, n in sorted(problems.items(), key=lambda x: -x[1])[:5]:
        print(f"   error: {problem} x{n}")
    requests = max(1, total.requests)
    client_share = phase.client_cpu / (phase.wall * cores) if phase.wall else 0.0
    print(
        f"   server {phase.server_cpu / requests * 1000:.1f} ms CPU/request; "
        f"client {phase.client_cpu / requests * 1000:.2f} ms CPU/request ({client_share:.0%} of the machine, "
        f"busiest client process {phase.busiest_client:.0%} of a core); machine busy {phase.machine_busy:.0%} "
        f"(other work included); {phase.connects} TCP connects"
    )
    if phase.busiest_client > 0.85:
        print("   CLIENT-BOUND: a client process used a whole core; this figure is the client's, not the site's")
    return total


# --- The server ------------------------------------------------------------------------------------


def check_target(bind: str) -> tuple[str, int]:
    """HOST:PORT on 127.0.0.1 only: the bench loads one machine, its own."""
    host, _, port = bind.rpartition(":")
    if host != HOST or not port.isdigit():
        raise SystemExit(f"bench/load.py only runs against {HOST} (a server it starts itself); got {bind!r}")
    return host, int(port)


def check_database_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme.startswith("postgres") and (parsed.hostname or "") not in LOCAL_DB_HOSTS:
        raise SystemExit(
            f"bench/load.py writes talk records: only a database on this machine; got host {parsed.hostname!r}"
        )
    if not parsed.scheme.startswith(("postgres", "sqlite")):
        raise SystemExit(f"DATABASE_URL must be PostgreSQL or SQLite; got {parsed.scheme!r}")
    return url


def check_bounds(options: argparse.Namespace) -> None:
    if not 0 < options.duration <= MAX_DURATION:
        raise SystemExit(f"--duration must be more than 0 and at most {MAX_DURATION:.0f} seconds a phase")
    if not 0 < options.requests <= MAX_REQUESTS:
        raise SystemExit(f"--requests must be from 1 to {MAX_REQUESTS} a phase")
    if not options.users or any(not 0 < n <= MAX_USERS for n in options.users):
        raise SystemExit(f"--users must be numbers from 1 to {MAX_USERS}, e.g. 10,50")
    unknown = set(options.scenario) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def production_env(options: argparse.Namespace, port: int, workdir: Path) -> dict[str, str]:
    """The production settings: DEBUG off, a random key, this host only; secure cookies and the SSL
    redirect are off only because the bench speaks plain http on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env.update(
        DJANGO_SETTINGS_MODULE="zaoyang_aid.settings",
        ZAOYANG_ENV_FILE=os.devnull,  # not a developer's .env: production's environment only
        ZAOYANG_VAR_DIR=str(workdir / "var"),
        DEBUG="0",
        DEMO_SITE="0",
        SECRET_KEY="load-" + secrets.token_urlsafe(48),
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        STATIC_ROOT=str(workdir / "static"),
        DATABASE_URL=options.database_url,
        REDIS_URL=options.redis_url,
        GUNICORN_BIND=f"{HOST}:{port}",
        WEB_CONCURRENCY=str(options.workers),
    )
    if options.redis_url:
        env["SESSION_STORE"] = "cached_db"  # as the README's production settings (it needs Redis)
    for name in ("STATIC_MANIFEST", "WHITENOISE_USE_FINDERS"):
        env.pop(name, None)  # production's defaults: the manifest, no finders
    if options.threads:
        env["GUNICORN_THREADS"] = str(options.threads)
    return env


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    print(f"collectstatic into {env['STATIC_ROOT']}: {time.monotonic() - started:.1f} s")
    log = (workdir / "gunicorn.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn.conf.py
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "zaoyang_aid.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the bench, which stops gunicorn itself
    )
    try:
        wait_until_up(server, port, workdir)
        yield server
    finally:
        stop(server)
        log.close()


def wait_until_up(server: subprocess.Popen[bytes], port: int, workdir: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}):\n{tail(workdir / 'gunicorn.log')}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            user = User(port)
            status, _ = user.request("GET", "/healthz")
            user.close()
            if status == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{tail(workdir / 'gunicorn.log')}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """TERM to the master we started (it stops its workers); KILL to its process group if it hangs."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=40)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# --- Django in the bench process: the accounts to log in, and the cleanup ------------------------------


def setup_django(env: dict[str, str]) -> None:
    os.environ.update({k: v for k, v in env.items() if not k.startswith(("GUNICORN_", "WEB_CONCURRENCY"))})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def urls_of_site() -> dict[str, str]:
    from django.urls import reverse

    return {
        "login": reverse("login"),
        "my_students": reverse("guidance:my_students"),
        "school_dashboard": reverse("guidance:school_dashboard"),
        "county_dashboard": reverse("guidance:county_dashboard"),
    }


@dataclass
class Account:
    username: str
    talk_form: str = ""  # teachers: the talk form of their first active pairing


def accounts(role: str, how_many: int) -> list[Account]:
    """Up to ``how_many`` demo accounts of the role, the fixed demo account (demo_teacher, ...) first;
    teachers only with an active pairing (their talk form is the loop's)."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from pairing.models import Pairing

    if role != "teacher":
        users = get_user_model()._default_manager.filter(role=role, username__startswith="demo_", is_active=True)
        names = sorted(users.values_list("username", flat=True), key=lambda n: (not n.startswith(f"demo_{role}"), n))
        return [Account(n) for n in names[:how_many]]
    found: dict[str, Account] = {}
    rows = (
        Pairing.objects.filter(
            ended_on__isnull=True, teacher__user__username__startswith="demo_", teacher__user__is_active=True
        )
        .order_by("teacher__user__username", "pk")
        .values_list("teacher__user__username", "pk")
    )
    fixed = rows.filter(teacher__user__username="demo_teacher")[:1]
    for username, pk in [*fixed, *rows.exclude(teacher__user__username="demo_teacher").iterator()]:
        if username not in found:
            found[username] = Account(username, reverse("guidance:talk_create", args=[pk]))
        if len(found) >= how_many:
            break
    return list(found.values())


@dataclass
class Snapshot:
    """What logging in changes besides the audit log, to put back: last_login, and axes' login rows."""

    started: Any
    last_login: dict[str, Any]


def snapshot(usernames: Sequence[str]) -> Snapshot:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    users = get_user_model()._default_manager.filter(username__in=usernames)
    return Snapshot(timezone.now(), dict(users.values_list("username", "last_login")))


def cleanup(session_keys: Sequence[str], saved: Snapshot | None) -> str:
    """Delete the bench's talks through the service (tallies recounted), its sessions and axes' login
    rows; restore last_login. Safe to run twice (and on leftovers of an interrupted run)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils.module_loading import import_string

    from guidance import services
    from guidance.models import TalkRecord

    talks = TalkRecord.objects.filter(content__startswith=MARK, recorded_by__username__startswith="demo_")
    deleted = 0
    for record in talks.iterator():
        services.talk_record_delete(record=record, by=record.recorded_by)
        deleted += 1
    from django.conf import settings

    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    for key in session_keys:
        store(session_key=key).delete()
    logins = 0
    if saved is not None:
        from axes.models import AccessLog

        with transaction.atomic():
            # axes keeps the SHA-256 of the session key a login began: these logins' rows, no one else's.
            hashes = [hashlib.sha256(key.encode()).hexdigest() for key in session_keys]
            logins, _ = AccessLog.objects.filter(session_hash__in=hashes).delete()
            user_model = get_user_model()
            for username, last_login in saved.last_login.items():
                user_model._default_manager.filter(username=username).update(last_login=last_login)
    return (
        f"cleanup: {deleted} bench talks deleted through talk_record_delete, {len(session_keys)} sessions, "
        f"{logins} axes login rows" + ("; last_login restored" if saved else "")
    )


# --- Logging in through the form ------------------------------------------------------------------------


def login_form(user: Browser, login_url: str, username: str, password: str) -> float:
    """Log in as a person does: the login page, its token, the POST; the POST's seconds."""
    status, html = user.request("GET", login_url)
    token = CSRF_INPUT.search(html)
    if status != 200 or token is None:
        raise SystemExit(f"the login page answered {status} without a form")
    started = time.perf_counter()
    status, _ = user.request(
        "POST", login_url, {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
    )
    elapsed = time.perf_counter() - started
    if status != 302 or "sessionid" not in user.cookies:
        raise SystemExit(f"logging in as {username} failed (HTTP {status}): is the demo seeded, the password right?")
    return elapsed


def login(port: int, login_url: str, username: str, password: str) -> tuple[dict[str, str], float]:
    user = User(port)
    try:
        return user.cookies, login_form(user, login_url, username, password)
    finally:
        user.close()


def login_all(port: int, login_url: str, usernames: Sequence[str], password: str, workers: int) -> list[dict[str, str]]:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        done = list(pool.map(lambda n: login(port, login_url, n, password), usernames))
    times = sorted(t * 1000 for _, t in done)
    print(
        f"logged in {len(usernames)} sessions through the form in {time.monotonic() - started:.1f} s "
        f"(login POST p50 {statistics.median(times):.0f} ms, p95 {percentile(times, 0.95):.0f} ms, {workers} at a time)"
    )
    return [cookies for cookies, _ in done]


# --- The run ----------------------------------------------------------------------------------------


def gunicorn_settings(env: dict[str, str]) -> str:
    """gunicorn.conf.py as gunicorn reads it with the bench's environment."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    names = ("workers", "threads", "worker_class", "timeout", "keepalive", "max_requests", "max_requests_jitter")
    return ", ".join(f"{name} {config[name]}" for name in names) + f", access log {config['accesslog'] or 'off'}"


def django_settings() -> str:
    """The production settings that the load figures depend on (other issues change them)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return (
        f"CONN_MAX_AGE {db.get('CONN_MAX_AGE')}, CONN_HEALTH_CHECKS {db.get('CONN_HEALTH_CHECKS', False)}, "
        f"SESSION_ENGINE {settings.SESSION_ENGINE.rsplit('.', 1)[-1]}, "
        f"SESSION_SAVE_EVERY_REQUEST {settings.SESSION_SAVE_EVERY_REQUEST}, "
        f"password hasher {settings.PASSWORD_HASHERS[0].rsplit('.', 1)[-1]}"
    )


def describe_machine(options: argparse.Namespace, env: dict[str, str]) -> None:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
        f"load average {load[0]:.2f} before the run"
    )
    database = urllib.parse.urlsplit(options.database_url)
    print(f"gunicorn -c gunicorn.conf.py: {gunicorn_settings(env)}")
    print(
        f"site: DEBUG off, database {database.scheme}:{database.path.rsplit('/', 1)[-1]}, "
        f"redis {options.redis_url or 'none (locmem cache)'}; {django_settings()}"
    )
    print(
        f"client: {options.clients} processes, a thread and a keep-alive connection per user, closed loop, "
        "no think time; "
        f"each phase at most {options.duration:g} s and {options.requests} requests, after one untimed loop per user"
    )


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="10,50", help="numbers of users, comma-separated (default 10,50)")
    parser.add_argument(
        "--duration", type=float, default=20.0, help=f"seconds a phase (default 20, at most {MAX_DURATION:.0f})"
    )
    parser.add_argument(
        "--requests", type=int, default=5000, help=f"requests a phase at most (default 5000, at most {MAX_REQUESTS})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY") or 2),
        help="gunicorn workers (default WEB_CONCURRENCY or 2)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="gunicorn threads a worker (default: gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--scenario",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from {','.join(SCENARIOS)} (bare always runs)",
    )
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--bind", default="", help=f"{HOST}:PORT for gunicorn (default a free port)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL), help="'' for none")
    parser.add_argument("--password", default="", help="the demo accounts' password (default the demo's)")
    options = parser.parse_args(argv)
    try:
        options.users = sorted({int(n) for n in options.users.split(",") if n.strip()})
    except ValueError:
        raise SystemExit("--users must be numbers, e.g. 10,50") from None
    options.scenario = [s.strip() for s in options.scenario.split(",") if s.strip()]
    check_bounds(options)
    check_database_url(options.database_url)
    options.bind = options.bind or f"{HOST}:{free_port()}"
    check_target(options.bind)
    return options


def players(
    kind: str, sessions: Sequence[dict[str, str]], accounts_: Sequence[Account], urls: dict[str, str], n: int
) -> list[Player]:
    if kind == "bare":
        return [Player("bare", {}, urls) for _ in range(n)]
    chosen = []
    for i in range(n):
        account = accounts_[i % len(accounts_)]
        chosen.append(Player(kind, sessions[i % len(sessions)], {**urls, "talk_form": account.talk_form}))
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    _, port = check_target(options.bind)
    with tempfile.TemporaryDirectory(prefix="zaoyang-load-") as folder:
        return run(options, port, Path(folder))


def run(options: argparse.Namespace, port: int, workdir: Path) -> int:
    env = production_env(options, port, workdir)
    setup_django(env)
    from zaoyang_aid.demo import DEMO_PASSWORD

    password = options.password or DEMO_PASSWORD
    describe_machine(options, env)
    urls = urls_of_site()
    most = max(options.users)
    wanted = set(options.scenario)
    need = {
        "teacher": most if wanted & {"teachers", "mixed"} else 0,
        "officer": most if "officer" in wanted else 0,
        "county": max(most if "county" in wanted else 0, MIXED_COUNTY_USERS if "mixed" in wanted else 0),
    }
    found = {role: accounts(role, n) if n else [] for role, n in need.items()}
    for role, n in need.items():
        if n and not found[role]:
            raise SystemExit(
                f"no demo {role} account in the database: seed the demo (manage.py seed_demo --scale county)"
            )
        if role != "county" and n and len(found[role]) < n:
            raise SystemExit(
                f"only {len(found[role])} demo {role} accounts"
                f"{' with an active pairing' if role == 'teacher' else ''}; asked for {n} users"
            )
    usernames = [a.username for accs in found.values() for a in accs]
    print(cleanup([], None))  # leftovers of an interrupted run, if any
    saved = snapshot(usernames)
    session_keys: list[str] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with gunicorn(env, port, workdir) as server:
            login_names = [a.username for a in found["teacher"]] + [a.username for a in found["officer"]]
            county_names = [a.username for a in found["county"]]  # one session each, shared by the county users
            cookies = login_all(port, urls["login"], login_names + county_names, password, options.workers * 2)
            session_keys = [c["sessionid"] for c in cookies]
            sessions = {
                "teacher": cookies[: len(found["teacher"])],
                "officer": cookies[len(found["teacher"]) : len(login_names)],
                "county": cookies[len(login_names) :],
            }
            if county_names and need["county"] > len(county_names):
                print(
                    f"county users: up to {need['county']} over {len(county_names)} county accounts "
                    f"({', '.join(county_names)}), a session each shared by its users like browser tabs"
                )
            run_all(options, port, server.pid, urls, found, sessions)
    finally:
        print(cleanup(session_keys, saved))
    return 0


def run_all(
    options: argparse.Namespace,
    port: int,
    server_pid: int,
    urls: dict[str, str],
    found: dict[str, list[Account]],
    sessions: dict[str, list[dict[str, str]]],
) -> None:
    cores = os.cpu_count() or 1
    print(f"\n{'':<28} cost x bare = bare req/s / req/s (whole phase); p50 x bare = p50 / bare p50")
    for n in options.users:
        print(f"\n== {n} users ==\n{HEADER}")
        bare = report(run_phase("bare", port, players("bare", [], [], urls, n), options, server_pid), None, cores)
        alone = None
        if "teachers" in options.scenario:
            crowd = players("teachers", sessions["teacher"], found["teacher"], urls, n)
            alone = run_phase("teachers", port, crowd, options, server_pid)
            report(alone, bare, cores)
        if "mixed" in options.scenario:  # right after the teachers alone: the same machine, as near as can be
            run_mixed(options, port, server_pid, urls, found, sessions, n, bare, cores, alone)
        for kind in ("officer", "county"):
            if kind in options.scenario:
                crowd = players(kind, sessions[kind], found[kind], urls, n)
                report(run_phase(kind, port, crowd, options, server_pid), bare, cores)


def run_mixed(
    options: argparse.Namespace,
    port: int,
    server_pid: int,
    urls: dict[str, str],
    found: dict[str, list[Account]],
    sessions: dict[str, list[dict[str, str]]],
    n: int,
    bare: Figures,
    cores: int,
    alone: PhaseResult | None,
) -> None:
    """The teachers alone (the teachers scenario's phase when it ran), then with the county users."""
    teachers = players("teachers", sessions["teacher"], found["teacher"], urls, n)
    county = players("county", sessions["county"], found["county"], urls, MIXED_COUNTY_USERS)
    if alone is None:
        alone = run_phase("mixed: teachers alone", port, teachers, options, server_pid)
        report(alone, bare, cores)
    drawn_before = county_pages_drawn(options.redis_url)
    together = run_phase(
        f"mixed: the teachers with {MIXED_COUNTY_USERS} county users", port, [*teachers, *county], options, server_pid
    )
    report(together, bare, cores)
    drawn_after = county_pages_drawn(options.redis_url)
    if drawn_before is not None and drawn_after is not None:
        asked = sum(1 for s in together.samples if s[0].startswith("county"))
        print(
            f"   county pages drawn: {drawn_after - drawn_before} of {asked} county requests (a page is drawn "
            "again only after a write that changed its figures; the rest were kept as drawn)"
        )
    before = figures(alone.samples, alone.window, alone.until)
    with_county = [s for s in together.samples if s[0].startswith("teachers")]
    after = figures(with_county, together.window, together.until)
    print(
        f"   teachers with county users: {after.rps:.1f} req/s "
        f"(cost {bare.rps / after.rps if after.rps else math.nan:.1f}x bare), "
        f"p95 {after.p95:.0f} ms against {before.p95:.0f} ms alone: {after.p95 / before.p95:.2f}x; "
        f"errors {after.errors}"
    )


def county_pages_drawn(redis_url: str) -> int | None:
    """How many county pages the cache holds as drawn (guidance.figures.county_page_key: one key per
    drawing, kept FIGURES_TTL): counted before and after a phase, the pages drawn in it. None without
    Redis."""
    if not redis_url:
        return None
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return sum(1 for _ in client.scan_iter(match="*:figures:*:county-page:*", count=1000))
    finally:
        client.close()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
