"""python manage.py send_reminders [--dry-run] [--date YYYY-MM-DD]: the same sweep as Celery beat,
catching up the school weeks not yet swept as of that day; prints each week and the totals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from guidance.models import ReminderKind, ReminderLevel, SweepOutcome
from guidance.reminders import WeekSweep, sweep


class Command(BaseCommand):
    help = (
        "Run the reminder sweep (missed weekly talks, home visits due) as of a day, catching up the school weeks "
        "not yet swept; --dry-run lists who would be told."
    )

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
        for week in result.weeks:
            self._week(week, dry_run=options["dry_run"])
        if not result.due:
            self.stdout.write(result.reason)
        if options["dry_run"]:
            self.stdout.write(self.style.WARNING(f"预览:共{len(result.due)}条提醒,未写入任何内容。"))
        elif result.weeks:
            self.stdout.write(
                self.style.SUCCESS(
                    f"合计:{len(result.weeks)}个教学周,共{len(result.due)}条应提醒;"
                    f"新建提醒{result.reminders_created}条,站内通知{result.notifications_created}条。"
                )
            )

    def _week(self, week: WeekSweep, *, dry_run: bool) -> None:
        heading = f"{week.week.label} {SweepOutcome(week.outcome).label}"
        if week.outcome == SweepOutcome.SKIPPED:
            self.stdout.write(self.style.WARNING(f"{heading}:超过补发期限(REMINDER_CATCH_UP_WEEKS),不发送提醒。"))
            return
        counts = "" if dry_run else f";新建提醒{week.reminders_created}条,站内通知{week.notifications_created}条"
        self.stdout.write(f"{heading}(应于{week.first_school_day:%m月%d日}发送):应提醒{len(week.due)}条{counts}")
        for d in week.due:
            kind = ReminderKind(d.kind).label
            level = ReminderLevel(d.level).label
            self.stdout.write(
                f"  {d.teacher_name}\t{d.student_name}\t{kind}\t{d.period:%m-%d}\t连续{d.streak}周\t{level}"
            )
