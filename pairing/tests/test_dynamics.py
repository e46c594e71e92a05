"""动态管理 (issue 11, point 1): the 认定 change between two terms (one definition for the page, the
county's counts and the report), list exits and re-entries, the officer's confirmations, the
student's history in date order, and the new school's officer told of a transfer."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pairing import services
from pairing.dynamics import (
    ChangeKind,
    Standing,
    change_kind,
    changes_by_school,
    previous_term,
    student_history,
    term_changes,
)
from pairing.models import (
    AidExitReason,
    AidListExit,
    AssessmentChangeConfirmation,
    EnrollmentStatus,
    HardshipLevel,
    School,
    SpecialCategory,
    Student,
    Term,
)
from pairing.selectors import student_full_record
from zaoyang_aid.fields import field_access
from zaoyang_aid.models import AuditEvent

from . import factories as f

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def terms(world: Any) -> tuple[Term, Term]:
    """The term before the world's (2025-2026学年第二学期) and the world's own."""
    before = f.TermFactory(
        school_year=f.SchoolYearFactory(start_year=2025), number=2, start_date=D(2026, 3, 1), end_date=D(2026, 7, 10)
    )
    return before, world.term


def level(name: str) -> HardshipLevel:
    return HardshipLevel.objects.get(name=name, stage="")


def category(index: int) -> SpecialCategory:
    return list(SpecialCategory.objects.order_by("order", "pk"))[index]


def assess(student: Student, term: Term, name: str, cats: tuple[int, ...] = (), **kw: Any) -> Any:
    return services.assessment_save(
        student=student,
        term=term,
        level=level(name),
        categories=[category(i) for i in cats],
        decided_on=kw.pop("decided_on", term.start_date + dt.timedelta(days=9)),
        **kw,
    )


def lines_by_student(world: Any, user: Any, term: Term) -> dict[int, Any]:
    students = Student.objects.visible_to(user)
    return {line.student.pk: line for line in term_changes(user, students, term=term, previous=previous_term(term))}


# --- The one definition -----------------------------------------------------------------------------


def _standing(level_id: int, cats: tuple[int, ...] = ()) -> Standing:
    return Standing(level_id, f"等级{level_id}", level_id, tuple((c, f"类别{c}") for c in cats))


def test_change_kind_names_each_kind():
    assert change_kind(None, _standing(1)) == ChangeKind.ADDED
    assert change_kind(_standing(1), None) == ChangeKind.EXITED
    assert change_kind(_standing(1, (3,)), _standing(2, (4,))) == ChangeKind.LEVEL  # a new level wins
    assert change_kind(_standing(1, (3,)), _standing(1, (3, 4))) == ChangeKind.CATEGORY
    assert change_kind(_standing(1, (3, 4)), _standing(1, (4, 3))) == ChangeKind.UNCHANGED
    assert change_kind(None, None) == ChangeKind.UNCHANGED


def test_term_changes_reads_each_kind_from_the_database(world, terms):
    before, now = terms
    a1, a2, b1 = world.student_a1, world.student_a2, world.student_b1
    extra = f.StudentFactory(school=world.school_a)
    same = f.StudentFactory(school=world.school_a)
    assess(a1, before, "困难")
    assess(a1, now, "特别困难", reason="父亲重病", by=world.officer_a)  # level up
    assess(a2, before, "困难", (0,))
    assess(a2, now, "困难", (0, 1), reason="新增低保", by=world.officer_a)  # categories
    assess(extra, now, "一般困难", reason="新认定", by=world.officer_a)  # added
    assess(b1, before, "困难")  # no 认定 now and no exit recorded: 退出 without a reason
    assess(same, before, "困难", (0,))
    assess(same, now, "困难", (0,))
    lines = lines_by_student(world, world.county, now)
    assert lines[a1.pk].kind == ChangeKind.LEVEL and lines[a1.pk].kind_label == "等级提高"
    assert (lines[a1.pk].before_words, lines[a1.pk].after_words) == ("困难", "特别困难")
    assert lines[a1.pk].reason == "父亲重病" and lines[a1.pk].recorded_by == world.officer_a
    assert lines[a2.pk].kind == ChangeKind.CATEGORY
    assert lines[extra.pk].kind == ChangeKind.ADDED and lines[extra.pk].date == D(2026, 9, 10)
    assert lines[b1.pk].kind == ChangeKind.EXITED and lines[b1.pk].reason == "未登记退出原因"
    assert lines[same.pk].kind == ChangeKind.UNCHANGED
    # The officer reads her school's only.
    assert set(lines_by_student(world, world.officer_a, now)) == {a1.pk, a2.pk, extra.pk, same.pk}


def test_an_exit_takes_the_student_off_the_list_and_a_later_term_brings_her_back(world, terms):
    before, now = terms
    student = world.student_a1
    assess(student, before, "困难")
    exit_ = services.aid_list_exit(
        student=student,
        on=D(2026, 9, 20),
        reason=AidExitReason.POVERTY_EXIT,
        note="家庭年收入超过标准",
        by=world.officer_a,
    )
    assert exit_.term == now
    line = lines_by_student(world, world.officer_a, now)[student.pk]
    assert line.kind == ChangeKind.EXITED and line.after_words == "退出(脱贫退出)"
    assert line.reason == "脱贫退出。家庭年收入超过标准" and line.date == D(2026, 9, 20)
    # Saving this term's 认定 again is a re-entry: it needs a reason, and the exit records it.
    with pytest.raises(ValidationError) as caught:
        assess(student, now, "一般困难", by=world.officer_a)
    assert "reason" in caught.value.message_dict
    assess(student, now, "一般困难", reason="返贫监测", by=world.officer_a)
    exit_.refresh_from_db()
    assert exit_.reentered_on is not None and exit_.reentered_by == world.officer_a
    assert lines_by_student(world, world.officer_a, now)[student.pk].kind == ChangeKind.LEVEL


def test_a_new_term_after_an_exit_reads_as_a_re_entry(world, terms):
    before, now = terms
    student = world.student_a2
    assess(student, before, "困难")
    services.aid_list_exit(student=student, on=D(2026, 5, 6), reason=AidExitReason.BETTER_OFF, by=world.officer_a)
    assess(student, now, "困难", reason="家庭再次困难", by=world.officer_a)
    line = lines_by_student(world, world.officer_a, now)[student.pk]
    assert line.kind == ChangeKind.ADDED and line.kind_label == "重新纳入"


def test_an_exit_is_refused_with_its_reasons(world, terms):
    before, _now = terms
    with pytest.raises(ValidationError) as caught:
        services.aid_list_exit(student=world.student_a1, on=D(2026, 9, 20), reason="poverty_exit", by=world.officer_a)
    assert "该学生没有困难认定记录" in str(caught.value)
    assess(world.student_a1, before, "困难")
    with pytest.raises(ValidationError) as caught:
        services.aid_list_exit(student=world.student_a1, on=D(2026, 12, 20), reason="other", by=world.officer_a)
    assert set(caught.value.message_dict) == {"on", "note"}
    services.aid_list_exit(student=world.student_a1, on=D(2026, 9, 20), reason="poverty_exit", by=world.officer_a)
    with pytest.raises(ValidationError, match="同一学期只登记一次"):
        services.aid_list_exit(student=world.student_a1, on=D(2026, 10, 20), reason="poverty_exit", by=world.officer_a)


# --- Confirmations ------------------------------------------------------------------------------------


def test_the_officer_confirms_a_change_once_and_an_edit_makes_it_pending_again(world, terms):
    before, now = terms
    assess(world.student_a1, before, "困难")
    assess(world.student_a1, now, "特别困难", reason="重病", by=world.officer_a)
    line = lines_by_student(world, world.officer_a, now)[world.student_a1.pk]
    assert not line.confirmed
    services.assessment_change_confirm(
        student=world.student_a1.pk, term=now, fingerprint=line.fingerprint, by=world.officer_a
    )
    confirmed = lines_by_student(world, world.officer_a, now)[world.student_a1.pk]
    assert confirmed.confirmed and confirmed.confirmation.confirmed_by == world.officer_a
    with pytest.raises(ValidationError, match="已由"):
        services.assessment_change_confirm(
            student=world.student_a1.pk, term=now, fingerprint=line.fingerprint, by=world.officer_a
        )
    assert AuditEvent.objects.filter(object_type__contains="认定变动确认").exists()
    # Corrected afterwards: pending again, and the old fingerprint is refused as stale.
    assess(world.student_a1, now, "一般困难", reason="核实后更正", by=world.officer_a)
    edited = lines_by_student(world, world.officer_a, now)[world.student_a1.pk]
    assert not edited.confirmed
    with pytest.raises(ValidationError, match="已被修改"):
        services.assessment_change_confirm(
            student=world.student_a1.pk, term=now, fingerprint=line.fingerprint, by=world.officer_a
        )
    services.assessment_change_confirm(
        student=world.student_a1.pk, term=now, fingerprint=edited.fingerprint, by=world.officer_a
    )
    assert AssessmentChangeConfirmation.objects.get().summary.startswith("等级降低")


def test_only_the_schools_officer_confirms(world, terms):
    _before, now = terms
    assess(world.student_a1, now, "困难", reason="新认定")
    fingerprint = lines_by_student(world, world.officer_a, now)[world.student_a1.pk].fingerprint
    for user in (world.officer_b, world.county, world.teacher_a1):
        with pytest.raises(ValidationError):
            services.assessment_change_confirm(student=world.student_a1.pk, term=now, fingerprint=fingerprint, by=user)
    assert not AssessmentChangeConfirmation.objects.exists()


def test_the_confirm_button_confirms_on_the_page(client, world, terms):
    _before, now = terms
    assess(world.student_a1, now, "困难", reason="新认定", by=world.officer_a)
    client.force_login(world.officer_a)
    page = client.get(reverse("pairing:assessment_changes")).content.decode()
    assert "待确认" in page and world.student_a1.name in page and "新认定" in page
    fingerprint = lines_by_student(world, world.officer_a, now)[world.student_a1.pk].fingerprint
    response = client.post(
        reverse("pairing:assessment_change_confirm"),
        {"student": world.student_a1.pk, "term": now.pk, "fingerprint": fingerprint},
        follow=True,
    )
    assert "已确认" in response.content.decode()
    assert AssessmentChangeConfirmation.objects.filter(confirmed_by=world.officer_a).count() == 1


# --- The county's counts --------------------------------------------------------------------------------


def test_the_county_counts_per_school_add_up(world, terms):
    before, now = terms
    assess(world.student_a1, before, "困难")
    assess(world.student_a1, now, "特别困难")
    assess(world.student_a2, now, "困难")
    assess(world.student_b1, before, "困难")
    services.aid_list_exit(student=world.student_b1, on=D(2026, 9, 3), reason="poverty_exit", by=world.officer_b)
    fingerprint = lines_by_student(world, world.officer_a, now)[world.student_a2.pk].fingerprint
    services.assessment_change_confirm(
        student=world.student_a2.pk, term=now, fingerprint=fingerprint, by=world.officer_a
    )
    county = changes_by_school(world.county, School.objects.all(), term=now, previous=before)
    rows = {s.school_id: s for s in county.schools}
    a, b = rows[world.school_a.pk], rows[world.school_b.pk]
    assert (a.added, a.exited, a.level, a.category, a.confirmed, a.pending) == (1, 0, 1, 0, 1, 1)
    assert (b.added, b.exited, b.changed, b.confirmed, b.pending) == (0, 1, 0, 0, 1)
    assert (county.total.added, county.total.exited, county.total.changed, county.total.pending) == (1, 1, 1, 2)
    page = _get(world.county, reverse("pairing:assessment_changes_by_school"))
    assert world.school_a.name in page and "合计" in page


def _get(user: Any, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- The student's history -------------------------------------------------------------------------------


def test_the_history_lists_every_change_in_date_order_with_reason_and_who(world, terms):
    before, now = terms
    student = world.student_a1
    assess(student, before, "困难", reason="首次认定", by=world.officer_a, decided_on=D(2026, 3, 10))
    services.student_status_change(
        student=student, status=EnrollmentStatus.SUSPENDED, on=D(2026, 9, 7), reason="病休", by=world.officer_a
    )
    services.student_status_change(
        student=student, status=EnrollmentStatus.ENROLLED, on=D(2026, 10, 8), reason="康复返校", by=world.officer_a
    )
    assess(student, now, "特别困难", (0,), reason="母亲失业", by=world.officer_a, decided_on=D(2026, 9, 15))
    services.aid_list_exit(student=student, on=D(2026, 10, 20), reason="poverty_exit", note="脱贫", by=world.officer_a)
    services.student_transfer(
        student=student, to_school=world.school_b, on=D(2026, 11, 2), reason="随父母迁居", by=world.officer_a
    )
    record = student_full_record(world.county, student.pk)
    access = field_access(world.county, school_id=record.school_id, paired_teacher_id=None)
    history = student_history(record, access=access)
    assert [(e.on, e.kind) for e in history] == [
        (D(2026, 3, 10), "纳入资助名单"),
        (D(2026, 9, 7), "休学"),
        (D(2026, 9, 15), "认定等级提高"),
        (D(2026, 10, 8), "复学"),
        (D(2026, 10, 20), "退出资助名单"),
        (D(2026, 11, 2), "转学"),
    ]
    transfer = history[-1]
    assert world.school_a.name in transfer.text and world.school_b.name in transfer.text
    assert "结对同日结束" in transfer.text and transfer.reason == "随父母迁居"
    assert history[2].reason == "母亲失业" and history[2].recorded_by == world.officer_a.get_full_name()
    assert "困难 → 特别困难" in history[2].text


def test_the_history_keeps_the_assessment_from_a_reader_without_it(world, terms):
    _before, now = terms
    assess(world.student_a1, now, "困难", reason="新认定", by=world.officer_a)
    services.student_status_change(
        student=world.student_a1, status=EnrollmentStatus.SUSPENDED, on=D(2026, 9, 7), reason="病休", by=world.officer_a
    )
    page = _get(world.admin, reverse("pairing:student_detail", args=[world.student_a1.pk]))
    assert "休学" in page and "病休" not in page and "新认定" not in page
    page = _get(world.officer_a, reverse("pairing:student_detail", args=[world.student_a1.pk]))
    assert "病休" in page and "新认定" in page and "纳入资助名单" in page


def test_the_student_page_runs_the_same_queries_however_long_the_history(client, world, terms):
    before, now = terms
    student = world.student_a1
    client.force_login(world.officer_a)
    url = reverse("pairing:student_detail", args=[student.pk])
    assess(student, before, "困难", by=world.officer_a)
    client.get(url)
    with CaptureQueriesContext(connection) as short:
        assert client.get(url).status_code == 200
    assess(student, now, "特别困难", (0, 1), reason="变动", by=world.officer_a)
    services.aid_list_exit(student=student, on=D(2026, 10, 1), reason="other", note="说明", by=world.officer_a)
    for on, status in ((D(2026, 10, 5), "suspended"), (D(2026, 10, 12), "enrolled"), (D(2026, 10, 19), "dropped_out")):
        services.student_status_change(student=student, status=status, on=on, reason="原因", by=world.officer_a)
    with CaptureQueriesContext(connection) as long:
        assert client.get(url).status_code == 200
    assert len(long.captured_queries) == len(short.captured_queries)


# --- Every URL for every role --------------------------------------------------------------------------------

ROLES = ("teacher_a1", "officer_a", "officer_b", "counsellor_a", "county", "admin", None)
EXPECTED = {
    # url name: {role: status}; a role not named gets 403, anonymous a redirect to the login page.
    "pairing:assessment_changes": {"officer_a": 200, "officer_b": 200, "county": 200},
    "pairing:assessment_changes_by_school": {"county": 200},
    "pairing:aid_list_exit": {"officer_a": 200, "officer_b": 404, "county": 200},
}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_new_page_for_each_role(client, world, terms, name, who):
    assess(world.student_a1, world.term, "困难", reason="新认定", by=world.officer_a)
    url = reverse(name, args=[world.student_a1.pk]) if name == "pairing:aid_list_exit" else reverse(name)
    if who is not None:
        client.force_login(getattr(world, who))
    response = client.get(url)
    if who is None:
        assert response.status_code == 302 and "/login" in response["Location"]
        return
    assert response.status_code == EXPECTED[name].get(who, 403)
    if name == "pairing:assessment_changes" and response.status_code == 200:
        page = response.content.decode()
        assert (world.student_a1.name in page) == (who != "officer_b")
        assert ("确认</button>" in page) == (who == "officer_a")


@pytest.mark.parametrize("who", ROLES)
def test_the_confirm_action_for_each_role(client, world, terms, who):
    assess(world.student_a1, world.term, "困难", reason="新认定", by=world.officer_a)
    fingerprint = lines_by_student(world, world.officer_a, world.term)[world.student_a1.pk].fingerprint
    if who is not None:
        client.force_login(getattr(world, who))
    url = reverse("pairing:assessment_change_confirm")
    response = client.post(url, {"student": world.student_a1.pk, "term": world.term.pk, "fingerprint": fingerprint})
    expected = 302 if who in ("officer_a", "officer_b", None) else 403
    assert response.status_code == expected
    assert AssessmentChangeConfirmation.objects.exists() == (who == "officer_a")
    if who is not None:
        assert client.get(url).status_code in (403, 405)


def test_the_exit_page_records_an_exit_with_messages_at_fields(client, world, terms):
    before, _now = terms
    assess(world.student_a1, before, "困难")
    client.force_login(world.officer_a)
    url = reverse("pairing:aid_list_exit", args=[world.student_a1.pk])
    bad = client.post(url, {"reason": "other", "on": "2026-11-10", "note": ""})
    assert bad.status_code == 200 and "原因为“其他”时请填写说明" in bad.content.decode()
    ok = client.post(url, {"reason": "poverty_exit", "on": "2026-11-10", "note": "脱贫"})
    assert ok.status_code == 302
    assert AidListExit.objects.get().recorded_by == world.officer_a
    page = client.get(reverse("pairing:student_detail", args=[world.student_a1.pk])).content.decode()
    assert "退出资助名单" in page and "脱贫退出" in page


# --- Query counts -----------------------------------------------------------------------------------------


def _queries(client: Any, user: Any, url: str) -> int:
    client.force_login(user)
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _more_changes(world: Any, before: Term, now: Term, n: int) -> None:
    for i in range(n):
        school = f.SchoolFactory(name=f"新增学校{School.objects.count()}")
        for target in (world.school_a, school):
            student = f.StudentFactory(school=target)
            assess(student, before, "困难")
            assess(student, now, "特别困难" if i % 2 else "困难", (i % 2,), reason="调整", by=world.officer_a)


def test_the_change_pages_run_the_same_queries_for_more_rows_and_schools(client, world, terms):
    before, now = terms
    _more_changes(world, before, now, 2)
    pages = [
        (world.officer_a, reverse("pairing:assessment_changes")),
        (world.county, reverse("pairing:assessment_changes")),
        (world.county, reverse("pairing:assessment_changes_by_school")),
    ]
    few = [_queries(client, user, url) for user, url in pages]
    _more_changes(world, before, now, 6)
    assert [_queries(client, user, url) for user, url in pages] == few


def test_confirm_all_confirms_the_pages_pending_changes_all_or_none(client, world, terms):
    before, now = terms
    assess(world.student_a1, before, "困难")
    assess(world.student_a1, now, "特别困难", reason="重病", by=world.officer_a)
    assess(world.student_a2, now, "困难", reason="新认定", by=world.officer_a)
    lines = lines_by_student(world, world.officer_a, now)
    client.force_login(world.officer_a)
    page = client.get(reverse("pairing:assessment_changes")).content.decode()
    assert "全部确认本页2项待确认变动" in page
    url = reverse("pairing:assessment_change_confirm")
    stale = [f"{world.student_a1.pk}:{lines[world.student_a1.pk].fingerprint}", f"{world.student_a2.pk}:stale"]
    response = client.post(url, {"term": now.pk, "line": stale}, follow=True)
    assert "已被修改" in response.content.decode() and not AssessmentChangeConfirmation.objects.exists()
    fresh = [f"{pk}:{line.fingerprint}" for pk, line in lines.items()]
    response = client.post(url, {"term": now.pk, "line": fresh}, follow=True)
    assert "已确认2项认定变动" in response.content.decode()
    assert AssessmentChangeConfirmation.objects.filter(confirmed_by=world.officer_a).count() == 2
    assert "全部确认本页" not in client.get(reverse("pairing:assessment_changes")).content.decode()


def test_the_pages_export_link_downloads_the_report_with_the_pages_filter(client, world, terms):
    """The 导出Excel link carries the page's filter and term (casefiles registers the reports)."""
    before, now = terms
    assess(world.student_a1, before, "困难")
    assess(world.student_a1, now, "特别困难", reason="重病", by=world.officer_a)
    assess(world.student_a2, now, "困难", reason="新认定", by=world.officer_a)
    client.force_login(world.officer_a)
    page = client.get(reverse("pairing:assessment_changes"), {"term": now.pk, "kind": "level"}).content.decode()
    link = re.search(r'href="([^"]+)">导出Excel', page).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    names = [row[2] for row in sheet.iter_rows(values_only=True) if row[2] in {"张小明", "李小红"}]
    assert names == ["张小明"]  # the level change only, as on the page


