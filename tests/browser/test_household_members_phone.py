"""On a phone, an officer enters a family's three other members in one save: the student page's
"添加一名家庭成员" button (static/js/formset_rows.js) adds a row each time it is pressed."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from pairing.models import HouseholdMember

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "zaoyang2026"
NEW_MEMBERS = [("王秀英", "42", "母亲"), ("刘老汉", "70", "祖父"), ("刘小雨", "6", "妹妹")]


def test_an_officer_adds_three_household_members_in_one_save(
    live_server: Any, transactional_db: Any, world: Any, phone_page: Any, screenshots: Any
) -> None:
    from playwright.sync_api import expect

    page, base = phone_page, live_server.url
    student = world.student_a1
    household = student.household
    assert household.members.count() == 1
    page.goto(f"{base}{reverse('login')}")
    page.get_by_label("用户名").fill(world.officer_a.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()

    page.goto(f"{base}{reverse('pairing:student_edit', args=[student.pk])}")
    add = page.get_by_role("button", name="添加一名家庭成员")
    expect(add).to_be_visible()
    add.click()
    add.click()
    # The stored member is row 0, the page's blank row 1, the two added rows 2 and 3.
    for index, (name, age, relation) in enumerate(NEW_MEMBERS, start=1):
        page.locator(f"#id_members-{index}-name").fill(name)
        page.locator(f"#id_members-{index}-age").fill(age)
        page.locator(f"#id_members-{index}-relation").fill(relation)
    expect(page.locator("fieldset legend", has_text="家庭成员4")).to_be_visible()
    page.screenshot(path=screenshots("members"), full_page=True)
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()

    names = set(HouseholdMember.objects.filter(household=household).values_list("name", flat=True))
    assert {name for name, _, _ in NEW_MEMBERS} <= names
    assert len(names) == 4
