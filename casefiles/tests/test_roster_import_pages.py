"""名单导入's pages: upload → preview (every bad row) → commit → result; refused files stored never;
only the uploader sees an upload; the template; the nightly cleanup."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from casefiles.import_services import roster_imports_delete_old
from casefiles.models import RosterImport
from casefiles.tests.roster_files import student_row, xls, xlsx
from pairing.models import Student
from pairing.tests import factories as f
from zaoyang_aid.models import AuditEvent
from zaoyang_aid.tests.test_spreadsheets import _billion_laughs_xlsx

pytestmark = pytest.mark.django_db
SCHOOL = "枣阳市第一中学"
TOWN = "北城街道"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def school() -> Any:
    return f.SchoolFactory(name=SCHOOL, town=f.TownFactory())


@pytest.fixture
def officer(school: Any) -> Any:
    return f.OfficerFactory(school=school).user


def upload(client: Any, data: bytes, name: str = "名单.xlsx") -> Any:
    return client.post(reverse("casefiles:import_upload"), {"kind": "students", "file": SimpleUploadedFile(name, data)})


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()]


@pytest.mark.parametrize("build", [xlsx, xls], ids=["xlsx", "xls"])
def test_an_officer_uploads_previews_and_commits_their_schools_roster(
    client: Any, officer: Any, media: Path, build: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(officer)
    response = upload(client, build([student_row(1, school=SCHOOL, town=TOWN)]), name=f"名单.{build.__name__}")
    item = RosterImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("casefiles:import_preview", args=[item.pk])
    assert len(stored_files(media)) == 1
    page = client.get(response["Location"]).content.decode()
    assert "将新增" in page and "确认导入" in page
    assert not Student.objects.exists()  # the preview wrote nothing
    with django_capture_on_commit_callbacks(execute=True):  # the file is deleted once the commit is
        response = client.post(reverse("casefiles:import_commit", args=[item.pk]))
    assert response["Location"] == reverse("casefiles:import_result", args=[item.pk])
    assert Student.objects.count() == 1
    assert stored_files(media) == []  # deleted at the commit
    assert "新增" in client.get(response["Location"]).content.decode()
    lines = AuditEvent.objects.filter(object_type="名单导入").order_by("pk")
    assert [e.action for e in lines] == ["create", "update"]
    assert lines[1].changes["新增"] == [None, 1]


def test_the_preview_lists_every_bad_row_and_refuses_the_commit(client: Any, officer: Any) -> None:
    client.force_login(officer)
    rows = [
        student_row(1, school=SCHOOL, town=TOWN),
        student_row(2, school=SCHOOL, town=TOWN, birth_date="不知道"),
        student_row(3, school="别的学校", town=TOWN),
    ]
    response = upload(client, xlsx(rows))
    page = client.get(response["Location"]).content.decode()
    assert "第4行" in page and "出生日期" in page and "不是有效日期" in page
    assert "第5行" in page and "不在您的管理范围内" in page
    assert "跳过错误行" in page
    item = RosterImport.objects.get()
    response = client.post(reverse("casefiles:import_commit", args=[item.pk]))
    assert response["Location"] == reverse("casefiles:import_preview", args=[item.pk])
    assert not Student.objects.exists()
    client.post(reverse("casefiles:import_commit", args=[item.pk]), {"skip_bad_rows": "on"})
    assert Student.objects.count() == 1
    item.refresh_from_db()
    assert (item.created, item.skipped) == (1, 2)


def _zip_bomb() -> bytes:
    workbook = openpyxl.Workbook()
    out = io.BytesIO()
    workbook.save(out)
    bombed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as src, zipfile.ZipFile(bombed, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            dst.writestr(entry, src.read(entry.filename))
        dst.writestr("xl/media/padding.xml", b"<a>" + b" " * (120 * 1024 * 1024) + b"</a>")
    return bombed.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"name,id\n\xe5\xbc\xa0,1\n", "名单.csv", "不是Excel表格"),
        (None, "大.xlsx", "上限为"),
        (_zip_bomb(), "bomb.xlsx", ""),
        (_billion_laughs_xlsx(), "entities.xlsx", "实体"),
    ],
    ids=["not-excel", "too-large", "zip-bomb", "xml-entities"],
)
def test_a_refused_file_is_said_at_the_field_and_not_stored(
    client: Any, officer: Any, media: Path, settings: Any, data: bytes | None, name: str, message: str
) -> None:
    if data is None:
        settings.ROSTER_IMPORT_MAX_MB = 1
        data = b"PK\x03\x04" + b"\0" * (1024 * 1024 + 10)
    client.force_login(officer)
    response = upload(client, data, name=name)
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert errors and message in errors[0]
    assert not RosterImport.objects.exists() and stored_files(media) == []


def test_another_user_can_neither_see_nor_commit_an_upload(client: Any, officer: Any, school: Any) -> None:
    client.force_login(officer)
    upload(client, xlsx([student_row(1, school=SCHOOL, town=TOWN)]))
    item = RosterImport.objects.get()
    for other in (f.OfficerFactory(school=school).user, f.CountyUserFactory()):
        client.force_login(other)
        assert client.get(reverse("casefiles:import_preview", args=[item.pk])).status_code == 404
        assert client.post(reverse("casefiles:import_commit", args=[item.pk])).status_code == 404
    assert not Student.objects.exists()


def test_a_teacher_may_not_import(client: Any, school: Any) -> None:
    client.force_login(f.TeacherFactory(school=school).user)
    assert client.get(reverse("casefiles:import_upload")).status_code == 403


def test_the_same_file_again_says_it_was_imported_and_changes_nothing(client: Any, officer: Any) -> None:
    client.force_login(officer)
    data = xlsx([student_row(1, school=SCHOOL, town=TOWN)])
    upload(client, data)
    client.post(reverse("casefiles:import_commit", args=[RosterImport.objects.get().pk]))
    response = upload(client, data)
    page = client.get(response["Location"]).content.decode()
    assert "已于" in page and "导入过" in page
    second = RosterImport.objects.order_by("-pk").first()
    assert second is not None
    client.post(reverse("casefiles:import_commit", args=[second.pk]))
    second.refresh_from_db()
    assert (second.created, second.updated, second.unchanged) == (0, 0, 1)


def test_the_template_reads_back_as_an_empty_roster(client: Any, officer: Any) -> None:
    client.force_login(officer)
    response = client.get(reverse("casefiles:import_template") + "?kind=students")
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet["A3"].value == "姓名" and sheet.data_validations.dataValidation
    response = upload(client, data)
    item = RosterImport.objects.get()
    assert item.preview["counts"] == {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    assert item.preview["errors"] == []
    assert client.get(reverse("casefiles:import_template") + "?kind=nothing").status_code == 404


def test_the_preview_page_queries_do_not_grow_with_bad_rows(client: Any, officer: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(officer)
    counts = []
    for size in (2, 60):
        rows = [student_row(n, school=SCHOOL, town=TOWN, village=None) for n in range(1, size + 1)]
        upload(client, xlsx(rows))
        item = RosterImport.objects.order_by("-pk").first()
        assert item is not None and len(item.preview["errors"]) == size
        url = reverse("casefiles:import_preview", args=[item.pk])
        client.get(url)
        # session, user, the upload, an earlier commit of the same file, the navbar's and messages' own.
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 10


def test_uploads_not_committed_are_deleted_after_the_keep_time(client: Any, officer: Any, media: Path) -> None:
    client.force_login(officer)
    upload(client, xlsx([student_row(1, school=SCHOOL, town=TOWN)]))
    assert roster_imports_delete_old(now=timezone.now()) == 0
    assert roster_imports_delete_old(now=timezone.now() + dt.timedelta(hours=25)) == 1
    assert not RosterImport.objects.exists() and stored_files(media) == []


def test_a_missing_column_is_said_on_the_header_row_and_offers_no_commit(client: Any, officer: Any) -> None:
    client.force_login(officer)
    data = xlsx([student_row(1, school=SCHOOL, town=TOWN)])
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    assert sheet is not None
    sheet.delete_cols(9)  # 班级
    out = io.BytesIO()
    workbook.save(out)
    page = client.get(upload(client, out.getvalue())["Location"]).content.decode()
    assert "第2行" in page and "班级" in page and "缺少这一列" in page
    assert "整个文件无法导入" in page and "确认导入" not in page


def test_a_second_commit_of_the_same_upload_is_refused(client: Any, officer: Any) -> None:
    client.force_login(officer)
    upload(client, xlsx([student_row(1, school=SCHOOL, town=TOWN)]))
    url = reverse("casefiles:import_commit", args=[RosterImport.objects.get().pk])
    client.post(url)
    response = client.post(url, follow=True)
    assert "该文件已导入或已清理" in response.content.decode()
    assert Student.objects.count() == 1
