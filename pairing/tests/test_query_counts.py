"""Each page runs the same number of queries for 5 rows or 50: the selectors are shaped, not looped."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pairing.models import HardshipAssessment, HardshipLevel, SpecialCategory

from . import factories as f

pytestmark = pytest.mark.django_db


def populate(world, n):
    """n more paired students at school A, each with a guardian, a household member and an 认定."""
    level = HardshipLevel.objects.get(name="困难", stage="")
    categories = list(SpecialCategory.objects.all()[:2])
    teacher = world.teacher_a1.teacher
    for _ in range(n):
        pairing = f.PairingFactory(teacher=teacher)
        f.GuardianFactory(student=pairing.student)
        f.HouseholdMemberFactory(household=pairing.student.household)
        assessment = HardshipAssessment.objects.create(
            student=pairing.student, term=world.term, level=level, decided_on=world.term.start_date
        )
        assessment.categories.set(categories)
        f.TeacherFactory(school=world.school_a)


def queries_for(client, user, url):
    client.force_login(user)
    client.get(url)  # warm: the session and the calendar caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


PAGES = [
    # (user attribute on the world, url name)
    ("teacher_a1", "guidance:my_students"),
    ("officer_a", "pairing:school_overview"),
    ("officer_a", "pairing:student_list"),
    ("officer_a", "pairing:teacher_list"),
    ("officer_a", "pairing:pairing_list"),
    ("officer_a", "pairing:pairing_create"),
    ("county", "pairing:county_overview"),
    ("county", "pairing:school_list"),
    ("county", "pairing:student_list"),
    ("county", "pairing:pairing_list"),
    ("county", "audit_log"),
]


@pytest.mark.parametrize(("who", "url_name"), PAGES)
def test_page_query_count_does_not_grow_with_rows(client, world, who, url_name):
    populate(world, 5)
    few = queries_for(client, getattr(world, who), reverse(url_name))
    populate(world, 45)
    many = queries_for(client, getattr(world, who), reverse(url_name))
    assert few == many, f"{url_name}: {few} queries with 5 rows, {many} with 50"


def test_student_list_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    populate(world, 20)
    client.force_login(world.officer_a)
    client.get(reverse("pairing:student_list"))
    # 1 session, 2 user with their staff row (scope: zaoyang_aid/backends.py; today's term and its
    # closures come from the cached calendar, pairing/calendars.py), 3 the list's size per school (the
    # paginator's count: zaoyang_aid/paging.py GroupedPaginator), 4 the schools' order (one query more
    # than a plain count: issue 12), 5 the page's student keys among the schools it spans, 6 the page
    # of students by key (school, town, household joined), 7 their active pairings with teachers,
    # 8 this term's assessments with levels, 9 the assessments' categories, 10-13 the filter form's
    # choices (towns, her school, categories, levels), 14 the navbar's unread notifications; no session
    # save: the warm-up request stamped it (zaoyang_aid/sessions.py)
    with django_assert_num_queries(14):
        client.get(reverse("pairing:student_list"))


def test_student_record_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    level = HardshipLevel.objects.get(name="困难", stage="")
    HardshipAssessment.objects.create(
        student=world.student_a1, term=world.term, level=level, decided_on=world.term.start_date
    )
    for scope in ("processing", "publication"):
        f.GuardianConsentFactory(student=world.student_a1, scope=scope, recorded_by=world.officer_a)
    client.force_login(world.officer_a)
    url = reverse("pairing:student_detail", args=[world.student_a1.pk])
    client.get(url)
    # 1 session, 2 user with their staff row (zaoyang_aid/backends.py), 3 the student with school,
    # town and household, 4 guardians, 5 household members, 6 assessments, 7 their categories, 8 the
    # list exits (动态管理), 9 pairings with teachers, 10 the enrollment history, 11 the audit line,
    # 12 the 知情同意 with who recorded and withdrew them, 13 the navbar's unread notifications;
    # no session save: the warm-up request stamped it (zaoyang_aid/sessions.py)
    with django_assert_num_queries(13):
        client.get(url)
