"""Playwright, driving Debian's chromium at a phone's size, for the browser tests.

``playwright install`` cannot download a browser here, so the tests launch /usr/bin/chromium
(``apt-get install -y chromium``; the root conftest skips them when it is missing). The flags keep
chromium off the network it would otherwise call at every start, and let it run as root in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"  # gitignored; CI may keep it


# What chromium says in the console when a page breaks the Content-Security-Policy ("Refused to
# execute inline script because it violates the following Content Security Policy directive ...") or
# when our Permissions-Policy header names a feature it does not know.
POLICY_MESSAGES = ("Content Security Policy", "Permissions-Policy", "Permissions policy")


@pytest.fixture
def phone_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh page in headless chromium with a 360 x 740 viewport. The test fails if any page it
    opened broke the Content-Security-Policy or the Permissions-Policy (issue 8, point 7)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls that the test makes
    # beside it (creating users) are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, locale="zh-CN")
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.on("console", lambda message: console.append(f"{page.url}: {message.text}"))
            yield page
        finally:
            browser.close()
            # ORM calls made while Playwright runs get connections of their own (Django keys them by
            # context, and Playwright's greenlets bring another one); close them here, or the test
            # database cannot be dropped at the end of the run ("being accessed by other users").
            connections.close_all()
    broken = [line for line in console if any(words in line for words in POLICY_MESSAGES)]
    if broken:
        pytest.fail("The browser reported policy violations:\n" + "\n".join(broken))


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Any:
    """``screenshots("login")`` is where the test saves a picture: test-artifacts/<test>-login.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    return lambda step: ARTIFACTS / f"{request.node.name}-{step}.png"
