"""On PostgreSQL the database itself refuses two terms whose dates overlap (Term.clean and the
admin's inline formset give the friendly message; this holds against any other path). SQLite, the
quick start's engine, has no exclusion constraints: there the model's check is the guard."""

from django.db import migrations

CONSTRAINT = "term_dates_do_not_overlap"


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE pairing_term ADD CONSTRAINT {CONSTRAINT} "
            "EXCLUDE USING gist (daterange(start_date, end_date, '[]') WITH &&)"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE pairing_term DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("pairing", "0003_constraint_messages_in_chinese")]

    operations = [migrations.RunPython(add, remove, elidable=False)]
