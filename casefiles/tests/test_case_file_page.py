"""The case file's content as each reader sees it, its constant query count, and the print view."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casefiles.build import case_file_document
from casefiles.models import TermResult
from casefiles.selectors import case_file
from guidance.models import LateEntryPermission
from guidance.tests.factories import FiveThreeCardFactory, HomeVisitFactory, TalkRecordFactory
from pairing.models import HardshipAssessment, HardshipLevel, SpecialCategory, Term
from pairing.tests.factories import SchoolYearFactory, TermFactory

from .factories import AidReceiptFactory, AttachmentFactory, ReferralFactory, TermResultFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _fill(world: Any, n: int) -> None:
    """``n`` talks and visits, a card, n term results over two terms, referrals, aid and attachments."""
    pairing = world.student_a1.pairings.get()
    earlier = TermFactory(
        school_year=SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 2, 23),
        end_date=dt.date(2026, 7, 3),
    )
    start = TermResult.objects.filter(student=world.student_a1, term=earlier).count()
    for i in range(start, start + n):
        TalkRecordFactory(
            pairing=pairing, date=dt.date(2026, 9, 7) + dt.timedelta(days=7 * (i % 10)), content=f"第{i}次谈心"
        )
        HomeVisitFactory(pairing=pairing, date=dt.date(2026, 10, 17) + dt.timedelta(days=i % 20))
        TermResultFactory(student=world.student_a1, subject=f"科目{i}", entered_by=world.officer_a)
        TermResultFactory(student=world.student_a1, term=earlier, subject=f"科目{i}", score=Decimal(60))
        ReferralFactory(student=world.student_a1, referred_by=world.officer_a)
        AidReceiptFactory(student=world.student_a1)
        AttachmentFactory(student=world.student_a1, uploaded_by=world.officer_a)
    if start == 0:
        FiveThreeCardFactory(pairing=pairing)
    if not HardshipAssessment.objects.filter(student=world.student_a1).exists():
        assessment = HardshipAssessment.objects.create(
            student=world.student_a1,
            term=world.term,
            level=HardshipLevel.objects.filter(is_active=True).first(),
            decided_on=dt.date(2026, 9, 20),
        )
        assessment.categories.set(SpecialCategory.objects.all()[:1])


def _queries(reader: Any, student: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        file = case_file(student=student.pk, reader=reader)
        assert file.talks is not None
    return len(ctx.captured_queries)


def test_the_case_file_runs_the_same_number_of_queries_for_2_or_20_records(world, django_assert_num_queries):
    _fill(world, 2)
    # Queries: the student with school and household (1), pairings with teacher (1), status changes (1),
    # guardians (1), household members (1), 认定 (1) with categories (1), talks with teacher and writer
    # (1), visits with photo counts (1) and their policies (1), 五三卡 (1), term results (1), referrals
    # (1), aid (1), attachments (1). Scope subqueries are inside these; the officer's scope is cached.
    with django_assert_num_queries(15):
        case_file(student=world.student_a1.pk, reader=world.officer_a)
    _fill(world, 18)
    with django_assert_num_queries(15):
        file = case_file(student=world.student_a1.pk, reader=world.officer_a)
    assert len(file.talks or []) == 20


def test_the_page_runs_a_constant_number_of_queries_too(client, world, django_assert_num_queries):
    client.force_login(world.officer_a)
    url = reverse("casefiles:case_file", args=[world.student_a1.pk])
    # Queries: the session (1), the user with their staff row for the scope (1, zaoyang_aid/backends.py), the terms
    # for the selector (1), the case file's fifteen (test above), the audit line (1), the unread notices in the navbar
    # (1). No session save: the warm-up request stamped the session (zaoyang_aid/sessions.py).
    _fill(world, 2)
    client.get(url)  # warm: the session's stamp
    with django_assert_num_queries(20):
        assert client.get(url).status_code == 200
    _fill(world, 18)
    with django_assert_num_queries(20):
        assert client.get(url).status_code == 200


def test_the_officer_sees_every_part_with_the_whole_id_number(world):
    _fill(world, 1)
    file = case_file(student=world.student_a1.pk, reader=world.officer_a)
    assert file.withheld == []
    doc = case_file_document(student_id=world.student_a1.pk, term_id=None, reader=world.officer_a)
    cover = {r.label: r.value for r in doc.cover.rows}
    assert cover["身份证号"] == world.student_a1.id_number
    assert cover["学校"] == "枣阳市第一中学"
    assert cover["包保教师"] == world.student_a1.pairings.get().teacher.name


def test_the_paired_teacher_sees_her_students_records_but_a_masked_id_number(world):
    _fill(world, 1)
    doc = case_file_document(student_id=world.student_a1.pk, term_id=None, reader=world.teacher_a1)
    cover = {r.label: r.value for r in doc.cover.rows}
    assert cover["身份证号"] == world.student_a1.masked_id_number != world.student_a1.id_number
    text = str(doc)
    assert world.student_a1.id_number not in text and world.student_a1.student_number not in text
    assert "第0次谈心" in text


def test_the_counsellor_sees_the_guardians_but_no_records_and_is_told_what_is_withheld(client, world):
    _fill(world, 1)
    file = case_file(student=world.student_a1.pk, reader=world.counsellor_a)
    assert file.guardians is not None
    assert file.talks is None and file.assessments is None and file.members is None and file.aid is None
    assert file.attachments is None
    client.force_login(world.counsellor_a)
    html = client.get(reverse("casefiles:case_file", args=[world.student_a1.pk])).content.decode()
    assert "不向您显示" in html and "帮扶记录" in html and "第0次谈心" not in html
    assert "8765" not in html  # the household's income


def test_a_talk_entered_late_is_marked_with_who_wrote_it(world):
    pairing = world.student_a1.pairings.get()
    permission = LateEntryPermission.objects.create(
        pairing=pairing, week_monday=dt.date(2026, 9, 7), reason="生病住院", granted_by=world.officer_a
    )
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 9, 8), late_permission=permission)
    doc = case_file_document(student_id=world.student_a1.pk, term_id=None, reader=world.officer_a)
    (talks,) = [s for s in doc.sections if s.key == "talks"]
    assert "补录" in talks.blocks[0].meta
    assert pairing.teacher.user.get_full_name() in talks.blocks[0].meta


def test_term_results_show_the_change_against_the_term_before(world):
    earlier = TermFactory(
        school_year=SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 2, 23),
        end_date=dt.date(2026, 7, 3),
    )
    TermResultFactory(student=world.student_a1, term=earlier, subject="数学", score=Decimal(62))
    TermResultFactory(student=world.student_a1, subject="数学", score=Decimal(120), full_marks=Decimal(150))
    file = case_file(student=world.student_a1.pk, reader=world.officer_a)
    assert [(g.term.pk, g.change["数学"]) for g in file.results or []] == [
        (earlier.pk, None),
        (world.term.pk, Decimal("18.0")),
    ]
    doc = case_file_document(student_id=world.student_a1.pk, term_id=None, reader=world.officer_a)
    (results,) = [s for s in doc.sections if s.key == "results"]
    assert "+18.0" in str(results) and "各学期成绩走势" in str(results)


def test_a_term_case_file_holds_that_terms_records_only(world):
    pairing = world.student_a1.pairings.get()
    earlier = TermFactory(
        school_year=SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 2, 23),
        end_date=dt.date(2026, 7, 3),
    )
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 9), content="本学期的谈话")
    TalkRecord = pairing.talks.model
    TalkRecord.objects.create(
        pairing=pairing,
        term=earlier,
        date=dt.date(2026, 3, 2),
        duration_minutes=30,
        content="上学期的谈话",
        student_state="好",
        track_study=True,
        form_talk=True,
        recorded_by=pairing.teacher.user,
    )
    doc = case_file_document(student_id=world.student_a1.pk, term_id=world.term.pk, reader=world.officer_a)
    assert "本学期的谈话" in str(doc) and "上学期的谈话" not in str(doc)
    assert {r.label: r.value for r in doc.cover.rows}["学期"] == Term.objects.get(pk=world.term.pk).name


def test_the_print_view_holds_the_cover_and_a_talks_content_laid_out_for_a4(client, world):
    TalkRecordFactory(pairing=world.student_a1.pairings.get(), content="辅导了分数的加减法")
    client.force_login(world.officer_a)
    response = client.get(reverse("casefiles:case_file_print", args=[world.student_a1.pk]), {"term": world.term.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "学生资助帮扶档案" in html and "data-cover" in html and "枣阳市第一中学" in html
    assert "辅导了分数的加减法" in html
    assert "casefile-print.css" in html and "cf-page-break" in html


def test_the_print_stylesheet_sets_a4_page_breaks_and_keeps_records_whole():
    from pathlib import Path

    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "static/css/casefile-print.css").read_text()
    assert "size: A4" in css
    assert ".cf-page-break { break-before: page" in css
    assert ".cf-block { break-inside: avoid" in css


def test_the_student_page_the_timeline_and_the_dashboard_link_to_the_case_file(client, world):
    client.force_login(world.officer_a)
    for url in (
        reverse("pairing:student_detail", args=[world.student_a1.pk]),
        reverse("guidance:timeline", args=[world.student_a1.pk]),
        reverse("guidance:school_dashboard"),
    ):
        html = client.get(url).content.decode()
        assert reverse("casefiles:case_file", args=[world.student_a1.pk]) in html, url


def test_each_talk_on_the_page_opens_its_own_record(client, world):
    talk = TalkRecordFactory(pairing=world.student_a1.pairings.get())
    client.force_login(world.teacher_a1)
    html = client.get(reverse("casefiles:case_file", args=[world.student_a1.pk])).content.decode()
    assert reverse("guidance:talk_detail", args=[talk.pk]) in html


def test_an_unknown_term_in_the_address_shows_all_terms(client, world):
    client.force_login(world.officer_a)
    response = client.get(reverse("casefiles:case_file", args=[world.student_a1.pk]), {"term": "abc"})
    assert response.status_code == 200 and response.context["file"].term is None
