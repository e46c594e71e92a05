"""A term's 学业成绩: entered by the 包保 teacher or the officer, optimistic locking, the term lock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from casefiles.models import TermResult
from casefiles.services import STALE, ScoreInput, term_results_save
from zaoyang_aid import locks
from zaoyang_aid.models import AuditEvent

pytestmark = pytest.mark.django_db


def _save(world: Any, by: Any, **scores: ScoreInput) -> list[TermResult]:
    return term_results_save(student_id=world.student_a1.pk, term_id=world.term.pk, by=by, scores=scores)


def test_the_paired_teacher_enters_a_terms_scores_and_the_audit_log_says_so(world):
    rows = _save(world, world.teacher_a1, 语文=ScoreInput("92"), 数学=ScoreInput("108", "120", "5"))
    assert [(r.subject, r.score, r.full_marks, r.class_rank, r.version) for r in rows] == [
        ("语文", Decimal("92.0"), Decimal("100.0"), None, 1),
        ("数学", Decimal("108.0"), Decimal("120.0"), 5, 1),
    ]
    assert "数学108.0" in str(AuditEvent.objects.filter(object_type="学业成绩").get().changes)


def test_the_officer_may_enter_scores_but_a_colleague_may_not(world):
    _save(world, world.officer_a, 语文=ScoreInput("80"))
    with pytest.raises(ValidationError, match="包保"):
        _save(world, world.teacher_a2, 语文=ScoreInput("90", version=1))


def test_a_second_editor_who_read_an_older_version_is_refused_and_nothing_is_written(world):
    _save(world, world.teacher_a1, 语文=ScoreInput("80"))
    _save(world, world.officer_a, 语文=ScoreInput("85", version=1))  # the officer corrects it first
    with pytest.raises(ValidationError) as caught:
        _save(world, world.teacher_a1, 数学=ScoreInput("70"), 语文=ScoreInput("82", version=1))
    assert caught.value.messages == [STALE]
    assert list(TermResult.objects.values_list("subject", "score", "version")) == [("语文", Decimal("85.0"), 2)]


def test_two_first_saves_of_the_same_subject_leave_one_row_and_refuse_the_second(world):
    _save(world, world.teacher_a1, 语文=ScoreInput("80"))
    with pytest.raises(ValidationError, match="已被他人修改"):
        _save(world, world.officer_a, 语文=ScoreInput("81", version=0))


def test_a_blank_score_removes_the_subject_and_a_score_above_full_marks_is_refused(world):
    _save(world, world.teacher_a1, 语文=ScoreInput("80"))
    _save(world, world.teacher_a1, 语文=ScoreInput("", version=1))
    assert not TermResult.objects.exists()
    with pytest.raises(ValidationError, match="不能高于满分"):
        _save(world, world.teacher_a1, 语文=ScoreInput("101"))
    with pytest.raises(ValidationError, match="应为数字"):
        _save(world, world.teacher_a1, 语文=ScoreInput("九十"))


def test_a_signed_off_term_refuses_new_scores(world, monkeypatch):
    monkeypatch.setattr(locks, "_checks", [lambda student_id, term_id: "本学期档案已审核签字,记录已锁定。"])
    with pytest.raises(ValidationError, match="已锁定"):
        _save(world, world.teacher_a1, 语文=ScoreInput("80"))
    assert not TermResult.objects.exists()


def test_the_form_posts_the_version_it_read_and_a_stale_post_shows_the_reload_message(client, world):
    _save(world, world.teacher_a1, 语文=ScoreInput("80"))
    url = reverse("casefiles:term_results", args=[world.student_a1.pk]) + f"?term={world.term.pk}"
    client.force_login(world.teacher_a1)
    page = client.get(url).content.decode()
    assert 'name="version_语文" value="1"' in page
    _save(world, world.officer_a, 语文=ScoreInput("85", version=1))
    response = client.post(url, {"score_语文": "82", "full_语文": "100", "version_语文": "1"})
    assert response.status_code == 200 and STALE in response.content.decode()
    response = client.post(
        url,
        {
            "score_语文": "86",
            "full_语文": "100",
            "version_语文": "2",
            "extra_subject": "书法",
            "score_extra": "95",
            "full_extra": "100",
        },
    )
    assert response.status_code == 302
    assert dict(TermResult.objects.values_list("subject", "score")) == {
        "语文": Decimal("86.0"),
        "书法": Decimal("95.0"),
    }


def test_the_database_refuses_a_score_above_full_marks(world):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        TermResult.objects.create(
            student=world.student_a1,
            term=world.term,
            subject="语文",
            score=120,
            full_marks=100,
            entered_by=world.officer_a,
        )