def test_graduating_or_leaving_the_county_takes_the_student_off_the_list(world, terms):
    before, now = terms
    assess(world.student_a1, before, "困难")
    assess(world.student_a2, before, "困难")
    assess(world.student_a2, now, "困难")
    services.student_status_change(
        student=world.student_a1,
        status=EnrollmentStatus.GRADUATED,
        on=D(2026, 11, 2),
        reason="提前毕业",
        by=world.officer_a,
    )
    services.student_status_change(
        student=world.student_a2,
        status=EnrollmentStatus.TRANSFERRED,
        on=D(2026, 11, 3),
        reason="随父母去外省",
        by=world.officer_a,
    )
    services.student_status_change(  # never on the list: no exit
        student=world.student_b1,
        status=EnrollmentStatus.GRADUATED,
        on=D(2026, 11, 2),
        reason="毕业",
        by=world.officer_b,
    )
    exits = {e.student_id: e for e in AidListExit.objects.all()}
    assert set(exits) == {world.student_a1.pk, world.student_a2.pk}
    assert exits[world.student_a1.pk].reason == AidExitReason.GRADUATED and exits[world.student_a1.pk].term == now
    assert exits[world.student_a2.pk].get_reason_display() == "转出本县"
    assert (
        exits[world.student_a2.pk].note == "随父母去外省" and exits[world.student_a2.pk].recorded_by == world.officer_a
    )
    line = lines_by_student(world, world.county, now)[world.student_a2.pk]
    assert line.kind == ChangeKind.EXITED and line.after_words == "退出(转出本县)"


