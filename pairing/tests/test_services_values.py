"""The student, 认定 and staff services take plain values: an import or a command calls them as the
pages do and gets the same rows, and a bad value is refused with the Chinese message at its key
(a row's field as the page names its input, "guardians-0-phone"), with nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from pairing import services
from pairing.models import (
    EnrollmentStatus,
    Guardian,
    HardshipAssessment,
    HardshipLevel,
    Household,
    HouseholdMember,
    SpecialCategory,
    Stage,
    Student,
    Teacher,
    Town,
)
from pairing.tests.factories import make_id_number

from .test_student_forms import form_data

pytestmark = pytest.mark.django_db


def student_values(seq: int = 4321, **overrides):
    """The values of test_student_forms.form_data, as a command would pass them."""
    id_number = make_id_number(seq, male=False)
    values = {
        "name": "刘晓雨",
        "gender": "F",
        "birth_date": dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
        "id_number": id_number,
        "student_number": "G" + id_number,
        "grade": 2,
        "class_name": "3班",
        "hukou_type": "rural",
        "household": {"town": Town.objects.get(name="吴店镇"), "village": "清潭村", "address_detail": "四组8号"},
        "guardians": [{"name": "刘大山", "relation": "父亲", "phone": "13972001234"}],
        "members": [
            {
                "name": "刘大山",
                "age": 44,
                "relation": "父亲",
                "occupation": "外出务工",
                "annual_income": Decimal(24000),
                "health": "healthy",
            }
        ],
    }
    return values | overrides


def rows_of(student: Student) -> tuple:
    """What a registration writes, without ids, names or numbers."""
    return (
        student.school_id,
        student.enrollment_status,
        (student.gender, student.grade, student.class_name, student.hukou_type),
        student.household.address,
        [(g.name, g.relation, g.phone) for g in student.guardians.all()],
        [(m.name, m.age, m.relation, m.occupation, m.annual_income, m.health) for m in student.household.members.all()],
    )


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Student, Household, Guardian, HouseholdMember))


# --- Students --------------------------------------------------------------------------------------


def test_a_command_registers_a_student_with_the_same_rows_as_the_page(client, world):
    client.force_login(world.officer_a)
    assert client.post(reverse("pairing:student_create"), form_data()).status_code == 302
    by_page = Student.objects.get(name="刘晓雨")

    by_call = services.student_create(
        by=world.officer_a, school=world.school_a, **student_values(seq=4322, name="刘晓雪")
    )

    assert rows_of(by_call) == rows_of(by_page)
    assert by_call.enrollment_status == EnrollmentStatus.ENROLLED


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        (
            {"guardians": [{"name": "刘大山", "relation": "父亲", "phone": "12345"}]},
            "guardians-0-phone",
            "请输入11位手机号码。",
        ),
        ({"guardians": []}, "guardians", "请至少填写一位监护人。"),
        ({"birth_date": dt.date(2014, 1, 2)}, "birth_date", "出生日期与身份证号不一致(身份证号为2012年03月12日)。"),
        ({"gender": "M"}, "gender", "性别与身份证号不一致(身份证号为女性)。"),
        ({"grade": 7}, "grade", "初中没有这个年级。"),
        ({"id_number": "420683201401011235"}, "id_number", "身份证号校验位不正确,请核对是否输错。"),
        ({"household": {"village": ""}}, "household-village", "此字段不能为空。"),
    ],
)
def test_a_bad_value_is_refused_at_its_key_and_nothing_is_written(world, changes, key, message):
    values = student_values()
    values |= {**changes, "household": values["household"] | changes.get("household", {})}
    before = counts()

    with pytest.raises(ValidationError) as caught:
        services.student_create(by=world.officer_a, school=world.school_a, **values)

    assert message in caught.value.message_dict[key]
    assert counts() == before


def test_a_bad_member_row_is_named_by_its_place_in_the_list(world):
    members = [*student_values()["members"], {"name": "刘奶奶", "age": 130, "relation": "祖母"}]

    with pytest.raises(ValidationError) as caught:
        services.student_create(by=world.officer_a, school=world.school_a, **student_values(members=members))

    assert caught.value.message_dict == {"members-1": ["年龄不应超过120岁。"]}


def test_a_school_outside_the_officers_scope_is_refused(world):
    before = counts()

    with pytest.raises(ValidationError) as caught:
        services.student_create(by=world.officer_a, school=world.school_b, **student_values())

    assert caught.value.message_dict == {"school": ["只能在您管理范围内的学校登记学生。"]}
    assert counts() == before


def test_an_update_replaces_the_rows_keeping_the_school_and_status(world):
    student = world.student_a1
    guardian = student.guardians.get()
    member = student.household.members.get()
    values = student_values(
        name=student.name,
        gender=student.gender,
        birth_date=student.birth_date,
        id_number=student.id_number,
        student_number=student.student_number,
        guardians=[
            {"id": guardian.pk, "name": "张建国", "relation": "父亲", "phone": "13900000001"},
            {"name": "李秀英", "relation": "母亲", "phone": "13900000002"},
        ],
        members=[],
    )

    services.student_update(student=student, by=world.officer_a, **values)

    student.refresh_from_db()
    assert (student.school, student.enrollment_status, student.class_name) == (world.school_a, "enrolled", "3班")
    assert [(g.name, g.phone) for g in student.guardians.all()] == [
        ("张建国", "13900000001"),
        ("李秀英", "13900000002"),
    ]
    assert student.guardians.first().pk == guardian.pk
    assert not HouseholdMember.objects.filter(pk=member.pk).exists()
    assert student.household.village == "清潭村"


def test_an_update_refuses_another_students_guardian_row(world):
    student = world.student_a1
    others = world.student_a2.guardians.get()
    values = student_values(
        birth_date=student.birth_date,
        id_number=student.id_number,
        student_number=student.student_number,
        gender=student.gender,
        guardians=[{"id": others.pk, "name": "王五", "relation": "父亲", "phone": "13900000003"}],
    )

    with pytest.raises(ValidationError) as caught:
        services.student_update(student=student, by=world.officer_a, **values)

    assert caught.value.message_dict == {"guardians-0": ["这一行已被删除或不属于该学生,请刷新页面后重新填写。"]}
    others.refresh_from_db()
    assert others.name != "王五"


def test_the_page_puts_the_services_errors_at_the_row_they_name(client, world, monkeypatch):
    # A blank extra row between two filled ones: the service's row 1 is the page's third form.
    def refuse(**values):
        assert [g["name"] for g in values["guardians"]] == ["刘大山", "刘二山"]
        raise ValidationError(
            {"guardians-1-phone": ["号码已停机。"], "household-village": ["没有这个村。"], "members": ["成员不全。"]}
        )

    monkeypatch.setattr(services, "student_create", refuse)
    data = form_data(
        **{
            "guardians-TOTAL_FORMS": "3",
            "guardians-2-name": "刘二山",
            "guardians-2-relation": "叔叔",
            "guardians-2-phone": "13972001235",
        }
    )
    client.force_login(world.officer_a)

    response = client.post(reverse("pairing:student_create"), data)

    assert response.status_code == 200
    guardians = response.context["guardians"]
    assert guardians.forms[2].errors == {"phone": ["号码已停机。"]}
    assert not guardians.forms[0].errors and not guardians.forms[1].errors
    assert response.context["household_form"].errors == {"village": ["没有这个村。"]}
    assert list(response.context["members"].non_form_errors()) == ["成员不全。"]
    assert "号码已停机。" in response.content.decode()


def test_the_edit_page_offers_no_change_of_school(client, world):
    client.force_login(world.county)

    response = client.get(reverse("pairing:student_edit", args=[world.student_a1.pk]))

    field = response.context["student_form"].fields["school"]
    assert field.disabled and list(field.queryset) == [world.school_a]


# --- 家庭经济困难认定 ------------------------------------------------------------------------------


def test_an_assessment_is_saved_and_adjusted_in_place_from_plain_values(world):
    level = HardshipLevel.objects.get(name="特别困难", stage="")
    category = SpecialCategory.objects.get(name="最低生活保障家庭")
    first = services.assessment_save(
        student=world.student_a1, term=world.term, level=level, categories=[category], decided_on=dt.date(2026, 9, 10)
    )

    other = HardshipLevel.objects.get(name="一般困难", stage="")
    second = services.assessment_save(
        student=world.student_a1, term=world.term, level=other, categories=[], decided_on=dt.date(2026, 11, 10)
    )

    assert second.pk == first.pk
    saved = HardshipAssessment.objects.get(student=world.student_a1, term=world.term)
    assert (saved.level, list(saved.categories.all()), saved.decided_on) == (other, [], dt.date(2026, 11, 10))


def test_an_assessment_refuses_another_stages_level_a_stopped_category_and_a_late_date(world):
    senior = HardshipLevel.objects.create(name="高中困难", stage=Stage.SENIOR)
    stopped = SpecialCategory.objects.create(name="已停用类别", is_active=False)

    with pytest.raises(ValidationError) as caught:
        services.assessment_save(
            student=world.student_a1,
            term=world.term,
            level=senior,
            categories=[stopped],
            decided_on=world.term.end_date + dt.timedelta(days=1),
        )

    assert caught.value.message_dict == {
        "level": ["“高中困难”不是初中学段使用的困难等级,请重新选择。"],
        "categories": ["特殊群体类别“已停用类别”已停用,请重新选择。"],
        "decided_on": [f"认定日期不能晚于{world.term.name}结束日期({world.term.end_date})。"],
    }
    assert not HardshipAssessment.objects.exists()


# --- Staff -----------------------------------------------------------------------------------------


def teacher_values(**overrides):
    values = {
        "school": None,
        "username": "13900001111",
        "password": "Zaoyang-2026x",
        "full_name": "陈老师",
        "role": "teacher",
        "phone": "13900001111",
        "title": "一级教师",
        "is_head_teacher": True,
    }
    return values | overrides


def test_a_command_adds_a_teacher_who_can_log_in(world):
    teacher = services.teacher_create(**teacher_values(school=world.school_a))

    teacher.refresh_from_db()
    assert (teacher.school, teacher.user.role, teacher.user.full_name, teacher.user.phone) == (
        world.school_a,
        "teacher",
        "陈老师",
        "13900001111",
    )
    assert teacher.is_head_teacher and teacher.user.check_password("Zaoyang-2026x")


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"password": "12345678"}, "password", "密码只包含数字。"),
        ({"username": "陈 老师"}, "username", "登录账号只能包含字母、数字和 _ . @ + -"),
        ({"phone": "1390000"}, "phone", "请输入11位手机号码。"),
        ({"full_name": " "}, "full_name", "请填写姓名。"),
        ({"role": "county"}, "role", "请选择教师、学校资助专干或心理健康教师。"),
    ],
)
def test_a_bad_staff_value_is_refused_at_its_key_and_no_account_is_made(world, changes, key, message):
    users = get_user_model().objects.count()

    with pytest.raises(ValidationError) as caught:
        services.teacher_create(**teacher_values(school=world.school_a) | changes)

    assert message in caught.value.message_dict[key]
    assert get_user_model().objects.count() == users
    assert not Teacher.objects.filter(phone="13900001111").exists()


def test_a_username_taken_in_another_case_is_refused(world):
    world.teacher_a1.username = "Zhang.Laoshi"
    world.teacher_a1.save()

    with pytest.raises(ValidationError) as caught:
        services.teacher_create(**teacher_values(school=world.school_a, username="zhang.laoshi"))

    assert caught.value.message_dict == {"username": ["该登录账号已被使用,请换一个。"]}


def test_a_teacher_who_still_pairs_students_keeps_their_school(world):
    teacher = world.teacher_a1.teacher
    values = {"full_name": "张老师", "role": "teacher", "phone": teacher.phone}

    with pytest.raises(ValidationError) as caught:
        services.teacher_update(teacher=teacher, school=world.school_b, **values)
    services.teacher_update(teacher=teacher, school=world.school_a, title="高级教师", **values)

    assert caught.value.message_dict == {"school": ["该教师还有进行中的结对,请先结束结对或更换帮扶教师,再调整学校。"]}
    teacher.refresh_from_db()
    assert (teacher.school, teacher.title, teacher.user.full_name) == (world.school_a, "高级教师", "张老师")


def test_the_admin_saves_an_assessment_through_the_service_and_shows_its_refusal(client, world):
    # County staff with admin access: 认定 is not the 系统管理员 role's to read (zaoyang_aid.fields).
    world.county.is_staff = world.county.is_superuser = True
    world.county.save()
    client.force_login(world.county)
    level = HardshipLevel.objects.get(name="困难", stage="")
    senior = HardshipLevel.objects.create(name="高中困难", stage=Stage.SENIOR)
    data = {"student": world.student_a1.pk, "term": world.term.pk, "decided_on": "2026-09-10", "note": ""}

    refused = client.post(reverse("admin:pairing_hardshipassessment_add"), data | {"level": senior.pk})
    saved = client.post(reverse("admin:pairing_hardshipassessment_add"), data | {"level": level.pk})

    assert refused.context["adminform"].form.errors == {"level": ["“高中困难”不是初中学段使用的困难等级,请重新选择。"]}
    assert saved.status_code == 302
    assert HardshipAssessment.objects.get(student=world.student_a1, term=world.term).level == level
