"""python manage.py delete_orphan_attachments [--dry-run]: the nightly job, by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from casefiles.attachments import orphan_attachments_delete
from zaoyang_aid.orphans import ORPHAN_MIN_AGE


class Command(BaseCommand):
    help = "Delete case-file attachment files that no record names (older than a day); --dry-run lists them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list the files; delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        names = orphan_attachments_delete(now=timezone.now(), dry_run=options["dry_run"])
        for name in names:
            self.stdout.write(f"  {name}")
        verb = "将删除" if options["dry_run"] else "已删除"
        self.stdout.write(f"{verb}{len(names)}个没有记录对应的档案附件文件(保存超过{ORPHAN_MIN_AGE.days}天)。")
