"""部门名单比对's pages: upload as an officer and as county staff, the result with its proposals and
possibly-missed students, one-click decisions and 全部确认, refused files told on the page; the
department's rows are nowhere once the request is done; the result page's queries do not grow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casefiles import crosscheck_services as services
from casefiles.models import CheckProposal, DepartmentCheck, DepartmentList, ProposalDecision
from pairing import services as pairing_services
from pairing.models import HardshipAssessment, HardshipLevel, SpecialCategory
from pairing.tests import factories as f
from zaoyang_aid.masking import mask_id_number
from zaoyang_aid.models import AuditAction, AuditEvent

from .crosscheck_files import HOUSEHOLDER_ID, STRANGER_ID, STRANGER_NAME, dibao_household_list, xlsx_bytes

LIST_URL = reverse("casefiles:crosscheck_list")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_list(
    client: Client, data: bytes, *, name: str = "低保名单.xlsx", kind: str = "dibao", complete: bool = False
) -> Any:
    form = {"kind": kind, "file": SimpleUploadedFile(name, data)}
    if complete:
        form["complete"] = "on"
    return client.post(LIST_URL, form, follow=True)


def test_an_officer_uploads_a_list_and_sees_her_students_on_it(world: Any) -> None:
    alone = f.StudentFactory(school=world.school_a, name="孙无结对")
    data = xlsx_bytes(dibao_household_list(world.student_a1.id_number, alone.id_number, world.student_b1.id_number))
    response = post_list(client_for(world.officer_a), data)
    check = DepartmentCheck.objects.get()
    assert response.redirect_chain[-1][0] == reverse("casefiles:crosscheck_detail", args=[check.pk])
    html = response.content.decode()
    assert "已比对:读取4行,匹配到2名学生。" in html
    assert "张小明" in html and "孙无结对" in html and "可能漏帮扶" in html
    assert mask_id_number(world.student_a1.id_number) in html
    assert world.student_a1.id_number not in html  # masked on the page
    assert "王小刚" not in html and "吴店镇中学" not in html  # another school's student on the list: never told
    assert STRANGER_NAME not in html


def test_county_staff_see_every_schools_students_on_the_list(world: Any) -> None:
    data = xlsx_bytes(dibao_household_list(world.student_a1.id_number, world.student_b1.id_number))
    html = post_list(client_for(world.county), data).content.decode()
    assert "张小明" in html and "王小刚" in html and "全市" in html


@pytest.mark.parametrize("who", ["teacher_a1", "counsellor_a", "admin"])
def test_roles_that_do_not_see_assessments_may_not_open_the_page(world: Any, who: str) -> None:
    assert client_for(getattr(world, who)).get(LIST_URL).status_code == 403


def test_a_check_is_opened_only_in_its_scope(world: Any) -> None:
    mine = services.department_check_create(
        by=world.officer_a,
        kind="dibao",
        complete=False,
        file_name="a.xlsx",
        ids={world.student_a1.id_number},
        rows_read=1,
    )
    county = services.department_check_create(
        by=world.county, kind="dibao", complete=False, file_name="c.xlsx", ids={world.student_a1.id_number}, rows_read=1
    )
    detail = "casefiles:crosscheck_detail"
    assert client_for(world.officer_a).get(reverse(detail, args=[mine.pk])).status_code == 200
    assert client_for(world.officer_b).get(reverse(detail, args=[mine.pk])).status_code == 404
    assert client_for(world.officer_a).get(reverse(detail, args=[county.pk])).status_code == 404
    assert client_for(world.county).get(reverse(detail, args=[mine.pk])).status_code == 200
    proposal = CheckProposal.objects.get(department_check=mine)
    response = client_for(world.officer_b).post(reverse("casefiles:proposal_reject", args=[proposal.pk]))
    assert response.status_code == 404
    assert CheckProposal.objects.get(pk=proposal.pk).decision == ProposalDecision.PENDING


def test_opening_a_result_is_audited(world: Any) -> None:
    check = services.department_check_create(
        by=world.officer_a,
        kind="dibao",
        complete=False,
        file_name="a.xlsx",
        ids={world.student_a1.id_number},
        rows_read=1,
    )
    client_for(world.officer_a).get(reverse("casefiles:crosscheck_detail", args=[check.pk]))
    event = AuditEvent.objects.get(action=AuditAction.VIEW, object_type="部门名单比对")
    assert event.actor_id == world.officer_a.pk


# --- Refused files and bad input, told on the page -----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"name,id\nzhang,1\n", "名单.csv", "文件不是Excel表格"),
        (b"", "名单.xlsx", "文件是空的"),
        (xlsx_bytes([["姓名", "乡镇"], ["张三", "吴店镇"]]), "名单.xlsx", "没有找到身份证号列"),
    ],
)
def test_a_refused_file_is_told_at_the_file_field_and_nothing_is_stored(
    world: Any, data: bytes, name: str, message: str
) -> None:
    response = post_list(client_for(world.officer_a), data, name=name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not DepartmentCheck.objects.exists()


def test_a_file_over_the_limit_is_refused_on_the_page(world: Any, settings: Any) -> None:
    settings.DEPARTMENT_LIST_MAX_BYTES = 1000
    response = post_list(client_for(world.officer_a), xlsx_bytes(dibao_household_list(world.student_a1.id_number)))
    assert "文件过大" in response.content.decode()
    assert not DepartmentCheck.objects.exists()


def test_a_zip_bomb_is_refused_on_the_page(world: Any) -> None:
    import io
    import zipfile

    source = xlsx_bytes(dibao_household_list(world.student_a1.id_number))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("xl/media/padding.xml", b"<a>" + b" " * (9 * 1024 * 1024) + b"</a>")
    response = post_list(client_for(world.officer_a), out.getvalue())
    assert "疑似压缩炸弹,已拒绝" in response.content.decode()
    assert "未能比对" in response.content.decode()
    assert not DepartmentCheck.objects.exists()


def test_no_list_kind_or_an_inactive_category_is_told_at_the_kind_field(world: Any) -> None:
    data = xlsx_bytes(dibao_household_list(world.student_a1.id_number))
    assert "请选择名单类别" in post_list(client_for(world.officer_a), data, kind="").content.decode()
    SpecialCategory.objects.filter(name="特困供养").update(is_active=False)
    html = post_list(client_for(world.officer_a), data, kind=DepartmentList.TEKUN).content.decode()
    assert "特殊群体类别“特困供养”已停用" in html
    assert not DepartmentCheck.objects.exists()


def test_rows_without_a_valid_id_are_named_by_row_number(world: Any) -> None:
    rows = [*dibao_household_list(world.student_a1.id_number), ["错号", "42068320120304000"]]
    rows.insert(5, ["3", "吴店镇", "白土村", "某人", "12345"])
    html = post_list(client_for(world.officer_a), xlsx_bytes(rows)).content.decode()
    assert "第6、9行没有有效的身份证号" in html


# --- Nothing of the department's rows is kept ------------------------------------------------------------


def test_nothing_of_the_departments_rows_is_stored_and_no_file_is_left(
    world: Any, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # the upload is spooled to a temporary file on disk
    (tmp_path / "uploads").mkdir()
    data = xlsx_bytes(dibao_household_list(world.student_a1.id_number))
    post_list(client_for(world.officer_a), data, complete=True)
    assert DepartmentCheck.objects.count() == 1
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the introspection
            text = repr(cursor.fetchall())
            for secret in (STRANGER_ID, STRANGER_NAME, HOUSEHOLDER_ID, "户主甲", "白土村"):
                assert secret not in text, f"{secret} stored in {table}"
    assert list((tmp_path / "uploads").iterdir()) == []
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.xls*"))


# --- Decisions on the page --------------------------------------------------------------------------------


def make_check(world: Any, *students: Any, complete: bool = False) -> DepartmentCheck:
    return services.department_check_create(
        by=world.officer_a,
        kind="dibao",
        complete=complete,
        file_name="低保.xlsx",
        ids={s.id_number for s in students},
        rows_read=len(students),
    )


def test_confirming_without_an_assessment_asks_for_the_level_then_confirms(world: Any) -> None:
    check = make_check(world, world.student_a1)
    proposal = CheckProposal.objects.get()
    client = client_for(world.officer_a)
    page = client.get(reverse("casefiles:crosscheck_detail", args=[check.pk])).content.decode()
    assert "本学期尚无认定" in page and 'name="level"' in page
    url = reverse("casefiles:proposal_confirm", args=[proposal.pk])
    html = client.post(url, {"note": ""}, follow=True).content.decode()
    assert services.LEVEL_NEEDED in html
    assert not HardshipAssessment.objects.exists()
    level = HardshipLevel.objects.for_stage(world.student_a1.school.stage).get(name="困难")
    html = client.post(url, {"level": level.pk, "decided_on": "2026-11-10"}, follow=True).content.decode()
    assert "已确认:张小明增加类别“最低生活保障家庭”" in html
    assessment = HardshipAssessment.objects.get()
    assert (assessment.level, assessment.decided_on) == (level, dt.date(2026, 11, 10))
    assert "已确认" in html and world.officer_a.get_full_name() in html


def test_rejecting_on_the_page_records_the_note(world: Any) -> None:
    make_check(world, world.student_a1)
    proposal = CheckProposal.objects.get()
    client = client_for(world.officer_a)
    html = client.post(
        reverse("casefiles:proposal_reject", args=[proposal.pk]), {"note": "已转学,民政名单未更新"}, follow=True
    ).content.decode()
    assert "已驳回" in html and "已转学,民政名单未更新" in html
    again = client.post(reverse("casefiles:proposal_confirm", args=[proposal.pk]), {}, follow=True).content.decode()
    assert "不能重复处理" in again


def test_confirm_all_on_the_page(world: Any) -> None:
    for student in (world.student_a1, world.student_a2):
        pairing_services.assessment_save(
            student=student,
            term=world.term,
            level=HardshipLevel.objects.for_stage(student.school.stage).get(name="困难"),
            decided_on=dt.date(2026, 9, 10),
        )
    alone = f.StudentFactory(school=world.school_a, name="孙无认定")
    check = make_check(world, world.student_a1, world.student_a2, alone)
    html = (
        client_for(world.officer_a)
        .post(reverse("casefiles:crosscheck_confirm_all", args=[check.pk]), follow=True)
        .content.decode()
    )
    assert "已确认2条建议" in html and "另有1名学生本学期尚无困难认定" in html
    assert CheckProposal.objects.filter(decision=ProposalDecision.PENDING).get().student == alone


# --- Queries -------------------------------------------------------------------------------------------


# The session and the user with their staff row (2, zaoyang_aid/backends.py); the check (1); the proposals counted,
# the levels and one page of proposals with student, school, category, decider and whether a 认定 exists (3); the
# possibly-missed counted and one page of them (2); the audit line (1); the pending count (1); the navbar's unread
# notifications (1). No session save: the warm-up request stamped the session.
DETAIL_QUERIES = 11


def _detail_queries(world: Any, check: DepartmentCheck) -> int:
    client = client_for(world.officer_a)
    client.get(reverse("casefiles:crosscheck_detail", args=[check.pk]))  # warm the session and caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("casefiles:crosscheck_detail", args=[check.pk])).status_code == 200
    return len(captured)


def test_the_result_page_runs_the_same_queries_for_2_or_12_students(world: Any, django_assert_num_queries: Any) -> None:
    many = [f.StudentFactory(school=world.school_a) for _ in range(10)]
    small = make_check(world, world.student_a1, many[0])  # one proposal with a 认定, one without; one missed
    HardshipAssessment.objects.bulk_create(
        [
            HardshipAssessment(
                student=s,
                term=world.term,
                level=HardshipLevel.objects.get(stage="", name="困难"),
                decided_on=dt.date(2026, 9, 10),
            )
            for s in many[:5]
        ]
    )
    large = make_check(world, world.student_a1, world.student_a2, *many)
    assert CheckProposal.objects.filter(department_check=large).count() == 12
    assert _detail_queries(world, small) == _detail_queries(world, large) == DETAIL_QUERIES


def test_the_upload_pages_list_runs_the_same_queries_for_1_or_5_checks(world: Any) -> None:
    client = client_for(world.officer_a)
    make_check(world, world.student_a1)
    client.get(LIST_URL)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST_URL)
    for _ in range(4):
        make_check(world, world.student_a2)
    with CaptureQueriesContext(connection) as five:
        client.get(LIST_URL)
    assert len(one) == len(five)


def test_the_navbar_offers_the_page_to_officers_and_county_staff_only(world: Any) -> None:
    for who, shown in (("officer_a", True), ("county", True), ("teacher_a1", False), ("counsellor_a", False)):
        html = client_for(getattr(world, who)).get(reverse("home"), follow=True).content.decode()
        assert (f'href="{LIST_URL}"' in html) is shown, who
