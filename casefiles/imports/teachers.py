"""The teacher roster (教职工名单): a school's staff with their accounts, imported through the same
services as the teacher pages (pairing.services.teacher_create / teacher_update).

A row is one member of staff. Their identity for a re-import is the 手机号 at the school: a teacher
with that phone at that school is updated (or left unchanged when nothing differs), otherwise a new
account is made. The import does not move a teacher between schools, nor change a 登录账号 or a
password (the teacher pages and the account pages do). A blank cell means "not known": a blank
职称, 角色 or 是否班主任 keeps what is recorded for an existing teacher, and a new one is a 教师, not a
班主任, without a 职称. A blank 登录账号 is the phone.

A new account gets a one-time password (zaoyang_aid.passwords.one_time_password), which its user
must change at the first login, as after a reset on the account page. The password is kept only on
the row object in memory (``TeacherRow.new_account``, never in ``values``, never logged nor
audited): the result page asks ``new_accounts(rows)`` once and shows them, like the account page
shows a reset password once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from pairing import services
from pairing.models import School, Teacher
from pairing.validators import validate_phone, validate_username
from zaoyang_aid.access import STAFF_ROLES_GIVEN_BY, Role, scope_of
from zaoyang_aid.passwords import one_time_password
from zaoyang_aid.spreadsheets import Sheet, clean_code, clean_text, parse_flag

from .checks import check_schools
from .columns import Column
from .rows import Roster, RosterRow
from .tables import bad_value, check_duplicates_in_file, chunks, read_table, service_error

TEACHER_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("姓名", "教师姓名", "教职工姓名", "职工姓名"), required=True),
    Column(
        "phone",
        "手机号",
        ("手机号", "手机号码", "手机", "联系电话", "电话", "教师手机号", "教师联系电话", "教师电话"),
        required=True,
    ),
    Column("school", "学校名称", ("学校名称", "学校", "所在学校", "任教学校", "工作单位")),
    Column("school_code", "学校标识码", ("学校标识码", "学校代码")),
    Column("role", "角色", ("角色", "岗位", "人员类别", "身份")),
    Column("title", "职称", ("职称", "专业技术职务", "教师职称")),
    Column("is_head_teacher", "是否班主任", ("是否班主任", "班主任")),
    Column("username", "登录账号", ("登录账号", "账号", "用户名", "登录名")),
)
TEACHER_LABELS = {c.key: c.label for c in TEACHER_COLUMNS}

# The note row of the empty template, under the header (the lead's template writer reads it).
template_notes: dict[str, str] = {
    "name": "必填",
    "phone": "必填,11位手机号;再次导入时按手机号识别同一位教师",
    "school": "学校名称或学校标识码至少填一项",
    "school_code": "国家学校标识码,10位",
    "role": "教师、学校资助专干或心理健康教师;不填为教师",
    "title": "如:一级教师",
    "is_head_teacher": "是/否;不填视为不清楚",
    "username": "不填则用手机号作登录账号",
}

_ROLES = {
    "教师": Role.TEACHER,
    "任课教师": Role.TEACHER,
    "班主任": Role.TEACHER,
    "学校资助专干": Role.OFFICER,
    "资助专干": Role.OFFICER,
    "专干": Role.OFFICER,
    "心理健康教师": Role.COUNSELLOR,
    "心理教师": Role.COUNSELLOR,
    "心理健康老师": Role.COUNSELLOR,
}

# Whose accounts an importer may add or change: the roles the teacher form lets them give, one rule
# (zaoyang_aid.access.STAFF_ROLES_GIVEN_BY): an officer her school's teachers and counsellors, the
# county also officers.
_ROLES_BY_IMPORTER: dict[str, frozenset[str]] = {
    str(importer): frozenset(str(r) for r in given) for importer, given in STAFF_ROLES_GIVEN_BY.items()
}

# The services' keys (their arguments) and the columns they are at.
_SERVICE_COLUMNS = {
    "full_name": "name",
    "phone": "phone",
    "role": "role",
    "title": "title",
    "is_head_teacher": "is_head_teacher",
    "username": "username",
}


@dataclass(frozen=True)
class NewAccount:
    """An account the import made, with its one-time password to show once on the result page."""

    row_number: int
    name: str
    school: str
    username: str
    password: str = field(repr=False)


@dataclass
class TeacherRow(RosterRow):
    # Set by commit_teacher_row for a new account; read once by new_accounts(). Not in ``values``,
    # so that whatever keeps the rows' values (the preview) never holds a password.
    new_account: NewAccount | None = field(default=None, repr=False, compare=False)


def _role(raw: Any) -> str:
    text = clean_text(raw).replace(" ", "")
    if not text:
        return ""  # a new account is a 教师; an existing one keeps its role
    if text not in _ROLES:
        raise ValueError(raw)
    return str(_ROLES[text])


def _username(raw: Any) -> str:
    return clean_text(raw).replace(" ", "")


def _name(raw: Any) -> str:
    # Spaces typed to line up two- and three-character names ("张  三"); a name in Latin letters keeps them.
    text = clean_text(raw)
    return text if text.isascii() else text.replace(" ", "")


def username_of(values: dict[str, Any]) -> str:
    """The 登录账号 a row asks for: the one written, else the phone."""
    return str(values.get("username") or values.get("phone") or "")


_PARSERS = {
    "name": _name,
    "phone": clean_code,
    "school_code": clean_code,
    "role": _role,
    "is_head_teacher": parse_flag,
    "username": _username,
}


def _message(key: str, raw: Any) -> str:
    shown = clean_text(raw)[:30]
    if key == "role":
        return f"只能填“教师”“学校资助专干”或“心理健康教师”,不能填“{shown}”。"
    if key == "is_head_teacher":
        return f"只能填“是”或“否”(不清楚请留空),不能填“{shown}”。"
    return bad_value(raw)


def _check_row(row: RosterRow) -> None:
    """Phone and 登录账号 formats (a blank 登录账号 is the phone: username_of)."""
    phone = row.values.get("phone")
    if phone:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            row.add_error("phone", exc.messages[0])
    if row.values.get("username"):
        try:
            validate_username(row.values["username"])
        except ValidationError as exc:
            row.add_error("username", exc.messages[0])


def read_teacher_roster(sheet: Sheet) -> Roster:
    """Every row of a teacher roster parsed and checked without the database: required cells, the
    phone's and the 登录账号's format, the same phone or 登录账号 twice in the file."""
    roster = read_table(sheet, TEACHER_COLUMNS, parsers=_PARSERS, messages=_message, check_row=_check_row)
    roster.rows = [TeacherRow(r.row_number, r.values, r.errors, r.labels) for r in roster.rows]
    check_duplicates_in_file(roster.rows, "phone")
    check_duplicates_in_file(roster.rows, "username", fold=str.lower)
    return roster


# --- Checks against the database: 1 query for the schools, then 2 per CHUNK rows ---------------------


def check_teacher_roster(roster: Roster, *, by: Any) -> None:
    """Against the database, in a constant number of queries: the school within ``by``'s scope, the
    teacher already there (by phone at that school: ``teacher_id``, to update), a phone used at
    another school, a 登录账号 taken by someone else, a role ``by`` may not give or change."""
    allowed = _ROLES_BY_IMPORTER.get(str(scope_of(by).role), frozenset())
    rows = roster.rows
    check_schools(rows, schools=School.objects.visible_to(by))
    for chunk in chunks(rows):
        _check_teachers_chunk(chunk, allowed=allowed)


def _check_teachers_chunk(rows: list[RosterRow], *, allowed: frozenset[str]) -> None:
    phones = {r.values["phone"] for r in rows if r.values.get("phone")}
    known: dict[str, list[Teacher]] = {}
    # One query: every member of staff with these phones, at any school (a phone at another school
    # is an error: the import does not move teachers, and must not make a second account).
    for teacher in Teacher.objects.filter(phone__in=phones).select_related("user"):
        known.setdefault(teacher.phone, []).append(teacher)
    usernames = {username_of(r.values).lower() for r in rows} - {""}
    taken = dict(  # one query: the accounts holding these 登录账号, whatever their case
        get_user_model()
        .objects.annotate(lowered=Lower("username"))
        .filter(lowered__in=usernames)
        .values_list("lowered", "pk")
    )
    for row in rows:
        if row.values.get("phone") and row.values.get("school_id"):
            _check_teacher_row(row, known.get(row.values["phone"], []), taken, allowed)


def _check_teacher_row(
    row: RosterRow, same_phone: list[Teacher], taken: dict[str, int], allowed: frozenset[str]
) -> None:
    here = [t for t in same_phone if t.school_id == row.values["school_id"]]
    role = row.values.get("role") or Role.TEACHER
    if len(here) > 1:
        row.add_error("phone", "本校有多名教职工使用这个手机号,请先在教师页面核对后再导入。")
        return
    if not here and same_phone:
        row.add_error("phone", "这个手机号已是其他学校教职工的手机号。如是调动,请由市资助中心在教师页面调整学校。")
        return
    if here:
        teacher = here[0]
        row.values["teacher_id"] = teacher.pk
        given = str(row.values.get("username") or "")
        if given and given.lower() != teacher.user.username.lower():
            row.add_error("username", f"与系统中该教师的登录账号“{teacher.user.username}”不一致。导入不修改登录账号。")
        if _changes(row, teacher) and teacher.user.role not in allowed:
            label = Role(teacher.user.role).label if teacher.user.role in Role.values else teacher.user.role
            row.add_error("role", f"您无权修改该账号:{label}的信息由市资助中心修改。")
        elif _changes(row, teacher) and row.values.get("role") and row.values["role"] not in allowed:
            row.add_error("role", f"您不能把账号的角色改为“{Role(row.values['role']).label}”。")
        return
    if role not in allowed:
        row.add_error("role", f"您不能导入“{Role(role).label}”账号。")
    if username_of(row.values).lower() in taken:
        row.add_error("username", services.USERNAME_TAKEN)


def _values_for_update(row: RosterRow, teacher: Teacher) -> dict[str, Any]:
    """teacher_update's arguments from the row; a blank cell keeps what is recorded."""
    values = row.values
    head = values.get("is_head_teacher")
    return {
        "full_name": values["name"],
        "role": values.get("role") or teacher.user.role,
        "phone": values["phone"],
        "title": values.get("title") or teacher.title,
        "is_head_teacher": teacher.is_head_teacher if head is None else head,
    }


