"""Issue 10, point 5: the county's long lists page by a deferred join (zaoyang_aid.paging), and
every page holds exactly the rows the OFFSET page held: same order, no gaps, no duplicates, ties on
the sort keys broken by the pk, filters and sort kept, whichever end a page is read from."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import Paginator
from django.urls import reverse

from pairing import selectors
from pairing.models import PairingEndReason, Student
from zaoyang_aid.paging import PAGE_SIZE, DeferredJoinPaginator, GroupedPaginator

from . import factories as f
from .test_query_counts import populate

pytestmark = pytest.mark.django_db


def crowd(world):
    """Students in two towns and three schools, many of them alike on every sort key (same grade,
    class and name: only the pk tells them apart), half paired, some with an ended pairing."""
    north = f.TownFactory(code="420683002", name="环城街道")
    schools = [world.school_a, world.school_b, f.SchoolFactory(name="枣阳市环城中学", town=north)]
    for n in range(30):
        school = schools[n % 3]
        student = f.StudentFactory(school=school, grade=1 + n % 2, class_name="2班", name=f"同名{n % 4}")
        teacher = f.TeacherFactory(school=school)
        if n % 5 == 0:
            f.PairingFactory(
                teacher=teacher,
                student=student,
                ended_on=dt.date(2026, 10, 1 + n % 3),
                end_reason=PairingEndReason.OTHER,
            )
        if n % 2 == 0:
            f.PairingFactory(teacher=teacher, student=student)


def pages(paginator):
    return [[row.pk for row in paginator.page(n).object_list] for n in paginator.page_range]


# (rows a page, orphans): pages read from the front and from the back, a last page merged with its
# orphans, and a list that fits one page.
SIZES = [(4, 0), (7, 0), (5, 2), (50, 0)]


def assert_same_pages(queryset, sizes=SIZES, groups=None):
    for per_page, orphans in sizes:
        offset = pages(Paginator(queryset.all(), per_page, orphans=orphans))
        deferred = pages(DeferredJoinPaginator(queryset.all(), per_page, orphans=orphans))
        assert deferred == offset, (per_page, orphans)
        if groups is not None:  # issue 12: by the groups the list is sorted by first (school, end date)
            grouped = GroupedPaginator(queryset.all(), per_page, orphans=orphans, groups=groups)
            assert pages(grouped) == offset, (per_page, orphans)
            assert grouped.count == queryset.count()
        everyone = [pk for page in deferred for pk in page]
        assert everyone == list(queryset.values_list("pk", flat=True))  # no gap, no duplicate, in order
        assert len(set(everyone)) == len(everyone)


STUDENT_FILTERS = [{}, {"town": "town_north"}, {"paired": "no"}, {"grade": "2"}, {"q": "同名1"}]
PAIRING_FILTERS = [{}, {"status": "ended"}, {"status": "active"}, {"school": "school_a"}, {"teacher_name": "用户"}]


def resolve(world, params):
    """The filter's values as a URL would carry them (a town or school by its pk)."""
    names = {
        "town_north": lambda: str(f.TownFactory(code="420683002").pk),
        "school_a": lambda: str(world.school_a.pk),
    }
    return {key: names[value]() if value in names else value for key, value in params.items()}


@pytest.mark.parametrize("params", STUDENT_FILTERS)
def test_every_student_list_page_holds_the_offset_pages_rows(world, params):
    crowd(world)
    students = selectors.students_for_list(world.county, resolve(world, params), term=world.term).qs
    assert students.count() > 3
    assert_same_pages(students, groups=selectors.STUDENT_LIST_GROUPS)


@pytest.mark.parametrize("params", PAIRING_FILTERS)
def test_every_pairing_list_page_holds_the_offset_pages_rows(world, params):
    crowd(world)
    pairings = selectors.pairings_for_list(world.county, resolve(world, params), term=world.term).qs
    assert pairings.count() > 1
    assert_same_pages(pairings, groups=selectors.PAIRING_LIST_GROUPS)


@pytest.mark.parametrize("params", [{}, {"school": "school_a"}, {"q": "用户"}])
def test_every_teacher_list_page_holds_the_offset_pages_rows(world, params):
    """The staff list (10,500 teachers county-wide) pages the same way."""
    crowd(world)
    teachers = selectors.teachers_for_list(world.county, resolve(world, params)).qs
    assert teachers.count() > 3
    assert_same_pages(teachers, groups=selectors.TEACHER_LIST_GROUPS)


def test_an_officers_list_pages_the_same_within_their_school(world):
    crowd(world)
    students = selectors.students_for_list(world.officer_a, {}, term=world.term).qs
    assert_same_pages(students, [(3, 0)], groups=selectors.STUDENT_LIST_GROUPS)
    pairings = selectors.pairings_for_list(world.officer_a, {}, term=world.term).qs
    assert_same_pages(pairings, [(3, 0)], groups=selectors.PAIRING_LIST_GROUPS)


