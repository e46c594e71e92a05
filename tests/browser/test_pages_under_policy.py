"""On a phone, under the Content-Security-Policy (issue 8, point 7): each role's main pages work as
before with no inline code allowed. The navbar opens, the talk form's tag buttons toggle and its date
names the school week (static/js/talk-form.js), the county's progress bars have their widths (CSS
classes, not style attributes), and the admin opens. phone_page fails the test on any policy message
in the browser's console; the last test shows that the browser does refuse an inline script."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from guidance.tests.factories import TalkRecordFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "zaoyang2026"


def log_in(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}{reverse('login')}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def test_a_teachers_pages_work_on_a_phone_under_the_policy(
    live_server: Any, transactional_db: Any, world: Any, phone_page: Any, screenshots: Any
) -> None:
    from playwright.sync_api import expect

    page, base = phone_page, live_server.url
    pairing = world.student_a1.pairings.get()
    TalkRecordFactory(pairing=pairing, date=world.term.start_date)

    log_in(page, base, world.teacher_a1.username)
    assert page.url.endswith(reverse("guidance:my_students"))
    page.get_by_role("button", name="打开菜单").click()
    expect(page.locator("#mainNav")).to_have_class(re.compile(r"\bshow\b"))
    page.screenshot(path=screenshots("my-students"), full_page=True)

    page.goto(f"{base}{reverse('guidance:talk_create', args=[pairing.pk])}")
    study = page.get_by_role("checkbox", name="学业辅导")
    was = study.is_checked()
    page.locator("label", has_text="学业辅导").click()
    assert study.is_checked() != was  # the tag button toggled its box
    page.locator("#id_date").fill("2026-11-10")
    page.locator("#id_date").dispatch_event("change")
    expect(page.locator("#id_date_helptext")).to_contain_text("周")
    page.screenshot(path=screenshots("talk-form"), full_page=True)

    page.goto(f"{base}{reverse('guidance:timeline', args=[world.student_a1.pk])}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(world.student_a1.name)
    page.screenshot(path=screenshots("timeline"), full_page=True)


def test_the_officer_county_and_admin_pages_work_on_a_phone_under_the_policy(
    live_server: Any, transactional_db: Any, world: Any, phone_page: Any, screenshots: Any
) -> None:
    from playwright.sync_api import expect

    page, base = phone_page, live_server.url
    TalkRecordFactory(pairing=world.student_a1.pairings.get())  # this week's talk: a bar of 1 in 3

    log_in(page, base, world.officer_a.username)
    assert page.url.endswith(reverse("guidance:school_dashboard"))
    page.screenshot(path=screenshots("officer"), full_page=True)

    log_in(page, base, world.county.username)
    assert page.url.endswith(reverse("guidance:county_dashboard"))
    bar = page.locator(".progress-bar.bg-primary").first
    track = page.locator(".progress.progress-slim").first
    share = bar.evaluate("e => e.getBoundingClientRect().width") / track.evaluate(
        "e => e.getBoundingClientRect().width"
    )
    assert share == pytest.approx(int(bar.inner_text().rstrip("%")) / 100, abs=0.02)
    page.screenshot(path=screenshots("county"), full_page=True)

    log_in(page, base, world.admin.username)
    page.goto(f"{base}{reverse('admin:index')}")
    expect(page.get_by_role("heading", name="基础数据与账号")).to_be_visible()
    page.goto(f"{base}{reverse('admin:pairing_student_changelist')}")
    expect(page.locator("#result_list")).to_contain_text(world.student_a1.name)
    page.screenshot(path=screenshots("admin"), full_page=True)
    # A change form with the admin's date widget (DateTimeShortcuts.js adds its calendar link).
    page.goto(f"{base}{reverse('admin:pairing_term_change', args=[world.term.pk])}")
    page.locator("#calendarlink0").click()
    expect(page.locator("#calendarbox0")).to_be_visible()
    page.screenshot(path=screenshots("admin-change"), full_page=True)


def test_the_browser_refuses_an_inline_script_on_our_pages(
    live_server: Any, transactional_db: Any, world: Any, phone_page: Any
) -> None:
    # A second tab, unwatched by phone_page: this one is meant to provoke a refusal.
    page = phone_page.context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"{live_server.url}{reverse('login')}")

    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.append(script);
    }""")

    assert page.evaluate("() => window.injected") is None
    assert any("Content Security Policy" in message for message in messages), messages
