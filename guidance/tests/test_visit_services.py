"""The home-visit services take plain values: an import or a command records and corrects a 家访 as
the page does, with the same rows, the same photos on disk and the same audit lines; a bad value is
refused with the Chinese message at its key, and nothing is written, in the database or on disk.

The world stands on Monday 2026-11-16 10:00 (Asia/Shanghai), in 2026-2027学年第一学期.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from guidance import photos, services
from guidance.models import AidPolicy, HomeVisit, HomeVisitPhoto, Reminder, ReminderKind
from zaoyang_aid.models import AuditAction, AuditEvent

from .photo_files import jpeg_bytes, upload
from .test_home_visits import files_in, pairing_of, policy, post_visit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def values(**overrides):
    """test_home_visits.visit_data, as a command passes it: dates, ids, lists."""
    plain = {
        "date": dt.date(2026, 11, 14),
        "visitors": "帮扶教师、班主任",
        "members_met": "父亲、祖母",
        "living_conditions": "砖混平房两间,祖母常年服药。",
        "study_conditions": "有独立书桌,晚上光线不足。",
        "policies": [policy("两免一补").pk, policy("营养改善")],  # an id or the row
        "needs_found": "需要一盏台灯。",
        "family_feedback": "感谢学校关心。",
        "tracks": ["track_policy", "track_life"],
        "help_forms": ["form_parent"],
    }
    return plain | overrides


FIELDS = ("date", "visitors", "members_met", "living_conditions", "study_conditions", "needs_found", "family_feedback")


def row_of(visit: HomeVisit) -> tuple:
    return (
        visit.pairing_id,
        visit.term_id,
        visit.recorded_by_id,
        [getattr(visit, name) for name in FIELDS],
        (visit.tracks, visit.help_forms),
        sorted(p.pk for p in visit.policies.all()),
        [(p.content_type, p.width, p.height) for p in visit.photos.all()],
    )


def test_a_command_records_the_same_visit_as_the_page(client, world, media):
    pairing = pairing_of(world.student_a1)
    assert post_visit(client, world.teacher_a1, pairing, photos=[upload("a.jpg", jpeg_bytes())]).status_code == 302
    by_page = HomeVisit.objects.get()

    by_call = services.home_visit_create(
        pairing=pairing,
        recorded_by=world.teacher_a1,
        photos=[photos.clean_photo(upload("a.jpg", jpeg_bytes()))],
        **values(),
    )

    assert row_of(by_call) == row_of(by_page)
    assert len(files_in(media)) == 2
    created = AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="家访记录").order_by("pk")
    assert created[0].changes == created[1].changes == {"家访": [None, "2026-11-14 帮扶教师、班主任 照片1张"]}


def test_a_command_answers_the_terms_visit_reminder(world):
    pairing = pairing_of(world.student_a1)
    reminder = Reminder.objects.create(
        pairing=pairing, term=world.term, kind=ReminderKind.VISIT_DUE, period=world.term.start_date
    )

    services.home_visit_create(pairing=pairing, recorded_by=world.teacher_a1, **values())

    reminder.refresh_from_db()
    assert reminder.resolved_at is not None


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"tracks": []}, "tracks", "请至少选择一项“五导”内容。"),
        ({"help_forms": ["form_dance"]}, "help_forms", "未知的五导内容或帮扶形式:form_dance。"),
        ({"visitors": "  "}, "visitors", "此字段不能为空。"),
        ({"date": dt.date(2026, 11, 17)}, "date", "日期不能晚于今天。"),
        ({"date": dt.date(2026, 8, 20)}, "date", "结对从2026年9月1日开始,家访日期不能早于结对日期。"),
        ({"policies": ["普通高中国家助学金"]}, "policies", "请只勾选适用于该学生学段、正在使用的资助政策。"),
    ],
)
def test_a_bad_value_is_refused_at_its_key_and_nothing_is_written(world, media, changes, key, message):
    if changes.get("policies"):  # a senior school's policy for a junior school's student
        changes = {"policies": [AidPolicy.objects.get(name=changes["policies"][0])]}
    pairing = pairing_of(world.student_a1)

    with pytest.raises(ValidationError) as caught:
        services.home_visit_create(
            pairing=pairing,
            recorded_by=world.teacher_a1,
            photos=[photos.clean_photo(upload("a.jpg", jpeg_bytes()))],
            **values(**changes),
        )

    assert caught.value.message_dict == {key: [message]}
    assert not HomeVisit.objects.exists() and not HomeVisitPhoto.objects.exists()
    assert files_in(media) == []


def test_more_than_six_photos_are_refused_by_the_service_too(world, media):
    clean = [photos.clean_photo(upload(f"{n}.jpg", jpeg_bytes())) for n in range(HomeVisitPhoto.MAX_PER_VISIT + 1)]

    with pytest.raises(ValidationError) as caught:
        services.home_visit_create(
            pairing=pairing_of(world.student_a1), recorded_by=world.teacher_a1, photos=clean, **values()
        )

    assert caught.value.message_dict == {"photos": ["每次家访最多上传6张照片。"]}
    assert files_in(media) == []


# --- Corrections -----------------------------------------------------------------------------------


def recorded(world, photo_count=2) -> HomeVisit:
    clean = [photos.clean_photo(upload(f"{n}.jpg", jpeg_bytes())) for n in range(photo_count)]
    return services.home_visit_create(
        pairing=pairing_of(world.student_a1), recorded_by=world.teacher_a1, photos=clean, **values()
    )


def test_an_update_changes_only_the_values_given_and_names_them_in_the_audit(world):
    visit = recorded(world)

    services.home_visit_update(visit=visit, needs_found="需要一盏台灯和一张书桌。", tracks=["track_study"])

    visit.refresh_from_db()
    assert visit.needs_found == "需要一盏台灯和一张书桌。"
    assert visit.tracks == ["学业辅导"] and visit.help_forms == ["家长访谈"]
    assert visit.visitors == "帮扶教师、班主任" and visit.policies.count() == 2
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="家访记录").get()
    assert event.changes == {"修改的栏目": [None, "发现的需求、“五导”内容"], "照片": [None, "新增0张,删除0张"]}


def test_an_update_removes_photos_by_id_and_their_files_after_the_commit(
    world, media, django_capture_on_commit_callbacks
):
    visit = recorded(world)
    first, second = visit.photos.all()

    with django_capture_on_commit_callbacks(execute=True):
        services.home_visit_update(visit=visit, remove=[first.pk])

    assert list(visit.photos.all()) == [second]
    assert len(files_in(media)) == 1


def test_an_update_refused_for_its_date_writes_nothing(world, media):
    visit = recorded(world)
    before = sorted(files_in(media))

    with pytest.raises(ValidationError) as caught:
        services.home_visit_update(
            visit=visit,
            date=dt.date(2026, 11, 20),
            needs_found="改过",
            photos=[photos.clean_photo(upload("c.jpg", jpeg_bytes()))],
        )

    assert caught.value.message_dict == {"date": ["日期不能晚于今天。"]}
    visit.refresh_from_db()
    assert visit.needs_found == "需要一盏台灯。" and visit.photos.count() == 2
    assert sorted(files_in(media)) == before


def test_an_update_refuses_a_locked_visit(world, time_machine):
    visit = recorded(world)
    time_machine.move_to(dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC))

    with pytest.raises(ValidationError) as caught:
        services.home_visit_update(visit=visit, needs_found="改过")

    assert caught.value.messages == [services.VISIT_LOCKED]


def test_an_update_takes_no_value_it_does_not_know(world):
    with pytest.raises(TypeError):
        services.home_visit_update(visit=recorded(world), pairing=pairing_of(world.student_a2))
