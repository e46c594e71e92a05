"""The Django admin speaks Chinese throughout, django-axes' login protection included (axes ships no
Chinese: locale/zh_Hans holds its words, compiled into the committed django.mo)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

CATALOG = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def catalog_entries() -> list[tuple[str, str]]:
    text = CATALOG.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2)) for m in re.finditer(r'^msgid "(.+)"\nmsgstr "(.*)"$', text, re.MULTILINE)]


def test_the_compiled_catalog_holds_every_entry_of_the_po_file():
    entries = catalog_entries()

    assert len(entries) > 20
    with translation.override("zh-hans"):
        assert [(msgid, translation.gettext(msgid)) for msgid, _ in entries] == entries


@pytest.mark.django_db
def test_the_admin_shows_the_login_protection_section_in_chinese(world):
    client = Client()
    client.force_login(world.admin)

    index = client.get(reverse("admin:index")).content.decode()
    attempts = client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    logs = client.get(reverse("admin:axes_accesslog_changelist")).content.decode()

    assert "登录保护" in index and "登录失败计数" in index and "登录记录" in index
    for html in (index, attempts, logs):
        assert not re.search(r"\bAxes\b|[Aa]ccess (attempt|log|failure)", html)
    assert "已锁定" in attempts  # the filter's title
    assert "浏览器标识" in logs and "IP地址" in logs
    assert "系统与审计" in index  # the project's own section keeps its name
