"""Issue 9, point 5 (with 8 and 9): record quality. The nightly check flags suspect talk records
(内容雷同, 集中补录, 逾期补录, 篇幅过短) with a reason; the officer's queue lists them; a flagged record
is returned with a comment, the teacher sees it and revises it (the earlier text kept), and the
officer passes it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from guidance import quality, services
from guidance.models import (
    FlagKind,
    FlagStatus,
    LateEntryPermission,
    Notification,
    TalkRecord,
    TalkRecordFlag,
    TalkRecordRevision,
)
from guidance.tests.factories import TalkRecordFactory
from pairing.tests.factories import PairingFactory

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")

TEXT_A = (
    "本周与小明谈了期中考试的情况,他数学只考了六十二分,自己很着急。我们一起把错题分成计算粗心和概念不清两类,"
    "约定每天晚饭后做十道口算题,周五交给我检查。他说奶奶最近腰疼,放学后要帮忙做饭,作业常常拖到很晚。"
)
# The same record with a few words changed: what a copy for the next week looks like.
TEXT_A_COPY = (
    "本周与小明谈了月考考试的情况,他数学只考了六十五分,自己很着急。我们一起把错题分成计算粗心和概念不清两类,"
    "约定每天晚饭后做十道口算题,周六交给我检查。他说奶奶最近腰疼,放学后要帮忙做饭,作业常常拖到很晚。"
)
TEXT_B = (
    "小明这周参加了学校的篮球赛,情绪明显好了很多,主动和我说起想当体育委员。我肯定了他的积极性,也提醒他"
    "要先把英语单词背好。周三联系了他父亲,父亲在外地打工,答应每周给孩子打两次电话,关心他的学习和生活。"
)


def _at(day: dt.date, hour: int = 20, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE)


def _talk(pairing: Any, day: dt.date, content: str, entered: dt.datetime | None = None, **kw: Any) -> TalkRecord:
    """A talk entered on its own day in the evening (or at ``entered``), so that no two talks of a
    test make a sitting unless the test says so."""
    talk = TalkRecordFactory(pairing=pairing, date=day, content=content, student_state="情绪稳定。", **kw)
    entered = entered or _at(day)
    TalkRecord.objects.filter(pk=talk.pk).update(created_at=entered, updated_at=entered)
    talk.refresh_from_db()
    return talk


def _flags(kind: str) -> dict[int, TalkRecordFlag]:
    return {f.talk_id: f for f in TalkRecordFlag.objects.filter(kind=kind)}


@pytest.fixture
def copied(world: Any) -> dict[str, TalkRecord]:
    """teacher_a1's records: one, a near copy of it a week later, and an honest different one."""
    pairing = world.student_a1.pairings.get()
    return {
        "first": _talk(pairing, dt.date(2026, 10, 26), TEXT_A),
        "copy": _talk(pairing, dt.date(2026, 11, 2), TEXT_A_COPY),
        "other": _talk(pairing, dt.date(2026, 11, 9), TEXT_B),
    }


# --- Detection ---------------------------------------------------------------------------------------


def test_a_near_copy_with_a_few_words_changed_is_flagged_against_the_earlier_record(copied):
    quality.flags_detect()
    similar = _flags(FlagKind.SIMILAR)
    flag = similar[copied["copy"].pk]
    assert flag.related_talk_id == copied["first"].pk
    assert 80 <= flag.score < 100
    assert flag.reason == f"与 2026-10-26 的记录相似度 {flag.score}%"
    assert flag.status == FlagStatus.OPEN


def test_a_different_text_and_the_first_of_two_similar_records_are_not_flagged(copied):
    quality.flags_detect()
    similar = _flags(FlagKind.SIMILAR)
    assert copied["other"].pk not in similar
    assert copied["first"].pk not in similar
    assert quality.jaccard(quality.bigrams(TEXT_A), quality.bigrams(TEXT_B)) < 0.3


def test_the_same_text_by_another_teacher_is_not_compared(world):
    _talk(world.student_a1.pairings.get(), dt.date(2026, 10, 26), TEXT_A)
    _talk(world.student_a2.pairings.get(), dt.date(2026, 11, 2), TEXT_A)
    quality.flags_detect()
    assert not _flags(FlagKind.SIMILAR)


