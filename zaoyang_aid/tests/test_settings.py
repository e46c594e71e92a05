"""Settings from the environment: a bad or unsafe environment fails at start, production's passes
``check --deploy``, and the product's fixed choices (language, time zone, sessions, hashing) hold.

The start-up cases run settings in a subprocess with an environment built from nothing, so neither
this test run's own SECRET_KEY (zaoyang_aid.testing_env) nor the developer's shell leaks in. Every
variable a case depends on is set explicitly, which also outranks a developer's .env file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.utils import get_random_secret_key

from zaoyang_aid.settings import DEV_SECRET_KEY

BASE_DIR = Path(settings.BASE_DIR)
SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='zaoyang_aid.settings'; django.setup()"


def run_with_env(args: list[str], tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "ZAOYANG_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'settings-check.sqlite3'}",
        "REDIS_URL": "",
        "ZAOYANG_ENV_FILE": os.devnull,  # not the developer's .env (the quick start writes one)
        **variables,
    }
    return subprocess.run(  # noqa: S603 - a fixed command line, no shell
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def production_env() -> dict[str, str]:
    """The documented production environment (.env.example), on SQLite so no server is needed."""
    return {"DEBUG": "0", "SECRET_KEY": get_random_secret_key(), "ALLOWED_HOSTS": "aid.example.cn"}


def test_the_development_key_is_refused_with_debug_off(tmp_path: Path) -> None:
    result = run_with_env(["-c", SETUP], tmp_path, DEBUG="0", SECRET_KEY=DEV_SECRET_KEY)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_a_missing_secret_key_is_refused_with_debug_off(tmp_path: Path) -> None:
    # No SECRET_KEY at all falls back to the development key, which DEBUG off refuses.
    result = run_with_env(["-c", SETUP], tmp_path, DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_the_development_key_starts_with_debug_on(tmp_path: Path) -> None:
    result = run_with_env(["-c", SETUP], tmp_path, DEBUG="1", SECRET_KEY=DEV_SECRET_KEY)

    assert result.returncode == 0, result.stderr


def test_a_bad_boolean_fails_with_a_message_naming_the_variable(tmp_path: Path) -> None:
    result = run_with_env(["-c", SETUP], tmp_path, DEBUG="maybe", SECRET_KEY=DEV_SECRET_KEY)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG must be one of" in result.stderr
    assert "'maybe'" in result.stderr


def test_a_short_secret_key_is_refused_with_debug_off(tmp_path: Path) -> None:
    result = run_with_env(["-c", SETUP], tmp_path, DEBUG="0", SECRET_KEY="too-short-for-production")

    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_a_secret_key_starting_with_a_dollar_sign_is_taken_as_written(tmp_path: Path) -> None:
    # Django's key alphabet includes "$"; django-environ would read "$abc" as "the variable abc" and fall
    # back to the development key, which failed one CI run in about fifty.
    key = "$" + get_random_secret_key()
    probe = SETUP + "; from django.conf import settings; print(settings.SECRET_KEY == os.environ['SECRET_KEY'])"
    result = run_with_env(["-c", probe], tmp_path, DEBUG="0", SECRET_KEY=key, ALLOWED_HOSTS="aid.example.cn")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.slow
def test_the_production_environment_passes_the_deployment_checklist(tmp_path: Path) -> None:
    args = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = run_with_env(args, tmp_path, **production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_interface_is_in_simplified_chinese_on_beijing_time() -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True


def test_a_session_expires_after_an_idle_hour() -> None:
    # An hour without a click logs the user out (zaoyang_aid.sessions, its "last seen" stamp refreshed
    # at most once a minute); a page view does not save the session.
    assert settings.SESSION_IDLE_TIMEOUT == 3600
    assert "zaoyang_aid.sessions.IdleTimeoutMiddleware" in settings.MIDDLEWARE
    assert settings.SESSION_SAVE_EVERY_REQUEST is False


def test_new_passwords_are_hashed_with_argon2() -> None:
    assert settings.PASSWORD_HASHERS[0] == "zaoyang_aid.hashers.Argon2idWorkerHasher"


def test_database_connections_are_kept_with_health_checks() -> None:
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 60
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONN_MAX_AGE", "-1", "CONN_MAX_AGE must be 0 or more"),
        ("CONN_MAX_AGE", "soon", "CONN_MAX_AGE must be a whole number"),
        ("SESSION_IDLE_TIMEOUT", "30", "SESSION_IDLE_TIMEOUT must be 120 seconds or more"),
        ("SESSION_STORE", "redis", "SESSION_STORE must be db or cached_db"),
        ("SESSION_STORE", "cached_db", "SESSION_STORE=cached_db needs REDIS_URL"),
    ],
)
def test_a_bad_connection_or_idle_setting_fails_at_start(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    result = run_with_env(["-c", SETUP], tmp_path, DEBUG="1", SECRET_KEY=DEV_SECRET_KEY, **{variable: value})

    assert result.returncode != 0
    assert message in result.stderr


def test_conn_max_age_zero_is_allowed(tmp_path: Path) -> None:
    probe = SETUP + "; from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    result = run_with_env(["-c", probe], tmp_path, DEBUG="1", SECRET_KEY=DEV_SECRET_KEY, CONN_MAX_AGE="0")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
