"""The field-visibility policy (zaoyang_aid.fields): every personal field is in a group, and every
page, filter and admin page shows a reader only the groups their role and relation allow.

Observed before the policy: the counsellor's student list (and the admin role's) showed every
student's 认定 level and special-group category and could filter by them; the admin role read
household incomes and health in the Django admin."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from pairing.models import HardshipAssessment, HardshipLevel, HealthStatus, SpecialCategory
from pairing.tests import factories as f
from zaoyang_aid.access import Role, scope_of
from zaoyang_aid.admin import FieldPolicyAdminMixin
from zaoyang_aid.fields import (
    FIELD_GROUPS,
    NOT_PERSONAL,
    NOT_PERSONAL_MODELS,
    FieldGroup,
    Relation,
    field_access,
    groups_for,
)

OUR_APPS = ("zaoyang_aid", "pairing", "guidance", "casefiles", "campaigns")


def _model_fields():
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.get_fields():
                if field.many_to_many or (field.concrete and not field.auto_created):
                    yield model, field


# --- The policy covers every field ---------------------------------------------------------------


def test_every_model_field_is_in_a_group_or_named_as_not_personal():
    unplaced = [
        f"{model._meta.label}.{field.name}"
        for model, field in _model_fields()
        if model._meta.label not in NOT_PERSONAL_MODELS
        and f"{model._meta.label}.{field.name}" not in FIELD_GROUPS
        and f"{model._meta.label}.{field.name}" not in NOT_PERSONAL
        and not (field.primary_key and field.auto_created)
    ]
    assert unplaced == [], "place each in zaoyang_aid.fields.FIELD_GROUPS or NOT_PERSONAL"


def test_the_policy_names_no_field_that_does_not_exist():
    existing = {f"{model._meta.label}.{field.name}" for model, field in _model_fields()}
    models = {model._meta.label for app in OUR_APPS for model in apps.get_app_config(app).get_models()}
    assert sorted((set(FIELD_GROUPS) | set(NOT_PERSONAL)) - existing) == []
    assert sorted(set(NOT_PERSONAL_MODELS) - models) == []


def test_every_admin_of_a_model_with_personal_fields_asks_the_policy():
    def personal(model):
        return any(key.startswith(f"{model._meta.label}.") for key in FIELD_GROUPS)

    missing = []
    for model, model_admin in admin.site._registry.items():
        if personal(model) and not isinstance(model_admin, FieldPolicyAdminMixin):
            missing.append(model._meta.label)
        for inline in model_admin.inlines:
            if personal(inline.model) and not issubclass(inline, FieldPolicyAdminMixin):
                missing.append(f"{model._meta.label} inline {inline.model._meta.label}")
    assert missing == []


# --- The table ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "relation", "sees", "does_not_see"),
    [
        (Role.TEACHER, Relation.PAIRED, {FieldGroup.HOUSEHOLD, FieldGroup.ASSESSMENT}, {FieldGroup.FULL_ID}),
        (Role.COUNSELLOR, Relation.SCHOOL, {FieldGroup.IDENTITY, FieldGroup.COUNSELLING}, {FieldGroup.ASSESSMENT}),
        (Role.COUNSELLOR, Relation.PAIRED, {FieldGroup.ASSESSMENT, FieldGroup.HOUSEHOLD}, {FieldGroup.FULL_ID}),
        (Role.OFFICER, Relation.SCHOOL, {FieldGroup.FULL_ID, FieldGroup.HEALTH}, {FieldGroup.COUNSELLING}),
        (Role.COUNTY, Relation.COUNTY, {FieldGroup.FULL_ID, FieldGroup.ASSESSMENT}, {FieldGroup.COUNSELLING}),
        (Role.ADMIN, Relation.COUNTY, {FieldGroup.IDENTITY}, {FieldGroup.HOUSEHOLD, FieldGroup.ASSESSMENT}),
        (Role.TEACHER, Relation.NONE, set(), {FieldGroup.IDENTITY}),
    ],
)
def test_the_table_gives_each_role_and_relation_its_groups(role, relation, sees, does_not_see):
    groups = groups_for(role, relation)
    assert sees <= groups
    assert not (does_not_see & groups)


@pytest.mark.django_db
def test_the_relation_is_paired_only_for_whoever_pairs_the_student_now(world):
    teacher = scope_of(world.teacher_a1)
    paired = field_access(teacher, school_id=world.school_a.pk, paired_teacher_id=teacher.teacher_id)
    colleague = field_access(
        scope_of(world.teacher_a2), school_id=world.school_a.pk, paired_teacher_id=teacher.teacher_id
    )

    assert paired.relation == Relation.PAIRED and paired.household
    assert colleague.relation == Relation.SCHOOL and not colleague.household


# --- Lists ----------------------------------------------------------------------------------------


@pytest.fixture
def assessed(world):
    """Both school-A students assessed this term, 特别困难 and 残疾; the counsellor 包保 a third."""
    level = HardshipLevel.objects.get(name="特别困难", stage="")
    disabled = SpecialCategory.objects.get(name__startswith="残疾")
    counsellor_pairing = f.PairingFactory(
        teacher=world.counsellor_a.teacher, student__school=world.school_a, student__name="赵小军"
    )
    for student in (world.student_a1, world.student_a2, counsellor_pairing.student):
        a = HardshipAssessment.objects.create(
            student=student, term=world.term, level=level, decided_on=world.term.start_date
        )
        a.categories.add(disabled)
    return disabled, counsellor_pairing.student


def _login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def test_the_counsellor_list_shows_no_assessment_of_students_she_does_not_pair(client, world, assessed):
    disabled, own = assessed
    html = _login(client, world.counsellor_a).get(reverse("pairing:student_list")).content.decode()

    assert world.student_a1.name in html and own.name in html
    # Her own student's 认定 is shown once on the card and once in the table; nobody else's.
    assert html.count("特别困难") == 2
    assert html.count(disabled.name) == 1


def test_the_counsellor_cannot_filter_the_school_by_category_or_level(client, world, assessed):
    disabled, _own = assessed
    response = _login(client, world.counsellor_a).get(reverse("pairing:student_list"), {"category": disabled.pk})
    html = response.content.decode()

    assert 'name="category"' not in html and 'name="level"' not in html
    # The parameter narrows nothing: it cannot be used to learn who is 残疾.
    assert world.student_a1.name in html and world.student_a2.name in html


def test_the_admin_role_sees_no_assessment_on_the_student_and_pairing_lists(client, world, assessed):
    disabled, _ = assessed
    _login(client, world.admin)
    for name in ("pairing:student_list", "pairing:pairing_list"):
        html = client.get(reverse(name)).content.decode()
        assert "特别困难" not in html and disabled.name not in html and 'name="category"' not in html, name


def test_the_officer_still_sees_and_filters_by_assessment(client, world, assessed):
    disabled, _ = assessed
    html = (
        _login(client, world.officer_a).get(reverse("pairing:student_list"), {"category": disabled.pk}).content.decode()
    )

    assert 'name="category"' in html
    assert "特别困难" in html and disabled.name in html


# --- The student's page ---------------------------------------------------------------------------


def test_the_student_page_shows_each_reader_their_groups(client, world, assessed):
    _, own = assessed
    member = world.student_a1.household.members.get()
    member.health = HealthStatus.DISABLED
    member.save()
    url = reverse("pairing:student_detail", args=[world.student_a1.pk])

    counsellor = _login(client, world.counsellor_a).get(url).content.decode()
    assert "8765" not in counsellor and "特别困难" not in counsellor and "残疾" not in counsellor
    assert world.student_a1.id_number not in counsellor

    own_page = client.get(reverse("pairing:student_detail", args=[own.pk])).content.decode()
    assert "特别困难" in own_page

    teacher = _login(client, world.teacher_a1).get(url).content.decode()
    assert "8765" in teacher and "特别困难" in teacher and world.student_a1.id_number not in teacher

    officer = _login(client, world.officer_a).get(url).content.decode()
    assert world.student_a1.id_number in officer and "8765" in officer


# --- The Django admin -----------------------------------------------------------------------------


def test_the_admin_role_reads_no_income_or_health_in_the_django_admin(client, world):
    household = world.student_a1.household
    member = household.members.get()
    member.health = HealthStatus.SERIOUS
    member.save()
    _login(client, world.admin)

    # The whole family record is contact and economics: the admin role is not offered it at all.
    assert client.get(reverse("admin:pairing_household_change", args=[household.pk])).status_code == 403

    student = client.get(reverse("admin:pairing_student_change", args=[world.student_a1.pk])).content.decode()
    assert world.student_a1.guardians.get().phone not in student
    assert world.student_a1.id_number not in student


def test_the_admin_role_cannot_open_assessments_or_help_records_in_the_django_admin(client, world, assessed):
    _login(client, world.admin)
    assert client.get(reverse("admin:pairing_hardshipassessment_changelist")).status_code == 403
    assert client.get(reverse("admin:guidance_talkrecord_changelist")).status_code == 403
    assert client.get(reverse("admin:guidance_homevisit_changelist")).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert "家庭经济困难认定" not in index


def test_county_staff_in_the_django_admin_read_what_their_role_sees(client, world):
    world.county.is_staff = world.county.is_superuser = True
    world.county.save()
    _login(client, world.county)
    html = client.get(reverse("admin:pairing_household_change", args=[world.student_a1.household.pk])).content.decode()
    assert "8765" in html


def test_the_admin_role_cannot_add_a_student_whose_family_it_may_not_see(client, world):
    _login(client, world.admin)
    assert client.get(reverse("admin:pairing_student_add")).status_code == 403
    assert client.get(reverse("admin:pairing_household_changelist")).status_code == 403
    page = client.get(reverse("admin:pairing_student_change", args=[world.student_a1.pk]))
    assert page.status_code == 200 and world.student_a1.name in page.content.decode()


# --- The audit log --------------------------------------------------------------------------------


def test_the_audit_log_does_not_show_the_admin_role_a_familys_income_or_a_guardians_phone(client, world):
    member = world.student_a1.household.members.get()
    member.annual_income = 12345
    member.save()
    guardian = world.student_a1.guardians.get()
    guardian.phone = "13900001111"
    guardian.save()

    _login(client, world.admin)
    html = client.get(reverse("audit_log")).content.decode()
    assert "年收入" in html  # which field changed, when and by whom is still there
    assert "12345" not in html and "13900001111" not in html and member.name not in html
    assert "(无权查看)" in html

    _login(client, world.county)
    html = client.get(reverse("audit_log")).content.decode()
    assert "12345" in html and "13900001111" in html


# --- Closing an account in the Django admin asks the same rule as the officer's page ---------------


def test_the_django_admin_does_not_close_the_account_of_a_teacher_who_still_pairs_students(client, world):
    from zaoyang_aid.models import User

    _login(client, world.admin)
    client.post(
        reverse("admin:zaoyang_aid_user_changelist"),
        {"action": "deactivate", "_selected_action": [world.teacher_a1.pk]},
    )
    assert User.objects.get(pk=world.teacher_a1.pk).is_active

    idle = f.TeacherFactory(school=world.school_a).user
    client.post(reverse("admin:zaoyang_aid_user_changelist"), {"action": "deactivate", "_selected_action": [idle.pk]})
    assert not User.objects.get(pk=idle.pk).is_active


def test_a_line_a_service_wrote_about_a_help_record_is_withheld_from_the_admin_role(client, world):
    import datetime as dt

    from guidance.models import ExcuseReason
    from guidance.services import excused_week_create

    excused_week_create(
        pairing=world.student_a1.pairings.get(),
        week_monday=dt.date(2026, 11, 9),
        reason=ExcuseReason.choices[0][0],
        note="母亲住院陪护",
        excused_by=world.officer_a,
        term=world.term,
        as_of=dt.date(2026, 11, 16),
    )
    _login(client, world.admin)
    assert "母亲住院陪护" not in client.get(reverse("audit_log")).content.decode()
    _login(client, world.county)
    assert "母亲住院陪护" in client.get(reverse("audit_log")).content.decode()


def test_the_student_page_offers_the_help_records_only_to_readers_who_see_them(client, world):
    timeline = reverse("guidance:timeline", args=[world.student_a1.pk])
    page = reverse("pairing:student_detail", args=[world.student_a1.pk])
    assert timeline not in _login(client, world.counsellor_a).get(page).content.decode()
    assert timeline in _login(client, world.officer_a).get(page).content.decode()
