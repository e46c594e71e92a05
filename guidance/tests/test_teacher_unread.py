"""On a phone the navbar's menu is folded: a teacher with an unread reminder sees it on 我的帮扶学生
itself (a banner and a badge on the student's card) and on the folded navbar's toggler."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from guidance.models import Notification, ReminderLevel
from guidance.reminders import sweep
from guidance.selectors import UNREAD_READ_AT_ONCE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_week_sweeps")]
MONDAY = dt.date(2026, 11, 16)


def page(client, user):
    client.force_login(user)
    return client.get(reverse("guidance:my_students"))


def card(html: str, pairing_pk: int) -> str:
    start = html.index(f'id="pairing-{pairing_pk}"')
    end = html.find('class="card mb-3', start)
    return html[start : end if end > 0 else len(html)]


def test_an_unread_reminder_shows_on_the_students_card_and_in_a_banner(client, world):
    sweep(on=MONDAY)  # nobody recorded last week: 张小明's teacher is reminded
    html = page(client, world.teacher_a1).content.decode()
    pairing = world.student_a1.pairings.get()
    assert "data-unread-banner" in html and "您有 <strong>1</strong> 条未读提醒" in html
    mine = card(html, pairing.pk)
    assert 'data-unread="1"' in mine and "1条未读提醒" in mine
    notice = Notification.objects.get(recipient=world.teacher_a1)
    assert notice.title in mine and reverse("guidance:notification_open", args=[notice.pk]) in mine


def test_the_folded_navbar_toggler_carries_the_unread_count(client, world):
    sweep(on=MONDAY)
    html = page(client, world.teacher_a1).content.decode()
    toggler = re.search(r'<button class="navbar-toggler.*?</button>', html, re.S)
    assert toggler is not None
    assert "data-toggler-unread>1<" in toggler.group(0) and "1条未读通知" in toggler.group(0)


def test_a_read_reminder_leaves_the_page_quiet(client, world):
    sweep(on=MONDAY)
    Notification.objects.update(read_at=dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC))
    html = page(client, world.teacher_a1).content.decode()
    assert "data-unread-banner" not in html and "data-unread=" not in html and "data-toggler-unread" not in html


def test_a_teacher_sees_no_colleagues_reminders_on_her_page(client, world):
    sweep(on=MONDAY)
    html = page(client, world.teacher_a1).content.decode()
    colleague = Notification.objects.get(recipient=world.teacher_a2)
    assert colleague.title not in html
    assert html.count("data-unread-notice") == 1


def toggler_count(html: str) -> str | None:
    toggler = re.search(r"data-toggler-unread>(\d+)<", html)
    return toggler.group(1) if toggler else None


def other_notices(user, n: int) -> None:
    """Unread notices that are not the teacher's reminders (an officer's, a case file's)."""
    Notification.objects.bulk_create(
        Notification(recipient=user, level=ReminderLevel.OFFICER, title=f"通知{i}", body="", link="/") for i in range(n)
    )


def test_the_page_counts_every_unread_notice_for_the_navbar_not_only_the_reminders(client, world):
    """我的帮扶学生 reads the unread notices once, for the cards and the navbar's badge together."""
    sweep(on=MONDAY)
    other_notices(world.teacher_a1, 2)
    html = page(client, world.teacher_a1).content.decode()
    assert toggler_count(html) == "3" and "您有 <strong>1</strong> 条未读提醒" in html
    assert client.get(reverse("guidance:notifications")).content.decode().count("data-toggler-unread>3<") == 1


def test_with_more_unread_notices_than_read_at_once_the_cards_and_the_badge_stay_whole(client, world):
    """An officer who also 包保, with many unread notices: the reminder, older than all of them, still
    shows on the card, and the badge counts them all."""
    sweep(on=MONDAY)
    other_notices(world.teacher_a1, UNREAD_READ_AT_ONCE + 5)
    Notification.objects.filter(reminder__isnull=False).update(created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    html = page(client, world.teacher_a1).content.decode()
    pairing = world.student_a1.pairings.get()
    assert 'data-unread="1"' in card(html, pairing.pk)
    assert toggler_count(html) == str(UNREAD_READ_AT_ONCE + 6)
