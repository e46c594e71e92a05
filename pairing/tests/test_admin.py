"""The reference-data admin, as the 系统管理员 uses it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pairing.models import Pairing, Student, Term
from zaoyang_aid.access import Role

from .factories import (
    GuardianFactory,
    PairingFactory,
    SchoolYearFactory,
    StudentFactory,
    TeacherFactory,
    TermFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ID = "420683201203040014"
UNKNOWN_YEARS_WARNING = (
    "2027、2028年的法定节假日尚未收录,上课日暂按周一至周五计算:"
    "请在“假期、停课与调休”中录入这些年的放假(类型“放假”)和调休上课的周末(类型“调休上课”)"
)


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


def messages_of(response: Any) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


# --- Students: the ID number never reaches the page -----------------------------------------------


def test_the_student_list_shows_masked_id_numbers_only(admin_client: Client) -> None:
    student = StudentFactory(name="王小明")

    response = admin_client.get(reverse("admin:pairing_student_changelist"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in html
    assert student.id_number not in html  # nor inside the G字头学籍号
    assert student.masked_id_number in html
    assert "G" + student.masked_id_number in html


def test_the_student_list_runs_the_same_queries_for_one_or_many_students(admin_client: Client) -> None:
    url = reverse("admin:pairing_student_changelist")
    GuardianFactory(student=StudentFactory())
    admin_client.get(url)  # warm the session and the content types
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url)
    for _ in range(5):
        GuardianFactory(student=StudentFactory())
    with CaptureQueriesContext(connection) as six:
        assert admin_client.get(url).status_code == 200

    assert len(six) == len(one)


def test_the_student_list_finds_a_student_by_the_last_digits_of_the_student_number(admin_client: Client) -> None:
    wanted = StudentFactory(name="王小明", id_number=ID, student_number="G" + ID)
    StudentFactory(name="李小红")

    response = admin_client.get(reverse("admin:pairing_student_changelist"), {"q": ID[-6:]})

    assert [s.name for s in response.context["cl"].result_list] == [wanted.name]


def test_a_whole_student_number_in_the_search_is_refused_and_dropped_from_the_address(admin_client: Client) -> None:
    student = StudentFactory(id_number=ID, student_number="G" + ID)
    url = reverse("admin:pairing_student_changelist")

    response = admin_client.get(url, {"q": student.student_number, "enrollment_status__exact": "enrolled"})

    assert response.status_code == 302
    assert response["Location"] == f"{url}?enrollment_status__exact=enrolled"
    page = admin_client.get(response["Location"])
    assert ID not in page.content.decode()
    assert messages_of(page) == ["为保护学生隐私,请勿输入完整的身份证号或学籍号,输入后4至6位即可。"]


def test_the_student_autocomplete_finds_nothing_for_a_whole_id_number(admin_client: Client) -> None:
    StudentFactory(id_number=ID, student_number="G" + ID)
    params = {"app_label": "pairing", "model_name": "pairing", "field_name": "student"}

    by_tail = admin_client.get(reverse("admin:autocomplete"), {**params, "term": ID[-4:]}).json()
    by_whole = admin_client.get(reverse("admin:autocomplete"), {**params, "term": ID}).json()

    assert len(by_tail["results"]) == 1
    assert by_whole["results"] == []


def test_the_student_form_does_not_send_the_id_number(admin_client: Client) -> None:
    student = StudentFactory()

    response = admin_client.get(reverse("admin:pairing_student_change", args=[student.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert student.id_number not in html
    assert f"当前为{student.masked_id_number}" in html


def student_form_data(student: Student, **changes: Any) -> dict[str, Any]:
    data = {
        "name": student.name,
        "gender": student.gender,
        "birth_date": student.birth_date.isoformat(),
        "id_number": "",
        "student_number": "",
        "school": student.school_id,
        "grade": student.grade,
        "class_name": student.class_name,
        "hukou_type": student.hukou_type,
        "household": student.household_id,
        "enrollment_status": student.enrollment_status,
        "guardians-TOTAL_FORMS": 0,
        "guardians-INITIAL_FORMS": 0,
        "guardians-MIN_NUM_FORMS": 0,
        "guardians-MAX_NUM_FORMS": 1000,
    }
    return {**data, **changes}


def test_saving_a_student_with_the_id_left_blank_keeps_the_stored_number(admin_client: Client) -> None:
    student = StudentFactory(class_name="1班")
    url = reverse("admin:pairing_student_change", args=[student.pk])

    response = admin_client.post(url, student_form_data(student, class_name="2班"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    fresh = Student.objects.get(pk=student.pk)
    assert (fresh.class_name, fresh.id_number, fresh.student_number) == (
        "2班",
        student.id_number,
        student.student_number,
    )


def test_a_new_id_number_typed_in_the_form_is_validated(admin_client: Client) -> None:
    student = StudentFactory(id_number=ID, student_number="G" + ID)
    url = reverse("admin:pairing_student_change", args=[student.pk])

    response = admin_client.post(url, student_form_data(student, id_number="420683201203040015"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["id_number"] == ["身份证号校验位不正确,请核对是否输错。"]


# --- Terms: names, week counts, and the warning for a year the calendar does not know -------------


def test_the_term_list_shows_the_chinese_name_and_school_weeks(admin_client: Client) -> None:
    TermFactory(
        school_year=SchoolYearFactory(start_year=2025),
        number=2,
        start_date=dt.date(2026, 3, 2),
        end_date=dt.date(2026, 7, 3),
    )

    response = admin_client.get(reverse("admin:pairing_term_changelist"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "2025-2026学年第二学期" in html
    assert '<td class="field-school_week_count">18</td>' in html
    assert messages_of(response) == []  # 2026 is known: no warning


def test_the_term_list_warns_about_a_term_in_an_unknown_year(admin_client: Client) -> None:
    TermFactory(
        school_year=SchoolYearFactory(start_year=2027), start_date=dt.date(2027, 9, 1), end_date=dt.date(2028, 1, 21)
    )

    response = admin_client.get(reverse("admin:pairing_term_changelist"))

    assert response.status_code == 200
    assert messages_of(response) == [UNKNOWN_YEARS_WARNING]


def test_saving_a_term_in_an_unknown_year_warns_once_and_saves(admin_client: Client) -> None:
    school_year = SchoolYearFactory(start_year=2027)
    data = {"school_year": school_year.pk, "number": 1, "start_date": "2027-09-01", "end_date": "2028-01-21"}

    response = admin_client.post(reverse("admin:pairing_term_add"), data, follow=True)

    assert response.status_code == 200
    assert Term.objects.filter(school_year=school_year, number=1).exists()
    html = response.content.decode()
    assert html.count(UNKNOWN_YEARS_WARNING) == 1
    assert 'class="warning"' in html


def test_an_overlapping_term_is_refused_in_the_admin_with_the_models_message(admin_client: Client) -> None:
    autumn = TermFactory()
    data = {"school_year": autumn.school_year_id, "number": 2, "start_date": "2027-01-18", "end_date": "2027-07-02"}

    response = admin_client.post(reverse("admin:pairing_term_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "与2026-2027学年第一学期(2026-09-01至2027-01-22)的日期重叠。"
    ]


# --- Pairings ---------------------------------------------------------------------------------------


def test_the_admin_cannot_create_change_or_delete_a_pairing_around_the_services(admin_client: Client) -> None:
    # Issue 7: pairings start, end and change teacher only through the services the pages call.
    first = PairingFactory()
    colleague = TeacherFactory(school=first.teacher.school)
    data = {"teacher": colleague.pk, "student": first.student_id, "started_on": "2019-03-01", "end_reason": ""}

    assert admin_client.post(reverse("admin:pairing_pairing_add"), data).status_code == 403
    change = reverse("admin:pairing_pairing_change", args=[first.pk])
    assert admin_client.post(change, {**data, "student": first.student_id}).status_code == 403
    assert (
        admin_client.post(reverse("admin:pairing_pairing_delete", args=[first.pk]), {"post": "yes"}).status_code == 403
    )
    first.refresh_from_db()
    assert (first.teacher_id, str(first.started_on)) != (colleague.pk, "2019-03-01")
    assert Pairing.objects.count() == 1
    assert admin_client.get(change).status_code == 200  # still readable


def test_the_pairing_list_renders_with_its_filters(admin_client: Client) -> None:
    PairingFactory()

    response = admin_client.get(reverse("admin:pairing_pairing_changelist"), {"active": "yes"})

    assert response.status_code == 200
    assert "进行中" in response.content.decode()


@pytest.mark.parametrize(
    "model",
    [
        "town",
        "school",
        "schoolyear",
        "closure",
        "specialcategory",
        "hardshiplevel",
        "teacher",
    ],
)
def test_every_reference_list_renders(admin_client: Client, model: str) -> None:
    assert admin_client.get(reverse(f"admin:pairing_{model}_changelist")).status_code == 200


def test_towns_are_read_only(admin_client: Client) -> None:
    assert admin_client.get(reverse("admin:pairing_town_add")).status_code == 403


# --- Who gets in ----------------------------------------------------------------------------------


def test_a_teacher_without_staff_status_is_sent_away_from_the_admin(client: Client) -> None:
    client.force_login(TeacherFactory().user)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_teacher_cannot_open_the_student_list_in_the_admin(client: Client) -> None:
    client.force_login(TeacherFactory().user)

    response = client.get(reverse("admin:pairing_student_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_two_overlapping_terms_added_together_under_a_school_year_are_refused(admin_client: Client) -> None:
    school_year = SchoolYearFactory(start_year=2030)
    rows = [("1", "2030-09-01", "2031-01-20"), ("2", "2031-01-10", "2031-07-02")]
    data = {
        "start_year": "2030",
        "terms-TOTAL_FORMS": "2",
        "terms-INITIAL_FORMS": "0",
        "terms-MIN_NUM_FORMS": "0",
        "terms-MAX_NUM_FORMS": "1000",
    }
    for n, (number, start, end) in enumerate(rows):
        data |= {f"terms-{n}-number": number, f"terms-{n}-start_date": start, f"terms-{n}-end_date": end}

    response = admin_client.post(reverse("admin:pairing_schoolyear_change", args=[school_year.pk]), data)

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[1].errors
    assert errors["start_date"] == ["与同时填写的另一学期(2030-09-01至2031-01-20)的日期重叠。"]
    assert not Term.objects.filter(school_year=school_year).exists()
