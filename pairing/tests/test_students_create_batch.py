"""students_create (the roster import's batch entry) applies student_create's rules with the same
messages, writes the clean students and logs each row as student_create's signals would."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from pairing import services
from pairing.models import Guardian, Student
from pairing.tests import factories as f
from pairing.tests.factories import make_id_number
from zaoyang_aid.models import AuditEvent

pytestmark = pytest.mark.django_db


def arguments(seq: int, town: Any, **changes: Any) -> dict[str, Any]:
    id_number = make_id_number(seq)
    values = {
        "name": "张三",
        "gender": "M",
        "birth_date": dt.date(2012, 3, 4),
        "id_number": id_number,
        "student_number": "G" + id_number,
        "grade": 1,
        "class_name": "1班",
        "hukou_type": "rural",
    }
    values.update(changes.pop("values", {}))
    return {
        "values": values,
        "household": {"town": town, "village": "沙店村", "address_detail": ""},
        "guardians": [{"name": "张父", "relation": "父亲", "phone": "13912345678"}],
        **changes,
    }


BAD = [
    {"values": {"birth_date": dt.date(2012, 3, 5)}},
    {"values": {"hukou_type": ""}},
    {"household": {"town": None, "village": ""}},
    {"guardians": []},
    {"guardians": [{"name": "张父", "relation": "", "phone": "123"}]},
]


@pytest.mark.parametrize("changes", BAD)
def test_a_bad_student_gets_the_same_errors_as_from_student_create(changes: dict[str, Any]) -> None:
    school, county = f.SchoolFactory(), f.CountyUserFactory()
    call = arguments(1, school.town, **changes)
    with pytest.raises(ValidationError) as single:
        services.student_create(
            by=county, school=school, household=call["household"], guardians=call["guardians"], **call["values"]
        )
    batch = services.students_create(by=county, new=[services.NewStudent(school=school, **call)])
    assert batch == [single.value.message_dict]
    assert not Student.objects.exists()


def test_taken_numbers_and_schools_out_of_scope_are_refused_as_by_student_create() -> None:
    school, other = f.SchoolFactory(), f.SchoolFactory()
    officer = f.OfficerFactory(school=school).user
    taken = f.StudentFactory(school=school, id_number=make_id_number(5))
    calls = [arguments(5, school.town), arguments(6, school.town)]
    for call, where in ((calls[0], school), (calls[1], other)):
        with pytest.raises(ValidationError) as single:
            services.student_create(
                by=officer, school=where, household=call["household"], guardians=call["guardians"], **call["values"]
            )
        batch = services.students_create(by=officer, new=[services.NewStudent(school=where, **call)])
        assert batch == [single.value.message_dict]
    assert list(Student.objects.all()) == [taken]


def test_clean_students_are_written_and_logged_and_bad_ones_skipped() -> None:
    school, county = f.SchoolFactory(), f.CountyUserFactory()
    new = [
        services.NewStudent(school=school, **arguments(1, school.town)),
        services.NewStudent(school=school, **arguments(2, school.town, guardians=[])),
        services.NewStudent(school=school, **arguments(3, school.town)),
    ]
    results = services.students_create(by=county, new=new)
    assert [bool(r) for r in results] == [False, True, False]
    assert Student.objects.count() == 2 and Guardian.objects.count() == 2
    student = Student.objects.get(id_number=make_id_number(1))
    lines = AuditEvent.objects.filter(student_id=student.pk, action="create")
    assert sorted(e.object_type for e in lines) == ["学生", "监护人"]
    assert student.id_number not in str(lines.get(object_type="学生").changes)  # masked as the signal masks it
