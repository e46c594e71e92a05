"""Issue 12, point 5: the long lists outside the county's rolls (the audit log, 预警, 记录质量审核,
the 控辍保学 ledgers) page by the deferred join (zaoyang_aid.paging): the page a view shows holds the
rows the OFFSET page held, whichever end it is read from, and its queries do not grow with the rows."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from zaoyang_aid.models import AuditAction, AuditEvent
from zaoyang_aid.paging import PAGE_SIZE

pytestmark = pytest.mark.django_db


def log_lines(n, *, name="同一人"):
    """n lines, many written in the same instant (ties on ``at`` fall by the pk)."""
    AuditEvent.objects.bulk_create(
        AuditEvent(action=AuditAction.VIEW, actor_name=name, object_label=f"对象{i % 3}") for i in range(n)
    )


def page_pks(client, url, params):
    return [row.pk for row in client.get(url, params).context["page"]]


@pytest.mark.parametrize("params", [{}, {"q": "对象1"}])
def test_every_audit_log_page_holds_the_offset_pages_lines(client, world, params):
    log_lines(2 * PAGE_SIZE + 7)
    client.force_login(world.county)
    url = reverse("audit_log")
    first = client.get(url, params)
    lines = first.context["filter"].qs  # the lines as filtered, before the page's own audit line
    offset = Paginator(lines.all(), PAGE_SIZE)
    for number in offset.page_range:
        shown = [row.pk for row in client.get(url, {**params, "page": number}).context["page"]]
        assert shown == [row.pk for row in offset.page(number)], number


def test_the_audit_logs_queries_do_not_grow_with_its_lines(client, world):
    client.force_login(world.county)
    url = reverse("audit_log")

    def queries(page):
        client.get(url, {"page": page})
        with CaptureQueriesContext(connection) as captured:
            client.get(url, {"page": page})
        return len(captured)

    last = 10**6  # the nearest valid page: the last, which holds the world's older lines (about students)
    log_lines(PAGE_SIZE + 3)
    few = [queries(1), queries(last)]
    log_lines(5 * PAGE_SIZE)
    many = [queries(1), queries(last)]
    assert few == many
