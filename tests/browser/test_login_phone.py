"""On a phone: an anonymous visit lands on the Chinese login page, styled by our own Bootstrap; the
county officer logs in and reaches their home page with the navbar, which opens from its toggler."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from pairing.tests.factories import CountyUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "zaoyang2026"
BOOTSTRAP_PRIMARY = "rgb(13, 110, 253)"  # .bg-primary in Bootstrap 5.3


def test_a_county_officer_logs_in_on_a_phone(
    live_server: Any, transactional_db: Any, phone_page: Any, screenshots: Any
) -> None:
    from playwright.sync_api import expect

    user = CountyUserFactory(username="county_phone", full_name="周敏")
    page = phone_page

    page.goto(f"{live_server.url}/")

    assert urlparse(page.url).path == reverse("login")
    assert urlparse(page.url).query == "next=/"
    expect(page.get_by_role("heading", name="登录资助帮扶")).to_be_visible()
    # The stylesheet came from static/vendor/bootstrap and applies: the navbar is Bootstrap's blue.
    navbar = page.locator("nav.navbar")
    assert navbar.evaluate("e => getComputedStyle(e).backgroundColor") == BOOTSTRAP_PRIMARY
    page.screenshot(path=screenshots("login"), full_page=True)

    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_response(re.compile(re.escape(reverse("guidance:county_dashboard")) + "$")) as landing:
        page.get_by_role("button", name="登录").click()

    assert landing.value.status == 200
    assert urlparse(page.url).path == reverse("guidance:county_dashboard")
    # At 360 px the navbar is collapsed; its toggler (Bootstrap's JS) opens it on the user's name.
    expect(navbar.get_by_text("周敏 · 市资助中心")).to_be_hidden()
    navbar.get_by_role("button", name="打开菜单").click()
    expect(page.locator("#mainNav")).to_have_class(re.compile(r"\bshow\b"))  # the slide-down finished
    expect(navbar.get_by_text("周敏 · 市资助中心")).to_be_visible()
    page.screenshot(path=screenshots("home"), full_page=True)
