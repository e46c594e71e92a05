"""The student roster's commit (casefiles/imports/commit.py): through the pairing services, all or
nothing; the preview is the same run rolled back; blanks never overwrite; re-import changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from casefiles.imports.commit import ImportResult, student_roster_commit
from casefiles.imports.rows import Roster, read_student_roster
from casefiles.tests.roster_files import student_row, xls, xlsx
from pairing.models import Guardian, Household, Student
from pairing.tests import factories as f
from pairing.tests.factories import make_id_number
from zaoyang_aid.models import AuditEvent
from zaoyang_aid.spreadsheets import open_bytes

pytestmark = pytest.mark.django_db
SCHOOL = "枣阳市第一中学"
TOWN = "北城街道"


@pytest.fixture
def school() -> Any:
    return f.SchoolFactory(name=SCHOOL, town=f.TownFactory())


@pytest.fixture
def county() -> Any:
    return f.CountyUserFactory()


def roster(rows: list[dict[str, Any]], build: Any = xlsx) -> Roster:
    return read_student_roster(open_bytes(build(rows)))


def run(rows: list[dict[str, Any]], user: Any, **options: Any) -> ImportResult:
    return student_roster_commit(roster(rows), user=user, **options)


def errors(result: ImportResult) -> list[tuple[int, str, str]]:
    return [(e.row_number, e.column, e.message) for e in result.errors]


@pytest.mark.parametrize("build", [xlsx, xls], ids=["xlsx", "xls"])
def test_a_clean_roster_creates_students_households_and_guardians(school: Any, county: Any, build: Any) -> None:
    rows = [student_row(1, school=SCHOOL, town=TOWN), student_row(2, school=SCHOOL, town=TOWN, class_name=5)]
    result = student_roster_commit(roster(rows, build), user=county)
    assert errors(result) == []
    assert (result.created, result.updated, result.unchanged, result.skipped, result.committed) == (2, 0, 0, 0, True)
    student = Student.objects.get(id_number=rows[1]["id_number"])
    assert (student.school, student.grade, student.class_name, student.hukou_type) == (school, 1, "5班", "rural")
    assert student.birth_date == dt.date(2012, 3, 4)  # 8-digit date
    assert (student.household.town.name, student.household.village) == (TOWN, "沙店村")
    assert list(student.guardians.values_list("name", "relation", "phone")) == [("家长2", "父亲", "13912345678")]


def test_an_excel_serial_date_is_read(school: Any, county: Any) -> None:
    result = run([student_row(1, school=SCHOOL, town=TOWN, birth_date=40972)], county)  # 2012-03-04
    assert result.created == 1
    assert Student.objects.get().birth_date == dt.date(2012, 3, 4)


def test_the_preview_writes_nothing_and_counts_what_the_commit_would_do(school: Any, county: Any) -> None:
    rows = [student_row(1, school=SCHOOL, town=TOWN)]
    result = run(rows, county, dry_run=True)
    assert (result.created, result.committed) == (1, False)
    assert not Student.objects.exists() and not Household.objects.exists()


def test_reimporting_the_same_file_changes_nothing(school: Any, county: Any) -> None:
    rows = [student_row(n, school=SCHOOL, town=TOWN) for n in range(1, 4)]
    assert run(rows, county).created == 3
    stamps = dict(Student.objects.values_list("pk", "updated_at"))
    audit_lines = AuditEvent.objects.count()
    again = run(rows, county)
    assert (again.created, again.updated, again.unchanged, again.committed) == (0, 0, 3, True)
    assert dict(Student.objects.values_list("pk", "updated_at")) == stamps
    assert AuditEvent.objects.count() == audit_lines  # no save at all, so no audit line


def test_a_changed_cell_updates_the_student_and_blank_cells_keep_what_is_stored(school: Any, county: Any) -> None:
    rows = [student_row(1, school=SCHOOL, town=TOWN)]
    run(rows, county)
    changed = student_row(
        1, school=SCHOOL, town=TOWN, class_name="6班", hukou_type=None, village=None, guardian_phone=None
    )
    changed["guardian_relation"] = None
    result = run([changed], county)
    assert (result.updated, result.committed) == (1, True), errors(result)
    student = Student.objects.get()
    assert (student.class_name, student.hukou_type, student.household.village) == ("6班", "rural", "沙店村")
    assert list(student.guardians.values_list("relation", "phone")) == [("父亲", "13912345678")]


def test_a_new_guardian_is_added_beside_the_stored_ones(school: Any, county: Any) -> None:
    run([student_row(1, school=SCHOOL, town=TOWN)], county)
    result = run([student_row(1, school=SCHOOL, town=TOWN, guardian_name="外婆", guardian_relation="外祖母")], county)
    assert result.updated == 1
    assert list(Guardian.objects.order_by("pk").values_list("name", flat=True)) == ["家长1", "外婆"]


def test_blank_flags_stay_unknown_and_are_only_counted(school: Any, county: Any) -> None:
    rows = [
        student_row(1, school=SCHOOL, town=TOWN, lifted_household="是"),
        student_row(2, school=SCHOOL, town=TOWN, lifted_household="否"),
        student_row(3, school=SCHOOL, town=TOWN),
    ]
    result = run(rows, county)
    assert result.flags["lifted_household"] == {"是": 1, "否": 1, "未填": 1}


@pytest.mark.parametrize(
    ("values", "column", "message"),
    [
        ({"id_number": "420683201203040011"}, "身份证件号", "校验位"),
        ({"school": "不存在的学校"}, "学校名称", "不存在"),
        ({"name": None}, "姓名", "必填"),
        ({"birth_date": "2012-13-40"}, "出生日期", "不是有效日期"),
        ({"birth_date": 20120305}, "出生日期", "与身份证件号不一致"),
        ({"town": "火星镇"}, "乡镇(街道)", "没有名为"),
        # What only the services refuse: the new student's town, village, 户口性质 and guardian.
        ({"town": None}, "乡镇(街道)", ""),
        ({"village": None}, "村(社区)", ""),
        ({"hukou_type": None}, "户口性质", ""),
        ({"guardian_name": None, "guardian_relation": None, "guardian_phone": None}, "监护人姓名", "监护人"),
        ({"guardian_relation": None}, "监护人关系", ""),
    ],
)
def test_each_bad_row_is_named_and_nothing_is_written(
    school: Any, county: Any, values: dict[str, Any], column: str, message: str
) -> None:
    rows = [student_row(1, school=SCHOOL, town=TOWN), student_row(2, **{"school": SCHOOL, "town": TOWN, **values})]
    for dry_run in (True, False):
        result = run(rows, county, dry_run=dry_run)
        found = [(row, col) for row, col, text in errors(result) if message in text]
        assert (4, column) in found, errors(result)  # title 1, header 2: the second student is row 4
        assert (result.created, result.skipped, result.committed) == (1, 1, False)
    assert not Student.objects.exists() and not Household.objects.exists()


def test_a_duplicate_student_number_in_the_file_and_in_the_database(school: Any, county: Any) -> None:
    other = f.StudentFactory(school=school, id_number=make_id_number(900))
    rows = [
        student_row(1, school=SCHOOL, town=TOWN),
        student_row(2, school=SCHOOL, town=TOWN, student_number="G" + make_id_number(1)),
        student_row(3, school=SCHOOL, town=TOWN, student_number=other.student_number),
    ]
    result = run(rows, county)
    assert not result.committed
    texts = errors(result)
    assert any(r == 4 and c == "全国学籍号" and "与第3行重复" in m for r, c, m in texts)
    assert any(r == 5 and c == "全国学籍号" and "已有这个学籍号" in m for r, c, m in texts)
    assert Student.objects.count() == 1


def test_skip_bad_rows_commits_the_clean_ones_only(school: Any, county: Any) -> None:
    rows = [student_row(1, school=SCHOOL, town=TOWN), student_row(2, school=SCHOOL, town=TOWN, village=None)]
    result = run(rows, county, skip_bad_rows=True)
    assert (result.created, result.skipped, result.committed) == (1, 1, True)
    assert list(Student.objects.values_list("id_number", flat=True)) == [rows[0]["id_number"]]


def test_an_officer_cannot_import_into_another_school(school: Any) -> None:
    officer = f.OfficerFactory(school=f.SchoolFactory(name="枣阳市第二中学"))
    result = run([student_row(1, school=SCHOOL, town=TOWN)], officer.user)
    assert errors(result) == [(3, "学校名称", f"学校“{SCHOOL}”不存在,或不在您的管理范围内。")]
    assert not Student.objects.exists()


def test_a_stored_student_of_another_school_is_not_moved_by_a_roster(school: Any, county: Any) -> None:
    elsewhere = f.StudentFactory(school=f.SchoolFactory(name="枣阳市第三中学"), id_number=make_id_number(1))
    result = run([student_row(1, school=SCHOOL, town=TOWN)], county)
    assert [(r, c) for r, c, _ in errors(result)] == [(3, "学校名称")]
    elsewhere.refresh_from_db()
    assert elsewhere.school.name == "枣阳市第三中学"


def test_commit_queries_do_not_grow_with_unchanged_rows(
    school: Any, county: Any, django_assert_max_num_queries: Any
) -> None:
    rows = [student_row(n, school=SCHOOL, town=TOWN) for n in range(1, 31)]
    run(rows, county)
    parsed = roster(rows)
    # schools, students by number, towns; stored students + guardians + members, schools; savepoints.
    with django_assert_max_num_queries(12):
        assert student_roster_commit(parsed, user=county).unchanged == 30
