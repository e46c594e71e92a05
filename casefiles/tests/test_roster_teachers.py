"""The teacher roster: read under title rows in the spellings schools use, every bad row named with
its row number, column and a Chinese message, checked against the database in a constant number of
queries, committed through teacher_create / teacher_update (new accounts with a one-time password
shown once), re-imported without a write, all or nothing inside the caller's transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from casefiles.imports.rows import Roster
from casefiles.imports.tables import add_errors
from casefiles.imports.teachers import (
    TEACHER_COLUMNS,
    TeacherRow,
    check_teacher_roster,
    commit_teacher_row,
    new_accounts,
    read_teacher_roster,
    template_notes,
)
from pairing.models import Teacher
from pairing.tests import factories as f
from pairing.tests.world import World
from zaoyang_aid.access import Role
from zaoyang_aid.spreadsheets import open_bytes

from .crosscheck_files import xls_bytes as xls
from .crosscheck_files import xlsx_bytes as xlsx

TITLE = [["枣阳市第一中学教职工名单"], ["填报单位:枣阳市第一中学"]]
HEADER = ["序号", "教师姓名", "手机号码", "学校", "岗位", "职称", "班主任", "账号"]


def read(rows: list[list[Any]], build: Any = xlsx) -> Roster:
    return read_teacher_roster(open_bytes(build([*TITLE, HEADER, *rows])))


def errors_of(roster: Roster) -> list[tuple[int, str, str]]:
    return [(e.row_number, e.column, e.message) for e in roster.errors]


def new_rows(school: str, count: int, start: int = 0) -> list[list[Any]]:
    return [[i + 1, f"教师{i}", f"1390000{start + i:04d}", school, None, "一级教师", "否", None] for i in range(count)]


def commit_all(roster: Roster, by: Any) -> list[str]:
    with transaction.atomic():
        return [commit_teacher_row(row, by=by) for row in roster.rows]


@pytest.mark.parametrize("build", [xlsx, xls], ids=["xlsx", "xls"])
def test_a_teacher_roster_is_read_in_the_spellings_schools_use(build: Any) -> None:
    roster = read(
        [
            [1, "张  老师", "１３９００００１１１１", "枣阳市第一中学", "", "一级教师", "是", "zhang.ls"],
            [2, "李四", 13900002222, "枣阳市第一中学", "心理健康教师", None, None, None],
            [3, "王五", "139 0000 3333", "枣阳市第一中学", "资助专干", "高级教师", "否", ""],
        ],
        build,
    )
    assert errors_of(roster) == []
    assert roster.header.row_number == 3
    first, second, third = (row.values for row in roster.rows)
    assert first == {
        "name": "张老师",
        "phone": "13900001111",  # full-width digits made plain
        "school": "枣阳市第一中学",
        "role": "",  # blank: a new account is a 教师
        "title": "一级教师",
        "is_head_teacher": True,
        "username": "zhang.ls",
    }
    assert second["phone"] == "13900002222"  # a number cell
    assert second["role"] == Role.COUNSELLOR
    assert second["is_head_teacher"] is None  # blank: not known
    assert third["phone"] == "13900003333"
    assert third["role"] == Role.OFFICER


def test_every_bad_teacher_row_is_named_with_its_row_column_and_a_chinese_message() -> None:
    roster = read(
        [
            [1, "", "13900001111", "一中", None, None, None, None],
            [2, "李四", "1390000222", "一中", "校长", None, "可能", None],
            [3, "王五", "13900003333", "一中", None, None, None, "wang wu!"],
            [4, "赵六", "13900001111", "一中", None, None, None, "ZHAO"],
            [5, "钱七", "13900005555", "一中", None, None, None, "zhao"],
        ]
    )
    assert errors_of(roster) == [
        (4, "姓名", "必填,不能为空。"),
        (5, "角色", "只能填“教师”“学校资助专干”或“心理健康教师”,不能填“校长”。"),
        (5, "是否班主任", "只能填“是”或“否”(不清楚请留空),不能填“可能”。"),
        (5, "手机号", "请输入11位手机号码。"),
        (6, "登录账号", "登录账号只能包含字母、数字和 _ . @ + -"),
        (7, "手机号", "与第4行重复。"),
        (8, "登录账号", "与第7行重复。"),  # whatever the case
    ]


def test_a_roster_without_a_phone_column_is_refused_on_the_header_row() -> None:
    roster = read_teacher_roster(open_bytes(xlsx([["姓名", "学校名称", "职称"], ["张三", "一中", ""]])))
    assert errors_of(roster) == [(1, "手机号", "缺少这一列。")]


def test_the_template_columns_and_notes_go_together() -> None:
    labels = ["姓名", "手机号", "学校名称", "学校标识码", "角色", "职称", "是否班主任", "登录账号"]
    assert [c.label for c in TEACHER_COLUMNS] == labels
    assert set(template_notes) == {c.key for c in TEACHER_COLUMNS}


def test_database_problems_are_named_at_their_row_and_column(world: World) -> None:
    other_school_teacher = Teacher.objects.get(user=world.teacher_b1)
    f.UserFactory(username="taken")
    roster = read(
        [
            [1, "甲", "13900000001", "不存在中学", None, None, None, None],
            [2, "乙", "13900000002", world.school_b.name, None, None, None, None],  # not the officer's
            [3, "丙", other_school_teacher.phone, world.school_a.name, None, None, None, None],
            [4, "丁", "13900000004", world.school_a.name, None, None, None, "TAKEN"],
            [5, "戊", "13900000005", world.school_a.name, "学校资助专干", None, None, None],
            [6, "己", "13900000006", world.school_a.name, None, None, None, None],
        ]
    )
    check_teacher_roster(roster, by=world.officer_a)
    assert errors_of(roster) == [
        (4, "学校名称", "学校“不存在中学”不存在,或不在您的管理范围内。"),
        (5, "学校名称", f"学校“{world.school_b.name}”不存在,或不在您的管理范围内。"),
        (6, "手机号", "这个手机号已是其他学校教职工的手机号。如是调动,请由市资助中心在教师页面调整学校。"),
        (7, "登录账号", "该登录账号已被使用,请换一个。"),
        (8, "角色", "您不能导入“学校资助专干”账号。"),
    ]
    assert roster.rows[5].values["school_id"] == world.school_a.pk


def test_an_officer_cannot_change_her_colleague_officer_but_an_unchanged_row_passes(world: World) -> None:
    officer = Teacher.objects.select_related("user").get(user=world.officer_a)
    row = [1, officer.name, officer.phone, world.school_a.name, "学校资助专干", officer.title, None, None]
    roster = read([row])
    check_teacher_roster(roster, by=world.officer_a)
    assert errors_of(roster) == []  # her own row, as recorded: nothing to change
    roster = read([[*row[:5], "高级教师", None, None]])
    check_teacher_roster(roster, by=world.officer_a)
    assert errors_of(roster) == [(4, "角色", "您无权修改该账号:学校资助专干的信息由市资助中心修改。")]
    check_teacher_roster(roster := read([[*row[:5], "高级教师", None, None]]), by=world.county)
    assert errors_of(roster) == []
    teacher = Teacher.objects.select_related("user").get(user=world.teacher_a1)
    roster = read([[1, teacher.name, teacher.phone, world.school_a.name, "学校资助专干", None, None, None]])
    check_teacher_roster(roster, by=world.officer_a)
    assert errors_of(roster) == [(4, "角色", "您不能把账号的角色改为“学校资助专干”。")]


@pytest.mark.parametrize("count", [10, 100])
def test_the_database_checks_ask_a_constant_number_of_queries(
    world: World, count: int, django_assert_num_queries: Any
) -> None:
    rows = new_rows(world.school_a.name, count)
    rows[0][2] = Teacher.objects.get(user=world.teacher_a1).phone  # one existing teacher among them
    roster = read(rows)
    # 1 the schools, 2 the staff with these phones, 3 the accounts with these 登录账号.
    with django_assert_num_queries(3):
        check_teacher_roster(roster, by=world.officer_a)
    assert roster.rows[0].values["teacher_id"]


def test_a_new_teacher_gets_an_account_with_a_one_time_password_shown_once(world: World) -> None:
    roster = read(new_rows(world.school_a.name, 2))
    check_teacher_roster(roster, by=world.officer_a)
    assert commit_all(roster, world.officer_a) == ["created", "created"]
    teacher = Teacher.objects.select_related("user").get(phone="13900000000")
    assert (teacher.name, teacher.school, teacher.title, teacher.is_head_teacher) == (
        "教师0",
        world.school_a,
        "一级教师",
        False,
    )
    assert teacher.user.username == "13900000000"  # blank 登录账号: the phone
    assert teacher.user.role == Role.TEACHER
    assert teacher.user.must_change_password
    accounts = new_accounts(roster.rows)
    assert [(a.row_number, a.username) for a in accounts] == [(4, "13900000000"), (5, "13900000001")]
    assert teacher.user.check_password(accounts[0].password)
    assert accounts[0].password not in repr(accounts[0]) + repr(roster.rows[0])
    assert accounts[0].password not in str(roster.rows[0].values)
    assert new_accounts(roster.rows) == []  # handed out once


def test_re_importing_the_same_file_writes_nothing(world: World) -> None:
    data = xlsx([*TITLE, HEADER, *new_rows(world.school_a.name, 5)])
    first = read_teacher_roster(open_bytes(data))
    check_teacher_roster(first, by=world.officer_a)
    commit_all(first, world.officer_a)
    again = read_teacher_roster(open_bytes(data))
    check_teacher_roster(again, by=world.officer_a)
    assert again.errors == []
    with CaptureQueriesContext(connection) as queries:
        assert commit_all(again, world.officer_a) == ["unchanged"] * 5
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert new_accounts(again.rows) == []


def test_a_changed_row_updates_the_teacher_and_a_blank_keeps_what_is_recorded(world: World) -> None:
    teacher = Teacher.objects.select_related("user").get(user=world.teacher_a1)
    teacher.is_head_teacher = True
    teacher.save()
    roster = read([[1, "新名字", teacher.phone, world.school_a.name, None, "高级教师", None, None]])
    check_teacher_roster(roster, by=world.officer_a)
    assert commit_all(roster, world.officer_a) == ["updated"]
    teacher.refresh_from_db()
    teacher.user.refresh_from_db()
    assert (teacher.name, teacher.title, teacher.is_head_teacher, teacher.user.role) == (
        "新名字",
        "高级教师",
        True,  # 是否班主任 blank: not known, kept
        Role.TEACHER,  # 角色 blank: kept
    )


def test_a_service_error_lands_at_the_rows_column(world: World) -> None:
    roster = read(new_rows(world.school_a.name, 2))
    roster.rows[1].values["name"] = "长" * 51  # past the account's 50 characters: full_clean's error
    check_teacher_roster(roster, by=world.officer_a)
    assert roster.errors == []
    f.UserFactory(username="13900000000")  # taken by someone else between the preview and the commit
    with pytest.raises(ValidationError) as taken:
        commit_teacher_row(roster.rows[0], by=world.officer_a)
    assert taken.value.message_dict == {"username": ["该登录账号已被使用,请换一个。"]}
    with pytest.raises(ValidationError) as long_name:
        commit_teacher_row(roster.rows[1], by=world.officer_a)
    assert list(long_name.value.message_dict) == ["name"]
    add_errors(roster.rows[1], long_name.value)
    assert [(e.row_number, e.column) for e in roster.errors] == [(5, "姓名")]


def test_a_bad_row_rolls_back_the_rows_before_it(world: World) -> None:
    roster = read(new_rows(world.school_a.name, 3))
    check_teacher_roster(roster, by=world.officer_a)
    roster.rows[2].values["name"] = "长" * 51
    before = Teacher.objects.count()
    with pytest.raises(ValidationError):
        commit_all(roster, world.officer_a)
    assert Teacher.objects.count() == before
    assert not get_user_model().objects.filter(username__startswith="1390000000").exists()


def test_rows_are_teacher_rows_so_the_password_stays_off_their_values() -> None:
    roster = read([[1, "张三", "13900001111", "一中", None, None, None, None]])
    assert isinstance(roster.rows[0], TeacherRow)
    assert roster.rows[0].labels and roster.rows[0].labels["phone"] == "手机号"