def test_many_weeks_entered_in_one_sitting_are_flagged(world):
    pairing = world.student_a1.pairings.get()
    evening = _at(dt.date(2026, 11, 15), 21)
    batch = [
        _talk(
            pairing,
            dt.date(2026, 10, 19) + dt.timedelta(weeks=i),
            f"{TEXT_B[: 40 + i]}{i}",
            evening + dt.timedelta(minutes=8 * i),
        )
        for i in range(3)
    ]
    alone = _talk(pairing, dt.date(2026, 11, 16), TEXT_A, _at(dt.date(2026, 11, 16), 12))
    quality.flags_detect()
    flags = _flags(FlagKind.BATCH)
    assert set(flags) == {t.pk for t in batch}
    assert flags[batch[0].pk].reason == "2026-11-15 21:00 起 16 分钟内集中录入 3 个教学周的 3 条记录"
    assert alone.pk not in flags


def test_two_weeks_in_one_sitting_are_not_a_batch(world):
    pairing = world.student_a1.pairings.get()
    evening = _at(dt.date(2026, 11, 15), 21)
    _talk(pairing, dt.date(2026, 11, 2), TEXT_A, evening)
    _talk(pairing, dt.date(2026, 11, 9), TEXT_B, evening + dt.timedelta(minutes=5))
    quality.flags_detect()
    assert not _flags(FlagKind.BATCH)


def test_a_record_entered_late_under_a_permission_is_flagged_with_its_delay(world):
    pairing = world.student_a1.pairings.get()
    permission = LateEntryPermission.objects.create(
        pairing=pairing, week_monday=dt.date(2026, 10, 19), reason="教师外出培训", granted_by=world.officer_a
    )
    late = _talk(pairing, dt.date(2026, 10, 20), TEXT_A, _at(dt.date(2026, 11, 13)), late_permission=permission)
    on_time = _talk(pairing, dt.date(2026, 11, 9), TEXT_B)
    quality.flags_detect()
    flags = _flags(FlagKind.LATE)
    assert flags[late.pk].reason == "2026-10-20 的谈话于 2026-11-13 补录,迟 24 天"
    assert on_time.pk not in flags


def test_a_record_far_shorter_than_the_schools_median_is_flagged(world, monkeypatch):
    monkeypatch.setattr(quality, "SHORT_MIN_RECORDS", 4)
    pairing = world.student_a1.pairings.get()
    for i in range(4):
        _talk(pairing, dt.date(2026, 9, 14) + dt.timedelta(weeks=i), f"第{i}周:{TEXT_B[i * 5 :]}")
    short = _talk(pairing, dt.date(2026, 10, 19), "谈话。")
    quality.flags_detect()
    flags = _flags(FlagKind.SHORT)
    assert set(flags) == {short.pk}
    assert flags[short.pk].reason.startswith("全文 9 字,本校记录的中位数为 ")


def test_a_second_run_adds_nothing_and_changes_nothing(copied):
    first = quality.flags_detect()
    before = list(TalkRecordFlag.objects.values_list("pk", "talk_id", "kind", "reason", "version").order_by("pk"))
    second = quality.flags_detect()
    assert first.created == len(before) > 0
    assert (second.created, second.updated, second.reopened, second.removed) == (0, 0, 0, 0)
    assert (
        list(TalkRecordFlag.objects.values_list("pk", "talk_id", "kind", "reason", "version").order_by("pk")) == before
    )


def test_a_passed_flag_stays_passed_until_the_text_changes(world, copied):
    quality.flags_detect()
    flag = TalkRecordFlag.objects.get(talk=copied["copy"], kind=FlagKind.SIMILAR)
    quality.flag_clear(flag=flag, by=world.officer_a, version=flag.version)
    quality.flags_detect()
    assert TalkRecordFlag.objects.get(pk=flag.pk).status == FlagStatus.CLEARED
    TalkRecord.objects.filter(pk=copied["copy"].pk).update(content=TEXT_A_COPY.replace("周六", "周日"))
    assert quality.flags_detect().reopened == 1
    assert TalkRecordFlag.objects.get(pk=flag.pk).status == FlagStatus.OPEN


