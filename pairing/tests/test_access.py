"""Each role sees exactly what it must: every page tried as its owner, a colleague and an outsider."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pairing.models import Student

pytestmark = pytest.mark.django_db


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


def detail(student):
    return reverse("pairing:student_detail", args=[student.pk])


# --- Student records: owner, colleague, outsider -------------------------------------------------


def test_teacher_opens_the_student_they_pair_with(client, world):
    assert get(client, world.teacher_a1, detail(world.student_a1)).status_code == 200


def test_teacher_cannot_open_a_colleagues_student(client, world):
    assert get(client, world.teacher_a1, detail(world.student_a2)).status_code == 404


def test_teacher_cannot_open_another_schools_student(client, world):
    assert get(client, world.teacher_a1, detail(world.student_b1)).status_code == 404


def test_teacher_loses_access_when_the_pairing_ends(client, world):
    pairing = world.student_a1.pairings.get()
    pairing.ended_on, pairing.end_reason = world.term.start_date, "transfer"
    pairing.save()
    assert get(client, world.teacher_a1, detail(world.student_a1)).status_code == 404


def test_officer_opens_every_student_of_their_school(client, world):
    for student in (world.student_a1, world.student_a2):
        assert get(client, world.officer_a, detail(student)).status_code == 200


def test_officer_cannot_open_another_schools_student(client, world):
    assert get(client, world.officer_a, detail(world.student_b1)).status_code == 404


def test_counsellor_opens_their_schools_students_without_household_economics(client, world):
    response = get(client, world.counsellor_a, detail(world.student_a1))
    assert response.status_code == 200
    html = response.content.decode()
    assert "家庭成员" not in html and "8765" not in html and "家庭经济困难认定" not in html


def test_counsellor_cannot_open_another_schools_student(client, world):
    assert get(client, world.counsellor_a, detail(world.student_b1)).status_code == 404


def test_county_staff_open_any_student(client, world):
    for student in (world.student_a1, world.student_b1):
        assert get(client, world.county, detail(student)).status_code == 200


def test_account_without_role_sees_nothing(client, world):
    assert get(client, world.nobody, detail(world.student_a1)).status_code == 404
    assert get(client, world.nobody, reverse("home")).status_code == 403


# --- Lists show only the viewer's rows ----------------------------------------------------------


def names_in(response):
    return {s.name for s in response.context["page"]}


def test_officer_student_list_holds_only_their_school(client, world):
    response = get(client, world.officer_a, reverse("pairing:student_list"))
    assert names_in(response) == {"张小明", "李小红"}


def test_officer_cannot_widen_the_list_by_naming_another_school(client, world):
    url = reverse("pairing:student_list") + f"?school={world.school_b.pk}"
    response = get(client, world.officer_a, url)
    assert names_in(response) == {"张小明", "李小红"}  # the other school is not a valid choice: ignored
    assert "王小刚" not in response.content.decode()


def test_county_student_list_holds_every_school(client, world):
    assert names_in(get(client, world.county, reverse("pairing:student_list"))) == {"张小明", "李小红", "王小刚"}


def test_teacher_home_lists_only_their_own_pairings(client, world):
    response = get(client, world.teacher_a1, reverse("guidance:my_students"))
    assert [row.pairing.student.name for row in response.context["rows"]] == ["张小明"]


def test_officer_teacher_list_holds_only_their_school(client, world):
    response = get(client, world.officer_a, reverse("pairing:teacher_list"))
    assert {t.school_id for t in response.context["page"]} == {world.school_a.pk}


def test_officer_cannot_open_another_schools_teacher(client, world):
    url = reverse("pairing:teacher_detail", args=[world.teacher_b1.teacher.pk])
    assert get(client, world.officer_a, url).status_code == 404


def test_student_queryset_scopes_match_the_roles(world):
    visible = lambda user: set(Student.objects.visible_to(user).values_list("name", flat=True))  # noqa: E731
    assert visible(world.teacher_a1) == {"张小明"}
    assert visible(world.officer_a) == {"张小明", "李小红"}
    assert visible(world.counsellor_a) == {"张小明", "李小红"}
    assert visible(world.officer_b) == {"王小刚"}
    assert visible(world.county) == visible(world.admin) == {"张小明", "李小红", "王小刚"}
    assert visible(world.nobody) == set()


# --- Pages by role -------------------------------------------------------------------------------

ROLE_PAGES = {
    # Every school role may 包保 a student (guidance/tests/test_staff_who_pair.py).
    "guidance:my_students": {"teacher", "officer", "counsellor"},
    "pairing:school_overview": {"officer"},
    "pairing:county_overview": {"county", "admin"},
    "guidance:school_dashboard": {"officer"},
    "guidance:county_dashboard": {"county", "admin"},
    "pairing:student_list": {"officer", "counsellor", "county", "admin"},
    "pairing:student_create": {"officer", "county"},
    "pairing:teacher_list": {"officer", "county", "admin"},
    "pairing:pairing_list": {"officer", "county", "admin"},
    "pairing:pairing_create": {"officer", "county"},
    "pairing:school_list": {"county", "admin"},
    "audit_log": {"county", "admin"},
    "pairing:calendar": {"teacher", "officer", "counsellor", "county", "admin"},
}


@pytest.mark.parametrize("url_name", sorted(ROLE_PAGES))
def test_each_page_opens_for_its_roles_and_refuses_the_others(client, world, url_name):
    users = {
        "teacher": world.teacher_a1,
        "officer": world.officer_a,
        "counsellor": world.counsellor_a,
        "county": world.county,
        "admin": world.admin,
    }
    for role, user in users.items():
        status = get(client, user, reverse(url_name)).status_code
        expected = 200 if role in ROLE_PAGES[url_name] else 403
        assert status == expected, f"{role} on {url_name}: {status}"


def test_every_role_lands_on_its_home_page(client, world):
    homes = {
        world.teacher_a1: "guidance:my_students",
        world.officer_a: "guidance:school_dashboard",
        world.counsellor_a: "pairing:student_list",
        world.county: "guidance:county_dashboard",
        world.admin: "guidance:county_dashboard",
    }
    for user, url_name in homes.items():
        assert get(client, user, "/").url == reverse(url_name)


def test_navbar_offers_only_the_roles_pages(client, world):
    html = get(client, world.teacher_a1, reverse("guidance:my_students")).content.decode()
    assert f'href="{reverse("guidance:my_students")}"' in html
    assert f'href="{reverse("pairing:student_list")}"' not in html
    assert f'href="{reverse("audit_log")}"' not in html


# --- Editing -------------------------------------------------------------------------------------


def test_officer_cannot_edit_another_schools_student(client, world):
    url = reverse("pairing:student_edit", args=[world.student_b1.pk])
    assert get(client, world.officer_a, url).status_code == 404


def test_teacher_cannot_edit_even_their_own_student(client, world):
    url = reverse("pairing:student_edit", args=[world.student_a1.pk])
    assert get(client, world.teacher_a1, url).status_code == 403


def test_officer_cannot_record_an_assessment_for_another_schools_student(client, world):
    url = reverse("pairing:assessment_create", args=[world.student_b1.pk])
    assert get(client, world.officer_a, url).status_code == 404
