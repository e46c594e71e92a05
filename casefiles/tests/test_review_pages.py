"""The review pages, each tried as every role of the world: the teacher who 包保 the student, a
colleague at the same school, a teacher at another school, the officer (of the school, of another),
the counsellor, county staff, the admin and an account without a role. The lists and the county's
progress run a constant number of queries.

The world stands on Monday 2026-11-16 10:00 (Asia/Shanghai), in 2026-2027学年第一学期.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from casefiles import services
from casefiles.models import CaseFileReview, ReviewComment, ReviewStatus
from casefiles.selectors import county_progress
from pairing.tests.factories import PairingFactory, SchoolFactory
from zaoyang_aid.models import AuditAction, AuditEvent

from .helpers import sign_off

pytestmark = pytest.mark.django_db

ROLES = (
    "teacher_a1",
    "teacher_a2",
    "teacher_b1",
    "officer_a",
    "officer_b",
    "counsellor_a",
    "county",
    "admin",
    "nobody",
)


def as_role(client, world, role):
    client.force_login(getattr(world, role))
    return client


def detail_url(world, student=None):
    return f"{reverse('casefiles:review_detail', args=[(student or world.student_a1).pk])}?term={world.term.pk}"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("teacher_a1", 200),
        ("teacher_a2", 404),
        ("teacher_b1", 404),
        ("officer_a", 200),
        ("officer_b", 404),
        ("counsellor_a", 404),
        ("county", 200),
        ("admin", 404),
        ("nobody", 404),
    ],
)
def test_the_review_page_opens_for_the_paired_teacher_the_schools_officer_and_the_county(client, world, role, status):
    response = as_role(client, world, role).get(detail_url(world))

    assert response.status_code == status


def test_opening_the_review_page_is_audited(client, world):
    as_role(client, world, "officer_a").get(detail_url(world))

    event = AuditEvent.objects.filter(action=AuditAction.VIEW).latest("pk")
    assert event.student_id == world.student_a1.pk
    assert event.changes == {"查看内容": [None, f"{world.term.name}帮扶档案审核"]}


def test_the_page_shows_what_fails_with_a_link_to_fix_it(client, world):
    body = as_role(client, world, "officer_a").get(detail_url(world)).content.decode()

    assert 'data-item="visit" data-ok="0"' in body and "本学期还没有家访记录" in body
    assert reverse("guidance:card_current", args=[world.student_a1.pk]) in body
    assert 'id="sign-off-form"' in body and 'id="reopen-form"' not in body


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("teacher_a1", 200),
        ("teacher_a2", 200),
        ("teacher_b1", 200),
        ("officer_a", 200),
        ("officer_b", 200),
        ("counsellor_a", 200),
        ("county", 403),
        ("admin", 403),
        ("nobody", 403),
    ],
)
def test_my_review_comments_is_a_page_for_school_roles(client, world, role, status):
    assert as_role(client, world, role).get(reverse("casefiles:my_review_comments")).status_code == status


def test_my_review_comments_lists_only_the_comments_on_my_students(client, world):
    services.review_comment_create(
        student=world.student_a1, term=world.term, by=world.officer_a, body="甲的意见", version=0
    )
    services.review_comment_create(
        student=world.student_a2, term=world.term, by=world.officer_a, body="乙的意见", version=0
    )

    mine = as_role(client, world, "teacher_a1").get(reverse("casefiles:my_review_comments")).content.decode()
    colleague = as_role(client, world, "teacher_a2").get(reverse("casefiles:my_review_comments")).content.decode()

    assert "甲的意见" in mine and "乙的意见" not in mine and "1条待答复" in mine
    assert "乙的意见" in colleague and "甲的意见" not in colleague


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("teacher_a1", 403),
        ("teacher_a2", 403),
        ("teacher_b1", 403),
        ("officer_a", 200),
        ("officer_b", 200),
        ("counsellor_a", 403),
        ("county", 403),
        ("admin", 403),
        ("nobody", 403),
    ],
)
def test_the_review_list_is_the_officers(client, world, role, status):
    assert as_role(client, world, role).get(reverse("casefiles:review_list")).status_code == status


def test_the_officer_lists_her_schools_students_only(client, world):
    body = as_role(client, world, "officer_a").get(reverse("casefiles:review_list")).content.decode()

    assert "张小明" in body and "李小红" in body and "王小刚" not in body


def test_the_list_filters_by_status_and_by_a_failing_item(client, world):
    sign_off(world)
    client = as_role(client, world, "officer_a")

    signed = client.get(reverse("casefiles:review_list"), {"status": "signed_off"}).content.decode()
    not_started = client.get(reverse("casefiles:review_list"), {"status": "not_started"}).content.decode()
    no_visit = client.get(reverse("casefiles:review_list"), {"failing": "visit"}).content.decode()
    flags = client.get(reverse("casefiles:review_list"), {"failing": "flags"}).content.decode()

    assert "张小明" in signed and "李小红" not in signed
    assert "李小红" in not_started and "张小明" not in not_started
    assert "张小明" in no_visit and "李小红" in no_visit
    assert "没有符合条件的学生" in flags


def test_the_review_list_runs_the_same_queries_for_few_or_many_students(client, world, django_assert_num_queries):
    client = as_role(client, world, "officer_a")
    client.get(reverse("casefiles:review_list"))  # warm the session and the user
    # 1-2 the session and the user with their staff row (zaoyang_aid/backends.py), 3 the students with
    # their school, 4 the reviews with their comment counts, 5-12 the checklist (the engine's
    # pairings, enrollment history, excused weeks, tallies and visits; the cards, the talks with
    # problems, the last visits), 13 the flags not yet passed, then the terms of the picker and what
    # every page runs (the navbar's unread count); the current term and the closures come from the
    # cached calendar (pairing/calendars.py); no session save (the warm-up stamped it).
    with django_assert_num_queries(15) as few:
        client.get(reverse("casefiles:review_list"))
    for _ in range(5):
        pairing = PairingFactory(teacher__school=world.school_a)
        services.review_comment_create(
            student=pairing.student, term=world.term, by=world.officer_a, body="意见", version=0
        )
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("casefiles:review_list"))


def post_answer(client, comment, answer="已补充说明。"):
    return client.post(
        reverse("casefiles:review_comment_answer", args=[comment.pk]),
        {f"c{comment.pk}-answer": answer, f"c{comment.pk}-version": comment.version},
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("teacher_a1", 302),
        ("teacher_a2", 404),
        ("teacher_b1", 404),
        ("officer_a", 200),  # the page again, saying only the 包保 teacher answers
        ("officer_b", 404),
        ("counsellor_a", 404),
        ("county", 403),
        ("admin", 403),
        ("nobody", 403),
    ],
)
def test_only_the_paired_teacher_answers_a_comment(client, world, role, status):
    made = services.review_comment_create(
        student=world.student_a1, term=world.term, by=world.officer_a, body="请说明", version=0
    )

    response = post_answer(as_role(client, world, role), made)

    assert response.status_code == status
    assert ReviewComment.objects.get().is_answered == (role == "teacher_a1")


def post_comment(client, world, version=0, body="请补充第10周记录。"):
    return client.post(
        f"{reverse('casefiles:review_comment', args=[world.student_a1.pk])}?term={world.term.pk}",
        {"body": body, "version": version},
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("teacher_a1", 403),
        ("teacher_a2", 403),
        ("teacher_b1", 403),
        ("officer_a", 302),
        ("officer_b", 404),
        ("counsellor_a", 403),
        ("county", 403),
        ("admin", 403),
        ("nobody", 403),
    ],
)
def test_only_the_schools_officer_comments_signs_off_and_reopens(client, world, role, status):
    client = as_role(client, world, role)

    assert post_comment(client, world).status_code == status
    sign = client.post(
        f"{reverse('casefiles:review_sign_off', args=[world.student_a1.pk])}?term={world.term.pk}",
        {"note": "已核实", "version": 1},
    )
    assert sign.status_code == status
    reopen = client.post(
        f"{reverse('casefiles:review_reopen', args=[world.student_a1.pk])}?term={world.term.pk}",
        {"reason": "需要更正", "version": 2},
    )
    assert reopen.status_code == status
    assert CaseFileReview.objects.exists() == (role == "officer_a")


def test_a_comment_posted_from_a_stale_page_says_so_and_keeps_what_was_typed(client, world):
    client = as_role(client, world, "officer_a")
    post_comment(client, world, body="第一条意见")

    response = post_comment(client, world, version=0, body="第二个窗口写的意见")

    body = response.content.decode()
    assert response.status_code == 200
    assert services.STALE in body and "第二个窗口写的意见" in body
    assert ReviewComment.objects.count() == 1


def test_the_sign_off_form_lists_the_failing_items_and_signs_off_with_a_note(client, world):
    client = as_role(client, world, "officer_a")
    url = f"{reverse('casefiles:review_sign_off', args=[world.student_a1.pk])}?term={world.term.pk}"

    refused = client.post(url, {"note": "", "version": 0})
    signed = client.post(url, {"note": "学生10月休病假,已核实。", "version": 0})

    assert "以下项目未达标" in refused.content.decode()
    assert signed.status_code == 302
    assert CaseFileReview.objects.get().status == ReviewStatus.SIGNED_OFF
    page = client.get(detail_url(world)).content.decode()
    assert "data-signed-off" in page and 'id="reopen-form"' in page


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("teacher_a1", 403),
        ("officer_a", 403),
        ("counsellor_a", 403),
        ("county", 200),
        ("admin", 200),
        ("nobody", 403),
    ],
)
def test_the_county_progress_is_the_countys(client, world, role, status):
    assert as_role(client, world, role).get(reverse("casefiles:review_county")).status_code == status


def test_the_county_sees_progress_per_town_and_school(world):
    sign_off(world)
    services.review_comment_create(
        student=world.student_a2, term=world.term, by=world.officer_a, body="意见", version=0
    )

    total, towns = county_progress(world.county, term=world.term, as_of=dt.date(2026, 11, 16))

    schools = {s.name: (s.not_started, s.in_progress, s.signed_off) for t in towns for s in t.schools}
    assert schools == {"枣阳市第一中学": (0, 1, 1), "枣阳市吴店镇中学": (1, 0, 0)}
    assert (total.students, total.signed_off, total.not_started) == (3, 1, 1)


def test_the_county_progress_runs_the_same_queries_for_more_schools(client, world, django_assert_num_queries):
    client = as_role(client, world, "county")
    client.get(reverse("casefiles:review_county"))
    with CaptureQueries() as few:
        client.get(reverse("casefiles:review_county"))
    for _ in range(3):
        PairingFactory(teacher__school=SchoolFactory())
    with django_assert_num_queries(few.count):
        client.get(reverse("casefiles:review_county"))


class CaptureQueries:
    def __enter__(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.ctx = CaptureQueriesContext(connection)
        self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)
        self.count = len(self.ctx.captured_queries)


def test_the_teachers_page_links_to_her_review_comments(client, world):
    body = as_role(client, world, "teacher_a1").get(reverse("guidance:my_students")).content.decode()

    assert f'href="{reverse("casefiles:my_review_comments")}" data-review-comments-link' in body


# --- 档案审核进度: the page's filters and its report (issue 10: the review-progress report) ----------


def _report_rows(world, user, data=None):
    import io

    import openpyxl

    from casefiles.reports import report_export
    from zaoyang_aid.excel import HEADER_ROW

    buffer = io.BytesIO()
    result = report_export(name="review_progress", user=user, data=data or {}, target=buffer)
    buffer.seek(0)
    ws = openpyxl.load_workbook(buffer).active
    header = [c.value for c in ws[HEADER_ROW]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=HEADER_ROW + 1)]
    return ws, result, rows


def test_the_review_progress_report_lists_each_school_as_the_page_counts_it(world):
    sign_off(world)
    services.review_comment_create(
        student=world.student_a2, term=world.term, by=world.officer_a, body="意见", version=0
    )

    ws, result, rows = _report_rows(world, world.county)

    body, total = rows[:-1], rows[-1]
    by_school = {r["学校"]: (r["结对学生数"], r["未开始"], r["审核中"], r["已签结"]) for r in body}
    assert by_school == {"枣阳市第一中学": (2, 0, 1, 1), "枣阳市吴店镇中学": (1, 1, 0, 0)}
    assert result.rows == 2 and ws["A1"].value.startswith("帮扶档案审核进度")
    assert total["学校"] is None and total["乡镇"] == "合计"
    assert (total["结对学生数"], total["已签结"], total["未开始"]) == (3, 1, 1)
    rate = next(r for r in body if r["学校"] == "枣阳市第一中学")["签结率"]
    assert rate == pytest.approx(0.5)


def test_the_review_progress_page_and_report_filter_by_town_alike(client, world):
    from pairing.models import Town

    sign_off(world)
    town = Town.objects.exclude(pk=world.school_a.town_id).order_by("code").first()
    world.school_b.town = town
    world.school_b.save(update_fields=["town"])
    client = as_role(client, world, "county")

    page = client.get(reverse("casefiles:review_county"), {"term": world.term.pk, "town": town.pk})

    html = page.content.decode()
    assert f'data-school="{world.school_b.pk}"' in html and f'data-school="{world.school_a.pk}"' not in html
    assert page.context["total"].students == 1
    link = page.context["export_url"]
    assert f"town={town.pk}" in link and f"term={world.term.pk}" in link and link.endswith("report=review_progress")
    _ws, result, rows = _report_rows(world, world.county, {"term": world.term.pk, "town": town.pk})
    assert [r["学校"] for r in rows[:-1]] == [world.school_b.name] and result.rows == 1
    assert "乡镇" in result.filters


def test_the_officer_gets_her_schools_review_progress_only(world):
    _ws, _result, rows = _report_rows(world, world.officer_a)

    assert [r["学校"] for r in rows[:-1]] == [world.school_a.name]
