"""Validators for 身份证号, 学籍号 and phone numbers, and the checks Student.full_clean adds on top."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from stdnum.cn import ric

from pairing.models import Gender, Stage, Student
from pairing.validators import validate_id_number, validate_phone, validate_student_number

from .factories import SchoolFactory, StudentFactory, make_id_number

ID = "420683201203040014"  # 枣阳市, born 2012-03-04, 17th digit 1: male
ID_X = "42068320120304009X"  # the same birth date, check digit X


def with_check_digit(body: str) -> str:
    """Complete a 17-digit body with its GB 11643 check digit."""
    return body + ric.calc_check_digit(body + "0")


def is_chinese(message: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in message)


def refusal(validator, value: str) -> ValidationError:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        validator(value)
    assert all(is_chinese(m) for m in caught.value.messages), caught.value.messages
    return caught.value


# --- 身份证号 ---------------------------------------------------------------------------------------


def test_a_zaoyang_id_number_is_accepted() -> None:
    assert with_check_digit(ID[:17]) == ID
    validate_id_number(ID)


def test_an_id_number_with_an_x_check_digit_is_accepted() -> None:
    assert with_check_digit(ID_X[:17]) == ID_X
    validate_id_number(ID_X)


def test_a_lower_case_x_is_accepted_because_the_validator_upper_cases() -> None:
    validate_id_number(ID_X.lower())


def test_surrounding_spaces_are_ignored() -> None:
    validate_id_number(f" {ID} ")


def test_id_number_with_wrong_check_digit_is_refused() -> None:
    error = refusal(validate_id_number, ID[:17] + "5")

    assert error.code == "checksum"
    assert error.messages == ["身份证号校验位不正确,请核对是否输错。"]


@pytest.mark.parametrize("value", [ID[:17], ID + "0"])
def test_id_number_of_17_or_19_characters_is_refused(value: str) -> None:
    error = refusal(validate_id_number, value)

    assert error.code == "length"
    assert error.messages == [f"身份证号应为18位,当前为{len(value)}位。"]


def test_letters_in_the_first_17_characters_are_refused() -> None:
    error = refusal(validate_id_number, "42068320120304X014")

    assert error.code == "characters"


def test_an_impossible_birth_date_is_refused() -> None:
    error = refusal(validate_id_number, with_check_digit("42068320230230001"))

    assert error.code == "birth_date"
    assert error.messages == ["身份证号中的出生日期不存在。"]


def test_a_birth_date_after_today_is_refused() -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    error = refusal(validate_id_number, with_check_digit(f"420683{tomorrow:%Y%m%d}001"))

    assert error.code == "birth_date_future"


def test_a_birth_date_after_a_frozen_today_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pairing.validators.timezone.localdate", lambda *args, **kwargs: dt.date(2012, 3, 3))

    assert refusal(validate_id_number, ID).messages == ["身份证号中的出生日期晚于今天。"]


def test_an_unknown_region_code_is_refused_with_its_own_message() -> None:
    error = refusal(validate_id_number, with_check_digit("99999920120304001"))

    assert error.code == "region"


# --- 学籍号 ----------------------------------------------------------------------------------------


def test_a_g_student_number_with_a_valid_id_is_accepted() -> None:
    validate_student_number("G" + ID)
    validate_student_number("G" + ID_X)


def test_a_g_student_number_with_an_invalid_id_is_refused_with_the_reason() -> None:
    error = refusal(validate_student_number, "G" + ID[:17] + "5")

    assert error.code == "g_id"
    assert error.messages == ["G字头学籍号应为G加上学生的身份证号:身份证号校验位不正确,请核对是否输错。"]


@pytest.mark.parametrize("value", ["J420683201203040099", "L810000201203040012", "L81000020120304001X"])
def test_j_and_l_student_numbers_are_accepted(value: str) -> None:
    validate_student_number(value)


@pytest.mark.parametrize("value", ["G" + ID[:17], "G" + ID + "1"])
def test_a_student_number_of_the_wrong_length_is_refused(value: str) -> None:
    assert refusal(validate_student_number, value).code == "length"


@pytest.mark.parametrize("value", ["A" + ID, "1" + ID, "K" + ID])
def test_a_student_number_with_the_wrong_prefix_is_refused(value: str) -> None:
    assert refusal(validate_student_number, value).code == "format"


# --- Phone numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["13912345678", "19912345678", " 13912345678 "])
def test_a_mobile_number_is_accepted(value: str) -> None:
    validate_phone(value)


@pytest.mark.parametrize("value", ["", "1391234567", "139123456789", "12912345678", "+8613912345678", "0710-6212345"])
def test_anything_but_an_11_digit_mobile_number_is_refused(value: str) -> None:
    assert refusal(validate_phone, value).messages == ["请输入11位手机号码。"]


# --- Student.full_clean ----------------------------------------------------------------------------


def clean_errors(student: Student) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        student.full_clean()
    errors = caught.value.message_dict
    assert all(is_chinese(m) for messages in errors.values() for m in messages), errors
    return errors


@pytest.mark.django_db
def test_a_factory_student_is_clean() -> None:
    StudentFactory().full_clean()


@pytest.mark.django_db
def test_a_birth_date_not_matching_the_id_is_refused() -> None:
    student = StudentFactory(id_number=ID, student_number="G" + ID, birth_date=dt.date(2012, 3, 5))

    assert clean_errors(student) == {"birth_date": ["出生日期与身份证号不一致(身份证号为2012年03月04日)。"]}


@pytest.mark.django_db
def test_a_gender_not_matching_the_ids_17th_digit_is_refused() -> None:
    student = StudentFactory(gender=Gender.FEMALE)  # factory numbers are male (odd 17th digit)

    assert clean_errors(student) == {"gender": ["性别与身份证号不一致(身份证号为男性)。"]}


@pytest.mark.django_db
def test_a_female_id_with_female_gender_is_clean() -> None:
    id_number = make_id_number(7, male=False)
    StudentFactory(gender=Gender.FEMALE, id_number=id_number).full_clean()


@pytest.mark.django_db
def test_a_g_student_number_not_matching_the_id_is_refused() -> None:
    student = StudentFactory(id_number=ID, student_number="G" + ID_X)

    assert list(clean_errors(student)) == ["student_number"]


@pytest.mark.django_db
def test_a_grade_outside_the_schools_stage_is_refused() -> None:
    student = StudentFactory(school=SchoolFactory(stage=Stage.JUNIOR), grade=4)

    assert clean_errors(student) == {"grade": ["初中没有这个年级。"]}


@pytest.mark.django_db
def test_grade_6_is_fine_in_a_primary_school() -> None:
    StudentFactory(school=SchoolFactory(stage=Stage.PRIMARY), grade=6).full_clean()


@pytest.mark.django_db
def test_a_second_student_with_the_same_id_number_is_refused() -> None:
    first = StudentFactory()
    second = StudentFactory.build(
        id_number=first.id_number, student_number="J420683201203040099", school=first.school, household=first.household
    )

    assert "id_number" in clean_errors(second)
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


@pytest.mark.django_db
def test_a_second_student_with_the_same_student_number_is_refused() -> None:
    first = StudentFactory(id_number=make_id_number(1), student_number="J420683201203040099")
    second = StudentFactory.build(
        id_number=make_id_number(2), student_number=first.student_number, school=first.school, household=first.household
    )

    assert "student_number" in clean_errors(second)
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
