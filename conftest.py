"""Shared fixtures. Tests that need PostgreSQL or Redis are skipped, with the reason, unless the
environment points at them (CI sets DATABASE_URL and REDIS_URL)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db import connection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    redis_url = os.environ.get("REDIS_URL", "")
    db_url = os.environ.get("DATABASE_URL", "")
    for item in items:
        if "postgres" in item.keywords and not db_url.startswith(("postgres://", "postgresql://", "pgsql://")):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        if "redis" in item.keywords and not redis_url:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://..."))
        if "browser" in item.keywords and not shutil.which("chromium") and not Path("/usr/bin/chromium").exists():
            item.add_marker(pytest.mark.skip(reason="needs Debian's chromium: apt-get install -y chromium"))


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


# The small county every app's access tests share (two schools, each role, three pairings).
from pairing.tests.world import World, world  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _fresh_dashboard_figures() -> None:
    """Each test starts with no dashboard figures cached: a new county token (pairing.figures) puts
    every earlier key out of reach, whatever the cache (ids are reused between tests on SQLite). The
    token is dropped, not replaced through touch_county, which would need the database."""
    from django.core.cache import cache

    from pairing import figures

    cache.delete(figures.COUNTY_KEY)
    figures.request_finished()  # a test that left a request unfinished leaves no token held
