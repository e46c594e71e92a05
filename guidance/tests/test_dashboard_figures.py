"""Issue 12, point 2: the county's and the officers' dashboards read each school's figures from the
cache (guidance.figures) instead of recounting every pairing per request, and the figures still equal
the engine's after each kind of write.

Each test warms every dashboard (the county's, each town's, each officer's), makes one write through
the service (or the admin) a user would use, then compares what the dashboards show now with a cold
recount (a new county token puts every cached figure out of reach) and with the engine's own rows
summed the way the pages did before the cache. The world stands on Monday 2026-11-16.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import reverse

from guidance import compliance, dashboards, figures, reminders, services, views
from guidance.compliance import Totals, compliance_for, totals_by
from guidance.models import Reminder, ReminderLevel, TalkRecord
from guidance.tallies import tally_verify
from pairing import figures as versions
from pairing import services as pairing_services
from pairing.models import Closure, EnrollmentStatus, Pairing, PairingEndReason, School, Term, Town
from pairing.selectors import term_today
from pairing.tests import factories as pf
from zaoyang_aid import drawn

from .factories import ExcusedWeekFactory, HomeVisitFactory, TalkRecordFactory, talk_values

pytestmark = pytest.mark.django_db

D = dt.date
THIS_MONDAY = D(2026, 11, 16)


def visit_values(**changes: Any) -> dict[str, Any]:
    return {
        "date": D(2026, 11, 14),
        "visitors": "帮扶教师",
        "members_met": "父亲",
        "living_conditions": "砖混平房两间。",
        "study_conditions": "有独立书桌。",
        "tracks": ["track_life"],
        "help_forms": ["form_parent"],
        **changes,
    }


@pytest.fixture
def county(world):
    """The world's two schools plus a school in a second town whose teacher 包保 a student at school A
    (so a pairing counts at one school for the officer and at another for the county), with talks
    missed here and there, a visit and an excused week."""
    a1, a2, b1 = (s.pairings.get() for s in (world.student_a1, world.student_a2, world.student_b1))
    town = pf.TownFactory(code="420683109", name="吴店镇")
    school_c = pf.SchoolFactory(name="吴店镇第一小学", town=town)
    cross = pf.PairingFactory(
        teacher__school=school_c, student__school=world.school_a, started_on=world.term.start_date
    )
    for n, week in enumerate(w for w in world.term.school_weeks() if w.monday <= THIS_MONDAY):
        for i, pairing in enumerate((a1, a2, b1, cross)):
            if (n + i) % 3:
                TalkRecordFactory(pairing=pairing, date=week.school_days[0])
    HomeVisitFactory(pairing=a1)
    ExcusedWeekFactory(pairing=b1, week_monday=D(2026, 10, 12), excused_by=world.officer_b)
    return {"a1": a1, "a2": a2, "b1": b1, "cross": cross, "school_c": school_c, "town": town}


def boards(world) -> dict[str, Any]:
    """Everything the dashboards show that the figures feed, as plain values."""
    term, today = world.term, THIS_MONDAY
    county_board = dashboards.county_dashboard(world.county, term=term, as_of=today)
    shown: dict[str, Any] = {
        "county": (county_board.totals, county_board.towns, county_board.schools, county_board.trend),
    }
    shown["county page"] = county_page(world)
    for town in Town.objects.all():
        board = dashboards.county_town(world.county, town=town, term=term, as_of=today)
        shown[f"town {town.name}"] = (board.totals, board.schools)
    for officer in (world.officer_a, world.officer_b):
        board = dashboards.school_dashboard(officer, term=term, as_of=today)
        shown[f"officer {officer.username}"] = (
            board.totals,
            [(row.pairing.pk, row.compliance) for row in board.students],
            sorted((t.teacher_id, t.totals, t.missed_weeks, t.overdue_now) for t in board.teachers),
        )
    return shown


def county_page(world, town: Town | None = None) -> str:
    """The county dashboard's figures as county staff see them drawn (cached under the tokens)."""
    request = RequestFactory().get("/county/dashboard/", {"town": town.pk} if town else {})
    request.user = world.county
    return str(views._county_board_html(request, today=term_today(), town=town))


def the_engines(world) -> tuple[Totals, dict[int, Totals], dict[int, Totals]]:
    """The county's totals, by town and by school, summed from the engine's rows of every active
    pairing, as the dashboards did before the cache."""
    rows = list(compliance_for(Pairing.objects.active(), term=world.term, as_of=THIS_MONDAY).values())
    total = Totals()
    for row in rows:
        total.add(row)
    return total, totals_by(rows, "town_id"), totals_by(rows, "school_id")


