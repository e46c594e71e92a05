"""The `world` fixture, made available everywhere by the root conftest.py: a small county for
access tests. Two schools, each with an officer, a counsellor and two teachers who 包保 one student
each; plus county staff, an admin and an account without a role. Time stands at WORLD_TODAY."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from zaoyang_aid.access import Role

from . import factories as f


@dataclass
class World:
    school_a: Any
    school_b: Any
    officer_a: Any
    officer_b: Any
    counsellor_a: Any
    teacher_a1: Any
    teacher_a2: Any
    teacher_b1: Any
    student_a1: Any
    student_a2: Any
    student_b1: Any
    county: Any
    admin: Any
    nobody: Any
    term: Any


# The day the world's tests live on: a Monday in the middle of its term (a school week).
WORLD_TODAY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def world(db: Any, time_machine: Any) -> World:
    time_machine.move_to(WORLD_TODAY, tick=False)
    term = f.TermFactory()
    school_a = f.SchoolFactory(name="枣阳市第一中学")
    school_b = f.SchoolFactory(name="枣阳市吴店镇中学")
    pa1 = f.PairingFactory(teacher__school=school_a, student__name="张小明")
    pa2 = f.PairingFactory(teacher__school=school_a, student__name="李小红")
    pb1 = f.PairingFactory(teacher__school=school_b, student__name="王小刚")
    for pairing in (pa1, pa2, pb1):
        f.GuardianFactory(student=pairing.student)
        f.HouseholdMemberFactory(household=pairing.student.household, annual_income=8765)
    return World(
        school_a=school_a,
        school_b=school_b,
        officer_a=f.OfficerFactory(school=school_a).user,
        officer_b=f.OfficerFactory(school=school_b).user,
        counsellor_a=f.CounsellorFactory(school=school_a).user,
        teacher_a1=pa1.teacher.user,
        teacher_a2=pa2.teacher.user,
        teacher_b1=pb1.teacher.user,
        student_a1=pa1.student,
        student_a2=pa2.student,
        student_b1=pb1.student,
        county=f.CountyUserFactory(),
        admin=f.UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True),
        nobody=f.UserFactory(role=""),
        term=term,
    )
