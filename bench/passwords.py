"""What a login's password check costs: Django's default Argon2, the project's hasher, and a floor.

    DEBUG=1 .venv/bin/python bench/passwords.py [--runs N]

For each hasher it prints the time of one password check (``verify``, what a login does) as the
median of N, wall and CPU (Django's default Argon2 runs 8 lanes in threads: with 2 cores its CPU time
is above its wall time), and the peak memory one hash adds to a process: a fresh subprocess per hasher
reads its ru_maxrss (resource.getrusage) before and after hashing once. The subprocesses start before
this process hashes anything, since Linux carries a parent's peak into its children's ru_maxrss.
Ratios are to the floor, measured in the same run:
Django's PBKDF2 hasher at 1 iteration, that is Django's hashing code path (salt, encode, constant-time
compare) around a single HMAC-SHA256, with no key stretching at all. Needs no database.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zaoyang_aid.settings")

PASSWORD = "zaoyang2026"  # noqa: S105 - the demo's password, hashed here only to be timed
FLOOR = "floor"
NAMES = ("Django's default Argon2", "project (PASSWORD_HASHERS[0])")


def hashers() -> dict[str, object]:
    from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher, get_hasher

    class OneIterationPBKDF2(PBKDF2PasswordHasher):
        iterations = 1

    return {
        FLOOR: OneIterationPBKDF2(),
        NAMES[0]: Argon2PasswordHasher(),
        NAMES[1]: get_hasher("default"),
    }


def describe(name: str, hasher: object) -> str:
    if name == FLOOR:
        return "PBKDF2-SHA256, 1 iteration"
    cost = getattr(hasher, "memory_cost", None)
    if cost is None:
        return type(hasher).__name__
    return f"argon2id m={cost // 1024} MiB t={hasher.time_cost} p={hasher.parallelism}"  # type: ignore[attr-defined]


def time_checks(hasher: object, encoded: str, runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        if not hasher.verify(PASSWORD, encoded):  # type: ignore[attr-defined]
            raise SystemExit(f"{type(hasher).__name__} did not verify its own hash")
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def peak_in_fresh_process(name: str) -> float:
    """MB that one hash adds to a fresh process's peak resident size."""
    result = subprocess.run(  # noqa: S603 - this script, no shell
        [sys.executable, __file__, "--child", name],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(result.stdout.strip())


def child(name: str) -> None:
    import django

    django.setup()
    hasher = hashers()[name]
    if getattr(hasher, "library", None):
        hasher._load_library()  # type: ignore[attr-defined]
    salt = hasher.salt()  # type: ignore[attr-defined]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    hasher.encode(PASSWORD, salt)  # type: ignore[attr-defined]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{(after - before) / 1024:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--child", metavar="NAME")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    peaks = {name: peak_in_fresh_process(name) for name in (FLOOR, *NAMES)}  # before anything is hashed here
    import django

    django.setup()
    rows = []
    for name, hasher in hashers().items():
        encoded = hasher.encode(PASSWORD, hasher.salt())  # type: ignore[attr-defined]
        hasher.verify(PASSWORD, encoded)  # type: ignore[attr-defined]  # warm: the library loaded
        wall, cpu = time_checks(hasher, encoded, args.runs)
        rows.append((name, describe(name, hasher), wall, cpu, peaks[name]))
    floor_wall, floor_cpu = rows[0][2], rows[0][3]
    print(f"one password check (verify), median of {args.runs}; peak = ru_maxrss added by one hash in a fresh process")
    for name, params, wall, cpu, peak in rows:
        ratio = "" if name == FLOOR else f"  ({wall / floor_wall:,.0f}x wall, {cpu / floor_cpu:,.0f}x CPU of the floor)"
        print(f"  {name:32} {params:30} {wall:8.2f} ms wall {cpu:8.2f} ms CPU {peak:6.1f} MB peak{ratio}")
    (_, _, old_wall, old_cpu, old_peak), (_, _, new_wall, new_cpu, new_peak) = rows[1], rows[2]
    print(
        f"  project / Django's default: {new_wall / old_wall:.2f}x wall, {new_cpu / old_cpu:.2f}x CPU, "
        f"{new_peak / old_peak:.2f}x peak memory"
    )


if __name__ == "__main__":
    main()
