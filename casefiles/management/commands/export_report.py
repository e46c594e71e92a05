"""python manage.py export_report NAME [--term ID] [--town ID] [--school ID] [--as USERNAME] -o FILE.xlsx
and export_report --list: any report of the registry (casefiles.reports.REPORTS), for cron and scripts.

Which reader: a report's columns and rows follow its reader's scope and field policy, and its audit
line names who exported. So the file is written as an account: ``--as USERNAME`` (a county centre's
account or a school's 资助专干), or, without it, the one active county account when there is exactly
one. With several, the command refuses to guess: an audit line must name the person who asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casefiles.reports import REPORTS, report_export
from zaoyang_aid import audit
from zaoyang_aid.access import Role, scope_of


def _reader(username: str | None) -> Any:
    users = get_user_model().objects.filter(is_active=True)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有名为 {username} 的启用账号。")
        return user
    county = list(users.filter(role=Role.COUNTY).order_by("pk")[:2])
    if len(county) != 1:
        raise CommandError(
            "请用 --as 指定以哪个账号导出(市资助中心或学校资助专干的用户名):导出按其权限写列并记入审计日志。"
        )
    return county[0]


class Command(BaseCommand):
    help = "Write a report of the registry to an .xlsx file, filtered as its web list; --list names the reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="the report's name (see --list)")
        parser.add_argument("--list", action="store_true", help="name the reports and stop")
        parser.add_argument("--term", type=int, help="the term's id (default: the current term)")
        parser.add_argument("--town", type=int, help="a town's id")
        parser.add_argument("--school", type=int, help="a school's id")
        parser.add_argument("--as", dest="username", help="the account to export as (default: the one county account)")
        parser.add_argument("-o", "--output", help="the .xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for report in REPORTS.values():
                self.stdout.write(f"{report.name}\t{report.label}\t{report.description}")
            return
        name, output = options["name"], options["output"]
        if not name or name not in REPORTS:
            raise CommandError(f"请给出报表名称:{'、'.join(REPORTS)}(--list 查看说明)。")
        if not output:
            raise CommandError("请用 -o FILE.xlsx 指定输出文件。")
        user = _reader(options["username"])
        data = {key: str(options[key]) for key in ("term", "town", "school") if options[key] is not None}
        target = Path(output)
        context = audit.AuditContext(
            actor_id=user.pk,
            actor_name=user.get_full_name(),
            actor_role=scope_of(user).role or "",
            ip_address=None,
            user_agent="",
            path=f"manage.py export_report {name}",
            actor_username=user.get_username(),
        )
        partial = target.with_name(f".{target.name}.part")
        try:
            with audit.acting_as(context), partial.open("wb") as file:
                result = report_export(name=name, user=user, data=data, target=file, strict=True)
        except ValidationError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(";".join(exc.messages)) from None
        partial.replace(target)  # a reader of the output never sees half a file
        self.stdout.write(f"已导出{result.report.label}:{result.rows}行 → {target}({result.filters})")
