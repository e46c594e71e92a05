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
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from guidance import demo as guidance_demo
from guidance import reminders
from guidance.compliance import WeekState, compliance_for
from guidance.models import (
    AidPolicy,
    ExcusedWeek,
    FlagKind,
    FlagStatus,
    HomeVisit,
    HomeVisitPhoto,
    Notification,
    Reminder,
    SweepOutcome,
    SweepRun,
    TalkRecord,
    TalkRecordFlag,
    TalkRecordRevision,
)
from guidance.tallies import tally_verify
from pairing.models import EnrollmentChange, EnrollmentStatus, Pairing, School, Teacher, Term
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


# --- The cases a walk through the demo meets -------------------------------------------------------


def _week_bits(term: Term, since: dt.date) -> int:
    """The compliance engine's bits of the term's weeks from the week of ``since`` on."""
    first_monday = calendar.monday_of(term.start_date)
    return ~((1 << ((calendar.monday_of(since) - first_monday).days // 7)) - 1)


def _demo_user(username: str):
    return get_user_model().objects.select_related("teacher").get(username=username)


@pytest.mark.django_db
def test_the_student_on_leave_is_away_with_no_talk_and_no_owed_week_since(seeded, client):
    term, today = _current_term(), timezone.localdate()
    change = EnrollmentChange.objects.get(
        status=EnrollmentStatus.SUSPENDED, student__enrollment_status=EnrollmentStatus.SUSPENDED
    )
    assert term.start_date < change.effective_on < calendar.monday_of(today)  # mid-term
    pairing = Pairing.objects.active().get(student_id=change.student_id)
    row = compliance_for(Pairing.objects.filter(pk=pairing.pk), term=term, as_of=today)[pairing.pk]
    assert row.week_state == WeekState.AWAY
    assert row.week_state_label == "休学·暂停记录"
    assert (
        row.away_reason
        == f"休学({change.effective_on.year}年{change.effective_on.month}月{change.effective_on.day}日起),暂停每周谈话"
    )
    assert not row.owed_bits & _week_bits(term, change.effective_on)
    assert row.talk_bits and not row.talk_bits & _week_bits(term, change.effective_on)
    assert not TalkRecord.objects.filter(pairing__student_id=change.student_id, date__gte=change.effective_on).exists()
    client.force_login(_demo_user("demo_officer"))
    url = reverse("guidance:school_dashboard")
    pages = client.get(url).context["students"].paginator.num_pages  # thirty students a page
    assert any(row.week_state_label in client.get(url, {"page": n}).content.decode() for n in range(1, pages + 1))


@pytest.mark.django_db
def test_the_student_back_from_leave_owes_again_from_the_return(seeded):
    term, today = _current_term(), timezone.localdate()
    away, back = EnrollmentChange.objects.filter(
        student__status_changes__status=EnrollmentStatus.SUSPENDED, to_school__isnull=True
    ).exclude(student__enrollment_status=EnrollmentStatus.SUSPENDED)
    assert (away.status, back.status) == (EnrollmentStatus.SUSPENDED, EnrollmentStatus.ENROLLED)
    assert term.start_date < away.effective_on < back.effective_on < calendar.monday_of(today)
    pairing = Pairing.objects.active().get(student_id=back.student_id)
    row = compliance_for(Pairing.objects.filter(pk=pairing.pk), term=term, as_of=today)[pairing.pk]
    spell = _week_bits(term, away.effective_on) & ~_week_bits(term, back.effective_on)
    assert not row.owed_bits & spell
    assert row.owed_bits & _week_bits(term, back.effective_on) and row.this_week_expected
    talks = TalkRecord.objects.filter(pairing=pairing)
    assert not talks.filter(date__gte=away.effective_on, date__lt=back.effective_on).exists()
    assert talks.filter(date__gte=back.effective_on).exists()


@pytest.mark.django_db
def test_demo_teacher_sees_whom_they_took_over_from_and_the_talks_before(seeded, client):
    term = _current_term()
    teacher = Teacher.objects.get(user__username="demo_teacher")
    taken = Pairing.objects.get(teacher=teacher, ended_on__isnull=True, started_on__gt=term.start_date)
    earlier = Pairing.objects.select_related("teacher__user").get(student=taken.student, ended_on=taken.started_on)
    before = TalkRecord.objects.filter(pairing=earlier, term=term).count()
    assert before >= 3
    client.force_login(teacher.user)
    page = client.get(reverse("guidance:my_students")).content.decode()
    day = f"{taken.started_on.month}月{taken.started_on.day}日"
    assert f"{day}从{earlier.teacher.user.full_name}老师接手 · 此前本学期已有{before}次记录" in page


@pytest.mark.django_db
def test_a_late_entry_has_the_officers_permission_and_counts_in_the_tallies(seeded):
    officer = _demo_user("demo_officer")
    (talk,) = TalkRecord.objects.filter(late_permission__isnull=False).select_related(
        "late_permission", "pairing__teacher__user"
    )
    permission = talk.late_permission
    assert talk.entered_late and permission.reason and permission.granted_by == officer
    open_window = calendar.monday_of(timezone.localdate()) - dt.timedelta(weeks=1)  # this week and the last
    assert talk.week_monday == permission.week_monday < open_window
    assert talk.pairing.teacher.user.username == "demo_teacher"
    assert permission.created_at <= talk.created_at <= timezone.now()
    assert tally_verify().differences == 0
    # It answered the reminder that the week had gone without a talk.
    (reminder,) = Reminder.objects.filter(pairing=talk.pairing, period=talk.week_monday)
    assert reminder.resolved_at == talk.created_at


@pytest.mark.django_db
def test_an_officer_excused_a_week_at_the_demo_school_this_term(seeded):
    officer = _demo_user("demo_officer")
    assert ExcusedWeek.objects.filter(
        excused_by=officer,
        pairing__student__school_id=officer.teacher.school_id,
        week_monday__gte=calendar.monday_of(_current_term().start_date),
    ).exists()


@pytest.mark.django_db
def test_the_reminders_were_swept_once_for_each_school_week_of_the_term_so_far(seeded, client):
    today = timezone.localdate()
    weeks = [w for w in _current_term().school_weeks() if w.school_days[0] <= today]
    runs = SweepRun.objects.values_list("week_monday", "first_school_day", "swept_on", "outcome")
    assert sorted(runs) == [(w.monday, w.school_days[0], w.school_days[0], SweepOutcome.ON_TIME) for w in weeks]
    assert reminders.sweep(on=today).reminders_created == 0  # nothing is swept twice
    for username in ("demo_teacher", "demo_officer", "demo_county"):
        user = _demo_user(username)
        notices = Notification.objects.filter(recipient=user)
        assert notices.exists(), username
        assert all(n.created_at <= timezone.now() for n in notices)
        client.force_login(user)
        assert notices.latest("created_at").title in client.get(reverse("guidance:notifications")).content.decode()


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


@pytest.mark.django_db
def test_the_demo_school_has_five_three_cards_in_each_state(seeded):
    """Past terms' reviewed with marks; this term's filled for demo_teacher's first two students,
    missing for the third and for some colleagues' (the officer's dashboard lists them)."""
    from guidance.dashboards import school_dashboard
    from guidance.models import FiveThreeCard

    teacher = Teacher.objects.get(user__username="demo_teacher")
    term = _current_term()
    mine = sorted(Pairing.objects.active().filter(teacher=teacher), key=lambda p: p.started_on)
    cards = FiveThreeCard.objects.filter(term=term)
    assert [cards.filter(student=p.student).exists() for p in mine] == [True, True, False]
    past = FiveThreeCard.objects.exclude(term=term)
    assert past.exists() and not past.filter(reviewed_at__isnull=True).exists()
    assert all(len(c.promise_marks) == 3 and len(c.mottos) == 3 for c in past)
    officer = Teacher.objects.get(user__username="demo_officer").user
    board = school_dashboard(officer, term=term).cards
    assert mine[2] in board.missing and len(board.missing) > 1 and board.filled > 2


@pytest.mark.django_db
def test_the_demo_school_has_flags_of_each_kind_returned_revised_and_passed(seeded, client):
    officer = Teacher.objects.select_related("user").get(user__username="demo_officer")
    flags = TalkRecordFlag.objects.filter(talk__pairing__student__school_id=officer.school_id)
    assert set(flags.values_list("kind", flat=True)) == set(FlagKind.values)
    assert {FlagStatus.OPEN, FlagStatus.RETURNED, FlagStatus.CLEARED} <= set(flags.values_list("status", flat=True))
    revised = flags.get(kind=FlagKind.SHORT, status=FlagStatus.CLEARED)
    assert TalkRecordRevision.objects.filter(talk=revised.talk).exists() and revised.revised_at is not None
    client.force_login(officer.user)
    assert client.get(reverse("guidance:quality_queue")).content.decode().count("data-flag=") == flags.count()
    client.force_login(get_user_model().objects.get(username="demo_teacher"))
    assert "data-returned-flag=" in client.get(reverse("guidance:my_students")).content.decode()