def test_an_open_flag_whose_cause_is_gone_is_withdrawn_but_a_returned_one_stays(world, copied):
    quality.flags_detect()
    flag = TalkRecordFlag.objects.get(talk=copied["copy"], kind=FlagKind.SIMILAR)
    TalkRecord.objects.filter(pk=copied["copy"].pk).update(content=TEXT_B[::-1])
    assert quality.flags_detect().removed == 1
    assert not TalkRecordFlag.objects.filter(pk=flag.pk).exists()
    # Returned before the text changed: the officer still reads the revision and decides.
    TalkRecord.objects.filter(pk=copied["copy"].pk).update(content=TEXT_A_COPY)
    quality.flags_detect()
    flag = TalkRecordFlag.objects.get(talk=copied["copy"], kind=FlagKind.SIMILAR)
    quality.flag_return(flag=flag, by=world.officer_a, comment="请写本周的实际情况。", version=flag.version)
    TalkRecord.objects.filter(pk=copied["copy"].pk).update(content=TEXT_B[::-1])
    quality.flags_detect()
    assert TalkRecordFlag.objects.get(pk=flag.pk).status == FlagStatus.RETURNED


def test_detection_reads_the_records_in_a_constant_number_of_queries(world, django_assert_max_num_queries):
    pairing = world.student_a1.pairings.get()
    for i in range(12):
        _talk(pairing, dt.date(2026, 9, 7) + dt.timedelta(weeks=i), f"第{i}周 {TEXT_A}")
    # existing flags (1), the records streamed (1), savepoint/insert of the new flags (a few), all in bulk
    with django_assert_max_num_queries(8):
        result = quality.flags_detect()
    assert result.records == 12
    assert result.found[FlagKind.SIMILAR] == 11


# --- The queue, as every role ---------------------------------------------------------------------------


@pytest.fixture
def flagged(world: Any, copied: dict[str, TalkRecord]) -> TalkRecordFlag:
    quality.flags_detect()
    return TalkRecordFlag.objects.get(talk=copied["copy"], kind=FlagKind.SIMILAR)


@pytest.mark.parametrize(
    ("who", "status", "sees"),
    [
        ("teacher_a1", 403, False),  # the 包保 teacher: her flags are on her page and records
        ("teacher_a2", 403, False),  # a colleague
        ("teacher_b1", 403, False),  # a teacher at another school
        ("officer_a", 200, True),
        ("officer_b", 200, False),  # another school's officer: an empty queue
        ("county", 200, True),
        ("admin", 403, False),  # 系统管理员 reads no help records
        ("nobody", 403, False),
    ],
)
def test_the_review_queue_as_every_role(client, world, flagged, who, status, sees):
    client.force_login(getattr(world, who))
    response = client.get(reverse("guidance:quality_queue"))
    assert response.status_code == status
    if status == 200:
        assert (f'data-flag="{flagged.pk}"' in response.content.decode()) is sees
    detail = client.get(reverse("guidance:flag_detail", args=[flagged.pk]))
    assert detail.status_code == (200 if sees else (404 if status == 200 else 403))


def test_the_queue_shows_the_reason_and_filters_by_kind_and_status(client, world, flagged):
    client.force_login(world.officer_a)
    page = client.get(reverse("guidance:quality_queue")).content.decode()
    assert flagged.reason in page
    assert "内容雷同" in page
    assert (
        f'data-flag="{flagged.pk}"'
        not in client.get(reverse("guidance:quality_queue") + "?kind=short").content.decode()
    )
    assert (
        f'data-flag="{flagged.pk}"' in client.get(reverse("guidance:quality_queue") + "?status=open").content.decode()
    )
    assert (
        f'data-flag="{flagged.pk}"'
        not in client.get(reverse("guidance:quality_queue") + "?status=cleared").content.decode()
    )


def test_county_staff_filter_the_queue_by_school(client, world, flagged):
    client.force_login(world.county)
    url = reverse("guidance:quality_queue")
    assert f'data-flag="{flagged.pk}"' in client.get(f"{url}?school={world.school_a.pk}").content.decode()
    assert f'data-flag="{flagged.pk}"' not in client.get(f"{url}?school={world.school_b.pk}").content.decode()


def test_the_term_reviews_link_opens_the_queue_on_one_students_flags(client, world, flagged):
    client.force_login(world.officer_a)
    url = reverse("guidance:quality_queue")
    student = flagged.talk.pairing.student_id
    assert f'data-flag="{flagged.pk}"' in client.get(f"{url}?student={student}").content.decode()
    assert f'data-flag="{flagged.pk}"' not in client.get(f"{url}?student={world.student_b1.pk}").content.decode()


