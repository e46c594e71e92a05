"""Registering and correcting a student: every bad input answered in Chinese at its field, and
nothing saved unless everything is valid."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pairing.models import Guardian, Household, HouseholdMember, Student, Town
from pairing.tests.factories import make_id_number

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    id_number = make_id_number(4321, male=False)
    data = {
        "name": "刘晓雨",
        "gender": "F",
        "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
        "id_number": id_number,
        "student_number": "G" + id_number,
        "grade": "2",
        "class_name": "3班",
        "hukou_type": "rural",
        "enrollment_status": "enrolled",
        "household-town": str(Town.objects.get(name="吴店镇").pk),
        "household-village": "清潭村",
        "household-address_detail": "四组8号",
        "guardians-TOTAL_FORMS": "1",
        "guardians-INITIAL_FORMS": "0",
        "guardians-MIN_NUM_FORMS": "1",
        "guardians-MAX_NUM_FORMS": "1000",
        "guardians-0-name": "刘大山",
        "guardians-0-relation": "父亲",
        "guardians-0-phone": "13972001234",
        "members-TOTAL_FORMS": "1",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
        "members-0-name": "刘大山",
        "members-0-age": "44",
        "members-0-relation": "父亲",
        "members-0-occupation": "外出务工",
        "members-0-annual_income": "24000",
        "members-0-health": "healthy",
    }
    data.update(overrides)
    return data


def post(client, user, data, url=None):
    client.force_login(user)
    return client.post(url or reverse("pairing:student_create"), data)


def nothing_saved():
    return (
        not Student.objects.filter(name="刘晓雨").exists() and not Household.objects.filter(village="清潭村").exists()
    )


def test_officer_registers_a_student_with_household_and_guardian(client, world):
    response = post(client, world.officer_a, form_data())
    student = Student.objects.get(name="刘晓雨")
    assert response.status_code == 302
    assert student.school == world.school_a  # an officer's school is fixed, whatever is posted
    assert student.household.address == "枣阳市吴店镇清潭村四组8号"
    assert Guardian.objects.get(student=student).phone == "13972001234"
    assert HouseholdMember.objects.get(household=student.household).annual_income == 24000


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "42068320140101123", "身份证号应为18位"),
        ("id_number", "420683201401011235", "校验位不正确"),
        ("id_number", "4206832014010112AX", "前17位必须是数字"),
        ("student_number", "X123", "学籍号应为19位"),
        ("grade", "7", ""),
        ("guardians-0-phone", "12345", "请输入11位手机号码"),
        ("birth_date", "2014-01-02", "出生日期与身份证号不一致"),
        ("gender", "M", "性别与身份证号不一致"),
        ("household-village", "", "这个字段是必填项"),
    ],
)
def test_bad_input_is_answered_at_its_field_and_nothing_is_saved(client, world, field, value, message):
    response = post(client, world.officer_a, form_data(**{field: value}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "is-invalid" in html
    assert message in html
    assert nothing_saved()


def test_a_duplicate_id_number_is_refused_in_chinese(client, world):
    data = form_data(id_number=world.student_b1.id_number, student_number="G" + world.student_b1.id_number)
    response = post(client, world.officer_a, data)
    assert "身份证号已存在" in response.content.decode() or "已存在" in response.content.decode()
    assert nothing_saved()


def test_an_empty_form_saves_nothing(client, world):
    response = post(
        client,
        world.officer_a,
        dict.fromkeys(form_data(), "")
        | {
            "guardians-TOTAL_FORMS": "1",
            "guardians-INITIAL_FORMS": "0",
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "这个字段是必填项" in response.content.decode()
    assert Student.objects.count() == 3


def test_officer_corrects_a_students_class(client, world):
    student = world.student_a1
    guardian = student.guardians.get()
    member = student.household.members.get()
    data = form_data(
        name=student.name,
        gender=student.gender,
        birth_date=student.birth_date.isoformat(),
        id_number=student.id_number,
        student_number=student.student_number,
        class_name="9班",
        **{
            "guardians-INITIAL_FORMS": "1",
            "guardians-0-id": str(guardian.pk),
            "guardians-0-student": str(student.pk),
            "members-INITIAL_FORMS": "1",
            "members-0-id": str(member.pk),
            "members-0-household": str(student.household_id),
        },
    )
    response = post(client, world.officer_a, data, reverse("pairing:student_edit", args=[student.pk]))
    assert response.status_code == 302
    student.refresh_from_db()
    assert student.class_name == "9班"


def test_assessment_is_recorded_once_per_term_and_adjusted_in_place(client, world):
    from pairing.models import HardshipAssessment, HardshipLevel, SpecialCategory

    url = reverse("pairing:assessment_create", args=[world.student_a1.pk])
    client.force_login(world.officer_a)
    level = HardshipLevel.objects.get(name="特别困难", stage="")
    category = SpecialCategory.objects.get(name="最低生活保障家庭")
    client.post(url, {"level": level.pk, "categories": [category.pk], "decided_on": "2026-09-10"})
    other = HardshipLevel.objects.get(name="一般困难", stage="")
    client.post(url, {"level": other.pk, "decided_on": "2026-11-10"})
    assessment = HardshipAssessment.objects.get(student=world.student_a1, term=world.term)
    assert assessment.level == other
    assert list(assessment.categories.all()) == []


def test_assessment_dated_after_the_term_is_refused(client, world):
    from pairing.models import HardshipAssessment, HardshipLevel

    client.force_login(world.officer_a)
    level = HardshipLevel.objects.get(name="困难", stage="")
    response = client.post(
        reverse("pairing:assessment_create", args=[world.student_a1.pk]),
        {"level": level.pk, "decided_on": "2027-03-01"},
    )
    assert "认定日期不能晚于" in response.content.decode()
    assert not HardshipAssessment.objects.exists()


# --- Issue 8: several household members in one save, a real message for a missing guardian ----------


def test_the_student_page_offers_to_add_member_rows_from_a_static_script(client, world):
    client.force_login(world.officer_a)

    html = client.get(reverse("pairing:student_create")).content.decode()

    assert 'data-formset-add="members"' in html
    assert '<template data-formset-empty="members">' in html and "members-__prefix__-name" in html
    assert "/static/js/formset_rows.js" in html
    assert "<script>" not in html and "style=" not in html  # nothing inline: the pages run under a CSP


def test_three_household_members_are_saved_in_one_save(client, world):
    data = form_data(**{"members-TOTAL_FORMS": "3"})  # the first row and two added by the button
    for index, (name, relation) in enumerate([("王秀英", "母亲"), ("刘老汉", "祖父")], start=1):
        data |= {
            f"members-{index}-name": name,
            f"members-{index}-age": "60",
            f"members-{index}-relation": relation,
            f"members-{index}-annual_income": "0",
            f"members-{index}-health": "healthy",
        }

    response = post(client, world.officer_a, data)

    assert response.status_code == 302
    student = Student.objects.get(name="刘晓雨")
    names = set(HouseholdMember.objects.filter(household=student.household).values_list("name", flat=True))
    assert names == {"刘大山", "王秀英", "刘老汉"}


def test_a_student_without_a_guardian_is_told_what_is_missing(client, world):
    data = form_data(**{"guardians-0-name": "", "guardians-0-relation": "", "guardians-0-phone": ""})

    response = post(client, world.officer_a, data)

    html = response.content.decode()
    assert "请至少填写一位监护人的姓名、关系和联系电话。" in html
    assert "请至少提交" not in html
    assert nothing_saved()
