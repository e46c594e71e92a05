"""Time ``manage.py seed_demo`` on a fresh database, as the README quotes it.

    .venv/bin/python bench/seed_county.py                       # county scale, PostgreSQL and SQLite
    .venv/bin/python bench/seed_county.py --scale small --runs 3
    .venv/bin/python bench/seed_county.py --db postgres://postgres@127.0.0.1:5432/zaoyang_bench

Each run drops and recreates the database (PostgreSQL) or deletes the file (SQLite), migrates (not
timed), then times the command's whole process by the wall clock and counts the rows it left.
The database named in a postgres:// URL is dropped: point it at a scratch database only.

Prints the machine first (bench/floor.py; Django is not set up in this process, so the line names no
database) and, per database, the floor measured in the same run with the ratio to it: the same
command's fixed cost, ``manage.py shell -c`` opening a connection to that database (Python, Django
set up, a connection; the median of 3), timed by the wall clock as the seed is.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402 - bench/ is not a package: its folder is on the path

DEFAULT_DBS = ["postgres://postgres@127.0.0.1:5432/zaoyang_bench", "sqlite:////tmp/county.sqlite3"]
COUNT_ROWS = """
import json
from django.apps import apps
labels = ["zaoyang_aid.User", "pairing.School", "pairing.Teacher", "pairing.Student", "pairing.Household",
          "pairing.HouseholdMember", "pairing.Guardian", "pairing.Pairing", "pairing.HardshipAssessment",
          "pairing.Term", "guidance.TalkRecord", "guidance.HomeVisit", "guidance.HomeVisitPhoto",
          "guidance.ExcusedWeek", "guidance.PairingTermTally"]
counts = {label: apps.get_model(label).objects.count() for label in labels}
counts["active pairings"] = apps.get_model("pairing.Pairing").objects.filter(ended_on__isnull=True).count()
print(json.dumps(counts))
"""


def manage(db_url: str, *args: str, capture: bool = False) -> str:
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": db_url}
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    done = subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=capture, text=True)  # noqa: S603
    return done.stdout if capture else ""


def reset(db_url: str) -> None:
    url = urlparse(db_url)
    if url.scheme == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.path + suffix).unlink(missing_ok=True)
        return
    import psycopg2

    name = url.path.lstrip("/")
    admin = psycopg2.connect(
        host=url.hostname, port=url.port or 5432, user=url.username, password=url.password, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def run_once(db_url: str, scale: str, seed: int) -> float:
    reset(db_url)
    manage(db_url, "migrate", "-v", "0")
    started = time.perf_counter()
    manage(db_url, "seed_demo", "--scale", scale, "--seed", str(seed), capture=True)
    return time.perf_counter() - started


def process_floor(db_url: str) -> float:
    """Seconds of ``manage.py shell -c`` opening a connection to ``db_url``: the command's fixed cost,
    median of 3."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        manage(db_url, "shell", "-c", "from django.db import connection; connection.ensure_connection()", capture=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", help="DATABASE_URL (repeatable); default: local PG and SQLite")
    parser.add_argument("--scale", default="county", choices=["small", "county"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    options = parser.parse_args()
    print(floor.machine(database=False), flush=True)
    for db_url in options.db or DEFAULT_DBS:
        times = [run_once(db_url, options.scale, options.seed) for _ in range(options.runs)]
        counts = json.loads(manage(db_url, "shell", "-c", COUNT_ROWS, capture=True).strip().splitlines()[-1])
        engine = urlparse(db_url).scheme
        runs = ", ".join(f"{t:.1f}" for t in times)
        print(f"{engine} {options.scale}: median {statistics.median(times):.1f} s wall clock (runs: {runs})")
        bare = process_floor(db_url)
        print(
            f"  floor: manage.py shell (Django set up, a connection) {bare:.1f} s ->"
            f" {floor.ratio(statistics.median(times), bare)}"
        )
        print("  " + ", ".join(f"{label.split('.')[-1]} {n:,}" for label, n in counts.items()))


if __name__ == "__main__":
    main()