def test_the_history_shows_an_exit_and_its_re_entry_in_the_same_term(world, terms):
    _before, now = terms
    student = world.student_a2
    assess(student, now, "困难", reason="新认定", by=world.officer_a, decided_on=D(2026, 9, 10))
    services.aid_list_exit(student=student, on=D(2026, 10, 9), reason="better_off", by=world.officer_a)
    assess(student, now, "特别困难", reason="再次困难", by=world.officer_a, decided_on=D(2026, 11, 2))
    record = student_full_record(world.officer_a, student.pk)
    access = field_access(world.officer_a, school_id=record.school_id, paired_teacher_id=None)
    kinds = [(e.on, e.kind, e.reason) for e in student_history(record, access=access)]
    # The term's one 认定 row now holds the re-entry's decision: it is shown as the re-entry.
    assert kinds == [(D(2026, 10, 9), "退出资助名单", ""), (D(2026, 11, 2), "重新纳入", "再次困难")]
    assert "特别困难" in student_history(record, access=access)[-1].text


def test_the_change_pages_query_counts_are_pinned(client, world, terms, django_assert_num_queries):
    before, now = terms
    _more_changes(world, before, now, 3)
    client.force_login(world.officer_a)
    url = reverse("pairing:assessment_changes")
    client.get(url)
    # 1 session, 2 user with their staff row (zaoyang_aid/backends.py), 3 the term before (the current
    # term and its closures come from the cached calendar: pairing/calendars.py); term_changes: 4 the
    # two terms' 认定, 5 their categories, 6 the exits, 7 the confirmations, 8 the levels, 9 the
    # recorders, 10 the students, 11 their schools with towns; 12 the term links, 13 the navbar's
    # unread notifications; no session save: the warm-up request stamped it (zaoyang_aid/sessions.py)
    with django_assert_num_queries(13):
        client.get(url)
    client.force_login(world.county)
    url = reverse("pairing:assessment_changes_by_school")
    client.get(url)
    # 1 session, 2 user, 3 the term before, 4 the schools; 5-12 term_changes as above; 13 the term
    # links, 14 the notifications, 15 the filter's towns; no session save (stamped by the warm-up request)
    with django_assert_num_queries(15):
        client.get(url)
