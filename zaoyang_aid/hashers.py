"""The password hasher: Argon2id with parameters chosen for a web worker, not Django's defaults.

Django's Argon2PasswordHasher uses 100 MiB, 2 passes and 8 lanes: about 158 ms of CPU and 100 MB on a
worker's peak per login (issue 12). OWASP's Password Storage Cheat Sheet gives equally strong argon2id
settings that trade memory for passes (m=47 MiB t=1, m=19 MiB t=2, m=12 MiB t=3, m=9 MiB t=4,
m=7 MiB t=5, all p=1); we take its headline minimum, m=19 MiB t=2 p=1, measured by bench/passwords.py.

The algorithm name stays "argon2": Django's Argon2 hashes read their parameters from the hash, so this
hasher verifies them, and its must_update (parameters differ) rehashes them at the next login.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idWorkerHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB: 19 MiB
    parallelism = 1