def assert_true_after(world, write) -> None:
    before = boards(world)  # warms every cached figure
    write()
    shown = boards(world)  # from the cache, but for what the write changed
    versions.touch_county()
    drawn.forget()  # the recount's page drawn cold, not from rows kept in this process
    figures.forget()
    recounted = boards(world)
    assert shown == recounted
    total, by_town, by_school = the_engines(world)
    county_board = dashboards.county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)
    assert county_board.totals == total
    assert {line.pk: line.totals for line in county_board.towns if line.totals != Totals()} == by_town
    assert {line.pk: line.totals for line in county_board.schools} == by_school
    return before, shown


def changes(world, write) -> None:
    before, shown = assert_true_after(world, write)
    assert shown != before, "the write should have changed some figure"


# --- The cache is real -------------------------------------------------------------------------------


def test_a_second_look_recounts_nothing_and_a_write_recounts_only_its_schools(world, county, monkeypatch):
    boards(world)
    seen: list[set[int]] = []
    real = compliance.compliance_for

    def spy(pairings, **kwargs):
        seen.append({p.pk for p in pairings})
        return real(pairings, **kwargs)

    monkeypatch.setattr("guidance.figures.compliance_for", spy)
    monkeypatch.setattr("guidance.dashboards.compliance_for", spy)
    boards(world)
    assert seen == []
    # A talk that changes what the engine reads (b1 was talked to this Monday, of 学业辅导 alone).
    services.talk_record_create(
        pairing=county["b1"], recorded_by=world.teacher_b1, **talk_values(date=THIS_MONDAY, tracks=["track_life"])
    )
    boards(world)
    assert seen and set().union(*seen) == {county["b1"].pk}  # school B's, for the county and its officer


def test_the_county_dashboard_reads_no_pairing_rows_once_cached(world, county, django_assert_max_num_queries):
    dashboards.county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)
    with django_assert_max_num_queries(4):  # the towns, the schools, the escalations: no engine query
        dashboards.county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)


# --- Each kind of write --------------------------------------------------------------------------------


def test_a_talk_written_changed_and_deleted(world, county):
    made: list[TalkRecord] = []

    def create():
        made.append(
            services.talk_record_create(
                pairing=county["a2"], recorded_by=world.teacher_a2, **talk_values(date=THIS_MONDAY)
            )
        )

    changes(world, create)
    changes(world, lambda: services.talk_record_update(record=made[0], by=world.teacher_a2, date=D(2026, 11, 10)))
    changes(world, lambda: services.talk_record_delete(record=made[0], by=world.admin))


def test_a_talk_by_a_teacher_of_another_school_changes_both_schools(world, county):
    latest = county["cross"].talks.latest("date")
    changes(world, lambda: services.talk_record_delete(record=latest, by=world.admin))


def untouched(world, write) -> None:
    """The write changes no figure: no figure version changes (so every cached board and the county
    page as drawn stay), and the boards still equal a cold recount and the engine's."""
    schools = list(School.objects.values_list("pk", flat=True))

    def checked():
        held = versions.generation(), versions.versions(schools)
        write()
        assert (versions.generation(), versions.versions(schools)) == held, "the write touched the figures"

    before, shown = assert_true_after(world, checked)
    assert shown == before


def test_a_second_talk_in_a_week_already_counted_corrected_and_deleted_changes_no_figure(world, county):
    """Only the record count of the tally changes: no school's figures are recounted, no county page is
    drawn again (under load, county staff refreshing read the page as drawn while teachers write)."""
    a2, teacher = county["a2"], world.teacher_a2
    services.talk_record_create(pairing=a2, recorded_by=teacher, **talk_values(date=THIS_MONDAY))
    made: list[TalkRecord] = []
    untouched(
        world,
        lambda: made.append(
            services.talk_record_create(pairing=a2, recorded_by=teacher, **talk_values(date=THIS_MONDAY))
        ),
    )
    untouched(world, lambda: services.talk_record_update(record=made[0], by=teacher, content="补充:约定周五再谈。"))
    untouched(world, lambda: services.talk_record_delete(record=made[0], by=world.admin))


def test_a_talk_that_adds_a_track_or_a_later_day_to_a_counted_week_changes_the_figures(world, county):
    """The same week, but what the engine reads of it changed: the tracks covered, the last talk."""
    a2, teacher = county["a2"], world.teacher_a2
    first = services.talk_record_create(
        pairing=a2, recorded_by=teacher, **talk_values(date=THIS_MONDAY - dt.timedelta(days=7))
    )
    changes(
        world, lambda: services.talk_record_update(record=first, by=teacher, tracks=["track_study", "track_policy"])
    )
    changes(
        world, lambda: services.talk_record_create(pairing=a2, recorded_by=teacher, **talk_values(date=THIS_MONDAY))
    )


