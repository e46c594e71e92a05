"""factory_boy factories for the ground floor. ID numbers are valid (GB 11643 check digit)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from stdnum.cn import ric

from zaoyang_aid.access import Role

from .. import models


def make_id_number(seq: int, birth: dt.date = dt.date(2012, 3, 4), male: bool = True) -> str:
    """A valid 18-character ID number with the 420683 (枣阳市) prefix, unique per ``seq``.

    The three-digit sequence code is odd for a male (GB 11643); every 500 numbers the birth date
    moves on a day so that numbers never repeat.
    """
    born = birth + dt.timedelta(days=seq // 500)
    order = (seq % 500) * 2 + (1 if male else 0)
    body = f"420683{born:%Y%m%d}{order:03d}"
    return body + ric.calc_check_digit(body + "0")


@lru_cache(maxsize=1)
def demo_password_hash() -> str:
    """Argon2 is slow on purpose: hash the test password once per run, not once per user."""
    return make_password("zaoyang2026")


class TownFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Town
        django_get_or_create = ("code",)

    code = "420683001"
    name = "北城街道"
    kind = models.TownKind.STREET


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.School

    name = factory.Sequence(lambda n: f"枣阳市第{n + 1}中学")
    code = factory.Sequence(lambda n: f"21420{n:05d}")
    stage = models.Stage.JUNIOR
    town = factory.SubFactory(TownFactory)


class SchoolYearFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SchoolYear
        django_get_or_create = ("start_year",)

    start_year = 2026


class TermFactory(factory.django.DjangoModelFactory):
    """2026-2027学年第一学期 by default: 2026-09-01 to 2027-01-22."""

    class Meta:
        model = models.Term
        django_get_or_create = ("school_year", "number")

    school_year = factory.SubFactory(SchoolYearFactory)
    number = 1
    start_date = dt.date(2026, 9, 1)
    end_date = dt.date(2027, 1, 22)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.TEACHER
    password = factory.LazyFunction(demo_password_hash)


class TeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Teacher

    user = factory.SubFactory(UserFactory, role=Role.TEACHER)
    school = factory.SubFactory(SchoolFactory)
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    title = "一级教师"


class OfficerFactory(TeacherFactory):
    user = factory.SubFactory(UserFactory, role=Role.OFFICER)


class CounsellorFactory(TeacherFactory):
    user = factory.SubFactory(UserFactory, role=Role.COUNSELLOR)


class CountyUserFactory(UserFactory):
    role = Role.COUNTY


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Household

    town = factory.SubFactory(TownFactory)
    village = "沙店村"
    address_detail = "三组12号"


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Student

    name = factory.Sequence(lambda n: f"学生{n}")
    gender = models.Gender.MALE
    id_number = factory.Sequence(lambda n: make_id_number(n))
    birth_date = factory.LazyAttribute(lambda o: ric.get_birth_date(o.id_number))
    student_number = factory.LazyAttribute(lambda o: "G" + o.id_number)
    school = factory.SubFactory(SchoolFactory)
    grade = 1
    class_name = "1班"
    hukou_type = models.HukouType.RURAL
    household = factory.SubFactory(HouseholdFactory)


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Guardian

    student = factory.SubFactory(StudentFactory)
    name = "王建国"
    relation = "父亲"
    phone = "13912345678"


class GuardianConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.GuardianConsent

    student = factory.SubFactory(StudentFactory)
    scope = models.ConsentScope.PROCESSING
    given_on = dt.date(2026, 9, 1)
    given_by_name = "王建国"
    relation = "父亲"
    method = models.ConsentMethod.SIGNED
    recorded_by = factory.SubFactory(UserFactory, role=Role.OFFICER)


class HouseholdMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.HouseholdMember

    household = factory.SubFactory(HouseholdFactory)
    name = "王建国"
    age = 42
    relation = "父亲"
    occupation = "务农"
    annual_income = 12000


class PairingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Pairing

    teacher = factory.SubFactory(TeacherFactory)
    student = factory.SubFactory(StudentFactory, school=factory.SelfAttribute("..teacher.school"))
    started_on = dt.date(2026, 9, 1)
