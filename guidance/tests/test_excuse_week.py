"""免记: an officer excuses one school week of a pairing. The form starts at the current week, marks
the weeks that have a talk and refuses them unless the officer confirms (the talk is kept); messages
and the audit name the week; revoking asks first; only the school's officer may do any of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from guidance import selectors, services
from guidance.models import ExcusedWeek, TalkRecord
from pairing.tests import factories as pf
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import ExcusedWeekFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db

# The world stands on Monday 2026-11-16, 第12周 of its term; 第11周 began on 11-09.
THIS_MONDAY = dt.date(2026, 11, 16)
LAST_MONDAY = dt.date(2026, 11, 9)
LAST_WEEK_LABEL = "第11周(11.09-11.15)"
CONFIRM = "confirmed_has_talk"


def pairing_a1(world):
    return world.student_a1.pairings.get()


def excuse_url(pairing):
    return reverse("guidance:excuse_week", args=[pairing.pk])


def revoke_url(excused):
    return reverse("guidance:excuse_revoke", args=[excused.pk])


def excuse(world, pairing, monday, **kwargs):
    return ExcusedWeekFactory(pairing=pairing, week_monday=monday, excused_by=world.officer_a, **kwargs)


def flashed(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def create(world, pairing, monday, **kwargs):
    return services.excused_week_create(
        pairing=pairing,
        week_monday=monday,
        reason="illness",
        note="",
        excused_by=world.officer_a,
        term=world.term,
        as_of=THIS_MONDAY,
        **kwargs,
    )


# --- The form --------------------------------------------------------------------------------------


def test_the_form_starts_at_the_current_school_week(client, world):
    client.force_login(world.officer_a)
    form = client.get(excuse_url(pairing_a1(world))).context["form"]
    assert str(form["week"].value()) == "2026-11-16"
    assert '<option value="2026-11-16" selected>' in str(form["week"])


def test_the_form_starts_at_the_last_week_before_when_this_week_is_already_excused(client, world):
    excuse(world, pairing_a1(world), THIS_MONDAY)
    client.force_login(world.officer_a)
    form = client.get(excuse_url(pairing_a1(world))).context["form"]
    assert str(form["week"].value()) == "2026-11-09"


def test_weeks_that_have_a_talk_are_marked_in_the_choices(client, world):
    TalkRecordFactory(pairing=pairing_a1(world), date=dt.date(2026, 11, 11))
    client.force_login(world.officer_a)
    choices = dict(client.get(excuse_url(pairing_a1(world))).context["form"].fields["week"].choices)
    assert choices["2026-11-09"] == f"{LAST_WEEK_LABEL}(已有记录)"
    assert choices["2026-11-02"] == "第10周(11.02-11.08)"


# --- A week that already has a talk ---------------------------------------------------------------


def test_a_week_with_a_talk_is_refused_at_the_week_field_without_confirmation(client, world):
    TalkRecordFactory(pairing=pairing_a1(world), date=dt.date(2026, 11, 11))
    client.force_login(world.officer_a)
    response = client.post(excuse_url(pairing_a1(world)), {"week": "2026-11-09", "reason": "illness"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("week", "has_talk")
    assert "已有谈心谈话记录" in " ".join(form.errors["week"])
    assert f'name="{CONFIRM}"' in response.content.decode()  # the box to tick is offered now
    assert not ExcusedWeek.objects.exists()


def test_a_week_with_a_talk_is_excused_when_confirmed_and_the_talk_is_kept(client, world):
    talk = TalkRecordFactory(pairing=pairing_a1(world), date=dt.date(2026, 11, 11))
    client.force_login(world.officer_a)
    data = {"week": "2026-11-09", "reason": "exam", CONFIRM: "on"}
    assert client.post(excuse_url(pairing_a1(world)), data).status_code == 302
    assert ExcusedWeek.objects.get().week_monday == LAST_MONDAY
    assert TalkRecord.objects.filter(pk=talk.pk).exists()


def test_the_confirmation_box_is_not_shown_before_it_is_needed(client, world):
    client.force_login(world.officer_a)
    assert f'name="{CONFIRM}"' not in client.get(excuse_url(pairing_a1(world))).content.decode()


def test_the_service_refuses_a_week_with_a_talk_unless_confirmed(world):
    pairing = pairing_a1(world)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 11))
    with pytest.raises(ValidationError) as caught:
        create(world, pairing, LAST_MONDAY)
    assert [e.code for e in caught.value.error_dict["week"]] == ["has_talk"]
    assert not ExcusedWeek.objects.exists()
    create(world, pairing, LAST_MONDAY, confirmed_has_talk=True)
    assert ExcusedWeek.objects.get().week_monday == LAST_MONDAY
    assert TalkRecord.objects.filter(pairing=pairing).count() == 1


def test_a_week_without_a_talk_needs_no_confirmation(world):
    TalkRecordFactory(pairing=pairing_a1(world), date=THIS_MONDAY)  # another week's talk
    assert create(world, pairing_a1(world), LAST_MONDAY).week_monday == LAST_MONDAY


# --- Messages and the list -------------------------------------------------------------------------


def test_the_success_message_names_the_week(client, world):
    client.force_login(world.officer_a)
    response = client.post(excuse_url(pairing_a1(world)), {"week": "2026-11-09", "reason": "illness"})
    assert flashed(response) == [f"已为张小明免记{LAST_WEEK_LABEL}。"]


def test_the_list_shows_each_excused_weeks_label_reason_note_who_and_when(client, world):
    world.officer_a.full_name = "赵专干"
    world.officer_a.save()
    excuse(world, pairing_a1(world), LAST_MONDAY, reason="exam", note="期中考试周")
    client.force_login(world.officer_a)
    page = client.get(excuse_url(pairing_a1(world))).content.decode()
    listed = page[page.index("已免记的周") :]
    for text in (LAST_WEEK_LABEL, "考试周", "期中考试周", "赵专干", "2026-11-16"):
        assert text in listed


def test_a_week_of_another_term_is_labelled_with_its_term(world):
    spring = pf.TermFactory(
        school_year=pf.SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 3, 2),
        end_date=dt.date(2026, 7, 10),
    )
    labels = selectors.week_labels(
        school_id=world.school_a.pk, mondays={LAST_MONDAY, dt.date(2026, 3, 2), dt.date(2026, 8, 3)}, term=world.term
    )
    assert labels[LAST_MONDAY] == LAST_WEEK_LABEL
    assert labels[dt.date(2026, 3, 2)] == f"{spring.name}第1周(03.02-03.08)"
    assert labels[dt.date(2026, 8, 3)] == "2026年8月3日起的一周"  # summer: no school week


# --- Revoking ---------------------------------------------------------------------------------------


def test_revoking_asks_for_confirmation_first(client, world):
    excused = excuse(world, pairing_a1(world), LAST_MONDAY)
    client.force_login(world.officer_a)
    response = client.get(revoke_url(excused))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"确认撤销{LAST_WEEK_LABEL}的免记?" in page
    assert 'method="post"' in page and f'action="{revoke_url(excused)}"' in page
    assert f'href="{excuse_url(pairing_a1(world))}"' in page  # 取消 goes back
    assert "onclick" not in page  # no inline script: the page works under a strict CSP
    assert ExcusedWeek.objects.filter(pk=excused.pk).exists()


def test_the_excuse_page_links_to_the_confirmation_not_a_delete_button(client, world):
    excused = excuse(world, pairing_a1(world), LAST_MONDAY)
    client.force_login(world.officer_a)
    page = client.get(excuse_url(pairing_a1(world))).content.decode()
    assert f'href="{revoke_url(excused)}"' in page
    assert f'action="{revoke_url(excused)}"' not in page


def test_revoking_by_post_deletes_and_names_the_week(client, world):
    excused = excuse(world, pairing_a1(world), LAST_MONDAY)
    client.force_login(world.officer_a)
    response = client.post(revoke_url(excused))
    assert response.status_code == 302 and response.url == excuse_url(pairing_a1(world))
    assert not ExcusedWeek.objects.exists()
    assert flashed(response) == [f"已撤销张小明{LAST_WEEK_LABEL}的免记。"]


# --- Audit --------------------------------------------------------------------------------------------


def test_excusing_and_revoking_are_audited_with_the_week_named(client, world):
    pairing = pairing_a1(world)
    client.force_login(world.officer_a)
    client.post(excuse_url(pairing), {"week": "2026-11-09", "reason": "illness", "note": "住院"})
    excused = ExcusedWeek.objects.get()
    client.post(revoke_url(excused))
    events = list(AuditEvent.objects.filter(object_type="免记周").order_by("pk"))
    assert [e.action for e in events] == [AuditAction.CREATE, AuditAction.DELETE]
    assert {e.actor_id for e in events} == {world.officer_a.pk}
    assert {e.student_id for e in events} == {world.student_a1.pk}
    assert {e.object_id for e in events} == {str(excused.pk)}
    created, revoked = events[0].changes["免记周"], events[1].changes["免记周"]
    assert created[0] is None and LAST_WEEK_LABEL in created[1] and "学生生病" in created[1] and "住院" in created[1]
    assert revoked[1] is None and LAST_WEEK_LABEL in revoked[0]


def test_an_excuse_over_a_talk_is_audited_as_confirmed(world):
    TalkRecordFactory(pairing=pairing_a1(world), date=dt.date(2026, 11, 11))
    create(world, pairing_a1(world), LAST_MONDAY, confirmed_has_talk=True)
    event = AuditEvent.objects.get(object_type="免记周")
    assert event.changes["已有谈心谈话记录"] == [None, "仍然免记(记录保留)"]


# --- Who may --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("officer_a", 200), ("teacher_a1", 403), ("counsellor_a", 403), ("officer_b", 404), ("county", 403)],
)
def test_only_the_students_school_officer_sees_the_revoke_confirmation(client, world, who, status):
    """The owner (the school's officer), colleagues at the school (the student's own teacher, the
    counsellor) and outsiders (another school's officer, the county)."""
    excused = excuse(world, pairing_a1(world), LAST_MONDAY)
    client.force_login(getattr(world, who))
    assert client.get(revoke_url(excused)).status_code == status


@pytest.mark.parametrize(
    ("who", "status"), [("teacher_a1", 403), ("counsellor_a", 403), ("officer_b", 404), ("county", 403)]
)
def test_no_one_but_the_schools_officer_excuses_or_revokes(client, world, who, status):
    pairing = pairing_a1(world)
    excused = excuse(world, pairing, THIS_MONDAY)
    client.force_login(getattr(world, who))
    data = {"week": "2026-11-09", "reason": "illness", CONFIRM: "on"}
    assert client.post(excuse_url(pairing), data).status_code == status
    assert client.post(revoke_url(excused)).status_code == status
    assert list(ExcusedWeek.objects.values_list("week_monday", flat=True)) == [THIS_MONDAY]


# --- Queries ------------------------------------------------------------------------------------------------


def test_the_page_runs_the_same_queries_for_one_excused_week_or_many(client, world, django_assert_num_queries):
    pairing = pairing_a1(world)
    excuse(world, pairing, LAST_MONDAY)
    TalkRecordFactory(pairing=pairing, date=dt.date(2026, 11, 3))
    client.force_login(world.officer_a)
    client.get(excuse_url(pairing))  # warm: the session and the calendar caches
    # 1 session, 2 user with their staff row (scope: zaoyang_aid/backends.py), 3 the pairing with
    # student and teacher (today's term and its closures: the cached calendar, pairing/calendars.py);
    # the offered weeks: 4 the excused Mondays, 5 the talk Mondays; the list: 6 the excused weeks with
    # who, 7 the terms they fall in, 8 those terms' closures; 9 the navbar's unread notifications;
    # no session save (the warm-up request stamped it, zaoyang_aid/sessions.py)
    with django_assert_num_queries(9):
        client.get(excuse_url(pairing))
    for monday in (dt.date(2026, 10, 12), dt.date(2026, 10, 19)):
        excuse(world, pairing, monday)
        TalkRecordFactory(pairing=pairing, date=monday + dt.timedelta(days=1))
    excuse(world, pairing, dt.date(2026, 3, 2))  # before the term: labelled without a school week
    with django_assert_num_queries(9):
        assert len(client.get(excuse_url(pairing)).context["excused"]) == 4
