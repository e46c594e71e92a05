"""The guidance demo seeder at small scale: talks only on school days of school weeks while a pairing
is active, the demo teacher's three states, realistic gaps, photos on disk, flush and determinism."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from guidance import demo as guidance_demo
from guidance.compliance import WeekState, compliance_for
from guidance.models import AidPolicy, ExcusedWeek, HomeVisit, HomeVisitPhoto, TalkRecord
from pairing.models import Pairing, School, Teacher, Term
from zaoyang_aid import calendar
from zaoyang_aid import demo as demo_helpers

# A Wednesday afternoon in the middle of a term: the current week is half gone.
WEDNESDAY = dt.datetime(2026, 11, 18, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def seed_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo-media")


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker, demo_media) -> Iterator[str]:
    """One small demo for the module, inside a transaction rolled back at its end: each test runs in
    a savepoint on top of it, as in Django's TestCase.setUpTestData (seeding takes a few seconds)."""
    with (
        django_db_blocker.unblock(),
        override_settings(DEBUG=True, MEDIA_ROOT=demo_media),
        time_machine.travel(WEDNESDAY, tick=False),
        transaction.atomic(),
    ):
        try:
            yield seed_demo("--seed", "7")
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_once, db, settings, demo_media, time_machine) -> str:
    settings.DEBUG = True  # the suite runs with DEBUG off, as production does
    settings.MEDIA_ROOT = demo_media
    time_machine.move_to(WEDNESDAY, tick=False)
    return seeded_once


def _current_term() -> Term:
    return Term.objects.current(timezone.localdate())


# --- What is made -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_adds_talks_visits_photos_and_excused_weeks(seeded):
    active = Pairing.objects.active().count()
    assert 30 * active < TalkRecord.objects.count() < 60 * active  # about 45 school weeks so far
    assert 2 * active < HomeVisit.objects.count() < 3.2 * active
    assert HomeVisitPhoto.objects.exists() and ExcusedWeek.objects.exists()
    assert "谈心谈话与学业辅导记录" in seeded


@pytest.mark.django_db
def test_every_talk_falls_on_a_school_day_of_its_term_while_its_pairing_is_active(seeded):
    today = timezone.localdate()
    terms = {t.pk: t for t in Term.objects.select_related("school_year")}
    weeks = {
        (term.pk, school_id): {d for w in term.school_weeks(school_id) for d in w.school_days}
        for term in terms.values()
        for school_id in School.objects.values_list("pk", flat=True)
    }
    talks = TalkRecord.objects.values_list(
        "date", "week_monday", "term_id", "pairing__student__school_id", "pairing__started_on", "pairing__ended_on"
    )
    for day, monday, term_id, school_id, started_on, ended_on in talks:
        assert monday == calendar.monday_of(day)
        assert terms[term_id].start_date <= day <= terms[term_id].end_date
        assert day in weeks[(term_id, school_id)], day
        assert started_on <= day and (ended_on is None or day < ended_on)
        assert day <= today


@pytest.mark.django_db
def test_every_talk_passes_the_models_checks(seeded):
    for talk in list(TalkRecord.objects.order_by("pk"))[::40]:
        talk.full_clean()
        assert talk.tracks and talk.help_forms and talk.content.endswith("。")
        assert talk.date <= timezone.localdate(talk.created_at) and talk.created_at <= timezone.now()


@pytest.mark.django_db
def test_visits_fall_in_their_term_while_active_and_explain_the_students_policies(seeded):
    policies = {p.pk: p for p in AidPolicy.objects.all()}
    for visit in HomeVisit.objects.select_related("pairing__student__school", "term").prefetch_related("policies"):
        pairing = visit.pairing
        assert visit.term.start_date <= visit.date <= min(visit.term.end_date, timezone.localdate())
        assert pairing.active_on(visit.date)
        assert visit.form_parent and visit.policies.all()
        assert all(policies[p.pk].applies_to(pairing.student.school.stage) for p in visit.policies.all())
        visit.full_clean()


