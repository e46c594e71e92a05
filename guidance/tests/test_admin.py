"""The guidance admin, as the 系统管理员 uses it: the aid-policy checklist is configured here; talk
records, home visits and excused weeks are only looked up."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guidance.forms import HomeVisitForm
from guidance.models import AidPolicy, HomeVisitPhoto
from pairing.models import Pairing, Stage
from pairing.tests import factories as pf
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import ExcusedWeekFactory, FiveThreeCardFactory, HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.admin)
    return client


@pytest.fixture
def records_client(client, world):
    """County staff with admin access: the talk records' and visits' text is theirs to read (the 系统管理员
    role sees no help records, zaoyang_aid.fields)."""
    world.county.is_staff = world.county.is_superuser = True
    world.county.save()
    client.force_login(world.county)
    return client


def test_the_admin_sets_a_policys_stages_with_checkboxes(admin_client, world):
    response = admin_client.post(
        reverse("admin:guidance_aidpolicy_add"),
        {"name": "县级助学金", "stages": [Stage.SENIOR, Stage.JUNIOR], "order": 5, "is_active": "on"},
    )

    assert response.status_code == 302
    created = AidPolicy.objects.get(name="县级助学金")
    assert created.stages == [Stage.JUNIOR, Stage.SENIOR]
    junior = Pairing.objects.get(student=world.student_a1)
    assert created in HomeVisitForm(pairing=junior).fields["policies"].queryset


def test_a_policy_without_stages_applies_to_every_stage(admin_client):
    admin_client.post(reverse("admin:guidance_aidpolicy_add"), {"name": "爱心捐助", "order": 5, "is_active": "on"})

    assert AidPolicy.objects.get(name="爱心捐助").stage_labels == "全部学段"


def test_the_policy_list_filters_by_stage_and_nothing_can_be_deleted(admin_client):
    response = admin_client.get(reverse("admin:guidance_aidpolicy_changelist"), {"stage": Stage.PRESCHOOL})

    html = response.content.decode()
    assert response.status_code == 200
    assert "学前教育幼儿资助" in html
    assert "普通高中国家助学金" not in html
    policy = AidPolicy.objects.first()
    assert admin_client.get(reverse("admin:guidance_aidpolicy_delete", args=[policy.pk])).status_code == 403


@pytest.mark.parametrize("model", ["talkrecord", "homevisit", "excusedweek", "fivethreecard"])
def test_records_made_on_the_pages_cannot_be_added_or_changed_in_the_admin(admin_client, world, model):
    assert admin_client.get(reverse(f"admin:guidance_{model}_add")).status_code == 403


def populate(world, n):
    """n more pairings at school A, each with a talk, a visit with a photo and an excused week."""
    for number in range(n):
        pairing = pf.PairingFactory(teacher__school=world.school_a)
        TalkRecordFactory(pairing=pairing)
        visit = HomeVisitFactory(pairing=pairing)
        HomeVisitPhoto.objects.create(
            visit=visit, image=f"home-visits/{number}.jpg", content_type="image/jpeg", width=4, height=3, size=9
        )
        ExcusedWeekFactory(pairing=pairing)


def changelist_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("model", ["talkrecord", "homevisit", "excusedweek"])
def test_the_lists_run_the_same_queries_for_one_or_many_rows(records_client, world, model):
    url = reverse(f"admin:guidance_{model}_changelist")
    populate(world, 1)
    records_client.get(url)
    few = changelist_queries(records_client, url)
    populate(world, 5)

    assert changelist_queries(records_client, url) == few


def test_the_visit_list_shows_student_teacher_and_photo_count(records_client, world):
    HomeVisitFactory(pairing=Pairing.objects.get(student=world.student_a1))

    html = records_client.get(reverse("admin:guidance_homevisit_changelist")).content.decode()

    assert "张小明" in html
    assert world.teacher_a1.get_full_name() in html


def test_reading_a_visit_in_the_admin_is_logged_and_links_the_scoped_photo_page(records_client, world):
    visit = HomeVisitFactory(pairing=Pairing.objects.get(student=world.student_a1))
    photo = HomeVisitPhoto.objects.create(
        visit=visit, image="home-visits/a.jpg", content_type="image/jpeg", width=4, height=3, size=9
    )

    response = records_client.get(reverse("admin:guidance_homevisit_change", args=[photo.visit_id]))

    assert response.status_code == 200
    assert reverse("guidance:visit_photo", args=[photo.pk]) in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (event.actor_id, event.student_id) == (world.county.pk, world.student_a1.pk)


def test_a_five_three_card_is_looked_up_in_the_admin_read_only_and_the_read_is_logged(records_client, world):
    card = FiveThreeCardFactory(student=world.student_a1, term=world.term, recorded_by=world.teacher_a1)
    html = records_client.get(reverse("admin:guidance_fivethreecard_changelist") + "?q=张小明").content.decode()
    assert "张小明" in html

    response = records_client.get(reverse("admin:guidance_fivethreecard_change", args=[card.pk]))

    assert response.status_code == 200
    assert card.highlights[0] in response.content.decode()
    assert 'name="highlights"' not in response.content.decode()  # no form field: read-only
    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (event.actor_id, event.student_id) == (world.county.pk, world.student_a1.pk)


def test_the_system_admin_role_sees_no_five_three_card_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:guidance_fivethreecard_changelist")).status_code == 403
