"""What PostgreSQL itself must hold (run when DATABASE_URL points at PostgreSQL, as in CI)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import IntegrityError, connection, connections, transaction

from pairing.models import Pairing, Term

from . import factories as f

pytestmark = [pytest.mark.postgres]


@pytest.mark.django_db
def test_one_active_pairing_per_student_is_a_partial_unique_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'one_active_pairing_per_student'")
        (indexdef,) = cursor.fetchone()
    assert "UNIQUE" in indexdef and "WHERE (ended_on IS NULL)" in indexdef


@pytest.mark.django_db(transaction=True)
def test_two_officers_pairing_the_same_student_at_once_leave_one_active_pairing():
    student = f.StudentFactory()
    first, second = f.TeacherFactory(school=student.school), f.TeacherFactory(school=student.school)
    first_inserted = threading.Event()
    outcomes: dict[str, str] = {}

    def pair(name, teacher, before_commit=None, wait_for=None):
        try:
            if wait_for is not None:
                wait_for.wait(timeout=5)
            with transaction.atomic():
                Pairing.objects.create(teacher=teacher, student=student, started_on=dt.date(2026, 9, 1))
                if before_commit is not None:
                    before_commit.set()
                    time.sleep(0.5)  # the other insert now waits on this one's index entry
            outcomes[name] = "created"
        except IntegrityError:
            outcomes[name] = "refused"
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=pair, args=("first", first), kwargs={"before_commit": first_inserted}),
        threading.Thread(target=pair, args=("second", second), kwargs={"wait_for": first_inserted}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert outcomes == {"first": "created", "second": "refused"}
    assert Pairing.objects.filter(student=student, ended_on__isnull=True).count() == 1


@pytest.mark.django_db
def test_postgresql_refuses_overlapping_terms_whatever_the_path():
    autumn = f.TermFactory()  # 2026-09-01 .. 2027-01-22
    spring = f.SchoolYearFactory(start_year=2027)

    with pytest.raises(IntegrityError, match="term_dates_do_not_overlap"), transaction.atomic():
        Term.objects.create(school_year=spring, number=2, start_date=dt.date(2027, 1, 22), end_date=dt.date(2027, 7, 2))
    # The day after the autumn term ends is free.
    Term.objects.create(school_year=spring, number=2, start_date=dt.date(2027, 1, 23), end_date=dt.date(2027, 7, 2))
    assert Term.objects.count() == 2 and autumn.pk


@pytest.mark.django_db
def test_every_connection_plans_for_a_database_held_in_memory():
    """The settings' connection options: no JIT, and random_page_cost 1.1, not PostgreSQL's 4 for a
    spinning disk (with 4 the county page's recount after a talk scanned every pairing of the county
    for one school's: zaoyang_aid/settings.py)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone() == ("1.1",)
