"""python manage.py export_report NAME [--term ID] [--town ID] [--school ID] [--filter KEY=VALUE ...]
[--as USERNAME] -o FILE.xlsx and export_report --list: any report of the registry
(casefiles.reports.REPORTS), for cron and scripts.

Filters: every filter of the report's FilterSet (its web list's) is reachable as ``--filter
KEY=VALUE`` (repeatable; ``--town``/``--school``/``--term`` are shorthands), checked by that FilterSet:
a value the list would ignore, or a key the report does not offer its reader, is refused with the
reason and a non-zero exit, and no file is written. ``--list`` names each report's filters.

Which reader: a report's columns and rows follow its reader's scope and field policy, and its audit
line names who exported. So the file is written as an account: ``--as USERNAME`` (a county centre's
account or a school's 资助专干), or, without it, the one active county account when there is exactly
one. With several, the command refuses to guess: an audit line must name the person who asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casefiles.reports import REPORTS, Report, report_export
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


def _parsed_filters(pairs: list[str]) -> dict[str, str]:
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(
                f"筛选条件“{pair}”的格式不对:应为 KEY=VALUE,例如 --filter level=3(--list 查看各报表的筛选)。"
            )
        data[key.strip()] = value.strip()
    return data


def filters_in_words(report: Report) -> str:
    """Each filter of the report's FilterSet: its key, its label and, for a choice, the values it takes."""
    parts = ["term 学期(学期的编号,默认本学期)"]
    for key, spec in report.filterset.base_filters.items():
        label = spec.label or key
        if isinstance(spec, django_filters.ModelChoiceFilter):  # a ChoiceFilter too: asked first
            parts.append(f"{key} {label}(编号)")
        elif isinstance(spec, django_filters.ChoiceFilter):
            choices = "/".join(f"{value}={text}" for value, text in spec.extra.get("choices", ()))
            parts.append(f"{key} {label}({choices})")
        else:
            parts.append(f"{key} {label}")
    return ";".join(parts)


class Command(BaseCommand):
    help = "Write a report of the registry to an .xlsx file, filtered as its web list; --list names the reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="the report's name (see --list)")
        parser.add_argument("--list", action="store_true", help="name the reports and stop")
        parser.add_argument("--term", type=int, help="the term's id (default: the current term)")
        parser.add_argument("--town", type=int, help="a town's id")
        parser.add_argument("--school", type=int, help="a school's id")
        parser.add_argument(
            "--filter",
            dest="filters",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="one of the report's filters (repeatable; --list names them), e.g. --filter level=3",
        )
        parser.add_argument("--as", dest="username", help="the account to export as (default: the one county account)")
        parser.add_argument("-o", "--output", help="the .xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for report in REPORTS.values():
                self.stdout.write(f"{report.name}\t{report.label}\t{report.description}")
                self.stdout.write(f"  筛选(--filter KEY=VALUE):{filters_in_words(report)}")
            return
        name, output = options["name"], options["output"]
        if not name or name not in REPORTS:
            raise CommandError(f"请给出报表名称:{'、'.join(REPORTS)}(--list 查看说明)。")
        if not output:
            raise CommandError("请用 -o FILE.xlsx 指定输出文件。")
        user = _reader(options["username"])
        data = {key: str(options[key]) for key in ("term", "town", "school") if options[key] is not None}
        data |= _parsed_filters(options["filters"])
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
