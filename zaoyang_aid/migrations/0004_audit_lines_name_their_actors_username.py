"""The lines written before the audit kept usernames get their actor's username, while the accounts
are all still there (before migration 0004 makes the table append-only on PostgreSQL)."""

from django.db import migrations


def fill(apps, schema_editor):
    AuditEvent = apps.get_model("zaoyang_aid", "AuditEvent")
    User = apps.get_model("zaoyang_aid", "User")
    for user_id, username in User.objects.values_list("pk", "username"):
        AuditEvent.objects.filter(actor_id=user_id, actor_username="").update(actor_username=username)


class Migration(migrations.Migration):
    dependencies = [("zaoyang_aid", "0003_audit_actor_username_and_labelled_values")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
