"""家访: a teacher records a visit to the family of a student they 包保, with up to six photos that
are checked, stripped of their EXIF and kept where only the roles that may see the visit reach them."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from PIL import Image

import zaoyang_aid.settings as project_settings
from guidance import photos, services
from guidance.forms import HomeVisitForm
from guidance.models import AidPolicy, HomeVisit, HomeVisitPhoto
from pairing.models import Pairing, Stage
from pairing.tests import factories as pf
from zaoyang_aid.models import AuditAction, AuditEvent

from .factories import HomeVisitFactory
from .photo_files import gif_bytes, has_exif, jpeg_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Photos of this module go to a folder of their own, so leftovers can be counted."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def pairing_of(student) -> Pairing:
    return Pairing.objects.select_related("student__school", "teacher__user").get(student=student)


def policy(fragment: str) -> AidPolicy:
    return AidPolicy.objects.get(name__contains=fragment)


def create_url(pairing: Pairing) -> str:
    return f"{reverse('guidance:visit_create')}?pairing={pairing.pk}"


def visit_data(**overrides):
    data = {
        "date": "2026-11-14",
        "visitors": "帮扶教师、班主任",
        "members_met": "父亲、祖母",
        "living_conditions": "砖混平房两间,祖母常年服药。",
        "study_conditions": "有独立书桌,晚上光线不足。",
        "policies": [policy("两免一补").pk, policy("营养改善").pk],
        "needs_found": "需要一盏台灯。",
        "family_feedback": "感谢学校关心。",
        "tracks": ["track_policy", "track_life"],
        "help_forms": ["form_parent"],
    }
    data.update(overrides)
    return data


def post_visit(client, user, pairing, **overrides):
    client.force_login(user)
    return client.post(create_url(pairing), visit_data(**overrides))


def photo_errors(response) -> list[str]:
    return response.context["form"].errors.get("photos", [])


# --- Recording a visit -------------------------------------------------------------------------


def test_teacher_records_a_visit_with_two_photos(client, world, media):
    pairing = pairing_of(world.student_a1)
    response = post_visit(
        client,
        world.teacher_a1,
        pairing,
        photos=[upload("IMG_0001.JPG", jpeg_bytes(gps=True)), upload("屏幕截图.png", png_bytes(), "image/png")],
    )

    visit = HomeVisit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("guidance:visit_detail", args=[visit.pk])
    assert (visit.pairing, visit.term, visit.date) == (pairing, world.term, dt.date(2026, 11, 14))
    assert visit.recorded_by == world.teacher_a1
    assert (visit.track_policy, visit.track_life, visit.form_parent, visit.track_study) == (True, True, True, False)
    assert {p.name for p in visit.policies.all()} == {policy("两免一补").name, policy("营养改善").name}
    jpeg, png = visit.photos.all()
    assert (jpeg.content_type, png.content_type) == ("image/jpeg", "image/png")
    assert jpeg.image.name.endswith(".jpg") and png.image.name.endswith(".png")
    stored = jpeg.image.storage.open(jpeg.image.name).read()
    assert not has_exif(stored)
    assert (jpeg.width, jpeg.height, jpeg.size) == (64, 48, len(stored))
    assert len(files_in(media)) == 2


def test_the_stored_jpeg_has_no_exif_and_no_gps_left(client, world):
    post_visit(client, world.teacher_a1, pairing_of(world.student_a1), photos=[upload("gps.jpg", jpeg_bytes(gps=True))])

    photo = HomeVisitPhoto.objects.get()
    with photo.image.storage.open(photo.image.name) as handle, Image.open(io.BytesIO(handle.read())) as image:
        assert not image.getexif()
        assert not image.getexif().get_ifd(0x8825)
        assert "exif" not in image.info


def test_a_visit_without_photos_is_fine(client, world, media):
    response = post_visit(client, world.teacher_a1, pairing_of(world.student_a1))

    assert response.status_code == 302
    assert HomeVisit.objects.get().photos.count() == 0
    assert files_in(media) == []


def test_creating_a_visit_writes_an_audit_line(client, world):
    post_visit(client, world.teacher_a1, pairing_of(world.student_a1), photos=[upload("a.jpg", jpeg_bytes())])

    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="家访记录")
    assert (event.actor_id, event.student_id) == (world.teacher_a1.pk, world.student_a1.pk)
    assert "照片1张" in str(event.changes)


def test_the_form_starts_with_today_the_teachers_name_and_a_parent_talk_on_policy(client, world):
    pairing = pairing_of(world.student_a1)
    client.force_login(world.teacher_a1)

    response = client.get(create_url(pairing))

    form = response.context["form"]
    assert form["date"].value() == dt.date(2026, 11, 16)
    assert form["visitors"].value() == world.teacher_a1.get_full_name()
    assert form["tracks"].value() == ["track_policy"]
    assert form["help_forms"].value() == ["form_parent"]
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'accept="image/jpeg,image/png"' in html
    assert " multiple" in html


def test_policies_offered_depend_on_the_students_stage(world):
    junior = pairing_of(world.student_a1)  # the world's schools are 初中
    senior = pf.PairingFactory(teacher__school=pf.SchoolFactory(stage=Stage.SENIOR))

    junior_offered = {p.name for p in HomeVisitForm(pairing=junior).fields["policies"].queryset}
    senior_offered = {p.name for p in HomeVisitForm(pairing=senior).fields["policies"].queryset}

    assert policy("两免一补").name in junior_offered
    assert policy("普通高中国家助学金").name not in junior_offered
    assert policy("普通高中国家助学金").name in senior_offered
    assert policy("两免一补").name not in senior_offered
    assert policy("社会资助").name in junior_offered & senior_offered  # no stages: every stage


def test_an_inactive_policy_is_not_offered(world):
    AidPolicy.objects.filter(name__contains="营养改善").update(is_active=False)

    offered = HomeVisitForm(pairing=pairing_of(world.student_a1)).fields["policies"].queryset

    assert policy("营养改善") not in offered


def test_a_policy_of_another_stage_is_refused(client, world):
    response = post_visit(
        client, world.teacher_a1, pairing_of(world.student_a1), policies=[policy("普通高中国家助学金").pk]
    )

    assert response.status_code == 200
    assert response.context["form"].errors["policies"]
    assert not HomeVisit.objects.exists()


# --- Photos that are refused -------------------------------------------------------------------


def test_a_png_named_jpg_is_accepted_as_a_png(client, world):
    post_visit(client, world.teacher_a1, pairing_of(world.student_a1), photos=[upload("photo.jpg", png_bytes())])

    photo = HomeVisitPhoto.objects.get()
    assert photo.content_type == "image/png"
    assert photo.image.name.endswith(".png")


def test_a_text_file_named_photo_jpg_is_refused_and_nothing_is_saved(client, world, media):
    response = post_visit(
        client,
        world.teacher_a1,
        pairing_of(world.student_a1),
        photos=[upload("good.jpg", jpeg_bytes()), upload("photo.jpg", b"not a photo at all")],
    )

    assert response.status_code == 200
    assert photo_errors(response) == ["照片 photo.jpg 不是JPEG或PNG图片。"]
    assert "已选的照片需要重新选择" in response.content.decode()
    assert not HomeVisit.objects.exists()
    assert files_in(media) == []


def test_a_gif_is_refused(client, world, media):
    response = post_visit(
        client, world.teacher_a1, pairing_of(world.student_a1), photos=[upload("cat.gif", gif_bytes(), "image/gif")]
    )

    assert photo_errors(response) == ["照片 cat.gif 不是JPEG或PNG图片。"]
    assert not HomeVisit.objects.exists()
    assert files_in(media) == []


def test_a_file_over_the_size_limit_is_refused(client, world, media, monkeypatch):
    monkeypatch.setattr(photos, "MAX_PHOTO_BYTES", 1024)

    response = post_visit(
        client, world.teacher_a1, pairing_of(world.student_a1), photos=[upload("big.jpg", jpeg_bytes((300, 300)))]
    )

    assert photo_errors(response) == ["照片 big.jpg 超过1KB,请压缩后再上传。"]
    assert not HomeVisit.objects.exists()
    assert files_in(media) == []


def test_every_bad_file_is_named(client, world):
    response = post_visit(
        client,
        world.teacher_a1,
        pairing_of(world.student_a1),
        photos=[upload("a.jpg", b"text"), upload("b.gif", gif_bytes())],
    )

    assert photo_errors(response) == ["照片 a.jpg 不是JPEG或PNG图片。", "照片 b.gif 不是JPEG或PNG图片。"]


def test_a_seventh_photo_is_refused(client, world, media):
    seven = [upload(f"p{n}.jpg", jpeg_bytes()) for n in range(HomeVisitPhoto.MAX_PER_VISIT + 1)]

    response = post_visit(client, world.teacher_a1, pairing_of(world.student_a1), photos=seven)

    assert photo_errors(response) == ["每次家访最多上传6张照片,您选择了7张。"]
    assert not HomeVisit.objects.exists()
    assert files_in(media) == []


def test_six_photos_are_accepted(client, world, media):
    six = [upload(f"p{n}.jpg", jpeg_bytes()) for n in range(HomeVisitPhoto.MAX_PER_VISIT)]

    post_visit(client, world.teacher_a1, pairing_of(world.student_a1), photos=six)

    assert HomeVisit.objects.get().photos.count() == 6
    assert len(files_in(media)) == 6


# --- Dates and pairings that are refused -----------------------------------------------------


def test_a_future_date_is_refused_at_the_field_with_nothing_saved(client, world, media):
    response = post_visit(
        client,
        world.teacher_a1,
        pairing_of(world.student_a1),
        date="2026-11-17",
        photos=[upload("a.jpg", jpeg_bytes())],
    )

    assert response.context["form"].errors["date"] == ["日期不能晚于今天。"]
    assert not HomeVisit.objects.exists()
    assert files_in(media) == []


def test_a_date_outside_any_term_is_refused_at_the_field_with_nothing_saved(client, world, media):
    # Paired since the spring, so the summer holiday is after the pairing's start but in no term.
    pairing = pf.PairingFactory(teacher=world.teacher_a1.teacher, started_on=dt.date(2026, 3, 1))

    response = post_visit(client, world.teacher_a1, pairing, date="2026-08-20", photos=[upload("a.jpg", jpeg_bytes())])

    assert response.context["form"].errors["date"] == ["这一天不在任何学期内。"]
    assert not HomeVisit.objects.exists()
    assert files_in(media) == []


def test_an_ended_pairing_is_refused_at_the_field(world):
    pairing = pairing_of(world.student_a1)
    Pairing.objects.filter(pk=pairing.pk).update(ended_on=dt.date(2026, 11, 10), end_reason="transfer")
    pairing.refresh_from_db()

    form = HomeVisitForm(visit_data(), pairing=pairing)

    assert form.errors["date"] == ["该结对已结束,不能再添加记录。"]


def test_the_service_refuses_a_pairing_that_ended_after_the_form_was_checked(world, media):
    pairing = pairing_of(world.student_a1)
    form = HomeVisitForm(visit_data(), pairing=pairing)
    assert form.is_valid(), form.errors
    clean = [photos.clean_photo(upload("a.jpg", jpeg_bytes()))]
    Pairing.objects.filter(pk=pairing.pk).update(ended_on=dt.date(2026, 11, 15), end_reason="transfer")
    pairing.refresh_from_db()

    with pytest.raises(ValidationError) as caught:
        services.home_visit_create(
            pairing=pairing, recorded_by=world.teacher_a1, **(form.service_values() | {"photos": clean})
        )

    assert caught.value.message_dict == {"date": ["该结对已结束,不能再添加记录。"]}
    assert not HomeVisit.objects.exists()
    assert files_in(media) == []


def test_a_failure_after_photos_were_written_leaves_no_rows_and_no_files(world, media, monkeypatch):
    pairing = pairing_of(world.student_a1)
    form = HomeVisitForm(visit_data(), pairing=pairing)
    assert form.is_valid(), form.errors
    clean = [photos.clean_photo(upload(f"{n}.jpg", jpeg_bytes())) for n in range(3)]
    real_save = HomeVisitPhoto.save
    saved = []

    def save_then_fail_on_the_third(self, *args, **kwargs):
        if len(saved) == 2:
            raise RuntimeError("数据库连接中断")
        saved.append(self)
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(HomeVisitPhoto, "save", save_then_fail_on_the_third)

    with pytest.raises(RuntimeError):
        services.home_visit_create(
            pairing=pairing, recorded_by=world.teacher_a1, **(form.service_values() | {"photos": clean})
        )

    assert not HomeVisit.objects.exists()
    assert not HomeVisitPhoto.objects.exists()
    assert files_in(media) == []


def test_the_service_will_not_run_inside_another_transaction(world):
    # A rollback of an outer transaction would leave the photo files behind unseen.
    pairing = pairing_of(world.student_a1)
    form = HomeVisitForm(visit_data(), pairing=pairing)
    assert form.is_valid(), form.errors

    with pytest.raises(RuntimeError), transaction.atomic():
        services.home_visit_create(pairing=pairing, recorded_by=world.teacher_a1, **form.service_values())


# --- Who may record ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teacher_a2", "officer_a", "counsellor_a", "county", "admin", "teacher_b1"])
def test_only_the_paired_teacher_may_open_the_visit_form(client, world, who):
    client.force_login(getattr(world, who))

    assert client.get(create_url(pairing_of(world.student_a1))).status_code == 404


def test_a_colleague_cannot_post_a_visit_for_someone_elses_student(client, world, media):
    response = post_visit(
        client, world.teacher_a2, pairing_of(world.student_a1), photos=[upload("a.jpg", jpeg_bytes())]
    )

    assert response.status_code == 404
    assert not HomeVisit.objects.exists()
    assert files_in(media) == []


def test_the_visit_form_of_an_ended_pairing_answers_404(client, world):
    pairing = pairing_of(world.student_a1)
    Pairing.objects.filter(pk=pairing.pk).update(ended_on=dt.date(2026, 11, 10), end_reason="transfer")
    client.force_login(world.teacher_a1)

    assert client.get(create_url(pairing)).status_code == 404


@pytest.mark.parametrize("query", ["", "?pairing=", "?pairing=abc", "?pairing=999999"])
def test_the_visit_form_without_a_pairing_of_ones_own_answers_404(client, world, query):
    client.force_login(world.teacher_a1)

    assert client.get(reverse("guidance:visit_create") + query).status_code == 404


# --- Reading a visit and its photos --------------------------------------------------------------


@pytest.fixture
def visit_with_photo(client, world):
    post_visit(client, world.teacher_a1, pairing_of(world.student_a1), photos=[upload("a.jpg", jpeg_bytes())])
    client.logout()
    return HomeVisit.objects.get()


@pytest.mark.parametrize("who", ["teacher_a1", "officer_a", "county"])
def test_the_photo_is_served_to_those_who_may_see_the_visit(client, world, visit_with_photo, who):
    photo = visit_with_photo.photos.get()
    client.force_login(getattr(world, who))

    response = client.get(reverse("guidance:visit_photo", args=[photo.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    # A family's home is never kept on the device's disk (zaoyang_aid/headers.py): no-store, private.
    assert set(response["Cache-Control"].split(", ")) >= {"no-store", "private", "max-age=0"}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    body = b"".join(response.streaming_content)
    assert body == photo.image.storage.open(photo.image.name).read()


# The 系统管理员 role sees no help records (zaoyang_aid.fields): a family's home is not its business.
@pytest.mark.parametrize("who", ["teacher_a2", "teacher_b1", "officer_b", "counsellor_a", "admin", "nobody"])
def test_the_photo_answers_404_to_everyone_else(client, world, visit_with_photo, who):
    client.force_login(getattr(world, who))

    assert client.get(reverse("guidance:visit_photo", args=[visit_with_photo.photos.get().pk])).status_code == 404


def test_the_photo_sends_an_anonymous_visitor_to_the_login_page(client, world, visit_with_photo):
    url = reverse("guidance:visit_photo", args=[visit_with_photo.photos.get().pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_photo_whose_file_is_gone_answers_404(client, world, visit_with_photo):
    photo = visit_with_photo.photos.get()
    photo.image.storage.delete(photo.image.name)
    client.force_login(world.teacher_a1)

    assert client.get(reverse("guidance:visit_photo", args=[photo.pk])).status_code == 404


@pytest.mark.parametrize("who", ["teacher_a1", "officer_a", "county"])
def test_the_visit_page_shows_everything_with_thumbnails_from_the_photo_view(client, world, visit_with_photo, who):
    client.force_login(getattr(world, who))

    response = client.get(reverse("guidance:visit_detail", args=[visit_with_photo.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    for text in ("张小明", "父亲、祖母", "砖混平房两间", "需要一盏台灯", "感谢学校关心", "政策宣导", "家长访谈"):
        assert text in html
    assert policy("两免一补").name in html
    assert f'src="{reverse("guidance:visit_photo", args=[visit_with_photo.photos.get().pk])}"' in html


@pytest.mark.parametrize("who", ["teacher_a2", "officer_b", "counsellor_a", "nobody"])
def test_the_visit_page_answers_404_to_everyone_else(client, world, visit_with_photo, who):
    client.force_login(getattr(world, who))

    assert client.get(reverse("guidance:visit_detail", args=[visit_with_photo.pk])).status_code == 404


def test_reading_a_visit_is_written_to_the_audit_log(client, world, visit_with_photo):
    client.force_login(world.officer_a)

    client.get(reverse("guidance:visit_detail", args=[visit_with_photo.pk]), REMOTE_ADDR="10.9.8.7")

    event = AuditEvent.objects.get(action=AuditAction.VIEW)
    assert (event.actor_id, event.student_id) == (world.officer_a.pk, world.student_a1.pk)
    assert (event.object_type, event.object_id) == ("家访记录", str(visit_with_photo.pk))
    assert event.changes == {"查看内容": [None, "家访记录"]}
    assert event.ip_address == "10.9.8.7"


def test_a_refused_read_of_a_visit_is_not_logged(client, world, visit_with_photo):
    client.force_login(world.teacher_a2)
    client.get(reverse("guidance:visit_detail", args=[visit_with_photo.pk]))

    assert not AuditEvent.objects.filter(action=AuditAction.VIEW).exists()


def test_a_teacher_still_reads_the_visits_of_a_pairing_that_ended(client, world, visit_with_photo):
    Pairing.objects.filter(pk=visit_with_photo.pairing_id).update(ended_on=dt.date(2026, 11, 15), end_reason="other")
    client.force_login(world.teacher_a1)

    assert client.get(reverse("guidance:visit_detail", args=[visit_with_photo.pk])).status_code == 200


# --- Where the files are -------------------------------------------------------------------------


def _inside(path: Path, folder: Path | str) -> bool:
    return path.resolve().is_relative_to(Path(folder).resolve())


def test_the_configured_media_root_is_outside_every_served_folder():
    media_root = Path(project_settings.MEDIA_ROOT)
    served = [
        project_settings.STATIC_ROOT,
        *[entry[1] if isinstance(entry, tuple) else entry for entry in project_settings.STATICFILES_DIRS],
        *[folder for engine in project_settings.TEMPLATES for folder in engine["DIRS"]],
    ]
    for folder in served:
        assert not _inside(media_root, folder), folder
        assert not _inside(Path(folder), media_root), folder
    assert not getattr(project_settings, "MEDIA_URL", "")


def test_a_stored_photo_has_no_public_url_and_lies_outside_static_and_templates(visit_with_photo, media):
    photo = visit_with_photo.photos.get()
    path = Path(photo.image.path)

    assert path.is_file()
    assert _inside(path, media)
    assert not _inside(path, django_settings.STATIC_ROOT)
    for folder in django_settings.STATICFILES_DIRS:
        assert not _inside(path, folder[1] if isinstance(folder, tuple) else folder)
    for folder in django_settings.TEMPLATES[0]["DIRS"]:
        assert not _inside(path, folder)
    assert finders.find(photo.image.name) is None
    with pytest.raises(ValueError, match="没有公开地址"):
        photo.image.url  # noqa: B018


# --- Queries ---------------------------------------------------------------------------------------


def detail_queries(client, user, visit, django_assert_num_queries, expected):
    client.force_login(user)
    url = reverse("guidance:visit_detail", args=[visit.pk])
    client.get(url)  # warm: the session
    # 1 session, 2 user with the teacher row behind their scope (zaoyang_aid/backends.py), 3 the visit
    # with its student, school, teacher, term and recorder, 4 its policies, 5 its photos, 6 the audit
    # line, 7 the navbar's unread notifications; no session save (the warm-up request stamped it,
    # zaoyang_aid/sessions.py).
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("photo_count", [1, HomeVisitPhoto.MAX_PER_VISIT])
def test_the_visit_page_runs_the_same_queries_for_one_photo_or_six(
    client, world, django_assert_num_queries, photo_count
):
    visit = HomeVisitFactory(pairing=pairing_of(world.student_a1))
    visit.policies.set(AidPolicy.objects.all()[:3])
    for n in range(photo_count):
        HomeVisitPhoto.objects.create(
            visit=visit, image=f"home-visits/2026/11/{n}.jpg", content_type="image/jpeg", width=4, height=3, size=9
        )

    detail_queries(client, world.officer_a, visit, django_assert_num_queries, expected=7)
