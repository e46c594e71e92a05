"""On PostgreSQL the database itself refuses to change or delete an audit line, whoever asks (a
raw UPDATE or DELETE from psql, another program, a bug): a trigger raises before any row changes.
The app's own guards (AuditEvent.save/delete, its queryset, the read-only admin) give the message;
this holds against every other path. SQLite, the quick start's engine, skips it.

TRUNCATE is not refused: the test runner empties tables with it between transactional tests, and
whoever may TRUNCATE may also drop the trigger; the database's grants are the guard there."""

from django.db import migrations

FUNCTION = "zaoyang_aid_auditevent_refuse_change"
TRIGGER = "zaoyang_aid_auditevent_append_only"


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '审计日志不可修改或删除(%)。', TG_OP USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """,
        None,  # no parameters: the % in RAISE is PL/pgSQL's own placeholder
    )
    schema_editor.execute(
        f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON zaoyang_aid_auditevent "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON zaoyang_aid_auditevent")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [("zaoyang_aid", "0004_audit_lines_name_their_actors_username")]

    operations = [migrations.RunPython(add, remove, elidable=False)]
