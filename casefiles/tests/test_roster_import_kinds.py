"""The teacher and pairing rosters through the import page and ``import_roster``, as the student
roster goes (issue 10, point 6): registered kinds, their templates read back as empty rosters, the
preview writes nothing, the commit is all or nothing, new accounts' one-time passwords are shown once
(in the commit's answer, never again, never stored), and a re-import changes nothing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from casefiles.imports.kinds import ROSTER_KINDS
from casefiles.imports.template import template_write
from casefiles.models import RosterImport
from pairing.models import Pairing, Teacher
from pairing.tests import factories as f
from pairing.tests.world import World
from zaoyang_aid.models import AuditEvent
from zaoyang_aid.spreadsheets import open_bytes

from .test_roster_pairings import HEADER as PAIRING_HEADER
from .test_roster_pairings import TITLE as PAIRING_TITLE
from .test_roster_pairings import row_of
from .test_roster_teachers import HEADER as TEACHER_HEADER
from .test_roster_teachers import TITLE as TEACHER_TITLE
from .test_roster_teachers import new_rows, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(client: Any, kind: str, data: bytes) -> RosterImport:
    response = client.post(
        reverse("casefiles:import_upload"), {"kind": kind, "file": SimpleUploadedFile("名单.xlsx", data)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return RosterImport.objects.latest("pk")


def test_every_kind_is_offered_and_its_template_reads_back_as_an_empty_roster() -> None:
    assert set(ROSTER_KINDS) == {"students", "teachers", "pairings"}
    for kind in ROSTER_KINDS.values():
        buffer = io.BytesIO()
        template_write(kind, buffer)
        roster = kind.read(open_bytes(buffer.getvalue()))
        assert roster.header.errors == [] and roster.rows == [], kind.name  # the note row is no header


def test_an_officer_imports_teachers_and_sees_their_one_time_passwords_once(client: Any, world: World) -> None:
    client.force_login(world.officer_a)
    item = upload(client, "teachers", xlsx([*TEACHER_TITLE, TEACHER_HEADER, *new_rows(world.school_a.name, 2)]))
    assert not Teacher.objects.filter(phone__startswith="1390000").exists()  # the preview wrote nothing

    answer = client.post(reverse("casefiles:import_commit", args=[item.pk]))

    assert answer.status_code == 200  # not a redirect: the passwords are in this answer only
    page = answer.content.decode()
    accounts = answer.context["accounts"]
    assert [a.username for a in accounts] == ["13900000000", "13900000001"]
    teacher = Teacher.objects.select_related("user").get(phone="13900000000")
    assert teacher.school == world.school_a and teacher.user.check_password(accounts[0].password)
    assert accounts[0].password in page and "只在此页显示这一次" in page
    again = client.get(reverse("casefiles:import_result", args=[item.pk])).content.decode()
    assert accounts[0].password not in again and "新增" in again
    assert not AuditEvent.objects.filter(changes__icontains=accounts[0].password).exists()
    assert accounts[0].password not in str(RosterImport.objects.get(pk=item.pk).preview)


def test_a_re_imported_teacher_roster_changes_nothing_and_makes_no_account(client: Any, world: World) -> None:
    client.force_login(world.officer_a)
    data = xlsx([*TEACHER_TITLE, TEACHER_HEADER, *new_rows(world.school_a.name, 2)])
    client.post(reverse("casefiles:import_commit", args=[upload(client, "teachers", data).pk]))
    second = upload(client, "teachers", data)

    answer = client.post(reverse("casefiles:import_commit", args=[second.pk]))

    assert answer.status_code == 302 and Teacher.objects.filter(phone__startswith="1390000").count() == 2
    second.refresh_from_db()
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)


def test_a_pairing_roster_pairs_through_the_page_and_a_bad_row_stops_it_all(client: Any, world: World) -> None:
    teacher = f.TeacherFactory(school=world.school_a)
    students = [f.StudentFactory(school=world.school_a) for _ in range(2)]
    other = f.StudentFactory(school=world.school_a)
    f.PairingFactory(student=other, teacher=f.TeacherFactory(school=world.school_a))
    client.force_login(world.officer_a)
    rows = [row_of(s, teacher, confirm="是") for s in students]  # the world allows one pairing a teacher
    bad = upload(client, "pairings", xlsx([*PAIRING_TITLE, PAIRING_HEADER, *rows, row_of(other, teacher)]))

    refused = client.post(reverse("casefiles:import_commit", args=[bad.pk]))

    assert refused.status_code == 302 and refused["Location"] == reverse("casefiles:import_preview", args=[bad.pk])
    assert not Pairing.objects.filter(teacher=teacher).exists()  # all or nothing
    preview = client.get(refused["Location"]).content.decode()
    assert "另一位帮扶教师" in preview
    good = upload(client, "pairings", xlsx([*PAIRING_TITLE, PAIRING_HEADER, *rows]))
    done = client.post(reverse("casefiles:import_commit", args=[good.pk]))
    assert done["Location"] == reverse("casefiles:import_result", args=[good.pk]), good.preview
    assert set(Pairing.objects.filter(teacher=teacher).values_list("student", flat=True)) == {s.pk for s in students}


def test_the_command_imports_teachers_and_prints_the_new_accounts_once(world: World, tmp_path: Path) -> None:
    path = tmp_path / "教师.xlsx"
    path.write_bytes(xlsx([*TEACHER_TITLE, TEACHER_HEADER, *new_rows(world.school_a.name, 1)]))
    out = io.StringIO()

    call_command("import_roster", str(path), "--kind", "teachers", "--as", world.officer_a.username, stdout=out)

    text = out.getvalue()
    assert "已导入教师名单" in text and "13900000000" in text and "一次性密码" in text
    with pytest.raises(CommandError, match="没有这种名单"):
        call_command("import_roster", str(path), "--kind", "nope", stdout=io.StringIO())
