"""五三卡 (issue 9 point 3): the 包保 teacher fills in a student's card for the term with the student
and marks each 突破口 and 承诺 at term end; the school's officer and the county read it; two people
saving the same card at once: the second is refused and nothing is lost; every read is audited;
the officer's dashboard lists the cards missing and, at term end, those not reviewed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from guidance import cards
from guidance.dashboards import school_dashboard
from guidance.models import CardMark, FiveThreeCard, review_opens_on
from pairing.tests import factories as pf
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import FiveThreeCardFactory, card_items

pytestmark = pytest.mark.django_db

TERM_END_WEEKS = dt.datetime(2027, 1, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # in the review window


def pairing_of(student):
    return student.pairings.get()


def marks(mark=CardMark.DONE, note=""):
    return {s: [{"mark": mark, "note": note}] * 3 for s in ("breakthroughs", "promises")}


def save(world, *, by=None, items=None, version=0, student=None):
    return cards.five_three_card_save(
        student=student or world.student_a1,
        term=world.term,
        by=by or world.teacher_a1,
        items=items or card_items(),
        version=version,
    )


def form_data(items=None, version=0):
    items = items or card_items()
    data = {"version": str(version)}
    for section, values in items.items():
        for i, value in enumerate(values):
            data[cards.item_field(section, i)] = value
    return data


def review_data(version, mark="done", note="说明"):
    data = {"version": str(version)}
    for section in ("breakthroughs", "promises"):
        for i in range(3):
            data[cards.mark_field(section, i)] = mark
            data[cards.note_field(section, i)] = note
    return data


# --- Services --------------------------------------------------------------------------------------


def test_the_teacher_saves_a_whole_card_and_the_audit_names_the_student(world):
    card = save(world)
    assert (card.student, card.term, card.recorded_by, card.version) == (
        world.student_a1,
        world.term,
        world.teacher_a1,
        1,
    )
    assert card.promises == card_items()["promises"]
    line = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="五三卡")
    assert line.student_id == world.student_a1.pk


def test_each_of_the_fifteen_items_is_required_with_its_message_at_its_field(world):
    items = card_items()
    items["mottos"][1] = "  "
    items["promises"] = ["一", "二"]
    with pytest.raises(ValidationError) as caught:
        save(world, items=items)
    assert caught.value.message_dict == {
        "mottos_2": ["请填写第2条警示格言。"],
        "promises_3": ["请填写第3条承诺。"],
    }
    assert not FiveThreeCard.objects.exists()


def test_an_item_too_long_is_refused_at_its_field(world):
    items = card_items()
    items["highlights"][0] = "好" * 101
    with pytest.raises(ValidationError) as caught:
        save(world, items=items)
    assert list(caught.value.message_dict) == ["highlights_1"]


def test_only_whoever_pairs_with_the_student_now_fills_the_card(world):
    for user in (world.teacher_a2, world.officer_a, world.counsellor_a, world.county):
        with pytest.raises(ValidationError, match="正在包保"):
            save(world, by=user)
    assert not FiveThreeCard.objects.exists()


def test_a_counsellor_fills_the_card_of_a_student_she_pairs_with(world):
    pairing = pf.PairingFactory(teacher=world.counsellor_a.teacher, student__school=world.school_a)
    card = save(world, by=world.counsellor_a, student=pairing.student)
    assert card.recorded_by == world.counsellor_a


def test_a_second_save_over_a_newer_version_is_refused_and_writes_nothing(world, time_machine):
    card = save(world)
    time_machine.shift(dt.timedelta(hours=1))
    first = save(world, items=card_items("甲"), version=card.version)  # the first editor's save
    lines = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="这张五三卡已被他人修改,请刷新后再改"):
        save(world, items=card_items("乙"), version=card.version)  # the second read the same version
    card.refresh_from_db()
    assert first.updated_at > card.filled_at  # the edit's moment, though QuerySet.update skips auto_now
    assert card.version == first.version == 2
    assert card.highlights == card_items("甲")["highlights"]
    assert AuditEvent.objects.count() == lines


def test_a_second_first_save_of_the_same_card_is_refused(world):
    save(world)
    with pytest.raises(ValidationError, match="已被他人修改"):
        save(world, items=card_items("乙"), version=0)
    assert FiveThreeCard.objects.get().highlights == card_items()["highlights"]


def test_an_edit_is_audited_with_the_parts_changed(world):
    card = save(world)
    items = card_items()
    items["promises"][0] = "按时完成作业"
    save(world, items=items, version=card.version)
    line = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="五三卡").get()
    assert line.changes == {"修改的栏目": [None, "承诺"]}


def test_the_review_is_refused_before_the_term_end_window(world):
    card = save(world)
    assert review_opens_on(world.term) == dt.date(2027, 1, 1)
    with pytest.raises(ValidationError, match="期末评定从2027年1月1日"):
        cards.five_three_card_review(card=card, by=world.teacher_a1, marks=marks(), version=card.version)
    card.refresh_from_db()
    assert card.reviewed_at is None and card.breakthrough_marks == []


def test_the_review_marks_every_breakthrough_and_promise(world, time_machine):
    card = save(world)
    time_machine.move_to(TERM_END_WEEKS, tick=False)
    given = marks()
    given["promises"] = [
        {"mark": "done", "note": ""},
        {"mark": "trying", "note": "还差一点"},
        {"mark": "not_done", "note": "下学期继续"},
    ]
    card = cards.five_three_card_review(card=card, by=world.teacher_a1, marks=given, version=card.version)
    assert card.reviewed_by == world.teacher_a1 and card.reviewed_at is not None
    assert [m["mark"] for m in card.promise_marks] == ["done", "trying", "not_done"]
    line = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="五三卡").get()
    assert "期末评定" in line.changes


def test_a_review_without_every_mark_is_refused_at_the_fields(world, time_machine):
    card = save(world)
    time_machine.move_to(TERM_END_WEEKS, tick=False)
    given = marks()
    given["breakthroughs"] = [{"mark": "done"}, {"mark": ""}, {"mark": "maybe"}]
    with pytest.raises(ValidationError) as caught:
        cards.five_three_card_review(card=card, by=world.teacher_a1, marks=given, version=card.version)
    assert set(caught.value.message_dict) == {"breakthroughs_2_mark", "breakthroughs_3_mark"}
    card.refresh_from_db()
    assert card.reviewed_at is None


def test_a_stale_review_is_refused_and_writes_nothing(world, time_machine):
    card = save(world)
    save(world, items=card_items("甲"), version=card.version)
    time_machine.move_to(TERM_END_WEEKS, tick=False)
    with pytest.raises(ValidationError, match="已被他人修改"):
        cards.five_three_card_review(card=card, by=world.teacher_a1, marks=marks(), version=card.version)
    card.refresh_from_db()
    assert card.reviewed_at is None and card.promise_marks == []


# --- Pages, for every role -------------------------------------------------------------------------

ROLES = ("teacher_a1", "teacher_a2", "officer_a", "officer_b", "counsellor_a", "county", "admin", "nobody")


def statuses(client, world, url):
    out = {}
    for role in ROLES:
        client.force_login(getattr(world, role))
        out[role] = client.get(url).status_code
    return out


def test_the_card_button_opens_the_form_first_then_the_card(client, world):
    url = reverse("guidance:card_current", args=[world.student_a1.pk])
    client.force_login(world.teacher_a1)
    assert client.get(url).url == reverse("guidance:card_edit", args=[world.student_a1.pk])
    card = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    assert client.get(url).url == reverse("guidance:card_detail", args=[card.pk])
    assert statuses(client, world, url) == {
        "teacher_a1": 302,
        "teacher_a2": 404,
        "officer_a": 404,
        "officer_b": 404,
        "counsellor_a": 404,
        "county": 403,
        "admin": 403,
        "nobody": 403,
    }


def test_my_students_offers_the_card_button(client, world):
    client.force_login(world.teacher_a1)
    html = client.get(reverse("guidance:my_students")).content.decode()
    assert reverse("guidance:card_current", args=[world.student_a1.pk]) in html


def test_only_the_paired_teacher_opens_the_card_form(client, world):
    FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    url = reverse("guidance:card_edit", args=[world.student_a1.pk])
    assert statuses(client, world, url) == {
        "teacher_a1": 200,
        "teacher_a2": 404,
        "officer_a": 404,
        "officer_b": 404,
        "counsellor_a": 404,
        "county": 403,
        "admin": 403,
        "nobody": 403,
    }


def test_the_card_is_read_by_its_teacher_the_schools_officer_and_the_county(client, world):
    card = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    url = reverse("guidance:card_detail", args=[card.pk])
    assert statuses(client, world, url) == {
        "teacher_a1": 200,
        "teacher_a2": 404,
        "officer_a": 200,
        "officer_b": 404,
        "counsellor_a": 404,
        "county": 200,
        "admin": 404,
        "nobody": 404,
    }
    readers = set(
        AuditEvent.objects.filter(
            action=AuditAction.VIEW, object_type="五三卡", student_id=world.student_a1.pk
        ).values_list("actor_id", flat=True)
    )
    assert readers == {world.teacher_a1.pk, world.officer_a.pk, world.county.pk}


def test_the_review_form_opens_only_to_the_paired_teacher_at_term_end(client, world, time_machine):
    card = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    url = reverse("guidance:card_review", args=[card.pk])
    client.force_login(world.teacher_a1)
    assert client.get(url).url == reverse("guidance:card_detail", args=[card.pk])  # not yet
    time_machine.move_to(TERM_END_WEEKS, tick=False)
    assert statuses(client, world, url) == {
        "teacher_a1": 200,
        "teacher_a2": 404,
        "officer_a": 404,
        "officer_b": 404,
        "counsellor_a": 404,
        "county": 403,
        "admin": 403,
        "nobody": 403,
    }


def test_a_counsellor_opens_the_card_of_a_student_she_pairs_with_only(client, world):
    pairing = pf.PairingFactory(teacher=world.counsellor_a.teacher, student__school=world.school_a)
    own = FiveThreeCardFactory(pairing=pairing)
    other = FiveThreeCardFactory(pairing=pairing_of(world.student_a2))
    client.force_login(world.counsellor_a)
    assert client.get(reverse("guidance:card_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("guidance:card_edit", args=[pairing.student.pk])).status_code == 200
    assert client.get(reverse("guidance:card_detail", args=[other.pk])).status_code == 404


def test_the_teacher_fills_the_card_on_its_page(client, world):
    client.force_login(world.teacher_a1)
    response = client.post(reverse("guidance:card_edit", args=[world.student_a1.pk]), form_data())
    card = FiveThreeCard.objects.get()
    assert response.url == reverse("guidance:card_detail", args=[card.pk])
    html = client.get(response.url).content.decode()
    assert "每天读书半小时3" in html and 'data-review-state="later"' in html


def test_a_missing_item_is_shown_at_its_field_and_nothing_is_saved(client, world):
    data = form_data()
    data["role_models_2"] = ""
    client.force_login(world.teacher_a1)
    response = client.post(reverse("guidance:card_edit", args=[world.student_a1.pk]), data)
    assert response.status_code == 200
    assert "请填写第2条学习榜样。" in response.content.decode()
    assert not FiveThreeCard.objects.exists()


def test_the_second_of_two_editors_is_told_to_reload_and_the_first_save_stays(client, world):
    card = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    url = reverse("guidance:card_edit", args=[world.student_a1.pk])
    client.force_login(world.teacher_a1)
    assert client.post(url, form_data(card_items("甲"), version=1)).status_code == 302
    response = client.post(url, form_data(card_items("乙"), version=1))  # the second tab read version 1
    assert response.status_code == 200
    assert "这张五三卡已被他人修改,请刷新后再改" in response.content.decode()
    card.refresh_from_db()
    assert (card.version, card.highlights[0]) == (2, "甲乐于助人1")


def test_the_teacher_reviews_the_card_on_its_page_at_term_end(client, world, time_machine):
    card = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    time_machine.move_to(TERM_END_WEEKS, tick=False)
    client.force_login(world.teacher_a1)
    url = reverse("guidance:card_review", args=[card.pk])
    assert client.post(url, review_data(card.version, mark="trying")).status_code == 302
    card.refresh_from_db()
    assert card.is_reviewed and {m["mark"] for m in card.breakthrough_marks} == {"trying"}
    html = client.get(reverse("guidance:card_detail", args=[card.pk])).content.decode()
    assert 'data-review-state="reviewed"' in html and html.count('data-mark="trying"') == 6


def test_an_unmarked_item_is_refused_on_the_review_page(client, world, time_machine):
    card = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    time_machine.move_to(TERM_END_WEEKS, tick=False)
    data = review_data(card.version)
    del data["promises_2_mark"]
    client.force_login(world.teacher_a1)
    response = client.post(reverse("guidance:card_review", args=[card.pk]), data)
    assert "请评定第2条承诺" in response.content.decode()
    card.refresh_from_db()
    assert not card.is_reviewed


def test_the_students_timeline_leads_its_readers_to_the_card_with_its_review_state(client, world):
    card = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    timeline = reverse("guidance:timeline", args=[world.student_a1.pk])
    for user in (world.officer_a, world.teacher_a1, world.county):
        client.force_login(user)
        html = client.get(timeline).content.decode()
        assert reverse("guidance:card_detail", args=[card.pk]) in html and "未评定" in html
    client.force_login(world.counsellor_a)  # reads the student, not her 五三卡
    assert reverse("guidance:card_detail", args=[card.pk]) not in client.get(timeline).content.decode()


# --- The officer's dashboard -----------------------------------------------------------------------


def test_the_dashboard_lists_the_students_whose_card_is_missing(world):
    FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    FiveThreeCardFactory(pairing=pairing_of(world.student_b1))  # another school's: not counted
    board = school_dashboard(world.officer_a, term=world.term, as_of=dt.date(2026, 11, 16)).cards
    assert [p.student for p in board.missing] == [world.student_a2]
    assert (board.filled, board.review_open, board.not_reviewed) == (1, False, [])


def test_at_term_end_the_dashboard_lists_the_cards_not_reviewed(world):
    unreviewed = FiveThreeCardFactory(pairing=pairing_of(world.student_a1))
    reviewed = FiveThreeCardFactory(
        pairing=pairing_of(world.student_a2), reviewed_at=TERM_END_WEEKS, reviewed_by=world.teacher_a2
    )
    board = school_dashboard(world.officer_a, term=world.term, as_of=dt.date(2027, 1, 4)).cards
    assert board.review_open and board.missing == []
    assert [(p.student, pk) for p, pk in board.not_reviewed] == [(world.student_a1, unreviewed.pk)]
    assert (board.filled, board.reviewed) == (2, 1)
    assert reviewed.pk not in [pk for _, pk in board.not_reviewed]


def test_the_dashboard_page_shows_the_missing_cards(client, world):
    client.force_login(world.officer_a)
    html = client.get(reverse("guidance:school_dashboard")).content.decode()
    assert 'data-cards-missing="2"' in html and "期末评定从1月1日开始" in html


# --- The migration ---------------------------------------------------------------------------------


def test_the_migration_creates_the_card_table_and_goes_back(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate([("guidance", "0011_record_unlock_reason")])
    assert "guidance_fivethreecard" not in connection.introspection.table_names()
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert "guidance_fivethreecard" in connection.introspection.table_names()
