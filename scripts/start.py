"""Quick start: ``python3 scripts/start.py`` sets everything up and serves http://127.0.0.1:8000.

1. creates .venv (with the Python running this script) and installs requirements.txt, unless a
   stamp says it is current;
2. writes the local ``.env`` (``ensure_local_env``): DEBUG off with a SECRET_KEY generated for this
   machine, plain http on 127.0.0.1 (no https redirect, HSTS or https-only cookies) and DEMO_SITE=1,
   so the site shows what its users see (the Chinese 404/403/500 pages, static files from
   WhiteNoise) and every ``manage.py`` command the README names runs as written, reading the same
   file. A ``.env`` that exists keeps its lines; only the names it does not set are added;
3. runs ``migrate``, then ``seed_demo`` only while the database has no students;
4. runs ``collectstatic`` when DEBUG is off (WhiteNoise serves the collected, hashed files);
5. runs ``runserver 127.0.0.1:8000`` and a Celery worker with embedded beat, each in its own process
   group, and prints the demo logins once the site answers.

A variable set in the caller's environment wins over .env (``DEBUG=1 python3 scripts/start.py`` for
Django's debug pages). With DATABASE_URL / REDIS_URL set the children use PostgreSQL / Redis;
without, SQLite and kombu's filesystem broker under var/. Ctrl-C or SIGTERM stops every process
started here (SIGTERM to each group, SIGKILL after STOP_TIMEOUT seconds). If one child exits, the
others are stopped and this script exits 1.
"""

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path

import _venv  # first: it refuses a Python older than 3.11 with a clear message

ROOT = _venv.ROOT
ADDRESS = "127.0.0.1:8000"
STARTUP_TIMEOUT = 90  # seconds for the site to answer /healthz
STOP_TIMEOUT = 10  # seconds between SIGTERM and SIGKILL

DEMO_PASSWORD = "zaoyang2026"  # noqa: S105 - the public demo accounts' password, printed on purpose
DEMO_ACCOUNTS = [
    ("demo_teacher", "教师"),
    ("demo_officer", "学校资助专干"),
    ("demo_counsellor", "心理健康教师"),
    ("demo_county", "市资助中心"),
    ("demo_admin", "系统管理员"),
]

# Run inside the venv after migrate: what start.py needs to know, as one JSON line.
INSPECT = """
import json, os, pathlib, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")
django.setup()
from django.conf import settings
from django.core.management import get_commands
from pairing.models import Student
# kombu's filesystem transport lists these folders but never creates them; beat writes its
# schedule file under var/.
folders = [pathlib.Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent]
if settings.CELERY_BROKER_URL.startswith("filesystem://"):
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    names = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
    folders += [pathlib.Path(options[k]) for k in names if k in options]
for folder in folders:
    folder.mkdir(parents=True, exist_ok=True)
print(json.dumps({
    "students": Student._base_manager.count(),
    "has_seed_demo": "seed_demo" in get_commands(),
    "debug": settings.DEBUG,
    "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
    "broker": settings.CELERY_BROKER_URL.split("://", 1)[0],
}))
"""

ENV_FILE = ROOT / ".env"
ENV_HEADER = """\
# Written by scripts/start.py for this machine's quick start; never commit it (.gitignore has it).
# Django reads it (zaoyang_aid/settings.py), so `python manage.py ...` runs as the site does. Variables
# set in the environment win. .env.example lists every variable; production sets its own.
"""


def quick_start_values() -> dict[str, str]:
    """The quick start's settings: production's (DEBUG off), served over plain http on 127.0.0.1."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),  # this machine's own; the development key needs DEBUG
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_COOKIES": "0",  # the login cookie over http
        "DEMO_SITE": "1",  # seed_demo may load demo data with DEBUG off
    }


def _names_set(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            names.add(stripped.split("=", 1)[0].removeprefix("export ").strip())
    return names


def ensure_local_env(path: Path = ENV_FILE) -> list[str]:
    """Write the quick start's variables into ``path``: the whole file the first time, later only the
    names it does not set yet (a .env copied from .env.example sets none). Returns the names added."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    present = _names_set(existing)
    missing = {name: value for name, value in quick_start_values().items() if name not in present}
    if missing:
        lines = [ENV_HEADER] if not existing else ["\n" if not existing.endswith("\n") else ""]
        lines += [f"{name}={value}\n" for name, value in missing.items()]
        with path.open("a", encoding="utf-8") as out:
            out.write("".join(lines))
        path.chmod(0o600)  # it holds the SECRET_KEY
    return list(missing)


_stop_signal: int | None = None


def _request_stop(signum: int, _frame: object) -> None:
    global _stop_signal  # the handler's only way to tell the main loop
    _stop_signal = signum


def port_is_free() -> bool:
    host, port = ADDRESS.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver binds it
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


def step(python: str, *args: str, env: dict[str, str]) -> None:
    """Run one setup step in the foreground; a failure ends the script."""
    print(f"==> {' '.join(args)}", flush=True)
    result = subprocess.run([python, *args], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"start.py: `{' '.join(args)}` failed (exit {result.returncode}); see above.")


