"""python manage.py import_roster: each bad row printed, exit 1 and nothing written unless
--skip-bad-rows; --dry-run writes nothing; --template writes the registry's empty template."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casefiles.management.commands.import_roster import Command as ImportRoster
from casefiles.tests.roster_files import student_row, xls, xlsx
from pairing.models import Student
from pairing.tests import factories as f
from zaoyang_aid.models import AuditEvent

pytestmark = pytest.mark.django_db
SCHOOL = "枣阳市第一中学"
TOWN = "北城街道"


@pytest.fixture
def county() -> Any:
    f.SchoolFactory(name=SCHOOL, town=f.TownFactory())
    return f.CountyUserFactory(username="county1")


def write(tmp_path: Path, rows: list[dict[str, Any]], build: Any = xlsx) -> str:
    path = tmp_path / f"名单.{build.__name__}"
    path.write_bytes(build(rows))
    return str(path)


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_roster", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("build", [xlsx, xls], ids=["xlsx", "xls"])
def test_a_clean_roster_is_imported_as_the_county_account(county: Any, tmp_path: Path, build: Any) -> None:
    out = run(write(tmp_path, [student_row(1, school=SCHOOL, town=TOWN)], build))
    assert "已导入学生名单" in out and "新增1" in out
    assert Student.objects.count() == 1
    line = AuditEvent.objects.filter(object_type="学生").get()
    assert line.actor_id == county.pk and "import_roster" in line.path


def test_a_bad_row_is_printed_and_nothing_is_written(county: Any, tmp_path: Path) -> None:
    rows = [student_row(1, school=SCHOOL, town=TOWN), student_row(2, school=SCHOOL, town=TOWN, village=None)]
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_roster", write(tmp_path, rows), stdout=out)
    assert "第4行“村(社区)”" in out.getvalue()
    assert "未写入任何数据" in str(caught.value)
    assert not Student.objects.exists()


def test_a_bad_row_exits_with_status_1_from_the_shell(county: Any, tmp_path: Path) -> None:
    path = write(tmp_path, [student_row(1, school="不存在的学校", town=TOWN)])
    with pytest.raises(SystemExit) as caught:  # run_from_argv: as `python manage.py import_roster` runs it
        ImportRoster().run_from_argv(["manage.py", "import_roster", path, "--dry-run"])
    assert caught.value.code == 1


def test_skip_bad_rows_imports_the_clean_ones(county: Any, tmp_path: Path) -> None:
    rows = [student_row(1, school=SCHOOL, town=TOWN), student_row(2, school=SCHOOL, town=TOWN, village=None)]
    out = run(write(tmp_path, rows), "--skip-bad-rows")
    assert "第4行“村(社区)”" in out and "新增1" in out and "错误行1" in out
    assert Student.objects.count() == 1


def test_dry_run_writes_nothing(county: Any, tmp_path: Path) -> None:
    out = run(write(tmp_path, [student_row(1, school=SCHOOL, town=TOWN)]), "--dry-run")
    assert "检查通过" in out and "新增1" in out
    assert not Student.objects.exists()


def test_an_officer_named_with_as_imports_only_into_their_school(county: Any, tmp_path: Path) -> None:
    officer = f.OfficerFactory(school=f.SchoolFactory(name="枣阳市第二中学"))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_roster",
            write(tmp_path, [student_row(1, school=SCHOOL, town=TOWN)]),
            "--as",
            officer.user.username,
            stdout=out,
        )
    assert "不在您的管理范围内" in out.getvalue()


def test_a_refused_file_is_said(county: Any, tmp_path: Path) -> None:
    path = tmp_path / "名单.xlsx"
    path.write_text("姓名,身份证号\n")
    with pytest.raises(CommandError, match="不是Excel表格"):
        call_command("import_roster", str(path))


def test_the_template_is_written_from_the_registry(tmp_path: Path) -> None:
    target = tmp_path / "模板.xlsx"
    assert "已写出学生名单模板" in run("--template", "students", "-o", str(target))
    sheet = openpyxl.load_workbook(target).active
    assert sheet is not None and sheet["D3"].value == "身份证件号"
    with pytest.raises(CommandError, match="没有这种名单的模板"):
        run("--template", "nothing", "-o", str(target))
