"""Editing a 家访 record: its 包保 teacher corrects it for 7 days after saving it — the fields, photos
added and photos removed — then it locks until an officer of the school reopens it. Like a new
visit, a bad edit gets its message at the field and changes nothing, on disk or in the database.

The world stands on Monday 2026-11-16 10:00 (Asia/Shanghai), in 2026-2027学年第一学期.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from guidance.models import HomeVisit, HomeVisitPhoto
from zaoyang_aid.models import AuditAction, AuditEvent

from .photo_files import jpeg_bytes, png_bytes, upload
from .test_home_visits import files_in, pairing_of, post_visit, visit_data

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def recorded_visit(client, world, photo_count=1) -> HomeVisit:
    """张小明's visit, saved through the page by 张小明's teacher with ``photo_count`` photos."""
    photos = [upload(f"p{n}.jpg", jpeg_bytes()) for n in range(photo_count)]
    assert post_visit(client, world.teacher_a1, pairing_of(world.student_a1), photos=photos).status_code == 302
    return HomeVisit.objects.get()


def edit_url(visit) -> str:
    return reverse("guidance:visit_edit", args=[visit.pk])


def edit(client, user, visit, **overrides):
    client.force_login(user)
    return client.post(edit_url(visit), visit_data(**overrides))


def at(time_machine, *args):
    time_machine.move_to(dt.datetime(*args, tzinfo=SHANGHAI), tick=False)


# --- The teacher corrects their visit ------------------------------------------------------------


def test_the_teacher_corrects_the_fields_of_their_visit(client, world):
    visit = recorded_visit(client, world)

    response = edit(client, world.teacher_a1, visit, needs_found="需要一盏台灯和一套冬衣。", date="2026-11-13")

    assert response.status_code == 302
    assert response["Location"] == reverse("guidance:visit_detail", args=[visit.pk])
    visit.refresh_from_db()
    assert (visit.needs_found, visit.date, visit.term) == (
        "需要一盏台灯和一套冬衣。",
        dt.date(2026, 11, 13),
        world.term,
    )
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(visit.pk)).get()
    assert "发现的需求" in event.changes["修改的栏目"][1] and "家访日期" in event.changes["修改的栏目"][1]
    assert event.student_id == world.student_a1.pk


def test_the_teacher_adds_a_photo_to_their_visit(client, world, media):
    visit = recorded_visit(client, world)

    response = edit(client, world.teacher_a1, visit, photos=[upload("更多.png", png_bytes(), "image/png")])

    assert response.status_code == 302
    assert [p.content_type for p in visit.photos.all()] == ["image/jpeg", "image/png"]
    assert len(files_in(media)) == 2


def test_a_removed_photo_leaves_the_database_and_the_disk(client, world, media, django_capture_on_commit_callbacks):
    visit = recorded_visit(client, world, photo_count=2)
    wrong, kept = visit.photos.all()

    with django_capture_on_commit_callbacks(execute=True):
        response = edit(client, world.teacher_a1, visit, remove_photos=[wrong.pk])

    assert response.status_code == 302
    assert list(visit.photos.all()) == [kept]
    assert [p.name for p in files_in(media)] == [kept.image.name.rsplit("/", 1)[1]]


def test_a_photo_is_swapped_at_the_limit(client, world, media, django_capture_on_commit_callbacks):
    visit = recorded_visit(client, world, photo_count=HomeVisitPhoto.MAX_PER_VISIT)
    first = visit.photos.first()

    with django_capture_on_commit_callbacks(execute=True):
        response = edit(
            client, world.teacher_a1, visit, remove_photos=[first.pk], photos=[upload("新.jpg", jpeg_bytes())]
        )

    assert response.status_code == 302
    assert visit.photos.count() == HomeVisitPhoto.MAX_PER_VISIT
    assert first.pk not in set(visit.photos.values_list("pk", flat=True))
    assert len(files_in(media)) == HomeVisitPhoto.MAX_PER_VISIT


def test_the_edit_form_shows_the_stored_photos_with_a_box_to_remove_each(client, world):
    visit = recorded_visit(client, world, photo_count=2)
    client.force_login(world.teacher_a1)

    html = client.get(edit_url(visit)).content.decode()

    for photo in visit.photos.all():
        assert reverse("guidance:visit_photo", args=[photo.pk]) in html
        assert f'name="remove_photos" value="{photo.pk}"' in html
    assert "已有2张" in html and "修改家访记录" in html


# --- Bad edits change nothing --------------------------------------------------------------------


def test_more_than_six_photos_in_all_are_refused_at_the_photo_field(client, world, media):
    visit = recorded_visit(client, world, photo_count=5)
    before = sorted(files_in(media))

    response = edit(
        client, world.teacher_a1, visit, needs_found="改了", photos=[upload(f"{n}.jpg", jpeg_bytes()) for n in range(2)]
    )

    assert response.status_code == 200
    assert response.context["form"].errors["photos"] == ["一次家访最多6张照片:已有5张,最多还能添加1张。"]
    visit.refresh_from_db()
    assert visit.needs_found == "需要一盏台灯。" and visit.photos.count() == 5
    assert sorted(files_in(media)) == before


@pytest.mark.parametrize(
    ("date", "message"),
    [("2026-11-17", "不能晚于今天"), ("2026-08-20", "")],
)
def test_a_date_the_rules_refuse_is_refused_at_the_date_field(client, world, date, message):
    visit = recorded_visit(client, world)

    response = edit(client, world.teacher_a1, visit, date=date, needs_found="改了")

    assert response.status_code == 200
    errors = response.context["form"].errors["date"]
    assert errors and message in errors[0]
    visit.refresh_from_db()
    assert (visit.date, visit.needs_found) == (dt.date(2026, 11, 14), "需要一盏台灯。")


def test_a_bad_photo_among_good_ones_saves_nothing(client, world, media):
    visit = recorded_visit(client, world)
    before = sorted(files_in(media))

    response = edit(
        client,
        world.teacher_a1,
        visit,
        needs_found="改了",
        photos=[upload("ok.jpg", jpeg_bytes()), upload("x.jpg", b"not an image")],
    )

    assert response.status_code == 200 and response.context["form"].errors["photos"]
    assert visit.photos.count() == 1 and sorted(files_in(media)) == before
    visit.refresh_from_db()
    assert visit.needs_found == "需要一盏台灯。"


def test_removing_a_demo_photo_keeps_the_shared_file(world, media, django_capture_on_commit_callbacks):
    # The demo's rows share a pool of files: deleting one row must not take the file from the others.
    from guidance import services
    from guidance.forms import HomeVisitForm

    from .factories import HomeVisitFactory

    visit = HomeVisitFactory(pairing=pairing_of(world.student_a1), date=dt.date(2026, 11, 14))
    shared = media / HomeVisitPhoto.SHARED_DIR / "pool-01.jpg"
    shared.parent.mkdir(parents=True)
    shared.write_bytes(jpeg_bytes())
    rows = [
        HomeVisitPhoto.objects.create(
            visit=visit,
            image=f"{HomeVisitPhoto.SHARED_DIR}/pool-01.jpg",
            content_type="image/jpeg",
            width=64,
            height=48,
            size=1,
        )
        for _ in range(2)
    ]
    form = HomeVisitForm(visit_data(remove_photos=[rows[0].pk]), instance=visit, pairing=visit.pairing)
    assert form.is_valid(), form.errors

    with django_capture_on_commit_callbacks(execute=True):
        services.home_visit_update(visit=visit, **form.service_values())

    assert list(visit.photos.all()) == [rows[1]] and shared.exists()


# --- The 7-day window and the officer's unlock ---------------------------------------------------


def test_the_visit_locks_seven_days_after_it_was_saved(client, world, time_machine):
    visit = recorded_visit(client, world)
    at(time_machine, 2026, 11, 23, 9, 59)
    assert edit(client, world.teacher_a1, visit, needs_found="第7天内").status_code == 302

    at(time_machine, 2026, 11, 23, 10, 0)
    response = edit(client, world.teacher_a1, visit, needs_found="第8天")

    assert response.status_code == 403
    assert "保存满7天后自动锁定" in response.content.decode()
    visit.refresh_from_db()
    assert visit.needs_found == "第7天内"


def test_the_officer_unlocks_a_locked_visit_for_seven_more_days(client, world, time_machine):
    visit = recorded_visit(client, world)
    at(time_machine, 2026, 12, 1, 8, 0)
    client.force_login(world.officer_a)
    detail = client.get(reverse("guidance:visit_detail", args=[visit.pk]))
    assert detail.context["locked"] and detail.context["can_unlock"] and not detail.context["can_edit"]

    assert client.post(reverse("guidance:visit_unlock", args=[visit.pk]), {"reason": "照片传错了。"}).status_code == 302

    assert edit(client, world.teacher_a1, visit, needs_found="解锁后修改").status_code == 302
    visit.refresh_from_db()
    assert visit.needs_found == "解锁后修改"
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_id=str(visit.pk), changes__has_key="解锁至"
    ).exists()


def test_only_the_visits_own_teacher_sees_the_edit_button(client, world):
    visit = recorded_visit(client, world)
    url = reverse("guidance:visit_detail", args=[visit.pk])
    for user, can_edit in ((world.teacher_a1, True), (world.officer_a, False), (world.county, False)):
        client.force_login(user)
        response = client.get(url)
        assert response.context["can_edit"] is can_edit
        assert (reverse("guidance:visit_edit", args=[visit.pk]) in response.content.decode()) is can_edit


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("teacher_a2", 404),
        ("officer_a", 404),
        ("teacher_b1", 404),
        ("officer_b", 404),
        ("county", 403),
        ("nobody", 403),
    ],
)
def test_nobody_else_edits_the_visit(client, world, who, status):
    visit = recorded_visit(client, world)
    assert edit(client, getattr(world, who), visit, needs_found="别人改的").status_code == status
    visit.refresh_from_db()
    assert visit.needs_found == "需要一盏台灯。"


def test_the_visit_of_an_ended_pairing_is_no_longer_edited(client, world):
    visit = recorded_visit(client, world)
    pairing = visit.pairing
    pairing.ended_on, pairing.end_reason = dt.date(2026, 11, 15), "transfer"
    pairing.save()

    assert edit(client, world.teacher_a1, visit, date="2026-11-14").status_code == 404


@pytest.mark.parametrize("who", ["teacher_a1", "county"])
def test_only_an_officer_unlocks(client, world, who):
    visit = recorded_visit(client, world)
    client.force_login(getattr(world, who))
    assert client.post(reverse("guidance:visit_unlock", args=[visit.pk])).status_code == 403
    visit.refresh_from_db()
    assert visit.unlocked_until is None