# --- Behaviour ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_teacher_has_one_pairing_done_one_due_and_one_overdue(seeded):
    teacher = Teacher.objects.get(user__username="demo_teacher")
    rows = compliance_for(
        Pairing.objects.filter(teacher=teacher, ended_on__isnull=True), term=_current_term(), as_of=timezone.localdate()
    )
    assert sorted(r.week_state for r in rows.values()) == sorted([WeekState.DONE, WeekState.DUE, WeekState.OVERDUE])
    overdue = next(r for r in rows.values() if r.week_state == WeekState.OVERDUE)
    assert not overdue.home_visit_done


@pytest.mark.django_db
def test_the_county_shows_realistic_gaps(seeded):
    today = timezone.localdate()
    rows = list(compliance_for(Pairing.objects.all(), term=_current_term(), as_of=today).values())
    states = Counter(r.week_state for r in rows)
    assert 0.3 < states[WeekState.DONE] / len(rows) < 0.7  # about half done by Wednesday
    assert states[WeekState.OVERDUE] >= 3  # stopped and sloppy teachers
    assert 0.75 < sum(r.home_visit_done for r in rows) / len(rows) < 0.95
    term_rate = sum(r.done_weeks for r in rows) / sum(r.expected_weeks for r in rows)
    assert 0.8 < term_rate < 0.97
    weeks = Counter(TalkRecord.objects.values_list("pairing_id", "week_monday"))
    assert 2 in weeks.values()  # now and then two talks in a week
    never = Pairing.objects.active().exclude(pk__in=HomeVisit.objects.values("pairing")).count()
    assert never >= 1  # some teachers never visit
    tracks = Counter(f for t in TalkRecord.objects.all() for f in t.tracks)
    assert tracks.most_common(1)[0][0] == "学业辅导"


# --- Photos ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_visit_photos_are_small_jpegs_from_one_pool_on_disk(seeded, demo_media):
    media = demo_media
    names = set(HomeVisitPhoto.objects.values_list("image", flat=True))
    assert 1 < len(names) <= guidance_demo.POOL_SIZE
    for name in names:
        with Image.open(media / name) as image:
            assert image.format == "JPEG" and image.size == (640, 480)
            assert not image.getexif()
    per_visit = Counter(HomeVisitPhoto.objects.values_list("visit_id", flat=True))
    assert max(per_visit.values()) <= 3


@pytest.mark.django_db
def test_flush_removes_the_guidance_rows_and_the_photo_pool(seeded, settings, demo_media, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # a copy: the other tests still read the module's pool
    shutil.copytree(demo_media, settings.MEDIA_ROOT)
    pool = Path(settings.MEDIA_ROOT) / guidance_demo.POOL_DIR
    assert len(list(pool.glob("*.jpg"))) == guidance_demo.POOL_SIZE
    ctx = demo_helpers.DemoContext(
        rng=random.Random(0), scale="small", today=timezone.localdate(), stdout=io.StringIO(), password_hash=""
    )
    guidance_demo.flush(ctx)
    for model in (TalkRecord, HomeVisit, HomeVisitPhoto, ExcusedWeek, HomeVisit.policies.through):
        assert not model.objects.exists()
    assert not pool.exists()
    assert Pairing.objects.exists()  # the ground floor's rows are pairing's to flush
    demo_helpers.flush_seeders(ctx, demo_helpers.discover_seeders())
    connection.check_constraints()  # nothing left pointing at a deleted row


# --- Determinism ----------------------------------------------------------------------------------


def _snapshot(media: Path) -> tuple[list, list, list]:
    """The talks and visits by what they say (primary keys differ from load to load), and the pictures."""
    talks = sorted(
        TalkRecord.objects.values_list(
            "pairing__student__id_number", "date", "content", "student_state", "next_steps", "created_at"
        )
    )
    visits = sorted(
        HomeVisit.objects.values_list("pairing__student__id_number", "date", "living_conditions", "visitors")
    )
    pool = [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((media / guidance_demo.POOL_DIR).glob("*"))]
    return talks, visits, pool


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_talks_visits_and_pictures(seeded, settings, demo_media, tmp_path):
    first = _snapshot(demo_media)
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_demo("--seed", "7", "--flush")
    assert _snapshot(Path(settings.MEDIA_ROOT)) == first
