"""The pairing roster: students by 全国学籍号 (name cross-checked), teachers by phone or 登录账号,
dates as schools write them; every bad row named with its row number, column and a Chinese
message; the database checks in a constant number of queries; the commit through pairing_create,
a re-import changing nothing, all or nothing inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import xlwt
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from casefiles.imports.pairings import (
    PAIRING_COLUMNS,
    check_pairing_roster,
    commit_pairing_row,
    read_pairing_roster,
    template_notes,
)
from casefiles.imports.rows import Roster
from casefiles.imports.tables import add_errors
from pairing.models import EnrollmentStatus, Pairing, Student, Teacher
from pairing.tests import factories as f
from pairing.tests.factories import make_id_number
from pairing.tests.world import World
from zaoyang_aid.spreadsheets import open_bytes

from .crosscheck_files import xlsx_bytes as xlsx

TITLE = [["枣阳市第一中学结对帮扶名单"], []]
HEADER = ["序号", "学籍号", "姓名", "帮扶教师", "教师手机号", "结对日期", "补录原因", "确认超出结对上限"]


def xls(rows: list[list[Any]]) -> bytes:
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value, date_style if isinstance(value, dt.date) else xlwt.Style.default_style)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def read(rows: list[list[Any]], build: Any = xlsx, header: list[str] = HEADER) -> Roster:
    return read_pairing_roster(open_bytes(build([*TITLE, header, *rows])))


def errors_of(roster: Roster) -> list[tuple[int, str, str]]:
    return [(e.row_number, e.column, e.message) for e in roster.errors]


def row_of(student: Student, teacher: Teacher, on: Any = 20261110, **cells: Any) -> list[Any]:
    return [
        1,
        student.student_number,
        cells.get("name", student.name),
        cells.get("teacher_name", teacher.name),
        teacher.phone,
        on,
        cells.get("reason"),
        cells.get("confirm"),
    ]


def commit_all(roster: Roster, by: Any) -> list[str]:
    with transaction.atomic():
        return [commit_pairing_row(row, by=by) for row in roster.rows]


@pytest.fixture
def teacher(world: World) -> Teacher:
    return f.TeacherFactory(school=world.school_a)


def unpaired(world: World, count: int) -> list[Student]:
    return [f.StudentFactory(school=world.school_a) for _ in range(count)]


@pytest.mark.parametrize("build", [xlsx, xls], ids=["xlsx", "xls"])
def test_a_pairing_roster_is_read_with_dates_as_schools_write_them(world: World, build: Any) -> None:
    number = make_id_number(901)  # the G dropped, as other systems export it
    roster = read(
        [
            [1, number, "张 三", "李老师", "１３９００００１１１１", 20261014, None, "是"],
            [2, "G" + make_id_number(902), "李四", None, "13900001111", 46309, None, None],
            [3, "G" + make_id_number(903), "王五", None, "13900001111", "2026-09-02", "", "否"],
            [4, "G" + make_id_number(904), "赵六", None, "13900001111", dt.date(2026, 8, 30), "暑期已结对", None],
            [5, "G" + make_id_number(905), "钱七", None, "13900001111", None, None, None],
        ],
        build,
    )
    assert errors_of(roster) == []
    first, second, third, fourth, fifth = (row.values for row in roster.rows)
    assert first["student_number"] == "G" + number
    assert first["student_name"] == "张三"
    assert first["teacher_phone"] == "13900001111"
    assert first["started_on"] == dt.date(2026, 10, 14)
    assert first["confirmed_over_limit"] is True
    assert second["started_on"] == dt.date(2026, 10, 14)  # the Excel serial
    assert third["started_on"] == dt.date(2026, 9, 2)
    assert third["confirmed_over_limit"] is False
    assert fourth["started_on"] == dt.date(2026, 8, 30)
    assert fourth["backdated_reason"] == "暑期已结对"
    assert fifth["started_on"] is None  # blank: the day of the import (started_on_of)


def test_every_bad_pairing_row_is_named_with_its_row_column_and_a_chinese_message(world: World) -> None:
    ok = "G" + make_id_number(906)
    roster = read(
        [
            [1, "", "张三", None, "13900001111", 20261014, None, None],
            [2, "G12345", "李四", None, "13900001111", 20261014, None, None],
            [3, ok, "王五", None, "13900001111", "十月", None, None],
            [4, "G" + make_id_number(907), "赵六", None, "13900001111", 20261117, None, None],  # tomorrow
            [5, "G" + make_id_number(908), "", None, None, None, None, "大概"],
            [6, ok, "王五", None, "13900001111", None, "长" * 201, None],
        ]
    )
    assert errors_of(roster) == [
        (4, "全国学籍号", "必填,不能为空。"),
        (5, "全国学籍号", "学籍号应为19位,当前为6位。"),
        (6, "结对日期", "“十月”不是有效日期。请写成20261014或2026-10-14。"),
        (7, "结对日期", "结对日期不能晚于今天。"),
        (8, "确认超出结对上限", "只能填“是”或“否”,不能填“大概”。"),
        (8, "学生姓名", "必填,不能为空。"),
        (8, "教师手机号", "请填写教师手机号或教师登录账号。"),
        (9, "补录原因", "补录原因不能超过200字。"),
        (9, "全国学籍号", "与第6行重复。"),
    ]


def test_a_roster_naming_no_teacher_column_is_refused_on_the_header_row() -> None:
    roster = read([], header=["学籍号", "姓名", "结对日期"])
    assert errors_of(roster) == [(3, "教师手机号", "缺少这一列(或“教师登录账号”列)。")]


def test_the_template_columns_and_notes_go_together() -> None:
    labels = [
        "全国学籍号",
        "学生姓名",
        "教师手机号",
        "教师登录账号",
        "教师姓名",
        "结对日期",
        "补录原因",
        "确认超出结对上限",
    ]
    assert [c.label for c in PAIRING_COLUMNS] == labels
    assert set(template_notes) == {c.key for c in PAIRING_COLUMNS}


def test_database_problems_are_named_at_their_row_and_column(world: World, teacher: Teacher) -> None:
    a1_teacher = Teacher.objects.get(user=world.teacher_a1)
    free, free2, free3, gone, other = unpaired(world, 5)
    Student.objects.filter(pk=gone.pk).update(enrollment_status=EnrollmentStatus.DROPPED_OUT)
    roster = read(
        [
            [1, "G" + make_id_number(909), "无此人", None, teacher.phone, None, None, None],
            row_of(world.student_b1, teacher),  # another school's student: outside officer_a's scope
            row_of(free, teacher, name="别人"),
            [4, free2.student_number, free2.name, None, "13911112222", None, None, None],
            row_of(gone, teacher),
            row_of(world.student_a2, teacher),  # paired with teacher_a2
            row_of(world.student_a1, a1_teacher, on=20261001),  # the same pairing, another date
            row_of(other, teacher, on=20260820),  # before the term, no reason
            row_of(free3, teacher, teacher_name="别的老师"),
        ]
    )
    check_pairing_roster(roster, by=world.officer_a)
    scope = "系统中没有这个学籍号的学生,或该学生不在您的管理范围内。"
    assert errors_of(roster) == [
        (4, "全国学籍号", scope),
        (5, "全国学籍号", scope),
        (6, "学生姓名", f"与学籍号不符:系统中这个学籍号的学生是“{free.name}”。请核对。"),
        (7, "教师手机号", "系统中没有手机号为“13911112222”的教职工,或不在您的管理范围内。"),
        (8, "全国学籍号", "该学生学籍状态为“辍学”,不在校,不能新建结对。"),
        (
            9,
            "全国学籍号",
            "该学生已有进行中的结对(另一位帮扶教师)。导入不更换帮扶教师,请在结对页面结束原结对或更换帮扶教师。",
        ),
        (10, "结对日期", "该结对已于2026-09-01开始,与表中日期不同。导入不修改已有结对的日期。"),
        (11, "补录原因", "结对日期早于本学期开学日期。如确是补录以前的结对,请填写补录原因。"),
        (12, "教师姓名", f"与系统中不符:这位教职工是“{teacher.name}”。请核对。"),
    ]


def test_a_teacher_of_another_school_is_named_at_the_teacher_column(world: World) -> None:
    other = f.TeacherFactory(school=world.school_b)
    (student,) = unpaired(world, 1)
    roster = read([row_of(student, other)])
    check_pairing_roster(roster, by=world.county)
    assert errors_of(roster) == [(4, "教师手机号", "帮扶教师必须与学生在同一所学校。")]


def test_a_teacher_named_by_login_is_found(world: World, teacher: Teacher) -> None:
    (student,) = unpaired(world, 1)
    header = ["学籍号", "姓名", "教师登录账号"]
    roster = read([[student.student_number, student.name, teacher.user.username.upper()]], header=header)
    check_pairing_roster(roster, by=world.officer_a)
    assert errors_of(roster) == []
    assert roster.rows[0].values["teacher_id"] == teacher.pk


def test_above_the_load_limit_a_row_needs_the_confirmation(world: World, teacher: Teacher, settings: Any) -> None:
    settings.PAIRING_TEACHER_LOAD_LIMIT = 2
    students = unpaired(world, 4)
    f.PairingFactory(teacher=teacher, student=students[0])
    roster = read(
        [row_of(students[1], teacher), row_of(students[2], teacher), row_of(students[3], teacher, confirm="是")]
    )
    check_pairing_roster(roster, by=world.officer_a)
    warning = "该教师已结对2名学生,再结对将超过每人2名的要求,确认仍要结对吗?如确认,请在本列填“是”。"
    assert errors_of(roster) == [(5, "确认超出结对上限", warning)]  # one active + the row above = 2


@pytest.mark.parametrize("count", [10, 100])
def test_the_database_checks_ask_a_constant_number_of_queries(
    world: World, teacher: Teacher, count: int, django_assert_num_queries: Any, settings: Any
) -> None:
    settings.PAIRING_TEACHER_LOAD_LIMIT = 1000
    roster = read([row_of(s, teacher) for s in unpaired(world, count)])
    # 1 the current term; 2 the students, 3 the teachers, 4 the students' pairings, 5 their
    # arrivals at the school; 6 the teachers' active pairings (the load).
    with django_assert_num_queries(6):
        check_pairing_roster(roster, by=world.officer_a)
    assert roster.errors == []


def test_the_commit_pairs_and_a_re_import_writes_nothing(world: World, settings: Any) -> None:
    settings.PAIRING_TEACHER_LOAD_LIMIT = 5
    teacher = f.TeacherFactory(school=world.school_a)
    students = unpaired(world, 3)
    data = xlsx([*TITLE, HEADER, *(row_of(s, teacher) for s in students[:2]), row_of(students[2], teacher, on=None)])
    first = read_pairing_roster(open_bytes(data))
    check_pairing_roster(first, by=world.officer_a)
    assert first.errors == []
    assert commit_all(first, world.officer_a) == ["created"] * 3
    pairings = Pairing.objects.filter(teacher=teacher).order_by("pk")
    assert [(p.student, p.started_on) for p in pairings] == [
        (students[0], dt.date(2026, 11, 10)),
        (students[1], dt.date(2026, 11, 10)),
        (students[2], dt.date(2026, 11, 16)),  # blank: the day of the import
    ]
    again = read_pairing_roster(open_bytes(data))
    check_pairing_roster(again, by=world.officer_a)
    assert again.errors == []
    with CaptureQueriesContext(connection) as queries:
        assert commit_all(again, world.officer_a) == ["unchanged"] * 3
    assert [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}] == []
    # The savepoint and its release; then per row the student with their active pairing, the teacher.
    assert len(queries) == 2 + 2 * 3


def test_a_backdated_pairing_keeps_its_reason(world: World, teacher: Teacher) -> None:
    (student,) = unpaired(world, 1)
    roster = read([row_of(student, teacher, on=20260825, reason="暑期家访时已结对")])
    check_pairing_roster(roster, by=world.officer_a)
    assert commit_all(roster, world.officer_a) == ["created"]
    assert Pairing.objects.get(student=student).backdated_reason == "暑期家访时已结对"


def test_a_service_error_lands_at_the_rows_column(world: World, teacher: Teacher) -> None:
    (student,) = unpaired(world, 1)
    roster = read([row_of(student, teacher)])
    check_pairing_roster(roster, by=world.officer_a)
    assert roster.errors == []
    f.PairingFactory(student=student, teacher=f.TeacherFactory(school=world.school_a))  # a colleague was faster
    with pytest.raises(ValidationError) as caught:
        commit_pairing_row(roster.rows[0], by=world.officer_a)
    assert caught.value.message_dict == {"student_number": ["该学生已有进行中的结对,请先结束原结对或更换帮扶教师。"]}
    add_errors(roster.rows[0], caught.value)
    assert [(e.row_number, e.column) for e in roster.errors] == [(4, "全国学籍号")]


def test_the_service_asks_for_the_confirmation_at_its_column(world: World, teacher: Teacher) -> None:
    first, second = unpaired(world, 2)
    roster = read([row_of(first, teacher), row_of(second, teacher)])
    check_pairing_roster(roster, by=world.officer_a)
    roster.rows[1].errors.clear()  # as if the preview had been skipped: the service still refuses
    with pytest.raises(ValidationError) as caught:
        commit_all(roster, world.officer_a)
    assert list(caught.value.message_dict) == ["confirmed_over_limit"]
    assert not Pairing.objects.filter(teacher=teacher).exists()  # the first row rolled back too
