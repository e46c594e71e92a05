"""On a phone, the teacher's week end to end: the demo-like teacher logs in, records this week's
talk and a home visit with a photo, and sees the week turn done; the school's officer then sees it
on the dashboard. Time stands at the world's Monday 2026-11-16, in the live server too."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.urls import reverse
from PIL import Image

from guidance.models import HomeVisit, TalkRecord

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "zaoyang2026"


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}{reverse('login')}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (180, 120, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_teacher_records_the_weeks_talk_and_a_visit_on_a_phone_and_the_officer_sees_it(
    live_server: Any, transactional_db: Any, world: Any, phone_page: Any, screenshots: Any, tmp_path: Any, settings: Any
) -> None:
    from playwright.sync_api import expect

    settings.MEDIA_ROOT = tmp_path
    page, base = phone_page, live_server.url
    student = world.student_a1

    log_in(page, base, world.teacher_a1.username)
    assert page.url.endswith(reverse("guidance:my_students"))
    card = page.locator("[data-pairing]").filter(has_text=student.name)
    expect(card).to_contain_text("上周未记录")  # eleven weeks without a talk
    page.screenshot(path=screenshots("before"), full_page=True)

    # This week's talk: the date is today's (the current week pre-selected); tick a track, write.
    card.get_by_role("link", name="记录本周谈话").click()
    page.get_by_label("时长(分钟)").fill("30")
    page.locator("label", has_text="学业辅导").click()
    page.get_by_label("谈心谈话与辅导内容").fill("讲评期中数学试卷,订正错题。")
    page.get_by_label("学生状态").fill("情绪稳定,学习主动。")
    page.screenshot(path=screenshots("talk-form"), full_page=True)
    page.locator("#talk-submit").click()
    page.wait_for_load_state()
    assert TalkRecord.objects.filter(pairing__student=student).count() == 1

    # A home visit with one photo.
    page.goto(f"{base}{reverse('guidance:my_students')}")
    card = page.locator("[data-pairing]").filter(has_text=student.name)
    expect(card).to_contain_text("本周已完成")
    card.get_by_role("link", name="家访").click()
    page.get_by_label("见到的家庭成员").fill("父亲、祖母")
    page.get_by_label("生活条件").fill("砖混平房,生活用品齐全。")
    page.get_by_label("学习条件").fill("有书桌和台灯。")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "家访.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    page.get_by_role("button", name=re.compile("保存")).click()
    page.wait_for_load_state()
    visit = HomeVisit.objects.get(pairing__student=student)
    assert visit.photos.count() == 1

    page.goto(f"{base}{reverse('guidance:my_students')}")
    card = page.locator("[data-pairing]").filter(has_text=student.name)
    expect(card).to_contain_text("本周已完成")
    expect(card).to_contain_text("已家访")
    page.screenshot(path=screenshots("after"), full_page=True)

    # The officer of the school sees the week done and the visit on the dashboard.
    page.context.clear_cookies()
    log_in(page, base, world.officer_a.username)
    assert page.url.endswith(reverse("guidance:school_dashboard"))
    row = page.locator(".list-group-item").filter(has_text=student.name).first
    expect(row).to_contain_text("本周已完成")
    expect(row).to_contain_text("已家访")
    page.screenshot(path=screenshots("officer"), full_page=True)
