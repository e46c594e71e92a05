"""Files written before their row commits (a home-visit photo, a case-file attachment) are left
behind when the process dies in between (OOM, a deploy) or an outer transaction rolls back. A nightly
job per kind of file deletes those that no row names; this module is the one way it is done."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# An upload still in flight is younger than this: it is never judged.
ORPHAN_MIN_AGE = dt.timedelta(days=1)
ORPHAN_BATCH = 1000


def orphan_files_delete(
    *,
    storage: Any,
    folder: str,
    shared: str,
    named: Callable[[list[str]], Iterable[str]],
    now: dt.datetime,
    dry_run: bool = False,
    what: str = "文件",
) -> list[str]:
    """Delete files under ``storage``'s ``folder`` older than ORPHAN_MIN_AGE that ``named`` (given a
    batch of names, the ones some row holds) does not return; files under ``shared`` (the demo's
    pool) are never touched. Returns the names deleted (or, dry, that would be). One query per
    ORPHAN_BATCH files. Safe to run twice or to kill halfway: each file is judged on its own, and a
    file whose row appears meanwhile is young and kept."""
    root = Path(storage.location)
    cutoff = (now - ORPHAN_MIN_AGE).timestamp()
    shared_dir = root / shared
    candidates = [
        path.relative_to(root).as_posix()
        for path in sorted((root / folder).rglob("*"))
        if path.is_file() and shared_dir not in path.parents and path.stat().st_mtime < cutoff
    ]
    deleted: list[str] = []
    for start in range(0, len(candidates), ORPHAN_BATCH):
        batch = candidates[start : start + ORPHAN_BATCH]
        kept = set(named(batch))
        for name in batch:
            if name not in kept:
                if not dry_run:
                    storage.delete(name)
                deleted.append(name)
    if deleted and not dry_run:
        logger.warning("Deleted %d %s files under %s that no record named.", len(deleted), what, folder)
    return deleted