def inspect(python: str, env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run([python, "-c", INSPECT], cwd=ROOT, env=env, check=False, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"start.py: could not read the database state (exit {result.returncode}); see above.")
    return json.loads(result.stdout.strip().splitlines()[-1])


def seed_if_empty(python: str, env: dict[str, str], state: dict[str, object]) -> None:
    if state["students"]:
        print(f"==> The database already has students ({state['students']}): demo data not seeded again.")
    elif not state["has_seed_demo"]:
        print("==> The database has no students, but manage.py seed_demo is not there yet: no demo data.")
    else:
        step(python, "manage.py", "seed_demo", env=env)


def spawn(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"==> starting {name}: {' '.join(args[1:])}", flush=True)
    # A process group of its own: runserver's autoreloader child and the worker's beat process are
    # stopped with their parent, and the terminal's Ctrl-C reaches only this script, which stops
    # them in order.
    return subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, start_new_session=True)


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    proc.poll()  # reap the leader, or its zombie keeps the group "alive"
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every group, wait up to STOP_TIMEOUT, SIGKILL whatever is left, reap."""
    for proc in procs.values():
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and any(_group_alive(p) for p in procs.values()):
        time.sleep(0.2)
    for name, proc in procs.items():
        if _group_alive(proc):
            print(f"==> {name} did not stop within {STOP_TIMEOUT}s: killing it", flush=True)
            _signal_group(proc, signal.SIGKILL)
        proc.wait()


def first_exited(procs: dict[str, subprocess.Popen[bytes]]) -> tuple[str, int] | None:
    for name, proc in procs.items():
        if proc.poll() is not None:
            return name, proc.returncode
    return None


def site_answers() -> str | None:
    """/healthz's verdict once the server answers (any HTTP status), None while it does not."""
    try:
        with urllib.request.urlopen(f"http://{ADDRESS}/healthz", timeout=2) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except (OSError, ValueError):
        return None
    try:
        report = json.loads(body)
        return ", ".join(f"{k} {'ok' if v.get('ok') else 'FAILING'}" for k, v in report.items() if isinstance(v, dict))
    except (ValueError, AttributeError):
        return "answering"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def print_logins() -> None:
    rows = [("账号", "角色", "密码"), *((user, role, DEMO_PASSWORD) for user, role in DEMO_ACCOUNTS)]
    widths = [max(_width(row[i]) for row in rows) for i in range(3)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule]
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            lines.append(rule)
    lines.append(rule)
    print(f"\n资助帮扶 is running at http://{ADDRESS}/  (Ctrl-C stops everything)")
    print("Demo logins (created by manage.py seed_demo):")
    print("\n".join(lines), flush=True)


def supervise(procs: dict[str, subprocess.Popen[bytes]]) -> int:
    """Wait for the site, print the logins, then run until a signal or a child's exit."""
    started = time.monotonic()
    up = False
    while _stop_signal is None:
        exited = first_exited(procs)
        if exited:
            print(f"==> {exited[0]} exited with code {exited[1]}: stopping the others", flush=True)
            return 1
        if not up:
            verdict = site_answers()
            if verdict is not None:
                up = True
                print(f"==> http://{ADDRESS}/healthz answers: {verdict}")
                print_logins()
            elif time.monotonic() - started > STARTUP_TIMEOUT:
                print(f"==> http://{ADDRESS}/ did not answer within {STARTUP_TIMEOUT}s: stopping", flush=True)
                return 1
        time.sleep(0.5)
    print(f"\n==> {signal.Signals(_stop_signal).name}: stopping runserver and the Celery worker", flush=True)
    return 0


def main() -> int:
    if not port_is_free():
        sys.exit(f"start.py: {ADDRESS} is already in use (another start.py or runserver?); stop that first.")
    python = str(_venv.ensure("requirements.txt"))
    added = ensure_local_env()
    if added:
        print(f"==> {ENV_FILE.name}: set {', '.join(added)} (the quick start's settings, read by manage.py too)")
    env = _venv.child_env(PYTHONUNBUFFERED="1")
    step(python, "manage.py", "migrate", "--noinput", env=env)
    state = inspect(python, env)
    print(f"==> database: {state['database']}, Celery broker: {state['broker']}")
    seed_if_empty(python, env, state)
    if not state["debug"]:
        step(python, "manage.py", "collectstatic", "--noinput", env=env)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _request_stop)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        procs["runserver"] = spawn("runserver", [python, "manage.py", "runserver", ADDRESS], env)
        celery = str(_venv.venv_bin("celery"))
        worker = [celery, "-A", "zaoyang_aid", "worker", "-B", "--pool", "solo", "--loglevel", "info"]
        procs["celery worker"] = spawn("celery worker", worker, env)
        code = supervise(procs)
    finally:
        stop_all(procs)
    print("==> stopped", flush=True)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C during setup, before any server was started
        sys.exit(130)
