"""An officer unlocks a locked talk record or home visit only with a reason, and its teacher is told
once, in the notification centre (and so in her daily digest), and on the record itself.

Records are saved at the world's 2026-11-16 10:00 and lock seven days later.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from guidance import services
from guidance.deliveries import deliveries_prepare
from guidance.models import Delivery, Notification
from zaoyang_aid.models import AuditEvent

from .factories import HomeVisitFactory, TalkRecordFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
KINDS = {
    "talk": (TalkRecordFactory, "guidance:talk_unlock", "guidance:talk_detail", "谈心谈话记录"),
    "visit": (HomeVisitFactory, "guidance:visit_unlock", "guidance:visit_detail", "家访记录"),
}


@pytest.fixture(params=sorted(KINDS))
def locked(request, world, time_machine):
    """张小明's talk record or visit, a week and more after it was saved (locked)."""
    factory, unlock, detail, label = KINDS[request.param]
    record = factory(pairing=world.student_a1.pairings.get(), date=dt.date(2026, 11, 16))
    time_machine.move_to(dt.datetime(2026, 11, 30, 15, 0, tzinfo=SHANGHAI), tick=False)
    return record, reverse(unlock, args=[record.pk]), reverse(detail, args=[record.pk]), label


def unlock(client, user, url, reason):
    client.force_login(user)
    return client.post(url, {"reason": reason} if reason is not None else {})


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_an_unlock_without_a_reason_is_refused_with_a_chinese_message_at_the_field(client, world, locked, reason):
    record, url, _, _ = locked
    response = unlock(client, world.officer_a, url, reason)
    assert response.status_code == 200
    assert response.context["unlock_form"].errors["reason"] == ["请填写解锁原因,教师会在通知中看到。"]
    assert "请填写解锁原因" in response.content.decode()
    record.refresh_from_db()
    assert record.unlocked_until is None and record.unlock_reason == ""
    assert not Notification.objects.exists()


def test_the_teacher_is_told_once_with_the_reason(client, world, locked):
    record, url, detail, label = locked
    response = unlock(client, world.officer_a, url, "日期填错了,请改为11月13日。")
    assert response.status_code == 302 and response.url == detail
    notice = Notification.objects.get()
    assert notice.recipient == world.teacher_a1 and notice.read_at is None and notice.link == detail
    assert notice.title == f"张小明:您11月16日的{label}已解锁,可以修改"
    assert "12月07日 15:00前可以修改" in notice.body and "解锁原因:日期填错了,请改为11月13日。" in notice.body
    record.refresh_from_db()
    assert record.unlock_reason == "日期填错了,请改为11月13日。"


def test_a_second_click_is_refused_and_tells_nobody_twice(client, world, locked):
    record, url, _, _ = locked
    unlock(client, world.officer_a, url, "第一次")
    response = unlock(client, world.officer_a, url, "第二次")
    assert response.status_code == 302
    assert "这条记录现在没有锁定" in client.get(response.url).content.decode()
    assert Notification.objects.count() == 1
    record.refresh_from_db()
    assert record.unlock_reason == "第一次"


def test_the_teacher_reads_why_on_the_record(client, world, locked):
    _, url, detail, _ = locked
    unlock(client, world.officer_a, url, "请补充家长意见。")
    client.force_login(world.teacher_a1)
    html = client.get(detail).content.decode()
    assert "data-unlock-reason>解锁原因:请补充家长意见。" in html


def test_the_unlock_notice_goes_out_in_the_teachers_daily_digest(client, world, locked, settings):
    settings.REMINDER_CHANNELS = ["email"]
    world.teacher_a1.email = "teacher@example.cn"
    world.teacher_a1.save(update_fields=["email"])
    _, url, _, _ = locked
    unlock(client, world.officer_a, url, "请补充家长意见。")
    assert deliveries_prepare(day=dt.date(2026, 11, 30)) == 1
    delivery = Delivery.objects.get()
    assert delivery.recipient == world.teacher_a1 and "解锁原因:请补充家长意见。" in delivery.body
    assert deliveries_prepare(day=dt.date(2026, 11, 30)) == 0


def test_the_service_refuses_an_empty_reason_and_writes_nothing(world, locked):
    record, _, _, _ = locked
    audited = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.record_unlock(record=record, reason="  ")
    assert refused.value.message_dict == {"reason": ["请填写解锁原因,教师会在通知中看到。"]}
    assert not Notification.objects.exists() and AuditEvent.objects.count() == audited


@pytest.mark.parametrize(("who", "status"), [("officer_b", 404), ("teacher_a1", 403), ("county", 403)])
def test_nobody_but_the_schools_officer_unlocks_or_notifies(client, world, locked, who, status):
    record, url, _, _ = locked
    assert unlock(client, getattr(world, who), url, "想改").status_code == status
    record.refresh_from_db()
    assert record.unlocked_until is None and not Notification.objects.exists()
