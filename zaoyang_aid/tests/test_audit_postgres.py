"""On PostgreSQL the audit table refuses UPDATE and DELETE from any client, not only from the app
(migration 0004's trigger). Run when DATABASE_URL points at PostgreSQL, as in CI."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from zaoyang_aid import audit
from zaoyang_aid.models import AuditAction, AuditEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def line() -> AuditEvent:
    return audit.record(AuditAction.EXPORT, object_type="报表", object_label="原样")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE zaoyang_aid_auditevent SET object_label = '改过' WHERE id = %s",
        "UPDATE zaoyang_aid_auditevent SET actor_id = NULL WHERE id = %s",
        "DELETE FROM zaoyang_aid_auditevent WHERE id = %s",
    ],
)
def test_a_raw_update_or_delete_of_an_audit_line_is_refused_by_the_database(line: AuditEvent, sql: str) -> None:
    with (
        pytest.raises(DatabaseError, match="审计日志不可修改或删除"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [line.pk])

    assert AuditEvent.objects.get(pk=line.pk).object_label == "原样"


def test_new_lines_are_still_written(line: AuditEvent) -> None:
    audit.record(AuditAction.EXPORT, object_type="报表", object_label="第二行")

    assert AuditEvent.objects.count() == 2
