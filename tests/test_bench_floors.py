"""bench/floor.py, the floors every bench prints beside its figures (issue 12, point 6), and the benches
that use it still import (none is run here: they need the county database)."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings
from django.test.utils import CaptureQueriesContext

BENCH = Path(settings.BASE_DIR) / "bench"
# The benches that print bench/floor.py's floors (pages, lists, load and passwords print their own).
FLOORED = [
    "casefile",
    "casefile_zip",
    "compliance",
    "early_warning",
    "import_rosters",
    "imports",
    "photos",
    "quality",
    "reminders",
    "reports",
    "seed_county",
]


def load(name: str) -> ModuleType:
    """A bench script as a module, under a name of its own (bench/ is not a package)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def floor() -> ModuleType:
    return load("floor")


def test_ratio_is_one_decimal_with_an_x(floor: ModuleType) -> None:
    assert floor.ratio(123.0, 10.0) == "12.3x"
    assert floor.ratio(10.0, 10.0) == "1.0x"
    assert floor.ratio(4.0, 10.0) == "0.40x"  # below the floor: two decimals, or 0.4 and 0.35 look alike
    assert floor.ratio(5.0, 0.0) == "n/a"


def test_machine_is_one_line(floor: ModuleType) -> None:
    line = floor.machine(database=False)
    assert "\n" not in line
    assert "cores" in line and "load average" in line and "Python" in line and "no database" in line


@pytest.mark.django_db
def test_machine_names_the_database(floor: ModuleType) -> None:
    line = floor.machine()
    assert "\n" not in line
    assert ("SQLite" in line) or ("PostgreSQL" in line)


@pytest.mark.django_db
def test_bare_page_runs_on_the_test_database(floor: ModuleType) -> None:
    assert floor.bare_page(n=2) > 0


@pytest.mark.django_db
def test_raw_reads_fetch_the_rows_the_job_read(floor: ModuleType, django_user_model: type) -> None:
    for n in range(3):
        django_user_model.objects.create(username=f"floor{n}")
    from django.db import connection

    with CaptureQueriesContext(connection) as captured:
        assert len(list(django_user_model.objects.values_list("pk", "username"))) == 3
    statements = floor.selects(captured.captured_queries)
    assert len(statements) == 1
    seconds, rows = floor.raw_reads(statements)
    assert rows == 3 and seconds >= 0


@pytest.mark.django_db
def test_rolled_back_leaves_nothing(floor: ModuleType, django_user_model: type) -> None:
    with floor.rolled_back():
        django_user_model.objects.create(username="floor-gone")
        assert django_user_model.objects.filter(username="floor-gone").exists()
    assert not django_user_model.objects.filter(username="floor-gone").exists()


def test_xlsx_read_counts_every_row(floor: ModuleType) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for n in range(4):
        sheet.append([n, f"行{n}"])
    data = io.BytesIO()
    workbook.save(data)
    seconds, rows = floor.xlsx_read(data.getvalue())
    assert rows == 4 and seconds >= 0


@pytest.mark.parametrize("name", FLOORED)
def test_each_floored_bench_still_imports(name: str) -> None:
    module = load(name)
    assert callable(module.main)
    assert "floor" in (module.__doc__ or "")  # its docstring says what floor it prints
