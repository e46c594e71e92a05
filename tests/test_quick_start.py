"""The quick start shows what users will see: after scripts/start.py has written the local .env, every
`manage.py` command README.md names runs as written (no ImproperlyConfigured, no guessing DEBUG=1),
a missing page is the Chinese 404 and static files are served, with DEBUG off.

Each command runs in a subprocess with an environment built from nothing but the .env that
start.ensure_local_env writes (pointed to by ZAOYANG_ENV_FILE), a fresh SQLite database and var/
folder: not this test run's SECRET_KEY, nor the CI's DATABASE_URL / REDIS_URL, nor a developer's .env.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
README = BASE_DIR / "README.md"

# Long-running or server commands are only asked for their --help; the rest really run, in this order.
HELP_ONLY = {"runserver", "import_roster"}
RUN_AS_WRITTEN = [
    ["migrate", "--noinput"],
    ["collectstatic", "--noinput"],
    ["seed_demo"],
    ["send_reminders", "--dry-run"],
    ["send_reminders"],
    ["verify_tallies"],
    ["verify_tallies", "--repair"],
    ["delete_orphan_photos", "--dry-run"],
    ["quality_detect"],
    ["export_report", "--list"],
    ["delete_orphan_attachments", "--dry-run"],
    ["delete_orphan_attachments"],
    ["delete_orphan_photos"],
    ["check", "--deploy"],
    ["makemigrations", "--check"],
]

PAGES = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "zaoyang_aid.settings"
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username="demo_teacher"))
missing = client.get("/no-such-page/")
css = client.get(settings.STATIC_URL + "vendor/bootstrap/css/bootstrap.min.css")
print("DEBUG", settings.DEBUG)
print("404", missing.status_code, "找不到该页面或记录" in missing.content.decode(), b"URLconf" in missing.content)
print("static", css.status_code)
"""


def start_module():
    sys.path.insert(0, str(BASE_DIR / "scripts"))
    try:
        spec = importlib.util.spec_from_file_location("quick_start", BASE_DIR / "scripts" / "start.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BASE_DIR / "scripts"))
    return module


def readme_commands() -> dict[str, list[str]]:
    """Every `manage.py <command> [arguments]` README.md names, by command."""
    found: dict[str, list[str]] = {}
    for match in re.finditer(r"manage\.py\s+([a-z_]+)([^`#\n]*)", README.read_text(encoding="utf-8")):
        found.setdefault(match.group(1), []).append(match.group(2).strip())
    return found


@pytest.fixture
def quick_start_env(tmp_path: Path) -> dict[str, str]:
    env_file = tmp_path / ".env"
    added = start_module().ensure_local_env(env_file)
    assert "SECRET_KEY" in added and "DEBUG=0" in env_file.read_text()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "ZAOYANG_ENV_FILE": str(env_file),
        # Where the quick start keeps them (db.sqlite3, var/, staticfiles/), moved out of the project.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ZAOYANG_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed command line, no shell
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_readme_names_only_commands_this_test_runs():
    named = set(readme_commands())

    assert {"seed_demo", "send_reminders", "verify_tallies", "delete_orphan_photos"} <= named
    assert named <= HELP_ONLY | {args[0] for args in RUN_AS_WRITTEN}, "a new README command: add it above"


def test_a_local_env_that_exists_keeps_its_lines_and_gets_only_what_it_lacks(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("# copied from .env.example\n# DEBUG=0\nDEBUG=1\nSECRET_KEY=mine-and-long-enough-0123456789")

    added = start_module().ensure_local_env(env_file)

    text = env_file.read_text()
    assert "DEBUG" not in added and "SECRET_KEY" not in added
    assert text.startswith("# copied from .env.example\n# DEBUG=0\nDEBUG=1\nSECRET_KEY=mine")
    assert "\nSECURE_COOKIES=0\n" in text and "\nDEMO_SITE=1\n" in text
    assert start_module().ensure_local_env(env_file) == []  # a second start adds nothing
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
def test_every_manage_py_command_the_readme_names_works_after_the_quick_start(quick_start_env):
    for name in sorted(readme_commands()):
        result = run(["manage.py", name, "--help"], quick_start_env)
        assert result.returncode == 0, (name, result.stderr[-2000:])

    for args in RUN_AS_WRITTEN:
        result = run(["manage.py", *args], quick_start_env)
        assert "ImproperlyConfigured" not in result.stderr, (args, result.stderr[-2000:])
        assert result.returncode == 0, (args, result.stdout[-1000:], result.stderr[-2000:])

    pages = run(["-c", PAGES], quick_start_env)
    assert pages.returncode == 0, pages.stderr[-2000:]
    assert pages.stdout.split("\n")[:3] == ["DEBUG False", "404 404 True False", "static 200"]