def _changes(row: RosterRow, teacher: Teacher) -> bool:
    wanted = _values_for_update(row, teacher)
    recorded = {
        "full_name": teacher.user.full_name,
        "role": teacher.user.role,
        "phone": teacher.phone,
        "title": teacher.title,
        "is_head_teacher": teacher.is_head_teacher,
    }
    return wanted != recorded


# --- Commit ----------------------------------------------------------------------------------------


def commit_teacher_row(row: RosterRow, *, by: Any) -> str:
    """Write one checked row through the teacher services: "created", "updated" or "unchanged"
    (nothing written). A ValidationError is keyed by this roster's column keys ("" for the row).
    The caller runs every row in one transaction.atomic, so that the import is all or nothing."""
    if str(scope_of(by).role) not in _ROLES_BY_IMPORTER:
        raise PermissionDenied("您的角色不能导入教职工名单。")
    school = School.objects.visible_to(by).get(pk=row.values["school_id"])
    school_key = "school_code" if row.values.get("school_code") else "school"
    names = {**_SERVICE_COLUMNS, "school": school_key}
    teacher_id = row.values.get("teacher_id")
    if teacher_id:
        teacher = Teacher.objects.select_related("user").get(pk=teacher_id, school=school)
        if not _changes(row, teacher):
            return "unchanged"
        try:
            services.teacher_update(teacher=teacher, school=school, **_values_for_update(row, teacher))
        except ValidationError as exc:
            raise service_error(exc, names) from exc
        return "updated"
    _create(row, school=school, names=names)
    return "created"


def _create(row: RosterRow, *, school: School, names: dict[str, str]) -> None:
    password = one_time_password()
    values = row.values
    with transaction.atomic():
        try:
            teacher = services.teacher_create(
                school=school,
                username=username_of(values),
                password=password,
                full_name=values["name"],
                role=values.get("role") or Role.TEACHER,
                phone=values["phone"],
                title=values.get("title", ""),
                is_head_teacher=bool(values.get("is_head_teacher")),
            )
        except ValidationError as exc:
            raise service_error(exc, names) from exc
        # As after a reset on the account page: the user picks their own password at the first login.
        get_user_model().objects.filter(pk=teacher.user_id).update(must_change_password=True)
    if isinstance(row, TeacherRow):
        row.new_account = NewAccount(row.row_number, teacher.name, school.name, teacher.user.username, password)


def new_accounts(rows: Iterable[RosterRow]) -> list[NewAccount]:
    """The accounts the commit made, with their one-time passwords, for the result page to show
    once. Each is handed out a single time: asking again returns nothing."""
    made = []
    for row in rows:
        if isinstance(row, TeacherRow) and row.new_account is not None:
            made.append(row.new_account)
            row.new_account = None
    return made
