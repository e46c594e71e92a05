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
from dataclasses import dataclass
from typing import Any

from zaoyang_aid.spreadsheets import Sheet

from .columns import STUDENT_COLUMNS, Column
from .commit import ImportResult, roster_commit, student_rows_check, student_rows_write
from .rows import Roster, RosterRow, read_student_roster


@dataclass(frozen=True)
class RosterKind:
    name: str
    label: str
    columns: tuple[Column, ...]
    read: Callable[[Sheet], Roster]
    check: Callable[[list[RosterRow], Any], None]
    write: Callable[[list[RosterRow], Any], Counter[str]]
    description: str = ""

    def commit(self, roster: Roster, *, user: Any, skip_bad_rows: bool = False, dry_run: bool = False) -> ImportResult:
        return roster_commit(
            roster, user=user, check=self.check, write=self.write, skip_bad_rows=skip_bad_rows, dry_run=dry_run
        )


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
