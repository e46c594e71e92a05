"""Existing tallies counted their bits from the Monday of their term's first day: say so."""

import datetime as dt

from django.db import migrations


def fill_week_base(apps, schema_editor):
    Tally = apps.get_model("guidance", "PairingTermTally")
    Term = apps.get_model("pairing", "Term")
    for term in Term.objects.all():
        monday = term.start_date - dt.timedelta(days=term.start_date.weekday())
        Tally.objects.filter(term=term, week_base__isnull=True).update(week_base=monday)


class Migration(migrations.Migration):
    dependencies = [("guidance", "0007_tally_base_and_late_entries")]

    operations = [migrations.RunPython(fill_week_base, migrations.RunPython.noop)]
