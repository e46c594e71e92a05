"""What the teacher and pairing rosters share with each other (and the student roster's reading):
a roster read under its title rows with a kind's own columns, each cell parsed by the column's
parser, required cells and duplicates in the file checked, and a service's ValidationError put at
the row's columns. The student roster keeps its own reader (rows.py); this one takes the columns
and parsers as arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from zaoyang_aid.spreadsheets import Sheet, clean_text

from .columns import Column
from .headers import HeaderMap, RowError, find_header
from .rows import Roster, RosterRow, is_footer

Parser = Callable[[Any], Any]

# Rows per query of the database checks, as checks.CHUNK: a 15,000-row roster asks 3 times.
CHUNK = 5000


def chunks(rows: list[RosterRow]) -> Iterator[list[RosterRow]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def read_table(
    sheet: Sheet,
    columns: tuple[Column, ...],
    *,
    parsers: Mapping[str, Parser],
    messages: Callable[[str, Any], str],
    check_row: Callable[[RosterRow], None],
) -> Roster:
    """The header found under the title rows, then each non-blank row below it parsed (a ValueError
    of a parser becomes ``messages(key, raw)`` at the column), required cells checked and
    ``check_row`` asked; the notes under the table are skipped as in the student roster."""
    header = find_header(sheet, columns)
    if not header.positions:
        return Roster(header=header, rows=[])
    labels = {c.key: c.label for c in columns}
    rows, footer_rows = [], []
    for row_number, cells in enumerate(sheet.rows[header.row_number :], start=header.row_number + 1):
        texts = [t for t in (clean_text(v) for v in cells) if t]
        if is_footer(texts):
            footer_rows.append(row_number)
        elif texts:
            row = _parse_row(header, cells, row_number, labels=labels, parsers=parsers, messages=messages)
            _check_required(row, header, columns)
            check_row(row)
            rows.append(row)
    return Roster(header=header, rows=rows, footer_rows=footer_rows)


def _parse_row(
    header: HeaderMap,
    cells: list[Any],
    row_number: int,
    *,
    labels: Mapping[str, str],
    parsers: Mapping[str, Parser],
    messages: Callable[[str, Any], str],
) -> RosterRow:
    row = RosterRow(row_number=row_number, labels=labels)
    for key in header.positions:
        raw = header.value(cells, key)
        parse: Parser = parsers.get(key, clean_text)
        try:
            row.values[key] = parse(raw)
        except ValueError:
            row.add_error(key, messages(key, raw))
    return row


def _check_required(row: RosterRow, header: HeaderMap, columns: tuple[Column, ...]) -> None:
    # A column missing from the header is reported once, on the header row, not on every row.
    for column in columns:
        if column.required and column.key in header.positions and row.values.get(column.key) in ("", None):
            row.add_error(column.key, "必填,不能为空。")


def require_one_of(header: HeaderMap, keys: tuple[str, str], labels: Mapping[str, str]) -> None:
    """A header error when neither of two columns that name the same thing (手机号 or 登录账号) is there."""
    if header.positions and not any(k in header.positions for k in keys):
        first, second = (labels[k] for k in keys)
        header.errors.append(RowError(header.row_number, first, f"缺少这一列(或“{second}”列)。"))


def check_duplicates_in_file(rows: Iterable[RosterRow], key: str, *, fold: Callable[[str], str] = str) -> None:
    """The same value of ``key`` a second time in the file: an error on the later row, naming the first."""
    first: dict[str, int] = {}
    for row in rows:
        value = row.values.get(key)
        if not value:
            continue
        folded = fold(value)
        if folded in first:
            row.add_error(key, f"与第{first[folded]}行重复。")
        else:
            first[folded] = row.row_number


def bad_value(raw: Any) -> str:
    return f"“{clean_text(raw)[:30]}”无法识别。"


def service_error(exc: ValidationError, names: Mapping[str, str]) -> ValidationError:
    """A service's ValidationError keyed by the roster's column keys: ``names`` maps the service's
    keys (its argument names) to the row's columns; a key it does not name, and the service's
    whole-object errors, go to the row itself (key "")."""
    if not hasattr(exc, "error_dict"):
        return ValidationError({"": exc.messages})
    keyed: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        column = "" if key == NON_FIELD_ERRORS else names.get(key, "")
        keyed.setdefault(column, []).extend(messages)
    return ValidationError(keyed)


def add_errors(row: RosterRow, exc: ValidationError) -> None:
    """A commit's ValidationError (keyed by column, "" for the row) put on the row, as the caller
    of ``commit_*_row`` does to show it at the row and column."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            row.add_error("", message)
        return
    for key, messages in exc.message_dict.items():
        for message in messages:
            row.add_error(key, message)
