"""Reachability checks behind /healthz: the database and the Celery broker."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **(detail or {})}


def check_database() -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"engine": connection.vendor}

    return _timed(probe)


def check_broker() -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        url = settings.CELERY_BROKER_URL
        if url.startswith("filesystem://"):
            folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
            folder.mkdir(parents=True, exist_ok=True)
            if not os.access(folder, os.W_OK):
                raise PermissionError(f"broker folder {folder} is not writable")
            return {"transport": "filesystem"}
        from .celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            return {"transport": conn.transport_cls}

    return _timed(probe)


def report() -> dict[str, Any]:
    checks = {"database": check_database(), "broker": check_broker()}
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "error", **checks}
