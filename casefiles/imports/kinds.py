"""The kinds of roster the import page and ``import_roster`` offer: one entry each, so that adding
a kind (教师名单, 结对名单: casefiles/imports/teachers.py and pairings.py) is adding an entry with
``roster_kind_register`` (the page, the command and the template read only this registry).

Each kind: its columns (the template and the header detection), ``read`` (a sheet to a Roster,
no database), ``check`` (the rows against the database, a constant number of queries, RowErrors
added) and ``write`` (the clean rows through the services, each row's outcome counted). The
preview and the commit both run roster_commit over these, so they cannot disagree."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from zaoyang_aid.spreadsheets import Sheet

from . import pairings, teachers
from .columns import STUDENT_COLUMNS, Column
from .commit import ImportResult, roster_commit, student_rows_check, student_rows_write
from .headers import HeaderMap
from .pairings import PAIRING_COLUMNS, check_pairing_roster, pairing_rows_write, read_pairing_roster
from .rows import Roster, RosterRow, read_student_roster
from .tables import add_errors
from .teachers import TEACHER_COLUMNS, check_teacher_roster, commit_teacher_row, new_accounts, read_teacher_roster


@dataclass(frozen=True)
class RosterKind:
    name: str
    label: str
    columns: tuple[Column, ...]
    read: Callable[[Sheet], Roster]
    check: Callable[[list[RosterRow], Any], None]
    write: Callable[[list[RosterRow], Any], Counter[str]]
    description: str = ""
    # The accounts a commit made, with their one-time passwords (教师名单): handed to the result once.
    accounts: Callable[[list[RosterRow]], list[Any]] | None = None

    def commit(self, roster: Roster, *, user: Any, skip_bad_rows: bool = False, dry_run: bool = False) -> ImportResult:
        result = roster_commit(
            roster, user=user, check=self.check, write=self.write, skip_bad_rows=skip_bad_rows, dry_run=dry_run
        )
        made = self.accounts(roster.rows) if self.accounts else []  # taken off the rows either way
        if result.committed:
            result.accounts = made
        return result


def noted(columns: tuple[Column, ...], notes: dict[str, str]) -> tuple[Column, ...]:
    """The columns with the template's note of each (the kind's ``template_notes``)."""
    return tuple(replace(c, note=notes.get(c.key, c.note)) for c in columns)


def rows_checked(check: Callable[..., None]) -> Callable[[list[RosterRow], Any], None]:
    """A kind's ``check(roster, by=...)`` as roster_commit calls it: on the rows, as the user."""

    def run(rows: list[RosterRow], user: Any) -> None:
        check(Roster(header=HeaderMap(row_number=0), rows=rows), by=user)

    return run


def rows_written(commit_row: Callable[..., str]) -> Callable[[list[RosterRow], Any], Counter[str]]:
    """A kind's ``commit_row(row, by=...)`` over the clean rows, each in a savepoint: a row the
    services refuse gets the refusal at its column and is counted bad (so the whole import is then
    rolled back unless the bad rows are skipped), the rows before and after it go on."""

    def run(rows: list[RosterRow], user: Any) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for row in rows:
            try:
                with transaction.atomic():
                    outcomes[commit_row(row, by=user)] += 1
            except ValidationError as exc:
                add_errors(row, exc)
                outcomes["bad"] += 1
        return outcomes

    return run


ROSTER_KINDS: dict[str, RosterKind] = {}


def roster_kind_register(kind: RosterKind) -> None:
    ROSTER_KINDS[kind.name] = kind


roster_kind_register(
    RosterKind(
        name="students",
        label="学生名单",
        columns=STUDENT_COLUMNS,
        read=read_student_roster,
        check=student_rows_check,
        write=student_rows_write,
        description="新学生登记,已有学生(按身份证件号)更正信息;空白单元格不改动已有信息。",
    )
)
roster_kind_register(
    RosterKind(
        name="teachers",
        label="教师名单",
        columns=noted(TEACHER_COLUMNS, teachers.template_notes),
        read=read_teacher_roster,
        check=rows_checked(check_teacher_roster),
        write=rows_written(commit_teacher_row),
        description="新教职工开通账号(一次性密码只在导入完成页显示一次),已有教职工(按学校与手机号)更正信息。",
        accounts=new_accounts,
    )
)
roster_kind_register(
    RosterKind(
        name="pairings",
        label="结对名单",
        columns=noted(PAIRING_COLUMNS, pairings.template_notes),
        read=read_pairing_roster,
        check=rows_checked(check_pairing_roster),
        write=pairing_rows_write,
        description="按全国学籍号与教师手机号(或登录账号)建立结对;已有的同一结对不变,不更换帮扶教师。",
    )
)
