"""Demo data of casefiles. The zips of case files are made by trying the 档案导出 page (building one
takes a few seconds a school, too slow for seed_demo); ``--flush`` removes them with their files,
since their rows point at the demo's schools, terms and accounts."""

from __future__ import annotations

from django.db import transaction

from guidance.models import private_storage
from zaoyang_aid.demo import DemoContext, raw_delete

from .models import CaseFileExport


def seed(ctx: DemoContext) -> None:
    """Nothing to seed yet (see the module's docstring)."""


def flush(ctx: DemoContext) -> None:
    files = [name for name in CaseFileExport.objects.exclude(file="").values_list("file", flat=True) if name]
    raw_delete(ctx, CaseFileExport.objects.all())
    transaction.on_commit(lambda: _delete_files(files))


def _delete_files(names: list[str]) -> None:
    for name in names:
        private_storage.delete(name)
