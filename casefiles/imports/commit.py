"""Writing a checked student roster: every clean row through pairing.services.student_create or
student_update (the services the student pages use, so a rule has one definition), all or nothing in
one transaction. The preview is this same function with ``dry_run=True``: the writes are made and
rolled back, so the preview reports exactly what the commit would refuse, the services' own
refusals (a missing guardian, town or 户口性质) included.

Blank cells mean "not known": on a student already stored, a blank keeps the stored value and never
clears it. A row whose values equal what is stored is "unchanged" and not written at all, so
importing the same file twice changes nothing (no save, no audit line, ``updated_at`` kept).

The 是/否 columns (是否脱贫家庭学生 …) describe 认定 categories, which belong to a term's
HardshipAssessment with a level and a date that a roster does not carry. They are read, checked and
counted in the preview, and not written: 认定 changes come from the officer (and from the
department-list cross-check's proposals), not from a roster's flags.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from pairing import services
from pairing.models import School, Student, Town

from .checks import CHUNK, check_schools, check_students_in_database
from .columns import FLAG_KEYS
from .headers import RowError
from .rows import Roster, RosterRow

STUDENT_VALUE_KEYS = services.STUDENT_FIELDS  # roster keys that are the service's own field names
GUARDIAN_KEYS = {"name": "guardian_name", "relation": "guardian_relation", "phone": "guardian_phone"}
# The service's error keys (the student page's inputs) -> the roster column that holds the value.
_HOUSEHOLD_COLUMNS = {"household-town": "town", "household-village": "village", "household": "town"}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # bad rows (not written)
    committed: bool = False
    header_errors: int = 0  # problems of the header (a missing column): nothing can be imported
    errors: list[RowError] = field(default_factory=list)
    flags: dict[str, Counter[str]] = field(default_factory=dict)  # 是否… column -> {"是": n, "否": n, "未填": n}
    # New accounts with their one-time passwords (教师名单), for the result page once; never stored.
    accounts: list[Any] = field(default_factory=list, repr=False)

    @property
    def clean(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped}


class _Rollback(Exception):
    """Raised inside the transaction to undo a preview, or a commit with a bad row."""


def roster_commit(
    roster: Roster,
    *,
    user: Any,
    check: Callable[[list[RosterRow], Any], None],
    write: Callable[[list[RosterRow], Any], Counter[str]],
    skip_bad_rows: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Check ``roster`` against the database in ``user``'s scope (``check``: a constant number of
    queries) and write its clean rows (``write``: each row's outcome counted, a refused row's errors
    added to it). Kept only when nothing is bad (or ``skip_bad_rows``) and not ``dry_run``; otherwise
    everything done is rolled back and the result still counts what would have been created, updated
    or left as it was. Each row is checked once: call it on a freshly read roster."""
    result = ImportResult(flags=_flag_counts(roster.rows))
    try:
        with transaction.atomic():
            check(roster.rows, user)
            outcomes = write([row for row in roster.rows if row.is_clean], user)
            result.created, result.updated, result.unchanged = (
                outcomes[k] for k in ("created", "updated", "unchanged")
            )
            result.errors = roster.errors
            result.header_errors = len(roster.header.errors)
            result.skipped = sum(1 for row in roster.rows if not row.is_clean)
            if dry_run or roster.header.errors or (result.skipped and not skip_bad_rows):
                raise _Rollback
            result.committed = True
    except _Rollback:
        result.committed = False
    return result


def student_roster_commit(
    roster: Roster, *, user: Any, skip_bad_rows: bool = False, dry_run: bool = False
) -> ImportResult:
    """A student roster through roster_commit: students created or corrected by the pairing services."""
    return roster_commit(
        roster,
        user=user,
        check=student_rows_check,
        write=student_rows_write,
        skip_bad_rows=skip_bad_rows,
        dry_run=dry_run,
    )


def student_rows_check(rows: list[RosterRow], user: Any) -> None:
    check_schools(rows, schools=School.objects.visible_to(user))
    check_students_in_database(rows)
    _resolve_towns(rows)


