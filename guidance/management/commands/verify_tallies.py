"""python manage.py verify_tallies [--repair]: the nightly recount of the per-pairing term tallies, by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from guidance.tallies import tally_verify


class Command(BaseCommand):
    help = "Recount every pairing's term tally from its talk records and report differences; --repair fixes them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true", help="rewrite each tally that differs from the recount")

    def handle(self, *args: Any, **options: Any) -> None:
        report = tally_verify(repair=options["repair"])
        self.stdout.write(
            f"核对了{report.checked}条结对学期统计:{report.differences}处不一致"
            f"(数值不符{report.wrong},缺失{report.missing},多余{report.stale})。"
        )
        if report.differences:
            self.stdout.write("已按谈话记录重新计算并修复。" if report.repaired else "加 --repair 可按谈话记录修复。")
