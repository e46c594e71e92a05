"""On a phone the navbar's menu is folded: a teacher with an unread reminder sees it on 我的帮扶学生
itself (a banner and a badge on the student's card) and on the folded navbar's toggler."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from guidance.models import Notification
from guidance.reminders import sweep

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