def _flag_counts(rows: Iterable[RosterRow]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for row in rows:
        for key in FLAG_KEYS & row.values.keys():
            value = row.values[key]
            counts.setdefault(key, Counter())["未填" if value is None else ("是" if value else "否")] += 1
    return counts


def _town_key(name: str) -> str:
    """琚湾镇, 琚湾 and 琚湾镇人民政府 name one town; 南城街道 and 南城 another."""
    for suffix in ("人民政府", "办事处", "街道", "镇", "乡", "开发区", "管委会"):
        name = name.removesuffix(suffix)
    return name


def _resolve_towns(rows: list[RosterRow]) -> None:
    """乡镇(街道) by name (one query): puts ``town_obj``; a name we do not know is the row's error."""
    if not any(r.values.get("town") for r in rows):
        return
    towns = {_town_key(t.name): t for t in Town.objects.all()}
    for row in rows:
        name = row.values.get("town")
        if not name:
            continue
        town = towns.get(_town_key(name))
        if town is None:
            row.add_error("town", f"没有名为“{name}”的乡镇(街道)。")
        else:
            row.values["town_obj"] = town


def student_rows_write(clean: list[RosterRow], user: Any) -> Counter[str]:
    """The clean rows of new students through services.students_create (student_create's rules, a
    constant number of queries per batch); a stored student through student_update when a cell
    changes something, else left as it is. Per CHUNK rows the stored students are read at once."""
    outcomes: Counter[str] = Counter()
    for start in range(0, len(clean), CHUNK):
        chunk = clean[start : start + CHUNK]
        stored = _stored_students(chunk)
        schools = {s.pk: s for s in School.objects.filter(pk__in={r.values["school_id"] for r in chunk})}
        new: list[tuple[RosterRow, services.NewStudent]] = []
        for row in chunk:
            school = schools[row.values["school_id"]]
            student = stored.get(row.values["id_number"])
            if student is None:
                new.append((row, services.NewStudent(school=school, **_create_arguments(row))))
            else:
                outcomes[_update_row(row, student=student, school=school, user=user)] += 1
        for (row, _item), errors in zip(new, services.students_create(by=user, new=[n for _r, n in new]), strict=True):
            if errors:
                _add_service_errors(row, ValidationError(errors), guardian_index=0)
            outcomes["bad" if errors else "created"] += 1
    return outcomes


def _stored_students(rows: Sequence[RosterRow]) -> dict[str, Student]:
    """The students the rows name, by 身份证件号, with what the comparison reads (three queries)."""
    ids = [r.values["id_number"] for r in rows]
    students = (
        Student.objects.filter(id_number__in=ids)
        .select_related("household__town", "school")
        .prefetch_related("guardians", "household__members")
    )
    return {s.id_number: s for s in students}


def _update_row(row: RosterRow, *, student: Student, school: School, user: Any) -> str:
    """'updated', 'unchanged', or 'bad' (the row's errors added)."""
    if student.school_id != school.pk:
        row.add_error("school", "系统中该学生登记在另一所学校;转学请在学生页面办理学籍变动。")
        return "bad"
    prepared = _update_arguments(row, student=student)
    if prepared is None:
        return "bad" if row.errors else "unchanged"
    call, guardian_index = prepared
    try:
        services.student_update(student=student, by=user, **call)
    except ValidationError as exc:
        _add_service_errors(row, exc, guardian_index=guardian_index)
        return "bad"
    return "updated"


def _given(row: RosterRow, key: str) -> bool:
    return row.values.get(key) not in (None, "")


def _create_arguments(row: RosterRow) -> dict[str, Any]:
    values = {key: row.values.get(key, "") for key in STUDENT_VALUE_KEYS}
    values["birth_date"] = row.values.get("birth_date")
    guardian = {name: row.values.get(key, "") for name, key in GUARDIAN_KEYS.items()}
    return {
        "values": values,
        "household": {
            "town": row.values.get("town_obj"),
            "village": row.values.get("village", ""),
            "address_detail": "",
        },
        "guardians": [guardian] if any(guardian.values()) else [],
    }


def _update_arguments(row: RosterRow, *, student: Student) -> tuple[dict[str, Any], int] | None:
    """The service's arguments for a stored student: each blank cell keeps the stored value; the
    household's other fields, the other guardians and the members are passed as they are. None when
    nothing would change. Also the place of the roster's guardian in the list (for its errors)."""
    values = {key: row.values[key] if _given(row, key) else getattr(student, key) for key in STUDENT_VALUE_KEYS}
    changed = any(values[key] != getattr(student, key) for key in STUDENT_VALUE_KEYS)
    home = student.household
    town = row.values.get("town_obj") or home.town
    village = row.values["village"] if _given(row, "village") else home.village
    changed = changed or town.pk != home.town_id or village != home.village
    guardians: list[dict[str, Any]] = [{"id": g.pk} for g in student.guardians.all()]
    guardian_index = -1
    if _given(row, "guardian_name"):
        stored = [g for g in student.guardians.all() if g.name == row.values["guardian_name"]]
        given = {name: row.values[key] for name, key in GUARDIAN_KEYS.items() if _given(row, key)}
        if stored:
            guardian_index = _index(student, stored[0].pk)
            guardians[guardian_index].update(given)
            changed = changed or any(getattr(stored[0], name) != value for name, value in given.items())
        else:
            guardian_index = len(guardians)
            guardians.append({"name": "", "relation": "", "phone": "", **given})
            changed = True
    elif _given(row, "guardian_phone") or _given(row, "guardian_relation"):
        row.add_error("guardian_name", "填写了监护人关系或电话,请同时填写监护人姓名。")
        return None
    if not changed:
        return None
    household = {"town": town, "village": village}
    members = [{"id": m.pk} for m in home.members.all()]
    return {**values, "household": household, "guardians": guardians, "members": members}, guardian_index


def _index(student: Student, guardian_id: int) -> int:
    return [g.pk for g in student.guardians.all()].index(guardian_id)


def _column_of(key: str, *, guardian_index: int) -> tuple[str, str]:
    """The roster column a service error key names, and a prefix for the message when the key is
    not one of the roster's own values (another stored guardian, a household member)."""
    if key in STUDENT_VALUE_KEYS:
        return key, ""
    if key == "school":
        return "school", ""
    if key in _HOUSEHOLD_COLUMNS:
        return _HOUSEHOLD_COLUMNS[key], ""
    if key.startswith("household-"):
        return "", "家庭地址:"
    if key == "guardians":
        return "guardian_name", ""
    if key.startswith("guardians-"):
        parts = key.split("-")
        if int(parts[1]) == guardian_index:
            return (GUARDIAN_KEYS.get(parts[2], "guardian_name") if len(parts) > 2 else "guardian_name"), ""
        return "", f"系统中已登记的第{int(parts[1]) + 1}位监护人:"
    if key.startswith("members-"):
        return "", f"系统中已登记的第{int(key.split('-')[1]) + 1}位家庭成员:"
    return "", ""


def _add_service_errors(row: RosterRow, exc: ValidationError, *, guardian_index: int) -> None:
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            row.add_error("", message)
        return
    for key, messages in exc.message_dict.items():
        column, prefix = _column_of("" if key == NON_FIELD_ERRORS else key, guardian_index=guardian_index)
        if column == "school" and not row.values.get("school") and row.values.get("school_code"):
            column = "school_code"
        for message in messages:
            row.add_error(column, prefix + message)