def test_a_talk_in_a_week_an_imported_later_talk_counted_changes_the_figures(world, county):
    """A talk dated after today (an import) sets this week's bit in the tally, but today's engine counts
    that pairing from the talk rows: today's talk changes the figures though the tally's weeks,
    tracks and last talk stay as they were."""
    a2 = county["a2"]
    TalkRecordFactory(pairing=a2, date=THIS_MONDAY + dt.timedelta(days=3))
    changes(
        world,
        lambda: services.talk_record_create(pairing=a2, recorded_by=world.teacher_a2, **talk_values(date=THIS_MONDAY)),
    )


def test_a_home_visit_made_and_moved(world, county):
    made = []
    changes(
        world,
        lambda: made.append(
            services.home_visit_create(pairing=county["a2"], recorded_by=world.teacher_a2, **visit_values())
        ),
    )
    assert_true_after(world, lambda: services.home_visit_update(visit=made[0], date=D(2026, 11, 11)))


def test_an_excused_week_granted_and_withdrawn(world, county):
    made = []

    def grant():
        made.append(
            services.excused_week_create(
                pairing=county["a2"],
                week_monday=D(2026, 11, 9),
                reason="illness",
                note="",
                excused_by=world.officer_a,
                term=world.term,
                as_of=THIS_MONDAY,
                confirmed_has_talk=True,
            )
        )

    changes(world, grant)
    changes(world, lambda: services.excused_week_delete(excused=made[0]))


def test_a_pairing_started_ended_and_reassigned(world, county):
    student = pf.StudentFactory(school=world.school_b)
    teacher = pf.TeacherFactory(school=world.school_b)
    changes(world, lambda: pairing_services.pairing_create(teacher=teacher, student=student, started_on=THIS_MONDAY))
    changes(
        world,
        lambda: pairing_services.pairing_end(
            pairing=county["a2"], ended_on=THIS_MONDAY, reason=PairingEndReason.LIFTED
        ),
    )
    new_teacher = pf.TeacherFactory(school=world.school_b)
    changes(
        world,
        lambda: pairing_services.pairing_reassign(
            pairing=county["b1"],
            new_teacher=new_teacher,
            on=D(2026, 11, 12),
            reason=PairingEndReason.TRANSFER,
        ),
    )


def test_a_student_suspended_and_another_transferred(world, county):
    changes(
        world,
        lambda: pairing_services.student_status_change(
            student=world.student_a1,
            status=EnrollmentStatus.SUSPENDED,
            on=D(2026, 10, 19),
            reason="病休",
            by=world.officer_a,
        ),
    )
    changes(
        world,
        lambda: pairing_services.student_transfer(
            student=world.student_a2, to_school=world.school_b, on=D(2026, 11, 9), reason="随父母迁居", by=world.county
        ),
    )


def test_the_terms_dates_moved(world, county):
    for talk in TalkRecord.objects.filter(date__lt=D(2026, 9, 7)):  # the first week's talks would refuse it
        services.talk_record_delete(record=talk, by=world.admin)

    def move():
        pairing_services.term_dates_change(term=world.term, start_date=D(2026, 9, 7), end_date=world.term.end_date)
        world.term = Term.objects.get(pk=world.term.pk)  # the pages read the term afresh

    changes(world, move)


