"""Fixtures the guidance tests share."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def one_week_sweeps(settings: Any) -> None:
    """The world has no sweep history (no SweepRun rows): with the default catch-up, its first sweep
    would also make up the two weeks before. Tests about what one week's sweep owes turn catch-up off
    (older weeks are then recorded as skipped); test_sweep_catch_up.py tests the catch-up itself."""
    settings.REMINDER_CATCH_UP_WEEKS = 0