def test_the_queue_runs_the_same_queries_for_two_flags_or_twenty(client, world, django_assert_num_queries):
    client.force_login(world.officer_a)
    pairing = world.student_a1.pairings.get()
    url = reverse("guidance:quality_queue")

    def flags(n: int) -> None:
        for i in range(n):
            talk = _talk(pairing, dt.date(2026, 9, 7) + dt.timedelta(days=i), f"{i}{TEXT_A}")
            TalkRecordFlag.objects.create(talk=talk, kind=FlagKind.SHORT, reason="全文 9 字")

    flags(2)
    client.get(url)  # warm: the session's stamp
    # session (1), user with their staff row for the scope (1, zaoyang_aid/backends.py), count (1), the navbar's unread
    # count (1), the page's keys (1) and its flags by key with record, student, school, teacher and
    # related record joined (1): the deferred join (zaoyang_aid/paging.py, issue 12); no session save
    # (the warm-up request stamped it, zaoyang_aid/sessions.py)
    with django_assert_num_queries(6):
        client.get(url)
    flags(18)
    with django_assert_num_queries(6):
        assert client.get(url).content.decode().count("data-flag=") == 20


# --- Return, revise, pass ------------------------------------------------------------------------------


def test_returned_revised_and_passed(client, world, flagged, time_machine):
    # The record is older than its edit window: a return opens it for revision all the same.
    talk = flagged.talk
    assert talk.locked_for_teacher()
    client.force_login(world.officer_a)
    response = client.post(
        reverse("guidance:flag_return", args=[flagged.pk]),
        {"comment": "和10月26日的记录几乎一样,请写本次谈话的实际内容。", "version": flagged.version},
    )
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == FlagStatus.RETURNED

    # The teacher: on her page, in her notifications (once), on the record.
    client.force_login(world.teacher_a1)
    home = client.get(reverse("guidance:my_students")).content.decode()
    assert f'data-returned-flag="{flagged.pk}"' in home
    assert "请写本次谈话的实际内容" in home
    notice = Notification.objects.get(recipient=world.teacher_a1, flag=flagged)
    assert notice.link == reverse("guidance:talk_edit", args=[talk.pk])
    assert "data-returned" in client.get(reverse("guidance:talk_edit", args=[talk.pk])).content.decode()

    form = {
        "date": "2026-11-02",
        "duration_minutes": 40,
        "tracks": ["track_study", "track_life"],
        "help_forms": ["form_talk"],
        "content": TEXT_B + "补充:本次还约定了每天背十个单词。",
        "student_state": "情绪稳定。",
        "version": talk.version,
    }
    response = client.post(reverse("guidance:talk_edit", args=[talk.pk]), form)
    assert response.status_code == 302, response.content.decode()
    revision = TalkRecordRevision.objects.get(talk=talk)
    assert (revision.content, revision.duration_minutes, revision.revised_by) == (TEXT_A_COPY, 30, world.teacher_a1)
    flagged.refresh_from_db()
    assert flagged.status == FlagStatus.REVISED
    notice.refresh_from_db()
    assert notice.read_at is not None

    # The officer sees before and after, and passes it.
    client.force_login(world.officer_a)
    page = client.get(reverse("guidance:flag_detail", args=[flagged.pk])).content.decode()
    assert 'data-revisions="1"' in page
    assert "每天背十个单词" in page and "月考考试" in page
    response = client.post(reverse("guidance:flag_clear", args=[flagged.pk]), {"version": flagged.version})
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert (flagged.status, flagged.cleared_by) == (FlagStatus.CLEARED, world.officer_a)
    assert quality.unanswered_flags(student_ids=[world.student_a1.pk], term_id=world.term.pk) == {}


def test_a_return_needs_a_comment(client, world, flagged):
    client.force_login(world.officer_a)
    response = client.post(
        reverse("guidance:flag_return", args=[flagged.pk]), {"comment": " ", "version": flagged.version}
    )
    assert response.status_code == 200
    assert "退回意见" in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.status == FlagStatus.OPEN


def test_the_teacher_cannot_save_a_returned_record_unchanged(world, flagged):
    quality.flag_return(flag=flagged, by=world.officer_a, comment="请补充。", version=flagged.version)
    with pytest.raises(ValidationError, match="请按退回意见修改"):
        services.talk_record_update(record=flagged.talk, by=world.teacher_a1, content=TEXT_A_COPY)


def test_a_record_not_returned_stays_locked_after_its_window(world, copied):
    with pytest.raises(ValidationError, match="已锁定"):
        services.talk_record_update(record=copied["first"], by=world.teacher_a1, content=TEXT_B)