def test_a_closure_added_in_the_admin(client, world, county):
    client.force_login(world.admin)

    def add():
        response = client.post(
            reverse("admin:pairing_closure_add"),
            {
                "name": "流感停课",
                "kind": "closure",
                "start_date": "2026-11-09",
                "end_date": "2026-11-13",
                "school": world.school_a.pk,
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert Closure.objects.filter(name="流感停课").exists()

    changes(world, add)


def test_a_tally_drifted_behind_the_services_and_repaired(world, county):
    TalkRecord.objects.filter(pairing=county["a1"], date__lt=D(2026, 9, 20)).update(date=D(2026, 11, 10))
    versions.touch_county()  # the drift itself is invisible to the cache, as to the tallies

    def repair():
        report = tally_verify(repair=True)
        assert report.wrong == 1

    changes(world, repair)


def test_reminders_raised_and_acknowledged(world, county, settings):
    """The county page counts the escalated reminders still open: a sweep raising them and an
    acknowledgement closing one change what the drawn page says."""
    settings.REMINDER_COUNTY_AFTER = 1  # the county fixture's misses are single weeks
    assert_true_after(world, lambda: reminders.sweep(on=THIS_MONDAY))
    escalated = Reminder.objects.filter(level=ReminderLevel.COUNTY).open().order_by("period").first()
    assert escalated is not None, "the county's missed weeks should have climbed to the county"
    changes(world, lambda: reminders.reminder_acknowledge(reminder=escalated, by=world.county, note="已电话督促"))
    # A talk recorded for a missed week answers its reminder: one escalated count less.
    answered = (
        Reminder.objects.filter(level=ReminderLevel.COUNTY, kind="missed_talk", period=D(2026, 11, 9)).open().first()
    )  # last week's, still in the open window
    assert answered is not None
    teacher = answered.pairing.teacher.user
    day = answered.period + dt.timedelta(days=1)
    changes(
        world,
        lambda: services.talk_record_create(pairing=answered.pairing, recorded_by=teacher, **talk_values(date=day)),
    )
    assert not Reminder.objects.filter(pk=answered.pk).open().exists()


def test_an_admin_opening_the_county_page_first_leaves_the_county_its_escalated_count(world, county, settings):
    """Seen on the county-scale demo: after demo_admin opened the county dashboard, county staff read
    "上报市资助中心、尚未处理的提醒:0 条" against 427 open. An admin reads the whole county but no
    reminder, and the escalated counts were kept under one key for every county-wide role."""
    settings.REMINDER_COUNTY_AFTER = 1
    reminders.sweep(on=THIS_MONDAY)
    open_at_county = Reminder.objects.filter(term=world.term, level=ReminderLevel.COUNTY).open().count()
    assert open_at_county
    admin = pf.UserFactory(role="admin", is_staff=True, is_superuser=True)
    assert dashboards.county_dashboard(admin, term=world.term, as_of=THIS_MONDAY).escalated_total == 0
    board = dashboards.county_dashboard(world.county, term=world.term, as_of=THIS_MONDAY)
    assert board.escalated_total == open_at_county
    # And the other way round: the county's count is not the admin's.
    assert dashboards.county_dashboard(admin, term=world.term, as_of=THIS_MONDAY).escalated_total == 0


# --- The county page as drawn ---------------------------------------------------------------------------


def test_the_county_page_is_drawn_once_while_nothing_changes(world, county, django_assert_max_num_queries, client):
    client.force_login(world.county)
    url = reverse("guidance:county_dashboard")
    first = client.get(url)
    # The session, the user, the town filter's lookup, the navbar's count: nothing of the figures.
    with django_assert_max_num_queries(4):
        again = client.get(url)
    assert again.content.count(b"data-school=") == first.content.count(b"data-school=") > 0
    one_town = county_page(world, county["town"])
    assert one_town.count("data-school=") == 1 < county_page(world).count("data-school=")  # each query its own


def test_after_a_talk_the_county_page_recounts_the_written_school_alone(
    world, county, django_assert_num_queries, client
):
    """A talk gives its schools new tokens: the next county page recounts those schools with the
    engine (its five reads, over their pairings only) and draws again what changed; however many
    schools and pairings there are, the query count stays the same."""
    client.force_login(world.county)
    url = reverse("guidance:county_dashboard")
    client.get(url)

    def after_a_talk(pairing: Pairing, track: str, expected: int) -> bytes:
        # Each talk covers a track new to the pairing's term: it changes what the engine reads.
        values = talk_values(date=THIS_MONDAY, tracks=[track])
        services.talk_record_create(pairing=pairing, recorded_by=world.teacher_a1, **values)
        # 1 session, 2 user; the escalated count is kept (a talk answers no reminder here); 3 the towns,
        # 4 the schools with their towns (each school's summary but the written ones from the cache);
        # the engine over the written schools' pairings: 5 pairings, 6 enrollment history, 7 excused
        # weeks, 8 term tallies, 9 home visits; 10 the navbar's unread count
        with django_assert_num_queries(expected):
            return client.get(url).content

    page = after_a_talk(county["a1"], "track_life", 10)
    for n in range(3):  # more schools, more pairings: the same queries
        school = pf.SchoolFactory(name=f"新增学校{n}", town=county["town"])
        pf.PairingFactory.create_batch(
            3, teacher__school=school, student__school=school, started_on=world.term.start_date
        )
    versions.touch_county()
    client.get(url)
    assert after_a_talk(county["a1"], "track_policy", 10).count(b"data-school=") > page.count(b"data-school=")


def test_a_county_reader_of_another_role_gets_their_own_drawing(world, county):
    """The page and its town rows are kept per role: an admin (who may not export) sees the figures
    unlinked, county staff linked to the reports, whoever opened the page first."""
    admin = pf.UserFactory(role="admin", is_staff=True, is_superuser=True)
    request = RequestFactory().get("/county/dashboard/")
    request.user = admin
    drawn.forget()
    as_admin = str(views._county_board_html(request, today=term_today(), town=None))
    as_county = county_page(world)
    assert 'data-figure="town-pairings"' in as_county and "report=" in as_county
    assert 'data-figure="town-pairings"' not in as_admin and "report=" not in as_admin
    assert str(views._county_board_html(request, today=term_today(), town=None)) == as_admin
    assert as_county.count("data-town=") == as_admin.count("data-town=") > 0  # the same rows, linked or not
