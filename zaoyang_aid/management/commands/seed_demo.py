"""``manage.py seed_demo``: load the demo (a few schools, or the whole county) with published logins.

Each installed app seeds its own tables through its ``demo`` module (zaoyang_aid/demo.py explains the
protocol); this command only checks that it is safe to, runs them in one transaction and writes one
audit line for the lot.
"""

from __future__ import annotations

import random
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from zaoyang_aid import audit, demo
from zaoyang_aid.access import Role
from zaoyang_aid.models import AuditAction

SEED_CONTEXT = audit.AuditContext(None, "系统(seed_demo)", "", None, "", "manage.py seed_demo")
ROLE_ORDER = list(Role)


class Command(BaseCommand):
    help = (
        "载入演示数据(演示账号密码 zaoyang2026)。Load demo data: --scale small (a few towns, ~10 schools, "
        "~200 pairs) or county (all 18 towns, ~300 schools, 12,000 pairs); --seed N for the same data every time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(demo.SCALE_LABELS), default="small", help="规模 (default: small)")
        parser.add_argument("--seed", type=int, default=None, help="随机种子 / random seed (default: a new one)")
        parser.add_argument(
            "--force", action="store_true", help="DEBUG 关闭或库中已有非演示数据时仍然载入 / load anyway"
        )
        parser.add_argument(
            "--flush", action="store_true", help="先删除已载入的演示数据再重新生成 / wipe earlier demo data first"
        )

    def handle(self, *args: Any, scale: str, seed: int | None, force: bool, flush: bool, **options: Any) -> None:
        if not (settings.DEBUG or settings.DEMO_SITE) and not force:  # DEMO_SITE: the quick start's .env
            raise CommandError(
                "DEBUG 未开启,这可能是生产环境:拒绝载入演示数据。确需载入请加 --force(试用环境可设 DEMO_SITE=1)。\n"
                "DEBUG is off (production?): refusing to load demo data; add --force if you really mean it "
                "(or DEMO_SITE=1 on a machine for trying the app)."
            )
        seeders = demo.discover_seeders()
        present = demo.demo_present()
        if present and not flush:
            self.stdout.write("demo data already present / 演示数据已存在,未做任何更改(重新生成请加 --flush)。")
            return
        self._check_safe(seeders, present=present, force=force)
        seed = seed if seed is not None else secrets.randbelow(1_000_000)
        ctx = demo.DemoContext(
            rng=random.Random(seed),  # noqa: S311 - demo data, not secrets; seeded to be repeatable
            scale=scale,
            today=timezone.localdate(),
            stdout=self.stdout,
            password_hash=make_password(demo.DEMO_PASSWORD),  # once: Argon2 is slow on purpose
            seed=seed,
        )
        ctx.log(f"演示数据:{demo.SCALE_LABELS[scale]},随机种子 {seed},今天 {ctx.today}")
        # The few cases the seeders write through the services are audited as the command's doing.
        with transaction.atomic(), audit.acting_as(SEED_CONTEXT):
            if present:
                self._flush(ctx, seeders)
            demo.run_seeders(ctx, seeders)
            audit.record(
                AuditAction.CREATE,
                object_type="演示数据",
                object_label=f"载入演示数据({demo.SCALE_LABELS[scale]},随机种子 {seed})",
                changes=ctx.counts,
                context=SEED_CONTEXT,
            )
        if connection.vendor == "postgresql":
            # Statistics for what the seeders wrote after their own mid-seed ANALYZE (guidance.demo:
            # the sweep's reminders and notifications, 预警's flags): on a server whose autovacuum is
            # off or has not come round yet, the teacher's unread reminders were planned on a table
            # the statistics said had no reminder at all (60 ms a page at county scale instead of 0.1).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self._report(ctx)

    def _check_safe(self, seeders: list[Any], *, present: bool, force: bool) -> None:
        if present:  # --flush of an earlier demo: only when nothing else is in the database
            if demo.holds_records():
                raise CommandError(
                    "数据库中除演示数据外还有其他账号,--flush 会一并删除真实数据,已拒绝。\n"
                    "The database holds accounts the demo did not create: refusing to --flush it."
                )
            return
        busy = demo.apps_holding_records(seeders)
        if busy and not force:
            raise CommandError(
                f"数据库中已有非演示数据({'、'.join(busy)}),拒绝混入演示数据。请使用空数据库,或加 --force。\n"
                f"The database already holds records ({', '.join(busy)}): refusing to mix demo data into "
                "them. Use an empty database, or add --force."
            )

    def _flush(self, ctx: demo.DemoContext, seeders: list[Any]) -> None:
        demo.flush_seeders(ctx, seeders)
        audit.record(
            AuditAction.DELETE,
            object_type="演示数据",
            object_label="删除此前载入的演示数据",
            changes=ctx.deleted,
            context=SEED_CONTEXT,
        )

    def _report(self, ctx: demo.DemoContext) -> None:
        rows = [("数据", "行数")] + [(label, f"{n:,}") for label, n in ctx.counts.items()]
        self.stdout.write("\n" + demo.table(rows))
        logins = sorted(ctx.logins, key=lambda x: ROLE_ORDER.index(Role(x.role)))
        self.stdout.write("\n演示账号 / demo logins:\n" + demo.logins_table(logins))
        self.stdout.write(self.style.SUCCESS(f"\n演示数据已载入,用时 {ctx.elapsed:.1f} 秒。Demo data loaded."))
