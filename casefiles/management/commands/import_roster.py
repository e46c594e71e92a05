"""python manage.py import_roster FILE [--kind students] [--as USERNAME] [--dry-run] [--skip-bad-rows]
and import_roster --template students|teachers|pairings -o FILE.xlsx: a roster of the registry
(casefiles/imports/kinds.py ROSTER_KINDS) imported from the shell, for cron and scripts.

Each bad row is printed ("第12行“身份证件号”:…"); with any, nothing is written and the exit status is
1, unless --skip-bad-rows (the clean rows are imported, the bad ones printed). --dry-run checks and
writes nothing. The import acts as an account, as export_report does: --as USERNAME (a 资助专干
imports into their own school only), or the one active county account; its scope decides which
schools are known, and the audit lines name it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from casefiles.import_services import read_roster
from casefiles.imports.kinds import ROSTER_KINDS
from casefiles.imports.template import template_write
from casefiles.management.commands.export_report import _reader
from zaoyang_aid import audit
from zaoyang_aid.access import scope_of


class Command(BaseCommand):
    help = "Import a roster (.xls/.xlsx) as the import page does; --template writes an empty one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the roster to import (.xls or .xlsx)")
        parser.add_argument("--kind", default="students", help="the roster's kind (default: students)")
        parser.add_argument("--as", dest="username", help="the account to import as (default: the one county account)")
        parser.add_argument("--dry-run", action="store_true", help="check and count only, write nothing")
        parser.add_argument("--skip-bad-rows", action="store_true", help="import the clean rows, skip the bad ones")
        parser.add_argument("--template", metavar="KIND", help="write the empty template of KIND to -o and stop")
        parser.add_argument("-o", "--output", help="the .xlsx file for --template")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["template"]:
            self._template(options["template"], options["output"])
            return
        kind = ROSTER_KINDS.get(options["kind"])
        if kind is None:
            raise CommandError(f"没有这种名单:{options['kind']}。可选:{'、'.join(ROSTER_KINDS)}。")
        if not options["file"]:
            raise CommandError("请给出要导入的名单文件(.xls 或 .xlsx)。")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件:{path}")
        user = _reader(options["username"])
        context = audit.AuditContext(
            actor_id=user.pk,
            actor_name=user.get_full_name(),
            actor_role=scope_of(user).role or "",
            ip_address=None,
            user_agent="",
            path=f"manage.py import_roster {path.name}",
            actor_username=user.get_username(),
        )
        try:
            roster = read_roster(kind, path)
        except ValidationError as exc:
            raise CommandError(";".join(exc.messages)) from None
        with audit.acting_as(context):
            result = kind.commit(roster, user=user, skip_bad_rows=options["skip_bad_rows"], dry_run=options["dry_run"])
        for error in result.errors:
            self.stdout.write(str(error))
        counts = f"新增{result.created}、更新{result.updated}、无变化{result.unchanged}、错误行{result.skipped}"
        if result.committed:
            self.stdout.write(f"已导入{kind.label}({path.name}):{counts}。")
            if result.accounts:  # shown once, here: nothing keeps them
                self.stdout.write("新开通账号(一次性密码,首次登录须修改):")
                for account in result.accounts:
                    self.stdout.write(
                        f"  第{account.row_number}行 {account.name} {account.username} {account.password}"
                    )
            return
        if options["dry_run"] and not result.errors:
            self.stdout.write(f"检查通过,未写入(--dry-run):{counts}。")
            return
        raise CommandError(
            f"{kind.label}有{len(result.errors)}处错误,未写入任何数据({counts})。"
            + ("" if options["dry_run"] else "改正后重新导入,或用 --skip-bad-rows 只导入无误的行。")
        )

    def _template(self, name: str, output: str | None) -> None:
        kind = ROSTER_KINDS.get(name)
        if kind is None:
            raise CommandError(f"没有这种名单的模板:{name}。可选:{'、'.join(ROSTER_KINDS)}。")
        if not output:
            raise CommandError("请用 -o FILE.xlsx 指定模板文件。")
        with Path(output).open("wb") as file:
            template_write(kind, file)
        self.stdout.write(f"已写出{kind.label}模板 → {output}")
