"""A student roster as schools send it: title rows, headers in any order and spelling, full-width
digits, 学籍号 without their G, 8-digit and serial dates, blanks; every bad row named with its Excel
row number, column and a Chinese message. Reading writes nothing."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
import xlwt

from casefiles.imports.checks import (
    check_active_pairings,
    check_schools,
    check_students_in_database,
    parse_grade,
)
from casefiles.imports.columns import STUDENT_COLUMNS, match_column
from casefiles.imports.headers import RowError
from casefiles.imports.rows import Roster, RosterRow, read_student_roster
from pairing.models import Pairing, School, Stage, Student
from pairing.tests import factories as f
from pairing.tests.factories import make_id_number
from zaoyang_aid.spreadsheets import open_bytes

ID1 = make_id_number(401, dt.date(2012, 3, 4))  # 2012-03-04, male
ID2 = make_id_number(402, dt.date(2011, 7, 9), male=False)
ID3 = make_id_number(403, dt.date(2013, 1, 20))
PHONE = "13800001111"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

TITLE_ROWS = [
    ["枣阳市2026年秋季学期家庭经济困难学生名单"],
    ["填报单位:枣阳市第一中学", None, None, "填报日期:20261014"],
    [],
]
# Shuffled, in the national system's spellings and others', with notes in brackets.
HEADER = ["序号", "全国学籍号", "学生姓名", "身份证件号(必填)", "性别", "出生日期", "学校名称", "年级", "班级"]
HEADER += ["是否脱贫家庭学生", "是否最低生活保障家庭", "监护人姓名", "监护人身份证号", "监护人联系电话"]


def roster_rows(school: str) -> list[list[Any]]:
    return [
        # G dropped, full-width ID, 8-digit date as a number, 是/blank flags.
        [
            1,
            ID1,
            "张小明",
            ID1.translate(FULL_WIDTH),
            "男",
            20120304,
            school,
            "七年级",
            3,
            "是",
            None,
            "张大明",
            ID2,
            PHONE,
        ],
        # G kept, a real date cell, 初二 for 八年级, 否 and 否.
        [2, "G" + ID2, "李小红", ID2, "女", dt.date(2011, 7, 9), school, "初二", "1班", "否", "否", "李大红", "", ""],
        # Text 8-digit date, gender and birth date blank (taken from the ID), grade as a number.
        [3, "g" + ID3, " 王  小刚 ", ID3, None, "20130120", school, 9, "2", None, "是", None, None, None],
    ]


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    sheet.merge_cells("A1:H1")  # the title, as offices lay it out (the test files all start with one)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xls(rows: list[list[Any]]) -> bytes:
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("Sheet1")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                style = (
                    xlwt.easyxf(num_format_str="YYYY-MM-DD") if isinstance(value, dt.date) else xlwt.Style.default_style
                )
                sheet.write(r, c, value, style)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def read(data: bytes) -> Roster:
    return read_student_roster(open_bytes(data))


def errors_of(roster: Roster) -> list[tuple[int, str, str]]:
    return [(e.row_number, e.column, e.message) for e in roster.errors]


@pytest.mark.parametrize("build", [xlsx, xls], ids=["xlsx", "xls"])
def test_a_roster_under_title_rows_is_read_and_normalised(build: Any) -> None:
    roster = read(build([*TITLE_ROWS, HEADER, *roster_rows("枣阳市第一中学")]))
    assert roster.header.row_number == 4
    assert "序号" in roster.header.ignored
    assert "监护人身份证号" in roster.header.ignored  # not mistaken for the student's 身份证件号
    assert roster.errors == []
    first, second, third = (row.values for row in roster.rows)
    assert [row.row_number for row in roster.rows] == [5, 6, 7]
    assert first["id_number"] == ID1  # full-width digits made plain
    assert first["student_number"] == "G" + ID1  # the G put back
    assert first["birth_date"] == dt.date(2012, 3, 4)  # 20120304
    assert first["class_name"] == "3班"
    assert first["lifted_household"] is True
    assert first["subsistence"] is None  # blank: not known, never 否
    assert first["guardian_phone"] == "13800001111"
    assert second["birth_date"] == dt.date(2011, 7, 9)
    assert second["lifted_household"] is False
    assert third["name"] == "王小刚"  # the spaces that line names up are gone
    assert third["student_number"] == "G" + ID3  # lower-case g
    assert third["birth_date"] == dt.date(2013, 1, 20)
    assert third["gender"] == "M"  # blank, taken from the ID number
    assert third["lifted_household"] is None


def test_an_excel_serial_date_is_understood() -> None:
    rows = roster_rows("枣阳市第一中学")
    rows[1][5] = 40733  # 2011-07-09 as a plain number, as a sheet without date formatting shows it
    roster = read(xlsx([*TITLE_ROWS, HEADER, *rows]))
    assert roster.errors == []
    assert roster.rows[1].values["birth_date"] == dt.date(2011, 7, 9)


def test_every_bad_row_is_named_with_its_row_column_and_a_chinese_message() -> None:
    rows = roster_rows("枣阳市第一中学")
    bad_checksum = ID1[:-1] + ("0" if ID1[-1] != "0" else "1")
    rows[0][3], rows[0][1] = bad_checksum, None
    rows[1][5] = "2011-07-10"  # not the ID's birth date
    rows[2][5] = "明年春天"  # not a date
    rows[2][2] = None  # a required name missing
    rows[2][10] = "可能"  # a flag that is neither 是 nor 否
    rows.append([4, "G" + ID2, "李小红", ID2, "女", 20110709, "枣阳市第一中学", "八年级", "1班"])
    roster = read(xlsx([*TITLE_ROWS, HEADER, *rows]))
    assert errors_of(roster) == [
        (5, "全国学籍号", "必填,不能为空。"),
        (5, "身份证件号", "身份证号校验位不正确,请核对是否输错。"),
        (6, "出生日期", "与身份证件号不一致(身份证件号为2011年07月09日)。"),
        (7, "出生日期", "“明年春天”不是有效日期。请写成20261014或2026-10-14。"),
        (7, "是否最低生活保障家庭", "只能填“是”或“否”(不清楚请留空),不能填“可能”。"),
        (7, "姓名", "必填,不能为空。"),
        (8, "全国学籍号", "与第6行重复。"),
        (8, "身份证件号", "与第6行重复。"),
    ]
    assert [row.row_number for row in roster.clean_rows] == []
    assert str(roster.errors[0]) == "第5行“全国学籍号”:必填,不能为空。"


def test_a_gender_that_contradicts_the_id_number_is_an_error() -> None:
    rows = roster_rows("枣阳市第一中学")
    rows[0][4] = "女"
    roster = read(xlsx([*TITLE_ROWS, HEADER, *rows]))
    assert errors_of(roster) == [(5, "性别", "与身份证件号不一致(身份证件号为男性)。")]


def test_a_g_number_of_another_id_is_an_error() -> None:
    rows = roster_rows("枣阳市第一中学")
    rows[0][1] = "G" + ID3
    roster = read(xlsx([*TITLE_ROWS, HEADER, *rows]))
    assert (5, "全国学籍号", "G字头学籍号应为G加上本人身份证件号,与所填身份证件号不一致。") in errors_of(roster)


def test_a_missing_required_column_is_reported_once_on_the_header_row() -> None:
    header = [h if h != "年级" else "备注" for h in HEADER]
    roster = read(xlsx([*TITLE_ROWS, header, *roster_rows("枣阳市第一中学")]))
    assert errors_of(roster) == [(4, "年级", "缺少这一列。")]


def test_a_file_without_a_header_says_what_headers_it_needs() -> None:
    roster = read(xlsx([["名单"], ["张三", "李四"], [1, 2]]))
    assert roster.rows == []
    assert len(roster.errors) == 1
    assert "没有找到表头" in roster.errors[0].message
    assert "身份证件号" in roster.errors[0].message


def test_a_column_named_twice_is_an_error() -> None:
    roster = read(xlsx([*TITLE_ROWS, [*HEADER, "身份证号"], *roster_rows("枣阳市第一中学")]))
    assert (4, "身份证号", "与第4列重复,都表示“身份证件号”。请删去其中一列。") in errors_of(roster)


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("姓名", "name"),
        ("* 姓名", "name"),
        ("身份证件号码(必填)", "id_number"),
        ("学生身份证号", "id_number"),
        ("全国学籍号", "student_number"),
        ("出生日期\n(格式:20261014)", "birth_date"),
        ("监护人姓名", "guardian_name"),
        ("监护人身份证号", None),
        ("父亲姓名", None),
        ("是否脱贫家庭学生(是/否)", "lifted_household"),
        ("", None),
    ],
)
def test_headers_are_found_by_keyword(header: str, key: str | None) -> None:
    column = match_column(header, STUDENT_COLUMNS)
    assert (column.key if column else None) == key


@pytest.mark.parametrize(
    ("text", "stage", "grade"),
    [
        ("七年级", Stage.JUNIOR, 1),
        ("初三", Stage.JUNIOR, 3),
        ("9", Stage.JUNIOR, 3),
        ("1", Stage.JUNIOR, 1),
        ("三年级", Stage.PRIMARY, 3),
        ("6", Stage.PRIMARY, 6),
        ("高二", Stage.SENIOR, 2),
        ("七年级", Stage.PRIMARY, None),
        ("四年级", Stage.JUNIOR, None),
    ],
)
def test_grades_as_schools_write_them(text: str, stage: str, grade: int | None) -> None:
    assert parse_grade(text, stage) == grade


# --- The checks that read the database ------------------------------------------------------------------


def _rows(*values: dict[str, Any]) -> list[RosterRow]:
    return [RosterRow(row_number=5 + n, values=dict(v)) for n, v in enumerate(values)]


@pytest.mark.django_db
def test_schools_resolve_within_the_importers_scope_in_one_query(django_assert_num_queries: Any) -> None:
    mine = f.SchoolFactory(name="枣阳市第一中学", stage=Stage.JUNIOR)
    other = f.SchoolFactory(name="枣阳市吴店镇中学")
    rows = _rows(
        {"school": "枣阳市第一中学", "grade": "初二"},
        {"school_code": mine.code, "grade": "七年级"},
        {"school": other.name, "grade": "七年级"},  # exists, but not for this officer: unknown
        {"school": "枣阳市不存在中学", "grade": "七年级"},
        {"school": "枣阳市第一中学", "grade": "五年级"},
        {"school": "枣阳市吴店镇中学", "school_code": mine.code, "grade": "七年级"},
    )
    with django_assert_num_queries(1):  # the schools named, by name or code, within the scope
        check_schools(rows, schools=School.objects.filter(pk=mine.pk))
    assert rows[0].values["school_id"] == mine.pk
    assert rows[0].values["grade"] == 2
    assert rows[1].errors == []
    assert rows[1].values["grade"] == 1
    assert [str(e) for e in rows[2].errors] == ["第7行“学校名称”:学校“枣阳市吴店镇中学”不存在,或不在您的管理范围内。"]
    assert [e.message for e in rows[3].errors] == ["学校“枣阳市不存在中学”不存在,或不在您的管理范围内。"]
    assert [e.message for e in rows[4].errors] == ["初中没有“五年级”这个年级。"]
    assert [e.message for e in rows[5].errors] == [f"学校名称与学校标识码不一致(标识码{mine.code}是枣阳市第一中学)。"]


@pytest.mark.django_db
def test_a_student_number_or_id_held_by_another_student_is_an_error(django_assert_num_queries: Any) -> None:
    known = f.StudentFactory()
    rows = _rows(
        {"student_number": known.student_number, "id_number": known.id_number},  # the same student: re-import
        {"student_number": known.student_number, "id_number": ID1},
        {"student_number": "G" + ID2, "id_number": known.id_number},
        {"student_number": "G" + ID3, "id_number": ID3},  # new
    )
    with django_assert_num_queries(1):  # students holding any of the file's 学籍号 or 身份证件号
        check_students_in_database(rows)
    assert [[e.message for e in r.errors] for r in rows] == [
        [],
        ["系统中已有这个学籍号的学生,但身份证件号不同。请核对。"],
        ["系统中已有这个身份证件号的学生,但学籍号不同。请核对。"],
        [],
    ]


@pytest.mark.django_db
def test_a_second_active_pairing_is_an_error_but_the_same_one_again_is_not(django_assert_num_queries: Any) -> None:
    pairing = f.PairingFactory()
    ended = f.PairingFactory()
    Pairing.objects.filter(pk=ended.pk).update(ended_on=ended.started_on, end_reason="other")
    rows = _rows(
        {"student_number": pairing.student.student_number, "teacher_phone": pairing.teacher.phone},
        {"student_number": pairing.student.student_number, "teacher_phone": "13900000000"},
        {"student_number": ended.student.student_number, "teacher_phone": "13900000000"},
    )
    with django_assert_num_queries(1):  # the active pairings of the file's students
        check_active_pairings(rows)
    assert [[e.message for e in r.errors] for r in rows] == [
        [],
        ["该学生已有进行中的结对(另一位帮扶教师),请先结束原结对。"],
        [],
    ]


@pytest.mark.django_db
def test_reading_and_checking_a_roster_writes_nothing(django_assert_num_queries: Any) -> None:
    school = f.SchoolFactory(name="枣阳市第一中学", stage=Stage.JUNIOR)
    before = Student.objects.count()
    roster = read(xlsx([*TITLE_ROWS, HEADER, *roster_rows(school.name)]))
    with django_assert_num_queries(2):  # the schools; the students already known
        check_schools(roster.rows, schools=School.objects.all())
        check_students_in_database(roster.rows)
    assert roster.errors == []
    assert [r.values["grade"] for r in roster.rows] == [1, 2, 3]
    assert Student.objects.count() == before


def test_row_error_reads_as_a_sentence() -> None:
    assert str(RowError(12, "出生日期", "不是有效日期。")) == "第12行“出生日期”:不是有效日期。"
    assert str(RowError(1, "", "没有找到表头。")) == "第1行:没有找到表头。"


def test_open_roster_reads_an_upload_or_refuses_it_in_chinese(tmp_path: Any) -> None:
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from casefiles.imports import open_roster

    data = xlsx([*TITLE_ROWS, HEADER, *roster_rows("枣阳市第一中学")])
    roster = open_roster(SimpleUploadedFile("名单.xlsx", data), max_bytes=1024 * 1024)
    assert [r.values["name"] for r in roster.rows] == ["张小明", "李小红", "王小刚"]
    path = tmp_path / "名单.xls"
    path.write_bytes(xls([*TITLE_ROWS, HEADER, *roster_rows("枣阳市第一中学")]))
    assert len(open_roster(path, max_bytes=1024 * 1024).rows) == 3
    with pytest.raises(ValidationError, match="文件过大"):
        open_roster(SimpleUploadedFile("名单.xlsx", data), max_bytes=1000)


@pytest.mark.django_db
def test_the_database_checks_ask_once_per_chunk_of_rows(
    django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casefiles.imports import checks

    monkeypatch.setattr(checks, "CHUNK", 2)
    rows = _rows(*({"student_number": "G" + make_id_number(n), "id_number": make_id_number(n)} for n in range(5)))
    with django_assert_num_queries(3):  # 5 rows in chunks of 2
        check_students_in_database(rows)
    with django_assert_num_queries(3):
        check_active_pairings(rows)


def test_notes_under_the_table_are_no_students() -> None:
    footer = [
        ["合计:3人"],
        [],
        ["填表人:张老师", None, "审核人:李校长", "联系电话:13800001111"],
        ["说明:是/否不清楚的请留空"],
    ]
    roster = read(xlsx([*TITLE_ROWS, HEADER, *roster_rows("枣阳市第一中学"), *footer]))
    assert roster.errors == []
    assert len(roster.rows) == 3
    assert roster.footer_rows == [8, 10, 11]