def test_the_second_of_two_officers_acting_on_the_same_flag_is_refused(client, world, flagged):
    version = flagged.version
    quality.flag_clear(flag=flagged, by=world.officer_a, version=version)
    with pytest.raises(ValidationError, match="已被他人处理"):
        quality.flag_return(flag=flagged, by=world.officer_a, comment="请修改。", version=version)
    client.force_login(world.officer_a)
    response = client.post(reverse("guidance:flag_clear", args=[flagged.pk]), {"version": version}, follow=True)
    assert "已被他人处理,请刷新后再操作。" in response.content.decode()


def test_the_second_of_two_saves_of_a_revision_is_refused(world, flagged):
    quality.flag_return(flag=flagged, by=world.officer_a, comment="请写实际内容。", version=flagged.version)
    read = flagged.talk.version
    services.talk_record_update(record=flagged.talk, by=world.teacher_a1, content=TEXT_B, version=read)
    with pytest.raises(ValidationError, match="请刷新后再改"):
        services.talk_record_update(record=flagged.talk, by=world.teacher_a1, content=TEXT_B + "又改", version=read)
    assert TalkRecord.objects.get(pk=flagged.talk_id).content == TEXT_B


def test_a_second_return_renews_the_one_notice(world, flagged):
    quality.flag_return(flag=flagged, by=world.officer_a, comment="第一次意见。", version=flagged.version)
    services.talk_record_update(record=flagged.talk, by=world.teacher_a1, content=TEXT_B)
    flagged.refresh_from_db()
    quality.flag_return(flag=flagged, by=world.officer_a, comment="第二次意见。", version=flagged.version)
    notice = Notification.objects.get(flag=flagged)
    assert notice.read_at is None and "第二次意见" in notice.body


def test_flags_are_shown_on_the_talk_page_to_those_who_see_the_record(client, world, flagged):
    url = reverse("guidance:talk_detail", args=[flagged.talk_id])
    for user in (world.teacher_a1, world.officer_a, world.county):
        client.force_login(user)
        assert 'data-talk-flag="similar"' in client.get(url).content.decode()
    for user in (world.teacher_a2, world.officer_b):
        client.force_login(user)
        assert client.get(url).status_code == 404


def test_unanswered_flags_counts_the_terms_flags_not_yet_passed_per_student(world, flagged):
    other = PairingFactory(teacher__school=world.school_a)
    assert quality.unanswered_flags(student_ids=[world.student_a1.pk, other.student_id], term_id=world.term.pk) == {
        world.student_a1.pk: 1
    }


def test_the_returned_records_notice_goes_out_in_the_teachers_daily_digest(world, flagged, settings):
    from guidance.deliveries import deliveries_prepare
    from guidance.models import Delivery

    world.teacher_a1.email = "teacher@example.org"
    world.teacher_a1.save(update_fields=["email"])
    quality.flag_return(flag=flagged, by=world.officer_a, comment="请写本次谈话的实际内容。", version=flagged.version)
    deliveries_prepare(day=dt.date(2026, 11, 16))
    digest = Delivery.objects.get(recipient=world.teacher_a1)
    assert "被退回修改" in digest.body and "请写本次谈话的实际内容" in digest.body


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("teacher_a1", 403),
        ("teacher_a2", 403),
        ("teacher_b1", 403),
        ("officer_a", 302),
        ("officer_b", 404),  # not a flag of their school
        ("county", 403),  # county staff read the queue; the school's officer acts
        ("admin", 403),
        ("nobody", 403),
    ],
)
def test_only_the_schools_officer_returns_or_passes_a_flag(client, world, flagged, who, status):
    client.force_login(getattr(world, who))
    returned = client.post(
        reverse("guidance:flag_return", args=[flagged.pk]), {"comment": "请修改。", "version": flagged.version}
    )
    assert returned.status_code == status
    flagged.refresh_from_db()
    assert (flagged.status == FlagStatus.RETURNED) is (status == 302)
    cleared = client.post(reverse("guidance:flag_clear", args=[flagged.pk]), {"version": flagged.version})
    assert cleared.status_code == status


def test_a_flag_withdrawn_by_the_nightly_check_meanwhile_is_a_message_not_an_error(world, flagged):
    version = flagged.version
    TalkRecordFlag.objects.filter(pk=flagged.pk).delete()
    with pytest.raises(ValidationError, match="已被他人处理"):
        quality.flag_clear(flag=flagged.pk, by=world.officer_a, version=version)