def test_the_pages_rows_keep_their_prefetches(world, django_assert_num_queries):
    crowd(world)
    paginator = DeferredJoinPaginator(selectors.students_for_list(world.county, {}, term=world.term).qs, 4)
    last = paginator.num_pages  # the count: 1 query, before
    # 1 the page's keys (read from the far end), 2 its students with school, town and household,
    # 3 their active pairings with teachers, 4 this term's assessments (none: no categories to read)
    with django_assert_num_queries(4):
        page = paginator.page(last)
        shown = [(s.school.town.code, s.household.town.name, s.active_pairings, s.term_assessments) for s in page]
    assert len(shown) == len(page) > 0


def test_an_empty_list_is_one_empty_page_without_reading_keys(world, django_assert_num_queries):
    empty = selectors.students_for_list(world.county, {"q": "没有这个人"}, term=world.term).qs
    paginator = DeferredJoinPaginator(empty, PAGE_SIZE)
    with django_assert_num_queries(1):  # the count
        page = paginator.get_page("1")
    assert list(page) == [] and page.number == 1


def test_a_queryset_not_ordered_by_the_pk_last_is_refused(world):
    with pytest.raises(ImproperlyConfigured):
        DeferredJoinPaginator(Student.objects.order_by("name"), 10)
    with pytest.raises(ImproperlyConfigured):
        DeferredJoinPaginator(Student.objects.all(), 10)  # Meta.ordering ends in a name: ties float


# --- the pages themselves -------------------------------------------------------------------------


def many_students(world, n, *, paired=0):
    """n more students (their names alike), the first ``paired`` of all students paired."""
    for i in range(n):
        f.StudentFactory(school=world.school_a if i % 2 else world.school_b, name=f"学生{i % 7}")
    for student in Student.objects.order_by("pk")[:paired]:
        if not student.pairings.exists():
            f.PairingFactory(teacher=f.TeacherFactory(school=student.school), student=student)


@pytest.mark.parametrize("url_name", ["pairing:student_list", "pairing:pairing_list"])
def test_the_county_lists_numbered_pages_show_the_offset_pages_rows(client, world, url_name):
    many_students(world, 60, paired=55)
    select = selectors.students_for_list if url_name == "pairing:student_list" else selectors.pairings_for_list
    offset = Paginator(select(world.county, {}, term=world.term).qs, PAGE_SIZE)
    client.force_login(world.county)
    for number in offset.page_range:
        page = client.get(reverse(url_name), {"page": number}).context["page"]
        assert [row.pk for row in page] == [row.pk for row in offset.page(number)]
        assert (page.number, page.paginator.num_pages) == (number, 2)
    response = client.get(reverse(url_name), {"page": 2})
    assert "2 / 2" in response.content.decode()


@pytest.mark.parametrize(("value", "number"), [("abc", 1), ("0", 2), ("-1", 2), ("99999999", 2), ("1.5", 1), ("", 1)])
def test_a_page_number_that_is_no_page_answers_the_nearest_page(client, world, value, number):
    """(A number beyond 64 bits is refused with a 400 before the view: zaoyang_aid/input.py.)"""
    many_students(world, 60)
    client.force_login(world.county)
    response = client.get(reverse("pairing:student_list"), {"page": value})
    assert response.status_code == 200
    assert response.context["page"].number == number


# Student list: 1 session, 2 user (today's term and its closures: the cached calendar,
# pairing/calendars.py), 3 the list's size per school (the count, zaoyang_aid.paging.GroupedPaginator),
# 4 the schools' order, 5 the page's keys among the schools it spans, 6 the page's students by key
# (school, town, household joined), 7 their active pairings with teachers, 8 this term's assessments
# with levels, 9 their categories, 10 the navbar's unread notifications, 11-13 the filter form's
# choices (towns, categories, levels: no school until a town is chosen, issue 12); no session save
# (the warm-up request stamped it, zaoyang_aid/sessions.py). Pairing list:
# the same without 7 and without the levels' choices.
@pytest.mark.parametrize(("url_name", "queries"), [("pairing:student_list", 13), ("pairing:pairing_list", 11)])
def test_every_page_of_a_county_list_runs_the_same_fixed_number_of_queries(
    client, world, url_name, queries, django_assert_num_queries
):
    populate(world, 55)  # 58 paired students with this term's 认定: two pages
    client.force_login(world.county)
    for number in (1, 2):
        client.get(reverse(url_name), {"page": number})  # warm: the session and the calendar caches
        with django_assert_num_queries(queries):
            response = client.get(reverse(url_name), {"page": number})
        assert response.context["page"].number == number
