"""python manage.py send_reminders [--dry-run] [--date YYYY-MM-DD]: the same sweep as Celery beat."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from guidance.models import ReminderKind, ReminderLevel
from guidance.reminders import sweep


class Command(BaseCommand):
    help = "Run the reminder sweep (missed weekly talks, home visits due) for a day; --dry-run lists who would be told."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="the sweep's day, YYYY-MM-DD (default: today, Asia/Shanghai)")
        parser.add_argument("--dry-run", action="store_true", help="list who would be told what; change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        on = timezone.localdate()
        if options["date"]:
            try:
                on = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date 应为 YYYY-MM-DD 格式,收到 {options['date']!r}") from exc
        result = sweep(on=on, dry_run=options["dry_run"])
        self.stdout.write(f"{on:%Y-%m-%d}: {result.term.name if result.term else '—'}")
        if not result.due:
            self.stdout.write(result.reason)
            return
        for d in result.due:
            kind = ReminderKind(d.kind).label
            level = ReminderLevel(d.level).label
            self.stdout.write(
                f"  {d.teacher_name}\t{d.student_name}\t{kind}\t{d.period:%m-%d}\t连续{d.streak}周\t{level}"
            )
        if options["dry_run"]:
            self.stdout.write(self.style.WARNING(f"预览:共{len(result.due)}条提醒,未写入任何内容。"))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"共{len(result.due)}条应提醒;新建提醒{result.reminders_created}条,站内通知{result.notifications_created}条。"
                )
            )
